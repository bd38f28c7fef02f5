"""tinygrad_edu: a small, fast, readable reverse-mode autodiff library with a C core.

Start with engine.py (the graph and backward), then ops.py (each op's derivative),
then csrc/ (the C kernels) and nn/ (layers built from the ops).
"""

from . import autograd, data, datasets, diagnostics, features, kernels, nn, optim, viz
from .creation import arange, eye, full, ones, ones_like, rand, randn, zeros, zeros_like
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .kernels import get_num_threads, set_num_threads
from .random import manual_seed
from .serialization import load, save
from .tensor import (
    Tensor,
    cat,
    concatenate,
    float32,
    float64,
    int64,
    matmul,
    maximum,
    minimum,
    stack,
    where,
)

__version__ = "0.1.0"

__all__ = [
    "GradcheckError",
    "Tensor",
    "arange",
    "autograd",
    "cat",
    "concatenate",
    "data",
    "datasets",
    "diagnostics",
    "enable_grad",
    "eye",
    "features",
    "float32",
    "float64",
    "full",
    "get_num_threads",
    "gradcheck",
    "gradgradcheck",
    "int64",
    "is_grad_enabled",
    "kernels",
    "load",
    "manual_seed",
    "matmul",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "randn",
    "save",
    "set_num_threads",
    "stack",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]
