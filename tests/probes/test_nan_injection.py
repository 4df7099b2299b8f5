"""nan_injection: malformed input through real models, and the zoo that must trip it.

The zoo lives here (one defect each): a torch MLP with no NaN handling, a
model raising IndexError deep inside, a validating model, an SGDClassifier
learning online, a torch model whose weights one poisoned step turns NaN, a
batch-dependent model, a hanging model, a positional model and an imputer
filling a value far from the data; a healthy imputer pipeline is the control.
Plain linear models (a standardised Ridge, a multinomial logistic regression)
overflow at 1e308 without being corrupt: they must get a low finding, never
fail the gate for it.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import auditkit
from auditkit import ProbeConfigError, Severity
from auditkit_test_synthetic import make_clean_binary
from probes.nan_injection import (
    BATCH_MESSAGE,
    CRASH_MESSAGE,
    FRAME_CORRUPTION_MESSAGE,
    FRAME_FAULT_LABELS,
    FUZZ_MESSAGE,
    INJECTION_LABELS,
    OVERFLOW_MESSAGE,
    PLAUSIBLE_SPANS,
    POISON_MESSAGE,
    RATES,
    NanInjection,
)

torch = pytest.importorskip("torch")

# Small settings for the zoo: the outcome of each injection does not depend on
# the sample size, and a smaller sample keeps the file fast.
FAST = {"sample_size": 300, "fuzz_seconds": 10.0}


def run(model, data, seed=0, **settings):
    card = auditkit.audit(model, data, probes=[NanInjection(**settings)], seed=seed)
    result = card["nan_injection"]
    assert result.status in ("passed", "failed"), result.reason
    return result


def sampled(n_rows: int, size: int, seed: int = 0) -> np.ndarray:
    """The rows the probe injects into: the audit's seeded sample (the ``size``
    rows whose keys from the audit seed are smallest), worked out again here."""
    from auditkit._measure import row_keys

    return np.sort(np.argsort(row_keys(seed, np.arange(n_rows)), kind="stable")[:size])


def codes(result):
    return sorted({f.code for f in result.findings})


def only(result, code):
    found = [f for f in result.findings if f.code == code]
    assert found, f"no {code} finding in {codes(result)}"
    return found


# -- data ---------------------------------------------------------------------


def numeric_binary(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Three standard-normal features and an honest logistic target."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n)})
    logit = 1.5 * X.x1 - 1.0 * X.x2 + 0.5 * X.x3
    y = (rng.random(n) < expit(logit)).astype(int)
    return X.assign(y=y)


@functools.cache
def numeric_data() -> auditkit.AuditData:
    return auditkit.AuditData(numeric_binary(), "y")


# -- the zoo ------------------------------------------------------------------


class MLP(torch.nn.Module):
    """A small MLP. ``impute=True`` maps NaN and infinities to 0 (the mean) at
    inference only, as a model that guards its inputs in ``forward`` but
    trains on whatever it is fed."""

    def __init__(self, impute: bool = False) -> None:
        super().__init__()
        self.impute = impute
        self.net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))

    def forward(self, x):
        if self.impute and not self.training:
            x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0).clamp(-5, 5)
        return self.net(x)


def train_mlp(impute: bool = False) -> MLP:
    torch.manual_seed(0)
    frame = numeric_binary()
    module = MLP(impute)
    opt = torch.optim.Adam(module.parameters(), lr=0.05)
    xt = torch.tensor(frame[["x1", "x2", "x3"]].to_numpy(), dtype=torch.float32)
    yt = torch.tensor(frame["y"].to_numpy(), dtype=torch.float32).reshape(-1, 1)
    for _ in range(100):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(module(xt), yt).backward()
        opt.step()
    return module.eval()


class BinnedScorecard:
    """A hand-rolled scorecard: each feature cut into bins, a log-odds table per
    bin. Bin codes come from ``astype(int)``, which turns NaN and infinities
    into the most negative integer, and the table lookup deep inside fails
    with IndexError instead of the model validating its input."""

    def fit(self, X: pd.DataFrame, y) -> BinnedScorecard:
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.classes_ = np.array([0, 1])
        self.low_ = X.min().to_numpy()
        self.width_ = (X.max().to_numpy() - self.low_) / 10
        codes = self._codes(X.to_numpy(dtype=float))
        y = np.asarray(y)
        self.table_ = np.zeros((X.shape[1], 10))
        for j in range(X.shape[1]):
            for b in range(10):
                inside = codes[:, j] == b
                rate = (y[inside].sum() + 1) / (inside.sum() + 2)
                self.table_[j, b] = np.log(rate / (1 - rate))
        return self

    def _codes(self, x):
        with np.errstate(invalid="ignore"):
            return np.minimum(((x - self.low_) / self.width_).astype(int), 9)

    def _lookup(self, codes):
        return sum(self.table_[j][codes[:, j]] for j in range(codes.shape[1]))

    def predict_proba(self, X):
        p = expit(self._lookup(self._codes(X.to_numpy(dtype=float))) / X.shape[1])
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


class ValidatingModel:
    """Logistic scores behind an input check that names the bad column."""

    def fit(self, X: pd.DataFrame, y) -> ValidatingModel:
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.classes_ = np.array([0, 1])
        self.inner_ = LogisticRegression().fit(X, y)
        return self

    def predict_proba(self, X):
        values = X.to_numpy(dtype=float)  # ValueError for text
        bad = ~np.isfinite(values)
        if bad.any():
            column = X.columns[np.nonzero(bad.any(axis=0))[0][0]]
            raise ValueError(f"column {column!r} has {int(bad.sum())} missing or infinite value(s)")
        return self.inner_.predict_proba(X)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def imputer_pipeline(frame: pd.DataFrame, fill: str = "median"):
    """The healthy control: imputers and an encoder that ignores unknown categories."""
    X = frame.drop(columns="y")
    text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numbers = [c for c in X.columns if c not in text]
    numeric = SimpleImputer(strategy="median") if fill == "median" else SimpleImputer(strategy="constant", fill_value=fill)
    parts = [(numeric, numbers)]
    if text:
        parts.append((make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), text))
    return make_pipeline(make_column_transformer(*parts), LogisticRegression()).fit(X, frame["y"])


def sgd_online():
    frame = numeric_binary()
    X, y = frame[["x1", "x2", "x3"]], frame["y"].to_numpy()
    model = SGDClassifier(loss="log_loss", alpha=1e-3, random_state=0)
    for _ in range(5):
        for start in range(0, len(X), 100):
            model.partial_fit(X.iloc[start : start + 100], y[start : start + 100], classes=[0, 1])
    return model


def batch_centred(X: pd.DataFrame) -> np.ndarray:
    """Scores centred on the batch's own mean: the answer for a row depends on its batch-mates."""
    z = 1.5 * X["x1"].fillna(0) - 1.0 * X["x2"].fillna(0)
    return expit(z - z.mean()).to_numpy()


