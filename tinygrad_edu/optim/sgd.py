"""SGD: the simplest rule, w ← w − lr·g, with PyTorch's momentum, dampening, Nesterov and decay.

Momentum keeps a running sum of past gradients (a velocity), which smooths noisy steps and
speeds up along consistent directions. Read adam.py next for a per-weight step size.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _check_non_negative, _update_in_place


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay.

    g ← ∇w + weight_decay·w
    b ← g (first step), else b ← momentum·b + (1 − dampening)·g      (if momentum ≠ 0)
    g ← g + momentum·b if nesterov, else g ← b                         (if momentum ≠ 0)
    w ← w − lr·g
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            _check_non_negative(group, name)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        weights = param.data
        direction = self._weight_decayed(grad, weights, group["weight_decay"])
        momentum = group["momentum"]
        if momentum != 0:
            buffer = self._momentum_buffer(param, direction, momentum, group["dampening"])
            if group["nesterov"]:
                look_ahead = np.multiply(buffer, momentum, out=self._work_buffer(weights, "step"))
                direction = np.add(direction, look_ahead, out=look_ahead)
            else:
                direction = buffer
        _update_in_place(param, direction, group["lr"])  # w ← w − lr·g

    def _momentum_buffer(self, param: Tensor, direction, momentum: float, dampening: float):
        """b ← g on the first step, then b ← momentum·b + (1 − dampening)·g, in place."""
        state = self.state.setdefault(param, {})
        buffer = state.get("momentum_buffer")
        if buffer is None:
            buffer = state["momentum_buffer"] = direction.copy()
            return buffer
        buffer *= momentum
        if dampening == 0:
            buffer += direction
        else:
            buffer += (1 - dampening) * direction
        return buffer
