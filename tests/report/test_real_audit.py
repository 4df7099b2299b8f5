"""The reports of a real audit by the built-in probes: each probe's metrics give
its chart, and a hostile column name travels through the probes and the
reports as text. This is where a renamed metric key would show."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import auditkit

XSS = "<img src=x onerror=alert(1)>"
# Which charts each built-in probe's figures must give when it ran.
EXPECTED_CHARTS = {
    "target_leakage": {"ranking"},
    "slice_bias": {"group_rates", "ranking"},
    "nan_injection": {"outcome_grid"},
    "cost_weighted_errors": {"curve"},
}


@pytest.fixture(scope="module")
def titanic_card(titanic_frame: pd.DataFrame) -> auditkit.Scorecard:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    # The lifeboat, known only after the ship sank, under a name that must never run as markup.
    frame = titanic_frame[["pclass", "age", "fare", "sex", "embarked", "boat", "survived"]].rename(columns={"boat": XSS})
    frame[XSS] = frame[XSS].astype(str).where(frame[XSS].notna())  # lifeboat labels mix numbers and letters
    train, test = train_test_split(frame, test_size=0.3, stratify=frame["survived"], random_state=0)
    categorical = ["sex", "embarked", XSS]
    model = make_pipeline(
        make_column_transformer(
            (SimpleImputer(strategy="median"), ["pclass", "age", "fare"]),
            (
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False),
                ),
                categorical,
            ),
        ),
        HistGradientBoostingClassifier(max_iter=50, random_state=0),
    ).fit(train.drop(columns="survived"), train["survived"])
    data = auditkit.AuditData(test, target="survived", reference=train, sensitive=["sex"], costs={"fp": 1, "fn": 5})
    return auditkit.audit(model, data, seed=0)


@pytest.mark.slow
def test_each_built_in_probe_that_ran_gets_its_chart(titanic_card: auditkit.Scorecard) -> None:
    page = auditkit.render_html(titanic_card)
    ran = [r.name for r in titanic_card.probes if r.status in ("passed", "failed") and r.name in EXPECTED_CHARTS]
    assert "target_leakage" in ran  # the probe this audit is about
    for name in ran:
        section = page[page.index(f'<section class="probe" id="probe-{name}">') :]
        section = section[: section.index("</section>")]
        kinds = set(re.findall(r'data-chart="([a-z_]+)"', section))
        assert EXPECTED_CHARTS[name] <= kinds, (name, kinds)
        assert "could not be drawn" not in section


@pytest.mark.slow
def test_a_hostile_column_name_stays_text_through_a_real_audit(titanic_card: auditkit.Scorecard) -> None:
    leak = titanic_card["target_leakage"]
    assert any(XSS in f.features for f in leak.findings)  # the probes saw it under its name
    page = auditkit.render_html(titanic_card)
    assert XSS not in page and "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    md = auditkit.render_markdown(titanic_card)
    assert "<img" not in md
    assert len(page.encode()) < 2_000_000
