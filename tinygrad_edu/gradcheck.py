"""gradcheck: compare backward's gradients with central differences, element by element.

The numerical derivative ∂out_k/∂x_j ≈ (f(x + eps·e_j) - f(x - eps·e_j))_k / (2 eps)
is exact up to O(eps²), so in float64 it checks every op's backward to ~1e-8.
The whole Jacobian is compared, one backward pass per output element.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable

import numpy as np

from .tensor import Tensor, float64


class GradcheckError(RuntimeError):
    """An analytical gradient disagrees with the numerical one."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """True if backward's Jacobian of `fn(*inputs)` matches central differences.

    Checks the inputs with requires_grad=True (which must be float64); raises
    GradcheckError naming the input, the element and the two values otherwise.
    """
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i in checked:
        if inputs[i].dtype != float64:
            raise TypeError(
                f"gradcheck: input {i} must be float64 for an accurate check, got {inputs[i].dtype}"
            )
    analytical = _analytical_jacobians(fn, inputs, checked)
    for i, jacobian in zip(checked, analytical):
        numerical = _numerical_jacobian(fn, inputs, i, eps)
        _compare(i, inputs[i].shape, jacobian, numerical, atol, rtol)
    return True


def _output_array(fn, inputs) -> np.ndarray:
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    return out


def _analytical_jacobians(fn, inputs, checked) -> list:
    """J[k, j] = ∂out_k/∂x_j from backward with a one-hot gradient for each output k."""
    out = _output_array(fn, inputs)
    jacobians = [np.zeros((out.numel(), inputs[i].numel())) for i in checked]
    if not out.requires_grad:
        return jacobians  # out does not depend on the inputs: every derivative is 0
    for k in range(out.numel()):
        for i in checked:
            inputs[i].grad = None
        one_hot = np.zeros(out.numel(), out.dtype)
        one_hot[k] = 1
        out.backward(one_hot.reshape(out.shape), retain_graph=True)
        for jacobian, i in zip(jacobians, checked):
            if inputs[i].grad is not None:
                jacobian[k] = inputs[i].grad.data.ravel()
    for i in checked:
        inputs[i].grad = None
    return jacobians


def _numerical_jacobian(fn, inputs, i, eps) -> np.ndarray:
    x = inputs[i].data  # perturbed in place, one element at a time, then restored
    flat = x.reshape(-1)
    columns = []
    for j in range(flat.size):
        original = flat[j]
        flat[j] = original + eps
        plus = _output_array(fn, inputs).data.astype(float64).ravel()
        flat[j] = original - eps
        minus = _output_array(fn, inputs).data.astype(float64).ravel()
        flat[j] = original
        columns.append((plus - minus) / (2 * eps))
    if not columns:
        return np.zeros((_output_array(fn, inputs).numel(), 0))
    return np.stack(columns, axis=1)


def _compare(i, shape, analytical, numerical, atol, rtol) -> None:
    bad = ~np.isclose(analytical, numerical, atol=atol, rtol=rtol, equal_nan=True)
    if bad.any():
        k, j = np.argwhere(bad)[0]
        element = np.unravel_index(j, shape) if shape else ()
        raise GradcheckError(
            f"gradcheck: input {i}, element {tuple(int(e) for e in element)}, output element {k}: "
            f"analytical {analytical[k, j]:.10g} vs numerical {numerical[k, j]:.10g}"
        )


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    grad_outputs: Sequence[Tensor] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """True if the second derivatives of `fn` match central differences of the first.

    As PyTorch's: the gradients vᵀ·∂fn/∂x (create_graph=True, v = `grad_outputs`, random
    float64 by default) are themselves checked with gradcheck, with respect to the
    inputs and to v; raises GradcheckError naming the element otherwise.
    """
    from .autograd import grad
    from .tensor import concatenate

    inputs = list(inputs)
    if grad_outputs is None:
        out = fn(*inputs)
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor(rng.standard_normal(out.shape), requires_grad=True)]
    grad_outputs = list(grad_outputs)
    count = len(inputs)

    def first_derivatives(*args):
        xs, vs = args[:count], args[count:]
        wanted = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        grads = grad([fn(*xs)], wanted, vs, create_graph=True, allow_unused=True)
        pieces = [g.reshape(-1) for g in grads if g is not None]
        if not pieces:
            raise ValueError("gradgradcheck: fn does not depend on any input that requires grad")
        return concatenate(pieces)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps, atol, rtol)
