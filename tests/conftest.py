"""Shared test helpers: seeded random inputs, the gradient check with a random upstream
gradient, and OP_CASES, the table of every Tensor op that test_ops.py (NumPy and gradcheck)
and test_ops_torch.py (PyTorch) both run. Read test_ops.py next.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pytest

import tinygrad_edu as tg


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed, so every test sees the same data on every run."""
    return np.random.default_rng(0)


def random_array(rng: np.random.Generator, shape: tuple, domain: str = "any", dtype=np.float64):
    """Random data for an op's input: "any" is standard normal (no exact ties, no exact zeros);
    "positive" is uniform on [0.5, 2] (for log, sqrt, a pow base or a divisor)."""
    if domain == "positive":
        return rng.uniform(0.5, 2.0, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def check_gradients(fn: Callable, arrays, rng: np.random.Generator) -> bool:
    """tg.gradcheck of (fn(*inputs) * c).sum() in float64, c random of fn's output shape.

    A random upstream gradient c (not .sum() or .mean() alone, whose all-equal gradient
    hides transposed or misplaced gradients) makes every output element count differently.
    """
    inputs = [tg.Tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]
    upstream = tg.Tensor(np.asarray(rng.standard_normal(fn(*inputs).shape), np.float64))
    return tg.gradcheck(lambda *xs: (fn(*xs) * upstream).sum(), inputs)


def assert_second_derivatives_match_torch(case, rng: np.random.Generator) -> None:
    """d/dx of <∇(fn(x)·c), v> (second derivatives along random directions v) against
    PyTorch's, float64; `case` has .inputs(rng), .fn (ours) and .on_torch."""
    torch = pytest.importorskip("torch")
    arrays = case.inputs(rng)
    upstream = rng.standard_normal(case.fn(*[tg.Tensor(a) for a in arrays]).shape)
    directions = [rng.standard_normal(np.shape(a)) for a in arrays]

    ours = [tg.Tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]
    grads = tg.autograd.grad((case.fn(*ours) * tg.Tensor(upstream)).sum(), ours, create_graph=True)
    total = sum(((g * tg.Tensor(d)).sum() for g, d in zip(grads, directions)), tg.Tensor(0.0))
    if total.requires_grad:
        second = tg.autograd.grad(total, ours, allow_unused=True)
    else:  # every first derivative is constant: every second derivative is 0
        second = [None] * len(ours)

    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = (case.on_torch(*theirs) * torch.from_numpy(upstream)).sum()
    torch_grads = torch.autograd.grad(out, theirs, create_graph=True)
    torch_total = sum((g * torch.from_numpy(d)).sum() for g, d in zip(torch_grads, directions))
    torch_second = (
        torch.autograd.grad(torch_total, theirs, allow_unused=True)
        if torch_total.requires_grad
        else [None] * len(theirs)
    )
    for i, (mine, expected) in enumerate(zip(second, torch_second)):
        mine = 0.0 if mine is None else mine.numpy()
        expected = 0.0 if expected is None else expected.detach().numpy(force=True)
        np.testing.assert_allclose(
            np.broadcast_to(mine, arrays[i].shape),
            np.broadcast_to(expected, arrays[i].shape),
            rtol=1e-9,
            atol=1e-10,
            err_msg=f"input {i}",
        )


def value_and_grad(fn: Callable, data, dtype=np.float64) -> tuple:
    """fn(x) and d(fn(x).sum())/dx as arrays, for hand-computed cases (ties, kinks, bounds)."""
    x = tg.Tensor(np.asarray(data, dtype), requires_grad=True)
    out = fn(x)
    out.sum().backward()
    return out.numpy(), x.grad.numpy()


@dataclasses.dataclass(frozen=True)
class OpCase:
    """One op on given input shapes: `fn` on tg Tensors, `ref` the same on NumPy arrays,
    `torch_fn` on torch tensors (defaults to `fn` where PyTorch spells it the same)."""

    name: str
    fn: Callable
    ref: Callable
    shapes: tuple
    domain: str = "any"
    torch_fn: Callable | None = None

    def on_torch(self, *tensors):
        return (self.torch_fn or self.fn)(*tensors)

    def inputs(self, rng: np.random.Generator, dtype=np.float64) -> list:
        return [random_array(rng, shape, self.domain, dtype) for shape in self.shapes]


def _torch():
    import torch  # only the torch comparisons call this, after importorskip

    return torch


def np_softmax(x, axis):
    exp = np.exp(x - x.max(axis=axis, keepdims=True))
    return exp / exp.sum(axis=axis, keepdims=True)


def np_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.exp(x).sum(axis=axis, keepdims=keepdims))


