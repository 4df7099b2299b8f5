"""The gate policy: the TOML file, waivers and their expiry, per-probe severities, the minimum score."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest

import auditkit
from auditkit import AuditData, Condition, Evidence, Finding, GatePolicy, Probe, ProbeConfigError, Waiver, audit
from auditkit._judge import judge_result
from auditkit._registry import BAD_SETTING, BAD_SETTINGS, NO_SUCH_SETTING, UNKNOWN_PROBE, resolve_probes


@dataclass(frozen=True, kw_only=True)
class Leaky(Probe):
    """Reports one critical leak on 'boat' and one medium on 'body', whatever the model."""

    name: ClassVar[str] = "leaky"

    def run(self, ctx):
        return Evidence(
            metrics={"rows": ctx.data.n_rows},
            findings=[
                Finding(code="single_feature_leak", severity="critical", message="boat leaks (AUC 0.98, threshold 0.90).", features=("boat",)),
                Finding(code="single_feature_leak", severity="medium", message="body leaks a little (AUC 0.81).", features=("body",)),
            ],
        )


@dataclass(frozen=True, kw_only=True)
class Biased(Probe):
    """Reports one medium-severity slice."""

    name: ClassVar[str] = "biased"

    def run(self, ctx):
        return Evidence(
            findings=[
                Finding(
                    code="underperforming_slice",
                    severity="medium",
                    message="The model errs on 41% of rows where age >= 60 and sex == 'f'.",
                    slice=(Condition("age", ">=", 60), Condition("sex", "==", "f")),
                )
            ]
        )


@pytest.fixture
def data(clean_binary: pd.DataFrame) -> AuditData:
    return AuditData(clean_binary, target="y", sensitive="group")


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- reading the policy -------------------------------------------------------------------


def test_a_pyproject_table_gives_gate_probe_settings_and_waivers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pyproject.toml",
        """
        [project]
        name = "credit-model"

        [tool.auditkit]
        fail_on = "medium"
        min_score = 40
        timeout_s = 120

        [tool.auditkit.probes.slice_bias]
        fail_on = "high"
        ratio_threshold = 0.75

        [[tool.auditkit.waivers]]
        probe = "target_leakage"
        code = "single_feature_leak"
        features = ["boat"]
        reason = "boat is dropped before scoring (MODEL-12)"
        expires = 2026-06-30

        [[tool.auditkit.waivers]]
        probe = "slice_bias"
        reason = "a new sample is being collected"
        slice = [{feature = "age", op = ">=", value = 60}]
        """,
    )
    config = auditkit.load_config(path)
    assert config.source == str(path)
    assert config.timeout_s == 120
    policy = config.policy
    assert policy.fail_on is auditkit.Severity.MEDIUM and policy.min_score == 40
    # The probe's own settings reach the probe; its fail_on is the gate's, not the probe's.
    assert config.probe_settings == {"slice_bias": {"ratio_threshold": 0.75}}
    assert policy.threshold("slice_bias") is auditkit.Severity.HIGH
    assert policy.threshold("target_leakage") is auditkit.Severity.MEDIUM
    first, second = policy.waivers
    assert first == Waiver(
        probe="target_leakage",
        code="single_feature_leak",
        features=("boat",),
        reason="boat is dropped before scoring (MODEL-12)",
        expires=dt.date(2026, 6, 30),
    )
    assert second.slice == (Condition("age", ">=", 60),) and second.expires is None
    # The policy travels in the scorecard and comes back the same.
    assert GatePolicy.from_dict(policy.to_dict()) == policy


def test_the_default_policy_reads_as_it_always_has() -> None:
    assert GatePolicy().to_dict() == {"fail_on": "high", "fail_on_error": True, "min_score": 0.0}
    assert GatePolicy.from_dict({}) == GatePolicy()


def test_a_file_of_its_own_holds_top_level_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "audit.toml", 'fail_on = "critical"\n[[waivers]]\nprobe = "target_leakage"\nreason = "known"\n')
    config = auditkit.load_config(path)
    assert config.policy.fail_on is auditkit.Severity.CRITICAL and len(config.policy.waivers) == 1


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[waivers]]\nprobe = "target_leakage"\n', "a waiver needs a reason ('reason')"),
        ('[[waivers]]\nprobe = "t"\nreason = "r"\nexpires = "next week"\n', "expires must be a date such as 2026-06-30; got 'next week'"),
        ('[[waivers]]\nprobe = "t"\nreason = "r"\nuntil = 2026-01-01\n', "unknown key 'until'"),
        ('[[waivers]]\nprobe = "t"\nreason = "r"\nfeatures = "boat"\n', "features must be a list of column names"),
        ('[[waivers]]\nprobe = "t"\nreason = "r"\nslice = [{feature = "a", op = "~", value = 1}]\n', "slice must be a list of {feature, op, value} tables"),
        ('[[waivers]]\nreason = "r"\n', "a waiver needs the name of the probe it waives ('probe')"),
        ('fail_on = "severe"\n', "unknown severity 'severe'"),
        ('min_score = "high"\n', "min_score must be a number; got 'high'"),
        ('fail_on_error = "no"\n', "fail_on_error must be true or false; got 'no'"),
        ('waivers = "all"\n', "'waivers' must be a list of tables"),
        ('failon = "high"\n', "unknown audit setting 'failon'"),
        ("[probes.slice_bias]\nfail_on = 3\n", "unknown severity 3"),
    ],
)
def test_a_bad_policy_is_one_clear_error_naming_the_file(tmp_path: Path, toml: str, message: str) -> None:
    path = write(tmp_path / "audit.toml", toml)
    with pytest.raises(ProbeConfigError) as err:
        auditkit.load_config(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


# --- mistakes in the config: one line naming the file, the probe and the setting -----------------

INSTALLED = ", ".join(sorted(p.name for p in auditkit.available_probes()))


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[tool.auditkit.probes.nope]\nmin_support = 0.1\n", UNKNOWN_PROBE.format(what="settings", name="nope", installed=INSTALLED)),
        ('[tool.auditkit.probes.nope]\nfail_on = "low"\n', UNKNOWN_PROBE.format(what="settings", name="nope", installed=INSTALLED)),
        (
            '[[tool.auditkit.waivers]]\nprobe = "target_leakge"\nreason = "known"\n',
            UNKNOWN_PROBE.format(what="waiver", name="target_leakge", installed=INSTALLED),
        ),
        (
            "[tool.auditkit.probes.slice_bias]\nratio_threshold = 1.5\n",
            BAD_SETTING.format(name="slice_bias", setting="ratio_threshold", value=1.5, problem="ratio_threshold must be in (0, 1]"),
        ),
        (
            # Each alone is fine; only together do they break the probe's rule.
            "[tool.auditkit.probes.slice_bias]\nsignificance = 0.02\nstrong_significance = 0.03\n",
            BAD_SETTINGS.format(
                name="slice_bias",
                settings="significance = 0.02, strong_significance = 0.03",
                problem="strong_significance must be in (0, significance]",
            ),
        ),
    ],
)
def test_an_unknown_probe_or_a_bad_setting_is_a_config_error(tmp_path: Path, toml: str, message: str) -> None:
    """Found when the audit resolves its probes (the registry), before any probe runs."""
    path = write(tmp_path / "pyproject.toml", toml)
    config = auditkit.load_config(path)  # reading the file loads no probe
    with pytest.raises(ProbeConfigError) as err:
        resolve_probes(["target_leakage"], config)
    assert str(err.value) == f"{path}: {message}"


def test_an_unknown_setting_names_the_probe_and_its_settings(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", "[tool.auditkit.probes.slice_bias]\nbogus = 1\n")
    with pytest.raises(ProbeConfigError) as err:
        resolve_probes(None, auditkit.load_config(path))
    assert str(err.value).startswith(f"{path}: " + NO_SUCH_SETTING.format(name="slice_bias", setting="bogus", known="age_bands, "))


def test_a_probe_defined_in_the_test_suite_is_known_to_the_config(tmp_path: Path, clean_model, data) -> None:
    """A suite's own probes need no entry point: the config may name the probes the audit is given."""
    path = write(tmp_path / "pyproject.toml", '[tool.auditkit.probes.biased]\nfail_on = "medium"\n[[tool.auditkit.waivers]]\nprobe = "leaky"\nreason = "r"\n')
    config = auditkit.load_config(path)
    assert config.policy.threshold("biased") is auditkit.Severity.MEDIUM
    assert [p.name for p in resolve_probes([Biased(), Leaky], config)] == ["biased", "leaky"]
    with pytest.raises(ProbeConfigError, match=r": waiver for unknown probe 'leaky'; installed probes are: "):
        resolve_probes([Biased()], config)
    # A mapping given to audit() is checked the same way, with no file to name.
    with pytest.raises(ProbeConfigError, match=r"^settings for unknown probe 'baised'; installed probes are: "):
        audit(clean_model, data, probes=[Biased()], config={"probes": {"baised": {"fail_on": "medium"}}})


