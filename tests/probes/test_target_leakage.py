"""The target_leakage probe: real leaks found on real data, planted leaks found at
stated strengths, clean data left quiet, bad input reported, never a crash."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

import auditkit
from auditkit import AuditData, ProbeConfigError, Severity
from probes.target_leakage import (
    DUPLICATE_ROWS,
    MODEL_NOT_SCORED,
    NOT_SCORED,
    TOO_FEW_ROWS,
    TargetLeakage,
)

# -- helpers ------------------------------------------------------------------


def _encoder():
    return make_column_transformer(
        (
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1),
            make_column_selector(dtype_exclude="number"),
        ),
        remainder="passthrough",
    )


def hgb(X: pd.DataFrame, y: pd.Series, regression: bool = False):
    est = HistGradientBoostingRegressor(max_iter=40) if regression else HistGradientBoostingClassifier(max_iter=40)
    return make_pipeline(_encoder(), est).fit(X, y)


def probe_result(model, data: AuditData, seed: int = 0, **settings):
    card = auditkit.audit(model, data, probes=[TargetLeakage(**settings)], seed=seed)
    result = card.probes[0]
    assert result.status in ("passed", "failed"), result.reason
    return result


def above(result, severity: str = "low"):
    return [f for f in result.findings if f.severity > Severity.parse(severity)]


def codes(result) -> set[str]:
    return {f.code for f in result.findings}


def finding(result, code: str, feature: str | None = None):
    found = [f for f in result.findings if f.code == code and (feature is None or feature in f.features)]
    assert found, f"no {code} finding for {feature}; got {[(f.code, f.features) for f in result.findings]}"
    return found[0]


def ranking(result) -> list[str]:
    return [r["feature"] for r in result.metrics["ranking"]]


def score_of(result, feature: str) -> float:
    return next(r["score"] for r in result.metrics["ranking"] if r["feature"] == feature)


def clean_frame(n: int, seed: int) -> pd.DataFrame:
    """Honest signal of several strengths, mixed kinds, a column with random gaps."""
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=(3, n))
    color = rng.choice(["red", "green", "blue"], size=n)
    gappy = np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n))
    logit = 0.9 * x1 - 0.6 * x2 + 0.3 * x3 + np.where(color == "red", 0.5, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "color": color, "gappy": gappy, "y": y})


# -- settings -----------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {"auc_thresholds": (0.9, 0.8, 0.97)},
        {"auc_thresholds": (0.4, 0.9, 0.97)},
        {"r2_thresholds": (0.5, 0.9)},
        {"alpha": 0.7},
        {"folds": 1},
        {"max_rows": 10},
        {"duplicate_share": 0},
        {"too_good": "high"},
    ],
)
def test_invalid_settings_are_refused_with_the_setting_named(settings):
    with pytest.raises(ProbeConfigError, match=next(iter(settings))):
        TargetLeakage(**settings)


def test_threshold_lists_from_a_config_file_become_tuples():
    probe = TargetLeakage(auc_thresholds=[0.8, 0.85, 0.95])
    assert probe.auc_thresholds == (0.8, 0.85, 0.95)


def test_found_through_its_entry_point():
    assert type(auditkit.load_probe("target_leakage")) is TargetLeakage


# -- real data ----------------------------------------------------------------


@pytest.fixture(scope="module")
def titanic_result(titanic_frame):
    # A vendor's scores, cross-validated so the model is not judged on rows it saw.
    X, y = titanic_frame.drop(columns="survived"), titanic_frame["survived"]
    model = make_pipeline(_encoder(), HistGradientBoostingClassifier(max_iter=40))
    scores = cross_val_predict(model, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
    frame = titanic_frame.assign(score=scores[:, 1])
    return probe_result(None, AuditData(frame, "survived", score="score"))


@pytest.mark.slow
def test_titanic_boat_and_body_lead_and_nothing_else_is_above_low(titanic_result, titanic_frame):
    r = titanic_result
    assert finding(r, "single_feature_leak", "boat").severity >= Severity.HIGH
    assert finding(r, "missingness_leak", "body").severity >= Severity.HIGH
    assert set(ranking(r)[:2]) == {"boat", "body"}
    for f in above(r):
        assert set(f.features) <= {"boat", "body"}, f.message
    # name, ticket, cabin and home.dest are high-cardinality text: scored, and quiet
    quiet = {"name", "ticket", "cabin", "home.dest"}
    assert quiet <= set(ranking(r)) and not any(set(f.features) & quiet for f in r.findings)


@pytest.mark.slow
def test_titanic_boat_message_carries_counts_pandas_agrees_with(titanic_result, titanic_frame):
    boat = finding(titanic_result, "single_feature_leak", "boat")
    present = titanic_frame["boat"].notna()
    survived = int(titanic_frame.loc[present, "survived"].sum())
    assert f"non-null for {int(present.sum())} rows, {survived} of which survived" in boat.message
    assert (int(present.sum()), survived) == (486, 477)
    body = finding(titanic_result, "missingness_leak", "body")
    n_body = int(titanic_frame["body"].notna().sum())
    assert f"non-null for {n_body} rows, 0 of which survived" in body.message
    assert body.metrics["rows"] == n_body and body.metrics["exceptions"] == 0


@pytest.mark.slow
def test_titanic_boat_power_matches_gradient_boosting_on_the_column_alone(titanic_result, titanic_frame):
    # The same quantity measured another way: scikit-learn's boosting on 'boat' alone.
    X = titanic_frame[["boat"]]
    model = make_pipeline(_encoder(), HistGradientBoostingClassifier(max_iter=50))
    p = cross_val_predict(model, X, titanic_frame["survived"], cv=StratifiedKFold(5, shuffle=True, random_state=1),
                          method="predict_proba")[:, 1]
    assert score_of(titanic_result, "boat") == pytest.approx(roc_auc_score(titanic_frame["survived"], p), abs=0.02)


@pytest.mark.slow
def test_titanic_split_counts_the_reference_rows_too(titanic_frame):
    # On a 30% audit split body is non-null for about 40 rows only; the reference
    # rows hold the same leak, and pooled with them the evidence is conclusive.
    from sklearn.model_selection import train_test_split

    train, audit = train_test_split(titanic_frame, test_size=0.3, stratify=titanic_frame["survived"], random_state=0)
    model = hgb(train.drop(columns="survived"), train["survived"])
    r = probe_result(model, AuditData(audit, "survived", reference=train))
    assert r.metrics["scored_on"] == "audit and reference rows" and r.metrics["rows"] == len(titanic_frame)
    body = finding(r, "missingness_leak", "body")
    assert "non-null for 121 rows of the audit and reference data, 0 of which survived" in body.message
    assert finding(r, "single_feature_leak", "boat").severity >= Severity.HIGH
    assert set(ranking(r)[:2]) == {"boat", "body"}


@pytest.mark.slow
def test_student_g2_then_g1_are_near_leaks_of_g3(student_frame):
    X, y = student_frame.drop(columns="G3"), student_frame["G3"]
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude="number")),
                                remainder="passthrough"),
        Ridge(),
    ).fit(X, y)
    r = probe_result(model, AuditData(student_frame, "G3"))
    assert ranking(r)[:2] == ["G2", "G1"]
    g2, g1 = finding(r, "single_feature_near_leak", "G2"), finding(r, "single_feature_near_leak", "G1")
    assert g2.severity >= g1.severity >= Severity.LOW
    assert not [f for f in above(r) if not set(f.features) <= {"G1", "G2"}]
    # R² of G2 alone, measured another way
    p = cross_val_predict(HistGradientBoostingRegressor(max_iter=50), student_frame[["G2"]], y,
                          cv=KFold(5, shuffle=True, random_state=1))
    assert score_of(r, "G2") == pytest.approx(r2_score(y, p), abs=0.05)


@pytest.mark.slow
def test_adult_has_no_leakage_finding_above_low(adult_train, adult_test):
    X = adult_train.drop(columns="income")
    model = hgb(X, adult_train["income"])
    r = probe_result(model, AuditData(adult_test, "income", reference=adult_train))
    assert above(r) == [], [f.message for f in above(r)]
    assert r.metrics["contamination"]["duplicate_rows"]["count"] >= 0
    # the model's own score, measured another way
    proba = model.predict_proba(adult_test.drop(columns="income"))[:, 1]
    expected = roc_auc_score(adult_test["income"] == ">50K", proba)
    assert r.metrics["model_score"]["value"] == pytest.approx(expected, abs=1e-9)


# -- clean data stays quiet -----------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_clean_binary_data_is_quiet(seed):
    train, df = clean_frame(2000, 100 + seed), clean_frame(2000, seed)
    model = hgb(train.drop(columns="y"), train["y"])
    r = probe_result(model, AuditData(df, "y", reference=train), seed=seed)
    assert above(r, "info") == [], [f.message for f in above(r, "info")]
    assert len(r.metrics["ranking"]) == 5


def _honest_values(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(6)])
    value = x @ np.array([1.0, 0.7, 0.4, 0.0, 0.0, 0.2]) + rng.normal(size=n)
    return frame.assign(y=value, grade=np.digitize(value + rng.normal(size=n), [-1.0, 0.0, 1.0]).astype(str))


@pytest.mark.parametrize("seed", range(3))
def test_clean_regression_and_multiclass_data_are_quiet(seed):
    train, audit = _honest_values(1500, 200 + seed), _honest_values(1500, seed)
    features = [f"x{i}" for i in range(6)]
    for target, regression in (("y", True), ("grade", False)):
        other = "grade" if target == "y" else "y"
        model = hgb(train[features], train[target], regression=regression)
        data = AuditData(audit.drop(columns=other), target, reference=train.drop(columns=other))
        r = probe_result(model, data, seed=seed)
        assert above(r, "info") == [], [f.message for f in above(r, "info")]


@pytest.mark.parametrize("seed", range(3))
def test_many_noise_features_on_few_rows_are_not_flagged(seed):
    # 60 features tried on 120 rows: the multiple-comparison correction must hold.
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(120, 60)), columns=[f"f{i}" for i in range(60)])
    frame["y"] = rng.integers(0, 2, size=120)
    scores = rng.random(120)
    r = probe_result(None, AuditData(frame.assign(s=scores), "y", score="s"), seed=seed)
    assert above(r, "info") == []


# -- planted leaks at stated strengths --------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_a_copy_of_the_label_with_5pct_flipped_is_a_high_single_feature_leak(seed):
    df = clean_frame(2000, 11 + seed)
    rng = np.random.default_rng(seed)
    flip = rng.random(len(df)) < 0.05
    df["status_code"] = np.where(flip, 1 - df["y"], df["y"]).astype(str)
    r = probe_result(hgb(df.drop(columns="y"), df["y"]), AuditData(df, "y"))
    f = finding(r, "single_feature_leak", "status_code")
    assert f.severity >= Severity.HIGH
    assert ranking(r)[0] == "status_code"
    # AUC of a binary predictor is the mean of its sensitivity and specificity
    pos = df["status_code"] == "1"
    expected = (pos[df.y == 1].mean() + (~pos)[df.y == 0].mean()) / 2
    assert f.metrics["score"] == pytest.approx(expected, abs=0.01)
    assert f.slice is not None and f.slice[0].feature == "status_code"


@pytest.mark.parametrize("seed", range(3))
def test_missingness_only_leak_is_found_with_its_counts(seed):
    df = clean_frame(1000, 12 + seed)
    rng = np.random.default_rng(seed)
    # refund_amount exists for a fifth of the positive rows only; its values are pure noise.
    has_refund = (df["y"] == 1) & (rng.random(len(df)) < 0.2)
    df["refund_amount"] = np.where(has_refund, rng.normal(50, 10, size=len(df)), np.nan)
    r = probe_result(None, AuditData(df.assign(s=rng.random(len(df))), "y", score="s"))
    f = finding(r, "missingness_leak", "refund_amount")
    assert f.severity >= Severity.HIGH
    n = int(has_refund.sum())
    assert f"non-null for {n} rows, {n} of which have y = 1" in f.message
    assert [x for x in above(r) if "refund_amount" not in x.features] == []


def test_pair_only_leak_is_a_golden_pair_while_each_alone_is_quiet():
    rng = np.random.default_rng(3)
    n = 3000
    # opened and closed spread over years; what leaks is how long the account lived.
    opened = rng.normal(0, 3, size=n)
    lifetime = rng.normal(size=n)
    df = pd.DataFrame({"opened": opened, "closed": opened + lifetime,
                       **{f"noise{i}": rng.normal(size=n) for i in range(4)}})
    df["churned"] = (lifetime + 0.05 * rng.normal(size=n) < 0).astype(int)
    r = probe_result(None, AuditData(df.assign(s=rng.random(n)), "churned", score="s"))
    f = finding(r, "golden_pair")
    assert set(f.features) == {"opened", "closed"} and f.severity >= Severity.HIGH
    assert f.metrics["via"] == "their difference"
    assert score_of(r, "opened") < 0.65 and score_of(r, "closed") < 0.65
    assert not [x for x in r.findings if x.code != "golden_pair" and x.severity > Severity.INFO]


@pytest.mark.parametrize("as_text", [False, True])
def test_identifier_sorted_by_label_is_flagged_and_a_shuffled_one_is_not(as_text):
    df = clean_frame(2000, 13).sort_values("y", kind="stable").reset_index(drop=True)
    ids = np.arange(100_000, 100_000 + len(df))
    df.insert(0, "customer_id", [f"C{i}" for i in ids] if as_text else ids)
    r = probe_result(None, AuditData(df.assign(s=np.random.default_rng(0).random(len(df))), "y", score="s"))
    f = finding(r, "identifier_leak", "customer_id")
    assert f.severity == Severity.CRITICAL and "row order alone reaches 1.00" in f.message
    shuffled = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
    shuffled["customer_id"] = df["customer_id"].to_numpy()  # ids in row order, rows shuffled
    r = probe_result(None, AuditData(shuffled.assign(s=np.random.default_rng(0).random(len(df))), "y", score="s"))
    assert above(r, "info") == [], [x.message for x in above(r, "info")]


def test_rows_sorted_by_label_without_an_identifier_are_noted():
    df = clean_frame(1500, 14).sort_values("y", kind="stable").reset_index(drop=True)
    r = probe_result(None, AuditData(df.assign(s=np.random.default_rng(0).random(len(df))), "y", score="s"))
    assert finding(r, "rows_sorted_by_target").severity == Severity.LOW


def test_train_test_duplicates_are_counted_exactly_and_near_exactly():
    ref = clean_frame(4000, 15)
    audit = clean_frame(1000, 16)
    copied = ref.sample(100, random_state=0)
    exact = pd.concat([audit.iloc[:900], copied]).reset_index(drop=True)
    model = hgb(ref.drop(columns="y"), ref["y"])
    r = probe_result(model, AuditData(exact, "y", reference=ref))
    f = finding(r, "duplicate_rows")
    assert f.severity == Severity.HIGH and f.metrics["count"] == 100
    # the count, computed another way: an inner merge on every feature
    feats = ["x1", "x2", "x3", "color", "gappy"]
    merged = exact[feats].reset_index().merge(ref[feats].drop_duplicates(), on=feats, how="inner")
    assert merged["index"].nunique() == 100
    assert f.message == DUPLICATE_ROWS.format(
        count=100, rows=1000, share=0.1, how="appear exactly", baseline=0.0, threshold=0.01,
        examples="900, 901, 902, 903, 904",
    )
    # copies with rounding noise in the sixth digit: near-exact duplicates
    noisy = copied.assign(x1=copied["x1"] * (1 + 1e-6), x2=copied["x2"].round(6))
    near = pd.concat([audit.iloc[:900], noisy]).reset_index(drop=True)
    r = probe_result(model, AuditData(near, "y", reference=ref))
    assert "duplicate_rows" not in codes(r)
    assert finding(r, "near_duplicate_rows").metrics["count"] >= 95


def test_the_same_customers_on_both_sides_of_the_split():
    ref = clean_frame(1000, 17).assign(customer=[f"K{i}" for i in range(1000)])
    audit = clean_frame(500, 18).assign(customer=[f"K{i}" for i in range(900, 1400)])
    feats = ["x1", "x2", "x3", "color", "gappy"]
    model = hgb(ref[feats], ref["y"])
    r = probe_result(model, AuditData(audit, "y", reference=ref, ids="customer"))
    f = finding(r, "entity_overlap")
    assert f.metrics["count"] == 100 and f.metrics["total"] == 500 and f.severity == Severity.HIGH
    assert "customer" not in ranking(r)  # ids are not model inputs


def test_conflicting_labels_on_identical_rows():
    df = clean_frame(1000, 19)
    twins = df.iloc[:60].assign(y=1 - df["y"].iloc[:60])
    frame = pd.concat([df, twins]).reset_index(drop=True)
    r = probe_result(None, AuditData(frame.assign(s=np.random.default_rng(0).random(len(frame))), "y", score="s"))
    f = finding(r, "conflicting_duplicates")
    assert f.metrics["rows"] == 120 and f.metrics["groups"] == 60 and f.severity == Severity.LOW
    # one coarse feature: every row has twins, and contradicting ones are only noted
    coarse = df[["color", "y"]].assign(s=0.5)
    r = probe_result(None, AuditData(coarse, "y", score="s"))
    assert finding(r, "conflicting_duplicates").severity == Severity.INFO


def test_dates_after_the_prediction_time_and_reference_from_the_future():
    rng = np.random.default_rng(20)
    n = 600
    df = clean_frame(n, 20)
    as_of = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, size=n), unit="D")
    df["as_of"] = as_of
    df["signup"] = as_of - pd.to_timedelta(rng.integers(1, 900, size=n), unit="D")
    closed = as_of + pd.to_timedelta(rng.integers(1, 60, size=n), unit="D")
    df["closed"] = pd.Series(closed).where(rng.random(n) < 0.2)  # 20% of rows hold a date from the future
    ref = clean_frame(n, 120).assign(as_of=df["as_of"] + pd.Timedelta(days=200), signup=df["signup"],
                                     closed=pd.NaT, s=0.5)
    r = probe_result(None, AuditData(df.assign(s=rng.random(n)), "y", score="s", time="as_of", reference=ref))
    f = finding(r, "future_values", "closed")
    assert f.severity == Severity.HIGH and f.metrics["count"] == int(df["closed"].notna().sum())
    assert not [x for x in r.findings if x.code == "future_values" and "signup" in x.features]
    later = int((ref["as_of"] > df["as_of"].min()).sum())
    assert finding(r, "reference_after_audit").metrics["count"] == later
    assert "duplicate_rows" not in codes(r)


def test_regression_leak_and_too_good_to_be_true_with_suspects():
    rng = np.random.default_rng(21)
    n = 2000
    x = rng.normal(size=(n, 4))
    y = x @ np.array([1.0, 0.5, 0.0, 0.2]) + rng.normal(size=n)
    df = pd.DataFrame(x, columns=list("abcd")).assign(y=y, settled=y + 0.05 * rng.normal(size=n))
    model = hgb(df.drop(columns="y"), df["y"], regression=True)
    r = probe_result(model, AuditData(df, "y"))
    assert finding(r, "single_feature_leak", "settled").severity == Severity.CRITICAL
    good = finding(r, "too_good_to_be_true")
    assert good.features[0] == "settled"
    assert r.metrics["model_score"]["value"] == pytest.approx(r2_score(y, model.predict(df.drop(columns="y"))))
    dom = finding(r, "dominant_feature", "settled")
    assert dom.severity == Severity.MEDIUM and dom.metrics["share"] > 0.9


def test_multiclass_leak_is_found():
    rng = np.random.default_rng(22)
    n = 1500
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    df["grade"] = rng.choice(["A", "B", "C", "D"], size=n)
    df["final_letter"] = df["grade"].where(rng.random(n) < 0.97, "A").str.lower()
    r = probe_result(None, AuditData(df.assign(p=df["grade"]), "grade", prediction="p"))
    assert finding(r, "single_feature_leak", "final_letter").severity >= Severity.HIGH


def test_sampling_states_its_size_and_still_finds_the_leak():
    df = clean_frame(3000, 23)
    df["leak"] = df["y"] + 0.01 * np.random.default_rng(0).normal(size=len(df))
    r = probe_result(None, AuditData(df.assign(s=0.5), "y", score="s"), max_rows=1000)
    assert r.metrics["sampled"] is True and r.metrics["rows_scored"] == 1000 and r.metrics["rows"] == 3000
    assert finding(r, "single_feature_leak", "leak").severity == Severity.CRITICAL


def test_the_stated_error_covers_the_spread_over_repeated_samples():
    # The same score measured another way: its spread over 80 fresh samples.
    from probes.target_leakage.power import Target, encode, power

    rng = np.random.default_rng(31)
    for shift in (0.0, 1.0):  # a useless feature, and one with ROC AUC about 0.76
        scores, errors = [], []
        for _ in range(80):
            y = rng.integers(0, 2, 500)
            x = pd.Series(rng.normal(size=500) + shift * y)
            p = power(encode(x, "numeric", 128), Target.build(pd.Series(y), "binary", np.array([0, 1]), 5, rng))
            scores.append(p.score)
            errors.append(p.se)
        assert np.std(scores) <= 1.1 * np.mean(errors)
        assert abs(np.mean(scores) - (0.5 if shift == 0 else 0.76)) < 0.02


# -- bad input ------------------------------------------------------------------


def test_bad_columns_are_reported_not_crashed_on():
    rng = np.random.default_rng(24)
    n = 400
    df = clean_frame(n, 24)
    df["constant"] = 7
    df["empty"] = np.nan
    df["comment"] = [" ".join(rng.choice(["good", "bad", "late", "paid", "call"], size=6)) + f" #{i}" for i in range(n)]
    df["seen"] = pd.Series(pd.date_range("2020-01-01", periods=n, freq="h")).sample(frac=1, random_state=0).to_numpy()
    df["seen_text"] = df["seen"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    df["mixed"] = pd.Series([1, "a", None, 2.5] * (n // 4), dtype=object)
    r = probe_result(None, AuditData(df.assign(s=rng.random(n)), "y", score="s"))
    f = finding(r, "features_not_scored")
    assert f.severity == Severity.INFO and set(f.features) == {"constant", "empty"}
    assert f.message == NOT_SCORED.format(count=2, total=11, reasons="'constant' is constant; 'empty' is missing in every row")
    assert {"comment", "seen", "seen_text", "mixed"} <= set(ranking(r))
    assert above(r, "info") == []


def test_rare_class_is_left_out_with_a_message():
    df = clean_frame(600, 25)
    df["y"] = np.where(df.index < 4, "rare", np.where(df["y"] == 1, "yes", "no"))
    r = probe_result(None, AuditData(df.assign(p=df["y"]), "y", prediction="p"))
    f = finding(r, "rare_class")
    assert "'rare' (4 rows)" in f.message and list(r.metrics["classes_not_scored"]) == ["rare"]


def test_binary_target_with_too_rare_a_class_still_runs_the_other_checks():
    df = clean_frame(300, 26)
    df["y"] = (df.index < 3).astype(int)
    r = probe_result(None, AuditData(df.assign(s=0.5), "y", score="s"))
    f = finding(r, "too_few_rows")
    assert "fewer than the 10 rows" in f.message and "ranking" in r.metrics


def test_tiny_dataset_gets_a_message():
    df = clean_frame(12, 27)
    df["y"] = [0, 1] * 6
    r = probe_result(None, AuditData(df.assign(s=0.5), "y", score="s"))
    f = finding(r, "too_few_rows")
    reason = "the audit data has 12 rows, fewer than the 30 that 5-fold cross-validation needs"
    assert f.message == TOO_FEW_ROWS.format(reason=reason)


def test_a_failing_model_leaves_the_data_audit_standing():
    df = clean_frame(500, 28)
    df["leak"] = df["y"].astype(float)

    def broken(X):
        raise ValueError("no")

    r = probe_result(auditkit.wrap(broken, task="binary", output="scores"), AuditData(df, "y"))
    assert "ValueError" in r.metrics["model_error"]
    assert finding(r, "single_feature_leak", "leak").severity == Severity.CRITICAL


def test_a_model_that_always_raises_fails_the_probe_instead_of_passing_it():
    # Issue #22: the model raised on every call and a leakage-only gate said PASSED 100/A.
    df = clean_frame(600, 32)
    calls = []

    def always_raises(X):
        calls.append(len(X))
        raise RuntimeError("feature 'x9' not found")

    card = auditkit.audit(auditkit.wrap(always_raises, task="binary", output="scores"), AuditData(df, "y"),
                          probes=[TargetLeakage()])
    r = card.probes[0]
    assert calls and r.status == "failed" and not card.passed and card.score < 100
    f = finding(r, "model_not_scored")
    error = "the model raised RuntimeError while predicting the audit data: feature 'x9' not found"
    assert f.severity == Severity.HIGH and f.message == MODEL_NOT_SCORED.format(error=error)
    # the data checks still ran, and found nothing in this clean data
    assert [x.code for x in above(r, "info")] == ["model_not_scored"] and len(r.metrics["ranking"]) == 5


def test_a_model_rejecting_shuffled_rows_says_dominance_was_not_measured():
    df = clean_frame(600, 33)
    model = hgb(df.drop(columns="y"), df["y"])
    first = df.drop(columns="y").iloc[:3]

    def picky(X):
        if len(X) > len(df):  # the stacked, shuffled copies
            raise ValueError("too many rows")
        return model.predict_proba(X)[:, 1]

    r = probe_result(auditkit.wrap(picky, task="binary", output="scores"), AuditData(df, "y"))
    assert len(picky(first)) == 3
    f = finding(r, "dominance_not_measured")
    assert f.severity == Severity.INFO and "ValueError: too many rows" in f.message
    assert r.metrics["dominance"] == {"error": "ValueError: too many rows"}


# -- one partition or several -----------------------------------------------------


def _everything_at_once(task: str) -> tuple[AuditData, object]:
    """Every check has something to count: shared ids, late dates, gaps that leak,
    rows copied from the reference, contradicting twins; sampled above max_rows."""
    rng = np.random.default_rng(40)
    n = 1500
    ref, audit = clean_frame(n, 41), clean_frame(n, 42)
    for frame, start in ((ref, 0), (audit, 1300)):
        frame["customer"] = [f"K{i}" for i in range(start, start + n)]
        frame["as_of"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, size=n), unit="D")
        frame["closed"] = (frame["as_of"] + pd.to_timedelta(rng.integers(-30, 30, size=n), unit="D")).where(
            rng.random(n) < 0.3)
        frame["refund"] = np.where((frame["y"] == 1) & (rng.random(n) < 0.3), rng.normal(50, 5, size=n), np.nan)
        frame["value"] = frame["x1"] * 2 + rng.normal(size=n) + np.where(frame["refund"].notna(), 0.0, 0.0)
        frame["grade"] = np.digitize(frame["value"], [-1.0, 0.0, 1.0]).astype(str)
    audit.iloc[:40, :] = ref.iloc[:40, :].to_numpy()  # copied across the split
    audit.loc[40:59, ["x1", "x2", "x3", "color", "gappy"]] = audit.loc[60:79, ["x1", "x2", "x3", "color", "gappy"]].to_numpy()
    target = {"binary": "y", "multiclass": "grade", "regression": "value"}[task]
    drop = [c for c in ("y", "grade", "value") if c != target]
    ref, audit = ref.drop(columns=drop), audit.drop(columns=drop)
    features = [c for c in audit.columns if c not in (target, "customer", "as_of")]
    model = hgb(ref[features].assign(closed=ref["closed"].astype("int64")), ref[target], regression=task == "regression")

    def predict(X):
        X = X.assign(closed=pd.to_datetime(X["closed"]).astype("int64"))
        return model.predict(X) if task == "regression" else model.predict_proba(X)

    output = "values" if task == "regression" else "probabilities"
    wrapped = auditkit.wrap(predict, task=task, output=output, classes=None if task == "regression" else model.classes_)
    return AuditData(audit, target, reference=ref, ids="customer", time="as_of"), wrapped


def _comparable(card: auditkit.Scorecard) -> dict:
    out = card.to_dict()
    out.pop("created_at")
    for probe in out["probes"]:
        probe.pop("duration_s")
    return out


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_one_partition_or_seven_give_the_same_result_on_every_check(task):
    data, model = _everything_at_once(task)
    probe = TargetLeakage(max_rows=2000, dominance_rows=400)
    one = auditkit.audit(model, data, probes=[probe], seed=4, partitions=1)
    seven = auditkit.audit(model, data, probes=[probe], seed=4, partitions=7)
    assert one.probes[0].status == "failed", one.probes[0].reason
    assert _comparable(one) == _comparable(seven)
    r = one.probes[0]
    found = codes(r)
    assert {"duplicate_rows", "entity_overlap", "future_values"} <= found, found
    assert r.metrics["sampled"] and r.metrics["samples"]["dominance"]["rows"] in range(398, 403)
    assert ("conflicting_duplicates" in found) == (task != "regression")  # labels compared for classes only
    assert ("missingness_leak" in found) == (task == "binary")  # 'refund' exists for some y = 1 rows only


def test_more_partitions_than_rows_changes_nothing():
    # Empty partitions hold no rows, no hashes, no ids: merging them must be a no-op.
    df = clean_frame(6, 43).assign(customer=[f"K{i}" for i in range(6)], s=0.5)
    data = AuditData(df, "y", score="s", reference=df.drop(columns="s"), ids="customer")
    one = auditkit.audit(None, data, probes=[TargetLeakage()], seed=2, partitions=1)
    ten = auditkit.audit(None, data, probes=[TargetLeakage()], seed=2, partitions=10)
    assert ten.probes[0].status == "failed", ten.probes[0].reason
    assert _comparable(one) == _comparable(ten)
    assert {"duplicate_rows", "entity_overlap", "too_few_rows"} <= codes(ten.probes[0])


# -- the figure -------------------------------------------------------------------


def test_the_ranking_figure_shows_each_feature_alone_against_the_thresholds():
    rng = np.random.default_rng(34)
    df = clean_frame(1500, 34)
    for i in range(25):
        df[f"noise{i}"] = rng.normal(size=len(df))
    df["status_code"] = df["y"].astype(str)
    df["constant"] = 1
    model = hgb(df.drop(columns="y"), df["y"])
    r = probe_result(model, AuditData(df, "y"))
    (figure,) = r.figures
    assert isinstance(figure, auditkit.Ranking) and figure.metric == "ROC AUC"
    assert len(figure.bars) == 20 and figure.total == 31  # 32 features, 'constant' not scored
    top = figure.bars[0]
    assert top.label == "status_code" and top.severity == Severity.CRITICAL
    assert top.low <= top.value <= top.high == 1.0
    scored = [(x["feature"], x["score"]) for x in r.metrics["ranking"] if x["score"] is not None]
    assert [(b.label, b.value) for b in figure.bars] == scored[:20]
    assert all(b.severity is None for b in figure.bars if b.label.startswith("noise"))
    refs = {ref.role: ref.value for ref in figure.references}
    assert refs == {"threshold": 0.80, "model": r.metrics["model_score"]["value"], "chance": 0.5}
    assert auditkit.figure_from_dict(json.loads(json.dumps(figure.to_dict()))) == figure


# -- properties of the result ---------------------------------------------------


def test_an_index_of_repeated_text_labels_is_no_obstacle():
    df = clean_frame(600, 30)
    df["leak"] = np.where(df["y"] == 1, "closed", None)
    df.index = pd.Index(["row"] * 300 + ["other"] * 300)
    with pytest.warns(UserWarning, match="repeated index label"):
        data = AuditData(df.assign(s=0.5), "y", score="s")
    r = probe_result(None, data)
    leak = finding(r, "single_feature_leak", "leak")
    assert leak.severity == Severity.CRITICAL
    assert all(isinstance(e, int) for e in leak.examples)  # row positions, each naming one row


def test_results_are_json_ready_reproducible_and_leave_the_data_alone():
    df = clean_frame(800, 29)
    df["leak"] = np.where(df["y"] == 1, df["x1"].abs() + 3, np.nan)
    before = df.copy()
    model = hgb(df.drop(columns="y"), df["y"])
    first = probe_result(model, AuditData(df, "y"), seed=5)
    second = probe_result(model, AuditData(df, "y"), seed=5)
    pd.testing.assert_frame_equal(df, before)
    assert json.loads(json.dumps(first.to_dict())) == json.loads(json.dumps(second.to_dict())) | {
        "duration_s": first.to_dict()["duration_s"]
    }
    assert [r["rank"] for r in first.metrics["ranking"]] == list(range(1, 7))
    for row in first.metrics["ranking"]:
        assert row["score"] is None or row["ci_low"] <= row["score"] <= row["ci_high"]


def test_a_score_interval_never_reaches_past_a_perfect_score() -> None:
    from probes.target_leakage.power import Power

    near_perfect = Power(score=0.98, se=0.02, rows=100)
    assert near_perfect.high(1.96) == 1.0 and near_perfect.low(1.96) == pytest.approx(0.98 - 1.96 * 0.02)
    assert Power(score=0.7, se=0.02, rows=100).high(1.96) == pytest.approx(0.7 + 1.96 * 0.02)


def test_outcome_counts_read_right_whatever_the_target_is_called():
    from probes.target_leakage.evidence import outcome_phrase

    flag = np.array([0, 1])
    assert outcome_phrase(477, "survived", 1, flag) == "477 of which survived"
    assert outcome_phrase(329, "target", 1, flag) == "329 of which have target = 1"
    assert outcome_phrase(12, "y", 1, flag) == "12 of which have y = 1"
    assert outcome_phrase(3, "survived", 0, flag) == "3 of which have survived = 0"
    assert outcome_phrase(40, "income", ">50K", np.array(["<=50K", ">50K"])) == "40 of which have income = '>50K'"
