"""The statistics of a slice search: its score, p-values, and the correction over the slices tried.

Every slice with enough support that the search evaluates gets a one-sided
p-value that its error is higher than the rest's (the binomial tail at the
overall error rate for 0/1 errors, a two-sample z-test for absolute errors)
and, when the model gave probabilities, one that it errs more than the model
itself expects there; the search counts them, so that a reported slice can be
corrected for all of them.

The correction is Bonferroni's, weighted by the number of conditions: each
number of conditions searched gets an equal share of the error budget, spread
over the slices tested with that many (weight m / (L * m_c), averaging one).
There are a few hundred one-condition slices, tens of thousands of pairs and
millions of triples; unweighted, the triples would set the bar for all, and a
sharp two-condition slice of a hundred rows would need the evidence of one
picked out of millions. It controls the chance of any false slice, not the
false share among the significant ones (Benjamini-Hochberg): the slices
overlap massively, so one real problem makes thousands of its near-copies
significant, and a false-discovery budget that grows with them would let a
real problem vouch for a false one beside it, which is then reported as a
problem of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft, special, stats

__all__ = [
    "AbsoluteErrorTest",
    "Found",
    "Search",
    "confidence_p_values",
    "p_values",
    "poisson_binomial_sf",
    "score",
]


@dataclass(frozen=True)
class Found:
    """One slice from the search: its conditions (column and condition indices) and its numbers."""

    columns: tuple[int, ...]
    conditions: tuple[int, ...]
    size: int
    error_sum: float
    score: float
    p_value: float
    confidence_p: float = 1.0  # against the model's own expected errors, when it has any


@dataclass(frozen=True)
class Search:
    """The exact top-k slices by score, the likeliest findings, and how many slices were tested."""

    top: tuple[Found, ...]         # by score, best first
    most_significant: tuple[Found, ...]  # the likeliest findings, by weighted evidence, strongest first
    tested: int                    # slices evaluated (enough support), all with a p-value
    tables: int                    # column pairs and triples counted over the rows
    complete: bool                 # False when the time budget ran out before the lattice did
    mean_error: float
    min_rows: int
    # Slices tested with 1, 2, 3 conditions; empty: every slice weighs the same.
    tested_by_conditions: tuple[int, ...] = ()

    def weight(self, conditions: int | None) -> float:
        """The Bonferroni weight of a slice with this many conditions.

        Each number of conditions tested gets an equal share of the error
        budget: weight m / (L * m_c) for m slices tested in all, m_c of them
        with c conditions, over L numbers of conditions. The weights average
        one over the tested slices.
        """
        counts = self.tested_by_conditions
        if conditions is None or not counts:
            return 1.0
        used = [c for c in counts if c > 0]
        if conditions > len(counts) or counts[conditions - 1] == 0:
            # a slice of a size the search never reached: the smallest weight given to any
            return min(sum(used) / (len(used) * c) for c in used) if used else 1.0
        return sum(used) / (len(used) * counts[conditions - 1])

    def adjust(self, p: float, *, conditions: int | None = None) -> float:
        """The p-value of a slice with this many conditions, corrected for every slice
        tested: p * m / w (weighted Bonferroni), at most 1. A slice shrunk after the
        search is corrected the same way, as one more of its kind."""
        return float(min(1.0, p * max(self.tested, 1) / self.weight(conditions)))


def score(size: np.ndarray, errors: np.ndarray, *, n: int, mean: float, error_weight: float) -> np.ndarray:
    """SliceLine's score: relative error in the slice, discounted for the slice being small."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return error_weight * ((errors / size) / mean - 1) - (1 - error_weight) * (n / size - 1)


def p_values(
    size: np.ndarray, errors: np.ndarray, *, n: int, total: float, var: float, zero_one: bool
) -> np.ndarray:
    """One-sided p-values: is the error in each slice higher than in the rest of the rows?"""
    size = np.asarray(size, dtype=float)
    errors = np.asarray(errors, dtype=float)
    rest_n = n - size
    with np.errstate(divide="ignore", invalid="ignore"):
        rest_mean = (total - errors) / rest_n
        z = (errors / size - rest_mean) / np.sqrt(max(var, 1e-300) * (1 / size + 1 / rest_n))
    if not zero_one:
        return np.where(np.isfinite(z), special.ndtr(-z), 1.0)
    # The normal approximation is far too kind to small slices with rare errors, so the
    # binomial tail at the overall error rate is used wherever it could matter (z > 1);
    # elsewhere p = 1. Both err on the safe side: the binomial is wider than the exact
    # (hypergeometric) law of a slice's errors given the total, and testing against the
    # rest's rate instead would treat a small rest as if its rate were known.
    p = np.ones_like(size)
    hard = np.flatnonzero(z > 1)
    if len(hard):
        p[hard] = stats.binom.sf(errors[hard] - 1, size[hard], min(max(total / n, 0.0), 1.0))
    return p


