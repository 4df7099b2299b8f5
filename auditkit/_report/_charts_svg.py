"""The drawing vocabulary of the report's charts: SVG elements as plain shapes,
the caps on what one chart draws, the colours, and the panel of horizontal bars
that rankings, group rates and slice tables share.

Shapes are data, drawn by the template, so every label and tooltip (which may
come from a column name or a group value) passes through jinja2's escaping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from auditkit._figures import Reference
from auditkit._report._common import fmt_number, truncate
from auditkit._values import Severity

__all__ = [
    "LABEL_CHARS",
    "MAX_BARS",
    "MAX_CURVE_POINTS",
    "MAX_FIGURES",
    "MAX_GRID_COLUMNS",
    "MAX_GRID_ROWS",
    "MAX_GROUPS",
    "MAX_GROUP_METRICS",
    "MAX_SLICES",
    "NO_FINDING",
    "NothingToDraw",
    "OUTCOME_COLOURS",
    "SEVERITY_COLOURS",
    "WIDTH",
    "BarSpec",
    "Chart",
    "Shape",
    "bar_chart",
    "bars_panel",
    "label_width",
    "plain",
    "shape",
    "short",
    "span",
]

# Caps on what one chart draws; the JSON scorecard keeps everything.
MAX_FIGURES = 12  # per probe
MAX_BARS = 20
MAX_GROUPS = 16
MAX_GROUP_METRICS = 4
MAX_SLICES = 15
MAX_GRID_ROWS = 30
MAX_GRID_COLUMNS = 30
MAX_CURVE_POINTS = 300
LABEL_CHARS = 42
MAX_TOOLTIP_CHARS = 240

WIDTH = 760
CHAR_W = 6.4  # average glyph width of the 11px sans-serif labels
_ALLOWED_TAGS = frozenset({"rect", "line", "text", "polyline", "circle", "g"})
_ATTR_NAME = re.compile(r"[a-z][a-z0-9-]*")

SEVERITY_COLOURS: dict[Severity, str] = {
    Severity.CRITICAL: "#880e4f",
    Severity.HIGH: "#c62828",
    Severity.MEDIUM: "#ef6c00",
    Severity.LOW: "#0288d1",
    Severity.INFO: "#7986cb",
}
NO_FINDING = "#b0bec5"
NEUTRAL = "#5c6bc0"

# One colour per outcome, every one distinct: an overflow is never drawn as
# handled, and a cell the budget never reached is never drawn as handled either.
OUTCOME_COLOURS: dict[str, str] = {
    "silent_corruption": "#c62828",
    "crashed": "#ef6c00",
    "overflow": "#8e24aa",
    "rejected": "#1565c0",
    "handled": "#2e7d32",
    "not_run": "#eceff1",
    "skipped": "#9e9e9e",
}


class NothingToDraw(Exception):
    """A figure with nothing in it: the report says why instead of drawing an empty frame."""


@dataclass(frozen=True)
class Shape:
    """One SVG element: its tag, attributes, text, and a tooltip (``<title>``)."""

    tag: str
    attrs: tuple[tuple[str, str], ...]
    text: str | None = None
    tooltip: str | None = None

    def __post_init__(self) -> None:
        # Tags and attribute names come from these modules only; values and text
        # may come from data and are escaped by the template.
        if self.tag not in _ALLOWED_TAGS:
            raise ValueError(f"unexpected SVG tag {self.tag!r}")
        for name, _ in self.attrs:
            if not _ATTR_NAME.fullmatch(name):
                raise ValueError(f"unexpected SVG attribute {name!r}")

    def attr(self, name: str) -> str | None:
        return dict(self.attrs).get(name)


@dataclass(frozen=True)
class Chart:
    """A figure as the page draws it: shapes, a legend, a caption, and a one-line reading."""

    kind: str
    title: str
    width: int
    height: int
    shapes: tuple[Shape, ...]
    caption: str = ""
    legend: tuple[tuple[str, str], ...] = field(default=())  # (colour, label)
    reading: str = ""

    @property
    def weight(self) -> int:
        """About how many characters the chart takes in the page."""
        return 300 + len(self.reading) + len(self.caption) + sum(
            40 + len(s.text or "") + len(s.tooltip or "") + sum(len(k) + len(v) + 4 for k, v in s.attrs)
            for s in self.shapes
        )


def n(x: float) -> str:
    """A coordinate, short."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def shape(tag: str, text: str | None = None, tooltip: str | None = None, **attrs: Any) -> Shape:
    # ``class_`` stands for ``class``; other underscores are SVG's hyphens (text_anchor).
    pairs = tuple((k.rstrip("_").replace("_", "-"), n(v) if isinstance(v, float) else str(v)) for k, v in attrs.items())
    return Shape(tag, pairs, text, None if tooltip is None else truncate(tooltip, MAX_TOOLTIP_CHARS))


