"""The C core's public numpy-level face: numpy arrays in, numpy arrays out.

The kernels are the compiled functions of _kernels.pyx themselves, not Python
wrappers: ops.py calls them once per op, and a wrapper would double the cost of
a small call. Each checks every argument and raises TypeError/ValueError naming
it (both shapes for shape errors); each formula is in its docstring and above
its C code in csrc/. Read csrc/gemm.c next.
"""

import os

import numpy as np


def _load_kernels_with_sleeping_openmp_threads():
    """Import _kernels so that its OpenMP threads sleep, not spin, while idle.

    OpenMP's default lets idle threads spin for a while. When another process
    holds the second core (a shared or virtual machine), that was measured to
    turn 0.3 ms two-thread GEMMs into 8 ms ones, every call; sleeping threads
    (OMP_WAIT_POLICY=PASSIVE) cost a wake-up per parallel call but never stall.
    The OpenMP runtime reads the variable once, as _kernels loads it; it is set
    only for that moment, and never over a value the user chose.
    """
    chosen_by_user = "OMP_WAIT_POLICY" in os.environ
    if not chosen_by_user:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        from . import _kernels
    finally:
        if not chosen_by_user:
            del os.environ["OMP_WAIT_POLICY"]
    return _kernels


_kernels = _load_kernels_with_sleeping_openmp_threads()

# (imported after the OpenMP runtime is configured, above)
from ._kernels import (
    available_kernels,
    axpy,
    column_sum,
    get_kernel,
    have_openmp,
    linear,
    matmul,
    relu,
    relu_backward,
    set_kernel,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
)

__all__ = [
    "available_kernels",
    "axpy",
    "column_sum",
    "get_kernel",
    "get_num_threads",
    "have_openmp",
    "linear",
    "matmul",
    "relu",
    "relu_backward",
    "set_kernel",
    "set_num_threads",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
]


def set_num_threads(n: int) -> None:
    """Use n >= 1 threads in the C kernels (results do not depend on n)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: n must be an integer >= 1, got {n!r}")
    _kernels.set_num_threads(int(n))


def get_num_threads() -> int:
    """The C kernels' thread count (default: OpenMP's, i.e. the cores or OMP_NUM_THREADS)."""
    return _kernels.get_num_threads()


# ---- convolution and pooling (csrc/conv.c, csrc/pool.c): im2col turns a convolution into
# one GEMM and col2im, its transpose, is its gradient; read docs/convolution.md.
from ._kernels import (  # noqa: E402
    avg_pool2d,
    avg_pool2d_backward,
    col2im,
    conv_output_size,
    im2col,
    max_pool2d,
    max_pool2d_backward,
    pool_output_size,
)

__all__ += [
    "avg_pool2d",
    "avg_pool2d_backward",
    "col2im",
    "conv_output_size",
    "im2col",
    "max_pool2d",
    "max_pool2d_backward",
    "pool_output_size",
]