def positional(X: pd.DataFrame) -> np.ndarray:
    """Reads columns by position, not by name."""
    a = X.to_numpy(dtype=float)
    return expit(np.nan_to_num(1.5 * a[:, 0] - 1.0 * a[:, 1]))


def slow_on_nan(X: pd.DataFrame) -> np.ndarray:
    """Hangs (for a while) when it sees a missing value."""
    if X.isna().to_numpy().any():
        time.sleep(2.0)
    return expit(1.5 * X["x1"].to_numpy(dtype=float, na_value=0.0))


# -- the healthy control ----------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_healthy_imputer_pipeline_is_quiet(seed) -> None:
    frame = make_clean_binary(n=1200, seed=seed)
    result = run(imputer_pipeline(frame), auditkit.AuditData(frame, "y"), seed=seed)
    assert result.findings == (), [f.message for f in result.findings]
    m = result.metrics
    assert m["outcomes"]["silent_corruption"] == 0 and m["outcomes"]["crashed"] == 0
    # NaN is imputed (handled) in every column; infinity fails validation (rejected).
    for column in ("x1", "x2", "color", "group"):
        assert set(m["grid"][column]["nan"].values()) == {"handled"}
    assert set(m["grid"]["x1"]["pos_inf"].values()) == {"rejected"}
    assert m["errors"]["x1"]["pos_inf"]["one_cell"] == "ValueError"
    assert m["frame_faults"]["reordered_columns"]["outcome"] == "handled"
    assert m["batch_consistency"]["max_diff"] < 1e-9
    assert m["fuzz"]["outcome"] is None and m["fuzz"]["examples"] > 0


def test_the_grid_holds_every_column_injection_and_rate(clean_binary) -> None:
    data = auditkit.AuditData(clean_binary, "y")
    result = run(imputer_pipeline(clean_binary), data, **FAST)
    m = result.metrics
    assert set(m["grid"]) == set(data.features)
    numeric = {"nan", "none", "empty_string", "null_text", "nan_text", "na_text", "pos_inf", "neg_inf",
               "huge", "neg_huge", "out_of_range", "wrong_type"}
    text = {"nan", "none", "empty_string", "null_text", "nan_text", "na_text", "overlong_text", "wrong_type",
            "unseen_category", "mojibake", "invalid_utf8", "control_chars"}
    assert set(m["grid"]["x1"]) == numeric and set(m["grid"]["color"]) == text
    assert all(set(rates) == set(RATES) for col in m["grid"].values() for rates in col.values())
    cells = sum(len(rates) for col in m["grid"].values() for rates in col.values())
    assert sum(m["outcomes"].values()) == cells == 2 * 12 * 3 + 2 * 12 * 3
    assert sum(sum(c.values()) for c in m["by_injection"].values()) == cells
    assert m["rows_per_rate"] == {"one_cell": 1, "fraction": 30, "whole_column": 300}
    assert set(m["frame_faults"]) == set(FRAME_FAULT_LABELS)
    assert set(INJECTION_LABELS) >= numeric | text


def test_movement_under_a_handled_injection_matches_a_direct_computation() -> None:
    frame = make_clean_binary(n=250, seed=3)
    model = imputer_pipeline(frame)
    data = auditkit.AuditData(frame, "y")
    # A sample as large as the data is all its rows, in order: the numbers can be recomputed.
    m = run(model, data, sample_size=1000, fuzz_examples=0).metrics
    X = data.X
    before = model.predict_proba(X)
    after = model.predict_proba(X.assign(x1=np.nan))
    shift = np.abs(after - before).max(axis=1)
    flips = (model.predict(X.assign(x1=np.nan)) != model.predict(X)).mean()
    got = m["movement"]["x1"]["nan"]["whole_column"]
    assert got["mean_shift"] == pytest.approx(shift.mean(), abs=1e-12)
    assert got["max_shift"] == pytest.approx(shift.max(), abs=1e-12)
    assert got["flip_share"] == pytest.approx(flips, abs=1e-12)