def severity_colour(severity: Severity | None) -> str:
    return NO_FINDING if severity is None else SEVERITY_COLOURS[severity]


def severity_legend(present: Sequence[Severity | None]) -> tuple[tuple[str, str], ...]:
    """Legend entries for the severities drawn, worst first, then "no finding"."""
    seen = set(present)
    legend = tuple((SEVERITY_COLOURS[s], f"{s.value} finding") for s in sorted((s for s in seen if s is not None), reverse=True))
    return legend + (((NO_FINDING, "no finding"),) if None in seen else ())


@dataclass(frozen=True)
class BarSpec:
    """One bar as a panel draws it."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    colour: str = NEUTRAL
    note: str = ""


def span(values: Sequence[float | None], *, unit: bool = False, floor: float | None = None) -> tuple[float, float]:
    """The range a bar panel spans: from 0 (or ``floor``) to a little past the largest
    value, so bars of small rates are not squeezed into the left tenth of a 0-1 axis."""
    finite = [v for v in values if v is not None]
    if not finite:
        return 0.0, 1.0
    lo = floor if floor is not None else min(0.0, min(finite))
    hi = max(finite + [lo])
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    hi += pad
    if unit:
        lo, hi = max(0.0, lo), min(1.0, hi)
    if lo < 0 and floor is None:
        lo -= pad
    return lo, (hi if hi > lo else lo + 1.0)


def label_width(labels: Sequence[str], cap: float = 270.0) -> float:
    longest = max((len(truncate(s, LABEL_CHARS)) for s in labels), default=4)
    return min(cap, 12 + longest * CHAR_W)


def bars_panel(
    bars: Sequence[BarSpec],
    *,
    x0: float,
    y0: float,
    width: float,
    label_w: float,
    lo: float,
    hi: float,
    refs: Sequence[Reference] = (),
    heading: str | None = None,
    labels: bool = True,
) -> tuple[list[Shape], float]:
    """Bars from ``lo`` to ``hi`` in a panel; returns the shapes and the panel's height."""
    shapes: list[Shape] = []
    row_h, top = 18.0, y0 + (16.0 if heading else 0.0)
    if heading:
        shapes.append(shape("text", heading, x=x0 + label_w, y=y0 + 11, class_="panel"))
    plot_w = max(40.0, width - label_w - 54)
    extent = (hi - lo) or 1.0

    def px(v: float) -> float:
        return x0 + label_w + (min(max(v, lo), hi) - lo) / extent * plot_w

    fits = max(3, int((label_w - 10) / CHAR_W))
    for i, b in enumerate(bars):
        y = top + i * row_h
        if labels:
            shapes.append(shape("text", truncate(b.label, min(fits, LABEL_CHARS)), x=x0 + label_w - 6, y=y + 12, class_="label", text_anchor="end"))
        if b.value is None:
            shapes.append(shape("text", "n/a", tooltip=f"{b.label}: not measured", x=px(lo) + 4, y=y + 12, class_="value"))
            continue
        base, end = px(max(lo, min(0.0, hi))), px(b.value)
        tip = f"{b.label}: {fmt_number(b.value)}"
        if b.low is not None and b.high is not None:
            tip += f" (95% CI {fmt_number(b.low)} to {fmt_number(b.high)})"
        if b.note:
            tip += f"; {b.note}"
        shapes.append(shape("rect", tooltip=tip, x=min(base, end), y=y + 3, width=max(1.0, abs(end - base)), height=row_h - 6, fill=b.colour, class_="bar"))
        if b.low is not None and b.high is not None:
            a, c = px(b.low), px(b.high)
            shapes.append(shape("line", x1=a, x2=c, y1=y + row_h / 2, y2=y + row_h / 2, class_="ci"))
            shapes.append(shape("line", x1=a, x2=a, y1=y + 5, y2=y + row_h - 5, class_="ci"))
            shapes.append(shape("line", x1=c, x2=c, y1=y + 5, y2=y + row_h - 5, class_="ci"))
        value_x = max(end, px(b.high) if b.high is not None else end) + 4
        value = fmt_number(b.value)
        room = int((x0 + width - value_x) / CHAR_W)  # the note is cut to what fits; the tooltip has it whole
        if room >= len(value):
            text = truncate(value + (f"  {b.note}" if b.note else ""), room)
            shapes.append(shape("text", text, x=value_x, y=y + 12, class_="value"))
        else:  # a whisker reaching the edge: the value goes at the edge, read right to left
            shapes.append(shape("text", value, x=x0 + width - 2, y=y + 12, class_="value", text_anchor="end"))
    bottom = top + len(bars) * row_h
    drawn = 0
    for ref in refs:
        if lo <= ref.value <= hi:
            x = px(ref.value)
            shapes.append(shape("line", tooltip=f"{ref.label}: {fmt_number(ref.value)}", x1=x, x2=x, y1=top - 2, y2=bottom + 2, class_=f"ref-{ref.role}"))
            # One line of labels each, so two nearby references never overprint.
            shapes.append(shape("text", f"{ref.label} {fmt_number(ref.value)}", x=x, y=bottom + 13 + 12 * drawn, class_="reflabel", text_anchor="middle"))
            drawn += 1
    shapes.append(shape("line", x1=x0 + label_w, x2=x0 + label_w + plot_w, y1=bottom + 1, y2=bottom + 1, class_="axis"))
    return shapes, bottom + 6.0 + 12 * drawn - y0


