"""The convolution and pooling ops: im2col and col2im, max and average pooling.

A convolution is built from these in nn/conv.py: im2col -> one matrix multiply ->
reshape. Each op here is linear or a selection, so each gradient is another op of
this file: im2col's is col2im (its transpose), max pooling's a scatter by the argmax
indices (whose own gradient is a gather by the same indices). Read docs/convolution.md.

Each backward calls a module-level function (im2col, col2im, ...) that runs the C kernel
on arrays and records the matching op on Tensors, so gradients of gradients work.
"""

import numpy as np

from . import kernels
from .function import Function

# `window` holds im2col's keywords: {"kernel_size": (kh, kw), "stride": (sh, sw),
# "padding": ((top, bottom), (left, right)), "dilation": (dh, dw)}; `pool` holds the
# keywords of kernels.max_pool2d or kernels.avg_pool2d.



def _contiguous(x: np.ndarray) -> np.ndarray:
    """The C kernels take C-contiguous arrays (a transposed gradient view is copied once)."""
    return x if x.flags.c_contiguous else np.ascontiguousarray(x)


def _on_graph(value) -> bool:
    """False for arrays (the fast path: run the kernel); True for a Tensor (record the op)."""
    return not isinstance(value, (np.ndarray, np.generic))


def _record(op: type, value, **params):
    """apply(op, value, **params): the op as a node of the graph (under create_graph)."""
    from .tensor import apply  # tensor.py imports the ops; this runs only after both loaded

    return apply(op, value, **params)


# ---------------------------------------------------------------- im2col and col2im


class Im2Col(Function):
    """Forward: cols[(c,i,j), (n,oh,ow)] = x[n, c, oh·sh - ph + i·dh, ow·sw - pw + j·dw]   (0 in the padding)
              x (N, C, H, W) -> cols (C·KH·KW, N·OH·OW)   (C kernel: csrc/conv.c)
    Local:    each entry of cols is a copy of one entry of x (or the constant 0): ∂cols/∂x is 0/1
    Backward: grad_x = col2im(grad): every copy's gradient added back where it was read.
              The gradient of im2col is col2im, its transpose.
    """

    def forward(self, x, window):
        self.x_shape, self.window = x.shape, window
        return im2col(x, window)

    def backward(self, grad):
        return (col2im(grad, self.x_shape, self.window),)


class Col2Im(Function):
    """Forward: x[n, c, h, w] = Σ of the entries of cols that im2col reads from (h, w)
              cols (C·KH·KW, N·OH·OW) -> x (N, C, H, W)   (C kernel: csrc/conv.c)
    Local:    the transpose of im2col's 0/1 matrix
    Backward: grad_cols = im2col(grad). The gradient of col2im is im2col, its transpose
              (the transpose of a transpose is the map itself).
    """

    def forward(self, cols, x_shape, window):
        self.window = window
        return col2im(cols, x_shape, window)

    def backward(self, grad):
        return (im2col(grad, self.window),)


def im2col(x, window):
    """The receptive fields of x as columns (the forward of Im2Col, the gradient of Col2Im)."""
    if _on_graph(x):
        return _record(Im2Col, x, window=window)
    return kernels.im2col(_contiguous(x), **window)


def col2im(cols, x_shape, window):
    """im2col's transpose (the forward of Col2Im, the gradient of Im2Col)."""
    if _on_graph(cols):
        return _record(Col2Im, cols, x_shape=x_shape, window=window)
    return kernels.col2im(_contiguous(cols), x_shape, **window)


# ---------------------------------------------------------------- the whole convolution


