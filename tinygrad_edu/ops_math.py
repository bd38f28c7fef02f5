"""The wider math surface as ops (sin, cos, tan, log2, exp2, rounding, cumsum, std, clone),
each derivative next to it, backward in function.py's vocabulary so that gradients of
gradients work. Ops that compose from existing ones (square, reciprocal, rsqrt, prod,
max along a dim) are written in tensor.py. Read ops.py first.
"""

import math

import numpy as np

from .function import Function, _is_array, data, where

LN2 = math.log(2.0)


# ---------------------------------------------------------------- vocabulary
# Arrays on the fast path, Tensors under create_graph (function.py's convention).


def sin(x):
    return np.sin(x) if _is_array(x) else x.sin()


def cos(x):
    return np.cos(x) if _is_array(x) else x.cos()


def cumsum(x, axis: int):
    return np.cumsum(x, axis=axis) if _is_array(x) else x.cumsum(axis)


def zeros_like(grad):
    """Zeros of grad's shape and dtype: the gradient of a piecewise-constant op.
    (Not grad · 0, which is NaN where grad is infinite; PyTorch gives exact zeros.)"""
    zero = np.zeros((), grad.dtype)
    if _is_array(grad):
        return np.zeros(np.shape(grad), grad.dtype)
    return where(np.False_, grad, zero)


# ---------------------------------------------------------------- copies


class Clone(Function):
    """Forward: out = a copy of x (new memory, same values, -0.0 and NaN included)
    Local:    ∂out/∂x = 1
    Backward: grad_x = grad
    """

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return (grad,)


# ---------------------------------------------------------------- trigonometry


class Sin(Function):
    """Forward: out = sin x
    Local:    ∂out/∂x = cos x
    Backward: grad_x = grad · cos x
    """

    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, grad):
        return (grad * cos(self.x),)


class Cos(Function):
    """Forward: out = cos x
    Local:    ∂out/∂x = -sin x
    Backward: grad_x = -grad · sin x
    """

    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, grad):
        return (-grad * sin(self.x),)


class Tan(Function):
    """Forward: out = tan x
    Local:    ∂out/∂x = 1/cos² x = 1 + tan² x = 1 + out²
    Backward: grad_x = grad · (1 + out²)
    """

    def forward(self, x):
        self.out = np.tan(x)
        return self.out

    def backward(self, grad):
        return (grad * (1 + self.out * self.out),)


# ---------------------------------------------------------------- base 2


class Log2(Function):
    """Forward: out = log₂ x   (np.log2: exact at powers of two, unlike ln x / ln 2)
    Local:    ∂out/∂x = 1 / (x ln 2)
    Backward: grad_x = grad / (x · ln 2)
    """

    def forward(self, x):
        self.x = x
        return np.log2(x)

    def backward(self, grad):
        return (grad / (self.x * LN2),)


class Exp2(Function):
    """Forward: out = 2ˣ
    Local:    ∂out/∂x = 2ˣ ln 2 = out · ln 2
    Backward: grad_x = grad · out · ln 2
    """

    def forward(self, x):
        self.out = np.exp2(x)
        return self.out

    def backward(self, grad):
        return (grad * self.out * LN2,)


# ---------------------------------------------------------------- piecewise constant
# Flat between jumps, undefined at them: PyTorch returns a zero gradient everywhere.


class StepFunction(Function):
    """The shared backward of the piecewise-constant ops below: grad_x = 0 everywhere
    (an exact zero, even where grad is inf or NaN, as PyTorch)."""

    def backward(self, grad):
        return (zeros_like(grad),)


class Floor(StepFunction):
    """Forward: out = ⌊x⌋
    Local:    ∂out/∂x = 0   (a step function; 0 at the jumps too, as PyTorch)
    Backward: grad_x = 0
    """

    def forward(self, x):
        return np.floor(x)


class Ceil(StepFunction):
    """Forward: out = ⌈x⌉
    Local:    ∂out/∂x = 0   (a step function; 0 at the jumps too, as PyTorch)
    Backward: grad_x = 0
    """

    def forward(self, x):
        return np.ceil(x)


class Trunc(StepFunction):
    """Forward: out = x rounded toward 0
    Local:    ∂out/∂x = 0   (a step function; 0 at the jumps too, as PyTorch)
    Backward: grad_x = 0
    """

    def forward(self, x):
        return np.trunc(x)


class Round(StepFunction):
    """Forward: out = x rounded to `decimals` places, halves to even (as PyTorch and numpy)
    Local:    ∂out/∂x = 0   (a step function; 0 at the jumps too, as PyTorch)
    Backward: grad_x = 0
    """

    def forward(self, x, decimals=0):
        return np.round(x, decimals)


class Sign(StepFunction):
    """Forward: out = -1, 0 or 1 as x < 0, x = 0 or x > 0   (NaN gives 0, as PyTorch)
    Local:    ∂out/∂x = 0   (0 at the jump x = 0 too, as PyTorch)
    Backward: grad_x = 0
    """

    def forward(self, x):
        return np.where(np.isnan(x), np.zeros((), x.dtype), np.sign(x))


# ---------------------------------------------------------------- scans and statistics


class Cumsum(Function):
    """Forward: outᵢ = Σ_{j ≤ i} xⱼ along `axis`
    Local:    ∂outᵢ/∂xⱼ = 1 for j ≤ i, else 0
    Backward: grad_xⱼ = Σ_{i ≥ j} gradᵢ: the cumulative sum of grad taken from the end
              (reverse, cumsum, reverse)
    """

    def forward(self, x, axis):
        self.axis = axis
        return np.cumsum(x, axis=axis)

    def backward(self, grad):
        reverse = (slice(None),) * self.axis + (slice(None, None, -1),)
        return (cumsum(grad[reverse], self.axis)[reverse],)


class Std(Function):
    """Forward: out = √(Σ(x - x̄)² / (n - correction)) over `axis`  (n elements reduced)
    Local:    ∂out/∂xᵢ = (xᵢ - x̄) / ((n - correction) · out)   (the Σ(x - x̄) = 0 term
              drops)
    Backward: grad_x = grad · (x - x̄) / ((n - correction) · out), and 0 where out = 0
              (constant input: PyTorch's choice at the kink of √ at 0)
    """

    def forward(self, x, axis=None, keepdims=False, correction=1):
        self.x, self.axis = x, axis
        count = x.size if axis is None else int(np.prod([x.shape[a] for a in axis]))
        self.dof = max(count - correction, 0)  # n - correction <= 0 divides by 0, as PyTorch
        deviation = x - x.mean(axis=axis, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sqrt((deviation * deviation).sum(axis=axis, keepdims=True) / self.dof)
        self.kept_shape = out.shape  # the reduced axes as size 1: broadcasts against x
        self.out = out.astype(x.dtype, copy=False)
        if not keepdims:
            self.out = self.out.reshape(()) if axis is None else self.out.squeeze(axis)
        return self.out

    def backward(self, grad):
        x, out = self.x, self.out.reshape(self.kept_shape)
        grad = grad.reshape(self.kept_shape)
        constant = data(out) == 0
        safe_out = where(constant, np.ones((), x.dtype), out)  # no 0/0, even in 2nd derivatives
        deviation = x - x.mean(axis=self.axis, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):  # dof = 0: inf or nan, as PyTorch
            grad_x = grad * deviation / (safe_out * self.dof)
        return (where(constant, np.zeros((), x.dtype), grad_x),)
