"""Scorecards for the report tests, built directly (no probe has to run).

``full_card`` carries every figure kind the reports draw (``result.figures``)
beside metrics shaped as the built-in probes write them, with a hostile string
wherever data can reach a report: a column, a group, a slice value, a message,
an example, a reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from auditkit import (
    Bar,
    Condition,
    Curve,
    Finding,
    GridCell,
    GroupRates,
    GroupRow,
    Marker,
    OutcomeGrid,
    ProbeResult,
    Ranking,
    Reference,
    Scorecard,
    SliceRow,
    SliceTable,
)

XSS = "<img src=x onerror=alert(1)>"
TITLE = "credit model v3 vs 2026-Q4 traffic"
CREATED = "2026-03-01T12:00:00+00:00"  # waivers are read as of this day


def leakage_result() -> ProbeResult:
    ranking = [
        {"feature": XSS, "kind": "categorical", "score": 0.97, "ci_low": 0.95, "ci_high": 0.99, "severity": "critical", "rank": 1},
        {"feature": "body", "kind": "numeric", "score": 0.81, "ci_low": 0.77, "ci_high": 0.85, "severity": "high", "rank": 2},
    ] + [
        {"feature": f"f{i}", "kind": "numeric", "score": 0.5 + 0.2 * np.exp(-i / 4), "ci_low": None, "ci_high": None, "severity": None}
        for i in range(40)
    ]
    return ProbeResult(
        name="target_leakage",
        status="failed",
        score=0.0,
        seed=11,
        duration_s=1.5,
        metrics={"task": "binary", "metric": "roc_auc", "ranking": ranking, "model_score": {"score": 0.99, "ci_low": 0.98}},
        figures=(
            Ranking(
                title="The leakage ranking: ROC AUC of each feature alone",
                metric="ROC AUC",
                bars=tuple(Bar(r["feature"], r["score"], r["ci_low"], r["ci_high"], r["severity"]) for r in ranking),
                references=(Reference(0.9, "threshold", "threshold"), Reference(0.99, "whole model", "model"), Reference(0.5, "chance", "chance")),
                caption="A feature that alone comes close to the whole model is a suspect.",
            ),
        ),
        findings=(
            Finding(
                code="single_feature_leak",
                severity="critical",
                message=f"Feature {XSS!r} alone predicts 'survived' with ROC AUC 0.97 (threshold 0.90).",
                features=(XSS,),
                metrics={"score": 0.97, "ci_low": 0.95, "threshold": 0.9},
                examples=({"row": 4, XSS: "1"},),
            ),
            Finding(
                code="single_feature_leak",
                severity="high",
                message="Feature 'body' alone predicts 'survived' with ROC AUC 0.81 (threshold 0.80).",
                features=("body",),
                metrics={"score": 0.81},
            ),
        ),
    )


def bias_result() -> ProbeResult:
    rng = np.random.default_rng(1)
    groups = []
    for feature, labels in (("sex", ["female", "male"]), ("race", ["White", "Black", XSS])):
        for g in labels:
            groups.append(
                {
                    "feature": feature,
                    "group": g,
                    "count": int(rng.integers(100, 3000)),
                    "selection_rate": float(rng.uniform(0.1, 0.4)),
                    "accuracy": float(rng.uniform(0.7, 0.9)),
                    "false_positive_rate": float(rng.uniform(0.02, 0.2)),
                    "false_negative_rate": float(rng.uniform(0.2, 0.5)),
                }
            )
    disparities = [
        {
            "feature": "sex",
            "disparity": "demographic_parity",
            "metric": "selection_rate",
            "worse_group": "female",
            "better_group": "male",
            "ratio": 0.36,
            "ratio_ci": [0.3, 0.42],
            "large": True,
            "significant": True,
        }
    ]
    slices = [
        {
            "slice": [{"feature": "age", "op": ">=", "value": 60}, {"feature": "edu", "op": "==", "value": XSS}],
            "support": 321,
            "error": 0.41,
            "overall_error": 0.15,
            "p_value": 1e-6,
        }
    ]
    rates = ("selection_rate", "false_positive_rate", "false_negative_rate", "accuracy")
    figures: list[Any] = [
        GroupRates(
            title=f"Rates per group of {feature}",
            feature=feature,
            metrics=rates,
            groups=tuple(
                GroupRow(g["group"], g["count"], tuple(g[m] for m in rates), tuple(g[m] - 0.03 for m in rates), tuple(g[m] + 0.03 for m in rates))
                for g in groups
                if g["feature"] == feature
            ),
        )
        for feature in ("sex", "race")
    ]
    figures.append(
        Ranking(
            title="Disparities between groups: the worse group's rate over the better group's",
            metric="ratio",
            bars=(Bar("demographic parity, sex: female vs male", 0.36, 0.3, 0.42, "high"),),
            references=(Reference(1.0, "parity", "parity"), Reference(0.8, "threshold", "threshold")),
        )
    )
    figures.append(
        SliceTable(
            title="Slices where the model errs more",
            metric="error rate",
            slices=tuple(SliceRow(s["slice"], s["support"], s["error"], 0.36, 0.46, "medium") for s in slices),
            overall=0.15,
        )
    )
    return ProbeResult(
        name="slice_bias",
        status="failed",
        score=35.0,
        seed=12,
        metrics={"task": "binary", "groups": groups, "disparities": disparities, "slices": slices},
        figures=tuple(figures),
        findings=(
            Finding(
                code="selection_rate_disparity",
                severity="high",
                message="Selection rate differs across 'sex': 'female' 0.11 vs 'male' 0.31; ratio 0.36 (threshold 0.80).",
                features=("sex",),
                slice=(Condition("sex", "==", "female"),),
                metrics={"ratio": 0.36, "ratio_threshold": 0.8},
            ),
            Finding(
                code="underperforming_slice",
                severity="medium",
                message=f"The model errs on 41% of the 321 rows where age >= 60 and edu == {XSS!r}.",
                features=("age", "edu"),
                slice=(Condition("age", ">=", 60), Condition("edu", "==", XSS)),
                metrics={"support": 321, "error": 0.41},
            ),
        ),
    )


def _worst(column: str, kind: str) -> str:
    """One cell of each outcome the grid can show, the rest handled."""
    return {("age", "nan"): "silent_corruption", ("fare", "huge"): "overflow", (XSS, "unseen_category"): "not_run"}.get(
        (column, kind), "handled"
    )


def injection_result() -> ProbeResult:
    kinds = ["nan", "none", "empty_string", "inf", "huge", "wrong_type", "unseen_category"]
    # As nan_injection writes it: column -> injection -> rate -> outcome.
    grid = {
        column: {
            kind: {
                "one_cell": "handled",
                "whole_column": "silent_corruption" if (column, kind) == ("age", "nan") else "handled",
            }
            for kind in kinds
        }
        for column in ["age", "fare", XSS]
    }
    return ProbeResult(
        name="nan_injection",
        status="failed",
        score=0.0,
        seed=13,
        metrics={"grid": grid},
        figures=(
            OutcomeGrid(
                title="What each injection did, column by injection",
                rows=tuple(grid),
                columns=tuple(kinds),
                cells=tuple(GridCell(column, kind, _worst(column, kind)) for column in grid for kind in kinds),
            ),
        ),
        findings=(
            Finding(
                code="silent_corruption",
                severity="critical",
                message="NaN in 'age' comes back as NaN probabilities for 100 of 100 rows, without an error.",
                features=("age",),
                examples=({"age": None, "fare": 7.25},),
            ),
        ),
    )


def cost_result() -> ProbeResult:
    t = np.linspace(0, 1, 2001)
    return ProbeResult(
        name="cost_weighted_errors",
        status="passed",
        score=85.0,
        seed=14,
        metrics={
            "cost_curve": {"threshold": t.tolist(), "expected_cost": (0.3 + (t - 0.2) ** 2).tolist()},
            "optimal_threshold": 0.2,
            "bayes_threshold": 1 / 6,
            "expected_cost": 0.39,
            "optimal_expected_cost": 0.3,
        },
        figures=(
            Curve(
                title="Cost curve",
                x_label="threshold",
                y_label="expected cost per row",
                x=t.tolist(),
                y=(0.3 + (t - 0.2) ** 2).tolist(),
                markers=(Marker(0.2, 0.3, "optimal threshold", "optimal"), Marker(1 / 6, None, "Bayes threshold", "bayes")),
                levels=(Reference(0.39, "current rule's cost", "current"),),
            ),
        ),
        findings=(
            Finding(code="money_left_on_table", severity="low", message="A threshold of 0.2 instead of the current rule saves 0.09 per row."),
        ),
    )


def make_card(probes: tuple[ProbeResult, ...], *, policy: dict[str, Any] | None = None, **kw: Any) -> Scorecard:
    fields: dict[str, Any] = dict(
        title=TITLE,
        seed=7,
        created_at=CREATED,
        model={"kind": "sklearn", "task": "binary", "estimator": "HistGradientBoostingClassifier"},
        data={"rows": 1309, "columns": 14, "target": "survived", "sensitive": ["sex", XSS], "sha256": "a" * 64},
        score=min((p.score for p in probes if p.score is not None), default=0.0),
        grade="F",
        passed=False,
        policy=policy or {"fail_on": "high", "fail_on_error": True, "min_score": 0.0},
        probes=probes,
        auditkit_version="0.1.0",
    )
    fields.update(kw)
    return Scorecard(**fields)


def full_card_of(policy: dict[str, Any] | None = None) -> Scorecard:
    return make_card(
        (
            leakage_result(),
            bias_result(),
            injection_result(),
            cost_result(),
            ProbeResult(name="broken", status="error", reason=f"RuntimeError: {XSS}", seed=15),
            ProbeResult(name="needs_costs", status="skipped", reason="no costs were given", seed=16),
        ),
        policy=policy,
    )


@pytest.fixture
def full_card() -> Scorecard:
    return full_card_of()


@pytest.fixture
def cards() -> Any:
    """The builders above, for tests (test modules cannot import this conftest by name)."""
    import types

    return types.SimpleNamespace(
        XSS=XSS,
        TITLE=TITLE,
        CREATED=CREATED,
        make_card=make_card,
        full_card_of=full_card_of,
        leakage_result=leakage_result,
        bias_result=bias_result,
        injection_result=injection_result,
        cost_result=cost_result,
    )
