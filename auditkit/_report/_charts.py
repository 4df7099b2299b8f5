"""Charts for the HTML report, computed here as plain shapes and drawn as inline SVG
by the template (so every label passes through jinja2's escaping).

Each builder reads a probe's metrics and returns charts, or nothing when the
metrics it draws from are absent or shaped otherwise: a report shows a
section without its chart rather than fail. Every chart caps what it draws
(top features, groups, slices, grid cells, curve points) so that the report
stays small however large the audit was.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditkit._report._common import describe_slice, fmt_number, truncate
from auditkit._results import Condition, ProbeResult

__all__ = ["Chart", "Shape", "charts_for"]

# Caps on what one chart draws; the JSON scorecard keeps everything.
MAX_BARS = 20
MAX_GROUPS = 16
MAX_GROUP_FEATURES = 4
MAX_SLICES = 15
MAX_GRID_COLUMNS = 30
MAX_GRID_INJECTIONS = 30
MAX_CURVE_POINTS = 300
MAX_CURVES = 4
LABEL_CHARS = 42
MAX_TOOLTIP_CHARS = 240

WIDTH = 760
_CHAR_W = 6.4  # average glyph width of the 11px sans-serif labels
_ALLOWED_TAGS = frozenset({"rect", "line", "text", "polyline", "circle", "g"})
_ATTR_NAME = re.compile(r"[a-z][a-z0-9-]*")

OUTCOME_COLOURS = {
    "handled": "#2e7d32",
    "rejected": "#1565c0",
    "silent_corruption": "#c62828",
    "crashed": "#ef6c00",
    "skipped": "#9e9e9e",
}


@dataclass(frozen=True)
class Shape:
    """One SVG element: its tag, attributes, text, and a tooltip (``<title>``)."""

    tag: str
    attrs: tuple[tuple[str, str], ...]
    text: str | None = None
    tooltip: str | None = None

    def __post_init__(self) -> None:
        # Tags and attribute names come from this module only; values and text
        # may come from data and are escaped by the template.
        if self.tag not in _ALLOWED_TAGS:
            raise ValueError(f"unexpected SVG tag {self.tag!r}")
        for name, _ in self.attrs:
            if not _ATTR_NAME.fullmatch(name):
                raise ValueError(f"unexpected SVG attribute {name!r}")


@dataclass(frozen=True)
class Chart:
    kind: str
    title: str
    width: int
    height: int
    shapes: tuple[Shape, ...]
    caption: str = ""
    legend: tuple[tuple[str, str], ...] = field(default=())  # (colour, label)

    @property
    def weight(self) -> int:
        """About how many characters the chart takes in the page."""
        return 200 + sum(
            40 + len(s.text or "") + len(s.tooltip or "") + sum(len(k) + len(v) + 4 for k, v in s.attrs)
            for s in self.shapes
        )


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _shape(tag: str, text: str | None = None, tooltip: str | None = None, **attrs: Any) -> Shape:
    # ``class_`` stands for ``class``; other underscores are SVG's hyphens (text_anchor).
    pairs = tuple((k.rstrip("_").replace("_", "-"), _n(v) if isinstance(v, float) else str(v)) for k, v in attrs.items())
    return Shape(tag, pairs, text, None if tooltip is None else truncate(tooltip, MAX_TOOLTIP_CHARS))


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _first(d: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return None


def _interval(d: Mapping[str, Any], metric: str) -> tuple[float, float] | None:
    """A CI for ``metric`` in an entry: ``{metric}_ci: [lo, hi]``, ``{metric}_ci_low/high``,
    or ``ci: {metric: [lo, hi]}`` / ``ci: [lo, hi]``."""
    candidates = [d.get(f"{metric}_ci")]
    for low_key, high_key in ((f"{metric}_ci_low", f"{metric}_ci_high"), ("ci_low", "ci_high")):
        lo, hi = _num(d.get(low_key)), _num(d.get(high_key))
        if lo is not None and hi is not None:
            return (min(lo, hi), max(lo, hi))
    ci = d.get("ci")
    candidates.append(ci.get(metric) if isinstance(ci, Mapping) else ci)
    for c in candidates:
        if isinstance(c, Mapping):
            c = [_first(c, ("low", "lo", "lower")), _first(c, ("high", "hi", "upper"))]
        if isinstance(c, (list, tuple)) and len(c) == 2:
            a, b = _num(c[0]), _num(c[1])
            if a is not None and b is not None:
                return (min(a, b), max(a, b))
    return None


def _wilson(rate: float, n: int) -> tuple[float, float] | None:
    """95% Wilson interval of a proportion (when the probe gave none but the count is known)."""
    if n <= 0 or not 0 <= rate <= 1:
        return None
    from scipy.stats import binomtest

    k = int(round(rate * n))
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return (float(ci.low), float(ci.high))


# --- horizontal bars -----------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    low: float | None = None
    high: float | None = None
    colour: str = "#5c6bc0"
    note: str = ""


def _bars_panel(
    bars: Sequence[Bar],
    *,
    x0: float,
    y0: float,
    width: float,
    label_w: float,
    lo: float,
    hi: float,
    refs: Sequence[tuple[float, str, str]] = (),
    heading: str | None = None,
) -> tuple[list[Shape], float]:
    """Bars from ``lo`` to ``hi`` in a panel; returns the shapes and the panel's height."""
    shapes: list[Shape] = []
    row_h, top = 18.0, y0 + (16.0 if heading else 0.0)
    if heading:
        shapes.append(_shape("text", heading, x=x0 + label_w, y=y0 + 11, class_="panel"))
    plot_w = max(40.0, width - label_w - 54)
    span = (hi - lo) or 1.0

    def px(v: float) -> float:
        return x0 + label_w + (min(max(v, lo), hi) - lo) / span * plot_w

    fits = max(3, int((label_w - 10) / _CHAR_W))
    for i, b in enumerate(bars):
        y = top + i * row_h
        shapes.append(_shape("text", truncate(b.label, min(fits, LABEL_CHARS)), x=x0 + label_w - 6, y=y + 12, class_="label", text_anchor="end"))
        base = px(max(lo, min(0.0, hi)))
        end = px(b.value)
        tip = f"{b.label}: {fmt_number(b.value)}"
        if b.low is not None and b.high is not None:
            tip += f" (95% CI {fmt_number(b.low)} to {fmt_number(b.high)})"
        if b.note:
            tip += f"; {b.note}"
        width = max(1.0, abs(end - base))
        shapes.append(
            _shape("rect", tooltip=tip, x=min(base, end), y=y + 3, width=width, height=row_h - 6, fill=b.colour, class_="bar")
        )
        if b.low is not None and b.high is not None:
            a, c = px(b.low), px(b.high)
            shapes.append(_shape("line", x1=a, x2=c, y1=y + row_h / 2, y2=y + row_h / 2, class_="ci"))
            shapes.append(_shape("line", x1=a, x2=a, y1=y + 5, y2=y + row_h - 5, class_="ci"))
            shapes.append(_shape("line", x1=c, x2=c, y1=y + 5, y2=y + row_h - 5, class_="ci"))
        value_x = max(end, px(b.high) if b.high is not None else end) + 4
        shapes.append(_shape("text", fmt_number(b.value) + (f"  {b.note}" if b.note else ""), x=value_x, y=y + 12, class_="value"))
    bottom = top + len(bars) * row_h
    drawn = 0
    for value, label, cls in refs:
        if lo <= value <= hi:
            x = px(value)
            shapes.append(_shape("line", tooltip=f"{label}: {fmt_number(value)}", x1=x, x2=x, y1=top - 2, y2=bottom + 2, class_=cls))
            # One line of labels each, so two nearby references never overprint.
            y = bottom + 13 + 12 * drawn
            shapes.append(_shape("text", f"{label} {fmt_number(value)}", x=x, y=y, class_="reflabel", text_anchor="middle"))
            drawn += 1
    axis_y = bottom + 6.0 + 12 * drawn
    shapes.append(_shape("line", x1=x0 + label_w, x2=x0 + label_w + plot_w, y1=bottom + 1, y2=bottom + 1, class_="axis"))
    return shapes, axis_y - y0


