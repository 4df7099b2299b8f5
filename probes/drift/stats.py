"""The numbers drift judges by: effect sizes with bootstrap intervals, and p-values.

Numbers: the Wasserstein-1 distance between the reference and audit
distributions (the average distance a value had to move), in reference
standard deviations, computed from the two histograms on the reference's
edges (the audit's values beyond the reference's range by their exact summed
distance); its significance from the two-sample Kolmogorov-Smirnov statistic
on the same cumulative shares. Categories: the total variation distance
(the share of rows that would have to change category), significance by
the chi-square test of the 2 x k table. Shares (a spelling of missing, unseen
categories, values out of range): Fisher's exact test or a binomial test.
Intervals: percentile bootstrap on the counts (multinomial resampling of
both sides), so they cost the same at any number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import special, stats

__all__ = ["beyond_range_test", "bootstrap", "excess_test", "holm", "ks_test", "share_test", "total_variation", "tv_test", "wasserstein_cells"]


def _cdf_at_edges(cells: np.ndarray) -> np.ndarray:
    """Cumulative share at each edge (cells: below, one per edge, above; rows last axis)."""
    total = cells.sum(axis=-1, keepdims=True)
    cum = np.cumsum(cells, axis=-1)[..., 1:-1]  # share <= edges[i]
    return cum / np.maximum(total, 1)


def wasserstein_cells(
    ref: np.ndarray, audit: np.ndarray, edges: np.ndarray, mean_excess: tuple[float, float], discrete: bool
) -> np.ndarray:
    """W1 between two histograms on ``edges`` (rows of ``ref``/``audit`` are replicates).

    Between edges the cumulative shares are taken as linear (continuous values,
    edges at reference quantiles) or as steps (whole numbers, one edge per value);
    beyond the edges only the audit has values, each ``mean_excess`` away on average
    (below the first edge, above the last), as observed.
    """
    ref, audit = np.atleast_2d(ref).astype(float), np.atleast_2d(audit).astype(float)
    d = _cdf_at_edges(ref) - _cdf_at_edges(audit)
    width = np.diff(edges)
    if len(width) == 0:
        inner = np.zeros(d.shape[0])
    elif discrete:
        inner = (np.abs(d[:, :-1]) * width).sum(axis=1)
    else:
        a, b = d[:, :-1], d[:, 1:]
        same = a * b >= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            crossing = np.where(np.abs(a) + np.abs(b) > 0, (a * a + b * b) / (2 * (np.abs(a) + np.abs(b))), 0.0)
        inner = (np.where(same, (np.abs(a) + np.abs(b)) / 2, crossing) * width).sum(axis=1)
    n = np.maximum(audit.sum(axis=1), 1)
    outer = (audit[:, 0] * mean_excess[0] + audit[:, -1] * mean_excess[1]) / n
    return inner + outer


def ks_test(ref: np.ndarray, audit: np.ndarray) -> tuple[float, float]:
    """The KS statistic at the edges and its asymptotic two-sample p-value (Stephens'
    correction). Binning and ties only lower the statistic, so the test errs on the quiet side."""
    n, m = float(ref.sum()), float(audit.sum())
    if n == 0 or m == 0:
        return 0.0, 1.0
    d = np.abs(_cdf_at_edges(ref[None, :])[0] - _cdf_at_edges(audit[None, :])[0])
    below = audit[0] / m  # the audit's share below the reference's smallest value
    stat = float(max(d.max(initial=0.0), below))
    en = np.sqrt(n * m / (n + m))
    return stat, float(min(1.0, special.kolmogorov((en + 0.12 + 0.11 / en) * stat)))


def total_variation(ref: np.ndarray, audit: np.ndarray) -> np.ndarray:
    """Half the summed absolute difference of shares (rows of the arrays are replicates)."""
    ref, audit = np.atleast_2d(ref).astype(float), np.atleast_2d(audit).astype(float)
    p = ref / np.maximum(ref.sum(axis=1, keepdims=True), 1)
    q = audit / np.maximum(audit.sum(axis=1, keepdims=True), 1)
    return 0.5 * np.abs(p - q).sum(axis=1)


def tv_test(ref: np.ndarray, audit: np.ndarray) -> float:
    """Chi-square test of the 2 x k table; categories expected below 5 rows are pooled into one."""
    ref, audit = np.asarray(ref, dtype=float), np.asarray(audit, dtype=float)
    if ref.sum() == 0 or audit.sum() == 0:
        return 1.0
    total = ref + audit
    expected_min = np.minimum(ref.sum(), audit.sum()) * total / total.sum()
    small = expected_min < 5
    if small.any():
        ref = np.append(ref[~small], ref[small].sum())
        audit = np.append(audit[~small], audit[small].sum())
    keep = (ref + audit) > 0
    if keep.sum() < 2:
        return 1.0
    return float(stats.chi2_contingency(np.vstack([ref[keep], audit[keep]]), correction=False).pvalue)


def share_test(k_ref: int, n_ref: int, k_audit: int, n_audit: int) -> float:
    """Two-sided Fisher exact test of two shares."""
    if n_ref == 0 or n_audit == 0:
        return 1.0
    table = [[k_ref, n_ref - k_ref], [k_audit, n_audit - k_audit]]
    return float(stats.fisher_exact(table).pvalue)


def excess_test(k: int, n: int, expected: float) -> float:
    """One-sided binomial test that ``k`` of ``n`` is more than the share ``expected``."""
    if n == 0 or k == 0:
        return 1.0
    return float(stats.binomtest(k, n, min(max(expected, 0.0), 1.0), alternative="greater").pvalue)


def beyond_range_test(k_below: int, k_above: int, n_ref: int, n_audit: int) -> float:
    """Exact p-value of ``k`` audit values beyond the reference's extremes when both sides
    are drawn alike: the ``k`` most extreme of the pooled values all come from the audit with
    probability C(m, k) / C(n + m, k). (The counts beyond a sample's extremes are not binomial:
    a reference whose maximum came out low lets many audit values past it at once.) The larger
    side is tested, doubled for the two sides."""
    k = max(k_below, k_above)
    if k == 0 or n_audit == 0:
        return 1.0
    log_p = special.gammaln(n_audit + 1) - special.gammaln(n_audit - k + 1) - (
        special.gammaln(n_audit + n_ref + 1) - special.gammaln(n_audit + n_ref - k + 1)
    )
    return float(min(1.0, 2.0 * np.exp(log_p)))


def bootstrap(
    ref: np.ndarray, audit: np.ndarray, statistic, rng: np.random.Generator, replicates: int, level: float
) -> tuple[float, float]:
    """Basic bootstrap interval of ``statistic(ref_counts, audit_counts)`` over multinomial resamples
    (2 x estimate minus the replicates' quantiles, floored at 0): a distance is biased upwards by
    sampling noise, and the percentile interval would carry that bias while this one reflects it."""
    ref, audit = np.asarray(ref, dtype=np.int64), np.asarray(audit, dtype=np.int64)
    if replicates <= 0 or ref.sum() == 0 or audit.sum() == 0:
        value = float(statistic(ref[None, :], audit[None, :])[0])
        return value, value
    r = rng.multinomial(int(ref.sum()), ref / ref.sum(), size=replicates)
    a = rng.multinomial(int(audit.sum()), audit / audit.sum(), size=replicates)
    values = statistic(r, a)
    estimate = float(statistic(ref[None, :], audit[None, :])[0])
    tail = (1 - level) / 2
    q_low, q_high = np.quantile(values, [tail, 1 - tail])
    return max(0.0, 2 * estimate - float(q_high)), max(0.0, 2 * estimate - float(q_low))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (family-wise error over every test the probe made)."""
    p = np.asarray(p_values, dtype=float)
    if len(p) == 0:
        return p
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))))
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out