# -- the zoo ------------------------------------------------------------------


def test_torch_mlp_without_nan_handling_corrupts_silently() -> None:
    module = train_mlp()
    # More generated batches than the default, so the fuzz check below never hangs on luck.
    result = run(module, numeric_data(), fuzz_examples=60, **FAST)
    assert result.status == "failed"
    corrupt = only(result, "silent_corruption")
    assert all(f.severity is Severity.CRITICAL for f in corrupt)
    missing = next(f for f in corrupt if f.metrics["family"] == "missing")
    assert missing.features == ("x1", "x2", "x3")
    assert "NaN or infinite probabilities" in missing.message and "allowed: none" in missing.message
    # The reproducer pastes, and really does return NaN.
    X = eval(missing.examples[0], {"pd": pd})
    with torch.no_grad():
        out = module(torch.tensor(X.to_numpy(), dtype=torch.float32))
    assert torch.isnan(out).all()
    # Text in a numeric column is refused by the input conversion: rejected, not corrupt.
    assert set(result.metrics["grid"]["x1"]["wrong_type"].values()) == {"rejected"}
    # Hypothesis finds a NaN row on its own, shrunk to one row.
    fuzz = only(result, "fuzz_counterexample")[0]
    assert fuzz.severity is Severity.CRITICAL and fuzz.metrics["single_row"]
    assert fuzz.message == FUZZ_MESSAGE.format(
        what="a row", effect=f"comes back with {'NaN or infinite probabilities'}",
        examples=fuzz.metrics["examples"], reproducer=fuzz.metrics["reproducer"],
    )
    row = eval(fuzz.metrics["reproducer"], {"pd": pd})
    assert len(row) == 1 and not np.isfinite(row.to_numpy(dtype=float)).all()


def test_index_error_deep_inside_is_a_crash() -> None:
    frame = numeric_binary()
    model = BinnedScorecard().fit(frame.drop(columns="y"), frame["y"])
    result = run(model, numeric_data(), **FAST)
    crashes = only(result, "crash_on_malformed_input")
    assert {f.severity for f in crashes} == {Severity.HIGH}
    assert "silent_corruption" not in codes(result)
    missing = next(f for f in crashes if f.metrics["family"] == "missing")
    assert missing.features == ("x1", "x2", "x3")
    cells = missing.metrics["cells"]
    # NaN, None and the text "NaN" (which float conversion reads as NaN), at every rate in every column.
    assert {c["injection"] for c in cells} == {"nan", "none", "nan_text"}
    assert len(cells) == missing.metrics["batches"] == 3 * 3 * 3 and missing.metrics["tried"] == 3 * 6 * 3
    assert missing.message == CRASH_MESSAGE.format(
        injections="NaN, None, the text 'NaN'", n_columns=3, n_applicable=3, columns="'x1', 'x2', 'x3'",
        n_cells=27, n_tried=54, errors="IndexError", validation="ValueError, TypeError or KeyError",
        example="NaN", column="x1", rate="one cell", error_text=missing.message.split("one cell: ")[1].split(". Reproduce")[0],
        reproducer=missing.examples[0],
    )
    assert {c["error"] for c in cells} == {"IndexError"}
    with pytest.raises(IndexError):
        model.predict_proba(eval(missing.examples[0], {"pd": pd}))


def test_validating_model_rejects_and_stays_quiet() -> None:
    frame = numeric_binary()
    model = ValidatingModel().fit(frame.drop(columns="y"), frame["y"])
    result = run(model, numeric_data(), **FAST)
    assert result.findings == (), [f.message for f in result.findings]
    grid = result.metrics["grid"]
    for injection in ("nan", "none", "pos_inf", "neg_inf", "empty_string", "wrong_type"):
        assert set(grid["x2"][injection].values()) == {"rejected"}
    assert result.metrics["errors"]["x2"]["nan"]["whole_column"] == "ValueError"


def test_sgd_online_rejects_nan_and_inf_poison() -> None:
    model = sgd_online()
    result = run(model, numeric_data(), **FAST)
    online = result.metrics["online"]
    assert online["applied"]
    # NaN and infinity are refused by partial_fit's validation: fine, no finding.
    for poison in ("nan", "pos_inf"):
        assert online["poisons"][poison]["outcome"] == "rejected"
        assert {t["error"] for t in online["poisons"][poison]["tried"]} == {"ValueError"}
    assert not [f for f in result.findings if f.metrics.get("poison") in ("nan", "pos_inf")]
    # Every clean update left a model well above chance: the yardstick the collapse check needs.
    assert all(score > 0.6 for score in online["clean_update_scores"].values())
    # Inference validates too: no corruption or crash from the fixed injections.
    assert not {"silent_corruption", "crash_on_malformed_input"} & set(codes(result))
    # With the default poisons, a model that rejects them is not critical at all.
    assert not [f for f in result.findings if f.severity is Severity.CRITICAL]


