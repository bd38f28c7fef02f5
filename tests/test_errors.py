"""Bad input gives a clear exception, never a wrong answer or a deep numpy traceback:
ValueError naming both shapes for shape errors, ValueError for a bad axis, TypeError
for data or dtypes that cannot be differentiated or stored.
"""

import numpy as np
import pytest

import tinygrad_edu as tg


def t(*shape) -> tg.Tensor:
    return tg.Tensor(np.ones(shape, np.float32))


def assert_names_shapes(error: pytest.ExceptionInfo, *shapes: tuple) -> None:
    for shape in shapes:
        assert str(shape) in str(error.value), f"{shape} not named in: {error.value}"


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * b,
        lambda a, b: a / b,
        lambda a, b: a**b,
        tg.maximum,
        tg.minimum,
        lambda a, b: tg.where(np.ones(a.shape, bool), a, b),
    ],
    ids=["add", "sub", "mul", "div", "pow", "maximum", "minimum", "where"],
)
def test_broadcasting_failure_names_both_shapes(op):
    with pytest.raises(ValueError) as error:
        op(
            t(2, 3),
            t(
                4,
            ),
        )
    assert_names_shapes(error, (2, 3), (4,))


def test_broadcasting_failure_with_an_array_operand_names_both_shapes():
    with pytest.raises(ValueError) as error:
        t(
            3,
        ) + np.ones(2, np.float32)
    assert_names_shapes(error, (3,), (2,))


@pytest.mark.parametrize(
    "a, b",
    [((2, 3), (4, 5)), ((3,), (4,)), ((3,), (2, 5)), ((2, 4), (3,)), ((5, 2, 3), (5, 4, 2))],
)
def test_matmul_inner_dimension_mismatch_names_both_shapes(a, b):
    with pytest.raises(ValueError) as error:
        t(*a) @ t(*b)
    assert_names_shapes(error, a, b)


def test_matmul_batch_shapes_that_do_not_broadcast_name_both_shapes():
    with pytest.raises(ValueError) as error:
        t(2, 3, 4) @ t(3, 4, 5)
    assert_names_shapes(error, (2, 3, 4), (3, 4, 5))


def test_matmul_of_a_0d_operand_raises():
    with pytest.raises(ValueError):
        t() @ t(3)


@pytest.mark.parametrize("shape", [(5,), (2, 2), (-1, 5), (-1, -1), (0, -1), (-2, 3)])
def test_reshape_to_a_wrong_size_raises(shape):
    with pytest.raises(ValueError) as error:
        t(2, 3).reshape(shape)
    assert_names_shapes(error, (2, 3))


def test_reshape_with_non_integer_entries_raises_type_error():
    with pytest.raises(TypeError):
        t(2, 3).reshape(3.0, 2)


def test_expand_to_an_incompatible_shape_raises():
    with pytest.raises(ValueError) as error:
        t(2, 3).expand(4, 3)
    assert_names_shapes(error, (2, 3))
    with pytest.raises(ValueError):
        t(2, 3).expand(3)


@pytest.mark.parametrize(
    "join",
    [lambda a, b: tg.concatenate([a, b]), lambda a, b: tg.stack([a, b])],
    ids=["concatenate", "stack"],
)
def test_joining_mismatched_shapes_names_both(join):
    with pytest.raises(ValueError) as error:
        join(t(2, 3), t(2, 4))
    assert_names_shapes(error, (2, 3), (2, 4))


@pytest.mark.parametrize("join", [tg.concatenate, tg.stack])
def test_joining_nothing_raises(join):
    with pytest.raises(ValueError):
        join([])


# ---------------------------------------------------------------- axes


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x.sum(axis=2),
        lambda x: x.mean(axis=-3),
        lambda x: x.max(axis=5),
        lambda x: x.min(dim=2),
        lambda x: x.var(axis=(0, 2)),
        lambda x: x.logsumexp(axis=2),
        lambda x: x.sum(axis=(0, 0)),
        lambda x: x.softmax(axis=2),
        lambda x: x.log_softmax(axis=-3),
        lambda x: x.permute(0, 2),
        lambda x: x.permute(0, 0),
        lambda x: x.permute(0),
        lambda x: x.transpose(0, 2),
        lambda x: x.squeeze(3),
        lambda x: x.unsqueeze(4),
        lambda x: x.flatten(0, 3),
        lambda x: tg.concatenate([x, x], axis=2),
        lambda x: tg.stack([x, x], axis=4),
    ],
    ids=[
        "sum",
        "mean",
        "max",
        "min dim",
        "var tuple",
        "logsumexp",
        "repeated axis",
        "softmax",
        "log_softmax",
        "permute short",
        "permute repeated",
        "permute one",
        "transpose",
        "squeeze",
        "unsqueeze",
        "flatten",
        "concatenate",
        "stack",
    ],
)
def test_a_bad_axis_raises_value_error(op):
    with pytest.raises(ValueError):
        op(t(2, 3))


