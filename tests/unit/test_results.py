"""Frozen results, the JSON contract and its schema, and the scoring rule."""

from __future__ import annotations

import dataclasses
import json

import jsonschema
import numpy as np
import pytest

import auditkit
from auditkit import Condition, Finding, ProbeResult, Scorecard, Severity
from auditkit._judge import judge_scorecard
from auditkit._results import SCHEMA_VERSION
from auditkit._scoring import grade, overall_score, probe_score


def _card(*results: ProbeResult) -> Scorecard:
    return Scorecard(
        seed=3,
        created_at="2026-01-01T00:00:00+00:00",
        model={"kind": "sklearn", "task": "binary"},
        data={"rows": 10, "columns": 3, "target": "y", "sensitive": ["sex"], "sha256": "0" * 64},
        score=overall_score(results),
        grade=grade(overall_score(results)),
        passed=True,
        policy={"fail_on": "high"},
        probes=results,
        auditkit_version="0.1.0",
    )


def test_severities_are_ordered_and_parsed() -> None:
    assert Severity.INFO < Severity.LOW < Severity.MEDIUM < Severity.HIGH < Severity.CRITICAL
    assert Severity.parse("HIGH") is Severity.HIGH
    with pytest.raises(auditkit.ProbeConfigError, match="unknown severity 'severe'"):
        Severity.parse("severe")


