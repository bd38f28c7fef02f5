"""The wider math surface (ops_math.py and the Tensor methods composed in tensor.py):
each op against NumPy, gradcheck and gradgradcheck in float64, and against PyTorch
(values, gradients and second derivatives, float32 and float64) when it is installed.
max/min/size have their own file, test_max_min_size.py.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np
import pytest
from conftest import assert_second_derivatives_match_torch

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F

TOLERANCE = {
    np.float32: {"rtol": 1e-4, "atol": 1e-5},
    np.float64: {"rtol": 1e-10, "atol": 1e-12},
}


def _torch():
    import torch  # only after importorskip

    return torch


def _tf():
    return _torch().nn.functional


@dataclasses.dataclass(frozen=True)
class Case:
    """`fn` on tg Tensors (and on torch tensors unless `torch_fn`), `ref` on NumPy arrays."""

    name: str
    fn: Callable
    ref: Callable | None
    shapes: tuple = ((3, 4),)
    domain: str = "any"
    torch_fn: Callable | None = None
    torch_rtol64: float = TOLERANCE[np.float64]["rtol"]
    torch_second: bool = True  # PyTorch has the second derivative

    def on_torch(self, *tensors):
        return (self.torch_fn or self.fn)(*tensors)

    def inputs(self, rng, dtype=np.float64) -> list:
        draw = {
            "any": lambda s: rng.standard_normal(s),
            "positive": lambda s: rng.uniform(0.5, 2.0, s),
            "small": lambda s: rng.uniform(-1.2, 1.2, s),
            "wide": lambda s: 4 * rng.standard_normal(s),
        }[self.domain]
        return [np.asarray(draw(shape), dtype) for shape in self.shapes]


def _np_erf(x):
    return np.vectorize(math.erf)(x)


def _np_gelu(x):
    return x * 0.5 * (1 + _np_erf(x / math.sqrt(2)))


CASES = [
    Case("sin", lambda x: x.sin(), np.sin),
    Case("cos", lambda x: x.cos(), np.cos),
    Case("tan", lambda x: x.tan(), np.tan, domain="small"),
    Case("log2", lambda x: x.log2(), np.log2, domain="positive"),
    Case("exp2", lambda x: x.exp2(), np.exp2),
    Case("erf", lambda x: x.erf(), _np_erf),
    Case("square", lambda x: x.square(), np.square),
    Case("reciprocal", lambda x: x.reciprocal(), np.reciprocal, domain="positive"),
    Case("rsqrt", lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x), domain="positive"),
    Case("floor", lambda x: x.floor(), np.floor, domain="wide"),
    Case("ceil", lambda x: x.ceil(), np.ceil, domain="wide"),
    Case("trunc", lambda x: x.trunc(), np.trunc, domain="wide"),
    Case("round", lambda x: x.round(), np.round, domain="wide"),
    Case("round(decimals=2)", lambda x: x.round(decimals=2), lambda x: np.round(x, 2)),
    Case("sign", lambda x: x.sign(), np.sign),
    Case("cumsum(0)", lambda x: x.cumsum(0), lambda x: np.cumsum(x, 0)),
    Case("cumsum(-1)", lambda x: x.cumsum(-1), lambda x: np.cumsum(x, -1), ((2, 3, 4),)),
    Case("cumsum 1-d", lambda x: x.cumsum(0), lambda x: np.cumsum(x, 0), ((7,),)),
    Case("std()", lambda x: x.std(), lambda x: np.std(x, ddof=1)),
    Case("std(1)", lambda x: x.std(1), lambda x: np.std(x, axis=1, ddof=1)),
    Case(
        "std((0, 2), keepdim)",
        lambda x: x.std((0, 2), keepdim=True),
        lambda x: np.std(x, axis=(0, 2), ddof=1, keepdims=True),
        ((2, 3, 4),),
    ),
    Case(
        "std(0, correction=0)",
        lambda x: x.std(0, correction=0),
        lambda x: np.std(x, axis=0),
    ),
    Case("prod()", lambda x: x.prod(), np.prod),
    Case("prod(1)", lambda x: x.prod(1), lambda x: np.prod(x, 1), ((3, 7),)),
    Case(
        "prod(0, keepdim)",
        lambda x: x.prod(0, keepdim=True),
        lambda x: np.prod(x, 0, keepdims=True),
        ((5, 2, 3),),
    ),
    Case("prod 1-d odd", lambda x: x.prod(0), lambda x: np.prod(x, 0), ((9,),)),
    Case("clone", lambda x: x.clone(), np.copy),
    Case("pow(2.5)", lambda x: x.pow(2.5), lambda x: x**2.5, domain="positive"),
    Case(
        "pow(tensor)",
        lambda x, y: x.pow(y),
        lambda x, y: x**y,
        ((3, 4), (4,)),
        domain="positive",
    ),
    Case("matmul", lambda x, y: x.matmul(y), np.matmul, ((3, 4), (4, 5))),
    Case(
        "matmul batched",
        lambda x, y: x.matmul(y),
        np.matmul,
        ((2, 3, 4), (4, 2)),
    ),
    Case("mT", lambda x: x.mT * 1.0, lambda x: np.swapaxes(x, -1, -2), ((2, 3, 4),)),
    # activations as methods (torch has them in torch.nn.functional)
    Case("gelu", lambda x: x.gelu(), _np_gelu, torch_fn=lambda x: _tf().gelu(x)),
    Case(
        "gelu(tanh)",
        lambda x: x.gelu(approximate="tanh"),
        None,
        torch_fn=lambda x: _tf().gelu(x, approximate="tanh"),
    ),
    Case(
        "silu",
        lambda x: x.silu(),
        lambda x: x / (1 + np.exp(-x)),
        torch_fn=lambda x: _tf().silu(x),
    ),
    Case(
        "softplus(2, 3)",
        lambda x: x.softplus(2.0, 3.0),
        None,
        domain="wide",
        torch_fn=lambda x: _tf().softplus(x, 2.0, 3.0),
    ),
    Case("elu(0.5)", lambda x: x.elu(0.5), None, torch_fn=lambda x: _tf().elu(x, 0.5)),
    Case("selu", lambda x: x.selu(), None, torch_fn=lambda x: _tf().selu(x)),
    Case("celu(1.5)", lambda x: x.celu(1.5), None, torch_fn=lambda x: _tf().celu(x, 1.5)),
    Case("mish", lambda x: x.mish(), None, torch_fn=lambda x: _tf().mish(x)),
    Case(
        "hardtanh(-0.5, 0.7)",
        lambda x: x.hardtanh(-0.5, 0.7),
        lambda x: np.clip(x, -0.5, 0.7),
        torch_fn=lambda x: _tf().hardtanh(x, -0.5, 0.7),
    ),
    Case(
        "relu6",
        lambda x: x.relu6(),
        lambda x: np.clip(x, 0, 6),
        domain="wide",
        torch_fn=lambda x: _tf().relu6(x),
    ),
    Case(
        "hardswish",
        lambda x: x.hardswish(),
        None,
        domain="wide",
        torch_fn=lambda x: _tf().hardswish(x),
    ),
    Case(
        "hardsigmoid",
        lambda x: x.hardsigmoid(),
        lambda x: np.clip(x / 6 + 0.5, 0, 1),
        domain="wide",
        torch_fn=lambda x: _tf().hardsigmoid(x),
        torch_rtol64=1e-7,  # PyTorch's backward multiplies by 1/6 rounded to float32
        torch_second=False,  # "derivative for aten::hardsigmoid_backward is not implemented"
    ),
    Case(
        "softsign",
        lambda x: x.softsign(),
        lambda x: x / (1 + np.abs(x)),
        torch_fn=lambda x: _tf().softsign(x),
    ),
    Case(
        "logsigmoid",
        lambda x: x.logsigmoid(),
        lambda x: np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))),
        torch_fn=lambda x: _tf().logsigmoid(x),
    ),
]

case_params = pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
NUMPY_CASES = [c for c in CASES if c.ref is not None]  # the others are checked against PyTorch
SECOND_CASES = [c for c in CASES if c.torch_second]


def leaf(array) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, np.float64), requires_grad=True)


# ---------------------------------------------------------------- NumPy, gradcheck, gradgradcheck


@pytest.mark.parametrize("case", NUMPY_CASES, ids=[c.name for c in NUMPY_CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_numpy_and_keeps_the_dtype(case, dtype, rng):
    arrays = case.inputs(rng, dtype)
    out = case.fn(*[tg.Tensor(a) for a in arrays])
    assert out.dtype == dtype
    expected = case.ref(*arrays)
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.numpy(), expected, rtol=tolerance, atol=tolerance)


@case_params
def test_gradcheck_float64(case, rng):
    inputs = [leaf(a) for a in case.inputs(rng)]
    upstream = tg.Tensor(rng.standard_normal(case.fn(*inputs).shape))
    assert tg.gradcheck(lambda *xs: (case.fn(*xs) * upstream).sum(), inputs)


@case_params
def test_gradgradcheck_float64(case, rng):
    inputs = [leaf(a) for a in case.inputs(rng)]
    assert tg.gradgradcheck(case.fn, inputs)


# ---------------------------------------------------------------- every op against PyTorch


@case_params
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_pytorch_values_and_gradients(case, dtype, rng):
    torch = pytest.importorskip("torch")
    arrays = case.inputs(rng, dtype)
    ours = [tg.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = case.fn(*ours), case.on_torch(*theirs)
    upstream = rng.standard_normal(out.shape).astype(dtype)
    (out * tg.Tensor(upstream)).sum().backward()
    (expected * torch.from_numpy(upstream)).sum().backward()
    assert out.shape == tuple(expected.shape)
    assert out.dtype == expected.detach().numpy().dtype
    tolerance = dict(TOLERANCE[dtype])
    if dtype == np.float64:
        tolerance["rtol"] = case.torch_rtol64
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **tolerance)
    for i, (x, x_torch) in enumerate(zip(ours, theirs)):
        assert x.grad is not None and x.grad.dtype == dtype, f"input {i}"
        np.testing.assert_allclose(
            x.grad.numpy(), x_torch.grad.numpy(), **tolerance, err_msg=f"input {i}"
        )


@pytest.mark.parametrize("case", SECOND_CASES, ids=[c.name for c in SECOND_CASES])
def test_second_derivatives_match_pytorch(case, rng):
    """(PyTorch has no second derivative of hardsigmoid; gradgradcheck covers ours.)"""
    assert_second_derivatives_match_torch(case, rng)


# ---------------------------------------------------------------- piecewise constant: zero gradient


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round", "sign"])
def test_piecewise_constant_ops_give_exact_zero_gradients_as_pytorch(name):
    data = np.array([-2.5, -1.0, -0.5, 0.0, 0.5, 1.5, 2.0, np.nan, np.inf], np.float32)
    x = tg.Tensor(data, requires_grad=True)
    out = getattr(x, name)()
    assert out.requires_grad and out.grad_fn is not None  # in the graph, as PyTorch
    out.backward(tg.Tensor(np.full(data.shape, np.inf, np.float32)))  # not inf · 0 = nan
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros_like(data))
    torch = pytest.importorskip("torch")
    expected = getattr(torch.tensor(data), name)().numpy()
    np.testing.assert_array_equal(out.numpy(), expected)  # NaN, ±0 and halves included
    np.testing.assert_array_equal(np.signbit(out.numpy()), np.signbit(expected))


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round", "sign", "square", "cumsum"])
def test_integer_inputs_keep_int64_as_pytorch(name):
    data = [[3, -2], [0, 7]]
    call = (lambda t: t.cumsum(0)) if name == "cumsum" else (lambda t: getattr(t, name)())
    out = call(tg.Tensor(data))
    assert out.dtype == tg.int64 and not out.requires_grad
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(out.numpy(), call(torch.tensor(data)).numpy())


@pytest.mark.parametrize(
    "name", ["sin", "cos", "tan", "log2", "exp2", "erf", "reciprocal", "rsqrt", "std"]
)
def test_integer_inputs_give_the_default_float_as_pytorch(name):
    data = [1, 2, 4, 8]
    out = getattr(tg.Tensor(data), name)()
    assert out.dtype == tg.float32
    torch = pytest.importorskip("torch")
    if name == "std":  # PyTorch's std refuses integers: the float32 reference
        expected = torch.tensor(data, dtype=torch.float32).std()
    else:
        expected = getattr(torch.tensor(data), name)()
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


def test_log2_and_exp2_are_exact_at_powers_of_two():
    np.testing.assert_array_equal(tg.Tensor([1.0, 8.0, 1024.0]).log2().numpy(), [0, 3, 10])
    np.testing.assert_array_equal(tg.Tensor([0.0, 3.0, -2.0]).exp2().numpy(), [1, 8, 0.25])


def test_bools_cumsum_and_prod_as_int64():
    flags = tg.Tensor([True, False, True])
    assert flags.sign().tolist() == [True, False, True] and flags.sign().dtype == bool
    assert flags.cumsum(0).tolist() == [1, 1, 2] and flags.cumsum(0).dtype == tg.int64
    assert flags.prod().item() == 0 and flags.prod().dtype == tg.int64


# ---------------------------------------------------------------- prod with zeros, std of constants


@pytest.mark.parametrize(
    "data, dim",
    [
        ([2.0, 0.0, 3.0, 4.0], None),  # one zero: its gradient is the product of the others
        ([2.0, 0.0, 3.0, 0.0], None),  # two zeros: every gradient is 0
        ([[0.0, 2.0, 5.0], [1.0, 0.0, 0.0], [3.0, 0.5, 2.0]], 1),
        ([[0.0, 2.0, 5.0], [1.0, 0.0, 0.0], [3.0, 0.5, 2.0]], 0),
        ([[0.0, -2.0, 5.0, 1.5, 0.0, 3.0, 2.0]], 1),
    ],
)
def test_prod_gradient_with_zeros_matches_pytorch(data, dim):
    torch = pytest.importorskip("torch")
    x, x_torch = leaf(data), torch.tensor(data, dtype=torch.float64, requires_grad=True)
    out = x.prod() if dim is None else x.prod(dim)
    expected = x_torch.prod() if dim is None else x_torch.prod(dim)
    out.backward(tg.Tensor(np.arange(1.0, out.numel() + 1).reshape(out.shape)))
    upstream = torch.arange(1.0, expected.numel() + 1, dtype=torch.float64)
    expected.backward(upstream.reshape(expected.shape))
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), x_torch.grad.numpy(), rtol=1e-15)
    assert tg.gradcheck(lambda t: t.prod() if dim is None else t.prod(dim), [leaf(data)])
    assert tg.gradgradcheck(lambda t: t.prod() if dim is None else t.prod(dim), [leaf(data)])


def test_prod_of_nothing_is_one_and_of_integers_is_int64():
    empty = tg.zeros(2, 0, requires_grad=True)
    out = empty.prod(1)
    assert out.tolist() == [1.0, 1.0] and out.requires_grad
    out.sum().backward()
    assert empty.grad.shape == (2, 0)
    ints = tg.Tensor([[2, 3], [4, 5]])
    assert ints.prod().item() == 120 and ints.prod().dtype == tg.int64
    assert ints.prod(0).tolist() == [8, 15]
    assert tg.Tensor(3.0).prod(0).item() == 3.0
    assert tg.ones(2, 3).prod(keepdim=True).shape == (1, 1)


def test_std_of_a_constant_has_zero_gradient_as_pytorch():
    torch = pytest.importorskip("torch")
    data = [[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]]
    x, x_torch = leaf(data), torch.tensor(data, dtype=torch.float64, requires_grad=True)
    x.std(1).sum().backward()
    x_torch.std(1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x_torch.grad.numpy(), rtol=1e-12)
    assert np.all(np.isfinite(x.grad.numpy())) and x.grad.numpy()[0].tolist() == [0, 0, 0]


@pytest.mark.filterwarnings("ignore:std... degrees of freedom:UserWarning")
@pytest.mark.parametrize("correction", [1, 2, True, False])
def test_std_with_no_degrees_of_freedom_is_inf_or_nan_as_pytorch(correction):
    torch = pytest.importorskip("torch")
    data = [[1.0], [2.0]]
    with np.errstate(all="ignore"):
        ours = tg.Tensor(data).std(1, correction).numpy()
    expected = torch.tensor(data).std(1, correction=int(correction)).numpy()
    np.testing.assert_array_equal(ours, expected)


# ---------------------------------------------------------------- argmax / argmin


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_match_pytorch_with_ties_and_nan(name, dim, keepdim):
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 3.0, 3.0, -1.0], [2.0, np.nan, 0.0, 2.0], [-1.0, -1.0, 5.0, 5.0]])
    x = tg.Tensor(data, requires_grad=True)
    out = getattr(x, name)(dim, keepdim)
    expected = getattr(torch.tensor(data), name)(dim, keepdim)
    assert out.dtype == tg.int64 and not out.requires_grad and out.grad_fn is None
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_argmax_of_a_0d_tensor_and_empty_inputs():
    assert tg.Tensor(2.5).argmax().item() == 0 and tg.Tensor(2.5).argmax(0).item() == 0
    with pytest.raises(ValueError, match="empty"):
        tg.zeros(0).argmax()
    with pytest.raises(ValueError, match="empty"):
        tg.zeros(3, 0).argmin(1)
    assert tg.zeros(0, 3).argmax(1).shape == (0,)


# ---------------------------------------------------------------- clone, to, conversions


def test_clone_copies_memory_keeps_signed_zeros_and_passes_the_gradient():
    x = tg.Tensor([-0.0, 1.0, np.nan], requires_grad=True)
    y = x.clone()
    assert y.grad_fn.name == "CloneBackward" and not np.shares_memory(x.numpy(), y.numpy())
    assert np.signbit(y.numpy()[0]) and np.isnan(y.numpy()[2])
    (y * tg.Tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 3.0]
    ints = tg.Tensor([1, 2])
    assert ints.clone().dtype == tg.int64 and ints.clone().tolist() == [1, 2]


def test_to_accepts_a_dtype_a_tensor_or_the_cpu_in_any_order():
    x = tg.Tensor([1.5, 2.5], requires_grad=True)
    assert x.to(tg.float32) is x and x.to("cpu") is x and x.float() is x
    y = x.to(tg.float64)
    assert y.dtype == tg.float64 and y.grad_fn is not None
    (y * 2).sum().backward()
    assert x.grad.dtype == tg.float32 and x.grad.tolist() == [2.0, 2.0]
    assert x.to("cpu", tg.float64).dtype == tg.float64
    assert x.to(tg.zeros(1, dtype=tg.float64)).dtype == tg.float64
    assert x.to(dtype=tg.double).dtype == tg.float64 and x.double().dtype == tg.float64
    assert x.to(tg.float32, copy=True) is not x
    assert np.dtype(tg.float) == tg.float32


def test_long_and_integer_casts_leave_the_graph_as_pytorch():
    x = tg.Tensor([1.7, -2.2], requires_grad=True)
    as_long = x.long()
    assert as_long.dtype == tg.int64 and as_long.tolist() == [1, -2]
    assert not as_long.requires_grad and as_long.grad_fn is None
    assert x.to(tg.long).dtype == tg.int64 and not x.to(tg.long).requires_grad
    assert tg.Tensor([1, 2]).float().dtype == tg.float32
    assert tg.Tensor([0.0, 2.0]).to(bool).tolist() == [False, True]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda x: x.to("cuda"), ValueError),
        (lambda x: x.to(np.int32), TypeError),
        (lambda x: x.to(np.float16), TypeError),
        (lambda x: x.astype("complex64"), TypeError),
    ],
    ids=["cuda", "int32", "float16", "complex"],
)
def test_to_refuses_devices_and_dtypes_that_do_not_exist_here(call, error):
    with pytest.raises(error):
        call(tg.Tensor([1.0]))


# ---------------------------------------------------------------- activations: methods are F's


ACTIVATIONS = [
    ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}),
    ("softplus", {"beta": 2.0, "threshold": 3.0}), ("elu", {"alpha": 0.5}), ("selu", {}),
    ("celu", {"alpha": 1.5}), ("mish", {}), ("hardtanh", {"min_val": -0.5, "max_val": 0.7}),
    ("relu6", {}), ("hardswish", {}), ("hardsigmoid", {}), ("softsign", {}), ("logsigmoid", {}),
]  # fmt: skip


@pytest.mark.parametrize("name, kwargs", ACTIVATIONS, ids=[f"{n}{k or ''}" for n, k in ACTIVATIONS])
def test_activation_methods_are_the_functional_ones(name, kwargs, rng):
    data = 4 * rng.standard_normal((3, 5))
    x, x_f = leaf(data), leaf(data)
    out, out_f = getattr(x, name)(**kwargs), getattr(F, name)(x_f, **kwargs)
    np.testing.assert_array_equal(out.numpy(), out_f.numpy())
    upstream = tg.Tensor(rng.standard_normal(data.shape))
    (out * upstream).sum().backward()
    (out_f * upstream).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), x_f.grad.numpy())


# ---------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "call, error, phrase",
    [
        (lambda x: x.cumsum(2), ValueError, "out of range"),
        (lambda x: x.cumsum(None), ValueError, "axis"),
        (lambda x: x.prod((0, 1)), TypeError, "int or None"),
        (lambda x: x.prod(2), ValueError, "out of range"),
        (lambda x: x.std(3), ValueError, "out of range"),
        (lambda x: x[0].mT, ValueError, "at least 2 axes"),
        (lambda x: x.long().round(decimals=1), TypeError, "float tensor"),
        (lambda x: x.gelu(approximate="fast"), ValueError, "approximate"),
        (lambda x: x.hardtanh(1.0, -1.0), ValueError, "min_val"),
        (lambda x: x.celu(0.0), ValueError, "alpha"),
        (lambda x: x.matmul(tg.ones(5)), ValueError, "inner dimensions"),
    ],
    ids=[
        "cumsum axis", "cumsum None", "prod tuple", "prod axis", "std axis", "mT 1-d",
        "round int decimals", "gelu approximate", "hardtanh bounds", "celu alpha", "matmul",
    ],
)  # fmt: skip
def test_bad_arguments_raise_naming_the_problem(call, error, phrase):
    with pytest.raises(error, match=phrase):
        call(tg.ones(2, 3))
