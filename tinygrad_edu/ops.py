"""The primitive ops: one Function per op, its derivative written next to it.

Each docstring has three lines: Forward (what it computes), Local (the local
derivative), Backward (what backward returns, given grad = dL/d(out)).
Binary ops undo broadcasting with `sum_to_shape`. Each backward is written in
function.py's vocabulary, so it also runs on Tensors (create_graph). Read engine.py next.
"""

import numpy as np

from . import kernels
from .function import (
    Function,
    _is_array,
    broadcast,
    contiguous,
    data,
    exp,
    log,
    matmul,
    permute,
    relu_backward,
    sum_to_shape,
    swap_last_axes,
    where,
)

# ---------------------------------------------------------------- binary arithmetic


class Add(Function):
    """Forward: out = x + y
    Local:    ∂out/∂x = 1, ∂out/∂y = 1
    Backward: grad_x = grad, grad_y = grad (each summed to its input's shape)
    """

    def forward(self, x, y):
        self.x_shape, self.y_shape = x.shape, y.shape
        return x + y

    def backward(self, grad):
        return sum_to_shape(grad, self.x_shape), sum_to_shape(grad, self.y_shape)


class Sub(Function):
    """Forward: out = x - y
    Local:    ∂out/∂x = 1, ∂out/∂y = -1
    Backward: grad_x = grad, grad_y = -grad (each summed to its input's shape)
    """

    def forward(self, x, y):
        self.x_shape, self.y_shape = x.shape, y.shape
        return x - y

    def backward(self, grad):
        return sum_to_shape(grad, self.x_shape), sum_to_shape(-grad, self.y_shape)


class Mul(Function):
    """Forward: out = x · y
    Local:    ∂out/∂x = y, ∂out/∂y = x
    Backward: grad_x = grad · y, grad_y = grad · x
    """

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, grad):
        grad_x = sum_to_shape(grad * self.y, self.x.shape) if self.needs_input_grad[0] else None
        grad_y = sum_to_shape(grad * self.x, self.y.shape) if self.needs_input_grad[1] else None
        return grad_x, grad_y


class Div(Function):
    """Forward: out = x / y
    Local:    ∂out/∂x = 1/y, ∂out/∂y = -x/y²
    Backward: grad_x = grad / y, grad_y = -(grad / y) · (x / y)
    (two quotients, not x / y²: y² under- or overflows in float32 where the answer does not)
    """

    def forward(self, x, y):
        self.x, self.y = x, y
        return x / y

    def backward(self, grad):
        grad_x = sum_to_shape(grad / self.y, self.x.shape) if self.needs_input_grad[0] else None
        grad_y = None
        if self.needs_input_grad[1]:
            grad_y = sum_to_shape(-(grad / self.y) * (self.x / self.y), self.y.shape)
        return grad_x, grad_y


class Pow(Function):
    """Forward: out = x ** y
    Local:    ∂out/∂x = y · x^(y-1), ∂out/∂y = out · ln x
    Backward: grad_x = grad · y · x^(y-1), grad_y = grad · out · ln x
    (ln x is only computed when y needs a gradient, so x**2 of negative x is fine.)
    """

    def forward(self, x, y):
        self.x, self.y = x, y
        self.out = x**y
        return self.out

    def backward(self, grad):
        x, y = self.x, self.y
        grad_x = None
        if self.needs_input_grad[0]:
            # x^0 is the constant 1: its derivative is 0 even at x = 0, where y·x^(y-1) is 0·inf;
            # the exponent 1 where y = 0 gives y·x¹ = 0 there, with no inf on any path.
            grad_x = sum_to_shape(grad * (y * x ** where(data(y) == 0, 1.0, y - 1)), x.shape)
        grad_y = None
        if self.needs_input_grad[1]:
            # d(x^y)/dy = x^y ln x: nan for x < 0, and at x = 0 the limit of x^y ln x is 0 (y > 0).
            with np.errstate(divide="ignore", invalid="ignore"):
                log_x = log(where(data(x) == 0, 1.0, x))
            grad_y = sum_to_shape(grad * self.out * log_x, y.shape)
        return grad_x, grad_y


