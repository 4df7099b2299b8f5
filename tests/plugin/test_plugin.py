"""The pytest plugin, driven through pytester as a user's suite would drive it.

The suites under test use small probes written here (one that passes or fails
on a threshold, one that crashes, one that never applies, one with a medium
finding) and a function model that counts its passes over the audit rows, so
every outcome of the plugin is produced on purpose and fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import auditkit
from auditkit._judge import FAILURE_HEADER, PROBE_FAILED, RERUN_TEXT
from auditkit._probe import derive_seed
from auditkit._report._junit import MAX_METRIC_PROPERTIES

TOY_PROBES = '''
"""Probes with known outcomes and a model that counts its passes over the audit rows."""
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

import auditkit
from auditkit import Evidence, Finding, Probe, ProbeSkipped

N_ROWS = 400
FULL_PASSES = []  # one entry per prediction pass over all audit rows


def make_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=N_ROWS)
    y = (x + rng.normal(scale=0.5, size=N_ROWS) > 0).astype(int)
    return auditkit.AuditData(pd.DataFrame({"x": x, "y": y}), target="y")


def model(X):
    if len(X) == N_ROWS:
        FULL_PASSES.append(len(X))
    return 1 / (1 + np.exp(-2 * X["x"].to_numpy()))


@dataclass(frozen=True, kw_only=True)
class Accuracy(Probe):
    """Accuracy at the model's own decision rule, judged against a minimum."""

    name: ClassVar[str] = "accuracy"
    minimum: float = 0.6

    def run(self, ctx):
        acc = float(np.mean(ctx.predictions.labels == ctx.data.y.to_numpy()))
        findings = []
        if acc < self.minimum:
            findings.append(Finding(
                code="low_accuracy", severity="high",
                message=f"Accuracy {acc:.3f} is below the minimum {self.minimum:.2f} on {ctx.data.n_rows} rows.",
                metrics={"accuracy": acc, "minimum": self.minimum},
            ))
        metrics = {"accuracy": acc, "detail": {"rows": ctx.data.n_rows, "curve": [0.1, 0.2]}}
        return Evidence(metrics=metrics, findings=findings)


@dataclass(frozen=True, kw_only=True)
class Crashes(Probe):
    """Always crashes."""

    name: ClassVar[str] = "crashes"

    def run(self, ctx):
        raise ZeroDivisionError("boom")


@dataclass(frozen=True, kw_only=True)
class NeedsCosts(Probe):
    """Never applies."""

    name: ClassVar[str] = "needs_costs"

    def run(self, ctx):
        raise ProbeSkipped("no costs were given")


@dataclass(frozen=True, kw_only=True)
class Spread(Probe):
    """One medium finding about the spread of the scores, and many metrics."""

    name: ClassVar[str] = "spread"

    def run(self, ctx):
        s = float(np.std(ctx.predictions.scores))
        metrics = {"spread": s, **{f"m{i:03d}": i for i in range(100)}}
        finding = Finding(code="wide_spread", severity="medium",
                          message=f"Score spread {s:.3f} exceeds 0.20.", metrics={"spread": s})
        return Evidence(metrics=metrics, findings=[finding])
