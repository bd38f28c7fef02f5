"""The C core's public numpy-level face: numpy arrays in, numpy arrays out.

Each function checks its arguments (dtype, shape, `out`) with messages that
name the argument, then calls the compiled kernel in `_kernels.pyx`, which
releases the GIL around the C code in `csrc/`. Read csrc/gemm.c next.
"""

import numpy as np

from . import _kernels

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_float_array(array, name: str) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {array.dtype}")
    return array


def _check_out(out, shape: tuple, dtype: np.dtype) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype)
    _check_float_array(out, "out")
    if out.dtype != dtype:
        raise TypeError(f"out must have dtype {dtype}, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"out must have shape {shape}, got {out.shape}")
    return out


def matmul(a, b, out=None, trans_a: bool = False, trans_b: bool = False) -> np.ndarray:
    """out = op(a) @ op(b), op(x) = x.T if trans_x else x; 2-D float32/float64.

    The transposes are read in place by the kernel, never copied.
    """
    _check_float_array(a, "a")
    _check_float_array(b, "b")
    if a.dtype != b.dtype:
        raise TypeError(f"a and b must have the same dtype, got {a.dtype} and {b.dtype}")
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"a and b must be 2-D, got shapes {a.shape} and {b.shape}")
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    k_b, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != k_b:
        raise ValueError(f"matmul: inner dimensions differ: op(a) is {(m, k)}, op(b) is {(k_b, n)}")
    out = _check_out(out, (m, n), a.dtype)
    return _kernels.gemm(a, b, out, bool(trans_a), bool(trans_b))


def relu(x, out=None) -> np.ndarray:
    """out = max(x, 0), elementwise, any shape."""
    _check_float_array(x, "x")
    out = _check_out(out, x.shape, x.dtype)
    _kernels.relu(x, out)
    return out


def relu_backward(x, grad_out, out=None) -> np.ndarray:
    """out = grad_out where x > 0, else 0 (ReLU'(0) = 0)."""
    _check_float_array(x, "x")
    _check_float_array(grad_out, "grad_out")
    if grad_out.dtype != x.dtype:
        raise TypeError(f"x and grad_out must have the same dtype, got {x.dtype} and {grad_out.dtype}")
    if grad_out.shape != x.shape:
        raise ValueError(f"grad_out must have x's shape {x.shape}, got {grad_out.shape}")
    out = _check_out(out, x.shape, x.dtype)
    return _kernels.relu_backward(x, grad_out, out)


def set_num_threads(n: int) -> None:
    """Use n >= 1 threads in the C kernels."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: n must be an integer >= 1, got {n!r}")
    _kernels.set_num_threads(int(n))


def get_num_threads() -> int:
    """The C kernels' thread count."""
    return _kernels.get_num_threads()
