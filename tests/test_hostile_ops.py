"""Hostile input through the public API: odd dtypes, ranks, zero sizes, strided views,
NaN/Inf, impossible sizes and malformed arguments. Each gives the right answer or a
clear TypeError/ValueError/MemoryError/RuntimeError, never a crash. The cases that could
kill the interpreter run in a subprocess. test_kernels.py does the same for raw kernels.
"""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import op_case_params

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

TOLERANCE = {np.float32: {"rtol": 1e-5, "atol": 1e-5}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}


def randn(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def np_cross_entropy(logits, target):
    shift = logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(logits - shift).sum(axis=1)) + shift[:, 0]
    return log_norm - logits[np.arange(len(target)), target]


# ---- construction from hostile data -------------------------------------------------------


@pytest.mark.parametrize(
    "data, dtype",
    [
        (np.array([[1, -2], [3, 4]], np.int32), tg.int64),
        (np.array([1, 2], np.uint8), tg.int64),
        (np.array([0.5, -1.25], np.float16), tg.float32),
        (np.array([True, False]), np.dtype(bool)),
        (np.array([1.5, 2.0], ">f8"), tg.float64),  # big-endian: bytes must be swapped
        (np.array([3, 4], ">i4"), tg.int64),
    ],
)
def test_odd_numeric_dtypes_convert_with_their_values(data, dtype):
    t = tg.Tensor(data)
    assert t.dtype == dtype and t.dtype.isnative
    np.testing.assert_array_equal(t.data, data)


@pytest.mark.parametrize(
    "data",
    [
        np.array([1, 2], np.int32),
        np.array([True, False]),
    ],
)
def test_non_float_data_cannot_require_grad(data):
    with pytest.raises(TypeError, match="only float32/float64"):
        tg.Tensor(data, requires_grad=True)


def test_float16_data_becomes_a_differentiable_float32_tensor():
    x = tg.Tensor(np.array([1.0, -2.0], np.float16), requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.dtype == tg.float32
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0])


@pytest.mark.parametrize(
    "data",
    [
        np.array([1, "a"], dtype=object),
        [1.0, None],
        np.array([1 + 2j]),
        3 + 1j,
        "abc",
        np.array(["1.0", "2.0"]),
        np.array([b"x"]),
        np.array(["2026-01-01"], dtype="datetime64[D]"),
    ],
)
def test_unsupported_data_raises_type_error(data):
    with pytest.raises(TypeError, match="unsupported data"):
        tg.Tensor(data)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.complex64, object, "U3"])
def test_unsupported_dtype_keyword_raises_type_error(dtype):
    with pytest.raises(TypeError, match="unsupported dtype"):
        tg.Tensor([1.0], dtype=dtype)


def test_ragged_nested_lists_raise_value_error():
    with pytest.raises(ValueError, match="shape"):
        tg.Tensor([[1.0], [1.0, 2.0]])


def test_strided_unaligned_and_read_only_arrays_are_copied_into_c_order():
    base = randn(6, 8)
    raw = np.frombuffer(b"\0" + base.tobytes(), dtype=np.float64, offset=1).reshape(6, 8)
    assert not raw.flags.aligned and not raw.flags.writeable
    for array in [base[::-1], base.T, base[:, ::2], base[::-2, ::-3], raw]:
        t = tg.Tensor(array, requires_grad=True)
        assert t.data.flags.c_contiguous and t.data.flags.aligned and t.data.flags.writeable
        np.testing.assert_array_equal(t.data, array)
        assert not np.shares_memory(t.data, base)


def test_a_parameter_made_from_a_read_only_array_trains():
    frozen = randn(3, 4)
    frozen.flags.writeable = False
    weight = nn.Parameter(tg.Tensor(frozen))
    (weight * weight).sum().backward()
    tg.optim.SGD([weight], lr=0.5).step()
    np.testing.assert_allclose(weight.data, 0.0, atol=1e-15)
    assert frozen.any()  # the caller's array is untouched


