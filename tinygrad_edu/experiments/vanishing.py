"""Vanishing gradients: in a deep sigmoid net the lower layers barely learn; ReLU helps.

Backward multiplies one local derivative per layer, and sigmoid's is at most 1/4, so
eight sigmoid layers shrink the first layer's gradient by orders of magnitude. The same
depth with ReLU (slope 1 where active) and He (kaiming) initialisation trains well.
"""

from __future__ import annotations

from functools import partial

from .. import nn, optim
from . import figures
from .runner import Run, digits, mlp

NAME = "vanishing"
LESSON = (
    "Gradients can vanish: each sigmoid layer multiplies the gradient by at most 1/4. ReLU helps."
)
EPOCHS = (4, 15)  # quick, full
HIDDEN_LAYERS, WIDTH = 8, 32
SIZES = [64] + [WIDTH] * HIDDEN_LAYERS + [10]
data = digits


def he_init(linear: nn.Linear) -> None:
    nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")


def runs() -> list[Run]:
    sgd = partial(optim.SGD, lr=0.01, momentum=0.9)
    return [
        Run(f"{HIDDEN_LAYERS} sigmoid layers", "failure", partial(mlp, SIZES, nn.Sigmoid), sgd),
        Run(
            f"{HIDDEN_LAYERS} ReLU layers (He init)",
            "remedy",
            partial(mlp, SIZES, nn.ReLU, init=he_init),
            sgd,
        ),
    ]


def plot(outcome: dict, path: str) -> None:
    runs = outcome["runs"]
    fig, axes = figures.figure()
    figures.series_panel(axes[0], runs, "loss", "training loss")
    figures.series_panel(
        axes[1], runs, "first_layer_grad_norm", "first layer's gradient norm (log)", log=True
    )
    figures.accuracy_panel(axes[2], runs)
    figures.save(
        fig, path, "Vanishing gradients: 8 sigmoid layers vs 8 ReLU layers", LESSON, axes[1]
    )
