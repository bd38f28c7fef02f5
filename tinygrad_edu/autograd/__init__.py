"""tg.autograd: gradients as values. `grad` returns d(outputs)/d(inputs) instead of
accumulating it into .grad, and with create_graph=True the result is itself part of
the graph, so it can be differentiated again (Hessians, gradient penalties).
Read engine.py for the walk both share, functional.py for Jacobians and Hessians.
"""

from collections.abc import Sequence

import numpy as np

from .. import engine
from ..tensor import Tensor
from . import functional

__all__ = ["backward", "functional", "grad"]


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """The gradients of `outputs` (weighted by `grad_outputs`) with respect to `inputs`,
    as a tuple of Tensors, one per input; nothing is written to .grad (as torch.autograd.grad)."""
    outputs, inputs = _tensors(outputs, "outputs"), _tensors(inputs, "inputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    grads = _root_grads(outputs, grad_outputs, create_graph)
    found = engine.backward(
        outputs, grads, _retain(retain_graph, create_graph), create_graph, inputs=inputs
    )
    result = []
    for i, (t, g) in enumerate(zip(inputs, found)):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
        result.append(g if g is None or isinstance(g, Tensor) else Tensor._wrap(g))
    return tuple(result)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into the leaves' .grad (or only into `inputs`' .grad)."""
    tensors = _tensors(tensors, "tensors")
    grads = _root_grads(tensors, grad_tensors, create_graph)
    retain = _retain(retain_graph, create_graph)
    if inputs is None:
        engine.backward(tensors, grads, retain, create_graph)
        return
    inputs = _tensors(inputs, "inputs")
    for t, g in zip(inputs, engine.backward(tensors, grads, retain, create_graph, inputs)):
        if g is not None:
            engine.accumulate_grad(t, g, owned=False)


def _retain(retain_graph, create_graph: bool) -> bool:
    return create_graph if retain_graph is None else bool(retain_graph)


def _tensors(values, name: str) -> list:
    values = [values] if isinstance(values, Tensor) else list(values)
    for v in values:
        if not isinstance(v, Tensor):
            raise TypeError(f"{name} must be Tensors, got {type(v).__name__}")
    return values


def _root_grads(outputs: list, grad_outputs, create_graph: bool) -> list:
    """The gradient each output starts with: ones for a scalar, else the one given."""
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if not isinstance(grad_outputs, Sequence) or len(grad_outputs) != len(outputs):
        raise ValueError(f"grad_outputs: expected {len(outputs)} gradients, got {grad_outputs!r}")
    grads = []
    for out, given in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad (no graph): "
                f"an output of shape {out.shape}"
            )
        if given is None:
            if out.numel() != 1:
                raise RuntimeError(
                    f"backward() without `gradient` needs a scalar output, got shape {out.shape}"
                )
            given = np.ones(out.shape, out.dtype)
        grad = given if isinstance(given, Tensor) else Tensor(np.asarray(given), dtype=out.dtype)
        if grad.shape != out.shape:
            raise ValueError(f"gradient has shape {grad.shape}, expected {out.shape}")
        if grad.dtype != out.dtype:
            grad = grad.astype(out.dtype)
        grads.append(grad if create_graph else grad.data)
    return grads
