"""Tensor: a numpy array that remembers how it was made, and backward() to walk that back.

`apply` is the one place the graph is built (each result keeps the Function that
made it); `Tensor.backward` is the one place gradients flow (reverse topological
order, no recursion). Every method below is one call to `apply`. Read ops.py for
the derivatives and gradcheck.py for how they are tested.
"""

import itertools
import numbers
import weakref

import numpy as np

from . import grad_mode, ops
from .function import Function

float32, float64, int64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)
DIFFERENTIABLE = (float32, float64)
SUPPORTED = (float32, float64, int64, np.dtype(bool))

_op_counter = itertools.count()  # numbers recorded ops in the order they run

# Set by diagnostics.detect_anomaly: sees every op's forward output and backward grads.
op_observer = None


def set_op_observer(observer) -> None:
    """Install (or remove, with None) an object with after_forward(fn, out) and after_backward(fn, grads)."""
    global op_observer
    op_observer = observer


def apply(fn_class: type, *inputs: "Tensor", **params) -> "Tensor":
    """Run one op forward and, if any input wants a gradient, record it in the graph."""
    fn = fn_class()
    data = fn.forward(*[t.data for t in inputs], **params)
    if type(data) is not np.ndarray:  # numpy returns 0-d results as scalars (np.float32)
        data = np.asarray(data)
    out = Tensor._wrap(data)
    if grad_mode.state.enabled:
        needs_input_grad = tuple([t.requires_grad for t in inputs])
        if True in needs_input_grad:
            # Link to the node that made each input, not the input itself (as PyTorch's
            # next_functions): an intermediate array is freed as soon as no op saved it.
            fn.parents = tuple([t if t.grad_fn is None else t.grad_fn for t in inputs])
            fn.needs_input_grad, fn.released = needs_input_grad, False
            fn.sequence_number = next(_op_counter)
            fn.output, fn.output_dtype, fn.output_shape = weakref.ref(out), data.dtype, data.shape
            out.grad_fn, out.requires_grad = fn, True
    if op_observer is not None:
        op_observer.after_forward(fn, data)
    return out


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation."""

    __slots__ = ("__weakref__", "data", "grad", "grad_fn", "requires_grad", "retains_grad")
    __array_priority__ = 1000  # so `ndarray + Tensor` defers to Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self.grad_fn = None
        self.retains_grad = False
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    # ------------------------------------------------------------ attributes

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> "Tensor":
        return self.permute(tuple(reversed(range(self.ndim))))

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(
                f"item(): only a tensor with one element converts, got shape {self.shape}"
            )
        return self.data.item()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    def __hash__(self) -> int:  # comparisons return tensors, so hash by identity
        return id(self)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extras = []
        if self.dtype not in (float32, int64, np.dtype(bool)):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "Tensor(" + ", ".join([body] + extras) + ")"

    # ------------------------------------------------------------ autograd

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype not in DIFFERENTIABLE:
            raise TypeError(f"only float32/float64 tensors can require gradients, got {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> "Tensor":
        """The same data, cut off from the graph."""
        return Tensor._wrap(self.data)

    def retain_grad(self) -> None:
        """Keep .grad on this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self.retains_grad = True

    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Backpropagate: add d(self)/d(leaf) · gradient into every leaf's .grad.

        Visits the graph in reverse topological order, so each node's gradient is
        complete (summed over all its uses) before it is passed on.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (no graph)")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without `gradient` needs a scalar output, got shape {self.shape}"
                )
            grad = np.ones(self.shape, self.dtype)
        else:
            grad = np.asarray(
                gradient.data if isinstance(gradient, Tensor) else gradient, self.dtype
            )
            if grad.shape != self.shape:
                raise ValueError(f"gradient has shape {grad.shape}, expected {self.shape}")
        if self.grad_fn is None:  # a leaf: its gradient with respect to itself
            self._accumulate_grad(grad, owned=False)
            return
        pending = {self.grad_fn: grad}  # Function -> dLoss/d(its output), summed over uses
        for fn in _functions_last_first(self.grad_fn):
            grad = pending.pop(fn)
            output = fn.output()  # alive only while someone holds the tensor
            if output is not None and output.retains_grad:
                output._accumulate_grad(grad, owned=False)
            input_grads = fn.backward(grad)
            if op_observer is not None:
                op_observer.after_backward(fn, input_grads)
            for parent, parent_grad in zip(fn.parents, input_grads):
                if parent_grad is None:
                    continue
                if isinstance(parent, Tensor):  # a leaf: the gradient lands in its .grad
                    if parent.requires_grad:
                        parent_grad = _as_dtype(parent_grad, parent.data.dtype)
                        parent._accumulate_grad(
                            parent_grad, _is_fresh(parent_grad, grad, input_grads)
                        )
                    continue
                # parent is the node that made this input. Out of place: an op may return
                # the same array for two inputs.
                parent_grad = _as_dtype(parent_grad, parent.output_dtype)
                earlier = pending.get(parent)
                pending[parent] = parent_grad if earlier is None else earlier + parent_grad
            if not retain_graph:
                fn.release()

    def _accumulate_grad(self, grad: np.ndarray, owned: bool) -> None:
        """Add `grad` into .grad, out of place. `owned`: nothing else holds `grad`, so the
        first gradient can be kept as it is instead of copied."""
        if grad.shape != self.shape:
            raise RuntimeError(
                f"internal error: gradient of shape {grad.shape} for a tensor of shape {self.shape}"
            )
        if self.grad is not None:
            self.grad = Tensor._wrap(self.grad.data + grad)
        else:
            # .grad may be changed in place later (clipping, zero_grad), so it must not be a
            # view or an array another tensor or the graph also holds.
            self.grad = Tensor._wrap(grad if owned else np.array(grad, self.dtype))

    @staticmethod
    def _wrap(array: np.ndarray) -> "Tensor":
        """A leaf Tensor around an existing array (no copy, no dtype rules)."""
        tensor = Tensor.__new__(Tensor)
        tensor.data, tensor.grad, tensor.grad_fn = array, None, None
        tensor.requires_grad = tensor.retains_grad = False
        return tensor

    # ------------------------------------------------------------ arithmetic

    def __add__(self, other):
        return _binary(ops.Add, self, other)

    def __radd__(self, other):
        return _binary(ops.Add, other, self)

    def __sub__(self, other):
        return _binary(ops.Sub, self, other)

    def __rsub__(self, other):
        return _binary(ops.Sub, other, self)

    def __mul__(self, other):
        return _binary(ops.Mul, self, other)

    def __rmul__(self, other):
        return _binary(ops.Mul, other, self)

    def __truediv__(self, other):
        return _divide(self, other)

    def __rtruediv__(self, other):
        return _divide(other, self)

    def __pow__(self, exponent):
        return _binary(ops.Pow, self, exponent)

    def __rpow__(self, base):
        return _binary(ops.Pow, base, self)

    def __neg__(self):
        return apply(ops.Neg, self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    # Comparisons give bool tensors, outside the graph.
    def __lt__(self, other):
        return Tensor._wrap(self.data < _data(other))

    def __le__(self, other):
        return Tensor._wrap(self.data <= _data(other))

    def __gt__(self, other):
        return Tensor._wrap(self.data > _data(other))

    def __ge__(self, other):
        return Tensor._wrap(self.data >= _data(other))

    def __eq__(self, other):
        return Tensor._wrap(self.data == _data(other))

    def __ne__(self, other):
        return Tensor._wrap(self.data != _data(other))

    # ------------------------------------------------------------ elementwise

    def exp(self):
        return apply(ops.Exp, self)

    def log(self):
        return apply(ops.Log, self)

    def log1p(self):
        return apply(ops.Log1p, self)

    def sqrt(self):
        return apply(ops.Sqrt, self)

    def abs(self):
        return apply(ops.Abs, self)

    def relu(self):
        return apply(ops.ReLU, self)

    def leaky_relu(self, negative_slope: float = 0.01):
        return apply(ops.LeakyReLU, self, negative_slope=negative_slope)

    def sigmoid(self):
        return apply(ops.Sigmoid, self)

    def tanh(self):
        return apply(ops.Tanh, self)

    def clip(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clip: at least one of min and max must be given")
        return apply(ops.Clip, self, low=min, high=max)

    clamp = clip

    def astype(self, dtype) -> "Tensor":
        dtype = np.dtype(dtype)
        return self if dtype == self.dtype else apply(ops.Cast, self, dtype=dtype)

    def float(self) -> "Tensor":
        return self.astype(float32)

    def double(self) -> "Tensor":
        return self.astype(float64)

    # ------------------------------------------------------------ reductions

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _reduce_args(self, axis, keepdims, dim, keepdim)
        return apply(ops.Sum, self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _reduce_args(self, axis, keepdims, dim, keepdim)
        return apply(ops.Mean, self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _reduce_args(self, axis, keepdims, dim, keepdim)
        _check_not_empty(self, "max")
        return apply(ops.Max, self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _reduce_args(self, axis, keepdims, dim, keepdim)
        _check_not_empty(self, "min")
        return apply(ops.Min, self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, correction=1, *, dim=None, keepdim=None):
        """Variance Σ(x - mean)² / (n - correction), composed from mean, sub, mul and sum
        (so its gradient comes from the graph). n - correction <= 0 gives inf or nan, as PyTorch."""
        axis, keepdims = _reduce_args(self, axis, keepdims, dim, keepdim)
        count = self.size if axis is None else int(np.prod([self.shape[a] for a in axis]))
        deviation = self - self.mean(axis=axis, keepdims=True)
        squares = (deviation * deviation).sum(axis=axis, keepdims=keepdims)
        if count - correction <= 0:  # no degrees of freedom left: x/0 = inf, 0/0 = nan
            return squares * float("inf")
        return squares / float(count - correction)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _reduce_args(self, axis, keepdims, dim, keepdim)
        return apply(ops.LogSumExp, self, axis=axis, keepdims=keepdims)

    def softmax(self, axis=-1, *, dim=None):
        return apply(ops.Softmax, self, axis=_one_axis(self, axis if dim is None else dim))

    def log_softmax(self, axis=-1, *, dim=None):
        return apply(ops.LogSoftmax, self, axis=_one_axis(self, axis if dim is None else dim))

    # ------------------------------------------------------------ shape

    def reshape(self, *shape):
        return apply(ops.Reshape, self, shape=_resolve_shape(self.shape, _shape_args(shape)))

    view = reshape

    def permute(self, *axes):
        axes = _shape_args(axes)
        normalized = tuple(_one_axis(self, a) for a in axes)
        if sorted(normalized) != list(range(self.ndim)):
            raise ValueError(
                f"permute: {axes} is not a permutation of the axes of a {self.ndim}-d tensor"
            )
        return apply(ops.Permute, self, axes=normalized)

    def transpose(self, axis0=-2, axis1=-1):
        axes = list(range(self.ndim))
        axis0, axis1 = _one_axis(self, axis0), _one_axis(self, axis1)
        axes[axis0], axes[axis1] = axes[axis1], axes[axis0]
        return self.permute(tuple(axes))

    def flatten(self, start_axis=0, end_axis=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _one_axis(self, start_axis), _one_axis(self, end_axis)
        merged = int(np.prod(self.shape[start : end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1 :])

    def squeeze(self, axis=None):
        if axis is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        axes = {_one_axis(self, a) for a in ((axis,) if isinstance(axis, int) else axis)}
        return self.reshape(
            tuple(s for i, s in enumerate(self.shape) if not (i in axes and s == 1))
        )

    def unsqueeze(self, axis):
        if not -self.ndim - 1 <= axis <= self.ndim:
            raise ValueError(f"unsqueeze: axis {axis} out of range for a {self.ndim}-d tensor")
        axis = axis % (self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def expand(self, *shape):
        shape = _shape_args(shape)
        leading = len(shape) - self.ndim
        if leading < 0:
            raise ValueError(f"expand: shape {shape} has fewer axes than the tensor's {self.shape}")
        # -1 keeps the existing size of that axis, as in PyTorch.
        target = tuple(self.shape[i - leading] if s == -1 else s for i, s in enumerate(shape))
        try:
            np.broadcast_shapes(self.shape, target)
            if np.broadcast_shapes(self.shape, target) != target:
                raise ValueError
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {self.shape} to {shape}") from None
        return apply(ops.Expand, self, shape=target)

    def __getitem__(self, index):
        return apply(ops.GetItem, self, index=_index_data(index))


# ---------------------------------------------------------------- module functions


def matmul(x, y) -> Tensor:
    """x @ y with np.matmul's rules (1-D, 2-D, batched N-D with broadcasting)."""
    x, y = _promote(_as_tensor(x, y), _as_tensor(y, x))
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"matmul: operands must be at least 1-D, got shapes {x.shape} and {y.shape}"
        )
    inner_x, inner_y = x.shape[-1], y.shape[0] if y.ndim == 1 else y.shape[-2]
    if inner_x != inner_y:
        raise ValueError(f"matmul: inner dimensions differ: shapes {x.shape} and {y.shape}")
    if x.ndim > 2 or y.ndim > 2:
        try:
            np.broadcast_shapes(x.shape[:-2], y.shape[:-2] if y.ndim > 1 else ())
        except ValueError:
            raise ValueError(
                f"matmul: batch shapes of {x.shape} and {y.shape} do not broadcast"
            ) from None
    return apply(ops.MatMul, x, y)


def concatenate(tensors, axis: int = 0) -> Tensor:
    tensors = _check_sequence(tensors, "concatenate")
    axis = _one_axis(tensors[0], axis)
    first = tensors[0]
    for t in tensors[1:]:
        if t.ndim != first.ndim or _without(t.shape, axis) != _without(first.shape, axis):
            raise ValueError(
                f"concatenate: shapes {tensors[0].shape} and {t.shape} differ off axis {axis}"
            )
    return apply(ops.Concatenate, *tensors, axis=axis)


cat = concatenate


def stack(tensors, axis: int = 0) -> Tensor:
    tensors = _check_sequence(tensors, "stack")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: all shapes must match, got {tensors[0].shape} and {t.shape}")
    if not -tensors[0].ndim - 1 <= axis <= tensors[0].ndim:
        raise ValueError(f"stack: axis {axis} out of range for {tensors[0].ndim}-d tensors")
    return apply(ops.Stack, *tensors, axis=axis % (tensors[0].ndim + 1))


def where(cond, a, b) -> Tensor:
    """a where cond else b; cond is a bool Tensor or bool np.ndarray (not differentiated)."""
    cond = _data(cond)
    if not isinstance(cond, np.ndarray) or cond.dtype != bool:
        raise TypeError(
            f"where: cond must be a bool Tensor or bool ndarray, got {type(cond).__name__}"
        )
    a, b = _promote(_as_tensor(a, b), _as_tensor(b, a))
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape}, {a.shape} and {b.shape} cannot be broadcast together"
        ) from None
    return apply(ops.Where, a, b, cond=cond)


def maximum(a, b) -> Tensor:
    return _binary(ops.Maximum, a, b)


def minimum(a, b) -> Tensor:
    return _binary(ops.Minimum, a, b)


# ---------------------------------------------------------------- helpers


def _to_array(data, dtype) -> np.ndarray:
    """Construction's dtype rules: Python floats -> float32, integers -> int64, float arrays keep theirs."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in SUPPORTED:
            raise TypeError(
                f"Tensor: unsupported dtype {dtype} (use float32, float64, int64 or bool)"
            )
        return np.array(data, dtype=dtype, order="C")
    from_python = not isinstance(data, np.ndarray)
    array = np.array(data, order="C")  # a copy: the tensor never aliases the caller's array
    if from_python and array.dtype == float64:  # Python floats: the default float, as PyTorch
        array = array.astype(float32)
    kind = array.dtype.kind
    if kind == "f":
        native = array.dtype.newbyteorder("=")  # a big-endian float64 is still a float64
        return array.astype(native if native in DIFFERENTIABLE else float32, copy=False)
    if kind in "iu":
        return array.astype(int64, copy=False)
    if kind == "b":
        return array
    raise TypeError(
        f"Tensor: unsupported data of dtype {array.dtype} (use floats, integers or bools)"
    )


def _data(value):
    return value.data if isinstance(value, Tensor) else value


def _as_tensor(value, like) -> Tensor:
    """A Tensor for `value`; a Python number takes the other operand's float dtype (as PyTorch)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, numbers.Number) and isinstance(like, Tensor):
        if like.dtype in DIFFERENTIABLE:
            return Tensor._wrap(np.asarray(value, like.dtype))
        if isinstance(value, float):  # int tensor with a Python float: the default float
            return Tensor._wrap(np.asarray(value, float32))
    if isinstance(value, (numbers.Number, list, tuple, np.ndarray, np.generic)):
        return Tensor(value)
    raise TypeError(f"expected a Tensor, array or number, got {type(value).__name__}")


def _binary(op: type, x, y) -> Tensor:
    # Fast path, the common case on the hot path: two tensors of one dtype.
    if type(y) is Tensor and type(x) is Tensor and x.data.dtype is y.data.dtype:
        try:
            return apply(op, x, y)
        except ValueError:
            _check_broadcast(op, x, y)
            raise
    x, y = _as_tensor(x, y), _as_tensor(y, x)
    if x.data.dtype is not y.data.dtype:
        x, y = _promote(x, y)
    try:
        return apply(op, x, y)
    except ValueError:
        _check_broadcast(op, x, y)
        raise


def _check_broadcast(op: type, x: Tensor, y: Tensor) -> None:
    """Raise a ValueError naming both shapes if they do not broadcast."""
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise ValueError(
            f"{op.__name__}: shapes {x.shape} and {y.shape} cannot be broadcast together"
        ) from None


def _divide(x, y) -> Tensor:
    """True division: integer operands give the default float, as PyTorch."""
    x, y = _as_tensor(x, y), _as_tensor(y, x)
    if x.dtype.kind in "iub" and y.dtype.kind in "iub":
        x, y = Tensor._wrap(x.data.astype(float32)), Tensor._wrap(y.data.astype(float32))
    return _binary(ops.Div, x, y)


def _promote(x: Tensor, y: Tensor) -> tuple:
    """PyTorch's rule for mixed kinds: an integer/bool operand takes the float operand's dtype
    (numpy would make int64 with float32 float64). Float32 with float64 gives float64."""
    if x.dtype.kind in "iub" and y.dtype in DIFFERENTIABLE:
        return Tensor._wrap(x.data.astype(y.dtype)), y
    if y.dtype.kind in "iub" and x.dtype in DIFFERENTIABLE:
        return x, Tensor._wrap(y.data.astype(x.dtype))
    return x, y


def _one_axis(t: Tensor, axis: int) -> int:
    ndim = max(t.ndim, 1)
    if (
        isinstance(axis, bool)
        or not isinstance(axis, (int, np.integer))
        or not -ndim <= axis < ndim
    ):
        raise ValueError(f"axis {axis!r} is out of range for a tensor of shape {t.shape}")
    return int(axis) % ndim


def _reduce_args(t: Tensor, axis, keepdims, dim, keepdim):
    """Normalize a reduction's arguments: axis -> None or a sorted tuple of non-negative ints."""
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if axis is None:
        return None, bool(keepdims)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = tuple(sorted({_one_axis(t, a) for a in axes}))
    if len(normalized) != len(axes):
        raise ValueError(f"repeated axis in {axis}")
    if t.ndim == 0:  # a 0-d tensor reduces over "axis 0" as numpy's axis=None would
        return None, bool(keepdims)
    return normalized, bool(keepdims)


def _check_not_empty(t: Tensor, name: str) -> None:
    if t.size == 0:
        raise ValueError(f"{name}: empty tensor of shape {t.shape} has no {name}imum")


def _shape_args(shape) -> tuple:
    """Accept f(2, 3), f((2, 3)) and f([2, 3])."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"shape entries must be integers, got {shape}")
    return tuple(int(s) for s in shape)


def _resolve_shape(old_shape: tuple, shape: tuple) -> tuple:
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


def _index_data(index):
    """Replace Tensors inside an index by their arrays (integer or bool)."""
    if isinstance(index, tuple):
        return tuple(_index_data(i) for i in index)
    if isinstance(index, Tensor):
        if index.dtype.kind not in "iub":
            raise IndexError(f"tensors used as indices must be integer or bool, got {index.dtype}")
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _as_dtype(grad: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A gradient has its tensor's dtype (a float64 op may feed a float32 one)."""
    return grad if grad.dtype == dtype else grad.astype(dtype)


def _is_fresh(parent_grad, upstream_grad, input_grads) -> bool:
    """True when an op's backward made `parent_grad` just now and gave it to one input only:
    not the upstream gradient passed through (as Add does), not a view, not a numpy scalar."""
    return (
        type(parent_grad) is np.ndarray
        and parent_grad is not upstream_grad
        and parent_grad.base is None
        and parent_grad.flags.writeable
        and sum(g is parent_grad for g in input_grads) == 1
    )


def _without(shape: tuple, axis: int) -> tuple:
    return shape[:axis] + shape[axis + 1 :]


def _check_sequence(tensors, name: str) -> list:
    """Tensors to join, with integer ones cast to the float dtype among them (as _promote)."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{name}: needs at least one tensor")
    floats = [t.dtype for t in tensors if t.dtype in DIFFERENTIABLE]
    if floats:
        widest = max(floats, key=lambda dtype: dtype.itemsize)
        tensors = [
            t if t.dtype in DIFFERENTIABLE else Tensor._wrap(t.data.astype(widest)) for t in tensors
        ]
    return tensors


def _functions_last_first(root: Function) -> list:
    """Every Function that `root` depends on, the most recently run first.

    Ops record a sequence number when they run, and an op always runs after the
    ops that made its inputs; so walking them by decreasing number visits each
    node only after every node that uses its output (a reverse topological order),
    and each node's gradient is complete before it is passed on. The search uses
    an explicit stack: a 100,000-op chain does not hit Python's recursion limit.
    """
    found, stack = {root}, [root]
    while stack:
        fn = stack.pop()
        if fn.released:
            raise RuntimeError(
                "backward through the graph a second time: its saved arrays were freed after "
                "the first backward; pass retain_graph=True to the first backward() to keep them"
            )
        for parent in fn.parents:
            if isinstance(parent, Function) and parent not in found:
                found.add(parent)
                stack.append(parent)
    return sorted(found, key=_sequence_number, reverse=True)


def _sequence_number(fn: Function) -> int:
    return fn.sequence_number
