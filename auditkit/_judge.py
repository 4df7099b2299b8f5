"""The judge: the one place the gate policy is applied to what the probes found.

It marks each finding (fails the gate, passes it, waived, or its waiver
expired), gives each probe that ran its status (failed or passed), and gives
the scorecard its verdict: passed or not, the gate score (waived findings set
aside) and one line per reason it failed. All of it is stored in the results,
so the pytest plugin, every renderer and ``auditkit diff`` only read it.

A scorecard that never met the judge (a version-1 file, one built by hand)
is judged when first read, from its stored policy, as of the audit's day.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from auditkit._policy import GatePolicy, Waiver, scorecard_date, today
from auditkit._results import SCHEMA_VERSION, Finding, ProbeResult, Scorecard, Verdict, WaiverUse
from auditkit._scoring import grade, overall_score, probe_score

__all__ = [
    "ERROR_TEXT",
    "FAILURE_HEADER",
    "RERUN_TEXT",
    "ensure_judged",
    "failure_text",
    "judge_result",
    "judge_scorecard",
    "merge_scorecards",
]

# Message templates (the tests reuse them).
FAILURE_HEADER = (
    "probe {name} failed the audit gate (fail on {gate}): {failing} of {total} finding(s) at or above it, "
    "probe score {score}"
)
# The audit's seed, the one to pass back; the probe's own is derived from it.
RERUN_TEXT = "re-run with seed {seed} (pytest: --audit-seed {seed}); this probe's own seed, derived from it: {probe_seed}"
ERROR_TEXT = "probe {name} could not run: {reason}"
PROBE_FAILED = "probe {name} failed: {failing} finding(s) at or above {gate} ({codes})"
ALL_SKIPPED = "every probe was skipped, so nothing was checked"
BELOW_FLOOR = "score {score:.0f} is below the policy's min_score {floor:g}"
_RAN = ("passed", "failed")


def _mark(policy: GatePolicy, probe: str, finding: Finding, day: _dt.date) -> Finding:
    status = policy.waiver_for(probe, finding, day)
    at_gate = finding.severity >= policy.threshold(probe)
    if status is not None and status.active:
        gate = "waived"
    elif not at_gate:
        gate = "passes"
    else:
        gate = "fails" if status is None else "waiver_expired"
    return replace(finding, gate=gate, waiver=None if status is None else status.note)


def judge_result(result: ProbeResult, policy: GatePolicy, on: _dt.date | None = None) -> ProbeResult:
    """The probe's findings marked and, if it ran, its status: failed when any finding fails the gate."""
    day = on or today()
    findings = tuple(_mark(policy, result.name, f, day) for f in result.findings)
    status = result.status
    if status in _RAN:
        status = "failed" if any(f.fails_gate for f in findings) else "passed"
    return replace(result, findings=findings, status=status, fail_on=policy.threshold(result.name))


def _gate_score(results: Sequence[ProbeResult]) -> float:
    """The overall score with waived findings left out: what ``min_score`` is held against."""

    def unwaived(r: ProbeResult) -> ProbeResult:
        kept = tuple(f for f in r.findings if not f.waived)
        return r if len(kept) == len(r.findings) else replace(r, score=probe_score(kept), findings=kept)

    return overall_score(unwaived(r) for r in results)


def _reasons(results: Sequence[ProbeResult], policy: GatePolicy, gate_score: float) -> tuple[str, ...]:
    out = []
    for r in results:
        if r.status == "failed":
            failing = [f for f in r.findings if f.fails_gate]
            codes = ", ".join(dict.fromkeys(f.code for f in failing))
            gate = r.fail_on.value if r.fail_on is not None else policy.threshold(r.name).value
            out.append(PROBE_FAILED.format(name=r.name, failing=len(failing), gate=gate, codes=codes))
    if policy.fail_on_error:
        out.extend(ERROR_TEXT.format(name=r.name, reason=r.reason) for r in results if r.status == "error")
    if results and all(r.status == "skipped" for r in results):
        out.append(ALL_SKIPPED)  # silence is no health
    if gate_score < policy.min_score:
        out.append(BELOW_FLOOR.format(score=gate_score, floor=policy.min_score))
    return tuple(out)


def _waiver_uses(results: Sequence[ProbeResult], policy: GatePolicy, day: _dt.date) -> tuple[WaiverUse, ...]:
    uses = []
    for w in policy.waivers:
        expired = w.expired(day)
        matched = sum(1 for r in results for f in r.findings if w.matches(r.name, f))
        uses.append(WaiverUse(w.describe(), w.reason, w.expires.isoformat() if w.expires else None, expired, matched))
    return tuple(uses)


