"""The mergeable-measurement machinery: folding, partitions and the shared sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from auditkit._measure import Measurement, Part, fold, row_keys, sample_rows, split_rows


class _Sum(Measurement[tuple[int, float]]):
    def __init__(self) -> None:
        self.n, self.total = 0, 0.0

    def update(self, part: Part) -> None:
        self.n += len(part)
        self.total += float(part.frame["x"].sum())

    def merge(self, other: _Sum) -> _Sum:
        self.n += other.n
        self.total += other.total
        return self

    def finalize(self) -> tuple[int, float]:
        return self.n, self.total


def _parts(frame: pd.DataFrame, k: int) -> list[Part]:
    return [Part(i, rows, frame.iloc[rows]) for i, rows in enumerate(split_rows(len(frame), k))]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 200), k=st.integers(1, 25))
def test_split_rows_covers_every_row_once_in_order(n: int, k: int) -> None:
    parts = split_rows(n, k)
    assert len(parts) == k
    joined = np.concatenate(parts) if parts else np.empty(0)
    assert joined.tolist() == list(range(n))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 300), k=st.integers(1, 17))
def test_a_fold_gives_the_same_numbers_for_any_partitioning(n: int, k: int) -> None:
    frame = pd.DataFrame({"x": np.arange(n, dtype=float)})
    assert fold(_Sum, _parts(frame, k)) == fold(_Sum, _parts(frame, 1)) == (n, float(n * (n - 1) / 2))


def test_row_keys_are_uniform_and_depend_on_seed_and_row_alone() -> None:
    rows = np.arange(100_000)
    keys = row_keys(7, rows)
    assert 0 <= keys.min() and keys.max() < 1
    assert abs(keys.mean() - 0.5) < 0.01
    np.testing.assert_array_equal(row_keys(7, rows[500:600]), keys[500:600])
    assert not np.array_equal(row_keys(8, rows[:100]), keys[:100])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 400), k=st.integers(1, 12), size=st.integers(1, 100), seed=st.integers(0, 2**31))
def test_the_shared_sample_does_not_depend_on_partitioning(n: int, k: int, size: int, seed: int) -> None:
    frame = pd.DataFrame({"x": np.arange(n), "y": np.arange(n) % 3})
    one = sample_rows(_parts(frame, 1), seed, size)
    many = sample_rows(_parts(frame, k), seed, size)
    np.testing.assert_array_equal(one, many)
    assert len(one) == min(n, size)
    assert np.all(np.diff(one) > 0)


def test_a_stratified_sample_keeps_each_stratum_in_proportion_and_a_rare_one() -> None:
    y = np.r_[np.zeros(9_990, dtype=int), np.ones(10, dtype=int)]
    frame = pd.DataFrame({"y": y})
    strata = lambda part: part.frame["y"].to_numpy()  # noqa: E731
    rows = sample_rows(_parts(frame, 7), 1, 500, strata)
    again = sample_rows(_parts(frame, 1), 1, 500, strata)
    np.testing.assert_array_equal(rows, again)
    assert y[rows].sum() == 1  # 10 of 10,000 rows: 0.5 of 500, at least one kept
    assert abs(len(rows) - 500) <= 2
