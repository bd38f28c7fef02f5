"""Tensor: the user-facing array with autograd; each method is one call into the engine.

What a method computes and its derivative live in ops.py; recording the node and
walking back are engine.py's; the dtype and argument rules are dtypes.py's. Read
engine.py next, then ops.py.
"""

import numbers
import operator

import numpy as np

from . import dtypes, engine, grad_mode, ops
from .dtypes import DIFFERENTIABLE, SUPPORTED, float32, float64, int64  # noqa: F401 (public)
from .dtypes import shape_args as _shape_args  # noqa: F401 (creation.py reads it here)
from .engine import apply


def set_op_observer(observer) -> None:
    """Install (or remove, with None) an object with after_forward(fn, out) and after_backward(fn, grads)."""
    engine.op_observer = observer


def __getattr__(name: str):
    if name == "op_observer":  # the observer lives in the engine, which calls it
        return engine.op_observer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation."""

    __slots__ = (
        "__weakref__",
        "_changed_at",
        "_data",
        "_grad",
        "_version",
        "grad_fn",
        "requires_grad",
        "retains_grad",
    )
    __array_priority__ = 1000  # so `ndarray + Tensor` defers to Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self._data = dtypes.to_array(data.data if isinstance(data, Tensor) else data, dtype)
        self._grad = self.grad_fn = None
        self.retains_grad = self.requires_grad = False
        self._version = self._changed_at = 0
        self.requires_grad_(requires_grad)

    @staticmethod
    def _wrap(array: np.ndarray) -> "Tensor":
        """A leaf Tensor around an existing array (no copy, no dtype rules)."""
        tensor = Tensor.__new__(Tensor)
        tensor._data, tensor._grad, tensor.grad_fn = array, None, None
        tensor.requires_grad = tensor.retains_grad = False
        tensor._version = tensor._changed_at = 0
        return tensor

    # ------------------------------------------------------------ attributes

    # The getters are C attrgetters, not Python functions: as fast as a plain attribute,
    # and these are read on every op and every optimizer step.

    def _set_data(self, array) -> None:
        if isinstance(array, Tensor):
            array = array._data
        if not isinstance(array, np.ndarray):
            raise TypeError(f"Tensor.data must be a numpy array, got {type(array).__name__}")
        self._data = array
        self.bump_version()

    data = property(
        operator.attrgetter("_data"),
        _set_data,
        doc="The storage. Assigning a new array is an in-place change (it bumps _version).",
    )

    def _set_grad(self, grad) -> None:
        if grad is not None:
            if not isinstance(grad, Tensor):
                raise TypeError(
                    f"Tensor.grad must be a Tensor or None, got {type(grad).__name__} "
                    "(wrap an array as tg.Tensor(array))"
                )
            if grad.shape != self.shape or grad.dtype != self.dtype:
                raise ValueError(
                    f"Tensor.grad must match the tensor: got shape {grad.shape} {grad.dtype}, "
                    f"expected {self.shape} {self.dtype}"
                )
        self._grad = grad

    grad = property(
        operator.attrgetter("_grad"),
        _set_grad,
        doc="The accumulated gradient: a Tensor of this tensor's shape and dtype, or None.",
    )
    shape = property(operator.attrgetter("_data.shape"))
    ndim = property(operator.attrgetter("_data.ndim"))
    size = property(operator.attrgetter("_data.size"))
    dtype = property(operator.attrgetter("_data.dtype"))

    # Record an in-place change of the contents (PyTorch's version counter): optimizers call
    # it after updating `.data` in place; a backward that needs the old values then raises
    # RuntimeError instead of silently using the new ones. (The engine's function itself.)
    bump_version = engine.bump_version

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> "Tensor":
        return self.permute(tuple(reversed(range(self.ndim))))

    def numpy(self) -> np.ndarray:
        return self._data

    def item(self):
        if self._data.size != 1:
            raise ValueError(
                f"item(): only a tensor with one element converts, got shape {self.shape}"
            )
        return self._data.item()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        """NumPy's protocol: np.asarray(t) may share memory, np.array(t) copies (copy=True),
        copy=False refuses when a copy is needed."""
        if copy is False and dtype is not None and np.dtype(dtype) != self.dtype:
            raise ValueError(f"__array__: converting {self.dtype} to {dtype} needs a copy")
        if dtype is not None and np.dtype(dtype) != self.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self._data)

    def __hash__(self) -> int:  # comparisons return tensors, so hash by identity
        return id(self)

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="Tensor(")
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
        if requires_grad and self._data.dtype not in DIFFERENTIABLE:
            raise TypeError(f"only float32/float64 tensors can require gradients, got {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> "Tensor":
        """The same data, cut off from the graph."""
        return Tensor._wrap(self._data)

    def retain_grad(self) -> None:
        """Keep .grad on this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self.retains_grad = True

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Backpropagate: add d(self)/d(leaf) · gradient into every leaf's .grad.

        create_graph=True records the backward pass too, so the gradients can be
        differentiated again; `inputs` limits where gradients accumulate.
        """
        if gradient is None and not create_graph and inputs is None and self.requires_grad:
            if self._data.size != 1:
                raise RuntimeError(
                    f"backward() without `gradient` needs a scalar output, got shape {self.shape}"
                )
            # ones of the output's shape: size 1, so ndmin gives exactly that shape
            seed = np.array(1, self._data.dtype, ndmin=self._data.ndim)
            engine.backward((self,), (seed,), bool(retain_graph), False)
            return
        from .autograd import backward  # the general case: given gradients, create_graph

        backward(self, gradient, retain_graph, create_graph, inputs)

    def __setitem__(self, index, value) -> None:
        """In-place write (bumps _version). Not differentiable: refused on a tensor that
        requires grad while grad mode is on, as PyTorch refuses it on a leaf."""
        if self.requires_grad and grad_mode.state.enabled:
            raise RuntimeError(
                "__setitem__: in-place write into a tensor that requires grad; "
                "wrap it in tg.no_grad() or build the new values with tg.where"
            )
        self._data[_index_data(index)] = value._data if isinstance(value, Tensor) else value
        self.bump_version()

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
        return Tensor._wrap(self._data < _data(other))

    def __le__(self, other):
        return Tensor._wrap(self._data <= _data(other))

    def __gt__(self, other):
        return Tensor._wrap(self._data > _data(other))

    def __ge__(self, other):
        return Tensor._wrap(self._data >= _data(other))

    def __eq__(self, other):
        return Tensor._wrap(self._data == _data(other))

    def __ne__(self, other):
        return Tensor._wrap(self._data != _data(other))

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
        axis, keepdims = dtypes.reduce_args(self.shape, axis, keepdims, dim, keepdim)
        return apply(ops.Sum, self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = dtypes.reduce_args(self.shape, axis, keepdims, dim, keepdim)
        return apply(ops.Mean, self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = dtypes.reduce_args(self.shape, axis, keepdims, dim, keepdim)
        _check_not_empty(self, "max")
        return apply(ops.Max, self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = dtypes.reduce_args(self.shape, axis, keepdims, dim, keepdim)
        _check_not_empty(self, "min")
        return apply(ops.Min, self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, correction=1, *, dim=None, keepdim=None):
        """Variance Σ(x - mean)² / (n - correction), composed from mean, sub, mul and sum
        (so its gradient comes from the graph). n - correction <= 0 gives inf or nan, as PyTorch."""
        axis, keepdims = dtypes.reduce_args(self.shape, axis, keepdims, dim, keepdim)
        count = self.size if axis is None else int(np.prod([self.shape[a] for a in axis]))
        deviation = self - self.mean(axis=axis, keepdims=True)
        squares = (deviation * deviation).sum(axis=axis, keepdims=keepdims)
        if count - correction <= 0:  # no degrees of freedom left: x/0 = inf, 0/0 = nan
            return squares * float("inf")
        return squares / float(count - correction)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = dtypes.reduce_args(self.shape, axis, keepdims, dim, keepdim)
        return apply(ops.LogSumExp, self, axis=axis, keepdims=keepdims)

    def softmax(self, axis=-1, *, dim=None):
        return apply(ops.Softmax, self, axis=dtypes.one_axis(self.shape, axis if dim is None else dim))

    def log_softmax(self, axis=-1, *, dim=None):
        return apply(ops.LogSoftmax, self, axis=dtypes.one_axis(self.shape, axis if dim is None else dim))

    # ------------------------------------------------------------ shape

    def reshape(self, *shape):
        return apply(ops.Reshape, self, shape=dtypes.resolve_shape(self.shape, dtypes.shape_args(shape)))

    view = reshape

    def permute(self, *axes):
        axes = dtypes.shape_args(axes)
        normalized = tuple(dtypes.one_axis(self.shape, a) for a in axes)
        if sorted(normalized) != list(range(self.ndim)):
            raise ValueError(
                f"permute: {axes} is not a permutation of the axes of a {self.ndim}-d tensor"
            )
        return apply(ops.Permute, self, axes=normalized)

    def transpose(self, axis0=-2, axis1=-1):
        axes = list(range(self.ndim))
        axis0, axis1 = dtypes.one_axis(self.shape, axis0), dtypes.one_axis(self.shape, axis1)
        axes[axis0], axes[axis1] = axes[axis1], axes[axis0]
        return self.permute(tuple(axes))

    def flatten(self, start_axis=0, end_axis=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = dtypes.one_axis(self.shape, start_axis), dtypes.one_axis(self.shape, end_axis)
        merged = int(np.prod(self.shape[start : end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1 :])

    def squeeze(self, axis=None):
        if axis is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        axes = {dtypes.one_axis(self.shape, a) for a in ((axis,) if isinstance(axis, int) else axis)}
        return self.reshape(
            tuple(s for i, s in enumerate(self.shape) if not (i in axes and s == 1))
        )

    def unsqueeze(self, axis):
        if not -self.ndim - 1 <= axis <= self.ndim:
            raise ValueError(f"unsqueeze: axis {axis} out of range for a {self.ndim}-d tensor")
        axis = axis % (self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def expand(self, *shape):
        target = dtypes.expand_target(self.shape, dtypes.shape_args(shape))
        return apply(ops.Expand, self, shape=target)

    def __getitem__(self, index):
        return apply(ops.GetItem, self, index=_index_data(index))


engine.Tensor = Tensor  # the engine wraps its results in Tensors without importing this module


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
    axis = dtypes.one_axis(tensors[0].shape, axis)
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
    dtypes.check_broadcast("where", cond.shape, a.shape, b.shape)
    return apply(ops.Where, a, b, cond=cond)


def maximum(a, b) -> Tensor:
    return _binary(ops.Maximum, a, b)


def minimum(a, b) -> Tensor:
    return _binary(ops.Minimum, a, b)


# ---------------------------------------------------------------- helpers


def _data(value):
    return value._data if isinstance(value, Tensor) else value


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
    if type(y) is Tensor and type(x) is Tensor and x._data.dtype is y._data.dtype:
        try:
            return apply(op, x, y)
        except ValueError:
            dtypes.check_broadcast(op.__name__, x.shape, y.shape)
            raise
    x, y = _as_tensor(x, y), _as_tensor(y, x)
    if x._data.dtype is not y._data.dtype:
        x, y = _promote(x, y)
    try:
        return apply(op, x, y)
    except ValueError:
        dtypes.check_broadcast(op.__name__, x.shape, y.shape)
        raise


def _divide(x, y) -> Tensor:
    """True division: integer operands give the default float, as PyTorch."""
    x, y = _as_tensor(x, y), _as_tensor(y, x)
    if x.dtype.kind in "iub" and y.dtype.kind in "iub":
        x, y = Tensor._wrap(x._data.astype(float32)), Tensor._wrap(y._data.astype(float32))
    return _binary(ops.Div, x, y)


def _promote(x: Tensor, y: Tensor) -> tuple:
    """PyTorch's rule for mixed kinds: an integer/bool operand takes the float operand's dtype
    (numpy would make int64 with float32 float64). Float32 with float64 gives float64."""
    if x.dtype.kind in "iub" and y.dtype in DIFFERENTIABLE:
        return Tensor._wrap(x._data.astype(y.dtype)), y
    if y.dtype.kind in "iub" and x.dtype in DIFFERENTIABLE:
        return x, Tensor._wrap(y._data.astype(x.dtype))
    return x, y


def _check_not_empty(t: Tensor, name: str) -> None:
    if t.size == 0:
        raise ValueError(f"{name}: empty tensor of shape {t.shape} has no {name}imum")


def _index_data(index):
    """Replace Tensors inside an index by their arrays (integer or bool)."""
    if isinstance(index, tuple):
        return tuple(_index_data(i) for i in index)
    if isinstance(index, Tensor):
        if index.dtype.kind not in "iub":
            raise IndexError(f"tensors used as indices must be integer or bool, got {index.dtype}")
        return index._data
    if isinstance(index, list):
        return np.asarray(index)
    return index


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
            t if t.dtype in DIFFERENTIABLE else Tensor._wrap(t._data.astype(widest)) for t in tensors
        ]
    return tensors


