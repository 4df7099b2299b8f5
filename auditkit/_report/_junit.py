"""JUnit XML: one testcase per probe, so any CI system lists the audit as tests.

A probe that failed the gate is a ``<failure>`` whose text lists its findings;
a probe that could not run is an ``<error>``; a skipped probe is
``<skipped>``. Findings that do not fail the gate (below its severity, or
waived) go to the testcase's ``<system-out>``. Metrics become
``<property>`` elements under dotted names, capped per testcase: the JSON
scorecard keeps them whole.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from auditkit._report._common import (
    ShownFinding,
    describe_slice,
    expired_waivers,
    flatten_metrics,
    fmt_number,
    shown_findings,
    truncate,
)
from auditkit._results import ProbeResult, Scorecard

__all__ = ["render_junit"]

MAX_PROPERTIES = 50
MAX_VALUE_CHARS = 200
# XML 1.0 cannot carry most control characters, not even escaped; data may hold them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: Any) -> str:
    return _INVALID_XML.sub("\ufffd", str(text))


def _finding_text(name: str, s: ShownFinding) -> str:
    f = s.finding
    lines = [f"[{f.severity.value}] {name}/{f.code}: {f.message}"]
    if f.features:
        lines.append(f"    features: {', '.join(f.features)}")
    if f.slice:
        lines.append(f"    slice: {describe_slice(f.slice)}")
    if s.waiver is not None:
        lines.append(f"    {s.waiver.note}")
    return "\n".join(lines)


def _properties(parent: ET.Element, pairs: list[tuple[str, Any]]) -> None:
    props = ET.SubElement(parent, "properties")
    for key, value in pairs:
        text = value if isinstance(value, str) else fmt_number(value)
        ET.SubElement(props, "property", name=_clean(key), value=_clean(truncate(text, MAX_VALUE_CHARS)))


def _testcase(suite: ET.Element, card: Scorecard, r: ProbeResult) -> None:
    case = ET.SubElement(suite, "testcase", classname="auditkit", name=r.name, time=f"{r.duration_s:.3f}")
    pairs: list[tuple[str, Any]] = [("status", r.status), ("score", r.score), ("seed", r.seed)]
    metrics, cut = flatten_metrics(r.metrics, limit=MAX_PROPERTIES - len(pairs) - 1, max_list=5)
    pairs += [(f"metrics.{k}", v) for k, v in metrics]
    if cut:
        pairs.append(("metrics_truncated", "true (the JSON scorecard has every metric)"))
    _properties(case, pairs)
    shown = shown_findings(card, r)
    failing = [s for s in shown if s.fails_gate]
    rest = [s for s in shown if not s.fails_gate]
    if r.status == "failed":
        worst = failing[0].finding if failing else shown[0].finding if shown else None
        message = f"[{worst.severity.value}] {worst.message}" if worst else "the probe failed the gate"
        body = "\n".join(_finding_text(r.name, s) for s in failing) + f"\nre-run with seed {card.seed}"
        el = ET.SubElement(case, "failure", message=_clean(truncate(message, 500)), type=worst.severity.value if worst else "failed")
        el.text = _clean(body)
    elif r.status == "error":
        el = ET.SubElement(case, "error", message=_clean(truncate(r.reason or "error", 500)), type="error")
        el.text = _clean(r.reason or "")
    elif r.status == "skipped":
        ET.SubElement(case, "skipped", message=_clean(r.reason or "skipped"))
    if rest:
        ET.SubElement(case, "system-out").text = _clean("\n".join(_finding_text(r.name, s) for s in rest))


def render_junit(card: Scorecard) -> str:
    """The scorecard as JUnit XML (a string)."""
    count = {s: sum(1 for r in card.probes if r.status == s) for s in ("failed", "error", "skipped")}
    root = ET.Element("testsuites", name="auditkit", tests=str(len(card.probes)), failures=str(count["failed"]), errors=str(count["error"]))
    suite = ET.SubElement(
        root,
        "testsuite",
        name="auditkit",
        tests=str(len(card.probes)),
        failures=str(count["failed"]),
        errors=str(count["error"]),
        skipped=str(count["skipped"]),
        time=f"{sum(r.duration_s for r in card.probes):.3f}",
        timestamp=_clean(card.created_at),
    )
    _properties(
        suite,
        [
            ("passed", card.passed),
            ("score", card.score),
            ("grade", card.grade),
            ("seed", card.seed),
            ("fail_on", card.policy.get("fail_on", "")),
            ("model", card.model.get("kind", "")),
            ("target", card.data.get("target", "")),
            ("rows", card.data.get("rows", "")),
            ("auditkit_version", card.auditkit_version),
        ],
    )
    for r in card.probes:
        _testcase(suite, card, r)
    notes = expired_waivers(card)
    if notes:
        ET.SubElement(suite, "system-err").text = _clean("\n".join(notes))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
