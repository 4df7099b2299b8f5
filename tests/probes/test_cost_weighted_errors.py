"""Probe ``cost_weighted_errors``: every number it reports against a second
computation (by hand, by brute force, by scipy's optimiser), German credit
with its documented cost matrix, detection at planted effects, and quiet on a
calibrated model decided at its Bayes threshold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC

import auditkit
from probes.cost_weighted_errors import (
    BETTER_THRESHOLD,
    COSTLIER_THAN_TRIVIAL,
    GROUP_SHARE,
    MONEY_LEFT,
    NO_COSTS,
    NO_MULTICLASS_DICT,
    NO_REGRESSION_COSTS,
    CostWeightedErrors,
)
from probes.cost_weighted_errors.stats import paired_intervals
from probes.cost_weighted_errors.sweep import best_threshold_index, offset_sweep, threshold_sweep, tie_ends

GERMAN_COSTS = {"fp": 1, "fn": 5}  # german.doc: bad predicted good costs 5, good predicted bad costs 1


def run_probe(model, data: auditkit.AuditData, seed: int = 0, **settings) -> auditkit.ProbeResult:
    card = auditkit.audit(model, data, probes=[CostWeightedErrors(**settings)], seed=seed)
    result = card.probes[0]
    assert result.status != "error", result.reason
    return result


def codes(result: auditkit.ProbeResult) -> set[str]:
    return {f.code for f in result.findings}


def template_head(template: str) -> str:
    return template.split("{")[0]


# -- German credit -----------------------------------------------------------------


@pytest.fixture(scope="module")
def german_scored(german_frame: pd.DataFrame) -> pd.DataFrame:
    """German credit with out-of-fold probabilities of 'bad' (2) from a logistic
    regression, and its default decisions at 0.5: what a vendor would hand over."""
    X = german_frame.drop(columns="credit_risk")
    text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numbers = [c for c in X.columns if c not in text]
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), text), (StandardScaler(), numbers)),
        LogisticRegression(max_iter=1000),
    )
    p_bad = cross_val_predict(model, X, german_frame["credit_risk"], cv=5, method="predict_proba")[:, 1]
    return german_frame.assign(p_bad=p_bad, decision=np.where(p_bad >= 0.5, 2, 1))


def german_data(frame: pd.DataFrame, costs=GERMAN_COSTS) -> auditkit.AuditData:
    return auditkit.AuditData(
        frame, "credit_risk", prediction="decision", score="p_bad", sensitive=["personal_status_sex"], costs=costs
    )


def test_german_costs_match_a_hand_computation_to_the_last_digit(german_scored: pd.DataFrame) -> None:
    result = run_probe(None, german_data(german_scored))
    m = result.metrics
    y, decision, p = german_scored["credit_risk"], german_scored["decision"], german_scored["p_bad"].to_numpy()
    (tn, fp), (fn, tp) = confusion_matrix(y, decision, labels=[1, 2])
    n = len(y)
    assert m["positive_class"] == 2
    assert m["total_cost"] == 1 * fp + 5 * fn
    assert m["expected_cost"] == (1 * fp + 5 * fn) / n
    # trivial policies: refuse everyone (700 goods wrongly refused), accept everyone (300 bads missed)
    goods, bads = int((y == 1).sum()), int((y == 2).sum())
    assert m["trivial_policies"]["all_positive"]["expected_cost"] == goods / n
    assert m["trivial_policies"]["all_negative"]["expected_cost"] == 5 * bads / n
    # the optimum by brute force: every distinct score as a threshold, plus "nobody positive"
    is_bad = (y == 2).to_numpy()
    brute = [(5 * bads, np.inf)] + [
        (int(((p >= t) & ~is_bad).sum() + 5 * ((p < t) & is_bad).sum()), t) for t in np.unique(p)
    ]
    best = min(c for c, _ in brute)
    assert m["optimal_total_cost"] == best
    assert m["optimal_expected_cost"] == best / n
    chosen = m["optimal_threshold"]
    assert int(((p >= chosen) & ~is_bad).sum() + 5 * ((p < chosen) & is_bad).sum()) == best
    # Elkan's threshold c_FP / (c_FP + c_FN) = 1/6 and its cost
    assert m["bayes_threshold"] == pytest.approx(1 / 6, abs=1e-15)
    bayes = int(((p >= 1 / 6) & ~is_bad).sum() + 5 * ((p < 1 / 6) & is_bad).sum())
    assert m["bayes_expected_cost"] == bayes / n
    assert m["saving"] == pytest.approx(m["expected_cost"] - best / n, abs=1e-12)


def test_german_cost_by_personal_status_sex_matches_pandas(german_scored: pd.DataFrame) -> None:
    result = run_probe(None, german_data(german_scored))
    y, decision = german_scored["credit_risk"], german_scored["decision"]
    row_cost = np.where((y == 1) & (decision == 2), 1, 0) + np.where((y == 2) & (decision == 1), 5, 0)
    by_group = pd.Series(row_cost).groupby(german_scored["personal_status_sex"]).agg(["sum", "size", "mean"])
    reported = {g["group"]: g for g in result.metrics["groups"]["personal_status_sex"]}
    assert set(reported) == {f"personal_status_sex == {v!r}" for v in by_group.index}
    for value, row in by_group.iterrows():
        g = reported[f"personal_status_sex == {value!r}"]
        assert g["rows"] == row["size"]
        assert g["total_cost"] == row["sum"]
        assert g["expected_cost"] == row["sum"] / row["size"]
        assert g["cost_share"] == pytest.approx(row["sum"] / row_cost.sum(), rel=1e-12)


def test_german_default_threshold_leaves_money_on_the_table(german_scored: pd.DataFrame) -> None:
    """At 0.5 the model refuses too few bad risks for a 5:1 cost matrix: the cost-optimal
    threshold (near the Bayes 1/6) saves about a third, and refusing everyone is cheaper still
    than the model's own decisions."""
    result = run_probe(None, german_data(german_scored))
    m = result.metrics
    print(
        f"\nGerman credit: current {m['expected_cost']:.3f}/row, optimal threshold {m['optimal_threshold']:.3f} "
        f"-> {m['optimal_expected_cost']:.3f}/row (cross-fitted {m['crossfit_expected_cost']:.3f}), saving "
        f"{m['saving_crossfit']:.3f}/row CI {m['saving_ci']}, Bayes 1/6 -> {m['bayes_expected_cost']:.3f}/row; "
        + ", ".join(f"{g['group']}: {g['expected_cost']:.3f}" for g in m["groups"]["personal_status_sex"])
    )
    money = next(f for f in result.findings if f.code == "money_left_on_table")
    assert money.severity == "high"
    assert m["saving_ci"][0] > 0 and m["saving_share"] >= 0.25
    assert money.message.startswith(template_head(MONEY_LEFT))
    assert BETTER_THRESHOLD.format(threshold=m["optimal_threshold"]) in money.message
    assert money.examples and money.examples[0]["cost_now"] == 5 and money.examples[0]["cost_at_optimum"] == 0
    trivial = next(f for f in result.findings if f.code == "costlier_than_trivial")
    assert trivial.severity == "critical" and trivial.metrics["policy"] == "all_positive"
    assert trivial.message.startswith(template_head(COSTLIER_THAN_TRIVIAL))
    assert result.status == "failed"


