"""Creation functions and dtype aliases: tg.tensor, empty, linspace, randint, the *_like
forms, and tg.long/float/double, against PyTorch where it defines the answer."""

import numpy as np
import pytest

import tinygrad_edu as tg


def test_dtype_aliases_are_the_numpy_dtypes():
    assert tg.long == tg.int64 == np.int64
    assert tg.float == tg.float32 and tg.double == tg.float64


@pytest.mark.parametrize(
    "data, dtype",
    [
        ([1.5, 2.0], np.float32),
        ([1, 2], np.int64),
        (3, np.int64),
        (2.5, np.float32),
        ([True, False], np.bool_),
        (np.arange(3.0), np.float64),
        ([[1, 2], [3, 4]], np.int64),
    ],
)
def test_tensor_function_follows_torch_tensor_dtypes(data, dtype):
    out = tg.tensor(data)
    assert isinstance(out, tg.Tensor) and out.dtype == dtype
    np.testing.assert_array_equal(out.data, np.asarray(data))
    torch = pytest.importorskip("torch")
    assert str(torch.tensor(data).dtype).replace("torch.", "") == np.dtype(dtype).name


def test_tensor_function_copies_and_takes_dtype_and_requires_grad():
    source = np.zeros(3)
    out = tg.tensor(source, dtype=tg.float32, requires_grad=True)
    source[0] = 5.0
    assert out.dtype == np.float32 and out.requires_grad and out.is_leaf and out.data[0] == 0.0
    copied = tg.tensor(out)
    assert copied.data is not out.data and not copied.requires_grad
    with pytest.raises(TypeError, match="float32/float64"):
        tg.tensor([1, 2], requires_grad=True)


def test_empty_has_the_shape_dtype_and_flag():
    out = tg.empty(2, 3, dtype=tg.float64, requires_grad=True)
    assert out.shape == (2, 3) and out.dtype == np.float64 and out.requires_grad
    assert tg.empty((4,)).shape == (4,) and tg.empty(0).shape == (0,)


@pytest.mark.parametrize(
    "start, end, steps, dtype",
    [
        (0, 1, 7, None),
        (-3.0, 10.0, 6, tg.float64),
        (2, -2, 5, None),
        (0, 1, 1, None),
        (0, 1, 0, None),
        (0, 100, 1001, None),
        (-1, 9, 4, tg.int64),
    ],
)
def test_linspace_matches_torch(start, end, steps, dtype):
    out = tg.linspace(start, end, steps, dtype=dtype)
    assert out.shape == (steps,) and out.dtype == (dtype or np.float32)
    if steps > 1:
        assert out.data[-1] == np.asarray(end, out.dtype)  # the end point is exact
    torch = pytest.importorskip("torch")
    torch_dtype = {None: None, tg.float64: torch.float64, tg.int64: torch.int64}[dtype]
    ref = torch.linspace(start, end, steps, dtype=torch_dtype).numpy()
    np.testing.assert_allclose(out.data, ref, rtol=1e-6, atol=1e-6)


def test_linspace_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps"):
        tg.linspace(0, 1, -1)
    with pytest.raises(ValueError, match="steps"):
        tg.linspace(0, 1, 2.5)


def test_randint_both_spellings_range_dtype_and_seed():
    tg.manual_seed(3)
    draws = tg.randint(2, 5, (1000,))
    assert draws.dtype == np.int64 and draws.shape == (1000,)
    assert set(np.unique(draws.data)) == {2, 3, 4}
    high_only = tg.randint(3, size=(2, 2))
    assert high_only.shape == (2, 2) and high_only.data.min() >= 0 and high_only.data.max() < 3
    tg.manual_seed(3)
    np.testing.assert_array_equal(tg.randint(2, 5, (1000,)).data, draws.data)
    assert tg.randint(10, (3,), dtype=tg.float32).dtype == np.float32
    with pytest.raises(ValueError, match="greater than low"):
        tg.randint(5, 5, (2,))
    with pytest.raises(TypeError, match="randint"):
        tg.randint(1, 2, 3, (4,))


def test_like_functions_keep_shape_and_dtype():
    base = tg.Tensor(np.zeros((2, 3), np.float64))
    full = tg.full_like(base, 7)
    assert full.shape == (2, 3) and full.dtype == np.float64 and (full.data == 7).all()
    assert tg.full_like(tg.tensor([1, 2]), 3).dtype == np.int64
    assert tg.full_like(base, 1.5, dtype=tg.float32).dtype == np.float32
    tg.manual_seed(0)
    uniform = tg.rand_like(base, requires_grad=True)
    assert uniform.shape == (2, 3) and uniform.dtype == np.float64 and uniform.requires_grad
    assert ((uniform.data >= 0) & (uniform.data < 1)).all()
    normal = tg.randn_like(tg.zeros(500, 4))
    assert normal.dtype == np.float32 and abs(normal.data.mean()) < 0.1
    tg.manual_seed(0)
    np.testing.assert_array_equal(tg.rand_like(base).data, uniform.data)
    with pytest.raises(TypeError, match="floating point"):
        tg.rand_like(tg.tensor([1, 2]))