def _all_dims(axis, x):
    """PyTorch's spelling of axis=None for reductions that need a dim."""
    return tuple(range(x.ndim)) if axis is None else axis


# ---------------------------------------------------------------- binary operators

BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 1), (1, 4)),
    ((5,), (2, 5)),
    ((2, 5), (5,)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 1, 3), (4, 1)),
]

BINARY = {
    "add": (lambda a, b: a + b, "any"),
    "sub": (lambda a, b: a - b, "any"),
    "mul": (lambda a, b: a * b, "any"),
    "div": (lambda a, b: a / b, "positive"),
    "pow": (lambda a, b: a**b, "positive"),
}


def _binary_cases():
    cases = []
    for name, (op, domain) in BINARY.items():
        for shapes in BROADCAST_SHAPES:
            cases.append(OpCase(f"{name}{shapes[0]}{shapes[1]}", op, op, shapes, domain))
    for name, module_fn, np_fn, torch_name in [
        ("maximum", tg.maximum, np.maximum, "maximum"),
        ("minimum", tg.minimum, np.minimum, "minimum"),
    ]:
        for shapes in BROADCAST_SHAPES:
            torch_fn = lambda a, b, n=torch_name: getattr(_torch(), n)(a, b)
            cases.append(
                OpCase(f"{name}{shapes[0]}{shapes[1]}", module_fn, np_fn, shapes, "any", torch_fn)
            )
    return cases


SCALAR_CASES = [
    OpCase("scalar+x", lambda x: 2.5 + x, lambda x: 2.5 + x, ((3, 4),)),
    OpCase("x+scalar", lambda x: x + 2.5, lambda x: x + 2.5, ((3, 4),)),
    OpCase("scalar-x", lambda x: 2.5 - x, lambda x: 2.5 - x, ((3, 4),)),
    OpCase("x-scalar", lambda x: x - 2.5, lambda x: x - 2.5, ((3, 4),)),
    OpCase("scalar*x", lambda x: 2.5 * x, lambda x: 2.5 * x, ((3, 4),)),
    OpCase("x*int", lambda x: x * 3, lambda x: x * 3, ((3, 4),)),
    OpCase("scalar/x", lambda x: 2.5 / x, lambda x: 2.5 / x, ((3, 4),), "positive"),
    OpCase("x/scalar", lambda x: x / 2.5, lambda x: x / 2.5, ((3, 4),)),
    OpCase("x**tensor0d", lambda x, y: x**y, lambda x, y: x**y, ((3, 4), ()), "positive"),
    OpCase("x**2", lambda x: x**2, lambda x: x**2, ((3, 4),)),
    OpCase("x**3.0", lambda x: x**3.0, lambda x: x**3.0, ((3, 4),)),
    OpCase("x**-1.5", lambda x: x**-1.5, lambda x: x**-1.5, ((3, 4),), "positive"),
    OpCase("x**0.5", lambda x: x**0.5, lambda x: x**0.5, ((3, 4),), "positive"),
    OpCase("scalar**x", lambda x: 2.0**x, lambda x: 2.0**x, ((3, 4),)),
    OpCase("neg", lambda x: -x, lambda x: -x, ((3, 4),)),
    OpCase(
        "maximum(x,scalar)",
        lambda x: tg.maximum(x, 0.3),
        lambda x: np.maximum(x, 0.3),
        ((3, 4),),
        torch_fn=lambda x: _torch().clamp(x, min=0.3),
    ),
    OpCase(
        "minimum(scalar,x)",
        lambda x: tg.minimum(0.3, x),
        lambda x: np.minimum(0.3, x),
        ((3, 4),),
        torch_fn=lambda x: _torch().clamp(x, max=0.3),
    ),
]

# ---------------------------------------------------------------- matmul

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 1), (1, 1)),
    ((1, 7), (7, 1)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((0, 3), (3, 4)),
    ((3, 0), (0, 4)),
    ((2, 0, 3), (3, 2)),
]