def test_sgd_online_collapses_after_one_huge_value() -> None:
    # partial_fit accepts 1e308 (it is finite), and one such row wrecks the
    # linear model: a real poisoning, found at the smallest batch.
    model = sgd_online()
    result = run(model, numeric_data(), poisons=("huge",), **FAST)
    finding = only(result, "online_poisoning")[0]
    assert finding.severity is Severity.CRITICAL and finding.metrics["smallest_batch"] == 1
    assert "collapsed its accuracy on clean rows" in finding.message
    # Computed another way: partial_fit on a copy with the reproducer row, scored on the sample.
    import copy

    data = numeric_data()
    index = sampled(data.n_rows, 300)
    sample, y = data.X.iloc[index].reset_index(drop=True), data.y.to_numpy()[index]
    row = eval(finding.examples[0], {"pd": pd})
    assert row.loc[0, finding.features[0]] == 1e308
    others = [c for c in row.columns if c != finding.features[0]]
    label = y[(sample[others] == row.loc[0, others]).all(axis=1).to_numpy()][0]  # the row's own target
    poisoned = copy.deepcopy(model)
    poisoned.partial_fit(row, [label])
    assert (poisoned.predict(sample) == y).mean() == pytest.approx(finding.metrics["score"])
    assert finding.metrics["clean_update_score"] - finding.metrics["score"] > 0.2


def test_torch_weights_turn_nan_after_one_poisoned_step() -> None:
    module = train_mlp(impute=True)
    model = auditkit.wrap(module, optimizer=torch.optim.SGD(module.parameters(), lr=0.1), loss_fn=torch.nn.BCEWithLogitsLoss())
    before = {k: v.clone() for k, v in module.state_dict().items()}
    result = run(model, numeric_data(), poisons=("nan", "pos_inf", "huge"), **FAST)
    # The user's module is untouched: the probe updated a private copy.
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    poisoned = only(result, "online_poisoning")
    assert {f.metrics["poison"] for f in poisoned} == {"nan", "pos_inf", "huge"}
    nan = next(f for f in poisoned if f.metrics["poison"] == "nan")
    assert nan.severity is Severity.CRITICAL and nan.metrics["smallest_batch"] == 1
    column = nan.features[0]
    assert nan.message.startswith(f"One online update with a poisoned batch of 1 row(s) (NaN in {column!r}) turned ")
    assert nan.message == POISON_MESSAGE.format(
        size=1, injection="NaN", column=column, effect=result.metrics["online"]["poisons"]["nan"]["effect"],
        sizes="1, 8, 64", reproducer=nan.examples[0],
    )
    # Computed another way: one SGD step on a copy with that row leaves NaN weights.
    copy = train_mlp(impute=True)
    opt = torch.optim.SGD(copy.parameters(), lr=0.1)
    row = eval(nan.examples[0], {"pd": pd})
    copy.train()
    loss = torch.nn.BCEWithLogitsLoss()(copy(torch.tensor(row.to_numpy(), dtype=torch.float32)), torch.ones(1, 1))
    loss.backward()
    opt.step()
    assert any(torch.isnan(p).any() for p in copy.parameters())
    # Inference guards its inputs: no silent corruption from the fixed injections.
    assert "silent_corruption" not in codes(result)


def test_batch_dependent_output_is_found_and_measured() -> None:
    model = auditkit.wrap(batch_centred, output="scores")
    result = run(model, numeric_data(), **FAST)
    finding = only(result, "batch_dependent_output")[0]
    assert finding.severity is Severity.HIGH
    m = finding.metrics
    # Computed another way: the same 64 rows alone and together.
    rows = numeric_data().X.iloc[sampled(600, 300)].reset_index(drop=True).iloc[:64]
    together = batch_centred(rows)
    alone = np.array([batch_centred(rows.iloc[[i]])[0] for i in range(8)])
    eights = np.concatenate([batch_centred(rows.iloc[i : i + 8]) for i in range(0, 64, 8)])
    worst = max(np.abs(alone - together[:8]).max(), np.abs(eights - together).max())
    assert m["max_diff"] == pytest.approx(worst, rel=1e-9)
    assert finding.message == BATCH_MESSAGE.format(
        rows=64, small=8, single=8, max_diff=m["max_diff"], tolerance=1e-5, differing=m["differing_rows"],
        flipped=m["flipped_labels"],
    )


def test_a_hang_is_a_crash_and_stops_further_queries() -> None:
    model = auditkit.wrap(slow_on_nan, output="scores")
    result = run(model, numeric_data(), call_timeout_s=0.3, **FAST)
    crash = only(result, "crash_on_malformed_input")[0]
    assert "a hang (no answer within 0.3 s)" in crash.message
    m = result.metrics
    assert m["hung"] and m["fuzz"] is None
    # Nothing is sent after the hang, and what it cut is said, never dropped in silence.
    cut = m["not_run"]
    assert cut["why"] == "an earlier call hung"
    assert cut["frame_faults"] == len(FRAME_FAULT_LABELS) and cut["batch_consistency"]
    assert cut["fuzz_batches"] == NanInjection().fuzz_examples and cut["cells"] == m["outcomes"]["not_run"]
    assert {c.outcome for c in result.figures[1].cells} == {"not_run"}


def test_positional_model_is_corrupted_by_an_extra_column() -> None:
    model = auditkit.wrap(positional, output="scores")
    result = run(model, numeric_data(), **FAST)
    faults = result.metrics["frame_faults"]
    assert faults["extra_column"]["outcome"] == "silent_corruption"
    assert faults["reordered_columns"]["outcome"] == "silent_corruption"
    extra = next(f for f in result.findings if f.metrics.get("fault") == "extra_column")
    assert extra.message == FRAME_CORRUPTION_MESSAGE.format(
        fault=FRAME_FAULT_LABELS["extra_column"], detail=faults["extra_column"]["detail"],
        problem=faults["extra_column"]["problem"],
    )
    assert faults["extra_column"]["changed_rows"] > 250  # nearly every row moves once the columns shift


