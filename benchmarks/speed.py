"""Audit speed and memory, one fresh process per measurement.

``python -m benchmarks.speed '<config json>'`` builds one audit, times it and
prints one JSON line; ``measure(config)`` runs that in a subprocess so the
peak memory of one size never mixes with another's. Configurations:

- ``{"kind": "synthetic", "rows": n, "features": 20}``: the full default
  audit (every built-in probe) of a ``HistGradientBoostingClassifier``
  pipeline on ``n`` synthetic rows, with the training rows as reference
  data, ``group`` as sensitive column and ``COSTS`` as costs, so that every
  probe has what it needs to run;
- ``{"kind": "adult", "layout": "all" | "split"}``: the same on UCI Adult,
  the model fitted on adult.data; ``all`` audits all 48,842 rows of
  adult.data and adult.test, ``split`` audits adult.test with adult.data as
  reference;
- ``{"kind": "probe", "probe": name, "rows": n, "features": w}``: one probe
  alone, at the size its own issue sets its target at (``"stored": true``
  audits stored scores instead of a model, for the cost sweep at 10M rows).

Memory: the peak resident set size (``VmHWM``) during the audit alone, reset
just before it through ``/proc/self/clear_refs``, so it counts the data and
model the audit holds plus what the audit adds; the process's lifetime peak
(``ru_maxrss``) is reported beside it. Per-probe peaks come from sampling the
resident set every 20 ms while each probe's thread runs (a spike shorter than
that can be missed; the audit's overall peak cannot).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
_PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024

__all__ = ["measure", "run_config", "scaling_exponent"]


# -- memory --------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _cpu_s() -> float:
    """CPU seconds of the whole process, every thread (OpenMP workers included)."""
    t = os.times()
    return t.user + t.system


class _Sampler(threading.Thread):
    """Samples the resident set and the process's CPU time, and charges both to
    the probe whose thread is running (the runner names it ``auditkit-probe-<name>``)."""

    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(name="benchmark-rss-sampler", daemon=True)
        self.interval = interval
        self.peaks: dict[str, int] = {}
        self.cpu: dict[str, float] = {}
        self._done = threading.Event()

    def run(self) -> None:
        prefix = "auditkit-probe-"
        last = _cpu_s()
        while not self._done.is_set():
            rss, cpu = _rss_bytes(), _cpu_s()
            for t in threading.enumerate():
                if t.name.startswith(prefix) and t.is_alive():
                    name = t.name[len(prefix):]
                    self.peaks[name] = max(self.peaks.get(name, 0), rss)
                    self.cpu[name] = self.cpu.get(name, 0.0) + cpu - last
            last = cpu
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


# -- what is audited -------------------------------------------------------------


def _synthetic(config: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """(model, audit data arguments, feature frame for the predict pass)."""
    from benchmarks import synthetic

    rows = int(config["rows"])
    train_rows = int(config.get("train_rows") or min(rows, 100_000))
    train, audit = synthetic.make_split(rows, train_rows, int(config.get("seed", 0)))
    extra = int(config.get("features", 20)) - 20
    if extra > 0:
        # Wider tables: more numeric columns of pure noise, as real wide tables mostly are.
        rng = np.random.default_rng(int(config.get("seed", 0)) + 99)
        for frame in (train, audit):
            for i in range(extra):
                frame.insert(len(frame.columns) - 1, f"z{i:03d}", rng.standard_normal(len(frame)))
    model = synthetic.hgb_model(train, seed=int(config.get("seed", 0)))
    kwargs = dict(target=synthetic.TARGET, reference=train, sensitive=["group"], costs=dict(synthetic.COSTS))
    return model, (audit, kwargs), audit.drop(columns=synthetic.TARGET)


def _stored_scores(config: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """A scored table with no model: the cost sweep's own workload."""
    import pandas as pd
    from scipy.special import expit

    rows = int(config["rows"])
    rng = np.random.default_rng(int(config.get("seed", 0)))
    logit = rng.normal(-1.0, 1.5, rows)
    y = (rng.random(rows) < expit(logit)).astype(np.int64)
    score = expit(logit + rng.normal(0.0, 0.5, rows))
    frame = pd.DataFrame({"x": rng.standard_normal(rows), "group": np.where(rng.random(rows) < 0.35, "B", "A"),
                          "score": score, "y": y})
    frame["group"] = frame["group"].astype("str")
    kwargs = dict(target="y", score="score", sensitive=["group"], costs={"fp": 1.0, "fn": 5.0})
    return None, (frame, kwargs), None


