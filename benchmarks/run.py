"""One command for each benchmark; results to JSON, tables to benchmarks/README.md.

    python -m benchmarks.run                 # speed and scaling: 10k, 100k, 1M rows, Adult, per-probe targets
    python -m benchmarks.run --quality       # detection quality: 20 seeds per effect size, 40 clean audits
    python -m benchmarks.run --all           # both
    python -m benchmarks.run --smoke         # a tiny version of both (CI); writes nothing under benchmarks/

Results go to ``benchmarks/results/latest.json`` (each section keeps the
machine, versions and time it was measured with; running one section keeps
the other's last results) and the tables between the markers in
``benchmarks/README.md`` are rewritten from it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.speed import ROOT, measure, scaling_exponent

HERE = Path(__file__).resolve().parent
LATEST = HERE / "results" / "latest.json"
README = HERE / "README.md"

SIZES = (10_000, 100_000, 1_000_000)
FEATURES = 20
# The targets the issues set (seconds, MiB).
ADULT_TARGET_S = 5.0
MILLION_TARGET_S = 60.0
MILLION_TARGET_MB = 2048.0
# Each probe at the size its own issue sets its target at (rows scaled by --target-scale).
PROBE_TARGETS: tuple[dict[str, Any], ...] = (
    {"probe": "target_leakage", "rows": 1_000_000, "features": 50, "target_s": 60.0,
     "target": "1M rows x 50 features in under a minute"},
    {"probe": "slice_bias", "rows": 1_000_000, "features": 20, "target_s": 60.0,
     "target": "slice discovery on 1M rows x 20 features in under a minute; group metrics in seconds"},
    {"probe": "nan_injection", "rows": 100_000, "features": 100, "target_s": 60.0,
     "target": "100 columns with a gradient boosting model in under a minute"},
    {"probe": "cost_weighted_errors", "rows": 10_000_000, "features": 1, "stored": True, "target_s": 10.0,
     "target": "the O(n log n) sweep on 10M rows in seconds (stored scores)"},
)


def machine() -> dict[str, Any]:
    """What the numbers were measured on: CPU, cores, memory, Python and library versions."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    libs = {}
    for name in ("auditkit", "numpy", "pandas", "scikit-learn", "scipy", "fairlearn", "pyarrow", "threadpoolctl"):
        try:
            libs[name] = version(name)
        except PackageNotFoundError:
            libs[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "libraries": libs,
        "git": _git(),
        "load_average_at_start": list(os.getloadavg()),
    }


def _git() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- speed ---------------------------------------------------------------------------


def run_speed(
    sizes: Sequence[int], threads: int, *, adult: bool = True, probe_targets: bool = True, target_scale: float = 1.0
) -> dict[str, Any]:
    info = machine()
    start = time.perf_counter()
    runs = []
    for rows in sizes:
        _say(f"speed: full default audit, {rows:,} rows x {FEATURES} features ...")
        runs.append(measure({"kind": "synthetic", "rows": rows, "features": FEATURES, "threads": threads}))
        _say("  " + report.speed_line(runs[-1]))
    adult_runs = []
    if adult:
        for layout in ("all", "split"):
            _say(f"speed: UCI Adult ({layout}) ...")
            adult_runs.append(measure({"kind": "adult", "layout": layout, "threads": threads}))
            _say("  " + report.speed_line(adult_runs[-1]))
    targets = []
    if probe_targets:
        for t in PROBE_TARGETS:
            config = {"kind": "probe", "threads": threads, **{k: v for k, v in t.items() if k not in ("target", "target_s")}}
            config["rows"] = max(1_000, int(t["rows"] * target_scale))
            _say(f"speed: {t['probe']} alone, {config['rows']:,} rows x {t['features']} ...")
            result = measure(config)
            result.update(target=t["target"], target_s=t["target_s"], target_rows=t["rows"])
            targets.append(result)
            _say("  " + report.speed_line(result))
    ok = [r for r in runs if "error" not in r]
    rows = [float(r["rows"]) for r in ok]
    probes = sorted({p for r in ok for p in r["probes"]})
    scaling = {
        "rows": rows,
        "total": scaling_exponent(rows, [r["total_s"] for r in ok]),
        "total_cpu": scaling_exponent(rows, [r["audit_cpu_s"] for r in ok]),
        "predict": scaling_exponent(rows, [r["predict_s"] for r in ok]),
        "probes": {p: scaling_exponent(rows, [_ran(r, p, "seconds") for r in ok]) for p in probes},
        "probes_cpu": {p: scaling_exponent(rows, [_ran(r, p, "cpu_s") for r in ok]) for p in probes},
    }
    return {
        "created_at": _now(),
        "machine": info,
        "threads": threads,
        "features": FEATURES,
        "targets": {"adult_s": ADULT_TARGET_S, "million_s": MILLION_TARGET_S, "million_mb": MILLION_TARGET_MB,
                    "scaling_exponent": 1.0},
        "runs": runs,
        "scaling": scaling,
        "adult": adult_runs,
        "probe_targets": targets,
        "seconds": time.perf_counter() - start,
        "load_average_at_end": list(os.getloadavg()),
    }


