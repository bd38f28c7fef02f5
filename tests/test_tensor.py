"""The Tensor object itself: construction and dtype rules, attributes, conversions, repr,
detach / requires_grad_ / retain_grad, grad_fn names, comparisons, the creation functions
with manual_seed, and grad mode. Gradients of the ops are in test_ops.py; the backward
engine is in test_autograd.py.
"""

import numpy as np
import pytest

import tinygrad_edu as tg

# ---------------------------------------------------------------- construction and dtypes


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, tg.float32),
        ([1.0, 2.0], tg.float32),
        ([[1.0, 2.0], [3.0, 4.0]], tg.float32),
        ([1, 2.5], tg.float32),
        (np.array([1.0, 2.0], np.float32), tg.float32),
        (np.array([1.0, 2.0], np.float64), tg.float64),
        (3, tg.int64),
        ([1, 2, 3], tg.int64),
        (np.array([1, 2], np.int32), tg.int64),
        (np.array([1, 2], np.uint8), tg.int64),
        ([True, False], np.dtype(bool)),
        ([], tg.float32),
    ],
    ids=[
        "float",
        "list of floats",
        "nested lists",
        "mixed int/float list",
        "float32 array",
        "float64 array",
        "int",
        "list of ints",
        "int32 array",
        "uint8 array",
        "bools",
        "empty list",
    ],
)
def test_construction_dtype_rules(data, dtype):
    t = tg.Tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64, tg.int64])
def test_dtype_keyword_forces_the_dtype(dtype):
    assert tg.Tensor([1.0, 2.0], dtype=dtype).dtype == dtype
    assert tg.Tensor(np.arange(3.0), dtype=dtype).dtype == dtype


def test_dtypes_are_numpy_dtypes():
    assert (tg.float32, tg.float64, tg.int64) == (
        np.dtype("float32"),
        np.dtype("float64"),
        np.dtype("int64"),
    )
    assert isinstance(tg.Tensor([1.0]).dtype, np.dtype)


def test_tensor_from_tensor_copies_the_data_into_a_new_leaf():
    source = tg.Tensor([1.0, 2.0], requires_grad=True) * 2
    copy = tg.Tensor(source)
    source.data[0] = 100.0
    assert copy.is_leaf and not copy.requires_grad
    np.testing.assert_array_equal(copy.numpy(), [2.0, 4.0])


def test_array_data_is_copied_not_shared():
    array = np.array([1.0, 2.0])
    t = tg.Tensor(array)
    array[0] = 5.0
    assert t.numpy()[0] == 1.0


@pytest.mark.parametrize(
    "make, dtype",
    [
        (lambda: tg.Tensor([1.0, 2.0]) + 1.5, tg.float32),
        (lambda: 3 * tg.Tensor([1.0, 2.0]), tg.float32),
        (lambda: tg.Tensor(np.ones(2)) * 1.5, tg.float64),
        (lambda: tg.Tensor([1, 2]) + 1, tg.int64),
        (lambda: tg.Tensor([1, 2]) * 0.5, tg.float32),
        (lambda: tg.Tensor([1, 2]) / 2, tg.float32),
        (lambda: tg.Tensor([1, 2]) + tg.Tensor([0.5, 1.5]), tg.float32),
        (lambda: tg.maximum(tg.Tensor([1, 2]), tg.Tensor([0.5, 1.5])), tg.float32),
        (
            lambda: tg.where(np.array([True, False]), tg.Tensor([1, 2]), tg.Tensor([0.5, 1.5])),
            tg.float32,
        ),
        (lambda: tg.concatenate([tg.Tensor([1, 2]), tg.Tensor([0.5])]), tg.float32),
    ],
    ids=[
        "f32+float",
        "int*f32",
        "f64*float",
        "int+int",
        "int*float",
        "int/int",
        "int+f32",
        "maximum",
        "where",
        "concatenate",
    ],
)
def test_result_dtypes_follow_the_default_float(make, dtype):
    """A Python number never widens a tensor; an integer tensor meeting a float gives float32
    (the default float), as in PyTorch."""
    assert make().dtype == dtype


