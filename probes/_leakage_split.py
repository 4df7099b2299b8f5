"""What crosses the split: rows and entities shared by reference and audit data,
contradicting duplicates, and values from after the prediction time.

Measurements first (counts, shares, example rows), then the judging of them into
findings; none of it depends on the model or on single-feature scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from auditkit import AuditData, Finding, Severity
from probes._leakage_messages import (
    CONFLICTING_DUPLICATES,
    DUPLICATE_ROWS,
    ENTITY_OVERLAP,
    FUTURE_VALUES,
    REFERENCE_AFTER_AUDIT,
)
from probes._leakage_power import as_numbers, parse_dates

if TYPE_CHECKING:
    from probes.target_leakage import TargetLeakage as LeakageSettings

__all__ = [
    "MIN_COUNT",
    "Conflicts",
    "Duplicates",
    "EntityOverlap",
    "FutureValues",
    "ReferenceAfterAudit",
    "conflicting_duplicates",
    "contamination",
    "cross_duplicates",
    "entity_overlap",
    "future_values",
    "reference_after_audit",
    "row_keys",
    "show_list",
    "time_checks",
]

_EXAMPLES = 5
# Below this share of rows with an identical twin, the rows are mostly unique
# and twins with contradicting labels stand out.
_MOSTLY_UNIQUE = 0.5
# Rows a duplicate or time finding needs before it is more than a note.
MIN_COUNT = 5
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
    duplicated: int  # rows with at least one identical twin, whatever its label
    examples: tuple[Any, ...] = ()

    @property
    def share(self) -> float:
        return self.count / self.rows if self.rows else 0.0


def conflicting_duplicates(keys: np.ndarray, y: pd.Series) -> Conflicts:
    """Rows sharing their features' key with a row of another label."""
    grouped = y.groupby(keys)
    labels_per_key = grouped.nunique()
    conflicting = labels_per_key.index[labels_per_key.to_numpy() > 1]
    rows = np.isin(keys, conflicting.to_numpy())
    sizes = grouped.size()
    duplicated = int(sizes[sizes > 1].sum())
    examples = tuple(y.index[rows][:_EXAMPLES].tolist())
    return Conflicts(int(rows.sum()), len(conflicting), len(keys), duplicated, examples)


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


# -- judging ------------------------------------------------------------------


def contamination(data: AuditData, settings: LeakageSettings, classification: bool) -> tuple[dict[str, Any], list[Finding]]:
    """Contradicting duplicates in the audit data; duplicate rows and shared
    entities between reference and audit data."""
    out: dict[str, Any] = {}
    findings: list[Finding] = []
    features = list(data.features)
    if not features:
        return out, findings
    keys, near_keys = row_keys(data.frame[features])
    if classification:
        c = conflicting_duplicates(keys, data.y)
        out["conflicting_rows"] = c.count
        if c.count:
            # Where most rows have identical twins (a few coarse features), contradicting
            # twins are what the features cannot tell apart, not a defect of the data.
            distinct_rows = c.duplicated < _MOSTLY_UNIQUE * c.rows
            findings.append(Finding(
                code="conflicting_duplicates",
                severity=Severity.LOW if c.share >= settings.conflict_share and distinct_rows else Severity.INFO,
                message=CONFLICTING_DUPLICATES.format(count=c.count, share=c.share, groups=c.groups, target=data.target,
                                                      threshold=settings.conflict_share, examples=show_list(c.examples)),
                metrics={"rows": c.count, "share": c.share, "groups": c.groups, "duplicated_rows": c.duplicated},
                examples=c.examples,
            ))
    ref = data.reference
    if ref is None:
        return out, findings
    ref_keys, ref_near_keys = row_keys(ref[features])
    exact = cross_duplicates(keys, ref_keys, data.frame.index, near=False)
    near = cross_duplicates(near_keys, ref_near_keys, data.frame.index, near=True)
    out["duplicate_rows"] = {"count": exact.count, "share": exact.share, "baseline": exact.baseline}
    out["near_duplicate_rows"] = {"count": near.count, "share": near.share, "baseline": near.baseline}
    found = _duplicates_finding(exact, "appear exactly", "duplicate_rows", settings)
    if found is None and near.count > exact.count:
        found = _duplicates_finding(near, "appear up to rounding (numbers to 4 significant digits)",
                                    "near_duplicate_rows", settings)
    findings += [found] if found else []
    for column in data.ids:
        if column not in ref.columns:
            out.setdefault("ids_not_in_reference", []).append(column)
            continue
        o = entity_overlap(column, data.frame[column], ref[column])
        out.setdefault("entity_overlap", {})[column] = {"count": o.count, "total": o.total, "share": o.share}
        if o.count == 0:
            continue
        share = settings.entity_share
        findings.append(Finding(
            code="entity_overlap",
            severity=Severity.HIGH if o.share >= 5 * share else Severity.MEDIUM if o.share >= share else Severity.LOW,
            message=ENTITY_OVERLAP.format(count=o.count, total=o.total, column=column, share=o.share,
                                          threshold=share, examples=show_list(o.examples)),
            metrics={"count": o.count, "total": o.total, "share": o.share}, examples=o.examples,
        ))
    return out, findings


