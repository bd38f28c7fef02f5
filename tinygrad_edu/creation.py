"""Creating tensors: zeros, ones, full, rand, randn, arange, eye and the *_like forms.

Each takes `dtype=` (default float32) and `requires_grad=`; random ones draw from
the generator that `tg.manual_seed` seeds (random.py).
"""

import numpy as np

from .random import generator
from .tensor import Tensor, _shape_args, float32


def _make(array: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor._wrap(array).requires_grad_(requires_grad)


def _draw(sampler, shape, dtype) -> np.ndarray:
    """Sample directly in float32/float64: casting float64 draws to float32 could round
    a uniform sample up to 1.0, outside [0, 1)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"random tensors are floating point, got dtype={dtype}")
    return sampler(_shape_args(shape), dtype=dtype)


def zeros(*shape, dtype=float32, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(_shape_args(shape), dtype), requires_grad)


def ones(*shape, dtype=float32, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_shape_args(shape), dtype), requires_grad)


def full(shape, value, dtype=float32, requires_grad: bool = False) -> Tensor:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _make(np.full(_shape_args(shape), value, dtype), requires_grad)


def rand(*shape, dtype=float32, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    return _make(_draw(generator().random, shape, dtype), requires_grad)


def randn(*shape, dtype=float32, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    return _make(_draw(generator().standard_normal, shape, dtype), requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """start, start + step, ... below stop. Without dtype, as PyTorch: int64 when
    start, stop and step are all integers (so the result can index), else float32."""
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        dtype = np.int64 if integral else float32
    return _make(np.arange(start, stop, step).astype(dtype), requires_grad)


def eye(n: int, m=None, dtype=float32, requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m defaults to n)."""
    return _make(np.eye(n, m, dtype=dtype), requires_grad)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(t.shape, dtype or t.dtype), requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(t.shape, dtype or t.dtype), requires_grad)
