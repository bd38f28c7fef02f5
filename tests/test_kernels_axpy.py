"""kernels.axpy (y += alpha * x, the optimizer's one-pass update) against numpy, and its errors."""

import numpy as np
import pytest

from tinygrad_edu import kernels


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 5), (300_001,)])
def test_axpy_matches_numpy(dtype, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape).astype(dtype)
    alpha = -0.37
    expected = y + dtype(alpha) * x  # the product rounded first, as the kernel does
    assert kernels.axpy(alpha, x, y) is y
    np.testing.assert_array_equal(y, expected)


def test_axpy_propagates_nan_and_inf():
    x = np.array([np.nan, np.inf, 1.0], np.float32)
    y = np.array([1.0, 1.0, np.inf], np.float32)
    kernels.axpy(2.0, x, y)
    np.testing.assert_array_equal(y, [np.nan, np.inf, np.inf])


@pytest.mark.parametrize(
    "x, y, error, phrase",
    [
        (np.ones(3, np.float32), np.ones(4, np.float32), ValueError, "shape"),
        (np.ones(3, np.float32), np.ones(3, np.float64), TypeError, "dtype"),
        (np.ones(3, np.int32), np.ones(3, np.int32), TypeError, "x"),
        (np.ones(6, np.float32)[::2], np.ones(3, np.float32), ValueError, "x"),
        (np.ones(3, np.float32), np.ones(6, np.float32)[::2], ValueError, "y"),
    ],
)
def test_axpy_rejects_bad_arguments(x, y, error, phrase):
    with pytest.raises(error, match=phrase):
        kernels.axpy(1.0, x, y)


def test_axpy_rejects_read_only_and_overlapping_y():
    x = np.ones(4, np.float32)
    read_only = np.ones(4, np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="y"):
        kernels.axpy(1.0, x, read_only)
    with pytest.raises(ValueError, match="overlap"):
        kernels.axpy(1.0, x, x)
