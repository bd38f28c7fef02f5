"""The shared lab bench: data, models, one training loop that measures, and the report.

Every experiment builds its runs from these pieces, trains each with `train` (the `fit`
minibatch loop with a HealthMonitor attached) and gets back a JSON-ready dict: label, role,
findings, metrics and series; `format_outcome` prints them as a table, figures.py draws
them. Read one experiment (vanishing.py is the shortest) next.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..data import DataLoader, train_test_split
from ..datasets import load_digits
from ..diagnostics import HealthMonitor
from ..diagnostics.monitor import alive_units
from ..features import LinearScaler
from ..grad_mode import no_grad
from ..kernels import get_num_threads, set_num_threads
from ..nn import functional as F
from ..nn.utils import clip_grad_norm_
from ..progress import progress_bar
from ..random import manual_seed
from ..tensor import Tensor

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


def train(
    label: str,
    role: str,
    build_model: Callable[[], nn.Module],
    make_optimizer: Callable[[list], object],
    data: Data,
    epochs: int,
    batch_size: int = 64,
    clip_norm: float | None = None,
    progress: bool = False,
) -> dict:
    """One measured run: seed, build, `fit` with a HealthMonitor attached, then measure.

    Returns {"label", "role", "findings", "metrics", "series"}; non-finite numbers become
    None, so the dict is valid JSON (a null final_loss means the loss was NaN or Inf).
    Series are per epoch, except step_* ones: per step, the first STEP_SERIES steps.
    """
    manual_seed(SEED)
    model = build_model()
    optimizer = make_optimizer(list(model.parameters()))
    monitor = HealthMonitor(model)
    started = time.perf_counter()
    series = fit(model, optimizer, data, epochs, monitor, batch_size, clip_norm, progress, label)
    monitor.remove()
    with single_thread():
        metrics = _final_metrics(model, data, series, monitor)
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    return {
        "label": label,
        "role": role,
        "findings": [finding.to_dict() for finding in monitor.findings],
        "metrics": json_ready(metrics),
        "series": json_ready(series),
    }


def _final_metrics(model: nn.Module, data: Data, series: dict, monitor: HealthMonitor) -> dict:
    return {
        "final_loss": series["loss"][-1],
        "train_accuracy": accuracy(model, data.X_train, data.y_train),
        "test_accuracy": series["test_accuracy"][-1],
        "test_loss": held_out_loss(model, data),
        "first_layer_grad_norm": series["first_layer_grad_norm"][-1],
        "max_grad_norm": _max_over_layers(monitor, "grad_norm"),
        "max_update_ratio": _max_over_layers(monitor, "update_ratio"),
        "dead_fraction": dead_fraction(model, data.X_train),
        "nan_step": series.pop("nan_step"),
        "steps": monitor.steps,
    }


def fit(
    model: nn.Module,
    optimizer,
    data: Data,
    epochs: int,
    monitor: HealthMonitor,
    batch_size: int = 64,
    clip_norm: float | None = None,
    progress: bool = False,
    desc: str = "training",
) -> dict:
    """The training loop: forward, loss, backward, monitor.step(), [clip], optimizer step.

    Stops at the first NaN/Inf loss (the NaN trap: every later step would be NaN too).
    Returns the series (per epoch, and step_* per step) and "nan_step" (None if none).
    """
    loader = DataLoader(data.X_train, data.y_train, batch_size, shuffle=True, seed=SEED)
    series = {"loss": [], "test_accuracy": [], "first_layer_grad_norm": [], "dead_fraction": []}
    nan_step, step_losses = None, []
    with (
        single_thread(),
        progress_bar(epochs * len(loader), desc=f"{desc:<28}", enabled=progress) as bar,
    ):
        for _ in range(epochs):
            model.train()
            losses, first_step = [], monitor.steps
            for X_batch, y_batch in loader:
                loss = F.cross_entropy(model(X_batch), y_batch)
                optimizer.zero_grad()
                loss.backward()
                monitor.step()
                losses.append(loss.item())
                if not math.isfinite(losses[-1]):
                    nan_step = monitor.steps - 1
                    break
                if clip_norm is not None:
                    clip_grad_norm_(model.parameters(), clip_norm)
                optimizer.step()
                bar.update()
            step_losses += losses
            series["loss"].append(float(np.mean(losses)))
            series["test_accuracy"].append(accuracy(model, data.X_test, data.y_test))
            bar.set_postfix(loss=series["loss"][-1], test_acc=series["test_accuracy"][-1])
            series["first_layer_grad_norm"].append(_epoch_median(monitor, "grad_norm", first_step))
            series["dead_fraction"].append(_epoch_dead_fraction(monitor, first_step))
            if nan_step is not None:
                break
    series["step_loss"] = step_losses[:STEP_SERIES]
    series["step_max_grad_norm"] = _per_step_max(monitor, "grad_norm")[:STEP_SERIES]
    series["nan_step"] = nan_step
    return series


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


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose largest logit is the true class (eval mode, no graph)."""
    model.eval()
    with no_grad():
        logits = model(Tensor(X)).data
    return float(np.mean(np.argmax(logits, axis=1) == y))


