"""slice_bias: declared groups (exact group metrics, disparities) and discovered slices (SliceLine)."""

from __future__ import annotations

import json
from itertools import combinations, product

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

import auditkit
from auditkit import Condition, ProbeConfigError, Severity
from auditkit_test_synthetic import make_clean_binary
from probes import _sliceline
from probes.slice_bias import (
    DISPARITY_MESSAGE,
    IMPACT,
    INCOMPLETE_MESSAGE,
    INSUFFICIENT_MESSAGE,
    SLICE_MESSAGE,
    WHAT,
    SliceBias,
)

CLASSIFICATION_KEYS = {
    "feature", "group", "count", "selection_rate", "accuracy",
    "false_positive_rate", "false_negative_rate", "true_positive_rate", "precision",
}


def run(model, data, **settings):
    card = auditkit.audit(model, data, probes=[SliceBias(**settings)], seed=0)
    result = card["slice_bias"]
    assert result.status in ("passed", "failed"), result.reason
    return result


def findings(result, code):
    return [f for f in result.findings if f.code == code]


def hand_rates(frame: pd.DataFrame, by: str, actual: pd.Series, predicted: pd.Series) -> pd.DataFrame:
    """The group metrics computed another way: pandas groupby means of booleans."""
    df = pd.DataFrame({"g": frame[by].to_numpy(), "t": actual.to_numpy(), "p": predicted.to_numpy()})
    df["right"] = df["t"] == df["p"]
    df["missed"] = ~df["p"]
    pos, neg, sel = df[df["t"]], df[~df["t"]], df[df["p"]]
    return pd.DataFrame(
        {
            "count": df.groupby("g").size(),
            "selection_rate": df.groupby("g")["p"].mean(),
            "accuracy": df.groupby("g")["right"].mean(),
            "false_positive_rate": neg.groupby("g")["p"].mean(),
            "false_negative_rate": pos.groupby("g")["missed"].mean(),
            "true_positive_rate": pos.groupby("g")["p"].mean(),
            "precision": sel.groupby("g")["t"].mean(),
        }
    )


# -- settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "setting",
    [
        {"ratio_threshold": 1.5},
        {"min_group_size": 0},
        {"significance": 0.7},
        {"positive_outcome": "good"},
        {"max_conditions": 4},
        {"min_support": 2},
        {"age_bands": (40, 20)},
        {"n_bootstrap": 10},
        {"min_error_ratio": 0.5},
    ],
)
def test_bad_settings_are_refused_when_the_probe_is_built(setting):
    with pytest.raises(ProbeConfigError):
        SliceBias(**setting)


def test_the_probe_is_found_through_its_entry_point():
    assert isinstance(auditkit.load_probe("slice_bias"), SliceBias)


# -- UCI Adult ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def adult_model(adult_train):
    X = adult_train.drop(columns="income")
    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    encode = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1)
    pre = make_column_transformer((encode, cats), remainder="passthrough")
    hgb = HistGradientBoostingClassifier(categorical_features=list(range(len(cats))), max_iter=60, random_state=0)
    return make_pipeline(pre, hgb).fit(X, adult_train["income"])


@pytest.fixture(scope="module")
def adult_result(adult_model, adult_test):
    data = auditkit.AuditData(adult_test, "income", sensitive=["sex", "race"])
    return run(adult_model, data, discover=False)


def test_adult_group_metrics_equal_a_pandas_groupby_to_the_last_digit(adult_model, adult_test, adult_result):
    predicted = pd.Series(adult_model.predict(adult_test.drop(columns="income"))) == ">50K"
    actual = adult_test["income"] == ">50K"
    groups = adult_result.metrics["groups"]
    assert all(set(g) == CLASSIFICATION_KEYS for g in groups)
    for column in ("sex", "race"):
        hand = hand_rates(adult_test, column, actual, predicted)
        ours = {g["group"]: g for g in groups if g["feature"] == column}
        assert sorted(ours) == sorted(hand.index)
        for group, row in hand.iterrows():
            for key, value in row.items():
                assert ours[group][key] == value, (column, group, key)  # exact, not approximate


