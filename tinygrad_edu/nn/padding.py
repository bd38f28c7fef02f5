"""F.pad: grow (or, with negative constant padding, crop) the trailing axes of a tensor.

Constant padding concatenates blocks of the fill value; reflect, replicate and circular
padding are one integer-array lookup per axis (ops.GetItem), whose backward adds the
gradient of every copy back onto the element it copied. Read attention.py next.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, concatenate

MODES = ("constant", "reflect", "replicate", "circular")


def pad(x: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Forward: out = x with pad[2i] entries before and pad[2i+1] after axis -1-i (PyTorch's
              order: the last axis first), filled with `value` (constant), the mirror image
              without the edge (reflect), the edge repeated (replicate) or the other end
              (circular)
    Local:    every output element is a copy of one input element, or a constant
    Backward: grad_x[j] = Σ of grad over the output positions copied from x[j]
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"pad: input must be a Tensor, got {type(x).__name__}")
    widths = tuple(pad)
    if len(widths) % 2 or len(widths) > 2 * x.ndim:
        raise ValueError(
            f"pad: pad must have an even length of at most 2 x {x.ndim} (the number of axes), "
            f"got {widths}"
        )
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {MODES}, got {mode!r}")
    if mode != "constant" and value:
        raise ValueError(f"pad: a fill value only applies to mode='constant', not {mode!r}")
    for i in range(len(widths) // 2):
        axis, before, after = x.ndim - 1 - i, int(widths[2 * i]), int(widths[2 * i + 1])
        if mode == "constant":
            x = _pad_constant(x, axis, before, after, 0.0 if value is None else value)
        else:
            x = x[(slice(None),) * axis + (_source_positions(x.shape[axis], before, after, mode),)]
    return x


def _pad_constant(x: Tensor, axis: int, before: int, after: int, value) -> Tensor:
    """Negative widths crop (as PyTorch); positive ones concatenate blocks of `value`."""
    size = x.shape[axis]
    if size + min(before, 0) + min(after, 0) < 0:
        raise ValueError(f"pad: cropping {-before} and {-after} from an axis of size {size}")
    if before < 0 or after < 0:
        x = x[(slice(None),) * axis + (slice(max(-before, 0), size - max(-after, 0)),)]
    blocks = []
    for width in (max(before, 0), max(after, 0)):
        shape = x.shape[:axis] + (width,) + x.shape[axis + 1 :]
        blocks.append(Tensor._wrap(np.full(shape, value, dtype=x.dtype)))
    return concatenate([blocks[0], x, blocks[1]], axis=axis)


def _source_positions(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each output position along the axis, the input position it copies."""
    if before < 0 or after < 0:
        raise ValueError(f"pad: mode {mode!r} needs non-negative widths, got {before}, {after}")
    if mode == "reflect" and max(before, after) >= size:
        raise ValueError(
            f"pad: reflect padding ({before}, {after}) must be smaller than the axis ({size})"
        )
    if mode == "circular" and max(before, after) > size:
        raise ValueError(
            f"pad: circular padding ({before}, {after}) must not exceed the axis ({size})"
        )
    if size == 0:
        raise ValueError(f"pad: mode {mode!r} cannot pad an empty axis")
    positions = np.arange(-before, size + after)
    if mode == "reflect":  # mirror at 0 and at size-1: -1 -> 1, size -> size-2
        return np.abs(size - 1 - np.abs(size - 1 - np.abs(positions)))
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    return positions % size
