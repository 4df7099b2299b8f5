"""What crosses the split, counted over every audit row: rows and entities shared
by reference and audit data, contradicting duplicates, values from after the
prediction time.

Each is a mergeable measurement (``update`` per partition, ``merge``,
``finalize``): row hashes, counts per (row hash, label), distinct ids with the
first row they appear in, counts of late values, the earliest audit time. The
reference (training) data is an in-memory frame, hashed once. None of it depends
on the model or on single-feature scores; ``judge.py`` turns the results into
findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from auditkit import Measurement, Part
from probes.target_leakage.counting import EXAMPLES, Examples, examples_of, first_examples, labels
from probes.target_leakage.power import as_numbers, parse_dates

__all__ = [
    "Conflicts",
    "Contamination",
    "Duplicates",
    "EntityIds",
    "EntityOverlap",
    "FutureValues",
    "ReferenceAfterAudit",
    "ReferenceKeys",
    "TimeCounts",
    "row_keys",
]

# Significant digits two values must share to count as "near-exact" duplicates.
_NEAR_DIGITS = 4


def row_keys(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Two 64-bit hashes per row: of its exact values, and of its values with numbers
    rounded to 4 significant digits (near-exact duplicates). Equal for equal values
    whatever the dtypes: an integer column in one frame is float in the other once
    it holds a NaN. Text is hashed once and shared by both keys."""
    exact = np.zeros(len(frame), dtype=np.uint64)
    near = np.zeros(len(frame), dtype=np.uint64)
    for name in frame.columns:
        s = frame[name]
        values = as_numbers(s)
        if values is None:
            h = pd.util.hash_pandas_object(s, index=False).to_numpy()
            h_near = h
        else:
            h = pd.util.hash_array(values)
            h_near = pd.util.hash_array(_round_significant(values, _NEAR_DIGITS))
        exact = _mix(exact, h)
        near = _mix(near, h_near)
    return exact, near


def _mix(acc: np.ndarray, h: np.ndarray) -> np.ndarray:
    # FNV-style combination; uint64 arithmetic wraps around, which is what a hash wants.
    return (acc * np.uint64(0x100000001B3)) ^ h


def _round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
    magnitude = np.where(np.isfinite(magnitude), magnitude, 0.0)
    scale = 10.0 ** (digits - 1 - magnitude)
    return np.round(values * scale) / scale


@dataclass(frozen=True)
class Duplicates:
    """Audit rows whose features also occur in the reference data."""

    near: bool
    count: int
    rows: int
    # Share of reference rows that duplicate another reference row: the rate an
    # independent audit row would match the reference by coincidence alone.
    baseline: float
    examples: tuple[Any, ...] = ()

    @property
    def share(self) -> float:
        return self.count / self.rows if self.rows else 0.0

    @property
    def excess(self) -> float:
        return self.share - self.baseline

    def p_value(self) -> float:
        """One-sided binomial test of the count against the baseline rate."""
        from scipy.stats import binom

        if self.count == 0:
            return 1.0
        return float(binom.sf(self.count - 1, self.rows, min(max(self.baseline, 0.0), 1.0)))


@dataclass(frozen=True)
class Conflicts:
    """Audit rows with identical features but different labels."""

    count: int
    groups: int
    rows: int
    duplicated: int  # rows with at least one identical twin, whatever its label
    examples: tuple[Any, ...] = ()

    @property
    def share(self) -> float:
        return self.count / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class ReferenceKeys:
    """The reference rows' distinct hashes (exact, near) and how often they repeat
    among themselves: hashed once, shared by every partition's state."""

    keys: tuple[np.ndarray, np.ndarray]
    baselines: tuple[float, float]

    @classmethod
    def of(cls, reference: pd.DataFrame) -> ReferenceKeys:
        exact, near = row_keys(reference)
        return cls((np.unique(exact), np.unique(near)), (_baseline(exact), _baseline(near)))


@dataclass(frozen=True)
class ContaminationResult:
    rows: int
    exact: Duplicates | None  # None without reference data
    near: Duplicates | None
    conflicts: Conflicts | None  # None for regression


