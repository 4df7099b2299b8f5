"""The gaps between groups: disparities with bootstrap intervals and tests.

The bootstrap resamples the group tables' counts, not the rows: drawing n rows
with replacement is a multinomial draw over a classifier's confusion cells,
so a thousand resamples cost a thousand draws of a few dozen counts, whatever
the number of rows. A regressor's absolute errors are pooled into quantile
bins per group (``GroupCounts``), each bin standing for its rows by their
mean, and resampled the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from probes._shared.group_metrics import GroupTable
from probes._shared.groups import Grouping

__all__ = [
    "ERROR",
    "FNR",
    "FPR",
    "SELECTION",
    "TPR",
    "Disparity",
    "Rate",
    "equalized_odds",
    "holm",
    "rate_disparities",
    "regression_disparity",
]



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
    errors = table.errors
    assert errors is not None
    counts = errors.count
    supported = np.flatnonzero(counts >= min_group_size)
    thin = tuple(int(i) for i in np.flatnonzero((counts > 0) & (counts < min_group_size)))
    if len(supported) < 2:
        return None
    mae = table.by_group["mae"].to_numpy()
    values = mae[supported]
    worse, better = supported[np.argmax(values)], supported[np.argmin(values)]
    hi, lo = float(values.max()), float(values.min())
    b_mae = _bootstrap_means(errors.bin_count, errors.bin_sum, n_bootstrap, rng)[:, supported]
    b_hi, b_lo = b_mae.max(axis=1), b_mae.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        b_ratio = np.where(b_hi > 0, b_lo / b_hi, 1.0)
    # Welch's t-test, one-sided: the worse-off group's errors are larger (from the sums).
    p = _welch_greater(*(
        (float(mae[i]), float(errors.sq_sum[i]), int(counts[i])) for i in (worse, better)
    ))
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


def _welch_greater(a: tuple[float, float, int], b: tuple[float, float, int]) -> float:
    """One-sided Welch p-value that group a's mean is above group b's, from each
    group's (mean, sum of squares, rows)."""
    moments = []
    for mean, sq_sum, n in (a, b):
        var = max((sq_sum - n * mean * mean) / (n - 1), 0.0) if n > 1 else 0.0
        moments.append((mean, np.sqrt(var), n))
    (m1, s1, n1), (m2, s2, n2) = moments
    with np.errstate(invalid="ignore", divide="ignore"):
        p = stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=False, alternative="greater").pvalue
    return float(p) if np.isfinite(p) else 1.0


def _bootstrap_means(
    bin_count: np.ndarray, bin_sum: np.ndarray, n_bootstrap: int, rng: np.random.Generator
) -> np.ndarray:
    """Group means over bootstrap resamples of the rows, from rows and sums per
    (group x quantile bin of the values).

    Each cell stands for its rows by their mean: a resample is then a multinomial
    draw over the cells, exact in the point estimate and losing only the spread
    inside a bin, whatever the number of rows.
    """
    k = bin_count.shape[0]
    n_rows = bin_count.ravel().astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_mean = np.where(n_rows > 0, bin_sum.ravel() / n_rows, 0.0)
    total = int(n_rows.sum())
    draws = rng.multinomial(total, n_rows / total, size=n_bootstrap).reshape(n_bootstrap, k, -1)
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
