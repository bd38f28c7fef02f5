"""Feature scalers: values by hand, round trips and ranges on random input, and errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu import features

X = np.array([[0.0, 10.0, 5.0], [2.0, 20.0, 5.0], [4.0, 40.0, 5.0]])
SCALERS = [
    features.LinearScaler,
    features.ZScoreScaler,
    lambda: features.ClipScaler(quantiles=(0.1, 0.9)),
    features.LogScaler,
]

PROPERTY_SETTINGS = settings(derandomize=True, max_examples=60, deadline=None)


def matrices(min_value=-1e6, max_value=1e6, dtype=np.float64):
    shapes = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6)
    width = np.dtype(dtype).itemsize * 8
    elements = st.floats(min_value, max_value, allow_nan=False, allow_subnormal=False, width=width)
    return hnp.arrays(dtype, shapes, elements=elements)


def test_linear_scaler_by_hand():
    scaled = features.LinearScaler().fit_transform(X)
    # Each column's [min, max] -> [-1, 1]; the constant column -> 0, the middle.
    expected = [[-1.0, -1.0, 0.0], [0.0, -1.0 / 3.0, 0.0], [1.0, 1.0, 0.0]]
    np.testing.assert_allclose(scaled, expected, atol=1e-15)
    unit = features.LinearScaler(feature_range=(0.0, 1.0)).fit_transform(X)
    np.testing.assert_allclose(unit[:, 0], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(unit[:, 2], [0.5, 0.5, 0.5])


def test_linear_scaler_stretches_a_denormal_float32_range():
    # Only a zero range is constant; the arithmetic runs in float64, where a range that is
    # denormal in float32 is an ordinary number, so the column still maps onto [-1, 1].
    column = np.array([[1e-38], [1.000001e-38]], dtype=np.float32)
    scaler = features.LinearScaler().fit(column)
    np.testing.assert_array_equal(scaler.transform(column), [[-1.0], [1.0]])
    np.testing.assert_array_equal(scaler.inverse_transform(scaler.transform(column)), column)


def test_zscore_scaler_uses_population_std():
    scaled = features.ZScoreScaler().fit_transform(X)
    np.testing.assert_allclose(
        scaled[:, :2], (X[:, :2] - X[:, :2].mean(0)) / X[:, :2].std(0, ddof=0)
    )
    np.testing.assert_array_equal(scaled[:, 2], 0.0)


def test_zscore_constant_column_with_rounding_noise_maps_to_zero():
    column = np.full((7, 1), 0.1)  # its mean is not exactly 0.1, so its std is not exactly 0
    np.testing.assert_allclose(features.ZScoreScaler().fit_transform(column), 0.0, atol=1e-15)
    denormal_spread = np.array([[0.0], [1e-45]], dtype=np.float32)
    assert np.isfinite(features.ZScoreScaler().fit_transform(denormal_spread)).all()


def test_clip_scaler_fixed_bounds_and_quantiles():
    wide = np.array([[-5.0, 1.0], [0.0, 2.0], [100.0, 3.0]])
    np.testing.assert_array_equal(
        features.ClipScaler(low=-1.0, high=10.0).fit_transform(wide),
        [[-1.0, 1.0], [0.0, 2.0], [10.0, 3.0]],
    )
    np.testing.assert_array_equal(
        features.ClipScaler(high=[50.0, 2.5]).fit_transform(wide),
        [[-5.0, 1.0], [0.0, 2.0], [50.0, 2.5]],
    )
    data = np.arange(101.0).reshape(-1, 1)
    capped = features.ClipScaler(quantiles=(0.05, 0.9)).fit_transform(data)
    assert capped.min() == 5.0 and capped.max() == 90.0
    scaler = features.ClipScaler(quantiles=(0.05, 0.9)).fit(data)
    np.testing.assert_array_equal(scaler.inverse_transform(capped), capped)


def test_log_scaler_by_hand_and_refuses_negative_input():
    counts = np.array([[0.0, 9.0], [99.0, 0.5]])
    scaler = features.LogScaler()
    np.testing.assert_allclose(scaler.fit_transform(counts), np.log1p(counts))
    np.testing.assert_allclose(scaler.inverse_transform(np.log1p(counts)), counts)
    with pytest.raises(ValueError, match="column 1"):
        scaler.fit(np.array([[1.0, -0.5]]))
    with pytest.raises(ValueError, match="non-negative"):
        scaler.transform(np.array([[1.0, -2.0]]))


@pytest.mark.parametrize("make", SCALERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tensor_in_tensor_out_and_dtype_kept(make, dtype):
    data = np.abs(X).astype(dtype)
    from_array = make().fit_transform(data)
    from_tensor = make().fit_transform(tg.Tensor(data))
    assert isinstance(from_array, np.ndarray) and from_array.dtype == dtype
    assert isinstance(from_tensor, tg.Tensor) and from_tensor.dtype == dtype
    np.testing.assert_array_equal(from_tensor.data, from_array)
    back = make().fit(data).inverse_transform(tg.Tensor(from_array))
    assert isinstance(back, tg.Tensor) and back.dtype == dtype


def test_integer_input_becomes_the_default_float_and_input_is_not_modified():
    data = np.array([[1, 2], [3, 4]])
    scaled = features.ZScoreScaler().fit_transform(data)
    assert scaled.dtype == np.float32
    original = X.copy()
    features.LinearScaler().fit_transform(X)
    np.testing.assert_array_equal(X, original)


@pytest.mark.parametrize("make", SCALERS)
def test_errors_transform_before_fit_and_wrong_columns(make):
    with pytest.raises(ValueError, match="fit"):
        make().transform(X)
    with pytest.raises(ValueError, match="fit"):
        make().inverse_transform(X)
    scaler = make().fit(X)
    with pytest.raises(ValueError, match="2 columns.*fitted on 3"):
        scaler.transform(X[:, :2])
    with pytest.raises(ValueError, match="2-D"):
        scaler.transform(X[0])
    with pytest.raises(ValueError, match="NaN"):
        make().fit(np.array([[np.nan, 1.0, 2.0]]))
    with pytest.raises(ValueError, match="one row"):
        make().fit(np.zeros((0, 3)))


def test_invalid_constructor_arguments():
    with pytest.raises(ValueError, match="feature_range"):
        features.LinearScaler(feature_range=(1.0, -1.0))
    with pytest.raises(ValueError, match="quantiles"):
        features.ClipScaler(quantiles=(0.9, 0.1))
    with pytest.raises(ValueError, match="quantiles"):
        features.ClipScaler(quantiles=(0.0, 1.5))
    with pytest.raises(ValueError, match="not both"):
        features.ClipScaler(low=0.0, quantiles=(0.1, 0.9))
    with pytest.raises(ValueError, match="needs low, high or quantiles"):
        features.ClipScaler()
    with pytest.raises(ValueError, match="low must be <= high"):
        features.ClipScaler(low=2.0, high=1.0)
    with pytest.raises(ValueError, match="one value per column"):
        features.ClipScaler(low=[0.0, 1.0]).fit(X)


def test_linear_scaler_tiny_range_round_trips():
    # Found by hypothesis: a range at the smallest normal float64 (2.2e-308) makes
    # 2 / range overflow; such a column is still stretched and inverts exactly.
    tiny = np.finfo(np.float64).tiny
    data = np.array([[0.0], [tiny]])
    scaler = features.LinearScaler().fit(data)
    np.testing.assert_array_equal(scaler.transform(data), [[-1.0], [1.0]])
    np.testing.assert_array_equal(scaler.inverse_transform(scaler.transform(data)), data)


@PROPERTY_SETTINGS
@given(matrices())
def test_linear_scaler_properties(data):
    scaler = features.LinearScaler().fit(data)
    scaled = scaler.transform(data)
    assert np.isfinite(scaled).all()
    assert scaled.min() >= -1 - 1e-12 and scaled.max() <= 1 + 1e-12
    column_scale = np.abs(data).max(axis=0) + 1e-300
    error = np.abs(scaler.inverse_transform(scaled) - data) / column_scale
    assert error.max() <= 1e-12


@PROPERTY_SETTINGS
@given(matrices())
def test_zscore_scaler_properties(data):
    scaler = features.ZScoreScaler().fit(data)
    scaled = scaler.transform(data)
    assert np.isfinite(scaled).all()
    # No value can be more than sqrt(n − 1) population standard deviations from the mean.
    assert np.abs(scaled).max() <= np.sqrt(max(len(data) - 1, 1)) + 1e-9
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-9)
    column_scale = np.abs(data).max(axis=0) + 1e-300
    error = np.abs(scaler.inverse_transform(scaled) - data) / column_scale
    assert error.max() <= 1e-12


@PROPERTY_SETTINGS
@given(matrices(), st.floats(0.0, 0.5), st.floats(0.5, 1.0))
def test_clip_scaler_properties(data, q_low, q_high):
    scaled = features.ClipScaler(quantiles=(q_low, q_high)).fit_transform(data)
    assert np.isfinite(scaled).all()
    low, high = np.quantile(data, [q_low, q_high], axis=0)
    assert (scaled >= low).all() and (scaled <= high).all()
    inside = (data >= low) & (data <= high)
    np.testing.assert_array_equal(scaled[inside], data[inside])


@PROPERTY_SETTINGS
@given(matrices(min_value=0.0, max_value=1e30))
def test_log_scaler_properties(data):
    scaler = features.LogScaler().fit(data)
    scaled = scaler.transform(data)
    assert np.isfinite(scaled).all() and (scaled >= 0).all()
    np.testing.assert_allclose(scaler.inverse_transform(scaled), data, rtol=1e-12)


@PROPERTY_SETTINGS
@given(matrices(min_value=-1e4, max_value=1e4, dtype=np.float32))
def test_float32_round_trips_stay_float32(data):
    for scaler in (features.LinearScaler(), features.ZScoreScaler()):
        scaled = scaler.fit_transform(data)
        back = scaler.inverse_transform(scaled)
        assert scaled.dtype == back.dtype == np.float32
        column_scale = np.abs(data).max(axis=0) + 1e-30
        assert (np.abs(back - data) / column_scale).max() <= 1e-5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.filterwarnings("error")
def test_linear_scaler_handles_data_spanning_the_whole_float_range(dtype):
    """x − min overflowed to inf for float32 data spanning ±3e38 (and float64's ±1.7e308)."""
    biggest = np.finfo(dtype).max
    X = np.array([[-biggest, 1.0], [0.0, 2.0], [biggest, 3.0]], dtype=dtype)
    scaler = features.LinearScaler()
    scaled = scaler.fit_transform(X)
    assert scaled.dtype == dtype
    np.testing.assert_allclose(scaled, [[-1, -1], [0, 0], [1, 1]], atol=1e-6)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), X, rtol=1e-6, atol=biggest * 1e-6)
    assert np.isfinite(scaler.inverse_transform(scaled)).all()