def test_a_folder_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ProbeConfigError, match=r"is a folder, not a TOML file$"):
        auditkit.load_config(tmp_path)
    write(tmp_path / "pyproject.toml", "[tool.auditkit]\n")
    with pytest.raises(ProbeConfigError, match=r"is a folder, not a TOML file; did you mean '.*pyproject.toml'\?$"):
        auditkit.load_config(tmp_path)


@pytest.mark.parametrize("name", ["pyproject.toml", "pyproject-ci.toml"])
def test_other_tools_tables_in_a_pyproject_are_theirs(tmp_path: Path, name: str) -> None:
    """Only [tool.auditkit] is ours: a pyproject-shaped file without it holds no audit settings."""
    path = write(tmp_path / name, '[project]\nname = "x"\n[tool.other]\nline-length = 100\n')
    assert auditkit.load_config(path) == auditkit.AuditConfig()
    write(path, '[tool.other]\nline-length = 100\n[tool.auditkit]\nfail_on = "low"\n')
    assert auditkit.load_config(path).policy.fail_on is auditkit.Severity.LOW


def test_the_cli_says_a_config_mistake_in_one_line_and_exits_2(tmp_path: Path, clean_binary: pd.DataFrame) -> None:
    clean_binary.assign(pred=clean_binary["y"]).to_csv(tmp_path / "audit.csv", index=False)
    run = [sys.executable, "-m", "auditkit", "run", "--data", "audit.csv", "--target", "y", "--prediction-column", "pred"]

    def fails(*more: str) -> str:
        proc = subprocess.run([*run, *more], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        (line,) = proc.stderr.splitlines()
        return line

    write(tmp_path / "pyproject.toml", "[tool.auditkit.probes.nope]\nx = 1\n")
    assert fails() == "auditkit: error: pyproject.toml: " + UNKNOWN_PROBE.format(what="settings", name="nope", installed=INSTALLED)
    write(tmp_path / "pyproject.toml", "[tool.auditkit.probes.slice_bias]\nratio_threshold = 1.5\n")
    assert fails() == "auditkit: error: pyproject.toml: " + BAD_SETTING.format(
        name="slice_bias", setting="ratio_threshold", value=1.5, problem="ratio_threshold must be in (0, 1]"
    )
    assert fails("--config", str(tmp_path)) == f"auditkit: error: config file {str(tmp_path)!r} is a folder, not a TOML file; did you mean {str(tmp_path / 'pyproject.toml')!r}?"


def test_the_nearest_pyproject_with_a_table_is_found_from_the_working_directory(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.auditkit]\nfail_on = "low"\n')
    inner = tmp_path / "pkg"
    inner.mkdir()
    write(inner / "pyproject.toml", '[project]\nname = "inner"\n')  # no [tool.auditkit]: looked past
    deep = inner / "tests" / "unit"
    deep.mkdir(parents=True)
    assert auditkit.find_config(deep) == tmp_path / "pyproject.toml"
    assert auditkit.load_config(start=deep).policy.fail_on is auditkit.Severity.LOW
    write(inner / "pyproject.toml", '[tool.auditkit]\nfail_on = "critical"\n')
    assert auditkit.find_config(deep) == inner / "pyproject.toml"


def test_no_policy_file_anywhere_means_the_default_policy(tmp_path: Path) -> None:
    assert auditkit.find_config(tmp_path) is None
    assert auditkit.load_config(start=tmp_path) == auditkit.AuditConfig()
    with pytest.raises(ProbeConfigError, match="config file 'nowhere.toml' does not exist"):
        auditkit.load_config("nowhere.toml")


# --- waivers ------------------------------------------------------------------------------


def test_a_waiver_matches_probe_code_features_and_slice_in_any_order() -> None:
    finding = Finding(
        code="underperforming_slice",
        severity="high",
        message="m",
        features=("sex", "age"),
        slice=(Condition("sex", "==", "f"), Condition("age", ">=", 60.0)),
    )
    same = Waiver(
        probe="slice_bias",
        reason="r",
        code="underperforming_slice",
        features=("age", "sex"),
        slice=(Condition("age", ">=", 60), Condition("sex", "==", "f")),
    )
    assert same.matches("slice_bias", finding)
    assert Waiver(probe="slice_bias", reason="whole probe").matches("slice_bias", finding)
    assert not same.matches("target_leakage", finding)
    assert not Waiver(probe="slice_bias", reason="r", code="other_code").matches("slice_bias", finding)
    assert not Waiver(probe="slice_bias", reason="r", features=("age",)).matches("slice_bias", finding)
    assert not Waiver(probe="slice_bias", reason="r", slice=(Condition("age", ">=", 65),)).matches("slice_bias", finding)


def test_a_waiver_holds_through_its_expiry_day_and_then_says_it_expired() -> None:
    waiver = Waiver(probe="leaky", reason="boat is dropped before scoring", expires="2026-06-30")
    policy = GatePolicy(waivers=(waiver,))
    finding = Finding(code="single_feature_leak", severity="critical", message="m")
    on_the_day = policy.waiver_for("leaky", finding, dt.date(2026, 6, 30))
    assert on_the_day is not None and on_the_day.active
    assert on_the_day.note == "waived (until 2026-06-30): boat is dropped before scoring"
    result = auditkit.ProbeResult(name="leaky", status="passed", score=0.0, findings=(finding,))
    judged = judge_result(result, policy, dt.date(2026, 6, 30))
    assert judged.status == "passed" and judged.findings[0].gate == "waived"
    assert judged.findings[0].waiver == on_the_day.note
    after = policy.waiver_for("leaky", finding, dt.date(2026, 7, 1))
    assert after is not None and not after.active
    assert after.note == "waiver expired on 2026-06-30, so it no longer waives: boat is dropped before scoring"
    lapsed = judge_result(result, policy, dt.date(2026, 7, 1))
    assert lapsed.status == "failed" and lapsed.findings[0].gate == "waiver_expired"
    assert lapsed.findings[0].waiver == after.note and lapsed.findings[0].fails_gate
    # Another probe's finding is judged on its severity alone.
    assert judge_result(dataclasses.replace(result, name="other"), policy, dt.date(2026, 6, 30)).findings[0].gate == "fails"


def test_a_holding_waiver_wins_over_a_lapsed_one() -> None:
    finding = Finding(code="c", severity="high", message="m")
    policy = GatePolicy(
        waivers=(Waiver(probe="p", reason="old", expires="2020-01-01"), Waiver(probe="p", reason="renewed"))
    )
    status = policy.waiver_for("p", finding, dt.date(2026, 1, 1))
    assert status is not None and status.active and status.waiver.reason == "renewed"


def test_waived_findings_stay_in_the_scorecard_and_the_gate_looks_past_them(clean_model, data) -> None:
    bare = audit(clean_model, data, probes=[Leaky()])
    assert not bare.passed and bare["leaky"].status == "failed"

    waived = {"waivers": [{"probe": "leaky", "features": ["boat"], "reason": "dropped before scoring", "expires": "2999-12-31"}]}
    card = audit(clean_model, data, probes=[Leaky()], config=waived)
    assert card.passed and card["leaky"].status == "passed"
    assert [f.features for f in card["leaky"].findings] == [("boat",), ("body",)]  # nothing hidden
    assert card["leaky"].score == bare["leaky"].score == 0  # the score stays honest
    assert card.policy["waivers"][0]["reason"] == "dropped before scoring"
    auditkit.validate_scorecard(card)

    lapsed = {"waivers": [{"probe": "leaky", "features": ["boat"], "reason": "dropped", "expires": "2000-01-01"}]}
    assert not audit(clean_model, data, probes=[Leaky()], config=lapsed).passed


def test_min_score_is_held_against_the_findings_no_waiver_covers(clean_model, data) -> None:
    policy = {"min_score": 60, "waivers": [{"probe": "leaky", "features": ["boat"], "reason": "known"}]}
    card = audit(clean_model, data, probes=[Leaky()], config=policy)
    # The card scores 0 (a critical finding), but the gate sees only the medium one: 65 >= 60.
    assert card.score == 0 and card.passed
    assert card.verdict is not None and card.verdict.gate_score == 65 and card.verdict.reasons == ()
    stricter = dict(policy, min_score=70)
    assert not audit(clean_model, data, probes=[Leaky()], config=stricter).passed


def test_a_probe_can_have_its_own_failing_severity(clean_model, data) -> None:
    assert audit(clean_model, data, probes=[Biased()]).passed  # medium is below the default high
    strict = {"probes": {"biased": {"fail_on": "medium"}}}
    card = audit(clean_model, data, probes=[Biased(), Leaky()], config=dict(strict, fail_on="critical"))
    assert card["biased"].status == "failed"
    assert card["leaky"].status == "failed"  # critical, at the global level
    lenient = {"fail_on": "medium", "probes": {"biased": {"fail_on": "critical"}}}
    assert audit(clean_model, data, probes=[Biased()], config=lenient)["biased"].status == "passed"


# --- the judge: one verdict, stored; version-1 files judged when read ----------------------


def test_the_verdict_and_the_marks_are_stored_in_the_scorecard(clean_model, data) -> None:
    policy = {"min_score": 70, "waivers": [{"probe": "leaky", "features": ["boat"], "reason": "known"}]}
    card = audit(clean_model, data, probes=[Leaky(), Biased()], config=policy)
    assert [(f.features, f.gate) for f in card["leaky"].findings] == [(("boat",), "waived"), (("body",), "passes")]
    assert card["leaky"].findings[0].waiver == "waived: known"
    assert card["leaky"].fail_on is auditkit.Severity.HIGH and card["leaky"].status == "passed"
    assert card.verdict is not None and card.verdict.reasons == ("score 65 is below the policy's min_score 70",)
    assert not card.passed
    (use,) = card.verdict.waivers
    assert (use.covers, use.matched, use.expired) == ("leaky [boat]", 1, False)
    doc = json.loads(auditkit.render_json(card))
    assert doc["verdict"]["reasons"] == ["score 65 is below the policy's min_score 70"]
    assert [f["gate"] for f in doc["probes"][0]["findings"]] == ["waived", "passes"]


def _version_1(card: auditkit.Scorecard) -> dict:
    """The card as auditkit wrote it before version 2: no marks, no gate severity, no figures, no verdict."""
    doc = card.to_dict()
    doc["schema_version"] = 1
    doc.pop("verdict")
    for probe in doc["probes"]:
        probe.pop("fail_on")
        probe.pop("figures")
        for finding in probe["findings"]:
            finding.pop("gate")
            finding.pop("waiver")
    return doc


def test_a_version_1_scorecard_is_judged_when_read(clean_model, data) -> None:
    policy = {"waivers": [{"probe": "leaky", "features": ["boat"], "reason": "dropped", "expires": "2999-12-31"}]}
    card = audit(clean_model, data, probes=[Leaky()], config=policy)
    old = _version_1(card)
    auditkit.validate_scorecard(old)  # version 1 is still valid
    read = auditkit.scorecard_from_json(json.dumps(old))
    assert read.verdict is None and read.schema_version == 1
    # Every face judges it the same, once, from the stored policy, as of the audit's day.
    from auditkit._judge import ensure_judged

    judged = ensure_judged(read)
    assert judged.schema_version == 2 and judged.verdict == card.verdict
    assert [f.gate for f in judged["leaky"].findings] == ["waived", "passes"]
    assert "waived (until 2999-12-31): dropped" in auditkit.render_markdown(read)
    assert auditkit.render_terminal(read) == auditkit.render_terminal(card)
    assert json.loads(auditkit.render_json(read))["verdict"] == json.loads(auditkit.render_json(card))["verdict"]
    diff = auditkit.diff_scorecards(read, card)
    assert not diff.new and not diff.changed and diff.unchanged == 2


def test_report_and_diff_read_a_version_1_file(tmp_path: Path, clean_model, data) -> None:
    card = audit(clean_model, data, probes=[Leaky()], config={"waivers": [{"probe": "leaky", "features": ["boat"], "reason": "r"}]})
    old = tmp_path / "old.json"
    old.write_text(json.dumps(_version_1(card)), encoding="utf-8")
    new = tmp_path / "new.json"
    new.write_text(auditkit.render_json(card), encoding="utf-8")
    report = subprocess.run([sys.executable, "-m", "auditkit", "report", "old.json", "--markdown", "old.md"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    assert "waived: r" in (tmp_path / "old.md").read_text()
    diff = subprocess.run([sys.executable, "-m", "auditkit", "diff", "old.json", "new.json", "--fail-on-new", "high"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert diff.returncode == 0, diff.stdout + diff.stderr


def test_merging_pieces_judges_their_union_once(clean_model, data) -> None:
    from auditkit._judge import merge_scorecards

    session = auditkit.AuditSession(clean_model, data, config={"min_score": 50})
    leaky, biased = session.run(Leaky()), session.run(Biased())
    first, second = session.scorecard([leaky]), session.scorecard([biased])
    (merged,) = merge_scorecards([(first, {"leaky": "known leak"}), (second, {})])
    assert [p.name for p in merged.probes] == ["biased", "leaky"]
    assert merged["leaky"].status == "passed" and {f.gate for f in merged["leaky"].findings} == {"waived"}
    assert merged.passed and merged.verdict is not None and merged.verdict.gate_score == 65
    assert list(merged.policy["waivers"]) == [{"probe": "leaky", "reason": "expected failure in the test suite: known leak"}]
    (other_way,) = merge_scorecards([(second, {}), (first, {"leaky": "known leak"})])
    assert other_way.probes == merged.probes and other_way.verdict == merged.verdict


V1_FILE = Path(__file__).parent / "data" / "scorecard_v1.json"  # written by auditkit at defee87, before version 2


def test_a_scorecard_file_written_by_version_1_is_judged_from_its_own_policy(tmp_path: Path) -> None:
    doc = json.loads(V1_FILE.read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1 and "verdict" not in doc
    auditkit.validate_scorecard(doc)
    from auditkit._judge import ensure_judged

    card = ensure_judged(auditkit.scorecard_from_json(V1_FILE.read_text(encoding="utf-8")))
    leak = card["target_leakage"]
    assert [(f.features, f.gate) for f in leak.findings] == [(("leak",), "waived"), (("x",), "passes")]
    assert leak.findings[0].waiver == "waived (until 2099-12-31): leak is dropped before scoring"
    bias = card["slice_bias"]
    assert {f.gate for f in bias.findings} == {"waiver_expired"} and bias.status == "failed"
    assert card.passed is doc["passed"] is False  # the same verdict the old file states
    assert card.verdict is not None
    assert card.verdict.reasons == ("probe slice_bias failed: 2 finding(s) at or above high (underperforming_slice)",)
    assert [w.expired for w in card.verdict.waivers] == [False, True]
    # Through the command line, as a user would: report renders it, diff compares it with itself.
    (tmp_path / "old.json").write_text(V1_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    run = [sys.executable, "-m", "auditkit"]
    report = subprocess.run([*run, "report", "old.json", "--markdown", "old.md"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    assert "audit FAILED" in report.stdout
    assert "Why it failed: probe slice\\_bias failed" in (tmp_path / "old.md").read_text()
    again = json.loads(auditkit.render_json(card))
    assert again["schema_version"] == 2 and again["verdict"]["reasons"] == list(card.verdict.reasons)
    auditkit.validate_scorecard(again)
    (tmp_path / "again.json").write_text(json.dumps(again), encoding="utf-8")
    diff = subprocess.run([*run, "diff", "old.json", "again.json", "--fail-on-new", "info"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert diff.returncode == 0, diff.stdout + diff.stderr
