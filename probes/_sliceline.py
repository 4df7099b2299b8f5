"""Discovered slices: a SliceLine search over conjunctions of conditions.

SliceLine (Sagadeeva & Boehm, SIGMOD 2021) scores a slice S of a data set
with n rows and mean error e by

    score(S) = a * (mean error in S / e - 1) - (1 - a) * (n / |S| - 1)

(more error is worse, smaller slices are discounted), and finds the exact
top-k slices by pruning on minimum support and on an upper bound of the score
that every refinement of a slice can still reach.

Here every column is first reduced to small integer codes (categories, numeric
quantile bins, null), and every basic condition (``color == 'red'``,
``age >= 52``, ``17 <= age < 23``, ``income is null``) is a 0/1 row over its
column's codes. The rows of any conjunction over a set of columns then come
from a single ``bincount`` of the combined codes: the counts and error sums
of every code combination (a table of at most a few thousand cells), projected
onto every combination of conditions by small matrix products. Memory is the
codes plus one row-length array at a time, never a one-hot matrix of rows by
conditions; time is one pass over the rows per column pair or triple that the
score bound cannot rule out.

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

Besides the top-k by score, the search keeps the slices with the most
evidence of being a finding: an error at least ``min_error_ratio`` times the
overall (and, with probabilities, times what the model expects there), every
condition of which matters, ranked by the larger of their two weighted
p-values. SliceLine's score is no filter for these: it discounts a slice of
5% of the rows by more than its error doubling gains, so a small slice that
fails badly can score below zero.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from scipy import fft, special, stats

from auditkit import Condition

__all__ = [
    "Column",
    "Found",
    "Search",
    "confidence_p_values",
    "encode",
    "p_values",
    "poisson_binomial_sf",
    "score",
    "search",
]

_SEARCHABLE = ("numeric", "categorical", "boolean")
# Cut points per numeric column for moving a condition's cut after the search.
_FINE_CUTS = 512
# A condition "matters" to a slice, for the list of most significant candidates, when the
# slice's error beats the rows the condition shuts out by this many standard errors.
_NEEDED_Z = 3.0
# How much the search does between looks at its deadline: cells of pair bounds at once,
# and pairs added to the graph that triples are made from.
_CELLS_PER_STEP = 1 << 18
_PAIRS_PER_CHECK = 256
# The most cells of a table of slice bounds by rows and errors (32 MB).
_TABLE_CELLS = 1 << 22


# -- columns as codes and conditions --------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column reduced to codes, with the basic conditions over those codes."""

    name: str
    codes: np.ndarray           # code of every row, 0 .. n_codes - 1
    n_codes: int
    conditions: tuple[Condition, ...]
    member: np.ndarray          # (conditions x codes): 1.0 where the condition holds for the code
    # Numeric columns only: finer cut points (data values) and, per row, how many of them
    # are <= its value (len(cuts) + 1 when missing), for moving a cut after the search.
    cuts: np.ndarray | None = None
    fine: np.ndarray | None = None
    integer: bool = False

    def rows(self, condition: int) -> np.ndarray:
        """The boolean row mask of one condition."""
        return self.member[condition].astype(bool)[self.codes]


def encode(
    frame: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    bins: int,
    max_levels: int,
    min_rows: int,
) -> list[Column]:
    """Codes and conditions for every searchable column; conditions that hold
    for fewer than ``min_rows`` rows are dropped (no slice inside them can qualify)."""
    out = []
    for name in frame.columns:
        kind = kinds.get(name)
        if kind not in _SEARCHABLE:
            continue  # text, identifiers and dates name single rows, not populations
        series = frame[name]
        if kind == "numeric" and ptypes.is_numeric_dtype(series.dtype) and not ptypes.is_bool_dtype(series.dtype):
            column = _numeric(series, str(name), bins=bins, min_rows=min_rows)
        else:
            column = _categorical(series, str(name), max_levels=max_levels, min_rows=min_rows)
        if column is not None:
            out.append(column)
    return out