def test_findings_are_frozen_and_json_ready() -> None:
    f = Finding(
        code="group_gap",
        severity="high",
        message="Selection rate of 'Female' is 0.11 against 0.31 (ratio 0.36, threshold 0.80).",
        features=["sex"],
        slice=[{"feature": "sex", "op": "==", "value": np.str_("Female")}],
        metrics={"ratio": np.float64(0.36), "n": np.int64(5421), "nan": float("nan")},
        examples=[np.arange(3)],
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.message = "changed"  # type: ignore[misc]
    d = f.to_dict()
    assert d["metrics"] == {"ratio": 0.36, "n": 5421, "nan": None}
    assert d["slice"] == [{"feature": "sex", "op": "==", "value": "Female"}]
    assert d["examples"] == [[0, 1, 2]]
    assert Finding.from_dict(json.loads(json.dumps(d))) == f
    with pytest.raises(ValueError, match="unknown slice operator"):
        Condition("age", "=~", 3)


def test_conditions_hold_python_values_so_reports_read_plainly() -> None:
    leak = Condition("pipe|col", "==", np.int64(0))
    assert leak.describe() == "pipe|col == 0" and type(leak.value) is int
    band = Condition("age", "between", (np.float64(17.5), np.int32(23)))
    assert band.describe() == "17.5 <= age < 23"
    assert leak == Condition("pipe|col", "==", 0)
    card = Finding(code="c", severity="high", message="m", slice=(leak, band))
    assert Finding.from_dict(json.loads(json.dumps(card.to_dict()))) == card


def test_scorecards_round_trip_and_validate() -> None:
    finding = Finding(code="leak", severity="critical", message="Feature 'boat' leaks.", features=("boat",))
    card = _card(
        ProbeResult(name="target_leakage", status="failed", score=0.0, findings=(finding,), metrics={"auc": 0.99}),
        ProbeResult(name="nan_injection", status="skipped", reason="needs a model it can query"),
    )
    text = auditkit.render_json(card)
    auditkit.validate_scorecard(json.loads(text))
    again = auditkit.scorecard_from_json(text)
    # Written judged (a card built by hand meets the judge on its way out), read back as written.
    judged = judge_scorecard(card)
    assert again.to_dict() == judged.to_dict() and again == judged
    assert json.loads(text)["schema_version"] == SCHEMA_VERSION == 2
    assert [f.gate for f in again["target_leakage"].findings] == ["fails"]
    assert again.verdict is not None and again.verdict.reasons[0].startswith("probe target_leakage failed")


def test_results_are_deeply_immutable_and_still_serialize_and_pickle() -> None:
    import copy
    import pickle

    metrics = {"ranking": [{"feature": "a", "score": 0.9}], "detail": {"rows": 3}}
    result = ProbeResult(name="p", status="passed", score=100.0, metrics=metrics)
    metrics["detail"]["rows"] = 4  # the caller's dict is not the result's
    assert result.metrics["detail"]["rows"] == 3
    with pytest.raises(TypeError):
        result.metrics["x"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        result.metrics["detail"]["rows"] = 5  # type: ignore[index]
    with pytest.raises(TypeError):
        result.metrics["detail"].update(rows=5)  # type: ignore[union-attr]
    assert isinstance(result.metrics["ranking"], tuple)
    with pytest.raises(AttributeError):
        result.metrics["ranking"].append({})  # type: ignore[union-attr]
    finding = Finding(code="c", severity="low", message="m", metrics={"values": [1, 2]}, examples=[{"row": 1}])
    with pytest.raises(TypeError):
        finding.examples[0]["row"] = 2  # type: ignore[index]
    assert isinstance(finding.metrics["values"], tuple)
    # Still JSON as it always was, and it crosses processes (pytest-xdist) intact and frozen.
    assert json.loads(json.dumps(result.to_dict()))["metrics"] == {"ranking": [{"feature": "a", "score": 0.9}], "detail": {"rows": 3}}
    assert json.dumps(result.metrics) == '{"ranking": [{"feature": "a", "score": 0.9}], "detail": {"rows": 3}}'
    again = pickle.loads(pickle.dumps(result))
    assert again == result
    with pytest.raises(TypeError):
        again.metrics["detail"]["rows"] = 5  # type: ignore[index]
    assert copy.deepcopy(result) == result
    card = _card(result)
    with pytest.raises(TypeError):
        card.policy["fail_on"] = "critical"  # type: ignore[index]


def test_the_schema_describes_every_figure_kind() -> None:
    from auditkit._figures import FIGURE_KINDS

    from auditkit._report import load_schema

    defs = load_schema()["$defs"]
    refs = {ref["$ref"].rsplit("/", 1)[-1] for ref in defs["figure"]["oneOf"]}
    assert refs == set(FIGURE_KINDS)
    for kind in FIGURE_KINDS:
        assert defs[kind]["properties"]["kind"] == {"const": kind}


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("seed"),
        lambda d: d.update(grade="E"),
        lambda d: d["probes"][0].update(status="crashed"),
        lambda d: d["probes"][0]["findings"][0].update(severity="severe"),
        lambda d: d["probes"][0]["findings"][0].update(slice=[{"feature": "a", "op": "~", "value": 1}]),
        lambda d: d["probes"][1].update(reason=None),
    ],
)
def test_the_schema_rejects_broken_scorecards(breakage) -> None:
    finding = Finding(code="leak", severity="high", message="m", slice=(Condition("a", "<", 1),))
    card = _card(
        ProbeResult(name="p", status="failed", score=35, findings=(finding,)),
        ProbeResult(name="q", status="error", reason="boom"),
    )
    doc = json.loads(auditkit.render_json(card))
    auditkit.validate_scorecard(doc)
    breakage(doc)
    with pytest.raises(jsonschema.ValidationError):
        auditkit.validate_scorecard(doc)


def test_the_weakest_probe_bounds_the_score() -> None:
    def f(sev: str) -> Finding:
        return Finding(code="x", severity=sev, message="m")

    assert probe_score([]) == 100
    assert probe_score([f("info")]) == 100
    assert probe_score([f("low")]) == 85
    assert probe_score([f("medium"), f("low"), f("info")]) == 60  # one further finding at low or above
    assert probe_score([f("critical")]) == 0
    results = [
        ProbeResult(name="a", status="passed", score=100),
        ProbeResult(name="b", status="failed", score=35),
        ProbeResult(name="c", status="error", reason="boom"),
        ProbeResult(name="d", status="skipped", reason="n/a"),
    ]
    assert overall_score(results) == 35  # not the mean (67.5): one failing area is not hidden
    assert overall_score(results[2:]) == 0
    assert [grade(s) for s in (100, 90, 89.9, 75, 60, 40, 39.9)] == ["A", "A", "B", "B", "C", "D", "F"]


def test_durations_keep_the_precision_the_scorecard_file_stores() -> None:
    # 0.019504 s read "20 ms" when rendered at once and "19 ms" from the file (0.0195)
    result = ProbeResult(name="p", status="passed", duration_s=0.019504)
    assert result.duration_s == 0.0195
    assert ProbeResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
