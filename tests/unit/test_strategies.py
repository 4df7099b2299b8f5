"""auditkit.strategies: schema inference, valid and adversarial draws, shrinking, pasteable frames."""

from __future__ import annotations

import inspect
import math
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from pandas.api import types as ptypes

import auditkit
from auditkit import strategies
from auditkit.strategies import FAULTS, ColumnSchema, cells, fault_values, frames, infer_schema, rows, to_frame, to_source
from auditkit_test_synthetic import make_clean_binary

FIND = settings(database=None, deadline=None, max_examples=2000)


def mixed_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.lognormal(10, 1, size=n),
            "children": rng.integers(0, 5, size=n),
            "city": rng.choice(["Lyon", "Oslo", "Pune"], size=n, p=[0.6, 0.3, 0.1]),
            "member": rng.random(size=n) < 0.4,
            "since": pd.date_range("2020-01-01", periods=n, freq="D"),
            "note": pd.Series(rng.choice(["a", "b", None], size=n), dtype="str"),
            "y": rng.integers(0, 2, size=n),
        }
    )


@pytest.fixture(scope="module")
def data() -> auditkit.AuditData:
    return auditkit.AuditData(mixed_frame(), "y")


def by_name(schema):
    return {c.name: c for c in schema}


# -- the public surface -----------------------------------------------------------