class Conv2d(Function):
    """Forward: out[n] = W₂ @ im2col(x)[n] + b, W₂ = W as (OC, C·KH·KW)   (groups = 1)
              x (N, C, H, W), W (OC, C, KH, KW), b (OC,) -> out (N, OC, OH, OW)
              (C kernel, csrc/conv.c: image by image, so each image's columns stay in cache)
    Local:    linear in W (∂out/∂W₂ = cols) and in x (∂out/∂cols = W₂), ∂out/∂b = 1
    Backward: grad_W₂ = Σ_n grad[n] @ cols_nᵀ,  grad_x = col2im(W₂ᵀ @ grad),  grad_b = Σ_{n,oh,ow} grad
              The same three lines as im2col -> MatMul -> reshape would give, in one kernel;
              under create_graph they are recorded as those ops (Im2Col, MatMul, Col2Im).
    """

    def forward(self, x, weight, bias=None, *, window):
        self.x, self.weight, self.window = _contiguous(x), _contiguous(weight), window
        conv = {key: window[key] for key in ("stride", "padding", "dilation")}
        bias = None if bias is None else _contiguous(bias)
        return kernels.conv2d(self.x, self.weight, bias, **conv)

    def backward(self, grad):
        wants_x, wants_weight = self.needs_input_grad[:2]
        wants_bias = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        if _on_graph(grad):  # create_graph: the same derivative, as ops that can be differentiated
            grad_x, grad_weight = self._backward_as_ops(grad, wants_x, wants_weight)
        else:
            conv = {key: self.window[key] for key in ("stride", "padding", "dilation")}
            grad = _contiguous(grad.astype(self.x.dtype, copy=False))
            grad_x, grad_weight = kernels.conv2d_backward(
                self.x, self.weight, grad, **conv, input_grad=wants_x, weight_grad=wants_weight)
        grad_bias = grad.sum(axis=(0, 2, 3)) if wants_bias else None
        return (grad_x, grad_weight, grad_bias)[: len(self.needs_input_grad)]

    def _backward_as_ops(self, grad, wants_x, wants_weight) -> tuple:
        """grad_W₂ = grad₂ @ colsᵀ and grad_x = col2im(W₂ᵀ @ grad₂), grad₂ = grad as (OC, N·OH·OW)."""
        out_channels = self.weight.shape[0]
        grad_2d = grad.permute(1, 0, 2, 3).reshape(out_channels, -1)
        weight_2d = self.weight.reshape(out_channels, -1)
        grad_x = grad_weight = None
        if wants_weight:
            grad_weight = (grad_2d @ im2col(self.x, self.window).T).reshape(self.weight.shape)
        if wants_x:
            grad_x = col2im(weight_2d.T @ grad_2d, self.x.shape, self.window)
        return grad_x, grad_weight


# ---------------------------------------------------------------- max pooling


class MaxPool2d(Function):
    """Forward: out[n,c,oh,ow] = max of x[n, c] over window (oh, ow); indices = where it is
              x (N, C, H, W) -> out (N, C, OH, OW)   (C kernel: csrc/pool.c)
    Local:    ∂out/∂x = 1 at the one element the window's argmax names, 0 elsewhere
              (ties: the first maximum, as PyTorch)
    Backward: grad_x = max_pool2d_scatter(grad): grad_x[n, c, indices[n,c,oh,ow]] += grad[n,c,oh,ow]
    """

    def forward(self, x, pool):
        self.x_shape = x.shape
        out, self.indices = kernels.max_pool2d(_contiguous(x), **pool)
        return out

    def backward(self, grad):
        return (max_pool2d_scatter(grad, self.indices, self.x_shape),)


class MaxPool2dScatter(Function):
    """Forward: x[n, c, indices[n,c,k]] += g[n, c, k]   g (N, C, OH, OW) -> x (N, C, H, W)
              (max pooling's backward, as an op, so that it can be differentiated again)
    Local:    ∂x[n,c,p]/∂g[n,c,k] = [indices[n,c,k] = p]
    Backward: grad_g = gather(grad, indices): grad_g[n,c,k] = grad[n, c, indices[n,c,k]]
    """

    def forward(self, grad_out, indices, x_shape):
        self.indices = indices
        return max_pool2d_scatter(grad_out, indices, x_shape)

    def backward(self, grad):
        return (gather_by_indices(grad, self.indices),)


