"""Optimizers: how a gradient becomes a parameter update (SGD, Adam, AdamW).

Each rule is PyTorch's, written on the parameters' numpy storage in place (no graph
is recorded, and reusable work buffers replace temporaries), so the same weights come
out after N steps. Read lr_scheduler.py next, then docs/training.md for the whole loop.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from . import kernels
from .tensor import Tensor


def _step_along(weights: np.ndarray, direction: np.ndarray, step_size: float) -> None:
    """w ← w − step_size·direction, in place. The C kernel (kernels.axpy) does it in one
    pass over memory; numpy would need a temporary and a second pass. Storage the kernel
    cannot take (a strided view someone assigned to .data) falls back to numpy."""
    if (
        weights.flags.c_contiguous
        and direction.flags.c_contiguous
        and weights.dtype == direction.dtype
    ):
        kernels.axpy(-step_size, direction, weights)
    else:
        weights -= step_size * direction


class Optimizer:
    """Holds `param_groups` (dicts with "params" and hyperparameters) and per-parameter state.

    `params` is an iterable of Tensors, or of dicts each with a "params" list and any
    hyperparameters that override `defaults` for that group (as PyTorch). float64 results
    match PyTorch's to rounding; float32 to about an ulp per step, because PyTorch fuses
    w + α·g into one multiply-add (FMA) where numpy rounds the product first.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]):
        if isinstance(params, (Tensor, np.ndarray)):
            raise TypeError(
                "params must be an iterable of Tensors or of dicts, got a single "
                f"{type(params).__name__}; wrap it in a list"
            )
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        # State per parameter (momentum buffers, Adam moments), keyed by the Tensor itself.
        self.state: dict[Tensor, dict[str, Any]] = {}
        self._work_buffers: dict[tuple, np.ndarray] = {}
        groups = list(params)
        if not groups:
            raise ValueError("params is an empty list: the optimizer has nothing to optimize")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones from defaults)."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError("param_group must be a dict with a 'params' entry")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for param in params:
            _check_param(param)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError("params: a parameter appears more than once across param groups")
        group = {**self.defaults, **param_group, "params": params}
        self._check_hyperparameters(group)
        self.param_groups.append(group)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        _check_non_negative(group, "lr")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: set it to None (default) or fill it with zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad.data.fill(0)

    def step(self) -> None:
        """Update every parameter that has a gradient; parameters whose grad is None are skipped."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, param.grad.data, group)

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def _work_buffer(self, like: np.ndarray, purpose: str) -> np.ndarray:
        """A scratch array shaped like `like`, reused by every step instead of a temporary."""
        key = (purpose, like.shape, like.dtype)
        buffer = self._work_buffers.get(key)
        if buffer is None:
            buffer = self._work_buffers[key] = np.empty_like(like)
        return buffer

    def _weight_decayed(self, grad: np.ndarray, weights: np.ndarray, weight_decay: float):
        """grad + weight_decay·w (L2 regularisation folded into the gradient); grad is unchanged."""
        if weight_decay == 0:
            return grad
        decayed = np.multiply(weights, weight_decay, out=self._work_buffer(weights, "decayed"))
        decayed += grad
        return decayed

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines += [f"    {key}: {value}" for key, value in group.items() if key != "params"]
        return "\n".join(lines + [")"])


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
        _step_along(weights, direction, group["lr"])  # w ← w − lr·g

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


class Adam(Optimizer):
    """Adam: step along the bias-corrected first moment over the root of the second moment.

    g ← ∇w + weight_decay·w                (L2 in the gradient; AdamW decays w instead)
    m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²          (t counts steps from 1)
    w ← w − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "eps", "weight_decay"):
            _check_non_negative(group, name)
        betas = group["betas"]
        if len(betas) != 2 or not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas}")

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        weights = param.data
        grad = self._decay(weights, grad, group)
        beta1, beta2 = group["betas"]
        state = self.state.setdefault(param, {})
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(weights), exp_avg_sq=np.zeros_like(weights))
        state["step"] += 1
        t, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        work = self._work_buffer(weights, "work")
        # m ← m + (1 − β1)·(g − m), PyTorch's lerp form of β1·m + (1 − β1)·g.
        np.subtract(grad, exp_avg, out=work)
        work *= 1 - beta1
        exp_avg += work
        # v ← β2·v + (1 − β2)·g·g
        exp_avg_sq *= beta2
        np.multiply(grad, 1 - beta2, out=work)
        work *= grad
        exp_avg_sq += work
        # w ← w − step_size·m / (√v / √(1 − β2ᵗ) + eps), step_size = lr / (1 − β1ᵗ)
        denominator = np.sqrt(exp_avg_sq, out=work)
        denominator /= math.sqrt(1 - beta2**t)
        denominator += group["eps"]
        step_size = group["lr"] / (1 - beta1**t)
        _step_along(weights, np.divide(exp_avg, denominator, out=work), step_size)

    def _decay(self, weights: np.ndarray, grad: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        """Adam's weight decay is L2 regularisation: it is added to the gradient."""
        return self._weight_decayed(grad, weights, group["weight_decay"])


class AdamW(Adam):
    """Adam with decoupled weight decay: w ← w·(1 − lr·weight_decay), then Adam's step.

    The decay shrinks the weights directly instead of passing through m and v,
    so it is not rescaled by the adaptive denominator (Loshchilov & Hutter, 2019).
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _decay(self, weights: np.ndarray, grad: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        """Decoupled decay: shrink w in place, leave the gradient untouched."""
        if group["weight_decay"] != 0:
            weights *= 1 - group["lr"] * group["weight_decay"]
        return grad


def _check_param(param: Any) -> None:
    if not isinstance(param, Tensor):
        raise TypeError(
            f"params: an optimizer can only optimize Tensors, got {type(param).__name__}"
        )
    if not param.is_leaf:
        raise ValueError("params: cannot optimize a non-leaf Tensor (made by an op); pass leaves")
    if param.data.dtype.kind != "f":
        raise TypeError(f"params: an optimizer needs float Tensors, got dtype {param.data.dtype}")


def _check_non_negative(group: dict[str, Any], name: str) -> None:
    value = group[name]
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0, got {value}")


# optim.lr_scheduler, as in PyTorch; imported last because it imports Optimizer from here.
from . import lr_scheduler  # noqa: F401
