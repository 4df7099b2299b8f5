"""JUnit XML: one testcase per probe, so any CI system lists the audit as tests.

A probe that failed the gate is a ``<failure>`` whose text lists its findings;
a probe that could not run is an ``<error>``; a skipped probe is
``<skipped>``. Findings that do not fail the gate (below its severity, or
waived) go to the testcase's ``<system-out>``. A probe's status, score, seed,
worst finding and metrics become ``<property>`` elements (:func:`probe_properties`,
the same ones the pytest plugin records under ``--junitxml``), capped per
testcase: the JSON scorecard keeps them whole.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from typing import Any

from auditkit._judge import RERUN_TEXT
from auditkit._report._common import describe_slice, expired_waivers, fmt_number, judged, shown_findings, title_of, truncate
from auditkit._results import Finding, ProbeResult, Scorecard

__all__ = ["MAX_METRIC_PROPERTIES", "probe_properties", "render_junit"]

# Properties are for dashboards, not archives: a probe's full metrics
# (every group, every injection) stay in the JSON scorecard.
MAX_METRIC_PROPERTIES = 40
MAX_VALUE_CHARS = 200
# XML 1.0 cannot carry most control characters, not even escaped; data may hold them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: Any) -> str:
    return _INVALID_XML.sub("\ufffd", str(text))


def _finding_text(name: str, f: Finding) -> str:
    lines = [f"[{f.severity.value}] {name}/{f.code}: {f.message}"]
    if f.features:
        lines.append(f"    features: {', '.join(f.features)}")
    if f.slice:
        lines.append(f"    slice: {describe_slice(f.slice)}")
    if f.waiver:
        lines.append(f"    {f.waiver}")
    return "\n".join(lines)


def probe_properties(result: ProbeResult) -> list[tuple[str, str]]:
    """A probe's result as JUnit properties: its status, score, seed and worst finding,
    and its metrics under dotted names (a list stays one property), bounded in
    number and length."""
    props: list[tuple[str, Any]] = [
        ("auditkit.probe", result.name),
        ("auditkit.status", result.status),
        ("auditkit.seed", result.seed),
    ]
    if result.score is not None:
        props.append(("auditkit.score", round(float(result.score), 2)))
    if result.reason:
        props.append(("auditkit.reason", result.reason))
    props.append(("auditkit.findings", len(result.findings)))
    worst = result.worst
    if worst is not None:
        props.append(("auditkit.worst_severity", worst.severity.value))
        props.append(("auditkit.worst_finding", worst.message))
    flat = list(_flatten(result.metrics, "auditkit.metric"))
    props.extend(flat[:MAX_METRIC_PROPERTIES])
    if len(flat) > MAX_METRIC_PROPERTIES:
        props.append(("auditkit.metrics_omitted", len(flat) - MAX_METRIC_PROPERTIES))
    return [(key, truncate(_text(value), MAX_VALUE_CHARS)) for key, value in props]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return str(round(value, 6))  # a dashboard's number: more digits than a report shows
    return fmt_number(value)


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}")
    elif isinstance(value, (list, tuple)):
        # A list (a ranking, a curve) stays one property: indexing it would
        # spend the whole budget on one metric.
        yield prefix, json.dumps(value, allow_nan=False, default=str)
    else:
        yield prefix, value


def _properties(parent: ET.Element, pairs: list[tuple[str, Any]]) -> None:
    props = ET.SubElement(parent, "properties")
    for key, value in pairs:
        text = value if isinstance(value, str) else fmt_number(value)
        ET.SubElement(props, "property", name=_clean(key), value=_clean(truncate(text, MAX_VALUE_CHARS)))


def _testcase(suite: ET.Element, card: Scorecard, r: ProbeResult) -> None:
    case = ET.SubElement(suite, "testcase", classname="auditkit", name=r.name, time=f"{r.duration_s:.3f}")
    _properties(case, probe_properties(r))
    shown = shown_findings(r)
    failing = [f for f in shown if f.fails_gate]
    rest = [f for f in shown if not f.fails_gate]
    if r.status == "failed":
        worst = failing[0] if failing else shown[0] if shown else None
        message = f"[{worst.severity.value}] {worst.message}" if worst else "the probe failed the gate"
        body = "\n".join(_finding_text(r.name, f) for f in failing) + "\n" + RERUN_TEXT.format(seed=card.seed, probe_seed=r.seed)
        el = ET.SubElement(case, "failure", message=_clean(truncate(message, 500)), type=worst.severity.value if worst else "failed")
        el.text = _clean(body)
    elif r.status == "error":
        el = ET.SubElement(case, "error", message=_clean(truncate(r.reason or "error", 500)), type="error")
        el.text = _clean(r.reason or "")
    elif r.status == "skipped":
        ET.SubElement(case, "skipped", message=_clean(r.reason or "skipped"))
    if rest:
        ET.SubElement(case, "system-out").text = _clean("\n".join(_finding_text(r.name, f) for f in rest))


def render_junit(card: Scorecard) -> str:
    """The scorecard as JUnit XML (a string)."""
    card = judged(card)
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
            # The suite keeps its name, "auditkit": CI dashboards follow a suite's history
            # by its name, and a title changes from audit to audit.
            ("title", title_of(card)),
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
