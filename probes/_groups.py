"""Declared groups: who belongs to which group, the group metrics, and the gaps between groups.

The per-group metrics go through fairlearn's ``MetricFrame``. A classifier's
rows are first collapsed into one weighted row per (group, actual, predicted)
cell: the metrics are sums of those cells, so the numbers are the same to the
last digit, and ``MetricFrame`` (which touches every row in Python) runs on a
handful of rows instead of a million.

The bootstrap resamples the same cell table: drawing n rows with replacement is
a multinomial draw over the cells, so a thousand resamples cost a thousand
draws of a few dozen counts, whatever the number of rows.

A regressor's rows cannot be collapsed (every error differs), and
``MetricFrame`` over every row took about ten seconds per million rows, nearly all
of it fairlearn handing rows to the metric group by group. Its three metrics
(count, MAE, RMSE) are sums of the errors, so they are summed per group with
``np.bincount`` instead. Its bootstrap pools the errors into quantile bins per
group first (``_binned_bootstrap_means``).
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
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
from pandas.api import types as ptypes
from scipy import stats
from sklearn.metrics import accuracy_score, precision_score

from auditkit import Condition

__all__ = [
    "CLASSIFICATION_KEYS",
    "REGRESSION_KEYS",
    "Disparity",
    "equalized_odds",
    "GroupTable",
    "Grouping",
    "group_metrics",
    "groupings",
    "rate_disparities",
    "regression_disparity",
]

CLASSIFICATION_KEYS = (
    "feature", "group", "count", "selection_rate", "accuracy",
    "false_positive_rate", "false_negative_rate", "true_positive_rate", "precision",
)
REGRESSION_KEYS = ("feature", "group", "count", "mae", "rmse")

# A numeric sensitive column with at most this many distinct values is read as
# codes (0/1 sex, 1-5 bands), each value its own group.
_MAX_VALUES_AS_GROUPS = 10
# Bins of absolute error per group for the regression bootstrap (see _binned_bootstrap_means).
_VALUE_BINS = 512
_AGE_NAME = re.compile(r"(^|[_\W])age($|[_\W])", re.IGNORECASE)


# -- who is in which group -----------------------------------------------------


@dataclass(frozen=True)
class Grouping:
    """One way of splitting the rows: a sensitive column (binned when numeric) or a cross of two."""

    feature: str                      # "sex", or "sex & race" for an intersection
    columns: tuple[str, ...]
    codes: np.ndarray                 # group index of every row
    labels: tuple[Any, ...]           # the group's name in the report, per index
    slices: tuple[tuple[Condition, ...], ...]  # the rows of each group, as conditions

    @property
    def n_groups(self) -> int:
        return len(self.labels)


def groupings(
    frame: pd.DataFrame,
    sensitive: Sequence[str],
    *,
    intersections: bool,
    age_bands: Sequence[float],
    bins: int,
) -> list[Grouping]:
    """Every sensitive column alone, then (when asked) every pair crossed."""
    single = [_grouping(frame[c], c, age_bands=age_bands, bins=bins) for c in sensitive]
    out = list(single)
    if intersections:
        for a, b in combinations(single, 2):
            out.append(_cross(a, b))
    return out


def _grouping(series: pd.Series, name: str, *, age_bands: Sequence[float], bins: int) -> Grouping:
    values = series
    if ptypes.is_bool_dtype(values.dtype) or not ptypes.is_numeric_dtype(values.dtype):
        return _by_value(values, name)
    if values.nunique() <= _MAX_VALUES_AS_GROUPS:
        return _by_value(values, name)
    x = values.to_numpy(dtype=float)
    finite = x[np.isfinite(x)]
    if _AGE_NAME.search(name) and finite.min() >= 0 and finite.max() <= 120:
        # Ages get the bands reports and regulators use, not quantiles that move with the sample.
        edges = np.array([e for e in age_bands if finite.min() < e <= finite.max()], dtype=float)
    else:
        # Quantile edges rounded to two significant digits: "income >= 52000", not 51873.25.
        qs = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])
        edges = np.unique([float(f"{q:.2g}") for q in qs])
        edges = edges[(edges > finite.min()) & (edges <= finite.max())]
    return _by_band(x, name, edges)


def _by_value(series: pd.Series, name: str) -> Grouping:
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    labels: list[Any] = [_plain(v) for v in uniques]
    slices: list[tuple[Condition, ...]] = [(Condition(name, "==", v),) for v in labels]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(None)
        slices.append((Condition(name, "is_null"),))
    return Grouping(name, (name,), codes.astype(np.intp), tuple(labels), tuple(slices))


def _by_band(x: np.ndarray, name: str, edges: np.ndarray) -> Grouping:
    codes = np.searchsorted(edges, x, side="right")  # band i is [edges[i-1], edges[i])
    labels: list[Any] = []
    slices: list[tuple[Condition, ...]] = []
    e = [_plain(v) for v in edges]
    for i in range(len(e) + 1):
        if i == 0:
            labels.append(f"<{e[0]:g}" if e else "all")
            slices.append((Condition(name, "<", e[0]),) if e else ())
        elif i == len(e):
            labels.append(f">={e[-1]:g}")
            slices.append((Condition(name, ">=", e[-1]),))
        else:
            labels.append(f"[{e[i - 1]:g}, {e[i]:g})")
            slices.append((Condition(name, "between", (e[i - 1], e[i])),))
    null = ~np.isfinite(x)
    if null.any():
        codes = np.where(null, len(labels), codes)
        labels.append(None)
        slices.append((Condition(name, "is_null"),))
    # Bands nobody falls in are not groups.
    present = np.unique(codes)
    remap = np.full(len(labels), -1, dtype=np.intp)
    remap[present] = np.arange(len(present))
    return Grouping(
        name, (name,), remap[codes], tuple(labels[i] for i in present), tuple(slices[i] for i in present)
    )


def _cross(a: Grouping, b: Grouping) -> Grouping:
    joint = a.codes * b.n_groups + b.codes
    present, codes = np.unique(joint, return_inverse=True)
    labels = tuple([a.labels[p // b.n_groups], b.labels[p % b.n_groups]] for p in present)
    slices = tuple(a.slices[p // b.n_groups] + b.slices[p % b.n_groups] for p in present)
    return Grouping(f"{a.feature} & {b.feature}", a.columns + b.columns, codes.astype(np.intp), labels, slices)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# -- the metrics of every group ---------------------------------------------------


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


@dataclass(frozen=True)
class GroupTable:
    """Per group of one grouping: the MetricFrame's numbers and the confusion cells behind them.

    ``cells`` is (groups x 4) as (tn, fp, fn, tp) for a binary model, (groups x 2)
    as (right, wrong) for a multiclass one, and None for regression.
    """

    grouping: Grouping
    by_group: pd.DataFrame            # one row per group index, one column per metric
    cells: np.ndarray | None
    abs_error: np.ndarray | None = field(default=None, repr=False)  # regression only

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


def group_metrics(
    grouping: Grouping, y_true: np.ndarray, y_pred: np.ndarray, task: str, n_classes: int = 2
) -> GroupTable:
    """Per-group metrics through MetricFrame. For classification ``y_true`` and
    ``y_pred`` are class indices below ``n_classes`` (binary: 1 is the positive class)."""
    k = grouping.n_groups
    if task == "regression":
        return _regression_table(grouping, y_true, y_pred)
    cell = (grouping.codes * n_classes + y_true) * n_classes + y_pred
    counts = np.bincount(cell, minlength=k * n_classes * n_classes)
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


def _regression_table(grouping: Grouping, y_true: np.ndarray, y_pred: np.ndarray) -> GroupTable:
    """Count, MAE and RMSE per group from sums of the errors. MetricFrame groups the
    rows themselves, seconds per grouping at a million rows; the sums are exact and
    take milliseconds (the tests hold them to MetricFrame's)."""
    k = grouping.n_groups
    error = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
    abs_error = np.abs(error)
    count = np.bincount(grouping.codes, minlength=k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mae = np.bincount(grouping.codes, weights=abs_error, minlength=k) / count
        rmse = np.sqrt(np.bincount(grouping.codes, weights=error * error, minlength=k) / count)
    by_group = pd.DataFrame({"count": count, "mae": mae, "rmse": rmse}, index=pd.RangeIndex(k))
    by_group.loc[count == 0] = np.nan  # a group with no rows has no metrics (MetricFrame's reindex gives NaN too)
    return GroupTable(grouping, by_group, None, abs_error)


def _indexed(by_group: pd.DataFrame, k: int) -> pd.DataFrame:
    frame = by_group.copy()
    frame.index = frame.index.astype(int)
    return frame.reindex(range(k)).astype(float)


# -- the gaps between groups ------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """A rate read off the confusion cells: numerator cells over denominator cells."""

    name: str          # the disparity's name in the report
    metric: str        # the group metric it compares
    numerator: tuple[int, ...]
    denominator: tuple[int, ...]
    worse_is_low: bool  # which end of the rate is the worse-off group


# (tn, fp, fn, tp) for binary; (right, wrong) for multiclass.
SELECTION = Rate("demographic_parity", "selection_rate", (1, 3), (0, 1, 2, 3), worse_is_low=True)
FPR = Rate("false_positive_rate", "false_positive_rate", (1,), (0, 1), worse_is_low=False)
FNR = Rate("false_negative_rate", "false_negative_rate", (2,), (2, 3), worse_is_low=False)
TPR = Rate("true_positive_rate", "true_positive_rate", (3,), (2, 3), worse_is_low=True)
ERROR = Rate("error_rate", "error_rate", (1,), (0, 1), worse_is_low=False)


@dataclass(frozen=True)
class Disparity:
    """The gap between the best and worst supported groups of one grouping on one rate."""

    grouping: Grouping
    name: str
    metric: str
    worse: int                 # group index
    better: int
    worse_value: float
    better_value: float
    difference: float
    ratio: float
    difference_ci: tuple[float, float]
    ratio_ci: tuple[float, float]
    p_value: float             # worst vs best, Bonferroni over the pairs of supported groups
    compared: tuple[int, ...]  # the supported groups
    thin: tuple[int, ...]      # groups left out: their denominator is below the minimum
    boot_difference: np.ndarray | None = field(default=None, repr=False, compare=False)
    boot_ratio: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        labels = self.grouping.labels
        return {
            "feature": self.grouping.feature,
            "disparity": self.name,
            "metric": self.metric,
            "worse_group": labels[self.worse],
            "better_group": labels[self.better],
            "worse_value": self.worse_value,
            "better_value": self.better_value,
            "difference": self.difference,
            "difference_ci": list(self.difference_ci),
            "ratio": self.ratio,
            "ratio_ci": list(self.ratio_ci),
            "p_value": self.p_value,
            "groups_compared": len(self.compared),
            "insufficient_groups": [labels[i] for i in self.thin],
        }


def rate_disparities(
    table: GroupTable,
    rates: Sequence[Rate],
    *,
    flip: Sequence[str] = (),
    min_group_size: int,
    n_bootstrap: int,
    level: float,
    rng: np.random.Generator,
) -> list[Disparity]:
    """One disparity per rate among the groups with enough rows in its denominator.

    ``flip`` names rates whose worse-off end is the other one (a risk flag's
    selection rate: being selected more often is the harm).
    """
    cells = table.cells
    assert cells is not None
    n = int(cells.sum())
    # One bootstrap for every rate, so their CIs come from the same resamples.
    draws = rng.multinomial(n, cells.ravel() / n, size=n_bootstrap).reshape(n_bootstrap, *cells.shape)
    out = []
    for rate in rates:
        num = cells[:, list(rate.numerator)].sum(axis=1)
        den = cells[:, list(rate.denominator)].sum(axis=1)
        supported = np.flatnonzero(den >= min_group_size)
        thin = tuple(int(i) for i in np.flatnonzero((den > 0) & (den < min_group_size)))
        if len(supported) < 2:
            continue
        values = num[supported] / den[supported]
        hi_i, lo_i = supported[np.argmax(values)], supported[np.argmin(values)]
        worse_is_low = rate.worse_is_low != (rate.name in flip)
        worse, better = (lo_i, hi_i) if worse_is_low else (hi_i, lo_i)
        hi, lo = float(values.max()), float(values.min())
        b_num = draws[:, supported][:, :, list(rate.numerator)].sum(axis=2)
        b_den = draws[:, supported][:, :, list(rate.denominator)].sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            b_rate = b_num / b_den
            b_hi, b_lo = np.nanmax(b_rate, axis=1), np.nanmin(b_rate, axis=1)
            b_diff, b_ratio = b_hi - b_lo, np.where(b_hi > 0, b_lo / b_hi, 1.0)
        k = len(supported)
        p = _two_proportions(int(num[hi_i]), int(den[hi_i]), int(num[lo_i]), int(den[lo_i]))
        out.append(
            Disparity(
                grouping=table.grouping,
                name=rate.name,
                metric=rate.metric,
                worse=int(worse),
                better=int(better),
                worse_value=float(num[worse] / den[worse]),
                better_value=float(num[better] / den[better]),
                difference=hi - lo,
                ratio=lo / hi if hi > 0 else 1.0,
                difference_ci=_interval(b_diff, level),
                ratio_ci=_interval(b_ratio, level),
                p_value=min(1.0, p * k * (k - 1) / 2),
                compared=tuple(int(i) for i in supported),
                thin=thin,
                boot_difference=b_diff,
                boot_ratio=b_ratio,
            )
        )
    return out


def equalized_odds(tpr: Disparity, fpr: Disparity, level: float) -> dict[str, Any]:
    """fairlearn's equalized odds: the larger of the TPR and FPR differences, the
    smaller of their ratios; its CI from the same resamples as theirs."""
    assert tpr.boot_difference is not None and fpr.boot_difference is not None
    assert tpr.boot_ratio is not None and fpr.boot_ratio is not None
    return {
        "feature": tpr.grouping.feature,
        "disparity": "equalized_odds",
        "difference": max(tpr.difference, fpr.difference),
        "difference_ci": list(_interval(np.fmax(tpr.boot_difference, fpr.boot_difference), level)),
        "ratio": min(tpr.ratio, fpr.ratio),
        "ratio_ci": list(_interval(np.fmin(tpr.boot_ratio, fpr.boot_ratio), level)),
        "p_value": min(1.0, 2 * min(tpr.p_value, fpr.p_value)),
    }


def regression_disparity(
    table: GroupTable, *, min_group_size: int, n_bootstrap: int, level: float, rng: np.random.Generator
) -> Disparity | None:
    """The gap in mean absolute error between the groups (the worse-off group errs more)."""
    abs_error = table.abs_error
    assert abs_error is not None
    codes = table.grouping.codes
    k = table.grouping.n_groups
    counts = np.bincount(codes, minlength=k)
    supported = np.flatnonzero(counts >= min_group_size)
    thin = tuple(int(i) for i in np.flatnonzero((counts > 0) & (counts < min_group_size)))
    if len(supported) < 2:
        return None
    mae = table.by_group["mae"].to_numpy()
    values = mae[supported]
    worse, better = supported[np.argmax(values)], supported[np.argmin(values)]
    hi, lo = float(values.max()), float(values.min())
    b_mae = _binned_bootstrap_means(abs_error, codes, k, n_bootstrap, rng)[:, supported]
    b_hi, b_lo = b_mae.max(axis=1), b_mae.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        b_ratio = np.where(b_hi > 0, b_lo / b_hi, 1.0)
    # Welch's t-test, one-sided: the worse-off group's errors are larger.
    p = stats.ttest_ind(
        abs_error[codes == worse], abs_error[codes == better], equal_var=False, alternative="greater"
    ).pvalue
    p = float(p) if np.isfinite(p) else 1.0
    n_pairs = len(supported) * (len(supported) - 1) / 2
    return Disparity(
        grouping=table.grouping,
        name="mae",
        metric="mae",
        worse=int(worse),
        better=int(better),
        worse_value=hi,
        better_value=lo,
        difference=hi - lo,
        ratio=lo / hi if hi > 0 else 1.0,
        difference_ci=_interval(b_hi - b_lo, level),
        ratio_ci=_interval(b_ratio, level),
        p_value=min(1.0, p * n_pairs),
        compared=tuple(int(i) for i in supported),
        thin=thin,
    )


def _binned_bootstrap_means(
    values: np.ndarray, codes: np.ndarray, k: int, n_bootstrap: int, rng: np.random.Generator
) -> np.ndarray:
    """Group means of ``values`` over bootstrap resamples of the rows.

    The rows are pooled into cells (group x one of 512 quantile bins of the
    values), each standing for its rows by their mean: a resample is then a
    multinomial draw over the cells, exact in the point estimate and losing
    only the spread inside a bin, whatever the number of rows.
    """
    edges = np.unique(np.quantile(values, np.linspace(0, 1, _VALUE_BINS + 1)[1:-1]))
    cell = codes * (len(edges) + 1) + np.searchsorted(edges, values, side="right")
    size = k * (len(edges) + 1)
    n_rows = np.bincount(cell, minlength=size).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_mean = np.where(n_rows > 0, np.bincount(cell, weights=values, minlength=size) / n_rows, 0.0)
    draws = rng.multinomial(len(values), n_rows / len(values), size=n_bootstrap).reshape(n_bootstrap, k, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("bkj,kj->bk", draws, cell_mean.reshape(k, -1)) / draws.sum(axis=2)


def _two_proportions(a: int, n1: int, b: int, n2: int) -> float:
    """Two-sided p-value that two proportions differ (chi-square on the 2x2 table)."""
    table = np.array([[a, n1 - a], [b, n2 - b]])
    if table.sum(axis=0).min() == 0:
        return 1.0  # nobody, or everybody, on one side: no difference to test
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return (float("nan"), float("nan"))
    tail = (1 - level) / 2
    lo, hi = np.quantile(finite, [tail, 1 - tail])
    return (float(lo), float(hi))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment (family-wise error over all disparities tested)."""
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return p
    order = np.argsort(p)
    m = len(p)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out
