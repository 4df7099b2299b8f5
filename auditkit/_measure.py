"""Mergeable measurements: what a probe sums over rows, built partition by partition.

A probe that counts (confusion counts per group, histograms on fixed edges,
counts per distinct value, error sums per slice, row hashes) does it through
a small state with three methods, as whylogs' profiles, Dask's
``Aggregation(chunk, agg, finalize)`` and scikit-learn's ``partial_fit`` do::

    class GroupCounts(Measurement):
        def __init__(self, groups): ...
        def update(self, part: Part) -> None: ...      # add one partition's rows
        def merge(self, other: GroupCounts) -> GroupCounts: ...  # combine two states
        def finalize(self) -> dict: ...                # the numbers the judge reads

``AuditContext.measure(factory)`` builds one state per partition, updates each
with its partition and merges them in partition order, exactly as a cluster
would; one partition or a thousand gives the same numbers, and a test holds
every built-in probe to that.

What cannot be summed (refitting models, querying the model again) runs on
one seeded sample of the audit rows, drawn by ``sample_rows``: every row gets
a pseudo-random key from the audit seed and its position, and the sample is
the rows with the smallest keys. The same rows come out however the data is
partitioned (the smallest keys of each partition, merged, are the smallest
keys overall), so the sample is itself a mergeable measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from auditkit._models import Predictions

__all__ = ["Measurement", "Part", "RowSample", "fold", "row_keys", "sample_rows", "split_rows"]

T = TypeVar("T")
M = TypeVar("M", bound="Measurement[Any]")


@dataclass(frozen=True)
class Part:
    """One partition of the audit rows, with everything a measurement reads of them.

    ``rows`` are the rows' positions in the whole audit data (0-based), so a
    measurement can name example rows and draw the shared sample; ``frame``
    holds every column of those rows (read-only: a copy-on-write view);
    ``predictions`` are the model's outputs on them, or None when the model
    could not be queried (a data-only measurement does not need them).
    """

    index: int
    rows: np.ndarray
    frame: pd.DataFrame
    predictions: Predictions | None = None

    def __len__(self) -> int:
        return len(self.rows)


class Measurement(Generic[T]):
    """A mergeable state: ``update`` with partitions, ``merge`` two states, ``finalize``.

    ``merge`` returns the combined state (it may reuse ``self``); it must be
    associative, so that partitions can be combined in any grouping, and the
    result of ``finalize`` must not depend on how the rows were split.
    """

    def update(self, part: Part) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def merge(self: M, other: M) -> M:  # pragma: no cover - abstract
        raise NotImplementedError

    def finalize(self) -> T:  # pragma: no cover - abstract
        raise NotImplementedError


def fold(factory: Callable[[], Measurement[T]], parts: Sequence[Part] | Iterator[Part]) -> T:
    """Build one state per partition, merge them pairwise (as a tree, the way a
    cluster reduces), and finalize. No partition at all is one empty state."""
    states: list[Measurement[T]] = []
    for part in parts:
        state = factory()
        state.update(part)
        states.append(state)
    if not states:
        return factory().finalize()
    while len(states) > 1:
        merged = [states[i].merge(states[i + 1]) for i in range(0, len(states) - 1, 2)]
        if len(states) % 2:
            merged.append(states[-1])
        states = merged
    return states[0].finalize()


def split_rows(n_rows: int, partitions: int) -> list[np.ndarray]:
    """Row positions of ``partitions`` contiguous partitions of about equal size (some may be empty)."""
    partitions = max(1, int(partitions))
    edges = np.linspace(0, n_rows, partitions + 1).round().astype(np.int64)
    return [np.arange(edges[i], edges[i + 1], dtype=np.int64) for i in range(partitions)]


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def row_keys(seed: int, rows: np.ndarray) -> np.ndarray:
    """A pseudo-random key in [0, 1) for each row position, from the seed alone
    (splitmix64 of seed and position): the same row gets the same key in any partition."""
    with np.errstate(over="ignore"):
        z = np.asarray(rows, dtype=np.uint64) * _GOLDEN + np.uint64((int(seed) * 0x632BE59BD9B4E019) % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


class RowSample(Measurement[np.ndarray]):
    """The ``size`` rows with the smallest keys, per stratum when strata are given.

    ``strata`` maps a partition to one label per row (say, the target); each
    stratum then keeps rows in proportion to its share of all rows, at least
    one where it has any, so that a rare class is in the sample.
    """

    def __init__(self, seed: int, size: int, strata: Callable[[Part], np.ndarray] | None = None) -> None:
        self.seed = int(seed)
        self.size = int(size)
        self.strata = strata
        # per stratum: (keys, rows) of at most ``size`` smallest keys, and the stratum's row count
        self.kept: dict[Any, tuple[np.ndarray, np.ndarray]] = {}
        self.counts: dict[Any, int] = {}

    def update(self, part: Part) -> None:
        keys = row_keys(self.seed, part.rows)
        labels = self.strata(part) if self.strata is not None else np.zeros(len(part.rows), dtype=np.int8)
        labels = np.asarray(labels)
        for label in np.unique(labels) if len(labels) else ():
            mask = labels == label
            self._keep(label.item() if hasattr(label, "item") else label, keys[mask], part.rows[mask], int(mask.sum()))

    def _keep(self, label: Any, keys: np.ndarray, rows: np.ndarray, count: int) -> None:
        if label in self.kept:
            old_keys, old_rows = self.kept[label]
            keys, rows = np.concatenate([old_keys, keys]), np.concatenate([old_rows, rows])
        if len(keys) > self.size:
            # Ties broken by row position, so the choice never depends on arrival order.
            order = np.lexsort((rows, keys))[: self.size]
            keys, rows = keys[order], rows[order]
        self.kept[label] = (keys, rows)
        self.counts[label] = self.counts.get(label, 0) + count

    def merge(self, other: RowSample) -> RowSample:
        for label, (keys, rows) in other.kept.items():
            self._keep(label, keys, rows, other.counts[label])
        return self

    def finalize(self) -> np.ndarray:
        total = sum(self.counts.values())
        if total <= self.size:
            chosen = [rows for _, rows in self.kept.values()]
        elif self.strata is None:
            chosen = [rows for _, rows in self.kept.values()]
        else:
            chosen = []
            for label in sorted(self.kept, key=repr):
                keys, rows = self.kept[label]
                share = max(1, int(round(self.size * self.counts[label] / total)))
                order = np.lexsort((rows, keys))[:share]
                chosen.append(rows[order])
        out = np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)
        return np.sort(out.astype(np.int64))


def sample_rows(
    parts: Sequence[Part], seed: int, size: int, strata: Callable[[Part], np.ndarray] | None = None
) -> np.ndarray:
    """Positions of the shared seeded sample of at most ``size`` rows (all rows when fewer), sorted."""
    return fold(lambda: RowSample(seed, size, strata), parts)
