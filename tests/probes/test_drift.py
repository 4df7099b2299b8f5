"""Probe ``drift``: every number it measures against a second computation (scipy, numpy),
the defects it exists for (a null token that changed spelling, a new category, a rounding
skew between training and serving, a sentinel code, numbers arriving as text, a mean shift),
the same result however the rows are partitioned, and real data: two halves of UCI Adult,
adult.data against adult.test (quiet), and Student Performance's two schools (not quiet)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

import auditkit
from auditkit import Part, Severity
from probes.drift import Drift
from probes.drift.measure import FeatureProfile, plan_column, profile_reference
from probes.drift.stats import holm, ks_test, total_variation, tv_test, wasserstein_cells
from probes.drift.tokens import MISSING, sentinels

SERIOUS = Severity.MEDIUM


def _model(train: pd.DataFrame, target: str, regress: bool = False) -> Any:
    X = train.drop(columns=target)
    text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    encode = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2)
    est = HistGradientBoostingRegressor(max_iter=30) if regress else HistGradientBoostingClassifier(max_iter=30)
    return make_pipeline(make_column_transformer((encode, text), remainder="passthrough"), est).fit(X, train[target])


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    return pd.DataFrame({"x": x, "price": np.round(rng.gamma(3.0, 20.0, n), 2), "colour": pd.array(colour, dtype="str"), "y": y})


def _drift(train: pd.DataFrame, audit: pd.DataFrame, *, partitions: int = 1, model: Any = None, **roles: Any):
    model = model if model is not None else make_pipeline(
        make_column_transformer((OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                encoded_missing_value=-2), ["colour"]), remainder="passthrough"),
        LogisticRegression(),
    ).fit(train.drop(columns=["y", *roles.get("ids", ())]), train["y"])
    data = auditkit.AuditData(audit, "y", reference=train, **roles)
    return auditkit.audit(model, data, probes=["drift"], seed=0, partitions=partitions)["drift"]


def _serious(result) -> list:
    return [f for f in result.findings if f.severity >= SERIOUS]


# -- the numbers, computed another way ------------------------------------------------


def _counts(ref: np.ndarray, audit: np.ndarray, bins: int = 100):
    plan = plan_column("v", pd.Series(ref), "numeric", bins)
    r = profile_reference(pd.DataFrame({"v": ref}), [plan])["v"]
    a = profile_reference(pd.DataFrame({"v": audit}), [plan])["v"]
    return plan, r, a


def _w1(plan, r, a) -> float:
    k_below, k_above = a.cells[0], a.cells[-1]
    mean = (a.excess[0] / k_below if k_below else 0.0, a.excess[1] / k_above if k_above else 0.0)
    return float(wasserstein_cells(r.cells, a.cells, plan.edges, mean, plan.discrete)[0])


@pytest.mark.parametrize("shift", [0.0, 0.25, 1.0, 3.0])
def test_wasserstein_from_histograms_matches_scipy_on_the_raw_values(shift: float) -> None:
    rng = np.random.default_rng(1)
    ref, audit = rng.normal(size=20_000), rng.normal(shift, 1.3, size=20_000)
    plan, r, a = _counts(ref, audit)
    exact = scipy.stats.wasserstein_distance(ref, audit)
    assert _w1(plan, r, a) == pytest.approx(exact, abs=0.01 + 0.01 * exact)


def test_wasserstein_of_whole_numbers_is_exact() -> None:
    rng = np.random.default_rng(2)
    ref, audit = rng.poisson(3.0, 5000).astype(float), rng.poisson(3.6, 4000).astype(float)
    plan, r, a = _counts(ref, audit)
    assert plan.discrete
    assert _w1(plan, r, a) == pytest.approx(scipy.stats.wasserstein_distance(ref, audit), rel=1e-9)


def test_ks_statistic_on_the_edges_is_scipys_within_a_bin() -> None:
    rng = np.random.default_rng(3)
    ref, audit = rng.normal(size=3000), rng.normal(0.2, size=2000)
    plan, r, a = _counts(ref, audit)
    stat, p = ks_test(r.cells, a.cells)
    exact = scipy.stats.ks_2samp(ref, audit)
    assert stat <= exact.statistic + 1e-12 and stat >= exact.statistic - 0.011  # binning only lowers it
    assert p == pytest.approx(exact.pvalue, rel=0.5) or (p < 1e-6 and exact.pvalue < 1e-6)


def test_total_variation_and_chi_square_match_numpy_and_scipy() -> None:
    ref, audit = np.array([500, 300, 200, 0]), np.array([400, 350, 200, 50])
    p, q = ref / ref.sum(), audit / audit.sum()
    assert total_variation(ref, audit)[0] == pytest.approx(0.5 * np.abs(p - q).sum())
    expected = scipy.stats.chi2_contingency(np.vstack([ref, audit]), correction=False).pvalue
    assert tv_test(ref, audit) == pytest.approx(expected)


def test_holm_matches_the_step_down_by_hand() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    assert holm(p).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_sentinels_are_codes_beyond_every_value_only() -> None:
    ages = np.r_[np.random.default_rng(4).integers(18, 90, 1000), [-1] * 30].astype(float)
    assert sentinels(ages) == (-1.0,)
    spread = np.random.default_rng(5).normal(0, 3, 2000).round()
    assert sentinels(spread) == ()  # -1 among the values is a value


def test_counts_merge_to_the_same_numbers_however_the_rows_are_split() -> None:
    frame = _frame(3000, 6).assign(colour=lambda d: d["colour"].where(d.index % 17 != 0, "NULL"))
    frame.loc[frame.index % 23 == 0, "x"] = np.nan
    plans = [plan_column(c, frame[c], k, 50) for c, k in (("x", "numeric"), ("price", "numeric"), ("colour", "categorical"))]
    audit = frame.assign(x=frame["x"] * 1.7 + 0.3)
    whole = profile_reference(audit, plans)
    state = None
    for i, rows in enumerate(np.array_split(np.arange(len(audit)), 7)):
        part = FeatureProfile(plans)
        part.update(Part(i, rows, audit.iloc[rows]))
        state = part if state is None else state.merge(part)
    split = state.finalize()
    for name in whole:
        assert whole[name].missing == split[name].missing
        assert whole[name].values == split[name].values
        if whole[name].cells is not None:
            assert whole[name].cells.tolist() == split[name].cells.tolist()
            assert whole[name].excess.tolist() == split[name].excess.tolist()  # exact sums, bit for bit
    assert whole["colour"].missing == {"NULL": int((frame.index % 17 == 0).sum())}
    assert whole["x"].missing[MISSING] == int((frame.index % 23 == 0).sum())


# -- the defects it exists for ------------------------------------------------------------


def test_a_null_token_that_changed_spelling_is_one_finding_with_both_spellings() -> None:
    train, audit = _frame(3000, 10), _frame(3000, 11)
    train["colour"] = train["colour"].where(np.arange(3000) % 10 != 0, "Null")
    audit["colour"] = audit["colour"].where(np.arange(3000) % 10 != 0, "")
    result = _drift(train, audit)
    serious = _serious(result)
    assert [f.code for f in serious] == ["null_token_changed"]
    f = serious[0]
    assert f.severity == Severity.HIGH and f.features == ("colour",)
    assert "'Null' in 300 rows (10.0%) in the reference" in f.message and "'' in 300 rows (10.0%) now" in f.message
    assert result.status == "failed"


def test_a_new_category_in_five_percent_of_rows_is_named() -> None:
    train, audit = _frame(3000, 12), _frame(3000, 13)
    audit["colour"] = audit["colour"].where(np.arange(3000) % 20 != 0, "violet")
    result = _drift(train, audit)
    found = [f for f in _serious(result) if f.code == "unseen_categories"]
    assert len(found) == 1 and found[0].features == ("colour",)
    assert "'violet' (150 rows)" in found[0].message
    assert {f.code for f in _serious(result)} <= {"unseen_categories", "domain_shift"}


def test_a_rounding_skew_on_id_joined_rows_names_that_feature_alone() -> None:
    train = _frame(2000, 14).assign(customer=np.arange(2000))
    audit = train.sample(frac=0.5, random_state=0).reset_index(drop=True)
    audit["price"] = audit["price"].round(0)
    result = _drift(train, audit, ids=["customer"])
    skew = [f for f in result.findings if f.code == "training_serving_skew"]
    assert [f.features for f in skew] == [("price",)]
    differ = int((audit["price"] != train.set_index("customer").loc[audit["customer"], "price"].to_numpy()).sum())
    assert skew[0].metrics["differ"] == differ and skew[0].metrics["joined"] == 1000
    assert skew[0].metrics["max_abs"] <= 0.5
    assert skew[0].examples and {"row", "id", "reference", "audit"} <= set(skew[0].examples[0])


def test_a_sentinel_the_reference_used_becoming_a_real_gap_is_a_null_token_change() -> None:
    train, audit = _frame(3000, 15), _frame(3000, 16)
    train.loc[np.arange(3000) % 10 == 0, "price"] = -999.0
    audit.loc[np.arange(3000) % 10 == 0, "price"] = np.nan
    found = [f for f in _serious(_drift(train, audit)) if f.code == "null_token_changed"]
    assert len(found) == 1 and found[0].features == ("price",)
    assert "<sentinel> -999" in found[0].message and "a real gap" in found[0].message


def test_numbers_arriving_as_text_are_a_change_of_kind() -> None:
    train, audit = _frame(2000, 17), _frame(2000, 18)
    train["code"] = pd.Series(np.random.default_rng(0).integers(1, 5, 2000), dtype=object)
    codes = np.random.default_rng(1).integers(1, 5, 2000)
    audit["code"] = pd.Series([str(v) if i % 5 == 0 else int(v) for i, v in enumerate(codes)], dtype=object)
    model = _model(train.drop(columns="code"), "y")
    data = auditkit.AuditData(audit, "y", reference=train, kinds={"code": "categorical"})
    result = auditkit.audit(_Ignoring(model, "code"), data, probes=["drift"], seed=0)["drift"]
    found = [f for f in result.findings if f.code == "type_changed"]
    assert len(found) == 1 and found[0].features == ("code",) and found[0].severity == Severity.HIGH
    assert "number as text" in found[0].message


class _Ignoring:
    """A fitted model that drops one column before predicting (so the audit can carry it)."""

    def __init__(self, model: Any, column: str) -> None:
        self.model, self.column, self.classes_ = model, column, model.classes_

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict(X.drop(columns=self.column))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(X.drop(columns=self.column))


def test_a_quarter_sd_mean_shift_at_two_thousand_rows_is_found_and_measured() -> None:
    train, audit = _frame(2000, 19), _frame(2000, 20)
    audit["x"] = audit["x"] + 0.5
    result = _drift(train, audit)
    found = [f for f in _serious(result) if f.code == "distribution_shift"]
    assert [f.features for f in found] == [("x",)]
    m = found[0].metrics
    exact = scipy.stats.wasserstein_distance(train["x"], audit["x"]) / train["x"].std(ddof=0)
    assert m["effect"] == pytest.approx(exact, abs=0.02)
    assert m["low"] <= m["effect"] <= m["high"]


def test_the_same_result_however_the_rows_are_partitioned() -> None:
    train = _frame(1500, 21).assign(customer=np.arange(1500))
    audit = train.sample(frac=0.8, random_state=1).reset_index(drop=True)
    audit["price"] = audit["price"].round(0)
    audit["colour"] = audit["colour"].where(np.arange(len(audit)) % 9 != 0, "")
    audit["x"] = audit["x"] * 1.5
    one = _drift(train, audit, ids=["customer"], partitions=1)
    seven = _drift(train, audit, ids=["customer"], partitions=7)
    assert [f.to_dict() for f in one.findings] == [f.to_dict() for f in seven.findings]
    assert one.metrics == seven.metrics
    assert [g.to_dict() for g in one.figures] == [g.to_dict() for g in seven.figures]
    assert {f.code for f in one.findings} >= {"training_serving_skew", "missing_rise", "distribution_shift"}


def test_figures_rank_every_feature_and_draw_the_flagged_ones() -> None:
    train, audit = _frame(2000, 22), _frame(2000, 23)
    audit["x"] = audit["x"] + 1.0
    result = _drift(train, audit)
    kinds = [f.kind for f in result.figures]
    assert kinds[0] == "ranking" and "group_rates" in kinds
    ranking = result.figures[0]
    assert ranking.bars[0].label == "x" and ranking.bars[0].value > 1 and ranking.total == 3
    assert ranking.references[0].value == 1.0
    rates = next(f for f in result.figures if f.kind == "group_rates" and f.feature == "x")
    ref_shares = [g.values[0] for g in rates.groups]
    assert sum(ref_shares) == pytest.approx(1.0)


def test_without_reference_outputs_the_model_view_is_skipped_with_its_reason() -> None:
    train, audit = _frame(1000, 24), _frame(1000, 25)
    audit["p"] = np.full(len(audit), 0.4)
    data = auditkit.AuditData(audit, "y", reference=train.assign(p=0.4).drop(columns="p"), score="p")
    result = auditkit.audit(None, data, probes=["drift"], seed=0)["drift"]
    skipped = [f for f in result.findings if f.code == "model_view_skipped"]
    assert len(skipped) == 1 and skipped[0].severity == Severity.INFO
    assert "cannot be queried" in skipped[0].message and result.metrics["model_view"]["skipped"]


def test_settings_are_checked_when_the_probe_is_built() -> None:
    with pytest.raises(auditkit.ProbeConfigError, match="alpha"):
        Drift(alpha=0.7)
    with pytest.raises(auditkit.ProbeConfigError, match="min_tv"):
        Drift(min_tv=1.5)


# -- real data ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def adult_model(adult_train: pd.DataFrame) -> Any:
    return _model(adult_train, "income")


def test_two_random_halves_of_adult_are_quiet(adult_train: pd.DataFrame, adult_model: Any) -> None:
    order = np.random.default_rng(0).permutation(len(adult_train))
    half = len(order) // 2
    ref, audit = adult_train.iloc[order[:half]].reset_index(drop=True), adult_train.iloc[order[half:]].reset_index(drop=True)
    result = auditkit.audit(adult_model, auditkit.AuditData(audit, "income", reference=ref), probes=["drift"], seed=0)["drift"]
    assert _serious(result) == [] and result.status == "passed"


def test_adult_data_against_adult_test_is_quiet(adult_train: pd.DataFrame, adult_test: pd.DataFrame, adult_model: Any) -> None:
    data = auditkit.AuditData(adult_test, "income", reference=adult_train)
    result = auditkit.audit(adult_model, data, probes=["drift"], seed=0)["drift"]
    assert _serious(result) == [], [f.message for f in _serious(result)]
    assert max(v["effect"] / v["threshold"] for v in result.metrics["shift"].values()) < 0.5


def test_student_performance_two_schools_differ_and_the_features_are_named(student_frame: pd.DataFrame) -> None:
    assert set(student_frame["school"]) == {"GP", "MS"}
    gp = student_frame[student_frame["school"] == "GP"].reset_index(drop=True)
    ms = student_frame[student_frame["school"] == "MS"].reset_index(drop=True)
    model = _model(gp.drop(columns="school"), "G3", regress=True)
    data = auditkit.AuditData(ms, "G3", reference=gp, ignore=["school"])
    result = auditkit.audit(model, data, probes=["drift"], seed=0)["drift"]  # 'school' is ignored: not an input
    shifted = {f.features[0] for f in result.findings if f.code == "distribution_shift"}
    # MS students live further out: more rural addresses, longer journeys; and they are older.
    assert {"address", "traveltime", "age"} <= shifted
    domain = next(f for f in result.findings if f.code == "domain_shift")
    assert set(domain.features) & {"address", "traveltime", "age"}


def test_a_data_only_audit_runs_the_data_checks_and_skips_the_rest_with_reasons() -> None:
    train, audit = _frame(1500, 26), _frame(1500, 27)
    audit["x"] = audit["x"] + 0.5
    card = auditkit.audit(None, auditkit.AuditData(audit, "y", reference=train), seed=0)
    status = {r.name: r.status for r in card.probes}
    assert status.pop("drift") == "passed" and set(status.values()) == {"skipped"}
    assert all(r.reason == "needs a model or stored predictions; this audit has the data alone"
               for r in card.probes if r.name != "drift")
    drift = card["drift"]
    assert [f.features for f in drift.findings if f.code == "distribution_shift"] == [("x",)]
    assert drift.metrics["model_view"] == {"skipped": "no model was given (a data-only audit)"}
    assert card.title.startswith("no model (data only)")


def test_how_much_a_shifted_feature_matters_is_its_effect_on_the_model() -> None:
    train, audit = _frame(2000, 28), _frame(2000, 29)
    audit["x"], audit["price"] = audit["x"] + 1.0, audit["price"] * 1.5
    model = _model(train.drop(columns="price").assign(price=0.0), "y")  # trained with price constant: it ignores price
    result = _drift(train, audit, model=model)
    impact = {f.features[0]: f.metrics["model_impact"] for f in result.findings if f.code == "distribution_shift"}
    assert impact["price"] == 0.0 and impact["x"] > 0.05
    assert "Through the model" in next(f.message for f in result.findings if f.features == ("x",))


def test_the_mean_output_shift_matches_numpy_and_welchs_t_test() -> None:
    from probes.drift.checks import Settings
    from probes.drift.model_view import mean_check

    rng = np.random.default_rng(30)
    ref, audit = rng.beta(2, 5, 4000), rng.beta(2.4, 5, 3000)
    plan, r, a = _counts(ref, audit)
    check = mean_check(plan, r, a, Settings(0.1, 0.1, 0.01, 0.95, 0))
    assert check.details["reference_mean"] == pytest.approx(ref.mean(), abs=2e-3)
    assert check.details["audit_mean"] == pytest.approx(audit.mean(), abs=2e-3)
    assert check.effect == pytest.approx(abs(audit.mean() - ref.mean()) / ref.std(ddof=1), rel=0.03)
    expected = scipy.stats.ttest_ind(audit, ref, equal_var=False).pvalue
    assert np.log10(check.p) == pytest.approx(np.log10(expected), rel=0.1)


def test_the_command_line_runs_drift_on_data_alone(tmp_path) -> None:
    import json
    import subprocess
    import sys

    train, audit = _frame(1500, 31), _frame(1500, 32)
    # "?" became "-": spellings the CSV reader keeps as text (pandas reads "", "NULL", "N/A" and
    # the like as gaps before any probe sees them).
    train["colour"] = train["colour"].where(np.arange(1500) % 10 != 0, "?")
    audit["colour"] = audit["colour"].where(np.arange(1500) % 10 != 0, "-")
    train.to_csv(tmp_path / "train.csv", index=False)
    audit.to_csv(tmp_path / "serving.csv", index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "auditkit", "run", "--data", "serving.csv", "--reference", "train.csv", "--target", "y",
         "--probes", "drift", "--json", "card.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the changed spelling of missing fails the gate
    card = json.loads((tmp_path / "card.json").read_text())
    (drift,) = card["probes"]
    assert drift["status"] == "failed"
    assert [f["code"] for f in drift["findings"] if f["severity"] == "high"] == ["null_token_changed"]
    assert drift["metrics"]["model_view"] == {"skipped": "no model was given (a data-only audit)"}
    assert card["model"]["kind"] == "none"


def test_the_beyond_range_p_value_is_the_exchangeable_tail_by_simulation() -> None:
    from probes.drift.stats import beyond_range_test

    rng = np.random.default_rng(33)
    n, m, k = 50, 40, 3
    hits = 0
    for _ in range(20_000):
        ref, audit = rng.random(n), rng.random(m)
        hits += int((audit > ref.max()).sum() >= k)
    # one side's tail: C(m, k) / C(n + m, k); the test doubles it for the two sides
    assert beyond_range_test(0, k, n, m) / 2 == pytest.approx(hits / 20_000, abs=0.004)
