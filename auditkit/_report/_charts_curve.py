"""A curve drawn as a line, zoomed on the range that matters.

A cost curve over every threshold from 0 to 1 spans, at its two ends, the cost
of flagging everyone and of flagging no one: on the Titanic demo those are 0.62
and 1.9, while every threshold worth discussing costs between 0.08 and 0.12. An
axis fitted to the extremes draws that region as a flat line at the bottom. So
when the probe marks points (the current and optimal thresholds) or levels
(the current rule's cost), the axes are fitted to them and to the stretch of
curve around them; what falls outside is clipped, and the caption says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from auditkit._figures import Curve, Marker, Reference
from auditkit._report._charts_svg import (
    MAX_CURVE_POINTS,
    WIDTH,
    Chart,
    NothingToDraw,
    Shape,
    n,
    plain,
    sentence,
    shape,
    short,
)
from auditkit._report._common import fmt_number

__all__ = ["Window", "draw_curve", "focus_window"]

ROLE_COLOURS = {"current": "#c62828", "optimal": "#2e7d32", "bayes": "#6a1b9a", "threshold": "#c62828"}
OTHER_COLOUR = "#546e7a"
# How far past the marked costs the y axis reaches, in units of their spread:
# enough to see the curve climb away on both sides, not so far that it flattens.
HEADROOM = 3.0
# Zooming pays only when it magnifies an axis by at least this much.
WORTH_ZOOMING = 1.5

LEFT, RIGHT, TOP, PLOT_H = 64.0, 24.0, 14.0, 220.0


@dataclass(frozen=True)
class Window:
    """The part of the plane a curve chart shows; ``clipped`` when the curve leaves it."""

    x_lo: float
    x_hi: float
    y_lo: float
    y_hi: float
    clipped: bool = False


def _interpolate(xs: np.ndarray, ys: np.ndarray, x: float) -> float:
    return float(np.interp(x, xs, ys))


def focus_window(xs: np.ndarray, ys: np.ndarray, marks: Sequence[tuple[float, float]], levels: Sequence[float]) -> Window:
    """The axes' ranges: the marked points and levels, the curve between them, and
    the stretch on either side that stays within a few spreads of their values."""
    full = Window(float(xs.min()), float(xs.max()), min([float(ys.min()), *levels]), max([float(ys.max()), *levels]))
    if not marks and not levels:
        return full
    focus = [y for _, y in marks] + list(levels)
    if marks:
        between = (xs >= min(x for x, _ in marks)) & (xs <= max(x for x, _ in marks))
        focus += ys[between].tolist()
    else:  # a level alone (the current rule's cost): set it against the best of the curve
        focus.append(float(ys.min()))
    f_lo, f_hi = min(focus), max(focus)
    spread = max(f_hi - f_lo, 0.05 * max(abs(f_lo), abs(f_hi)), 0.005 * (full.y_hi - full.y_lo))
    if spread <= 0:
        return full
    ceiling, bottom = f_hi + HEADROOM * spread, f_lo - HEADROOM * spread
    near = (ys <= ceiling) & (ys >= bottom)
    if near.any():
        x_lo, x_hi = float(xs[near].min()), float(xs[near].max())
    else:
        x_lo, x_hi = (min(x for x, _ in marks), max(x for x, _ in marks)) if marks else (full.x_lo, full.x_hi)
    for x, _ in marks:
        x_lo, x_hi = min(x_lo, x), max(x_hi, x)
    narrowest = 0.02 * (full.x_hi - full.x_lo)  # a steep curve still gets a stretch of x to be read on
    if x_hi - x_lo < narrowest:
        middle = (x_lo + x_hi) / 2
        x_lo, x_hi = max(full.x_lo, middle - narrowest / 2), min(full.x_hi, middle + narrowest / 2)
    inside = ys[(xs >= x_lo) & (xs <= x_hi)]
    y_lo = max(bottom, float(inside.min())) if inside.size else f_lo
    y_hi = min(ceiling, float(inside.max())) if inside.size else f_hi
    y_lo, y_hi = min(y_lo, f_lo), max(y_hi, f_hi)
    if y_hi <= y_lo:
        y_lo, y_hi = y_lo - spread, y_hi + spread
    gain_y = (full.y_hi - full.y_lo) / (y_hi - y_lo)
    gain_x = (full.x_hi - full.x_lo) / ((x_hi - x_lo) or 1.0)
    if gain_y < WORTH_ZOOMING and gain_x < WORTH_ZOOMING:
        return full
    outside = (xs < x_lo) | (xs > x_hi) | (ys < y_lo) | (ys > y_hi)
    return Window(x_lo, x_hi, y_lo, y_hi, clipped=bool(outside.any()))


def _clip(p: tuple[float, float], q: tuple[float, float], w: Window) -> tuple[tuple[float, float], tuple[float, float], bool, bool] | None:
    """The part of segment p-q inside the window (Liang-Barsky), and whether each end was cut."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    t0, t1 = 0.0, 1.0
    for pk, qk in ((-dx, p[0] - w.x_lo), (dx, w.x_hi - p[0]), (-dy, p[1] - w.y_lo), (dy, w.y_hi - p[1])):
        if pk == 0:
            if qk < 0:
                return None
            continue
        r = qk / pk
        if pk < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
    if t0 > t1:
        return None
    return (p[0] + t0 * dx, p[1] + t0 * dy), (p[0] + t1 * dx, p[1] + t1 * dy), t0 > 0, t1 < 1


