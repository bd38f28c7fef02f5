"""PyTorch's max/min and size: t.max() a Tensor (ties share the gradient), t.max(dim) a
named tuple (values, indices) whose gradient goes to the index, amax/amin over several
axes, a tuple given to max refused; size() a method, numel() and dim().
"""

import numpy as np
import pytest

import tinygrad_edu as tg

# Integer-valued data: many exact ties, in rows, columns and the whole tensor.
TIED = np.array([[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 0.0, 2.0], [3.0, -1.0, 3.0, -1.0]])


def leaf(data, dtype=np.float64) -> tg.Tensor:
    return tg.Tensor(np.asarray(data, dtype), requires_grad=True)


def torch_leaf(data, dtype=np.float64):
    torch = pytest.importorskip("torch")
    return torch.tensor(np.asarray(data, dtype), requires_grad=True)


def backward_both(out, out_torch, rng):
    """(out · c).sum().backward() in both libraries with the same random c."""
    torch = pytest.importorskip("torch")
    upstream = rng.standard_normal(out.shape).astype(out.dtype)
    (out * tg.Tensor(upstream)).sum().backward()
    (out_torch * torch.from_numpy(upstream)).sum().backward()


# ---------------------------------------------------------------- max() and min(): one value


def upstream_share(grad, ties):
    """The equal share each tied element must hold: their total over their count."""
    return np.full(np.count_nonzero(ties), grad[ties].sum() / np.count_nonzero(ties))


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_full_max_is_a_tensor_and_ties_share_the_gradient_as_pytorch(name, dtype, rng):
    x, x_torch = leaf(TIED, dtype), torch_leaf(TIED, dtype)
    out, expected = getattr(x, name)(), getattr(x_torch, name)()
    assert isinstance(out, tg.Tensor) and out.shape == ()
    backward_both(out, expected, rng)
    assert out.item() == expected.item()
    np.testing.assert_allclose(x.grad.numpy(), x_torch.grad.numpy(), rtol=1e-6)
    ties = TIED == getattr(np, name)(TIED)  # 4 tied maxima, 3 tied minima: each gets 1/k
    np.testing.assert_allclose(x.grad.numpy()[ties], upstream_share(x.grad.numpy(), ties))
    assert np.count_nonzero(x.grad.numpy()) == np.count_nonzero(ties)


def test_full_max_of_nan_sends_the_gradient_to_the_nan():
    x = leaf([1.0, np.nan, 2.0])
    out = x.max()
    out.backward()
    assert np.isnan(out.item()) and x.grad.tolist() == [0.0, 1.0, 0.0]


# ---------------------------------------------------------------- max(dim): (values, indices)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_along_a_dim_matches_pytorch_values_indices_and_grad(name, dim, keepdim, dtype, rng):
    x, x_torch = leaf(TIED, dtype), torch_leaf(TIED, dtype)
    result, expected = getattr(x, name)(dim, keepdim), getattr(x_torch, name)(dim, keepdim)
    values, indices = result  # unpacks as PyTorch's torch.return_types.max
    assert result.values is values and result.indices is indices and len(result) == 2
    assert values.shape == tuple(expected.values.shape) and values.dtype == dtype
    np.testing.assert_array_equal(values.numpy(), expected.values.detach().numpy())
    np.testing.assert_array_equal(indices.numpy(), expected.indices.numpy())
    assert indices.dtype == tg.int64 and not indices.requires_grad
    backward_both(values, expected.values, rng)
    # The whole gradient goes to the index named, the first among ties (not split).
    np.testing.assert_allclose(x.grad.numpy(), x_torch.grad.numpy(), rtol=1e-6)


def test_max_accepts_the_dim_keyword_and_numpys_axis_and_keepdims():
    x = tg.Tensor(TIED)
    for values, indices in [x.max(dim=1), x.max(axis=1), x.max(1, keepdims=False)]:
        assert values.tolist() == [3.0, 2.0, 3.0] and indices.tolist() == [1, 0, 0]
    assert x.min(axis=0, keepdims=True).values.shape == (1, 4)


def test_max_along_a_dim_with_nan_and_of_a_0d_tensor_as_pytorch():
    torch = pytest.importorskip("torch")
    data = [[1.0, np.nan, 3.0], [4.0, 0.0, -1.0]]
    values, indices = tg.Tensor(data).max(1)
    expected = torch.tensor(data).max(1)
    np.testing.assert_array_equal(values.numpy(), expected.values.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected.indices.numpy())
    scalar = leaf(2.5)
    values, indices = scalar.min(0)
    assert values.item() == 2.5 and indices.item() == 0 and values.shape == ()
    values.backward()
    assert scalar.grad.item() == 1.0


