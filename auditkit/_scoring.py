"""How findings become scores and grades.

A probe's score starts from the cap of its worst finding and loses a little
for every further finding of severity low or above:

    worst finding   none  info  low  medium  high  critical
    score cap        100   100   85      65    35         0

    probe score = max(0, cap(worst) - 5 * (findings at low or above - 1))

The audit's score is the **minimum** of its probes' scores, as in the ML Test
Score rubric (Breck et al., 2017, "The ML Test Score"), where the final score
is the lowest of the section scores: one excellent area must not hide a
failing one. Probes that were skipped or errored have no score and do not
count; an audit in which no probe produced a score scores 0, because nothing
was shown to be sound.

Grades: A >= 90, B >= 75, C >= 60, D >= 40, F below.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from auditkit._results import Finding, ProbeResult, Severity

__all__ = ["GRADES", "SEVERITY_CAP", "grade", "overall_score", "probe_score"]

SEVERITY_CAP: dict[Severity, float] = {
    Severity.INFO: 100.0,
    Severity.LOW: 85.0,
    Severity.MEDIUM: 65.0,
    Severity.HIGH: 35.0,
    Severity.CRITICAL: 0.0,
}
EXTRA_FINDING_PENALTY = 5.0
GRADES: tuple[tuple[float, str], ...] = ((90, "A"), (75, "B"), (60, "C"), (40, "D"), (0, "F"))


def probe_score(findings: Sequence[Finding]) -> float:
    if not findings:
        return 100.0
    worst = max(f.severity for f in findings)
    counted = sum(1 for f in findings if f.severity >= Severity.LOW)
    return max(0.0, SEVERITY_CAP[worst] - EXTRA_FINDING_PENALTY * max(0, counted - 1))


def overall_score(results: Iterable[ProbeResult]) -> float:
    scores = [r.score for r in results if r.score is not None and r.status in ("passed", "failed")]
    return float(min(scores)) if scores else 0.0


def grade(score: float) -> str:
    for bound, letter in GRADES:
        if score >= bound:
            return letter
    return "F"
