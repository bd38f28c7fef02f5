"""Sharpness: gradient descent overshoots once lr > 2 / λ_max, the largest Hessian eigenvalue.

The digits MLP is trained by full-batch gradient descent at rates around 2/λ₀ (λ₀: the
sharpness at initialisation), λ_max measured at every step. The summary tests three of the
rule's predictions: where one step starts to raise the loss, that the loss rises only while
lr > 2/λ_max, and where training diverges. Read docs/failure-cases/sharpness.md.
"""

from __future__ import annotations

import functools
from functools import partial

import numpy as np

from .. import optim
from ..autograd import grad
from ..diagnostics import sharpness
from ..grad_mode import no_grad
from ..nn import functional as F
from ..random import manual_seed
from ..tensor import Tensor
from . import figures
from .runner import SEED, Run, digits, mlp, single_thread

NAME = "sharpness"
LESSON = "Learning rates are important: gradient descent overshoots once lr > 2 / sharpness."
EPOCHS = (8, 40)  # quick, full; one epoch is one step (full batch)
FACTORS = (0.5, 0.9, 1.1, 1.5, 2.0, 3.0, 4.0)  # learning rates, in units of 2/λ₀
SIZES = [64, 64, 64, 10]
SHARPNESS_EVERY = 1  # λ_max at every step: the rule is about the current curvature
# The tolerances of the checks (docs/failure-cases/sharpness.md says why these):
MODEL_TOLERANCE = 1.25  # one step: measured rise threshold within 25% of 2/λ_g
MATCH_FACTOR = 2.0  # divergence: the threshold within a factor 2 of 2/λ₀
SCAN = np.linspace(0.05, 5.0, 100)  # one-step rates scanned, in units of 2/λ₀
CLASSES = 10
data = digits


def squared_error(logits: Tensor, y: Tensor) -> Tensor:
    """Mean squared distance to the one-hot target. Not cross-entropy: its curvature fades as
    the softmax grows confident, so it would hide the instability this lab is about."""
    target = F.one_hot(y, CLASSES).data.astype(logits.dtype)
    return F.mse_loss(logits, Tensor(target))


def _at_initialisation():
    """(params, loss_fn): the initial weights every run starts from (measure() seeds the same
    way before building) and the full-batch training loss at the current weights."""
    split = data()
    X, y = Tensor(split.X_train), Tensor(split.y_train)
    manual_seed(SEED)
    model = mlp(SIZES)
    return list(model.parameters()), lambda: squared_error(model(X), y)


@functools.cache
def initial_sharpness() -> float:
    """λ₀: the sharpness of the training loss at the initial weights."""
    params, loss_fn = _at_initialisation()
    with single_thread():
        return sharpness(loss_fn, params)


@functools.cache
def first_step() -> dict:
    """One gradient step from the initial weights, measured and as the quadratic model says.

    Along the step −lr·g the second-order model of the loss is ΔL = −lr·gᵀg + lr²/2·gᵀHg:
    it rises once lr > 2/λ_g, λ_g = gᵀHg/gᵀg the curvature along the gradient (one
    Hessian-vector product). The measured ΔL(lr) takes one forward pass per rate; the first
    rate that raises the loss is found on the SCAN grid, then by bisection."""
    params, loss_fn = _at_initialisation()
    with single_thread():
        loss = loss_fn()
        gradients = grad(loss, params, create_graph=True)
        # d/dθ (gᵀ·v) with v = g held constant is H·g
        dot = sum((g * Tensor(g.data)).sum() for g in gradients)
        curvature_times_g = [h.data.astype(np.float64) for h in grad(dot, params)]
        g = [x.data.astype(np.float64) for x in gradients]
        squared_norm, curvature = _dot(g, g), _dot(g, curvature_times_g)
        start = [p.data.copy() for p in params]

        def change(lr: float) -> float:
            for p, p0, gi in zip(params, start, g):
                p.data[...] = p0 - lr * gi
            with no_grad():
                return float(loss_fn().data) - float(loss.data)

        try:
            unit = 2 / initial_sharpness()
            measured = [change(factor * unit) for factor in SCAN]
            rise = _first_rise(change, [float(f * unit) for f in SCAN], measured)
        finally:
            for p, p0 in zip(params, start):
                p.data[...] = p0
    return {
        "gradient_curvature": curvature / squared_norm,
        "model_threshold_lr": 2 * squared_norm / curvature,
        "rise_threshold_lr": rise,
        "scan_lr_factors": [float(f) for f in SCAN],
        "scan_change": measured,
        "scan_model_change": [_model_change(f * unit, squared_norm, curvature) for f in SCAN],
        "squared_gradient": squared_norm,
        "gradient_hessian_gradient": curvature,
    }