def test_an_imputer_far_from_the_data_moves_predictions() -> None:
    frame = numeric_binary()
    model = imputer_pipeline(frame, fill=-8.0)
    result = run(model, numeric_data(), fuzz_examples=0, sample_size=300)
    finding = only(result, "missing_value_shift")[0]
    assert finding.severity is Severity.MEDIUM and "x1" in finding.features
    s = finding.metrics["x1"]
    assert s["mean_shift"] > 0.15 and s["mean_shift"] > 1.5 * s["shuffled_shift"]
    # The median imputer on the same data is within bounds.
    quiet = run(imputer_pipeline(frame), numeric_data(), fuzz_examples=0, sample_size=300)
    assert "missing_value_shift" not in codes(quiet)


def test_regression_model_runs_and_is_quiet() -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"a": rng.normal(size=400), "b": rng.uniform(0, 5, size=400)})
    frame["y"] = 2 * frame.a - frame.b + rng.normal(scale=0.3, size=400)
    model = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(frame[["a", "b"]], frame.y)
    result = run(model, auditkit.AuditData(frame, "y"), **FAST)
    assert result.findings == (), [f.message for f in result.findings]
    assert set(result.metrics["grid"]["a"]["nan"].values()) == {"handled"}


def test_stored_predictions_are_skipped(clean_binary) -> None:
    frame = clean_binary.assign(pred=clean_binary["y"])
    card = auditkit.audit(None, auditkit.AuditData(frame, "y", prediction="pred"), probes=["nan_injection"])
    result = card["nan_injection"]
    assert result.status == "skipped" and "query" in result.reason


@pytest.mark.parametrize(
    "settings",
    [
        {"sample_size": 5},
        {"fraction": 1.0},
        {"call_timeout_s": 0},
        {"shift_threshold": 0},
        {"shift_ratio": 0.5},
        {"small_batch": 64},
        {"single_rows": 0},
        {"stack_rows": 0},
        {"poison_batch_sizes": ()},
        {"poison_batch_sizes": (0, 8)},
        {"collapse_drop": 0},
        {"fuzz_examples": -1},
        {"fuzz_rows": 0},
    ],
)
def test_settings_are_validated(settings) -> None:
    with pytest.raises(ProbeConfigError):
        NanInjection(**settings)


def test_settings_are_keyword_only_and_sorted() -> None:
    probe = NanInjection(poison_batch_sizes=(64, 1, 8, 8))
    assert probe.poison_batch_sizes == (1, 8, 64)
    with pytest.raises(TypeError):
        NanInjection(1000)  # type: ignore[misc]


# -- stacked calls ------------------------------------------------------------


def _wide(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(8)})
    return X.assign(y=(rng.random(n) < expit(X.x0 - X.x1)).astype(int))


def picky_about_x5(X: pd.DataFrame) -> np.ndarray:
    """Refuses NaN in x5 only, handles it elsewhere."""
    if X["x5"].isna().any():
        raise ValueError("x5 must not be missing")
    return expit(X["x0"].fillna(0) - X["x1"].fillna(0)).to_numpy()


@pytest.mark.parametrize("stack_rows", [1, 50_000])
def test_stacked_calls_give_each_injection_the_outcome_it_alone_causes(stack_rows) -> None:
    model = auditkit.wrap(picky_about_x5, output="scores")
    result = run(model, auditkit.AuditData(_wide(), "y"), stack_rows=stack_rows, fuzz_examples=0)
    grid = result.metrics["grid"]
    for column in (f"x{i}" for i in range(8)):
        for name in ("nan", "none"):
            want = "rejected" if column == "x5" else "handled"
            assert grid[column][name] == {rate: want for rate in RATES}, (column, name)


def test_stacking_spends_far_fewer_calls_than_batches() -> None:
    model = auditkit.wrap(picky_about_x5, output="scores")
    data = auditkit.AuditData(_wide(), "y")
    alone = run(model, data, stack_rows=1, fuzz_examples=0).metrics["queries"]
    stacked = run(model, data, stack_rows=50_000, fuzz_examples=0).metrics["queries"]
    # Computed another way: stack_rows=1 sends every distinct injected batch alone.
    assert stacked < alone / 2, (stacked, alone)


def test_a_hang_in_a_stacked_call_says_which_columns_it_held() -> None:
    model = auditkit.wrap(slow_on_nan, output="scores")
    # A budget well above the clean call's time, however busy the machine: a stack the
    # clean call's pace says would take half of it is split (the safety stop), never sent whole.
    result = run(model, numeric_data(), call_timeout_s=1.0, **FAST)
    crash = only(result, "crash_on_malformed_input")[0]
    # The hung call stacked the missing values of several columns: the
    # finding names them and says it cannot tell which one hung.
    assert len(crash.features) >= 2
    assert "stacking" in crash.message and "which of them hung is not known" in crash.message


def drops_rows_with_nan(X: pd.DataFrame) -> np.ndarray:
    """Answers only the complete rows, without a word: the batch comes back short."""
    complete = X.notna().all(axis=1)
    return expit(X.loc[complete, "x1"].to_numpy(dtype=float))


