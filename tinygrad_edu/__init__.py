"""tinygrad_edu: a small, fast, readable reverse-mode autodiff library with a C core.

Start with engine.py (the graph and backward), then ops.py (each op's derivative),
then csrc/ (the C kernels) and nn/ (layers built from the ops).
"""

from . import autograd, data, datasets, diagnostics, features, kernels, nn, optim, viz

# `tensor` is torch.tensor's spelling: once imported, the attribute `tinygrad_edu.tensor`
# is this function, not the module tensor.py (PyTorch avoids the clash by naming its
# module torch/_tensor.py). `from .tensor import ...` is unaffected (it reads sys.modules);
# to reach the module object itself use importlib.import_module("tinygrad_edu.tensor").
from .creation import (
    arange,
    empty,
    eye,
    full,
    full_like,
    linspace,
    multinomial,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
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

# PyTorch's dtype aliases.
long = int64
float = float32  # shadows the builtin in this module's namespace only, as torch.float
double = float64

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
    "double",
    "empty",
    "enable_grad",
    "eye",
    "features",
    "float",
    "float32",
    "float64",
    "full",
    "full_like",
    "get_num_threads",
    "gradcheck",
    "gradgradcheck",
    "int64",
    "is_grad_enabled",
    "kernels",
    "linspace",
    "load",
    "long",
    "manual_seed",
    "matmul",
    "maximum",
    "minimum",
    "multinomial",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "save",
    "set_num_threads",
    "stack",
    "tensor",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]