def _matmul_cases():
    cases = [
        OpCase(f"matmul{a}{b}", lambda x, y: x @ y, np.matmul, (a, b)) for a, b in MATMUL_SHAPES
    ]
    cases += [
        OpCase(
            "tg.matmul",
            tg.matmul,
            np.matmul,
            ((3, 4), (4, 2)),
            torch_fn=lambda x, y: _torch().matmul(x, y),
        ),
        # Views the kernel must read correctly: a transpose, a row slice, a column slice.
        OpCase("matmul(x.T,y)", lambda x, y: x.T @ y, lambda x, y: x.T @ y, ((4, 3), (4, 5))),
        OpCase("matmul(x,y.T)", lambda x, y: x @ y.T, lambda x, y: x @ y.T, ((3, 4), (5, 4))),
        OpCase(
            "matmul(x[1:3],y)", lambda x, y: x[1:3] @ y, lambda x, y: x[1:3] @ y, ((4, 4), (4, 2))
        ),
        OpCase(
            "matmul(x[:,1:3],y)",
            lambda x, y: x[:, 1:3] @ y,
            lambda x, y: x[:, 1:3] @ y,
            ((3, 5), (2, 4)),
        ),
        OpCase(
            "matmul(x[::2],y[:,::-1])",
            lambda x, y: x[::2] @ y[:, ::-1],
            lambda x, y: x[::2] @ y[:, ::-1],
            ((6, 3), (3, 4)),
            torch_fn=lambda x, y: x[::2] @ y.flip(1),
        ),
    ]
    return cases


# ---------------------------------------------------------------- elementwise

