"""Smallest reproducers for discovered slices.

The search ranks slices by score, and a score that weighs error over size
happily keeps a third condition that trims a few rows at random, or a numeric
cut at the nearest decile rather than where the error starts. Before a slice
is reported it is shrunk, like a failing example in hypothesis: a condition is
dropped while the rows it excludes are not significantly better off than the
slice, and each ``<`` / ``>=`` cut is moved to the value where the score peaks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from scipy import stats

from auditkit import Condition

__all__ = ["Piece", "rows_of", "shrink"]

Score = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Piece:
    """One condition of a slice with the rows it holds for."""

    condition: Condition
    rows: np.ndarray


def shrink(
    pieces: Sequence[Piece],
    frame: pd.DataFrame,
    error: np.ndarray,
    *,
    zero_one: bool,
    level: float,
    min_rows: int,
    score: Score,
) -> list[Piece]:
    """Drop the conditions the slice does not need, refine its cuts, and drop again."""
    out = _minimal(list(pieces), error, zero_one=zero_one, level=level)
    out = [_refine(out, i, frame, error, min_rows=min_rows, score=score) for i in range(len(out))]
    return _minimal(out, error, zero_one=zero_one, level=level)


def rows_of(pieces: Sequence[Piece], n: int) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    for p in pieces:
        mask &= p.rows
    return mask


def _minimal(pieces: list[Piece], error: np.ndarray, *, zero_one: bool, level: float) -> list[Piece]:
    n = len(error)
    while len(pieces) > 1:
        inside = rows_of(pieces, n)
        weakest, weakest_p = None, level
        for i in range(len(pieces)):
            excluded = rows_of(pieces[:i] + pieces[i + 1:], n) & ~pieces[i].rows
            p = _worse_p(error[inside], error[excluded], zero_one)
            if p >= weakest_p:
                weakest, weakest_p = i, p
        if weakest is None:
            break  # every condition shuts out rows the model handles significantly better
        del pieces[weakest]
    return pieces


def _worse_p(inside: np.ndarray, excluded: np.ndarray, zero_one: bool) -> float:
    """One-sided p-value that the slice's error is higher than the excluded rows'."""
    if len(excluded) == 0 or len(inside) == 0:
        return 1.0
    if zero_one:
        a, b = int(inside.sum()), int(excluded.sum())
        table = [[a, len(inside) - a], [b, len(excluded) - b]]
        return float(stats.fisher_exact(table, alternative="greater").pvalue)
    if len(excluded) < 2 or len(inside) < 2:
        return 1.0
    p = stats.ttest_ind(inside, excluded, equal_var=False, alternative="greater").pvalue
    return float(p) if np.isfinite(p) else 1.0


def _refine(
    pieces: list[Piece], i: int, frame: pd.DataFrame, error: np.ndarray, *, min_rows: int, score: Score
) -> Piece:
    """The same condition with its cut moved to the value where the slice scores best."""
    piece = pieces[i]
    cond = piece.condition
    series = frame[cond.feature]
    if cond.op not in ("<", ">=") or not ptypes.is_numeric_dtype(series.dtype) or ptypes.is_bool_dtype(series.dtype):
        return piece
    x = series.to_numpy(dtype=float, na_value=np.nan)
    others = rows_of(pieces[:i] + pieces[i + 1:], len(x)) & np.isfinite(x)
    xs, es = x[others], error[others]
    order = np.argsort(xs, kind="stable")
    xs, es = xs[order], es[order]
    values, first = np.unique(xs, return_index=True)
    before = np.concatenate([[0.0], np.cumsum(es)])[first]  # error of the rows below each value
    if cond.op == ">=":
        size, err = (len(xs) - first).astype(float), float(es.sum()) - before
    else:
        size, err = first.astype(float), before
    valid = size >= min_rows
    if not valid.any():
        return piece
    s = np.where(valid, score(size, err), -np.inf)
    best = values[int(np.argmax(s))]
    value = int(best) if ptypes.is_integer_dtype(series.dtype) and float(best).is_integer() else float(best)
    rows = (x >= best) if cond.op == ">=" else (x < best)
    return Piece(Condition(cond.feature, cond.op, value), rows)