def held_out_loss(model: nn.Module, data: Data) -> float:
    """Cross-entropy on the test set (eval mode): how confidently wrong the model is."""
    model.eval()
    with no_grad():
        return F.cross_entropy(model(Tensor(data.X_test)), data.y_test).item()


def dead_fraction(model: nn.Module, X: np.ndarray) -> float | None:
    """Fraction of all ReLU units that output 0 for every row of X (None: no ReLU in the model)."""
    outputs = []
    handles = [
        m.register_forward_hook(lambda module, inputs, out: outputs.append(alive_units(out.data)))
        for m in model.modules()
        if isinstance(m, nn.ReLU)
    ]
    if not handles:
        return None
    model.eval()
    with no_grad():
        model(Tensor(X))
    for handle in handles:
        handle.remove()
    alive = np.concatenate([mask.ravel() for mask in outputs])
    return float(1.0 - alive.mean())


def _epoch_median(monitor: HealthMonitor, metric: str, first_step: int) -> float:
    """Median over this epoch's steps of the first parameter layer's `metric`."""
    first_layer = next(iter(monitor.history))
    values = monitor.history[first_layer][metric][first_step:]
    return float(np.median(values)) if values else math.nan


def _epoch_dead_fraction(monitor: HealthMonitor, first_step: int) -> float:
    """Mean over this epoch's steps of the dead fraction, averaged over the ReLU layers."""
    layers = [
        s["dead_fraction"][first_step:] for s in monitor.history.values() if "dead_fraction" in s
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


TABLE_COLUMNS = (  # (metric, header, format)
    ("final_loss", "final loss", "{:.3g}"),
    ("train_accuracy", "train acc", "{:.1%}"),
    ("test_accuracy", "test acc", "{:.1%}"),
    ("first_layer_grad_norm", "1st-layer grad", "{:.2g}"),
    ("max_grad_norm", "max grad", "{:.2g}"),
    ("dead_fraction", "dead ReLU", "{:.0%}"),
    ("nan_step", "NaN at step", "{}"),
)
CASE_COLUMNS = (  # shown when an experiment reports them
    ("generalization_gap", "train-test gap", "{:.1%}"),
    ("feature_max_abs", "max |feature|", "{:.2g}"),
)


def format_outcome(outcome: dict) -> str:
    """An experiment's result as a table (one row per run) and its findings, grouped by kind."""
    width = max(len(run["label"]) for run in outcome["runs"]) + 2
    reported = outcome["runs"][0]["metrics"]
    columns = TABLE_COLUMNS + tuple(c for c in CASE_COLUMNS if c[0] in reported)
    header = f"{'run':<{width}}{'role':<9}" + "".join(f"{title:>15}" for _, title, _ in columns)
    lines = [f"experiment {outcome['experiment']}", header, "-" * len(header)]
    for run in outcome["runs"]:
        cells = [_cell(run["metrics"].get(key), pattern) for key, _, pattern in columns]
        lines.append(
            f"{run['label']:<{width}}{run['role']:<9}" + "".join(f"{c:>15}" for c in cells)
        )
    lines += ["", "findings (HealthMonitor):"]
    for run in outcome["runs"]:
        lines.append(f"  {run['label']}: " + (_findings_line(run["findings"]) or "none"))
    return "\n".join(lines)


def _cell(value, pattern: str) -> str:
    if value is None:
        return "-"
    return pattern.format(value)


def _findings_line(findings: list[dict]) -> str:
    """`kind in layers 0, 2 (first at step 3)`, one clause per kind."""
    kinds = dict.fromkeys(f["kind"] for f in findings)
    clauses = []
    for kind in kinds:
        found = [f for f in findings if f["kind"] == kind]
        layers = ", ".join(sorted({f["layer"] for f in found}, key=lambda name: (len(name), name)))
        clauses.append(f"{kind} in layers {layers} (first at step {min(f['step'] for f in found)})")
    return "; ".join(clauses)


def json_ready(value):
    """A copy of nested dicts/lists of numbers with NaN and Inf replaced by None (JSON null)."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def result(
    name: str, runs: list[dict], plot_path: str | None, plot: Callable[[dict, str], None]
) -> dict:
    """The experiment's JSON object; draws the figure first when a path is given."""
    outcome = {"experiment": name, "runs": runs}
    if plot_path is not None:
        plot(outcome, plot_path)
    return outcome
