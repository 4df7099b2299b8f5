"""auditkit.wrap: one interface over scikit-learn, torch, functions and stored predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

import auditkit
from auditkit import AuditData, DataError, ModelError, wrap


@pytest.fixture
def numeric_binary() -> tuple[pd.DataFrame, AuditData]:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = np.where(X.a + 0.5 * X.b + rng.normal(scale=0.5, size=300) > 0, "yes", "no")
    df = X.assign(label=y)
    return df, AuditData(df, target="label")


def test_sklearn_classifier_with_string_labels(numeric_binary) -> None:
    df, data = numeric_binary
    est = LogisticRegression().fit(df[["a", "b"]], df.label)
    model = wrap(est).bind(data)
    assert model.capabilities.task == "binary"
    assert model.capabilities.probabilities and model.capabilities.queryable
    assert not model.capabilities.online
    p = model.predictions(data.X)
    np.testing.assert_array_equal(p.labels, est.predict(df[["a", "b"]]))
    np.testing.assert_allclose(p.scores, est.predict_proba(df[["a", "b"]])[:, 1])
    assert list(p.classes) == ["no", "yes"]


def test_sklearn_decision_function_only_gives_scores(numeric_binary) -> None:
    df, data = numeric_binary
    est = LinearSVC().fit(df[["a", "b"]], df.label)
    model = wrap(est).bind(data)
    assert not model.capabilities.probabilities
    p = model.predictions(data.X)
    assert p.proba is None
    np.testing.assert_allclose(p.scores, est.decision_function(df[["a", "b"]]))


def test_sklearn_regressor_and_array_fitted_models(numeric_binary) -> None:
    df, _ = numeric_binary
    reg = LinearRegression().fit(df[["a", "b"]].to_numpy(), df.a * 2)
    data = AuditData(df.assign(t=df.a * 2).drop(columns="label"), target="t")
    model = wrap(reg).bind(data)
    assert model.capabilities.task == "regression"
    np.testing.assert_allclose(model.predictions(data.X).labels, df.a * 2, atol=1e-9)


def test_model_and_data_that_do_not_fit_are_refused(numeric_binary) -> None:
    df, data = numeric_binary
    est = LogisticRegression().fit(df[["a", "b"]].assign(c=0.0), df.label)
    with pytest.raises(DataError, match="expects column\\(s\\) 'c'"):
        wrap(est).bind(data)
    other = LogisticRegression().fit(df[["a", "b"]], np.where(df.a > 0, "hi", "lo"))
    with pytest.raises(DataError, match="label\\(s\\) the model never predicts"):
        wrap(other).bind(data)
    with pytest.raises(ModelError, match="contradicts"):
        wrap(LogisticRegression().fit(df[["a", "b"]], df.label), task="regression")
    with pytest.raises(ModelError, match="cannot audit a int"):
        wrap(42)


def test_function_outputs_are_read_from_their_shape(numeric_binary) -> None:
    df, data = numeric_binary
    sig = lambda X: 1 / (1 + np.exp(-(X.a.to_numpy())))  # noqa: E731
    scores = wrap(sig).bind(data)
    assert scores.output == "scores" and scores.capabilities.probabilities
    p = scores.predictions(data.X)
    np.testing.assert_array_equal(p.labels, np.where(df.a >= 0, "yes", "no"))
    labels = wrap(lambda X: np.where(X.a > 0, "yes", "no")).bind(data)
    assert labels.output == "labels" and not labels.capabilities.probabilities
    proba = wrap(lambda X: np.column_stack([1 - sig(X), sig(X)])).bind(data)
    assert proba.output == "probabilities"
    np.testing.assert_allclose(proba.predictions(data.X).scores, sig(df))


def test_stored_labels_and_scores(numeric_binary) -> None:
    df, _ = numeric_binary
    score = 1 / (1 + np.exp(-df.a))
    stored = df.assign(vendor=np.where(score > 0.5, "yes", "no"), vscore=score)
    data = AuditData(stored, target="label", prediction="vendor", score="vscore")
    model = wrap(None).bind(data)
    assert model.kind == "stored" and not model.capabilities.queryable
    p = model.predictions(data.X)
    np.testing.assert_array_equal(p.labels, stored.vendor)
    np.testing.assert_allclose(p.scores, score)
    assert "vendor" not in data.features and "vscore" not in data.features
    with pytest.raises(ModelError, match="cannot be queried"):
        model.predict(data.X)


def test_stored_scores_alone_become_labels_at_one_half(numeric_binary) -> None:
    df, _ = numeric_binary
    data = AuditData(df.assign(s=1 / (1 + np.exp(-df.a))), target="label", prediction="s")
    p = wrap(None).bind(data).predictions(data.X)
    np.testing.assert_array_equal(p.labels, np.where(df.a >= 0, "yes", "no"))
    bad = AuditData(df.assign(s=df.a * 10), target="label", prediction="s")
    with pytest.raises(DataError, match="'s' holds neither classes of the target 'label' nor probabilities in \\[0, 1\\]"):
        wrap(None).bind(bad)
    with pytest.raises(ModelError, match="no model to audit"):
        wrap(None).bind(AuditData(df, target="label"))


def test_partial_fit_learner_updates_a_copy(numeric_binary) -> None:
    df, data = numeric_binary
    est = SGDClassifier(random_state=0).fit(df[["a", "b"]], df.label)
    model = wrap(est).bind(data)
    assert model.capabilities.online
    before = model.fingerprint()
    coef = est.coef_.copy()
    learner = model.learner()
    learner.update(data.X.iloc[:50], data.y.iloc[:50].to_numpy())
    np.testing.assert_array_equal(est.coef_, coef)
    assert model.fingerprint() == before
    assert learner.model().fingerprint() != before


torch = pytest.importorskip("torch")


class _Net(torch.nn.Module):
    def __init__(self, outputs: int = 1) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(2, outputs)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x):  # dropout: outputs differ in train mode, so eval mode shows
        return self.lin(self.drop(x))


def test_torch_logits_become_probabilities_in_eval_mode(numeric_binary) -> None:
    df, data = numeric_binary
    net = _Net().train()
    model = wrap(net, batch_size=7).bind(data)
    p = model.predictions(data.X)
    with torch.no_grad():
        logits = net.eval()(torch.tensor(df[["a", "b"]].to_numpy(), dtype=torch.float32)).numpy().ravel()
    net.train()
    np.testing.assert_allclose(p.scores, 1 / (1 + np.exp(-logits)), rtol=1e-5)
    np.testing.assert_array_equal(p.labels, np.where(logits > 0, "yes", "no"))
    assert net.training, "the wrapper must give the module back in the mode it found it"
    assert not any(param.grad is not None for param in net.parameters())


def test_torch_softmax_for_several_outputs_and_custom_tensor() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), "c": np.tile(["x", "y", "z"], 20)})
    data = AuditData(df, target="c")
    net = _Net(outputs=3)
    model = wrap(net, to_tensor=lambda X: torch.tensor(X[["a", "b"]].to_numpy(), dtype=torch.float32)).bind(data)
    assert model.capabilities.task == "multiclass"
    p = model.predictions(data.X)
    np.testing.assert_allclose(p.proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(p.labels) <= {"x", "y", "z"}


def test_torch_online_learner_leaves_the_users_module_alone(numeric_binary) -> None:
    df, data = numeric_binary
    net = _Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    model = wrap(net, optimizer=opt, loss_fn=torch.nn.BCEWithLogitsLoss()).bind(data)
    before = model.fingerprint()
    learner = model.learner()
    learner.update(data.X.iloc[:32], data.y.iloc[:32].to_numpy())
    assert model.fingerprint() == before
    assert learner.model().fingerprint() != before
    with pytest.raises(ModelError, match="needs both optimizer= and loss_fn="):
        wrap(net, optimizer=opt)


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_torchscript_files_load_as_modules(tmp_path, numeric_binary) -> None:
    _, data = numeric_binary
    scripted = torch.jit.script(_Net())
    path = tmp_path / "net.pt"
    torch.jit.save(scripted, str(path))
    model = wrap(str(path)).bind(data)
    assert model.kind == "torch"
    assert len(model.predictions(data.X)) == data.n_rows


def test_wrapping_is_idempotent_and_public_types_match() -> None:
    model = wrap(lambda X: np.zeros(len(X)))
    assert wrap(model) is model
    assert isinstance(model, auditkit.Model)


def _three_classes() -> tuple[pd.DataFrame, AuditData]:
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    y = np.select([X.a > 0.5, X.b > 0], ["high", "mid"], "low")
    df = X.assign(label=y)
    return df, AuditData(df, target="label")


@pytest.mark.parametrize("three", [False, True])
@pytest.mark.parametrize(
    "make",
    [
        lambda: HistGradientBoostingClassifier(max_iter=20, random_state=0),
        lambda: RandomForestClassifier(n_estimators=10, random_state=0),
        lambda: ExtraTreesClassifier(n_estimators=10, random_state=0),
        lambda: DecisionTreeClassifier(max_depth=4, random_state=0),
        lambda: make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=20, random_state=0)),
    ],
)
def test_one_pass_labels_are_exactly_those_of_predict(make, three, numeric_binary) -> None:
    df, data = _three_classes() if three else numeric_binary
    X = df[["a", "b"]]
    est = make().fit(X, df.label)
    p = wrap(est).bind(data).predictions(data.X)
    np.testing.assert_array_equal(p.labels, est.predict(X))
    np.testing.assert_array_equal(p.proba, est.predict_proba(X))


class _CountingScaler(StandardScaler):
    calls = 0

    def transform(self, X, copy=None):
        type(self).calls += 1
        return super().transform(X, copy=copy)


def test_argmax_classifiers_are_asked_once_and_others_twice(numeric_binary) -> None:
    df, data = numeric_binary
    for final, passes in ((HistGradientBoostingClassifier(max_iter=10), 1), (LogisticRegression(), 2)):
        est = make_pipeline(_CountingScaler(), final).fit(df[["a", "b"]], df.label)
        _CountingScaler.calls = 0
        wrap(est).bind(data).predictions(data.X)
        assert _CountingScaler.calls == passes, type(final).__name__


def test_outputs_read_probabilities_in_one_pass_and_take_their_most_probable_class(numeric_binary) -> None:
    from sklearn.model_selection import FixedThresholdClassifier

    df, data = numeric_binary
    X = df[["a", "b"]]
    # predict applies its own threshold: predictions follow it, outputs do not.
    est = FixedThresholdClassifier(LogisticRegression(), threshold=0.2, pos_label="yes").fit(X, df.label)
    model = wrap(est).bind(data)
    full, quick = model.predictions(data.X), model.outputs(data.X)
    np.testing.assert_array_equal(full.labels, est.predict(X))
    np.testing.assert_array_equal(quick.proba, est.predict_proba(X))
    np.testing.assert_array_equal(quick.labels, np.where(est.predict_proba(X)[:, 1] > 0.5, "yes", "no"))
    assert (quick.labels != full.labels).any()


@pytest.mark.parametrize(("roles", "aside"), [({"ids": "a"}, "an id column"), ({"ignore": ["b"]}, "ignored"),
                                              ({"time": "a"}, "the time column")])
def test_a_model_input_the_data_sets_aside_is_refused_when_bound(roles, aside) -> None:
    # The probes call the model on the features alone; without this, every call would fail.
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), "y": [0, 1] * 30})
    model = LogisticRegression().fit(frame[["a", "b"]], frame["y"])
    column = next(iter(roles.values()))
    column = column if isinstance(column, str) else column[0]
    with pytest.raises(auditkit.DataError, match=f"takes column '{column}' as input, but the audit data marks it as {aside}"):
        auditkit.audit(model, auditkit.AuditData(frame, "y", **roles), probes=["cost_weighted_errors"])


def test_an_option_a_wrapper_does_not_take_is_named_with_the_ones_it_does() -> None:
    with pytest.raises(ModelError, match=r"wrap\(\) has no option 'outptu' for a function; its options are: "
                                         r"task, output, classes, threshold; did you mean 'output'\?"):
        wrap(lambda X: np.zeros(len(X)), outptu="scores")
    model = LogisticRegression().fit(np.arange(10.0).reshape(-1, 1), [0, 1] * 5)
    with pytest.raises(ModelError, match="no option 'output' for a model with predict"):
        wrap(model, output="scores")


# -- every call hands the model a copy of its own (issue #22) --------------------------------


def _zero_a_and_b(X: pd.DataFrame) -> None:
    """What a careless feature step does to the frame it is given."""
    X["a"] = 0.0  # a column replaced
    X.loc[X.index[0], "b"] = 99.0  # a cell written in place


class _WritingEstimator:
    """Predicts like ``inner``, then writes into the frame it was handed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.classes_ = inner.classes_
        self.feature_names_in_ = inner.feature_names_in_

    def predict_proba(self, X):
        p = self.inner.predict_proba(X)
        _zero_a_and_b(X)
        return p

    def predict(self, X):
        out = self.inner.predict(X)
        _zero_a_and_b(X)
        return out