def _categorical(series: pd.Series, name: str, *, max_levels: int, min_rows: int) -> Column | None:
    cat = pd.Categorical(series)
    raw = np.asarray(cat.codes, dtype=np.int64)  # -1 is missing
    counts = np.bincount(raw + 1, minlength=len(cat.categories) + 1)
    levels = counts[1:]
    order = np.argsort(-levels, kind="stable")[:max_levels]
    kept = [int(i) for i in order if levels[i] >= min_rows]
    # codes: kept levels 0..L-1, every other level L, missing L+1
    lookup = np.full(len(cat.categories) + 1, len(kept), dtype=np.int32)
    lookup[0] = len(kept) + 1
    lookup[np.asarray(kept, dtype=np.intp) + 1] = np.arange(len(kept), dtype=np.int32)
    n_codes = len(kept) + 2
    conditions = [Condition(name, "==", _plain(cat.categories[i])) for i in kept]
    member = [np.eye(n_codes)[i] for i in range(len(kept))]
    if counts[0] >= min_rows:
        conditions.append(Condition(name, "is_null"))
        member.append(np.eye(n_codes)[len(kept) + 1])
    return _column(name, lookup[raw + 1], n_codes, conditions, member, min_rows)


def _numeric(series: pd.Series, name: str, *, bins: int, min_rows: int) -> Column | None:
    x = series.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(x)
    values, counts = np.unique(x[finite], return_counts=True)
    if values.size == 0:
        return None
    as_int = ptypes.is_integer_dtype(series.dtype)
    # Quantile edges taken from the data itself (numpy's "lower" quantiles), so a
    # condition reads "age >= 37", not 36.5.
    cumulative = np.cumsum(counts)

    def quantiles(k: int) -> np.ndarray:
        if values.size <= k:
            return values[1:]
        at = np.floor(np.linspace(0, 1, k + 1)[1:-1] * (cumulative[-1] - 1))
        edges = np.unique(values[np.searchsorted(cumulative, at, side="right")])
        return edges[edges > values[0]]

    edges = quantiles(bins)
    # Few distinct values: each its own code, with "==" for each besides "<" and ">=".
    exact = values if values.size <= bins else None
    cuts = quantiles(_FINE_CUTS)
    fine = np.where(finite, np.searchsorted(cuts, np.where(finite, x, 0.0), side="right"), len(cuts) + 1)
    n_bins = len(edges) + 1
    codes = np.where(finite, np.searchsorted(edges, np.where(finite, x, 0.0), side="right"), n_bins)
    n_codes = n_bins + 1
    e = [_number(v, as_int) for v in edges]
    conditions: list[Condition] = []
    member: list[np.ndarray] = []
    below = np.arange(n_codes) < np.arange(1, n_bins)[:, None]  # row i: codes below edge i+1
    nonnull = np.arange(n_codes) < n_bins
    for i in range(1, n_bins):
        conditions.append(Condition(name, "<", e[i - 1]))
        member.append(below[i - 1].astype(float))
        conditions.append(Condition(name, ">=", e[i - 1]))
        member.append((nonnull & ~below[i - 1]).astype(float))
    for i in range(n_bins):
        if exact is not None:
            conditions.append(Condition(name, "==", _number(exact[i], as_int)))
        elif 0 < i < n_bins - 1:
            conditions.append(Condition(name, "between", (e[i - 1], e[i])))
        else:
            continue  # the first and last bins are "<" and ">=" above
        member.append(np.eye(n_codes)[i])
    if (~finite).sum() >= min_rows:
        conditions.append(Condition(name, "is_null"))
        member.append(np.eye(n_codes)[n_bins])
    column = _column(name, codes.astype(np.int32), n_codes, conditions, member, min_rows)
    if column is None:
        return None
    return replace(column, cuts=cuts, fine=fine.astype(np.int16), integer=as_int)


