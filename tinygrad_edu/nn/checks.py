"""Argument checks the nn files share, so each mistake is reported in one wording."""

from __future__ import annotations

from ..tensor import Tensor


def check_tensor(value, name: str = "input") -> Tensor:
    """`value` itself if it is a Tensor; else a TypeError naming the argument."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a Tensor, got {type(value).__name__}")
    return value
