"""Sharpness: the largest eigenvalue of the loss's Hessian, found by power iteration.

Each iteration is one Hessian-vector product, H·v = ∇(∇L · v): a second backward pass
through the gradient's own graph (tg.autograd.grad with create_graph=True), so the
Hessian itself is never built. Plain gradient descent diverges once lr > 2 / sharpness;
monitor.py turns that into a finding. docs/failure-cases/sharpness.md shows it on digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..autograd import grad
from ..grad_mode import enable_grad
from ..tensor import Tensor

DEFAULT_TOL = 1e-3  # stop when two Rayleigh quotients agree to 0.1%: well inside 2/lr's use
SEED = 0  # the start vector's seed: the same call gives the same number


def sharpness(
    loss_fn: Callable[[], Tensor],
    params: Sequence[Tensor],
    iters: int = 20,
    tol: float = DEFAULT_TOL,
    seed: int = SEED,
) -> float:
    """λ_max: the largest eigenvalue of the Hessian of `loss_fn()` with respect to `params`.

    Power iteration on v ← H·v / ‖H·v‖ from a seeded random start finds the eigenvalue of
    largest *magnitude*; its estimate is the Rayleigh quotient vᵀ·H·v. If that dominant
    eigenvalue is negative (a saddle or a maximum pulls hardest), a second run on the
    shifted matrix H + |μ|·I, whose eigenvalues are all >= 0 and whose largest is
    λ_max + |μ|, finds the largest algebraic eigenvalue, which is what is returned: it is
    the one that decides whether gradient descent oscillates out (negative curvature makes
    the loss go down, not blow up). Each run stops after `iters` products, or earlier when
    two successive estimates agree to the relative tolerance `tol`. The estimate nears λ_max
    from below, its error shrinking by about (λ₂/λ₁)² per product: when the top two
    eigenvalues are close, raise `iters`. The start vector is drawn from `seed`, so the
    same call at the same weights returns the same number.

    `loss_fn()` takes no arguments and returns a one-element Tensor; it is called once
    (as one forward pass: dropout draws its masks, batch norm updates its statistics).
    The parameters keep their values, .grad and requires_grad.
    """
    params = _checked(params, iters, tol)
    requires_grad = [p.requires_grad for p in params]
    try:
        with enable_grad():  # the products need graphs even when called inside no_grad
            for p in params:
                p.requires_grad_(True)
            hessian_times = _hessian_vector_product(loss_fn, params)
            rng = np.random.default_rng(seed)
            start = [rng.standard_normal(p.shape) for p in params]
            dominant = _power_iteration(hessian_times, start, iters, tol, shift=0.0)
            if dominant >= 0:
                return dominant
            shift = -dominant
            return _power_iteration(hessian_times, start, iters, tol, shift) - shift
    finally:
        for p, flag in zip(params, requires_grad):
            p.requires_grad_(flag)


def _hessian_vector_product(loss_fn, params: list) -> Callable[[list], list]:
    """A function v -> H·v (lists of float64 arrays); one forward and one first backward,
    whose graph every product reuses (retain_graph)."""
    loss = loss_fn()
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise TypeError("sharpness: loss_fn() must return a one-element Tensor (the loss)")
    gradients = grad(loss.reshape(()), params, create_graph=True, allow_unused=True)
    # A gradient that does not depend on the parameters (a linear loss, an unused one)
    # has a zero Hessian block: it takes no part in the second pass.
    curved = [i for i, g in enumerate(gradients) if g is not None and g.requires_grad]

    def product(vector: list) -> list:
        result = [np.zeros(p.shape) for p in params]
        if not curved:
            return result
        # ∇L · v, whose own gradient is H·v (v is a constant: it records nothing)
        dot = sum(
            (gradients[i] * Tensor(vector[i], dtype=params[i].dtype)).sum() for i in curved
        )
        second = grad(dot, params, retain_graph=True, allow_unused=True)
        for i, g in enumerate(second):
            if g is not None:
                result[i] = g.data.astype(np.float64)
        return result

    return product


def _power_iteration(hessian_times, start: list, iters: int, tol: float, shift: float) -> float:
    """The dominant eigenvalue of M = H + shift·I: v ← M·v / ‖M·v‖, estimate vᵀ·M·v."""
    vector = _normalised(start)
    estimate = math.nan
    for _ in range(iters):
        image = [hv + shift * v for hv, v in zip(hessian_times(vector), vector)]
        previous, estimate = estimate, _dot(vector, image)  # Rayleigh quotient, ‖v‖ = 1
        norm = math.sqrt(_dot(image, image))
        if norm == 0.0 or not math.isfinite(norm):
            return estimate  # H·v = 0: v is in the null space (estimate 0), or the loss is NaN
        vector = [x / norm for x in image]
        if abs(estimate - previous) <= tol * abs(estimate):
            break
    return estimate


def _normalised(vector: list) -> list:
    norm = math.sqrt(_dot(vector, vector))
    return [x / norm for x in vector]


def _dot(a: list, b: list) -> float:
    return float(sum(np.dot(x.ravel(), y.ravel()) for x, y in zip(a, b)))


def _checked(params, iters: int, tol: float) -> list:
    params = [params] if isinstance(params, Tensor) else list(params)
    if not params:
        raise ValueError("sharpness: params is empty; pass the model's parameters")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"sharpness: params[{i}] is a {type(p).__name__}, not a Tensor")
    if not isinstance(iters, int) or iters < 1:
        raise ValueError(f"sharpness: iters must be a whole number >= 1, got {iters!r}")
    if not tol >= 0:
        raise ValueError(f"sharpness: tol must be >= 0, got {tol!r}")
    return params