class Maximum(Function):
    """Forward: out = max(x, y), elementwise
    Local:    ∂out/∂x = 1 where x > y, ½ where x = y, 0 elsewhere (and mirrored for y)
    Backward: grad_x = grad · [x > y] + ½ grad · [x = y], likewise grad_y
    """

    def forward(self, x, y):
        self.x, self.y = x, y
        return np.maximum(x, y)

    def backward(self, grad):
        return _split_between(grad, self.x, self.y, data(self.x) > data(self.y))


class Minimum(Function):
    """Forward: out = min(x, y), elementwise
    Local:    ∂out/∂x = 1 where x < y, ½ where x = y, 0 elsewhere (and mirrored for y)
    Backward: grad_x = grad · [x < y] + ½ grad · [x = y], likewise grad_y
    """

    def forward(self, x, y):
        self.x, self.y = x, y
        return np.minimum(x, y)

    def backward(self, grad):
        return _split_between(grad, self.x, self.y, data(self.x) < data(self.y))


def _split_between(grad, x, y, x_wins):
    """Route grad to the winning input; split it evenly where the two tie."""
    x, y = data(x), data(y)  # which input wins is a constant of the derivative
    share_x = np.where(x_wins, 1.0, np.where(x == y, 0.5, 0.0)).astype(grad.dtype)
    grad_x = sum_to_shape(grad * share_x, x.shape)
    grad_y = sum_to_shape(grad * (1 - share_x), y.shape)
    return grad_x, grad_y


class Where(Function):
    """Forward: out = a where cond else b   (cond is a bool array, not differentiated)
    Local:    ∂out/∂a = [cond], ∂out/∂b = [not cond]
    Backward: grad_a = grad · [cond], grad_b = grad · [not cond]
    """

    def forward(self, a, b, cond):
        self.a_shape, self.b_shape, self.cond = a.shape, b.shape, cond
        return np.where(cond, a, b)

    def backward(self, grad):
        zero = np.zeros((), grad.dtype)
        grad_a = sum_to_shape(where(self.cond, grad, zero), self.a_shape)
        grad_b = sum_to_shape(where(self.cond, zero, grad), self.b_shape)
        return grad_a, grad_b


# ---------------------------------------------------------------- unary elementwise


class Neg(Function):
    """Forward: out = -x
    Local:    ∂out/∂x = -1
    Backward: grad_x = -grad
    """

    def forward(self, x):
        return -x

    def backward(self, grad):
        return (-grad,)


class Exp(Function):
    """Forward: out = eˣ
    Local:    ∂out/∂x = eˣ = out
    Backward: grad_x = grad · out
    """

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Function):
    """Forward: out = ln x
    Local:    ∂out/∂x = 1/x
    Backward: grad_x = grad / x
    """

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, grad):
        return (grad / self.x,)


class Log1p(Function):
    """Forward: out = ln(1 + x)   (accurate for small x; the log scaling of features)
    Local:    ∂out/∂x = 1/(1 + x)
    Backward: grad_x = grad / (1 + x)
    """

    def forward(self, x):
        self.x = x
        return np.log1p(x)

    def backward(self, grad):
        return (grad / (1 + self.x),)


class Sqrt(Function):
    """Forward: out = √x
    Local:    ∂out/∂x = 1/(2√x) = 1/(2·out)
    Backward: grad_x = grad / (2 · out)
    """

    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)


class Abs(Function):
    """Forward: out = |x|
    Local:    ∂out/∂x = sign(x)   (0 at x = 0, as PyTorch)
    Backward: grad_x = grad · sign(x)
    """

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, grad):
        return (grad * np.sign(data(self.x)),)


class ReLU(Function):
    """Forward: out = max(x, 0)                           (C kernel: csrc/relu.c)
    Local:    ∂out/∂x = 1 where x > 0, else 0        (0 at the kink x = 0, as PyTorch)
    Backward: grad_x = 0 where out ≤ 0, else grad   (C kernel, fused: no temporaries)
    (out ≤ 0 exactly where x ≤ 0, so the output is saved and the input can be freed;
     a NaN passes the gradient through, as PyTorch.)
    """

    def forward(self, x, alive=None):
        # alive: optional uint8 mask, one entry per unit; the kernel marks the units that fired
        self.out = kernels.relu(contiguous(x), alive=alive)
        return self.out

    def backward(self, grad):
        return (relu_backward(self.out, grad),)


