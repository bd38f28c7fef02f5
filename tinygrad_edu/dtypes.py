"""The dtype and argument rules: what a Tensor may hold and how user arguments are read.

Python floats become float32 (as PyTorch), integers int64, float arrays keep theirs;
axes, shapes and reshape's -1 are checked here, so that tensor.py only says what
each method does. Read tensor.py next.
"""

import numpy as np

float32, float64, int64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)
DIFFERENTIABLE = (float32, float64)
SUPPORTED = (float32, float64, int64, np.dtype(bool))
INT64_RANGE = (-(2**63), 2**63 - 1)


def to_array(data, dtype) -> np.ndarray:
    """Construction's dtype rules: Python floats -> float32, integers -> int64, float arrays keep theirs.
    Always a copy: the tensor never aliases the caller's array."""
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in SUPPORTED:
            raise TypeError(
                f"Tensor: unsupported dtype {dtype} (use float32, float64, int64 or bool)"
            )
        try:
            return np.array(data, dtype=dtype, order="C")
        except OverflowError:
            raise OverflowError(f"Tensor: a value in {_short(data)} does not fit in {dtype}") from None
    from_python = not isinstance(data, np.ndarray)
    array = np.array(data, order="C")
    if from_python and array.dtype == float64:  # Python floats: the default float, as PyTorch
        array = array.astype(float32)
    kind = array.dtype.kind
    if kind == "f":
        native = array.dtype.newbyteorder("=")  # a big-endian float64 is still a float64
        return array.astype(native if native in DIFFERENTIABLE else float32, copy=False)
    if kind == "u" and array.size and array.max() > INT64_RANGE[1]:
        # numpy reads 2**63 as uint64; int64 would silently wrap it to -2**63
        raise OverflowError(f"Tensor: value {array.max()} does not fit in int64")
    if kind in "iu":
        return array.astype(int64, copy=False)
    if kind == "b":
        return array
    too_big = [v for v in array.ravel() if isinstance(v, int) and not -(2**63) <= v < 2**63]
    if kind == "O" and too_big:
        raise OverflowError(f"Tensor: value {too_big[0]} does not fit in int64")
    raise TypeError(
        f"Tensor: unsupported data of dtype {array.dtype} (use floats, integers or bools)"
    )


def _short(data) -> str:
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."


# numpy's AxisError is both a ValueError and an IndexError: PyTorch raises IndexError
# ("Dimension out of range"), numpy ValueError, and code written for either catches it.
AxisError = np.exceptions.AxisError


def one_axis(shape: tuple, axis) -> int:
    """A single axis, normalized to 0..ndim-1 (a 0-d tensor has the one axis 0, as numpy's None)."""
    ndim = max(len(shape), 1)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"axis {axis!r} is not an int (tensor of shape {shape})")
    if not -ndim <= axis < ndim:
        raise AxisError(f"axis {axis!r} is out of range for a tensor of shape {shape}")
    return int(axis) % ndim


def reduce_args(shape: tuple, axis, keepdims, dim, keepdim) -> tuple:
    """Normalize a reduction's arguments: axis -> None or a sorted tuple of non-negative ints."""
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if axis is None:
        return None, bool(keepdims)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = tuple(sorted({one_axis(shape, a) for a in axes}))
    if len(normalized) != len(axes):
        raise ValueError(f"repeated axis in {axis}")
    if len(shape) == 0:  # a 0-d tensor reduces over "axis 0" as numpy's axis=None would
        return None, bool(keepdims)
    return normalized, bool(keepdims)


def shape_args(shape) -> tuple:
    """Accept f(2, 3), f((2, 3)) and f([2, 3])."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"shape entries must be integers, got {shape}")
    return tuple(int(s) for s in shape)


def resolve_shape(old_shape: tuple, shape: tuple) -> tuple:
    """The new shape with its one -1 (if any) filled in; raises unless sizes agree."""
    size = int(np.prod(old_shape))
    known = int(np.prod([s for s in shape if s != -1]))
    unknown = [i for i, s in enumerate(shape) if s == -1]
    bad = len(unknown) > 1 or any(s < -1 for s in shape)
    if not bad and unknown:
        bad = known == 0 or size % known != 0
        shape = shape[: unknown[0]] + (size // max(known, 1),) + shape[unknown[0] + 1 :]
    if bad or int(np.prod(shape)) != size:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {old_shape} into {shape}")
    return shape


def expand_target(old_shape: tuple, shape: tuple) -> tuple:
    """expand's target shape (-1 keeps that axis' size, as PyTorch); raises unless it broadcasts."""
    leading = len(shape) - len(old_shape)
    if leading < 0:
        raise ValueError(f"expand: shape {shape} has fewer axes than the tensor's {old_shape}")
    target = tuple(old_shape[i - leading] if s == -1 else s for i, s in enumerate(shape))
    try:
        if np.broadcast_shapes(old_shape, target) != target:
            raise ValueError
    except ValueError:
        raise ValueError(f"expand: cannot expand shape {old_shape} to {shape}") from None
    return target


def check_broadcast(name: str, *shapes: tuple) -> None:
    """Raise a ValueError naming every shape if they do not broadcast together."""
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(s) for s in shapes)
        raise ValueError(f"{name}: shapes {listed} cannot be broadcast together") from None