UNARY_CASES = [
    OpCase("exp", lambda x: x.exp(), np.exp, ((3, 4),)),
    OpCase("log", lambda x: x.log(), np.log, ((3, 4),), "positive"),
    OpCase("log1p", lambda x: x.log1p(), np.log1p, ((3, 4),), "positive"),
    OpCase("sqrt", lambda x: x.sqrt(), np.sqrt, ((3, 4),), "positive"),
    OpCase("abs", lambda x: x.abs(), np.abs, ((3, 4),)),
    OpCase("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), ((3, 4),)),
    OpCase("relu 3-d", lambda x: x.relu(), lambda x: np.maximum(x, 0), ((2, 3, 4),)),
    OpCase("relu 0-d", lambda x: x.relu(), lambda x: np.maximum(x, 0), ((),)),
    OpCase("relu of view", lambda x: x.T.relu(), lambda x: np.maximum(x.T, 0), ((3, 4),)),
    OpCase(
        "leaky_relu",
        lambda x: x.leaky_relu(),
        lambda x: np.where(x > 0, x, 0.01 * x),
        ((3, 4),),
        torch_fn=lambda x: _torch().nn.functional.leaky_relu(x),
    ),
    OpCase(
        "leaky_relu(0.2)",
        lambda x: x.leaky_relu(0.2),
        lambda x: np.where(x > 0, x, 0.2 * x),
        ((3, 4),),
        torch_fn=lambda x: _torch().nn.functional.leaky_relu(x, 0.2),
    ),
    OpCase(
        "leaky_relu(negative_slope=)",
        lambda x: x.leaky_relu(negative_slope=0.3),
        lambda x: np.where(x > 0, x, 0.3 * x),
        ((3, 4),),
        torch_fn=lambda x: _torch().nn.functional.leaky_relu(x, negative_slope=0.3),
    ),
    OpCase("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), ((3, 4),)),
    OpCase("tanh", lambda x: x.tanh(), np.tanh, ((3, 4),)),
    OpCase("clip", lambda x: x.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), ((4, 5),)),
    OpCase("clip(min=)", lambda x: x.clip(min=-0.3), lambda x: np.maximum(x, -0.3), ((4, 5),)),
    OpCase("clip(max=)", lambda x: x.clip(max=0.3), lambda x: np.minimum(x, 0.3), ((4, 5),)),
    OpCase("clamp", lambda x: x.clamp(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), ((4, 5),)),
]

# ---------------------------------------------------------------- reductions

REDUCE_AXES = [None, 0, 1, -1, (0, 2), (-1, 0)]


def _reduction_cases():
    torch_spelling = {
        "sum": lambda x, axis, k: x.sum(dim=axis, keepdim=k),
        "mean": lambda x, axis, k: x.mean(dim=axis, keepdim=k),
        "amax": lambda x, axis, k: x.amax(dim=_all_dims(axis, x), keepdim=k),
        "amin": lambda x, axis, k: x.amin(dim=_all_dims(axis, x), keepdim=k),
        "logsumexp": lambda x, axis, k: x.logsumexp(dim=_all_dims(axis, x), keepdim=k),
        "var": lambda x, axis, k: x.var(dim=axis, keepdim=k),
    }
    numpy_spelling = {
        "sum": np.sum,
        "mean": np.mean,
        "amax": np.max,
        "amin": np.min,
        "logsumexp": np_logsumexp,
        "var": lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims, ddof=1),
    }
    cases = []
    for name in torch_spelling:
        for axis in REDUCE_AXES:
            for keepdims in (False, True):
                cases.append(
                    OpCase(
                        f"{name}(axis={axis},keepdims={keepdims})",
                        lambda x, n=name, a=axis, k=keepdims: getattr(x, n)(axis=a, keepdims=k),
                        lambda x, n=name, a=axis, k=keepdims: numpy_spelling[n](
                            x, axis=a, keepdims=k
                        ),
                        ((2, 3, 4),),
                        torch_fn=lambda x, n=name, a=axis, k=keepdims: torch_spelling[n](x, a, k),
                    )
                )
        cases.append(
            OpCase(
                f"{name}(dim=1,keepdim=True)",
                lambda x, n=name: getattr(x, n)(dim=1, keepdim=True),
                lambda x, n=name: numpy_spelling[n](x, axis=1, keepdims=True),
                ((3, 4),),
                torch_fn=lambda x, n=name: torch_spelling[n](x, 1, True),
            )
        )
        if name != "var":  # the variance of one element is nan: see test_numerics.py
            cases.append(
                OpCase(
                    f"{name}() of 0-d",
                    lambda x, n=name: getattr(x, n)(),
                    lambda x, n=name: numpy_spelling[n](x, axis=None, keepdims=False),
                    ((),),
                    torch_fn=lambda x, n=name: torch_spelling[n](x, None, False),
                )
            )
    cases += [
        OpCase("sum positional axis", lambda x: x.sum(1), lambda x: x.sum(1), ((3, 4),)),
        OpCase(
            "var(correction=0)",
            lambda x: x.var(axis=1, correction=0),
            lambda x: np.var(x, axis=1),
            ((3, 4),),
            torch_fn=lambda x: x.var(dim=1, correction=0),
        ),
        OpCase(
            "var(correction=2)",
            lambda x: x.var(correction=2),
            lambda x: np.var(x, ddof=2),
            ((3, 4),),
            torch_fn=lambda x: x.var(correction=2),
        ),
    ]
    for name, np_fn in [
        ("softmax", np_softmax),
        ("log_softmax", lambda x, axis: np.log(np_softmax(x, axis))),
    ]:
        for axis in (-1, 0, 1):
            cases.append(
                OpCase(
                    f"{name}(axis={axis})",
                    lambda x, n=name, a=axis: getattr(x, n)(axis=a),
                    lambda x, f=np_fn, a=axis: f(x, a),
                    ((2, 3, 4),),
                    torch_fn=lambda x, n=name, a=axis: getattr(x, n)(dim=a),
                )
            )
        cases.append(
            OpCase(
                f"{name}() default axis",
                lambda x, n=name: getattr(x, n)(),
                lambda x, f=np_fn: f(x, -1),
                ((3, 4),),
                torch_fn=lambda x, n=name: getattr(x, n)(-1),
            )
        )
        cases.append(
            OpCase(
                f"{name}(dim=0)",
                lambda x, n=name: getattr(x, n)(dim=0),
                lambda x, f=np_fn: f(x, 0),
                ((3, 4),),
            )
        )
    return cases


# ---------------------------------------------------------------- shape ops and indexing

