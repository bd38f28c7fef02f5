"""Progress bars for training loops: tqdm when it is installed, a plain one-line bar otherwise.

`progress_bar(total, desc)` returns an object with update(n), set_postfix(**values) and
close(), usable as a context manager. Bars go to stderr, so `--json` output on stdout stays
clean. Read experiments/runner.py for the loop that drives one.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def progress_bar(total: int, desc: str = "", enabled: bool = True, file: TextIO | None = None):
    """A bar counting to `total`: tqdm's if installed, else PlainBar; a silent one if not enabled."""
    file = sys.stderr if file is None else file
    if not enabled:
        return SilentBar()
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional: pip install tqdm (or tinygrad_edu[progress])
        return PlainBar(total, desc, file)
    return tqdm(total=total, desc=desc, file=file, leave=True, dynamic_ncols=True)


class SilentBar:
    """The bar's interface, doing nothing (progress switched off)."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PlainBar(SilentBar):
    """`desc  45% |#########           | 90/200 loss=0.31`, redrawn in place with a carriage return.

    Redraws at most ten times a second: printing is slower than a small training step.
    """

    WIDTH = 24

    def __init__(self, total: int, desc: str, file: TextIO):
        self.total, self.desc, self.file = max(int(total), 1), desc, file
        self.count, self.postfix, self.last_draw = 0, "", 0.0

    def update(self, n: int = 1) -> None:
        self.count += n
        if self.count >= self.total or time.perf_counter() - self.last_draw > 0.1:
            self._draw()

    def set_postfix(self, **values) -> None:
        self.postfix = " ".join(f"{k}={_short(v)}" for k, v in values.items())

    def close(self) -> None:
        self._draw()
        self.file.write("\n")
        self.file.flush()

    def _draw(self) -> None:
        self.last_draw = time.perf_counter()
        done = min(self.count / self.total, 1.0)
        filled = int(done * self.WIDTH)
        bar = "#" * filled + " " * (self.WIDTH - filled)
        line = f"{self.desc} {done:4.0%} |{bar}| {self.count}/{self.total} {self.postfix}"
        self.file.write("\r" + line.rstrip())
        self.file.flush()


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
