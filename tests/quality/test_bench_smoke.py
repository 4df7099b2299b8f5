"""``python -m benchmarks.run --smoke``: the benchmark command itself, end to end, as CI runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_smoke_run_measures_every_size_and_leaves_the_checkout_alone(tmp_path: Path) -> None:
    readme = ROOT / "benchmarks" / "README.md"
    latest = ROOT / "benchmarks" / "results" / "latest.json"
    before = {p: p.read_bytes() if p.exists() else None for p in (readme, latest)}
    out = tmp_path / "smoke.json"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--threads", "1", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())

    speed = results["speed"]
    assert [r["rows"] for r in speed["runs"]] == [500, 1_000], speed["runs"]
    for run in speed["runs"]:
        assert "error" not in run, run
        assert run["total_s"] > 0 and run["predict_s"] > 0 and run["overhead"] == pytest.approx(run["total_s"] / run["predict_s"])
        # Peak memory of the audit holds at least what was resident when it started.
        assert run["audit_peak_mb"] is None or run["audit_peak_mb"] >= run["rss_before_audit_mb"] - 1
        ran = {name for name, p in run["probes"].items() if p["status"] in ("passed", "failed")}
        assert ran == set(run["probes"]) and "target_leakage" in ran, run["probes"]
    assert isinstance(speed["scaling"]["total"], float)
    assert speed["machine"]["cores"] == os.cpu_count() and speed["machine"]["cpu"]

    quality = results["quality"]
    assert [d["defect"] for d in quality["defects"]] == ["leaking_feature"]
    assert quality["defects"][0]["stated_trials"] == 2
    assert "## Speed" in proc.stdout and "## Detection quality" in proc.stdout
    # A smoke run writes where it is told and nowhere else.
    assert {p: p.read_bytes() if p.exists() else None for p in (readme, latest)} == before


def test_a_partial_quality_run_refuses_what_would_measure_nothing_or_clobber_the_table(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "benchmarks.run", "--quality", "--clean", "0", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    out = ["--out", str(tmp_path / "part.json"), "--no-readme"]
    for args, message in [
        (("--defects", "hidden_slise", *out), "unknown defect(s) hidden_slise; known: "),
        (("--defects", "hidden_slice", "--effects", "0.5", *out), "no chosen defect has effect size(s) 0.5; they have: 0.01, "),
        (("--defects", "hidden_slice", "--effects", "0.05"), "--effects measures part of a table: give --out FILE"),
    ]:
        proc = run(*args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr[-500:])
    assert not (tmp_path / "part.json").exists()


def test_the_plan_keeps_only_the_chosen_effect_sizes() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.quality import plan
    finally:
        sys.path.remove(str(ROOT))
    tasks = plan(range(3), 500, defects=["hidden_slice"], effects=["0.05", "0.1"], clean_seeds=[])
    assert tasks == [("hidden_slice", e, s, 500) for e in (0.05, 0.1) for s in range(3)]
    # no defects: the clean controls alone ("--defects none")
    assert plan(range(3), 500, defects=[], clean_seeds=[7, 8]) == [(None, None, 7, 500), (None, None, 8, 500)]
    with pytest.raises(KeyError, match="effect size"):
        plan(range(3), 500, defects=["hidden_slice"], effects=["5%"], clean_seeds=[])
