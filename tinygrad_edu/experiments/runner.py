"""The lab bench: the digits data, an MLP builder, and one measured run per Run an experiment lists.

An experiment (vanishing.py is the shortest) only says what differs between a failure and
its remedy: a list of `Run`s. `run_case` trains each with the library's loop (train.fit)
and a HealthMonitor watching, and returns JSON-ready results: label, role, findings,
metrics and series. report.py prints them, figures.py draws them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .. import nn
from ..data import DataLoader, train_test_split
from ..datasets import load_digits
from ..diagnostics import HealthMonitor
from ..diagnostics.monitor import count_alive_units
from ..features import LinearScaler
from ..kernels import get_num_threads, set_num_threads
from ..nn import functional as F
from ..optim import Optimizer
from ..random import manual_seed
from ..tensor import Tensor
from ..train import LossFunction, accuracy, evaluate, predict
from ..train import fit as train_fit
from .report import format_outcome, json_ready  # noqa: F401  (the CLI imports them from here)

SEED = 0
STEP_SERIES = 100  # per-step series keep the first steps, where explosions happen


@dataclass
class Data:
    """A train/test split: X float32 (n, features), y int64 class labels."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def digits(scaled: bool = True, train_size: int | None = None) -> Data:
    """The bundled digits, 80/20 split (fixed seed); pixels mapped to [-1, 1] when `scaled`.

    `train_size` keeps only the first rows of the training part (for overfitting on purpose).
    """
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.2, seed=SEED)
    if train_size is not None:
        X_train, y_train = X_train[:train_size], y_train[:train_size]
    if scaled:
        scaler = LinearScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return Data(X_train, y_train, X_test, y_test)


def mlp(
    sizes: list[int],
    activation: type[nn.Module] = nn.ReLU,
    batch_norm: bool = False,
    dropout: float = 0.0,
    init: Callable[[nn.Linear], None] | None = None,
) -> nn.Sequential:
    """Linear -> [BatchNorm1d] -> activation -> [Dropout], repeated; a plain Linear on top.

    sizes = [inputs, hidden..., classes]; `init(linear)` re-initialises each Linear.
    """
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(fan_in, fan_out)
        if init is not None:
            init(linear)
        layers.append(linear)
        if fan_out == sizes[-1]:
            break
        layers += [nn.BatchNorm1d(fan_out)] if batch_norm else []
        layers.append(activation())
        layers += [nn.Dropout(dropout)] if dropout > 0 else []
    return nn.Sequential(*layers)


@dataclass
class Run:
    """One run of an experiment: what a failure and its remedy differ in.

    `model()` builds the network, `optimizer(params)` its optimizer; `data` replaces the
    experiment's data for this run; `metrics` are reported as given (e.g. a sweep's lr).
    `loss_fn(logits, y)` is the training loss; with `sharpness_every=N` the monitor
    measures the sharpness of that loss on the whole training split every N steps.
    """

    label: str
    role: str  # "failure", "remedy", or "sweep"
    model: Callable[[], nn.Module]
    optimizer: Callable[[list], Optimizer]
    data: Data | None = None
    clip_norm: float | None = None
    batch_size: int = 64
    metrics: dict = field(default_factory=dict)
    loss_fn: LossFunction = F.cross_entropy
    sharpness_every: int | None = None


def run_case(case, plot_path: str | None = None, progress: bool = False, quick: bool = False):
    """Run every Run of experiment module `case` and return {"experiment", "runs"}.

    The module gives NAME, EPOCHS (quick, full), data(), runs(), plot(outcome, path) and
    optionally derived(metrics) -> more metrics and summary(runs) -> {"summary": what the
    runs show together}; the figure is drawn when a path is given.
    """
    data = case.data()
    epochs = case.EPOCHS[0] if quick else case.EPOCHS[1]
    runs = []
    for run in case.runs():
        outcome = measure(run, data if run.data is None else run.data, epochs, progress)
        metrics = outcome["metrics"]
        metrics.update(run.metrics)
        if hasattr(case, "derived"):
            metrics.update(case.derived(metrics))
        runs.append(outcome)
    outcome = {"experiment": case.NAME, "runs": runs}
    if hasattr(case, "summary"):
        outcome["summary"] = json_ready(case.summary(runs))
    if plot_path is not None:
        case.plot(outcome, plot_path)
    return outcome


def measure(run: Run, data: Data, epochs: int, progress: bool = False) -> dict:
    """One measured run: seed, build, `fit` with a HealthMonitor attached, then measure.

    Returns {"label", "role", "findings", "metrics", "series"}; non-finite numbers become
    None, so the dict is valid JSON (a null final_loss means the loss was NaN or Inf).
    Series are per epoch, except step_* ones: per step, the first STEP_SERIES steps.
    """
    manual_seed(SEED)
    model = run.model()
    optimizer = run.optimizer(list(model.parameters()))
    monitor = HealthMonitor(model, **_curvature_watch(run, model, optimizer, data))
    started = time.perf_counter()
    series = fit(
        model,
        optimizer,
        data,
        epochs,
        monitor,
        run.batch_size,
        run.clip_norm,
        progress,
        run.label,
        run.loss_fn,
    )
    monitor.remove()
    with single_thread():
        metrics = _final_metrics(model, data, series, monitor)
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    return {
        "label": run.label,
        "role": run.role,
        "findings": [finding.to_dict() for finding in monitor.findings],
        "metrics": json_ready(metrics),
        "series": json_ready(series),
    }


