"""Costs validated in one place (``auditkit._costs``), and the mergeable sums
``cost_weighted_errors`` measures with: any split of the rows, merged in any
grouping, gives the same numbers as the whole."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import auditkit
from auditkit import DataError, Part, Predictions, ProbeConfigError
from auditkit._costs import align_matrix, check_binary_costs, check_cost_column, check_costs, cost_matrix_frame
from auditkit._measure import fold
from probes.cost_weighted_errors import CostWeightedErrors
from probes.cost_weighted_errors.binary import BinarySweep
from probes.cost_weighted_errors.costs import BinaryCosts
from probes.cost_weighted_errors.groups import SensitiveValues, define_groups
from probes.cost_weighted_errors.sums import ExactSums, Moments, PairedDiffs, TopRows, ValueTable
from probes.cost_weighted_errors.sweep import threshold_sweep


def frame() -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(40.0), "y": [0, 1] * 20, "amount": np.linspace(1, 40, 40)})


# -- one place, one error type ------------------------------------------------------------


@pytest.mark.parametrize(
    ("costs", "message"),
    [
        ([[0, -1], [5, 0]], "prices errors off its diagonal at zero or more; it has -1"),
        ([[0, 1, 2], [1, 0, 3]], "a cost matrix must be square; got shape (2, 3)"),
        (pd.DataFrame([["one", 1.0], [2.0, 0.0]]), "a cost matrix must hold numbers only"),
        ([[0, np.nan], [1, 0]], "a cost matrix must hold finite numbers only"),
    ],
)
def test_a_bad_cost_matrix_is_the_same_data_error_in_the_data_and_in_the_probe_settings(costs, message) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")) as from_data:
        auditkit.AuditData(frame(), "y", costs=costs)
    # A probe setting is checked by the same function: its error says which setting, and carries the same DataError.
    with pytest.raises(ProbeConfigError, match="^cost_matrix: ") as from_settings:
        CostWeightedErrors(cost_matrix=costs)
    assert isinstance(from_settings.value.__cause__, DataError)
    assert str(from_settings.value.__cause__) == str(from_data.value)


def test_binary_costs_of_the_settings_follow_the_data_rules() -> None:
    with pytest.raises(ProbeConfigError, match="cost_fp/cost_fn: cost 'fp' must be zero or more"):
        CostWeightedErrors(cost_fp=-1, cost_fn=5)
    with pytest.raises(ProbeConfigError, match="errors cost nothing"):
        CostWeightedErrors(cost_fp=0, cost_fn=0)
    assert CostWeightedErrors(cost_fp=0, cost_fn=3, cost_tp=-2).cost_tp == -2  # a gain of a right answer
    assert check_binary_costs({"fp": 1, "fn": "5", "tn": -1}) == {"fp": 1.0, "fn": 5.0, "tn": -1.0}
    with pytest.raises(DataError, match="unknown cost key"):
        check_binary_costs({"fp": 1, "fn": 2, "fx": 3})


def test_checks_of_columns_and_labels() -> None:
    df = frame()
    assert check_costs("amount", df) == "amount" and check_cost_column(df, "amount")[0] == 1.0
    with pytest.raises(DataError, match="costs column 'z' is not in the audit data"):
        check_cost_column(df, "z")
    labelled = cost_matrix_frame({"1": {"0": 5, "1": 0}, "0": {"0": 0, "1": 1}}, mappings=True)
    values, note = align_matrix(labelled, np.array([0, 1]))
    assert note is None and values.tolist() == [[0, 1], [5, 0]]
    values, note = align_matrix(cost_matrix_frame([[0, 1], [5, 0]]), np.array(["a", "b"]))
    assert values.tolist() == [[0, 1], [5, 0]] and "order of the model's classes" in note
    with pytest.raises(DataError, match="labelled 'bad', 'good', which are not the model's classes"):
        align_matrix(pd.DataFrame([[0, 1], [5, 0]], index=["good", "bad"], columns=["good", "bad"]), np.array([0, 1]))
    with pytest.raises(DataError, match="as a mapping must map each actual class"):
        cost_matrix_frame({"a": 1}, mappings=True)


# -- the mergeable sums -----------------------------------------------------------------


def splits(n: int, data: st.DataObject) -> list[np.ndarray]:
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=6)))
    return np.split(np.arange(n), cuts)


def merged(states: list) -> object:
    """Pairwise, as ``auditkit``'s fold merges partitions."""
    while len(states) > 1:
        states = [states[i].merge(states[i + 1]) for i in range(0, len(states) - 1, 2)] + (
            [states[-1]] if len(states) % 2 else [])
    return states[0]


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.floats(-1e12, 1e12, allow_nan=False) | st.sampled_from([0.1, 1e-300, 3.0]), min_size=1,
                       max_size=60), data=st.data())
def test_exact_sums_are_the_correctly_rounded_sum_whatever_the_split(values: list[float], data) -> None:
    arr = np.asarray(values)
    buckets = np.arange(len(arr)) % 2
    states = []
    for rows in splits(len(arr), data):
        s = ExactSums(2)
        s.add(arr[rows][buckets[rows] == 0], 0)
        s.add(arr[rows][buckets[rows] == 1], 1)
        states.append(s)
    total = merged(states)
    assert total.values() == [math.fsum(arr[buckets == 0]), math.fsum(arr[buckets == 1])]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.sampled_from([-5.0, -1.0, 0.0, 1.0, 5.0, 0.1]), min_size=4, max_size=80), data=st.data())