@pytest.mark.parametrize("axis", [1.0, "0", True])
def test_a_non_integer_axis_raises(axis):
    with pytest.raises((TypeError, ValueError)):
        t(2, 3).sum(axis=axis)


# ---------------------------------------------------------------- dtypes and data


@pytest.mark.parametrize(
    "data", [[1, 2], 3, np.array([1, 2], np.int32), [True]], ids=["list", "int", "int32", "bool"]
)
def test_requires_grad_on_integer_or_bool_data_raises_type_error(data):
    with pytest.raises(TypeError):
        tg.Tensor(data, requires_grad=True)


def test_requires_grad_with_a_forced_integer_dtype_raises_type_error():
    with pytest.raises(TypeError):
        tg.Tensor([1.0, 2.0], dtype=tg.int64, requires_grad=True)


@pytest.mark.parametrize(
    "data",
    [
        "text",
        ["a", "b"],
        None,
        [1.0, None],
        np.array([1 + 2j]),
        np.array(["x"]),
        np.array([object()], dtype=object),
        {"a": 1},
    ],
    ids=[
        "str",
        "list of str",
        "None",
        "list with None",
        "complex",
        "str array",
        "object array",
        "dict",
    ],
)
def test_unsupported_data_raises_type_error(data):
    with pytest.raises(TypeError):
        tg.Tensor(data)


@pytest.mark.parametrize("dtype", [np.complex64, object, np.str_])
def test_unsupported_forced_dtype_raises_type_error(dtype):
    with pytest.raises(TypeError):
        tg.Tensor([1.0, 2.0], dtype=dtype)


def test_operand_of_an_unsupported_type_raises_type_error():
    with pytest.raises(TypeError):
        t(2) + "text"
    with pytest.raises(TypeError):
        t(2) * None


def test_where_needs_a_bool_condition():
    with pytest.raises(TypeError):
        tg.where(tg.Tensor([1.0, 0.0]), t(2), t(2))
    with pytest.raises(TypeError):
        tg.where([True, False], t(2), t(2))


def test_indexing_with_a_float_tensor_raises():
    with pytest.raises(IndexError):
        t(3)[tg.Tensor([0.0, 1.0])]


def test_indexing_out_of_range_raises_index_error():
    with pytest.raises(IndexError):
        t(3)[3]


# ---------------------------------------------------------------- other arguments


def test_clip_without_bounds_raises():
    with pytest.raises(ValueError):
        t(2).clip()


def test_creation_with_a_non_integer_shape_raises_type_error():
    with pytest.raises(TypeError):
        tg.zeros(2.5)
    with pytest.raises(TypeError):
        tg.ones((2, "3"))


def test_arange_with_step_zero_raises():
    with pytest.raises(ValueError):
        tg.arange(0, 5, 0)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None])
def test_manual_seed_rejects_a_bad_seed(seed):
    with pytest.raises(ValueError):
        tg.manual_seed(seed)


@pytest.mark.parametrize("n", [0, -2, 1.5, True])
def test_set_num_threads_rejects_a_bad_count(n):
    with pytest.raises(ValueError):
        tg.set_num_threads(n)


def test_max_of_an_empty_tensor_raises():
    with pytest.raises(ValueError):
        t(0).max()


@pytest.mark.parametrize(
    "call",
    [
        lambda x: tg.stack([x, x], dim=77),
        lambda x: x.sum(5),
        lambda x: x.size(3),
        lambda x: x.unsqueeze(9),
        lambda x: x.softmax(-4),
    ],
    ids=["stack", "sum", "size", "unsqueeze", "softmax"],
)
def test_axis_out_of_range_is_both_index_and_value_error(call):
    # PyTorch raises IndexError ("Dimension out of range"), numpy ValueError: either catches it.
    x = tg.Tensor([[1.0, -2.0]])
    with pytest.raises(IndexError, match="out of range"):
        call(x)
    with pytest.raises(ValueError, match="out of range"):
        call(x)


def test_abs_builtin_is_the_abs_op():
    x = tg.Tensor([[1.5, -2.0]], requires_grad=True)
    abs(x).sum().backward()
    np.testing.assert_array_equal(abs(x).numpy(), [[1.5, 2.0]])
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, -1.0]])
