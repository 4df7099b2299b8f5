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

Besides the top-k by score, the search keeps the slices with the most
evidence of being a finding: an error at least ``min_error_ratio`` times the
overall (and, with probabilities, times what the model expects there), every
condition of which matters, ranked by the larger of their two weighted
p-values. SliceLine's score is no filter for these: it discounts a slice of
5% of the rows by more than its error doubling gains, so a small slice that
fails badly can score below zero.

The rows' codes are built by ``probes._shared.slice_codes``; a slice's
tests and the correction over all slices tried are in ``probes._shared.slice_stats``.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator, Sequence

import numpy as np

from probes._shared.slice_codes import Column
from probes._shared.slice_stats import Found, Search, confidence_p_values, p_values, score

__all__ = ["Found", "Search", "search"]

# A condition "matters" to a slice, for the list of most significant candidates, when the
# slice's error beats the rows the condition shuts out by this many standard errors.
_NEEDED_Z = 3.0
# How much the search does between looks at its deadline: cells of pair bounds at once,
# and pairs added to the graph that triples are made from.
_CELLS_PER_STEP = 1 << 18
_PAIRS_PER_CHECK = 256
# The most cells of a table of slice bounds by rows and errors (32 MB).
_TABLE_CELLS = 1 << 22


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


def _combine(codes: Sequence[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """One code per row for a combination of columns (row-major over ``shape``), built in place."""
    flat = codes[0] * np.int32(shape[1])
    flat += codes[1]
    for c, m in zip(codes[2:], shape[2:]):
        flat *= np.int32(m)
        flat += c
    return flat
