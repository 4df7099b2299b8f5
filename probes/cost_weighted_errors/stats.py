"""The statistics behind the findings: paired confidence intervals for
differences in cost per row, and the test of whether a group carries more
than its share of the cost. Both read merged measurements (``sums``), never
a whole frame."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import scipy.stats

from probes.cost_weighted_errors.sums import Moments, PairedDiffs

__all__ = ["greater_p", "intervals", "paired_intervals"]

# Each bootstrap batch resamples at most this many cells, to bound memory.
_BOOTSTRAP_CELLS = 4_000_000


def intervals(
    diffs: PairedDiffs, levels: Sequence[float], n_resamples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, str]:
    """Confidence intervals for the mean of each column of per-row differences.

    Every column is a per-row difference of two rules' costs on the same rows,
    so resampling rows keeps the pairing. A percentile bootstrap (the same
    resamples for every column) up to ``diffs.max_rows`` rows; beyond, the
    normal interval, which the bootstrap of a mean matches at that size anyway.
    """
    n, m = diffs.n, len(diffs.s1.ints)
    levels_arr = np.asarray(levels, dtype=float)
    if m == 0:
        return np.zeros(0), np.zeros(0), "none"
    mean, std = diffs.mean_std()
    if n > diffs.max_rows or n_resamples == 0 or n < 2:
        se = std / np.sqrt(n) if n > 1 else np.full(m, np.inf)
        z = scipy.stats.norm.ppf(0.5 + levels_arr / 2)
        return mean - z * se, mean + z * se, "normal"
    dist = _mean_resamples(diffs, n_resamples, rng)
    tails = (1 - levels_arr) / 2
    low = np.array([np.quantile(dist[j], tails[j]) for j in range(m)])
    high = np.array([np.quantile(dist[j], 1 - tails[j]) for j in range(m)])
    return low, high, "bootstrap"


def paired_intervals(
    diffs: np.ndarray, levels: Sequence[float], n_resamples: int, rng: np.random.Generator, max_rows: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """``intervals`` of an array of differences (rows x comparisons)."""
    state = PairedDiffs(diffs.shape[1], max_rows)
    state.add_rows(np.arange(len(diffs)), diffs)
    return intervals(state, levels, n_resamples, rng)


def _mean_resamples(diffs: PairedDiffs, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The bootstrap distribution of each column's mean (columns x resamples).

    A resample's mean depends only on how often it drew each distinct row.
    With fixed costs a row's cost differences take a handful of values, so
    the draw counts of those come from one multinomial per resample, which is
    exactly the distribution of resampling the rows themselves and costs
    nothing per row. Many distinct rows (per-row costs) resample the rows.
    """
    n = diffs.n
    table = diffs.table
    if table.rows is not None:
        draws = rng.multinomial(n, table.counts / n, size=n_resamples)
        return (draws @ table.rows / n).T
    rows = diffs.rows()
    assert rows is not None  # kept up to max_rows, the only case that resamples
    m = rows.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # identical rows (no difference anywhere) are fine here
        res = scipy.stats.bootstrap(
            (rows,),
            np.mean,
            axis=0,
            vectorized=True,
            n_resamples=n_resamples,
            batch=max(1, _BOOTSTRAP_CELLS // (n * m)),
            method="percentile",
            rng=rng,
        )
    return np.asarray(res.bootstrap_distribution).reshape(m, -1)


def greater_p(inside: Moments, outside: Moments) -> float:
    """One-sided Welch t-test from the two sides' moments: is the group's mean cost above the other rows'?"""
    (mean_in,), (std_in,) = inside.mean_std()
    (mean_out,), (std_out,) = outside.mean_std()
    if std_in == 0 and std_out == 0:  # no spread: the means speak for themselves
        return 0.0 if mean_in > mean_out else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = scipy.stats.ttest_ind_from_stats(
            mean_in, std_in, inside.n, mean_out, std_out, outside.n, equal_var=False, alternative="greater"
        ).pvalue
    return float(p) if np.isfinite(p) else 1.0