def _writers(df: pd.DataFrame, data: AuditData) -> dict[str, object]:
    fitted = LogisticRegression().fit(df[["a", "b"]], df.label)

    def function(X: pd.DataFrame) -> np.ndarray:
        p = fitted.predict_proba(X[["a", "b"]])
        _zero_a_and_b(X)
        return p

    def to_tensor(X: pd.DataFrame):
        t = torch.tensor(X[["a", "b"]].to_numpy(), dtype=torch.float32)
        _zero_a_and_b(X)
        return t

    return {
        "estimator": wrap(_WritingEstimator(fitted)).bind(data),
        "function": wrap(function, output="probabilities").bind(data),
        "torch": wrap(_Net(), to_tensor=to_tensor).bind(data),
    }


def test_a_model_writing_into_its_input_changes_only_its_own_copy(numeric_binary) -> None:
    df, data = numeric_binary
    for kind, model in _writers(df, data).items():
        X = data.X.iloc[:40]
        before = X.copy()
        clean = model.predictions(before)
        for call in (model.predictions, model.outputs, model.predict, model.predict_proba):
            call(X)
        pd.testing.assert_frame_equal(X, before, obj=kind)
        # The same answers on the same frame, call after call: nothing it wrote came back.
        np.testing.assert_array_equal(model.predictions(X).labels, clean.labels, err_msg=kind)
        assert model.input_writes(X) == ("a", "b"), kind
        pd.testing.assert_frame_equal(X, before, obj=kind)


def test_a_model_that_leaves_its_input_alone_writes_nothing(numeric_binary) -> None:
    df, data = numeric_binary
    fitted = LogisticRegression().fit(df[["a", "b"]], df.label)
    for model in (wrap(fitted), wrap(lambda X: fitted.predict_proba(X), output="probabilities"), wrap(_Net())):
        assert model.bind(data).input_writes(data.X.iloc[:40]) == ()
    # Columns the model dropped or added in its copy count as written too.
    dropping = wrap(lambda X: (X.pop("b"), np.zeros(len(X)))[1], output="scores")
    adding = wrap(lambda X: (X.insert(0, "c", 1.0), np.zeros(len(X)))[1], output="scores")
    assert dropping.bind(data).input_writes(data.X.iloc[:40]) == ("b",)
    assert adding.bind(data).input_writes(data.X.iloc[:40]) == ("c",)
