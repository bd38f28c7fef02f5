"""Exploding gradients: large weights and a high learning rate blow training up into NaN.

With weights initialised too large, each ReLU layer multiplies activations and gradients
by about 1.4; six layers and a learning rate of 0.1 make the updates grow until the loss
is NaN. Three remedies from the lesson, each alone: a lower learning rate, batch norm,
gradient clipping.
"""

from __future__ import annotations

import math
from functools import partial

from .. import nn, optim
from . import figures
from .runner import Run, digits, mlp

NAME = "exploding"
LESSON = "Gradients can explode: lower the learning rate, add batch norm, or clip gradients."
EPOCHS = (3, 8)  # quick, full
HIGH_LR, LOW_LR, CLIP_NORM, GAIN = 0.1, 0.001, 1.0, 2.0
SIZES = [64] + [64] * 6 + [10]
data = digits


def large_init(linear: nn.Linear) -> None:
    """N(0, (2/√fan_in)²): √2 times He's scale, so every layer amplifies its input."""
    nn.init.normal_(linear.weight, 0.0, GAIN / math.sqrt(linear.in_features))


def runs() -> list[Run]:
    deep = partial(mlp, SIZES, nn.ReLU, init=large_init)
    deep_batch_norm = partial(mlp, SIZES, nn.ReLU, batch_norm=True, init=large_init)
    high, low = (partial(optim.SGD, lr=lr, momentum=0.9) for lr in (HIGH_LR, LOW_LR))
    return [
        Run(f"large init, lr {HIGH_LR}", "failure", deep, high),
        Run(f"lower lr {LOW_LR}", "remedy", deep, low),
        Run(f"batch norm, lr {HIGH_LR}", "remedy", deep_batch_norm, high),
        Run(f"clip grad norm {CLIP_NORM}, lr {HIGH_LR}", "remedy", deep, high, clip_norm=CLIP_NORM),
    ]


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
