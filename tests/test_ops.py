"""Every op of the Tensor API: forward against NumPy, backward against central differences
(tg.gradcheck in float64 with a random upstream gradient), then the cases a random input
never hits: ties, kinks, bounds and repeated indices. The op table is OP_CASES in conftest.py;
test_ops_torch.py runs the same table against PyTorch.
"""

import numpy as np
import pytest
from conftest import check_gradients, op_case_params, value_and_grad

import tinygrad_edu as tg

TOLERANCE = {
    np.float32: {"rtol": 2e-5, "atol": 1e-6},
    np.float64: {"rtol": 1e-10, "atol": 1e-12},
}


@op_case_params
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_numpy(case, dtype, rng):
    arrays = case.inputs(rng, dtype)
    out = case.fn(*[tg.Tensor(a) for a in arrays])
    expected = np.asarray(case.ref(*arrays))
    assert isinstance(out, tg.Tensor)
    assert out.shape == expected.shape
    assert out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), expected, **TOLERANCE[dtype])


@op_case_params
def test_backward_matches_central_differences(case, rng):
    assert check_gradients(case.fn, case.inputs(rng), rng)


@op_case_params
def test_gradient_has_the_shape_and_dtype_of_its_input(case, rng):
    inputs = [tg.Tensor(a, requires_grad=True) for a in case.inputs(rng, np.float32)]
    out = case.fn(*inputs)
    (out * tg.Tensor(rng.standard_normal(out.shape).astype(np.float32))).sum().backward()
    for x in inputs:
        assert x.grad is not None
        assert x.grad.shape == x.shape
        assert x.grad.dtype == np.float32


def grad_of(fn, data, dtype=np.float64) -> np.ndarray:
    return value_and_grad(fn, data, dtype)[1]


# ---------------------------------------------------------------- ties are split evenly


def test_max_splits_the_gradient_between_tied_maxima():
    np.testing.assert_array_equal(
        grad_of(lambda x: x.max(), [1.0, 3.0, 3.0, 3.0]), [0, 1 / 3, 1 / 3, 1 / 3]
    )


def test_min_splits_the_gradient_between_tied_minima():
    np.testing.assert_array_equal(
        grad_of(lambda x: x.min(), [[0.0, 2.0], [0.0, 5.0]]), [[0.5, 0], [0.5, 0]]
    )


@pytest.mark.parametrize("keepdims", [False, True])
def test_amax_over_an_axis_splits_ties_per_row(keepdims):
    data = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [4.0, 1.0, 1.0]]
    expected = [[0, 0.5, 0.5], [0.5, 0.5, 0], [1, 0, 0]]
    np.testing.assert_array_equal(
        grad_of(lambda x: x.amax(axis=1, keepdims=keepdims), data), expected
    )


def test_amin_over_an_axis_splits_ties_per_column():
    data = [[1.0, 3.0], [1.0, 2.0], [5.0, 2.0]]
    np.testing.assert_array_equal(
        grad_of(lambda x: x.amin(axis=0), data), [[0.5, 0], [0.5, 0.5], [0, 0.5]]
    )


def test_max_with_a_dim_returns_values_and_indices_and_the_index_gets_the_gradient():
    values, indices = tg.Tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
    np.testing.assert_array_equal(values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    data = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]  # ties: the first index takes it all (PyTorch)
    np.testing.assert_array_equal(grad_of(lambda x: x.max(1).values, data), [[0, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize("fn", [tg.maximum, tg.minimum], ids=["maximum", "minimum"])
def test_maximum_and_minimum_split_ties_evenly(fn):
    a = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = tg.Tensor([1.0, 0.0, 5.0], requires_grad=True)
    fn(a, b).sum().backward()
    a_wins = [0.5, 1.0, 0.0] if fn is tg.maximum else [0.5, 0.0, 1.0]
    np.testing.assert_array_equal(a.grad.numpy(), a_wins)
    np.testing.assert_array_equal(b.grad.numpy(), 1 - np.array(a_wins))


def test_maximum_of_a_tensor_with_itself_passes_the_whole_gradient():
    np.testing.assert_array_equal(grad_of(lambda x: tg.maximum(x, x), [1.0, -2.0]), [1.0, 1.0])


# ---------------------------------------------------------------- kinks and bounds


def test_clip_passes_the_gradient_at_both_bounds_inclusive():
    data = [-2.0, -1.0, -0.5, 0.0, 1.0, 1.5]
    np.testing.assert_array_equal(grad_of(lambda x: x.clip(-1.0, 1.0), data), [0, 1, 1, 1, 1, 0])


def test_clip_with_one_bound_passes_the_gradient_at_that_bound():
    np.testing.assert_array_equal(grad_of(lambda x: x.clip(min=0.0), [-1.0, 0.0, 2.0]), [0, 1, 1])
    np.testing.assert_array_equal(grad_of(lambda x: x.clamp(max=0.0), [-1.0, 0.0, 2.0]), [1, 1, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_gradient_at_the_kink_is_zero(dtype):
    np.testing.assert_array_equal(grad_of(lambda x: x.relu(), [-1.0, 0.0, 2.0], dtype), [0, 0, 1])


def test_leaky_relu_gradient_at_the_kink_is_the_slope():
    np.testing.assert_allclose(
        grad_of(lambda x: x.leaky_relu(0.1), [-1.0, 0.0, 2.0]), [0.1, 0.1, 1]
    )


def test_abs_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(grad_of(lambda x: x.abs(), [-3.0, 0.0, 2.0]), [-1, 0, 1])


# ---------------------------------------------------------------- indexing


def test_repeated_indices_accumulate_their_gradients():
    np.testing.assert_array_equal(grad_of(lambda x: x[[0, 0, 2, 0]], [1.0, 2.0, 3.0]), [3, 0, 1])


def test_repeated_int_tensor_indices_accumulate_weighted_gradients():
    x = tg.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    picked = x[tg.Tensor([1, 1, 0])]
    (picked * tg.Tensor([[1.0, 1.0], [2.0, 2.0], [5.0, 5.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[5, 5], [3, 3]])


def test_repeated_pairs_of_int_arrays_accumulate():
    rows, cols = np.array([0, 0, 1]), np.array([1, 1, 0])
    np.testing.assert_array_equal(
        grad_of(lambda x: x[rows, cols], np.zeros((2, 2))), [[0, 2], [1, 0]]
    )


# ---------------------------------------------------------------- composition and 0-d results


@pytest.mark.parametrize(
    "make_scalar",
    [lambda x: x[0], lambda x: x.sum(), lambda x: x[0] * x[1], lambda x: x @ x, lambda x: x.max()],
    ids=["x[0]", "sum", "x[0]*x[1]", "1-d@1-d", "max"],
)
@pytest.mark.parametrize("then", ["relu", "exp", "sigmoid", "log1p"])
def test_ops_chain_on_a_0d_result(make_scalar, then, rng):
    """A 0-d result (a scalar loss, one picked element) is an input like any other."""
    assert check_gradients(lambda x: getattr(make_scalar(x), then)(), [rng.uniform(0.5, 1, 3)], rng)


def test_a_small_network_backpropagates_through_every_kind_of_op(rng):
    def network(x, w1, w2):
        hidden = (x @ w1).relu()
        logits = hidden @ w2 + hidden.mean(axis=1, keepdims=True)
        return logits.log_softmax(axis=-1)[np.arange(4), np.array([0, 2, 1, 2])]

    assert check_gradients(network, [rng.standard_normal(s) for s in [(4, 3), (3, 5), (5, 3)]], rng)
