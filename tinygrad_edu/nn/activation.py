"""Activations: each a function of Tensors built from core ops, and its Module.

Because every one is a composition (exp, log1p, tanh, sigmoid, where, clip, ...),
its gradient comes from the graph; the docstrings state the derivative the graph
computes. Kinks follow PyTorch. Read loss.py next.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops, ops_special
from ..tensor import Tensor, apply, minimum, where
from .checks import check_tensor
from .module import Module

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
GELU_TANH_K = math.sqrt(2.0 / math.pi)  # the tanh approximation's √(2/π)


def _mask(condition) -> np.ndarray:
    """A comparison on x.data as a bool array (a 0-d comparison gives a numpy scalar)."""
    return np.asarray(condition)


# ---------------------------------------------------------------- one core op each
# Forward, Local and Backward are those of the op named (ops.py), stated once there.


def relu(x: Tensor) -> Tensor:
    """max(x, 0): ops.ReLU (the C kernel; gradient 0 at the kink, as PyTorch)."""
    return check_tensor(x).relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope · x: ops.LeakyReLU."""
    return check_tensor(x).leaky_relu(negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    """σ(x) = 1 / (1 + e⁻ˣ): ops.Sigmoid."""
    return check_tensor(x).sigmoid()


def tanh(x: Tensor) -> Tensor:
    """tanh(x): ops.Tanh."""
    return check_tensor(x).tanh()


def softmax(x: Tensor, axis: int = -1, dim: int | None = None) -> Tensor:
    """e^(xᵢ) / Σⱼ e^(xⱼ) along `axis` (PyTorch's `dim=` accepted): ops.Softmax."""
    return check_tensor(x).softmax(axis if dim is None else dim)


def log_softmax(x: Tensor, axis: int = -1, dim: int | None = None) -> Tensor:
    """xᵢ - logsumexp(x) along `axis` (PyTorch's `dim=` accepted): ops.LogSoftmax."""
    return check_tensor(x).log_softmax(axis if dim is None else dim)


def erf(x: Tensor) -> Tensor:
    """The error function: ops_special.Erf."""
    return apply(ops_special.Erf, check_tensor(x))


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """Forward: out = min(max(x, min_val), max_val)
    Local:    ∂out/∂x = 1 where min_val < x < max_val, else 0 (0 at both bounds, as PyTorch)
    Backward: grad_x = grad inside the open interval, 0 outside

    Not `clip`, whose gradient passes at the bounds: outside the open interval the
    output is the clipped value as a constant (detached), so no gradient reaches x.
    """
    check_tensor(x)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    inside = _mask((x.data > min_val) & (x.data < max_val))
    return where(inside, x, x.detach().clip(min_val, max_val))


def relu6(x: Tensor) -> Tensor:
    """Forward: out = min(max(x, 0), 6) = hardtanh(x, 0, 6)
    Local:    ∂out/∂x = 1 where 0 < x < 6, else 0
    Backward: grad_x = grad where 0 < x < 6, else 0
    """
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x: Tensor) -> Tensor:
    """Forward: out = 0 for x ≤ -3, 1 for x ≥ 3, x/6 + ½ between
    Local:    ∂out/∂x = 1/6 where -3 < x < 3, else 0
    Backward: grad_x = grad / 6 where -3 < x < 3, else 0
    """
    check_tensor(x)
    inside = _mask((x.data > -3.0) & (x.data < 3.0))
    # Outside, the value is the constant 0 or 1: the clipped x, detached (no gradient).
    return where(inside, x / 6.0 + 0.5, x.detach().clip(-3.0, 3.0) / 6.0 + 0.5)


def hardswish(x: Tensor) -> Tensor:
    """Forward: out = 0 for x ≤ -3, x for x ≥ 3, x(x + 3)/6 between
    Local:    ∂out/∂x = 0 for x ≤ -3, 1 for x ≥ 3, (2x + 3)/6 = x/3 + ½ between
    Backward: grad_x = grad · ∂out/∂x (at -3 the gradient is 0 and at 3 it is 1, as PyTorch)
    """
    check_tensor(x)
    middle = where(_mask(x.data < 3.0), x * (x + 3.0) / 6.0, x)
    return where(_mask(x.data <= -3.0), 0.0, middle)


def softsign(x: Tensor) -> Tensor:
    """Forward: out = x / (1 + |x|)
    Local:    ∂out/∂x = 1 / (1 + |x|)²
    Backward: grad_x = grad / (1 + |x|)²   (from the graph: div, add, abs)
    """
    return check_tensor(x) / (1.0 + x.abs())


# ---------------------------------------------------------------- exponential families


def _exp_of_nonpositive(x: Tensor) -> Tensor:
    """e^min(x, 0): the negative branch of ELU-like activations without overflowing on
    the positive side (where that branch is not used). clip, not minimum: at x = 0 its
    gradient passes whole."""
    return x.clip(max=0.0).exp()


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """Forward: out = x for x > 0, α(eˣ - 1) for x ≤ 0
    Local:    ∂out/∂x = 1 for x > 0, α eˣ for x ≤ 0 (α at x = 0, as PyTorch)
    Backward: grad_x = grad · ∂out/∂x
    """
    check_tensor(x)
    return where(_mask(x.data > 0), x, alpha * (_exp_of_nonpositive(x) - 1.0))


