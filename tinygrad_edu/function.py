"""Function: one node of the computation graph, and the contract every op follows.

An op's `forward` gets numpy arrays and returns one array, saving on `self`
whatever its `backward` will need; `backward(grad)` gets dLoss/dOutput and
returns dLoss/dInput for each input (the chain rule, one link at a time).
Read ops.py next for the ops themselves, then tensor.py for how they are chained.
"""

import numpy as np


class Function:
    """A recorded op: the links to its inputs and whatever forward saved for backward.

    `parents[i]` is the Function that made input i, or the input tensor itself when
    it is a leaf (a parameter or a constant); `needs_input_grad[i]` tells backward
    whether input i wants a gradient, so an op can skip work nobody will use.
    `output` is a weak reference to the result (for retain_grad and viz). After
    backward the saved arrays are released (`release`) unless the graph is retained.
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

    def backward(self, grad: np.ndarray) -> tuple:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The name `grad_fn` shows, e.g. MulBackward (as PyTorch spells it)."""
        return type(self).__name__ + "Backward"

    def input_tensors(self) -> list:
        """The input tensors, where still alive: a leaf is its own parent; an intermediate is
        its parent node's output, None once nobody holds it (then its array is freed too,
        unless an op saved it)."""
        return [
            parent.output() if isinstance(parent, Function) else parent
            for parent in getattr(self, "parents", ())
        ]

    def release(self) -> None:
        """Drop the saved arrays and the links to the inputs: the graph is freed."""
        self.__dict__.clear()
        self.parents = ()
        self.released = True

    def __repr__(self) -> str:
        return f"<{self.name}>"


def sum_to_shape(grad: np.ndarray, shape: tuple) -> np.ndarray:
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