def _label_width(labels: Sequence[str], cap: float = 270.0) -> float:
    longest = max((len(truncate(s, LABEL_CHARS)) for s in labels), default=4)
    return min(cap, 12 + longest * _CHAR_W)


def _bar_chart(kind: str, title: str, bars: list[Bar], *, lo: float, hi: float, refs=(), caption: str = "", legend=()) -> Chart:
    label_w = _label_width([b.label for b in bars])
    shapes, h = _bars_panel(bars, x0=0, y0=8, width=WIDTH, label_w=label_w, lo=lo, hi=hi, refs=refs)
    return Chart(kind, title, WIDTH, int(h + 16), tuple(shapes), caption, tuple(legend))


def _bounds(values: Sequence[float], *, unit: bool = False) -> tuple[float, float]:
    if unit and all(0 <= v <= 1 for v in values):
        return 0.0, 1.0
    lo, hi = min(values + [0.0]), max(values + [0.0])
    pad = (hi - lo) * 0.05 or 1.0
    return (lo - pad if lo < 0 else 0.0), hi + pad


# --- target leakage: the ranking --------------------------------------------------------

_RANK_KEYS = ("ranking", "feature_ranking", "single_feature", "feature_power", "features")
_SCORE_KEYS = ("power", "score", "roc_auc", "auc", "r2", "value")
_SEVERITY_COLOURS = {"critical": "#880e4f", "high": "#c62828", "medium": "#ef6c00", "low": "#0288d1", "info": "#5c6bc0"}
_METRIC_NAMES = {"roc_auc": "ROC AUC", "auc": "ROC AUC", "r2": "R\u00b2", "accuracy": "accuracy"}