@pytest.mark.parametrize(
    "op",
    [lambda a, t: a + t, lambda a, t: a * t, lambda a, t: a - t, lambda a, t: a @ t],
    ids=["+", "*", "-", "@"],
)
def test_an_ndarray_on_the_left_defers_to_the_tensor(op):
    """`ndarray op Tensor` gives a Tensor in the graph, not a numpy array of objects."""
    x = tg.Tensor(np.ones((2, 2)), requires_grad=True)
    out = op(np.full((2, 2), 3.0), x)
    assert isinstance(out, tg.Tensor) and out.requires_grad
    np.testing.assert_array_equal(out.numpy(), op(np.full((2, 2), 3.0), np.ones((2, 2))))


# ---------------------------------------------------------------- attributes and conversions


def test_attributes():
    t = tg.Tensor(np.zeros((2, 3, 4), np.float32))
    assert isinstance(t.data, np.ndarray)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple)
    assert t.ndim == 3
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.numel() == 24 and isinstance(t.numel(), int) and t.dim() == 3
    assert t.grad is None and t.grad_fn is None
    assert t.is_leaf and not t.requires_grad
    assert t.T.shape == (4, 3, 2)
    assert len(t) == 2


@pytest.mark.parametrize(
    "make_0d",
    [
        lambda x: x[0],
        lambda x: x[0].exp(),
        lambda x: x.sum() * 2,
        lambda x: x.max() + x.min(),
        lambda x: x @ x,
        lambda x: (x.sum() - 1).relu(),
    ],
    ids=["x[0]", "x[0].exp()", "sum*2", "max+min", "1-d@1-d", "relu of 0-d"],
)
def test_data_of_a_0d_result_is_an_ndarray(make_0d):
    """`.data` is the np.ndarray storage for every tensor, including 0-d results."""
    out = make_0d(tg.Tensor([1.0, 2.0], requires_grad=True))
    assert isinstance(out.data, np.ndarray) and out.shape == ()
    assert isinstance(out.numpy(), np.ndarray)


def test_numpy_item_tolist_and_array_protocol():
    t = tg.Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(t.numpy(), np.ndarray)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(np.asarray(t), [[1.0, 2.0], [3.0, 4.0]])
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert tg.Tensor(2.5).item() == 2.5 and isinstance(tg.Tensor(2.5).item(), float)
    assert tg.Tensor([7]).item() == 7 and isinstance(tg.Tensor([7]).item(), int)


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (1, 1, 1)])
def test_item_works_on_any_size_one_shape(shape):
    assert tg.Tensor(np.full(shape, 4.0)).item() == 4.0


def test_item_of_several_elements_raises():
    with pytest.raises(ValueError, match=r"\(2,\)"):
        tg.Tensor([1.0, 2.0]).item()


def test_len_of_a_0d_tensor_raises_type_error():
    with pytest.raises(TypeError):
        len(tg.Tensor(1.0))


def test_repr_shows_data_and_graph_state():
    plain = tg.Tensor([1.5, 2.5])
    leaf = tg.Tensor([1.5, 2.5], requires_grad=True)
    made = leaf * 2
    assert "1.5" in repr(plain) and "2.5" in repr(plain)
    assert "requires_grad" not in repr(plain) and "grad_fn" not in repr(plain)
    assert "requires_grad=True" in repr(leaf)
    assert f"grad_fn=<{made.grad_fn.name}>" in repr(made)
    assert "float64" in repr(tg.Tensor(np.ones(2)))


# ---------------------------------------------------------------- autograd attributes


def test_detach_shares_values_but_leaves_the_graph():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    np.testing.assert_array_equal(d.numpy(), y.numpy())
    (d * y).sum().backward()  # only the y branch reaches x
    np.testing.assert_array_equal(x.grad.numpy(), [9.0, 18.0])


def test_requires_grad_sets_the_flag_and_returns_the_tensor():
    t = tg.Tensor([1.0])
    assert t.requires_grad_() is t and t.requires_grad
    assert t.requires_grad_(False) is t and not t.requires_grad


