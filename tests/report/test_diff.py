"""Comparing a scorecard with its baseline: new, fixed and changed findings, metric deltas, the regression gate."""

from __future__ import annotations

import dataclasses

import pytest

import auditkit
from auditkit import Condition, Finding, ProbeResult


def slice_finding(severity: str = "medium", *, order: int = 0) -> Finding:
    conds = (Condition("age", ">=", 60), Condition("sex", "==", "f"))
    return Finding(
        code="underperforming_slice",
        severity=severity,
        message=f"The model errs on 41% of rows where age >= 60 and sex == 'f' ({severity}).",
        features=("age", "sex")[:: 1 - 2 * order],
        slice=conds[:: 1 - 2 * order],
    )


def leak(feature: str, severity: str = "critical") -> Finding:
    return Finding(code="single_feature_leak", severity=severity, message=f"Feature {feature!r} leaks.", features=(feature,))


def result(name: str, *findings: Finding, metrics: dict | None = None, status: str | None = None) -> ProbeResult:
    status = status or ("failed" if any(f.severity >= auditkit.Severity.HIGH for f in findings) else "passed")
    return ProbeResult(
        name=name,
        status=status,
        score=None if status == "error" else (0.0 if findings else 100.0),
        reason="RuntimeError: boom" if status == "error" else None,
        metrics=metrics or {},
        findings=findings,
    )


def test_findings_are_matched_by_probe_code_features_and_slice(cards) -> None:
    base = cards.make_card(
        (
            result("target_leakage", leak("boat"), leak("body", "high")),
            result("slice_bias", slice_finding("medium")),
        ),
        score=0.0,
    )
    now = cards.make_card(
        (
            result("target_leakage", leak("boat"), leak("ticket", "high")),  # body fixed, ticket new
            result("slice_bias", slice_finding("high", order=1)),  # the same slice, written the other way round, worse
        ),
        score=0.0,
    )
    diff = auditkit.diff_scorecards(base, now)
    assert [(c.probe, c.finding.features) for c in diff.new] == [("target_leakage", ("ticket",))]
    assert [(c.probe, c.finding.features) for c in diff.fixed] == [("target_leakage", ("body",))]
    (changed,) = diff.changed
    assert (changed.before.severity.value, changed.after.severity.value) == ("medium", "high")
    assert diff.unchanged == 1  # boat


def test_a_scorecard_against_itself_changes_nothing(full_card) -> None:
    diff = auditkit.diff_scorecards(full_card, full_card)
    assert (diff.new, diff.fixed, diff.changed, diff.probes, diff.metrics) == ((), (), (), (), ())
    assert diff.unchanged == len(full_card.findings)
    assert diff.regressions("info") == []


def test_metric_deltas_follow_list_entries_by_their_name_not_their_position(cards) -> None:
    groups = [{"feature": "sex", "group": "female", "selection_rate": 0.11}, {"feature": "sex", "group": "male", "selection_rate": 0.31}]
    moved = [dict(groups[1], selection_rate=0.30), dict(groups[0], selection_rate=0.21)]  # reordered, and changed
    base = cards.make_card((result("slice_bias", metrics={"groups": groups, "curve": [0.1, 0.2, 0.3, 0.4, 0.5], "n": 3}),))
    now = cards.make_card((result("slice_bias", metrics={"groups": moved, "curve": [9, 9, 9, 9, 9], "n": 3, "new": 1.5}),))
    deltas = {d.name: d for d in auditkit.diff_scorecards(base, now).metrics}
    assert set(deltas) == {"groups[sex=female].selection_rate", "groups[sex=male].selection_rate", "new"}
    assert deltas["groups[sex=female].selection_rate"].delta == pytest.approx(0.10)
    assert deltas["groups[sex=male].selection_rate"].delta == pytest.approx(-0.01)
    assert deltas["new"].before is None and deltas["new"].delta is None
    # Largest relative move first.
    assert list(deltas)[0] == "new"


def test_the_regression_gate_counts_new_findings_at_or_above_the_severity(cards) -> None:
    base = cards.make_card((result("target_leakage", leak("boat")), result("slice_bias")))
    now = cards.make_card((result("target_leakage", leak("boat"), leak("ticket", "medium")), result("slice_bias", slice_finding("high"))))
    diff = auditkit.diff_scorecards(base, now)
    assert len(diff.regressions("medium")) == 2
    (only,) = diff.regressions("high")
    assert only.startswith("new high finding slice_bias/underperforming_slice [age, sex] where age >= 60 and sex == 'f'")
    assert diff.regressions("critical") == []  # boat is critical, but it was already there


def test_a_finding_that_rises_to_the_gate_or_a_probe_that_now_errors_is_a_regression(cards) -> None:
    base = cards.make_card((result("slice_bias", slice_finding("low")), result("target_leakage", leak("boat", "medium"))))
    now = cards.make_card((result("slice_bias", slice_finding("high")), result("target_leakage", status="error")))
    reasons = auditkit.diff_scorecards(base, now).regressions("high")
    assert len(reasons) == 2
    assert "rose from low to high" in reasons[0]
    assert reasons[1] == "probe target_leakage ran in the baseline but could not run now, so its findings cannot be compared"


def test_a_new_finding_under_a_standing_waiver_is_no_regression(cards) -> None:
    waiver = {"fail_on": "high", "waivers": [{"probe": "target_leakage", "features": ["ticket"], "reason": "known", "expires": "2026-12-31"}]}
    base = cards.make_card((result("target_leakage"),))
    now = cards.make_card((result("target_leakage", leak("ticket")),), policy=waiver)
    diff = auditkit.diff_scorecards(base, now)
    assert diff.new[0].waived_after and diff.regressions("low") == []
    lapsed = dataclasses.replace(now, created_at="2027-01-05T00:00:00+00:00")  # audited after the expiry
    assert len(auditkit.diff_scorecards(base, lapsed).regressions("low")) == 1


def test_the_diff_renders_for_a_terminal_and_as_markdown(cards) -> None:
    base = cards.make_card((result("target_leakage", leak("body", "high")),), score=35.0, grade="D")
    now = cards.make_card((result("target_leakage", leak(cards.XSS)),), score=0.0, grade="F")
    diff = auditkit.diff_scorecards(base, now)
    text = auditkit.render_diff_terminal(diff, fail_on_new="high")
    assert "\x1b[" not in text
    assert "score 35 -> 0 (-35), grade D -> F" in text
    assert f"+ [critical] target_leakage/single_feature_leak [{cards.XSS}]" in text
    assert "- [high] target_leakage/single_feature_leak [body]" in text
    assert "regressions at high or above: 1" in text
    md = auditkit.render_diff_markdown(diff, fail_on_new="high")
    assert md.startswith("### \u274c auditkit diff")
    assert "**New findings (1)**" in md and "**Fixed findings (1)**" in md
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    assert "**1 regression at high or above:**" in md
    clean = auditkit.render_diff_markdown(auditkit.diff_scorecards(now, now), fail_on_new="high")
    assert clean.startswith("### \u2705 auditkit diff") and "No regressions at high or above." in clean