SHAPE_CASES = [
    OpCase("reshape(tuple)", lambda x: x.reshape((4, 6)), lambda x: x.reshape(4, 6), ((2, 3, 4),)),
    OpCase("reshape(ints)", lambda x: x.reshape(6, 4), lambda x: x.reshape(6, 4), ((2, 3, 4),)),
    OpCase("reshape(-1)", lambda x: x.reshape(-1, 3), lambda x: x.reshape(-1, 3), ((2, 3, 4),)),
    OpCase("reshape to 0-d", lambda x: x.reshape(()), lambda x: x.reshape(()), ((1, 1),)),
    OpCase(
        "permute(ints)", lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), ((2, 3, 4),)
    ),
    OpCase(
        "permute(tuple)",
        lambda x: x.permute((1, 2, 0)),
        lambda x: x.transpose(1, 2, 0),
        ((2, 3, 4),),
    ),
    OpCase(
        "permute(negative)",
        lambda x: x.permute(-1, 0, 1),
        lambda x: x.transpose(2, 0, 1),
        ((2, 3, 4),),
    ),
    OpCase(
        "transpose()",
        lambda x: x.transpose(),
        lambda x: np.swapaxes(x, -2, -1),
        ((2, 3, 4),),
        torch_fn=lambda x: x.transpose(-2, -1),
    ),
    OpCase(
        "transpose(0,2)", lambda x: x.transpose(0, 2), lambda x: np.swapaxes(x, 0, 2), ((2, 3, 4),)
    ),
    OpCase(".T", lambda x: x.T, lambda x: x.T, ((3, 4),)),
    OpCase(
        ".T 3-d", lambda x: x.T, lambda x: x.T, ((2, 3, 4),), torch_fn=lambda x: x.permute(2, 1, 0)
    ),
    OpCase("flatten()", lambda x: x.flatten(), lambda x: x.reshape(-1), ((2, 3, 4),)),
    OpCase("flatten(1)", lambda x: x.flatten(1), lambda x: x.reshape(2, 12), ((2, 3, 4),)),
    OpCase("flatten(0,1)", lambda x: x.flatten(0, 1), lambda x: x.reshape(6, 4), ((2, 3, 4),)),
    OpCase(
        "flatten(start_axis=,end_axis=)",
        lambda x: x.flatten(start_axis=1, end_axis=2),
        lambda x: x.reshape(2, 12, 1),
        ((2, 3, 4, 1),),
        torch_fn=lambda x: x.flatten(start_dim=1, end_dim=2),
    ),
    OpCase(
        "transpose(axis0=,axis1=)",
        lambda x: x.transpose(axis0=0, axis1=-1),
        lambda x: np.swapaxes(x, 0, -1),
        ((2, 3, 4),),
        torch_fn=lambda x: x.transpose(0, -1),
    ),
    OpCase("squeeze()", lambda x: x.squeeze(), lambda x: x.squeeze(), ((1, 3, 1, 4),)),
    OpCase("squeeze(2)", lambda x: x.squeeze(2), lambda x: x.squeeze(2), ((1, 3, 1, 4),)),
    OpCase("squeeze(-4)", lambda x: x.squeeze(-4), lambda x: x.squeeze(0), ((1, 3, 1, 4),)),
    OpCase(
        "squeeze(tuple)", lambda x: x.squeeze((0, 2)), lambda x: x.squeeze((0, 2)), ((1, 3, 1, 4),)
    ),
    OpCase("unsqueeze(0)", lambda x: x.unsqueeze(0), lambda x: x[None], ((3, 4),)),
    OpCase("unsqueeze(1)", lambda x: x.unsqueeze(1), lambda x: x[:, None], ((3, 4),)),
    OpCase("unsqueeze(-1)", lambda x: x.unsqueeze(-1), lambda x: x[..., None], ((3, 4),)),
    OpCase(
        "expand(ints)", lambda x: x.expand(3, 4), lambda x: np.broadcast_to(x, (3, 4)), ((3, 1),)
    ),
    OpCase(
        "expand(tuple)",
        lambda x: x.expand((2, 3, 4)),
        lambda x: np.broadcast_to(x, (2, 3, 4)),
        ((1, 4),),
    ),
    OpCase(
        "expand(-1)", lambda x: x.expand(-1, 5), lambda x: np.broadcast_to(x, (3, 5)), ((3, 1),)
    ),
]

INDEX_0 = np.array([0, 2, 0])


def _index_cases():
    specs = [
        ("int", lambda x: x[1], (3, 4)),
        ("negative int", lambda x: x[-1], (3, 4)),
        ("two ints to 0-d", lambda x: x[1, 2], (3, 4)),
        ("slice", lambda x: x[1:3], (4, 3)),
        ("slice step", lambda x: x[::2], (5, 3)),
        ("tuple of slices", lambda x: x[1:, :2], (3, 4)),
        ("int and slice", lambda x: x[1, :, 1:3], (2, 3, 4)),
        ("None", lambda x: x[None, 1], (3, 4)),
        ("ellipsis", lambda x: x[..., 1], (2, 3, 4)),
        ("ellipsis and None", lambda x: x[0, ..., None], (2, 3, 4)),
        ("int array with repeats", lambda x: x[INDEX_0], (3, 4)),
        ("list with repeats", lambda x: x[[1, 1, 0, 1]], (3, 4)),
        ("two int arrays", lambda x: x[np.array([0, 1, 1]), np.array([2, 2, 0])], (3, 4)),
        ("slice and int list", lambda x: x[:, [1, 1, 0]], (3, 4)),
        ("2-d int array", lambda x: x[np.array([[0, 1], [1, 1]])], (3, 2)),
    ]
    cases = [OpCase(f"getitem {name}", fn, fn, (shape,)) for name, fn, shape in specs]
    cases.append(
        OpCase(
            "getitem int Tensor",
            lambda x: x[tg.Tensor([2, 0, 2])],
            lambda x: x[np.array([2, 0, 2])],
            ((3, 4),),
            torch_fn=lambda x: x[_torch().tensor([2, 0, 2])],
        )
    )
    cases.append(
        OpCase(
            "getitem negative step",
            lambda x: x[::-1, 1],
            lambda x: x[::-1, 1],
            ((3, 4),),
            torch_fn=lambda x: x.flip(0)[:, 1],
        )
    )
    return cases


