"""Per-group metrics of a model, counted partition by partition.

A classifier's rows are counted into one cell per (group, actual, predicted):
every group metric is a sum of those cells, so the counts merge by addition,
and fairlearn's ``MetricFrame`` then runs on one weighted row per cell
(a handful of rows instead of a million) with the same numbers to the last
digit. A regressor's count, MAE and RMSE are sums of its errors per group,
summed exactly (``ExactSums``) so that the split into partitions changes no
digit; its absolute errors are also counted into quantile bins per group
(edges from the audit's sample) for the bootstrap of ``disparities``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score

from auditkit import Measurement, Part
from probes._shared.exact_sums import ExactSums
from probes._shared.groups import Grouping

__all__ = [
    "CLASSIFICATION_KEYS",
    "REGRESSION_KEYS",
    "ErrorSums",
    "GroupCounts",
    "GroupTable",
    "error_bin_edges",
    "group_table",
]

CLASSIFICATION_KEYS = (
    "feature", "group", "count", "selection_rate", "accuracy",
    "false_positive_rate", "false_negative_rate", "true_positive_rate", "precision",
)
REGRESSION_KEYS = ("feature", "group", "count", "mae", "rmse")

# Bins of absolute error per group for the regression bootstrap (see disparities).
_VALUE_BINS = 512

# (y_true, y_pred) of a partition's rows: class indices (binary: 1 is the positive class) or values.
Outcomes = Callable[[Part], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ErrorSums:
    """A regressor's errors per group: rows, sums of absolute and squared errors, and
    rows and absolute-error sums per (group, bin of absolute error)."""

    count: np.ndarray
    abs_sum: np.ndarray
    sq_sum: np.ndarray
    bin_count: np.ndarray   # groups x bins
    bin_sum: np.ndarray


@dataclass(frozen=True)
class GroupTable:
    """Per group of one grouping: the MetricFrame's numbers and the counts behind them.

    ``cells`` is (groups x 4) as (tn, fp, fn, tp) for a binary model, (groups x 2)
    as (right, wrong) for a multiclass one, and None for regression, which has ``errors``.
    """

    grouping: Grouping
    by_group: pd.DataFrame            # one row per group index, one column per metric
    cells: np.ndarray | None
    errors: ErrorSums | None = None

    def entries(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for i, label in enumerate(self.grouping.labels):
            row = self.by_group.loc[i]
            entry: dict[str, Any] = {"feature": self.grouping.feature, "group": label}
            for key in keys[2:]:
                value = row.get(key, np.nan)
                entry[key] = int(value) if key == "count" else float(value)
            out.append(entry)
        return out


class GroupCounts(Measurement[list[GroupTable]]):
    """Confusion counts (or error sums) per group of every grouping, mergeable.

    ``outcomes`` codes a partition's rows; ``error_edges`` are the bins of
    absolute error for a regressor (from the sample, so that every partition
    bins alike). Groups nobody is in are dropped when finalized.
    """

    def __init__(
        self,
        groupings: Sequence[Grouping],
        outcomes: Outcomes,
        task: str,
        n_classes: int = 2,
        error_edges: np.ndarray | None = None,
    ) -> None:
        self.groupings = list(groupings)
        self.outcomes = outcomes
        self.task = task
        self.n_classes = int(n_classes)
        self.edges = np.zeros(0) if error_edges is None else np.asarray(error_edges, dtype=float)
        self.counts = [np.zeros(g.n_groups * self.n_classes**2, dtype=np.int64) for g in self.groupings]
        bins = len(self.edges) + 1
        # per grouping: rows per (group, bin), and exact sums of |e|, e^2 per group and of |e| per cell
        self.rows = [np.zeros(g.n_groups * bins, dtype=np.int64) for g in self.groupings]
        self.sums = [(ExactSums(g.n_groups), ExactSums(g.n_groups), ExactSums(g.n_groups * bins))
                     for g in self.groupings]

    def update(self, part: Part) -> None:
        if len(part) == 0:
            return
        y_true, y_pred = self.outcomes(part)
        nc = self.n_classes
        for i, g in enumerate(self.groupings):
            group = g.group_of(part.frame)
            if self.task != "regression":
                cell = (group * nc + y_true) * nc + y_pred
                self.counts[i] += np.bincount(cell, minlength=len(self.counts[i]))
                continue
            error = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
            abs_error = np.abs(error)
            cell = group * (len(self.edges) + 1) + np.searchsorted(self.edges, abs_error, side="right")
            self.rows[i] += np.bincount(cell, minlength=len(self.rows[i]))
            abs_sum, sq_sum, bin_sum = self.sums[i]
            abs_sum.add(group, abs_error)
            sq_sum.add(group, error * error)
            bin_sum.add(cell, abs_error)

    def merge(self, other: GroupCounts) -> GroupCounts:
        for i in range(len(self.groupings)):
            self.counts[i] += other.counts[i]
            self.rows[i] += other.rows[i]
            for mine, theirs in zip(self.sums[i], other.sums[i]):
                mine.merge(theirs)
        return self

    def finalize(self) -> list[GroupTable]:
        out = []
        bins = len(self.edges) + 1
        for i, g in enumerate(self.groupings):
            if self.task != "regression":
                per = self.counts[i].reshape(g.n_groups, -1)
                present = np.flatnonzero(per.sum(axis=1) > 0)
                out.append(group_table(g.keep(present), self.task, per[present].ravel(), n_classes=self.n_classes))
                continue
            rows = self.rows[i].reshape(g.n_groups, bins)
            present = np.flatnonzero(rows.sum(axis=1) > 0)
            abs_sum, sq_sum, bin_sum = (s.totals() for s in self.sums[i])
            errors = ErrorSums(
                count=rows.sum(axis=1)[present],
                abs_sum=abs_sum[present],
                sq_sum=sq_sum[present],
                bin_count=rows[present],
                bin_sum=bin_sum.reshape(g.n_groups, bins)[present],
            )
            out.append(group_table(g.keep(present), self.task, errors=errors))
        return out


def error_bin_edges(abs_error: np.ndarray) -> np.ndarray:
    """Quantile edges of absolute errors, for the regression bootstrap's bins."""
    if len(abs_error) == 0:
        return np.zeros(0)
    return np.unique(np.quantile(abs_error, np.linspace(0, 1, _VALUE_BINS + 1)[1:-1]))


