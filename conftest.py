"""Fixtures for auditkit's own test suite.

The shipped datasets (examples/data) and the zoo of deliberately flawed models,
each with one defect. Probe-specific zoo members live beside their probe's tests.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent
DATA_DIR = ROOT / "examples" / "data"

# The plugin's tests run pytest inside pytest. Declared here because pytest
# accepts pytest_plugins only in the root conftest.
pytest_plugins = ["pytester"]


def _load_datasets_module():
    spec = importlib.util.spec_from_file_location("auditkit_example_datasets", DATA_DIR / "datasets.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


datasets = _load_datasets_module()


def _load_synthetic_module():
    # Test modules import these generators as ``auditkit_test_synthetic``: a name
    # of its own, because pytester's inner runs replace sys.modules["conftest"].
    path = ROOT / "tests" / "synthetic.py"
    spec = importlib.util.spec_from_file_location("auditkit_test_synthetic", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    sys.modules["auditkit_test_synthetic"] = module
    return module


make_clean_binary = _load_synthetic_module().make_clean_binary


def pytest_configure(config: pytest.Config) -> None:
    # Two cores, and pytest-xdist runs a worker on each: one BLAS/OpenMP thread
    # per worker keeps HistGradientBoosting from fighting itself for the cores.
    from threadpoolctl import threadpool_limits

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    config._auditkit_threadpool_limit = threadpool_limits(limits=1)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR


@pytest.fixture(scope="session")
def titanic_frame() -> pd.DataFrame:
    return datasets.titanic()


@pytest.fixture(scope="session")
def adult_train() -> pd.DataFrame:
    return datasets.adult("train")


@pytest.fixture(scope="session")
def adult_test() -> pd.DataFrame:
    return datasets.adult("test")


@pytest.fixture(scope="session")
def german_frame() -> pd.DataFrame:
    return datasets.german()


@pytest.fixture(scope="session")
def student_frame() -> pd.DataFrame:
    return datasets.student("mat")


@pytest.fixture
def clean_binary() -> pd.DataFrame:
    return make_clean_binary()


@pytest.fixture
def clean_model(clean_binary: pd.DataFrame):
    """A scikit-learn pipeline fitted on the clean problem (one-hot for text columns)."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X = clean_binary.drop(columns="y")
    pre = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["color", "group"]), remainder="passthrough"
    )
    return make_pipeline(pre, LogisticRegression()).fit(X, clean_binary["y"])


# -- the zoo: deliberately flawed models and datasets, one defect each --------------
#
# Every member is a model with its audit data, built on the same clean problem
# (make_clean_binary), with exactly one planted defect and named by the probe
# that must catch it. tests/test_zoo.py checks that each trips its own probe
# and passes the others; the healthy control passes them all.

ZOO_ROWS = 2000
# Costs under which the clean model's own rule (predict at 0.5) is right:
# symmetric, so the Bayes threshold is 0.5 (Elkan 2001).
SYMMETRIC_COSTS = {"fp": 1.0, "fn": 1.0}
# Costs under which that same rule wastes money: the Bayes threshold is
# 1 / (1 + 10) = 0.09, and predicting everyone positive would cost less.
LOPSIDED_COSTS = {"fp": 1.0, "fn": 10.0}


@dataclass(frozen=True)
class ZooMember:
    """A model, its audit data, and the probe its one defect must trip (None: healthy).

    ``skipped`` names the probes that do not apply to this member, and why it
    is so by design (the test checks that they say they are skipped).
    """

    name: str
    model: Any
    data: Any
    defect: str | None
    skipped: tuple[str, ...] = ()