class Contamination(Measurement[ContaminationResult]):
    """Row hashes of the audit rows: how many occur in the reference data (exactly,
    and up to rounding), and, for classification, the labels seen per hash."""

    def __init__(self, features: list[str], target: str, classes: np.ndarray | None,
                 reference: ReferenceKeys | None) -> None:
        self.features, self.target, self.classes = features, target, classes
        self.reference = reference
        self.rows = 0
        self.shared = [0, 0]  # audit rows found in the reference: exactly, up to rounding
        self.shared_examples: list[Examples] = [(), ()]
        # per (row hash, label code): rows; per row hash: its first rows (examples)
        self.labels = pd.Series(dtype=np.int64)
        self.firsts = pd.DataFrame({"key": pd.Series(dtype=np.uint64), "pos": pd.Series(dtype=np.int64),
                                    "label": pd.Series(dtype=object)})

    def update(self, part: Part) -> None:
        self.rows += len(part)
        if not len(part):
            return
        keys = row_keys(part.frame[self.features])
        if self.reference is not None:
            for i in (0, 1):
                inside = _within(keys[i], self.reference.keys[i])
                self.shared[i] += int(inside.sum())
                self.shared_examples[i] = examples_of(part, inside)
        if self.classes is not None:
            codes = np.asarray(pd.Categorical(part.frame[self.target], categories=list(self.classes)).codes)
            self.labels = pd.DataFrame({"key": keys[0], "label": codes}).value_counts(sort=False)
            firsts = pd.DataFrame({"key": keys[0], "pos": part.rows, "label": part.frame.index.to_numpy(dtype=object)})
            self.firsts = firsts.groupby("key", sort=False).head(EXAMPLES)

    def merge(self, other: Contamination) -> Contamination:
        self.rows += other.rows
        for i in (0, 1):
            self.shared[i] += other.shared[i]
            self.shared_examples[i] = first_examples(self.shared_examples[i], other.shared_examples[i])
        if self.classes is not None and len(other.labels):  # an empty partition adds nothing
            if len(self.labels):
                self.labels = self.labels.add(other.labels, fill_value=0).astype(np.int64)
                both = pd.concat([self.firsts, other.firsts])
                self.firsts = both.sort_values("pos", kind="stable").groupby("key", sort=False).head(EXAMPLES)
            else:
                self.labels, self.firsts = other.labels, other.firsts
        return self

    def finalize(self) -> ContaminationResult:
        dups: list[Duplicates | None] = [None, None]
        if self.reference is not None:
            dups = [Duplicates(bool(i), self.shared[i], self.rows, self.reference.baselines[i],
                               labels(self.shared_examples[i]))
                    for i in (0, 1)]
        return ContaminationResult(self.rows, dups[0], dups[1], self._conflicts() if self.classes is not None else None)

    def _conflicts(self) -> Conflicts:
        if not len(self.labels):
            return Conflicts(0, 0, self.rows, 0)
        per_key = self.labels.groupby(level="key")
        sizes, kinds = per_key.sum(), per_key.size()
        conflicting = kinds.index[kinds.to_numpy() > 1]
        rows = int(sizes[conflicting].sum())
        duplicated = int(sizes[sizes > 1].sum())
        firsts = self.firsts[self.firsts["key"].isin(conflicting)].sort_values("pos", kind="stable")
        return Conflicts(rows, len(conflicting), self.rows, duplicated, tuple(firsts["label"].iloc[:EXAMPLES].tolist()))


