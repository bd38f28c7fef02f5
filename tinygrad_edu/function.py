"""Function: one node of the computation graph, and the contract every op follows.

An op's `forward` gets numpy arrays and returns one array, saving on `self`
whatever its `backward` will need; `backward(grad)` gets dLoss/dOutput and
returns dLoss/dInput for each input (the chain rule, one link at a time).
Read ops.py next for the ops themselves, then tensor.py for how they are chained.
"""

import numpy as np


class Function:
    """A recorded op: its inputs (Tensors) and whatever forward saved for backward.

    `needs_input_grad[i]` tells backward whether input i wants a gradient, so an
    op can skip work nobody will use. After backward the saved arrays are
    released (`release`) unless the graph is retained.
    """

    __slots__ = ("__dict__", "inputs", "needs_input_grad", "released", "sequence_number")

    def forward(self, *arrays: np.ndarray, **params) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The name `grad_fn` shows, e.g. MulBackward (as PyTorch spells it)."""
        return type(self).__name__ + "Backward"

    def release(self) -> None:
        """Drop the saved arrays and the links to the inputs: the graph is freed."""
        self.__dict__.clear()
        self.inputs = ()
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
