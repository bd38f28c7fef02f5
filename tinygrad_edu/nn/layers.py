"""The layers: Modules that hold parameters (Linear, BatchNorm1d/2d) or a mode
(Dropout), and the shape helpers (Identity, Flatten). Activations are in
activation.py, losses in loss.py, LayerNorm/GroupNorm in normalization.py,
Embedding in sparse.py.

Shapes, default initialisation and state_dict keys are PyTorch's, so a PyTorch
checkpoint loads here unchanged. Read functional.py for the math they call.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..tensor import Tensor, apply
from . import functional as F
from . import init
from .module import Module, Parameter

DEFAULT_DTYPE = np.float32


class Linear(Module):
    """y = x @ weightᵀ + bias, weight (out_features, in_features), bias (out_features,).

    Default init as PyTorch: weight ~ kaiming_uniform_(a=√5), i.e. U(-1/√in, 1/√in),
    and bias ~ U(-1/√in, 1/√in).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        dtype = dtype or DEFAULT_DTYPE
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None and self.in_features > 0:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class BatchNorm1d(Module):
    """Normalise each of the C channels of x (N, C) or (N, C, L) over the batch.

    Train mode: batch statistics (gradients flow through them), and the running
    statistics move toward them by `momentum` (momentum=None: a cumulative
    average over all batches seen). Eval mode: the running statistics.
    State: weight (γ, ones), bias (β, zeros), running_mean, running_var,
    num_batches_tracked, as PyTorch names them.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=None,
    ):
        super().__init__()
        dtype = dtype or DEFAULT_DTYPE
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)  # before counting the batch: a refused batch changes nothing
        use_batch_stats = self.training or self.running_mean is None
        factor = self._running_stats_factor()
        return F.batch_norm(
            x,
            self.running_mean,  # None when not tracking: then batch stats are used in eval too
            self.running_var,
            self.weight,
            self.bias,
            training=use_batch_stats,
            momentum=factor,
            eps=self.eps,
        )

    def _check_input(self, x: Tensor) -> None:
        F._check_tensor(x, "x")
        if x.ndim not in (2, 3):
            raise ValueError(
                f"BatchNorm1d: expected 2D (N, C) or 3D (N, C, L) input, got {x.shape}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d: expected {self.num_features} channels on axis 1, got x {x.shape}"
            )
        if self.training or self.running_mean is None:
            F._check_batch_size(x.shape)

    def _running_stats_factor(self) -> float:
        """How far running stats move toward this batch's: `momentum`, or 1/batches-seen
        (a cumulative average) when momentum is None. Counts the batch in train mode."""
        if not (self.training and self.track_running_stats):
            return 0.0
        self.num_batches_tracked.data += 1
        if self.momentum is None:
            return 1.0 / int(self.num_batches_tracked.data)
        return self.momentum

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm2d(BatchNorm1d):
    """BatchNorm1d's normalisation per channel of images x (N, C, H, W): statistics over
    N, H and W. The same parameters, buffers and keys (weight, bias, running_mean,
    running_var, num_batches_tracked)."""

    def _check_input(self, x: Tensor) -> None:
        F._check_tensor(x, "x")
        if x.ndim != 4:
            raise ValueError(f"BatchNorm2d: expected 4D (N, C, H, W) input, got {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm2d: expected {self.num_features} channels on axis 1, got x {x.shape}"
            )
        if self.training or self.running_mean is None:
            F._check_batch_size(x.shape)


class Dropout(Module):
    """Inverted dropout in train mode (see F.dropout; its gradient comes from the
    graph); the identity in eval mode."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = F._check_dropout_p(p)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Identity(Module):
    """Returns its input; takes (and ignores) any arguments, as PyTorch's."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Flattens axes start_dim..end_dim into one (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