def test_a_model_answering_fewer_rows_than_asked_is_silent_corruption() -> None:
    model = auditkit.wrap(drops_rows_with_nan, output="scores")
    result = run(model, numeric_data(), **FAST)
    corrupt = next(f for f in only(result, "silent_corruption") if f.metrics.get("family") == "missing")
    assert corrupt.severity is Severity.CRITICAL
    assert "299 outputs for 300 rows" in corrupt.message  # the one-cell rate: one row lost


def test_a_short_answer_on_the_audit_rows_is_the_models_failure() -> None:
    model = auditkit.wrap(lambda X: expit(X["x1"].to_numpy()[:-1]), output="scores", task="binary")
    card = auditkit.audit(model, numeric_data(), probes=["nan_injection"])
    result = card["nan_injection"]
    assert result.status == "error"
    assert result.reason == "the model returned 599 predictions for the 600 audit rows"


def test_past_its_budget_the_probe_stops_sending_batches() -> None:
    # A slow model and a short budget: the audit reports the probe as an error and the
    # probe, cancelled, sends no more batches once its current one is answered.
    import threading

    calls: list[int] = []

    def slow(X: pd.DataFrame) -> np.ndarray:
        calls.append(len(X))
        time.sleep(0.05)  # some hundreds of batches: half a minute, left to run
        return expit(X["x1"].to_numpy(dtype=float))

    model = auditkit.wrap(slow, output="scores")
    card = auditkit.audit(model, numeric_data(), probes=[NanInjection(**FAST)], config={"timeout_s": 0.5})
    assert card["nan_injection"].status == "error"
    deadline = time.perf_counter() + 5
    alive = lambda: any(t.name == "auditkit-probe-nan_injection" and t.is_alive() for t in threading.enumerate())  # noqa: E731
    while alive() and time.perf_counter() < deadline:
        time.sleep(0.01)
    assert not alive()
    sent = len(calls)
    time.sleep(0.2)
    assert len(calls) == sent


# -- overflow at the edge of the float range ---------------------------------------


def serious(result):
    return [(f.severity.value, f.code, f.message) for f in result.findings if f.severity >= Severity.MEDIUM]


@functools.cache
def scaled_ridge() -> tuple[object, auditkit.AuditData]:
    """StandardScaler then Ridge: weights of 3 and -2 per standard deviation, so 1e308 overflows to inf."""
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"x1": rng.normal(size=600), "x2": rng.normal(size=600), "x3": rng.normal(size=600)})
    y = 3 * X.x1 - 2 * X.x2 + 0.5 * X.x3 + rng.normal(scale=0.3, size=600)
    return make_pipeline(StandardScaler(), Ridge()).fit(X, y), auditkit.AuditData(X.assign(y=y), "y")


def test_scaled_ridge_overflow_is_a_low_finding_not_corruption() -> None:
    model, data = scaled_ridge()
    result = run(model, data, **FAST)
    assert result.status == "passed" and serious(result) == []
    finding = only(result, "float_overflow")[0]
    assert finding.severity is Severity.LOW
    assert "silent_corruption" not in codes(result) and "fuzz_counterexample" not in codes(result)
    m = result.metrics
    # 1e308 times a weight of about 3 is past float64's 1.8e308: overflow in every rate, for x1 and x2 at least.
    assert set(m["grid"]["x1"]["huge"].values()) == {"overflow"}
    assert {"x1", "x2"} <= set(finding.features)
    # Every other injection is rejected or handled as before.
    assert set(m["grid"]["x1"]["nan"].values()) == {"rejected"}
    assert set(m["grid"]["x1"]["out_of_range"].values()) == {"handled"}
    # Where it starts, computed another way: the row of the reproducer at each power of ten.
    ladder = m["overflow_ladders"]["x1/huge"]
    row = eval(finding.examples[0], {"pd": pd})
    column = finding.metrics["cells"][0]["column"]
    powers = [10.0**k for k in range(309)] if row.loc[0, column] > 0 else [-(10.0**k) for k in range(309)]
    with np.errstate(over="ignore", invalid="ignore"):
        out = model.predict(pd.concat([row] * 309, ignore_index=True).assign(**{column: powers}))
        assert not np.isfinite(model.predict(row)).all()
    first = int(np.argmax(~np.isfinite(out)))
    assert ladder["overflow"] and ladder["first_invalid"] in (1e308, 1e307)
    assert m["overflow_ladders"][f"{column}/{finding.metrics['cells'][0]['injection']}"]["first_invalid"] == powers[first]
    # The message says what it is, built from its template.
    example = finding.metrics["cells"][0]
    key = f"{column}/{example['injection']}"
    assert finding.message == OVERFLOW_MESSAGE.format(
        injections=finding.message.split("Injecting ")[1].split(" into ")[0],
        n_columns=len(finding.features), n_applicable=3, columns=", ".join(map(repr, finding.features)),
        what="NaN or infinite predictions", n_cells=finding.metrics["batches"], n_tried=finding.metrics["tried"],
        example=INJECTION_LABELS[example["injection"]], column=column, rate="one cell",
        problem="1 of 300 rows came back with NaN or infinite predictions",
        first=m["overflow_ladders"][key]["first_invalid"], last=m["overflow_ladders"][key]["last_valid"],
        limit=m["overflow_ladders"][key]["limit"], spans=PLAUSIBLE_SPANS, reproducer=finding.examples[0],
    )
    assert "float overflow at the edge of the range (float64 ends at 1.8e308" in finding.message
    assert "the output is finite up to 1e+30" in finding.message and "first turns NaN or infinite at 1e+30" in finding.message
    # Hypothesis' batches beyond any plausible magnitude are counted, not reported as counterexamples.
    assert m["fuzz"]["outcome"] is None and m["fuzz"]["search_error"] is None