@pytest.mark.parametrize("data", [[1, 2], [True, False]], ids=["int", "bool"])
def test_requires_grad_on_non_float_data_raises_type_error(data):
    with pytest.raises(TypeError):
        tg.Tensor(data, requires_grad=True)
    with pytest.raises(TypeError):
        tg.Tensor(data).requires_grad_()
    tg.Tensor(data).requires_grad_(False)  # turning it off is always fine


def test_retain_grad_keeps_the_gradient_of_a_non_leaf():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    kept, dropped = x * 2, x * 3
    kept.retain_grad()
    (kept * kept + dropped).sum().backward()
    np.testing.assert_array_equal(kept.grad.numpy(), [4.0, 8.0])
    assert dropped.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), [2 * 4.0 + 3, 2 * 8.0 + 3])


def test_retain_grad_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError):
        tg.Tensor([1.0]).retain_grad()


@pytest.mark.parametrize(
    "make, op_name",
    [
        (lambda x: x + 1, "Add"),
        (lambda x: x - 1, "Sub"),
        (lambda x: x * x, "Mul"),
        (lambda x: x / 2, "Div"),
        (lambda x: x**2, "Pow"),
        (lambda x: -x, "Neg"),
        (lambda x: x @ x.T, "MatMul"),
        (lambda x: x.exp(), "Exp"),
        (lambda x: x.relu(), "ReLU"),
        (lambda x: x.sum(), "Sum"),
        (lambda x: x.mean(), "Mean"),
        (lambda x: x.max(), "Max"),
        (lambda x: x.softmax(), "Softmax"),
        (lambda x: x.reshape(4), "Reshape"),
        (lambda x: x[0], "GetItem"),
        (lambda x: tg.stack([x, x]), "Stack"),
    ],
)
def test_grad_fn_has_a_readable_name(make, op_name):
    x = tg.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    name = make(x).grad_fn.name
    assert isinstance(name, str) and op_name.lower() in name.lower()


def test_ops_on_tensors_without_grad_record_nothing():
    y = tg.Tensor([1.0, 2.0]) * 2 + tg.Tensor([3.0, 4.0], requires_grad=False)
    assert y.grad_fn is None and not y.requires_grad and y.is_leaf


# ---------------------------------------------------------------- comparisons


@pytest.mark.parametrize(
    "compare, expected",
    [
        (lambda a, b: a < b, [True, False, False]),
        (lambda a, b: a <= b, [True, True, False]),
        (lambda a, b: a > b, [False, False, True]),
        (lambda a, b: a >= b, [False, True, True]),
        (lambda a, b: a == b, [False, True, False]),
        (lambda a, b: a != b, [True, False, True]),
    ],
    ids=["<", "<=", ">", ">=", "==", "!="],
)
@pytest.mark.parametrize(
    "other", [tg.Tensor([2.0, 2.0, 2.0]), 2.0, 2], ids=["tensor", "float", "int"]
)
def test_comparisons_return_bool_tensors_outside_the_graph(compare, expected, other):
    x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    result = compare(x, other)
    assert isinstance(result, tg.Tensor)
    assert result.dtype == np.dtype(bool)
    assert not result.requires_grad and result.grad_fn is None
    assert result.tolist() == expected


# ---------------------------------------------------------------- creation


@pytest.mark.parametrize("make", [tg.zeros, tg.ones, tg.rand, tg.randn])
def test_creation_takes_ints_or_a_tuple(make):
    assert make(2, 3).shape == make((2, 3)).shape == (2, 3)
    assert make(2, 3).dtype == tg.float32
    assert make(2, dtype=tg.float64).dtype == tg.float64
    assert make(2, 3, requires_grad=True).requires_grad
    assert make(4).is_leaf