# ---- ranks: 0-d, 1-d, 3-d where 2-d is the usual ---------------------------------------


@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4), (2, 1, 3, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_of_any_rank_and_its_gradient(shape, dtype):
    data = randn(*shape, dtype=dtype)
    x = tg.Tensor(data, requires_grad=True)
    out = x.relu()
    out.sum().backward()
    assert out.shape == shape and out.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_array_equal(out.data, np.maximum(data, 0))
    np.testing.assert_array_equal(x.grad.data, (data > 0).astype(dtype))


@pytest.mark.parametrize("x_shape", [(4,), (2, 3, 4), (2, 1, 3, 4)])
def test_linear_of_1d_and_nd_input_matches_numpy_and_gradcheck(x_shape):
    data, weight, bias = randn(*x_shape), randn(5, 4, seed=1), randn(5, seed=2)
    out = F.linear(tg.Tensor(data), tg.Tensor(weight), tg.Tensor(bias))
    np.testing.assert_allclose(out.data, data @ weight.T + bias, **TOLERANCE[np.float64])
    inputs = [tg.Tensor(a, requires_grad=True) for a in (data, weight, bias)]
    assert tg.gradcheck(F.linear, inputs)


@pytest.mark.parametrize(
    "x_shape, w_shape",
    [((), (2, 3)), ((4, 3), (3,)), ((4, 3), (2, 3, 3)), ((4, 3), ()), ((4, 3), (2, 4))],
)
def test_linear_rejects_bad_ranks_naming_both_shapes(x_shape, w_shape):
    with pytest.raises(ValueError, match="linear") as error:
        F.linear(tg.Tensor(np.ones(x_shape)), tg.Tensor(np.ones(w_shape)))
    assert str(x_shape) in str(error.value) and str(w_shape) in str(error.value)


@pytest.mark.parametrize("logits_shape", [(), (4,), (4, 3, 2), (4, 3, 2, 1)])
def test_cross_entropy_rejects_logits_whose_shape_does_not_fit_the_target(logits_shape):
    # (C,), (N, C) and (N, C, d1, ...) are all valid, as PyTorch; with a target (4,) only
    # (4, C) fits.
    with pytest.raises(ValueError, match=r"logits must be \(N, C\)") as error:
        F.cross_entropy(tg.Tensor(np.ones(logits_shape)), np.zeros(4, np.int64))
    assert str(logits_shape) in str(error.value)


@pytest.mark.parametrize(
    "x_shape, y_shape",
    [
        ((), (2, 2)),
        ((2, 2), ()),
        ((2, 3), (4, 5)),
        ((3,), (4,)),
        ((2, 3, 4), (3, 5)),
        ((5,), (4, 2)),
    ],
)
def test_matmul_rejects_0d_and_mismatched_inner_dims_naming_both_shapes(x_shape, y_shape):
    x, y = tg.Tensor(np.ones(x_shape)), tg.Tensor(np.ones(y_shape))
    with pytest.raises(ValueError, match="matmul") as error:
        x @ y
    assert str(x_shape) in str(error.value) and str(y_shape) in str(error.value)


def test_matmul_rejects_batch_shapes_that_do_not_broadcast_naming_both():
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(3, 4, 5\)"):
        tg.Tensor(np.ones((2, 3, 4))) @ tg.Tensor(np.ones((3, 4, 5)))


@pytest.mark.parametrize("other", ["abc", None, object(), {"a": 1}])
def test_matmul_with_a_non_array_raises_type_error(other):
    with pytest.raises(TypeError, match="expected a Tensor"):
        tg.Tensor(np.ones((2, 2))) @ other


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x.relu(),
        lambda x: F.linear(x, tg.Tensor(np.ones((2, 2), np.float32))),
        lambda x: F.cross_entropy(x, [0, 1]),
    ],
)
@pytest.mark.parametrize("dtype", [np.int32, bool])
def test_c_backed_ops_refuse_integer_and_bool_tensors_with_type_error(op, dtype):
    with pytest.raises(TypeError, match="float32 or float64"):
        op(tg.Tensor(np.ones((2, 2), dtype)))