class MaxPool2dGather(Function):
    """Forward: g[n, c, k] = x[n, c, indices[n,c,k]]   x (N, C, H, W) -> g (N, C, OH, OW)
              (the scatter's gradient, as an op; 0 where an index is -1)
    Local:    ∂g[n,c,k]/∂x[n,c,p] = [indices[n,c,k] = p]
    Backward: grad_x = max_pool2d_scatter(grad): the transpose of a gather is a scatter
    """

    def forward(self, x, indices):
        self.indices, self.x_shape = indices, x.shape
        return gather_by_indices(x, indices)

    def backward(self, grad):
        return (max_pool2d_scatter(grad, self.indices, self.x_shape),)


def max_pool2d_scatter(grad_out, indices, x_shape):
    """grad_x[n, c, indices[n,c,k]] += grad_out[n, c, k] (C kernel)."""
    if _on_graph(grad_out):
        return _record(MaxPool2dScatter, grad_out, indices=indices, x_shape=x_shape)
    return kernels.max_pool2d_backward(_contiguous(grad_out), indices, x_shape)


def gather_by_indices(x, indices):
    """out[n, c, k] = x[n, c, indices[n,c,k]] (0 where an index is -1: a window of padding only),
    the transpose of max_pool2d_scatter."""
    if _on_graph(x):
        return _record(MaxPool2dGather, x, indices=indices)
    batch, channels = indices.shape[:2]
    planes = x.reshape(batch, channels, -1)
    flat = indices.reshape(batch, channels, -1)
    picked = np.take_along_axis(planes, np.maximum(flat, 0), axis=2)
    return np.where(flat >= 0, picked, 0).astype(x.dtype, copy=False).reshape(indices.shape)


# ---------------------------------------------------------------- average pooling


class AvgPool2d(Function):
    """Forward: out[n,c,oh,ow] = Σ of x[n, c] over window (oh, ow) / divisor
              x (N, C, H, W) -> out (N, C, OH, OW)   (C kernel: csrc/pool.c)
    Local:    ∂out/∂x = 1/divisor for each element of the window, 0 elsewhere
    Backward: grad_x = avg_pool2d_spread(grad): each window's grad / divisor added to its elements
    """

    def forward(self, x, pool):
        self.x_shape, self.pool = x.shape, pool
        return avg_pool2d(x, pool)

    def backward(self, grad):
        return (avg_pool2d_spread(grad, self.x_shape, self.pool),)


class AvgPool2dSpread(Function):
    """Forward: x[n,c,h,w] = Σ over the windows holding (h, w) of g[n,c,oh,ow] / divisor
              g (N, C, OH, OW) -> x (N, C, H, W)   (average pooling's backward, as an op)
    Local:    the transpose of average pooling's matrix
    Backward: grad_g = avg_pool2d(grad): the transpose of the transpose is the pooling itself
    """

    def forward(self, grad_out, x_shape, pool):
        self.pool = pool
        return avg_pool2d_spread(grad_out, x_shape, pool)

    def backward(self, grad):
        return (avg_pool2d(grad, self.pool),)


def avg_pool2d(x, pool):
    """Average pooling with the keywords in `pool` (C kernel)."""
    if _on_graph(x):
        return _record(AvgPool2d, x, pool=pool)
    return kernels.avg_pool2d(_contiguous(x), **pool)


def avg_pool2d_spread(grad_out, x_shape, pool):
    """Average pooling's transpose: each window's value / divisor added to its elements (C kernel)."""
    if _on_graph(grad_out):
        return _record(AvgPool2dSpread, grad_out, x_shape=x_shape, pool=pool)
    return kernels.avg_pool2d_backward(_contiguous(grad_out), x_shape, **pool)
