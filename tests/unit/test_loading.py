"""Model files: safe by default, with a clear refusal for what could run code."""

from __future__ import annotations

import operator

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from auditkit import ModelFileError, UntrustedModelError, load_model


@pytest.fixture
def fitted() -> LogisticRegression:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    return LogisticRegression().fit(X, X[:, 0] > 0)


def test_skops_files_of_scikit_learn_types_load(tmp_path, fitted) -> None:
    path = tmp_path / "m.skops"
    sio.dump(fitted, path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.coef_, fitted.coef_)


def test_skops_files_with_foreign_types_need_trust(tmp_path, fitted) -> None:
    path = tmp_path / "m.skops"
    sio.dump(make_pipeline(FunctionTransformer(operator.neg), fitted), path)
    with pytest.raises(UntrustedModelError, match="outside scikit-learn, numpy and scipy \\(_operator.neg\\)"):
        load_model(path)
    assert load_model(path, trust=True)[-1].coef_.shape == (1, 2)


def test_pickles_are_refused_without_trust(tmp_path, fitted) -> None:
    path = tmp_path / "m.joblib"
    joblib.dump(fitted, path)
    with pytest.raises(UntrustedModelError, match="unpickling a .joblib file runs whatever code it contains"):
        load_model(path)
    assert load_model(path, trust=True).coef_.shape == (1, 2)


def test_missing_corrupt_and_unknown_files(tmp_path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "nope.skops")
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError, match="not a valid .skops file"):
        load_model(bad)
    odd = tmp_path / "model.onnx"
    odd.write_bytes(b"x")
    with pytest.raises(ModelFileError, match="unknown model file type '.onnx'"):
        load_model(odd)
    garbage = tmp_path / "m.pt"
    garbage.write_bytes(b"garbage")
    pytest.importorskip("torch")
    with pytest.raises(ModelFileError, match="cannot load m.pt as TorchScript"):
        load_model(garbage)