# ---------------------------------------------------------------- module functions

COND = np.array([[True, False, True, False]] * 2 + [[False, False, True, True]])


def _torch_cond():
    return _torch().from_numpy(COND)


JOIN_CASES = [
    OpCase(
        "concatenate axis 0",
        lambda a, b: tg.concatenate([a, b]),
        lambda a, b: np.concatenate([a, b]),
        ((2, 3), (4, 3)),
        torch_fn=lambda a, b: _torch().cat([a, b]),
    ),
    OpCase(
        "concatenate axis 1",
        lambda a, b, c: tg.concatenate([a, b, c], axis=1),
        lambda a, b, c: np.concatenate([a, b, c], axis=1),
        ((2, 3), (2, 1), (2, 2)),
        torch_fn=lambda a, b, c: _torch().cat([a, b, c], dim=1),
    ),
    OpCase(
        "cat axis -1",
        lambda a, b: tg.cat((a, b), axis=-1),
        lambda a, b: np.concatenate([a, b], -1),
        ((2, 3, 2), (2, 3, 4)),
        torch_fn=lambda a, b: _torch().cat([a, b], dim=-1),
    ),
    OpCase(
        "stack axis 0",
        lambda a, b: tg.stack([a, b]),
        lambda a, b: np.stack([a, b]),
        ((2, 3), (2, 3)),
        torch_fn=lambda a, b: _torch().stack([a, b]),
    ),
    OpCase(
        "stack axis 1",
        lambda a, b, c: tg.stack([a, b, c], axis=1),
        lambda a, b, c: np.stack([a, b, c], 1),
        ((2, 3), (2, 3), (2, 3)),
        torch_fn=lambda a, b, c: _torch().stack([a, b, c], dim=1),
    ),
    OpCase(
        "stack axis -1",
        lambda a, b: tg.stack([a, b], axis=-1),
        lambda a, b: np.stack([a, b], -1),
        ((2, 3), (2, 3)),
        torch_fn=lambda a, b: _torch().stack([a, b], dim=-1),
    ),
    OpCase(
        "where bool Tensor",
        lambda a, b: tg.where(tg.Tensor(COND), a, b),
        lambda a, b: np.where(COND, a, b),
        ((3, 4), (3, 4)),
        torch_fn=lambda a, b: _torch().where(_torch_cond(), a, b),
    ),
    OpCase(
        "where bool ndarray broadcast",
        lambda a, b: tg.where(COND, a, b),
        lambda a, b: np.where(COND, a, b),
        ((3, 1), (4,)),
        torch_fn=lambda a, b: _torch().where(_torch_cond(), a, b),
    ),
    OpCase(
        "where scalar branch",
        lambda a: tg.where(COND, a, 0.0),
        lambda a: np.where(COND, a, 0.0),
        ((3, 4),),
        torch_fn=lambda a: _torch().where(_torch_cond(), a, 0.0),
    ),
    OpCase(
        "where from comparison",
        lambda a, b: tg.where(a > b, a, b),
        lambda a, b: np.where(a > b, a, b),
        ((3, 4), (3, 4)),
        torch_fn=lambda a, b: _torch().where(a > b, a, b),
    ),
]

OP_CASES = (
    _binary_cases()
    + SCALAR_CASES
    + _matmul_cases()
    + UNARY_CASES
    + _reduction_cases()
    + SHAPE_CASES
    + _index_cases()
    + JOIN_CASES
)

op_case_params = pytest.mark.parametrize("case", OP_CASES, ids=[case.name for case in OP_CASES])