def _duplicates_finding(d: Duplicates, how: str, code: str, settings: LeakageSettings) -> Finding | None:
    # Judged by the excess over the coincidental rate, and only when the count
    # is significantly above that rate: low-cardinality data repeats honestly.
    threshold = settings.duplicate_share
    if d.count < MIN_COUNT or d.excess < threshold or d.p_value() >= settings.alpha:
        return None
    return Finding(
        code=code, severity=Severity.HIGH if d.excess >= 5 * threshold else Severity.MEDIUM,
        message=DUPLICATE_ROWS.format(count=d.count, rows=d.rows, share=d.share, how=how, baseline=d.baseline,
                                      threshold=threshold, examples=show_list(d.examples)),
        metrics={"count": d.count, "rows": d.rows, "share": d.share, "baseline": d.baseline, "p_value": d.p_value()},
        examples=d.examples,
    )


def time_checks(data: AuditData, settings: LeakageSettings) -> tuple[dict[str, Any], list[Finding]]:
    """Date features later than the prediction time; reference rows later than audit rows."""
    out: dict[str, Any] = {}
    findings: list[Finding] = []
    time = data.time
    if time is None:
        return out, findings
    for name in data.columns_of_kind("datetime"):
        fv = future_values(name, data.frame[name], data.frame[time])
        if fv is None:
            continue
        out.setdefault("future_values", {})[name] = {"count": fv.count, "rows": fv.rows, "share": fv.share}
        if fv.count == 0:
            continue
        serious = fv.share >= settings.future_share and fv.count >= MIN_COUNT
        findings.append(Finding(
            code="future_values", severity=Severity.HIGH if serious else Severity.LOW,
            message=FUTURE_VALUES.format(feature=name, time=time, count=fv.count, rows=fv.rows, share=fv.share,
                                         threshold=settings.future_share, examples=show_list(fv.examples)),
            features=(name,), metrics={"count": fv.count, "rows": fv.rows, "share": fv.share}, examples=fv.examples,
        ))
    ref = data.reference
    if ref is not None and time in ref.columns:
        ra = reference_after_audit(data.frame[time], ref[time])
        if ra is not None:
            out["reference_after_audit"] = {"count": ra.count, "rows": ra.rows, "share": ra.share}
            if ra.count:
                findings.append(Finding(
                    code="reference_after_audit",
                    severity=Severity.MEDIUM if ra.share >= settings.future_share else Severity.LOW,
                    message=REFERENCE_AFTER_AUDIT.format(count=ra.count, rows=ra.rows, share=ra.share, time=time,
                                                         start=ra.start, threshold=settings.future_share),
                    metrics={"count": ra.count, "rows": ra.rows, "share": ra.share, "audit_start": ra.start},
                ))
    return out, findings


def show_list(items: tuple[Any, ...]) -> str:
    """Examples for a message: row labels as they are, text quoted."""
    return ", ".join(repr(i) if isinstance(i, str) else str(i) for i in items) or "none"
