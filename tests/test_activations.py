"""Activations (nn.activation): forward against NumPy formulas, float64 gradcheck, and
values and gradients against PyTorch (kinks and huge inputs included); the modules;
ops_special.Erf against math.erf."""

import math

import numpy as np
import pytest
from conftest import check_gradients

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

ERF = np.vectorize(math.erf)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_softplus(x, beta=1.0, threshold=20.0):
    return np.where(
        x * beta > threshold, x, np.log1p(np.exp(np.minimum(x * beta, threshold))) / beta
    )


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


# name: (ours, numpy reference, torch spelling as (function name, kwargs))
ACTIVATIONS = {
    "gelu": (F.gelu, lambda x: x * 0.5 * (1 + ERF(x / math.sqrt(2))), ("gelu", {})),
    "gelu(tanh)": (
        lambda x: F.gelu(x, approximate="tanh"),
        np_gelu_tanh,
        ("gelu", {"approximate": "tanh"}),
    ),
    "silu": (F.silu, lambda x: x * np_sigmoid(x), ("silu", {})),
    "softplus": (F.softplus, np_softplus, ("softplus", {})),
    "softplus(beta=2,threshold=3)": (
        lambda x: F.softplus(x, beta=2.0, threshold=3.0),
        lambda x: np_softplus(x, 2.0, 3.0),
        ("softplus", {"beta": 2.0, "threshold": 3.0}),
    ),
    "elu": (F.elu, lambda x: np.where(x > 0, x, np.expm1(x)), ("elu", {})),
    "elu(alpha=0.5)": (
        lambda x: F.elu(x, alpha=0.5),
        lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)),
        ("elu", {"alpha": 0.5}),
    ),
    "selu": (
        F.selu,
        lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
        ("selu", {}),
    ),
    "celu(alpha=2)": (
        lambda x: F.celu(x, alpha=2.0),
        lambda x: np.where(x > 0, x, 2.0 * np.expm1(x / 2.0)),
        ("celu", {"alpha": 2.0}),
    ),
    "mish": (F.mish, lambda x: x * np.tanh(np_softplus(x)), ("mish", {})),
    "hardtanh": (F.hardtanh, lambda x: np.clip(x, -1, 1), ("hardtanh", {})),
    "hardtanh(-2,0.5)": (
        lambda x: F.hardtanh(x, min_val=-2.0, max_val=0.5),
        lambda x: np.clip(x, -2, 0.5),
        ("hardtanh", {"min_val": -2.0, "max_val": 0.5}),
    ),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), ("relu6", {})),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, ("hardswish", {})),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), ("hardsigmoid", {})),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), ("softsign", {})),
    "logsigmoid": (F.logsigmoid, lambda x: np.log(np_sigmoid(x)), ("logsigmoid", {})),
}
NAMES = list(ACTIVATIONS)

# Each activation's kinks and boundaries, plus ordinary points: PyTorch's gradient there is
# what ours must be (hardtanh and hardsigmoid pass none at their bounds, hardswish has
# 0 at -3 and 1 at 3, elu α at 0, ...).
SPECIAL_POINTS = np.array([0.0, -3.0, 3.0, 6.0, -1.0, 1.0, -2.0, 0.5, 1.5, 20.0, -20.0, 7.0])


def torch_activation(name):
    torch = pytest.importorskip("torch")
    function_name, kwargs = ACTIVATIONS[name][2]
    return lambda x: getattr(torch.nn.functional, function_name)(x, **kwargs)


def inputs(rng, dtype):
    """Normal values spread wide enough to cross every kink (none exactly on one)."""
    return (rng.standard_normal((4, 6)) * 4).astype(dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_forward_matches_numpy(name, dtype, tol, rng):
    x = inputs(rng, dtype)
    out = ACTIVATIONS[name][0](tg.Tensor(x))
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_allclose(
        out.data, ACTIVATIONS[name][1](x.astype(np.float64)), rtol=tol, atol=tol
    )


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck(name, rng):
    assert check_gradients(ACTIVATIONS[name][0], [inputs(rng, np.float64)], rng)


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_0d(name):
    assert tg.gradcheck(ACTIVATIONS[name][0], [tg.Tensor(np.array(0.7), requires_grad=True)])


def _value_and_grad_both(name, x, upstream):
    torch = pytest.importorskip("torch")
    ours = tg.Tensor(x, requires_grad=True)
    out = ACTIVATIONS[name][0](ours)
    (out * tg.Tensor(upstream)).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    ref = torch_activation(name)(theirs)
    (ref * torch.tensor(upstream)).sum().backward()
    return (out.data, ours.grad.data), (ref.detach().numpy(), theirs.grad.numpy())


# PyTorch's hardsigmoid backward multiplies by the float32 constant 1/6 even in float64,
# 2e-8 off the exact 1/6 that the graph uses.
GRAD_TOL_F64 = {"hardsigmoid": 1e-7}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch_values_and_gradients(name, dtype, rng):
    x = np.concatenate([inputs(rng, dtype).ravel(), SPECIAL_POINTS.astype(dtype)])
    upstream = rng.standard_normal(x.shape).astype(dtype)
    (out, grad), (ref, ref_grad) = _value_and_grad_both(name, x, upstream)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    grad_tol = 1e-5 if dtype == np.float32 else GRAD_TOL_F64.get(name, 1e-10)
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, ref_grad, rtol=grad_tol, atol=grad_tol)


