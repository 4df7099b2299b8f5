"""The runner: isolation, time budgets, skips, the gate, reproducibility."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

import auditkit
from auditkit import (
    AuditData,
    Evidence,
    Finding,
    Needs,
    Probe,
    ProbeConfigError,
    ProbeSkipped,
    Severity,
    UnknownProbeError,
    audit,
    require,
)


@dataclass(frozen=True, kw_only=True)
class Passing(Probe):
    """Always healthy; measures accuracy."""

    name: ClassVar[str] = "passing"

    def run(self, ctx):
        acc = float(np.mean(ctx.predictions.labels == ctx.data.y.to_numpy()))
        return Evidence(metrics={"accuracy": acc, "draw": float(ctx.rng.random())})


@dataclass(frozen=True, kw_only=True)
class Failing(Probe):
    """Finds a problem of a configurable severity."""

    name: ClassVar[str] = "failing"
    severity: str = "high"

    def __post_init__(self) -> None:
        require(self.severity in ("info", "low", "medium", "high", "critical"), "severity must be a severity name")

    def run(self, ctx):
        return Evidence(
            findings=[Finding(code="planted", severity=self.severity, message="A planted finding, value 1.0 (threshold 0.5).")]
        )


@dataclass(frozen=True, kw_only=True)
class Raising(Probe):
    """Crashes."""

    name: ClassVar[str] = "raising"

    def run(self, ctx):
        raise ZeroDivisionError("division by zero in the probe")


@dataclass(frozen=True, kw_only=True)
class Hanging(Probe):
    """Never returns within any reasonable budget."""

    name: ClassVar[str] = "hanging"

    def run(self, ctx):
        time.sleep(30)
        return Evidence()


@dataclass(frozen=True, kw_only=True)
class NeedsOnline(Probe):
    """Needs a model that learns online."""

    name: ClassVar[str] = "needs_online"
    needs: ClassVar[Needs] = Needs(online=True)

    def run(self, ctx):  # pragma: no cover - must never run on a batch model
        raise AssertionError("ran although it does not apply")


@dataclass(frozen=True, kw_only=True)
class SkipsItself(Probe):
    """Decides at run time that it does not apply."""

    name: ClassVar[str] = "skips_itself"

    def run(self, ctx):
        raise ProbeSkipped("no costs were given")


@dataclass(frozen=True, kw_only=True)
class Meddling(Probe):
    """Changes the model it audits: a bug the runner must catch."""

    name: ClassVar[str] = "meddling"

    def run(self, ctx):
        ctx.model.estimator[-1].coef_[:] = 0.0
        return Evidence()


@pytest.fixture
def data(clean_binary: pd.DataFrame) -> AuditData:
    return AuditData(clean_binary, target="y", sensitive="group")


def test_a_healthy_audit_passes(clean_model, data) -> None:
    card = audit(clean_model, data, probes=[Passing()])
    assert card.passed and card.score == 100 and card.grade == "A"
    result = card["passing"]
    assert result.status == "passed" and result.findings == ()
    expected = np.mean(clean_model.predict(data.X) == data.y.to_numpy())
    assert result.metrics["accuracy"] == pytest.approx(expected)
    auditkit.validate_scorecard(card)


def test_failures_errors_hangs_and_skips_are_reported_and_the_audit_completes(clean_model, data) -> None:
    probes = [Passing(), Failing(), Raising(), Hanging(), NeedsOnline(), SkipsItself()]
    started = time.perf_counter()
    card = audit(clean_model, data, probes=probes, config={"timeout_s": 0.5})
    assert time.perf_counter() - started < 10
    status = {p.name: p.status for p in card.probes}
    assert status == {
        "passing": "passed",
        "failing": "failed",
        "raising": "error",
        "hanging": "error",
        "needs_online": "skipped",
        "skips_itself": "skipped",
    }
    assert card["raising"].reason == "ZeroDivisionError: division by zero in the probe"
    assert card["hanging"].reason == "the probe exceeded its time budget of 0.5 s"
    assert "learns online" in card["needs_online"].reason
    assert card["skips_itself"].reason == "no costs were given"
    assert not card.passed
    assert card.score == 35 and card.grade == "F"  # the failing probe's high finding bounds the total
    auditkit.validate_scorecard(card)


def test_a_model_that_raises_is_reported_per_probe(data) -> None:
    def broken(X: pd.DataFrame) -> np.ndarray:
        raise IndexError("index 7 is out of bounds")

    card = audit(broken, data, probes=[Passing(), Failing()], config={"fail_on": "critical"})
    assert card["passing"].status == "error"
    assert card["passing"].reason.startswith("the model raised IndexError while predicting the audit data")
    assert card["failing"].status == "passed"  # high is below this gate's critical
    assert not card.passed  # an error fails the default gate


def test_a_probe_that_changes_the_model_is_an_error(clean_model, data) -> None:
    coef = clean_model[-1].coef_.copy()
    card = audit(clean_model, data, probes=[Meddling()])
    assert card["meddling"].status == "error"
    assert "changed the model's parameters" in card["meddling"].reason
    clean_model[-1].coef_[:] = coef


def test_the_gate_follows_the_policy(clean_model, data) -> None:
    low = [Failing(severity="medium")]
    assert audit(clean_model, data, probes=low).passed
    assert not audit(clean_model, data, probes=low, config={"fail_on": "medium"}).passed
    strict = audit(clean_model, data, probes=[Failing(severity="low")], config={"min_score": 90})
    assert strict.score == 85 and not strict.passed
    tolerant = audit(clean_model, data, probes=[Raising()], config={"fail_on_error": False})
    assert tolerant.passed and tolerant.score == 0  # nothing was measured


def test_the_same_audit_twice_gives_the_same_json(clean_model, data) -> None:
    def stable(card: auditkit.Scorecard) -> dict:
        doc = json.loads(auditkit.render_json(card))
        doc.pop("created_at")
        for p in doc["probes"]:
            p.pop("duration_s")
        return doc

    probes = [Passing(), Failing(), SkipsItself()]
    a = stable(audit(clean_model, data, probes=probes, seed=7))
    b = stable(audit(clean_model, data, probes=probes, seed=7))
    c = stable(audit(clean_model, data, probes=probes, seed=8))
    assert a == b
    assert a["probes"][0]["metrics"]["draw"] != c["probes"][0]["metrics"]["draw"]


def test_parallel_probes_give_the_same_results(clean_model, data) -> None:
    probes = [Passing(), Failing(), Raising(), SkipsItself()]
    one = audit(clean_model, data, probes=probes, jobs=1)
    two = audit(clean_model, data, probes=probes, jobs=2)
    assert [(p.name, p.status, p.score) for p in one.probes] == [(p.name, p.status, p.score) for p in two.probes]


def test_the_audit_never_changes_the_users_model_or_frame(clean_model, clean_binary) -> None:
    frame_before = clean_binary.copy()
    model_before = auditkit.wrap(clean_model).fingerprint()
    audit(clean_model, AuditData(clean_binary, target="y"), probes=[Passing(), Failing()])
    pd.testing.assert_frame_equal(clean_binary, frame_before)
    assert auditkit.wrap(clean_model).fingerprint() == model_before


def test_unknown_probe_names_list_the_installed_ones(clean_model, data) -> None:
    with pytest.raises(UnknownProbeError, match="unknown probe 'leekage'; installed probes are: .*target_leakage"):
        audit(clean_model, data, probes=["leekage"])


def test_an_audit_whose_every_probe_skipped_checked_nothing_and_fails(clean_model, data) -> None:
    from auditkit import render_terminal

    card = audit(clean_model, data, probes=[NeedsOnline(), SkipsItself()])
    assert [r.status for r in card.probes] == ["skipped", "skipped"]
    assert not card.passed
    assert "audit FAILED: score 0/100, grade F (nothing was checked: every probe was skipped)" in render_terminal(card)
    # one probe that ran is enough for the usual verdict
    assert audit(clean_model, data, probes=[Passing(), SkipsItself()]).passed


def test_probe_classes_are_found_by_name_without_building_them() -> None:
    from probes.slice_bias import SliceBias

    names = auditkit.installed_probe_names()
    assert names == sorted(info.name for info in auditkit.available_probes())
    assert {"target_leakage", "slice_bias", "nan_injection", "cost_weighted_errors"} <= set(names)
    assert auditkit.probe_class("slice_bias") is SliceBias
    with pytest.raises(UnknownProbeError, match="unknown probe 'slice_bais'; installed probes are: "):
        auditkit.probe_class("slice_bais")


def test_settings_are_validated_when_the_probe_is_built() -> None:
    with pytest.raises(ProbeConfigError, match="severity must be a severity name"):
        Failing(severity="huge")
    with pytest.raises(TypeError):
        Failing("high")  # settings are keyword-only
    with pytest.raises(ProbeConfigError, match="has no setting 'colour'"):
        Failing().with_settings(colour="red")
    assert Failing().with_settings(severity="low").severity == "low"


def test_per_probe_settings_come_from_the_config(clean_model, data) -> None:
    card = audit(clean_model, data, probes=[Failing()], config={"probes": {"failing": {"severity": "low"}}})
    assert card["failing"].findings[0].severity is Severity.LOW


def test_check_probe_raises_assertion_error_with_the_findings(clean_model, data) -> None:
    from auditkit.testing import check_probe

    assert check_probe(Passing(), clean_model, data).status == "passed"
    with pytest.raises(AssertionError, match=r"\[high\] planted: A planted finding, value 1.0 \(threshold 0.5\)"):
        check_probe(Failing(), clean_model, data)
    assert check_probe(Failing(), clean_model, data, fail_on="critical").status == "passed"
    with pytest.raises(RuntimeError, match="probe raising could not run: ZeroDivisionError"):
        check_probe(Raising(), clean_model, data)


@dataclass(frozen=True, kw_only=True)
class Busy(Probe):
    """Never finishes on its own: queries the model, or works between checks, forever."""

    name: ClassVar[str] = "busy"
    via: str = "model"
    steps: list = None  # type: ignore[assignment]  # shared with the test: one entry per step taken

    def run(self, ctx):
        rows = ctx.data.X.head(5)
        while True:
            if self.via == "model":
                ctx.model.predict(rows)
            else:
                ctx.check()
                time.sleep(0.005)
            self.steps.append(1)


def _alive(name: str) -> bool:
    import threading

    return any(t.name == f"auditkit-probe-{name}" and t.is_alive() for t in threading.enumerate())


@pytest.mark.parametrize("via", ["model", "check"])
def test_a_probe_past_its_budget_stops_at_its_next_step(clean_model, data, via) -> None:
    # Reported as an error at its budget, and then it stops: an abandoned probe that ran on
    # would take the cores from the probes after it.
    steps: list = []
    card = audit(clean_model, data, probes=[Busy(via=via, steps=steps)], config={"timeout_s": 0.3})
    assert card["busy"].status == "error"
    assert card["busy"].reason == "the probe exceeded its time budget of 0.3 s"
    assert steps, "it was busy"
    deadline = time.perf_counter() + 5
    while _alive("busy") and time.perf_counter() < deadline:
        time.sleep(0.01)
    assert not _alive("busy")
    taken = len(steps)
    time.sleep(0.1)
    assert len(steps) == taken


def test_a_cancelled_context_refuses_the_model_and_says_why(clean_model, data) -> None:
    from auditkit._probe import AuditContext, SharedPredictions

    session = auditkit.AuditSession(clean_model, data)
    ctx = AuditContext(session.model, data, 0, SharedPredictions(session.model, lambda: data.X), 0.3)
    labels = ctx.model.predict(data.X.head(3))  # the user's model, answering as itself
    assert list(labels) == list(clean_model.predict(data.X.head(3)))
    assert ctx.model.task == session.model.task and repr(ctx.model) == repr(session.model)
    ctx.check()
    ctx.cancel()
    assert ctx.cancelled
    for call in (lambda: ctx.model.predict(data.X), lambda: ctx.model.outputs(data.X), ctx.check):
        with pytest.raises(auditkit.ProbeCancelled, match="ran past its time budget of 0.3 s"):
            call()


@pytest.mark.parametrize("probes", [[], "", " , "])
def test_an_audit_of_no_probes_is_refused_not_passed(clean_model, data, probes) -> None:
    with pytest.raises(ProbeConfigError, match="no probes were selected"):
        audit(clean_model, data, probes=probes)


@pytest.mark.parametrize(("kw", "message"), [({"seed": "x"}, "seed must be a whole number; got 'x'"),
                                             ({"seed": 1.5}, "seed must be a whole number"),
                                             ({"jobs": 0}, "jobs must be a whole number, at least 1; got 0")])
def test_a_seed_or_jobs_that_is_not_a_whole_number_is_refused(clean_model, data, kw, message) -> None:
    with pytest.raises(auditkit.AuditkitError, match=re.escape(message)):
        audit(clean_model, data, probes=[Passing()], **kw)