def test_max_with_a_tensor_is_maximum_as_pytorch():
    a, b = leaf([1.0, 5.0, 2.0]), leaf([3.0, 5.0, 0.0])
    out = a.max(b)
    out.sum().backward()
    assert out.tolist() == [3.0, 5.0, 2.0]
    assert a.grad.tolist() == [0.0, 0.5, 1.0] and b.grad.tolist() == [1.0, 0.5, 0.0]
    assert a.min(b).tolist() == [1.0, 5.0, 0.0]


def test_max_along_a_dim_passes_gradcheck_and_gradgradcheck(rng):
    data = rng.standard_normal((3, 4, 2))
    for fn in [lambda x: x.max(1).values, lambda x: x.min(-1, keepdim=True).values * x.sum()]:
        assert tg.gradcheck(fn, [leaf(data)])
        assert tg.gradgradcheck(fn, [leaf(data)])


# ---------------------------------------------------------------- amax / amin: values over axes


@pytest.mark.parametrize("name", ["amax", "amin"])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1), (1, 0), ()])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_matches_pytorch_and_splits_ties_evenly(name, dim, keepdim, rng):
    x, x_torch = leaf(TIED), torch_leaf(TIED)
    out = getattr(x, name)(dim, keepdim)
    expected = getattr(x_torch, name)(() if dim is None else dim, keepdim)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    backward_both(out, expected, rng)
    np.testing.assert_allclose(x.grad.numpy(), x_torch.grad.numpy(), rtol=1e-12)


def test_amax_passes_gradcheck_and_gradgradcheck(rng):
    data = rng.standard_normal((2, 3, 4))
    assert tg.gradcheck(lambda x: x.amax((0, 2)), [leaf(data)])
    assert tg.gradgradcheck(lambda x: x.amin(1, keepdim=True) * x, [leaf(data)])


# ---------------------------------------------------------------- refused


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [(0, 1), [1]])
def test_a_tuple_of_axes_given_to_max_raises_pointing_to_amax(name, dim):
    with pytest.raises(TypeError, match=f"a{name}"):
        getattr(tg.Tensor(TIED), name)(dim)
    with pytest.raises(TypeError, match=f"a{name}"):
        getattr(tg.Tensor(TIED), name)(axis=dim)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda x: x.max(keepdim=True), TypeError),
        (lambda x: x.max(2), ValueError),
        (lambda x: x.min(1.5), ValueError),
        (lambda x: x.amax(5), ValueError),
        (lambda x: x.amax((0, 0)), ValueError),
        (lambda x: tg.zeros(0).max(), ValueError),
        (lambda x: tg.zeros(2, 0).max(1), ValueError),
        (lambda x: tg.zeros(2, 0).amin(1), ValueError),
        (lambda x: tg.zeros(0, 3).amax(), ValueError),
    ],
    ids=["keepdim without dim", "dim", "float dim", "amax dim", "repeated", "empty", "empty dim",
         "amin empty dim", "amax empty"],  # fmt: skip
)
def test_bad_max_arguments_raise(call, error):
    with pytest.raises(error):
        call(tg.Tensor(TIED))


def test_reducing_a_tensor_with_an_empty_axis_kept_works_as_pytorch():
    values, indices = tg.zeros(0, 3).max(1)
    assert values.shape == (0,) and indices.shape == (0,)
    assert tg.zeros(0, 3).amax(1).shape == (0,)


# ---------------------------------------------------------------- size, numel, dim


def test_size_is_a_method_giving_the_shape_or_one_length_as_pytorch():
    t = tg.zeros(2, 3, 4)
    assert t.size() == (2, 3, 4) and isinstance(t.size(), tuple)
    assert t.size(0) == 2 and t.size(-1) == 4 and isinstance(t.size(1), int)
    assert t.size(np.int64(1)) == 3
    assert t.numel() == 24 and t.dim() == 3
    scalar = tg.Tensor(1.5)
    assert scalar.size() == () and scalar.numel() == 1 and scalar.dim() == 0
    assert tg.zeros(0, 5).numel() == 0


@pytest.mark.parametrize(
    "dim, error", [(3, IndexError), (-4, IndexError), (1.0, TypeError), (True, TypeError)]
)
def test_size_of_a_missing_or_bad_dim_raises(dim, error):
    with pytest.raises(error):
        tg.zeros(2, 3, 4).size(dim)


def test_size_of_a_0d_tensor_has_no_dim_0_as_pytorch():
    with pytest.raises(IndexError):
        tg.Tensor(1.0).size(0)
