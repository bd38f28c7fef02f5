"""Function: one node of the computation graph, and the contract every op follows.

An op's `forward` gets numpy arrays and returns one array; its `backward(grad)` gets
dLoss/dOutput and returns dLoss/dInput for each input: the chain rule, one link.
Read ops.py next for the ops themselves, then engine.py for how they are chained.

How to write an op (the convention every op follows, so that gradients of gradients work):

1. `forward(self, x, y, ..., **params)`: the positional parameters are the inputs, as
   arrays. Save an input under its parameter's name (`self.x = x`) and the result as
   `self.out`; save anything else only if it is a constant of the derivative (a mask,
   a shape, an axis, the count of a mean), never a value computed from the inputs.
2. `backward(self, grad)` states the derivative ONCE, with operators (`+ - * / -x`),
   the methods arrays and Tensors share (`.sum(axis=, keepdims=)`, `.reshape`,
   `.astype`, indexing with slices and ints) and the vocabulary below (`where`, `exp`,
   `log`, `matmul`, `broadcast`, `sum_to_shape`, ...), which dispatch on their argument.
3. On the fast path (create_graph=False) `grad` and the saved values are numpy
   arrays: the lines are plain numpy. Under `backward(create_graph=True)` the engine
   hands the same lines Tensors instead (the saved inputs as the graph's own
   tensors, `self.out` as the op's output), so each line records a node and the
   gradient can be differentiated again. A constant (a mask) stays an array.
4. Return one gradient per input (None where `needs_input_grad[i]` is False, to skip
   the work), each with its input's shape: undo broadcasting with `sum_to_shape`.
"""

import numpy as np

from . import kernels


class Function:
    """A recorded op: the links to its inputs and whatever forward saved for backward.

    `parents[i]` is the node the gradient of input i flows to: the Function that made
    it, or a `Leaf` for a tensor no op made; `needs_input_grad[i]` says whether input
    i wants a gradient. `output` is a weak reference to the result (retain_grad, viz).
    After backward the saved arrays are released unless the graph is retained.
    """

    __slots__ = (
        "__dict__",
        "needs_input_grad",
        "output",
        "output_dtype",
        "output_shape",
        "parents",
        "released",
        "sequence_number",
    )

    def forward(self, *arrays: np.ndarray, **params) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad) -> tuple:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The name `grad_fn` shows, e.g. MulBackward (as PyTorch spells it)."""
        return type(self).__name__ + "Backward"

    def input_tensors(self) -> list:
        """The input tensors, where still alive (an intermediate nobody holds is None)."""
        return [parent.output() for parent in getattr(self, "parents", ())]

    def release(self) -> None:
        """Drop the saved arrays and the links to the inputs: the graph is freed."""
        self.__dict__.clear()
        self.parents = ()
        self.released = True

    def __repr__(self) -> str:
        return f"<{self.name}>"


class Leaf(Function):
    """The node of an input no op made (a parameter, a batch, a constant): the walk
    stops here and, if the tensor requires grad, its gradient accumulates into .grad."""

    __slots__ = ("__weakref__", "tensor")
    sequence_number = -1  # a leaf comes before every op
    released = False
    parents = ()

    def __init__(self, tensor) -> None:
        self.tensor = tensor

    def output(self):
        return self.tensor

    @property
    def name(self) -> str:
        return "AccumulateGrad"


# ---------------------------------------------------------------- the backward vocabulary
# Each takes arrays (the fast path) or Tensors (under create_graph) and gives the same.


def _is_array(value) -> bool:
    """True for the fast path's values (arrays, numbers); False for a Tensor."""
    return isinstance(value, (np.ndarray, np.generic, float, int))


def data(value):
    """The array behind a value: for masks and signs, constants of a derivative."""
    return value if _is_array(value) else value.data


def sum_to_shape(grad, shape: tuple):
    """Undo broadcasting: sum `grad` over the axes that broadcasting stretched.

    Broadcasting copies an input along new leading axes and along axes of size 1;
    the adjoint of a copy is a sum, so the gradient is summed over exactly those axes.
    """
    if grad.shape == shape:
        return grad
    leading = grad.ndim - len(shape)
    stretched = tuple(
        i + leading for i, size in enumerate(shape) if size == 1 and grad.shape[i + leading] != 1
    )
    summed = grad.sum(axis=tuple(range(leading)) + stretched, keepdims=True)
    return summed.reshape(shape)


def broadcast(grad, shape: tuple):
    """grad repeated to `shape` (the adjoint of a sum): a fresh array, or Tensor.expand."""
    if _is_array(grad):
        repeated = np.empty(shape, grad.dtype)  # (np.full does the same in Python, slower)
        repeated[...] = grad
        return repeated
    return grad.expand(shape)


def where(cond, a, b):
    """a where cond else b, with cond a constant bool mask."""
    if _is_array(a) and _is_array(b):
        return np.where(cond, a, b)
    from .tensor import where as tensor_where

    return tensor_where(np.asarray(data(cond)), a, b)


def exp(x):
    return np.exp(x) if _is_array(x) else x.exp()


def log(x):
    return np.log(x) if _is_array(x) else x.log()


def permute(x, axes):
    return x.transpose(axes) if _is_array(x) else x.permute(tuple(int(a) for a in axes))


def swap_last_axes(x):
    return np.swapaxes(x, -1, -2) if _is_array(x) else x.transpose(-2, -1)


def matmul(a, b, trans_a: bool = False, trans_b: bool = False):
    """op(a) @ op(b) for 2-D a and b: the C GEMM, which reads transposed views in place."""
    if _is_array(a) and _is_array(b):
        try:
            return kernels.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
        except ValueError:  # strides the GEMM cannot read (negative or element-skipping)
            a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
            return kernels.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    return (a.T if trans_a else a) @ (b.T if trans_b else b)


def relu_backward(out, grad):
    """grad where out > 0, else 0 (a NaN passes): the fused C kernel on arrays."""
    if _is_array(out) and _is_array(grad):
        return kernels.relu_backward(out, contiguous(grad))
    return where(~(data(out) <= 0), grad, 0.0)


def contiguous(x):
    """A C-contiguous ndarray for the C kernels (numpy scalars become 0-d arrays)."""
    if type(x) is not np.ndarray:
        x = np.asarray(x)
    return x if x.flags.c_contiguous else np.ascontiguousarray(x)
