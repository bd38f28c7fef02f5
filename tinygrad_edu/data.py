"""Feeding a model: split a data set, then walk it in shuffled mini-batches.

Each epoch sees every sample once, in a fresh order drawn from one seeded generator,
so a run is reproducible yet no two epochs repeat. Read datasets/ for the bundled
digits and docs/training.md for the loop that consumes these batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .tensor import Tensor


class DataLoader:
    """Iterate (X_batch, y_batch) Tensors of `batch_size` rows over X and y.

    `shuffle=True` draws a new permutation every epoch from a generator seeded once
    with `seed` (None: fresh entropy), so the same seed replays the same epochs.
    Integer targets come out as int64 Tensors (class labels for cross_entropy).
    The last batch is smaller when batch_size does not divide len(X), unless
    `drop_last=True` drops it.
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        batch_size: int,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
    ):
        self.X = _as_array(X)
        self.y = _as_array(y)
        if self.X.ndim == 0 or self.y.ndim == 0:
            raise ValueError(
                f"X and y must have a sample axis, got shapes {self.X.shape} and {self.y.shape}"
            )
        if len(self.X) != len(self.y):
            raise ValueError(
                f"X and y must have the same number of samples, got {len(self.X)} and {len(self.y)}"
            )
        if self.y.dtype.kind in "iub":
            self.y = self.y.astype(np.int64, copy=False)
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Batches per epoch."""
        if self.drop_last:
            return len(self.X) // self.batch_size
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = self._rng.permutation(len(self.X)) if self.shuffle else np.arange(len(self.X))
        for batch in range(len(self)):
            rows = order[batch * self.batch_size : (batch + 1) * self.batch_size]
            yield Tensor(self.X[rows]), Tensor(self.y[rows])


def train_test_split(X: Any, y: Any, test_fraction: float = 0.2, seed: int = 0) -> tuple:
    """Shuffle with `seed`, then hold out ⌈test_fraction·n⌉ samples for testing.

    Returns (X_train, X_test, y_train, y_test), as scikit-learn, each of the kind
    it was given (numpy array or Tensor).
    """
    X_values, y_values = _as_array(X), _as_array(y)
    if len(X_values) != len(y_values):
        raise ValueError(
            f"X and y must have the same number of samples, got {len(X_values)} and {len(y_values)}"
        )
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = math.ceil(test_fraction * len(X_values))
    if n_test >= len(X_values):
        raise ValueError(
            f"test_fraction={test_fraction} leaves no training samples out of {len(X_values)}"
        )
    order = np.random.default_rng(seed).permutation(len(X_values))
    test_rows, train_rows = order[:n_test], order[n_test:]
    return (
        _take(X, X_values, train_rows),
        _take(X, X_values, test_rows),
        _take(y, y_values, train_rows),
        _take(y, y_values, test_rows),
    )


def _as_array(values: Any) -> np.ndarray:
    """The numpy storage of a Tensor, an array as is, other data by the Tensor dtype rules."""
    if isinstance(values, Tensor):
        return values.data
    if isinstance(values, np.ndarray):
        return values
    return Tensor(values).data


def _take(original: Any, values: np.ndarray, rows: np.ndarray) -> Any:
    taken = values[rows]
    return Tensor(taken) if isinstance(original, Tensor) else taken