class LeakyReLU(Function):
    """Forward: out = x where x > 0, else slope · x
    Local:    ∂out/∂x = 1 where x > 0, else slope
    Backward: grad_x = grad where x > 0, else slope · grad
    """

    def forward(self, x, negative_slope=0.01):
        self.positive, self.slope = x > 0, negative_slope
        return np.where(self.positive, x, x * negative_slope)

    def backward(self, grad):
        return (where(self.positive, grad, grad * self.slope),)


class Sigmoid(Function):
    """Forward: out = σ(x) = 1 / (1 + e⁻ˣ)
    Local:    ∂out/∂x = σ(x)(1 - σ(x)) = out(1 - out)   (at most ¼: why deep sigmoid nets vanish)
    Backward: grad_x = grad · out · (1 - out)
    """

    def forward(self, x):
        # Written with exp(-|x|) so that neither branch overflows.
        exp_neg_abs = np.exp(-np.abs(x))
        self.out = np.where(x >= 0, 1 / (1 + exp_neg_abs), exp_neg_abs / (1 + exp_neg_abs))
        return self.out

    def backward(self, grad):
        return (grad * self.out * (1 - self.out),)


class Tanh(Function):
    """Forward: out = tanh x
    Local:    ∂out/∂x = 1 - tanh² x = 1 - out²
    Backward: grad_x = grad · (1 - out²)
    """

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad):
        return (grad * (1 - self.out * self.out),)


class Clip(Function):
    """Forward: out = min(max(x, low), high)   (the hard cap of feature scaling)
    Local:    ∂out/∂x = 1 where low ≤ x ≤ high (bounds included), else 0
    Backward: grad_x = grad where low ≤ x ≤ high, else 0
    """

    def forward(self, x, low=None, high=None):
        inside = np.ones(x.shape, bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        self.inside = inside
        return np.clip(x, low, high)

    def backward(self, grad):
        return (where(self.inside, grad, np.zeros((), grad.dtype)),)


class Cast(Function):
    """Forward: out = x converted to `dtype`
    Local:    ∂out/∂x = 1
    Backward: grad_x = grad converted back to x's dtype
    """

    def forward(self, x, dtype):
        self.x_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return (grad.astype(self.x_dtype),)


# ---------------------------------------------------------------- reductions


def _expand_reduced(grad, axis, keepdims, shape):
    """Put back the reduced axes (size 1) so grad broadcasts against the input."""
    if keepdims:
        return grad
    if axis is None:
        return grad.reshape((1,) * len(shape))
    kept = tuple(1 if axis is None or i in axis else size for i, size in enumerate(shape))
    return grad.reshape(kept)


def _drop_reduced(out, axis, keepdims):
    """Remove the size-1 axes a keepdims=True reduction left, unless keepdims was asked."""
    if keepdims:
        return out
    return out.reshape(()) if axis is None else out.squeeze(axis)


class Sum(Function):
    """Forward: out = Σᵢ xᵢ over `axis`
    Local:    ∂out/∂xᵢ = 1
    Backward: grad_x = grad broadcast back to x's shape
    """

    def forward(self, x, axis=None, keepdims=False):
        self.x_shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, grad):
        grad = _expand_reduced(grad, self.axis, self.keepdims, self.x_shape)
        return (broadcast(grad, self.x_shape),)


class Mean(Function):
    """Forward: out = (1/n) Σᵢ xᵢ over `axis` (n elements reduced)
    Local:    ∂out/∂xᵢ = 1/n
    Backward: grad_x = grad / n broadcast back to x's shape
    """

    def forward(self, x, axis=None, keepdims=False):
        self.x_shape, self.axis, self.keepdims = x.shape, axis, keepdims
        out = np.asarray(x.mean(axis=axis, keepdims=keepdims))
        self.count = x.size // max(out.size, 1)  # how many elements each output averaged
        return out

    def backward(self, grad):
        grad = _expand_reduced(grad, self.axis, self.keepdims, self.x_shape)
        return (broadcast(grad / self.count, self.x_shape),)


