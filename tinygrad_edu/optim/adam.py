"""Adam and AdamW: each weight gets its own step size, from running moments of its gradient.

m (the mean of recent gradients) gives the direction; v (the mean of their squares) scales
the step down where gradients are large or noisy. AdamW is the same rule with the weight
decay taken out of the moments (decoupled). Read rmsprop.py for v alone, adagrad.py for v
as a plain sum.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _check_non_negative, _lerp_, _update_in_place


class Adam(Optimizer):
    """Adam: step along the bias-corrected first moment over the root of the second moment.

    g ← ∇w + weight_decay·w                 (decoupled_weight_decay: w ← w·(1 − lr·wd) instead)
    m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²          (t counts steps from 1)
    v̂ ← max(v̂, v) if amsgrad (never let the step size grow back), else v̂ = v
    w ← w − lr/(1 − β1ᵗ) · m / (√v̂ / √(1 − β2ᵗ) + eps)
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        decoupled_weight_decay: bool = False,
    ):
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "eps", "weight_decay"):
            _check_non_negative(group, name)
        betas = group["betas"]
        if len(betas) != 2 or not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas}")

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        weights = param.data
        lr, weight_decay = group["lr"], group["weight_decay"]
        shrink = 1.0
        if group["decoupled_weight_decay"]:
            shrink = 1 - lr * weight_decay  # applied to w below, before the step (as PyTorch)
        else:
            grad = self._weight_decayed(grad, weights, weight_decay)
        beta1, beta2 = group["betas"]
        state = self._moments(param, group["amsgrad"])
        state["step"] += 1
        t, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        work = self._work_buffer(weights, "work")
        _lerp_(exp_avg, grad, 1 - beta1, work)  # m ← β1·m + (1 − β1)·g, as torch's lerp_
        # v ← β2·v + (1 − β2)·g·g
        exp_avg_sq *= beta2
        np.multiply(grad, 1 - beta2, out=work)
        work *= grad
        exp_avg_sq += work
        if group["amsgrad"]:
            exp_avg_sq = np.maximum(
                state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"]
            )
        # w ← w − step_size·m / (√v̂ / √(1 − β2ᵗ) + eps), step_size = lr / (1 − β1ᵗ)
        denominator = np.sqrt(exp_avg_sq, out=work)
        denominator /= (1 - beta2**t) ** 0.5
        denominator += group["eps"]
        step_size = lr / (1 - beta1**t)
        direction = np.divide(exp_avg, denominator, out=work)
        _update_in_place(param, direction, step_size, shrink)

    def _moments(self, param: Tensor, amsgrad: bool) -> dict[str, Any]:
        """This parameter's state, zero moments on its first step (as PyTorch)."""
        state = self.state.setdefault(param, {})
        if not state:
            state.update(
                step=0,
                exp_avg=np.zeros_like(param.data),
                exp_avg_sq=np.zeros_like(param.data),
            )
            if amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(param.data)
        return state


class AdamW(Adam):
    """Adam with decoupled weight decay: w ← w·(1 − lr·weight_decay), then Adam's step.

    The decay shrinks the weights directly instead of passing through m and v,
    so it is not rescaled by the adaptive denominator (Loshchilov & Hutter, 2019).
    As PyTorch's AdamW: Adam(decoupled_weight_decay=True), weight_decay 0.01 by default.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True)
