"""The HTML report: one self-contained page an auditor can email.

No network, no script, no external font or style: inline CSS and inline SVG
charts computed in Python. Every string from the data (column names, group
values, messages, examples) goes through jinja2's autoescape, and the page's
Content-Security-Policy forbids scripts outright, so a column named
``<img src=x onerror=alert(1)>`` shows as text. What is drawn and listed is
capped (top features, groups, grid cells, curve points, findings, examples),
which keeps the page small (well under 2 MB) whatever the size of the audit;
the JSON scorecard keeps everything.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from auditkit._report._charts import charts_for, charts_notice
from auditkit._report._common import (
    describe_slice,
    expired_waivers,
    flatten_metrics,
    fmt_number,
    judged,
    score_notes,
    shown_findings,
    title_of,
    truncate,
    verdict,
)
from auditkit._results import Finding, ProbeResult, Scorecard

__all__ = ["NOTEBOOK", "PAGE", "Limits", "page_view", "probe_views", "render_html", "template"]

MAX_FINDINGS_PER_PROBE = 100
MAX_MESSAGE_CHARS = 1200
MAX_FEATURES = 12
MAX_EXAMPLES = 3
MAX_EXAMPLE_CHARS = 300
MAX_FINDING_METRICS = 16
MAX_PROBE_METRICS = 80
MAX_VALUE_CHARS = 120
# What the whole page may spend, in characters, on each kind of content; past
# it, the rest is left to the JSON scorecard and the page says so. With the
# caps above this keeps a page well under 2 MB whatever the audit holds.
CHART_BUDGET = 650_000
FINDING_BUDGET = 650_000
METRICS_BUDGET = 200_000


@dataclass(frozen=True)
class Limits:
    """What one rendering may show: findings per probe and the characters it may
    spend on findings, charts and measurements."""

    findings_per_probe: int = MAX_FINDINGS_PER_PROBE
    findings: int = FINDING_BUDGET
    charts: int = CHART_BUDGET
    metrics: int = METRICS_BUDGET


PAGE = Limits()
# A notebook keeps its outputs in the .ipynb file and draws them all at once: a
# cell shows the worst findings and leaves the long tail to the page and the JSON.
NOTEBOOK = Limits(findings_per_probe=10, findings=150_000, charts=400_000, metrics=60_000)


class _Budget:
    def __init__(self, chars: int) -> None:
        self.left = chars

    def take(self, chars: int) -> bool:
        if chars > self.left:
            self.left = 0  # once spent, spent: later items do not squeeze into the remainder
            return False
        self.left -= chars
        return True
_SEVERITIES = ("critical", "high", "medium", "low", "info")


@lru_cache(maxsize=None)
def template(name: str) -> Any:
    """One of the report's jinja2 templates (``report.html.j2``, ``notebook.html.j2``)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("auditkit._report", "templates"),
        autoescape=True,  # every template, whatever its file name: data is never trusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    return env.get_template(name)


def _value(v: Any) -> str:
    return truncate(fmt_number(v) if not isinstance(v, str) else v, MAX_VALUE_CHARS)


def _example(e: Any) -> str:
    text = json.dumps(e, ensure_ascii=False, default=str) if not isinstance(e, str) else e
    return truncate(text, MAX_EXAMPLE_CHARS)


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _weight(view: dict[str, Any]) -> int:
    """About how many characters a finding takes in the page (markup included)."""
    text = len(view["message"]) + len(view["slice"]) + len(view["waiver_note"])
    text += sum(len(x) + 20 for x in view["features"]) + sum(len(x) + 20 for x in view["examples"])
    text += sum(len(k) + len(v) + 60 for k, v in view["metrics"])
    return 600 + int(text * 1.2)  # escaping makes quotes and brackets longer


def _finding_view(f: Finding) -> dict[str, Any]:
    metrics, _ = flatten_metrics(f.metrics, limit=MAX_FINDING_METRICS, max_list=4)
    return {
        "severity": f.severity.value,
        "code": f.code,
        "message": truncate(f.message, MAX_MESSAGE_CHARS),
        "features": [truncate(x, MAX_VALUE_CHARS) for x in f.features[:MAX_FEATURES]]
        + ([f"… and {len(f.features) - MAX_FEATURES} more"] if len(f.features) > MAX_FEATURES else []),
        "slice": truncate(describe_slice(f.slice), 400),
        "metrics": [(k, _value(v)) for k, v in metrics],
        "examples": [_example(e) for e in f.examples[:MAX_EXAMPLES]],
        "more_examples": max(0, len(f.examples) - MAX_EXAMPLES),
        "waived": f.waived,
        "waiver_note": f.waiver or "",
        "fails": f.fails_gate,
    }


def _select_findings(results: tuple[ProbeResult, ...], limits: Limits) -> list[tuple[list[Finding], list[dict[str, Any]]]]:
    """Every probe's findings, and the views of those the page lists: the worst
    of the whole audit first, so that a long tail of minor findings in one probe
    never crowds out a critical one in the next."""
    shown = [shown_findings(r) for r in results]
    order = sorted(
        ((p, i) for p, items in enumerate(shown) for i in range(min(len(items), limits.findings_per_probe))),
        key=lambda pi: (-shown[pi[0]][pi[1]].severity.rank, pi[0], pi[1]),
    )
    budget = _Budget(limits.findings)
    picked: dict[tuple[int, int], dict[str, Any]] = {}
    for p, i in order:
        view = _finding_view(shown[p][i])
        if not budget.take(_weight(view)):
            break
        picked[(p, i)] = view
    return [(items, [picked[(p, i)] for i in range(len(items)) if (p, i) in picked]) for p, items in enumerate(shown)]


