"""The experiments' results as text: one table row per run, then the findings by kind.

`format_outcome` is what `tinygrad-edu experiment NAME` prints; `json_ready` makes the
results strict JSON (NaN and Inf become null). Read runner.py for where the numbers come from.
"""

from __future__ import annotations

import math

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
    ("final_sharpness", "final λmax", "{:.3g}"),
    ("edge_ratio", "λmax·lr/2", "{:.2f}"),
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
    if "summary" in outcome:
        lines += ["", outcome["summary"]["verdict"]]
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