def test_adult_sex_gap_in_selection_rate_is_a_finding_with_its_numbers(adult_model, adult_test, adult_result):
    # The documented gap in the data itself: >50K for 11% of women, 31% of men (30% in adult.test).
    base = (adult_test["income"] == ">50K").groupby(adult_test["sex"]).mean()
    assert base["Female"] == pytest.approx(0.11, abs=0.01) and base["Male"] == pytest.approx(0.31, abs=0.015)

    predicted = pd.Series(adult_model.predict(adult_test.drop(columns="income"))) == ">50K"
    rate = predicted.groupby(adult_test["sex"]).mean()
    (finding,) = [f for f in findings(adult_result, "selection_rate_disparity") if f.features == ("sex",)]
    assert finding.severity is Severity.HIGH
    assert finding.slice == (Condition("sex", "==", "Female"),)
    m = finding.metrics
    assert m["worse_value"] == rate["Female"] and m["better_value"] == rate["Male"]
    assert m["ratio"] == rate["Female"] / rate["Male"] < 0.8
    assert m["difference"] == rate["Male"] - rate["Female"]
    assert m["ratio_ci"][0] < m["ratio"] < m["ratio_ci"][1] < 0.8
    assert m["difference_ci"][0] > 0.05
    # the p-value another way: a pooled two-proportion z-test (two groups: no pair correction)
    n = adult_test["sex"].value_counts()
    k = predicted.groupby(adult_test["sex"]).sum()
    pooled = k.sum() / n.sum()
    z = (rate["Male"] - rate["Female"]) / np.sqrt(pooled * (1 - pooled) * (1 / n["Male"] + 1 / n["Female"]))
    assert m["p_value"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-6)
    assert f"'Female' {rate['Female']:.3f} vs 'Male' {rate['Male']:.3f}" in finding.message
    impact = IMPACT[("demographic_parity", "benefit")].format(worse_group="'Female'", positive=">50K")
    assert finding.message.endswith(impact)
    assert finding.message.startswith(WHAT["demographic_parity"].format(positive=">50K") + " differs across 'sex'")


def test_adult_intersections_and_age_bands(adult_model, adult_test):
    data = auditkit.AuditData(adult_test, "income", sensitive=["sex", "race", "age"])
    result = run(adult_model, data, discover=False, intersections=True, n_bootstrap=200)
    groups = result.metrics["groups"]
    crossed = {tuple(g["group"]): g["count"] for g in groups if g["feature"] == "sex & race"}
    assert crossed == adult_test.groupby(["sex", "race"]).size().to_dict()
    bands = {g["group"]: g["count"] for g in groups if g["feature"] == "age"}
    assert list(bands) == ["<25", "[25, 35)", "[35, 45)", "[45, 55)", "[55, 65)", ">=65"]
    by_hand = pd.cut(adult_test["age"], [-np.inf, 25, 35, 45, 55, 65, np.inf], right=False).value_counts(sort=False)
    assert list(bands.values()) == by_hand.tolist()
    # a band as a slice reads as conditions on the column itself
    for f in result.findings:
        if f.features == ("age",):
            assert f.slice[0].op in ("<", "between", ">=")
    crossed_findings = [f for f in result.findings if f.features == ("sex", "race")]
    for f in crossed_findings:
        assert [c.feature for c in f.slice] == ["sex", "race"]


# -- declared groups on synthetic data -------------------------------------------------