def test_moments_and_tables_merge_to_those_of_all_rows(values: list[float], data) -> None:
    arr = np.asarray(values).reshape(-1, 2) if len(values) % 2 == 0 else np.asarray(values)[:, None]
    states = []
    for rows in splits(len(arr), data):
        m = PairedDiffs(arr.shape[1], max_rows=1000)
        m.add_rows(rows, arr[rows])
        states.append(m)
    whole = merged(states)
    rows, counts = np.unique(arr, axis=0, return_counts=True)
    assert whole.table.rows.tolist() == rows.tolist() and whole.table.counts.tolist() == counts.tolist()
    mean, std = whole.mean_std()
    np.testing.assert_allclose(mean, arr.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(std, arr.std(axis=0, ddof=1), rtol=1e-9, atol=1e-12)
    assert whole.rows().tolist() == arr.tolist()  # back in row order
    # the rows outside a subset, by difference
    inside = Moments(arr.shape[1])
    inside.add(arr[: len(arr) // 2])
    outside = whole.minus(inside)
    np.testing.assert_allclose(outside.mean_std()[0], arr[len(arr) // 2:].mean(axis=0), rtol=1e-12, atol=1e-12)


def test_a_table_of_many_distinct_values_overflows_and_falls_back_to_the_sums() -> None:
    table = ValueTable(1, limit=10)
    table.add(np.arange(5.0))
    assert table.rows is not None
    table.add(np.arange(5.0, 20.0))
    assert table.rows is None
    m = Moments(1)
    m.add(np.arange(3000.0))
    assert m.table.rows is None and m.mean_std()[0][0] == 1499.5


def test_top_rows_keep_the_largest_savings_first_then_the_earlier_row() -> None:
    key = np.array([1.0, 5.0, 5.0, 0.0, 3.0, 5.0, -2.0])
    states = []
    for rows in (np.arange(0, 3), np.arange(3, 7)):
        t = TopRows(3)
        t.add(key[rows], rows, columns={"k": key[rows]}, labels=rows * 10)
        states.append(t)
    top = merged(states)
    assert [item["row"] for item in top.items] == [10, 20, 50]


def parts_of(frame_: pd.DataFrame, scores: np.ndarray, labels: np.ndarray, cuts: list[np.ndarray]) -> list[Part]:
    preds = Predictions(labels=labels, scores=scores, proba=np.column_stack([1 - scores, scores]))
    return [Part(i, rows, frame_.iloc[rows], preds.take(rows)) for i, rows in enumerate(cuts)]


@settings(max_examples=40, deadline=None)
@given(scores=st.lists(st.integers(0, 6), min_size=2, max_size=50), data=st.data())
def test_the_sweep_over_merged_partitions_prices_every_threshold_exactly(scores: list[int], data) -> None:
    s = np.asarray(scores, dtype=float) / 6
    n = len(s)
    y = np.asarray(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    amount = np.asarray(data.draw(st.lists(st.integers(1, 9), min_size=n, max_size=n)), dtype=float)
    frame_ = pd.DataFrame({"y": y, "amount": amount})
    for costs in (BinaryCosts({"tp": 0.0, "fp": 1.0, "fn": 5.0, "tn": 0.0}),
                  BinaryCosts({"tp": 0.0, "fp": 2.0, "fn": 1.0, "tn": 0.0}, frozenset({"fn"}), "amount")):
        one = fold(lambda: BinarySweep(costs, 1, "y", 7, 3), parts_of(frame_, s, y, [np.arange(n)]))
        many = fold(lambda: BinarySweep(costs, 1, "y", 7, 3), parts_of(frame_, s, y, splits(n, data)))
        assert one.thresholds.tolist() == many.thresholds.tolist() and one.totals.tolist() == many.totals.tolist()
        assert one.fold_thresholds.tolist() == many.fold_thresholds.tolist()
        scale = amount if costs.per_row else None
        if_pos = costs.if_positive(y == 1, scale)
        if_neg = costs.if_negative(y == 1, scale)
        for t, total in zip(one.thresholds, one.totals):
            assert total == np.where(s >= t, if_pos, if_neg).sum()
        order = np.argsort(-s)
        _, direct = threshold_sweep(s[order], (if_pos - if_neg)[order], float(if_neg.sum()))
        assert one.totals.tolist() == direct.tolist()


def test_groups_come_out_the_same_for_any_split_with_exact_quartiles() -> None:
    rng = np.random.default_rng(3)
    frame_ = pd.DataFrame({"age": rng.integers(18, 90, 500).astype(float), "city": rng.choice(["b", "a", "c"], 500)})
    frame_.loc[[3, 77], "age"] = np.nan
    found = [fold(lambda: SensitiveValues(["age", "city"]), [Part(i, r, frame_.iloc[r]) for i, r in enumerate(cuts)])
             for cuts in ([np.arange(500)], np.array_split(np.arange(500), 7))]
    one, seven = (define_groups(f) for f in found)
    assert one == seven
    edges = np.unique(np.nanquantile(frame_["age"], [0, 0.25, 0.5, 0.75, 1]))
    quartiles = [g for g in one if g.column == "age" and g.low is not None]
    assert [g.low for g in quartiles] == edges[:-1].tolist() and quartiles[-1].high == edges[-1]
    assert [g.label for g in one if g.column == "age"][-1] == "age is null"
    assert [g.value for g in one if g.column == "city"] == list(pd.unique(frame_["city"]))  # first seen first
