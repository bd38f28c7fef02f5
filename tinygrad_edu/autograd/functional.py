"""Jacobians, Hessians and their products, shaped as torch.autograd.functional's.

Each is a few calls to `grad`: a vector-Jacobian product is one backward pass; a
Jacobian is one per output element; a Hessian is the Jacobian of the gradient
(create_graph); jvp uses the double-vjp trick. Read ../engine.py for the walk.
"""

import numpy as np

from ..tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _grad(outputs, inputs, grad_outputs=None, create_graph=False):
    from . import grad

    grads = grad(
        outputs, inputs, grad_outputs, retain_graph=True, create_graph=create_graph, allow_unused=True
    )
    return tuple(
        Tensor(np.zeros(x.shape, x.dtype)) if g is None else g for g, x in zip(grads, inputs)
    )


def _as_tuple(inputs) -> tuple:
    return (inputs, False) if isinstance(inputs, tuple) else ((inputs,), True)


def _fresh_inputs(inputs: tuple) -> tuple:
    """Copies of the inputs that require grad, so `func`'s graph starts at them."""
    return tuple(Tensor._wrap(x.data).requires_grad_() for x in inputs)


def _outputs(func, inputs):
    out = func(*inputs)
    outs, single = _as_tuple(out)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"func must return a Tensor or a tuple of Tensors, got {type(o).__name__}")
    return outs, single


def _unwrap(values: tuple, single: bool):
    return values[0] if single else values


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ·J): one backward pass with v as the upstream gradient."""
    inputs, single_in = _as_tuple(inputs)
    inputs = _fresh_inputs(inputs)
    outs, single_out = _outputs(func, inputs)
    vs = None if v is None else _as_tuple(v)[0]
    grads = _grad(outs, inputs, vs, create_graph=create_graph)
    outs = tuple(o if create_graph else o.detach() for o in outs)
    return _unwrap(outs, single_out), _unwrap(grads, single_in)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J·v) by the double-vjp trick: g(u) = uᵀJ is linear in u, so
    J·v = d(g(u)·v)/du, two backward passes and no forward mode."""
    inputs, single_in = _as_tuple(inputs)
    inputs = _fresh_inputs(inputs)
    outs, single_out = _outputs(func, inputs)
    dummies = tuple(Tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in outs)
    grads = _grad(outs, inputs, dummies, create_graph=True)
    vs = tuple(Tensor(np.ones(x.shape, x.dtype)) for x in inputs) if v is None else _as_tuple(v)[0]
    used = [(g, vi) for g, vi in zip(grads, vs) if g.requires_grad]
    if not used:
        products = tuple(Tensor(np.zeros(o.shape, o.dtype)) for o in outs)
    else:
        products = _grad([g for g, _ in used], dummies, [vi for _, vi in used], create_graph)
    outs = tuple(o if create_graph else o.detach() for o in outs)
    products = tuple(p if create_graph else p.detach() for p in products)
    return _unwrap(outs, single_out), _unwrap(products, single_out)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False):
    """J[i][j] of shape out_i.shape + in_j.shape, one backward pass per output element."""
    inputs, single_in = _as_tuple(inputs)
    inputs = _fresh_inputs(inputs)
    outs, single_out = _outputs(func, inputs)
    rows = []
    for out in outs:
        per_input = [[] for _ in inputs]
        flat = out.reshape(-1)
        for k in range(flat.shape[0]):
            grads = _grad([flat[k]], inputs, create_graph=create_graph) if out.requires_grad else (
                tuple(Tensor(np.zeros(x.shape, x.dtype)) for x in inputs)
            )
            for j, g in enumerate(grads):
                per_input[j].append(g)
        blocks = []
        for j, x in enumerate(inputs):
            stacked = _stack(per_input[j], x, create_graph)
            blocks.append(stacked.reshape(out.shape + x.shape))
        rows.append(_unwrap(tuple(blocks), single_in))
    return _unwrap(tuple(rows), single_out)


def _stack(grads: list, x: Tensor, create_graph: bool) -> Tensor:
    from ..tensor import stack

    if not grads:
        return Tensor(np.zeros((0,) + x.shape, x.dtype))
    stacked = stack(grads)
    return stacked if create_graph else stacked.detach()


def hessian(func, inputs, create_graph: bool = False, strict: bool = False):
    """H[i][j] = ∂²f/∂xᵢ∂xⱼ of a scalar func: the Jacobian of its gradient."""
    inputs, single_in = _as_tuple(inputs)

    def gradient(*xs):
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("hessian: func must return a single-element Tensor")
        return _grad([out.reshape(())], xs, create_graph=True)

    result = jacobian(gradient, inputs, create_graph=create_graph)
    if single_in:
        return result[0][0]
    return result


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ·H): differentiate the gradient's dot product with v."""
    inputs, single_in = _as_tuple(inputs)
    inputs = _fresh_inputs(inputs)
    out = func(*inputs)
    if not isinstance(out, Tensor) or out.numel() != 1:
        raise RuntimeError("vhp: func must return a single-element Tensor")
    grads = _grad([out.reshape(())], inputs, create_graph=True)
    vs = _as_tuple(v)[0] if v is not None else tuple(Tensor(np.ones(x.shape, x.dtype)) for x in inputs)
    used = [(g, vi) for g, vi in zip(grads, vs) if g.requires_grad]
    if used:
        products = _grad([g for g, _ in used], inputs, [vi for _, vi in used], create_graph)
    else:
        products = tuple(Tensor(np.zeros(x.shape, x.dtype)) for x in inputs)
    products = tuple(p if create_graph else p.detach() for p in products)
    return (out if create_graph else out.detach()), _unwrap(products, single_in)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H·v): the Hessian is symmetric, so H·v = (vᵀ·H)ᵀ = vhp."""
    return vhp(func, inputs, v, create_graph, strict)