class AbsoluteErrorTest:
    """The one-sided p-value that a slice's absolute errors are larger than the other rows'.

    The search's z-test pools the variance of all rows, which is quick but trusts
    the normal tail far out: a slice of a few dozen rows holding a few large errors
    reached p = 1e-7 on a clean regressor whose slice erred no more on fresh data.
    A slice judged for the report must therefore pass two tests that do not lean
    on that tail, and its p-value is the larger of the two:

    - Welch's t-test on the slice's mean absolute error against the rest's, each
      with its own variance (its upper tail is conservative for right-skewed
      errors such as absolute ones);
    - the Mann-Whitney rank-sum test (normal approximation, corrected for ties),
      free of the errors' distribution: when the slice is no worse, its ranks are
      a draw without replacement from all of them, a sum whose tail lies below the
      normal's.
    """

    def __init__(self, error: np.ndarray) -> None:
        self.error = np.asarray(error, dtype=float)
        self.n = len(self.error)
        self.total = float(self.error.sum())
        self.total_sq = float((self.error**2).sum())
        self.ranks = stats.rankdata(self.error)
        _, ties = np.unique(self.error, return_counts=True)
        tie = float((ties.astype(float) ** 3 - ties).sum())
        # Var of the rank sum of m rows: m (n - m) / 12 * (n + 1 - tie / (n (n - 1)))
        self.tie_factor = (self.n + 1) - (tie / (self.n * (self.n - 1)) if self.n > 1 else 0.0)

    def p(self, mask: np.ndarray) -> float:
        m = int(mask.sum())
        rest = self.n - m
        if m < 2 or rest < 2:
            return 1.0
        inside = self.error[mask]
        s, sq = float(inside.sum()), float((inside**2).sum())
        mean_in, mean_out = s / m, (self.total - s) / rest
        var_in = max((sq - m * mean_in**2) / (m - 1), 0.0)
        var_out = max((self.total_sq - sq - rest * mean_out**2) / (rest - 1), 0.0)
        se2 = var_in / m + var_out / rest
        if se2 <= 0:
            welch = 0.0 if mean_in > mean_out else 1.0
        else:
            dof = se2**2 / ((var_in / m) ** 2 / (m - 1) + (var_out / rest) ** 2 / (rest - 1))
            welch = float(stats.t.sf((mean_in - mean_out) / np.sqrt(se2), dof))
        rank_var = m * rest / 12.0 * self.tie_factor
        if rank_var <= 0:
            return welch
        # +0.5: the continuity correction, as scipy's mannwhitneyu applies it.
        z = (float(self.ranks[mask].sum()) - m * (self.n + 1) / 2.0 - 0.5) / np.sqrt(rank_var)
        return max(welch, float(special.ndtr(-z)))


def confidence_p_values(size: np.ndarray, errors: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """One-sided p-values: does each slice err more often than the model itself expects there?

    A slice's errors are a sum of Bernoulli draws with the rows' expected error
    rates; the binomial at their mean rate has the heavier upper tail (Hoeffding,
    1956), so its tail is a conservative p-value. As above, p = 1 wherever the
    normal z is 1 or less.
    """
    size = np.asarray(size, dtype=float)
    errors = np.asarray(errors, dtype=float)
    rate = np.clip(np.asarray(expected, dtype=float) / size, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (errors - size * rate) / np.sqrt(size * rate * (1 - rate))
    p = np.ones_like(size)
    hard = np.flatnonzero((z > 1) | ((rate == 0) & (errors > 0)))
    if len(hard):
        p[hard] = stats.binom.sf(errors[hard] - 1, size[hard], rate[hard])
    return p


def poisson_binomial_sf(k: int, p: np.ndarray) -> float:
    """P(X >= k) for X a sum of independent Bernoulli(p_i): exact, for one slice's errors.

    Blocks of rows are summed by dynamic programming (all blocks at once), and
    the blocks' distributions convolved pairwise by FFT, every pair of a level in
    one batched transform; the tail is good down to about 1e-15, far below any
    threshold it is compared with.
    """
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    if k <= 0:
        return 1.0
    if k > len(p):
        return 0.0
    block = 64
    padded = np.zeros(-(-len(p) // block) * block)
    padded[: len(p)] = p
    q = padded.reshape(-1, block)
    pmf = np.zeros((len(q), block + 1))
    pmf[:, 0] = 1.0
    for i in range(block):
        pmf[:, 1 : i + 2] = pmf[:, 1 : i + 2] * (1 - q[:, i : i + 1]) + pmf[:, : i + 1] * q[:, i : i + 1]
        pmf[:, 0] *= 1 - q[:, i]
    while len(pmf) > 1:
        if len(pmf) % 2:
            # an odd part out is paired with a sum of nothing (all mass at zero)
            pmf = np.vstack([pmf, np.eye(1, pmf.shape[1])])
        width = 2 * pmf.shape[1] - 1
        size = fft.next_fast_len(width, real=True)
        spectra = fft.rfft(pmf, n=size, axis=1)
        pmf = np.clip(fft.irfft(spectra[0::2] * spectra[1::2], n=size, axis=1)[:, :width], 0.0, None)
    return float(min(1.0, pmf[0][k:].sum()))