def planted_error_gap(n: int, seed: int, *, fpr=(0.05, 0.30), fnr=(0.2, 0.2), tiny: int = 0) -> pd.DataFrame:
    """Stored predictions whose false positive (or negative) rate depends on the group."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n)
    if tiny:
        group[:tiny] = "c"
    y = rng.random(n) < 0.4
    b = group == "b"
    flip = np.where(y, rng.random(n) < np.where(b, fnr[1], fnr[0]), rng.random(n) < np.where(b, fpr[1], fpr[0]))
    return pd.DataFrame({"group": group, "x": rng.normal(size=n), "y": y.astype(int), "pred": (y ^ flip).astype(int)})


def test_a_false_positive_gap_is_punitive_for_a_risk_flag_and_favourable_for_a_benefit():
    frame = planted_error_gap(4000, 1)
    data = auditkit.AuditData(frame, "y", prediction="pred", sensitive=["group"])
    risk = run(None, data, positive_outcome="risk", discover=False)
    (f,) = findings(risk, "false_positive_rate_disparity")
    assert f.slice == (Condition("group", "==", "b"),) and f.features == ("group",)
    assert f.metrics["error_kind"] == "punitive" and f.severity is Severity.HIGH
    assert "punitive" in f.message
    # b is also selected more often: the worse-off end of a risk flag's selection rate
    (dp,) = findings(risk, "selection_rate_disparity")
    assert dp.slice == (Condition("group", "==", "b"),) and "flagged 1 more often" in dp.message
    benefit = run(None, data, positive_outcome="benefit", discover=False)
    (g,) = findings(benefit, "false_positive_rate_disparity")
    assert g.metrics["error_kind"] == "favourable" and g.severity is Severity.MEDIUM
    assert not findings(benefit, "false_negative_rate_disparity")
    (dp,) = findings(benefit, "selection_rate_disparity")
    assert dp.slice == (Condition("group", "==", "a"),) and "less often" in dp.message
    # the exact FPR of each group, by hand
    neg = frame[frame["y"] == 0]
    fpr = neg.groupby("group")["pred"].mean()
    assert (g.metrics["worse_value"], g.metrics["better_value"]) == (fpr["b"], fpr["a"])


def test_a_false_negative_gap_denies_an_assistive_outcome():
    frame = planted_error_gap(4000, 2, fpr=(0.1, 0.1), fnr=(0.1, 0.4))
    data = auditkit.AuditData(frame, "y", prediction="pred", sensitive=["group"])
    result = run(None, data, discover=False)
    (f,) = findings(result, "false_negative_rate_disparity")
    assert f.metrics["error_kind"] == "assistive" and "assistive" in f.message
    assert f.slice == (Condition("group", "==", "b"),)
    assert f.message == DISPARITY_MESSAGE.format(
        what=WHAT["false_negative_rate"].format(positive=1),
        feature="group",
        worse_group="'b'",
        better_group="'a'",
        worse_value=f.metrics["worse_value"],
        better_value=f.metrics["better_value"],
        ratio=f.metrics["ratio"],
        ratio_lo=f.metrics["ratio_ci"][0],
        ratio_hi=f.metrics["ratio_ci"][1],
        ratio_threshold=0.8,
        difference=f.metrics["difference"],
        difference_lo=f.metrics["difference_ci"][0],
        difference_hi=f.metrics["difference_ci"][1],
        difference_threshold=0.05,
        level=0.95,
        p_adjusted=f.metrics["p_adjusted"],
        tests=3,
        impact=IMPACT[("false_negative_rate", "benefit")].format(worse_group="'b'", positive=1),
    )


def test_the_bootstrap_interval_matches_a_row_by_row_bootstrap():
    frame = planted_error_gap(1500, 3)
    data = auditkit.AuditData(frame, "y", prediction="pred", sensitive=["group"])
    result = run(None, data, discover=False, n_bootstrap=2000)
    (dp,) = [d for d in result.metrics["disparities"] if d["disparity"] == "false_positive_rate"]
    rng = np.random.default_rng(7)
    diffs = []
    neg = (frame["y"] == 0).to_numpy()
    for _ in range(600):
        rows = rng.integers(0, len(frame), len(frame))
        sample = frame.iloc[rows]
        rate = sample[neg[rows]].groupby("group")["pred"].mean()
        diffs.append(rate.max() - rate.min())
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    assert dp["difference_ci"][0] == pytest.approx(lo, abs=0.015)
    assert dp["difference_ci"][1] == pytest.approx(hi, abs=0.015)


def test_the_regression_bootstrap_interval_matches_a_row_by_row_bootstrap():
    rng = np.random.default_rng(11)
    n = 1500
    frame = pd.DataFrame({"group": rng.choice(["a", "b", "c"], n), "x": rng.normal(size=n)})
    frame["y"] = frame["x"] + rng.standard_t(3, n) * np.where(frame["group"] == "c", 1.6, 1.0)
    frame["pred"] = frame["x"]
    data = auditkit.AuditData(frame, "y", prediction="pred", sensitive=["group"])
    result = run(None, data, discover=False, n_bootstrap=2000)
    (d,) = result.metrics["disparities"]
    assert d["disparity"] == "mae" and d["worse_group"] == "c"
    err = (frame["y"] - frame["pred"]).abs().to_numpy()
    group = frame["group"].to_numpy()
    ratios, diffs = [], []
    for _ in range(600):
        rows = rng.integers(0, n, n)
        mae = pd.Series(err[rows]).groupby(group[rows]).mean()
        ratios.append(mae.min() / mae.max())
        diffs.append(mae.max() - mae.min())
    for ours, theirs in ((d["ratio_ci"], ratios), (d["difference_ci"], diffs)):
        lo, hi = np.quantile(theirs, [0.025, 0.975])
        assert ours[0] == pytest.approx(lo, abs=0.02) and ours[1] == pytest.approx(hi, abs=0.02)


def test_a_group_below_minimum_support_is_insufficient_evidence_never_a_finding():
    frame = planted_error_gap(3000, 4, fpr=(0.05, 0.05), tiny=12)
    frame.loc[frame["group"] == "c", "pred"] = 1 - frame.loc[frame["group"] == "c", "y"]  # all wrong
    data = auditkit.AuditData(frame, "y", prediction="pred", sensitive=["group"])
    result = run(None, data, discover=False)
    (info,) = findings(result, "insufficient_evidence")
    assert info.severity is Severity.INFO and info.slice == (Condition("group", "==", "c"),)
    assert info.message == INSUFFICIENT_MESSAGE.format(group="'c'", feature="group", count=12, min_group_size=30)
    assert [f for f in result.findings if f.code != "insufficient_evidence"] == []
    assert {"feature": "group", "group": "c", "count": 12} in result.metrics["insufficient"]
    assert any(g["group"] == "c" and g["accuracy"] == 0.0 for g in result.metrics["groups"])


@pytest.mark.parametrize("seed", range(8))
def test_a_clean_model_is_quiet(seed):
    # Blind to the group column: a model that reads it learns a small group effect from noise,
    # which is a real (if slight) disparity, not a clean model.
    train, test = make_clean_binary(2000, seed), make_clean_binary(2000, seed + 100)
    pre = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["color"]), ("drop", ["group"]), remainder="passthrough"
    )
    model = make_pipeline(pre, LogisticRegression()).fit(train.drop(columns="y"), train["y"])
    result = run(model, auditkit.AuditData(test, "y", sensitive=["group"]))
    assert [f.message for f in result.findings if f.severity > Severity.INFO] == []
    assert result.metrics["slices"], "the search still reports what it looked at"


def test_regression_groups_and_a_planted_slice():
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame(
        {"sex": rng.choice(["F", "M"], n), "x": rng.normal(size=n), "zone": rng.choice(list("pqrs"), n)}
    )
    frame["y"] = 2 * frame["x"] + rng.normal(size=n)
    off = (frame["zone"] == "q") & (frame["x"] > 0.5)
    frame["pred"] = 2 * frame["x"] + np.where(off, 4.0, 0.0)
    result = run(None, auditkit.AuditData(frame, "y", prediction="pred", sensitive=["sex"]))
    err = (frame["y"] - frame["pred"]).abs()
    for g in result.metrics["groups"]:
        assert set(g) == {"feature", "group", "count", "mae", "rmse"}
        rows = frame["sex"] == g["group"]
        assert g["count"] == rows.sum()
        assert g["mae"] == pytest.approx(err[rows].mean(), rel=1e-12)
        assert g["rmse"] == pytest.approx(np.sqrt((err[rows] ** 2).mean()), rel=1e-12)
    top = findings(result, "underperforming_slice")[0]
    assert {c.feature for c in top.slice} == {"zone", "x"}
    assert Condition("zone", "==", "q") in top.slice
    assert not findings(result, "mae_disparity")


def test_multiclass_compares_error_rates():
    rng = np.random.default_rng(6)
    n = 3000
    y = rng.choice(["cat", "dog", "eel"], n)
    group = rng.choice(["u", "v"], n)
    wrong = rng.random(n) < np.where(group == "v", 0.35, 0.1)
    pred = np.where(wrong, np.roll(y, 1), y)
    pred = np.where(wrong & (pred == y), "eel", pred)
    frame = pd.DataFrame({"group": group, "y": y, "pred": pred})
    result = run(None, auditkit.AuditData(frame, "y", prediction="pred", sensitive=["group"]), discover=False)
    for g in result.metrics["groups"]:
        assert set(g) == CLASSIFICATION_KEYS and g["selection_rate"] is None
        rows = frame["group"] == g["group"]
        assert g["accuracy"] == (frame.loc[rows, "y"] == frame.loc[rows, "pred"]).mean()
    (f,) = findings(result, "error_rate_disparity")
    assert f.slice == (Condition("group", "==", "v"),)


# -- discovered slices -----------------------------------------------------------------------


def hidden_slice_frame(n: int, seed: int, flip: float | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """People with an honest signal; the frame and the true probabilities.

    The outcome follows a logistic of age, income and device; with ``flip`` it is
    instead the sign of that logit with a fraction ``flip`` of labels flipped at
    random, so errors are equally likely everywhere (no decision-boundary region).
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 81, n),
            "region": rng.choice(["north", "south", "east", "west", "centre"], n),
            "device": rng.choice(["phone", "desktop", "tablet"], n, p=[0.5, 0.4, 0.1]),
            "income": rng.lognormal(10, 0.5, n),
            "tenure": rng.exponential(3, n),
            "noise": rng.normal(size=n),
        }
    )
    device = np.where(frame["device"] == "desktop", 0.5, -0.3)
    logit = 0.04 * (frame["age"] - 45) + 1.6 * (np.log(frame["income"]) - 10) + device
    if flip is None:
        p = 1 / (1 + np.exp(-3 * logit.to_numpy()))
    else:
        p = np.where(logit.to_numpy() > 0, 1 - flip, flip)
    frame["y"] = (rng.random(n) < p).astype(int)
    return frame, p