def test_multinomial_logistic_regression_is_not_failed_by_overflow() -> None:
    frame = numeric_binary()
    y = np.digitize(frame.x1 + frame.x2, [-0.7, 0.7])
    X = frame[["x1", "x2", "x3"]]
    model = LogisticRegression().fit(X, y)
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(model.predict_proba(X.iloc[:1].assign(x1=1e308))).all()  # the repro of the review
    result = run(model, auditkit.AuditData(X.assign(y=y), "y"), **FAST)
    assert result.status == "passed" and serious(result) == []
    finding = only(result, "float_overflow")[0]
    assert finding.severity is Severity.LOW and "NaN or infinite probabilities" in finding.message
    assert set(result.metrics["grid"]["x1"]["huge"].values()) == {"overflow"}


def nan_passthrough(X: pd.DataFrame) -> np.ndarray:
    """A linear regression with no input check at all: NaN in, NaN out; inf in, inf out."""
    with np.errstate(over="ignore", invalid="ignore"):  # as a model that never looks
        return 2.0 * X["x1"].to_numpy(dtype=float) - X["x2"].to_numpy(dtype=float)


def test_nan_in_nan_out_stays_critical_beside_overflow() -> None:
    frame = numeric_binary()
    data = auditkit.AuditData(frame.assign(y=nan_passthrough(frame)), "y")
    result = run(auditkit.wrap(nan_passthrough, task="regression"), data, **FAST)
    assert result.status == "failed"
    corrupt = only(result, "silent_corruption")
    assert {f.severity for f in corrupt} == {Severity.CRITICAL}
    missing = next(f for f in corrupt if f.metrics["family"] == "missing")
    assert missing.features == ("x1", "x2") and "NaN or infinite predictions" in missing.message
    # Infinity in, infinity out is corruption; 1e308 times 2, past float64's end is overflow, apart and low.
    extreme = next(f for f in corrupt if f.metrics["family"] == "extreme")
    assert {c["injection"] for c in extreme.metrics["cells"]} == {"pos_inf", "neg_inf"}
    overflow = only(result, "float_overflow")[0]
    assert overflow.severity is Severity.LOW and overflow.features == ("x1",)
    assert {c["injection"] for c in overflow.metrics["cells"]} == {"huge", "neg_huge"}
    assert set(result.metrics["grid"]["x2"]["huge"].values()) == {"handled"}  # a weight of 1: 1e308 still finite


def sqrt_of_shifted(X: pd.DataFrame) -> np.ndarray:
    """NaN for x1 below -10 (a square root of a negative): not overflow, though -1e308 shows it too."""
    return expit(np.sqrt(X["x1"].to_numpy(dtype=float) + 10.0) - 3.0)


def test_nan_from_a_moderate_negative_value_is_not_called_overflow() -> None:
    model = auditkit.wrap(sqrt_of_shifted, output="scores")
    result = run(model, numeric_data(), **FAST)
    m = result.metrics
    assert set(m["grid"]["x1"]["neg_huge"].values()) == {"silent_corruption"}
    assert m["overflow_ladders"]["x1/neg_huge"]["first_invalid"] == -100.0
    assert not m["overflow_ladders"]["x1/neg_huge"]["overflow"]
    extreme = next(f for f in only(result, "silent_corruption") if f.metrics["family"] == "extreme")
    assert extreme.severity is Severity.CRITICAL and "neg_huge" in {c["injection"] for c in extreme.metrics["cells"]}
    assert "float_overflow" not in codes(result)


def test_a_fuzzed_batch_is_overflow_only_when_typical_values_cure_it() -> None:
    from auditkit.strategies import infer_schema
    from probes.nan_injection.calls import ModelCaller
    from probes.nan_injection.fuzz import _overflow_only
    from probes.nan_injection.outcome import Reference
    from probes.nan_injection.outcome import judge_answer as judge

    frame = numeric_binary()
    data = auditkit.AuditData(frame.assign(y=nan_passthrough(frame)), "y")
    model = auditkit.wrap(nan_passthrough, task="regression").bind(data)
    caller = ModelCaller(model, 10.0)
    schema = infer_schema(data)
    reference = Reference(model.outputs(data.X), "regression", None)

    def overflow_only(**cells: float) -> bool:
        X = pd.DataFrame({"x1": [0.5, 0.2], "x2": [0.5, -0.3], "x3": [0.5, 1.0]})
        for column, value in cells.items():
            X[column] = X[column].astype(object)
            X.loc[0, column] = value
        X = X.astype(float)
        return _overflow_only(caller, X, schema, reference, judge(caller.predictions(X), rows=2, reference=reference))

    try:
        assert overflow_only(x1=1e308)  # 2e308 is past float64's end; a typical x1 is answered
        assert overflow_only(x1=1.7e308, x2=-1e308)
        assert not overflow_only(x1=np.nan)  # NaN in, NaN out
        assert not overflow_only(x1=np.inf)
        assert not overflow_only(x1=1e308, x2=np.nan)  # the NaN stays when x1 is typical
        assert not overflow_only(x2=1e308)  # a weight of -1: finite output, nothing to excuse
    finally:
        caller.close()


