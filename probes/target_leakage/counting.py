"""Small mergeable pieces the measurements share: example rows, outcome counts,
exact sums, and the gathering of sampled rows.

Everything here merges exactly: integer counts, example rows kept by their
position, sums held as exact integers. One partition or ten gives the same
numbers to the last bit, which a float sum, added up in a different order,
would not.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from auditkit import AuditData, Measurement, Part, Predictions

__all__ = [
    "EXAMPLES",
    "Examples",
    "ExactSum",
    "Gather",
    "Gathered",
    "Outcomes",
    "examples_of",
    "first_examples",
    "labels",
    "reference_part",
]

EXAMPLES = 5  # example rows a finding names

# (position in the audit data, or after it for reference rows; the row's label)
Examples = tuple[tuple[int, Any], ...]


def examples_of(part: Part, mask: np.ndarray | None = None) -> Examples:
    """The first rows of ``part`` (where ``mask`` holds) as (position, label) pairs."""
    chosen = np.flatnonzero(mask)[:EXAMPLES] if mask is not None else np.arange(min(EXAMPLES, len(part)))
    labels = part.frame.index[chosen]
    return tuple((int(part.rows[i]), label) for i, label in zip(chosen, labels.tolist(), strict=True))


def first_examples(a: Examples, b: Examples) -> Examples:
    """The first of two sets of examples, by position (merging never depends on order)."""
    return tuple(sorted(a + b, key=lambda e: e[0])[:EXAMPLES])


def labels(examples: Examples) -> tuple[Any, ...]:
    return tuple(label for _, label in examples)


def reference_part(data: AuditData, columns: list[str]) -> Part | None:
    """The reference rows as one more partition, placed after the audit rows and
    labelled apart ("reference row 7"), so examples from either side read right.
    (The reference data is an in-memory frame; only the audit rows are partitioned.)"""
    ref = data.reference
    if ref is None:
        return None
    frame = ref[columns]
    frame = frame.set_axis(pd.Index([f"reference row {label}" for label in frame.index], dtype=object))
    return Part(-1, np.arange(data.n_rows, data.n_rows + len(frame), dtype=np.int64), frame)


class Outcomes:
    """Counts of the target's values: per class for classification, per distinct
    value for regression (what "the outcome that dominates a group" needs)."""

    def __init__(self, classes: np.ndarray | None) -> None:
        self.classes = classes
        self.counts: np.ndarray | pd.Series = (
            np.zeros(len(classes), dtype=np.int64) if classes is not None else pd.Series(dtype=np.int64)
        )

    @classmethod
    def of(cls, y: pd.Series, classes: np.ndarray | None) -> Outcomes:
        out = cls(classes)
        if classes is not None:
            codes = np.asarray(pd.Categorical(y, categories=list(classes)).codes, dtype=np.int64)
            out.counts = np.bincount(codes[codes >= 0], minlength=len(classes)).astype(np.int64)
        else:
            out.counts = y.value_counts(sort=False).astype(np.int64)
        return out

    def plus(self, other: Outcomes) -> Outcomes:
        out = Outcomes(self.classes)
        if isinstance(self.counts, np.ndarray):
            out.counts = self.counts + other.counts
        else:
            out.counts = self.counts.add(other.counts, fill_value=0).astype(np.int64)
        return out

    def minus(self, other: Outcomes) -> Outcomes:
        out = Outcomes(self.classes)
        if isinstance(self.counts, np.ndarray):
            out.counts = self.counts - other.counts
        else:
            out.counts = self.counts.sub(other.counts, fill_value=0).astype(np.int64)
        return out

    @property
    def rows(self) -> int:
        return int(self.counts.sum())

    def count(self, value: Any) -> int:
        if isinstance(self.counts, np.ndarray):
            assert self.classes is not None
            hit = np.flatnonzero(self.classes == value)
            return int(self.counts[hit[0]]) if len(hit) else 0
        return int(self.counts.get(value, 0))

    def most_common(self) -> Any:
        """The most frequent value; ties go to the first class (or the smallest value)."""
        if isinstance(self.counts, np.ndarray):
            assert self.classes is not None
            return self.classes[int(np.argmax(self.counts))]
        counts = self.counts.sort_index()
        return counts.index[int(np.argmax(counts.to_numpy()))]


class ExactSum:
    """A sum of floats held exactly (as an integer multiple of 2**-1127), so that
    partial sums merge in any order to the same result."""

    _SHIFT = 1127  # frexp exponents reach -1073; with 53 mantissa bits every double is k * 2**-1127

    def __init__(self, total: int = 0) -> None:
        self.total = total

    @classmethod
    def of(cls, values: np.ndarray) -> ExactSum:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if not len(values):
            return cls()
        mantissa, exponent = np.frexp(values)
        whole = (mantissa * 2.0**53).astype(np.int64)  # exact: a double's mantissa has 53 bits
        shift = exponent.astype(np.int64) - 53 + cls._SHIFT
        # Split in 26-bit halves so that int64 sums of millions of rows cannot overflow.
        high, low = whole >> 26, whole & ((1 << 26) - 1)
        sums = pd.DataFrame({"shift": shift, "high": high, "low": low}).groupby("shift").sum()
        total = 0
        for s, h, lo in zip(sums.index.tolist(), sums["high"].tolist(), sums["low"].tolist(), strict=True):
            total += ((int(h) << 26) + int(lo)) << int(s)
        return cls(total)

    def plus(self, other: ExactSum) -> ExactSum:
        return ExactSum(self.total + other.total)

    def mean(self, count: int) -> float:
        return float(Fraction(self.total, count << self._SHIFT)) if count else float("nan")


@dataclass
class Gathered:
    """Some audit rows, gathered from the partitions in position order."""

    rows: np.ndarray
    frame: pd.DataFrame
    predictions: Predictions | None


class Gather(Measurement[Gathered]):
    """The rows of the shared sample, collected from whichever partitions hold them
    (as a cluster gathers a sample to one machine)."""

    def __init__(self, rows: np.ndarray, columns: list[str]) -> None:
        self.wanted = np.sort(np.asarray(rows, dtype=np.int64))
        self.columns = columns
        self.pieces: list[tuple[np.ndarray, pd.DataFrame, Predictions | None]] = []

    def update(self, part: Part) -> None:
        at = np.minimum(np.searchsorted(self.wanted, part.rows), max(len(self.wanted) - 1, 0))
        local = np.flatnonzero(self.wanted[at] == part.rows) if len(self.wanted) else np.empty(0, dtype=np.int64)
        preds = None if part.predictions is None else part.predictions.take(local)
        self.pieces.append((part.rows[local], part.frame.iloc[local][self.columns], preds))

    def merge(self, other: Gather) -> Gather:
        self.pieces += other.pieces
        return self

    def finalize(self) -> Gathered:
        pieces = sorted((p for p in self.pieces if len(p[0])), key=lambda p: int(p[0][0]))
        if not pieces:
            return Gathered(np.empty(0, dtype=np.int64), pd.DataFrame(columns=self.columns), None)
        rows = np.concatenate([p[0] for p in pieces])
        frame = pd.concat([p[1] for p in pieces]) if len(pieces) > 1 else pieces[0][1]
        preds = [p[2] for p in pieces]
        return Gathered(rows, frame, None if any(p is None for p in preds) else _concat(preds))  # type: ignore[arg-type]


def _concat(parts: list[Predictions]) -> Predictions:
    def stack(values: list[np.ndarray | None]) -> np.ndarray | None:
        return None if any(v is None for v in values) else np.concatenate(values)  # type: ignore[arg-type]

    return Predictions(
        labels=np.concatenate([p.labels for p in parts]),
        proba=stack([p.proba for p in parts]),
        scores=stack([p.scores for p in parts]),
        classes=parts[0].classes,
    )
