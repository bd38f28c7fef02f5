"""Feature scaling: the lesson's remedies for inputs on badly different scales.

Features should be roughly zero-centred, in about [-1, 1], without wild outliers:
linear scaling, z-scores, a hard cap (clipping) and log scaling, each fitted per column.
Read data.py next, then the `scaling` experiment that shows why this matters.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from .tensor import Tensor

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, Tensor)

# Float input keeps its dtype; anything else (ints, bools, lists) becomes the default float.
_KEPT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Scaler:
    """Shared plumbing: fit per column, then transform any X with the same column count.

    Subclasses implement `_fit(X)`, `_transform(X)` and `_inverse(X)` on 2-D float numpy
    arrays; this class converts inputs, checks shapes and returns the type it was given.
    Fitted statistics are computed in float64 and applied in the input's dtype.
    """

    n_features_in_: int | None = None

    def fit(self, X: np.ndarray | Tensor) -> Scaler:
        """Learn the per-column statistics of X (n_samples, n_features); returns self."""
        values = _as_float_matrix(X)
        if values.shape[0] == 0:
            raise ValueError("X must have at least one row to fit, got shape (0, ...)")
        if not np.isfinite(values).all():
            raise ValueError("X contains NaN or Inf; scalers fit on finite values only")
        self._fit(values)
        self.n_features_in_ = values.shape[1]
        return self

    def transform(self, X: ArrayOrTensor) -> ArrayOrTensor:
        """Scale X with the fitted statistics (a new array or Tensor; X is not modified)."""
        return _same_kind(self._transform(self._checked(X)), X)

    def fit_transform(self, X: ArrayOrTensor) -> ArrayOrTensor:
        """fit(X), then transform(X)."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: ArrayOrTensor) -> ArrayOrTensor:
        """Map scaled values back to the original units."""
        return _same_kind(self._inverse(self._checked(X)), X)

    def _checked(self, X: Any) -> np.ndarray:
        if self.n_features_in_ is None:
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit(X) first")
        values = _as_float_matrix(X)
        if values.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {values.shape[1]} columns but this {type(self).__name__} was fitted "
                f"on {self.n_features_in_}"
            )
        return values

    def _fit(self, X: np.ndarray) -> None:
        raise NotImplementedError

    def _transform(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _inverse(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class LinearScaler(Scaler):
    """Linear scaling: map each column's [min, max] onto `feature_range`, default [-1, 1].

    The lesson's first remedy, and the default range is its advice: "roughly zero-centred,
    [-1, 1]". x' = low + (x − min)·(high − low)/(max − min). A constant column has no range
    to stretch: it maps to the middle of feature_range. Outliers squeeze everything else
    into a sliver of the range: clip first (ClipScaler) or log-scale heavy tails.
    """

    def __init__(self, feature_range: tuple[float, float] = (-1.0, 1.0)):
        low, high = (float(bound) for bound in feature_range)
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(
                f"feature_range must be finite (low, high) with low < high, got {feature_range}"
            )
        self.feature_range = (low, high)

    def _fit(self, X: np.ndarray) -> None:
        low, high = self.feature_range
        data_min = X.min(axis=0).astype(np.float64)
        data_max = X.max(axis=0).astype(np.float64)
        # Halves: max/2 - min/2 is finite for any finite data, where max - min overflows
        # float64 data spanning ±1.7e308 (float32's ±3.4e38 is computed here in float64).
        half_range = data_max / 2 - data_min / 2
        # A zero range cannot be stretched: send the column to the middle. Any other range
        # is divided by, never inverted into a scale: 2 / half_range overflows for ranges
        # near the smallest normal float (2.2e-308), and the round trip would be lost.
        constant = half_range == 0
        self.data_min_ = data_min
        with np.errstate(over="ignore"):  # inf for float64 data spanning ±1.7e308
            self.data_range_ = data_max - data_min
        self._half_range = half_range
        self._divisor = np.where(constant, 1.0, half_range)
        self._width = np.where(constant, 0.0, high - low)
        self.out_low_ = np.where(constant, (low + high) / 2, low)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        # x' = low + (x − min)/(max − min)·(high − low), as (x/2 − min/2)/(range/2)·(high − low)
        # in float64, so that x − min cannot overflow; the result lies in feature_range.
        with np.errstate(over="ignore"):  # only where X holds values outside the fitted range
            scaled = np.asarray(X, dtype=np.float64) / 2 - self.data_min_ / 2
            scaled /= self._divisor
            scaled *= self._width
            scaled += self.out_low_
        return scaled.astype(X.dtype)

    def _inverse(self, X: np.ndarray) -> np.ndarray:
        low, high = self.feature_range
        # x = min + (x' − low)·(max − min)/(high − low), the offset added in two halves
        half_offset = (np.asarray(X, dtype=np.float64) - self.out_low_) * (
            self._half_range / (high - low)
        )
        with np.errstate(over="ignore"):  # only for inputs far outside feature_range
            original = self.data_min_ + half_offset
            original += half_offset
        return original.astype(X.dtype)


class ZScoreScaler(Scaler):
    """Z-score scaling: x' = (x − mean) / std per column (population std, ddof=0).

    The result is zero-centred with unit spread, so most values land in about [-3, 3]
    and the bulk in [-1, 1]: the lesson's "roughly zero-centred" advice, robust to the
    exact min and max. A constant column (std 0, or std lost in rounding) maps to 0.
    """

    def _fit(self, X: np.ndarray) -> None:
        mean = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        # A constant column's std comes out as rounding noise, not 0: treat that as 0 too,
        # and a std below X's dtype's smallest normal number (dividing by it overflows).
        noise = 10 * np.finfo(np.float64).eps * np.abs(mean)
        constant = (std <= noise) | (std < np.finfo(X.dtype).tiny)
        self.mean_ = mean
        self.scale_ = np.where(constant, 1.0, std)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        scaled = X - self.mean_.astype(X.dtype)
        scaled /= self.scale_.astype(X.dtype)
        return scaled

    def _inverse(self, X: np.ndarray) -> np.ndarray:
        original = X * self.scale_.astype(X.dtype)
        original += self.mean_.astype(X.dtype)
        return original


class ClipScaler(Scaler):
    """Hard cap: clip each column to [low, high] so outliers cannot dominate.

    The lesson's "hard cap (clipping) to max, min" remedy. Give fixed bounds `low`/`high`
    (scalars or one per column; None leaves that side open), or `quantiles=(q_low, q_high)`
    as fractions, e.g. (0.01, 0.99), fitted per column. Clipping cannot be undone:
    inverse_transform returns its input unchanged.
    """

    def __init__(
        self,
        low: float | np.ndarray | None = None,
        high: float | np.ndarray | None = None,
        quantiles: tuple[float, float] | None = None,
    ):
        if quantiles is not None:
            if low is not None or high is not None:
                raise ValueError("give either low/high or quantiles, not both")
            q_low, q_high = (float(q) for q in quantiles)
            if not 0.0 <= q_low <= q_high <= 1.0:
                raise ValueError(
                    f"quantiles must satisfy 0 <= q_low <= q_high <= 1, got {quantiles}"
                )
            quantiles = (q_low, q_high)
        elif low is None and high is None:
            raise ValueError("ClipScaler needs low, high or quantiles")
        elif low is not None and high is not None and np.any(np.asarray(low) > np.asarray(high)):
            raise ValueError(f"low must be <= high, got low={low}, high={high}")
        self.low, self.high, self.quantiles = low, high, quantiles

    def _fit(self, X: np.ndarray) -> None:
        n_features = X.shape[1]
        if self.quantiles is not None:
            self.low_, self.high_ = np.quantile(X.astype(np.float64), self.quantiles, axis=0)
            return
        self.low_ = _per_column_bound(self.low, -np.inf, n_features, "low")
        self.high_ = _per_column_bound(self.high, np.inf, n_features, "high")

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return np.clip(X, self.low_.astype(X.dtype), self.high_.astype(X.dtype))

    def _inverse(self, X: np.ndarray) -> np.ndarray:
        return X.copy()


class LogScaler(Scaler):
    """Log scaling: x' = log(1 + x), inverse exp(x') − 1, for non-negative features.

    The lesson's remedy for heavy-tailed features (counts, prices, populations): a few
    huge values stop dwarfing the rest, since log1p turns ratios into differences.
    Negative input has no log and raises ValueError naming the column.
    """

    def _fit(self, X: np.ndarray) -> None:
        _check_non_negative(X)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        _check_non_negative(X)
        return np.log1p(X)

    def _inverse(self, X: np.ndarray) -> np.ndarray:
        return np.expm1(X)


def _as_float_matrix(X: Any) -> np.ndarray:
    """X's values as a 2-D float32/float64 array (other dtypes become float32)."""
    values = X.data if isinstance(X, Tensor) else np.asarray(X)
    if values.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {values.shape}")
    if values.dtype not in _KEPT_DTYPES:
        values = values.astype(np.float32)
    return values


def _same_kind(values: np.ndarray, like: Any) -> Any:
    """A Tensor (no gradient: scaling is preprocessing) if `like` was one, else the array."""
    return Tensor(values) if isinstance(like, Tensor) else values


def _per_column_bound(bound: Any, default: float, n_features: int, name: str) -> np.ndarray:
    if bound is None:
        return np.full(n_features, default)
    values = np.asarray(bound, dtype=np.float64)
    if values.ndim > 1 or values.size not in (1, n_features):
        raise ValueError(
            f"{name} must be a scalar or have one value per column ({n_features}), got shape {values.shape}"
        )
    return np.broadcast_to(values, (n_features,)).copy()


def _check_non_negative(X: np.ndarray) -> None:
    column_min = X.min(axis=0)
    negative = np.flatnonzero(~(column_min >= 0))  # NaN counts as invalid too
    if negative.size:
        column = int(negative[0])
        raise ValueError(
            f"LogScaler needs non-negative input: column {column} has minimum {column_min[column]}"
        )
