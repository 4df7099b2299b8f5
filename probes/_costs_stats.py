"""The statistics behind ``cost_weighted_errors``' findings: paired confidence
intervals for differences in cost per row, cross-fitting folds, and the test
of whether a group carries more than its share of the cost."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats
from pandas.api import types as ptypes

from auditkit import Condition

__all__ = ["GroupCost", "fold_ids", "group_costs", "paired_intervals", "sensitive_groups"]

# A numeric sensitive column with more distinct values than this (an age) is
# cut into quartiles; fewer (a 1-4 code) are groups as they are.
_MAX_LEVELS_AS_GROUPS = 10
# Each bootstrap batch resamples at most this many cells, to bound memory.
_BOOTSTRAP_CELLS = 4_000_000
# Up to this many distinct rows of cost differences, resamples are drawn as
# multinomial counts of the distinct rows rather than as rows.
_MULTINOMIAL_DISTINCT = 2_000


def fold_ids(n: int, folds: int, rng: np.random.Generator, strata: np.ndarray | None = None) -> np.ndarray:
    """A fold number per row, balanced within each stratum (each class of a binary target)."""
    ids = np.empty(n, dtype=np.int64)
    groups = [np.arange(n)] if strata is None else [np.flatnonzero(strata == v) for v in np.unique(strata)]
    offset = 0
    for idx in groups:
        ids[rng.permutation(idx)] = (np.arange(len(idx)) + offset) % folds
        offset += len(idx)  # spread the remainders of each stratum over different folds
    return ids


def paired_intervals(
    diffs: np.ndarray,
    levels: Sequence[float],
    n_resamples: int,
    rng: np.random.Generator,
    max_rows: int,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Confidence intervals for the mean of each column of ``diffs`` (rows x comparisons).

    Every column is a per-row difference of two rules' costs on the same rows,
    so resampling rows keeps the pairing. A percentile bootstrap (the same
    resamples for every column) up to ``max_rows`` rows; beyond, the normal
    interval, which the bootstrap of a mean matches at that size anyway.
    """
    n, m = diffs.shape
    levels_arr = np.asarray(levels, dtype=float)
    if m == 0:
        return np.zeros(0), np.zeros(0), "none"
    mean = diffs.mean(axis=0)
    if n > max_rows or n_resamples == 0 or n < 2:
        se = diffs.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(m, np.inf)
        z = scipy.stats.norm.ppf(0.5 + levels_arr / 2)
        return mean - z * se, mean + z * se, "normal"
    dist = _mean_resamples(diffs, n_resamples, rng)
    tails = (1 - levels_arr) / 2
    low = np.array([np.quantile(dist[j], tails[j]) for j in range(m)])
    high = np.array([np.quantile(dist[j], 1 - tails[j]) for j in range(m)])
    return low, high, "bootstrap"


