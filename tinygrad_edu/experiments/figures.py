"""Figures for the experiments: failure in warm colours, remedy in cool ones, side by side.

Each experiment composes a figure from these panels (loss curves, one per-epoch series
such as the first layer's gradient norm, and train/test accuracy bars) and `save`s it with
its lesson as the title. A run that hit NaN is marked where it happened.
"""

from __future__ import annotations

import numpy as np

from ..viz import pyplot
from .runner import STEP_SERIES

FAILURE_COLOURS = ["#d62728", "#ff7f0e", "#8c564b"]
REMEDY_COLOURS = ["#2ca02c", "#1f77b4", "#17becf", "#9467bd"]
# A sweep, low to high: cool to hot, each hue far from its neighbours (Okabe-Ito colours,
# told apart with colour-blindness too). A continuous colormap made neighbours near twins.
SWEEP_COLOURS = ["#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#000000", "#56B4E9"]


def colours(runs: list[dict]) -> list[str]:
    """One colour per run: reds for failures, greens/blues for remedies, cool to hot for a sweep."""
    if all(run["role"] == "sweep" for run in runs):
        if len(runs) > len(SWEEP_COLOURS):
            raise ValueError(f"a sweep of {len(runs)} runs: at most {len(SWEEP_COLOURS)} have colours")
        return SWEEP_COLOURS[: len(runs)]
    counters = {"failure": iter(FAILURE_COLOURS * 3), "remedy": iter(REMEDY_COLOURS * 3)}
    return [next(counters[run["role"]]) for run in runs]


def figure(panels: int = 3):
    plt = pyplot()
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.4))
    return fig, axes


def step_loss_panel(axis, runs: list[dict]) -> None:
    """The training loss of the first steps (where explosions and the NaN trap happen), log scale."""
    series_panel(
        axis, runs, "step_loss", f"training loss, first {STEP_SERIES} steps (log)", log=True
    )


def series_panel(axis, runs: list[dict], key: str, title: str, log: bool = False) -> None:
    """A series of every run (per epoch, or per step for step_* keys); a run whose loss hit
    NaN ends in a red X at the top, labelled with its step."""
    per_step = key.startswith("step_")
    for run, colour in zip(runs, colours(runs)):
        values = np.array(run["series"][key], dtype=float)  # None (was NaN) -> nan
        x = np.arange(len(values)) if per_step else np.arange(1, len(values) + 1)
        marker = None if per_step else "o"
        axis.plot(
            x, values, color=colour, marker=marker, markersize=3, linewidth=2, label=run["label"]
        )
    axis.set_title(title)
    axis.set_xlabel("step" if per_step else "epoch")
    if log:
        axis.set_yscale("log")
    axis.grid(alpha=0.3)
    if key in ("loss", "step_loss"):
        _mark_nan(axis, runs, per_step)


def _mark_nan(axis, runs: list[dict], per_step: bool) -> None:
    top = axis.get_ylim()[1]
    for run, colour in zip(runs, colours(runs)):
        nan_step = run["metrics"]["nan_step"]
        if nan_step is None:
            continue
        x = nan_step if per_step else len(run["series"]["loss"])
        axis.plot([x], [top], marker="X", markersize=12, color=colour, clip_on=False)
        axis.annotate(
            f"NaN at step {nan_step}",
            (x, top),
            color=colour,
            fontsize=9,
            textcoords="offset points",
            xytext=(8, -14),
        )


def accuracy_panel(axis, runs: list[dict]) -> None:
    """Grouped bars: train accuracy (light) and test accuracy (solid) per run, values on top."""
    positions = np.arange(len(runs))
    for position, run, colour in zip(positions, runs, colours(runs)):
        train_accuracy, test_accuracy = (
            run["metrics"]["train_accuracy"],
            run["metrics"]["test_accuracy"],
        )
        axis.bar(position - 0.2, train_accuracy, 0.38, color=colour, alpha=0.35)
        axis.bar(position + 0.2, test_accuracy, 0.38, color=colour)
        axis.text(
            position + 0.2, test_accuracy + 0.02, f"{test_accuracy:.0%}", ha="center", fontsize=9
        )
    axis.set_xticks(positions, [_wrap(run["label"]) for run in runs], fontsize=8)
    axis.set_ylim(0, 1.12)
    axis.set_title("accuracy: train (light), test (solid)")
    axis.grid(alpha=0.3, axis="y")


def metric_vs_rate_panel(
    axis, runs: list[dict], rates: list[float], key: str, title: str, log: bool
) -> None:
    """One final metric against the learning rate (log axis), one point per sweep run."""
    values = np.array(
        [run["metrics"][key] if run["metrics"][key] is not None else np.nan for run in runs]
    )
    axis.plot(rates, values, color="#444444", linewidth=1)
    axis.scatter(rates, values, c=colours(runs), s=60, zorder=3)
    axis.set_xscale("log")
    if log:
        axis.set_yscale("log")
    axis.set_xlabel("learning rate")
    axis.set_title(title)
    axis.grid(alpha=0.3)


def _wrap(label: str, width: int = 16) -> str:
    words, lines = label.split(), [""]
    for word in words:
        if len(lines[-1]) + len(word) > width and lines[-1]:
            lines.append("")
        lines[-1] = (lines[-1] + " " + word).strip()
    return "\n".join(lines)


def save(fig, path: str, title: str, lesson: str, legend_axis=None) -> None:
    """Title (the case) and subtitle (the lesson), one legend, then write the PNG."""
    if legend_axis is not None:
        legend_axis.legend(fontsize=8)
    fig.suptitle(f"{title}\n{lesson}", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
