"""Losses: each a function of Tensors with PyTorch's options, and its Module.

All but the plain cross entropy are compositions of core ops (their gradients come
from the graph); the plain case (2-D logits, class indices, no weight, no smoothing)
stays on the fused C kernel, ops.SoftmaxCrossEntropy. Read normalization.py next.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor, apply, where
from .activation import logsigmoid
from .checks import check_tensor
from .module import Module

REDUCTIONS = ("mean", "sum", "none")
LOG_FLOOR = -100.0  # PyTorch's binary_cross_entropy clamps each log here: 0·log 0 stays finite


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _constant(array, like: Tensor) -> Tensor:
    """A gradient-free Tensor of `like`'s dtype."""
    return Tensor._wrap(np.asarray(array, dtype=like.dtype))


def _divide_by_total(total: Tensor, count: float) -> Tensor:
    """total / count, where a count of 0 (nothing to average) gives nan, as PyTorch."""
    return total * (1.0 / count) if count != 0 else total * float("nan")


def _check_weight(weight, classes: int, name: str):
    """A per-class weight (C,) as an array, or None. Not differentiated (nor in PyTorch)."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise TypeError(
            f"{name}: weight must be a Tensor of per-class weights; "
            f"pass reduction={weight!r} by keyword"
        )
    weight = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    if weight.shape != (classes,):
        raise ValueError(f"{name}: weight must have shape ({classes},), got {weight.shape}")
    return weight


def _same_shape_target(target, input: Tensor, name: str) -> Tensor:
    """target as a Tensor of input's shape (arrays and numbers take input's dtype).
    Unlike PyTorch, a shape mismatch raises instead of broadcasting with a warning."""
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target, dtype=input.dtype))
    if target.shape != input.shape:
        raise ValueError(
            f"{name}: input and target must have the same shape, "
            f"got input {input.shape} and target {target.shape}"
        )
    return target


# ---------------------------------------------------------------- class targets


def _classes_last(input: Tensor) -> Tensor:
    """input (C,), (N, C) or (N, C, d₁, ...) as rows (M, C): the class axis moved last."""
    if input.ndim == 1:
        return input.reshape(1, -1)
    if input.ndim > 2:
        input = input.permute(0, *range(2, input.ndim), 1)
    return input.reshape(-1, input.shape[-1])


def _class_indices(target, input: Tensor, name: str, noun: str = "input") -> np.ndarray:
    """Integer class indices of shape input.shape without the class axis (axis 1), as int64."""
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: target must hold integer class indices (or, for cross_entropy, class "
            f"probabilities of input's shape), got {target.dtype} of shape {target.shape}"
        )
    expected = () if input.ndim == 1 else input.shape[:1] + input.shape[2:]
    if input.ndim == 0 or target.shape != expected:
        raise ValueError(
            f"{name}: {noun} must be (N, C), (C,) or (N, C, d1, ...) with target (N,), () or "
            f"(N, d1, ...), got {noun} {input.shape} and target {target.shape}"
        )
    return target.astype(np.int64)


def nll_loss(
    input: Tensor, target, weight=None, *, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Forward: lossᵢ = -w[tᵢ] · input[i, tᵢ]   (input holds log-probabilities; w = weight or 1)
              mean: Σ lossᵢ / Σ w[tᵢ] over the rows not ignored (tᵢ = ignore_index)
    Local:    ∂lossᵢ/∂input[i, j] = -w[tᵢ] for j = tᵢ, else 0
    Backward: grad_input = -w[tᵢ] · grad at each picked element (GetItem's scatter), 0 elsewhere
    """
    check_tensor(input, "input")
    _check_reduction(reduction)
    target = _class_indices(target, input, "nll_loss")
    rows = _classes_last(input)
    classes = rows.shape[1]
    weight = _check_weight(weight, classes, "nll_loss")
    flat = target.reshape(-1)
    kept = flat != ignore_index
    outside = kept & ((flat < 0) | (flat >= classes))
    if outside.any():
        raise IndexError(
            f"nll_loss: target {flat[outside][0]} is out of bounds: class indices must lie in "
            f"[0, {classes}) (or equal ignore_index={ignore_index})"
        )
    safe = np.where(kept, flat, 0)  # an ignored row picks class 0, then weighs 0
    row_weight = kept * (1.0 if weight is None else weight[safe])
    losses = -rows[np.arange(len(flat)), safe] * _constant(row_weight, input)
    if reduction == "none":
        return losses.reshape(target.shape)
    total = losses.sum()
    return total if reduction == "sum" else _divide_by_total(total, row_weight.sum())