def _mean_resamples(diffs: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The bootstrap distribution of each column's mean (columns x resamples).

    A resample's mean depends only on how often it drew each distinct row.
    With fixed costs a row's cost differences take a handful of values, so
    the draw counts of those come from one multinomial per resample, which is
    exactly the distribution of resampling the rows themselves and costs
    nothing per row. Many distinct rows (per-row costs) resample the rows.
    """
    n, m = diffs.shape
    distinct, counts = np.unique(diffs, axis=0, return_counts=True)
    if len(distinct) <= _MULTINOMIAL_DISTINCT:
        draws = rng.multinomial(n, counts / n, size=n_resamples)
        return (draws @ distinct / n).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # identical rows (no difference anywhere) are fine here
        res = scipy.stats.bootstrap(
            (diffs,),
            np.mean,
            axis=0,
            vectorized=True,
            n_resamples=n_resamples,
            batch=max(1, _BOOTSTRAP_CELLS // (n * m)),
            method="percentile",
            rng=rng,
        )
    return np.asarray(res.bootstrap_distribution).reshape(m, -1)


def sensitive_groups(frame: pd.DataFrame, column: str) -> list[tuple[str, tuple[Condition, ...], np.ndarray]]:
    """The groups of one sensitive column: its values, or quartiles of a many-valued number."""
    series = frame[column]
    out: list[tuple[str, tuple[Condition, ...], np.ndarray]] = []
    values = series.to_numpy()
    missing = series.isna().to_numpy()
    if (
        ptypes.is_numeric_dtype(series.dtype)
        and not ptypes.is_bool_dtype(series.dtype)
        and series.nunique() > _MAX_LEVELS_AS_GROUPS
    ):
        numbers = series.to_numpy(dtype=float)
        edges = np.unique(np.nanquantile(numbers, [0.0, 0.25, 0.5, 0.75, 1.0]))
        for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
            last = i == len(edges) - 2
            mask = (numbers >= lo) & ((numbers <= hi) if last else (numbers < hi))
            upper = float(np.nextafter(hi, np.inf)) if last else float(hi)
            label = f"{lo:g} <= {column} {'<=' if last else '<'} {hi:g}"
            out.append((label, (Condition(column, "between", (float(lo), upper)),), mask))
    else:
        for value in pd.unique(series.dropna()):
            mask = (values == value) & ~missing
            out.append((f"{column} == {value!r}", (Condition(column, "==", value),), mask))
    if missing.any():
        out.append((f"{column} is null", (Condition(column, "is_null"),), missing))
    return out


@dataclass(frozen=True)
class GroupCost:
    """Who pays for the errors: one group's share of the total cost."""

    column: str
    label: str
    slice: tuple[Condition, ...]
    rows: int
    total_cost: float
    expected_cost: float
    row_share: float
    cost_share: float
    ratio: float
    p_value: float | None
    p_adjusted: float | None
    flagged: bool

    def to_metrics(self) -> dict[str, Any]:
        return {
            "group": self.label,
            "rows": self.rows,
            "expected_cost": self.expected_cost,
            "total_cost": self.total_cost,
            "row_share": self.row_share,
            "cost_share": self.cost_share,
            "ratio": self.ratio,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "flagged": self.flagged,
        }


def _greater_p(inside: np.ndarray, outside: np.ndarray) -> float:
    """One-sided Welch t-test: is the group's mean cost above the other rows'?"""
    if inside.var() == 0 and outside.var() == 0:  # no spread: the means speak for themselves
        return 0.0 if inside.mean() > outside.mean() else 1.0
    p = scipy.stats.ttest_ind(inside, outside, equal_var=False, alternative="greater").pvalue
    return float(p) if np.isfinite(p) else 1.0


def group_costs(
    row_cost: np.ndarray,
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    min_rows: int,
    ratio_limit: float,
    alpha: float,
) -> list[GroupCost]:
    """Each group's cost per row against the overall, tested against the other rows.

    Groups with fewer than ``min_rows`` rows (or leaving fewer outside) are
    reported, not tested. The p-values of all tested groups, over every
    sensitive column, are adjusted together (Benjamini-Hochberg): the more
    groups looked at, the more one of them looks expensive by chance.
    """
    n = len(row_cost)
    total = float(row_cost.sum())
    overall = total / n
    pending: list[dict[str, Any]] = []
    for column in columns:
        for label, condition, mask in sensitive_groups(frame, column):
            size = int(mask.sum())
            if size == 0:
                continue
            group_total = float(row_cost[mask].sum())
            mean = group_total / size
            testable = size >= min_rows and n - size >= min_rows
            pending.append(
                {
                    "column": column,
                    "label": label,
                    "slice": condition,
                    "rows": size,
                    "total_cost": group_total,
                    "expected_cost": mean,
                    "row_share": size / n,
                    "cost_share": group_total / total if total > 0 else float("nan"),
                    "ratio": mean / overall if overall > 0 else float("nan"),
                    "p_value": _greater_p(row_cost[mask], row_cost[~mask]) if testable else None,
                }
            )
    tested = [g for g in pending if g["p_value"] is not None]
    if tested:
        adjusted = scipy.stats.false_discovery_control([g["p_value"] for g in tested])
        for g, p in zip(tested, adjusted):
            g["p_adjusted"] = float(p)
    out = []
    for g in pending:
        p_adj = g.get("p_adjusted")
        flagged = bool(p_adj is not None and p_adj < alpha and g["ratio"] >= ratio_limit)
        out.append(GroupCost(**{**g, "p_adjusted": p_adj, "flagged": flagged}))
    return out