def _within(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Which ``keys`` occur in ``sorted_keys`` (a binary search: np.isin sorts both every time)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _baseline(keys: np.ndarray) -> float:
    counts = pd.Series(keys).value_counts()
    return float(counts[counts > 1].sum() / len(keys)) if len(keys) else 0.0


@dataclass(frozen=True)
class EntityOverlap:
    """Entities (values of an ids column) present on both sides of the split."""

    column: str
    count: int
    total: int
    examples: tuple[Any, ...] = ()

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0


class EntityIds(Measurement[EntityOverlap]):
    """The distinct values of one ids column, each with the first audit row it appears in."""

    def __init__(self, column: str, seen: pd.Index) -> None:
        self.column = column
        self.seen = seen  # the column's distinct values in the reference data
        self.first = pd.DataFrame({"id": pd.Series(dtype=object), "pos": pd.Series(dtype=np.int64)})

    def update(self, part: Part) -> None:
        values = part.frame[self.column]
        present = values.notna().to_numpy()
        ids = pd.DataFrame({"id": values.to_numpy(dtype=object)[present], "pos": part.rows[present]})
        self.first = ids.drop_duplicates("id")

    def merge(self, other: EntityIds) -> EntityIds:
        if len(other.first):
            both = pd.concat([self.first, other.first]) if len(self.first) else other.first
            self.first = both.sort_values("pos", kind="stable").drop_duplicates("id")
        return self

    def finalize(self) -> EntityOverlap:
        ids = self.first.sort_values("pos", kind="stable")["id"]
        both = ids[self.seen.get_indexer(pd.Index(ids.to_numpy())) >= 0] if len(self.seen) else ids.iloc[:0]
        return EntityOverlap(self.column, len(both), len(ids), tuple(both.iloc[:EXAMPLES].tolist()))


def as_instants(series: pd.Series) -> pd.Series | None:
    """Times as comparable values: naive UTC datetimes, or numbers; None when neither."""
    if ptypes.is_numeric_dtype(series.dtype) and not ptypes.is_bool_dtype(series.dtype):
        return series.astype(float)
    parsed = parse_dates(series)
    if not ptypes.is_datetime64_any_dtype(parsed.dtype):
        return None
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed


@dataclass(frozen=True)
class FutureValues:
    """Rows where a date feature is later than the row's prediction time."""

    feature: str
    count: int
    rows: int
    examples: tuple[Any, ...] = field(default=())

    @property
    def share(self) -> float:
        return self.count / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class ReferenceAfterAudit:
    """Reference rows later than the earliest audit row."""

    count: int
    rows: int
    start: Any

    @property
    def share(self) -> float:
        return self.count / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class TimeResult:
    future: dict[str, FutureValues]
    start: Any  # the earliest audit time, or None
    numeric: bool  # whether the time column holds numbers (not dates)


class TimeCounts(Measurement[TimeResult]):
    """For each date feature, the rows where it is later than the prediction time;
    and the earliest prediction time of the audit rows."""

    def __init__(self, frame_dtypes: pd.Series, features: tuple[str, ...], time: str) -> None:
        self.features, self.time = features, time
        # numbers compare with numbers, dates with dates (read from the dtypes alone)
        self.numeric = {c: _numeric_dtype(frame_dtypes[c]) for c in (*features, time)}
        # per feature: [later rows, rows with both set, examples, any value parsed, any value at all]
        self.counts: dict[str, list[Any]] = {f: [0, 0, (), False, False] for f in features}
        self.time_state: list[Any] = [None, False, False]  # earliest, any parsed, any value

    def update(self, part: Part) -> None:
        t = as_instants(part.frame[self.time])
        _note(self.time_state, part.frame[self.time], t)
        if t is not None and t.notna().any():
            low = t.min()
            self.time_state[0] = low if self.time_state[0] is None else min(self.time_state[0], low)
        for name in self.features:
            state = self.counts[name]
            v = as_instants(part.frame[name])
            _note(state, part.frame[name], v, offset=3)
            if v is None or t is None or self.numeric[name] != self.numeric[self.time]:
                continue
            both = v.notna() & t.notna()
            later = ((v > t) & both).to_numpy()
            state[0] += int(later.sum())
            state[1] += int(both.sum())
            state[2] = first_examples(state[2], examples_of(part, later))

    def merge(self, other: TimeCounts) -> TimeCounts:
        for name, state in self.counts.items():
            o = other.counts[name]
            self.counts[name] = [state[0] + o[0], state[1] + o[1], first_examples(state[2], o[2]),
                                 state[3] or o[3], state[4] or o[4]]
        a, b = self.time_state, other.time_state
        earliest = b[0] if a[0] is None else a[0] if b[0] is None else min(a[0], b[0])
        self.time_state = [earliest, a[1] or b[1], a[2] or b[2]]
        return self

    def finalize(self) -> TimeResult:
        # A column whose values never parse as times is no time column; which
        # partitions held its values must not matter, so that is decided here.
        times = self.time_state[1] or not self.time_state[2]
        future = {}
        for name, (later, both, examples, parsed, had) in self.counts.items():
            if times and (parsed or not had) and self.numeric[name] == self.numeric[self.time]:
                future[name] = FutureValues(name, later, both, labels(examples))
        return TimeResult(future, self.time_state[0] if times else None, self.numeric[self.time])


def _note(state: list[Any], raw: pd.Series, parsed: pd.Series | None, offset: int = 1) -> None:
    state[offset] = state[offset] or (parsed is not None and bool(parsed.notna().any()))
    state[offset + 1] = state[offset + 1] or bool(raw.notna().any())


def _numeric_dtype(dtype: Any) -> bool:
    return bool(ptypes.is_numeric_dtype(dtype) and not ptypes.is_bool_dtype(dtype))


def reference_after_audit(time: TimeResult, reference_time: pd.Series) -> ReferenceAfterAudit | None:
    r = as_instants(reference_time)
    if time.start is None or r is None or _numeric_dtype(reference_time.dtype) != time.numeric:
        return None
    if r.notna().sum() == 0 and reference_time.notna().sum() > 0:
        return None
    later = r > time.start
    return ReferenceAfterAudit(int(later.sum()), int(r.notna().sum()), time.start)
