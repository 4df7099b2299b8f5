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
- the ``probe`` an audit test receives (an ``auditkit.testing.ProbeCheck``)
  is bound to the run when the test is set up, so ``probe.check`` joins the
  run's shared audit; nothing in auditkit's core knows about pytest;
- a probe runs while its test is set up (when the test takes fixtures named
  ``audit_model`` and ``audit_data``) or in ``probe.check``; a probe that
  errors makes a setup error, one that does not apply a skip, and one that
  fails its gate fails in ``probe.check`` (see ``auditkit.testing``);
- at the end, the results become one scorecard per (model, data), judged by
  the core (``auditkit._judge``): printed after the test summary, written
  with ``--audit-json``, and gated: a scorecard whose verdict is "failed"
  fails the run (exit status 1) even when no test did (a ``min_score`` in the
  policy, say). The gate acts in ``pytest_sessionfinish`` and never raises.

Under pytest-xdist each worker audits the probes it was given, with its own
shared predictions, and sends its results to the controller at the end; the
controller merges them (``auditkit._judge.merge_scorecards``), so the printed
scorecard, the JSON file and the gate cover the whole run exactly as without xdist.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from auditkit._data import AuditData
    from auditkit._policy import AuditConfig
    from auditkit._probe import Probe
    from auditkit._results import ProbeResult, Scorecard
    from auditkit._runner import AuditSession

# Kept in step with auditkit.Severity without importing auditkit at start-up.
SEVERITIES = ("info", "low", "medium", "high", "critical")
MARKER = "auditkit"
MODEL_FIXTURE = "audit_model"
DATA_FIXTURE = "audit_data"
_WORKER_OUTPUT_KEY = "auditkit"


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
    config.pluginmanager.register(AuditRun(config), "auditkit-run")


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
        self.collected: dict[str, Probe] = {}  # the audit tests' probes, by name: the policy may name them
        self.pairs: dict[tuple[int, int, int, str | None], _Pair] = {}
        self.remote: list[dict[str, Any]] = []
        self.cards: list[Scorecard] = []
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

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            probe = getattr(getattr(item, "callspec", None), "params", {}).get("probe")
            if item.get_closest_marker(MARKER) is not None and _is_probe_check(probe):
                self.collected.setdefault(probe.probe.name, probe.probe)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        yield  # the fixtures are set up now (or their error is on its way out)
        if item.get_closest_marker(MARKER) is None:
            return
        funcargs: dict[str, Any] = getattr(item, "funcargs", {})
        probe = funcargs.get("probe")
        if not _is_probe_check(probe):
            return
        # The test's probe.check now runs in this run's shared audit.
        funcargs["probe"] = probe.bind(functools.partial(self.check, item))
        if MODEL_FIXTURE not in funcargs or DATA_FIXTURE not in funcargs:
            return
        result = self.run(item, probe.probe, funcargs[MODEL_FIXTURE], funcargs[DATA_FIXTURE], None, None)
        _report_not_run(item, result)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        # A skip raised here would be reported at this file's line; point it at the test.
        if report.skipped and item.stash.get(_SKIPPED_KEY, False) and isinstance(report.longrepr, tuple):
            path, line = item.reportinfo()[:2]
            report.longrepr = (str(path), (line or 0) + 1, report.longrepr[2])
        return report

    def check(
        self, item: pytest.Item, probe: Probe, model: Any, data: AuditData, seed: int | None, fail_on: str | None
    ) -> ProbeResult:
        """``probe.check`` inside an audit test: the result from the shared session, as judged."""
        __tracebackhide__ = True
        from auditkit._judge import failure_text

        result = self.run(item, probe, model, data, seed, fail_on)
        _report_not_run(item, result)
        if result.status == "failed":
            raise AssertionError(failure_text(result, self._pair(model, data, seed, fail_on).seed))
        return result

    def run(self, item: pytest.Item, probe: Probe, model: Any, data: Any, seed: int | None, fail_on: str | None) -> ProbeResult:
        """The probe's result on (model, data), computed once per run."""
        from auditkit._registry import configure
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
                configured = configure(probe, settings)
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
            from auditkit._registry import check_config
            from auditkit._runner import AuditSession

            # Either failure makes every probe of the pair error with the same one line.
            try:
                config = self.audit_config(fail_on)
                check_config(config, self.collected.values())
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
            out.append({"card": card.to_dict(), "expected": dict(pair.expected)})
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
        from auditkit._judge import merge_scorecards
        from auditkit._results import Scorecard

        self.cards = merge_scorecards((Scorecard.from_dict(p["card"]), p["expected"]) for p in payloads)
        path = self.config.getoption("audit_json", None)
        if path:
            from auditkit._io import write_atomic

            docs = [json.loads(_render_json(card)) for card in self.cards]
            # One (model, data) pair, the usual case: the file is exactly a
            # scorecard. Several: a JSON array of them, in the order they were first audited.
            doc: Any = docs[0] if len(docs) == 1 else docs
            write_atomic(path, json.dumps(doc, indent=2, allow_nan=False) + "\n")
            self.json_written = str(path)
        if any(not card.passed for card in self.cards) and session.exitstatus == pytest.ExitCode.OK:
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
        for card in self.cards:
            if not card.passed:
                terminalreporter.write_line(f"auditkit gate: FAILED - {_gate_line(card)}", red=True, bold=True)


_SKIPPED_KEY = pytest.StashKey[bool]()


def _report_not_run(item: pytest.Item, result: ProbeResult) -> None:
    """A probe that does not apply skips its test; one that could not run fails it."""
    __tracebackhide__ = True
    if result.status == "skipped":
        item.stash[_SKIPPED_KEY] = True
        pytest.skip(result.reason or "the probe does not apply")
    if result.status == "error":
        from auditkit._judge import ERROR_TEXT

        pytest.fail(ERROR_TEXT.format(name=result.name, reason=result.reason), pytrace=False)


def _is_probe_check(obj: Any) -> bool:
    from auditkit.testing import ProbeCheck

    return isinstance(obj, ProbeCheck)


def _render_json(card: Scorecard) -> str:
    from auditkit._report import render_json

    return render_json(card)


def _gate_line(card: Scorecard) -> str:
    """Which audit failed its gate, and the judge's reasons."""
    what = f"{card.model.get('kind')} model on {card.data.get('rows')} rows of {card.data.get('target')!r}"
    reasons = card.verdict.reasons if card.verdict is not None else ()
    return f"{what}: " + ("; ".join(reasons) or "the scorecard did not pass")


def _record_properties(item: pytest.Item, result: ProbeResult) -> None:
    # What record_property does, from a hook: junitxml writes these with the
    # test's teardown report, which xdist forwards to the controller.
    from auditkit._report._junit import probe_properties

    props = item.user_properties
    if any(name == "auditkit.probe" for name, _ in props):
        return
    props.extend(probe_properties(result))
