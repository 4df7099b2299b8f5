"""Comparing a scorecard with its baseline: new, fixed and changed findings, metric deltas, the regression gate."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import auditkit
from auditkit import Condition, Finding, ProbeResult
from auditkit._diff import COVERAGE_LOST, DIFFERENT_TARGETS


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
    assert reasons[1] == COVERAGE_LOST.format(
        probe="target_leakage", how="could not run now", found="; the baseline had 1 finding there, the worst medium"
    )


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


def skipped(name: str, reason: str = "no costs were given") -> ProbeResult:
    return ProbeResult(name=name, status="skipped", reason=reason)


def test_a_finding_whose_probe_did_not_run_now_is_not_checked_not_fixed(cards) -> None:
    """Skipped, crashed or left out: the probe has shown nothing, so its baseline
    findings are "not checked", and the lost coverage fails the gate at any severity."""
    cost = Finding(code="money_left_on_table", severity="high", message="0.36 per row is left on the table.")
    base = cards.make_card(
        (
            result("cost_weighted_errors", cost, metrics={"expected_cost": 0.89}),
            result("target_leakage", leak("boat")),
            result("slice_bias", slice_finding("medium")),
            result("nan_injection"),
        )
    )
    now = cards.make_card((skipped("cost_weighted_errors"), result("slice_bias"), result("nan_injection", status="error")))
    diff = auditkit.diff_scorecards(base, now)
    assert [c.describe() for c in diff.fixed] == ["slice_bias/underperforming_slice [age, sex] where age >= 60 and sex == 'f'"]
    assert [(c.probe, c.finding.severity.value) for c in diff.unchecked] == [("target_leakage", "critical"), ("cost_weighted_errors", "high")]
    assert diff.metrics == ()  # a skipped probe has no metrics; none of them is "gone"
    assert diff.regressions("critical") == [
        COVERAGE_LOST.format(probe="cost_weighted_errors", how="was skipped now", found="; the baseline had 1 finding there, the worst high"),
        COVERAGE_LOST.format(probe="target_leakage", how="was left out of this audit", found="; the baseline had 1 finding there, the worst critical"),
        COVERAGE_LOST.format(probe="nan_injection", how="could not run now", found=""),
    ]

    text = auditkit.render_diff_terminal(diff, fail_on_new="high", width=200)
    assert "findings: 0 new, 1 fixed, 0 changed, 0 unchanged, 2 not checked" in text
    assert "not checked (in the baseline; the probe did not run now)" in text
    assert "  ? [high] cost_weighted_errors/money_left_on_table: 0.36 per row is left on the table." in text
    assert "- [high] cost_weighted_errors" not in text  # never listed as fixed
    assert "cost_weighted_errors: failed -> skipped (score 0 -> -); not checked now: no costs were given" in text
    assert "target_leakage: failed -> not run (score 0 -> -); not checked now: was left out of this audit" in text
    assert "regressions at high or above: 3" in text
    md = auditkit.render_diff_markdown(diff, fail_on_new="high")
    assert md.startswith("### \u274c auditkit diff")
    assert "**Not checked (2): in the baseline, and their probe did not run now**" in md
    assert "**Fixed findings (1)**" in md
    assert "(not checked now: no costs were given)" in md


def test_a_probe_that_did_not_run_either_time_is_no_regression(cards) -> None:
    base = cards.make_card((skipped("cost_weighted_errors"), result("target_leakage", status="error"), result("slice_bias")))
    now = cards.make_card((result("target_leakage", status="error"), skipped("slice_bias", "no sensitive column")))
    diff = auditkit.diff_scorecards(base, now)
    assert diff.regressions("info") == [COVERAGE_LOST.format(probe="slice_bias", how="was skipped now", found="")]
    assert diff.unchecked == () and diff.fixed == ()


def test_audits_of_different_targets_warn_and_fail_the_gate(cards) -> None:
    base = cards.make_card((result("target_leakage", leak("boat")),))
    now = cards.make_card((result("target_leakage"),), data={"rows": 400, "columns": 15, "target": "y"})
    diff = auditkit.diff_scorecards(base, now)
    warning = DIFFERENT_TARGETS.format(before="'survived'", after="'y'")
    assert diff.warnings == (warning,)
    assert diff.regressions("critical") == [warning]  # a baseline of another target would pass 'boat' off as fixed
    text = auditkit.render_diff_terminal(diff, width=200)
    assert text.splitlines()[3:5] == [f"warning: {warning}", "data: 1309 -> 400 rows, 14 -> 15 columns"]
    md = auditkit.render_diff_markdown(diff)
    assert f"\u26a0\ufe0f **Warning:** the two audits are of different targets ('survived' in the baseline, 'y' now)" in md
    # More rows or another column is what a change brings: context, not a warning.
    grown = auditkit.diff_scorecards(base, dataclasses.replace(base, data={**base.data, "rows": 1400}))
    assert grown.warnings == () and grown.regressions("info") == []
    assert "data: 1309 -> 1400 rows" in auditkit.render_diff_terminal(grown)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditkit", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_cli_gate_fails_when_a_probe_that_found_something_did_not_run_now(tmp_path: Path) -> None:
    """The review's case, end to end: costs left out of the re-run skip
    cost_weighted_errors, which must not read as its findings fixed."""
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    score = 1 / (1 + np.exp(-(y + rng.normal(0, 1.5, n))))
    pd.DataFrame({"x": rng.normal(size=n), "y": y, "pred": (score > 0.5).astype(int), "score": score.round(6)}).to_csv(
        tmp_path / "audit.csv", index=False
    )
    run = ["run", "--data", "audit.csv", "--target", "y", "--prediction-column", "pred", "--score-column", "score"]
    run += ["--probes", "cost_weighted_errors"]
    costly = cli(*run, "--cost-fp", "1", "--cost-fn", "5", "--json", "base.json", cwd=tmp_path)
    assert costly.returncode == 1, costly.stdout + costly.stderr  # the threshold ignores the costs
    found = json.loads((tmp_path / "base.json").read_text())["probes"][0]["findings"]
    assert any(f["severity"] in ("high", "critical") for f in found)
    assert cli(*run, "--json", "now.json", cwd=tmp_path).returncode == 1  # skipped (no costs given): nothing checked

    proc = cli("diff", "base.json", "now.json", "--fail-on-new", "high", "--markdown", "diff.md", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())  # the terminal rendering wraps long lines
    assert f"0 fixed, 0 changed, 0 unchanged, {len(found)} not checked" in out
    assert "probe cost_weighted_errors ran in the baseline but was skipped now, so it was not checked" in out
    assert "**Not checked" in (tmp_path / "diff.md").read_text()