'''

FIXTURES = """
import pytest
import toyprobes


@pytest.fixture(scope="session")
def audit_model():
    return toyprobes.model


@pytest.fixture(scope="session")
def audit_data():
    return toyprobes.make_data()
"""

ALL_OUTCOMES = """
import toyprobes
from auditkit.testing import parametrize_with_probes


@parametrize_with_probes(
    toyprobes.Accuracy(minimum=0.99), toyprobes.Crashes(), toyprobes.NeedsCosts(), toyprobes.Spread()
)
def test_audit(probe, audit_model, audit_data):
    probe.check(audit_model, audit_data)
"""

PASSING = """
import toyprobes
from auditkit.testing import parametrize_with_probes


@parametrize_with_probes(toyprobes.Accuracy(), toyprobes.NeedsCosts(), toyprobes.Spread())
def test_audit(probe, audit_model, audit_data):
    probe.check(audit_model, audit_data)
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: the toy probes importable, the two audit fixtures in its conftest."""
    pytester.makepyfile(toyprobes=TOY_PROBES)
    pytester.makeconftest(FIXTURES)
    pytester.syspathinsert()
    return pytester


def _accuracy(seed: int = 0) -> float:
    """The toy model's accuracy computed here, apart from the probe."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=400)
    y = (x + rng.normal(scale=0.5, size=400) > 0).astype(int)
    return float(np.mean((1 / (1 + np.exp(-2 * x)) >= 0.5).astype(int) == y))


def test_each_outcome_maps_to_its_test_outcome(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_audit=ALL_OUTCOMES)
    result = suite.runpytest("-v", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, errors=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*test_audit[[]accuracy[]] FAILED*",
            "*test_audit[[]crashes[]] ERROR*",
            "*test_audit[[]needs_costs[]] SKIPPED*",
            "*test_audit[[]spread[]] PASSED*",
        ]
    )
    accuracy = _accuracy()
    header = FAILURE_HEADER.format(name="accuracy", gate="high", failing=1, total=1, score="35/100")
    rerun = RERUN_TEXT.format(seed=0, probe_seed=derive_seed(0, "accuracy"))
    # The failure lists each finding, numbered, with its measured value and threshold.
    result.stdout.fnmatch_lines(
        [
            f"E * {header}",
            f"E *1. [[]high[]] low_accuracy: Accuracy {accuracy:.3f} is below the minimum 0.99 on 400 rows.",
            f"E *metrics: accuracy={accuracy:.4g}, minimum=0.99",
            f"E * {rerun}",
        ]
    )
    # The error is a setup error carrying the probe's exception, with no plugin traceback.
    result.stdout.fnmatch_lines(["*ERROR at setup of test_audit[[]crashes[]]*", "probe crashes could not run: ZeroDivisionError: boom"])
    assert "_pytest_plugin.py" not in result.stdout.str()
    # The skip carries the probe's reason and points at the test, not at the plugin.
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] test_audit.py:*: no costs were given"])
    # The scorecard summary comes at the end, with every probe, and the gate explains itself.
    result.stdout.fnmatch_lines(
        [
            "*auditkit scorecard*",
            "*audit FAILED*",
            "accuracy *failed*35*",
            "crashes *error*ZeroDivisionError: boom*",
            "needs_costs *skipped*no costs were given*",
            "spread *passed*65*",
            "auditkit gate: FAILED - function model on 400 rows of 'y': "
            + PROBE_FAILED.format(name="accuracy", failing=1, gate="high", codes="low_accuracy")
            + "; probe crashes could not run: ZeroDivisionError: boom",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_predictions_are_computed_once_per_session(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_audit=PASSING
        + """

@parametrize_with_probes(toyprobes.Accuracy(minimum=0.5), toyprobes.Spread())
def test_audit_again(probe, audit_model, audit_data):
    probe.check(audit_model, audit_data)


def test_zz_one_pass_over_the_audit_rows():
    # Five probe tests ran (one skipped before predicting): the model saw the rows once.
    assert toyprobes.FULL_PASSES == [400]
"""
    )
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, skipped=1)


def test_k_selects_probes_by_name(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_audit=ALL_OUTCOMES)
    result = suite.runpytest("-p", "no:cacheprovider", "-k", "spread or needs_costs", "-v")
    result.assert_outcomes(passed=1, skipped=1, deselected=2)
    out = result.stdout.str()
    assert "test_audit[spread] PASSED" in out and "accuracy" not in out.split("auditkit scorecard")[0]
    # The scorecard holds what ran, and passes: the failing and crashing probes were deselected.
    result.stdout.fnmatch_lines(["*audit PASSED*"])
    assert result.ret == pytest.ExitCode.OK


def test_expected_failures_xfail_with_their_reason_but_errors_still_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_audit="""
import toyprobes
from auditkit.testing import parametrize_with_probes


@parametrize_with_probes(
    toyprobes.Accuracy(minimum=0.99), toyprobes.Crashes(), toyprobes.Spread(),
    expected_failures={"accuracy": "the retrained model ships next sprint", "crashes": "known to crash"},
)
def test_audit(probe, audit_model, audit_data):
    probe.check(audit_model, audit_data)
"""
    )
    json_path = suite.path / "scorecard.json"
    result = suite.runpytest("-p", "no:cacheprovider", "-rxE", f"--audit-json={json_path}")
    result.assert_outcomes(passed=1, xfailed=1, errors=1)
    result.stdout.fnmatch_lines(["XFAIL test_audit.py::test_audit[[]accuracy[]] - the retrained model ships next sprint"])
    card = json.loads(json_path.read_text())
    waivers = {w["probe"]: w["reason"] for w in card["policy"]["waivers"]}
    assert waivers == {
        "accuracy": "expected failure in the test suite: the retrained model ships next sprint",
        "crashes": "expected failure in the test suite: known to crash",
    }
    # The waived probe passes the gate with its finding kept; the crash still fails it.
    statuses = {p["name"]: p["status"] for p in card["probes"]}
    assert statuses == {"accuracy": "passed", "crashes": "error", "spread": "passed"}
    assert card["probes"][0]["findings"][0]["code"] == "low_accuracy"
    assert card["passed"] is False


def test_expected_failure_alone_passes_the_run(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_audit="""
import toyprobes
from auditkit.testing import parametrize_with_probes


@parametrize_with_probes(toyprobes.Accuracy(minimum=0.99), expected_failures={"accuracy": "known"})
def test_audit(probe, audit_model, audit_data):
    probe.check(audit_model, audit_data)
"""
    )
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(["*audit PASSED*"])
    assert result.ret == pytest.ExitCode.OK


def test_seed_and_json_options(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_audit=ALL_OUTCOMES)
    json_path = suite.path / "out" / "card.json"
    json_path.parent.mkdir()
    result = suite.runpytest("-p", "no:cacheprovider", "--audit-seed", "7", "--audit-json", str(json_path))
    result.stdout.fnmatch_lines([f"scorecard written to {json_path}"])
    card = json.loads(json_path.read_text())
    auditkit.validate_scorecard(card)
    assert card["seed"] == 7
    assert [p["name"] for p in card["probes"]] == ["accuracy", "crashes", "needs_costs", "spread"]
    assert {p["name"]: p["seed"] for p in card["probes"]} == {
        name: derive_seed(7, name) for name in ("accuracy", "crashes", "needs_costs", "spread")
    }
    assert card["probes"][0]["metrics"]["accuracy"] == pytest.approx(_accuracy())
    assert card["passed"] is False
    # Written atomically: nothing but the scorecard is left in its folder.
    assert [p.name for p in json_path.parent.iterdir()] == ["card.json"]


def test_fail_on_option_moves_the_gate(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_audit=PASSING)
    assert suite.runpytest("-p", "no:cacheprovider").ret == pytest.ExitCode.OK
    result = suite.runpytest("-p", "no:cacheprovider", "--audit-fail-on", "medium")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*probe spread failed the audit gate (fail on medium): 1 of 1 finding(s)*"])
    bad = suite.runpytest("-p", "no:cacheprovider", "--audit-fail-on", "severe")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--audit-fail-on: invalid choice: 'severe'*"])


def test_policy_from_pyproject_settings_and_min_score(suite: pytest.Pytester) -> None:
    """The plugin reads [tool.auditkit] as the CLI does: probe settings, and a
    min_score that fails the run at session end although every test passed."""
    suite.makepyfile(test_audit=PASSING)
    suite.makepyprojecttoml(
        """
[tool.auditkit]
min_score = 80

[tool.auditkit.probes.accuracy]
minimum = 0.5
"""
    )
    json_path = suite.path / "card.json"
    result = suite.runpytest("-p", "no:cacheprovider", f"--audit-json={json_path}")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(
        ["auditkit gate: FAILED - function model on 400 rows of 'y': score 65 is below the policy's min_score 80"]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    card = json.loads(json_path.read_text())
    assert card["policy"]["min_score"] == 80 and card["passed"] is False
    # The setting from the policy reached the probe: a minimum of 0.5 passes.
    assert card["probes"][0]["status"] == "passed"

    suite.makepyprojecttoml("[tool.auditkit.probes.accuracy]\nminimum = 0.99\n")
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*Accuracy * is below the minimum 0.99*"])


def test_the_policy_may_name_the_suites_own_probes_but_no_unknown_one(suite: pytest.Pytester) -> None:
    """The suite's probes need no entry point to be configured; a typo is every test's one-line error."""
    suite.makepyfile(test_audit=PASSING)
    suite.makepyprojecttoml("[tool.auditkit.probes.spread]\nfail_on = 'critical'\n[[tool.auditkit.waivers]]\nprobe = 'acuracy'\nreason = 'r'\n")
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*the audit policy cannot be used: ProbeConfigError: pyproject.toml: waiver for unknown probe 'acuracy'; installed probes are: *"])
    suite.makepyprojecttoml("[tool.auditkit.probes.accuracy]\nmaximum = 2\n")
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*ProbeConfigError: pyproject.toml: probe 'accuracy' has no setting 'maximum'; its settings are: minimum"])


def test_bad_policy_and_bad_json_folder_are_reported_plainly(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_audit=PASSING)
    missing = suite.path / "no-such-folder" / "card.json"
    result = suite.runpytest("-p", "no:cacheprovider", f"--audit-json={missing}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--audit-json {missing}: folder * does not exist*"])
    suite.makepyprojecttoml("[tool.auditkit]\nfail_on = 'severe'\n")
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*the audit policy cannot be used: ProbeConfigError: *unknown severity 'severe'*"])


def test_one_scorecard_per_model_and_data(suite: pytest.Pytester) -> None:
    """Two datasets in one run: two scorecards, printed and written as a JSON array."""
    suite.makepyfile(
        test_audit="""
import pytest
import toyprobes
from auditkit.testing import parametrize_with_probes


@pytest.fixture(scope="session", params=[0, 1], ids=["first", "second"])
def audit_data(request):
    data = toyprobes.make_data()
    return data if request.param == 0 else data.replace(data.frame.iloc[:300])


@parametrize_with_probes(toyprobes.Accuracy(), toyprobes.Spread())
def test_audit(probe, audit_model, audit_data):
    probe.check(audit_model, audit_data)
"""
    )
    json_path = suite.path / "cards.json"
    result = suite.runpytest("-p", "no:cacheprovider", f"--audit-json={json_path}")
    result.assert_outcomes(passed=4)
    cards = json.loads(json_path.read_text())
    assert [card["data"]["rows"] for card in cards] == [400, 300]
    for card in cards:
        auditkit.validate_scorecard(card)
        assert [p["name"] for p in card["probes"]] == ["accuracy", "spread"]
    assert result.stdout.str().count("audit PASSED") == 2


def test_junit_properties_carry_the_metrics(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_audit=ALL_OUTCOMES)
    xml_path = suite.path / "junit.xml"
    suite.runpytest("-p", "no:cacheprovider", f"--junitxml={xml_path}")
    cases = {c.get("name"): c for c in ET.parse(xml_path).getroot().iter("testcase")}
    props = {
        name: {p.get("name"): p.get("value") for p in case.iter("property")} for name, case in cases.items()
    }
    accuracy = props["test_audit[accuracy]"]
    assert accuracy["auditkit.status"] == "failed"
    assert accuracy["auditkit.score"] == "35"
    assert float(accuracy["auditkit.metric.accuracy"]) == pytest.approx(_accuracy())
    assert accuracy["auditkit.metric.detail.rows"] == "400"
    assert accuracy["auditkit.metric.detail.curve"] == "[0.1, 0.2]"
    assert accuracy["auditkit.worst_severity"] == "high"
    assert props["test_audit[crashes]"]["auditkit.reason"] == "ZeroDivisionError: boom"
    assert cases["test_audit[crashes]"].find("error") is not None
    # 101 metrics: the first 40 as properties, and a count of the rest.
    spread = props["test_audit[spread]"]
    assert sum(k.startswith("auditkit.metric.") for k in spread) == MAX_METRIC_PROPERTIES
    assert spread["auditkit.metrics_omitted"] == str(101 - MAX_METRIC_PROPERTIES)


def test_other_fixture_names_run_the_probe_in_check(suite: pytest.Pytester) -> None:
    """Without the audit_model/audit_data fixtures the probe runs inside
    probe.check: same results and scorecard, but an error shows as a failure."""
    suite.makepyfile(
        test_audit="""
import pytest
import toyprobes
from auditkit.testing import parametrize_with_probes


@pytest.fixture(scope="session")
def my_model():
    return toyprobes.model


@parametrize_with_probes(toyprobes.Accuracy(minimum=0.99), toyprobes.Crashes(), toyprobes.NeedsCosts(), toyprobes.Spread())
def test_audit(probe, my_model):
    probe.check(my_model, toyprobes.DATA)
"""
    )
    suite.makepyfile(toyprobes=TOY_PROBES + "\nDATA = make_data()\n")
    result = suite.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    result.stdout.fnmatch_lines(["*_ test_audit[[]crashes[]] _*", "probe crashes could not run: ZeroDivisionError: boom", "*auditkit scorecard*"])


def test_unusable_data_errors_every_probe_with_one_message(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_audit=PASSING)
    suite.makeconftest(FIXTURES.replace("return toyprobes.make_data()", "return toyprobes.make_data().frame"))
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        ["*cannot audit this model on this data: DataError: data must be an auditkit.AuditData; got DataFrame*"]
    )


def test_check_outside_audit_tests_is_left_alone(suite: pytest.Pytester) -> None:
    """check_probe in an ordinary test runs its own audit; the run prints no scorecard."""
    suite.makepyfile(
        test_plain="""
import pytest
import toyprobes
from auditkit.testing import check_probe


def test_plain_check(audit_model, audit_data):
    result = check_probe(toyprobes.Accuracy(), audit_model, audit_data)
    assert result.status == "passed"
    with pytest.raises(AssertionError, match="low_accuracy|below the minimum"):
        check_probe(toyprobes.Accuracy(minimum=0.99), audit_model, audit_data)
"""
    )
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "auditkit scorecard" not in result.stdout.str() and "auditkit gate" not in result.stdout.str()


def test_parametrize_with_probes_validates_expected_failures() -> None:
    from auditkit.testing import parametrize_with_probes

    @parametrize_with_probes(_Quiet())
    def test(probe):  # pragma: no cover - never run
        pass

    marks = {m.name for m in test.pytestmark}
    assert marks == {"parametrize", "auditkit"}
    with pytest.raises(auditkit.ProbeConfigError, match="names probe 'nope', which this test does not run; it runs: quiet"):
        parametrize_with_probes(_Quiet(), expected_failures={"nope": "why"})
    with pytest.raises(auditkit.ProbeConfigError, match=r"expected_failures\['quiet'\] needs a reason"):
        parametrize_with_probes(_Quiet(), expected_failures={"quiet": " "})
    with pytest.raises(auditkit.UnknownProbeError, match="unknown probe 'no_such_probe'"):
        parametrize_with_probes("no_such_probe")


class _Quiet(auditkit.Probe):
    name = "quiet"

    def run(self, ctx: auditkit.AuditContext) -> auditkit.Evidence:  # pragma: no cover - never run
        return auditkit.Evidence()


def test_every_installed_probe_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_audit="""
from auditkit.testing import parametrize_with_probes


@parametrize_with_probes()
def test_audit(probe, audit_model, audit_data):
    probe.check(audit_model, audit_data)
"""
    )
    names = sorted(p.name for p in auditkit.available_probes())
    assert names, "no probe is installed"
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q")
    result.stdout.fnmatch_lines([f"test_audit.py::test_audit[[]{name}[]]" for name in names])


# -- cheap and inert ---------------------------------------------------------------

HEAVY = ("torch", "sklearn", "scipy", "fairlearn", "hypothesis.strategies")


def test_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys; import auditkit._pytest_plugin; "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_run_without_audit_tests_is_untouched(pytester: pytest.Pytester) -> None:
    """No scorecard, no file, nothing heavy imported: the plugin stays out of the way."""
    report = pytester.path / "modules.json"
    pytester.makeconftest(
        f"""
import json, sys

def pytest_sessionfinish(session):
    with open({str(report)!r}, "w") as fh:
        json.dump([m for m in {HEAVY!r} if m in sys.modules], fh)
"""
    )
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    json_path = pytester.path / "card.json"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--audit-json={json_path}")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    assert not json_path.exists()
    result.stdout.fnmatch_lines([f"auditkit: no audit test ran a probe; {json_path} was not written"])
    assert "auditkit scorecard" not in result.stdout.str()
    assert json.loads(report.read_text()) == []
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert "auditkit:" not in plain.stdout.str() and "scorecard" not in plain.stdout.str()


# -- pytest-xdist -------------------------------------------------------------------


def test_xdist_merges_the_workers_scorecards(suite: pytest.Pytester) -> None:
    """Under -n 2 the controller merges what each worker audited: the same
    scorecard as a run without xdist, the same JUnit properties, and the gate
    applied by the controller (here a min_score no single test can see)."""
    suite.makepyfile(test_audit=PASSING)
    suite.makepyprojecttoml("[tool.auditkit]\nmin_score = 80\n")
    serial_json, xdist_json = suite.path / "serial.json", suite.path / "xdist.json"
    xml_path = suite.path / "junit.xml"
    serial = suite.runpytest("-p", "no:cacheprovider", f"--audit-json={serial_json}")
    assert serial.ret == pytest.ExitCode.TESTS_FAILED
    result = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", f"--audit-json={xdist_json}", f"--junitxml={xml_path}"
    )
    result.assert_outcomes(passed=2, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*auditkit scorecard*", "*score 65 is below the policy's min_score 80"])

    def comparable(path: Path) -> dict:
        card = json.loads(path.read_text())
        card.pop("created_at")
        for probe in card["probes"]:
            probe.pop("duration_s")
        return card

    assert comparable(xdist_json) == comparable(serial_json)
    statuses = {
        c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")}.get("auditkit.status")
        for c in ET.parse(xml_path).getroot().iter("testcase")
    }
    assert statuses == {"test_audit[accuracy]": "passed", "test_audit[needs_costs]": "skipped", "test_audit[spread]": "passed"}
