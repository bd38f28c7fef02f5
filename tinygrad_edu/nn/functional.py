"""nn.functional: the layers and losses as plain functions of Tensors (PyTorch's `F`).

This file holds linear, dropout and batch_norm, and gathers the rest from the file of
each idea: activation.py, loss.py, normalization.py, sparse.py, padding.py and
attention.py. Read layers.py next for the Modules that wrap them.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import ops
from ..random import generator
from ..tensor import Tensor, apply
from .activation import (
    celu,
    elu,
    erf,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    tanh,
)
from .attention import scaled_dot_product_attention
from .checks import check_batch_size as _check_batch_size  # also F._check_batch_size for layers.py
from .checks import check_tensor as _check_tensor  # also F._check_tensor for layers.py
from .conv import adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d, max_pool2d  # noqa: F401
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from .normalization import group_norm, layer_norm
from .padding import pad
from .sparse import embedding, one_hot

__all__ = [
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "cross_entropy",
    "dropout",
    "elu",
    "embedding",
    "erf",
    "gelu",
    "group_norm",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "huber_loss",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsigmoid",
    "mish",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "pad",
    "relu",
    "relu6",
    "scaled_dot_product_attention",
    "selu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "softsign",
    "tanh",
]


# ---------------------------------------------------------------- layers


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ Wᵀ + b, x (..., in), W (out, in), b (out,) -> (..., out): ops.Linear (its
    Forward/Local/Backward stand there), one C GEMM with the bias folded in; leading
    axes of x are flattened into rows and restored afterwards.
    """
    _check_tensor(x, "x")
    _check_tensor(weight, "weight")
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: x's last axis must match weight's (out, in) shape, "
            f"got x {x.shape} and weight {weight.shape}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(
            f"linear: bias must have shape ({weight.shape[0]},), got bias {bias.shape} "
            f"for weight {weight.shape}"
        )
    rows = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
    inputs = (rows, weight) if bias is None else (rows, weight, bias)
    out = apply(ops.Linear, *inputs)
    return out if x.ndim == 2 else out.reshape(*x.shape[:-1], weight.shape[0])


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Forward: out = x · m / (1-p), m ~ Bernoulli(1-p) per element (inverted dropout)
    Local:    ∂out/∂x = m / (1-p)
    Backward: grad_x = grad · m / (1-p), from the graph: out is one core Mul node

    The 1/(1-p) keeps the expected activation unchanged, so eval mode
    (training=False) is the identity. p = 1 gives zeros (never 0/0 = NaN).
    """
    _check_dropout_p(p)
    _check_tensor(x, "x")
    if not training or p == 0.0:
        return x
    keep = generator().random(x.shape, dtype=np.float32) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return x * Tensor(keep * np.asarray(scale, dtype=x.dtype))


def _check_dropout_p(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p has to be between 0 and 1, got {p!r}")
    return p


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Forward: out = γ · (x - μ) / √(σ² + eps) + β, per channel (axis 1) of x (N, C, ...)
    Local:    training: μ and σ² are the batch's mean and biased variance, functions of x
              eval: μ and σ² are running_mean and running_var, constants
    Backward: from the graph of core ops (mean, sub, mul, add, sqrt, div), so in
              training the gradient also flows through μ and σ² as it must

    In training, running_mean/running_var (if given) are updated in place:
    r ← (1 - momentum)·r + momentum·stat, with the unbiased variance (÷ n-1).
    γ = weight and β = bias are optional.
    """
    _check_tensor(x, "x")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: x must have shape (N, C, ...), got {x.shape}")
    channels = x.shape[1]
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var),
                         ("weight", weight), ("bias", bias)):  # fmt: skip
        if tensor is not None and tensor.shape != (channels,):
            raise ValueError(
                f"batch_norm: {name} must have shape ({channels},) for x {x.shape}, "
                f"got {tensor.shape}"
            )
    axes = (0,) + tuple(range(2, x.ndim))  # every axis but the channel axis
    channel_shape = (1, channels) + (1,) * (x.ndim - 2)  # broadcasts against x
    if training:
        _check_batch_size(x.shape)
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)  # biased: ÷ n
        _update_running_stats(running_mean, running_var, mean, var, x.numel() // channels, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "batch_norm: running_mean and running_var are needed when training=False"
            )
        centered = x - Tensor(running_mean.data.reshape(channel_shape), dtype=x.dtype)
        var = Tensor(running_var.data.reshape(channel_shape), dtype=x.dtype)
    out = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(channel_shape)
    if bias is not None:
        out = out + bias.reshape(channel_shape)
    return out


def _update_running_stats(running_mean, running_var, mean, var, count, momentum) -> None:
    """r ← (1 - momentum)·r + momentum·batch_stat, in place, outside the graph.

    The running variance takes the unbiased batch variance (× count/(count-1)),
    as PyTorch does, while normalisation itself uses the biased one.
    """
    if running_mean is not None:
        batch_mean = mean.data.reshape(-1)
        running_mean.data[...] = (1 - momentum) * running_mean.data + momentum * batch_mean
    if running_var is not None:
        unbiased_var = var.data.reshape(-1) * (count / (count - 1))
        running_var.data[...] = (1 - momentum) * running_var.data + momentum * unbiased_var
