"""auditkit.strategies from a user's side: a property test in a user's suite.

The suite states "no batch makes the model return NaN" with ``@given`` over
``strategies.frames(data, adversarial=True)``. On a model without input
validation it must fail, and hypothesis must shrink the failure to one row
with one malformed cell, printed as Python the user can paste; on a model
that imputes, the same property holds.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

USER_SUITE = '''
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings

import auditkit
from auditkit import strategies

rng = np.random.default_rng(0)
FRAME = pd.DataFrame({
    "income": rng.normal(50, 10, 200).round(1),
    "city": rng.choice(["paris", "lyon", "nice"], 200),
    "y": rng.integers(0, 2, 200),
})
DATA = auditkit.AuditData(FRAME, target="y")
REJECTIONS = (ValueError, TypeError, KeyError)  # failing loudly is fine
# Derandomized and without the example database: the same examples every run.
# The health check on generation speed is off only because this suite runs on
# a loaded machine beside other tests, and the explain phase (which traces
# coverage for a failure's explanation) only to keep it fast: shrinking is on.
SETTINGS = settings(max_examples=100, database=None, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow], phases=[Phase.generate, Phase.shrink])


def fragile_model(X):
    """A hand-written score with no input validation: NaN in, NaN out."""
    return 1 / (1 + np.exp(-(X["income"].astype(float) - 50) / 10))


def careful_model(X):
    """The same score, with a missing income imputed by the training median."""
    income = X["income"].astype(float).fillna(50.0)
    return 1 / (1 + np.exp(-(income - 50) / 10))


@SETTINGS
@given(X=strategies.frames(DATA, adversarial=True))
def test_fragile_model_never_returns_nan(X):
    try:
        scores = fragile_model(X)
    except REJECTIONS:
        return
    assert np.isfinite(scores).all(), strategies.to_source(X)


@SETTINGS
@given(X=strategies.frames(DATA, adversarial=True))
def test_careful_model_never_returns_nan(X):
    try:
        scores = careful_model(X)
    except REJECTIONS:
        return
    assert np.isfinite(scores).all(), strategies.to_source(X)


@SETTINGS
@given(row=strategies.rows(DATA))
def test_valid_rows_score_between_0_and_1(row):
    X = strategies.to_frame([row], DATA)
    assert list(X.columns) == ["income", "city"]
    score = float(fragile_model(X).iloc[0])
    assert 0 <= score <= 1
'''


def _fragile_model(X: pd.DataFrame) -> pd.Series:
    return 1 / (1 + np.exp(-(X["income"].astype(float) - 50) / 10))


def test_property_fails_with_a_shrunk_pasteable_example(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_properties=USER_SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore::RuntimeWarning")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "test_fragile_model_never_returns_nan" in out.split("short test summary")[-1]
    # The shrunk example: one row, the income missing, a typical city; printed as Python.
    found = re.search(r"AssertionError: (pd\.DataFrame\(\{.*\}\))", out)
    assert found, out
    source = found.group(1)
    assert re.fullmatch(r"pd\.DataFrame\(\{'income': \[(float\(\"nan\"\)|None)\], 'city': \['(paris|lyon|nice)'\]\}\)", source), source
    # Pasted back, it reproduces the failure.
    frame = eval(source, {"pd": pd})  # noqa: S307 - the text the user would paste
    assert len(frame) == 1 and not np.isfinite(_fragile_model(frame)).all()