def _curvature_watch(run: Run, model: nn.Module, optimizer: Optimizer, data: Data) -> dict:
    """The HealthMonitor arguments that make it measure the sharpness, if the run asks."""
    if run.sharpness_every is None:
        return {}
    X, y = Tensor(data.X_train), Tensor(data.y_train)
    return {
        "sharpness_every": run.sharpness_every,
        "loss_fn": lambda: run.loss_fn(model(X), y),
        "optimizer": optimizer,
    }


def fit(
    model: nn.Module,
    optimizer: Optimizer,
    data: Data,
    epochs: int,
    monitor: HealthMonitor,
    batch_size: int = 64,
    clip_norm: float | None = None,
    progress: bool = False,
    desc: str = "training",
    loss_fn: LossFunction = F.cross_entropy,
) -> dict:
    """train.fit on the training split, one thread, the monitor watching; the lab's series.

    Returns the series per epoch (loss, test_accuracy, and from the monitor the first
    layer's gradient norm and the dead ReLU fraction), step_* per step (step_sharpness
    too when the monitor measures it, None between measurements), and "nan_step" (the
    step whose loss was NaN/Inf, None if none).
    """
    loader = DataLoader(data.X_train, data.y_train, batch_size, shuffle=True, seed=SEED)
    with single_thread():
        history = train_fit(
            model,
            optimizer,
            loader,
            epochs,
            loss_fn,
            clip_norm=clip_norm,
            monitor=monitor,
            validation=(data.X_test, data.y_test),
            progress=progress,
            desc=f"{desc:<28}",
        )
    epochs_run = list(zip(history.epoch_starts, history.epoch_starts[1:] + [monitor.steps]))
    sharpness = monitor.history.get("model", {}).get("sharpness")
    measured = {"step_sharpness": sharpness[:STEP_SERIES]} if sharpness else {}
    return {
        "loss": history.loss,
        "test_accuracy": history.val_accuracy,
        "first_layer_grad_norm": [_first_layer_median(monitor, *steps) for steps in epochs_run],
        "dead_fraction": [_mean_dead_fraction(monitor, *steps) for steps in epochs_run],
        "step_loss": history.step_loss[:STEP_SERIES],
        "step_max_grad_norm": _per_step_max(monitor, "grad_norm")[:STEP_SERIES],
        "nan_step": history.nonfinite_step,
        **measured,
    }


@contextmanager
def single_thread():
    """Run the C kernels on one thread: these matrices are small, so threads would cost more
    than they save, and they slow down badly when another process holds the other core."""
    threads = get_num_threads()
    set_num_threads(1)
    try:
        yield
    finally:
        set_num_threads(threads)


def _final_metrics(model: nn.Module, data: Data, series: dict, monitor: HealthMonitor) -> dict:
    return {
        "final_loss": series["loss"][-1],
        "train_accuracy": accuracy(model, data.X_train, data.y_train),
        "test_accuracy": series["test_accuracy"][-1],
        "test_loss": evaluate(model, data.X_test, data.y_test)["loss"],
        "first_layer_grad_norm": series["first_layer_grad_norm"][-1],
        "max_grad_norm": _max_over_layers(monitor, "grad_norm"),
        "max_update_ratio": _max_over_layers(monitor, "update_ratio"),
        "dead_fraction": dead_fraction(model, data.X_train),
        "nan_step": series.pop("nan_step"),
        "steps": monitor.steps,
        **_final_sharpness(monitor),
    }


def _final_sharpness(monitor: HealthMonitor) -> dict:
    """{"final_sharpness": the last finite measurement} when the monitor measured it."""
    measured = monitor.history.get("model", {}).get("sharpness")
    if measured is None:
        return {}
    finite = [v for v in measured if math.isfinite(v)]
    return {"final_sharpness": finite[-1] if finite else math.nan}


def dead_fraction(model: nn.Module, X: np.ndarray) -> float | None:
    """Fraction of all ReLU units that output 0 for every row of X (None: no ReLU in the model).

    The ReLU kernel marks the units that fired in the same pass as its forward."""
    with count_alive_units(model) as alive:
        predict(model, X)
    if not alive:
        return None
    return float(1.0 - np.concatenate(list(alive.values())).mean())


def _first_layer_median(monitor: HealthMonitor, first: int, end: int) -> float:
    """Median over steps [first, end) of the first parameter layer's gradient norm."""
    values = next(iter(monitor.history.values()))["grad_norm"][first:end]
    return float(np.median(values)) if values else math.nan


def _mean_dead_fraction(monitor: HealthMonitor, first: int, end: int) -> float:
    """Mean over steps [first, end) of the dead fraction, averaged over the ReLU layers."""
    layers = [
        s["dead_fraction"][first:end] for s in monitor.history.values() if "dead_fraction" in s
    ]
    if not layers or not layers[0]:
        return math.nan
    return float(np.nanmean(np.asarray(layers)))


def _per_step_max(monitor: HealthMonitor, metric: str) -> list[float]:
    """Per step, the largest value of `metric` over the layers."""
    columns = [s[metric] for s in monitor.history.values() if metric in s]
    with np.errstate(all="ignore"):
        return [
            float(np.nanmax(values)) if not np.isnan(values).all() else math.nan
            for values in np.asarray(columns, dtype=float).T
        ]


def _max_over_layers(monitor: HealthMonitor, metric: str) -> float:
    """The largest value of `metric` over all layers and steps (NaN/Inf if any was)."""
    values = [v for s in monitor.history.values() for v in s.get(metric, [])]
    values = [v for v in values if not math.isnan(v)] or [math.nan]
    return max(values)