def leakage_ranking(result: ProbeResult) -> list[Chart]:
    m = result.metrics
    raw = _first(m, _RANK_KEYS)
    rows: list[Bar] = []
    # Features named by a finding other than "the whole model is too good", which names the suspects.
    flagged = {f for fd in result.findings if fd.code != "too_good_to_be_true" for f in fd.features}
    if isinstance(raw, Mapping):
        raw = [{"feature": k, "score": v} for k, v in raw.items()]
    if not isinstance(raw, list):
        return []
    for entry in raw:
        if not isinstance(entry, Mapping):
            continue
        name = _first(entry, ("feature", "name", "column"))
        value = _num(_first(entry, _SCORE_KEYS))
        if name is None or value is None:
            continue
        key = next((k for k in _SCORE_KEYS if _num(entry.get(k)) is not None), "score")
        ci = _interval(entry, key)
        std = _num(_first(entry, ("std", f"{key}_std", "cv_std")))
        if ci is None and std is not None:
            ci = (value - 1.96 * std, value + 1.96 * std)
        label = str(name) + (" (missingness)" if entry.get("missingness") or entry.get("kind") == "missingness" else "")
        severity = entry.get("severity")
        if isinstance(severity, str) and severity in _SEVERITY_COLOURS:
            colour = _SEVERITY_COLOURS[severity] if severity != "info" else "#9fa8da"
        else:
            colour = "#c62828" if str(name) in flagged else "#9fa8da"
        rows.append(Bar(label, value, *(ci or (None, None)), colour=colour))
    if not rows:
        return []
    rows.sort(key=lambda b: -b.value)
    shown = rows[:MAX_BARS]
    values = [b.value for b in shown] + [v for b in shown for v in (b.low, b.high) if v is not None]
    lo, hi = _bounds(values, unit=True)
    refs = []
    for keys, label, cls in (
        (("threshold", "power_threshold", "auc_threshold"), "threshold", "ref-threshold"),
        (("model_score", "full_model_score", "model_auc", "model_roc_auc", "model_r2"), "whole model", "ref-model"),
    ):
        v = _first(m, keys)
        v = _num(v.get("score") if isinstance(v, Mapping) else v)
        if v is not None:
            refs.append((v, label, cls))
    metric = str(m.get("metric") or "")
    if metric in ("roc_auc", "auc"):
        refs.append((0.5, "chance", "ref-bayes"))
    named = _METRIC_NAMES.get(metric, metric.replace("_", " ") or "score")
    more = f"; {len(rows) - len(shown)} more in the JSON scorecard" if len(rows) > len(shown) else ""
    present = [b.colour for b in shown]
    legend = tuple((c, f"{sev} finding") for sev, c in _SEVERITY_COLOURS.items() if sev != "info" and c in present)
    return [
        _bar_chart(
            "leakage_ranking",
            f"The leakage ranking: {named} of each feature alone",
            shown,
            lo=lo,
            hi=hi,
            refs=refs,
            caption=f"The {len(shown)} most suspect of {len(rows)} features, with confidence intervals{more}. "
            "A feature that alone comes close to the whole model is a suspect.",
            legend=legend + (("#9fa8da", "no finding"),),
        )
    ]


