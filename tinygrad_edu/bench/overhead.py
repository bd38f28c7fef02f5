"""Per-op overhead: what one tiny op, and one tiny forward+backward, cost in each library.

On 4-element tensors the arithmetic is free, so these times are the price of the
Python (or C++) layer itself: building a node, checking dtypes, walking the graph.
That price decides the small-batch MLP step. Read memory.py next.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .timing import time_interleaved

SIZE = 4  # elements per tensor: small enough that only the overhead is left
TINY_MLP_SIZES, TINY_MLP_BATCH = (8, 8, 8, 2), 4
# Per-op time targets for tinygrad_edu, in seconds (the price of one node and one walk).
TARGETS = {"add_requires_grad": 3e-6, "tiny_forward_backward": 25e-6}


def _inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(SIZE).astype(np.float32) for _ in range(3))


# ---------------------------------------------------------------- the cases, per library
# Each maker returns the function to time; the tensors are made once, outside it.


def tinygrad_edu_add(requires_grad: bool) -> Callable[[], object]:
    import tinygrad_edu as tg

    a, b, _ = (tg.Tensor(array, requires_grad=requires_grad) for array in _inputs())
    return lambda: a + b


def torch_add(requires_grad: bool) -> Callable[[], object]:
    import torch

    a, b, _ = (torch.tensor(array, requires_grad=requires_grad) for array in _inputs())
    return lambda: a + b


def numpy_add() -> Callable[[], object]:
    a, b, _ = _inputs()
    return lambda: a + b


def tinygrad_edu_tiny_graph() -> Callable[[], object]:
    """(a*b + c).sum().backward(); the leaves' .grad accumulate across calls, as in PyTorch."""
    import tinygrad_edu as tg

    a, b, c = (tg.Tensor(array, requires_grad=True) for array in _inputs())
    return lambda: (a * b + c).sum().backward()


def torch_tiny_graph() -> Callable[[], object]:
    import torch

    a, b, c = (torch.tensor(array, requires_grad=True) for array in _inputs())
    return lambda: (a * b + c).sum().backward()


def numpy_tiny_graph() -> Callable[[], object]:
    """The same forward and its gradients written by hand: the floor with no graph at all."""
    a, b, c = _inputs()

    def forward_backward():
        out = (a * b + c).sum()
        grad_a, grad_b, grad_c = b.copy(), a.copy(), np.ones_like(c)  # d(out)/d(a, b, c)
        return out, grad_a, grad_b, grad_c

    return forward_backward


def autograd_tiny_graph() -> Callable[[], object]:
    import autograd
    import autograd.numpy as anp

    a, b, c = _inputs()
    gradient = autograd.grad(lambda a, b, c: anp.sum(a * b + c), argnum=(0, 1, 2))
    return lambda: gradient(a, b, c)


def tiny_mlp_step(variant: str) -> Callable[[], object]:
    """One training step of mlp_step.py's loop on an 8-8-8-2 MLP, batch 4: the kernels
    are nearly free, so this is what the layers, loss, backward and optimizer cost."""
    from .mlp_step import VARIANTS, make_problem

    return VARIANTS[variant][0](make_problem(TINY_MLP_BATCH, sizes=TINY_MLP_SIZES))


def mygrad_tiny_graph() -> Callable[[], object]:
    import mygrad as mg

    a, b, c = (mg.Tensor(array) for array in _inputs())
    return lambda: (a * b + c).sum().backward()


# Case -> {variant: (maker, the module it needs)}.
CASES: dict[str, dict[str, tuple[Callable[[], Callable[[], object]], str]]] = {
    "add": {
        "tinygrad_edu": (lambda: tinygrad_edu_add(False), "tinygrad_edu"),
        "numpy": (numpy_add, "numpy"),
        "torch": (lambda: torch_add(False), "torch"),
    },
    "add_requires_grad": {
        "tinygrad_edu": (lambda: tinygrad_edu_add(True), "tinygrad_edu"),
        "torch": (lambda: torch_add(True), "torch"),
    },
    "tiny_forward_backward": {
        "tinygrad_edu": (tinygrad_edu_tiny_graph, "tinygrad_edu"),
        "numpy": (numpy_tiny_graph, "numpy"),
        "torch": (torch_tiny_graph, "torch"),
        "autograd": (autograd_tiny_graph, "autograd"),
        "mygrad": (mygrad_tiny_graph, "mygrad"),
    },
    "tiny_mlp_step": {
        name: (lambda name=name: tiny_mlp_step(name), name)
        for name in ("tinygrad_edu", "numpy", "torch", "autograd", "mygrad")
    },
}

DESCRIPTIONS = {
    "add": "a + b, 4 floats, no grad",
    "add_requires_grad": "a + b, 4 floats, requires_grad",
    "tiny_forward_backward": "(a*b + c).sum().backward(), 4 floats",
    "tiny_mlp_step": "MLP step, 8-8-8-2, batch 4 (mlp_step.py's loop)",
}


def run(repeats: int = 15, min_sample_seconds: float = 0.05) -> dict:
    """Time every case in every installed library, interleaved within the case, on 1 thread.

    Returns {"rows": [{case, description, times, ratios, target_s}], "skipped": {...}}.
    """
    from .mlp_step import missing_library_note, ratios, thread_count

    rows, skipped, notes = [], {}, []
    for case, makers in CASES.items():
        candidates = {}
        for variant, (maker, module) in makers.items():
            note = missing_library_note(module)
            if note is None:
                candidates[variant] = maker()
            else:
                skipped[variant] = note
        with thread_count(1, notes):
            timings = time_interleaved(candidates, repeats, min_sample_seconds)
        rows.append(
            {
                "case": case,
                "description": DESCRIPTIONS[case],
                "times": {name: timing.to_dict() for name, timing in timings.items()},
                "ratios": ratios(timings),
                "cpu_ratios": ratios(timings, cpu=True),
                "target_s": TARGETS.get(case),
            }
        )
    return {"rows": rows, "skipped": skipped, "notes": notes}