def _smoothing_term(log_probs: Tensor, target: np.ndarray, weight, ignore_index, reduction):
    """-Σ_c w_c log p_c per position (0 where ignored), reduced as PyTorch's label smoothing:
    the mean divides by the same Σ w[tᵢ] as the nll term."""
    rows = _classes_last(log_probs)
    flat = target.reshape(-1)
    kept = flat != ignore_index
    weighted = rows if weight is None else rows * _constant(weight, rows)
    per_row = -weighted.sum(axis=1) * _constant(kept, rows)
    if reduction == "none":
        return per_row.reshape(target.shape)
    if reduction == "sum":
        return per_row.sum()
    kept_weight = kept.sum() if weight is None else weight[flat[kept]].sum()
    return _divide_by_total(per_row.sum(), kept_weight)


def _is_fast_case(input: Tensor, target: np.ndarray, weight, ignore_index, smoothing) -> bool:
    """The plain case the fused C kernel computes: (N, C) logits, class indices only."""
    return (
        weight is None
        and smoothing == 0.0
        and input.ndim == 2
        and not (target == ignore_index).any()
    )


def cross_entropy(
    input: Tensor,
    target,
    weight=None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Forward: lossᵢ = -Σ_c w_c qᵢ,c log softmax(zᵢ)_c, z = input (classes on axis 1)
              class indices: qᵢ = (1-ε)·onehot(tᵢ) + ε/C (ε = label_smoothing),
              i.e. (1-ε)·nll_loss(log_softmax(z), t) + (ε/C)·(-Σ_c w_c log p_c)
              class probabilities (a float target of input's shape): qᵢ = (1-ε)tᵢ + ε/C,
              and the mean divides by the number of positions (N·d₁·...), not by weights
    Local:    ∂lossᵢ/∂zᵢ,ⱼ = (Σ_c w_c qᵢ,c)·softmax(zᵢ)ⱼ - w_j qᵢ,ⱼ
    Backward: the plain case (2-D, class indices, no weight, no smoothing, nothing ignored)
              is one fused C kernel, ops.SoftmaxCrossEntropy (Forward/Local/Backward there);
              every other case comes from the graph (log_softmax, indexing, mul, sum)
    """
    check_tensor(input, "logits")
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    target_array = target.data if isinstance(target, Tensor) else np.asarray(target)
    if target_array.dtype.kind == "f" and target_array.shape == input.shape and input.ndim > 0:
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    target_array = _class_indices(target_array, input, "cross_entropy", "logits")
    if _is_fast_case(input, target_array, weight, ignore_index, label_smoothing):
        target_array = np.ascontiguousarray(target_array)  # the kernel checks [0, C) itself
        return apply(ops.SoftmaxCrossEntropy, input, target=target_array, reduction=reduction)
    log_probs = input.log_softmax(axis=0 if input.ndim == 1 else 1)
    weight = _check_weight(weight, log_probs.shape[0 if input.ndim == 1 else 1], "cross_entropy")
    nll = nll_loss(log_probs, target_array, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return nll
    classes = input.shape[0 if input.ndim == 1 else 1]
    smooth = _smoothing_term(log_probs, target_array, weight, ignore_index, reduction)
    return (1.0 - label_smoothing) * nll + (label_smoothing / classes) * smooth


def _cross_entropy_probabilities(input, target, weight, reduction, smoothing) -> Tensor:
    class_axis = 0 if input.ndim == 1 else 1
    classes = input.shape[class_axis]
    weight = _check_weight(weight, classes, "cross_entropy")
    target = target if isinstance(target, Tensor) else _constant(target, input)
    if smoothing:
        target = target * (1.0 - smoothing) + smoothing / classes
    weighted = input.log_softmax(axis=class_axis) * target
    if weight is not None:
        weight_shape = [1] * input.ndim
        weight_shape[class_axis] = classes
        weighted = weighted * _constant(weight.reshape(weight_shape), input)
    if reduction == "none":
        return -weighted.sum(axis=class_axis)
    total = -weighted.sum()
    return total if reduction == "sum" else _divide_by_total(total, input.data.size / classes)


# ---------------------------------------------------------------- regression


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Forward: lossᵢ = (xᵢ - yᵢ)², x = input, y = target
    Local:    ∂lossᵢ/∂xᵢ = 2(xᵢ - yᵢ), ∂lossᵢ/∂yᵢ = -2(xᵢ - yᵢ)
    Backward: from the graph (sub, mul): both input and target get gradients
    """
    check_tensor(input, "input")
    _check_reduction(reduction)
    diff = input - _same_shape_target(target, input, "mse_loss")
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Forward: lossᵢ = |xᵢ - yᵢ|
    Local:    ∂lossᵢ/∂xᵢ = sign(xᵢ - yᵢ) (0 where equal, as PyTorch), ∂lossᵢ/∂yᵢ = -sign(...)
    Backward: from the graph (sub, abs)
    """
    check_tensor(input, "input")
    _check_reduction(reduction)
    return _reduce((input - _same_shape_target(target, input, "l1_loss")).abs(), reduction)


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Forward: lossᵢ = ½dᵢ²/β where |dᵢ| < β, else |dᵢ| - ½β;  d = x - y (β = 0: l1_loss)
    Local:    ∂lossᵢ/∂xᵢ = dᵢ/β where |dᵢ| < β, else sign(dᵢ); ∂lossᵢ/∂yᵢ = the negative
    Backward: from the graph (where, mul, abs)
    """
    check_tensor(input, "input")
    _check_reduction(reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must not be negative, got {beta}")
    diff = input - _same_shape_target(target, input, "smooth_l1_loss")
    if beta == 0:  # the quadratic piece is empty, and ½d²/0 would put nan in the graph
        return _reduce(diff.abs(), reduction)
    small = np.asarray(np.abs(diff.data) < beta)
    return _reduce(where(small, 0.5 * diff * diff / beta, diff.abs() - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Forward: lossᵢ = ½dᵢ² where |dᵢ| < δ, else δ(|dᵢ| - ½δ);  d = x - y  (= δ·smooth_l1 with β=δ)
    Local:    ∂lossᵢ/∂xᵢ = dᵢ where |dᵢ| < δ, else δ·sign(dᵢ); ∂lossᵢ/∂yᵢ = the negative
    Backward: from the graph (where, mul, abs)
    """
    check_tensor(input, "input")
    _check_reduction(reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    diff = input - _same_shape_target(target, input, "huber_loss")
    small = np.asarray(np.abs(diff.data) < delta)
    return _reduce(where(small, 0.5 * diff * diff, delta * (diff.abs() - 0.5 * delta)), reduction)


# ---------------------------------------------------------------- binary targets


def _weigh(loss: Tensor, weight, name: str) -> Tensor:
    """loss · weight (a Tensor or array broadcasting against loss), or loss."""
    if weight is None:
        return loss
    if isinstance(weight, str):
        raise TypeError(f"{name}: weight must be a Tensor; pass reduction={weight!r} by keyword")
    weight = weight if isinstance(weight, Tensor) else _constant(weight, loss)
    try:
        np.broadcast_shapes(weight.shape, loss.shape)
    except ValueError:
        raise ValueError(
            f"{name}: weight of shape {weight.shape} does not broadcast to input {loss.shape}"
        ) from None
    return loss * weight


def _floored_log(p: Tensor) -> Tensor:
    """max(ln p, -100), p in [0, 1]. At p = 0 the value is the constant -100 (no gradient:
    PyTorch instead divides by a floor of 1e-12 there)."""
    positive = np.asarray(p.data > 0)
    return where(positive, where(positive, p, 1.0).log(), LOG_FLOOR).clip(min=LOG_FLOOR)


def binary_cross_entropy(input: Tensor, target, weight=None, *, reduction: str = "mean") -> Tensor:
    """Forward: lossᵢ = -wᵢ [yᵢ ln xᵢ + (1 - yᵢ) ln(1 - xᵢ)], x = input in [0, 1], each ln ≥ -100
    Local:    ∂lossᵢ/∂xᵢ = wᵢ (xᵢ - yᵢ) / (xᵢ(1 - xᵢ)), ∂lossᵢ/∂yᵢ = wᵢ [ln(1 - xᵢ) - ln xᵢ]
    Backward: from the graph (log, clip, mul, sub)
    """
    check_tensor(input, "input")
    _check_reduction(reduction)
    target = _same_shape_target(target, input, "binary_cross_entropy")
    if ((input.data < 0) | (input.data > 1)).any():
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1")
    loss = -(target * _floored_log(input) + (1.0 - target) * _floored_log(1.0 - input))
    return _reduce(_weigh(loss, weight, "binary_cross_entropy"), reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target, weight=None, *, reduction: str = "mean", pos_weight=None
) -> Tensor:
    """Forward: lossᵢ = wᵢ [(1 - yᵢ) xᵢ - (1 + (p - 1) yᵢ) ln σ(xᵢ)]
              = -wᵢ [p yᵢ ln σ(xᵢ) + (1 - yᵢ) ln(1 - σ(xᵢ))], p = pos_weight (per class, last axis)
    Local:    ∂lossᵢ/∂xᵢ = wᵢ [(1 + (p - 1) yᵢ) σ(xᵢ) - p yᵢ], ∂lossᵢ/∂yᵢ = -wᵢ [xᵢ + (p - 1) ln σ(xᵢ)]
    Backward: from the graph; ln σ is logsigmoid, finite for any x, with the exact σ(0) = ½
              at the kink
    """
    check_tensor(input, "input")
    _check_reduction(reduction)
    target = _same_shape_target(target, input, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        log_weight = 1.0
    else:
        pos_weight = pos_weight if isinstance(pos_weight, Tensor) else _constant(pos_weight, input)
        log_weight = 1.0 + (pos_weight - 1.0) * target
    loss = (1.0 - target) * input - log_weight * logsigmoid(input)
    return _reduce(_weigh(loss, weight, "binary_cross_entropy_with_logits"), reduction)


# ---------------------------------------------------------------- modules


def _tensor_or_none(value, name: str):
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, str):
        raise TypeError(f"{name} must be a Tensor; pass reduction={value!r} by keyword")
    return Tensor(value)


class _Loss(Module):
    """What every loss module holds: its reduction, checked when it is built. Keyword-only
    (PyTorch's positional slots hold its deprecated size_average/reduce), unless PyTorch
    puts it first (HuberLoss)."""

    def __init__(self, *, reduction: str = "mean"):
        super().__init__()
        _check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class _WeightedLoss(_Loss):
    """A loss with a per-class `weight`, kept as a buffer (PyTorch's state_dict key "weight")."""

    def __init__(self, weight=None, *, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.register_buffer("weight", _tensor_or_none(weight, "weight"))


class CrossEntropyLoss(_WeightedLoss):
    def __init__(
        self,
        weight=None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(weight, reduction=reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target) -> Tensor:
        return cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_WeightedLoss):
    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(weight, reduction=reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target) -> Tensor:
        return nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class BCELoss(_WeightedLoss):
    def forward(self, input: Tensor, target) -> Tensor:
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    def __init__(self, weight=None, *, reduction: str = "mean", pos_weight=None):
        super().__init__(weight, reduction=reduction)
        self.register_buffer("pos_weight", _tensor_or_none(pos_weight, "pos_weight"))

    def forward(self, input: Tensor, target) -> Tensor:
        return binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class MSELoss(_Loss):
    def forward(self, input: Tensor, target) -> Tensor:
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, input: Tensor, target) -> Tensor:
        return l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    def __init__(self, *, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction=reduction)
        self.beta = beta

    def forward(self, input: Tensor, target) -> Tensor:
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    def __init__(self, reduction: str = "mean", delta: float = 1.0):  # positional, as PyTorch
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target) -> Tensor:
        return huber_loss(input, target, self.reduction, self.delta)