def test_zeros_ones_full_eye_values():
    np.testing.assert_array_equal(tg.zeros(2, 2).numpy(), np.zeros((2, 2)))
    np.testing.assert_array_equal(tg.ones(3).numpy(), np.ones(3))
    full = tg.full((2, 3), 1.5)
    assert full.dtype == tg.float32 and full.shape == (2, 3)
    np.testing.assert_array_equal(full.numpy(), np.full((2, 3), 1.5))
    assert tg.full(3, 2.0, dtype=tg.float64).dtype == tg.float64
    np.testing.assert_array_equal(tg.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(tg.eye(2, 4).numpy(), np.eye(2, 4))
    assert tg.eye(2).dtype == tg.float32


@pytest.mark.parametrize(
    "args, expected, dtype",
    [
        ((5,), np.arange(5), tg.int64),
        ((2, 7, 2), np.arange(2, 7, 2), tg.int64),
        ((0.0, 1.0, 0.25), np.arange(0, 1, 0.25), tg.float32),
        ((3.0,), np.arange(3.0), tg.float32),
        ((5, 0, -2), np.arange(5, 0, -2), tg.int64),
    ],
)
def test_arange(args, expected, dtype):
    t = tg.arange(*args)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), expected)


def test_arange_with_dtype_and_requires_grad():
    t = tg.arange(4, dtype=tg.float64, requires_grad=True)
    assert t.dtype == tg.float64 and t.requires_grad


def test_rand_is_in_unit_interval_and_randn_is_standard_normal():
    tg.manual_seed(0)
    uniform, normal = tg.rand(10_000).numpy(), tg.randn(10_000).numpy()
    assert uniform.min() >= 0 and uniform.max() < 1
    assert abs(normal.mean()) < 0.05 and abs(normal.std() - 1) < 0.05


@pytest.mark.parametrize("like", [tg.zeros_like, tg.ones_like])
def test_like_functions_keep_shape_and_dtype(like):
    for source in [tg.Tensor(np.ones((2, 3))), tg.Tensor([[1, 2]]), tg.Tensor([1.0])]:
        made = like(source)
        assert made.shape == source.shape and made.dtype == source.dtype
    assert like(tg.Tensor([1, 2]), dtype=tg.float32).dtype == tg.float32
    assert like(tg.Tensor([1.0]), requires_grad=True).requires_grad


@pytest.mark.parametrize(
    "make",
    [
        lambda: tg.zeros(2, dtype=tg.int64, requires_grad=True),
        lambda: tg.arange(3, requires_grad=True),
        lambda: tg.zeros_like(tg.Tensor([1, 2]), requires_grad=True),
    ],
)
def test_creating_an_integer_tensor_that_requires_grad_raises(make):
    with pytest.raises(TypeError):
        make()


@pytest.mark.parametrize("draw", [tg.rand, tg.randn])
def test_manual_seed_makes_random_tensors_reproducible(draw):
    tg.manual_seed(123)
    first = [draw(3, 4).numpy(), draw(5).numpy()]
    tg.manual_seed(123)
    again = [draw(3, 4).numpy(), draw(5).numpy()]
    tg.manual_seed(124)
    other = draw(3, 4).numpy()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other)
    assert not np.array_equal(first[0][:, :1], first[0][:, 1:2])  # draws differ within a call


# ---------------------------------------------------------------- grad mode


def test_no_grad_records_nothing_and_restores_the_mode():
    x = tg.Tensor([1.0], requires_grad=True)
    assert tg.is_grad_enabled()
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_enable_grad_inside_no_grad_records_again():
    x = tg.Tensor([1.0], requires_grad=True)
    with tg.no_grad():
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            y = x * 2
        assert not tg.is_grad_enabled()
    assert y.grad_fn is not None


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ValueError), tg.no_grad():
        raise ValueError("raised inside no_grad")
    assert tg.is_grad_enabled()


def test_no_grad_as_a_decorator():
    @tg.no_grad()
    def double(t):
        assert not tg.is_grad_enabled()
        return t * 2

    y = double(tg.Tensor([1.0], requires_grad=True))
    assert not y.requires_grad and tg.is_grad_enabled()
    assert double.__name__ == "double"


def test_enable_grad_as_a_decorator_inside_no_grad():
    @tg.enable_grad()
    def double(t):
        return t * 2

    with tg.no_grad():
        y = double(tg.Tensor([1.0], requires_grad=True))
    assert y.requires_grad


def test_no_grad_as_a_decorator_without_parentheses():
    """`@tg.no_grad` works as `@torch.no_grad` does."""

    @tg.no_grad
    def double(t):
        return t * 2

    assert not double(tg.Tensor([1.0], requires_grad=True)).requires_grad
