"""Argument checks the nn files share, so each mistake is reported in one wording."""

from __future__ import annotations

import math

from ..tensor import Tensor


def check_tensor(value, name: str = "input") -> Tensor:
    """`value` itself if it is a Tensor; else a TypeError naming the argument."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a Tensor, got {type(value).__name__}")
    return value


def check_batch_size(shape: tuple) -> None:
    """The batch variance of a single value is 0/0: PyTorch refuses it, so do we."""
    if shape[0] * math.prod(shape[2:]) == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {shape}"
        )
