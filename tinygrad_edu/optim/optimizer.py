"""Optimizer: the parameter groups, the step loop and the resumable state every rule shares.

A rule (sgd.py, adam.py, rmsprop.py, adagrad.py) only writes `_update(param, grad, group)`;
this file owns the bookkeeping: groups of parameters with their hyperparameters, per-parameter
state, the one function that changes a parameter in place, and state_dict()/load_state_dict()
in PyTorch's layout. Read sgd.py next.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import kernels
from ..tensor import Tensor


def _update_in_place(
    param: Tensor, direction: np.ndarray, step_size: float, shrink: float = 1.0
) -> None:
    """w ← shrink·w, then w ← w − step_size·direction, in the parameter's own storage.

    Every optimizer changes its parameters here and nowhere else: the one place where an
    in-place change of a parameter happens (and so where its version counter is bumped).
    w − step_size·direction is the C kernel axpy (one pass over memory, no temporary);
    storage it cannot take (a strided view someone assigned to .data) falls back to numpy.
    """
    weights = param.data
    if shrink != 1.0:
        weights *= shrink
    if (
        weights.flags.c_contiguous
        and direction.flags.c_contiguous
        and weights.dtype == direction.dtype
    ):
        kernels.axpy(-step_size, direction, weights)
    else:
        weights -= step_size * direction
    param.bump_version()  # a backward that saved the old weights now refuses to run


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

    # ---------------------------------------------------------------- shared arithmetic

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

    # ---------------------------------------------------------------- saving and resuming

    def state_dict(self) -> dict[str, Any]:
        """{"state": {i: {...}}, "param_groups": [{..., "params": [i, ...]}]}, as PyTorch's.

        Parameters are numbered in group order from 0; the state holds copies (numpy
        arrays, "step" as a float32 0-d array as PyTorch's tensor), so later steps do not
        change a saved dict. The parameters themselves are the model's state_dict's job.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            numbers = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append({**copy.deepcopy(_without_params(group)), "params": numbers})
        state = {
            index[id(param)]: {key: _exported(key, value) for key, value in entries.items()}
            for param, entries in self.state.items()
        }
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state saved by state_dict() (here or by PyTorch, as numpy).

        The groups must hold as many parameters as this optimizer's, in the same order.
        Arrays are copied and cast to each parameter's dtype, so the dict can be reused.
        """
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError("state_dict must be a dict with the keys 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        params = {}
        for number, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded parameter group {number} has {len(saved['params'])} parameters, "
                    f"this optimizer's has {len(group['params'])}"
                )
            params.update(zip(saved["params"], group["params"]))
        self.state = {
            params[int(i)]: {k: _imported(k, v, params[int(i)]) for k, v in entries.items()}
            for i, entries in state_dict["state"].items()
        }
        for group, saved in zip(self.param_groups, saved_groups):
            params_of_group = group["params"]
            group.clear()
            group.update(copy.deepcopy(_without_params(saved)), params=params_of_group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines += [f"    {key}: {value}" for key, value in group.items() if key != "params"]
        return "\n".join(lines + [")"])


def _without_params(group: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in group.items() if key != "params"}


def _exported(key: str, value):
    """State as PyTorch saves it: arrays copied, the step count as a float32 0-d array."""
    if key == "step":
        return np.asarray(value, dtype=np.float32)
    return value.copy() if isinstance(value, np.ndarray) else copy.deepcopy(value)


def _imported(key: str, value, param: Tensor):
    """The inverse of _exported: the step count as an int, arrays as the parameter's dtype."""
    if key == "step":
        return int(np.asarray(value))
    if isinstance(value, (np.ndarray, Tensor)):
        array = np.array(value, dtype=param.data.dtype, copy=True)
        if array.shape != param.shape:
            raise ValueError(
                f"loaded state {key!r} has shape {array.shape}, its parameter {param.shape}"
            )
        return array
    return copy.deepcopy(value)


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


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float, work: np.ndarray) -> None:
    """start ← start + weight·(end − start), in place, rounded as PyTorch's lerp_ rounds it.

    PyTorch computes start + weight·(end − start) for weight < 0.5 and
    end − (end − start)·(1 − weight) otherwise (exact at weight = 1), in the array's dtype.
    """
    weight = start.dtype.type(weight)
    np.subtract(end, start, out=work)
    if weight < 0.5:
        work *= weight
        start += work
    else:
        work *= 1 - weight
        np.subtract(end, work, out=start)
