"""auditkit's pytest plugin: probes as test items, one shared audit per session.

Registered through the ``pytest11`` entry point, so installing auditkit is all
it takes. Importing it costs nothing beyond pytest and the standard library:
auditkit's runner, the probes and the models' frameworks are imported only
when a test made by :func:`auditkit.testing.parametrize_with_probes` (or
marked ``@pytest.mark.auditkit``) runs; a run without audit tests prints,
writes and changes nothing.

How a run fits together:

- every (model, data) pair the audit tests use gets one ``AuditSession``,
  which binds the model and computes its predictions on the data once, for
  all probes;
- a probe runs while its test is set up (when the test takes fixtures named
  ``audit_model`` and ``audit_data``) or in ``probe.check``; a probe that
  errors makes a setup error, one that does not apply a skip, and one that
  fails its gate fails in ``probe.check`` (see ``auditkit.testing``);
- at the end, the results become one scorecard per (model, data): printed
  after the test summary, written with ``--audit-json``, and gated: a
  scorecard that fails its gate fails the run (exit status 1) even when no
  test did (a ``min_score`` in the policy, say). The gate acts in
  ``pytest_sessionfinish`` and never raises.

Under pytest-xdist each worker audits the probes it was given, with its own
shared predictions, and sends its results to the controller at the end; the
controller merges them, so the printed scorecard, the JSON file and the gate
cover the whole run exactly as without xdist.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from auditkit._data import AuditData
    from auditkit._policy import AuditConfig, GatePolicy
    from auditkit._probe import Probe
    from auditkit._results import ProbeResult, Scorecard
    from auditkit._runner import AuditSession

# Kept in step with auditkit.Severity without importing auditkit at start-up.
SEVERITIES = ("info", "low", "medium", "high", "critical")
MARKER = "auditkit"
MODEL_FIXTURE = "audit_model"
DATA_FIXTURE = "audit_data"
# JUnit properties are for dashboards, not archives: a probe's full metrics
# (every group, every injection) stay in the JSON scorecard.
MAX_METRIC_PROPERTIES = 40
MAX_PROPERTY_CHARS = 200
_WORKER_OUTPUT_KEY = "auditkit"

FAILURE_HEADER = "probe {name} failed the audit gate (fail on {gate}): {failing} of {total} finding(s) at or above it, probe score {score}"
ERROR_TEXT = "probe {name} could not run: {reason}"
RERUN_TEXT = "re-run with --audit-seed {seed} (this probe's seed: {probe_seed})"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("auditkit", "model audits (auditkit)")
    group.addoption(
        "--audit-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the audit tests; each probe's seed derives from it (default 0)",
    )
    group.addoption(
        "--audit-fail-on",
        default=None,
        choices=SEVERITIES,
        metavar="SEVERITY",
        help="severity of a finding that fails its probe: " + ", ".join(SEVERITIES) + " (default: the policy's, else high)",
    )
    group.addoption(
        "--audit-json",
        default=None,
        metavar="FILE",
        help="write the scorecard of the run's audit tests to FILE (JSON)",
    )


def pytest_configure(config: pytest.Config) -> None:
    json_path = config.getoption("audit_json", None)
    if json_path:
        # Found now, not after an hour of tests: the scorecard has nowhere to go.
        from pathlib import Path

        folder = Path(json_path).parent
        if not folder.is_dir():
            raise pytest.UsageError(f"--audit-json {json_path}: folder {str(folder)!r} does not exist")
    config.addinivalue_line(
        "markers",
        f"{MARKER}: an audit test; probe.check inside it joins the run's shared audit and scorecard",
    )
    run = AuditRun(config)
    config.stash[_RUN_KEY] = run
    config.pluginmanager.register(run, "auditkit-run")
    from auditkit._probe import _check_runners

    _check_runners.append(run.check)


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_RUN_KEY, None)
    if run is None:
        return
    from auditkit._probe import _check_runners

    if run.check in _check_runners:
        _check_runners.remove(run.check)


_RUN_KEY = pytest.StashKey["AuditRun"]()


@dataclass
class _Pair:
    """One model audited on one dataset: its session and what its probes reported."""

    model: Any
    data: Any
    seed: int
    fail_on: str | None
    session: AuditSession | None = None
    error: str | None = None
    cache: dict[tuple[str, str], ProbeResult] = field(default_factory=dict)
    results: dict[str, ProbeResult] = field(default_factory=dict)
    expected: dict[str, str] = field(default_factory=dict)


class AuditRun:
    """The audit of one pytest run (one per process under xdist)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.is_worker = hasattr(config, "workerinput")
        self.item: pytest.Item | None = None
        self.pairs: dict[tuple[int, int, int, str | None], _Pair] = {}
        self.remote: list[dict[str, Any]] = []
        self.cards: list[Scorecard] = []
        self.gate_failures: list[str] = []
        self.json_written: str | None = None
        self._config: AuditConfig | None = None

    # -- options and policy ---------------------------------------------------

    @property
    def seed(self) -> int:
        seed = self.config.getoption("audit_seed", None)
        return 0 if seed is None else int(seed)

    def audit_config(self, fail_on: str | None) -> AuditConfig:
        """The policy of ``[tool.auditkit]`` (the same file the CLI reads), with the
        gate of ``--audit-fail-on`` or of ``probe.check(fail_on=...)``."""
        from auditkit._config import load_config
        from auditkit._results import Severity

        if self._config is None:
            self._config = load_config(start=self.config.rootpath)
        config = self._config
        gate = fail_on or self.config.getoption("audit_fail_on", None)
        if gate:
            config = replace(config, policy=replace(config.policy, fail_on=Severity.parse(gate)))
        return config

    # -- running probes ---------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        self.item = item
        try:
            return (yield)
        finally:
            self.item = None

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        yield  # the fixtures are set up now (or their error is on its way out)
        if item.get_closest_marker(MARKER) is None:
            return
        funcargs: dict[str, Any] = getattr(item, "funcargs", {})
        probe = funcargs.get("probe")
        if not _is_probe(probe) or MODEL_FIXTURE not in funcargs or DATA_FIXTURE not in funcargs:
            return
        result = self.run(item, probe, funcargs[MODEL_FIXTURE], funcargs[DATA_FIXTURE], None, None)
        if result.status == "skipped":
            _skip(item, result)
        if result.status == "error":
            pytest.fail(ERROR_TEXT.format(name=result.name, reason=result.reason), pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        # A skip raised here would be reported at this file's line; point it at the test.
        if report.skipped and item.stash.get(_SKIPPED_KEY, False) and isinstance(report.longrepr, tuple):
            path, line = item.reportinfo()[:2]
            report.longrepr = (str(path), (line or 0) + 1, report.longrepr[2])
        return report

    def check(self, probe: Probe, model: Any, data: AuditData, seed: int | None, fail_on: str | None) -> ProbeResult | None:
        """``Probe.check`` inside an audit test: run in the shared session, then judge."""
        __tracebackhide__ = True
        item = self.item
        if item is None or item.get_closest_marker(MARKER) is None:
            return None
        result = self.run(item, probe, model, data, seed, fail_on)
        if result.status == "skipped":
            _skip(item, result)
        if result.status == "error":
            pytest.fail(ERROR_TEXT.format(name=result.name, reason=result.reason), pytrace=False)
        if result.status == "failed":
            pair = self._pair(model, data, seed, fail_on)
            gate = pair.session.config.policy if pair.session is not None else None
            raise AssertionError(failure_message(result, gate, pair.seed))
        return result

    def run(self, item: pytest.Item, probe: Probe, model: Any, data: Any, seed: int | None, fail_on: str | None) -> ProbeResult:
        """The probe's result on (model, data), computed once per run."""
        from auditkit._results import ProbeResult

        pair = self._pair(model, data, seed, fail_on)
        if pair.session is None:
            result = ProbeResult(name=probe.name, status="error", reason=pair.error)
            _record_properties(item, result)
            return result
        settings = pair.session.config.probe_settings.get(probe.name)
        key = (probe.name, repr(probe))
        result = pair.cache.get(key)
        if result is None:
            try:
                configured = probe.with_settings(**settings) if settings else probe
            except Exception as exc:  # a bad setting in the policy file
                result = ProbeResult(name=probe.name, status="error", reason=f"{type(exc).__name__}: {exc}")
            else:
                result = pair.session.run(configured)
            pair.cache[key] = result
            pair.results.setdefault(probe.name, result)
        for mark in item.iter_markers(MARKER):
            if "expected_failure" in mark.kwargs:
                pair.expected[result.name] = str(mark.kwargs["expected_failure"])
        _record_properties(item, result)
        return result

    def _pair(self, model: Any, data: Any, seed: int | None, fail_on: str | None) -> _Pair:
        seed = self.seed if seed is None else int(seed)
        key = (id(model), id(data), seed, fail_on)
        pair = self.pairs.get(key)
        if pair is None:
            # The pair keeps model and data alive, so their ids stay theirs for the run.
            pair = _Pair(model=model, data=data, seed=seed, fail_on=fail_on)
            from auditkit._runner import AuditSession

            # Either failure makes every probe of the pair error with the same one line.
            try:
                config = self.audit_config(fail_on)
            except Exception as exc:
                pair.error = f"the audit policy cannot be used: {type(exc).__name__}: {exc}"
            else:
                try:
                    pair.session = AuditSession(model, data, seed=seed, config=config)
                except Exception as exc:
                    pair.error = f"cannot audit this model on this data: {type(exc).__name__}: {exc}"
            self.pairs[key] = pair
        return pair

    # -- the end of the run -------------------------------------------------------

    def _payloads(self) -> list[dict[str, Any]]:
        """Each audited pair's scorecard and expected failures, as plain JSON."""
        out = []
        for pair in self.pairs.values():
            if pair.session is None or not pair.results:
                continue
            card = pair.session.scorecard(pair.results.values())
            out.append({"card": json.loads(_render_json(card)), "expected": dict(pair.expected)})
        return out

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist: a worker finished; keep what it audited."""
        output = getattr(node, "workeroutput", None) or {}
        self.remote.extend(output.get(_WORKER_OUTPUT_KEY) or [])

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker:
            payloads = self._payloads()
            if payloads:
                self.config.workeroutput[_WORKER_OUTPUT_KEY] = payloads  # type: ignore[attr-defined]
            return
        payloads = self._payloads() + self.remote
        if not payloads:
            return
        self.cards, self.gate_failures = merge_scorecards(payloads)
        path = self.config.getoption("audit_json", None)
        if path:
            from auditkit._io import write_atomic

            docs = [json.loads(_render_json(card)) for card in self.cards]
            # One (model, data) pair, the usual case: the file is exactly a
            # scorecard. Several: a JSON array of them, in the order they were first audited.
            doc: Any = docs[0] if len(docs) == 1 else docs
            write_atomic(path, json.dumps(doc, indent=2, allow_nan=False) + "\n")
            self.json_written = str(path)
        if self.gate_failures and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if self.is_worker:
            return
        if not self.cards:
            if config.getoption("audit_json", None):
                terminalreporter.write_line(
                    f"auditkit: no audit test ran a probe; {config.getoption('audit_json')} was not written"
                )
            return
        from auditkit._report import render_terminal

        terminalreporter.section("auditkit scorecard")
        width = max(80, config.get_terminal_writer().fullwidth)
        for card in self.cards:
            terminalreporter.write(render_terminal(card, color=bool(terminalreporter.hasmarkup), width=width))
        if self.json_written:
            terminalreporter.write_line(f"scorecard written to {self.json_written}")
        for line in self.gate_failures:
            terminalreporter.write_line(f"auditkit gate: FAILED - {line}", red=True, bold=True)


_SKIPPED_KEY = pytest.StashKey[bool]()


def _skip(item: pytest.Item, result: ProbeResult) -> None:
    item.stash[_SKIPPED_KEY] = True
    pytest.skip(result.reason or "the probe does not apply")


def _is_probe(obj: Any) -> bool:
    from auditkit._probe import Probe

    return isinstance(obj, Probe)


def _render_json(card: Scorecard) -> str:
    from auditkit._report import render_json

    return render_json(card)


# -- merging and gating -------------------------------------------------------------


def merge_scorecards(payloads: list[Mapping[str, Any]]) -> tuple[list[Scorecard], list[str]]:
    """One scorecard per (model, data) from the pieces the run's processes audited,
    and the reasons the gate fails (none when it passes).

    The test suite's expected failures enter each scorecard as waivers of their
    probes, so the gate and every report treat them as ``[tool.auditkit]``
    waivers: listed, marked waived with their reason, not failing.
    """
    from auditkit._policy import GatePolicy, Waiver
    from auditkit._results import Scorecard
    from auditkit._scoring import grade, overall_score

    groups: dict[str, list[Mapping[str, Any]]] = {}
    for payload in payloads:
        card = payload["card"]
        key = json.dumps([card["model"], card["data"], card["seed"], card["policy"]], sort_keys=True)
        groups.setdefault(key, []).append(payload)
    cards: list[Scorecard] = []
    failures: list[str] = []
    for parts in groups.values():
        first = Scorecard.from_dict(parts[0]["card"])
        results: dict[str, ProbeResult] = {}
        expected: dict[str, str] = {}
        for part in parts:
            for result in Scorecard.from_dict(part["card"]).probes:
                results.setdefault(result.name, result)
            expected.update(part["expected"])
        policy = GatePolicy.from_dict(first.policy)
        waived = tuple(
            Waiver(probe=name, reason=f"expected failure in the test suite: {reason}")
            for name, reason in sorted(expected.items())
            if name in results
        )
        policy = replace(policy, waivers=policy.waivers + waived)
        probes = tuple(_rejudge(results[name], policy) for name in sorted(results))
        score = overall_score(probes)
        card = replace(
            first,
            probes=probes,
            score=score,
            grade=grade(score),
            passed=policy.passes(probes),
            policy=policy.to_dict(),
        )
        cards.append(card)
        if not card.passed:
            failures.append(_gate_reason(card, policy))
    return cards, failures


def _rejudge(result: ProbeResult, policy: GatePolicy) -> ProbeResult:
    """A probe that failed only on findings its waivers cover passes the gate."""
    if result.status != "failed" or any(policy.fails(f, probe=result.name) for f in result.findings):
        return result
    return replace(result, status="passed")


def _gate_reason(card: Scorecard, policy: GatePolicy) -> str:
    failed = [r.name for r in card.probes if r.status == "failed"]
    errors = [r.name for r in card.probes if r.status == "error"]
    parts = []
    if failed:
        parts.append(f"probe(s) {', '.join(failed)} failed")
    if errors and policy.fail_on_error:
        parts.append(f"probe(s) {', '.join(errors)} could not run")
    if card.probes and all(r.status == "skipped" for r in card.probes):
        parts.append("every probe was skipped, so nothing was checked")
    gate_score = policy.gate_score(card.probes)
    if gate_score < policy.min_score:
        parts.append(f"score {gate_score:.0f} is below the policy's min_score {policy.min_score:g}")
    what = f"{card.model.get('kind')} model on {card.data.get('rows')} rows of {card.data.get('target')!r}"
    return f"{what}: " + ("; ".join(parts) or "the scorecard did not pass")


# -- messages and JUnit properties ---------------------------------------------------


def failure_message(result: ProbeResult, policy: GatePolicy | None, audit_seed: int) -> str:
    """Every finding of a failed probe, worst first, numbered, with its measurements."""
    from auditkit._results import Severity

    gate = policy.threshold(result.name) if policy is not None else Severity.HIGH
    findings = sorted(result.findings, key=lambda f: -f.severity.rank)
    failing = [f for f in findings if policy is None or policy.fails(f, probe=result.name)]
    score = "-" if result.score is None else f"{result.score:.0f}/100"
    lines = [
        FAILURE_HEADER.format(
            name=result.name, gate=gate.value, failing=len(failing), total=len(findings), score=score
        )
    ]
    for i, finding in enumerate(findings, 1):
        lines.append(f"  {i}. [{finding.severity.value}] {finding.code}: {finding.message}")
        details = []
        if finding.features:
            details.append("features: " + ", ".join(finding.features))
        if finding.slice:
            details.append("slice: " + " and ".join(c.describe() for c in finding.slice))
        numbers = _compact(finding.metrics)
        if numbers:
            details.append("metrics: " + numbers)
        if details:
            lines.append("     " + "; ".join(details))
    lines.append(RERUN_TEXT.format(seed=audit_seed, probe_seed=result.seed))
    return "\n".join(lines)


def _compact(metrics: Mapping[str, Any], limit: int = 8) -> str:
    shown = []
    for name, value in metrics.items():
        if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
            shown.append(f"{name}={_short(value)}")
        if len(shown) == limit:
            break
    return ", ".join(shown)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def metric_properties(result: ProbeResult) -> list[tuple[str, Any]]:
    """A probe's result as JUnit properties: status, score and its metrics
    flattened to dotted names, bounded in number and length."""
    props: list[tuple[str, Any]] = [
        ("auditkit.probe", result.name),
        ("auditkit.status", result.status),
        ("auditkit.seed", result.seed),
    ]
    if result.score is not None:
        props.append(("auditkit.score", round(float(result.score), 2)))
    if result.reason:
        props.append(("auditkit.reason", _bounded(result.reason)))
    props.append(("auditkit.findings", len(result.findings)))
    worst = result.worst
    if worst is not None:
        props.append(("auditkit.worst_severity", worst.severity.value))
        props.append(("auditkit.worst_finding", _bounded(worst.message)))
    flat = list(_flatten(result.metrics, "auditkit.metric"))
    props.extend(flat[:MAX_METRIC_PROPERTIES])
    if len(flat) > MAX_METRIC_PROPERTIES:
        props.append(("auditkit.metrics_omitted", len(flat) - MAX_METRIC_PROPERTIES))
    return props


def _flatten(value: Any, prefix: str) -> Generator[tuple[str, Any], None, None]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}")
    elif isinstance(value, (list, tuple)):
        # Lists (a ranking, a curve) stay one property: indexing them would
        # spend the whole budget on one metric.
        yield prefix, _bounded(json.dumps(value, allow_nan=False, default=str))
    elif isinstance(value, float):
        yield prefix, round(value, 6)
    else:
        yield prefix, _bounded(value) if isinstance(value, str) else value


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_PROPERTY_CHARS else text[: MAX_PROPERTY_CHARS - 3] + "..."


def _record_properties(item: pytest.Item, result: ProbeResult) -> None:
    # What record_property does, from a hook: junitxml writes these with the
    # test's teardown report, which xdist forwards to the controller.
    props = item.user_properties
    if any(name == "auditkit.probe" for name, _ in props):
        return
    props.extend(metric_properties(result))
