"""The CNN demo: a small conv-relu-pool network on the bundled 8x8 digits, watched by a
HealthMonitor, trained by the same `fit` loop as the MLP demo and the experiments.

`train_cnn` returns the numbers; `demo` prints them as `tinygrad-edu demo --model cnn` does.
Read ../nn/conv.py for the layers and docs/convolution.md for how they compute.
"""

from __future__ import annotations

import time

from .. import nn, optim
from ..diagnostics import HealthMonitor
from ..random import manual_seed
from .runner import SEED, Data, accuracy, digits, fit

IMAGE = (1, 8, 8)  # channels, height, width of one digit


def as_images(data: Data) -> Data:
    """The digits' 64 pixels per row as (N, 1, 8, 8) images."""
    return Data(data.X_train.reshape((-1,) + IMAGE), data.y_train,
                data.X_test.reshape((-1,) + IMAGE), data.y_test)  # fmt: skip


def cnn() -> nn.Sequential:
    """conv 3x3 (8) -> BatchNorm2d -> ReLU -> max pool 2 -> conv 3x3 (16) -> ReLU -> max pool 2
    -> Linear(64, 10): the 8x8 image becomes 4x4, then 2x2 maps of 16 features."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 2 * 2, 10),
    )


def train_cnn(epochs: int = 10, progress: bool = False, plot_path: str | None = None) -> dict:
    """Train the CNN with Adam; {"model", "monitor", "test_accuracy", "train_accuracy",
    "seconds", "summary"} (summary: the HealthMonitor's text)."""
    started = time.perf_counter()
    data = as_images(digits())
    manual_seed(SEED)
    model = cnn()
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    monitor = HealthMonitor(model)
    fit(model, optimizer, data, epochs, monitor, progress=progress, desc="cnn demo")
    monitor.remove()
    if plot_path:
        monitor.plot(plot_path)
    return {
        "model": model,
        "monitor": monitor,
        "test_accuracy": accuracy(model, data.X_test, data.y_test),
        "train_accuracy": accuracy(model, data.X_train, data.y_train),
        "test_size": len(data.y_test),
        "seconds": time.perf_counter() - started,
        "summary": monitor.summary(),
    }


def demo(arguments) -> int:
    """The CLI handler: `arguments` has .epochs, .plot and .no_progress, as the MLP demo's."""
    result = train_cnn(arguments.epochs, not arguments.no_progress, arguments.plot)
    print(result["model"])
    accuracy_line = f"test accuracy: {result['test_accuracy']:.1%}"
    print(f"\n{accuracy_line} on {result['test_size']} held-out digits")
    print(f"train accuracy: {result['train_accuracy']:.1%}, time: {result['seconds']:.1f} s\n")
    print(result["summary"])
    if arguments.plot:
        print(f"\nwrote {arguments.plot}")
    return 0
