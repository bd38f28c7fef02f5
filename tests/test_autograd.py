"""The backward engine: how gradients flow through a graph (reuse, diamonds, accumulation),
when backward refuses (non-scalar output, a freed graph), deep graphs without recursion,
and that the graph is freed after backward by reference counting alone (no cycles).
The derivatives of single ops are in test_ops.py.
"""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg


def leaf(data, dtype=np.float64) -> tg.Tensor:
    return tg.Tensor(np.asarray(data, dtype), requires_grad=True)


# ---------------------------------------------------------------- how gradients flow


def test_a_node_used_twice_by_one_op_gets_both_gradients():
    a = leaf([1.0, -2.0])
    (a + a).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])


def test_a_node_multiplied_by_itself():
    a = leaf([3.0, -2.0])
    (a * a).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [6.0, -4.0])


def test_diamond_graph_sums_both_paths():
    x = leaf([0.5, 1.5])
    left, right = x * 2, x.exp()
    (left * right).sum().backward()
    expected = 2 * np.exp(x.numpy()) + 2 * x.numpy() * np.exp(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_an_intermediate_used_by_several_later_ops():
    x = leaf([1.0, 2.0])
    y = x * 3
    (y * y + y + y.sum()).sum().backward()  # d/dy = 2y + 1 + 2 (two elements in y.sum())
    np.testing.assert_allclose(x.grad.numpy(), 3 * (2 * y.numpy() + 1 + 2))


def test_wide_fan_out_from_one_leaf():
    x = leaf([1.0])
    total = x * 0
    for i in range(1000):
        total = total + x * i
    total.sum().backward()
    assert x.grad.item() == sum(range(1000))


def test_backward_of_a_leaf_itself():
    x = leaf(3.0)
    x.backward()
    assert x.grad.item() == 1.0


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3 + 2.0, 3 + 4.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_only_leaves_that_require_grad_receive_gradients():
    x, constant = leaf([1.0]), tg.Tensor([2.0])
    y = x * constant
    unused = leaf([5.0])
    y.sum().backward()
    assert constant.grad is None and unused.grad is None
    assert y.grad is None  # a non-leaf keeps no grad unless retain_grad() was called
    assert x.grad.item() == 2.0


def test_the_gradient_argument_is_the_upstream_gradient():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(tg.Tensor([1.0, 0.0, -2.0], dtype=tg.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, -12.0])
    z = leaf([1.0, 2.0])
    (z * 2).backward(np.array([3.0, 4.0]))  # an ndarray works too
    np.testing.assert_array_equal(z.grad.numpy(), [6.0, 8.0])


def test_parts_computed_under_no_grad_are_constants():
    x = leaf([2.0])
    with tg.no_grad():
        frozen = x * x
    (x * frozen).sum().backward()
    assert x.grad.item() == 4.0  # d(x · c)/dx with c = x² held fixed


def test_backward_of_a_graph_built_under_no_grad_raises():
    x = leaf([2.0])
    with tg.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError):
        y.backward()


# ---------------------------------------------------------------- what the leaf's grad looks like


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_has_the_leafs_dtype_and_shape_after_mixed_dtypes_and_broadcasting(dtype):
    x = leaf(np.ones((1, 3)), dtype)
    other = tg.Tensor(np.full((4, 3), 2.0, np.float64 if dtype == np.float32 else np.float32))
    (x * other).sum().backward()
    assert x.grad.shape == (1, 3) and x.grad.dtype == dtype
    assert isinstance(x.grad, tg.Tensor) and not x.grad.requires_grad
    np.testing.assert_array_equal(x.grad.numpy(), [[8.0, 8.0, 8.0]])


def test_gradient_of_a_0d_leaf_is_0d():
    x = leaf(2.0)
    (x * tg.Tensor(np.ones((2, 3)))).sum().backward()
    assert x.grad.shape == () and x.grad.item() == 6.0


def test_gradients_are_fresh_writable_arrays():
    """Add hands the same array to both inputs and sum broadcasts a read-only view:
    each leaf must still get its own writable gradient (an optimizer updates it in place)."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    assert a.grad.data.flags.writeable and b.grad.data.flags.writeable
    a.grad.data += 1
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


# ---------------------------------------------------------------- when backward refuses


def test_non_scalar_backward_without_gradient_raises():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError):
        y.backward()


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (1, 1, 1)])
def test_any_size_one_tensor_counts_as_a_scalar(shape):
    x = leaf(np.full(shape, 3.0))
    (x * x).backward()
    assert x.grad.shape == shape and x.grad.item() == 6.0


def test_gradient_of_the_wrong_shape_raises():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises((ValueError, RuntimeError), match=r"\(2,\)"):
        y.backward(np.ones(3))


def test_backward_of_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError):
        tg.Tensor([1.0]).sum().backward()


def test_second_backward_through_a_freed_graph_raises():
    x = leaf([1.0, 2.0])
    loss = (x.exp() * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    loss = (x.exp() * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()  # allowed once more, and this one frees the graph
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError):
        loss.backward()


def test_backward_from_an_intermediate_after_its_graph_was_freed_raises():
    x = leaf([1.0])
    middle = x * 2
    (middle * 3).sum().backward()
    with pytest.raises(RuntimeError):
        middle.sum().backward()


# ---------------------------------------------------------------- deep graphs and memory


CHAIN_LENGTH = 100_000


def test_a_100000_op_chain_backpropagates_without_recursion():
    x = leaf(1.0)
    y = x
    for _ in range(CHAIN_LENGTH):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_a_100000_op_chain_that_is_never_backpropagated_is_freed():
    x = leaf(1.0)
    y = x
    for _ in range(CHAIN_LENGTH):
        y = y + 1.0
    tail = weakref.ref(y)
    del y  # deallocating a deep chain must not overflow the C stack
    assert tail() is None


def _graph_with_an_intermediate():
    x = leaf(np.ones((50, 50)))
    hidden = (x @ x).tanh()
    loss = (hidden * hidden).sum()
    # The graph links nodes, not tensors (the Tensor object dies with the last user
    # reference); the intermediate's array lives on only where an op saved it.
    return weakref.ref(hidden.data), loss


def test_backward_frees_the_graph_by_reference_counting_alone():
    """Without retain_graph, backward drops every saved array and link to the inputs, so an
    intermediate dies as soon as backward returns, with the garbage collector off (no cycles)."""
    gc.disable()
    try:
        hidden, loss = _graph_with_an_intermediate()
        assert hidden() is not None  # saved by Tanh and Mul for backward
        loss.backward()
        assert hidden() is None
    finally:
        gc.enable()


def test_a_retained_graph_lives_until_its_output_is_dropped():
    gc.disable()
    try:
        hidden, loss = _graph_with_an_intermediate()
        loss.backward(retain_graph=True)
        assert hidden() is not None
        del loss
        assert hidden() is None
    finally:
        gc.enable()


def test_a_graph_that_is_never_backpropagated_is_freed_with_its_output():
    gc.disable()
    try:
        hidden, loss = _graph_with_an_intermediate()
        del loss
        assert hidden() is None
    finally:
        gc.enable()