# --- slice bias: per-group metrics with CIs, discovered slices -------------------------

_GROUP_METRICS_CLS = ("selection_rate", "false_positive_rate", "false_negative_rate", "accuracy")
_GROUP_METRICS_REG = ("mae", "rmse")
_COUNT_DENOMINATED = ("selection_rate", "accuracy")  # their denominator is the group's count


def group_bars(result: ProbeResult) -> list[Chart]:
    groups = result.metrics.get("groups")
    if not isinstance(groups, list):
        return []
    by_feature: dict[str, list[Mapping[str, Any]]] = {}
    for g in groups:
        if isinstance(g, Mapping) and "feature" in g and "group" in g:
            by_feature.setdefault(str(g["feature"]), []).append(g)
    charts = []
    for feature, entries in list(by_feature.items())[:MAX_GROUP_FEATURES]:
        entries = sorted(entries, key=lambda g: -(_num(g.get("count")) or 0))[:MAX_GROUPS]
        metrics = [k for k in _GROUP_METRICS_CLS + _GROUP_METRICS_REG if any(_num(g.get(k)) is not None for g in entries)]
        if not metrics:
            continue
        labels = [f"{truncate(str(g['group']), 20)} (n={fmt_number(g.get('count'))})" for g in entries]
        label_w = _label_width(labels, cap=200)
        panels = metrics[:4]
        inner = max(150.0, (WIDTH - label_w) / len(panels))
        width = int(label_w + inner * len(panels))
        shapes: list[Shape] = []
        height = 0.0
        for p, metric in enumerate(panels):
            bars = []
            for g, label in zip(entries, labels):
                v = _num(g.get(metric))
                if v is None:
                    bars.append(Bar(label, 0.0, colour="#e0e0e0", note="n/a"))
                    continue
                ci = _interval(g, metric)
                n = _num(g.get("count"))
                if ci is None and metric in _COUNT_DENOMINATED and n:
                    ci = _wilson(v, int(n))
                bars.append(Bar(label, v, *(ci or (None, None))))
            vals = [b.value for b in bars] + [x for b in bars for x in (b.low, b.high) if x is not None]
            lo, hi = _bounds(vals, unit=metric not in _GROUP_METRICS_REG)
            x0, own_labels = (0.0, label_w) if p == 0 else (label_w + p * inner - 8, 8.0)
            s, h = _bars_panel(bars, x0=x0, y0=8, width=own_labels + inner, label_w=own_labels, lo=lo, hi=hi, heading=metric.replace("_", " "))
            if p > 0:  # only the first panel repeats the group labels
                s = [x for x in s if dict(x.attrs).get("class") != "label"]
            shapes.extend(s)
            height = max(height, h)
        charts.append(
            Chart(
                "group_bars",
                f"Per-group metrics for {feature}",
                width,
                int(height + 16),
                tuple(shapes),
                caption="Whiskers: 95% confidence intervals (from the probe, or Wilson intervals from the group's count).",
            )
        )
    return charts


