"""Mergeable pieces the cost measurements are built of, each with ``add``
(rows of one partition), ``merge`` and a final reading.

Float sums are kept exact (``ExactSums``), so a total does not depend on the
order in which partitions are added: a sum over ten partitions is the same
float as the sum over one. Values that repeat (the cost of a row under fixed
costs takes a handful of values) are also counted in a table of distinct
values (``ValueTable``), which is what the bootstrap and the group tests
read; per-row costs overflow that table and fall back to the exact sums.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ExactSums", "Moments", "PairedDiffs", "TopRows", "ValueTable", "sparse_add"]

# 2**-1074 (the smallest float) times 2**_SHIFT is a whole number: every float is an integer multiple of 2**-_SHIFT.
_SHIFT = 1126
# Rows summed in one go: 2**25 halves of at most 2**27 sum below 2**53, exactly, as floats.
_CHUNK = 1 << 25
# Up to this many distinct rows of values, resamples and moments are computed from the table of distinct rows.
MAX_DISTINCT = 2_000


class ExactSums:
    """``size`` sums of floats, kept as exact integers (multiples of 2**-1126) and read correctly rounded."""

    def __init__(self, size: int) -> None:
        self.ints = [0] * size

    def add(self, values: np.ndarray, buckets: np.ndarray | None = None) -> None:
        """Add ``values`` (1-D) into ``buckets`` (same length; None: bucket 0), or a
        2-D ``values`` column by column into buckets 0..m-1."""
        values = np.asarray(values, dtype=float)
        if values.ndim == 2:
            n, m = values.shape
            buckets = np.tile(np.arange(m), n)
            values = values.ravel()
        elif buckets is None:
            buckets = np.zeros(len(values), dtype=np.int64)
        keep = values != 0
        values, buckets = values[keep], np.asarray(buckets, dtype=np.int64)[keep]
        if len(values) == 0:
            return
        for start in range(0, len(values), _CHUNK):
            self._add(values[start:start + _CHUNK], buckets[start:start + _CHUNK])

    def _add(self, values: np.ndarray, buckets: np.ndarray) -> None:
        mant, exp = np.frexp(values)  # values = mant * 2**exp, 0.5 <= |mant| < 1
        whole = np.ldexp(mant, 53).astype(np.int64)  # exact: |whole| < 2**53
        hi, lo = whole >> 26, whole & ((1 << 26) - 1)
        # Bins by (bucket, exponent); within a chunk the bins' float sums of these
        # 27-bit halves stay below 2**53, so they are exact.
        low_exp = int(exp.min())
        span = int(exp.max()) - low_exp + 1
        key = buckets * span + (exp - low_exp)
        size = (int(buckets.max()) + 1) * span
        his = np.bincount(key, weights=hi, minlength=size)
        los = np.bincount(key, weights=lo, minlength=size)
        for k in np.flatnonzero((his != 0) | (los != 0)).tolist():
            bucket, e = divmod(k, span)
            self.ints[bucket] += ((int(his[k]) << 26) + int(los[k])) << (e + low_exp - 53 + _SHIFT)

    def merge(self, other: ExactSums) -> ExactSums:
        self.ints = [a + b for a, b in zip(self.ints, other.ints)]
        return self

    def value(self, bucket: int = 0) -> float:
        return self.ints[bucket] / (1 << _SHIFT)  # int / int is correctly rounded

    def values(self) -> list[float]:
        return [self.value(i) for i in range(len(self.ints))]


class ValueTable:
    """Distinct rows of values with their counts, sorted, while there are at most ``limit`` of them (else None)."""

    def __init__(self, width: int, limit: int = MAX_DISTINCT) -> None:
        self.limit = limit
        self.rows: np.ndarray | None = np.zeros((0, width))
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, values: np.ndarray) -> None:
        if self.rows is None or len(values) == 0:
            return
        values = np.asarray(values, dtype=float).reshape(len(values), -1)
        # Hashing, column by column: a column of more distinct values than the limit
        # (per-row costs) overflows at once, without sorting anything.
        codes = np.zeros(len(values), dtype=np.int64)
        for j in range(values.shape[1]):
            column, uniques = pd.factorize(values[:, j])
            codes, seen = pd.factorize(codes * len(uniques) + column)
            if len(uniques) > self.limit or len(seen) > self.limit:
                self.rows = None
                return
        counts = np.bincount(codes)
        present = np.flatnonzero(~pd.Series(codes).duplicated().to_numpy())  # each code's first row, in code order
        self._combine(values[present], counts)

    def _combine(self, rows: np.ndarray, counts: np.ndarray) -> None:
        assert self.rows is not None
        merged, inverse = np.unique(np.concatenate([self.rows, rows]), axis=0, return_inverse=True)
        if len(merged) > self.limit:
            self.rows = None
            return
        total = np.zeros(len(merged), dtype=np.int64)
        np.add.at(total, inverse.ravel(), np.concatenate([self.counts, counts]))
        self.rows, self.counts = merged, total

    def merge(self, other: ValueTable) -> ValueTable:
        if other.rows is None:
            self.rows = None
        elif self.rows is not None:
            self._combine(other.rows, other.counts)
        return self


def _fraction_moments(rows: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and sample standard deviation of each column of a table of distinct rows."""
    n = int(counts.sum())
    means, stds = [], []
    for j in range(rows.shape[1]):
        values = [Fraction(float(v)) for v in rows[:, j]]
        mean = sum((c * v for c, v in zip(counts.tolist(), values)), Fraction(0)) / n
        var = sum((c * (v - mean) ** 2 for c, v in zip(counts.tolist(), values)), Fraction(0)) / (n - 1) if n > 1 else 0
        means.append(float(mean))
        stds.append(float(np.sqrt(float(var))))
    return np.asarray(means), np.asarray(stds)


