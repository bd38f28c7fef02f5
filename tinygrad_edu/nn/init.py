"""Weight initialisation: how large the starting weights must be for signals to
neither vanish nor explode (Kaiming for ReLU nets, Xavier for tanh/sigmoid).

Each function fills `t.data` in place from the generator `tg.manual_seed` seeds,
records no graph, and returns `t`, as torch.nn.init does. Read layers.py next.
"""

from __future__ import annotations

import math

import numpy as np

from ..random import generator
from ..tensor import Tensor

_UNIT_GAIN = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which `nonlinearity` shrinks a signal's standard deviation, inverted:
    1 for linear/sigmoid, 5/3 for tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu."""
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(t: Tensor) -> tuple[int, int]:
    """fan_in = inputs feeding one output unit, fan_out = outputs fed by one input
    (for a Linear weight of shape (out, in): in and out)."""
    if t.ndim < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 "
            f"dimensions, got shape {t.shape}"
        )
    receptive_field = math.prod(t.shape[2:])
    return t.shape[1] * receptive_field, t.shape[0] * receptive_field


def _fan(t: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    return fan_in if mode == "fan_in" else fan_out


def _fill(t: Tensor, values: np.ndarray) -> Tensor:
    """Write `values` into t's storage in place (cast to t's dtype); no graph node."""
    t.data[...] = values
    return t


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill t with draws from U(a, b)."""
    return _fill(t, generator().uniform(a, b, size=t.shape))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill t with draws from N(mean, std²)."""
    return _fill(t, generator().normal(mean, std, size=t.shape))


def zeros_(t: Tensor) -> Tensor:
    return _fill(t, 0)


def ones_(t: Tensor) -> Tensor:
    return _fill(t, 1)


def constant_(t: Tensor, value: float) -> Tensor:
    return _fill(t, value)


def _kaiming_std(t: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    """std = gain / √fan keeps each layer's output variance equal to its input's."""
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode))


def kaiming_uniform_(
    t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """Fill t from U(-bound, bound), bound = gain · √(3 / fan) (He et al., 2015)."""
    if t.numel() == 0:
        return t
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity)
    return uniform_(t, -bound, bound)


def kaiming_normal_(
    t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """Fill t from N(0, std²), std = gain / √fan (He et al., 2015)."""
    if t.numel() == 0:
        return t
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity))


def _xavier_std(t: Tensor, gain: float) -> float:
    """std = gain · √(2 / (fan_in + fan_out)): a compromise between the forward and
    the backward pass keeping their variances (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Fill t from U(-bound, bound), bound = gain · √(6 / (fan_in + fan_out))."""
    if t.numel() == 0:
        return t
    bound = math.sqrt(3.0) * _xavier_std(t, gain)
    return uniform_(t, -bound, bound)


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Fill t from N(0, std²), std = gain · √(2 / (fan_in + fan_out))."""
    if t.numel() == 0:
        return t
    return normal_(t, 0.0, _xavier_std(t, gain))
