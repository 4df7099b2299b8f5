"""Figures as data: the closed set of charts a probe can ask a report to draw.

A probe measures, then fills one or more of these records with the numbers a
reader should see (scikit-learn's ``RocCurveDisplay.from_predictions`` works
the same way: compute a small data object, draw it elsewhere). Renderers
draw them; nobody reads a probe's free-form ``metrics`` to draw. Every record
is frozen, JSON-ready (``to_dict``) and read back by ``figure_from_dict``, and
the scorecard's JSON Schema describes each kind.

The kinds:

- ``Ranking``: labelled values with intervals, best or worst first, against
  reference lines (a leakage ranking, disparity ratios);
- ``GroupRates``: rates per group of one sensitive feature, with intervals;
- ``SliceTable``: slices of the data (conditions) with their support and error;
- ``Curve``: y against x with marked points (a cost curve by threshold);
- ``OutcomeGrid``: one outcome per (row, column) cell, from ``OUTCOMES``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Union

from auditkit._values import Condition, Severity

__all__ = [
    "OUTCOMES",
    "Bar",
    "Curve",
    "Figure",
    "GridCell",
    "GroupRates",
    "GroupRow",
    "Marker",
    "OutcomeGrid",
    "Ranking",
    "Reference",
    "SliceRow",
    "SliceTable",
    "figure_from_dict",
]

# What one injection into one column did, worst first (a cell shows its worst).
# ``overflow``: the output broke only under float-overflowing values; ``not_run``:
# the cell was planned but the probe's budget ran out before it was tried.
OUTCOMES: tuple[str, ...] = ("silent_corruption", "crashed", "overflow", "rejected", "handled", "not_run", "skipped")
Outcome = Literal["silent_corruption", "crashed", "overflow", "rejected", "handled", "not_run", "skipped"]

ReferenceRole = Literal["threshold", "model", "chance", "parity", "overall", "current", "optimal", "bayes"]


def _num(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _interval_ok(value: float | None, low: float | None, high: float | None, what: str) -> None:
    if low is not None and high is not None and low > high:
        raise ValueError(f"{what}: interval low {low} is above high {high}")


@dataclass(frozen=True)
class Reference:
    """A reference line across a chart: a threshold, the whole model, chance, parity."""

    value: float
    label: str
    role: ReferenceRole = "threshold"

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))

    def to_dict(self) -> dict[str, Any]:
        return {"value": _num(self.value), "label": self.label, "role": self.role}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Reference:
        return cls(value=float(d["value"]), label=str(d["label"]), role=d.get("role", "threshold"))


@dataclass(frozen=True)
class Bar:
    """One labelled value of a ranking, with its interval and the severity of its finding (None: none)."""

    label: str
    value: float
    low: float | None = None
    high: float | None = None
    severity: Severity | None = None
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", str(self.label))
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "low", _num(self.low))
        object.__setattr__(self, "high", _num(self.high))
        if self.severity is not None:
            object.__setattr__(self, "severity", Severity.parse(self.severity))
        _interval_ok(self.value, self.low, self.high, f"bar {self.label!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": _num(self.value),
            "low": self.low,
            "high": self.high,
            "severity": None if self.severity is None else self.severity.value,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Bar:
        value = d.get("value")
        return cls(
            label=d["label"],
            value=float("nan") if value is None else float(value),
            low=d.get("low"),
            high=d.get("high"),
            severity=d.get("severity"),
            note=d.get("note") or "",
        )


@dataclass(frozen=True)
class Ranking:
    """Labelled values with intervals, in the order the probe ranks them (most suspect first).

    ``total`` is how many items were measured when ``bars`` holds only the top ones.
    """

    kind: ClassVar[str] = "ranking"
    title: str
    metric: str
    bars: tuple[Bar, ...]
    references: tuple[Reference, ...] = ()
    caption: str = ""
    total: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "bars", tuple(self.bars))
        object.__setattr__(self, "references", tuple(self.references))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "metric": self.metric,
            "bars": [b.to_dict() for b in self.bars],
            "references": [r.to_dict() for r in self.references],
            "caption": self.caption,
            "total": self.total,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Ranking:
        return cls(
            title=d["title"],
            metric=d["metric"],
            bars=tuple(Bar.from_dict(b) for b in d.get("bars") or ()),
            references=tuple(Reference.from_dict(r) for r in d.get("references") or ()),
            caption=d.get("caption") or "",
            total=d.get("total"),
        )


@dataclass(frozen=True)
class GroupRow:
    """One group's count and its value (with interval) for each of the figure's metrics."""

    group: str
    count: int
    values: tuple[float | None, ...]
    lows: tuple[float | None, ...] = ()
    highs: tuple[float | None, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "group", str(self.group))
        object.__setattr__(self, "count", int(self.count))
        n = len(self.values)
        object.__setattr__(self, "values", tuple(_num(v) for v in self.values))
        object.__setattr__(self, "lows", tuple(_num(v) for v in self.lows) if self.lows else (None,) * n)
        object.__setattr__(self, "highs", tuple(_num(v) for v in self.highs) if self.highs else (None,) * n)
        if not len(self.lows) == len(self.highs) == n:
            raise ValueError(f"group {self.group!r}: values, lows and highs differ in length")

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "count": self.count, "values": list(self.values),
                "lows": list(self.lows), "highs": list(self.highs)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GroupRow:
        return cls(group=d["group"], count=d["count"], values=tuple(d["values"]),
                   lows=tuple(d.get("lows") or ()), highs=tuple(d.get("highs") or ()))


@dataclass(frozen=True)
class GroupRates:
    """Rates per group of one feature; ``metrics`` names the columns of every row's ``values``.

    ``unit`` is True when every metric is a share in [0, 1] (rates), False for
    quantities such as mean absolute error.
    """

    kind: ClassVar[str] = "group_rates"
    title: str
    feature: str
    metrics: tuple[str, ...]
    groups: tuple[GroupRow, ...]
    unit: bool = True
    caption: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", tuple(str(m) for m in self.metrics))
        object.__setattr__(self, "groups", tuple(self.groups))
        for g in self.groups:
            if len(g.values) != len(self.metrics):
                raise ValueError(f"group {g.group!r} has {len(g.values)} values for {len(self.metrics)} metrics")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "feature": self.feature,
            "metrics": list(self.metrics),
            "groups": [g.to_dict() for g in self.groups],
            "unit": self.unit,
            "caption": self.caption,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GroupRates:
        return cls(
            title=d["title"],
            feature=d["feature"],
            metrics=tuple(d["metrics"]),
            groups=tuple(GroupRow.from_dict(g) for g in d.get("groups") or ()),
            unit=bool(d.get("unit", True)),
            caption=d.get("caption") or "",
        )


@dataclass(frozen=True)
class SliceRow:
    """One slice: its conditions, how many rows it holds, its error with interval."""

    conditions: tuple[Condition, ...]
    support: int
    error: float
    low: float | None = None
    high: float | None = None
    severity: Severity | None = None

    def __post_init__(self) -> None:
        conds = tuple(c if isinstance(c, Condition) else Condition(**c) for c in self.conditions)
        object.__setattr__(self, "conditions", conds)
        object.__setattr__(self, "support", int(self.support))
        object.__setattr__(self, "error", float(self.error))
        object.__setattr__(self, "low", _num(self.low))
        object.__setattr__(self, "high", _num(self.high))
        if self.severity is not None:
            object.__setattr__(self, "severity", Severity.parse(self.severity))

    def to_dict(self) -> dict[str, Any]:
        return {
            "conditions": [c.to_dict() for c in self.conditions],
            "support": self.support,
            "error": _num(self.error),
            "low": self.low,
            "high": self.high,
            "severity": None if self.severity is None else self.severity.value,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SliceRow:
        error = d.get("error")
        return cls(
            conditions=tuple(Condition(**c) for c in d["conditions"]),
            support=d["support"],
            error=float("nan") if error is None else float(error),
            low=d.get("low"),
            high=d.get("high"),
            severity=d.get("severity"),
        )


@dataclass(frozen=True)
class SliceTable:
    """Slices where the model errs more, against the error over all rows (``overall``)."""

    kind: ClassVar[str] = "slice_table"
    title: str
    metric: str
    slices: tuple[SliceRow, ...]
    overall: float | None = None
    caption: str = ""
    total: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "slices", tuple(self.slices))
        object.__setattr__(self, "overall", _num(self.overall))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "metric": self.metric,
            "slices": [s.to_dict() for s in self.slices],
            "overall": self.overall,
            "caption": self.caption,
            "total": self.total,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SliceTable:
        return cls(
            title=d["title"],
            metric=d["metric"],
            slices=tuple(SliceRow.from_dict(s) for s in d.get("slices") or ()),
            overall=d.get("overall"),
            caption=d.get("caption") or "",
            total=d.get("total"),
        )


@dataclass(frozen=True)
class Marker:
    """A marked x on a curve (the current or the optimal threshold), with its y there."""

    x: float
    y: float | None
    label: str
    role: ReferenceRole = "current"

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", float(self.x))
        object.__setattr__(self, "y", _num(self.y))

    def to_dict(self) -> dict[str, Any]:
        return {"x": _num(self.x), "y": self.y, "label": self.label, "role": self.role}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Marker:
        return cls(x=float(d["x"]), y=d.get("y"), label=d["label"], role=d.get("role", "current"))


@dataclass(frozen=True)
class Curve:
    """y against x (sorted by x), with marked points and horizontal reference levels.

    A probe hands over at most a few hundred points (thinned, keeping the ones
    a reader needs, such as the minimum); the JSON keeps what it hands over.
    """

    kind: ClassVar[str] = "curve"
    title: str
    x_label: str
    y_label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    markers: tuple[Marker, ...] = ()
    levels: tuple[Reference, ...] = ()
    caption: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", tuple(float(v) for v in self.x))
        object.__setattr__(self, "y", tuple(float(v) for v in self.y))
        object.__setattr__(self, "markers", tuple(self.markers))
        object.__setattr__(self, "levels", tuple(self.levels))
        if len(self.x) != len(self.y):
            raise ValueError(f"curve {self.title!r}: {len(self.x)} x values for {len(self.y)} y values")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "x_label": self.x_label,
            "y_label": self.y_label,
            "x": [_num(v) for v in self.x],
            "y": [_num(v) for v in self.y],
            "markers": [m.to_dict() for m in self.markers],
            "levels": [r.to_dict() for r in self.levels],
            "caption": self.caption,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Curve:
        def nums(values: Sequence[Any]) -> tuple[float, ...]:
            return tuple(float("nan") if v is None else float(v) for v in values)

        return cls(
            title=d["title"],
            x_label=d["x_label"],
            y_label=d["y_label"],
            x=nums(d["x"]),
            y=nums(d["y"]),
            markers=tuple(Marker.from_dict(m) for m in d.get("markers") or ()),
            levels=tuple(Reference.from_dict(r) for r in d.get("levels") or ()),
            caption=d.get("caption") or "",
        )


@dataclass(frozen=True)
class GridCell:
    """What one injection (``column``) into one feature (``row``) did; ``detail`` is one line of counts."""

    row: str
    column: str
    outcome: Outcome
    detail: str = ""

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}; expected one of {OUTCOMES}")

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "outcome": self.outcome, "detail": self.detail}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GridCell:
        return cls(row=d["row"], column=d["column"], outcome=d["outcome"], detail=d.get("detail") or "")


@dataclass(frozen=True)
class OutcomeGrid:
    """One outcome per (row, column): features by injections, say. ``rows`` and
    ``columns`` give the order; a pair without a cell was not planned."""

    kind: ClassVar[str] = "outcome_grid"
    title: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[GridCell, ...]
    caption: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(str(r) for r in self.rows))
        object.__setattr__(self, "columns", tuple(str(c) for c in self.columns))
        object.__setattr__(self, "cells", tuple(self.cells))
        rows, cols = set(self.rows), set(self.columns)
        for c in self.cells:
            if c.row not in rows or c.column not in cols:
                raise ValueError(f"grid cell ({c.row!r}, {c.column!r}) is outside the grid's rows and columns")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "rows": list(self.rows),
            "columns": list(self.columns),
            "cells": [c.to_dict() for c in self.cells],
            "caption": self.caption,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OutcomeGrid:
        return cls(
            title=d["title"],
            rows=tuple(d["rows"]),
            columns=tuple(d["columns"]),
            cells=tuple(GridCell.from_dict(c) for c in d.get("cells") or ()),
            caption=d.get("caption") or "",
        )


Figure = Union[Ranking, GroupRates, SliceTable, Curve, OutcomeGrid]
FIGURE_KINDS: dict[str, type] = {cls.kind: cls for cls in (Ranking, GroupRates, SliceTable, Curve, OutcomeGrid)}


def figure_from_dict(d: Mapping[str, Any]) -> Figure:
    """A figure back from its JSON form (``kind`` says which)."""
    kind = d.get("kind")
    cls = FIGURE_KINDS.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown figure kind {kind!r}; expected one of {sorted(FIGURE_KINDS)}")
    return cls.from_dict(d)  # type: ignore[no-any-return, attr-defined]


def is_figure(value: Any) -> bool:
    return isinstance(value, tuple(FIGURE_KINDS.values()))

