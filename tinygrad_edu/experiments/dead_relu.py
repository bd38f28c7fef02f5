"""Dead ReLUs: a learning rate too high pushes units below zero for every input, for good.

A ReLU unit whose weighted sum is negative for every example outputs 0 and passes back
a gradient of 0, so nothing can revive it. One large step is enough to get there: at
lr 0.5 most hidden units die and the net stalls; at lr 0.05 almost all stay alive.
"""

from __future__ import annotations

from functools import partial

from .. import nn, optim
from . import figures
from .runner import Run, digits, mlp

NAME = "dead-relu"
LESSON = "ReLU layers can die: a unit stuck below zero gets no gradient. Keep calm and lower your learning rate."
EPOCHS = (3, 8)  # quick, full
HIGH_LR, LOW_LR = 0.5, 0.05
data = digits


def runs() -> list[Run]:
    return [
        Run(
            f"ReLU net, lr {lr}",
            role,
            partial(mlp, [64, 64, 64, 10], nn.ReLU),
            partial(optim.SGD, lr=lr, momentum=0.9),
        )
        for lr, role in ((HIGH_LR, "failure"), (LOW_LR, "remedy"))
    ]


def plot(outcome: dict, path: str) -> None:
    runs = outcome["runs"]
    fig, axes = figures.figure()
    figures.series_panel(axes[0], runs, "loss", "training loss")
    figures.series_panel(axes[1], runs, "dead_fraction", "fraction of dead ReLU units (per batch)")
    axes[1].set_ylim(0, 1)
    figures.accuracy_panel(axes[2], runs)
    figures.save(fig, path, "Dead ReLUs: learning rate 0.5 vs 0.05", LESSON, axes[1])