def _ran(run: Mapping[str, Any], probe: str, key: str) -> float | None:
    """A probe's timing in one run, or None where it did not run (skipped, error)."""
    p = run["probes"].get(probe)
    return p.get(key) if p and p["status"] in ("passed", "failed") else None


# -- quality ---------------------------------------------------------------------------


def run_quality_section(
    seeds: int, rows: int, clean: int, jobs: int, *, stated_only: bool = False, defects: Sequence[str] | None = None,
    effects: Sequence[str] | None = None,
) -> dict[str, Any]:
    from benchmarks.quality import run_quality

    info = machine()
    done = [0]

    def progress(trial: Any) -> None:
        done[0] += 1
        alarm = trial.defect is None and trial.detected
        if done[0] % 10 == 0 or alarm:
            if trial.defect is None:
                what = f"clean seed {trial.seed}: " + (f"false alarm {trial.alarms}" if alarm else "quiet")
            else:
                what = f"{trial.defect} {trial.effect} seed {trial.seed}: " + ("found" if trial.detected else "missed")
            _say(f"  {done[0]} trials; last: {what}")

    _say(f"quality: {seeds} seeds per effect size, {clean} clean audits, {rows:,} rows each, {jobs} process(es) ...")
    out = run_quality(list(range(seeds)), rows, clean_seeds=list(range(1000, 1000 + clean)), jobs=jobs,
                      stated_only=stated_only, defects=defects, effects=effects, progress=progress)
    out.update(created_at=_now(), machine=info)
    return out


# -- output ----------------------------------------------------------------------------


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def write_results(path: Path, sections: Mapping[str, Any]) -> dict[str, Any]:
    """Merge the sections just measured into the results file (the others keep their last run)."""
    latest = _load(path)
    latest.update({"schema": 1, **sections})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(latest, indent=1, default=str) + "\n")
    tmp.replace(path)
    return latest


