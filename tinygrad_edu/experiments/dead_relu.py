"""Dead ReLUs: a learning rate too high pushes units below zero for every input, for good.

A ReLU unit whose weighted sum is negative for every example outputs 0 and passes back
a gradient of 0, so nothing can revive it. One large step is enough to get there: at
lr 0.5 most hidden units die and the net stalls; at lr 0.05 almost all stay alive.
"""

from __future__ import annotations

from functools import partial

from .. import nn, optim
from . import figures
from .runner import digits, mlp, result, train

NAME = "dead-relu"
LESSON = "ReLU layers can die: a unit stuck below zero gets no gradient. Keep calm and lower your learning rate."
HIGH_LR, LOW_LR = 0.5, 0.05


def run(plot_path: str | None = None, progress: bool = False, quick: bool = False) -> dict:
    data = digits()
    epochs = 3 if quick else 8
    sizes = [64, 64, 64, 10]

    runs = [
        train(
            f"ReLU net, lr {lr}",
            role,
            partial(mlp, sizes, nn.ReLU),
            partial(optim.SGD, lr=lr, momentum=0.9),
            data,
            epochs,
            progress=progress,
        )
        for lr, role in ((HIGH_LR, "failure"), (LOW_LR, "remedy"))
    ]
    return result(NAME, runs, plot_path, plot)


def plot(outcome: dict, path: str) -> None:
    runs = outcome["runs"]
    fig, axes = figures.figure()
    figures.series_panel(axes[0], runs, "loss", "training loss")
    figures.series_panel(axes[1], runs, "dead_fraction", "fraction of dead ReLU units (per batch)")
    axes[1].set_ylim(0, 1)
    figures.accuracy_panel(axes[2], runs)
    figures.save(fig, path, "Dead ReLUs: learning rate 0.5 vs 0.05", LESSON, axes[1])