def _column(
    name: str, codes: np.ndarray, n_codes: int, conditions: list[Condition], member: list[np.ndarray], min_rows: int
) -> Column | None:
    if not conditions:
        return None
    m = np.vstack(member)
    counts = np.bincount(codes, minlength=n_codes)
    m[:, counts == 0] = 0.0  # empty codes change nothing; two conditions differing only there are one
    support = m @ counts
    keep, seen = [], set()
    for i, row in enumerate(m):
        key = row.tobytes()
        if support[i] >= min_rows and support[i] < len(codes) and key not in seen:
            seen.add(key)
            keep.append(i)
    if not keep:
        return None
    return Column(name, codes, n_codes, tuple(conditions[i] for i in keep), m[keep])


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _number(value: Any, as_int: bool) -> Any:
    v = float(value)
    return int(v) if as_int and v.is_integer() else v


# -- the search -------------------------------------------------------------------


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


def search(
    columns: Sequence[Column],
    error: np.ndarray,
    *,
    zero_one: bool,
    max_conditions: int,
    min_rows: int,
    error_weight: float,
    k: int,
    deadline_s: float,
    expected: np.ndarray | None = None,
    min_error_ratio: float = 1.0,
) -> Search:
    """SliceLine's exact top-k over conjunctions of up to ``max_conditions`` conditions
    on distinct columns, for a per-row ``error`` (0/1 when ``zero_one``).

    ``expected`` (0/1 errors only) is each row's error probability by the model's
    own account; every slice tested is then also tested against it. The ``k``
    likeliest findings (``Search.most_significant``) err at least
    ``min_error_ratio`` times the overall error, and times what ``expected`` says.
    """
    lattice = _Lattice(columns, error, zero_one, min_rows, error_weight, k, deadline_s, expected, min_error_ratio)
    return lattice.run(max_conditions)


