"""What crosses the split: rows and entities shared by reference and audit data,
contradicting duplicates, and values from after the prediction time.

Only measurements live here (counts, shares, example rows); the probe judges them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from probes._leakage_power import as_numbers, parse_dates

__all__ = [
    "Conflicts",
    "Duplicates",
    "EntityOverlap",
    "FutureValues",
    "ReferenceAfterAudit",
    "conflicting_duplicates",
    "cross_duplicates",
    "entity_overlap",
    "future_values",
    "reference_after_audit",
    "row_keys",
]

_EXAMPLES = 5
# Significant digits two values must share to count as "near-exact" duplicates.
_NEAR_DIGITS = 4


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


def cross_duplicates(audit_keys: np.ndarray, reference_keys: np.ndarray, index: pd.Index, near: bool) -> Duplicates:
    """Audit rows whose key (one of ``row_keys``) is among the reference rows' keys."""
    a, r = audit_keys, reference_keys
    shared = np.isin(a, r)
    ref_counts = pd.Series(r).value_counts()
    baseline = float(ref_counts[ref_counts > 1].sum() / len(r)) if len(r) else 0.0
    examples = tuple(index[shared][:_EXAMPLES].tolist())
    return Duplicates(near, int(shared.sum()), len(a), baseline, examples)


@dataclass(frozen=True)
class Conflicts:
    """Audit rows with identical features but different labels."""

    count: int
    groups: int
    rows: int
    examples: tuple[Any, ...] = ()

    @property
    def share(self) -> float:
        return self.count / self.rows if self.rows else 0.0


def conflicting_duplicates(keys: np.ndarray, y: pd.Series) -> Conflicts:
    """Rows sharing their features' key with a row of another label."""
    labels_per_key = y.groupby(keys).nunique()
    conflicting = labels_per_key.index[labels_per_key.to_numpy() > 1]
    rows = np.isin(keys, conflicting.to_numpy())
    examples = tuple(y.index[rows][:_EXAMPLES].tolist())
    return Conflicts(int(rows.sum()), len(conflicting), len(keys), examples)


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


def entity_overlap(column: str, audit: pd.Series, reference: pd.Series) -> EntityOverlap:
    ids = pd.unique(audit.dropna())
    seen = pd.Index(pd.unique(reference.dropna()))
    both = ids[seen.get_indexer(ids) >= 0] if len(seen) else ids[:0]
    return EntityOverlap(column, len(both), len(ids), tuple(both[:_EXAMPLES].tolist()))


def as_instants(series: pd.Series) -> pd.Series | None:
    """Times as comparable values: naive UTC datetimes, or numbers; None when neither."""
    if ptypes.is_numeric_dtype(series.dtype) and not ptypes.is_bool_dtype(series.dtype):
        return series.astype(float)
    parsed = parse_dates(series)
    if not ptypes.is_datetime64_any_dtype(parsed.dtype):
        return None
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    if parsed.notna().sum() == 0 and series.notna().sum() > 0:
        return None
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


def future_values(feature: str, values: pd.Series, time: pd.Series) -> FutureValues | None:
    v, t = as_instants(values), as_instants(time)
    if v is None or t is None or _is_number(v) != _is_number(t):
        return None
    both = v.notna() & t.notna()
    later = (v > t) & both
    return FutureValues(feature, int(later.sum()), int(both.sum()), tuple(values.index[later.to_numpy()][:_EXAMPLES].tolist()))


@dataclass(frozen=True)
class ReferenceAfterAudit:
    """Reference rows later than the earliest audit row."""

    count: int
    rows: int
    start: Any

    @property
    def share(self) -> float:
        return self.count / self.rows if self.rows else 0.0


def reference_after_audit(audit_time: pd.Series, reference_time: pd.Series) -> ReferenceAfterAudit | None:
    a, r = as_instants(audit_time), as_instants(reference_time)
    if a is None or r is None or _is_number(a) != _is_number(r) or a.notna().sum() == 0:
        return None
    start = a.min()
    later = r > start
    return ReferenceAfterAudit(int(later.sum()), int(r.notna().sum()), start)


def _is_number(series: pd.Series) -> bool:
    return bool(ptypes.is_numeric_dtype(series.dtype))