def _probe_view(
    result: ProbeResult,
    shown: list[Finding],
    findings: list[dict[str, Any]],
    budgets: dict[str, _Budget],
) -> dict[str, Any]:
    counts = Counter(f.severity.value for f in shown)
    metrics, cut = flatten_metrics(result.metrics, limit=MAX_PROBE_METRICS)
    metric_rows = [(k, _value(v)) for k, v in metrics]
    if not budgets["metrics"].take(sum(len(k) + len(v) + 60 for k, v in metric_rows)):
        metric_rows, cut = [], 1
    drawn, chart_notes = charts_for(result) if result.status in ("passed", "failed") else ([], [])
    charts = []
    for chart in drawn:
        if budgets["charts"].take(chart.weight):
            charts.append(chart)
        else:
            chart_notes.append(f"The {chart.title.lower()} chart is left out to keep this page small.")
    unwaived = [s for s in shown if not s.waived]
    if result.status in ("error", "skipped"):
        headline = result.reason or ""
    elif unwaived:
        headline = f"[{unwaived[0].severity.value}] {unwaived[0].message}"
    elif shown:
        headline = "only waived findings"
    else:
        headline = "no findings"
    return {
        "name": result.name,
        "status": result.status,
        "score": "-" if result.score is None else f"{result.score:.0f}",
        "reason": result.reason or "",
        "summary": _summary(result),
        "duration": _duration(result.duration_s),
        "seed": result.seed if result.seed is not None else "-",
        "threshold": result.fail_on.value if result.fail_on is not None else "-",
        "counts": [(sev, counts[sev]) for sev in _SEVERITIES if counts[sev]],
        "waived_count": sum(1 for s in shown if s.waived),
        "headline": truncate(headline, 220),
        "charts": charts,
        "chart_notes": [truncate(n, 300) for n in chart_notes],
        "findings": findings,
        "hidden_findings": len(shown) - len(findings),
        "metrics": metric_rows,
        "metrics_cut": cut > 0,
    }


def _summary(result: ProbeResult) -> str:
    if result.status not in ("passed", "failed"):
        return ""
    n = len(result.findings)
    return f"{n} finding{'s' if n != 1 else ''}." if n else "No findings."


def _gate_line(policy: Mapping[str, Any]) -> str:
    """The stored policy in words (the verdict itself is the judge's, stored beside it)."""
    parts = [f"fails on any finding of severity {policy.get('fail_on', 'high')} or above"]
    per_probe = policy.get("probe_fail_on") or {}
    if per_probe:
        parts.append("per probe: " + ", ".join(f"{name} at {sev}" for name, sev in sorted(per_probe.items())))
    fail_on_error = policy.get("fail_on_error", True)
    parts.append("on any probe that could not run" if fail_on_error else "not on probes that could not run")
    if policy.get("min_score"):
        parts.append(f"and below a score of {fmt_number(policy['min_score'])}")
    return "; ".join(parts) + "; waived findings are shown but do not fail it."


def _waiver_rows(card: Scorecard) -> list[dict[str, Any]]:
    uses = card.verdict.waivers if card.verdict is not None else ()
    return [
        {"covers": w.covers, "reason": w.reason, "expires": w.expires or "", "expired": w.expired, "matched": w.matched}
        for w in uses
    ]


def probe_views(results: tuple[ProbeResult, ...], limits: Limits) -> list[dict[str, Any]]:
    """What the templates show of each probe, within ``limits``."""
    budgets = {"charts": _Budget(limits.charts), "metrics": _Budget(limits.metrics)}
    return [
        _probe_view(result, shown, views, budgets)
        for result, (shown, views) in zip(results, _select_findings(results, limits))
    ]


def page_view(card: Scorecard, limits: Limits = PAGE) -> dict[str, Any]:
    """What the templates show of a whole scorecard: its title, verdict, facts and probes."""
    notice = charts_notice(card)  # before judging, which brings an old card up to the current schema version
    card = judged(card)
    statuses = Counter(r.status for r in card.probes)
    summary_line = ", ".join(f"{statuses[s]} {s}" for s in ("passed", "failed", "error", "skipped") if statuses[s])
    model_extra = ", ".join(
        f"{k}: {_value(v)}" for k, v in card.model.items() if k not in ("kind", "task") and not isinstance(v, (Mapping, list, tuple))
    )
    return {
        "card": card,
        "title": truncate(title_of(card), 300),
        "verdict": verdict(card),
        "score": f"{card.score:.0f}",
        "summary_line": (
            f"{len(card.probes)} probe{'s' if len(card.probes) != 1 else ''}: {summary_line}." if card.probes else "No probe ran."
        ) + "".join(f" {note[0].upper()}{note[1:]}." for note in score_notes(card)),
        "created_at": card.created_at,
        "model_kind": str(card.model.get("kind", "model")),
        "model_extra": truncate(model_extra, 300),
        "target": str(card.data.get("target", "?")),
        "sensitive": [str(s) for s in card.data.get("sensitive") or ()],
        "gate_line": _gate_line(card.policy),
        "reasons": list(card.verdict.reasons) if card.verdict is not None else [],
        "expired": expired_waivers(card),
        "waivers": _waiver_rows(card),
        "probes": probe_views(card.probes, limits),
        "charts_notice": notice,
    }


def render_html(card: Scorecard) -> str:
    """The scorecard as one self-contained HTML page (a string)."""
    return template("report.html.j2").render(v=page_view(card))
