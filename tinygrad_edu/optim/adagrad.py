"""Adagrad: divide each weight's step by the root of the sum of all its squared gradients.

A weight that has seen large gradients slows down for good, one rarely updated keeps a
large step (useful for sparse features). The sum only grows, so every step size shrinks:
RMSprop (rmsprop.py) forgets old gradients instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _check_non_negative, _update_in_place


class Adagrad(Optimizer):
    """PyTorch's Adagrad (t counts steps from 1):

    g ← ∇w + weight_decay·w
    s ← s + g²                     (s starts at initial_accumulator_value)
    w ← w − lr / (1 + (t − 1)·lr_decay) · g / (√s + eps)
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ):
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
        }
        super().__init__(params, defaults)
        # As PyTorch, the state exists from the start: the sums begin at their initial value.
        for group in self.param_groups:
            for param in group["params"]:
                self._accumulator(param, group)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value"):
            _check_non_negative(group, name)

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        weights = param.data
        grad = self._weight_decayed(grad, weights, group["weight_decay"])
        state = self._accumulator(param, group)
        state["step"] += 1
        step_size = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        work = self._work_buffer(weights, "work")
        np.multiply(grad, grad, out=work)  # s ← s + g·g
        state["sum"] += work
        np.sqrt(state["sum"], out=work)
        work += group["eps"]
        _update_in_place(param, np.divide(grad, work, out=work), step_size)

    def _accumulator(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """This parameter's state: the step count and the sum of squared gradients."""
        state = self.state.setdefault(param, {})
        if not state:
            state.update(step=0, sum=np.full_like(param.data, group["initial_accumulator_value"]))
        return state