def hidden(frame: pd.DataFrame) -> np.ndarray:
    return ((frame["age"] >= 60) & (frame["region"] == "north")).to_numpy()


@pytest.mark.parametrize("seed", range(3))
def test_a_model_sabotaged_on_a_hidden_slice_has_it_found_first(seed):
    frame, p = hidden_slice_frame(3000, seed, flip=0.08)
    honest = (p >= 0.5).astype(int)
    frame["pred"] = np.where(hidden(frame), 1 - honest, honest)
    result = run(None, auditkit.AuditData(frame, "y", prediction="pred"))
    first = result.findings[0]
    assert first.code == "underperforming_slice" and first.severity is Severity.HIGH
    assert first.features in (("age", "region"), ("region", "age"))
    by_feature = {c.feature: c for c in first.slice}
    assert by_feature["region"] == Condition("region", "==", "north")
    assert by_feature["age"].op == ">=" and 57 <= by_feature["age"].value <= 63
    assert result.metrics["slices"][0]["slice"] == [c.to_dict() for c in first.slice]

    # the reported numbers, another way: pandas on the conditions, scipy's binomial test
    rows = frame.query(" and ".join(f"`{c.feature}` {c.op} {c.value!r}" for c in first.slice))
    wrong = rows["y"] != rows["pred"]
    overall = (frame["y"] != frame["pred"]).mean()
    reported = result.metrics["slices"][0]
    assert reported["support"] == len(rows) and reported["error"] == wrong.mean()
    assert reported["overall_error"] == overall
    expected_p = stats.binomtest(int(wrong.sum()), len(rows), overall, alternative="greater").pvalue
    assert reported["p_value"] == pytest.approx(expected_p, rel=1e-6)
    assert first.message == SLICE_MESSAGE.format(
        error=wrong.mean(),
        support=len(rows),
        where=" and ".join(c.describe() for c in first.slice),
        share=len(rows) / len(frame),
        overall=overall,
        error_ratio=wrong.mean() / overall,
        min_error_ratio=1.5,
        q_value=reported["q_value"],
        tested=result.metrics["slice_search"]["slices_tested"],
    )


