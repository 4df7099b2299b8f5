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
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ExactSums", "KeyCounts", "Moments", "PairedDiffs", "TopRows", "ValueTable"]

# 2**-1074 (the smallest float) times 2**_SHIFT is a whole number: every float is an integer multiple of 2**-_SHIFT.
_SHIFT = 1126
# Rows summed in one go: 2**25 halves of at most 2**27 sum below 2**53, exactly, as floats.
_CHUNK = 1 << 25
# Up to this many distinct rows of values, resamples and moments are computed from the table of distinct rows.
MAX_DISTINCT = 2_000


def _exact(values: np.ndarray) -> int:
    """The sum of ``values`` exactly, in units of 2**-_SHIFT."""
    values = values[values != 0]
    if len(values) == 0:
        return 0
    whole = values.astype(np.int64)
    if len(values) < _CHUNK and np.abs(values).max() < 2**31 and (whole == values).all():
        return int(whole.sum()) << _SHIFT  # whole numbers (counts, integer costs): summed as integers
    total = 0
    for start in range(0, len(values), _CHUNK):
        chunk = values[start:start + _CHUNK]
        mant, exp = np.frexp(chunk)  # chunk = mant * 2**exp, 0.5 <= |mant| < 1
        whole = np.ldexp(mant, 53).astype(np.int64)  # exact: |whole| < 2**53
        hi, lo = whole >> 26, whole & ((1 << 26) - 1)
        # Binned by exponent; within a chunk the bins' float sums of these 27-bit
        # halves stay below 2**53, so they are exact.
        low = int(exp.min())
        his = np.bincount(exp - low, weights=hi)
        los = np.bincount(exp - low, weights=lo)
        for e in np.flatnonzero((his != 0) | (los != 0)).tolist():
            total += ((int(his[e]) << 26) + int(los[e])) << (e + low - 53 + _SHIFT)
    return total


class ExactSums:
    """``size`` sums of floats, kept as exact integers (multiples of 2**-1126) and read correctly rounded."""

    def __init__(self, size: int) -> None:
        self.ints = [0] * size

    def add(self, values: np.ndarray, bucket: int = 0) -> None:
        """Add the sum of ``values`` (1-D) to ``bucket``, or of each column of a 2-D
        ``values`` to buckets 0..m-1."""
        values = np.asarray(values, dtype=float)
        if values.ndim == 2:
            for j in range(values.shape[1]):
                self.ints[j] += _exact(values[:, j])
        else:
            self.ints[bucket] += _exact(values)

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


def _key_order(keys: Sequence[np.ndarray]) -> np.ndarray:
    """``np.lexsort`` by ``keys`` (the first key first), faster where the first key has few ties:
    sorted by it alone, then only the rows that tie on it sorted by all keys."""
    order = np.argsort(keys[0])
    if len(keys) == 1:
        return order
    first = keys[0][order]
    tied = np.zeros(len(order), dtype=bool)
    same = first[1:] == first[:-1]
    tied[1:] |= same
    tied[:-1] |= same
    where = np.flatnonzero(tied)
    if len(where):
        rows = order[where]
        order[where] = rows[np.lexsort([k[rows] for k in reversed(keys)])]
    return order


class KeyCounts:
    """Rows counted per distinct tuple of key columns, sorted by the keys (the first key
    first): a mergeable sparse histogram. A per-row weight is a key too, so that what
    is summed later is a count times a weight in one fixed order, however the rows were split."""

    def __init__(self, width: int) -> None:
        self.keys: tuple[np.ndarray, ...] = tuple(np.zeros(0) for _ in range(width))
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, keys: Sequence[np.ndarray], counts: np.ndarray | None = None) -> None:
        n = len(keys[0])
        if n == 0:
            return
        counts = np.ones(n, dtype=np.int64) if counts is None else counts
        if len(self.counts) == 0:  # the keys keep their own types (integer codes stay integers)
            merged = tuple(np.asarray(b) for b in keys)
        else:
            merged = tuple(np.concatenate([a, b]) for a, b in zip(self.keys, keys))
        counts = np.concatenate([self.counts, counts])
        order = _key_order(merged)
        merged = tuple(k[order] for k in merged)
        new = np.zeros(len(counts), dtype=bool)
        new[0] = True
        for k in merged:
            new[1:] |= k[1:] != k[:-1]
        starts = np.flatnonzero(new)
        self.keys = tuple(k[starts] for k in merged)
        self.counts = np.add.reduceat(counts[order], starts)

    def merge(self, other: KeyCounts) -> KeyCounts:
        self.add(other.keys, other.counts)
        return self
