"""The C core's public numpy-level face: numpy arrays in, numpy arrays out.

The kernels are the compiled functions of _kernels.pyx themselves, not Python
wrappers: ops.py calls them once per op, and a wrapper would double the cost of
a small call. Each checks every argument and raises TypeError/ValueError naming
it (both shapes for shape errors); each formula is in its docstring and above
its C code in csrc/. Read csrc/gemm.c next.
"""

import ctypes
import os

import numpy as np

# The most threads set_num_threads (or OMP_NUM_THREADS) may ask for. A call uses at
# most min(this count, the machine's cores, what its work is worth): asking libgomp
# for thousands of threads made it exit the process when the system refused them.
MAX_THREADS = 1024


def _load_kernels_with_sleeping_openmp_threads():
    """Import _kernels so that its OpenMP threads sleep, not spin, while idle.

    OpenMP's default lets idle threads spin for a while. When another process
    holds the second core (a shared or virtual machine), that was measured to
    turn 0.3 ms two-thread GEMMs into 8 ms ones, every call; sleeping threads
    (OMP_WAIT_POLICY=PASSIVE) cost a wake-up per parallel call but never stall.
    libgomp reads the variable once, while _kernels (which links it) loads, and
    has no call to change it later. So for that moment only, the C `environ`
    pointer is aimed at a private copy of the environment plus that one entry:
    os.environ and the process's own environment are never written (no setenv,
    which is unsafe while other threads read the environment), and a value the
    user chose is left alone. Where libc's `environ` cannot be reached (not
    glibc or musl), the import is plain and OpenMP keeps its default.
    """
    environ = _c_environ()
    if "OMP_WAIT_POLICY" in os.environ or environ is None:
        from . import _kernels

        return _kernels
    user_environment = environ.value
    entries = ctypes.cast(user_environment, ctypes.POINTER(ctypes.c_void_p))
    count = 0
    while entries[count]:
        count += 1
    passive = ctypes.create_string_buffer(b"OMP_WAIT_POLICY=PASSIVE")
    private = (ctypes.c_void_p * (count + 2))(*entries[:count], ctypes.addressof(passive), None)
    environ.value = ctypes.addressof(private)
    try:
        from . import _kernels
    finally:
        environ.value = user_environment
    return _kernels


def _c_environ():
    """libc's `char **environ` as a ctypes pointer, or None where it is not exported."""
    try:
        return ctypes.c_void_p.in_dll(ctypes.CDLL(None), "environ")
    except (OSError, ValueError, AttributeError):
        return None


_kernels = _load_kernels_with_sleeping_openmp_threads()

# (imported after the OpenMP runtime is configured, above)
from ._kernels import (
    available_kernels,
    axpy,
    column_sum,
    get_kernel,
    have_openmp,
    kernel_environment_problem,
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
    "kernel_environment_problem",
    "linear",
    "matmul",
    "relu",
    "relu_backward",
    "set_kernel",
    "set_num_threads",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
]


def _cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. under taskset or a container)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


CORES = _cores()


def _checked_count(n, name: str) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, (bool, np.bool_)) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
    if n > MAX_THREADS:
        raise ValueError(
            f"{name} must be at most {MAX_THREADS} (tinygrad_edu.kernels.MAX_THREADS; this "
            f"machine has {CORES} cores), got {n!r}"
        )
    return int(n)


def _default_count() -> int:
    """OMP_NUM_THREADS's count (its first entry, "4,2" means 4) if set, else the cores."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if not value:
        return CORES
    first = value.split(",")[0].strip()
    count = int(first) if first.lstrip("+-").isdigit() else first
    return _checked_count(count, f"OMP_NUM_THREADS={value!r}: the thread count")


class _Threads:
    """The count the user asked for; C gets it capped at the cores (more only time-share)."""

    requested = 1
    forked_child = False  # True in a process forked from this one: kernels stay serial

    @classmethod
    def use(cls, count: int) -> None:
        cls.requested = count
        _kernels.set_num_threads(min(count, CORES))


def set_num_threads(n: int) -> None:
    """Let each kernel call use up to n threads, 1 <= n <= MAX_THREADS (results do not depend on n).

    A call starts no more threads than the machine has cores, nor than its work is
    worth. In a child forked from this process OpenMP cannot run (libgomp's threads
    did not survive the fork), so there the kernels stay on one thread and n > 1
    raises RuntimeError.
    """
    count = _checked_count(n, "set_num_threads: n")
    if _Threads.forked_child and count > 1:
        raise RuntimeError(
            f"set_num_threads({count}): this process was forked from one that may have run "
            f"OpenMP threads, which do not survive a fork, so its kernels run on one thread. "
            f"For threaded workers start them with multiprocessing's 'spawn' or 'forkserver'."
        )
    _Threads.use(count)


def get_num_threads() -> int:
    """The C kernels' thread count: set_num_threads's n, by default OMP_NUM_THREADS or the cores."""
    return _Threads.requested if have_openmp() else 1


def _run_serially_after_fork() -> None:
    """In a forked child: never enter an OpenMP parallel region (libgomp is not fork-safe)."""
    _Threads.forked_child = True
    _Threads.use(1)


_Threads.use(_default_count())
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_run_serially_after_fork)


# The caches the GEMM's block sizes come from, and the rule (csrc/cache.c, docs/gemm.md).
from ._kernels import blocking_rule, cache_sizes, gemm_blocking  # noqa: E402

__all__ += ["blocking_rule", "cache_sizes", "gemm_blocking"]

# ---- convolution and pooling (csrc/conv.c, csrc/pool.c): im2col turns a convolution into
# one GEMM and col2im, its transpose, is its gradient; read docs/convolution.md.
from ._kernels import (  # noqa: E402
    avg_pool2d,
    avg_pool2d_backward,
    col2im,
    conv2d,
    conv2d_backward,
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
    "conv2d",
    "conv2d_backward",
    "conv_output_size",
    "im2col",
    "max_pool2d",
    "max_pool2d_backward",
    "pool_output_size",
]