def disparity_ratios(result: ProbeResult) -> list[Chart]:
    raw = result.metrics.get("disparities")
    if not isinstance(raw, list):
        return []
    bars = []
    for d in raw:
        if not isinstance(d, Mapping):
            continue
        ratio = _num(d.get("ratio"))
        if ratio is None or "feature" not in d:
            continue
        what = str(d.get("disparity") or d.get("metric") or "disparity").replace("_", " ")
        label = f"{what}, {d['feature']}"
        if d.get("worse_group") is not None and d.get("better_group") is not None:
            label += f": {d['worse_group']} vs {d['better_group']}"
        judged = d.get("large") and d.get("significant")
        bars.append(Bar(label, ratio, *(_interval(d, "ratio") or (None, None)), colour="#c62828" if judged else "#5c6bc0"))
    if not bars:
        return []
    bars.sort(key=lambda b: b.value)
    shown = bars[:MAX_BARS]
    threshold = next((_num(f.metrics.get("ratio_threshold")) for f in result.findings if _num(f.metrics.get("ratio_threshold")) is not None), None)
    refs = [(1.0, "parity", "ref-model")] + ([(threshold, "threshold", "ref-threshold")] if threshold is not None else [])
    vals = [b.value for b in shown] + [x for b in shown for x in (b.low, b.high) if x is not None] + [1.0]
    lo, hi = 0.0, max(1.05, max(vals) * 1.05)
    return [
        _bar_chart(
            "disparity_ratios",
            "Disparities between groups: worse group's rate over the better group's",
            shown,
            lo=lo,
            hi=hi,
            refs=refs,
            caption="1 is parity; whiskers are the bootstrap confidence intervals. Red: large and significant (a finding).",
        )
    ]


def _conditions(raw: Any) -> tuple[Condition, ...] | None:
    if not isinstance(raw, list):
        return None
    try:
        return tuple(c if isinstance(c, Condition) else Condition(**c) for c in raw)
    except (TypeError, ValueError):
        return None


def discovered_slices(result: ProbeResult) -> list[Chart]:
    raw = _first(result.metrics, ("slices", "discovered_slices", "top_slices"))
    entries: list[tuple[str, float, float | None, float | None, Any]] = []
    overall = _num(_first(result.metrics, ("overall_error", "error_overall")))
    if isinstance(raw, list):
        for s in raw:
            if not isinstance(s, Mapping):
                continue
            conds = _conditions(_first(s, ("slice", "conditions")))
            err = _num(_first(s, ("error", "slice_error", "error_rate")))
            if conds is None or err is None:
                continue
            ci = _interval(s, "error")
            entries.append((describe_slice(conds), err, *(ci or (None, None)), _first(s, ("support", "size", "count"))))
            overall = overall if overall is not None else _num(s.get("overall_error"))
    else:  # fall back on the findings that name a slice and carry its error
        for f in result.findings:
            err = _num(_first(f.metrics, ("error", "slice_error", "error_rate")))
            if f.slice and err is not None:  # a group disparity carries ratios, not an error
                ci = _interval(f.metrics, "error")
                entries.append((describe_slice(f.slice), err, *(ci or (None, None)), _first(f.metrics, ("support", "size", "count"))))
                overall = overall if overall is not None else _num(f.metrics.get("overall_error"))
    if not entries:
        return []
    shown = entries[:MAX_SLICES]
    bars = [Bar(label, err, lo, hi, colour="#ef6c00", note=f"n={fmt_number(n)}" if n is not None else "") for label, err, lo, hi, n in shown]
    vals = [b.value for b in bars] + [x for b in bars for x in (b.low, b.high) if x is not None] + ([overall] if overall is not None else [])
    lo, hi = _bounds(vals, unit=True)
    refs = [(overall, "overall", "ref-model")] if overall is not None else []
    more = f" ({len(entries) - len(shown)} more in the JSON scorecard)" if len(entries) > len(shown) else ""
    return [
        _bar_chart(
            "discovered_slices",
            "Discovered slices where the model errs more",
            bars,
            lo=lo,
            hi=hi,
            refs=refs,
            caption=f"Error in each slice against the overall error; n is the slice's support{more}.",
        )
    ]


# --- nan injection: the outcome grid ----------------------------------------------------


_OUTCOME_ALIASES = {"silent": "silent_corruption", "corrupted": "silent_corruption", "crash": "crashed", "ok": "handled"}


# Worst first: a cell tried at several rates shows its worst outcome.
_OUTCOME_ORDER = ("silent_corruption", "crashed", "rejected", "handled", "skipped")


def _outcome(value: Any) -> str | None:
    if isinstance(value, Mapping):
        own = _first(value, ("outcome", "status", "result"))
        if own is None:  # one outcome per rate (one cell, some rows, the whole column)
            found = [o for o in map(_outcome, value.values()) if o is not None]
            return min(found, key=_outcome_rank) if found else None
        value = own
    if not isinstance(value, str):
        return None
    name = value.strip().lower().replace(" ", "_").replace("-", "_")
    return _OUTCOME_ALIASES.get(name, name)


