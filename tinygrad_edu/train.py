"""Training: the one loop (fit, made of train_step) and how a model is scored (evaluate).

A step is forward, loss, backward, update; an epoch is one pass over the batches; fit
repeats epochs and records what happened (a History). The demo, every experiment and the
tests train through this file. Read train_step first, then fit; docs/training.md writes
the same loop out by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .grad_mode import no_grad
from .nn import functional as F
from .nn.module import Module
from .nn.utils import clip_grad_norm_
from .optim import Optimizer
from .optim.lr_scheduler import ReduceLROnPlateau
from .progress import progress_bar
from .tensor import Tensor

LossFunction = Callable[[Tensor, Tensor], Tensor]


def train_step(
    model: Module,
    optimizer: Optimizer,
    X: Tensor,
    y: Tensor,
    loss_fn: LossFunction = F.cross_entropy,
    clip_norm: float | None = None,
    monitor=None,
) -> float:
    """One step: forward, loss, backward, [monitor.step()], [clip], optimizer step; the loss.

    A NaN or Inf loss skips the update (the NaN trap: one update would spread it into
    every weight); the caller decides whether to stop.
    """
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()  # gradients add up across backward() calls: clear the last ones
    loss.backward()
    if monitor is not None:
        monitor.step()  # sees this step's gradients before anything changes them
    value = loss.item()
    if not math.isfinite(value):
        return value
    if clip_norm is not None:
        clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    return value


@dataclass
class History:
    """What fit saw: the loss of every step and, per epoch, its mean (and validation scores).

    `epoch_starts[e]` is the index in `step_loss` of epoch e's first step; `nonfinite_step`
    the step whose loss was NaN or Inf (fit stopped there), None if none was.
    """

    loss: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    epoch_starts: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    nonfinite_step: int | None = None


def fit(
    model: Module,
    optimizer: Optimizer,
    batches: Iterable,
    epochs: int,
    loss_fn: LossFunction = F.cross_entropy,
    *,
    scheduler=None,
    clip_norm: float | None = None,
    monitor=None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool = False,
    desc: str = "training",
) -> History:
    """Train `model` for `epochs` passes over `batches` (a sized iterable of (X, y) batches,
    such as a DataLoader).

    Per epoch: train mode, train_step on every batch, then the scheduler's step (once per
    epoch; ReduceLROnPlateau gets the validation loss, else the training loss) and, with
    `validation=(X, y)`, the loss and accuracy on it. Stops at the first NaN/Inf loss.
    """
    history = History()
    with progress_bar(epochs * len(batches), desc=desc, enabled=progress) as bar:
        for _ in range(epochs):
            model.train()
            history.epoch_starts.append(len(history.step_loss))
            for X, y in batches:
                loss = train_step(model, optimizer, X, y, loss_fn, clip_norm, monitor)
                history.step_loss.append(loss)
                if not math.isfinite(loss):
                    history.nonfinite_step = len(history.step_loss) - 1
                    break
                bar.update()
            _end_epoch(history, model, loss_fn, scheduler, validation)
            bar.set_postfix(**_postfix(history))
            if history.nonfinite_step is not None:
                break
    return history


def _end_epoch(history: History, model: Module, loss_fn, scheduler, validation) -> None:
    """Record the epoch's mean loss and validation scores; step the scheduler."""
    history.loss.append(float(np.mean(history.step_loss[history.epoch_starts[-1] :])))
    if validation is not None:
        scores = evaluate(model, *validation, loss_fn=loss_fn)
        history.val_loss.append(scores["loss"])
        history.val_accuracy.append(scores["accuracy"])
    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(history.val_loss[-1] if validation is not None else history.loss[-1])
    elif scheduler is not None:
        scheduler.step()


def _postfix(history: History) -> dict:
    shown = {"loss": history.loss[-1]}
    if history.val_accuracy:
        shown["val_acc"] = history.val_accuracy[-1]
    return shown


def evaluate(
    model: Module, X: np.ndarray, y: np.ndarray, loss_fn: LossFunction = F.cross_entropy
) -> dict[str, float]:
    """{"loss", "accuracy"} on (X, y) in eval mode without recording a graph (one forward).

    Accuracy is the fraction of rows whose largest output is the true class. The model's
    train/eval mode is restored afterwards.
    """
    logits = predict(model, X)
    return {
        "loss": loss_fn(logits, Tensor(y)).item(),
        "accuracy": float(np.mean(np.argmax(logits.data, axis=1) == np.asarray(y))),
    }


def accuracy(model: Module, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows of X whose largest output is the true class y (eval mode, no graph)."""
    return float(np.mean(np.argmax(predict(model, X).data, axis=1) == np.asarray(y)))


def predict(model: Module, X: np.ndarray) -> Tensor:
    """The model's outputs for X in eval mode (BatchNorm's running statistics, no dropout),
    recording no graph; the model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return model(X if isinstance(X, Tensor) else Tensor(X))
    finally:
        model.train(was_training)