@pytest.mark.parametrize("name", NAMES)
def test_huge_inputs_stay_finite_and_match_torch(name):
    x = np.array([-1e4, -200.0, -90.0, 90.0, 200.0, 1e4], dtype=np.float32)
    (out, grad), (ref, ref_grad) = _value_and_grad_both(name, x, np.ones_like(x))
    assert np.isfinite(out).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-6, atol=1e-6)


def test_gradients_at_kinks_by_hand():
    """The kink conventions, stated without PyTorch (so they hold where torch is absent)."""
    points = np.array([-3.0, 0.0, 3.0, 6.0])

    def grad_of(fn):
        x = tg.Tensor(points, requires_grad=True)
        fn(x).sum().backward()
        return x.grad.data

    np.testing.assert_array_equal(grad_of(F.relu6), [0, 0, 1, 0])
    np.testing.assert_array_equal(grad_of(F.hardtanh), [0, 1, 0, 0])
    np.testing.assert_array_equal(grad_of(F.hardswish), [0, 0.5, 1, 1])
    np.testing.assert_array_equal(grad_of(F.hardsigmoid), [0, 1 / 6, 0, 0])
    np.testing.assert_allclose(grad_of(lambda x: F.elu(x, 2.0)), [2 * math.exp(-3), 2, 1, 1])
    np.testing.assert_allclose(grad_of(F.logsigmoid)[1], 0.5)


# ---------------------------------------------------------------- modules

MODULES = [
    (nn.GELU(), F.gelu),
    (nn.GELU("tanh"), lambda x: F.gelu(x, approximate="tanh")),
    (nn.SiLU(), F.silu),
    (nn.Softplus(beta=2.0, threshold=5.0), lambda x: F.softplus(x, 2.0, 5.0)),
    (nn.ELU(alpha=0.3), lambda x: F.elu(x, 0.3)),
    (nn.SELU(), F.selu),
    (nn.CELU(alpha=1.5), lambda x: F.celu(x, 1.5)),
    (nn.Mish(), F.mish),
    (nn.Hardtanh(-0.5, 2.0), lambda x: F.hardtanh(x, -0.5, 2.0)),
    (nn.ReLU6(), F.relu6),
    (nn.Hardswish(), F.hardswish),
    (nn.Hardsigmoid(), F.hardsigmoid),
    (nn.Softsign(), F.softsign),
    (nn.LogSigmoid(), F.logsigmoid),
    (nn.Softmax(dim=0), lambda x: F.softmax(x, dim=0)),
    (nn.LogSoftmax(dim=1), lambda x: F.log_softmax(x, dim=1)),
    (nn.ReLU(), F.relu),
    (nn.Tanh(), F.tanh),
]


@pytest.mark.parametrize("module, function", MODULES, ids=[type(m).__name__ for m, _ in MODULES])
def test_module_computes_its_function(module, function, rng):
    x = tg.Tensor(inputs(rng, np.float64))
    np.testing.assert_array_equal(module(x).data, function(x).data)
    assert module.state_dict() == {}


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_softmax_module_without_dim_picks_pytorchs_axis(ndim, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 4, 5)[:ndim])
    for ours, theirs in [
        (nn.Softmax(), torch.nn.Softmax()),
        (nn.LogSoftmax(), torch.nn.LogSoftmax()),
    ]:
        with pytest.warns(UserWarning):  # PyTorch warns that the implicit dim is deprecated
            expected = theirs(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours(tg.Tensor(x)).data, expected, rtol=1e-12, atol=1e-12)


def test_module_reprs_name_their_settings():
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"


def test_bad_arguments_raise():
    x = tg.Tensor(np.zeros(3))
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(x, 1.0, -1.0)
    with pytest.raises(ValueError, match="alpha"):
        F.celu(x, alpha=0.0)
    with pytest.raises(TypeError, match="Tensor"):
        F.silu(np.zeros(3))


# ---------------------------------------------------------------- erf


def test_erf_matches_math_erf_in_float64_and_keeps_float32():
    grid = np.concatenate([np.linspace(-7, 7, 2001), [0.0, 1e-300, -1e-10, 30.0, -np.inf, np.inf]])
    np.testing.assert_array_equal(F.erf(tg.Tensor(grid)).data, ERF(grid))
    out32 = F.erf(tg.Tensor(grid.astype(np.float32)))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.data, ERF(grid.astype(np.float32)), rtol=1e-7, atol=1e-7)
    assert F.erf(tg.Tensor(np.array(0.5))).shape == ()
    assert F.erf(tg.Tensor(np.zeros((2, 0)))).shape == (2, 0)


def test_erf_gradcheck_and_derivative(rng):
    assert check_gradients(F.erf, [rng.standard_normal((3, 4)) * 2], rng)
    x = tg.Tensor(np.array([0.0, 1.0, -2.0]), requires_grad=True)
    F.erf(x).sum().backward()
    np.testing.assert_allclose(
        x.grad.data, 2 / math.sqrt(math.pi) * np.exp(-(x.data**2)), rtol=1e-15
    )
    assert x.grad_fn is None and F.erf(x).grad_fn.name == "ErfBackward"