def selu(x: Tensor) -> Tensor:
    """Forward: out = λ·elu(x, α), λ ≈ 1.0507, α ≈ 1.6733 (self-normalising constants)
    Local:    ∂out/∂x = λ for x > 0, λ α eˣ for x ≤ 0
    Backward: grad_x = grad · ∂out/∂x
    """
    return SELU_SCALE * elu(x, SELU_ALPHA)


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """Forward: out = x for x > 0, α(e^(x/α) - 1) for x ≤ 0
    Local:    ∂out/∂x = 1 for x > 0, e^(x/α) for x ≤ 0 (continuous: 1 at x = 0)
    Backward: grad_x = grad · ∂out/∂x
    """
    check_tensor(x)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")
    return where(_mask(x.data > 0), x, alpha * (_exp_of_nonpositive(x / alpha) - 1.0))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Forward: out = ln(1 + e^(βx)) / β, and out = x where βx > threshold
    Local:    ∂out/∂x = σ(βx) = e^(βx) / (1 + e^(βx)); 1 above the threshold
    Backward: grad_x = grad · σ(βx), or grad above the threshold

    Above the threshold ln(1 + e^(βx))/β equals x to within e^(-threshold), and e^(βx)
    would overflow; that branch's input is replaced by 0 there, so neither its value
    nor its gradient (0 · ∞) can turn into NaN.
    """
    check_tensor(x)
    scaled = x * beta
    linear = _mask(scaled.data > threshold)
    safe = where(linear, 0.0, scaled)
    return where(linear, x, safe.exp().log1p() / beta)


def logsigmoid(x: Tensor) -> Tensor:
    """Forward: out = ln σ(x) = min(x, 0) - ln(1 + e^(-|x|))   (finite for any x)
    Local:    ∂out/∂x = 1 - σ(x) = σ(-x)
    Backward: grad_x = grad · σ(-x)   (from the graph; at x = 0 minimum's ½ and |x|'s 0
              add up to the exact σ(0) = ½)
    """
    check_tensor(x)
    return minimum(x, 0.0) - (-x.abs()).exp().log1p()


def silu(x: Tensor) -> Tensor:
    """Forward: out = x · σ(x)   (also called swish)
    Local:    ∂out/∂x = σ(x) + x σ(x)(1 - σ(x))
    Backward: grad_x = grad · ∂out/∂x   (from the graph: mul, sigmoid)
    """
    return check_tensor(x) * x.sigmoid()


def mish(x: Tensor) -> Tensor:
    """Forward: out = x · tanh(softplus(x))
    Local:    ∂out/∂x = tanh(sp) + x σ(x) (1 - tanh²(sp)),  sp = softplus(x)
    Backward: grad_x = grad · ∂out/∂x   (softplus with its threshold: no overflow)
    """
    return check_tensor(x) * softplus(x).tanh()


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Forward: out = x Φ(x), Φ(x) = ½(1 + erf(x/√2)) the standard normal CDF;
              approximate="tanh": Φ(x) ≈ ½(1 + tanh(√(2/π)(x + 0.044715 x³)))
    Local:    ∂out/∂x = Φ(x) + x φ(x), φ(x) = e^(-x²/2)/√(2π)   (exact form)
              tanh form: ½(1 + t) + ½ x (1 - t²) √(2/π)(1 + 3·0.044715 x²), t = tanh(...)
    Backward: grad_x = grad · ∂out/∂x   (from the graph: erf (ops_special.Erf) or tanh)
    """
    check_tensor(x)
    if approximate == "none":
        return x * 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = GELU_TANH_K * (x + 0.044715 * (x * x * x))
        return 0.5 * x * (1.0 + inner.tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def legacy_softmax_dim(ndim: int) -> int:
    """The axis PyTorch's Softmax(dim=None) picks: 0 for 0-, 1- and 3-d input, else 1."""
    return 0 if ndim in (0, 1, 3) else 1


# ---------------------------------------------------------------- modules


class ReLU(Module):
    """out = max(x, 0) by the C kernel. While `count_alive` is True, the kernel also marks in
    `alive` (uint8, one entry per unit: per entry of one example, made at the next forward)
    each unit that output > 0, in the same pass; `alive = None` starts a new count.
    HealthMonitor counts dead units this way."""

    count_alive = False
    alive = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.count_alive or x.ndim < 2:
            return relu(x)
        if self.alive is None:
            self.alive = np.zeros(math.prod(x.shape[1:]), np.uint8)
        return apply(ops.ReLU, x, alive=self.alive)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return sigmoid(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return tanh(x)


class GELU(Module):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return silu(x)


class Mish(Module):
    def forward(self, x: Tensor) -> Tensor:
        return mish(x)


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class ELU(Module):
    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class CELU(ELU):
    def forward(self, x: Tensor) -> Tensor:
        return celu(x, self.alpha)


class SELU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return selu(x)


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x: Tensor) -> Tensor:
        return hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Hardtanh):
    def __init__(self):
        super().__init__(0.0, 6.0)


class Hardswish(Module):
    def forward(self, x: Tensor) -> Tensor:
        return hardswish(x)


class Hardsigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return hardsigmoid(x)


class Softsign(Module):
    def forward(self, x: Tensor) -> Tensor:
        return softsign(x)


class LogSigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return logsigmoid(x)


class Softmax(Module):
    """softmax along `dim`; dim=None picks PyTorch's legacy axis (legacy_softmax_dim)."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        check_tensor(x)
        return softmax(x, legacy_softmax_dim(x.ndim) if self.dim is None else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x: Tensor) -> Tensor:
        check_tensor(x)
        return log_softmax(x, legacy_softmax_dim(x.ndim) if self.dim is None else self.dim)
