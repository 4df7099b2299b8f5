"""Output that cannot be the model's answer is refused once, on the audit rows.

Every probe that needs predictions then reports the problem as its error,
instead of scoring the output as if the model had predicted the negative
class; healthy models of every kind are untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC

from auditkit import AuditData, DataError, Evidence, ModelFailure, Probe, audit, wrap
from auditkit._models._outputs import (
    NEITHER,
    NOT_CLASSES,
    NOT_FINITE,
    NOT_NUMBERS,
    NOT_SUMMING,
    OUTSIDE_UNIT,
    RETURNED_NONE,
    WRONG_COLUMNS,
    WRONG_LENGTH,
)
from auditkit._models._function import NOT_NUMBERS_DECLARED

ROWS = 600


@dataclass(frozen=True, kw_only=True)
class ReadsPredictions(Probe):
    """Measures accuracy from the shared predictions."""

    name: ClassVar[str] = "reads_predictions"

    def run(self, ctx):
        return Evidence(metrics={"accuracy": float(np.mean(ctx.predictions.labels == ctx.data.y.to_numpy()))})


@dataclass(frozen=True, kw_only=True)
class AlsoReadsPredictions(ReadsPredictions):
    name: ClassVar[str] = "also_reads_predictions"


@dataclass(frozen=True, kw_only=True)
class NeedsNoPredictions(Probe):
    """Looks at the data alone."""

    name: ClassVar[str] = "needs_no_predictions"

    def run(self, ctx):
        return Evidence(metrics={"rows": ctx.data.n_rows})


def _frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=ROWS), "b": rng.normal(size=ROWS)})
    return X.assign(y=(X.a + 0.5 * X.b + rng.normal(scale=0.5, size=ROWS) > 0).astype(int))


@pytest.fixture
def binary() -> AuditData:
    return AuditData(_frame(), target="y")


@pytest.fixture
def strings() -> AuditData:
    df = _frame()
    return AuditData(df.assign(y=np.where(df.y == 1, "yes", "no")), target="y")


@pytest.fixture
def regression() -> AuditData:
    df = _frame()
    return AuditData(df.assign(y=3 * df.a - df.b), target="y")


def _sigmoid(X: pd.DataFrame) -> np.ndarray:
    return 1 / (1 + np.exp(-(X.a.to_numpy() + 0.5 * X.b.to_numpy())))


def _reason(model: Any, data: AuditData) -> str | None:
    """The error every probe that needs predictions reports (the same for all)."""
    card = audit(model, data, probes=[ReadsPredictions(), AlsoReadsPredictions(), NeedsNoPredictions()])
    assert card["needs_no_predictions"].status == "passed"
    first, second = card["reads_predictions"], card["also_reads_predictions"]
    assert (first.status, first.reason) == (second.status, second.reason)
    return first.reason if first.status == "error" else None


# -- the model's output cannot be its answer --------------------------------------------


def test_the_broken_outputs_of_the_review_are_errors_not_negative_predictions(binary) -> None:
    a = binary.X.a
    cases: dict[str, tuple[Callable[[pd.DataFrame], Any], str]] = {
        "NaN": (lambda X: np.full(len(X), np.nan), NOT_FINITE.format(what="NaN", bad=ROWS, rows=ROWS)),
        "not classes": (lambda X: np.array(["cat"] * len(X)), NOT_CLASSES.format(shown="'cat'", classes="0, 1")),
        "three columns": (lambda X: np.zeros((len(X), 3)), WRONG_COLUMNS.format(k=3, columns="columns", n=2)),
        "raw features": (
            lambda X: X["a"].to_numpy(),
            NEITHER.format(classes="0, 1", low=a.min(), high=a.max()),
        ),
        "None": (lambda X: None, RETURNED_NONE.format(rows=ROWS)),
    }
    for name, (fn, expected) in cases.items():
        assert _reason(fn, binary) == expected, name


def test_a_built_in_probe_reports_the_broken_output(binary) -> None:
    card = audit(lambda X: np.full(len(X), np.nan), binary, probes=["slice_bias"])
    assert card["slice_bias"].status == "error"
    assert card["slice_bias"].reason == NOT_FINITE.format(what="NaN", bad=ROWS, rows=ROWS)
    assert not card.passed


def test_a_model_partly_nan_on_the_clean_rows_says_how_many(binary) -> None:
    holes = int((binary.X.a > 1.5).sum())
    partly = lambda X: np.where(X.a > 1.5, np.nan, _sigmoid(X))  # noqa: E731
    assert 0 < holes < ROWS
    assert _reason(partly, binary) == NOT_FINITE.format(what="NaN", bad=holes, rows=ROWS)
    labels = lambda X: np.where(X.a > 1.5, np.nan, (X.a > 0).astype(float))  # noqa: E731
    assert _reason(wrap(labels, output="labels"), binary) == NOT_FINITE.format(what="NaN", bad=holes, rows=ROWS)


def test_probabilities_that_are_not_probabilities(binary) -> None:
    logits = lambda X: X.a.to_numpy() * 3  # noqa: E731
    assert _reason(wrap(logits, output="scores"), binary) == OUTSIDE_UNIT.format(
        low=binary.X.a.min() * 3, high=binary.X.a.max() * 3
    )
    assert _reason(lambda X: np.zeros((len(X), 2)), binary) == NOT_SUMMING.format(bad=ROWS, rows=ROWS, low=0, high=0)
    random_columns = lambda X: np.random.default_rng(0).dirichlet(np.ones(3), size=len(X))  # noqa: E731
    assert _reason(random_columns, binary) == WRONG_COLUMNS.format(k=3, columns="columns", n=2)
    one_column = wrap(lambda X: _sigmoid(X)[:, None], output="probabilities")
    assert _reason(one_column, binary) == WRONG_COLUMNS.format(k=1, columns="column", n=2)


def test_declared_logits_become_probabilities_and_labels(binary, strings) -> None:
    from scipy.special import expit, softmax

    logit = lambda X: 4.0 * X.a.to_numpy() - 1.0  # noqa: E731  (a decision function, not a score in [0, 1])
    model = wrap(logit, output="logits").bind(binary)
    z = logit(binary.X)
    np.testing.assert_allclose(model.predict_proba(binary.X)[:, 1], expit(z))
    np.testing.assert_array_equal(model.predict(binary.X), (z >= 0).astype(int))  # sigmoid >= 0.5
    strict = wrap(logit, output="logits", threshold=0.9).bind(binary)
    np.testing.assert_array_equal(strict.predict(binary.X), (expit(z) >= 0.9).astype(int))
    assert _reason(wrap(logit, output="logits"), binary) is None
    # undeclared, the same numbers are refused with the way out named
    assert "declare output='logits'" in _reason(logit, binary)

    df = _frame()
    three = AuditData(df.assign(y=np.array(["a", "b", "c"])[np.arange(ROWS) % 3]), target="y")
    per_class = lambda X: np.column_stack([X.a, X.b, -X.a - X.b]).astype(float) * 3  # noqa: E731
    model = wrap(per_class, output="logits").bind(three)
    expected = softmax(per_class(three.X), axis=1)
    np.testing.assert_allclose(model.predict_proba(three.X), expected)
    np.testing.assert_array_equal(model.predict(three.X), np.array(["a", "b", "c"])[expected.argmax(axis=1)])
    assert _reason(wrap(per_class, output="logits"), three) is None
    # a logit that overflows exp() is a certain answer, not NaN
    huge = wrap(lambda X: np.where(X.a > 0, 1e4, -1e4), output="logits").bind(strings)
    assert set(np.unique(huge.predict_proba(strings.X)[:, 1])) == {0.0, 1.0}


def test_stored_scores_that_contradict_the_stored_labels_are_refused() -> None:
    rng = np.random.default_rng(3)
    p_bad = rng.random(ROWS)  # a vendor's probability of 'bad'; 'good' sorts last, so it is the positive class
    df = pd.DataFrame({"a": rng.normal(size=ROWS), "y": np.where(rng.random(ROWS) < p_bad, "bad", "good"),
                       "pred": np.where(p_bad >= 0.5, "bad", "good"), "score": p_bad})
    with pytest.raises(DataError, match=r"score column 'score' is read as the probability of 'good' .* store 1 - score"):
        audit(None, AuditData(df, "y", prediction="pred", score="score"), probes=[ReadsPredictions()])
    # the same numbers stored as P(good) agree with the labels, and are audited
    card = audit(None, AuditData(df.assign(score=1 - p_bad), "y", prediction="pred", score="score"),
                 probes=[ReadsPredictions()])
    assert card["reads_predictions"].status == "passed"
    # labels from another threshold still rank with the score: no refusal
    tuned = df.assign(score=1 - p_bad, pred=np.where(1 - p_bad >= 0.8, "good", "bad"))
    assert audit(None, AuditData(tuned, "y", prediction="pred", score="score"),
                 probes=[ReadsPredictions()])["reads_predictions"].status == "passed"


def test_a_stored_score_beside_labels_of_three_classes_is_refused_not_ignored() -> None:
    df = _frame()
    three = df.assign(y=np.array(["a", "b", "c"])[np.arange(ROWS) % 3], p=np.array(["a", "b", "c"])[np.arange(ROWS) % 3],
                      s=np.linspace(0, 1, ROWS))
    with pytest.raises(DataError, match="score column 's' holds one probability per row, which the 3 classes"):
        audit(None, AuditData(three, "y", prediction="p", score="s"), probes=[ReadsPredictions()])


def test_declared_numbers_that_are_not_numbers(binary) -> None:
    text = wrap(lambda X: np.where(X.a > 0, "high", "0.2"), output="scores")
    assert _reason(text, binary) == NOT_NUMBERS_DECLARED.format(shown="'high'", output="scores")
    assert _reason(wrap(lambda X: None, output="probabilities"), binary) == RETURNED_NONE.format(rows=ROWS)


def test_wrong_lengths_and_labels_of_another_kind(binary) -> None:
    assert _reason(lambda X: (X.a > 0).to_numpy()[1:], binary) == WRONG_LENGTH.format(n=ROWS - 1, rows=ROWS)
    as_text = lambda X: np.where(X.a > 0, "1", "0")  # noqa: E731  (the target holds the numbers 0 and 1)
    assert _reason(as_text, binary) == NOT_CLASSES.format(shown="'1', '0'", classes="0, 1")
    two = lambda X: np.where(X.a > 0, 2, 1)  # noqa: E731
    assert _reason(wrap(two, output="labels"), binary) == NEITHER.format(classes="0, 1", low=1, high=2)


def test_labels_of_another_kind_than_the_targets(strings) -> None:
    numbers = lambda X: (X.a > 0).astype(int).to_numpy()  # noqa: E731
    assert _reason(wrap(numbers, output="labels"), strings) == NOT_CLASSES.format(shown="1, 0", classes="'no', 'yes'")
    df = _frame()
    three = AuditData(df.assign(y=np.array(["a", "b", "c"])[np.arange(ROWS) % 3]), target="y")
    codes = lambda X: np.arange(len(X)) % 3  # noqa: E731
    assert _reason(codes, three) == NOT_CLASSES.format(shown="0, 1, 2", classes="'a', 'b', 'c'")


def test_regression_values_must_be_finite_numbers(regression) -> None:
    holes = int((regression.X.b < -1).sum())
    partly = lambda X: np.where(X.b < -1, np.nan, 3 * X.a)  # noqa: E731
    assert _reason(partly, regression) == NOT_FINITE.format(what="NaN", bad=holes, rows=ROWS)
    infinite = lambda X: np.where(X.b < -1, np.inf, 3 * X.a)  # noqa: E731
    assert _reason(infinite, regression) == NOT_FINITE.format(what="infinite values", bad=holes, rows=ROWS)
    text = lambda X: np.where(X.b < -1, "n/a", (3 * X.a).astype(str))  # noqa: E731
    assert _reason(text, regression) == NOT_NUMBERS.format(shown="'n/a'")
    assert _reason(lambda X: None, regression) == RETURNED_NONE.format(rows=ROWS)


def test_the_audit_rows_are_predicted_and_judged_once(binary) -> None:
    calls: list[int] = []

    def broken(X: pd.DataFrame) -> np.ndarray:
        calls.append(len(X))
        return np.full(len(X), np.nan)

    _reason(broken, binary)
    assert calls.count(ROWS) == 1


def test_a_torch_module_with_too_many_outputs(binary) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Linear(2, 3)
    assert _reason(wrap(net), binary) == WRONG_COLUMNS.format(k=3, columns="columns", n=2)


# -- the calls probes make themselves are not judged here ----------------------------------


def test_the_wrappers_own_calls_pass_malformed_output_on(binary) -> None:
    # nan_injection feeds malformed rows and judges what comes back itself.
    X = binary.X.iloc[:20]
    nan = wrap(lambda X: np.full(len(X), np.nan)).bind(binary)
    assert np.isnan(nan.outputs(X).proba).all() and np.isnan(nan.predictions(X).scores).all()
    cat = wrap(lambda X: np.array(["cat"] * len(X))).bind(binary)
    assert list(cat.outputs(X).labels) == ["cat"] * 20
    wide = wrap(lambda X: np.zeros((len(X), 3))).bind(binary)
    assert wide.outputs(X).proba.shape == (20, 3) and wide.predictions(X).labels.tolist() == [None] * 20
    none = wrap(lambda X: None, task="regression").bind(binary)
    assert none.predictions(X).labels.tolist() == [None]


# -- healthy models are untouched ---------------------------------------------------------


def _healthy(model: Any, data: AuditData) -> None:
    assert _reason(model, data) is None
    bound = wrap(model).bind(data)
    assert len(bound.predictions(data.X)) == ROWS


def test_healthy_scikit_learn_models(binary, strings, regression) -> None:
    features = ["a", "b"]
    for data in (binary, strings):
        y = data.y
        _healthy(LogisticRegression().fit(data.X[features], y), data)
        _healthy(HistGradientBoostingClassifier(max_iter=20).fit(data.X[features], y), data)  # one pass
        _healthy(LinearSVC().fit(data.X[features], y), data)  # decision values of any size
    _healthy(LinearRegression().fit(regression.X[features], regression.y), regression)


def test_healthy_functions(binary, strings, regression) -> None:
    _healthy(lambda X: (X.a > 0).astype(int).to_numpy(), binary)  # labels
    _healthy(lambda X: (X.a > 0).to_numpy(), binary)  # booleans for 0 and 1
    _healthy(lambda X: (X.a > 0).astype(float).to_numpy(), binary)  # 0.0 and 1.0
    _healthy(_sigmoid, binary)  # scores
    _healthy(lambda X: np.column_stack([1 - _sigmoid(X), _sigmoid(X)]), binary)  # probabilities
    _healthy(lambda X: (X.a > 0).astype(int).to_numpy()[:, None], binary)  # a column of labels
    _healthy(lambda X: np.where(X.a > 0, "yes", "no"), strings)  # string labels
    _healthy(lambda X: (100 * X.a - 40).to_numpy(), regression)  # any floats, far outside [0, 1]
    _healthy(lambda X: (3 * X.a - X.b).to_numpy()[:, None], regression)


def test_a_column_of_labels_is_read_as_labels(binary) -> None:
    model = wrap(lambda X: (X.a > 0).astype(int).to_numpy()[:, None]).bind(binary)
    assert model.predictions(binary.X).labels.shape == (ROWS,)


def test_healthy_torch_modules(binary) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    _healthy(wrap(torch.nn.Linear(2, 1)), binary)  # one logit
    _healthy(wrap(torch.nn.Linear(2, 2)), binary)  # two logits, softmax


def test_healthy_stored_predictions() -> None:
    df = _frame()
    score = 1 / (1 + np.exp(-df.a))
    stored = df.assign(vendor=(score > 0.5).astype(int), vscore=score)
    _healthy(None, AuditData(stored, target="y", prediction="vendor", score="vscore"))
    _healthy(None, AuditData(stored, target="y", prediction="vscore"))
    named = stored.assign(y=np.where(df.y == 1, "yes", "no"), vendor=np.where(score > 0.5, "yes", "no"))
    _healthy(None, AuditData(named, target="y", prediction="vendor"))
    values = df.assign(y=3 * df.a, vendor=3 * df.a + 0.1)
    _healthy(None, AuditData(values, target="y", prediction="vendor"))


# -- stored predictions are read at bind, and refused there ---------------------------------


def test_stored_predictions_that_cannot_be_answers_are_refused_at_bind() -> None:
    df = _frame()
    gaps = df.assign(y=np.where(df.y == 1, "yes", "no"), vendor=np.where(df.a > 1.5, None, "yes"))
    holes = int((df.a > 1.5).sum())
    with pytest.raises(DataError, match=f"^prediction column 'vendor' has {holes} missing value\\(s\\)$"):
        wrap(None).bind(AuditData(gaps, target="y", prediction="vendor"))
    three = df.assign(y=np.arange(ROWS) % 3, vendor=np.where(df.a > 1.5, np.nan, 1.0))
    with pytest.raises(DataError, match=f"has {holes} missing value"):
        wrap(None).bind(AuditData(three, target="y", prediction="vendor"))
    with pytest.raises(DataError, match="^prediction column 'vendor' holds neither classes of the target 'y' nor"):
        wrap(None).bind(AuditData(df.assign(vendor=np.where(df.a > 0, 2, 0)), target="y", prediction="vendor"))
    with pytest.raises(DataError, match="^score column 's' alone gives no labels for the 3 classes of target 'y'"):
        wrap(None).bind(AuditData(three.assign(s=0.5), target="y", score="s"))


def test_model_failure_is_what_the_shared_predictions_raise(binary) -> None:
    from auditkit._probe import SharedPredictions

    model = wrap(lambda X: np.array(["cat"] * len(X))).bind(binary)
    shared = SharedPredictions(model, lambda: binary.X)
    for _ in range(2):  # judged once, raised to every probe that asks
        with pytest.raises(ModelFailure, match="^the model's labels \\('cat'\\) are not classes of the target"):
            shared.get()


# -- one check, read whole (the shared predictions) and row by row (nan_injection) -----------


def test_one_check_says_what_is_wrong_whole_and_row_by_row(binary, regression) -> None:
    from auditkit import Predictions

    holes = (binary.X.a > 1.5).to_numpy()
    partly = wrap(lambda X: np.where(X.a > 1.5, np.nan, _sigmoid(X))).bind(binary)
    check = partly.outputs(binary.X).check(ROWS, "binary")
    # The sentence the shared predictions raise, and the rows nan_injection counts, from the same masks.
    assert check.problem == NOT_FINITE.format(what="NaN", bad=int(holes.sum()), rows=ROWS) == _reason(partly, binary)
    assert check.kinds == ("NaN or infinite probabilities",) and check.nonfinite_only and not check.ok
    np.testing.assert_array_equal(check.invalid_rows, holes)
    # A stacked answer is cut into its batches, each judged as if answered alone.
    first = check.part(slice(0, 100))
    assert first.rows == 100 and first.invalid_rows.sum() == holes[:100].sum()
    # A wrong shape is said in full for the audit rows and in short for a malformed batch.
    short = Predictions(labels=np.zeros(ROWS - 1)).check(ROWS, "regression")
    assert (short.problem, short.shape) == (WRONG_LENGTH.format(n=ROWS - 1, rows=ROWS), f"{ROWS - 1} outputs for {ROWS} rows")
    assert short.invalid_rows.all() and not short.ok
    cat = Predictions(labels=np.array(["cat"] * ROWS), classes=np.array([0, 1])).check(ROWS, "binary")
    assert cat.kinds == ("labels that are not classes of the target",) and not cat.nonfinite_only
    assert cat.problem == NOT_CLASSES.format(shown="'cat'", classes="0, 1")
    # Healthy outputs: no problem, no invalid row.
    fine = wrap(_sigmoid).bind(binary).outputs(binary.X).check(ROWS, "binary")
    assert fine.ok and fine.problem is None and not fine.invalid_rows.any()
    values = wrap(lambda X: (3 * X.a).to_numpy(), task="regression").bind(regression)
    assert values.predictions(regression.X).check(ROWS, "regression").ok
