"""A learning-rate sweep: too small crawls, too large kills ReLUs and blows gradients up.

The same ReLU net trained at rates from 0.001 to 3: the loss after a few epochs, the
fraction of dead ReLU units, and the largest gradient norm seen, per rate. The good
rates sit in a band; above it units die first, then gradients explode.
"""

from __future__ import annotations

from functools import partial

from .. import nn, optim
from . import figures
from .runner import Run, digits, mlp

NAME = "lr-sweep"
LESSON = "Learning rates are important: too low crawls, too high kills ReLUs and makes gradients explode."
EPOCHS = (3, 8)  # quick, full
RATES = (0.001, 0.01, 0.1, 0.5, 3.0)
data = digits


def runs() -> list[Run]:
    return [
        Run(
            f"lr {lr}",
            "sweep",
            partial(mlp, [64, 64, 64, 10], nn.ReLU),
            partial(optim.SGD, lr=lr, momentum=0.9),
            metrics={"lr": lr},
        )
        for lr in RATES
    ]


def plot(outcome: dict, path: str) -> None:
    runs = outcome["runs"]
    rates = [run["metrics"]["lr"] for run in runs]
    fig, axes = figures.figure(4)
    figures.series_panel(axes[0], runs, "loss", "training loss (log)", log=True)
    figures.metric_vs_rate_panel(axes[1], runs, rates, "test_accuracy", "test accuracy", log=False)
    figures.metric_vs_rate_panel(
        axes[2], runs, rates, "dead_fraction", "dead ReLU fraction", log=False
    )
    figures.metric_vs_rate_panel(
        axes[3], runs, rates, "max_grad_norm", "largest gradient norm (log)", log=True
    )
    figures.save(fig, path, "Learning-rate sweep: one ReLU net, five rates", LESSON, axes[0])