class Max(Function):
    """Forward: out = max over `axis`
    Local:    ∂out/∂xᵢ = 1/k for the k elements equal to the max, 0 elsewhere
    Backward: grad_x = grad / k at the maxima (ties share evenly), 0 elsewhere
    """

    reduce = staticmethod(np.max)

    def forward(self, x, axis=None, keepdims=False):
        out = self.reduce(x, axis=axis, keepdims=True)
        is_extreme = (x == out) | (np.isnan(x) & np.isnan(out))  # a NaN max is the NaN element
        self.share = (is_extreme / is_extreme.sum(axis=axis, keepdims=True)).astype(x.dtype)
        self.axis, self.keepdims = axis, keepdims
        return _drop_reduced(out, axis, keepdims)

    def backward(self, grad):
        grad = _expand_reduced(grad, self.axis, self.keepdims, self.share.shape)
        return (grad * self.share,)


class Min(Max):
    """Forward: out = min over `axis`
    Local:    ∂out/∂xᵢ = 1/k for the k elements equal to the min, 0 elsewhere
    Backward: grad_x = grad / k at the minima (ties share evenly), 0 elsewhere
    """

    reduce = staticmethod(np.min)


class LogSumExp(Function):
    """Forward: out = ln Σᵢ e^(xᵢ) = m + ln Σᵢ e^(xᵢ - m), m = max x  (stable for huge x)
    Local:    ∂out/∂xᵢ = e^(xᵢ - out) = softmax(x)ᵢ
    Backward: grad_x = grad · e^(x - out)
    """

    def forward(self, x, axis=None, keepdims=False):
        shift = np.max(x, axis=axis, keepdims=True)
        shift = np.where(np.isfinite(shift), shift, 0).astype(x.dtype)
        total = np.sum(np.exp(x - shift), axis=axis, keepdims=True)
        out = (np.log(total) + shift).astype(x.dtype, copy=False)
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.out = _drop_reduced(out, axis, keepdims)
        return self.out

    def backward(self, grad):
        x, out = self.x, _expand_reduced(self.out, self.axis, self.keepdims, self.x.shape)
        grad = _expand_reduced(grad, self.axis, self.keepdims, self.x.shape)
        return (grad * exp(x - out),)


