"""Probes as pytest test items, the way scikit-learn's ``parametrize_with_checks``
turns its checks into tests.

The minimal audit suite is two fixtures and one test::

    # conftest.py
    import pytest

    @pytest.fixture(scope="session")
    def audit_model():
        ...                                   # anything auditkit.wrap accepts

    @pytest.fixture(scope="session")
    def audit_data():
        ...                                   # an auditkit.AuditData

    # test_audit.py
    from auditkit.testing import parametrize_with_probes

    @parametrize_with_probes()                # every installed probe
    def test_audit(probe, audit_model, audit_data):
        probe.check(audit_model, audit_data)

Each probe becomes one test item named after it (``test_audit[slice_bias]``),
so ``pytest -k slice_bias`` runs one probe and ``-k "not target_leakage"`` all
but one. What the items report:

========================  ==================================================
the probe                 the test
========================  ==================================================
passed                    passes
failed the gate           fails; the message lists every finding with its
                          measured value, threshold and offenders, and the
                          seed that reproduces it
could not run (error)     errors (an error in setup, not a failure: the
                          model was never judged)
does not apply            is skipped, with the probe's reason
listed in                 xfails with the reason given (an error is still an
``expected_failures``     error)
========================  ==================================================

With the fixtures named ``audit_model`` and ``audit_data``, the probe runs
while the test is set up; with other names it runs in ``probe.check``, and
an error there is reported as a failure. (``probe`` is a :class:`ProbeCheck`:
the probe, plus ``check``.) Either way, the work probes share
(binding the model, its predictions on the data) is done once per test
session for each (model, data) pair: make the two fixtures session-scoped,
since a fresh object per test is a fresh audit.

The plugin (registered automatically when auditkit is installed) adds
``--audit-seed N``, ``--audit-fail-on SEVERITY`` and ``--audit-json FILE``,
prints the scorecard at the end of the run, puts each probe's metrics into
its JUnit properties (``--junitxml``), and reads the same ``[tool.auditkit]``
policy from pyproject.toml as the ``auditkit`` command line.

Outside pytest, :func:`check_probe` runs one probe as a test in plain Python
(as scikit-learn's ``check_estimator`` does).

For property tests of your own, ``auditkit.strategies`` generates rows and
frames from an ``AuditData``'s schema for hypothesis' ``@given``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from auditkit._errors import ProbeConfigError, ProbeSkipped
from auditkit._judge import ERROR_TEXT, failure_text
from auditkit._probe import Probe
from auditkit._registry import resolve_probes

if TYPE_CHECKING:
    from auditkit._data import AuditData
    from auditkit._results import ProbeResult

__all__ = ["MARKER", "ProbeCheck", "check_probe", "parametrize_with_probes"]

# How the pytest plugin runs a check inside an audit test: in the run's shared audit.
CheckRunner = Callable[[Probe, Any, "AuditData", "int | None", "str | None"], "ProbeResult"]


def check_probe(
    probe: Probe, model: Any, data: AuditData, *, seed: int = 0, fail_on: str = "high"
) -> ProbeResult:
    """Run one probe alone and raise ``AssertionError`` when it fails the gate.

    The message lists its findings and the audit seed that reproduces the
    failure: pass it back as ``seed``. A probe that could not run raises
    ``RuntimeError``; one that does not apply raises ``ProbeSkipped``.
    """
    __tracebackhide__ = True
    from auditkit._runner import audit

    card = audit(model, data, probes=[probe], seed=seed, config={"fail_on": fail_on})
    result = card.probes[0]
    if result.status == "failed":
        raise AssertionError(failure_text(result, card.seed))
    if result.status == "error":
        raise RuntimeError(ERROR_TEXT.format(name=result.name, reason=result.reason))
    if result.status == "skipped":
        raise ProbeSkipped(result.reason or "skipped")
    return result


class ProbeCheck:
    """What :func:`parametrize_with_probes` hands a test as ``probe``: the probe, with
    ``check``. Inside an audit test the pytest plugin binds it to the run, so the
    probe joins the run's shared audit and scorecard, under its seed and gate;
    unbound, ``check`` is :func:`check_probe`. Anything else is the probe's own
    (``probe.name``, ``probe.settings()``)."""

    def __init__(self, probe: Probe, runner: CheckRunner | None = None) -> None:
        self.probe = probe
        self._runner = runner

    def bind(self, runner: CheckRunner) -> ProbeCheck:
        return ProbeCheck(self.probe, runner)

    def check(self, model: Any, data: AuditData, *, seed: int | None = None, fail_on: str | None = None) -> ProbeResult:
        """Run the probe on (model, data); ``AssertionError`` when it fails the gate."""
        __tracebackhide__ = True
        if self._runner is not None:
            return self._runner(self.probe, model, data, seed, fail_on)
        return check_probe(self.probe, model, data, seed=0 if seed is None else seed, fail_on=fail_on or "high")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("probe", "_runner"):
            raise AttributeError(name)
        return getattr(self.probe, name)

    def __repr__(self) -> str:
        return repr(self.probe)

#: The marker that makes a test an audit test (``parametrize_with_probes`` adds it).
MARKER = "auditkit"

F = TypeVar("F", bound=Callable[..., Any])


def parametrize_with_probes(
    *probes: str | Probe | type[Probe],
    expected_failures: Mapping[str, str] | None = None,
) -> Callable[[F], F]:
    """Parametrize a test's ``probe`` argument with probes, one test item each.

    ``probes`` are names of installed probes, probe classes, or configured
    probes (``SliceBias(min_support=50)``); none means every installed probe,
    and an installed probe whose code cannot be imported becomes an item that
    errors, rather than vanishing from the run. ``expected_failures`` maps a
    probe's name to the reason it is expected to fail: its test xfails with
    that reason, and the run's scorecard records it as a waiver.
    """
    selected = resolve_probes(list(probes) if probes else None)
    names = [p.name for p in selected]
    expected = dict(expected_failures or {})
    for name, reason in expected.items():
        if name not in names:
            raise ProbeConfigError(
                f"expected_failures names probe {name!r}, which this test does not run; "
                f"it runs: {', '.join(names) or '(no probes)'}"
            )
        if not isinstance(reason, str) or not reason.strip():
            raise ProbeConfigError(
                f"expected_failures[{name!r}] needs a reason, so the next reader knows why it may fail"
            )
    params = [
        pytest.param(ProbeCheck(probe), id=probe.name, marks=_expected_failure(expected[probe.name]) if probe.name in expected else ())
        for probe in selected
    ]
    parametrize = pytest.mark.parametrize("probe", params)
    mark = getattr(pytest.mark, MARKER)

    def decorate(test: F) -> F:
        return mark(parametrize(test))

    return decorate


def _expected_failure(reason: str) -> tuple[pytest.MarkDecorator, ...]:
    # Only the probe failing its gate (AssertionError from probe.check) is the
    # expected failure; a probe that crashed has shown nothing and still errors.
    # The second mark tells the plugin to record it as a waiver in the scorecard.
    return (
        pytest.mark.xfail(reason=reason, raises=AssertionError, strict=False),
        getattr(pytest.mark, MARKER)(expected_failure=reason),
    )
