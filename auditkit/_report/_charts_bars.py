"""The figures drawn as horizontal bars: a ranking, rates per group, a table of slices.

Each drawing function takes one typed figure and returns one chart, with a
one-line reading computed from the same numbers for readers who skip charts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from auditkit._figures import GroupRates, Ranking, Reference, SliceTable
from auditkit._report._charts_svg import (
    MAX_BARS,
    MAX_GROUP_METRICS,
    MAX_GROUPS,
    MAX_SLICES,
    NEUTRAL,
    NothingToDraw,
    WIDTH,
    BarSpec,
    Chart,
    Shape,
    bar_chart,
    bars_panel,
    label_width,
    more_note,
    sentence,
    severity_colour,
    plain,
    severity_legend,
    short,
    span,
)
from auditkit._report._common import describe_slice, fmt_number, truncate

__all__ = ["draw_group_rates", "draw_ranking", "draw_slice_table"]

READING_LABEL_CHARS = 60


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _unit(values: Sequence[float | None]) -> bool:
    return all(v is None or 0.0 <= v <= 1.0 for v in values)


def _whiskers(bars: Sequence[BarSpec], caption: str) -> str:
    """Say what the whiskers are, unless the probe's caption already does."""
    drawn = any(b.low is not None and b.high is not None for b in bars)
    return " Whiskers: 95% confidence intervals." if drawn and "interval" not in caption.lower() else ""


# --- ranking ---------------------------------------------------------------------------


def draw_ranking(fig: Ranking) -> Chart:
    """Bars in the probe's order (most suspect first), coloured by the severity of their finding."""
    if not fig.bars:
        raise NothingToDraw("nothing was ranked.")
    shown = fig.bars[:MAX_BARS]
    bars = [BarSpec(b.label, _finite(b.value), b.low, b.high, severity_colour(b.severity), b.note) for b in shown]
    measured = [v for b in bars for v in (b.value, b.low, b.high) if v is not None]
    refs = fig.references
    # A score whose floor is chance (ROC AUC) reads best from chance up: the bar's
    # length is then what the feature adds over guessing.
    chance = next((r.value for r in refs if r.role == "chance"), None)
    floor = chance if chance is not None and measured and min(measured) >= chance else None
    lo, hi = span(measured + [r.value for r in refs], unit=_unit(measured + [r.value for r in refs]), floor=floor)
    caption = fig.caption + more_note(len(shown), len(fig.bars), "items")
    caption += _whiskers(bars, fig.caption)
    if floor is not None:
        caption += f" The axis starts at chance ({fmt_number(floor)})."
    return bar_chart(
        "ranking",
        fig.title,
        bars,
        lo=lo,
        hi=hi,
        refs=refs,
        caption=caption.strip(),
        legend=severity_legend([b.severity for b in shown]),
        reading=ranking_reading(fig),
    )


def ranking_reading(fig: Ranking) -> str:
    """Say "boat ranks first of 14: ROC AUC 0.97, above the threshold line at 0.9 (1 of 14 above it)"."""
    first = next((b for b in fig.bars if _finite(b.value) is not None), None)
    if first is None:
        return ""
    total = max(fig.total or 0, len(fig.bars))
    label = truncate(first.label, READING_LABEL_CHARS)
    text = f"{label} ranks first of {total}: {plain(fig.metric)} {short(first.value)}" if total > 1 else f"{label}: {plain(fig.metric)} {short(first.value)}"
    lines = [r for r in fig.references if r.role == "threshold"]
    if lines:
        line = min(lines, key=lambda r: abs(r.value - first.value))
        above = first.value >= line.value
        beyond = sum(1 for b in fig.bars if _finite(b.value) is not None and (b.value >= line.value) == above)
        side = "above" if above else "below"
        text += f", {side} the {line.label} line at {short(line.value)}"
        if len(fig.bars) < total:  # only the top ones were handed over
            text += f" ({beyond} of the top {len(fig.bars)} {side} it)"
        elif total > 1:
            text += f" ({beyond} of {total} {side} it)"
    model = next((r for r in fig.references if r.role == "model"), None)
    if model is not None:
        text += f"; {model.label}: {short(model.value)}"
    return sentence(text)


# --- rates per group -------------------------------------------------------------------