def test_linear_refuses_mixed_float_dtypes_with_type_error():
    with pytest.raises(TypeError, match="same dtype"):
        F.linear(tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((4, 3), np.float32)))


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x.relu(),
        lambda x: F.linear(x, tg.Tensor(randn(4, 3, dtype=np.float32), requires_grad=True)),
        lambda x: F.cross_entropy(x, [0, 1], reduction="none"),
        lambda x: x @ tg.Tensor(randn(3, 3, dtype=np.float32)),
    ],
    ids=["relu", "linear", "cross_entropy", "matmul"],
)
def test_float32_ops_inside_a_float64_graph_backpropagate(op):
    """float32 op output times a float64 tensor promotes to float64 (as PyTorch), so the
    float32 op's backward receives a float64 gradient; it must still work, and the leaf's
    gradient keeps the leaf's dtype."""
    x = tg.Tensor(randn(2, 3, dtype=np.float32), requires_grad=True)
    out = op(x)
    scale = tg.Tensor(np.full(out.shape, 2.0))
    (out * scale).sum().backward()
    assert x.grad is not None and x.grad.dtype == tg.float32 and x.grad.shape == x.shape
    reference = tg.Tensor(x.data.copy(), requires_grad=True)
    (op(reference) * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, reference.grad.data, rtol=1e-6)