def _outcome_rank(outcome: str) -> int:
    return _OUTCOME_ORDER.index(outcome) if outcome in _OUTCOME_ORDER else len(_OUTCOME_ORDER)


def injection_grid(result: ProbeResult) -> list[Chart]:
    raw = _first(result.metrics, ("grid", "outcomes", "injections", "outcome_grid"))
    cells: dict[tuple[str, str], tuple[str, Any]] = {}
    if isinstance(raw, Mapping):
        for col, row in raw.items():
            if isinstance(row, Mapping):
                for inj, v in row.items():
                    o = _outcome(v)
                    if o is not None:
                        cells[(str(col), str(inj))] = (o, v)
    elif isinstance(raw, list):
        for e in raw:
            if isinstance(e, Mapping):
                col, inj, o = _first(e, ("column", "feature")), _first(e, ("injection", "kind", "fault")), _outcome(e)
                if col is not None and inj is not None and o is not None:
                    cells[(str(col), str(inj))] = (o, e)
    if not cells:
        return []
    columns = list(dict.fromkeys(c for c, _ in cells))
    injections = list(dict.fromkeys(i for _, i in cells))
    # Columns with a bad outcome first, so the cap never hides one.
    bad = {c for (c, _), (o, _) in cells.items() if o not in ("handled", "rejected", "skipped")}
    columns.sort(key=lambda c: c not in bad)
    shown_cols, shown_inj = columns[:MAX_GRID_COLUMNS], injections[:MAX_GRID_INJECTIONS]
    label_w = _label_width(shown_cols, cap=200)
    cell = max(10.0, min(22.0, (WIDTH - label_w - 10) / max(1, len(shown_inj))))
    head_h = 12 + min(LABEL_CHARS, max(len(i) for i in shown_inj)) * _CHAR_W * 0.72
    shapes: list[Shape] = []
    for j, inj in enumerate(shown_inj):
        x = label_w + j * cell + cell / 2
        shapes.append(_shape("text", truncate(inj, 24), x=x, y=head_h - 4, class_="label", transform=f"rotate(-45 {_n(x)} {_n(head_h - 4)})"))
    for i, col in enumerate(shown_cols):
        y = head_h + i * cell
        shapes.append(_shape("text", truncate(col, LABEL_CHARS), x=label_w - 6, y=y + cell * 0.7, class_="label", text_anchor="end"))
        for j, inj in enumerate(shown_inj):
            if (col, inj) not in cells:
                continue
            outcome, detail = cells[(col, inj)]
            extra = ""
            if isinstance(detail, Mapping):
                named = ("column", "feature", "injection", "kind", "fault", "outcome")
                counts = {k: v for k, v in detail.items() if k not in named and _num(v) is not None}
                rates = {k: _outcome(v) for k, v in detail.items() if k not in named and _outcome(v) is not None}
                shown = [f"{k} {fmt_number(v)}" for k, v in counts.items()] + [f"{k}: {o}" for k, o in rates.items()]
                extra = "; " + ", ".join(shown[:6]) if shown else ""
            shapes.append(
                _shape(
                    "rect",
                    tooltip=f"{col} x {inj}: {outcome}{extra}",
                    x=label_w + j * cell + 1,
                    y=y + 1,
                    width=cell - 2,
                    height=cell - 2,
                    fill=OUTCOME_COLOURS.get(outcome, "#757575"),
                    class_="cell",
                )
            )
    height = head_h + len(shown_cols) * cell + 8
    present = list(dict.fromkeys(o for o, _ in cells.values()))
    legend = tuple((OUTCOME_COLOURS.get(o, "#757575"), o.replace("_", " ")) for o in present)
    cut = []
    if len(columns) > len(shown_cols):
        cut.append(f"{len(columns) - len(shown_cols)} more columns")
    if len(injections) > len(shown_inj):
        cut.append(f"{len(injections) - len(shown_inj)} more injections")
    return [
        Chart(
            "injection_grid",
            "What each injection did, column by injection",
            int(max(WIDTH, label_w + len(shown_inj) * cell + 10)),
            int(height),
            tuple(shapes),
            caption="Hover a cell for its counts." + (f" Not drawn: {', '.join(cut)} (in the JSON scorecard)." if cut else ""),
            legend=legend,
        )
    ]