def draw_group_rates(fig: GroupRates) -> Chart:
    """One panel per metric (at most four), one bar per group (the largest groups first)."""
    if not fig.groups or not fig.metrics:
        raise NothingToDraw(f"no group of {fig.feature!r} was measured.")
    groups = sorted(fig.groups, key=lambda g: -g.count)[:MAX_GROUPS]
    metrics = list(fig.metrics[:MAX_GROUP_METRICS])
    labels = [f"{truncate(g.group, 20)} (n={g.count})" for g in groups]
    lw = label_width(labels, cap=200)
    inner = max(150.0, (WIDTH - lw) / len(metrics))
    shapes: list[Shape] = []
    height = 0.0
    intervals = False
    for p, metric in enumerate(metrics):
        bars = [BarSpec(label, g.values[p], g.lows[p], g.highs[p], colour=NEUTRAL) for g, label in zip(groups, labels)]
        intervals = intervals or any(b.low is not None and b.high is not None for b in bars)
        lo, hi = span([v for b in bars for v in (b.value, b.low, b.high)], unit=fig.unit)
        # Only the first panel carries the group labels; the others line up beside it.
        x0, own = (0.0, lw) if p == 0 else (lw + p * inner - 8, 8.0)
        s, h = bars_panel(bars, x0=x0, y0=8, width=own + inner, label_w=own, lo=lo, hi=hi, heading=metric.replace("_", " "), labels=p == 0)
        shapes.extend(s)
        height = max(height, h)
    caption = fig.caption
    if len(fig.groups) > len(groups):
        caption += f" The {len(groups)} largest of {len(fig.groups)} groups are drawn; the others are in the JSON scorecard."
    if len(fig.metrics) > len(metrics):
        caption += f" {len(fig.metrics) - len(metrics)} more metrics are in the JSON scorecard."
    if intervals and "interval" not in fig.caption.lower():
        caption += " Whiskers: 95% confidence intervals."
    return Chart(
        "group_rates",
        fig.title,
        int(lw + inner * len(metrics)),
        int(height + 16),
        tuple(shapes),
        caption.strip(),
        reading=group_reading(fig),
    )


def group_reading(fig: GroupRates) -> str:
    """The metric whose groups lie furthest apart, with its two extreme groups."""
    best: tuple[float, str, tuple[float, str], tuple[float, str]] | None = None
    for p, metric in enumerate(fig.metrics):
        measured = [(g.values[p], g.group) for g in fig.groups if g.values[p] is not None]
        if len(measured) < 2:
            continue
        high, low = max(measured), min(measured)
        scale = max(abs(high[0]), abs(low[0]))
        gap = (high[0] - low[0]) / scale if scale else 0.0
        if best is None or gap > best[0]:
            best = (gap, metric, high, low)
    if best is None:
        return ""
    gap, metric, high, low = best
    name = plain(metric.replace("_", " "))
    if gap == 0:
        return sentence(f"{name} is {short(high[0])} in every group of {fig.feature}")
    return sentence(
        f"{name} differs most across {fig.feature}: {short(high[0])} for {truncate(high[1], READING_LABEL_CHARS)} "
        f"against {short(low[0])} for {truncate(low[1], READING_LABEL_CHARS)}"
    )


# --- slices ----------------------------------------------------------------------------


def draw_slice_table(fig: SliceTable) -> Chart:
    """Each slice's error (with interval) against the error over all rows."""
    if not fig.slices:
        raise NothingToDraw("no slice stood out.")
    shown = fig.slices[:MAX_SLICES]
    bars = [
        BarSpec(describe_slice(s.conditions), _finite(s.error), s.low, s.high, severity_colour(s.severity), f"n={s.support}")
        for s in shown
    ]
    refs = (Reference(fig.overall, "overall", "overall"),) if fig.overall is not None else ()
    values = [v for b in bars for v in (b.value, b.low, b.high)] + [r.value for r in refs]
    lo, hi = span(values, unit=_unit(values))
    caption = fig.caption + " n is the slice's support."
    caption += more_note(len(shown), len(fig.slices), "slices")
    caption += _whiskers(bars, fig.caption)
    return bar_chart(
        "slice_table",
        fig.title,
        bars,
        lo=lo,
        hi=hi,
        refs=refs,
        caption=caption.strip(),
        legend=severity_legend([s.severity for s in shown]),
        reading=slice_reading(fig),
    )


def slice_reading(fig: SliceTable) -> str:
    """Say "error rate is 0.41 where age >= 60 (321 rows), 2.7 times the 0.15 overall"."""
    first = next((s for s in fig.slices if _finite(s.error) is not None), None)
    if first is None:
        return ""
    where = truncate(describe_slice(first.conditions), 90)
    text = f"{plain(fig.metric)} is {short(first.error)} where {where} ({first.support} rows)"
    if fig.overall is not None:
        if fig.overall > 0:
            text += f", {first.error / fig.overall:.1f} times the {short(fig.overall)} overall"
        else:
            text += f", against {short(fig.overall)} overall"
    return sentence(text)
