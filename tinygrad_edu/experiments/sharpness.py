"""Sharpness: gradient descent overshoots once lr > 2 / λ_max, the largest Hessian eigenvalue.

The digits MLP is trained by full-batch gradient descent (plain SGD on the whole training
split, so the loss descended is the loss measured) at rates around 2/λ₀, λ₀ the sharpness
at initialisation; the monitor measures λ_max every few steps. The summary says whether
2/λ₀ predicts where training diverges, within MATCH_FACTOR. Read docs/failure-cases/sharpness.md.
"""

from __future__ import annotations

import functools
from functools import partial

import numpy as np

from .. import optim
from ..diagnostics import sharpness
from ..nn import functional as F
from ..random import manual_seed
from ..tensor import Tensor
from . import figures
from .runner import SEED, Run, digits, mlp, single_thread

NAME = "sharpness"
LESSON = "Learning rates are important: gradient descent overshoots once lr > 2 / sharpness."
EPOCHS = (30, 100)  # quick, full; one epoch is one step (full batch)
FACTORS = (0.5, 0.9, 1.1, 2.0, 4.0)  # learning rates, in units of the predicted 2/λ₀
SIZES = [64, 64, 64, 10]
SHARPNESS_EVERY = 10  # steps between measurements (one costs about 20 training steps)
MATCH_FACTOR = 2.0  # the prediction "matches" if the divergence threshold is within this factor
CLASSES = 10
data = digits


def squared_error(logits: Tensor, y: Tensor) -> Tensor:
    """Mean squared distance to the one-hot target. Not cross-entropy: its curvature fades as
    the softmax grows confident, so it would hide the instability this lab is about."""
    target = F.one_hot(y, CLASSES).data.astype(logits.dtype)
    return F.mse_loss(logits, Tensor(target))


@functools.cache
def initial_sharpness() -> float:
    """λ₀: the sharpness of the training loss at the initial weights every run starts from."""
    split = data()
    X, y = Tensor(split.X_train), Tensor(split.y_train)
    manual_seed(SEED)  # measure() seeds the same way before building, so the weights agree
    model = mlp(SIZES)
    with single_thread():
        return sharpness(lambda: squared_error(model(X), y), model.parameters())


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


def summary(runs: list[dict]) -> dict:
    """Where training diverged against where 2/λ₀ says it should, and the verdict."""
    initial = runs[0]["metrics"]["initial_sharpness"]
    factors = {run["metrics"]["lr_factor"]: diverged(run) for run in runs}
    blew_up = sorted(f for f, bad in factors.items() if bad)
    survived = sorted(f for f, bad in factors.items() if not bad)
    matches = bool(blew_up) and threshold_within(survived, blew_up[0], MATCH_FACTOR)
    observed = f"{blew_up[0]:g} x 2/λ₀" if blew_up else "none of the rates tried"
    return {
        "initial_sharpness": initial,
        "predicted_threshold_lr": 2 / initial,
        "diverged_lr_factors": blew_up,
        "survived_lr_factors": survived,
        "match_factor": MATCH_FACTOR,
        "matches": matches,
        "verdict": (
            f"2/λ₀ predicts divergence above lr {2 / initial:.3g}; training diverged from "
            f"{observed}, survived up to {survived[-1] if survived else 0:g} x 2/λ₀: the "
            f"prediction {'matches' if matches else 'does NOT match'} within a factor "
            f"of {MATCH_FACTOR:g}"
        ),
    }


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
    figures.step_loss_panel(axes[0], runs)
    _sharpness_panel(axes[1], runs)
    _outcome_panel(axes[2], runs)
    figures.save(
        fig, path, "Sharpness: full-batch gradient descent around lr = 2/λ₀", LESSON, axes[0]
    )


def _sharpness_panel(axis, runs: list[dict]) -> None:
    """λ_max at each measurement (dots) against each run's 2/lr (dashed, same colour)."""
    for run, colour in zip(runs, figures.colours(runs)):
        values = np.array(run["series"]["step_sharpness"], dtype=float)
        steps = np.flatnonzero(~np.isnan(values))
        axis.plot(steps, values[steps], color=colour, marker="o", markersize=4, linewidth=2)
        axis.axhline(2 / run["metrics"]["lr"], color=colour, linestyle="--", linewidth=1)
    axis.set_ylim(bottom=0)
    axis.set_title("λ_max over steps (dots) vs 2/lr (dashed)")
    axis.set_xlabel("step")
    axis.grid(alpha=0.3)


def _outcome_panel(axis, runs: list[dict]) -> None:
    """Final loss against lr in units of 2/λ₀; the prediction at 1, the tolerated band shaded."""
    factors = [run["metrics"]["lr_factor"] for run in runs]
    first = runs[0]["series"]["step_loss"][0]
    finals = [run["metrics"]["final_loss"] for run in runs]
    shown = [first * 10 if f is None else f for f in finals]  # NaN drawn above the start
    axis.axvspan(1 / MATCH_FACTOR, MATCH_FACTOR, color="#cccccc", alpha=0.4)
    axis.axvline(1.0, color="black", linestyle="--", linewidth=1, label="predicted: lr = 2/λ₀")
    axis.axhline(first, color="grey", linestyle=":", linewidth=1, label="loss at step 0")
    axis.scatter(factors, shown, c=figures.colours(runs), s=70, zorder=3)
    for factor, final, value in zip(factors, finals, shown):
        if final is None:
            axis.annotate("NaN", (factor, value), textcoords="offset points", xytext=(6, -4))
    axis.set_xscale("log")
    axis.set_xticks(factors, [f"{f:g}" for f in factors])
    axis.minorticks_off()
    axis.set_yscale("log")
    axis.set_xlabel("lr / (2/λ₀)")
    axis.set_title(f"final loss (band: within a factor {MATCH_FACTOR:g})")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