@pytest.mark.parametrize("seed", range(3))
def test_a_hard_region_the_model_knows_is_hard_is_not_a_weakness(seed):
    # The true probabilities themselves: errors pile up near the decision boundary,
    # but the model says so. Sabotaged, it gives random scores on the hidden slice:
    # it knows nothing there yet claims to, so it is confidently wrong.
    frame, p = hidden_slice_frame(3000, seed)
    guess = np.random.default_rng(seed).random(len(frame))
    frame = frame.assign(p=p, sabotaged=np.where(hidden(frame), guess, p))
    data = auditkit.AuditData(frame, "y", ignore=["p", "sabotaged"])
    oracle = auditkit.wrap(lambda X: frame.loc[X.index, "p"].to_numpy(), output="scores")
    quiet = run(oracle, data)
    assert [f.message for f in quiet.findings] == []
    assert any(s["error_ratio"] >= 1.5 for s in quiet.metrics["slices"]), "hard regions exist, and are reported"
    sabotaged = auditkit.wrap(lambda X: frame.loc[X.index, "sabotaged"].to_numpy(), output="scores")
    loud = run(sabotaged, data)
    first = loud.findings[0]
    assert {c.feature for c in first.slice} == {"age", "region"}
    assert first.metrics["confidence_ratio"] > 1.5