def _model_change(lr: float, squared_norm: float, curvature: float) -> float:
    """The quadratic model's ΔL after one step −lr·g: exact for a quadratic loss."""
    return float(-lr * squared_norm + lr**2 / 2 * curvature)


def _first_rise(change, rates: list, changes: list) -> float | None:
    """The smallest rate whose step raises the loss: the first scanned one that does, then
    bisected against the scanned rate below it (40 halvings: far below the scan's spacing)."""
    rising = [i for i, value in enumerate(changes) if value > 0]
    if not rising:
        return None
    if rising[0] == 0:
        return rates[0]  # the smallest rate scanned already raises it
    low, high = rates[rising[0] - 1], rates[rising[0]]
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (low, middle) if change(middle) > 0 else (middle, high)
    return high


def _dot(a: list, b: list) -> float:
    return float(sum(np.dot(x.ravel(), y.ravel()) for x, y in zip(a, b)))


def runs() -> list[Run]:
    initial = initial_sharpness()
    predicted = 2 / initial
    return [
        Run(
            f"lr {factor * predicted:.3g} ({factor:g} x 2/λ₀)",
            "sweep",
            partial(mlp, SIZES),
            partial(optim.SGD, lr=factor * predicted),
            batch_size=len(data().X_train),
            loss_fn=squared_error,
            sharpness_every=SHARPNESS_EVERY,
            metrics={"lr": factor * predicted, "lr_factor": factor, "initial_sharpness": initial},
        )
        for factor in FACTORS
    ]


def derived(metrics: dict) -> dict:
    """edge_ratio = λ_max·lr/2 at the last measurement: 1 is the edge of stability. A run
    that hit NaN has neither (its last finite measurement predates the explosion)."""
    final = None if metrics["nan_step"] is not None else metrics.get("final_sharpness")
    return {
        "final_sharpness": final,
        "edge_ratio": None if final is None else final * metrics["lr"] / 2,
    }


def diverged(run: dict) -> bool:
    """NaN/Inf, or the loss ended above where it started: training went the wrong way."""
    final, first = run["metrics"]["final_loss"], run["series"]["step_loss"][0]
    return final is None or first is None or final >= first


def steps_checked(run: dict) -> dict:
    """Per step t: did the loss rise (L_{t+1} > L_t), and was lr > 2/λ_t (λ_t measured at
    the weights step t starts from)? A rise at a step not measured unstable is a miss."""
    lr = run["metrics"]["lr"]
    losses, measured = run["series"]["step_loss"], run["series"]["step_sharpness"]
    unstable = [v is not None and v * lr / 2 > 1 for v in measured]
    changed = [t for t in range(len(losses) - 1) if None not in (losses[t], losses[t + 1])]
    rises = [t for t in changed if losses[t + 1] > losses[t]]
    tail = [v * lr / 2 for v in measured[-10:] if v is not None]
    return {
        "lr_factor": run["metrics"]["lr_factor"],
        "first_unstable_step": unstable.index(True) if any(unstable) else None,
        "first_rise_step": rises[0] if rises else None,
        "rising_steps": len(rises),
        "rises_while_stable": [t for t in rises if not unstable[t]],
        "steps": len(changed),
        "stable_steps": sum(not unstable[t] for t in changed),
        "lowest_ratio_at_a_rise": min((measured[t] * lr / 2 for t in rises if unstable[t]),
                                      default=None),
        "first_step_change": None if None in losses[:2] else losses[1] - losses[0],
        "edge_ratio_last_10": None if diverged(run) or not tail else float(np.mean(tail)),
    }


def summary(runs: list[dict]) -> dict:
    """The three checks of the rule, each with its verdict, and the numbers behind them."""
    initial = runs[0]["metrics"]["initial_sharpness"]
    step = first_step()
    per_run = [steps_checked(run) for run in runs]
    one_step = _one_step(initial, step, per_run, [run["metrics"]["lr"] for run in runs])
    every_step = _every_step(per_run)
    divergence = _divergence(initial, runs)
    return {
        "initial_sharpness": initial,
        "predicted_threshold_lr": 2 / initial,
        **{key: value for key, value in step.items() if not key.startswith("scan")},
        "scan": {key: value for key, value in step.items() if key.startswith("scan")},
        "runs": per_run,
        **one_step,
        **every_step,
        **divergence,
        "verdicts": {
            "one_step": one_step["one_step_verdict"],
            "every_step": every_step["every_step_verdict"],
            "divergence": divergence["divergence_verdict"],
        },
        "verdict": "\n".join(
            [
                one_step["one_step_verdict"],
                every_step["every_step_verdict"],
                _first_steps_line(per_run),
                divergence["divergence_verdict"],
                _edge_line(per_run),
            ]
        ),
    }