# ---- zero-size dimensions -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_rows_times_a_matrix_is_empty_and_its_weight_gradient_is_zero(dtype):
    x = tg.Tensor(np.ones((0, 3), dtype), requires_grad=True)
    w = tg.Tensor(randn(3, 5, dtype=dtype), requires_grad=True)
    out = x @ w
    out.sum().backward()
    assert out.shape == (0, 5) and out.dtype == dtype
    assert x.grad.shape == (0, 3)
    np.testing.assert_array_equal(w.grad.data, np.zeros((3, 5)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_empty_inner_dimension_gives_zeros_and_empty_gradients(dtype):
    x = tg.Tensor(np.ones((3, 0), dtype), requires_grad=True)
    w = tg.Tensor(np.ones((0, 4), dtype), requires_grad=True)
    out = x @ w
    out.sum().backward()
    np.testing.assert_array_equal(out.data, np.zeros((3, 4)))
    assert out.dtype == dtype and x.grad.shape == (3, 0) and w.grad.shape == (0, 4)


def test_linear_with_no_input_features_gives_the_bias():
    x = tg.Tensor(np.ones((4, 0)), requires_grad=True)
    weight = tg.Tensor(np.ones((3, 0)), requires_grad=True)
    bias = tg.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    out = F.linear(x, weight, bias)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, np.tile(bias.data, (4, 1)))
    np.testing.assert_array_equal(bias.grad.data, [4.0, 4.0, 4.0])
    assert x.grad.shape == (4, 0) and weight.grad.shape == (3, 0)


def test_linear_and_relu_on_an_empty_batch():
    x = tg.Tensor(np.ones((0, 3)), requires_grad=True)
    layer = nn.Linear(3, 2, dtype=tg.float64)
    out = layer(x).relu()
    out.sum().backward()
    assert out.shape == (0, 2) and x.grad.shape == (0, 3)
    np.testing.assert_array_equal(layer.weight.grad.data, 0.0)
    np.testing.assert_array_equal(layer.bias.grad.data, 0.0)


def test_cross_entropy_sum_over_an_empty_batch_is_zero_and_silent():
    logits = tg.Tensor(np.ones((0, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(logits, np.zeros(0, np.int64), reduction="sum")
        loss.backward()
    assert loss.item() == 0.0 and logits.grad.shape == (0, 3)


def test_cross_entropy_mean_over_an_empty_batch_matches_pytorch():
    torch = pytest.importorskip("torch")
    logits = tg.Tensor(np.ones((0, 3)), requires_grad=True)
    with np.errstate(all="ignore"):  # warnings or not: tests/test_numerics.py decides
        loss = F.cross_entropy(logits, np.zeros(0, np.int64))
        loss.backward()
    expected = torch.nn.functional.cross_entropy(
        torch.ones((0, 3), dtype=torch.float64), torch.zeros(0, dtype=torch.long)
    )
    np.testing.assert_array_equal(loss.data, expected.numpy())  # nan, as the mean of nothing
    assert logits.grad.shape == (0, 3)


def test_cross_entropy_with_no_classes_raises_value_error():
    with pytest.raises(ValueError, match=r"\[0, 0\)"):
        F.cross_entropy(tg.Tensor(np.ones((2, 0))), [0, 0])


# ---- strided and reversed views through the ops -----------------------------------------

X_SHAPE, W_SHAPE = (6, 4), (4, 6)
TARGET = np.array([0, 3, 1, 2, 3, 0])

VIEW_CASES = {
    "x[::-1] @ w": (lambda x, w: x[::-1] @ w, lambda x, w: x[::-1] @ w),
    "x.T @ w.T": (lambda x, w: x.T @ w.T, lambda x, w: x.T @ w.T),
    "x[:, ::2] @ w[::2]": (lambda x, w: x[:, ::2] @ w[::2], lambda x, w: x[:, ::2] @ w[::2]),
    "x[::-2, ::-1] @ w[::-1]": (
        lambda x, w: x[::-2, ::-1] @ w[::-1],
        lambda x, w: x[::-2, ::-1] @ w[::-1],
    ),
    "linear(x[::-1], w.T, w[0, ::-1])": (
        lambda x, w: F.linear(x[::-1], w.T, w[0, ::-1]),
        lambda x, w: x[::-1] @ w + w[0, ::-1],
    ),
    "linear(x[:, ::2], w[::2].T)": (
        lambda x, w: F.linear(x[:, ::2], w[::2].T),
        lambda x, w: x[:, ::2] @ w[::2],
    ),
    "relu(x.T)": (lambda x, w: x.T.relu(), lambda x, w: np.maximum(x.T, 0)),
    "relu(x[:, ::2])": (lambda x, w: x[:, ::2].relu(), lambda x, w: np.maximum(x[:, ::2], 0)),
    "relu(x[::-1, ::-1])": (
        lambda x, w: x[::-1, ::-1].relu(),
        lambda x, w: np.maximum(x[::-1, ::-1], 0),
    ),
    "relu(x).T @ w.T": (lambda x, w: x.relu().T @ w.T, lambda x, w: np.maximum(x, 0).T @ w.T),
    "cross_entropy(x[::-1])": (
        lambda x, w: F.cross_entropy(x[::-1], TARGET[::-1], reduction="none"),
        lambda x, w: np_cross_entropy(x[::-1], TARGET[::-1]),
    ),
    "cross_entropy(w.T)": (
        lambda x, w: F.cross_entropy(w.T, TARGET, reduction="none"),
        lambda x, w: np_cross_entropy(w.T, TARGET),
    ),
    "cross_entropy(x[:, ::2])": (
        lambda x, w: F.cross_entropy(x[:, ::2], TARGET % 2, reduction="none"),
        lambda x, w: np_cross_entropy(x[:, ::2], TARGET % 2),
    ),
}


@pytest.mark.parametrize("name", VIEW_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_views_through_ops_give_numpy_values(name, dtype):
    fn, ref = VIEW_CASES[name]
    x, w = randn(*X_SHAPE, dtype=dtype), randn(*W_SHAPE, dtype=dtype, seed=1)
    out = fn(tg.Tensor(x), tg.Tensor(w))
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, ref(x, w), **TOLERANCE[dtype])


@pytest.mark.parametrize("name", VIEW_CASES)
def test_views_through_ops_give_correct_gradients(name):
    fn, _ = VIEW_CASES[name]
    inputs = [
        tg.Tensor(randn(*X_SHAPE), requires_grad=True),
        tg.Tensor(randn(*W_SHAPE, seed=1), requires_grad=True),
    ]
    assert tg.gradcheck(fn, inputs)


def test_strided_integer_targets_and_int32_targets():
    logits = randn(6, 4)
    for target in [TARGET[::-1], TARGET.astype(np.int32), np.repeat(TARGET, 2)[::2]]:
        loss = F.cross_entropy(tg.Tensor(logits), target, reduction="none")
        np.testing.assert_allclose(loss.data, np_cross_entropy(logits, target), rtol=1e-12)


def _storage_cases() -> dict:
    """Arrays a user might assign to `.data` directly, bypassing the constructor's copy."""
    base = randn(6, 8, dtype=np.float32)
    unaligned = np.frombuffer(b"\0" + base.tobytes(), np.float32, offset=1).reshape(6, 8)
    read_only = base.copy()
    read_only.flags.writeable = False
    return {
        "reversed": (base[::-1], None, ""),
        "transposed": (base.T.copy().T, None, ""),
        "strided": (base[:, ::2], None, ""),
        "broadcast (zero strides)": (np.broadcast_to(base[:1], (6, 8)), None, ""),
        "read-only": (read_only, None, ""),
        "float16": (base.astype(np.float16), TypeError, "float32 or float64"),
        "int32": (base.astype(np.int32), TypeError, "float32 or float64"),
        "big-endian": (base.astype(">f4"), TypeError, "float32 or float64"),
        "unaligned": (unaligned, ValueError, "aligned"),
    }


STORAGE_CASES = _storage_cases()


def relu_linear_loss(x: tg.Tensor) -> tg.Tensor:
    weight = tg.Tensor(randn(3, x.shape[1], dtype=np.float32, seed=5))
    return F.cross_entropy(F.linear(x.relu(), weight), np.arange(x.shape[0]) % 3)


@pytest.mark.parametrize("name", STORAGE_CASES)
def test_hostile_storage_assigned_to_data_gives_right_values_or_a_clear_error(name):
    array, error, phrase = STORAGE_CASES[name]
    x = tg.Tensor(np.zeros(1, np.float32), requires_grad=True)
    x.data = array
    if error is not None:
        with pytest.raises(error, match=phrase):
            relu_linear_loss(x)
        return
    loss = relu_linear_loss(x)
    loss.backward()
    clean = tg.Tensor(np.array(array), requires_grad=True)
    expected = relu_linear_loss(clean)
    expected.backward()
    np.testing.assert_array_equal(loss.data, expected.data)
    np.testing.assert_array_equal(x.grad.data, clean.grad.data)


# ---- NaN and Inf propagate, never crash -----------------------------------------------

SPECIAL = (np.nan, np.inf, -np.inf)


def poisoned(arrays: list, variant: int) -> list:
    """Copies of `arrays` with a NaN, +Inf or -Inf written at two places in each."""
    out = []
    for k, array in enumerate(arrays):
        array = np.array(array)
        flat = array.reshape(-1)
        if flat.size:
            flat[(variant + k) % flat.size] = SPECIAL[(variant + k) % 3]
            flat[(7 * variant + 3 * k + 3) % flat.size] = SPECIAL[(variant + k + 1) % 3]
        out.append(array)
    return out


def assert_same_special_values(got, expected):
    """Same NaN/+Inf/-Inf positions; the finite values close."""
    for is_kind in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(is_kind(got), is_kind(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-10, atol=1e-12)


@op_case_params
@pytest.mark.parametrize("variant", range(3))
def test_nan_and_inf_propagate_through_every_op(case, variant, rng):
    arrays = poisoned(case.inputs(rng), variant)
    inputs = [tg.Tensor(a, requires_grad=True) for a in arrays]
    with np.errstate(all="ignore"):
        out = case.fn(*inputs)
        expected = np.asarray(case.ref(*arrays))
        out.backward(np.ones(out.shape))
    assert_same_special_values(out.data, expected)
    for x in inputs:
        assert x.grad.shape == x.shape


def _functional_cases(torch):
    tf = torch.nn.functional
    weight, bias = randn(3, 4, seed=1), randn(3, seed=2)
    target = np.array([0, 1, 2, 3, 1])
    mean, var = randn(4, seed=3), np.random.default_rng(4).uniform(0.5, 2, 4)
    as_torch = torch.from_numpy
    return {
        "linear": (
            lambda x: F.linear(x, tg.Tensor(weight), tg.Tensor(bias)),
            lambda x: tf.linear(x, as_torch(weight), as_torch(bias)),
        ),
        "relu": (F.relu, tf.relu),
        "leaky_relu": (F.leaky_relu, tf.leaky_relu),
        "sigmoid": (F.sigmoid, torch.sigmoid),
        "tanh": (F.tanh, torch.tanh),
        "softmax": (lambda x: F.softmax(x, axis=1), lambda x: tf.softmax(x, 1)),
        "log_softmax": (lambda x: F.log_softmax(x, axis=1), lambda x: tf.log_softmax(x, 1)),
        "cross_entropy none": (
            lambda x: F.cross_entropy(x, target, reduction="none"),
            lambda x: tf.cross_entropy(x, as_torch(target), reduction="none"),
        ),
        "cross_entropy mean": (
            lambda x: F.cross_entropy(x, target),
            lambda x: tf.cross_entropy(x, as_torch(target)),
        ),
        "mse_loss": (
            lambda x: F.mse_loss(x, np.ones((5, 4)), reduction="none"),
            lambda x: tf.mse_loss(x, torch.ones(5, 4, dtype=torch.float64), reduction="none"),
        ),
        "batch_norm train": (
            lambda x: F.batch_norm(x, None, None, training=True),
            lambda x: tf.batch_norm(x, None, None, training=True),
        ),
        "batch_norm eval": (
            lambda x: F.batch_norm(x, tg.Tensor(mean), tg.Tensor(var)),
            lambda x: tf.batch_norm(x, as_torch(mean), as_torch(var)),
        ),
        "dropout eval": (
            lambda x: F.dropout(x, 0.5, training=False),
            lambda x: tf.dropout(x, 0.5, training=False),
        ),
    }


FUNCTIONAL_NAMES = [
    "linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax",
    "cross_entropy none", "cross_entropy mean", "mse_loss", "batch_norm train",
    "batch_norm eval", "dropout eval",
]  # fmt: skip


@pytest.mark.parametrize("name", FUNCTIONAL_NAMES)
def test_nan_and_inf_through_nn_functional_match_pytorch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = _functional_cases(torch)[name]
    data = randn(5, 4)
    data[0, 1], data[1, 2], data[2, 0], data[3, 3], data[3, 1] = (
        np.nan,
        np.inf,
        -np.inf,
        np.inf,
        -np.inf,
    )
    x, ref = tg.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    with np.errstate(all="ignore"):
        out = ours(x)
        out.sum().backward()
    expected = theirs(ref)
    expected.sum().backward()
    assert_same_special_values(out.data, expected.detach().numpy())
    assert_same_special_values(x.grad.data, ref.grad.numpy())


def test_nan_in_one_row_of_a_training_step_does_not_crash():
    tg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)
    )
    data = randn(6, 4)
    data[2, 1] = np.nan
    with np.errstate(all="ignore"):
        loss = F.cross_entropy(model(tg.Tensor(data.astype(np.float32))), [0, 1, 2, 0, 1, 2])
        loss.backward()
        tg.optim.Adam(model.parameters()).step()
    assert np.isnan(loss.item())  # the NaN reached the loss through BatchNorm's batch mean
    assert all(p.grad is not None for p in model.parameters())


# ---- sizes that cannot exist: run in a subprocess, which must not die of a signal ----------

HUGE = 2**24  # HUGE x HUGE float32 is 1 PiB: beyond any machine and any address space

# name -> (statement, the exception it must raise, a phrase of the message)
ISOLATED_CASES = {
    "zeros product overflows": ("tg.zeros(2**62, 4)", ValueError, "too big"),
    "zeros dimension overflows": ("tg.zeros(2**64)", ValueError, "exceeded"),
    "zeros of a petabyte": (f"tg.zeros({HUGE}, {HUGE})", MemoryError, "allocate"),
    "ones of a petabyte": (f"tg.ones({HUGE}, {HUGE})", MemoryError, "allocate"),
    "randn of a petabyte": (f"tg.randn({HUGE}, {HUGE})", MemoryError, "allocate"),
    "full product overflows": ("tg.full((2**40, 2**40), 1.0)", ValueError, "too big"),
    "zeros negative": ("tg.zeros(3, -1)", ValueError, "negative"),
    "reshape wraps around int64": ("tg.zeros(4).reshape(2**62 + 1, 4)", ValueError, "reshape"),
    "reshape beyond int64": ("tg.zeros(4).reshape(2**64, 4)", ValueError, "reshape"),
    "reshape of empty to overflow": ("tg.zeros(0).reshape(2**62, 4, 0)", ValueError, "reshape"),
    "reshape -1 with overflow": ("tg.zeros(4).reshape(-1, 2**62)", ValueError, "reshape"),
    "matmul result overflows": (
        "tg.zeros(2**40, 0) @ tg.zeros(0, 2**40)",
        ValueError,
        "too big",
    ),
    "matmul result of 4 PiB": (
        f"tg.zeros(2 * {HUGE}, 0) @ tg.zeros(0, 2 * {HUGE})",
        MemoryError,
        "allocate",
    ),
    "batched matmul of exabytes": (
        "tg.zeros(2**20, 2**20, 0) @ tg.zeros(0, 2**20)",
        MemoryError,
        "allocate",
    ),
    "linear result of 4 PiB": (
        f"F.linear(tg.zeros(2 * {HUGE}, 0), tg.zeros(2 * {HUGE}, 0), tg.zeros(2 * {HUGE}))",
        MemoryError,
        "allocate",
    ),
    "Linear layer of 4 PiB": (f"nn.Linear(2 * {HUGE}, 2 * {HUGE})", MemoryError, "allocate"),
    "empty matmul forward and backward": (
        "x = tg.zeros(3, 0, requires_grad=True); (x @ tg.zeros(0, 4)).sum().backward()",
        None,
        "",
    ),
    "empty cross_entropy forward and backward": (
        "z = tg.zeros(0, 3, requires_grad=True);"
        + "F.cross_entropy(z, tg.zeros(0, dtype=tg.int64), reduction='sum').backward()",
        None,
        "",
    ),
    "cross_entropy with an empty list as target": (
        "F.cross_entropy(tg.zeros(0, 3), [])",
        TypeError,
        "integer class indices",
    ),
}

_CHILD = """
import sys
import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
for name, statement in {cases!r}.items():
    print("start", name, flush=True)
    try:
        exec(statement)
        print("result", name, "None", "", sep="|", flush=True)
    except Exception as error:
        message = str(error).replace("\\n", " ")
        print("result", name, type(error).__name__, message, sep="|", flush=True)
"""


@pytest.fixture(scope="module")
def isolated_results() -> dict:
    """Run every ISOLATED_CASES statement in one child interpreter; parse what it printed."""
    code = _CHILD.format(cases={name: case[0] for name, case in ISOLATED_CASES.items()})
    child = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,  # a signal death is reported by the tests, with the case it hit
        cwd=Path(__file__).parent,
    )
    lines = child.stdout.splitlines()
    results = {}
    for line in lines:
        if line.startswith("result|"):
            _, name, error, message = line.split("|", 3)
            results[name] = (error, message)
    started = [line.split(" ", 1)[1] for line in lines if line.startswith("start ")]
    return {
        "returncode": child.returncode,
        "results": results,
        "last": started[-1:],
        "stderr": child.stderr,
    }


@pytest.mark.parametrize("name", ISOLATED_CASES)
def test_impossible_sizes_raise_instead_of_crashing(name, isolated_results):
    returncode = isolated_results["returncode"]
    assert returncode >= 0, (
        f"the interpreter died of signal {-returncode} while running {isolated_results['last']}"
    )
    assert returncode == 0, isolated_results["stderr"][-2000:]
    _, expected_error, phrase = ISOLATED_CASES[name]
    error, message = isolated_results["results"][name]
    assert error == (expected_error.__name__ if expected_error else "None"), message
    assert phrase in message


# ---- malformed arguments to losses, dropout, BatchNorm and load_state_dict -----------------


@pytest.mark.parametrize(
    "target, error, phrase",
    [
        ([0, 3, 1], ValueError, r"\[0, 3\)"),
        ([0, -1, 1], ValueError, r"\[0, 3\)"),
        ([0, 2**40, 1], ValueError, r"\[0, 3\)"),
        ([0.0, 1.0, 2.0], TypeError, "integer class indices"),
        (np.array([True, False, True]), TypeError, "integer class indices"),
        (["a", "b", "c"], TypeError, "integer class indices"),
        (tg.Tensor([0.0, 1.0, 1.0]), TypeError, "integer class indices"),
        ([0, 1], ValueError, r"target \(N,\)"),
        ([0, 1, 2, 0], ValueError, r"target \(N,\)"),
        ([[0], [1], [2]], ValueError, r"target \(N,\)"),
        (1, ValueError, r"target \(N,\)"),
    ],
)
def test_cross_entropy_rejects_bad_targets(target, error, phrase):
    with pytest.raises(error, match=phrase):
        F.cross_entropy(tg.Tensor(randn(3, 3)), target)


def test_cross_entropy_rejects_a_non_tensor_logits_and_unknown_reduction():
    with pytest.raises(TypeError, match="logits must be a Tensor"):
        F.cross_entropy(randn(2, 3), [0, 1])
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(tg.Tensor(randn(2, 3)), [0, 1], reduction="avg")


@pytest.mark.parametrize("p", [-0.1, 1.0001, -np.inf, np.inf, np.nan, "0.5", None, True, [0.5]])
def test_dropout_probability_outside_0_1_raises(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(tg.Tensor(randn(2, 2)), p=p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)


@pytest.mark.parametrize("shape", [(4, 5), (4, 2), (4, 5, 2), (4,), (2, 3, 4, 5)])
def test_batch_norm_with_the_wrong_feature_count_raises_and_changes_nothing(shape):
    layer = nn.BatchNorm1d(3)
    before = {name: value.copy() for name, value in layer.state_dict().items()}
    with pytest.raises(ValueError, match="BatchNorm1d") as error:
        layer(tg.Tensor(np.ones(shape)))
    assert str(shape) in str(error.value)
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize(
    "bias, phrase",
    [
        (np.array([None] * 3, dtype=object), "dtype mismatch"),
        (np.array(["a", "b", "c"]), "dtype mismatch"),
        (np.zeros(3, np.complex64), "dtype mismatch"),
        (np.zeros(3, np.int64), "dtype mismatch"),
        (None, "size mismatch"),
        (np.float32(1.0), "size mismatch"),
        (np.zeros((3, 1), np.float32), "size mismatch"),
        (np.zeros(0, np.float32), "size mismatch"),
        ([[1.0], [1.0, 2.0], [3.0]], "bias"),  # ragged: not even an array
    ],
)
def test_load_state_dict_rejects_hostile_values_naming_the_key(bias, phrase):
    model = nn.Linear(2, 3)
    before = {name: value.copy() for name, value in model.state_dict().items()}
    state = {**model.state_dict(), "bias": bias}
    with pytest.raises(RuntimeError, match=phrase) as error:
        model.load_state_dict(state)
    assert "'bias'" in str(error.value)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_with_non_string_keys_reports_them():
    model = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match="unexpected key 0"):
        model.load_state_dict({0: np.zeros(3), **model.state_dict()})