class _Lattice:
    def __init__(
        self,
        columns: Sequence[Column],
        error: np.ndarray,
        zero_one: bool,
        min_rows: int,
        error_weight: float,
        k: int,
        deadline_s: float,
        expected: np.ndarray | None,
        min_error_ratio: float = 1.0,
    ) -> None:
        self.columns = list(columns)
        self.expected = None if expected is None or not zero_one else np.asarray(expected, dtype=float)
        self.error = np.asarray(error, dtype=float)
        self.n = len(self.error)
        self.total = float(self.error.sum())
        self.mean = self.total / self.n
        self.var = float(self.error.var())
        self.max_error = float(self.error.max()) if self.n else 0.0
        self.zero_one = zero_one
        self.sigma = min_rows
        self.alpha = error_weight
        self.k = k
        self.min_ratio = float(min_error_ratio)
        self.deadline = time.perf_counter() + deadline_s
        self.complete = True
        self.tables = 0
        # Per number of conditions (1, 2, 3): slices tested and the heap of the k likeliest
        # findings; weighted only at the end, once every count is known.
        self.tested = [0, 0, 0]
        self.heap: list[tuple[float, int, Found]] = []  # min-heap of the best k by score
        self.significant: list[list[tuple[float, float, int, Found]]] = [[], [], []]  # min-heaps by evidence
        self.tick = 0
        if zero_one:
            # Errors are 0/1: the error sums need only the rows in error.
            self.err_rows = np.flatnonzero(self.error)
            self.err_codes = [c.codes[self.err_rows] for c in self.columns]

    # the score and its bound ---------------------------------------------------

    def score(self, size: np.ndarray, errors: np.ndarray) -> np.ndarray:
        return score(size, errors, n=self.n, mean=self.mean, error_weight=self.alpha)

    def bound(self, size: np.ndarray, errors: np.ndarray) -> np.ndarray:
        """The best score any slice inside one with this many rows and this error sum can reach."""
        sigma, sm = float(self.sigma), self.max_error
        best = np.full(np.shape(size), -np.inf)
        ok = size >= sigma
        with np.errstate(divide="ignore", invalid="ignore"):
            for s in (np.full(np.shape(size), sigma), errors / sm, size):
                s = np.clip(s, sigma, np.maximum(size, sigma))
                err = np.minimum(errors, s * sm)
                val = self.alpha * (err / (s * self.mean) - 1) - (1 - self.alpha) * (self.n / s - 1)
                best = np.fmax(best, val)
        return np.where(ok, best, -np.inf)

    @property
    def threshold(self) -> float:
        """A slice must beat this to enter the top-k: score above 0, and above the k-th best."""
        return max(0.0, self.heap[0][0]) if len(self.heap) >= self.k else 0.0

    # counting -----------------------------------------------------------------

    def counts(self, idx: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        cols = [self.columns[i] for i in idx]
        shape = tuple(c.n_codes for c in cols)
        size = int(np.prod(shape))
        flat = _combine([c.codes for c in cols], shape)
        n_rows = np.bincount(flat, minlength=size).astype(float)
        if self.zero_one:
            err = np.bincount(_combine([self.err_codes[i] for i in idx], shape), minlength=size).astype(float)
        else:
            err = np.bincount(flat, weights=self.error, minlength=size)
        exp = None if self.expected is None else np.bincount(flat, weights=self.expected, minlength=size)
        self.tables += 1
        return n_rows.reshape(shape), err.reshape(shape), None if exp is None else exp.reshape(shape)

    def project(self, idx: tuple[int, ...], table: np.ndarray) -> np.ndarray:
        """Counts per combination of conditions, from counts per combination of codes."""
        out = table
        for i in idx:
            # contract the leading code axis with the conditions, which go last
            out = np.tensordot(out, self.columns[i].member, axes=(0, 1))
        return out

    # judging one table of slices ------------------------------------------------------

    def evaluate(
        self,
        idx: tuple[int, ...],
        size: np.ndarray,
        errors: np.ndarray,
        expected: np.ndarray | None = None,
        minimal: np.ndarray | None = None,
    ) -> None:
        """Test every slice of one table, keep the best by score and the likeliest findings.

        ``minimal`` marks the slices every condition of which matters (see ``needed``);
        only those compete for the likeliest findings, so that a slice trimmed of a
        few rows by a chance condition does not crowd out a different one.
        """
        valid = (size >= self.sigma) & (size < self.n)
        if not valid.any():
            return
        level = len(idx) - 1
        flat = np.flatnonzero(valid)
        s, e = size.ravel()[flat], errors.ravel()[flat]
        p = self.p_values(s, e)
        self.tested[level] += len(p)
        cp = np.ones_like(p)
        large = e >= self.min_ratio * self.mean * s
        evidence = p
        if expected is not None:
            exp = expected.ravel()[flat]
            cp = confidence_p_values(s, e, exp)
            large &= e >= self.min_ratio * exp
            evidence = np.maximum(p, cp)  # a finding needs both tests
        sc = self.score(s, e)
        better = np.flatnonzero(sc > self.threshold)
        if len(better) > self.k:
            better = better[np.argpartition(-sc[better], self.k - 1)[: self.k]]
        for j in better:
            self.push(self.found(idx, size.shape, flat[j], s[j], e[j], sc[j], p[j], cp[j]))
        # The likeliest findings, whatever their score: large enough to be one, ranked by the
        # evidence a finding needs. A small slice that fails badly may score below zero.
        worth = np.flatnonzero(large & (True if minimal is None else minimal.ravel()[flat]))
        if len(worth) > self.k:
            worth = worth[np.lexsort((-sc[worth], evidence[worth]))[: self.k]]
        heap = self.significant[level]
        for j in worth:
            if len(heap) < self.k or (-evidence[j], sc[j]) > heap[0][:2]:
                f = self.found(idx, size.shape, flat[j], s[j], e[j], sc[j], p[j], cp[j])
                self.push_significant(heap, float(evidence[j]), f)

    @staticmethod
    def found(
        idx: tuple[int, ...], shape: tuple[int, ...], cell: int, s: float, e: float, sc: float, p: float, cp: float
    ) -> Found:
        conds = tuple(int(c) for c in np.unravel_index(cell, shape))
        return Found(tuple(idx), conds, int(s), float(e), float(sc), float(p), float(cp))

    def push(self, found: Found) -> None:
        if found.score <= self.threshold:
            return
        self.tick += 1
        item = (found.score, -self.tick, found)  # ties: the slice found first stays
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, item)
        else:
            heapq.heapreplace(self.heap, item)

    def push_significant(self, heap: list[tuple[float, float, int, Found]], evidence: float, found: Found) -> None:
        self.tick += 1
        item = (-evidence, found.score, -self.tick, found)  # the root is the least significant
        if len(heap) < self.k:
            heapq.heappush(heap, item)
        else:
            heapq.heapreplace(heap, item)

    def needed(
        self, size: np.ndarray, errors: np.ndarray, parent_size: np.ndarray, parent_errors: np.ndarray
    ) -> np.ndarray:
        """How strongly the last condition matters: the z of the slice's error against
        the rows its parent (the slice without that condition) has and it does not."""
        out_n, out_e = parent_size - size, parent_errors - errors
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.zero_one:
                pooled = parent_errors / parent_size
                var = pooled * (1 - pooled)
            else:
                var = self.var
            z = (errors / size - out_e / out_n) / np.sqrt(var * (1 / size + 1 / out_n))
        return np.where(out_n > 0, np.nan_to_num(z, nan=-np.inf), -np.inf)

    def p_values(self, size: np.ndarray, errors: np.ndarray) -> np.ndarray:
        return p_values(size, errors, n=self.n, total=self.total, var=self.var, zero_one=self.zero_one)

    # the lattice ---------------------------------------------------------------------

    def run(self, max_conditions: int) -> Search:
        if self.mean > 0 and self.columns:
            one = self.level_one()
            if max_conditions >= 2:
                two = self.level_two(one)
                if max_conditions >= 3:
                    self.level_three(two)
        top = tuple(f for _, _, f in sorted(self.heap, key=lambda t: (-t[0], -t[1])))
        counts = tuple(self.tested)
        unweighted = Search((), (), sum(counts), 0, True, self.mean, self.sigma, tested_by_conditions=counts)
        w = [unweighted.weight(c + 1) for c in range(3)]
        # The likeliest findings of every number of conditions, ranked together by weighted evidence.
        candidates = [(-t[0] / w[c], -t[1], -t[2], t[3]) for c in range(3) for t in self.significant[c]]
        significant = tuple(t[3] for t in sorted(candidates, key=lambda t: t[:3])[: self.k])
        return Search(
            top=top,
            most_significant=significant,
            tested=sum(counts),
            tables=self.tables,
            complete=self.complete,
            mean_error=self.mean,
            min_rows=self.sigma,
            tested_by_conditions=counts,
        )

    def level_one(self) -> list[tuple[np.ndarray, np.ndarray]]:
        stats1 = []
        for i, col in enumerate(self.columns):
            n_rows = np.bincount(col.codes, minlength=col.n_codes).astype(float)
            if self.zero_one:
                err = np.bincount(self.err_codes[i], minlength=col.n_codes).astype(float)
            else:
                err = np.bincount(col.codes, weights=self.error, minlength=col.n_codes)
            size, errors = col.member @ n_rows, col.member @ err
            expected = None
            if self.expected is not None:
                expected = col.member @ np.bincount(col.codes, weights=self.expected, minlength=col.n_codes)
            self.evaluate((i,), size, errors, expected)
            stats1.append((size, errors))
        return stats1

    def level_two(self, one: list[tuple[np.ndarray, np.ndarray]]) -> dict[tuple[int, int], tuple]:
        pairs, bounds = self.pair_bounds(one)
        out: dict[tuple[int, int], tuple] = {}
        # Best bound first; ties in the order of itertools.combinations (a stable sort).
        for j in np.argsort(-bounds, kind="stable"):
            if bounds[j] <= self.threshold:
                break  # sorted: no later pair can do better
            if self.out_of_time():
                break
            pair = (int(pairs[j, 0]), int(pairs[j, 1]))
            n_rows, err, exp = self.counts(pair)
            size, errors = self.project(pair, n_rows), self.project(pair, err)
            expected = None if exp is None else self.project(pair, exp)
            (sa, ea), (sb, eb) = one[pair[0]], one[pair[1]]
            minimal = np.minimum(self.needed(size, errors, sb[None, :], eb[None, :]),
                                 self.needed(size, errors, sa[:, None], ea[:, None])) >= _NEEDED_Z
            self.evaluate(pair, size, errors, expected, minimal)
            out[pair] = (size, errors, float(self.bound(size, errors).max()))
        return out

    def pair_bounds(self, one: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """Every column pair that may hold a slice above the current threshold, with the
        bound on its slices (a pair's slices lie inside its columns' slices), in the
        order of ``itertools.combinations``.

        The threshold only rises from here, so a pair bounded at or below it now is
        never counted, and leaving it out changes nothing. Each bound is the one the
        pair alone gets (the same cells, the same arithmetic), worked out a column
        against a block of later ones at a time: a thousand columns make half a
        million pairs. Stops, with the pairs bounded so far, when the time is up.
        """
        if self.out_of_time():
            return np.zeros((0, 2), dtype=np.intp), np.zeros(0)
        floor = self.threshold
        width = max(len(s) for s, _ in one)
        # Counts of 0/1 errors are whole numbers: their cells' bounds can be looked up.
        table = self.bound_table(limit=len(one) * (len(one) - 1) // 2 * width**2) if self.zero_one else None
        if table is None:
            # Conditions padded to one width; a padded cell is too small (-inf rows) to bound anything.
            sizes = np.full((len(one), width), -np.inf)
            errors = np.zeros((len(one), width))
        else:
            # Rows and errors as places in the table: row 0 is the padding, no slice at all.
            sizes = np.zeros((len(one), width), dtype=np.intp)
            errors = np.zeros((len(one), width), dtype=np.intp)
        for i, (s, e) in enumerate(one):
            sizes[i, : len(s)] = s if table is None else s.astype(np.intp) + 1
            errors[i, : len(e)] = e
        if table is not None and _monotone(table):
            # A cell no smaller in rows and errors bounds no lower: only each column's
            # conditions that no other of its conditions covers in both can give the maximum.
            sizes, errors = _frontier(sizes, errors)
            width = sizes.shape[1]
        found_pairs, found_bounds = [np.zeros((0, 2), dtype=np.intp)], [np.zeros(0)]
        step = max(1, _CELLS_PER_STEP // width**2)
        blocks = (
            (a, np.arange(b, min(b + step, len(one)))) for a in range(len(one)) for b in range(a + 1, len(one), step)
        )
        for a, later in blocks:
            if self.out_of_time():
                break
            size = np.minimum(sizes[a][None, :, None], sizes[later, None, :])
            error = np.minimum(errors[a][None, :, None], errors[later, None, :])
            cells = self.bound(size, error) if table is None else table[size, error]
            bound = cells.max(axis=(1, 2))
            keep = bound > floor
            found_pairs.append(np.column_stack([np.full(int(keep.sum()), a), later[keep]]))
            found_bounds.append(bound[keep])
        return np.concatenate(found_pairs), np.concatenate(found_bounds)

    def bound_table(self, *, limit: int) -> np.ndarray | None:
        """For 0/1 errors, ``bound`` of every whole number of rows and of errors, at
        [rows + 1, errors] (row 0: no slice, -inf): the pairs' cells are then looked up,
        not worked out again. None when the table would be larger than ``limit`` cells
        or ``_TABLE_CELLS``, or the counts are not whole numbers."""
        shape = (self.n + 2, int(self.total) + 1)
        if shape[0] * shape[1] > min(limit, _TABLE_CELLS) or self.total != shape[1] - 1:
            return None
        size, errors = np.meshgrid(np.arange(-1.0, self.n + 1), np.arange(float(shape[1])), indexing="ij")
        table = self.bound(size, errors)
        table[0] = -np.inf
        return table

    def level_three(self, two: dict[tuple[int, int], tuple]) -> None:
        for triple, quick in self.triples(two):
            if quick <= self.threshold:
                break
            if self.out_of_time():
                break
            a, b, c = triple
            sab, eab, _ = two[(a, b)]
            sac, eac, _ = two[(a, c)]
            sbc, ebc, _ = two[(b, c)]
            size = np.minimum(np.minimum(sab[:, :, None], sac[:, None, :]), sbc[None, :, :])
            errors = np.minimum(np.minimum(eab[:, :, None], eac[:, None, :]), ebc[None, :, :])
            if self.bound(size, errors).max() <= self.threshold:
                continue
            n_rows, err, exp = self.counts(triple)
            size, errors = self.project(triple, n_rows), self.project(triple, err)
            expected = None if exp is None else self.project(triple, exp)
            needed = [
                self.needed(size, errors, sab[:, :, None], eab[:, :, None]),
                self.needed(size, errors, sac[:, None, :], eac[:, None, :]),
                self.needed(size, errors, sbc[None, :, :], ebc[None, :, :]),
            ]
            self.evaluate(triple, size, errors, expected, np.minimum.reduce(needed) >= _NEEDED_Z)

    def triples(self, two: dict[tuple[int, int], tuple]) -> Iterator[tuple[tuple[int, int, int], float]]:
        """The column triples all three pairs of which were counted, with their quick bound
        (a triple's slices lie inside its pairs' slices: no better than the worst pair's
        bound), best first, ties in the order of ``itertools.combinations``.

        Built from the counted pairs, not from every triple of columns (166 million at a
        thousand columns): the pairs are added best bound first, and each triple is made
        when its last pair comes, with that pair's bound as its own; so triples come out
        best first, without all of them being made, and the search can stop at the
        threshold or the deadline. Pairs bounded at or below the threshold now make no
        triple above it, and are left out.
        """
        floor = self.threshold
        live = sorted(((bound, pair) for pair, (_, _, bound) in two.items() if bound > floor), key=lambda t: -t[0])
        neighbours: dict[int, set[int]] = {}
        start = 0
        while start < len(live):
            bound = live[start][0]
            if bound <= self.threshold:
                return  # the caller stops here too: no later triple can do better
            group: list[tuple[int, int, int]] = []
            end = start
            while end < len(live) and live[end][0] == bound:
                if end % _PAIRS_PER_CHECK == 0 and self.out_of_time():
                    return
                a, b = live[end][1]
                for c in neighbours.setdefault(a, set()) & neighbours.setdefault(b, set()):
                    group.append((c, a, b) if c < a else (a, c, b) if c < b else (a, b, c))
                neighbours[a].add(b)
                neighbours[b].add(a)
                end += 1
            group.sort()  # equal bounds: in the order of itertools.combinations
            for triple in group:
                yield triple, bound
            start = end

    def out_of_time(self) -> bool:
        if time.perf_counter() > self.deadline:
            self.complete = False
        return not self.complete


def _monotone(table: np.ndarray) -> bool:
    """Whether a table of bounds by [rows + 1, errors] never falls as rows or errors grow,
    where the errors are no more than the rows (as in every slice). It should not, the bound
    being the best score inside; floating point may still make it fall by a last digit."""
    rows = np.arange(-1, table.shape[0] - 1)[:, None]
    errors = np.arange(table.shape[1])[None, :]
    more_rows = (table[1:] >= table[:-1]) | (errors > rows[:-1])
    more_errors = (table[:, 1:] >= table[:, :-1]) | (errors[:, 1:] > rows)
    return bool(more_rows.all() and more_errors.all())


def _frontier(sizes: np.ndarray, errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column (row), the conditions no other condition of that column covers in both
    rows and errors, first, padded with 0 (no slice) to the widest column's count."""
    covers = (sizes[:, :, None] >= sizes[:, None, :]) & (errors[:, :, None] >= errors[:, None, :])
    beats = (sizes[:, :, None] > sizes[:, None, :]) | (errors[:, :, None] > errors[:, None, :])
    covered = (covers & beats).any(axis=1) | (sizes == 0)
    order = np.argsort(covered, axis=1, kind="stable")
    width = max(1, int((~covered).sum(axis=1).max()))
    keep = ~np.take_along_axis(covered, order, axis=1)[:, :width]
    pick = order[:, :width]
    return (
        np.where(keep, np.take_along_axis(sizes, pick, axis=1), 0),
        np.where(keep, np.take_along_axis(errors, pick, axis=1), 0),
    )


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


def _combine(codes: Sequence[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """One code per row for a combination of columns (row-major over ``shape``), built in place."""
    flat = codes[0] * np.int32(shape[1])
    flat += codes[1]
    for c, m in zip(codes[2:], shape[2:]):
        flat *= np.int32(m)
        flat += c
    return flat