def merge_quality(previous: Mapping[str, Any] | None, fresh: dict[str, Any]) -> dict[str, Any]:
    """A partial quality run (some defects) laid over the last full one: its defects replace
    theirs, the rest stay, and the section keeps the full run's header with the partial runs
    listed after it; each defect says when and on which commit it was measured."""
    from benchmarks.synthetic import DEFECTS

    if not previous or previous.get("smoke") or previous.get("rows") != fresh.get("rows"):
        return fresh
    stamp = {"created_at": fresh["created_at"], "git": fresh["machine"].get("git"), "seeds": fresh["seeds"]}
    first = {"created_at": previous.get("created_at"), "git": (previous.get("machine") or {}).get("git"),
             "seeds": previous.get("seeds")}
    by_name = {}
    for d in previous.get("defects", []):
        by_name[d["defect"]] = {"measured_at": first, **d}
    for d in fresh["defects"]:
        by_name[d["defect"]] = {**d, "measured_at": stamp}
    order = [d.name for d in DEFECTS] + sorted(set(by_name) - {d.name for d in DEFECTS})
    merged = dict(previous)
    merged["defects"] = [by_name[n] for n in order if n in by_name]
    if fresh["clean"]["audits"]:
        merged["clean"], merged["clean_audits"] = fresh["clean"], fresh["clean_audits"]
    merged["partial_runs"] = [*previous.get("partial_runs", []), {
        **stamp, "defects": sorted(d["defect"] for d in fresh["defects"]), "clean_audits": fresh["clean"]["audits"]}]
    return merged


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--quality", action="store_true", help="detection quality instead of speed")
    what.add_argument("--all", action="store_true", help="speed and detection quality")
    parser.add_argument("--smoke", action="store_true", help="a tiny version of both, in seconds")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="rows of the synthetic speed runs")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="BLAS/OpenMP threads (default: all cores)")
    parser.add_argument("--no-adult", action="store_true", help="skip the UCI Adult runs")
    parser.add_argument("--no-probe-targets", action="store_true", help="skip each probe alone at its own target size")
    parser.add_argument("--target-scale", type=float, default=1.0, help="scale the per-probe target runs' rows")
    parser.add_argument("--seeds", type=int, default=20, help="quality: seeds per defect and effect size")
    parser.add_argument("--clean", type=int, default=40, help="quality: clean control audits")
    parser.add_argument("--rows", type=int, default=2000, help="quality: audit rows per trial (as many training rows)")
    parser.add_argument("--jobs", type=int, default=1, help="quality: trials run in this many processes")
    parser.add_argument("--defects", default=None,
                        help="quality: only these defects (comma-separated; 'none' for the clean controls alone); "
                             "their rows replace the last run's, the other defects' stay (and the clean controls' "
                             "too with --clean 0)")
    parser.add_argument("--effects", default=None,
                        help="quality: only these effect sizes (comma-separated, as the table writes them, e.g. 0.05); "
                             "needs --out and --no-readme, since the README's table holds every size")
    parser.add_argument("--out", type=Path, default=None, help="results file (default benchmarks/results/latest.json)")
    parser.add_argument("--no-readme", action="store_true", help="leave benchmarks/README.md as it is")
    args = parser.parse_args(argv)

    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated row counts; got {args.sizes!r}")
    sections: dict[str, Any] = {}
    if args.smoke:
        out = args.out or Path(tempfile.mkdtemp(prefix="auditkit-bench-")) / "smoke.json"
        sections["speed"] = run_speed([500, 1_000], args.threads, adult=False, probe_targets=False)
        # The harness end to end, not the targets: one defect at its stated sizes, tiny.
        sections["quality"] = run_quality_section(1, 400, 0, 1, stated_only=True, defects=["leaking_feature"])
        sections["quality"]["smoke"] = True
        sections["speed"]["smoke"] = True
        latest = write_results(out, sections)
        print(report.summary(latest))
        _say(f"smoke: results in {out}")
        return 0 if not report.broken(latest) else 1

    if not args.quality:
        sections["speed"] = run_speed(sizes, args.threads, adult=not args.no_adult,
                                      probe_targets=not args.no_probe_targets, target_scale=args.target_scale)
    out = args.out or LATEST
    if args.quality or args.all:
        # "none": the clean controls alone, laid over the last run like any partial one
        defects = [] if args.defects == "none" else (
            [d.strip() for d in args.defects.split(",") if d.strip()] if args.defects else None)
        effects = [e.strip() for e in args.effects.split(",") if e.strip()] if args.effects else None
        if effects and (args.out is None or not args.no_readme):
            parser.error("--effects measures part of a table: give --out FILE and --no-readme, so the full table stays")
        from benchmarks.quality import plan
        from benchmarks.synthetic import DEFECTS

        unknown = sorted(set(defects or ()) - {d.name for d in DEFECTS})
        if unknown:
            parser.error(f"unknown defect(s) {', '.join(unknown)}; known: {', '.join(d.name for d in DEFECTS)}")
        try:  # a typo must not run an empty benchmark and call it done
            planned = plan([0], args.rows, defects=defects, effects=effects, clean_seeds=[])
        except KeyError as exc:
            parser.error(str(exc.args[0]))
        if not planned and not args.clean:
            parser.error("--defects/--effects chose no trials and --clean 0 no clean audits")
        fresh = run_quality_section(args.seeds, args.rows, args.clean, args.jobs, defects=defects, effects=effects)
        sections["quality"] = merge_quality(_load(out).get("quality"), fresh) if defects is not None else fresh
    latest = write_results(out, sections)
    if not args.no_readme:
        report.update_readme(README, latest)
    print(report.summary(latest))
    _say(f"results in {out}" + ("" if args.no_readme else f"; tables in {README}"))
    return 0 if not report.broken(latest) else 1


if __name__ == "__main__":
    sys.exit(main())
