"""Feature scaling: raw features spanning ten orders of magnitude lead into the NaN trap.

The digits' pixels are made wide-ranged and skewed, as real features often are: every
fourth column is exponentiated (e^(1.5·x), up to 2.6e10, most values tiny) and another
quarter multiplied by 1e3 to 1e5. Trained raw, the first step is enormous and the loss
turns NaN within a few steps. Each remedy of the lesson, fitted on the training set only:
linear scaling to [-1, 1]; a hard cap (clip at the 90th percentile) then linear scaling;
log scaling then linear scaling.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .. import nn, optim
from ..features import ClipScaler, LinearScaler, LogScaler
from . import figures
from .runner import Data, Run, digits, mlp

NAME = "scaling"
LESSON = "Features should have reasonable scales, roughly [-1, 1]: linear scaling, hard caps, log scaling avoid the NaN trap."
EPOCHS = (3, 8)  # quick, full
LR = 0.05


def widen_and_skew(X: np.ndarray) -> np.ndarray:
    """Columns 1, 5, 9, ... -> e^(1.5·x) (skewed); columns 3, 7, 11, ... -> x · 1e3..1e5 (wide)."""
    X = X.astype(np.float64)
    column = np.arange(X.shape[1])
    skewed, wide = column % 4 == 1, column % 4 == 3
    X[:, skewed] = np.exp(1.5 * X[:, skewed])
    X[:, wide] *= 10.0 ** (3 + column[wide] % 3)
    return X.astype(np.float32)


def scaled(split: Data, *scalers) -> Data:
    """Apply the scalers in order, each fitted on the (already transformed) training set."""
    X_train, X_test = split.X_train, split.X_test
    for scaler in scalers:
        X_train = scaler.fit_transform(X_train)
        X_test = scaler.transform(X_test)
    return Data(X_train, split.y_train, X_test, split.y_test)


def data() -> Data:
    """The digits with every fourth column exponentiated and another quarter widened."""
    raw = digits(scaled=False)
    return Data(widen_and_skew(raw.X_train), raw.y_train, widen_and_skew(raw.X_test), raw.y_test)


def runs() -> list[Run]:
    raw = data()
    variants = [
        ("raw features", "failure", raw),
        ("linear scaling", "remedy", scaled(raw, LinearScaler())),
        (
            "hard cap + linear",
            "remedy",
            scaled(raw, ClipScaler(quantiles=(0.0, 0.9)), LinearScaler()),
        ),
        ("log + linear scaling", "remedy", scaled(raw, LogScaler(), LinearScaler())),
    ]
    return [
        Run(
            label,
            role,
            partial(mlp, [64, 64, 10], nn.ReLU),
            partial(optim.SGD, lr=LR, momentum=0.9),
            data=variant,
            metrics={"feature_max_abs": float(np.abs(variant.X_train).max())},
        )
        for label, role, variant in variants
    ]


def plot(outcome: dict, path: str) -> None:
    runs = outcome["runs"]
    fig, axes = figures.figure()
    figures.step_loss_panel(axes[0], runs)
    scales = [run["metrics"]["feature_max_abs"] for run in runs]
    axes[1].bar(range(len(runs)), scales, color=figures.colours(runs))
    axes[1].set_yscale("log")
    axes[1].set_xticks(range(len(runs)), [figures._wrap(run["label"]) for run in runs], fontsize=8)
    axes[1].set_title("largest input feature |x| (log)")
    axes[1].grid(alpha=0.3, axis="y")
    figures.accuracy_panel(axes[2], runs)
    figures.save(
        fig, path, "Feature scaling: raw wide, skewed features vs three scalings", LESSON, axes[0]
    )