def test_a_search_cut_short_by_its_budget_says_so():
    frame, p = hidden_slice_frame(2000, 0, flip=0.08)
    frame["pred"] = np.where(hidden(frame), p < 0.5, p >= 0.5).astype(int)
    result = run(None, auditkit.AuditData(frame, "y", prediction="pred"), search_budget_s=1e-9)
    (info,) = findings(result, "slice_search_incomplete")
    search = result.metrics["slice_search"]
    assert info.severity is Severity.INFO and not search["complete"]
    tables, tested = search["tables_counted"], search["slices_tested"]
    assert info.message == INCOMPLETE_MESSAGE.format(budget=1e-9, tables=tables, tested=tested)


def test_the_search_returns_the_exact_top_k_of_brute_force_enumeration():
    rng = np.random.default_rng(8)
    n = 700
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.integers(0, 6, n),
            "c": rng.choice(["x", "y", "z", "w"], n),
            "d": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "e": rng.choice(["p", "q"], n),
        }
    )
    weak = (frame["a"] > 0.3) & (frame["c"] == "y")
    error = (rng.random(n) < np.where(weak, 0.5, 0.15)).astype(float)
    kinds = {"a": "numeric", "b": "numeric", "c": "categorical", "d": "numeric", "e": "categorical"}
    columns = _sliceline.encode(frame, kinds, bins=5, max_levels=10, min_rows=20)
    k = 25
    found = _sliceline.search(
        columns, error, zero_one=True, max_conditions=3, min_rows=20, error_weight=0.95, k=k, deadline_s=60
    )
    # brute force: every conjunction of conditions on up to three distinct columns, row by row
    masks = [[col.rows(j) for j in range(len(col.conditions))] for col in columns]
    scores = []
    for r in (1, 2, 3):
        for cols in combinations(range(len(columns)), r):
            for pick in product(*(range(len(masks[c])) for c in cols)):
                rows = np.logical_and.reduce([masks[c][j] for c, j in zip(cols, pick)])
                size = rows.sum()
                if 20 <= size < n:
                    scores.append(_sliceline.score(size, error[rows].sum(), n=n, mean=error.mean(), error_weight=0.95))
    best = np.sort([s for s in scores if s > 0])[::-1][:k]
    assert np.allclose([f.score for f in found.top], best)
    assert found.tested <= len(scores)


