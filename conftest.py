"""Fixtures for auditkit's own test suite.

The shipped datasets (examples/data) and the zoo of deliberately flawed models,
each with one defect. Probe-specific zoo members live beside their probe's tests.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

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


def make_clean_binary(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """A healthy classification problem: honest signal, mixed kinds, no defect planted."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    group = rng.choice(["a", "b"], size=n)
    logit = 0.8 * x1 - 0.6 * x2 + np.where(color == "red", 0.5, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "color": color, "group": group, "y": y})


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