class Moments:
    """Count, sums and sums of squares of rows of ``width`` values: mean and standard deviation, exact."""

    def __init__(self, width: int) -> None:
        self.n = 0
        self.table = ValueTable(width)
        self.s1, self.s2 = ExactSums(width), ExactSums(width)

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=float).reshape(len(values), len(self.s1.ints))
        self.n += len(values)
        self.table.add(values)
        self.s1.add(values)
        self.s2.add(values * values)

    def merge(self, other: Moments) -> Moments:
        self.n += other.n
        self.table.merge(other.table)
        self.s1.merge(other.s1)
        self.s2.merge(other.s2)
        return self

    def total(self) -> np.ndarray:
        return np.asarray(self.s1.values())

    def minus(self, part: Moments) -> Moments:
        """The moments of the rows of ``self`` that are not in ``part`` (a subset of them), exactly."""
        out = Moments(len(self.s1.ints))
        out.n = self.n - part.n
        out.s1.ints = [a - b for a, b in zip(self.s1.ints, part.s1.ints)]
        out.s2.ints = [a - b for a, b in zip(self.s2.ints, part.s2.ints)]
        if self.table.rows is None or part.table.rows is None:
            out.table.rows = None
            return out
        taken = {tuple(r): c for r, c in zip(part.table.rows.tolist(), part.table.counts.tolist())}
        counts = np.array([c - taken.get(tuple(r), 0) for r, c in zip(self.table.rows.tolist(),
                                                                         self.table.counts.tolist())], dtype=np.int64)
        keep = counts > 0
        out.table.rows, out.table.counts = self.table.rows[keep], counts[keep]
        return out

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        if self.table.rows is not None and self.n:
            return _fraction_moments(self.table.rows, self.table.counts)
        n = max(self.n, 1)
        s1, s2 = np.asarray(self.s1.values()), np.asarray(self.s2.values())
        var = np.maximum(s2 - s1 * s1 / n, 0.0) / max(n - 1, 1)
        return s1 / n, np.sqrt(var)


class PairedDiffs(Moments):
    """Per-row differences of two rules' costs (one column per comparison), for paired intervals.

    Besides the moments, the rows themselves are kept in row order while there
    are at most ``max_rows`` of them: the bootstrap resamples those rows, the
    same ones however the audit rows were partitioned.
    """

    def __init__(self, width: int, max_rows: int) -> None:
        super().__init__(width)
        self.max_rows = max_rows
        self.kept: list[tuple[np.ndarray, np.ndarray]] | None = []

    def add_rows(self, rows: np.ndarray, values: np.ndarray) -> None:
        self.add(values)
        if self.kept is not None:
            self.kept.append((np.asarray(rows), np.asarray(values, dtype=float).reshape(len(rows), len(self.s1.ints))))
            if self.n > self.max_rows:
                self.kept = None

    def merge(self, other: PairedDiffs) -> PairedDiffs:  # type: ignore[override]
        super().merge(other)
        self.kept = None if self.kept is None or other.kept is None or self.n > self.max_rows else self.kept + other.kept
        return self

    def rows(self) -> np.ndarray | None:
        """Every row's differences in row order, or None beyond ``max_rows`` rows."""
        if self.kept is None:
            return None
        width = len(self.s1.ints)
        if not self.kept:
            return np.zeros((0, width))
        positions = np.concatenate([p for p, _ in self.kept])
        values = np.concatenate([v for _, v in self.kept])
        return values[np.argsort(positions, kind="stable")]


class TopRows:
    """The ``k`` rows of largest positive ``key`` (ties: the earlier row), with their values."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.key = np.zeros(0)
        self.rows = np.zeros(0, dtype=np.int64)
        self.items: list[dict[str, Any]] = []

    def add(self, key: np.ndarray, rows: np.ndarray, items: list[dict[str, Any]] | None = None,
            columns: dict[str, np.ndarray] | None = None, labels: Any = None) -> None:
        """Offer rows: ``columns`` (per-row arrays) and ``labels`` (their index labels) make the items lazily."""
        if items is None:
            keep = np.flatnonzero(key > 0)
            keep = keep[np.lexsort((rows[keep], -key[keep]))][: self.k]
            assert columns is not None and labels is not None
            items = [{"row": labels[i], **{c: v[i] for c, v in columns.items()}} for i in keep]
            key, rows = key[keep], rows[keep]
        all_key = np.concatenate([self.key, key])
        all_rows = np.concatenate([self.rows, rows])
        all_items = self.items + list(items)
        order = np.lexsort((all_rows, -all_key))[: self.k]
        self.key, self.rows = all_key[order], all_rows[order]
        self.items = [all_items[i] for i in order]

    def merge(self, other: TopRows) -> TopRows:
        self.add(other.key, other.rows, other.items)
        return self


def sparse_add(
    keys: tuple[np.ndarray, ...], counts: np.ndarray, weights: np.ndarray | None
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray | None]:
    """Rows with equal ``keys`` (a tuple of columns) summed into one, sorted by the keys
    (the first key last in precedence, as ``np.lexsort``): counts per distinct key."""
    if len(counts) == 0:
        return keys, counts, weights
    order = np.lexsort(keys)
    keys = tuple(k[order] for k in keys)
    new = np.zeros(len(counts), dtype=bool)
    new[0] = True
    for k in keys:
        new[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(new)
    summed = np.add.reduceat(counts[order], starts)
    w = None if weights is None else np.add.reduceat(weights[order], starts)
    return tuple(k[starts] for k in keys), summed, w
