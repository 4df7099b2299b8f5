"""Probes cannot harm each other or the user, and a failure's printed seed reproduces it.

The hostile probe below is what a careless (or malicious) third-party probe
might do: overwrite a column of the audit data, write into the predictions
every probe shares, and change the metrics and findings it returned after
returning them. The probes after it, the user's frame and the scorecard must
not notice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

import auditkit
from auditkit import AuditData, Evidence, Finding, Probe, audit
from auditkit.testing import check_probe

KEPT: dict[str, object] = {}  # what the hostile probe returned, kept to change later


def _data() -> AuditData:
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    return AuditData(pd.DataFrame({"x": x, "z": rng.normal(size=300), "y": (x > 0).astype(int)}), target="y")


def _model(X: pd.DataFrame) -> np.ndarray:
    return 1 / (1 + np.exp(-3 * X["x"].to_numpy()))


@dataclass(frozen=True, kw_only=True)
class Hostile(Probe):
    """Overwrites a column, writes into the shared predictions, keeps its results to change them later."""

    name: ClassVar[str] = "hostile"

    def run(self, ctx):
        frame = ctx.data.frame
        frame["x"] = 0.0  # a whole column
        frame.loc[frame.index[0], "z"] = 1e9  # one cell, in place
        wrote = []
        preds = ctx.predictions
        for array in (preds.labels, preds.scores, preds.proba):
            if array is None:
                continue
            try:
                array[...] = 0
                wrote.append(True)
            except ValueError:  # read-only: the next probe's predictions are safe
                wrote.append(False)
        try:
            ctx.data.y.to_numpy()[:] = 0
            wrote.append(True)
        except ValueError:
            wrote.append(False)
        metrics = {"wrote_into_shared_arrays": any(wrote), "ranking": [{"feature": "x", "score": 0.5}], "detail": {"n": 1}}
        finding_metrics = {"value": 0.7}
        finding = Finding(code="planted", severity="high", message="A planted finding.", metrics=finding_metrics)
        findings = [finding]
        KEPT.update(metrics=metrics, finding_metrics=finding_metrics, findings=findings)
        return Evidence(metrics=metrics, findings=findings)


@dataclass(frozen=True, kw_only=True)
class Witness(Probe):
    """Runs after the hostile probe and records what it sees; changes its returned metrics afterwards too."""

    name: ClassVar[str] = "witness"

    def run(self, ctx):
        if KEPT:  # the hostile probe ran first and changes its results after returning them
            KEPT["metrics"]["detail"]["n"] = 99
            KEPT["metrics"]["ranking"].append({"feature": "injected", "score": 1.0})
            KEPT["metrics"]["extra"] = "added later"
            KEPT["finding_metrics"]["value"] = 0.0
            KEPT["findings"].clear()
        preds = ctx.predictions
        return Evidence(
            metrics={
                "x_sum": float(ctx.data.frame["x"].sum()),
                "z_max": float(ctx.data.frame["z"].max()),
                "labels_sum": int(preds.labels.sum()),
                "scores_sum": float(preds.scores.sum()),
                "y_sum": int(ctx.data.y.sum()),
            }
        )


def test_a_hostile_probe_cannot_change_what_later_probes_see_or_the_scorecard() -> None:
    data = _data()
    user_frame = data.frame.copy()
    KEPT.clear()
    alone = audit(_model, data, probes=[Witness()])["witness"].metrics
    assert alone, "the witness ran"
    card = audit(_model, data, probes=[Hostile(), Witness()])
    # The witness saw the data and the predictions as they were.
    assert card["witness"].metrics == alone
    # The user's data is untouched.
    pd.testing.assert_frame_equal(data.frame, user_frame)
    # The shared arrays could not be written.
    assert card["hostile"].metrics["wrote_into_shared_arrays"] is False
    # What the hostile probe changed after returning did not reach its result.
    hostile = card["hostile"]
    assert hostile.metrics["detail"]["n"] == 1
    assert hostile.metrics["ranking"] == ({"feature": "x", "score": 0.5},)
    assert "extra" not in hostile.metrics
    assert [f.code for f in hostile.findings] == ["planted"]
    assert hostile.findings[0].metrics["value"] == 0.7
    assert hostile.status == "failed" and card.passed is False
    assert auditkit.render_json(card).count('"planted"') == 1


def test_a_probe_writing_into_the_data_changes_only_its_own_view() -> None:
    data = _data()
    from auditkit._probe import read_only

    view = read_only(data)
    view.frame["x"] = 0.0
    view.frame.iloc[0, 1] = 5.0
    assert float(data.frame["x"].abs().sum()) > 0 and data.frame.iloc[0, 1] != 5.0
    assert read_only(data).frame["x"].equals(data.frame["x"])
    with pytest.raises(ValueError):
        view.frame["z"].to_numpy()[0] = 1.0  # pandas hands out read-only arrays


@dataclass(frozen=True, kw_only=True)
class Unlucky(Probe):
    """Fails when its seeded draw is unlucky: a failure only its seed reproduces."""

    name: ClassVar[str] = "unlucky"

    def run(self, ctx):
        draw = float(ctx.rng.random())
        findings = []
        if draw < 0.5:
            findings.append(Finding(code="unlucky_draw", severity="high", message=f"The draw {draw:.6f} is below 0.5."))
        return Evidence(metrics={"draw": draw}, findings=findings)


def _first_failing_seed() -> tuple[int, str]:
    data = _data()
    for seed in range(100):
        try:
            check_probe(Unlucky(), _model, data, seed=seed)
        except AssertionError as exc:
            return seed, str(exc)
    raise AssertionError("no seed below 100 fails")  # pragma: no cover


def test_the_seed_printed_on_a_failure_reproduces_it() -> None:
    seed, message = _first_failing_seed()
    printed = re.search(r"re-run with seed (\d+)", message)
    assert printed is not None, message
    assert int(printed.group(1)) == seed
    with pytest.raises(AssertionError) as again:
        check_probe(Unlucky(), _model, _data(), seed=int(printed.group(1)))
    assert str(again.value) == message
    # The probe's own (derived) seed is printed too, and stored in the result, but it is not the one to pass back.
    from auditkit._probe import derive_seed

    assert f"this probe's own seed, derived from it: {derive_seed(seed, 'unlucky')}" in message
