"""The auditor's command line, run as a user runs it: in a subprocess."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

import auditkit

ROOT = Path(__file__).resolve().parents[2]


def auditkit_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditkit", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo's files: a skops model, its training rows, audit rows with stored predictions."""
    out = tmp_path_factory.mktemp("demo")
    spec = importlib.util.spec_from_file_location("train_titanic", ROOT / "examples" / "demo" / "train_titanic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(out)
    return out


def _check_report(path: Path) -> dict:
    doc = json.loads(path.read_text())
    auditkit.validate_scorecard(doc)
    return doc


def test_run_with_a_skops_model_prints_a_summary_and_writes_a_valid_scorecard(demo: Path) -> None:
    proc = auditkit_cli(
        "run", "--data", "titanic_audit.csv", "--reference", "titanic_train.csv", "--model", "titanic_model.skops",
        "--target", "survived", "--sensitive", "sex", "--cost-fp", "1", "--cost-fn", "5", "--json", "card.json",
        cwd=demo,
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = _check_report(demo / "card.json")
    assert doc["model"] == {"kind": "sklearn", "task": "binary", "probabilities": True, "queryable": True, "online": False}
    assert doc["data"]["rows"] == 393 and doc["data"]["sensitive"] == ["sex"]
    assert proc.returncode == (0 if doc["passed"] else 1)
    assert "probe" in proc.stdout and "status" in proc.stdout and "worst finding" in proc.stdout
    for probe in doc["probes"]:
        assert probe["name"] in proc.stdout


def test_run_on_stored_predictions_needs_no_model(demo: Path) -> None:
    proc = auditkit_cli(
        "run", "--data", "titanic_vendor_scores.csv", "--prediction-column", "vendor_label", "--score-column", "vendor_score",
        "--target", "survived", "--sensitive", "sex", "--json", "stored.json",
        cwd=demo,
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = _check_report(demo / "stored.json")
    assert doc["model"]["kind"] == "stored" and doc["model"]["queryable"] is False
    by_name = {p["name"]: p for p in doc["probes"]}
    if "nan_injection" in by_name:  # it must query the model, so it cannot run on stored predictions
        assert by_name["nan_injection"]["status"] == "skipped"
        assert "query" in by_name["nan_injection"]["reason"]


def test_the_same_run_twice_gives_the_same_json(demo: Path) -> None:
    docs = []
    for name in ("a.json", "b.json"):
        proc = auditkit_cli(
            "run", "--data", "titanic_vendor_scores.csv", "--prediction-column", "vendor_label", "--score-column",
            "vendor_score", "--target", "survived", "--sensitive", "sex", "--seed", "5", "--json", name, cwd=demo,
        )
        assert proc.returncode in (0, 1), proc.stderr
        doc = json.loads((demo / name).read_text())
        doc.pop("created_at")
        for p in doc["probes"]:
            p.pop("duration_s")
        docs.append(doc)
    assert docs[0] == docs[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "missing.csv", "--model", "titanic_model.skops", "--target", "survived"],
         "data file 'missing.csv' does not exist"),
        (["--data", "titanic_audit.csv", "--model", "titanic_model.skops", "--target", "survives"],
         "target column 'survives' is not in the audit data"),
        (["--data", "empty.csv", "--model", "titanic_model.skops", "--target", "survived"],
         "data file empty.csv is empty"),
        (["--data", "titanic_audit.csv", "--model", "corrupt.skops", "--target", "survived"],
         "model file corrupt.skops is not a valid .skops file"),
        (["--data", "titanic_audit.csv", "--model", "titanic_model.skops", "--target", "survived", "--sensitive", "gender"],
         "sensitive column 'gender' is not in the audit data"),
        (["--data", "titanic_audit.csv", "--model", "model.pkl", "--target", "survived"],
         "refusing to load model.pkl: unpickling a .pkl file runs whatever code it contains"),
        (["--data", "titanic_audit.csv", "--model", "titanic_model.skops", "--target", "survived", "--probes", "nope"],
         "unknown probe 'nope'"),
        (["--data", "titanic_audit.csv", "--target", "survived"],
         "give --model or --prediction-column, or --reference to audit the data alone (drift)"),
        (["--data", "titanic_audit.csv", "--model", "titanic_model.skops", "--target", "survived", "--fail-on", "huge"],
         "unknown severity 'huge'"),
        (["--data", "titanic_audit.csv", "--model", "titanic_model.skops", "--target", "survived", "--probes", ""],
         "no probes were selected"),
        (["--data", "titanic_audit.csv", "--model", "titanic_model.skops", "--target", "survived", "--probes", ","],
         "no probes were selected"),
        (["--data", "titanic_audit.csv", "--model", "titanic_model.skops", "--target", "survived",
          "--cost-matrix", "costs_text.csv"],
         "cost matrix costs_text.csv must hold finite numbers only; actual 0, predicted '1' holds 'one'"),
        (["--data", "titanic_audit.csv", "--model", "titanic_model.skops", "--target", "survived",
          "--cost-matrix", "costs_ragged.csv"],
         "cost matrix costs_ragged.csv must be k rows of k costs"),
        (["--data", "titanic_audit.csv", "--model", "titanic_model.skops", "--target", "survived",
          "--cost-fp", "-1", "--cost-fn", "5"],
         "cost 'fp' must be zero or more"),
        (["--data", "titanic_audit.csv", "--model", "titanic_model.skops", "--target", "survived",
          "--cost-column", "age"],
         "missing or infinite value(s); every row needs a cost"),
    ],
)
def test_user_mistakes_exit_2_with_one_line_and_no_report(demo: Path, args: list[str], message: str) -> None:
    (demo / "empty.csv").write_text("")
    (demo / "costs_text.csv").write_text(",0,1\n0,0,one\n1,5,0\n")
    (demo / "costs_ragged.csv").write_text("0,1,2\n5,0,1\n")
    (demo / "corrupt.skops").write_bytes(b"PK\x03\x04 truncated")
    joblib.dump({"not": "a model"}, demo / "model.pkl")
    report = demo / "never.json"
    proc = auditkit_cli("run", *args, "--json", str(report), cwd=demo)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("auditkit: error: ")
    assert message in lines[0]
    assert "Traceback" not in proc.stderr
    assert not report.exists()
    assert not list(demo.glob(".never.json.*"))