def test_german_cost_matrix_and_cli_agree_with_the_dict(german_scored: pd.DataFrame, tmp_path: Path) -> None:
    by_dict = run_probe(None, german_data(german_scored)).metrics
    matrix = pd.DataFrame([[0, 1], [5, 0]], index=[1, 2], columns=[1, 2])  # german.doc, rows actual
    by_matrix = run_probe(None, german_data(german_scored, costs=matrix)).metrics
    reversed_labels = matrix.loc[[2, 1], [2, 1]]
    by_reversed = run_probe(None, german_data(german_scored, costs=reversed_labels)).metrics
    for m in (by_matrix, by_reversed):
        assert m["costs"] == {"fp": 1.0, "fn": 5.0, "tp": 0.0, "tn": 0.0}
        assert m["expected_cost"] == by_dict["expected_cost"]
        assert m["optimal_threshold"] == by_dict["optimal_threshold"]

    german_scored.to_csv(tmp_path / "german.csv", index=False)
    (tmp_path / "costs.csv").write_text("actual,1,2\n1,0,1\n2,5,0\n")
    common = ["run", "--data", "german.csv", "--target", "credit_risk", "--prediction-column", "decision",
              "--score-column", "p_bad", "--sensitive", "personal_status_sex", "--probes", "cost_weighted_errors"]
    for i, extra in enumerate((["--cost-fp", "1", "--cost-fn", "5"], ["--cost-matrix", "costs.csv"])):
        proc = subprocess.run(
            [sys.executable, "-m", "auditkit", *common, *extra, "--json", f"card{i}.json"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 1, proc.stderr  # the critical finding fails the default gate
        doc = json.loads((tmp_path / f"card{i}.json").read_text())
        auditkit.validate_scorecard(doc)
        probe = doc["probes"][0]
        assert probe["metrics"]["expected_cost"] == by_dict["expected_cost"]
        assert probe["metrics"]["optimal_threshold"] == by_dict["optimal_threshold"]
        assert "costlier_than_trivial" in {f["code"] for f in probe["findings"]}


def test_cli_cost_column_and_no_costs(german_scored: pd.DataFrame, tmp_path: Path) -> None:
    german_scored.to_csv(tmp_path / "german.csv", index=False)
    common = ["run", "--data", "german.csv", "--target", "credit_risk", "--prediction-column", "decision",
              "--score-column", "p_bad", "--probes", "cost_weighted_errors"]
    proc = subprocess.run(
        [sys.executable, "-m", "auditkit", *common, "--cost-column", "credit_amount", "--json", "card.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    metrics = json.loads((tmp_path / "card.json").read_text())["probes"][0]["metrics"]
    wrong = (german_scored["credit_risk"] != german_scored["decision"]).to_numpy()
    amount = german_scored["credit_amount"].to_numpy()
    assert metrics["total_cost"] == amount[wrong].sum()
    assert metrics["expected_cost"] == amount[wrong].sum() / len(amount)

    proc = subprocess.run(
        [sys.executable, "-m", "auditkit", *common, "--json", "none.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr  # the only probe asked for was skipped: nothing was checked
    probe = json.loads((tmp_path / "none.json").read_text())["probes"][0]
    assert probe["status"] == "skipped" and probe["reason"].startswith(template_head(NO_COSTS))


# -- the sweeps against brute force -----------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.integers(0, 8), min_size=1, max_size=40),
    data=st.data(),
)
def test_threshold_sweep_prices_every_threshold_exactly(scores: list[int], data) -> None:
    s = np.asarray(scores, dtype=float) / 8  # few distinct values: many ties
    n = len(s)
    if_pos = np.asarray(data.draw(st.lists(st.integers(-3, 9), min_size=n, max_size=n)), dtype=float)
    if_neg = np.asarray(data.draw(st.lists(st.integers(-3, 9), min_size=n, max_size=n)), dtype=float)
    order = np.argsort(-s)
    thresholds, totals = threshold_sweep(s[order], (if_pos - if_neg)[order], float(if_neg.sum()))
    assert list(thresholds[1:]) == sorted(set(s.tolist()), reverse=True)
    assert thresholds[0] > s.max()
    for t, total in zip(thresholds, totals):
        assert total == np.where(s >= t, if_pos, if_neg).sum()
    # cross-fitting's shortcut: the other folds' best threshold, with this fold's rows zeroed out
    held_out = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    kept = ~held_out
    _, kept_totals = threshold_sweep(
        s[order], np.where(kept[order], (if_pos - if_neg)[order], 0.0), float(if_neg[kept].sum())
    )
    assert best_threshold_index(np.where(kept[order], (if_pos - if_neg)[order], 0.0), tie_ends(s[order])) == int(
        np.argmin(kept_totals)
    )


@pytest.mark.parametrize("kind", ["linear", "squared"])
def test_offset_sweep_finds_the_minimum_scipy_finds(kind: str) -> None:
    rng = np.random.default_rng(3)
    z, w = rng.standard_t(3, size=500) * 4 + 10, rng.uniform(0.5, 2, size=500)
    over, under = 1.0, 3.0

    def cost(b: float) -> float:
        e = b - z
        size = np.abs(e) if kind == "linear" else e * e
        return float((w * np.where(e > 0, over, under) * size).sum())

    order = np.argsort(z)
    _, curve, candidates, totals = offset_sweep(z[order], w[order], over, under, kind)
    best = candidates[np.argmin(totals)]
    reference = scipy.optimize.minimize_scalar(cost, bounds=(z.min(), z.max()), method="bounded",
                                               options={"xatol": 1e-12})
    assert cost(best) <= reference.fun * (1 + 1e-12)
    assert np.min(totals) == pytest.approx(cost(best), rel=1e-9)
    assert curve[0] == pytest.approx(cost(np.sort(z)[0]), rel=1e-9)


# -- detection and quiet on synthetic data --------------------------------------------------


def scored(n: int = 3000, seed: int = 0, threshold: float = 0.5, distort=None, noisy_group: float = 0.0) -> pd.DataFrame:
    """Calibrated probabilities (about 30 % positive) and decisions at ``threshold``;
    ``distort`` bends the scores, ``noisy_group`` flips that share of group B's labels."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = rng.choice(["A", "B"], size=n, p=[0.7, 0.3])
    p = 1 / (1 + np.exp(-(2.0 * x - 1.2)))
    y = (rng.random(n) < p).astype(int)
    flip = (group == "B") & (rng.random(n) < noisy_group)
    y = np.where(flip, 1 - y, y)
    score = p if distort is None else distort(p)
    return pd.DataFrame({"x": x, "group": group, "score": score, "pred": (score >= threshold).astype(int), "y": y})


def scored_data(frame: pd.DataFrame, costs=GERMAN_COSTS) -> auditkit.AuditData:
    return auditkit.AuditData(frame, "y", prediction="pred", score="score", sensitive=["group"], costs=costs)


@pytest.mark.parametrize("seed", range(5))
def test_quiet_on_a_calibrated_model_at_its_bayes_threshold(seed: int) -> None:
    result = run_probe(None, scored_data(scored(seed=seed, threshold=1 / 6)), seed=seed)
    assert result.findings == (), [f.message for f in result.findings]
    assert result.metrics["saving_ci"][0] <= 0


def test_money_left_on_the_table_at_the_default_threshold_is_sized() -> None:
    result = run_probe(None, scored_data(scored(threshold=0.5)))
    m = result.metrics
    money = next(f for f in result.findings if f.code == "money_left_on_table")
    assert m["saving_ci"][0] > 0
    expected = "high" if m["saving_share"] >= 0.25 else "medium" if m["saving_share"] >= 0.10 else "low"
    assert money.severity == expected and money.severity >= auditkit.Severity.MEDIUM
    # a small misplacement costs little: a threshold of 0.2 instead of 1/6 is below the reporting band
    near = run_probe(None, scored_data(scored(threshold=0.2)))
    assert "money_left_on_table" not in codes(near)
    assert near.metrics["saving_share"] < 0.02


def test_a_model_costlier_than_a_trivial_policy_is_critical() -> None:
    costs = {"fp": 1, "fn": 20}  # a missed positive costs 20 refusals
    result = run_probe(None, scored_data(scored(threshold=0.5), costs=costs))
    trivial = next(f for f in result.findings if f.code == "costlier_than_trivial")
    assert trivial.severity == "critical" and trivial.metrics["policy"] == "all_positive"
    assert trivial.metrics["excess_ci"][0] > 0
    # the same model decided at its Bayes threshold 1/21 beats both trivial policies
    calm = run_probe(None, scored_data(scored(threshold=1 / 21), costs=costs))
    assert "costlier_than_trivial" not in codes(calm)


def test_miscalibrated_probabilities_are_told_apart_from_the_bayes_threshold() -> None:
    cubed = run_probe(None, scored_data(scored(threshold=1 / 6, distort=lambda p: p**3)))
    gap = next(f for f in cubed.findings if f.code == "bayes_threshold_miscalibrated")
    assert gap.severity == "low"
    assert cubed.metrics["bayes_gap"]["ci"][0] > 0
    # the empirical optimum on cubed scores sits near (1/6) ** 3, not at 1/6
    assert cubed.metrics["optimal_threshold"] < 0.05
    calibrated = run_probe(None, scored_data(scored(threshold=1 / 6)))
    assert "bayes_threshold_miscalibrated" not in codes(calibrated)


def test_a_group_paying_a_disproportionate_share_is_flagged() -> None:
    result = run_probe(None, scored_data(scored(n=4000, threshold=1 / 6, noisy_group=0.35)))
    flagged = [f for f in result.findings if f.code == "group_pays_disproportionate_cost"]
    assert len(flagged) == 1
    finding = flagged[0]
    assert finding.slice == (auditkit.Condition("group", "==", "B"),) and finding.features == ("group",)
    assert finding.metrics["ratio"] >= 1.25 and finding.metrics["p_adjusted"] < 0.05
    assert finding.message.startswith(template_head(GROUP_SHARE))


def test_cost_curve_is_downsampled_keeps_the_optimum_and_matches_the_sweep() -> None:
    frame = scored(n=5000)
    result = run_probe(None, scored_data(frame), curve_points=50)
    curve = result.metrics["cost_curve"]
    t, c = np.asarray(curve["threshold"]), np.asarray(curve["expected_cost"])
    assert 50 <= len(t) <= 51 and np.all(np.diff(t) > 0)
    assert result.metrics["optimal_threshold"] in t.tolist()
    assert c.min() == pytest.approx(result.metrics["optimal_expected_cost"], rel=1e-12)
    s, y = frame["score"].to_numpy(), frame["y"].to_numpy()
    for threshold, cost in zip(t[::7], c[::7]):
        assert cost == pytest.approx((((s >= threshold) & (y == 0)).sum() + 5 * ((s < threshold) & (y == 1)).sum()) / len(s))


# -- other cost shapes and models ---------------------------------------------------------


def test_per_row_cost_of_a_missed_fraud_is_its_amount() -> None:
    frame = scored(n=2000, seed=4, threshold=0.5).assign(amount=lambda d: np.round(d["x"] ** 2 * 100 + 5, 2))
    data = auditkit.AuditData(frame, "y", prediction="pred", score="score")
    result = run_probe(None, data, cost_column="amount", cost_column_for="fn", cost_fp=3)
    m = result.metrics
    y, pred, s, amount = frame["y"].to_numpy(), frame["pred"].to_numpy(), frame["score"].to_numpy(), frame["amount"].to_numpy()
    by_hand = np.where((y == 1) & (pred == 0), amount, 0.0) + np.where((y == 0) & (pred == 1), 3.0, 0.0)
    assert m["total_cost"] == pytest.approx(by_hand.sum(), rel=1e-12)
    assert m["costs"] == {"fp": 3.0, "fn": "per row", "tp": 0.0, "tn": 0.0} and m["cost_source"] == "probe settings"
    brute = min(
        (np.where(s >= t, np.where(y == 1, 0.0, 3.0), np.where(y == 1, amount, 0.0)).sum() for t in [*np.unique(s), 2.0])
    )
    assert m["optimal_total_cost"] == pytest.approx(brute, rel=1e-12)
    assert m["bayes_threshold"] is None and "bayes_expected_cost" in m  # row-dependent Bayes rule


def test_multiclass_matrix_against_the_confusion_matrix() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 2))
    level = np.clip(np.round(X[:, 0] + rng.normal(scale=0.7, size=3000)).astype(int) + 1, 0, 2)
    frame = pd.DataFrame(X, columns=["a", "b"]).assign(t=np.array(["low", "mid", "high"])[level])
    model = LogisticRegression().fit(frame[["a", "b"]], frame["t"])
    cost = {"low": {"low": 0, "mid": 1, "high": 10}, "mid": {"low": 1, "mid": 0, "high": 1},
            "high": {"low": 10, "mid": 1, "high": 0}}
    result = run_probe(model, auditkit.AuditData(frame, "t"), cost_matrix=cost)
    m = result.metrics
    classes = model.classes_.tolist()
    C = np.array([[cost[a][p] for p in classes] for a in classes], dtype=float)
    cm = confusion_matrix(frame["t"], model.predict(frame[["a", "b"]]), labels=classes)
    assert m["total_cost"] == (cm * C).sum()
    assert m["expected_cost"] == (cm * C).sum() / 3000
    bayes_choice = np.argmin(model.predict_proba(frame[["a", "b"]]) @ C, axis=1)
    actual = pd.Index(classes).get_indexer(frame["t"])
    assert m["bayes_expected_cost"] == pytest.approx(C[actual, bayes_choice].mean(), rel=1e-12)
    assert {f"all_{c}" for c in classes} == set(m["trivial_policies"])
    # argmax ignores that low <-> high costs 10: the Bayes rule saves money
    assert "money_left_on_table" in codes(result) and m["saving_ci"][0] > 0

    # a cost column alone: any mistake on a row costs its value
    weighted = frame.assign(value=rng.integers(1, 50, size=3000))
    m = run_probe(model, auditkit.AuditData(weighted, "t", costs="value")).metrics
    wrong = model.predict(frame[["a", "b"]]) != frame["t"].to_numpy()
    assert m["total_cost"] == weighted["value"].to_numpy()[wrong].sum()

    # binary costs on three classes are a mistake in the data, refused before any probe runs
    with pytest.raises(auditkit.DataError, match="'t' has 3 distinct values; price its errors with a cost matrix"):
        auditkit.AuditData(frame, "t", costs={"fp": 1, "fn": 2})
    # ...while the probe's own settings, which the data never sees, make it skip and say why
    skipped = auditkit.audit(model, auditkit.AuditData(frame, "t"), probes=["cost_weighted_errors"],
                             config={"probes": {"cost_weighted_errors": {"cost_fp": 1, "cost_fn": 2}}})
    assert skipped.probes[0].status == "skipped"
    assert skipped.probes[0].reason == NO_MULTICLASS_DICT.format(k=3)


@pytest.mark.parametrize(("kind", "level"), [("linear", 0.75), ("squared", 0.75)])
def test_regression_asymmetric_costs_find_the_optimal_offset(kind: str, level: float) -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=3000)
    frame = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=3000)})
    model = LinearRegression().fit(frame[["x"]], frame["y"])
    data = auditkit.AuditData(frame, "y")
    result = run_probe(model, data, over=1, under=3, kind=kind)
    m = result.metrics
    residual = model.predict(frame[["x"]]) - frame["y"].to_numpy()
    size = np.abs(residual) if kind == "linear" else residual**2
    assert m["expected_cost"] == pytest.approx((np.where(residual > 0, 1, 3) * size).mean(), rel=1e-12)
    assert m["quantile_level"] == level
    if kind == "linear":  # the 0.75-quantile of the residual shortfall, N(0, 1): about +0.67
        assert m["optimal_offset"] == pytest.approx(np.quantile(-residual, 0.75), abs=0.01)
    else:
        ref = scipy.optimize.minimize_scalar(
            lambda b: (np.where(residual + b > 0, 1, 3) * (residual + b) ** 2).mean(), bounds=(-3, 3), method="bounded"
        )
        assert m["optimal_expected_cost"] == pytest.approx(ref.fun, rel=1e-7)
    assert "money_left_on_table" in codes(result)
    # symmetric costs on an unbiased model: nothing to gain from an offset
    symmetric = run_probe(model, data, over=2, under=2, kind=kind)
    assert "money_left_on_table" not in codes(symmetric) and "costlier_than_trivial" not in codes(symmetric)
    # binary costs on a numeric target are a mistake in the data, refused before any probe runs
    with pytest.raises(auditkit.DataError, match="'y' has 3000 distinct values; price its errors with cost_weighted_errors"):
        auditkit.AuditData(frame, "y", costs={"fp": 1, "fn": 5})
    fp_fn = auditkit.audit(model, auditkit.AuditData(frame, "y"), probes=["cost_weighted_errors"],
                           config={"probes": {"cost_weighted_errors": {"cost_fp": 1, "cost_fn": 5}}})
    assert fp_fn.probes[0].status == "skipped"
    assert fp_fn.probes[0].reason == NO_REGRESSION_COSTS.format(given="cost_fp/cost_fn or cost_matrix settings")


def test_decision_scores_get_a_threshold_but_no_bayes_threshold(clean_binary: pd.DataFrame) -> None:
    X = clean_binary[["x1", "x2"]]
    model = LinearSVC().fit(X, clean_binary["y"])
    data = auditkit.AuditData(clean_binary[["x1", "x2", "y"]], "y", costs=GERMAN_COSTS)
    m = run_probe(model, data).metrics
    assert "optimal_threshold" in m and "bayes_expected_cost" not in m
    assert any("not probabilities" in note for note in m["notes"])
    labels_only = run_probe(lambda X: (X["x1"] > 0).astype(int).to_numpy(), data).metrics
    assert "optimal_threshold" not in labels_only and "cost_curve" not in labels_only
    assert any("labels only" in note for note in labels_only["notes"])
    assert labels_only["expected_cost"] == pytest.approx(
        (((X["x1"] > 0) & (clean_binary["y"] == 0)).sum() + 5 * ((X["x1"] <= 0) & (clean_binary["y"] == 1)).sum()) / len(X)
    )


def test_probe_settings_override_the_data_costs(german_scored: pd.DataFrame) -> None:
    m = run_probe(None, german_data(german_scored), cost_fp=1, cost_fn=1).metrics
    assert m["cost_source"] == "probe settings" and m["costs"]["fn"] == 1.0
    wrong = (german_scored["credit_risk"] != german_scored["decision"]).mean()
    assert m["expected_cost"] == pytest.approx(wrong, abs=1e-15)


def test_without_costs_the_skip_names_only_the_costs_this_task_takes() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.normal(size=400)})
    numbers = frame.assign(y=frame["a"] + rng.normal(size=400), p=frame["a"])
    reason = auditkit.audit(None, auditkit.AuditData(numbers, "y", prediction="p"),
                            probes=["cost_weighted_errors"]).probes[0].reason
    assert "(CLI: --cost-column)" in reason and "'fp'" not in reason and "over/under" in reason
    labels = np.array(["x", "y", "z"])[rng.integers(0, 3, 400)]
    three = frame.assign(y=labels, p=labels)
    reason = auditkit.audit(None, auditkit.AuditData(three, "y", prediction="p"),
                            probes=["cost_weighted_errors"]).probes[0].reason
    assert "(CLI: --cost-matrix, --cost-column)" in reason and "--cost-fp" not in reason


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"cost_fp": 1}, "cost_fp and cost_fn go together"),
        ({"cost_fp": float("nan"), "cost_fn": 1}, "cost_fp"),
        ({"cost_matrix": [[0, 1, 2], [1, 0, 1]]}, "square"),
        ({"cost_matrix": [[0, 1], [5, 0]], "cost_fp": 1, "cost_fn": 5}, "not both"),
        ({"cost_column": "amount", "cost_fp": 1, "cost_fn": 2}, "cost_column_for"),
        ({"cost_column": "amount", "cost_column_for": "fn"}, "set cost_fp"),
        ({"kind": "cubic"}, "kind"),
        ({"over": -1}, "over"),
        ({"confidence": 1.0}, "confidence"),
        ({"saving_share": (0.1, 0.05, 0.2)}, "saving_share"),
        ({"group_cost_ratio": 1.0}, "group_cost_ratio"),
        ({"folds": 1}, "folds"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(settings: dict, named: str) -> None:
    with pytest.raises(auditkit.ProbeConfigError, match=named):
        CostWeightedErrors(**settings)


def test_skipped_without_costs_and_scorecard_is_json_ready(clean_binary: pd.DataFrame, clean_model) -> None:
    card = auditkit.audit(clean_model, auditkit.AuditData(clean_binary, "y"), probes=["cost_weighted_errors"])
    assert card.probes[0].status == "skipped"
    assert card.probes[0].reason == NO_COSTS.format(
        data_costs="AuditData(costs={'fp': ..., 'fn': ...}), a cost matrix or a cost column "
                   "(CLI: --cost-fp/--cost-fn, --cost-matrix, --cost-column)",
        settings="cost_fp/cost_fn, cost_matrix or cost_column")
    card = auditkit.audit(
        clean_model, auditkit.AuditData(clean_binary, "y", sensitive=["group"], costs=GERMAN_COSTS),
        probes=["cost_weighted_errors"],
    )
    doc = json.loads(json.dumps(card.to_dict(), allow_nan=False))
    auditkit.validate_scorecard(doc)
    assert doc["probes"][0]["status"] in ("passed", "failed")


def test_cost_matrix_labels_are_matched_or_refused(german_scored: pd.DataFrame) -> None:
    by_dict = run_probe(None, german_data(german_scored)).metrics
    # nested lists are read in the order of the model's classes (1, 2), and the report says so
    positional = run_probe(None, german_data(german_scored), cost_matrix=[[0, 1], [5, 0]]).metrics
    assert positional["expected_cost"] == by_dict["expected_cost"]
    assert any("order of the model's classes" in note for note in positional["notes"])
    # a policy file's table has text keys: "1" names class 1
    from_toml = auditkit.audit(
        None, german_data(german_scored, costs=None), probes=["cost_weighted_errors"],
        config={"probes": {"cost_weighted_errors": {
            "cost_matrix": {"1": {"1": 0, "2": 1}, "2": {"1": 5, "2": 0}}, "saving_share": [0.02, 0.1, 0.25]}}},
    ).probes[0]
    assert from_toml.metrics["expected_cost"] == by_dict["expected_cost"]
    # labels that are no class of the target are refused with the data, before any probe runs
    with pytest.raises(auditkit.DataError, match=r"labelled 'bad', 'good', which are not classes of target 'credit_risk'"):
        german_data(german_scored, costs=pd.DataFrame([[0, 1], [5, 0]], index=["good", "bad"], columns=["good", "bad"]))
    # ...and by the probe when they come from its settings, which the data never sees
    wrong = auditkit.audit(
        None, german_data(german_scored, costs=None), probes=["cost_weighted_errors"],
        config={"probes": {"cost_weighted_errors": {"cost_matrix": {"good": {"good": 0, "bad": 1}, "bad": {"good": 5, "bad": 0}}}}},
    ).probes[0]
    assert wrong.status == "error" and "not the model's classes" in wrong.reason


def test_normal_interval_beyond_max_bootstrap_rows_agrees_with_the_bootstrap() -> None:
    data = scored_data(scored(n=4000, threshold=0.5))
    boot = run_probe(None, data).metrics
    normal = run_probe(None, data, max_bootstrap_rows=1000).metrics
    assert boot["ci"]["method"] == "bootstrap" and normal["ci"]["method"] == "normal"
    assert normal["saving_crossfit"] == boot["saving_crossfit"]
    assert normal["saving_ci"] == pytest.approx(boot["saving_ci"], abs=0.01)


def test_bootstrap_of_distinct_cost_rows_matches_resampling_the_rows() -> None:
    rng = np.random.default_rng(7)
    # Fixed costs: per-row differences take a few values (two comparisons).
    diffs = rng.choice([-5.0, -1.0, 0.0, 0.0, 0.0, 1.0, 5.0], size=(3000, 2))
    levels = [0.95, 0.9]
    low, high, method = paired_intervals(diffs, levels, 4000, np.random.default_rng(1), 50_000)
    assert method == "bootstrap"
    # Computed another way: resampling the rows themselves, 4,000 times.
    rows = np.random.default_rng(2).integers(0, len(diffs), size=(4000, len(diffs)))
    means = diffs[rows].mean(axis=1)  # resamples x comparisons
    for j, level in enumerate(levels):
        tail = (1 - level) / 2
        assert low[j] == pytest.approx(np.quantile(means[:, j], tail), abs=0.02)
        assert high[j] == pytest.approx(np.quantile(means[:, j], 1 - tail), abs=0.02)
    # Many distinct rows (per-row costs) take scipy's row bootstrap; same answer.
    spread = diffs + rng.normal(scale=1e-3, size=diffs.shape)
    low2, high2, _ = paired_intervals(spread, levels, 4000, np.random.default_rng(1), 50_000)
    np.testing.assert_allclose(low2, low, atol=0.02)
    np.testing.assert_allclose(high2, high, atol=0.02)


# -- one partition or many: the same numbers -----------------------------------------------


def _same_card(model, data: auditkit.AuditData, **settings) -> auditkit.ProbeResult:
    cards = [
        auditkit.audit(model, data, probes=[CostWeightedErrors(**settings)], seed=4, partitions=parts)
        for parts in (1, 7)
    ]
    one, seven = (c.probes[0].to_dict() for c in cards)
    one.pop("duration_s"), seven.pop("duration_s")
    assert one == seven
    assert cards[0].probes[0].status != "error", cards[0].probes[0].reason
    return cards[0].probes[0]


def test_every_cost_shape_gives_the_same_numbers_on_one_partition_or_seven(german_scored: pd.DataFrame) -> None:
    _same_card(None, german_data(german_scored))
    # sorted by group: most partitions hold one group only
    _same_card(None, german_data(german_scored.sort_values("personal_status_sex", kind="stable")))
    amount = german_scored.assign(amount=lambda d: d["credit_amount"] / 7)  # fractions: sums that round
    _same_card(None, german_data(amount, costs=None), cost_column="amount", cost_column_for="fn", cost_fp=3.1)
    _same_card(None, german_data(amount, costs=None), cost_column="amount", n_bootstrap=0)
    # few distinct scores: many rows of one score, their amounts summed across partitions
    coarse = amount.assign(p_bad=lambda d: d["p_bad"].round(1))
    _same_card(None, german_data(coarse, costs=None), cost_column="amount", cost_column_for="fp", cost_fn=4)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1500, 2))
    level = np.clip(np.round(X[:, 0] + rng.normal(scale=0.7, size=1500)).astype(int) + 1, 0, 2)
    frame = pd.DataFrame(X, columns=["a", "b"]).assign(t=np.array(["low", "mid", "high"])[level],
                                                       age=rng.integers(18, 80, 1500))
    model = LogisticRegression().fit(frame[["a", "b"]], frame["t"])
    multi = _same_card(model, auditkit.AuditData(frame, "t", sensitive=["age"]),
                       cost_matrix=[[0, 1, 10], [10, 0, 1], [1, 1, 0]])
    assert 1 <= len(multi.figures) <= 4 and all(f.kind == "curve" for f in multi.figures)
    numbers = frame.assign(y=2 * frame["a"] + rng.normal(size=1500))[["a", "b", "y", "age"]]
    regression = LinearRegression().fit(numbers[["a", "b"]], numbers["y"])
    for kind in ("linear", "squared"):
        _same_card(regression, auditkit.AuditData(numbers, "y", sensitive=["age"]), over=1, under=3, kind=kind)
    stored = numbers.assign(p=regression.predict(numbers[["a", "b"]]).round(0), w=np.round(rng.gamma(2, 3, 1500), 2) / 3)
    _same_card(None, auditkit.AuditData(stored, "y", prediction="p", costs="w"), over=2, kind="squared")


def test_the_cost_curve_figure_marks_the_optimum_and_the_current_cost(german_scored: pd.DataFrame) -> None:
    result = run_probe(None, german_data(german_scored))
    (curve,) = result.figures
    m = result.metrics
    assert isinstance(curve, auditkit.Curve) and len(curve.x) <= 300 and list(curve.x) == sorted(curve.x)
    markers = {mk.role: mk for mk in curve.markers}
    assert markers["optimal"].x == m["optimal_threshold"] and markers["optimal"].y == m["optimal_expected_cost"]
    assert markers["bayes"].x == pytest.approx(1 / 6) and markers["bayes"].y == m["bayes_expected_cost"]
    assert min(curve.y) == m["optimal_expected_cost"]
    (level,) = curve.levels
    assert level.role == "current" and level.value == m["expected_cost"]
    assert auditkit.figure_from_dict(curve.to_dict()) == curve