def judge(results: Iterable[ProbeResult], policy: GatePolicy, on: _dt.date) -> tuple[tuple[ProbeResult, ...], bool, Verdict]:
    """Every result judged, whether the audit passes, and the verdict with its reasons."""
    judged = tuple(judge_result(r, policy, on) for r in results)
    gate_score = _gate_score(judged)
    reasons = _reasons(judged, policy, gate_score)
    return judged, not reasons, Verdict(gate_score, reasons, _waiver_uses(judged, policy, on))


def judge_scorecard(card: Scorecard) -> Scorecard:
    """The scorecard judged under its own stored policy, as of the day of its audit."""
    policy = GatePolicy.from_dict(card.policy)
    probes, passed, verdict = judge(card.probes, policy, scorecard_date(card))
    return replace(card, probes=probes, passed=passed, verdict=verdict, schema_version=SCHEMA_VERSION)


def ensure_judged(card: Scorecard) -> Scorecard:
    """The card as judged: itself when it carries its verdict, else judged now (once)."""
    return card if card.verdict is not None else judge_scorecard(card)


def merge_scorecards(parts: Iterable[tuple[Scorecard, Mapping[str, str]]]) -> list[Scorecard]:
    """One scorecard per (model, data, seed, policy) from pieces audited apart (pytest-xdist
    workers), the union of their probes judged once.

    Each piece comes with its expected failures (probe name -> reason): they join
    the policy as waivers of their probes, so the gate and every report treat them
    as ``[tool.auditkit]`` waivers: listed, marked waived with their reason, not failing.
    """
    groups: dict[str, list[tuple[Scorecard, Mapping[str, str]]]] = {}
    for card, expected in parts:
        key = json.dumps([card.to_dict()[k] for k in ("model", "data", "seed", "policy")], sort_keys=True)
        groups.setdefault(key, []).append((card, expected))
    out = []
    for pieces in groups.values():
        first = pieces[0][0]
        results: dict[str, ProbeResult] = {}
        wanted: dict[str, str] = {}
        for card, expected in pieces:
            for result in card.probes:
                results.setdefault(result.name, result)
            wanted.update(expected)
        policy = GatePolicy.from_dict(first.policy)
        waived = tuple(
            Waiver(probe=name, reason=f"expected failure in the test suite: {reason}")
            for name, reason in sorted(wanted.items())
            if name in results
        )
        policy = replace(policy, waivers=policy.waivers + waived)
        probes, passed, verdict = judge((results[n] for n in sorted(results)), policy, scorecard_date(first))
        score = overall_score(probes)
        out.append(
            replace(first, probes=probes, score=score, grade=grade(score), passed=passed, verdict=verdict,
                    policy=policy.to_dict(), schema_version=SCHEMA_VERSION)
        )
    return out


def failure_text(result: ProbeResult, audit_seed: int) -> str:
    """Every finding of a failed probe, worst first, numbered, with its measurements,
    and the audit seed that reproduces it."""
    findings = sorted(result.findings, key=lambda f: -f.severity.rank)
    failing = [f for f in findings if f.fails_gate]
    score = "-" if result.score is None else f"{result.score:.0f}/100"
    gate = result.fail_on.value if result.fail_on is not None else "?"
    lines = [FAILURE_HEADER.format(name=result.name, gate=gate, failing=len(failing), total=len(findings), score=score)]
    for i, finding in enumerate(findings, 1):
        lines.append(f"  {i}. [{finding.severity.value}] {finding.code}: {finding.message}")
        details = []
        if finding.features:
            details.append("features: " + ", ".join(finding.features))
        if finding.slice:
            details.append("slice: " + " and ".join(c.describe() for c in finding.slice))
        numbers = _compact(finding.metrics)
        if numbers:
            details.append("metrics: " + numbers)
        if finding.waiver:
            details.append(finding.waiver)
        if details:
            lines.append("     " + "; ".join(details))
    lines.append(RERUN_TEXT.format(seed=audit_seed, probe_seed=result.seed))
    return "\n".join(lines)


def _compact(metrics: Mapping[str, Any], limit: int = 8) -> str:
    shown = []
    for name, value in metrics.items():
        if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
            shown.append(f"{name}={_short(value)}")
        if len(shown) == limit:
            break
    return ", ".join(shown)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."