def _count(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    # fairlearn's ``count`` ignores weights; on the collapsed cells the weights are the rows.
    return float(len(y_true) if sample_weight is None else np.sum(sample_weight))


_BINARY_METRICS: dict[str, Callable[..., float]] = {
    "count": _count,
    "selection_rate": functools.partial(selection_rate, pos_label=1),
    "accuracy": accuracy_score,
    "false_positive_rate": functools.partial(false_positive_rate, pos_label=1),
    "false_negative_rate": functools.partial(false_negative_rate, pos_label=1),
    "true_positive_rate": functools.partial(true_positive_rate, pos_label=1),
    "precision": functools.partial(precision_score, pos_label=1, zero_division=np.nan),
}
_MULTICLASS_METRICS: dict[str, Callable[..., float]] = {"count": _count, "accuracy": accuracy_score}


def group_table(
    grouping: Grouping,
    task: str,
    counts: np.ndarray | None = None,
    *,
    n_classes: int = 2,
    errors: ErrorSums | None = None,
) -> GroupTable:
    """Per-group metrics from the counts: ``counts`` per (group, actual, predicted) cell
    for a classifier (class indices below ``n_classes``), ``errors`` for a regressor."""
    k = grouping.n_groups
    if task == "regression":
        assert errors is not None
        return _regression_table(grouping, errors)
    assert counts is not None
    counts = np.asarray(counts, dtype=np.int64)
    rows = np.flatnonzero(counts)
    g, yt, yp = np.unravel_index(rows, (k, n_classes, n_classes))
    weight = counts[rows].astype(float)
    metrics = _BINARY_METRICS if task == "binary" else _MULTICLASS_METRICS
    with warnings.catch_warnings():
        # An empty confusion row is an undefined rate; it is set to NaN below, by the counts.
        warnings.simplefilter("ignore")
        frame = MetricFrame(
            metrics=metrics,
            y_true=yt,
            y_pred=yp,
            sensitive_features=g,
            sample_params={name: {"sample_weight": weight} for name in metrics},
        )
    by_group = _indexed(frame.by_group, k)
    per = counts.reshape(k, n_classes, n_classes)
    if task == "binary":
        cells = per.reshape(k, 4)
        tn, fp, fn, tp = cells.T
        # fairlearn reports a rate over an empty denominator as 0; it is undefined.
        by_group.loc[(tn + fp) == 0, "false_positive_rate"] = np.nan
        by_group.loc[(fn + tp) == 0, ["false_negative_rate", "true_positive_rate"]] = np.nan
        by_group.loc[(fp + tp) == 0, "precision"] = np.nan
    else:
        right = np.trace(per, axis1=1, axis2=2)
        cells = np.column_stack([right, per.sum(axis=(1, 2)) - right])
    return GroupTable(grouping, by_group, cells)


def _regression_table(grouping: Grouping, errors: ErrorSums) -> GroupTable:
    """Count, MAE and RMSE per group from sums of the errors (the tests hold them to
    MetricFrame's over the rows themselves)."""
    count = errors.count.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mae = errors.abs_sum / count
        rmse = np.sqrt(errors.sq_sum / count)
    by_group = pd.DataFrame({"count": count, "mae": mae, "rmse": rmse}, index=pd.RangeIndex(grouping.n_groups))
    by_group.loc[count == 0] = np.nan  # a group with no rows has no metrics (MetricFrame's reindex gives NaN too)
    return GroupTable(grouping, by_group, None, errors)


def _indexed(by_group: pd.DataFrame, k: int) -> pd.DataFrame:
    frame = by_group.copy()
    frame.index = frame.index.astype(int)
    return frame.reindex(range(k)).astype(float)