def test_all_names_exist_and_are_documented() -> None:
    assert sorted(strategies.__all__) == sorted(
        ["FAULTS", "ColumnSchema", "Fault", "Schema", "cells", "fault_values", "frames", "infer_schema",
         "rows", "to_frame", "to_source"]
    )
    for name in strategies.__all__:
        obj = getattr(strategies, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert obj.__doc__, f"{name} has no docstring"
    assert auditkit.strategies is strategies


# -- schema -------------------------------------------------------------------


def test_schema_follows_the_audit_features_kinds_and_ranges(data) -> None:
    schema = infer_schema(data)
    assert [c.name for c in schema] == list(data.features)
    s = by_name(schema)
    frame = data.X
    assert s["income"].kind == "numeric" and s["income"].numeric and not s["income"].integer
    assert s["income"].low == frame.income.min() and s["income"].high == frame.income.max()
    assert s["income"].values[0] == pytest.approx(frame.income.median())
    assert s["children"].integer and s["children"].values[0] == int(frame.children.median())
    assert s["city"].kind == "categorical" and s["city"].values == tuple(frame.city.value_counts().index)
    assert s["member"].kind == "boolean" and not s["member"].textual
    assert s["since"].kind == "datetime" and s["since"].low == frame.since.min()
    assert s["note"].nullable and not s["city"].nullable
    assert infer_schema(schema) == schema
    assert [c.name for c in infer_schema(frame)] == list(frame.columns)
    with pytest.raises(TypeError):
        infer_schema([1, 2])


def test_series_keeps_the_dtype_only_when_every_value_fits(data) -> None:
    s = by_name(infer_schema(data))
    assert s["income"].series([1.0, None, math.inf]).dtype == np.float64
    assert s["income"].series([1.0, "null"]).dtype == object
    assert s["children"].series([1, 2]).dtype == np.int64
    assert s["children"].series([1, None]).dtype == np.float64
    assert s["city"].series(["Lyon", None]).dtype == data.X.city.dtype
    assert s["city"].series(["Lyon", 12345]).dtype == object
    # Lone surrogates cannot live in an Arrow string column: the column stays object, the value intact.
    bad = s["city"].series(["Lyon", "\udcff"])
    assert bad.dtype == object and bad.iloc[1] == "\udcff"
    assert s["member"].series([True, False]).dtype == bool
    assert s["member"].series([True, None]).dtype == object
    assert s["since"].series([pd.Timestamp("2021-01-01"), None]).dtype.kind == "M"
    assert s["since"].series([12345]).dtype == object


def test_a_category_the_dtype_does_not_know_is_kept_not_turned_into_nan() -> None:
    frame = pd.DataFrame({"c": pd.Series(["a", "b"] * 10, dtype="category"), "y": [0, 1] * 10})
    column = infer_schema(auditkit.AuditData(frame, "y"))[0]
    assert isinstance(column.series(["a"]).dtype, pd.CategoricalDtype)
    unseen = column.series(["a", "zzz"])
    assert unseen.dtype == object and unseen.tolist() == ["a", "zzz"]


# -- fault values -------------------------------------------------------------


def test_fault_values_fit_the_column_kind(data) -> None:
    s = by_name(infer_schema(data))
    assert set(fault_values(s["income"], "missing")) == {"nan", "none", "empty_string", "null_text", "nan_text", "na_text"}
    extreme = fault_values(s["income"], "extreme")
    assert extreme["pos_inf"] == math.inf and extreme["huge"] == 1e308
    span = s["income"].high - s["income"].low
    assert extreme["out_of_range"] == pytest.approx(s["income"].high + 1000 * span)
    assert isinstance(fault_values(s["income"], "wrong_type")["wrong_type"], str)
    assert isinstance(fault_values(s["city"], "wrong_type")["wrong_type"], int)
    assert fault_values(s["income"], "unseen") == {} and fault_values(s["income"], "garbled") == {}
    assert fault_values(s["city"], "unseen")["unseen_category"] not in s["city"].values
    garbled = fault_values(s["city"], "garbled")
    with pytest.raises(UnicodeEncodeError):
        garbled["invalid_utf8"].encode("utf-8")
    assert any(ord(ch) < 32 for ch in garbled["control_chars"])
    with pytest.raises(ValueError, match="unknown fault"):
        fault_values(s["city"], "typo")  # type: ignore[arg-type]


# -- strategies ---------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=st.data())
def test_valid_frames_match_the_schema(X, ) -> None:
    data = auditkit.AuditData(mixed_frame(), "y")
    frame = X.draw(frames(data, max_rows=8))
    reference = data.X
    assert list(frame.columns) == list(reference.columns) and 1 <= len(frame) <= 8
    for column in ("income", "children", "member", "since"):
        assert frame[column].dtype == reference[column].dtype
    assert ptypes.is_string_dtype(frame["city"].dtype)
    assert frame.income.between(reference.income.min(), reference.income.max()).all()
    assert set(frame.city) <= set(reference.city)
    assert frame.since.between(reference.since.min(), reference.since.max()).all()


@settings(max_examples=30, deadline=None)
@given(row=rows(make_clean_binary(200)[["x1", "x2", "color", "group"]]))
def test_rows_are_dicts_over_the_columns_in_order(row) -> None:
    assert list(row) == ["x1", "x2", "color", "group"]
    assert row["color"] in {"red", "green", "blue"}


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_family_is_drawn(data, fault) -> None:
    s = by_name(infer_schema(data))
    column = s["city"] if fault in ("unseen", "garbled") else s["income"]
    listed = list(fault_values(column, fault).values())
    value = find(
        cells(column, adversarial=[fault], fault_rate=0.5),
        lambda v: any(v is x or v == x for x in listed),
        settings=FIND, random=random.Random(0),
    )
    assert any(value is x or value == x for x in listed)


def test_a_shrunk_row_has_typical_values_but_in_the_failing_cell() -> None:
    frame = make_clean_binary(500)[["x1", "x2", "color", "y"]]
    data = auditkit.AuditData(frame, "y")
    row = find(rows(data, adversarial=True), lambda r: isinstance(r["x2"], float) and math.isnan(r["x2"]),
               settings=FIND, random=random.Random(0))
    assert math.isnan(row["x2"])
    assert row["x1"] == pytest.approx(frame.x1.median())
    assert row["color"] == frame.color.value_counts().index[0]


def test_a_failing_frame_holds_the_failing_cell() -> None:
    data = auditkit.AuditData(make_clean_binary(300)[["x1", "color", "y"]], "y")
    generate_only = settings(FIND, phases=[Phase.generate])
    X = find(frames(data, adversarial=["garbled"], max_rows=4), lambda X: X["color"].map(lambda v: "\x00" in str(v)).any(),
             settings=generate_only, random=random.Random(0))
    assert 1 <= len(X) <= 4 and X["color"].map(lambda v: "\x00" in str(v)).any()


def test_composes_with_given_as_a_property_test(clean_model) -> None:
    data = auditkit.AuditData(make_clean_binary(300), "y")

    @settings(max_examples=30, deadline=None, database=None)
    @given(X=frames(data, adversarial=True, max_rows=5))
    def no_row_makes_the_model_return_nan(X):
        try:
            proba = clean_model.predict_proba(X)
        except (ValueError, TypeError, KeyError):
            return
        assert np.isfinite(proba).all()

    no_row_makes_the_model_return_nan()


def test_argument_checks(data) -> None:
    column = infer_schema(data)[0]
    with pytest.raises(ValueError, match="fault_rate"):
        cells(column, adversarial=True, fault_rate=0)
    with pytest.raises(ValueError, match="unknown fault"):
        cells(column, adversarial=["nope"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="min_rows"):
        frames(data, min_rows=3, max_rows=2)
    with pytest.raises(KeyError, match="zzz"):
        to_frame([{"zzz": 1}], data)


# -- to_frame, to_source ----------------------------------------------------------


def test_to_frame_restores_dtypes(data) -> None:
    X = to_frame([{"income": 1.5, "children": 2, "city": "Oslo", "member": True, "since": pd.Timestamp("2021-01-01"), "note": "a"}], data)
    assert list(X.dtypes) == list(data.X.dtypes)
    assert to_frame([], data).shape == (0, 6)


def test_to_source_pastes_back_to_the_same_values() -> None:
    frame = pd.DataFrame(
        {
            "a": [math.nan, math.inf, -math.inf, 1e308, 0.1],
            "b": pd.Series(["x", "\x00\x1b[2J", "caf\udce9", 12345, None], dtype=object),
            "c": [pd.Timestamp("2020-01-02"), pd.NaT, pd.Timestamp("2021-05-06T07:08:09"), pd.NaT, pd.NaT],
            "d": [1, 2, 3, 4, 5],
        }
    )
    text = to_source(frame)
    assert 'float("nan")' in text and 'float("-inf")' in text
    pd.testing.assert_frame_equal(eval(text, {"pd": pd}), frame)
    assert "'x' * 10000" in to_source(pd.DataFrame({"t": ["x" * 10_000]}))


def test_column_schema_is_frozen() -> None:
    column = ColumnSchema("a", "numeric", np.dtype(float))
    with pytest.raises(AttributeError):
        column.name = "b"  # type: ignore[misc]
