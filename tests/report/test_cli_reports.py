"""Reports and the gate from the command line, run as a user runs it: in a subprocess.

``auditkit run --html/--markdown/--junit``, ``auditkit report`` and
``auditkit diff``, the policy found in pyproject.toml, and the rule that a
run that exits 2 writes no report at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import auditkit

XSS = "<img src=x onerror=alert(1)>"
REPORTS = ("card.json", "card.html", "card.md", "card.xml")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditkit", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def audit_csv(tmp_path_factory) -> Path:
    """Stored predictions of a modest model, and a column (with a hostile name) that is the target in disguise."""
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    x = y + rng.normal(0, 1.5, n)
    score = 1 / (1 + np.exp(-x))
    frame = pd.DataFrame(
        {"x": x, "group": rng.choice(["a", "b"], n), XSS: np.where(y == 1, "yes", "no"), "y": y, "pred": (score > 0.5).astype(int), "score": score.round(6)}
    )
    path = tmp_path_factory.mktemp("data") / "audit.csv"
    frame.to_csv(path, index=False)
    return path


def run_args(data: Path, *more: str) -> list[str]:
    return ["run", "--data", str(data), "--target", "y", "--prediction-column", "pred", "--score-column", "score", "--probes", "target_leakage", *more]


def all_reports(folder: Path) -> list[str]:
    return ["--json", str(folder / "card.json"), "--html", str(folder / "card.html"), "--markdown", str(folder / "card.md"), "--junit", str(folder / "card.xml")]


def test_run_writes_every_report_asked_for(audit_csv: Path, tmp_path: Path) -> None:
    proc = cli(*run_args(audit_csv, *all_reports(tmp_path)), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # the disguised target fails the gate
    for line in ("scorecard written to", "HTML report written to", "Markdown summary written to", "JUnit XML written to"):
        assert line in proc.stdout
    doc = json.loads((tmp_path / "card.json").read_text())
    auditkit.validate_scorecard(doc)
    assert doc["title"] == "stored predictions 'pred' on audit.csv"  # no --title: the files audited
    page = (tmp_path / "card.html").read_text()
    assert 'data-chart="ranking"' in page and XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert (tmp_path / "card.md").read_text().startswith(f"### \u274c {doc['title']}\n\nauditkit: audit **FAILED**")
    case = ET.parse(tmp_path / "card.xml").getroot().find("testsuite/testcase")
    assert case.get("name") == "target_leakage" and case.find("failure") is not None
    # The reports are one audit, rendered four ways.
    card = auditkit.Scorecard.from_dict(doc)
    assert page == auditkit.render_html(card)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


@pytest.mark.parametrize(
    ("more", "message"),
    [
        (["--target", "nope"], "target column 'nope' is not in the audit data"),
        (["--html", "missing-folder/card.html"], "cannot write --html 'missing-folder/card.html': folder 'missing-folder' does not exist"),
        (["--markdown", "card.json"], "--json and --markdown both write 'card.json'; give each report its own file"),
        (["--config", "absent.toml"], "config file 'absent.toml' does not exist"),
    ],
)
def test_a_run_that_exits_2_writes_no_report_at_all(audit_csv: Path, tmp_path: Path, more: list[str], message: str) -> None:
    args = run_args(audit_csv, *all_reports(tmp_path))
    if more[0] == "--target":
        args[args.index("--target") + 1] = more[1]
    elif more[0] == "--markdown":
        args[args.index("--markdown") + 1] = str(tmp_path / "card.json")
        message = message.replace("'card.json'", repr(str(tmp_path / "card.json")))
    else:
        args += more
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()  # one line, no traceback
    assert line.startswith(f"auditkit: error: {message}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_policy_comes_from_the_nearest_pyproject(audit_csv: Path, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [tool.auditkit]
            fail_on = "high"

            [[tool.auditkit.waivers]]
            probe = "target_leakage"
            code = "single_feature_leak"
            features = ["{XSS}"]
            reason = "the column is dropped before scoring (MODEL-7)"
            expires = 2999-12-31
            """
        )
    )
    work = tmp_path / "ci" / "job"
    work.mkdir(parents=True)
    proc = cli(*run_args(audit_csv, "--html", "card.html", "--junit", "card.xml"), cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the only failing finding is waived
    assert "audit PASSED" in proc.stdout and "waived" in proc.stdout
    page = (work / "card.html").read_text()
    assert "waived (until 2999-12-31): the column is dropped before scoring (MODEL-7)" in page
    assert "waived (until 2999-12-31)" in (work / "card.xml").read_text()

    # An explicit --config wins over the discovered file: here, a lapsed waiver.
    (work / "lapsed.toml").write_text(
        '[[waivers]]\nprobe = "target_leakage"\nreason = "was dropped"\nexpires = 2001-01-01\n'
    )
    proc = cli(*run_args(audit_csv, "--config", "lapsed.toml"), cwd=work)
    assert proc.returncode == 1
    assert "note: waiver for target_leakage expired on 2001-01-01 and no longer waives (was dropped)" in proc.stdout


def test_report_re_renders_a_saved_scorecard(full_card, tmp_path: Path) -> None:
    (tmp_path / "saved.json").write_text(auditkit.render_json(full_card))
    proc = cli("report", "saved.json", "--html", "r.html", "--markdown", "r.md", "--junit", "r.xml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # re-rendering is no gate
    assert "audit FAILED" in proc.stdout and "HTML report written to r.html" in proc.stdout
    assert (tmp_path / "r.html").read_text() == auditkit.render_html(full_card)
    assert (tmp_path / "r.md").read_text() == auditkit.render_markdown(full_card)
    assert (tmp_path / "r.xml").read_text() == auditkit.render_junit(full_card)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "saved.json is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ('{"score": 3}', "saved.json is not an auditkit scorecard: at the top level: 'schema_version' is a required property"),
        (None, "scorecard 'saved.json' does not exist"),
        ('{"schema_version": 3}', "saved.json was written by a newer auditkit (scorecard schema version 3; "
                                   "this one reads version 2): upgrade auditkit to read it"),
    ],
)
def test_report_refuses_what_is_not_a_scorecard(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "saved.json").write_text(content)
    proc = cli("report", "saved.json", "--html", "r.html", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"auditkit: error: {message}"
    assert not (tmp_path / "r.html").exists()


def test_diff_gates_on_new_findings_only(cards, tmp_path: Path) -> None:
    current = cards.full_card_of()
    leak = current["target_leakage"]
    baseline = cards.make_card(
        tuple(p if p.name != "target_leakage" else type(p)(**{**p.__dict__, "findings": p.findings[1:]}) for p in current.probes)
    )
    (tmp_path / "base.json").write_text(auditkit.render_json(baseline))
    (tmp_path / "now.json").write_text(auditkit.render_json(current))
    assert leak.findings[0].severity.value == "critical"  # what the change brought

    plain = cli("diff", "base.json", "now.json", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr  # without --fail-on-new a diff is only a report
    assert "findings: 1 new, 0 fixed, 0 changed, 5 unchanged" in plain.stdout

    gated = cli("diff", "base.json", "now.json", "--fail-on-new", "high", "--markdown", "diff.md", cwd=tmp_path)
    assert gated.returncode == 1
    assert "regressions at high or above: 1" in gated.stdout
    assert "**1 regression at high or above:**" in (tmp_path / "diff.md").read_text()

    same = cli("diff", "now.json", "now.json", "--fail-on-new", "info", cwd=tmp_path)
    assert same.returncode == 0 and "no regressions at info or above" in same.stdout

    bad = cli("diff", "base.json", "now.json", "--fail-on-new", "severe", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("auditkit: error: unknown severity 'severe'")


def test_run_title_heads_every_report_and_defaults_to_the_model_and_data_files(audit_csv: Path, tmp_path: Path) -> None:
    title = "credit model v3 vs 2026-Q4 traffic"
    proc = cli(*run_args(audit_csv, "--title", title, *all_reports(tmp_path)), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[0] == title
    assert json.loads((tmp_path / "card.json").read_text())["title"] == title
    assert f"<h1 id=\"title\">{title}</h1>" in (tmp_path / "card.html").read_text()
    assert (tmp_path / "card.md").read_text().startswith(f"### \u274c {title}\n")
    props = ET.parse(tmp_path / "card.xml").getroot().find("testsuite/properties")
    assert {p.get("name"): p.get("value") for p in props}["title"] == title
    # A model file names the audit by its file name, beside the data file's.
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    frame = pd.read_csv(audit_csv)
    sio.dump(LogisticRegression().fit(frame[["x"]], frame["y"]), tmp_path / "credit_v3.skops")
    frame[["x", "y"]].to_csv(tmp_path / "q4.csv", index=False)
    proc = cli("run", "--data", "q4.csv", "--target", "y", "--model", "credit_v3.skops", "--probes", "target_leakage",
               "--json", "m.json", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads((tmp_path / "m.json").read_text())["title"] == "credit_v3.skops on q4.csv"
    # ... and auditkit report shows the stored title again.
    proc = cli("report", "m.json", "--markdown", "m.md", cwd=tmp_path)
    assert proc.stdout.splitlines()[0] == "credit_v3.skops on q4.csv"
    assert (tmp_path / "m.md").read_text().splitlines()[0].endswith(" credit\\_v3.skops on q4.csv")  # Markdown-escaped