def bar_chart(
    kind: str,
    title: str,
    bars: Sequence[BarSpec],
    *,
    lo: float,
    hi: float,
    refs: Sequence[Reference] = (),
    caption: str = "",
    legend: tuple[tuple[str, str], ...] = (),
    reading: str = "",
) -> Chart:
    lw = label_width([b.label for b in bars])
    shapes, h = bars_panel(bars, x0=0, y0=8, width=WIDTH, label_w=lw, lo=lo, hi=hi, refs=refs)
    return Chart(kind, title, WIDTH, int(h + 16), tuple(shapes), caption, legend, reading)


def sentence(text: str) -> str:
    """A reading as a sentence: capital first, full stop last."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def plain(label: str) -> str:
    """An axis or metric label as a sentence names it: without its parenthesis
    ("threshold (positive when the score is at least it)" -> "threshold")."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", label) or label


def short(value: float) -> str:
    """A number in a reading: two significant digits ("0.14", "0.094"), whole when large."""
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2g}"


def more_note(drawn: int, total: int, what: str) -> str:
    """Say that only the first ``drawn`` of ``total`` are drawn ("" when all are)."""
    if total <= drawn:
        return ""
    return f" The first {drawn} of {total} {what} are drawn; the other {total - drawn} are in the JSON scorecard."
