"""The runner: binds the model to the data, runs each probe isolated, scores;
the judge (``auditkit._judge``) applies the gate."""

from __future__ import annotations

import datetime as _dt
import os
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from auditkit._data import AuditData
from auditkit._errors import AuditkitError, DataError, ModelFailure, ProbeConfigError, ProbeSkipped
from auditkit._judge import judge_result, judge_scorecard
from auditkit._models import Model, wrap
from auditkit._models._function import DataOnly
from auditkit._policy import AuditConfig, GatePolicy
from auditkit._probe import AuditContext, Evidence, Probe, SharedPredictions, derive_seed
from auditkit._registry import resolve_probes
from auditkit._results import ProbeResult, Scorecard, clean_title
from auditkit._scoring import grade, overall_score, probe_score
from auditkit._version import __version__

__all__ = ["AuditSession", "audit", "default_title", "describe_model"]


class AuditSession:
    """One model bound to one dataset, with the work probes share (the
    predictions on the audit rows) done once. ``audit`` uses one per call;
    the pytest plugin keeps one per test session."""

    def __init__(
        self, model: Any, data: AuditData, *, seed: int = 0, config: Any = None, partitions: int = 1,
        title: str | None = None,
    ) -> None:
        if not isinstance(data, AuditData):
            raise DataError(f"data must be an auditkit.AuditData; got {type(data).__name__}")
        if title is not None and not isinstance(title, str):
            raise AuditkitError(f"title must be a string; got {type(title).__name__}")
        self.data = data
        self.seed = int(seed)
        self.config = AuditConfig.coerce(config)
        # How many partitions probes' mergeable measurements are folded over: the
        # numbers never depend on it (a test holds every built-in probe to that).
        self.partitions = max(1, int(partitions))
        # No model and no stored predictions: a data-only audit, where only probes of the data run.
        data_only = model is None and data.prediction is None and data.score is None
        self.model: Model = (DataOnly() if data_only else wrap(model)).bind(data)
        self.shared = SharedPredictions(self.model, lambda: data.X)
        self._fingerprint = self.model.fingerprint()
        # What the reports are headed with; without one, the model and data audited.
        self.title = clean_title(title or "") or default_title(describe_model(model, self.model), data)

    def run(self, probe: Probe) -> ProbeResult:
        """Run one probe, isolated (its exception, hang or side effect becomes its
        ``error``), and judge its result under the policy."""
        return judge_result(self._run(probe), self.config.policy)

    def _run(self, probe: Probe) -> ProbeResult:
        seed = derive_seed(self.seed, probe.name)
        reason = probe.applies(self.model, self.data)
        if reason is not None:
            return ProbeResult(name=probe.name, status="skipped", reason=reason, seed=seed)
        ctx = AuditContext(
            self.model, self.data, seed, self.shared, self.config.timeout_s,
            partitions=self.partitions, sample_seed=self.seed,
        )
        start = time.perf_counter()
        outcome = _run_with_budget(probe, ctx, self.config.timeout_s)
        duration = time.perf_counter() - start
        if isinstance(outcome, ProbeResult):
            return _with(outcome, duration_s=duration, seed=seed)
        after = self.model.fingerprint()
        if after != self._fingerprint:
            self._fingerprint = after
            return ProbeResult(
                name=probe.name,
                status="error",
                reason="the probe changed the model's parameters; probes must work on a copy",
                duration_s=duration,
                seed=seed,
            )
        return _result(probe.name, outcome, duration, seed)

    def scorecard(self, results: Iterable[ProbeResult]) -> Scorecard:
        """The audit's scorecard, judged once under the policy."""
        results = tuple(results)
        return build_scorecard(results, self.model, self.data, self.seed, self.config.policy, title=self.title)


def _result(name: str, evidence: Evidence, duration: float, seed: int) -> ProbeResult:
    """What the probe measured and found, copied into frozen results: whatever the
    probe does later to the dicts and lists it returned cannot reach them."""
    findings = tuple(evidence.findings)
    score = probe_score(findings) if evidence.score is None else float(evidence.score)
    return ProbeResult(
        name=name,
        status="passed",  # it ran; the judge decides whether it failed the gate
        score=score,
        duration_s=duration,
        metrics=evidence.metrics,
        findings=findings,
        figures=tuple(evidence.figures),
        seed=seed,
    )


def describe_model(model: Any, bound: Model) -> str:
    """The model as a title names it: a model file by its name, an estimator or a torch
    module by its class (a pipeline by its last step's), a function by its name, stored
    predictions by their column, a data-only audit as no model. ``bound`` is the wrapped
    model the audit runs."""
    if isinstance(model, (str, os.PathLike)):
        return os.path.basename(os.fspath(model))
    inner = model
    if isinstance(model, Model):  # wrapped by the user: name what they wrapped
        inner = next((getattr(model, a) for a in ("estimator", "module", "fn") if getattr(model, a, None) is not None), None)
    if inner is None:
        described = bound.describe()
        column = described.get("prediction_column") or described.get("score_column")
        if bound.kind == "none":
            return "no model (data only)"
        return f"stored predictions {column!r}" if column else f"{bound.kind} model"
    steps = getattr(inner, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple) and len(steps[-1]) == 2:
        return f"{type(steps[-1][1]).__name__} pipeline"
    if bound.kind == "function":
        return f"function {getattr(inner, '__name__', type(inner).__name__)}"
    return type(inner).__name__


