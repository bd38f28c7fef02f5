"""nn.functional: the layers and losses as plain functions of Tensors.

Most are short compositions of core Tensor ops, so their gradients come from the
graph; `linear` and `cross_entropy` call fused C-backed ops (ops.Linear,
ops.SoftmaxCrossEntropy). Read layers.py next for the Modules that wrap them.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import ops
from ..creation import zeros_like
from ..random import generator
from ..tensor import Tensor, apply, stack

REDUCTIONS = ("mean", "sum", "none")


def _check_tensor(value, name: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a Tensor, got {type(value).__name__}")
    return value


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _pick_axis(axis: int, dim: int | None) -> int:
    """PyTorch spells `axis` as `dim`; accept either."""
    return axis if dim is None else dim


# ---------------------------------------------------------------- layers


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Forward: out = x @ Wᵀ + b   x (..., in), W (out, in), b (out,) -> out (..., out)
    Local:    ∂out/∂x = W, ∂out/∂W = x, ∂out/∂b = 1
    Backward: grad_x = grad @ W, grad_W = gradᵀ @ x, grad_b = Σ_rows grad   (ops.Linear)

    One C GEMM with the bias folded in; leading axes of x are flattened into
    rows and restored afterwards.
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


def relu(x: Tensor) -> Tensor:
    """Forward: out = max(x, 0)   (the C ReLU kernel)
    Local:    ∂out/∂x = 1 where x > 0, else 0   (0 at the kink, as PyTorch)
    Backward: grad_x = grad where x > 0, else 0
    """
    return x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """Forward: out = x where x > 0, else negative_slope · x
    Local:    ∂out/∂x = 1 where x > 0, else negative_slope
    Backward: grad_x = grad · ∂out/∂x
    """
    return x.leaky_relu(negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    """Forward: out = σ(x) = 1 / (1 + e⁻ˣ)
    Local:    ∂out/∂x = σ(x)(1 - σ(x))
    Backward: grad_x = grad · out · (1 - out)
    """
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    """Forward: out = tanh(x)
    Local:    ∂out/∂x = 1 - tanh²(x)
    Backward: grad_x = grad · (1 - out²)
    """
    return x.tanh()


def softmax(x: Tensor, axis: int = -1, dim: int | None = None) -> Tensor:
    """Forward: outᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along `axis` (after subtracting the max: stable)
    Local:    ∂outᵢ/∂xⱼ = outᵢ(δᵢⱼ - outⱼ)
    Backward: grad_x = out · (grad - Σⱼ gradⱼ outⱼ)
    """
    return x.softmax(_pick_axis(axis, dim))


def log_softmax(x: Tensor, axis: int = -1, dim: int | None = None) -> Tensor:
    """Forward: outᵢ = xᵢ - logsumexp(x) along `axis` (stable; better than softmax(x).log())
    Local:    ∂outᵢ/∂xⱼ = δᵢⱼ - softmax(x)ⱼ
    Backward: grad_x = grad - softmax(x) · Σⱼ gradⱼ
    """
    return x.log_softmax(_pick_axis(axis, dim))


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
        _update_running_stats(running_mean, running_var, mean, var, x.size // channels, momentum)
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


def _check_batch_size(shape: tuple) -> None:
    """The batch variance of a single value is 0/0: PyTorch refuses it, so do we."""
    if shape[0] * math.prod(shape[2:]) == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {shape}"
        )


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


# ---------------------------------------------------------------- losses


def _class_targets(target, logits: Tensor) -> np.ndarray:
    """Integer class indices (N,) in [0, C) as an int64 array, checked against logits (N, C)."""
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy: target must hold integer class indices, got {target.dtype}"
        )
    if logits.ndim != 2 or target.shape != logits.shape[:1]:
        raise ValueError(
            f"cross_entropy: logits must be (N, C) and target (N,), "
            f"got logits {logits.shape} and target {target.shape}"
        )
    # The C kernel checks each target lies in [0, C) and names the first row that does not.
    return np.ascontiguousarray(target, dtype=np.int64)


def cross_entropy(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """Forward: lossᵢ = -log softmax(zᵢ)[tᵢ] = logsumexp(zᵢ) - zᵢ,ₜᵢ   z (N, C), t (N,) ints
    Local:    ∂lossᵢ/∂zᵢⱼ = softmax(zᵢ)ⱼ - [j = tᵢ]
    Backward: grad_z = grad_lossᵢ · (softmax(zᵢ) - onehot(tᵢ))

    target is a Tensor, array or list of class indices. Forward and backward are
    one fused C kernel each (ops.SoftmaxCrossEntropy), through a shifted
    logsumexp: logits of 1e4 give a finite loss and finite gradients.
    """
    _check_tensor(logits, "logits")
    _check_reduction(reduction)
    target = _class_targets(target, logits)
    return apply(ops.SoftmaxCrossEntropy, logits, target=target, reduction=reduction)


def _same_shape_target(target, input: Tensor, name: str) -> Tensor:
    """target as a Tensor of input's shape (arrays and numbers take input's dtype)."""
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target, dtype=input.dtype))
    if target.shape != input.shape:
        raise ValueError(
            f"{name}: input and target must have the same shape, "
            f"got input {input.shape} and target {target.shape}"
        )
    return target


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Forward: lossᵢ = (xᵢ - yᵢ)², x = input, y = target (same shape: unlike PyTorch,
              a shape mismatch raises instead of broadcasting)
    Local:    ∂lossᵢ/∂xᵢ = 2(xᵢ - yᵢ), ∂lossᵢ/∂yᵢ = -2(xᵢ - yᵢ)
    Backward: from the graph (sub, mul): both input and target get gradients
    """
    _check_tensor(input, "input")
    _check_reduction(reduction)
    diff = input - _same_shape_target(target, input, "mse_loss")
    return _reduce(diff * diff, reduction)


def binary_cross_entropy_with_logits(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """Forward: lossᵢ = -[tᵢ log σ(xᵢ) + (1 - tᵢ) log(1 - σ(xᵢ))] = softplus(xᵢ) - tᵢ xᵢ
    Local:    ∂lossᵢ/∂xᵢ = σ(xᵢ) - tᵢ, ∂lossᵢ/∂tᵢ = -xᵢ
    Backward: from the graph (stack, logsumexp, mul, sub)

    softplus(x) = log(1 + eˣ) is computed as logsumexp([0, x]): stable for any x
    and smooth everywhere (its gradient is σ(x) exactly, even at 0, where the
    textbook max(x, 0) + log(1 + e^-|x|) has two kinks).
    """
    _check_tensor(logits, "logits")
    _check_reduction(reduction)
    target = _same_shape_target(target, logits, "binary_cross_entropy_with_logits")
    softplus = stack([zeros_like(logits), logits]).logsumexp(axis=0)
    return _reduce(softplus - target * logits, reduction)


# Convolution and pooling live in conv.py (they import this module's checks).
from .conv import (  # noqa: E402, F401
    adaptive_avg_pool2d,
    avg_pool2d,
    conv1d,
    conv2d,
    max_pool2d,
)
