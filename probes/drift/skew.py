"""Training-serving skew: the same rows (same ids) in the reference and the audit, compared
value by value, as TFDV's feature-skew check does. A price rounded in serving but not in
training shows up here as that one feature, whatever the distributions look like.

Per feature and partition: rows joined, rows whose values differ (numbers beyond a relative
tolerance of 1e-9, so float32 storage is no skew; two gaps are equal), the exact sum and the
largest of the absolute differences, and the first differing rows by position. All of it
merges to the same numbers however the audit rows are split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from auditkit import AuditData, Measurement, Part
from probes._shared.exact_sums import ExactSums

__all__ = ["SkewCounts", "SkewProfile", "skew_applies"]

_TOLERANCE = 1e-9
_EXAMPLES = 5


def skew_applies(data: AuditData) -> str | None:
    """None when the rows can be joined on ids; else why not."""
    ref = data.reference
    if not data.ids:
        return "no id columns were declared (AuditData(ids=...) or --id-column)"
    if ref is None or not all(c in ref.columns for c in data.ids):
        return f"the reference data has no id column(s) {', '.join(map(repr, data.ids))}"
    return None


@dataclass
class SkewCounts:
    joined: int = 0
    differ: int = 0
    measured: int = 0  # differing rows with a number on both sides
    max_abs: float = 0.0
    mean_abs: float | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)


class SkewProfile(Measurement[tuple[int, dict[str, SkewCounts]]]):
    """Audit rows joined to reference rows by id, compared feature by feature."""

    def __init__(self, ref: pd.DataFrame, ids: tuple[str, ...], features: tuple[str, ...]) -> None:
        # The reference's first row of each id (a repeated id in training is its own problem).
        self.ref = ref.drop_duplicates(list(ids), keep="first").set_index(list(ids))
        self.ids, self.features = ids, features
        self.joined = 0
        self.counts = {f: SkewCounts() for f in features}
        self.sums = {f: ExactSums(1) for f in features}

    def update(self, part: Part) -> None:
        keys = pd.MultiIndex.from_frame(part.frame[list(self.ids)]) if len(self.ids) > 1 else pd.Index(part.frame[self.ids[0]])
        where = self.ref.index.get_indexer(keys)
        hit = where >= 0
        if not hit.any():
            return
        self.joined += int(hit.sum())
        audit = part.frame.iloc[np.flatnonzero(hit)]
        ref = self.ref.iloc[where[hit]]
        positions = part.rows[hit]
        for f in self.features:
            a, r = audit[f], ref[f]
            counts = self.counts[f]
            counts.joined += len(a)
            numeric = ptypes.is_numeric_dtype(a.dtype) and ptypes.is_numeric_dtype(r.dtype) and not ptypes.is_bool_dtype(a.dtype)
            if numeric:
                av, rv = a.to_numpy(dtype=float, na_value=np.nan), r.to_numpy(dtype=float, na_value=np.nan)
                both_gap = np.isnan(av) & np.isnan(rv)
                with np.errstate(invalid="ignore"):
                    gap = np.abs(av - rv)
                    same = both_gap | (gap <= _TOLERANCE * np.maximum(1.0, np.maximum(np.abs(av), np.abs(rv))))
                differ = ~same
                numeric_gap = differ & np.isfinite(gap)
                if numeric_gap.any():
                    self.sums[f].add(np.zeros(int(numeric_gap.sum()), dtype=np.int64), gap[numeric_gap])
                    counts.measured += int(numeric_gap.sum())
                    counts.max_abs = max(counts.max_abs, float(gap[numeric_gap].max()))
            else:
                a_gap, r_gap = a.isna().to_numpy(), r.isna().to_numpy()
                equal = (a.astype(object).to_numpy() == r.astype(object).to_numpy())
                differ = ~((a_gap & r_gap) | (equal & ~a_gap & ~r_gap))
            counts.differ += int(differ.sum())
            for i in np.flatnonzero(differ)[:_EXAMPLES]:
                counts.examples.append({
                    "row": int(positions[i]),
                    "id": _plain(keys[np.flatnonzero(hit)[i]]),
                    "reference": _plain(r.iloc[i]),
                    "audit": _plain(a.iloc[i]),
                })

    def merge(self, other: SkewProfile) -> SkewProfile:
        self.joined += other.joined
        for f in self.features:
            mine, theirs = self.counts[f], other.counts[f]
            mine.joined += theirs.joined
            mine.differ += theirs.differ
            mine.measured += theirs.measured
            mine.max_abs = max(mine.max_abs, theirs.max_abs)
            mine.examples = sorted(mine.examples + theirs.examples, key=lambda e: e["row"])[:_EXAMPLES]
            self.sums[f] = self.sums[f].merge(other.sums[f])
        return self

    def finalize(self) -> tuple[int, dict[str, SkewCounts]]:
        for f, counts in self.counts.items():
            counts.examples = sorted(counts.examples, key=lambda e: e["row"])[:_EXAMPLES]
            if counts.measured:
                counts.mean_abs = float(self.sums[f].totals()[0]) / counts.measured
        return self.joined, self.counts


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value if isinstance(value, (int, float, str, bool)) else str(value)
