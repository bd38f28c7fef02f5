"""Layer and group normalisation: standardise each sample over some of its own axes.

Unlike batch norm (layers.py), no statistic crosses samples, so train and eval modes
agree and there are no running statistics. Both are compositions of core ops (mean,
sub, mul, sqrt, div), so the gradient flows through the mean and the variance too.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .checks import check_tensor
from .module import Module, Parameter

DEFAULT_DTYPE = np.float32


def _standardize(x: Tensor, axes: tuple, eps: float) -> Tensor:
    """(x - μ) / √(σ² + eps) with μ and the biased σ² (÷ n) taken over `axes`."""
    centered = x - x.mean(axis=axes, keepdims=True)
    var = (centered * centered).mean(axis=axes, keepdims=True)
    return centered / (var + eps).sqrt()


def _as_shape(normalized_shape) -> tuple:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(x: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Forward: out = γ · (x - μ) / √(σ² + eps) + β, μ and σ² (biased) over the trailing
              axes that `normalized_shape` names; γ = weight, β = bias of that shape
    Local:    ∂x̂ᵢ/∂xⱼ = (δᵢⱼ - 1/n - x̂ᵢ x̂ⱼ / n) / √(σ² + eps),  x̂ = the standardised x
    Backward: from the graph of core ops (mean, sub, mul, sqrt, div, add)
    """
    check_tensor(x, "input")
    shape = _as_shape(normalized_shape)
    if len(shape) == 0 or x.shape[x.ndim - len(shape) :] != shape or len(shape) > x.ndim:
        raise ValueError(
            f"layer_norm: input's trailing axes must be normalized_shape {shape}, got {x.shape}"
        )
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor is not None and tensor.shape != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {tensor.shape}")
    out = _standardize(x, tuple(range(x.ndim - len(shape), x.ndim)), eps)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def group_norm(x: Tensor, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Forward: the C channels of x (N, C, ...) split into num_groups groups; each sample's
              group standardised over its channels and positions, then γ_c · x̂ + β_c per channel
    Local:    as layer_norm's, within each (sample, group)
    Backward: from the graph of core ops (reshape, mean, sub, mul, sqrt, div, add)
    """
    check_tensor(x, "input")
    if x.ndim < 2:
        raise ValueError(f"group_norm: input must be (N, C, ...), got {x.shape}")
    batch, channels = x.shape[0], x.shape[1]
    if num_groups <= 0 or channels % num_groups != 0:
        raise ValueError(
            f"group_norm: num_groups ({num_groups}) must divide the channels ({channels})"
        )
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor is not None and tensor.shape != (channels,):
            raise ValueError(
                f"group_norm: {name} must have shape ({channels},), got {tensor.shape}"
            )
    group_size = channels // num_groups * math.prod(x.shape[2:])
    per_group = x.reshape(batch, num_groups, group_size)
    out = _standardize(per_group, (2,), eps).reshape(x.shape)
    channel_shape = (1, channels) + (1,) * (x.ndim - 2)  # broadcasts against x
    if weight is not None:
        out = out * weight.reshape(channel_shape)
    return out if bias is None else out + bias.reshape(channel_shape)


class LayerNorm(Module):
    """layer_norm over the trailing `normalized_shape` axes; weight (ones) and bias (zeros)
    of that shape when elementwise_affine (bias=False drops the bias), as PyTorch."""

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        dtype=None,
    ):
        super().__init__()
        dtype = dtype or DEFAULT_DTYPE
        self.normalized_shape, self.eps = _as_shape(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """group_norm with num_groups groups over num_channels; per-channel weight (ones) and
    bias (zeros) when affine, as PyTorch."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        *,
        dtype=None,
    ):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups != 0:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                f"num_groups ({num_groups})"
            )
        dtype = dtype or DEFAULT_DTYPE
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups,
            num_channels,
            eps,
            affine,
        )
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dtype))
            self.bias = Parameter(np.zeros(num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        check_tensor(x, "input")
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm: expected input (N, {self.num_channels}, ...), got {x.shape}"
            )
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
