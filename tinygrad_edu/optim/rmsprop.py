"""RMSprop: divide each weight's step by the root of a running mean of its squared gradients.

Weights whose gradients are large take small steps and weights with small gradients take
larger ones, so one learning rate suits layers of very different scales. Adam (adam.py)
adds a running mean of the gradient itself and a bias correction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _check_non_negative, _lerp_, _update_in_place


class RMSprop(Optimizer):
    """PyTorch's RMSprop:

    g ← ∇w + weight_decay·w
    v ← α·v + (1 − α)·g²
    a ← √(v − ḡ²) + eps with ḡ ← α·ḡ + (1 − α)·g if centered (the variance), else √v + eps
    b ← momentum·b + g/a,  w ← w − lr·b     if momentum > 0, else w ← w − lr·g/a
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            _check_non_negative(group, name)

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        weights = param.data
        grad = self._weight_decayed(grad, weights, group["weight_decay"])
        alpha, momentum = group["alpha"], group["momentum"]
        state = self._averages(param, group)
        state["step"] += 1
        work = self._work_buffer(weights, "work")
        square_avg = state["square_avg"]
        square_avg *= alpha  # v ← α·v + (1 − α)·g·g
        np.multiply(grad, 1 - alpha, out=work)
        work *= grad
        square_avg += work
        average = self._work_buffer(weights, "average")
        if group["centered"]:
            grad_avg = state["grad_avg"]
            _lerp_(grad_avg, grad, 1 - alpha, work)  # ḡ ← α·ḡ + (1 − α)·g
            np.multiply(grad_avg, grad_avg, out=work)
            np.subtract(square_avg, work, out=average)  # the variance v − ḡ²
            np.sqrt(average, out=average)
        else:
            np.sqrt(square_avg, out=average)
        average += group["eps"]
        direction = np.divide(grad, average, out=work)
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum  # b ← momentum·b + g/a
            buffer += direction
            direction = buffer
        _update_in_place(param, direction, group["lr"])

    def _averages(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """This parameter's state, zeros on its first step, the optional parts as PyTorch's."""
        state = self.state.setdefault(param, {})
        if not state:
            state.update(step=0, square_avg=np.zeros_like(param.data))
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(param.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param.data)
        return state