def _zoo_frames(extra: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows and audit rows of the clean problem, drawn independently."""
    train, audit = make_clean_binary(ZOO_ROWS, seed=100), make_clean_binary(ZOO_ROWS, seed=101)
    if extra is not None:
        train, audit = extra(train), extra(audit)
    return train, audit


def _fit_pipeline(train: pd.DataFrame) -> Any:
    """A careful scikit-learn pipeline: imputers, one-hot with unseen categories ignored."""
    from pandas.api.types import is_numeric_dtype
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X = train.drop(columns="y")
    numbers = [c for c in X.columns if is_numeric_dtype(X[c])]
    text = [c for c in X.columns if c not in numbers]
    pre = make_column_transformer(
        (SimpleImputer(strategy="median"), numbers),
        (
            make_pipeline(
                SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore", sparse_output=False)
            ),
            text,
        ),
    )
    return make_pipeline(pre, LogisticRegression()).fit(X, train["y"])


def _zoo_data(audit: pd.DataFrame, train: pd.DataFrame, costs: Any = SYMMETRIC_COSTS) -> Any:
    import auditkit

    return auditkit.AuditData(audit, target="y", reference=train, sensitive=["group"], costs=costs)


@pytest.fixture(scope="session")
def zoo_healthy() -> ZooMember:
    """The control: an honest model on clean data, its rule right for the costs."""
    train, audit = _zoo_frames()
    return ZooMember("healthy", _fit_pipeline(train), _zoo_data(audit, train), defect=None)


@pytest.fixture(scope="session")
def zoo_leaky_feature() -> ZooMember:
    """A column recorded after the outcome, trained on and present at audit:
    ``account_closed`` is set exactly when the outcome happened. (With a noisy
    copy the model would also fail the rows where the copy is wrong, a real
    slice-bias finding too; the zoo keeps one defect per member.)"""

    def add_leak(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(account_closed=frame["y"])

    train, audit = _zoo_frames(add_leak)
    return ZooMember("leaky_feature", _fit_pipeline(train), _zoo_data(audit, train), defect="target_leakage")


def make_group_shift(n: int, seed: int, share_b: float) -> pd.DataFrame:
    """The clean problem, except that in group "b" the signal runs the other way;
    ``share_b`` of the rows belong to "b"."""
    frame = make_clean_binary(n, seed)
    rng = np.random.default_rng(seed + 2000)
    group = np.where(rng.random(n) < share_b, "b", "a")
    logit = 0.8 * frame["x1"] - 0.6 * frame["x2"] + np.where(frame["color"] == "red", 0.5, 0.0)
    logit = np.where(group == "b", -logit, logit)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame.assign(group=group, y=y)


@pytest.fixture(scope="session")
def zoo_biased_group() -> ZooMember:
    """A model trained on rows that are 97% group "a": it learns a's relation and
    gets group "b", where the relation is reversed, mostly wrong. No costs are
    given: what errors cost per group would show the same gap again, and this
    member's defect belongs to slice_bias alone."""
    train, audit = make_group_shift(ZOO_ROWS, 200, share_b=0.03), make_group_shift(ZOO_ROWS, 201, share_b=0.5)
    return ZooMember(
        "biased_group",
        _fit_pipeline(train),
        _zoo_data(audit, train, costs=None),
        defect="slice_bias",
        skipped=("cost_weighted_errors",),
    )


class NumpyScorer:
    """A logistic model exported as its coefficients and applied with numpy, as
    production scoring code often is: no input validation, so a missing value
    goes in and a NaN score comes out, silently."""

    def __init__(self, coef: np.ndarray, intercept: float, features: list[str]) -> None:
        self.coef_ = np.asarray(coef, dtype=float)
        self.intercept_ = float(intercept)
        self.feature_names_in_ = np.asarray(features, dtype=object)
        self.classes_ = np.array([0, 1])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        z = np.asarray(X, dtype=float) @ self.coef_ + self.intercept_
        p = 1 / (1 + np.exp(-z))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        p = self.predict_proba(X)[:, 1]
        # NaN >= 0.5 is False: a NaN score quietly becomes the negative class.
        return (p >= 0.5).astype(int)


@pytest.fixture(scope="session")
def zoo_nan_propagating() -> ZooMember:
    """The clean problem scored by NumpyScorer, fitted on the numeric features."""
    from sklearn.linear_model import LogisticRegression

    train, audit = _zoo_frames()
    features = ["x1", "x2"]
    fitted = LogisticRegression().fit(train[features], train["y"])
    model = NumpyScorer(fitted.coef_[0], fitted.intercept_[0], features)
    return ZooMember("nan_propagating", model, _zoo_data(audit, train), defect="nan_injection")


@pytest.fixture(scope="session")
def zoo_cost_wasting_threshold() -> ZooMember:
    """The healthy model, deciding at 0.5 where a missed positive costs ten
    times a false alarm: its rule costs more than flagging everyone."""
    train, audit = _zoo_frames()
    return ZooMember(
        "cost_wasting_threshold",
        _fit_pipeline(train),
        _zoo_data(audit, train, costs=LOPSIDED_COSTS),
        defect="cost_weighted_errors",
    )


ZOO = ("zoo_healthy", "zoo_leaky_feature", "zoo_biased_group", "zoo_nan_propagating", "zoo_cost_wasting_threshold")


@pytest.fixture(scope="session")
def zoo_drifted_inputs() -> ZooMember:
    """A source system that changed how it spells missing: the sales channel was "NULL" when
    unknown in the training rows and arrives as "" in the audit rows. The channel says
    nothing about the outcome, so the model (which ignores categories it never saw) still
    decides as well as it did; only the data moved under it."""

    def add_channel(frame: pd.DataFrame, unknown: str, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        channel = rng.choice(["web", "store", "phone", unknown], size=len(frame), p=[0.4, 0.3, 0.15, 0.15])
        return frame.assign(channel=pd.array(channel, dtype="str"))

    train, audit = _zoo_frames()
    train, audit = add_channel(train, "NULL", 300), add_channel(audit, "", 301)
    return ZooMember("drifted_inputs", _fit_pipeline(train), _zoo_data(audit, train), defect="drift")