def default_title(model: str, data: AuditData) -> str:
    """The title of an audit nobody named: the model on the rows audited."""
    return f"{model} on {data.n_rows} rows, target {data.target!r}"


def build_scorecard(
    results: tuple[ProbeResult, ...], model: Model, data: AuditData, seed: int, policy: GatePolicy,
    *, title: str = "",
) -> Scorecard:
    score = overall_score(results)
    card = Scorecard(
        title=title,
        auditkit_version=__version__,
        seed=seed,
        created_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        model=model.describe(),
        data=data.describe(),
        score=score,
        grade=grade(score),
        passed=False,  # until judged, just below
        policy=policy.to_dict(),
        probes=results,
    )
    return judge_scorecard(card)


def _with(result: ProbeResult, **changes: Any) -> ProbeResult:
    from dataclasses import replace

    return replace(result, **changes)


def _run_with_budget(probe: Probe, ctx: AuditContext, timeout_s: float) -> Evidence | ProbeResult:
    """Run ``probe.run`` in a daemon thread, so a hang costs its budget and no more.

    A thread cannot be killed: a probe past its budget is abandoned and reported
    as an error, and its context is cancelled, so that it stops at its next call
    to the model (or ``ctx.check()``) instead of running on beside the next probe.
    A model call that itself hangs cannot be stopped; the daemon flag lets the
    process exit.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["evidence"] = probe.run(ctx)
        except BaseException as exc:  # everything a probe raises is reported, nothing escapes
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"auditkit-probe-{probe.name}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        ctx.cancel()
        return ProbeResult(
            name=probe.name, status="error", reason=f"the probe exceeded its time budget of {timeout_s:g} s"
        )
    exc = box.get("error")
    if isinstance(exc, ProbeSkipped):
        return ProbeResult(name=probe.name, status="skipped", reason=str(exc))
    if isinstance(exc, ModelFailure):
        return ProbeResult(name=probe.name, status="error", reason=str(exc))
    if exc is not None:
        return ProbeResult(name=probe.name, status="error", reason=f"{type(exc).__name__}: {exc}")
    evidence = box.get("evidence")
    if not isinstance(evidence, Evidence):
        return ProbeResult(
            name=probe.name,
            status="error",
            reason=f"the probe returned {type(evidence).__name__}, not auditkit.Evidence",
        )
    return evidence


def audit(
    model: Any,
    data: AuditData,
    probes: Iterable[str | Probe] | str | None = None,
    config: AuditConfig | GatePolicy | Mapping[str, Any] | None = None,
    seed: int = 0,
    jobs: int = 1,
    *,
    progress: bool | None = None,
    partitions: int = 1,
    title: str | None = None,
) -> Scorecard:
    """Audit ``model`` on ``data`` with ``probes`` (default: every installed probe).

    ``model`` is anything :func:`auditkit.wrap` accepts, or None to audit the
    stored predictions the data names. ``title`` heads every report of the
    audit (``"credit model v3 vs 2026-Q4 traffic"``); by default it names the
    model and the rows (``"LogisticRegression on 393 rows, target 'survived'"``). The same seed, model and data give the
    same scorecard, timestamps and durations aside. Probe failures never abort
    the audit; user mistakes (bad data, unknown probe) raise ``AuditkitError``
    before any probe runs.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise AuditkitError(f"seed must be a whole number; got {seed!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise AuditkitError(f"jobs must be a whole number, at least 1; got {jobs!r}")
    if isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer)) or partitions < 1:
        raise AuditkitError(f"partitions must be a whole number, at least 1; got {partitions!r}")
    config = AuditConfig.coerce(config)
    # Probes first: a mistake in their names or settings is the user's, reported before any work.
    selected = resolve_probes(probes, config)
    session = AuditSession(model, data, seed=seed, config=config, partitions=int(partitions), title=title)
    if not selected:
        # An audit of nothing would pass every gate.
        raise ProbeConfigError(
            "no probes are installed" if probes is None
            else "no probes were selected; name at least one (see 'auditkit probes' for the installed ones)"
        )
    show = sys.stderr.isatty() if progress is None else progress
    results = _run_all(session, selected, jobs, show)
    return session.scorecard(results)


def _run_all(session: AuditSession, probes: list[Probe], jobs: int, show: bool) -> list[ProbeResult]:
    from threadpoolctl import threadpool_limits

    import os

    # Parallel probes each fit models; left alone, every one of them would start
    # one OpenMP/BLAS thread per core and they would starve each other.
    limit = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    with threadpool_limits(limits=limit), _Progress(len(probes), show) as bar:
        if jobs == 1:
            results = []
            for probe in probes:
                bar.start(probe.name)
                results.append(session.run(probe))
                bar.advance()
            return results
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(session.run, probe) for probe in probes]
            out = []
            for fut in futures:
                out.append(fut.result())
                bar.advance()
            return out


class _Progress:
    """A rich progress bar on a terminal; nothing at all otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import Progress

            from rich.console import Console

            self._progress = Progress(console=Console(stderr=True), transient=True)
            self._progress.__enter__()
            self._task = self._progress.add_task("auditing", total=self.total)
        return self

    def start(self, name: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=f"probe {name}")

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
