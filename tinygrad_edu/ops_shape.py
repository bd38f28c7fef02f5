"""Shape ops with their own derivative: flip, repeat, and the triangles tril/triu.

Same contract as ops.py (read function.py first). Each moves or masks elements
without arithmetic, so each backward moves the gradient back: flip it again, sum
the copies, or mask it the same way. gather, split, chunk and masked_fill are
compositions of GetItem and Where (see tensor.py).
"""

import numpy as np

from .function import Function, where


class Flip(Function):
    """Forward: out = x reversed along each axis in `dims`   (a copy, as PyTorch)
    Local:    out[..., i, ...] = x[..., n-1-i, ...]: a permutation of the elements
    Backward: grad_x = grad reversed along the same axes (a reversal is its own inverse)
    """

    def forward(self, x, dims):
        reversed_axis, whole_axis = slice(None, None, -1), slice(None)
        self.reverse = tuple(reversed_axis if a in dims else whole_axis for a in range(x.ndim))
        return x[self.reverse].copy()

    def backward(self, grad):
        return (grad[self.reverse],)


class Repeat(Function):
    """Forward: out = x tiled rₖ = sizes[k] times along axis k: (d₀, ...) -> (r₀d₀, ...)
              (x first gets leading axes of size 1 up to len(sizes) axes, as PyTorch)
    Local:    each element of x is copied to r₀·r₁·... positions of out
    Backward: grad_x = the sum of grad over the copies: grad viewed as
              (r₀, d₀, r₁, d₁, ...), summed over the r axes
    """

    def forward(self, x, sizes):
        self.x_shape = x.shape
        self.padded = (1,) * (len(sizes) - x.ndim) + x.shape
        self.sizes = sizes
        return np.tile(x.reshape(self.padded), sizes)

    def backward(self, grad):
        # out's axis k holds r_k blocks of d_k: split it in two axes, then sum the blocks away
        interleaved = tuple(n for pair in zip(self.sizes, self.padded) for n in pair)
        copies_axes = tuple(range(0, 2 * len(self.sizes), 2))
        return (grad.reshape(interleaved).sum(axis=copies_axes).reshape(self.x_shape),)


class Tril(Function):
    """Forward: out[..., i, j] = x[..., i, j] where j - i ≤ diagonal, else 0   (last two axes)
    Local:    ∂out/∂x = 1 inside the triangle, 0 outside
    Backward: grad_x = grad inside the triangle, 0 outside
    """

    @staticmethod
    def triangle(rows: int, cols: int, diagonal: int) -> np.ndarray:
        return np.tril(np.ones((rows, cols), bool), diagonal)

    def forward(self, x, diagonal=0):
        self.inside = self.triangle(x.shape[-2], x.shape[-1], diagonal)
        return np.where(self.inside, x, np.zeros((), x.dtype))

    def backward(self, grad):
        return (where(self.inside, grad, np.zeros((), grad.dtype)),)


class Triu(Tril):
    """Forward: out[..., i, j] = x[..., i, j] where j - i ≥ diagonal, else 0   (last two axes)
    Local:    ∂out/∂x = 1 inside the triangle, 0 outside
    Backward: grad_x = grad inside the triangle, 0 outside
    """

    @staticmethod
    def triangle(rows: int, cols: int, diagonal: int) -> np.ndarray:
        return np.triu(np.ones((rows, cols), bool), diagonal)
