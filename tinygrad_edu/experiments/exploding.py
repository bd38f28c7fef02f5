"""Exploding gradients: large weights and a high learning rate blow training up into NaN.

With weights initialised too large, each ReLU layer multiplies activations and gradients
by about 1.4; six layers and a learning rate of 0.1 make the updates grow until the loss
is NaN. Three remedies from the lesson, each alone: a lower learning rate, batch norm,
gradient clipping.
"""

from __future__ import annotations

import math

from .. import nn, optim
from . import figures
from .runner import digits, mlp, result, train

NAME = "exploding"
LESSON = "Gradients can explode: lower the learning rate, add batch norm, or clip gradients."
HIGH_LR, LOW_LR, CLIP_NORM, GAIN = 0.1, 0.001, 1.0, 2.0


def large_init(linear: nn.Linear) -> None:
    """N(0, (2/√fan_in)²): √2 times He's scale, so every layer amplifies its input."""
    nn.init.normal_(linear.weight, 0.0, GAIN / math.sqrt(linear.in_features))


def run(plot_path: str | None = None, progress: bool = False, quick: bool = False) -> dict:
    data = digits()
    epochs = 3 if quick else 8
    sizes = [64] + [64] * 6 + [10]

    def sgd(lr):
        return lambda params: optim.SGD(params, lr=lr, momentum=0.9)

    def deep(batch_norm=False):
        return lambda: mlp(sizes, nn.ReLU, batch_norm=batch_norm, init=large_init)

    runs = [
        train(
            f"large init, lr {HIGH_LR}",
            "failure",
            deep(),
            sgd(HIGH_LR),
            data,
            epochs,
            progress=progress,
        ),
        train(f"lower lr {LOW_LR}", "remedy", deep(), sgd(LOW_LR), data, epochs, progress=progress),
        train(
            f"batch norm, lr {HIGH_LR}",
            "remedy",
            deep(batch_norm=True),
            sgd(HIGH_LR),
            data,
            epochs,
            progress=progress,
        ),
        train(
            f"clip grad norm {CLIP_NORM}, lr {HIGH_LR}",
            "remedy",
            deep(),
            sgd(HIGH_LR),
            data,
            epochs,
            clip_norm=CLIP_NORM,
            progress=progress,
        ),
    ]
    return result(NAME, runs, plot_path, plot)


def plot(outcome: dict, path: str) -> None:
    runs = outcome["runs"]
    fig, axes = figures.figure()
    figures.step_loss_panel(axes[0], runs)
    figures.series_panel(
        axes[1], runs, "step_max_grad_norm", "largest layer gradient norm (log)", log=True
    )
    figures.accuracy_panel(axes[2], runs)
    figures.save(
        fig, path, "Exploding gradients: 6 ReLU layers, weights too large", LESSON, axes[1]
    )