def test_overflow_found_only_by_hypothesis_is_low_and_said_once() -> None:
    from probes.nan_injection import FUZZ_OVERFLOW_MESSAGE
    from probes.nan_injection.fuzz import FuzzResult
    from probes.nan_injection.judge import _fuzz_findings

    example = "pd.DataFrame({'x1': [1.7976931348623157e+308], 'x2': [0.1]})"
    fuzzed = FuzzResult(examples=20, planned=20, generated=20, overflow_batches=3, overflow_example=example)
    finding = _fuzz_findings(fuzzed, overflow_reported=False)[0]
    assert finding.code == "float_overflow" and finding.severity is Severity.LOW
    assert finding.message == FUZZ_OVERFLOW_MESSAGE.format(batches=3, reproducer=example)
    assert finding.examples == (example,)
    # The grid's finding already says it, with where overflow starts: not twice.
    assert _fuzz_findings(fuzzed, overflow_reported=True) == []
    assert _fuzz_findings(FuzzResult(examples=20, planned=20, generated=20), overflow_reported=False) == []



# -- a model that writes into its input (issue #22) ----------------------------------


class ZeroesTwoColumns:
    """Right predictions, but it writes zeros into two columns of the frame it is
    given, as a feature step doing ``X["x2"] = 0`` in place would."""

    def fit(self, X: pd.DataFrame, y) -> ZeroesTwoColumns:
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.classes_ = np.array([0, 1])
        self.inner_ = LogisticRegression().fit(X, y)
        return self

    def predict_proba(self, X):
        p = self.inner_.predict_proba(X)
        X["x2"] = 0.0
        X["x3"] = 0.0
        return p

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def test_a_model_writing_into_its_input_is_named_and_corrupts_no_baseline() -> None:
    from probes.nan_injection import MUTATES_INPUT_MESSAGE

    frame = numeric_binary()
    model = ZeroesTwoColumns().fit(frame.drop(columns="y"), frame["y"])
    data = numeric_data()
    before = data.frame.copy()
    result = run(model, data, **FAST)
    # Before every call got its own copy, the zeroed columns of the clean sample made
    # four critical silent_corruption findings blame NaN injected elsewhere.
    assert codes(result) == ["mutates_input"]
    finding = only(result, "mutates_input")[0]
    assert finding.severity is Severity.HIGH and finding.features == ("x2", "x3")
    assert finding.message == MUTATES_INPUT_MESSAGE.format(rows=300, n_columns=2, columns="'x2', 'x3'")
    assert list(result.metrics["input_writes"]) == ["x2", "x3"]
    assert data.frame.equals(before)
    # A model that leaves its input alone is not named.
    quiet = run(ValidatingModel().fit(frame.drop(columns="y"), frame["y"]), data, **FAST)
    assert list(quiet.metrics["input_writes"]) == [] and "mutates_input" not in codes(quiet)


# -- figures and the work as a count ----------------------------------------------------------


_WORST_FIRST = ("silent_corruption", "crashed", "overflow", "not_run", "rejected", "handled")


def test_the_grid_figure_draws_overflow_as_overflow() -> None:
    from probes.nan_injection import INJECTION_HEADERS

    model, data = scaled_ridge()
    card = auditkit.audit(model, data, probes=[NanInjection(**FAST)], seed=0)
    result = card["nan_injection"]
    grid, faults = result.figures
    assert grid.kind == "outcome_grid" and grid.rows == ("x1", "x2", "x3")
    cells = {(c.row, c.column): c for c in grid.cells}
    # Computed another way: each cell is the worst of its rates in the metrics' grid.
    m = result.metrics["grid"]
    assert len(cells) == sum(len(v) for v in m.values())
    for column, injections in m.items():
        for name, rates in injections.items():
            cell = cells[(column, INJECTION_HEADERS[name])]
            assert cell.outcome == min(rates.values(), key=_WORST_FIRST.index), (column, name)
    assert cells[("x1", "1e308")].outcome == "overflow"
    assert cells[("x1", "1e308")].detail == "3 batches: 3 overflow"
    assert cells[("x1", "NaN")].detail == "3 batches: 3 rejected (ValueError)"
    assert auditkit.figure_from_dict(grid.to_dict()) == grid
    assert {c.column for c in faults.cells} == set(FRAME_FAULT_LABELS.values())
    # The report draws the probe's overflow cells as overflow, never as handled.
    page = auditkit.render_html(card)
    assert 'x1 x 1e308: overflow; 3 batches: 3 overflow' in page
    assert 'data-outcome="overflow"' in page


def test_the_work_is_a_count_and_the_fuzz_budget_a_reported_stop() -> None:
    frame = numeric_binary()
    model = ValidatingModel().fit(frame.drop(columns="y"), frame["y"])
    first, again = (run(model, numeric_data(), **FAST).metrics for _ in range(2))
    assert first["queries"] == again["queries"] and first["fuzz"] == again["fuzz"]
    assert first["fuzz"]["generated"] == first["fuzz"]["planned"] == 20 and first["fuzz"]["not_run"] == 0
    # The time budget only stops the search, and what it cut is said.
    cut = run(model, numeric_data(), sample_size=300, fuzz_seconds=1e-9).metrics
    assert cut["fuzz"]["stopped_early"] and cut["fuzz"]["not_run"] == 20 - cut["fuzz"]["generated"] > 0
    assert cut["not_run"]["fuzz_batches"] == cut["fuzz"]["not_run"]
    assert cut["not_run"]["why"] == "the fuzzing's time budget ran out"
    assert cut["queries"] < first["queries"] and cut["grid"] == first["grid"]
