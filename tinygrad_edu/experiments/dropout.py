"""Dropout: 0.0 lets a big net memorise a small, noisy training set, 1.0 learns nothing.

A 256-wide net is trained on 300 digits of which 20% carry a wrong (random) label, as
hand-labelled data often does; the test set stays clean. Without dropout the net
memorises the wrong labels too and does worse on the test set. Dropping half the hidden
units at each step keeps it from memorising (like training an ensemble). Dropping all
of them (p = 1.0) cuts the signal: the net learns nothing. Intermediate values help.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .. import nn, optim
from . import figures
from .runner import SEED, Data, Run, digits, mlp

NAME = "dropout"
LESSON = "Dropout regularises: 0.0 = none (overfits), 1.0 = drop everything (learns nothing), in between is useful."
EPOCHS = (30, 60)  # quick, full
TRAIN_SIZE, WIDTH, LABEL_NOISE = 300, 256, 0.2


def with_label_noise(data: Data, fraction: float) -> Data:
    """Replace `fraction` of the training labels by random classes (fixed seed); test untouched."""
    rng = np.random.default_rng(SEED)
    noisy = rng.random(len(data.y_train)) < fraction
    y_train = np.where(noisy, rng.integers(0, 10, len(data.y_train)), data.y_train)
    return Data(data.X_train, y_train, data.X_test, data.y_test)


def data() -> Data:
    return with_label_noise(digits(train_size=TRAIN_SIZE), LABEL_NOISE)


def runs() -> list[Run]:
    return [
        Run(
            f"dropout p={p}",
            role,
            partial(mlp, [64, WIDTH, WIDTH, 10], nn.ReLU, dropout=p),
            partial(optim.SGD, lr=0.01, momentum=0.9),
            batch_size=32,
            metrics={"dropout_p": p},
        )
        for p, role in ((0.0, "failure"), (0.5, "remedy"), (1.0, "failure"))
    ]


def derived(metrics: dict) -> dict:
    """How much better the net does on the data it trained on than on new data."""
    return {"generalization_gap": metrics["train_accuracy"] - metrics["test_accuracy"]}


def plot(outcome: dict, path: str) -> None:
    runs = outcome["runs"]
    fig, axes = figures.figure()
    figures.series_panel(axes[0], runs, "loss", "training loss (log)", log=True)
    figures.series_panel(axes[1], runs, "test_accuracy", "test accuracy")
    figures.accuracy_panel(axes[2], runs)
    figures.save(
        fig,
        path,
        f"Dropout on {TRAIN_SIZE} training digits, {LABEL_NOISE:.0%} mislabelled: p = 0.0, 0.5, 1.0",
        LESSON,
        axes[1],
    )