def test_benjamini_hochberg_over_the_kept_p_values_matches_scipy_and_stays_conservative():
    rng = np.random.default_rng(9)
    p = np.concatenate([rng.uniform(size=900), rng.uniform(0, 1e-4, size=100)])
    common = dict(top=(), most_significant=(), tested=len(p), tables=0, complete=True, mean_error=0.1, min_rows=30)
    everything = _sliceline.Search(**common, smallest_p=np.sort(p))
    exact = stats.false_discovery_control(p)
    assert np.allclose([everything.adjust(x) for x in p], exact)
    kept = _sliceline.Search(**common, smallest_p=np.sort(p)[:150])
    bounded = np.array([kept.adjust(x) for x in p])
    assert np.all(bounded >= exact - 1e-12)
    small = np.argsort(p)[:140]
    assert np.allclose(bounded[small], exact[small])


def test_the_scorecard_is_json_ready(adult_model, adult_test):
    data = auditkit.AuditData(adult_test.sample(4000, random_state=0), "income", sensitive=["sex"])
    card = auditkit.audit(adult_model, data, probes=[SliceBias(n_bootstrap=200)])
    text = json.dumps(card.to_dict(), allow_nan=False)
    auditkit.validate_scorecard(json.loads(text))
    result = card["slice_bias"]
    search = result.metrics["slice_search"]
    assert search["complete"] and search["slices_tested"] > 0
    for entry in result.metrics["slices"]:
        for cond in entry["slice"]:
            assert cond["op"] in ("==", "<", ">=", "between", "is_null")


def test_the_exact_tail_of_a_sum_of_unequal_bernoullis_matches_dynamic_programming():
    rng = np.random.default_rng(12)
    p = rng.uniform(0, 0.6, 300)
    pmf = np.zeros(len(p) + 1)
    pmf[0] = 1.0
    for q in p:  # the distribution of the count, one row at a time
        pmf[1:] = pmf[1:] * (1 - q) + pmf[:-1] * q
        pmf[0] *= 1 - q
    for k in (60, 90, 120, 140):
        assert _sliceline.poisson_binomial_sf(k, p) == pytest.approx(pmf[k:].sum(), rel=1e-9)
    # equal probabilities: the binomial
    assert _sliceline.poisson_binomial_sf(4, np.full(40, 0.05)) == pytest.approx(stats.binom.sf(3, 40, 0.05), rel=1e-12)
    # the binomial at the mean rate is never below it: the search's bound is conservative
    for k in (100, 120, 140):
        bound = _sliceline.confidence_p_values(np.array([300]), np.array([k]), np.array([p.sum()]))[0]
        assert bound >= pmf[k:].sum()
