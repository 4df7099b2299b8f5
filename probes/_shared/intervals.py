"""Confidence intervals for the rates and means figures show."""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["mean_interval", "wilson"]


def _z(level: float) -> float:
    return float(special.ndtri(1 - (1 - level) / 2))


def wilson(successes: np.ndarray, trials: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's score interval of a proportion (NaN where there are no trials): unlike
    the normal one it stays inside [0, 1] and is sound for small groups and rare events."""
    k, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    z = _z(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low, high = np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def mean_interval(
    total: np.ndarray, sq_total: np.ndarray, count: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """The normal interval of a mean from the sum, the sum of squares and the count of
    its values (NaN below two values)."""
    s, sq, n = (np.asarray(v, dtype=float) for v in (total, sq_total, count))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        var = np.maximum(sq - n * mean * mean, 0.0) / (n - 1)
        half = _z(level) * np.sqrt(var / n)
    return np.where(n > 1, mean - half, np.nan), np.where(n > 1, mean + half, np.nan)
