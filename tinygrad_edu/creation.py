"""Creating tensors: tensor, zeros, ones, full, empty, rand, randn, randint, arange,
linspace, eye and the *_like forms.

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


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new Tensor holding a copy of `data` (torch.tensor): Tensor's dtype rules, so
    Python floats give float32 and integers int64 unless dtype= says otherwise."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def empty(*shape, dtype=float32, requires_grad: bool = False) -> Tensor:
    """A tensor whose values are whatever the memory held (np.empty): fill it before use."""
    return _make(np.empty(_shape_args(shape), dtype), requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(np.full(t.shape, fill_value, dtype or t.dtype), requires_grad)


def rand_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) of t's shape (and dtype, which must be a float one)."""
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of t's shape (and dtype, which must be a float one)."""
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from start to end, both included (float32 by default).

    Computed as PyTorch does, from both ends: start + i·step for the first half and
    end - (steps-1-i)·step for the rest, so the last value is exactly `end`.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    dtype = np.dtype(dtype or float32)
    compute = dtype if dtype.kind == "f" else np.dtype(np.float64)
    start_c, end_c = compute.type(start), compute.type(end)
    if steps == 1:
        values = np.array([start_c], compute)
    else:
        step = (end_c - start_c) / compute.type(steps - 1)
        index = np.arange(steps)
        halfway = steps // 2
        values = np.where(
            index < halfway,
            start_c + step * index.astype(compute),
            end_c - step * (steps - 1 - index).astype(compute),
        ).astype(compute)
    return _make(values.astype(dtype), requires_grad)


def randint(*args, size=None, dtype=np.int64, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high): randint(high, size) or
    randint(low, high, size), as torch.randint; int64 unless dtype= says otherwise."""
    if size is None and args:
        args, size = args[:-1], args[-1]
    if len(args) == 1:
        low, high = 0, args[0]
    elif len(args) == 2:
        low, high = args
    else:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    values = generator().integers(low, high, _shape_args(shape), dtype=np.int64)
    return _make(values.astype(dtype), requires_grad)



def multinomial(input: Tensor, num_samples: int, replacement: bool = False) -> Tensor:
    """Category indices drawn with probability proportional to each row of `input`
    (torch.multinomial); see Tensor.multinomial."""
    if not isinstance(input, Tensor):
        raise TypeError("multinomial: input must be a float Tensor of weights")
    return input.multinomial(num_samples, replacement)
