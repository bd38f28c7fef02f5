"""The failure-case lab: each module trains one failure and its remedy side by side.

Every case lists its runs (what differs between the failure and its remedy) and how to
plot them; runner.run_case trains them with the library's loop (train.py) and returns the
JSON the CLI prints. Read vanishing.py first, then runner.py.
"""

from __future__ import annotations

import importlib

from .runner import run_case

# CLI name -> module, in the order the lesson tells them.
MODULES = {
    "vanishing": "vanishing",
    "exploding": "exploding",
    "dead-relu": "dead_relu",
    "scaling": "scaling",
    "dropout": "dropout",
    "lr-sweep": "lr_sweep",
    "sharpness": "sharpness",
}
NAMES = tuple(MODULES)


def run_experiment(
    name: str, plot_path: str | None = None, progress: bool = False, quick: bool = False
) -> dict:
    """Run experiment `name` (one of NAMES); ValueError listing the valid names otherwise."""
    if name not in MODULES:
        raise ValueError(f"unknown experiment {name!r}; choose one of: {', '.join(NAMES)}")
    case = importlib.import_module(f".{MODULES[name]}", __name__)
    return run_case(case, plot_path=plot_path, progress=progress, quick=quick)


__all__ = ["NAMES", "run_experiment"]