def _one_step(initial: float, step: dict, per_run: list, rates: list) -> dict:
    """Check 1: the rate from which one step raises the loss, against 2/λ_g; and each run's
    first step against the model's sign (a rise exactly when lr > 2/λ_g)."""
    rise, model = step["rise_threshold_lr"], step["model_threshold_lr"]
    unit = 2 / initial
    ratio = None if rise is None else rise / model
    matches = ratio is not None and bool(1 / MODEL_TOLERANCE <= ratio <= MODEL_TOLERANCE)
    signs = [
        (checked["first_step_change"] > 0) == (lr > model)
        for checked, lr in zip(per_run, rates)
        if checked["first_step_change"] is not None
    ]
    measured = (
        f"from lr {rise:.3g} ({rise / unit:.2f} x 2/λ₀)"
        if rise is not None
        else f"at no rate up to {SCAN[-1]:g} x 2/λ₀"
    )
    return {
        "one_step_ratio": ratio,
        "one_step_tolerance": MODEL_TOLERANCE,
        "one_step_matches": matches,
        "first_step_signs_agree": sum(signs),
        "one_step_verdict": (
            f"one step: from the initial weights one step raises the loss {measured}; the "
            f"quadratic model says from 2/λ_g = {model:.3g} ({model / unit:.2f} x 2/λ₀; λ_g = "
            f"gᵀHg/gᵀg = {step['gradient_curvature']:.3g}, the curvature along the gradient): "
            f"{'matches' if matches else 'does NOT match'} within {MODEL_TOLERANCE - 1:.0%}; "
            f"the runs' first steps went the model's way in {sum(signs)} of {len(signs)}"
        ),
    }


def _every_step(per_run: list) -> dict:
    """Check 2: the loss rises only at steps where lr > 2/λ_max (the quadratic's |1 − lr·λ| > 1
    needs λ > 2/lr along some direction)."""
    rising = sum(checked["rising_steps"] for checked in per_run)
    misses = {
        checked["lr_factor"]: checked["rises_while_stable"]
        for checked in per_run
        if checked["rises_while_stable"]
    }
    missed = sum(len(steps) for steps in misses.values())
    stable = sum(checked["stable_steps"] for checked in per_run)
    lowest = [c["lowest_ratio_at_a_rise"] for c in per_run if c["lowest_ratio_at_a_rise"]]
    bound = f" (λ_max·lr/2 >= {min(lowest):.2f})" if lowest else ""
    steps = sum(checked["steps"] for checked in per_run)
    where = "; ".join(f"{f:g} x at steps {', '.join(map(str, s))}" for f, s in misses.items())
    return {
        "rising_steps": rising,
        "rises_while_stable": missed,
        "no_rise_while_stable": not misses,
        "stable_steps": stable,
        "every_step_verdict": (
            f"every step: of {steps} steps (all runs) the loss rose at {rising}: "
            f"{rising - missed} with lr > 2/λ_max measured at that step{bound}, {missed} of "
            f"the {stable} with lr <= 2/λ_max; the rule's 'no rise while lr < 2/λ_max' "
            + ("holds" if not misses else f"does NOT hold ({where})")
        ),
    }


def _first_steps_line(per_run: list) -> str:
    """Per run: the first step measured with lr > 2/λ_max, and the first step the loss rose."""

    def step(value):
        return "-" if value is None else str(value)

    cells = [
        f"{c['lr_factor']:g} x {step(c['first_unstable_step'])}/{step(c['first_rise_step'])}"
        for c in per_run
    ]
    return "first step with lr > 2/λ_max / first rise, per run: " + ", ".join(cells)