class Softmax(Function):
    """Forward: outᵢ = e^(xᵢ - m) / Σⱼ e^(xⱼ - m) along `axis`, m = max x
    Local:    ∂outᵢ/∂xⱼ = outᵢ(δᵢⱼ - outⱼ)
    Backward: grad_x = out · (grad - Σⱼ gradⱼ outⱼ)
    """

    def forward(self, x, axis=-1):
        exp = np.exp(x - np.max(x, axis=axis, keepdims=True))
        self.out, self.axis = exp / exp.sum(axis=axis, keepdims=True), axis
        return self.out

    def backward(self, grad):
        out = self.out
        return (out * (grad - (grad * out).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """Forward: outᵢ = xᵢ - logsumexp(x) along `axis`
    Local:    ∂outᵢ/∂xⱼ = δᵢⱼ - softmax(x)ⱼ
    Backward: grad_x = grad - e^out · Σⱼ gradⱼ   (e^out = softmax(x))
    """

    def forward(self, x, axis=-1):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        self.out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        self.axis = axis
        return self.out

    def backward(self, grad):
        return (grad - exp(self.out) * grad.sum(axis=self.axis, keepdims=True),)


# ---------------------------------------------------------------- shape ops


class Reshape(Function):
    """Forward: out = x with a new shape (same elements, same order)
    Local:    the identity on the elements
    Backward: grad_x = grad reshaped to x's shape
    """

    def forward(self, x, shape):
        self.x_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return (grad.reshape(self.x_shape),)


class Permute(Function):
    """Forward: out = x with its axes reordered: out.shape[i] = x.shape[axes[i]]
    Local:    the identity on the elements
    Backward: grad_x = grad with the inverse permutation applied
    """

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad):
        return (permute(grad, np.argsort(self.axes)),)


class Expand(Function):
    """Forward: out = x broadcast to `shape` (a read-only view, nothing copied)
    Local:    each input element is copied to every position it is broadcast to
    Backward: grad_x = grad summed over the broadcast axes
    """

    def forward(self, x, shape):
        self.x_shape = x.shape
        return np.broadcast_to(x, shape)

    def backward(self, grad):
        return (sum_to_shape(grad, self.x_shape),)


class GetItem(Function):
    """Forward: out = x[index]   (ints, slices, None, ..., integer arrays)
    Local:    out is a selection of x's elements (possibly repeated)
    Backward: grad_x = zeros of x's shape with grad added at the selected positions
              (np.add.at, so an element picked twice receives both gradients)
    """

    def forward(self, x, index):
        self.x_shape, self.index = x.shape, index
        return x[index]

    def backward(self, grad):
        return (scatter_add(grad, self.index, self.x_shape),)


class ScatterAdd(Function):
    """Forward: out = zeros(shape) with grad added at out[index] (GetItem's adjoint)
    Local:    each element of x lands at its position(s) of out
    Backward: grad_x = grad[index]
    """

    def forward(self, x, index, shape):
        self.index = index
        out = np.zeros(shape, x.dtype)
        if _picks_each_once(index):  # a plain write: several times faster than np.add.at
            out[index] = x
        else:
            np.add.at(out, index, x)
        return out

    def backward(self, grad):
        return (grad[self.index],)


def _picks_each_once(index) -> bool:
    """Basic indexing (ints, slices, None, ...) selects each element at most once."""
    items = index if isinstance(index, tuple) else (index,)
    return all(
        type(item) in (int, slice) or item is None or item is Ellipsis for item in items
    )


def scatter_add(grad, index, shape):
    """zeros of `shape` with grad added at [index] (np.add.at: repeated positions sum)."""
    if _is_array(grad):
        return ScatterAdd().forward(np.asarray(grad), index, shape)
    from .engine import apply

    return apply(ScatterAdd, grad, index=index, shape=shape)


class Concatenate(Function):
    """Forward: out = [x₁ | x₂ | ...] joined along `axis`
    Local:    each input is a block of out
    Backward: grad_xₖ = the block of grad where xₖ sits
    """

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.bounds = np.cumsum([0] + [x.shape[axis] for x in xs])
        return np.concatenate(xs, axis=axis)

    def backward(self, grad):
        before = (slice(None),) * self.axis
        return tuple(grad[before + (slice(a, b),)] for a, b in zip(self.bounds, self.bounds[1:]))


class Stack(Function):
    """Forward: out = [x₁, x₂, ...] stacked along a new `axis`
    Local:    each input is one slice of out
    Backward: grad_xₖ = grad's k-th slice along `axis`
    """

    def forward(self, *xs, axis=0):
        self.axis = axis
        return np.stack(xs, axis=axis)

    def backward(self, grad):
        before = (slice(None),) * self.axis
        return tuple(grad[before + (k,)] for k in range(grad.shape[self.axis]))


# ---------------------------------------------------------------- matrix multiply


class MatMul(Function):
    """Forward: out = x @ y   (2-D on the C GEMM; 1-D and batched N-D as np.matmul)
    Local:    ∂out/∂x = yᵀ on the right, ∂out/∂y = xᵀ on the left
    Backward: grad_x = grad @ yᵀ, grad_y = xᵀ @ grad
              (2-D: transposes are read in place by the kernel, never copied;
               N-D: batch axes that were broadcast are summed back)
    """

    def forward(self, x, y):
        self.x, self.y = x, y
        if x.ndim == 2 and y.ndim == 2 and x.dtype == y.dtype and x.dtype.kind == "f":
            return matmul(x, y)
        return np.matmul(x, y)

    def backward(self, grad):
        x, y = self.x, self.y
        if x.ndim == 2 and y.ndim == 2 and grad.dtype == x.dtype == y.dtype:
            grad_x = matmul(grad, y, trans_b=True) if self.needs_input_grad[0] else None
            grad_y = matmul(x, grad, trans_a=True) if self.needs_input_grad[1] else None
            return grad_x, grad_y
        return _batched_matmul_backward(grad, x, y)


def _batched_matmul_backward(grad, x, y):
    """np.matmul's rules: a 1-D x is a row (1, k), a 1-D y a column (k, 1)."""
    if x.ndim == 1 and y.ndim == 1:  # a dot product: out = Σ xᵢyᵢ
        return grad * y, grad * x
    x2 = x.reshape((1,) + x.shape) if x.ndim == 1 else x
    y2 = y.reshape(y.shape + (1,)) if y.ndim == 1 else y
    grad2 = grad
    if x.ndim == 1:
        grad2 = grad2.reshape(grad2.shape[:-1] + (1,) + grad2.shape[-1:])
    if y.ndim == 1:
        grad2 = grad2.reshape(grad2.shape + (1,))
    grad_x = grad2 @ swap_last_axes(y2)
    grad_y = swap_last_axes(x2) @ grad2
    grad_x = sum_to_shape(grad_x, x2.shape).reshape(x.shape)
    grad_y = sum_to_shape(grad_y, y2.shape).reshape(y.shape)
    return grad_x, grad_y


class Linear(Function):
    """Forward: out = x @ Wᵀ + b   (one C GEMM, the bias folded in)   x (N, in), W (out, in), b (out,)
    Local:    ∂out/∂x = W, ∂out/∂W = x, ∂out/∂b = 1
    Backward: grad_x = grad @ W, grad_W = gradᵀ @ x, grad_b = Σ_rows grad
              (out = x @ Wᵀ: MatMul's backward with y = Wᵀ, transposed back for W)
    """

    def forward(self, x, weight, bias=None):
        self.x, self.weight, self.has_bias = contiguous(x), contiguous(weight), bias is not None
        return kernels.linear(self.x, self.weight, None if bias is None else contiguous(bias))

    def backward(self, grad):
        needs = self.needs_input_grad
        grad_x = matmul(grad, self.weight) if needs[0] else None
        grad_w = matmul(grad, self.x, trans_a=True) if needs[1] else None
        if not self.has_bias:
            return grad_x, grad_w
        grad_b = grad.sum(axis=0) if needs[2] else None
        return grad_x, grad_w, grad_b


class SoftmaxCrossEntropy(Function):
    """Forward: lossᵢ = logsumexp(zᵢ) - zᵢ,ₜᵢ  (logits z (N, C), class targets t (N,); fused C kernel)
    Local:    ∂lossᵢ/∂zᵢⱼ = softmax(zᵢ)ⱼ - [j = tᵢ]
    Backward: grad_z = g_lossᵢ · (softmax(zᵢ) - onehot(tᵢ)), g_loss = grad (÷ N for "mean")
    """

    def forward(self, logits, target, reduction="mean"):
        self.logits, self.target, self.reduction = logits, target, reduction
        losses, self.probs = kernels.softmax_cross_entropy(contiguous(logits), target)
        if reduction == "none":
            return losses
        total = losses.sum(dtype=losses.dtype)
        if reduction == "sum":
            return total
        with np.errstate(invalid="ignore"):  # the mean of an empty batch is 0/0 = nan, as PyTorch
            return total / losses.dtype.type(len(losses))

    def backward(self, grad):
        count = len(self.target)
        if self.reduction == "none":
            grad_loss = grad
        else:
            grad_loss = broadcast(grad / count if self.reduction == "mean" else grad, (count,))
        return (_softmax_cross_entropy_grad(self.logits, self.probs, self.target, grad_loss),)


def _softmax_cross_entropy_grad(logits, probs, target, grad_loss):
    """g_lossᵢ · (softmax(zᵢ) - onehot(tᵢ)): the fused C kernel on arrays (probs from forward)."""
    if isinstance(logits, np.ndarray) and isinstance(grad_loss, np.ndarray):
        # numpy 1.x promotes a 0-d float32 grad divided by an int to float64: cast it back
        grad_loss = contiguous(grad_loss.astype(probs.dtype, copy=False))
        return kernels.softmax_cross_entropy_backward(probs, target, grad_loss)
    onehot = np.zeros(probs.shape, probs.dtype)
    onehot[np.arange(len(target)), target] = 1
    return (logits.softmax(-1) - onehot) * grad_loss.reshape((-1, 1))
