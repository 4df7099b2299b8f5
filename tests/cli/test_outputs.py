"""Where reports go: every target is checked before any work is done (a regular file or
none yet, in a folder that takes new files), the rest is refused with exit 2 and no
report at all; ``-`` is standard output, deliberately (issue #22)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import auditkit

STORED = ("--target", "y", "--prediction-column", "pred", "--probes", "slice_bias")


def auditkit_cli(*args: str, cwd: Path, stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditkit", *args], cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, text=True,
        timeout=300,
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """Stored predictions of a binary target, as a user's CSV."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=80)
    pred = np.where(rng.random(80) < 0.8, y, 1 - y)
    pd.DataFrame({"a": rng.normal(size=80), "g": rng.choice(["u", "v"], 80), "y": y, "pred": pred}).to_csv(
        tmp_path / "rows.csv", index=False
    )
    return tmp_path


def run(work: Path, *reports: str, stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return auditkit_cli("run", "--data", "rows.csv", *STORED, *reports, cwd=work, stdout=stdout)


def assert_refused(proc: subprocess.CompletedProcess[str], *message: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("auditkit: error: "), proc.stderr
    for part in message:
        assert part in lines[0], lines[0]
    assert not proc.stdout


def only_inputs_left(work: Path) -> bool:
    return sorted(p.name for p in work.iterdir()) == ["rows.csv"]


def test_an_unwritable_html_target_exits_2_before_the_json_is_written(work: Path) -> None:
    proc = run(work, "--json", "card.json", "--html", "/proc/a.html")
    assert_refused(proc, "cannot write --html '/proc/a.html': cannot create a file there")
    assert only_inputs_left(work)  # the scorecard was not written first


def test_a_report_into_a_missing_folder_or_through_a_file_is_refused(work: Path) -> None:
    assert_refused(run(work, "--json", "card.json", "--markdown", "nowhere/s.md"),
                   "cannot write --markdown 'nowhere/s.md': folder 'nowhere' does not exist")
    assert_refused(run(work, "--junit", "rows.csv/j.xml"), "'rows.csv' is not a folder")
    assert only_inputs_left(work)


def test_a_json_onto_a_device_node_is_refused_and_the_device_stays(work: Path) -> None:
    # a private null device when allowed (running as root in CI); /dev/null otherwise, never at risk then
    device = work / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except OSError:
        device = Path("/dev/null")
    proc = run(work, "--json", str(device))
    assert_refused(proc, f"cannot write --json '{device}': it is a character device, not a regular file",
                   "standard output with '-'")
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_a_json_onto_a_fifo_is_refused_and_the_fifo_stays(work: Path) -> None:
    os.mkfifo(work / "pipe")
    assert_refused(run(work, "--json", "pipe"), "cannot write --json 'pipe': it is a named pipe (FIFO)")
    assert stat.S_ISFIFO(os.stat(work / "pipe").st_mode)


def test_a_json_onto_dev_stdout_is_refused_whatever_stdout_is(work: Path) -> None:
    # a pipe (as under CI log capture) ...
    assert_refused(run(work, "--json", "/dev/stdout"), "cannot write --json '/dev/stdout': it is a named pipe")
    # ... or a file the shell redirected it to: replacing that file would take the output away
    with open(work / "log.txt", "w") as log:
        proc = run(work, "--json", "/dev/stdout", stdout=log)
    assert proc.returncode == 2 and "it is this command's own standard output" in proc.stderr, proc.stderr
    assert (work / "log.txt").read_text() == ""
    assert os.path.islink("/dev/stdout") or not os.path.isfile("/dev/stdout")


def test_a_folder_an_empty_name_and_a_trailing_slash_are_refused(work: Path) -> None:
    (work / "reports").mkdir()
    assert_refused(run(work, "--html", "reports"), "cannot write --html 'reports': it is a folder")
    assert_refused(run(work, "--html", ""), "cannot write --html '': no file name given")
    assert_refused(run(work, "--html", "new/"), "cannot write --html 'new/': it names a folder, not a file")
    assert not (work / "new").exists() and not list((work / "reports").iterdir())


def test_json_to_stdout_is_the_scorecard_alone_and_the_summary_goes_to_stderr(work: Path) -> None:
    proc = run(work, "--json", "-", "--html", "r.html")
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)  # nothing else on stdout: a pipe into jq works
    auditkit.validate_scorecard(doc)
    assert "worst finding" in proc.stderr and "HTML report written to r.html" in proc.stderr
    assert (work / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert not (work / "-").exists()


def test_at_most_one_report_goes_to_stdout(work: Path) -> None:
    assert_refused(run(work, "--json", "-", "--markdown", "-"),
                   "--json and --markdown both write to standard output ('-'): one report at most goes there")
    assert only_inputs_left(work)


def test_a_report_through_a_link_lands_on_the_linked_file_and_the_link_stays(work: Path) -> None:
    (work / "real.json").write_text("old\n")
    os.symlink("real.json", work / "latest.json")
    proc = run(work, "--json", "latest.json")
    assert proc.returncode in (0, 1), proc.stderr
    assert os.path.islink(work / "latest.json")
    auditkit.validate_scorecard(json.loads((work / "real.json").read_text()))


@pytest.fixture
def scorecard(work: Path) -> Path:
    proc = run(work, "--json", "card.json")
    assert proc.returncode in (0, 1), proc.stderr
    return work / "card.json"


def test_report_checks_its_targets_and_writes_to_stdout(work: Path, scorecard: Path) -> None:
    os.mkfifo(work / "pipe")
    proc = auditkit_cli("report", "card.json", "--markdown", "s.md", "--html", "pipe", cwd=work)
    assert_refused(proc, "cannot write --html 'pipe': it is a named pipe (FIFO)")
    assert not (work / "s.md").exists()
    proc = auditkit_cli("report", "card.json", "--junit", "/proc/j.xml", cwd=work)
    assert_refused(proc, "cannot write --junit '/proc/j.xml'")
    proc = auditkit_cli("report", "card.json", "--markdown", "-", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("#") and "worst finding" in proc.stderr


def test_diff_checks_its_target_and_writes_to_stdout(work: Path, scorecard: Path) -> None:
    proc = auditkit_cli("diff", "card.json", "card.json", "--markdown", "/dev/stdout", cwd=work)
    assert_refused(proc, "cannot write --markdown '/dev/stdout'")
    proc = auditkit_cli("diff", "card.json", "card.json", "--markdown", "-", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() and proc.stdout != proc.stderr
    assert "Markdown diff written" not in proc.stdout + proc.stderr


def test_reports_are_written_all_or_none(tmp_path: Path) -> None:
    from auditkit._io import write_all

    (tmp_path / "old.md").write_text("old\n")
    (tmp_path / "gone").mkdir()
    files = {tmp_path / "old.md": "new\n", tmp_path / "gone" / "card.json": "{}\n"}
    (tmp_path / "gone").rmdir()  # the folder checked before the audit went away during it
    with pytest.raises(OSError) as caught:
        write_all(files)
    assert caught.value.filename == str(tmp_path / "gone" / "card.json")
    assert (tmp_path / "old.md").read_text() == "old\n"  # the report staged first was not put in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.md"]  # nor left behind half-way