# --- cost weighted errors: the cost curve -----------------------------------------------


def _curve_points(raw: Any, limit: int = MAX_CURVE_POINTS) -> list[tuple[float, float]]:
    """The finite points of a curve, sorted by x and thinned to ``limit`` (the
    minimum kept: it is the point the chart is about)."""
    import numpy as np

    xs: Any = None
    ys: Any = None
    if isinstance(raw, Mapping):
        xs = _first(raw, ("threshold", "thresholds", "offset", "x"))
        ys = _first(raw, ("cost", "costs", "expected_cost", "y"))
    elif isinstance(raw, list):
        pairs = []
        for e in raw:
            if isinstance(e, Mapping):
                pairs.append((_first(e, ("threshold", "x")), _first(e, ("cost", "expected_cost", "y"))))
            elif isinstance(e, (list, tuple)) and len(e) >= 2:
                pairs.append((e[0], e[1]))
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    if not isinstance(xs, list) or not isinstance(ys, list):
        return []
    n = min(len(xs), len(ys))
    # Vectorised: a probe may hand over a curve of a million points. Anything
    # that is not a number becomes NaN and is dropped with the non-finite ones.
    x = np.array([v if _num(v) is not None else np.nan for v in xs[:n]], dtype=float)
    y = np.array([v if _num(v) is not None else np.nan for v in ys[:n]], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if len(x) > limit:
        idx = np.unique(np.concatenate([np.linspace(0, len(x) - 1, limit).astype(int), [int(np.argmin(y))]]))
        x, y = x[idx], y[idx]
    return list(zip(x.tolist(), y.tolist()))


def cost_curve(result: ProbeResult) -> list[Chart]:
    m = result.metrics
    raw = _first(m, ("cost_curve", "curve"))
    # (name, where its thresholds are, points, what the x axis is)
    curves: list[tuple[str, Mapping[str, Any], list[tuple[float, float]], str]] = []
    pts = _curve_points(raw)
    if len(pts) >= 2:
        curves.append(("", m, pts, _axis(raw)))
    elif isinstance(raw, Mapping):  # one curve per class (one-vs-rest) or per group
        for name, sub in list(raw.items())[:MAX_CURVES]:
            p = _curve_points(sub)
            if len(p) >= 2:  # one point is no curve
                curves.append((str(name), sub if isinstance(sub, Mapping) else {}, p, _axis(sub)))
    charts = []
    for name, meta, pts, axis in curves:
        # A per-class curve carries its own thresholds; else the probe-level ones apply.
        current = _threshold(meta, m, ("current_threshold", "threshold_current", "decision_threshold"))
        optimal = _threshold(meta, m, ("optimal_threshold", "optimal_offset"))
        bayes = _threshold(meta, m, ("bayes_threshold",))
        charts.append(_line_chart(pts, current, optimal, bayes, name, m, axis))
    return charts


def _axis(raw: Any) -> str:
    return "offset" if isinstance(raw, Mapping) and "offset" in raw else "threshold"


def _threshold(meta: Mapping[str, Any], m: Mapping[str, Any], keys: Sequence[str]) -> float | None:
    own = _num(_first(meta, keys))
    return own if own is not None else _num(_first(m, keys))


def _interpolate(pts: Sequence[tuple[float, float]], x: float) -> float:
    import bisect

    xs = [p[0] for p in pts]
    i = bisect.bisect_left(xs, x)
    if i <= 0:
        return pts[0][1]
    if i >= len(pts):
        return pts[-1][1]
    (x0, y0), (x1, y1) = pts[i - 1], pts[i]
    return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def _line_chart(pts, current, optimal, bayes, name: str, m: Mapping[str, Any], axis: str = "threshold") -> Chart:
    left, right, top, h = 64.0, 24.0, 14.0, 220.0
    w = WIDTH - left - right
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    cur_cost, opt_cost = _num(m.get("expected_cost")), _num(m.get("optimal_expected_cost"))
    x_lo, x_hi = min(xs), max(xs)
    y_lo, y_hi = min(ys + [0.0]), max(ys + ([cur_cost] if cur_cost is not None else []))
    x_span, y_span = (x_hi - x_lo) or 1.0, (y_hi - y_lo) or 1.0

    def px(x: float) -> float:
        return left + (x - x_lo) / x_span * w

    def py(y: float) -> float:
        return top + h - (y - y_lo) / y_span * h

    shapes = [
        _shape("line", x1=left, x2=left + w, y1=top + h, y2=top + h, class_="axis"),
        _shape("line", x1=left, x2=left, y1=top, y2=top + h, class_="axis"),
    ]
    for frac in (0.0, 0.5, 1.0):
        xv, yv = x_lo + frac * x_span, y_lo + frac * y_span
        shapes.append(_shape("text", fmt_number(round(xv, 4)), x=px(xv), y=top + h + 14, class_="label", text_anchor="middle"))
        shapes.append(_shape("text", fmt_number(round(yv, 4)), x=left - 6, y=py(yv) + 4, class_="label", text_anchor="end"))
    shapes.append(_shape("text", axis, x=left + w / 2, y=top + h + 30, class_="label", text_anchor="middle"))
    turn = f"rotate(-90 12 {_n(top + h / 2)})"
    shapes.append(_shape("text", "expected cost per row", x=12, y=top + h / 2, class_="label", text_anchor="middle", transform=turn))
    shapes.append(_shape("polyline", points=" ".join(f"{_n(px(x))},{_n(py(y))}" for x, y in pts), class_="curve"))
    legend = [("#37474f", "expected cost")]
    if cur_cost is not None and current is None:
        # The current rule is the model's own predict: its cost is known even where its threshold is not.
        tip = f"current rule: expected cost {fmt_number(cur_cost)}"
        y = py(cur_cost)
        shapes.append(_shape("line", tooltip=tip, x1=left, x2=left + w, y1=y, y2=y, class_="ref-current"))
        legend.append(("#c62828", f"current rule's cost {fmt_number(cur_cost)}"))
    for value, label, cls, colour in (
        (current, "current", "ref-current", "#c62828"),
        (optimal, "optimal", "ref-optimal", "#2e7d32"),
        (bayes, "Bayes", "ref-bayes", "#6a1b9a"),
    ):
        if value is not None and x_lo <= value <= x_hi:
            shapes.append(_shape("line", tooltip=f"{label} threshold {fmt_number(value)}", x1=px(value), x2=px(value), y1=top, y2=top + h, class_=cls))
            at = _interpolate(pts, value)
            tip = f"{label} threshold {fmt_number(value)}: expected cost {fmt_number(at)}"
            shapes.append(_shape("circle", tooltip=tip, cx=px(value), cy=py(at), r=4.0, fill=colour))
            legend.append((colour, f"{label} threshold {fmt_number(value)}"))
    caption = f"Expected cost per row at every {axis}"
    if cur_cost is not None and opt_cost is not None:
        caption += f"; now {fmt_number(cur_cost)}, at the optimum {fmt_number(opt_cost)}"
    caption += f" ({len(pts)} points drawn)."
    title = "Cost curve" + (f" for {name}" if name else "")
    return Chart("cost_curve", title, WIDTH, int(top + h + 40), tuple(shapes), caption, tuple(legend))


# --- dispatch -----------------------------------------------------------------------------

# Charts follow the metrics, not the probe's name: a third-party probe that
# reports a ``cost_curve`` gets the same chart.
BUILDERS: tuple[Callable[[ProbeResult], list[Chart]], ...] = (
    leakage_ranking,
    group_bars,
    disparity_ratios,
    discovered_slices,
    injection_grid,
    cost_curve,
)


def charts_for(result: ProbeResult) -> tuple[list[Chart], list[str]]:
    """Every chart the probe's metrics support, and a note for each chart that
    could not be drawn from them (a section without its chart, never a report
    that fails)."""
    charts: list[Chart] = []
    notes: list[str] = []
    for build in BUILDERS:
        try:
            charts.extend(build(result))
        except Exception as exc:
            label = build.__name__.replace("_", " ")
            notes.append(f"The {label} chart could not be drawn from these metrics ({type(exc).__name__}: {exc}).")
    return charts, notes
