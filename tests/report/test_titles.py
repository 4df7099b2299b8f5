"""An audit's title: given or built from the model and data, stored in the
scorecard, and shown by every report and by ``diff``, so two audits side by
side can be told apart."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import auditkit
from auditkit import AuditData, AuditkitError, Evidence, Probe, Scorecard

TITLE = "credit model v3 vs 2026-Q4 traffic"


@dataclass(frozen=True, kw_only=True)
class Counting(Probe):
    """Measures one number; enough for an audit that costs nothing."""

    name: ClassVar[str] = "counting"

    def run(self, ctx):
        return Evidence(metrics={"rows": ctx.data.n_rows})


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    return pd.DataFrame({"x": x, "z": rng.normal(size=200), "y": (x > 0).astype(int), "pred": (x > 0.1).astype(int)})


@pytest.fixture(scope="module")
def data(frame: pd.DataFrame) -> AuditData:
    return AuditData(frame.drop(columns="pred"), target="y")


def test_a_given_title_is_stored_in_the_scorecard_and_its_json(data: AuditData, frame: pd.DataFrame) -> None:
    model = LogisticRegression().fit(frame[["x", "z"]], frame["y"])
    card = auditkit.audit(model, data, probes=[Counting()], title=f"  {TITLE}\n")
    assert card.title == TITLE  # on one line, trimmed
    doc = json.loads(auditkit.render_json(card))
    assert doc["title"] == TITLE
    auditkit.validate_scorecard(doc)
    assert auditkit.scorecard_from_json(auditkit.render_json(card)).title == TITLE


def test_without_a_title_the_model_and_data_name_the_audit(data: AuditData, frame: pd.DataFrame, tmp_path) -> None:
    X, y = frame[["x", "z"]], frame["y"]

    def title(model, audit_data=data) -> str:
        return auditkit.AuditSession(model, audit_data).title

    rows = "on 200 rows, target 'y'"
    assert title(LogisticRegression().fit(X, y)) == f"LogisticRegression {rows}"
    assert title(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)) == f"LogisticRegression pipeline {rows}"
    assert title(auditkit.wrap(LogisticRegression().fit(X, y))) == f"LogisticRegression {rows}"  # what was wrapped

    def approve(batch: pd.DataFrame) -> np.ndarray:
        return (batch["x"] > 0).astype(int).to_numpy()

    assert title(approve) == f"function approve {rows}"
    stored = AuditData(frame, target="y", prediction="pred")
    assert title(None, stored) == f"stored predictions 'pred' {rows}"
    assert title(None) == f"no model (data only) {rows}"  # no model, no stored predictions: a data-only audit
    import skops.io as sio

    path = tmp_path / "credit_v3.skops"
    sio.dump(LogisticRegression().fit(X, y), path)
    assert title(str(path)) == f"credit_v3.skops {rows}"
    # ... and the audit carries it.
    assert auditkit.audit(approve, data, probes=[Counting()]).title == f"function approve {rows}"


def test_a_title_that_is_not_text_is_refused_before_any_work(data: AuditData) -> None:
    with pytest.raises(AuditkitError, match="title must be a string; got int"):
        auditkit.audit(None, data, probes=[Counting()], title=3)


def test_a_scorecard_file_without_a_title_still_reads_and_is_named_by_its_model_and_data(cards) -> None:
    doc = json.loads(auditkit.render_json(cards.make_card((cards.leakage_result(),))))
    del doc["title"]  # written before audits had titles
    auditkit.validate_scorecard(doc)
    card = Scorecard.from_dict(doc)
    assert card.title == ""
    named = "sklearn model on 1309 rows, target 'survived'"
    assert named in auditkit.render_terminal(card).splitlines()[0]
    assert f"<h1 id=\"title\">{named.replace(chr(39), '&#39;')}</h1>" in auditkit.render_html(card)


def test_every_report_shows_the_title(cards) -> None:
    card = cards.full_card_of()
    assert auditkit.render_terminal(card).splitlines()[0] == TITLE
    page = auditkit.render_html(card)
    assert f"<title>{TITLE}: audit FAILED (score 0, grade F)</title>" in page
    assert f'<h1 id="title">{TITLE}</h1>' in page
    assert auditkit.render_markdown(card).startswith(f"### \u274c {TITLE}\n")
    suite = ET.fromstring(auditkit.render_junit(card)).find("testsuite")
    assert suite.get("name") == "auditkit"  # dashboards follow the suite by its name
    assert {p.get("name"): p.get("value") for p in suite.find("properties")}["title"] == TITLE
    assert f"<h1>{TITLE}</h1>" in card._repr_html_()
    assert json.loads(auditkit.render_json(card))["title"] == TITLE


def test_a_hostile_title_is_text_in_every_report(cards) -> None:
    xss = cards.XSS
    card = cards.make_card((cards.leakage_result(),), title=f"v3 | *bold* {xss}")
    page = auditkit.render_html(card)
    assert xss not in page and xss not in card._repr_html_()
    assert "v3 | *bold* &lt;img src=x onerror=alert(1)&gt;</h1>" in page
    heading = auditkit.render_markdown(card).splitlines()[0]
    assert heading == "### \u274c v3 \\| \\*bold\\* &lt;img src=x onerror=alert(1)&gt;"
    suite = ET.fromstring(auditkit.render_junit(card)).find("testsuite")
    assert {p.get("name"): p.get("value") for p in suite.find("properties")}["title"] == f"v3 | *bold* {xss}"


def test_diff_names_both_audits_by_title(cards) -> None:
    base = cards.make_card((cards.leakage_result(),), title="credit model v2 vs 2026-Q3 traffic")
    now = dataclasses.replace(base, title=TITLE, created_at="2026-04-01T12:00:00+00:00")
    diff = auditkit.diff_scorecards(base, now)
    lines = auditkit.render_diff_terminal(diff, width=200).splitlines()
    assert lines[1:3] == [
        f"baseline: credit model v2 vs 2026-Q3 traffic ({cards.CREATED})",
        f"current:  {TITLE} (2026-04-01T12:00:00+00:00)",
    ]
    md = auditkit.render_diff_markdown(diff)
    assert f"Baseline: credit model v2 vs 2026-Q3 traffic ({cards.CREATED})  \nCurrent: {TITLE} (2026-04-01T12:00:00+00:00)" in md
