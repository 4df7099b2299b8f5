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
from functools import lru_cache
from typing import Any

from auditkit._policy import GatePolicy, scorecard_date
from auditkit._report._charts import charts_for
from auditkit._report._common import (
    describe_slice,
    expired_waivers,
    flatten_metrics,
    fmt_number,
    shown_findings,
    truncate,
    verdict,
)
from auditkit._results import ProbeResult, Scorecard

__all__ = ["render_html"]

MAX_FINDINGS_PER_PROBE = 100
MAX_FINDINGS_TOTAL = 300
MAX_MESSAGE_CHARS = 1500
MAX_EXAMPLES = 3
MAX_EXAMPLE_CHARS = 400
MAX_FINDING_METRICS = 20
MAX_PROBE_METRICS = 80
MAX_VALUE_CHARS = 120
_SEVERITIES = ("critical", "high", "medium", "low", "info")


@lru_cache(maxsize=1)
def _template() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("auditkit._report", "templates"),
        autoescape=True,  # every template, whatever its file name: data is never trusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    return env.get_template("report.html.j2")


def _value(v: Any) -> str:
    return truncate(fmt_number(v) if not isinstance(v, str) else v, MAX_VALUE_CHARS)


def _example(e: Any) -> str:
    text = json.dumps(e, ensure_ascii=False, default=str) if not isinstance(e, str) else e
    return truncate(text, MAX_EXAMPLE_CHARS)


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _probe_view(card: Scorecard, result: ProbeResult, policy: GatePolicy, budget: int) -> tuple[dict[str, Any], int]:
    shown = shown_findings(card, result)
    counts = Counter(s.finding.severity.value for s in shown)
    allowed = max(0, min(MAX_FINDINGS_PER_PROBE, budget))
    findings = []
    for s in shown[:allowed]:
        f = s.finding
        metrics, _ = flatten_metrics(f.metrics, limit=MAX_FINDING_METRICS, max_list=4)
        findings.append(
            {
                "severity": f.severity.value,
                "code": f.code,
                "message": truncate(f.message, MAX_MESSAGE_CHARS),
                "features": [truncate(x, MAX_VALUE_CHARS) for x in f.features[:20]],
                "slice": truncate(describe_slice(f.slice), 600),
                "metrics": [(k, _value(v)) for k, v in metrics],
                "examples": [_example(e) for e in f.examples[:MAX_EXAMPLES]],
                "more_examples": max(0, len(f.examples) - MAX_EXAMPLES),
                "waived": s.waived,
                "waiver_note": s.waiver.note if s.waiver is not None else "",
                "fails": s.fails_gate,
            }
        )
    metrics, cut = flatten_metrics(result.metrics, limit=MAX_PROBE_METRICS)
    charts, chart_notes = charts_for(result) if result.status in ("passed", "failed") else ([], [])
    unwaived = [s for s in shown if not s.waived]
    if result.status in ("error", "skipped"):
        headline = result.reason or ""
    elif unwaived:
        headline = f"[{unwaived[0].finding.severity.value}] {unwaived[0].finding.message}"
    elif shown:
        headline = "only waived findings"
    else:
        headline = "no findings"
    view = {
        "name": result.name,
        "status": result.status,
        "score": "-" if result.score is None else f"{result.score:.0f}",
        "reason": result.reason or "",
        "summary": _summary(result),
        "duration": _duration(result.duration_s),
        "seed": result.seed if result.seed is not None else "-",
        "threshold": policy.threshold(result.name).value,
        "counts": [(sev, counts[sev]) for sev in _SEVERITIES if counts[sev]],
        "waived_count": sum(1 for s in shown if s.waived),
        "headline": truncate(headline, 220),
        "charts": charts,
        "chart_notes": [truncate(n, 300) for n in chart_notes],
        "findings": findings,
        "hidden_findings": len(shown) - len(findings),
        "metrics": [(k, _value(v)) for k, v in metrics],
        "metrics_cut": cut > 0,
    }
    return view, len(findings)


def _summary(result: ProbeResult) -> str:
    if result.status not in ("passed", "failed"):
        return ""
    n = len(result.findings)
    return f"{n} finding{'s' if n != 1 else ''}." if n else "No findings."


def _gate_line(policy: GatePolicy) -> str:
    parts = [f"fails on any finding of severity {policy.fail_on.value} or above"]
    if policy.probe_fail_on:
        parts.append(
            "per probe: " + ", ".join(f"{name} at {sev.value}" for name, sev in sorted(policy.probe_fail_on.items()))
        )
    parts.append("on any probe that could not run" if policy.fail_on_error else "not on probes that could not run")
    if policy.min_score:
        parts.append(f"and below a score of {fmt_number(policy.min_score)}")
    return "; ".join(parts) + "; waived findings are shown but do not fail it."


def _waiver_rows(card: Scorecard, policy: GatePolicy) -> list[dict[str, Any]]:
    day = scorecard_date(card)
    rows = []
    for w in policy.waivers:
        matched = sum(1 for r in card.probes for f in r.findings if w.matches(r.name, f))
        rows.append(
            {
                "covers": w.describe(),
                "reason": w.reason,
                "expires": w.expires.isoformat() if w.expires else "",
                "expired": w.expired(day),
                "matched": matched,
            }
        )
    return rows


def render_html(card: Scorecard) -> str:
    """The scorecard as one self-contained HTML page (a string)."""
    policy = GatePolicy.from_dict(card.policy)
    probes = []
    budget = MAX_FINDINGS_TOTAL
    for result in card.probes:
        view, used = _probe_view(card, result, policy, budget)
        budget -= used
        probes.append(view)
    statuses = Counter(r.status for r in card.probes)
    summary_line = ", ".join(f"{statuses[s]} {s}" for s in ("passed", "failed", "error", "skipped") if statuses[s])
    model_extra = ", ".join(
        f"{k}: {_value(v)}" for k, v in card.model.items() if k not in ("kind", "task") and not isinstance(v, (dict, list))
    )
    return _template().render(
        card=card,
        verdict=verdict(card),
        score=f"{card.score:.0f}",
        summary_line=(
            f"{len(card.probes)} probe{'s' if len(card.probes) != 1 else ''}: {summary_line}." if card.probes else "No probe ran."
        ),
        created_at=card.created_at,
        model_kind=str(card.model.get("kind", "model")),
        model_extra=truncate(model_extra, 300),
        target=str(card.data.get("target", "?")),
        sensitive=[str(s) for s in card.data.get("sensitive") or ()],
        gate_line=_gate_line(policy),
        expired=expired_waivers(card),
        waivers=_waiver_rows(card, policy),
        probes=probes,
    )