def _runs(xs: np.ndarray, ys: np.ndarray, w: Window) -> list[list[tuple[float, float]]]:
    """The curve cut to the window: one run of points per stretch that stays inside."""
    runs: list[list[tuple[float, float]]] = []
    open_run = False
    for i in range(len(xs) - 1):
        seg = _clip((float(xs[i]), float(ys[i])), (float(xs[i + 1]), float(ys[i + 1])), w)
        if seg is None:
            open_run = False
            continue
        a, b, cut_start, cut_end = seg
        if not open_run or cut_start:
            runs.append([a])
        runs[-1].append(b)
        open_run = not cut_end
    return runs


def _thin(xs: np.ndarray, ys: np.ndarray, keep: Sequence[int], limit: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` points, evenly spread, always with the ones in ``keep`` (the minimum)."""
    if len(xs) <= limit:
        return xs, ys
    idx = np.unique(np.concatenate([np.linspace(0, len(xs) - 1, limit - len(keep)).astype(int), np.asarray(keep, dtype=int)]))
    return xs[idx], ys[idx]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values (steps of 1, 2 or 5 times a power of ten) between lo and hi, at most count + 1 of them."""
    if not hi > lo:
        return [lo]
    power = 10 ** math.floor(math.log10((hi - lo) / count))
    for m in (1, 2, 5, 10, 20):
        step = m * power
        first = math.ceil(lo / step - 1e-9)
        last = math.floor(hi / step + 1e-9)
        if last - first + 1 <= count + 1:
            return [round(k * step, 12) for k in range(first, last + 1)]
    return [lo, hi]


def draw_curve(fig: Curve) -> Chart:
    xs = np.asarray(fig.x, dtype=float)
    ys = np.asarray(fig.y, dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    if len(xs) < 2:
        raise NothingToDraw("one point is no curve.")
    markers = [(m, m.y if m.y is not None else _interpolate(xs, ys, m.x)) for m in fig.markers if math.isfinite(m.x)]
    levels = [r for r in fig.levels if math.isfinite(r.value)]
    w = focus_window(xs, ys, [(m.x, y) for m, y in markers], [r.value for r in levels])
    # Thin what lies in the window (and one point either side, to leave it by), not the whole curve.
    lo_i = max(0, int(np.searchsorted(xs, w.x_lo, side="left")) - 1)
    hi_i = min(len(xs), int(np.searchsorted(xs, w.x_hi, side="right")) + 1)
    part_x, part_y = xs[lo_i:hi_i], ys[lo_i:hi_i]
    keep = [int(np.argmin(part_y)), 0, len(part_x) - 1]
    part_x, part_y = _thin(part_x, part_y, keep, MAX_CURVE_POINTS)
    pad = (w.y_hi - w.y_lo) * 0.06
    box = Window(w.x_lo, w.x_hi, w.y_lo - pad, w.y_hi + pad)
    plot_w = WIDTH - LEFT - RIGHT
    x_span, y_span = (box.x_hi - box.x_lo) or 1.0, (box.y_hi - box.y_lo) or 1.0

    def px(x: float) -> float:
        return LEFT + (x - box.x_lo) / x_span * plot_w

    def py(y: float) -> float:
        return TOP + PLOT_H - (y - box.y_lo) / y_span * PLOT_H

    shapes: list[Shape] = [
        shape("line", x1=LEFT, x2=LEFT + plot_w, y1=TOP + PLOT_H, y2=TOP + PLOT_H, class_="axis"),
        shape("line", x1=LEFT, x2=LEFT, y1=TOP, y2=TOP + PLOT_H, class_="axis"),
    ]
    for v in nice_ticks(box.x_lo, box.x_hi):
        shapes.append(shape("text", fmt_number(v), x=px(v), y=TOP + PLOT_H + 14, class_="label tick", text_anchor="middle"))
    for v in nice_ticks(box.y_lo, box.y_hi):
        shapes.append(shape("text", fmt_number(v), x=LEFT - 6, y=py(v) + 4, class_="label tick", text_anchor="end"))
    shapes.append(shape("text", fig.x_label, x=LEFT + plot_w / 2, y=TOP + PLOT_H + 30, class_="label", text_anchor="middle"))
    turn = f"rotate(-90 12 {n(TOP + PLOT_H / 2)})"
    shapes.append(shape("text", fig.y_label, x=12, y=TOP + PLOT_H / 2, class_="label", text_anchor="middle", transform=turn))
    drawn = 0
    for run in _runs(part_x, part_y, box):
        if len(run) >= 2:
            shapes.append(shape("polyline", points=" ".join(f"{n(px(x))},{n(py(y))}" for x, y in run), class_="curve"))
            drawn += len(run)
    legend = [("#37474f", fig.y_label)]
    for ref in levels:
        colour = ROLE_COLOURS.get(ref.role, OTHER_COLOUR)
        y = py(ref.value)
        shapes.append(shape("line", tooltip=f"{ref.label}: {fmt_number(ref.value)}", x1=LEFT, x2=LEFT + plot_w, y1=y, y2=y, class_=f"ref-{ref.role}"))
        legend.append((colour, f"{ref.label} {fmt_number(ref.value)}"))
    for m, y in markers:
        colour = ROLE_COLOURS.get(m.role, OTHER_COLOUR)
        tip = f"{m.label} {fmt_number(m.x)}: {fig.y_label} {fmt_number(y)}"
        shapes.append(shape("line", tooltip=tip, x1=px(m.x), x2=px(m.x), y1=TOP, y2=TOP + PLOT_H, class_=f"ref-{m.role}"))
        shapes.append(shape("circle", tooltip=tip, cx=px(m.x), cy=py(y), r=4.0, fill=colour))
        legend.append((colour, f"{m.label} {fmt_number(m.x)}"))
    caption = " ".join(part for part in (fig.caption, zoom_caption(fig, xs, ys, w), f"({drawn} points drawn.)") if part)
    return Chart("curve", fig.title, WIDTH, int(TOP + PLOT_H + 40), tuple(shapes), caption, tuple(legend), curve_reading(fig, markers, levels, xs, ys))


def zoom_caption(fig: Curve, xs: np.ndarray, ys: np.ndarray, w: Window) -> str:
    """What the zoom leaves out, in numbers."""
    if not w.clipped:
        return ""
    worst = int(np.argmax(ys))
    text = f"Zoomed on the marked points: {plain(fig.x_label)} {short(w.x_lo)} to {short(w.x_hi)}"
    if w.x_lo > xs[0] or w.x_hi < xs[-1]:
        text += f" (of {short(float(xs[0]))} to {short(float(xs[-1]))})"
    text += f" and {plain(fig.y_label)} {short(w.y_lo)} to {short(w.y_hi)}; the extremes are clipped"
    if ys[worst] > w.y_hi:
        text += f" (the highest, {short(float(ys[worst]))}, at {plain(fig.x_label)} {short(float(xs[worst]))})"
    low = int(np.argmin(ys))
    if ys[low] < w.y_lo:
        text += f" (the lowest, {short(float(ys[low]))}, at {plain(fig.x_label)} {short(float(xs[low]))})"
    return text + "."


def _pct(a: float, b: float) -> str:
    return f"{abs(b - a) / abs(a) * 100:.0f}%"


def curve_reading(
    fig: Curve, markers: Sequence[tuple[Marker, float]], levels: Sequence[Reference], xs: np.ndarray, ys: np.ndarray
) -> str:
    """Say "expected cost falls 19% if the threshold moves from 0.17 to 0.14 (0.094 to 0.076)"."""
    what, where = plain(fig.y_label), plain(fig.x_label)
    optimal = next(((m.x, y) for m, y in markers if m.role == "optimal"), None)
    current = next(((m.x, y) for m, y in markers if m.role == "current"), None)
    if current is not None:
        cost_now, now, moves = current[1], f"{where} {short(current[0])}", f"the {where} moves from {short(current[0])}"
    else:  # the current rule may be the model's own decision, with a cost but no threshold
        rule = next((r.value for r in levels if r.role == "current"), None)
        cost_now, now, moves = rule, "the current rule", "the current rule gives way to"
    if optimal is not None and cost_now is not None:
        if abs(optimal[1] - cost_now) <= 0.005 * abs(cost_now):
            return sentence(f"{now} is already at the optimum: {what} {short(cost_now)}")
        change = "falls" if optimal[1] < cost_now else "rises"
        size = f" {_pct(cost_now, optimal[1])}" if cost_now else ""
        to = f" to {short(optimal[0])}" if current is not None else f" {where} {short(optimal[0])}"
        return sentence(f"{what} {change}{size} if {moves}{to} ({short(cost_now)} to {short(optimal[1])})")
    if optimal is not None:
        return sentence(f"{what} is lowest at {where} {short(optimal[0])}: {short(optimal[1])}")
    low, high = int(np.argmin(ys)), int(np.argmax(ys))
    return sentence(
        f"{what} runs from {short(float(ys[low]))} at {where} {short(float(xs[low]))} "
        f"to {short(float(ys[high]))} at {where} {short(float(xs[high]))}"
    )
