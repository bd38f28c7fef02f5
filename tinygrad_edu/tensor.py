"""Tensor: the user-facing array with autograd; each method is one call into the engine.

What a method computes and its derivative live in ops.py; recording the node and
walking back are engine.py's; the dtype and argument rules are dtypes.py's. Read
engine.py next, then ops.py.
"""

import numbers
import operator
from collections import namedtuple

import numpy as np

from . import dtypes, engine, grad_mode, ops, ops_shape, random
from .dtypes import DIFFERENTIABLE, SUPPORTED, float32, float64, int64  # noqa: F401 (public)
from .dtypes import AxisError
from .dtypes import shape_args as _shape_args  # noqa: F401 (creation.py reads it here)
from .engine import apply
from . import ops_math, ops_special  # noqa: I001 (the wider math surface, PyTorch's names)


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
        """A leaf Tensor around an existing array (no copy, no dtype rules). numpy gives
        0-d results (a comparison, a reduction, x[i, j]) as scalars: they become 0-d arrays."""
        if type(array) is not np.ndarray:
            array = np.asarray(array)
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
    dtype = property(operator.attrgetter("_data.dtype"))

    def size(self, dim=None):
        """PyTorch's method: the shape tuple, or the length of axis `dim`."""
        if dim is None:
            return self._data.shape
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"size: dim must be an int, got {type(dim).__name__}")
        if not -self.ndim <= dim < self.ndim:
            raise AxisError(f"size: dim {dim} is out of range for a tensor of shape {self.shape}")
        return self._data.shape[dim]

    def numel(self) -> int:
        """The number of elements."""
        return self._data.size

    def dim(self) -> int:
        """The number of axes (as .ndim)."""
        return self._data.ndim

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
        *first_steps, last_step = _torch_index(index, self.ndim)
        target = self._data
        for step in first_steps:  # ints and whole slices: a view of the same memory
            target = target[step]
        target[last_step] = value._data if isinstance(value, Tensor) else value
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

    def __abs__(self):
        return self.abs()

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

    # ---- math, reductions and conversions (PyTorch surface): ops_math.py's ops and
    # ---- compositions of existing ones; activations delegate to nn/activation.py

    def clone(self) -> "Tensor":
        """A copy in new memory, still in the graph (the gradient passes unchanged)."""
        return apply(ops_math.Clone, self)

    def to(self, *args, dtype=None, device=None, copy: bool = False) -> "Tensor":
        """PyTorch's to(): a dtype, a tensor (take its dtype) or the device "cpu", in any
        order; itself when nothing changes (unless copy=True)."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str) or arg is None:
                device = arg
            else:
                dtype = arg
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(f"to: only the device 'cpu' exists here, got {device!r}")
        out = self if dtype is None else self.astype(dtype)
        return out.clone() if copy and out is self else out

    def long(self) -> "Tensor":
        return self.astype(int64)

    def matmul(self, other) -> "Tensor":
        return matmul(self, other)

    def pow(self, exponent) -> "Tensor":
        return self**exponent

    @property
    def mT(self) -> "Tensor":
        """The last two axes swapped (a batch of matrices, each transposed)."""
        if self.ndim < 2:
            raise ValueError(f"mT: needs a tensor with at least 2 axes, got shape {self.shape}")
        return self.transpose(-2, -1)

    def sin(self):
        return apply(ops_math.Sin, _as_float(self))

    def cos(self):
        return apply(ops_math.Cos, _as_float(self))

    def tan(self):
        return apply(ops_math.Tan, _as_float(self))

    def log2(self):
        return apply(ops_math.Log2, _as_float(self))

    def exp2(self):
        return apply(ops_math.Exp2, _as_float(self))

    def erf(self):
        return apply(ops_special.Erf, _as_float(self))

    def square(self):
        """x · x (Mul's derivative: 2x); integers stay integers, as PyTorch."""
        return self * self

    def reciprocal(self):
        """1 / x (Div's derivative: -1/x²); integers give the default float."""
        return 1.0 / _as_float(self)

    def rsqrt(self):
        """1 / √x (from the graph: -½ x^(-3/2))."""
        return _as_float(self).sqrt().reciprocal()

    # Piecewise constant: zero gradient (as PyTorch); an integer input is already whole.
    def floor(self):
        return _rounded(self, ops_math.Floor)

    def ceil(self):
        return _rounded(self, ops_math.Ceil)

    def trunc(self):
        return _rounded(self, ops_math.Trunc)

    def round(self, decimals: int = 0):
        if decimals != 0 and self.dtype not in DIFFERENTIABLE:
            raise TypeError(f"round: decimals needs a float tensor, got {self.dtype}")
        return _rounded(self, ops_math.Round, decimals=int(decimals))

    def sign(self):
        if self.dtype == np.dtype(bool):  # True and False are their own signs (as PyTorch)
            return Tensor._wrap(self._data.copy())
        if self.dtype not in DIFFERENTIABLE:
            return Tensor._wrap(np.sign(self._data))
        return apply(ops_math.Sign, self)

    def argmax(self, dim=None, keepdim: bool = False) -> "Tensor":
        """The int64 index of the largest value (the first, among ties) over `dim`, or of the
        flattened tensor; outside the graph, as PyTorch."""
        return _arg_extreme(self, "argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim: bool = False) -> "Tensor":
        return _arg_extreme(self, "argmin", dim, keepdim)

    def std(self, dim=None, correction=1, keepdim=False, *, axis=None, keepdims=None):
        """√var: ops_math.Std (its gradient is 0 where the input is constant, as PyTorch)."""
        axis, keepdims = dtypes.reduce_args(self.shape, dim, keepdim, axis, keepdims)
        x = _as_float(self)
        return apply(ops_math.Std, x, axis=axis, keepdims=keepdims, correction=correction)

    def prod(self, dim=None, keepdim: bool = False) -> "Tensor":
        """Π x over `dim` (an int) or over everything, as a tree of multiplications: its
        gradient is Mul's product rule, Π of the other elements, exact where x has zeros."""
        x = self if self.dtype != np.dtype(bool) else self.astype(int64)
        if dim is None:
            out = _product_along(x.reshape(-1), 0).reshape(())
            return out.reshape((1,) * self.ndim) if keepdim else out
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
            raise TypeError(f"prod: dim must be an int or None, got {dim!r}")
        if self.ndim == 0:
            dtypes.one_axis(self.shape, dim)
            return x.clone()
        axis = dtypes.one_axis(self.shape, dim)
        out = _product_along(x, axis)
        return out if keepdim else out.squeeze(axis)

    def cumsum(self, dim) -> "Tensor":
        """Running sums along `dim` (ops_math.Cumsum); integers and bools sum as int64."""
        axis = dtypes.one_axis(self.shape, dim)
        x = self if self.dtype != np.dtype(bool) else self.astype(int64)
        if self.ndim == 0:
            return x.clone()
        return apply(ops_math.Cumsum, x, axis=axis)

    def multinomial(self, num_samples: int, replacement: bool = False):
        """Category indices drawn with probability proportional to each row (torch's):
        non-negative weights of shape (k,) or (n, k), not necessarily summing to 1, give
        int64 indices of shape (num_samples,) or (n, num_samples). Without replacement each
        draw removes its category, so at most as many samples as a row has non-zero
        weights. Not differentiable."""
        weights = self._data
        if weights.dtype.kind != "f":
            raise TypeError("multinomial: input must be a float Tensor of weights")
        if weights.ndim not in (1, 2) or weights.shape[-1] == 0:
            raise ValueError(
                f"multinomial: input must be 1-d or 2-d with categories, got {weights.shape}"
            )
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
            raise TypeError(f"multinomial: num_samples must be an int, got {num_samples!r}")
        if num_samples <= 0:
            raise ValueError(f"multinomial: num_samples must be positive, got {num_samples}")
        rows = np.atleast_2d(weights).astype(np.float64)
        if not np.isfinite(rows).all() or (rows < 0).any():
            raise ValueError(
                "multinomial: weights must be finite and non-negative (inf, nan or < 0 found)"
            )
        totals = rows.sum(axis=1)
        if (totals <= 0).any():
            raise ValueError("multinomial: every row needs a positive sum of weights")
        nonzero = int(np.count_nonzero(rows, axis=1).min())
        if not replacement and num_samples > nonzero:
            raise ValueError(
                f"multinomial: {num_samples} samples without replacement, but a row has only "
                f"{nonzero} categories of non-zero weight"
            )
        draw = random.generator().choice
        indices = np.array(
            [draw(row.size, num_samples, bool(replacement), row / total)
             for row, total in zip(rows, totals)],
            dtype=np.int64,
        )  # fmt: skip
        return Tensor._wrap(indices[0] if weights.ndim == 1 else indices)

    def gelu(self, approximate: str = "none"):
        from .nn import activation  # nn imports tensor: imported when first called

        return activation.gelu(self, approximate)

    def silu(self):
        from .nn import activation

        return activation.silu(self)

    def softplus(self, beta: float = 1.0, threshold: float = 20.0):
        from .nn import activation

        return activation.softplus(self, beta, threshold)

    def elu(self, alpha: float = 1.0):
        from .nn import activation

        return activation.elu(self, alpha)

    def selu(self):
        from .nn import activation

        return activation.selu(self)

    def celu(self, alpha: float = 1.0):
        from .nn import activation

        return activation.celu(self, alpha)

    def mish(self):
        from .nn import activation

        return activation.mish(self)

    def hardtanh(self, min_val: float = -1.0, max_val: float = 1.0):
        from .nn import activation

        return activation.hardtanh(self, min_val, max_val)

    def relu6(self):
        from .nn import activation

        return activation.relu6(self)

    def hardswish(self):
        from .nn import activation

        return activation.hardswish(self)

    def hardsigmoid(self):
        from .nn import activation

        return activation.hardsigmoid(self)

    def softsign(self):
        from .nn import activation

        return activation.softsign(self)

    def logsigmoid(self):
        from .nn import activation

        return activation.logsigmoid(self)

    # ---- end of math, reductions and conversions

    def clip(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clip: at least one of min and max must be given")
        return apply(ops.Clip, self, low=min, high=max)

    clamp = clip

    def astype(self, dtype) -> "Tensor":
        """This tensor converted to `dtype` (itself if it has it already). A cast to an
        integer or bool dtype leaves the graph, as PyTorch: no gradient flows through it."""
        dtype = np.dtype(dtype)
        if dtype not in dtypes.SUPPORTED:
            raise TypeError(f"unsupported dtype {dtype} (use float32, float64, int64 or bool)")
        if dtype == self.dtype:
            return self
        if dtype not in DIFFERENTIABLE:
            return Tensor._wrap(self._data.astype(dtype))
        return apply(ops.Cast, self, dtype=dtype)

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

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """PyTorch's max: t.max() is the largest value (ties share the gradient evenly);
        t.max(dim) is a named tuple (values, indices), the gradient going to the index;
        t.max(other) is tg.maximum(t, other). Values over several axes: amax."""
        if isinstance(dim, Tensor):
            return maximum(self, dim)
        return _extreme(self, "max", dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """PyTorch's min: as max, for the smallest value (t.min(other) is tg.minimum)."""
        if isinstance(dim, Tensor):
            return minimum(self, dim)
        return _extreme(self, "min", dim, keepdim, axis, keepdims)

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The largest values over `dim` (an int, a tuple, or None for all); ties share
        the gradient evenly."""
        axis, keepdims = _extreme_axes(self, "amax", dim, keepdim, axis, keepdims)
        return apply(ops.Max, self, axis=axis, keepdims=keepdims)

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The smallest values over `dim` (an int, a tuple, or None for all); ties share
        the gradient evenly."""
        axis, keepdims = _extreme_axes(self, "amin", dim, keepdim, axis, keepdims)
        return apply(ops.Min, self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, correction=1, *, dim=None, keepdim=None):
        """Variance Σ(x - mean)² / (n - correction), composed from mean, sub, mul and sum
        (so its gradient comes from the graph). n - correction <= 0 gives inf or nan, as PyTorch."""
        axis, keepdims = dtypes.reduce_args(self.shape, axis, keepdims, dim, keepdim)
        count = self.numel() if axis is None else int(np.prod([self.shape[a] for a in axis]))
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
            raise AxisError(f"unsqueeze: axis {axis} out of range for a {self.ndim}-d tensor")
        axis = axis % (self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def expand(self, *shape):
        target = dtypes.expand_target(self.shape, dtypes.shape_args(shape))
        return apply(ops.Expand, self, shape=target)

    # ---- shape and selection (PyTorch surface): flip, repeat, split, chunk, tril, triu,
    # gather, masked_fill, where. Derivatives in ops_shape.py, or composed of GetItem/Where.

    def flip(self, *dims):
        dims = dtypes.shape_args(dims)
        normalized = [dtypes.one_axis(self.shape, d) for d in dims]
        if len(set(normalized)) != len(normalized):
            raise ValueError(f"flip: dims {dims} name an axis more than once")
        return apply(ops_shape.Flip, self, dims=tuple(normalized) if self.ndim else ())

    def repeat(self, *sizes):
        sizes = dtypes.shape_args(sizes)
        if len(sizes) < self.ndim:
            raise ValueError(
                f"repeat: {len(sizes)} repeat counts for a {self.ndim}-d tensor "
                "(give at least one per axis; leading extra counts add axes)"
            )
        if any(s < 0 for s in sizes):
            raise ValueError(f"repeat: counts must be non-negative, got {sizes}")
        return apply(ops_shape.Repeat, self, sizes=sizes)

    def split(self, split_size_or_sections, dim=0):
        """Pieces along `dim`: of `split_size` each (the last smaller), or of the listed sizes."""
        if self.ndim == 0:
            raise ValueError("split: a 0-d tensor has no axis to split")
        dim = dtypes.one_axis(self.shape, dim)
        length = self.shape[dim]
        if isinstance(split_size_or_sections, (int, np.integer)) and not isinstance(
            split_size_or_sections, bool
        ):
            size = int(split_size_or_sections)
            if size < 0 or (size == 0 and length != 0):
                raise ValueError(
                    f"split: split_size must be positive (0 only for an empty axis), got {size}"
                )
            sizes = [min(size, length - start) for start in range(0, length, size)] if size else []
            sizes = sizes or [0]  # an empty axis still gives one (empty) piece
        else:
            sizes = list(dtypes.shape_args((split_size_or_sections,)))
            if any(s < 0 for s in sizes) or sum(sizes) != length:
                raise ValueError(
                    f"split: sizes {sizes} must be non-negative and sum to {length}, "
                    f"the size of axis {dim}"
                )
        return self._pieces(sizes, dim)

    def chunk(self, chunks, dim=0):
        """`chunks` pieces of ceil(n / chunks) along `dim` (fewer when they run out, as PyTorch)."""
        if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
            raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
        if self.ndim == 0:
            raise ValueError("chunk: a 0-d tensor has no axis to split")
        length = self.shape[dtypes.one_axis(self.shape, dim)]
        if length == 0:
            return self.split([0] * int(chunks), dim)
        return self.split(-(-length // int(chunks)), dim)

    def _pieces(self, sizes: list, dim: int) -> tuple:
        bounds = np.cumsum([0] + sizes)
        before = (slice(None),) * dim
        return tuple(self[before + (slice(int(a), int(b)),)] for a, b in zip(bounds, bounds[1:]))

    def tril(self, diagonal=0):
        return self._triangle(ops_shape.Tril, "tril", diagonal)

    def triu(self, diagonal=0):
        return self._triangle(ops_shape.Triu, "triu", diagonal)

    def _triangle(self, op: type, name: str, diagonal) -> "Tensor":
        if self.ndim < 2:
            raise ValueError(
                f"{name}: input must have at least 2 dimensions, got shape {self.shape}"
            )
        if isinstance(diagonal, bool) or not isinstance(diagonal, (int, np.integer)):
            raise TypeError(f"{name}: diagonal must be an int, got {diagonal!r}")
        return apply(op, self, diagonal=int(diagonal))

    def gather(self, dim, index):
        """out[i][j][k] = self[index[i][j][k]][j][k] for dim 0 (likewise for the others):
        GetItem with `index` on `dim` and each other axis' positions, so duplicates add up
        in backward. index has self's number of axes, and no axis but `dim` longer than self's."""
        index = _gather_index(self, dim, index)
        dim = dtypes.one_axis(self.shape, dim)
        if self.ndim <= 1:  # one axis: gather is plain integer indexing
            return self.reshape(-1)[index]
        positions = list(np.ogrid[tuple(slice(n) for n in index.shape)])
        positions[dim] = index
        return self[tuple(positions)]

    def masked_fill(self, mask, value):
        """`value` where mask is True, self elsewhere (mask broadcast; value a number or 0-d
        Tensor, cast to self's dtype; differentiable in self and a value Tensor)."""
        mask = _fill_mask(mask, "masked_fill")
        value = _fill_value(value, self, "masked_fill")
        return where(mask, value, self)

    def masked_fill_(self, mask, value):
        """masked_fill in place (bumps _version); mask must broadcast to self's shape."""
        mask = _fill_mask(mask, "masked_fill_")
        value = _fill_value(value, self, "masked_fill_")
        try:
            mask = np.broadcast_to(mask, self.shape)
        except ValueError:
            raise ValueError(
                f"masked_fill_: mask of shape {mask.shape} does not broadcast to {self.shape}"
            ) from None
        if self.requires_grad and grad_mode.state.enabled:
            raise RuntimeError(
                "masked_fill_: in-place write into a tensor that requires grad; "
                "use masked_fill (out of place) or wrap it in tg.no_grad()"
            )
        self._data[mask] = value._data
        self.bump_version()
        return self

    def where(self, condition, other):
        """self where condition else other (torch's x.where(cond, y) = tg.where(cond, x, y))."""
        return where(condition, self, other)

    def __getitem__(self, index):
        out = self
        for step in _torch_index(index, self.ndim):
            out = apply(ops.GetItem, out, index=step)
        return out


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


def concatenate(tensors, axis: int = 0, *, dim=None) -> Tensor:
    tensors = _check_sequence(tensors, "concatenate")
    for position, t in enumerate(tensors):
        if t.ndim == 0:
            raise ValueError(
                f"concatenate: zero-dimensional tensor (at position {position}) cannot be "
                "concatenated (stack joins 0-d tensors)"
            )
    axis = dtypes.one_axis(tensors[0].shape, axis if dim is None else dim)
    first = tensors[0]
    for t in tensors[1:]:
        if t.ndim != first.ndim or _without(t.shape, axis) != _without(first.shape, axis):
            raise ValueError(
                f"concatenate: shapes {tensors[0].shape} and {t.shape} differ off axis {axis}"
            )
    return apply(ops.Concatenate, *tensors, axis=axis)


cat = concatenate


def stack(tensors, axis: int = 0, *, dim=None) -> Tensor:
    tensors = _check_sequence(tensors, "stack")
    axis = axis if dim is None else dim
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: all shapes must match, got {tensors[0].shape} and {t.shape}")
    if not -tensors[0].ndim - 1 <= axis <= tensors[0].ndim:
        raise AxisError(f"stack: axis {axis} out of range for {tensors[0].ndim}-d tensors")
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


def _check_not_empty(t: Tensor, name: str, axis=None) -> None:
    """Refuse to reduce over nothing: the whole tensor, or any of `axis`, is empty."""
    reduced = [t.numel()] if axis is None else [t.shape[a] for a in axis]
    if 0 in reduced:
        raise ValueError(f"{name}: cannot reduce over an empty axis of shape {t.shape}")


def _torch_index(index, ndim: int) -> list:
    """The index as a list of numpy indices to apply one after the other, in PyTorch's order.

    numpy counts an int as an advanced index, so in x[0, :, [0, 1]] the int and the list are
    split by a slice and their axis goes first: (2, 3) for x of shape (2, 3, 4). PyTorch
    applies the ints first, as basic indexing (x[0] then [:, [0, 1]]): (3, 2). When ints
    and advanced indices (arrays, lists, Tensors) mix, the ints form a first step of their own.
    """
    if _sequence_as_tuple(index):
        index = tuple(index)
    entries = tuple(_index_entry(e) for e in (index if isinstance(index, tuple) else (index,)))
    advanced = any(isinstance(e, (np.ndarray, bool, np.bool_)) for e in entries)
    if advanced:  # an Ellipsis of no axes splits advanced indices in numpy, not in PyTorch
        entries = _without_empty_ellipsis(entries, ndim)
    is_int = [_is_int(e) for e in entries]
    if not (advanced and any(is_int)):
        return [entries if isinstance(index, tuple) else entries[0]]
    ints_first = []
    for entry, integer in zip(entries, is_int):
        if integer or entry is Ellipsis:
            ints_first.append(entry)
        elif isinstance(entry, np.ndarray):  # a bool mask spans as many axes as it has
            ints_first.extend([slice(None)] * (entry.ndim if entry.dtype == bool else 1))
        elif isinstance(entry, slice):
            ints_first.append(slice(None))
    rest = tuple(e for e, integer in zip(entries, is_int) if not integer)
    if not any(e is Ellipsis for e in entries):
        ints_first.append(Ellipsis)  # x[0, 1, ...] is a 0-d view where x[0, 1] is a scalar
    return [tuple(ints_first), rest]


def _sequence_as_tuple(index) -> bool:
    """PyTorch's (and old numpy's) rule: a short list holding a sequence, slice, Tensor, None
    or Ellipsis is read as a tuple, so x[[[0, 1], [1, 2]]] is x[[0, 1], [1, 2]] (PyTorch
    warns that this will change; numpy 2 reads the list as one array)."""
    if not isinstance(index, list) or len(index) >= 32:
        return False
    return any(
        e is None or e is Ellipsis or isinstance(e, (list, tuple, slice, Tensor, np.ndarray))
        for e in index
    )


def _without_empty_ellipsis(entries: tuple, ndim: int) -> tuple:
    """entries without their Ellipsis when the other entries already index every axis."""
    spanned = sum(
        (e.ndim if e.dtype == bool else 1) if isinstance(e, np.ndarray) else 1
        for e in entries
        if e is not None and e is not Ellipsis and not isinstance(e, (bool, np.bool_))
    )
    if spanned != ndim:
        return entries
    return tuple(e for e in entries if e is not Ellipsis)


def _index_entry(entry):
    """One entry of an index as numpy reads it: a Tensor or list becomes an array, a 0-d
    integer Tensor or array an int (PyTorch reads it as an int)."""
    if isinstance(entry, Tensor):
        if entry.dtype.kind not in "iub":
            raise IndexError(f"tensors used as indices must be integer or bool, got {entry.dtype}")
        entry = entry._data
    elif isinstance(entry, list):
        entry = np.asarray(entry) if entry else np.zeros(0, np.intp)  # [] selects nothing
    if isinstance(entry, (np.ndarray, np.integer)) and entry.ndim == 0 and entry.dtype.kind in "iu":
        return int(entry)
    return entry


def _is_int(entry) -> bool:
    return isinstance(entry, int) and not isinstance(entry, bool)


def _gather_index(t: Tensor, dim, index) -> np.ndarray:
    """gather's index as an int array, checked as PyTorch checks it."""
    index = _data(index)
    if not isinstance(index, np.ndarray) or index.dtype.kind not in "iu":
        kind = getattr(index, "dtype", type(index).__name__)
        raise TypeError(f"gather: index must be an integer Tensor, got {kind}")
    if max(index.ndim, 1) != max(t.ndim, 1):
        raise ValueError(
            f"gather: index must have the same number of dimensions as the input, "
            f"got index {index.shape} for input {t.shape}"
        )
    dim = dtypes.one_axis(t.shape, dim)
    for axis, (n_index, n_input) in enumerate(zip(index.shape, t.shape)):
        if axis != dim and n_index > n_input:
            raise ValueError(
                f"gather: index {index.shape} must be no larger than the input {t.shape} "
                f"apart from dimension {dim}"
            )
    size = t.shape[dim] if t.ndim else 1
    bad = index[(index < 0) | (index >= size)]
    if bad.size:
        raise IndexError(
            f"gather: index {bad.flat[0]} is out of bounds for dimension {dim} with size {size}"
        )
    return index


def _fill_mask(mask, name: str) -> np.ndarray:
    mask = _data(mask)
    if not isinstance(mask, np.ndarray) or mask.dtype != bool:
        kind = getattr(mask, "dtype", type(mask).__name__)
        raise TypeError(f"{name}: mask must be a bool Tensor or bool ndarray, got {kind}")
    return mask


def _fill_value(value, like: Tensor, name: str) -> Tensor:
    """The fill value as a 0-d Tensor of like's dtype (a Tensor value keeps its graph)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(
                f"{name}: value must be a number or a 0-d tensor, got shape {value.shape}"
            )
        return value.astype(like.dtype)
    if isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, complex):
        return Tensor._wrap(np.asarray(value).astype(like.dtype))
    raise TypeError(f"{name}: value must be a number or a 0-d tensor, got {type(value).__name__}")


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


# ---------------------------------------------------------------- math and reductions: helpers

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "max(dim)/min(dim)'s result, as torch.return_types.max: (values, indices)."
_ARG_PICKERS = {"max": np.argmax, "min": np.argmin, "argmax": np.argmax, "argmin": np.argmin}


def _as_float(t: Tensor) -> Tensor:
    """An integer or bool tensor as the default float (PyTorch's rule for sin, log2, ...)."""
    return t if t.dtype in DIFFERENTIABLE else Tensor._wrap(t._data.astype(float32))


def _rounded(t: Tensor, op: type, **params) -> Tensor:
    """floor/ceil/trunc/round: an op on floats; integers are whole already (a copy)."""
    if t.dtype in DIFFERENTIABLE:
        return apply(op, t, **params)
    return Tensor._wrap(t._data.copy())


def _extreme(t: Tensor, name: str, dim, keepdim, axis, keepdims):
    """max/min: a Tensor over everything, or (values, indices) along one int dim."""
    dim, keepdim = (dim if axis is None else axis), (keepdim if keepdims is None else keepdims)
    if isinstance(dim, (tuple, list)):
        raise TypeError(
            f"{name}: dim must be one int, got {dim!r}; for the values over several axes "
            f"use a{name}(dim={tuple(dim)!r})"
        )
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}: keepdim=True needs a dim (or use a{name}(keepdim=True))")
        _check_not_empty(t, name)
        return apply(ops.Max if name == "max" else ops.Min, t, axis=None, keepdims=False)
    axis = dtypes.one_axis(t.shape, dim)
    if t.ndim == 0:  # the one "axis" of a 0-d tensor: its value, at index 0
        return ValuesIndices(t.clone(), Tensor._wrap(np.zeros((), int64)))
    _check_not_empty(t, name, (axis,))
    indices = _ARG_PICKERS[name](t._data, axis=axis, keepdims=bool(keepdim))
    # The values are read at the indices (GetItem): the gradient goes to those elements only.
    values = t[_along_axis(indices, axis, bool(keepdim))]
    return ValuesIndices(values, Tensor._wrap(indices.astype(int64, copy=False)))


def _along_axis(indices: np.ndarray, axis: int, keepdim: bool) -> tuple:
    """The advanced index that reads x at `indices` (the result's shape) along `axis`: an
    arange for each other axis, placed on that axis' position in the result."""
    index = []
    for i in range(indices.ndim + (0 if keepdim else 1)):
        if i == axis:
            index.append(indices)
            continue
        position = i if keepdim or i < axis else i - 1
        shape = [1] * indices.ndim
        shape[position] = indices.shape[position]
        index.append(np.arange(indices.shape[position]).reshape(shape))
    return tuple(index)


def _extreme_axes(t: Tensor, name: str, dim, keepdim, axis, keepdims) -> tuple:
    """amax/amin's axes (None or a sorted tuple; () means all, as PyTorch), checked non-empty."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    axis, keepdims = dtypes.reduce_args(t.shape, dim, keepdim, axis, keepdims)
    _check_not_empty(t, name, axis)
    return axis, keepdims


def _arg_extreme(t: Tensor, name: str, dim, keepdim) -> Tensor:
    """argmax/argmin: int64 indices, not differentiable (a constant of the graph)."""
    pick = _ARG_PICKERS[name]
    if dim is None:
        _check_not_empty(t, name)
        index = np.asarray(pick(t._data.reshape(-1)), int64)
        return Tensor._wrap(index.reshape((1,) * t.ndim) if keepdim else index)
    axis = dtypes.one_axis(t.shape, dim)
    if t.ndim == 0:
        return Tensor._wrap(np.zeros((), int64))
    _check_not_empty(t, name, (axis,))
    return Tensor._wrap(np.asarray(pick(t._data, axis=axis, keepdims=bool(keepdim)), int64))


def _product_along(x: Tensor, axis: int) -> Tensor:
    """Π x along `axis`, keeping it (size 1): pairs multiplied level by level, log₂ n levels
    of whole-array Muls; an odd element out waits in `carry`."""
    lead = (slice(None),) * axis
    if x.shape[axis] == 0:  # the empty product is 1; sum·0 keeps the (empty) graph link
        return x.sum(axis=axis, keepdims=True) * 0 + 1
    carry = None
    while x.shape[axis] > 1:
        half = x.shape[axis] // 2
        if x.shape[axis] % 2:
            odd = x[lead + (slice(2 * half, None),)]
            carry = odd if carry is None else carry * odd
        x = x[lead + (slice(0, half),)] * x[lead + (slice(half, 2 * half),)]
    return x if carry is None else x * carry
