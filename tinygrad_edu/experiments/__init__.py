"""The failure-case lab: each module trains one failure and its remedy side by side.

Every case has `run(plot_path=None, progress=False, quick=False) -> dict` returning the
JSON the CLI prints ({"experiment", "runs": [{label, role, findings, metrics, series}]}).
Read runner.py for the shared training loop, then any case (vanishing.py first).
"""

from __future__ import annotations

import importlib

# CLI name -> module, in the order the lesson tells them.
MODULES = {
    "vanishing": "vanishing",
    "exploding": "exploding",
    "dead-relu": "dead_relu",
    "scaling": "scaling",
    "dropout": "dropout",
    "lr-sweep": "lr_sweep",
}
NAMES = tuple(MODULES)


def run_experiment(
    name: str, plot_path: str | None = None, progress: bool = False, quick: bool = False
) -> dict:
    """Run experiment `name` (one of NAMES); ValueError listing the valid names otherwise."""
    if name not in MODULES:
        raise ValueError(f"unknown experiment {name!r}; choose one of: {', '.join(NAMES)}")
    module = importlib.import_module(f".{MODULES[name]}", __name__)
    return module.run(plot_path=plot_path, progress=progress, quick=quick)


__all__ = ["NAMES", "run_experiment"]
