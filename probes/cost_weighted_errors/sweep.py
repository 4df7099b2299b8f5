"""Exact sweeps for the cheapest decision rule: every distinct threshold (or
offset) is priced from cumulative sums over the distinct scores in order,
never a grid.

A grid would miss the optimum between its points, and on a million rows the
distinct scores are the only places where the cost can change anyway. The
sweeps take one entry per distinct score (or per distinct score and class, or
per row: entries of equal score are summed over alike), so they run on the
merged per-distinct-score counts of every partition.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from auditkit._measure import row_keys

__all__ = [
    "best_offset",
    "best_threshold_index",
    "downsample",
    "fold_of",
    "offset_sweep",
    "threshold_sweep",
    "tie_ends",
]


def tie_ends(sorted_values: np.ndarray) -> np.ndarray:
    """The index of the last row of each run of equal values (a threshold admits a whole run or none)."""
    n = len(sorted_values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.empty(n, dtype=bool)
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=ends[:-1])
    ends[-1] = True
    return np.flatnonzero(ends)


def threshold_sweep(
    sorted_scores: np.ndarray, delta: np.ndarray, base: float, ends: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Total cost of "positive when the score is at least t" for every useful t.

    ``sorted_scores`` are in descending order, ``delta`` is each row's cost if
    predicted positive minus its cost if predicted negative (same order), and
    ``base`` the total cost of predicting every row negative. Returns the
    thresholds, descending, and their total costs: the first threshold lies just
    above the top score (nobody positive), then comes every distinct score.
    Rows with ``delta`` 0 (another fold's, when cross-fitting) cost nothing either way.
    """
    n = len(sorted_scores)
    if n == 0:
        return np.array([np.inf]), np.array([float(base)])
    if ends is None:
        ends = tie_ends(sorted_scores)
    cum = np.cumsum(delta)
    totals = np.empty(len(ends) + 1)
    totals[0] = 0.0
    totals[1:] = cum if len(ends) == n else cum[ends]
    totals += base
    thresholds = np.empty(len(ends) + 1)
    thresholds[0] = np.nextafter(sorted_scores[0], np.inf)
    thresholds[1:] = sorted_scores if len(ends) == n else sorted_scores[ends]
    return thresholds, totals


def best_threshold_index(delta: np.ndarray, ends: np.ndarray) -> int:
    """The index into ``threshold_sweep``'s thresholds of least total cost, without building
    the sweep: the constant ``base`` does not move the minimum (used once per fold)."""
    if len(delta) == 0:
        return 0
    cum = np.cumsum(delta)
    totals = cum if len(ends) == len(delta) else cum[ends]
    k = int(np.argmin(totals))
    return 0 if totals[k] >= 0 else k + 1  # ties go to fewer positives, as threshold_sweep's argmin does


def offset_sweep(
    sorted_z: np.ndarray,
    sorted_w: np.ndarray,
    over: float,
    under: float,
    kind: Literal["linear", "squared"],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Total cost of adding an offset ``b`` to every prediction.

    ``sorted_z`` (ascending) is actual minus prediction per row, so row ``i``
    is over-predicted by ``b - z_i``; ``sorted_w`` are the per-row weights.
    Returns the curve (every distinct ``z`` and its total cost) and the
    candidates for the minimum with theirs: the kinks for linear costs, and for
    squared costs the stationary point of each piece between kinks, clipped to it.
    """
    n = len(sorted_z)
    w_total = float(sorted_w.sum())
    if n == 0 or w_total == 0:
        zero = np.zeros(1)
        return zero, zero.copy(), zero.copy(), zero.copy()
    # centre the values: the sums below subtract large, nearly equal numbers otherwise
    centre = float(np.dot(sorted_w, sorted_z) / w_total)
    u = sorted_z - centre
    ends = tie_ends(u)
    kinks = u[ends]
    W = np.cumsum(sorted_w)[ends]  # weight of the rows with z <= kink
    A = np.cumsum(sorted_w * u)[ends]
    W_all, A_all = W[-1], A[-1]
    if kind == "linear":
        totals = over * (kinks * W - A) + under * ((A_all - A) - kinks * (W_all - W))
        return kinks + centre, totals, kinks + centre, totals
    Q = np.cumsum(sorted_w * u * u)[ends]
    Q_all = Q[-1]

    def total(b: np.ndarray, w_le: np.ndarray, a_le: np.ndarray, q_le: np.ndarray) -> np.ndarray:
        above = b * b * w_le - 2 * b * a_le + q_le
        below = b * b * (W_all - w_le) - 2 * b * (A_all - a_le) + (Q_all - q_le)
        return over * above + under * below

    curve = total(kinks, W, A, Q)
    # piece k lies between kink k-1 and kink k, with the rows z <= kink k-1 over-predicted
    w_le = np.concatenate(([0.0], W))
    a_le = np.concatenate(([0.0], A))
    q_le = np.concatenate(([0.0], Q))
    b = (over * a_le + under * (A_all - a_le)) / (over * w_le + under * (W_all - w_le))
    b = np.clip(b, np.concatenate(([-np.inf], kinks)), np.concatenate((kinks, [np.inf])))
    return kinks + centre, curve, b + centre, total(b, w_le, a_le, q_le)


def best_offset(
    sorted_z: np.ndarray, sorted_w: np.ndarray, over: float, under: float, kind: Literal["linear", "squared"]
) -> float:
    _, _, candidates, totals = offset_sweep(sorted_z, sorted_w, over, under, kind)
    return float(candidates[int(np.argmin(totals))])


def downsample(x: np.ndarray, y: np.ndarray, points: int, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """About ``points`` evenly spaced entries of a curve, always keeping index ``keep`` (its optimum)."""
    if len(x) <= points:
        return x, y
    idx = np.unique(np.concatenate((np.linspace(0, len(x) - 1, points).round().astype(int), [keep])))
    return x[idx], y[idx]


def fold_of(seed: int, rows: np.ndarray, folds: int) -> np.ndarray:
    """Each row's cross-fitting fold, from the seed and its position alone: the same
    fold for a row in any partitioning (``auditkit``'s row keys, cut into ``folds``)."""
    return np.minimum((row_keys(seed, rows) * folds).astype(np.int64), folds - 1)