def _divergence(initial: float, runs: list) -> dict:
    """Check 3: where training diverges, against 2/λ₀ within MATCH_FACTOR."""
    factors = {run["metrics"]["lr_factor"]: diverged(run) for run in runs}
    blew_up = sorted(f for f, bad in factors.items() if bad)
    survived = sorted(f for f, bad in factors.items() if not bad)
    matches = bool(blew_up) and threshold_within(survived, blew_up[0], MATCH_FACTOR)
    observed = f"{blew_up[0]:g} x 2/λ₀" if blew_up else "none of the rates tried"
    return {
        "diverged_lr_factors": blew_up,
        "survived_lr_factors": survived,
        "match_factor": MATCH_FACTOR,
        "matches": matches,
        "divergence_verdict": (
            f"divergence: 2/λ₀ predicts divergence above lr {2 / initial:.3g}; training "
            f"diverged from {observed}, survived up to {survived[-1] if survived else 0:g} x "
            f"2/λ₀: the prediction {'matches' if matches else 'does NOT match'} within a "
            f"factor of {MATCH_FACTOR:g}"
        ),
    }


def _edge_line(per_run: list) -> str:
    ratios = [c["edge_ratio_last_10"] for c in per_run if c["edge_ratio_last_10"] is not None]
    if not ratios:
        return "edge of stability: no run survived"
    return (
        f"edge of stability: over the last 10 steps λ_max·lr/2 averaged {min(ratios):.2f} to "
        f"{max(ratios):.2f} in the runs that survived"
    )


def threshold_within(survived: list, first_diverged: float, factor: float) -> bool:
    """True when the runs pin the divergence threshold inside [1/factor, factor] x 2/λ₀:
    the first rate that diverged is at most `factor`, the rate below it survived and is at
    least 1/factor, and no higher rate survived (a clean threshold)."""
    below = [f for f in survived if f < first_diverged]
    return (
        first_diverged <= factor
        and bool(below)
        and max(below) >= 1 / factor
        and all(f < first_diverged for f in survived)
    )


def plot(outcome: dict, path: str) -> None:
    runs = outcome["runs"]
    fig, axes = figures.figure()
    axes[0].set_ylim(0.02, 1)  # first: the NaN mark goes at the top of this range
    figures.step_loss_panel(axes[0], runs)
    axes[0].set_title("training loss per step (log, cut at 1)")
    _sharpness_panel(axes[1], runs)
    _one_step_panel(axes[2], runs, outcome["summary"])
    figures.save(
        fig, path, "Sharpness: full-batch gradient descent around lr = 2/λ₀", LESSON, axes[0]
    )


def _sharpness_panel(axis, runs: list[dict]) -> None:
    """λ_max at each step against each run's 2/lr (dashed, same colour)."""
    for run, colour in zip(runs, figures.colours(runs)):
        values = np.array(run["series"]["step_sharpness"], dtype=float)
        axis.plot(values, color=colour, linewidth=1.5)
        axis.axhline(2 / run["metrics"]["lr"], color=colour, linestyle="--", linewidth=1)
    axis.set_yscale("log")
    axis.set_ylim(0.1, 10)
    axis.set_title("λ_max at each step (solid) vs 2/lr (dashed)")
    axis.set_xlabel("step")
    axis.grid(alpha=0.3)


def _one_step_panel(axis, runs: list[dict], summary: dict) -> None:
    """One step from the initial weights: the loss change against lr, measured and as the
    quadratic model says, with 2/λ₀ and 2/λ_g marked and each run's first step as a dot."""
    unit = summary["predicted_threshold_lr"]
    scan = summary["scan"]
    axis.plot(scan["scan_lr_factors"], scan["scan_change"], color="black", label="measured")
    axis.plot(
        scan["scan_lr_factors"], scan["scan_model_change"], color="grey", linestyle="--",
        label="quadratic model",
    )
    dots = [
        (checked["lr_factor"], checked["first_step_change"], colour)
        for checked, colour in zip(summary["runs"], figures.colours(runs))
        if checked["first_step_change"] is not None
    ]
    factors, changes, colours = zip(*dots)
    axis.scatter(factors, changes, c=colours, s=50, zorder=3, label="the runs' first steps")
    axis.axhline(0, color="black", linewidth=0.8)
    axis.axvline(1.0, color="black", linestyle=":", linewidth=1, label="2/λ₀")
    axis.axvline(
        summary["model_threshold_lr"] / unit, color="red", linestyle=":", linewidth=1,
        label="2/λ_g",
    )
    axis.set_yscale("symlog", linthresh=1e-2)
    axis.set_xlabel("lr / (2/λ₀)")
    axis.set_title("one step from the start: loss change")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