def test_probes_lists_every_installed_probe(tmp_path: Path) -> None:
    proc = auditkit_cli("probes", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines()]
    assert [info.name for info in auditkit.available_probes()] == names
    assert {"target_leakage", "slice_bias", "nan_injection", "cost_weighted_errors"} <= set(names)


@pytest.mark.parametrize("report", ["--json", "--html", "--markdown", "--junit"])
@pytest.mark.parametrize("victim", ["titanic_audit.csv", "titanic_train.csv", "titanic_model.skops", "costs.csv"])
def test_a_report_is_never_written_over_an_input(demo: Path, report: str, victim: str) -> None:
    (demo / "costs.csv").write_text("actual,0,1\n0,0,1\n1,5,0\n")
    before = (demo / victim).read_bytes()
    proc = auditkit_cli(
        "run", "--data", "titanic_audit.csv", "--reference", "titanic_train.csv", "--model", "titanic_model.skops",
        "--target", "survived", "--cost-matrix", "costs.csv", "--probes", "cost_weighted_errors",
        report, f"./{victim}", cwd=demo,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"would overwrite the" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert (demo / victim).read_bytes() == before


def test_report_and_diff_never_write_over_the_scorecards_they_read(demo: Path) -> None:
    proc = auditkit_cli(
        "run", "--data", "titanic_vendor_scores.csv", "--prediction-column", "vendor_label", "--target", "survived",
        "--probes", "slice_bias", "--json", "base.json", cwd=demo,
    )
    assert proc.returncode in (0, 1), proc.stderr
    before = (demo / "base.json").read_bytes()
    for args in (["report", "base.json", "--html", "base.json"],
                 ["diff", "base.json", "base.json", "--markdown", "base.json"]):
        proc = auditkit_cli(*args, cwd=demo)
        assert proc.returncode == 2 and "would overwrite the" in proc.stderr, proc.stdout + proc.stderr
        assert (demo / "base.json").read_bytes() == before


def test_a_bare_cost_matrix_is_read_in_the_order_of_the_classes(demo: Path) -> None:
    # No labels: two lines of two costs; the first line is costs, not a header.
    (demo / "bare.csv").write_text("0,1\n5,0\n")
    proc = auditkit_cli(
        "run", "--data", "titanic_audit.csv", "--model", "titanic_model.skops", "--target", "survived",
        "--cost-matrix", "bare.csv", "--probes", "cost_weighted_errors", "--json", "bare.json", cwd=demo,
    )
    assert proc.returncode in (0, 1), proc.stderr
    (probe,) = _check_report(demo / "bare.json")["probes"]
    assert probe["status"] in ("passed", "failed"), probe.get("reason")
    # rows actual, columns predicted: a false positive (actual 0, predicted 1) costs 1, a miss 5
    assert probe["metrics"]["costs"] == {"fp": 1.0, "fn": 5.0, "tp": 0.0, "tn": 0.0}