def _adult(config: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    import importlib.util

    import pandas as pd

    from benchmarks import synthetic

    spec = importlib.util.spec_from_file_location("auditkit_example_datasets", ROOT / "examples" / "data" / "datasets.py")
    assert spec is not None and spec.loader is not None
    datasets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(datasets)
    train, test = datasets.adult("train"), datasets.adult("test")
    model = synthetic.hgb_model(train, target="income", seed=0)
    # Illustrative costs (Adult documents none): missing a high earner costs five false alarms.
    kwargs: dict[str, Any] = dict(target="income", sensitive=["sex", "race"], costs={"fp": 1.0, "fn": 5.0})
    if config.get("layout", "all") == "split":
        audit = test
        kwargs["reference"] = train
    else:
        audit = pd.concat([train, test], ignore_index=True)
    return model, (audit, kwargs), audit.drop(columns="income")


# -- one measurement ---------------------------------------------------------------


def run_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Build and time one audit in this process (``measure`` runs it in a fresh one)."""
    from threadpoolctl import threadpool_limits

    import auditkit

    threads = int(config.get("threads") or os.cpu_count() or 1)
    with threadpool_limits(limits=threads):
        start = time.perf_counter()
        kind = config["kind"]
        if kind == "adult":
            model, (frame, kwargs), X = _adult(config)
        elif kind == "probe" and config.get("stored"):
            model, (frame, kwargs), X = _stored_scores(config)
        else:
            model, (frame, kwargs), X = _synthetic(config)
        setup_s = time.perf_counter() - start

        predict_s = predict_proba_s = predict_cpu_s = None
        if model is not None:
            # The floor no audit can go under: one pass of the model over the same rows.
            repeats = 3 if len(X) <= 100_000 else 1
            predict_s = min(_timed(model.predict, X) for _ in range(repeats))
            predict_proba_s = min(_timed(model.predict_proba, X) for _ in range(repeats))
            cpu_start = _cpu_s()
            for _ in range(repeats):
                model.predict(X)
            predict_cpu_s = (_cpu_s() - cpu_start) / repeats

        target = kwargs.pop("target")
        rss_before_data = _rss_bytes()
        start, cpu_start = time.perf_counter(), _cpu_s()
        data = auditkit.AuditData(frame, target, **kwargs)
        data_s, data_cpu_s = time.perf_counter() - start, _cpu_s() - cpu_start
        del frame, X

        probes = config.get("probes")
        if kind == "probe":
            probes = [config["probe"]]
        rss_before = _rss_bytes()
        exact_peak = _reset_peak()
        sampler = _Sampler()
        sampler.start()
        start, cpu_start = time.perf_counter(), _cpu_s()
        card = auditkit.audit(model, data, probes=probes, seed=int(config.get("seed", 0)), progress=False)
        audit_s, audit_cpu_s = time.perf_counter() - start, _cpu_s() - cpu_start
        sampler.stop()
        hwm_kb = _status_kb("VmHWM") if exact_peak else None

    peak = hwm_kb * 1024 if hwm_kb is not None else None
    process_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    total_s = data_s + audit_s
    return {
        "config": dict(config),
        "rows": data.n_rows,
        "features": len(data.features),
        "reference_rows": None if data.reference is None else len(data.reference),
        "threads": threads,
        "setup_s": setup_s,
        "predict_s": predict_s,
        "predict_proba_s": predict_proba_s,
        "data_s": data_s,
        "audit_s": audit_s,
        "total_s": total_s,
        "overhead": None if not predict_s else total_s / predict_s,
        "predict_cpu_s": predict_cpu_s,
        "audit_cpu_s": data_cpu_s + audit_cpu_s,
        "cpu_overhead": None if not predict_cpu_s else (data_cpu_s + audit_cpu_s) / predict_cpu_s,
        "load_average": os.getloadavg(),
        "rss_before_data_mb": rss_before_data / MB,
        "rss_before_audit_mb": rss_before / MB,
        "audit_peak_mb": None if peak is None else peak / MB,
        "audit_extra_mb": None if peak is None else max(0, peak - rss_before) / MB,
        "peak_method": "VmHWM reset before the audit" if peak is not None else "unavailable",
        "process_peak_mb": process_peak / MB,
        "probes": {
            r.name: {
                "status": r.status,
                "seconds": r.duration_s,
                "cpu_s": sampler.cpu.get(r.name),
                "reason": r.reason,
                "sampled_peak_mb": sampler.peaks.get(r.name, 0) / MB or None,
                "findings": {s: sum(f.severity.value == s for f in r.findings) for s in
                             ("critical", "high", "medium", "low", "info") if any(f.severity.value == s for f in r.findings)},
            }
            for r in card.probes
        },
    }


def _timed(fn: Any, X: Any) -> float:
    start = time.perf_counter()
    fn(X)
    return time.perf_counter() - start


def measure(config: Mapping[str, Any], *, timeout_s: float = 3600.0) -> dict[str, Any]:
    """Run ``config`` in a fresh Python process with its thread count capped; return its result."""
    threads = str(int(config.get("threads") or os.cpu_count() or 1))
    env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.speed", json.dumps(dict(config))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        return {"config": dict(config), "error": f"exit status {proc.returncode}", "stderr_tail": tail}
    return json.loads(lines[-1])


def scaling_exponent(rows: list[float], seconds: list[float | None]) -> float | None:
    """k in time ~ rows^k, by least squares on the logs (None with fewer than two sizes)."""
    pairs = [(r, s) for r, s in zip(rows, seconds) if s is not None and s > 0]
    if len(pairs) < 2:
        return None
    x, y = np.log([p[0] for p in pairs]), np.log([p[1] for p in pairs])
    return float(np.polyfit(x, y, 1)[0])


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # a benchmark prints its one JSON line and nothing else
    print(json.dumps(run_config(json.loads(sys.argv[1])), default=str))
