"""AuditData: roles, kinds, and a clear error for every user mistake."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from auditkit import AuditData, DataError, infer_kind


def frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "amount": rng.normal(size=n),
            "city": rng.choice(["Oslo", "Lima", "Pune"], size=n),
            "flag": rng.random(n) > 0.5,
            "when": pd.date_range("2024-01-01", periods=n, freq="D"),
            "note": [f"customer wrote a long complaint number {i} today" for i in range(n)],
            "y": np.tile([0, 1], n // 2),
        }
    )


def test_kinds_are_inferred_for_every_column() -> None:
    data = AuditData(frame(), target="y")
    assert data.kinds == {
        "customer_id": "identifier",
        "amount": "numeric",
        "city": "categorical",
        "flag": "boolean",
        "when": "datetime",
        "note": "text",
        "y": "numeric",
    }


def test_text_dates_and_string_ids_are_recognised() -> None:
    n = 30
    s_dates = pd.Series([f"2024-03-{(i % 28) + 1:02d}" for i in range(n)], name="signup")
    s_ids = pd.Series([f"A{i:05d}" for i in range(n)], name="ticket")
    assert infer_kind(s_dates) == "datetime"
    assert infer_kind(s_ids) == "identifier"
    # Twelve distinct integers out of twelve rows are not enough to call a key.
    assert infer_kind(pd.Series(range(12), name="age")) == "numeric"


def test_kind_overrides_win_and_are_validated() -> None:
    data = AuditData(frame(), target="y", kinds={"customer_id": "categorical"})
    assert data.kinds["customer_id"] == "categorical"
    with pytest.raises(DataError, match="kind 'number' for column 'amount'"):
        AuditData(frame(), target="y", kinds={"amount": "number"})
    with pytest.raises(DataError, match="'nope', which is not in the audit data"):
        AuditData(frame(), target="y", kinds={"nope": "numeric"})


def test_roles_are_excluded_from_features() -> None:
    df = frame().assign(pred=0, score=0.5)
    data = AuditData(df, target="y", ids="customer_id", time="when", ignore=["note"], prediction="pred", score="score")
    assert data.features == ("amount", "city", "flag")
    assert list(data.X.columns) == ["amount", "city", "flag"]
    assert data.y.name == "y"


def test_task_follows_the_target() -> None:
    df = frame()
    assert AuditData(df, target="y").task == "binary"
    assert AuditData(df.assign(c=np.tile(["a", "b", "c", "d"], 10)), target="c").task == "multiclass"
    assert AuditData(df, target="amount").task == "regression"
    grades = df.assign(g=np.arange(40) % 20)  # 0-20 grades: a quantity, not 20 classes
    assert AuditData(grades, target="g").task == "regression"


def test_positive_class_is_the_last_sorted_label(adult_train: pd.DataFrame) -> None:
    data = AuditData(adult_train.head(500), target="income")
    assert list(data.classes) == ["<=50K", ">50K"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "missing"}, "target column 'missing' is not in the audit data"),
        ({"target": "y", "sensitive": ["gender"]}, "sensitive column 'gender' is not in the audit data"),
        ({"target": "y", "time": "ts"}, "time column 'ts' is not in the audit data"),
        ({"target": "y", "ids": "uid"}, "ids column 'uid' is not in the audit data"),
        ({"target": "y", "prediction": "p"}, "prediction column 'p' is not in the audit data"),
        ({"target": "y", "prediction": "y"}, "prediction column 'y' is the target itself"),
        ({"target": "y", "costs": {"fp": 1}}, "binary costs need both 'fp' and 'fn'"),
        ({"target": "y", "costs": {"fp": 1, "fn": "ten"}}, "cost 'fn' must be a number"),
        ({"target": "y", "costs": "city"}, "costs column 'city' must be numeric"),
        ({"target": "y", "costs": [[0, 1, 2], [1, 0, 3]]}, "cost matrix must be square"),
    ],
)
def test_mistakes_name_the_column_and_the_problem(kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        AuditData(frame(), **kwargs)


def test_a_sensitive_column_must_split_the_rows_into_groups() -> None:
    df = frame().assign(country="DE", unknown=np.nan)
    with pytest.raises(DataError, match=r"sensitive column 'country' holds one value \('DE'\) in every row"):
        AuditData(df, "y", sensitive=["city", "country"])
    with pytest.raises(DataError, match="sensitive column 'unknown' is missing in every row: there are no groups"):
        AuditData(df, "y", sensitive="unknown")
    df.loc[:5, "country"] = None  # one value where there is one: still a single group
    with pytest.raises(DataError, match="holds one value"):
        AuditData(df, "y", sensitive="country")
    assert AuditData(df.assign(country=np.where(np.arange(40) < 20, "DE", "FR")), "y", sensitive="country")


def test_costs_must_fit_the_target_and_price_errors_at_zero_or_more() -> None:
    df = frame()
    df["value"] = np.linspace(-5, 34, 40)
    with pytest.raises(DataError, match=r"costs column 'value' has 5 negative value\(s\), as low as -5"):
        AuditData(df, "y", costs="value")
    with pytest.raises(DataError, match="prices errors off its diagonal at zero or more; it has -1"):
        AuditData(df, "y", costs=[[0, -1], [5, 0]])
    # labelled, rows in another order: -1 (actual 1, predicted 1) and -2 (0, 0) are gains of right answers
    gains = AuditData(df, "y", costs=pd.DataFrame([[5, -1], [-2, 1]], index=[1, 0], columns=[0, 1]))
    assert gains.costs.shape == (2, 2)
    with pytest.raises(DataError, match="off its diagonal at zero or more; it has -2"):
        AuditData(df, "y", costs=pd.DataFrame([[5, -1], [-2, 1]], index=[0, 1], columns=[0, 1]))
    with pytest.raises(DataError, match=r"labelled 'bad', 'good', which are not classes of target 'y' \(0, 1\)"):
        AuditData(df, "y", costs=pd.DataFrame([[0, 1], [5, 0]], index=["good", "bad"], columns=["good", "bad"]))
    three = df.assign(y=np.arange(40) % 3)
    with pytest.raises(DataError, match="'y' has 3 distinct values; price its errors with a cost matrix"):
        AuditData(three, "y", costs={"fp": 1, "fn": 5})
    numbers = df.assign(y=np.linspace(0, 1, 40))
    with pytest.raises(DataError, match="price its errors with cost_weighted_errors' over/under settings"):
        AuditData(numbers, "y", costs={"fp": 1, "fn": 5})
    with pytest.raises(DataError, match="a cost matrix prices errors between classes, but target 'y' holds numbers"):
        AuditData(numbers, "y", costs=[[0, 1], [1, 0]])


def test_empty_frame_is_refused() -> None:
    with pytest.raises(DataError, match="empty: it has 0 rows"):
        AuditData(frame().iloc[:0], target="y")


def test_single_class_target_is_refused() -> None:
    with pytest.raises(DataError, match="single class \\(1\\) in all 40 rows"):
        AuditData(frame().assign(y=1), target="y")


def test_missing_target_values_are_refused() -> None:
    df = frame().astype({"y": float})
    df.loc[3, "y"] = np.nan
    with pytest.raises(DataError, match="target column 'y' has 1 missing value"):
        AuditData(df, target="y")


def test_duplicated_column_names_are_refused() -> None:
    df = pd.concat([frame(), frame()[["amount"]]], axis=1)
    with pytest.raises(DataError, match="duplicated column names: 'amount'"):
        AuditData(df, target="y")


def test_reference_with_other_columns_is_refused() -> None:
    with pytest.raises(DataError, match="different columns .* missing 'city'"):
        AuditData(frame(), target="y", reference=frame().drop(columns="city"))
    with pytest.raises(DataError, match="extra 'bonus'"):
        AuditData(frame(), target="y", reference=frame().assign(bonus=1))
    ok = AuditData(frame().assign(pred=1), target="y", prediction="pred", reference=frame())
    assert ok.reference is not None and len(ok.reference) == 40


def test_the_users_frame_is_never_touched() -> None:
    df = frame()
    before = df.copy()
    data = AuditData(df, target="y", sensitive="city")
    pd.testing.assert_frame_equal(df, before)
    # ...and a change the user makes afterwards does not leak into the audit.
    df.loc[0, "amount"] = 1e9
    assert data.frame.loc[0, "amount"] == before.loc[0, "amount"]


def test_a_repeated_index_is_replaced_by_row_positions_with_a_warning() -> None:
    df = frame().set_axis([7] * 40, axis=0)  # e.g. frames concatenated without ignore_index
    before = df.copy()
    with pytest.warns(UserWarning) as caught:
        data = AuditData(df, target="y", reference=df.iloc[:10])
    assert [str(w.message) for w in caught] == [
        "the audit data has a repeated index label (7 labels 40 rows); findings name its example rows "
        "by position (0 to 39) instead",
        "the reference data has a repeated index label (7 labels 10 rows); findings name its example rows "
        "by position (0 to 9) instead",
    ]
    assert list(data.frame.index) == list(range(40))
    assert list(data.reference.index) == list(range(10))
    pd.testing.assert_frame_equal(df, before)  # the user's frame keeps its labels


def test_a_leak_in_data_with_a_repeated_index_names_distinct_rows() -> None:
    import auditkit
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    n = 400
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["y"] = (df["a"] + rng.normal(size=n) > 0).astype(int)
    df["outcome_code"] = df["y"] * 10 + 1  # recorded after the outcome: separates the classes alone
    df.index = [7] * n
    model = LogisticRegression().fit(df[["a", "b"]], df["y"])
    with pytest.warns(UserWarning, match="repeated index label"):
        data = AuditData(df, target="y")
    card = auditkit.audit(model, data, probes=["target_leakage"], progress=False)
    examples = [e for f in card["target_leakage"].findings if "outcome_code" in f.features for e in f.examples]
    assert examples, card["target_leakage"].findings
    assert len(set(examples)) == len(examples) and all(0 <= e < n for e in examples)


def test_numpy_and_arrow_input_are_accepted() -> None:
    X = np.arange(60, dtype=float).reshape(30, 2)
    y = np.tile([0, 1], 15)
    data = AuditData(X, target=y)
    assert data.features == ("x0", "x1") and data.target == "target"
    pa = pytest.importorskip("pyarrow")
    table = pa.Table.from_pandas(frame())
    assert AuditData(table, target="y").n_rows == 40
    with pytest.raises(DataError, match="must be a pandas, polars or pyarrow table"):
        AuditData([1, 2, 3], target="y")


def test_digest_is_stable_and_sensitive_to_content() -> None:
    a = AuditData(frame(), target="y")
    b = AuditData(frame(), target="y")
    c = AuditData(frame().assign(amount=lambda d: d.amount + 1e-9), target="y")
    assert a.sha256 == b.sha256 != c.sha256
    assert a.describe() == {"rows": 40, "columns": 7, "target": "y", "sensitive": [], "sha256": a.sha256}


def test_the_user_s_frames_keep_their_column_names() -> None:
    # Non-string column names are renamed for the audit, on auditkit's own copies.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({0: rng.normal(size=50), 1: rng.normal(size=50), "y": rng.integers(0, 2, 50)})
    reference = frame.copy()
    data = AuditData(frame, target="y", reference=reference)
    assert list(frame.columns) == [0, 1, "y"] and list(reference.columns) == [0, 1, "y"]
    assert list(data.X.columns) == ["0", "1"] and list(data.reference.columns) == ["0", "1", "y"]


@pytest.mark.parametrize(("costs", "message"), [
    ({"fp": -1, "fn": 5}, "cost 'fp' must be zero or more"),
    ({"fp": 0, "fn": 0}, "errors cost nothing"),
    ("c", r"costs column 'c' has 2 missing or infinite value\(s\)"),
])
def test_costs_that_price_nothing_or_are_missing_are_refused(costs, message) -> None:
    frame = pd.DataFrame({"x": range(10), "c": [1.0] * 8 + [np.nan, np.inf], "y": [0, 1] * 5})
    with pytest.raises(DataError, match=message):
        AuditData(frame, target="y", costs=costs)


@pytest.mark.parametrize(("roles", "message"), [
    ({"sensitive": "pred", "prediction": "pred"}, "sensitive column 'pred' is also the stored prediction column"),
    ({"score": "pred", "prediction": "pred"}, "score column 'pred' is also the stored prediction column"),
    ({"time": "g"}, "time column 'g' does not hold dates or times: 40 of its 40 values are not"),
    ({"sensitive": 5}, "sensitive must be a column name or a list of names; got int 5"),
])
def test_roles_that_cannot_be_are_refused(roles, message) -> None:
    frame = pd.DataFrame({"a": np.arange(40.0), "g": ["x", "y"] * 20, "pred": [0, 1] * 20, "y": [0, 1] * 20})
    with pytest.raises(DataError, match=message):
        AuditData(frame, target="y", **roles)


def test_a_column_named_twice_in_a_role_counts_once_and_times_may_be_dates_or_numbers() -> None:
    frame = pd.DataFrame({"g": ["x", "y"] * 20, "y": [0, 1] * 20, "year": range(2000, 2040),
                          "day": pd.date_range("2020-01-01", periods=40).astype(str)})
    assert AuditData(frame, target="y", sensitive=["g", "g"]).sensitive == ("g",)
    for time in ("year", "day"):
        assert AuditData(frame, target="y", time=time).time == time


@pytest.mark.parametrize(("change", "message"), [
    ({"y": ["no", "yes"] * 20}, "the reference data's column 'y' holds str values where the audit data's holds int64"),
    ({"a": ["p"] * 40}, "the reference data's column 'a' holds str values where the audit data's holds float64"),
    ({"y": [5, 6] * 20}, "the reference data's target 'y' shares no value with the audit data's"),
])
def test_a_reference_of_other_kinds_of_values_is_refused(change, message) -> None:
    frame = pd.DataFrame({"a": np.arange(40.0), "y": [0, 1] * 20})
    with pytest.raises(DataError, match=re.escape(message)):
        AuditData(frame, target="y", reference=frame.assign(**change))
    # the same classes written as floats are the same classes
    assert AuditData(frame, target="y", reference=frame.assign(y=[0.0, 1.0] * 20)).reference is not None


@pytest.mark.parametrize(("kw", "message"), [
    ({"kinds": ["a"]}, "kinds must map column names to kinds"),
    ({"costs": [["one", 1], [2, 0]]}, "costs must be {'fp': ..., 'fn': ...}, a square cost matrix of numbers"),
    ({"costs": pd.DataFrame([["one", 1.0], [2.0, 0.0]])}, "a cost matrix must hold numbers only"),
])
def test_arguments_of_the_wrong_shape_are_data_errors(kw, message) -> None:
    frame = pd.DataFrame({"a": np.arange(40.0), "y": [0, 1] * 20})
    with pytest.raises(DataError, match=re.escape(message)):
        AuditData(frame, target="y", **kw)


def test_class_keys_match_a_class_however_it_is_written() -> None:
    assert AuditData.class_key(1) == AuditData.class_key(1.0) == AuditData.class_key(" 1") == "1"
    assert AuditData.class_key(np.int64(2)) == "2" and AuditData.class_key(0.5) == "0.5"
    assert AuditData.class_key(" bad ") == "bad"


# -- nested columns: Parquet lists and structs (issue #22) -------------------------------


def _logged(n: int = 40) -> pd.DataFrame:
    """What logged features look like read back from Parquet: an embedding, tag lists, a payload."""
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(0)
    table = pa.table({
        "a": rng.normal(size=n),
        "y": [0, 1] * (n // 2),
        "embedding": pa.array([[0.25, i / 8, 1.0] for i in range(n)], pa.list_(pa.float64())),
        "payload": pa.array([{"source": "web", "clicks": i} for i in range(n)]),
    })
    return table.to_pandas()  # lists come back as numpy arrays, structs as dicts


@pytest.mark.parametrize(("column", "held"), [
    ("embedding", "holds arrays (such as [0.25, 0.0, 1.0])"),
    ("payload", "holds dicts (a struct column) (such as {'source': 'web', 'clicks': 0})"),
])
def test_a_list_or_struct_column_is_a_data_error_naming_it_and_the_way_out(column: str, held: str) -> None:
    frame = _logged()
    other = "payload" if column == "embedding" else "embedding"
    with pytest.raises(DataError) as caught:
        AuditData(frame, target="y", ignore=[other])
    assert not isinstance(caught.value, TypeError)
    assert str(caught.value) == (
        f"column {column!r} {held}, which no probe can audit: set it aside with ignore=[{column!r}] "
        f"(on the command line: --ignore-column {column})"
    )


def test_a_nested_column_set_aside_stays_in_the_data_out_of_the_features() -> None:
    frame = _logged()
    data = AuditData(frame, target="y", ignore=["embedding", "payload"])
    assert data.features == ("a",)
    assert data.kinds["embedding"] == data.kinds["payload"] == "nested"
    assert data.describe()["columns"] == 4
    # the digest covers the nested cells too, whole (a long array prints shortened in numpy)
    again = AuditData(frame.copy(), target="y", ignore=["embedding", "payload"])
    assert data.sha256 == again.sha256
    changed = frame.copy()
    changed.at[3, "payload"] = {"source": "app", "clicks": 3}
    assert AuditData(changed, target="y", ignore=["embedding", "payload"]).sha256 != data.sha256
    # a part of the rows keeps the roles, and no declared kind makes lists countable
    assert data.replace(frame.iloc[:10]).kinds == data.kinds
    declared = AuditData(frame, target="y", ignore=["embedding", "payload"], kinds={"payload": "categorical"})
    assert declared.kinds["payload"] == "nested" and declared.sha256 == data.sha256
    with pytest.raises(DataError, match="kind 'nested' for column 'a' is not one of"):
        AuditData(frame, target="y", ignore=["embedding", "payload"], kinds={"a": "nested"})


def test_nested_columns_are_recognised_in_every_form() -> None:
    pa = pytest.importorskip("pyarrow")
    assert infer_kind(pd.Series([[1, 2], [3]] * 15, name="tags")) == "nested"
    assert infer_kind(pd.Series([{"k": 1}, None] * 15)) == "nested"
    assert infer_kind(pd.Series([np.zeros(2), np.ones(2)] * 15)) == "nested"
    arrow = pd.Series([[1.0], [2.0]] * 15, dtype=pd.ArrowDtype(pa.list_(pa.float64())))
    assert infer_kind(arrow) == "nested"
    assert infer_kind(pd.Series([1, "a", None] * 10, dtype=object)) == "categorical"  # mixed, but single values


@pytest.mark.parametrize(("role", "message"), [
    ({"target": "embedding"}, "target column 'embedding' holds arrays"),
    ({"target": "y", "sensitive": "payload", "ignore": "embedding"}, "sensitive column 'payload' holds dicts (a struct column)"),
    ({"target": "y", "ids": "embedding", "ignore": "payload"}, "ids column 'embedding' holds arrays"),
    # found by benchmarks/fuzz.py: ignored as well does not make a time column of lists readable
    ({"target": "y", "time": "embedding", "ignore": ["embedding", "payload"]}, "time column 'embedding' holds arrays"),
])
def test_a_nested_column_in_a_role_is_refused(role: dict, message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        AuditData(_logged(), **role)


def test_a_reference_with_a_nested_column_where_the_audit_data_has_values_is_refused() -> None:
    frame = _logged().drop(columns=["payload"])
    reference = frame.assign(a=[[1.0]] * len(frame))
    with pytest.raises(DataError, match=re.escape("the reference data's column 'a' holds lists (such as [1.0])")):
        AuditData(frame, target="y", ignore="embedding", reference=reference)


def test_bytes_and_an_index_of_missing_labels_are_read_not_crashed_on() -> None:
    # found by benchmarks/fuzz.py: a Parquet binary column (pandas' astype(str) decodes it as
    # UTF-8 and fails), and a CSV index column holding only gaps (value_counts dropped them)
    frame = pd.DataFrame({"raw": [b"\x80", b"ok", None] * 10, "y": [0, 1, 1] * 10})
    assert AuditData(frame, target="y").kinds["raw"] == "categorical"
    with pytest.warns(UserWarning, match="repeated index label \\(nan labels 30 rows\\)"):
        AuditData(frame.set_axis([np.nan] * 30), target="y")
