"""A scikit-learn credit model audited in a pytest suite: German credit data.

Shows the two session fixtures auditkit's pytest plugin builds on,
``audit_model`` (any model ``auditkit.wrap`` accepts: here a fitted
scikit-learn pipeline) and ``audit_data`` (an ``auditkit.AuditData`` that
names the target, the sensitive column, the training rows and what a
mistake costs). The tests are in test_audit.py and test_properties.py.

    pytest examples/credit_pytest                      # one test per probe
    pytest examples/credit_pytest -k slice_bias        # one probe
    pytest examples/credit_pytest -n 2 --audit-json scorecard.json --junitxml junit.xml
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

import auditkit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
import datasets  # noqa: E402  (examples/data/datasets.py: loaders of the shipped datasets)

TARGET = "bad_risk"  # 1: the applicant turned out a bad credit risk
# german.doc's cost matrix: a bad risk granted credit (a false negative of
# "bad_risk") costs 5, a good one refused (a false positive) costs 1.
COSTS = {"fp": 1, "fn": 5}
# Attribute 9 codes sex and marital status together; A92 and A95 are women.
FEMALE_CODES = ("A92", "A95")


def credit_frame() -> pd.DataFrame:
    frame = datasets.german()
    frame[TARGET] = (frame.pop("credit_risk") == 2).astype(int)
    frame["sex"] = frame["personal_status_sex"].isin(FEMALE_CODES).map({True: "female", False: "male"})
    return frame


def fit_credit_model(train: pd.DataFrame):
    """Logistic regression on every application field (not on the derived ``sex``)."""
    from pandas.api.types import is_numeric_dtype
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X = train.drop(columns=[TARGET, "sex"])
    numbers = [c for c in X.columns if is_numeric_dtype(X[c])]
    codes = [c for c in X.columns if c not in numbers]
    pre = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), codes),
    )
    return make_pipeline(pre, LogisticRegression(max_iter=1000)).fit(X, train[TARGET])


@pytest.fixture(scope="session")
def credit_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    frame = credit_frame()
    return tuple(train_test_split(frame, test_size=0.5, stratify=frame[TARGET], random_state=0))


@pytest.fixture(scope="session")
def audit_model(credit_split):
    train, _ = credit_split
    return fit_credit_model(train)


@pytest.fixture(scope="session")
def audit_data(credit_split) -> auditkit.AuditData:
    train, audit = credit_split
    return auditkit.AuditData(audit, target=TARGET, reference=train, sensitive=["sex"], costs=COSTS)
