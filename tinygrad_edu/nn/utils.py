"""Gradient clipping: keep one bad batch from throwing the weights far away
(the classic remedy for exploding gradients).

Both functions act in place on each parameter's `.grad`, between backward and
the optimizer step. Read ../optim/optimizer.py next for what uses the clipped gradients.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    """The gradient arrays of the parameters that have one."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data for p in parameters if p.grad is not None]


def _total_norm(grads: list[np.ndarray], norm_type: float) -> float:
    """‖(g₁, g₂, ...)‖_p over all gradients together: the p-norm of the per-tensor p-norms."""
    if norm_type == np.inf:
        return float(max(np.max(np.abs(g)) if g.size else 0.0 for g in grads))
    norms = [np.linalg.norm(g.ravel(), ord=norm_type) for g in grads]
    return float(np.linalg.norm(np.asarray(norms, dtype=np.float64), ord=norm_type))


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients together by min(1, max_norm / (total + 1e-6)), where total is
    their joint p-norm (`norm_type`, may be inf); returns total, measured before clipping.

    A non-finite total raises RuntimeError if error_if_nonfinite, else (as PyTorch)
    the scale is applied anyway: NaN spreads to every gradient, inf zeroes finite ones.
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return 0.0
    total = _total_norm(grads, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    # Never scale up. min(nan, 1.0) is nan (nan < x is False), so a NaN total spreads, as PyTorch.
    scale = min(float(max_norm) / (total + 1e-6), 1.0)
    with np.errstate(invalid="ignore"):  # inf · 0 = nan is the intended result
        for grad in grads:
            grad *= scale
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for grad in _grads(parameters):
        np.clip(grad, -clip_value, clip_value, out=grad)
