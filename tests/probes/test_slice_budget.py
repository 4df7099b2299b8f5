"""The slice search keeps to its time budget however wide the data, without changing what it finds.

The search used to bound every pair of columns and walk every triple of them
before it first looked at its deadline: 166 million triples at a thousand
columns, minutes past a budget of seconds. These tests hold the search to its
clock with a fake one (no wall-clock timings, see tests/README.md), and hold
what it finds to the plain enumeration of pairs and triples it replaced.
"""

from __future__ import annotations

from itertools import combinations
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from probes._shared import slice_codes, slice_search


class Clock:
    """A stand-in for the search's clock: still until ``stop`` is called, then far past any deadline."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def perf_counter(self) -> float:
        self.reads += 1
        return self.now

    def stop(self) -> None:
        self.now = 1e9


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(slice_search, "time", SimpleNamespace(perf_counter=fake.perf_counter))
    return fake


class PlainLattice(slice_search._Lattice):
    """The search as it was: every pair of columns bounded, then every triple of columns walked."""

    def level_two(self, one):
        bounds = {}
        for a, b in combinations(range(len(self.columns)), 2):
            size = np.minimum.outer(one[a][0], one[b][0])
            errors = np.minimum.outer(one[a][1], one[b][1])
            bounds[(a, b)] = float(self.bound(size, errors).max())
        out = {}
        for pair in sorted(bounds, key=lambda p: -bounds[p]):
            if bounds[pair] <= self.threshold:
                break
            if self.out_of_time():
                break
            n_rows, err, exp = self.counts(pair)
            size, errors = self.project(pair, n_rows), self.project(pair, err)
            expected = None if exp is None else self.project(pair, exp)
            (sa, ea), (sb, eb) = one[pair[0]], one[pair[1]]
            minimal = np.minimum(self.needed(size, errors, sb[None, :], eb[None, :]),
                                 self.needed(size, errors, sa[:, None], ea[:, None])) >= slice_search._NEEDED_Z
            self.evaluate(pair, size, errors, expected, minimal)
            out[pair] = (size, errors, float(self.bound(size, errors).max()))
        return out

    def triples(self, two):
        quick = {}
        for a, b, c in combinations(range(len(self.columns)), 3):
            pairs = [(a, b), (a, c), (b, c)]
            if all(p in two for p in pairs):
                quick[(a, b, c)] = min(two[p][2] for p in pairs)
        for triple in sorted(quick, key=lambda t: -quick[t]):
            yield triple, quick[triple]


def plain_search(columns, error, *, zero_one, max_conditions, min_rows, error_weight, k, deadline_s,
                 expected=None, min_error_ratio=1.0):
    lattice = PlainLattice(columns, error, zero_one, min_rows, error_weight, k, deadline_s, expected, min_error_ratio)
    return lattice.run(max_conditions)


def mixed_data(seed: int) -> tuple[pd.DataFrame, dict[str, str], np.ndarray]:
    """Numeric, integer, categorical and gappy columns, and a weak spot on two of them."""
    rng = np.random.default_rng(seed)
    n = 900
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.integers(0, 6, n),
            "c": rng.choice(["x", "y", "z", "w"], n),
            "d": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "e": rng.choice(["p", "q"], n),
            "f": rng.integers(0, 3, n),
            "g": rng.normal(size=n),
            "h": rng.choice(["u", "v", "w"], n),
        }
    )
    kinds = {name: "categorical" if frame[name].dtype == object else "numeric" for name in frame}
    weak = ((frame["a"] > 0.3) & (frame["c"] == "y")).to_numpy()
    return frame, kinds, weak


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["zero_one", "expected", "absolute"])
def test_the_search_finds_what_the_plain_enumeration_finds(seed, kind):
    frame, kinds, weak = mixed_data(seed)
    rng = np.random.default_rng(100 + seed)
    rate = np.where(weak, 0.45, 0.15)
    expected = None
    if kind == "absolute":
        error = np.abs(rng.normal(size=len(frame))) * np.where(weak, 2.0, 1.0)
    else:
        error = (rng.random(len(frame)) < rate).astype(float)
        if kind == "expected":
            expected = np.clip(rate * rng.uniform(0.5, 1.5, len(frame)), 0, 1)
    columns = slice_codes.encode(frame, kinds, bins=5, max_levels=10, min_rows=20)
    settings = dict(
        zero_one=kind != "absolute", max_conditions=3, min_rows=20, error_weight=0.95, k=25, deadline_s=600,
        expected=expected, min_error_ratio=1.5,
    )
    found = slice_search.search(columns, error, **settings)
    plain = plain_search(columns, error, **settings)
    assert found.complete and found.tested_by_conditions[2] > 0  # triples were reached
    assert found == plain  # every slice, score and p-value, in the same order, and the same counts


def test_triples_come_best_first_with_ties_in_column_order():
    # Pair bounds drawn from a few values, so that most triples tie with others.
    rng = np.random.default_rng(3)
    n_columns = 30
    lattice = slice_search._Lattice([None] * n_columns, np.ones(10), False, 5, 0.95, 10, 600, None)
    two = {
        pair: (None, None, float(rng.choice([0.2, 0.5, 0.5, 0.9, 1.3])))
        for pair in combinations(range(n_columns), 2)
        if rng.random() < 0.7
    }
    plain = PlainLattice([None] * n_columns, np.ones(10), False, 5, 0.95, 10, 600, None)
    expected = list(plain.triples(two))
    assert len(expected) > 1000
    assert list(lattice.triples(two)) == expected
    # Pairs at or below the threshold make no triple above it, and are not used.
    above = [t for t in expected if t[1] > 0.5]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(slice_search._Lattice, "threshold", property(lambda self: 0.5))
        assert list(lattice.triples(two)) == above


def wide_data(n_rows: int, n_columns: int) -> tuple[list[slice_codes.Column], np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n_rows, n_columns)), columns=[f"x{i}" for i in range(n_columns)])
    columns = slice_codes.encode(frame, dict.fromkeys(frame, "numeric"), bins=10, max_levels=10, min_rows=30)
    return columns, (rng.random(n_rows) < 0.5).astype(float)


def test_a_search_out_of_time_bounds_no_pair_of_a_wide_table(clock, monkeypatch):
    # 300 columns: 44,850 pairs, which the search used to bound one by one past its deadline,
    # and 4.5 million triples it then walked.
    columns, error = wide_data(300, 300)
    bounded = []
    bound = slice_search._Lattice.bound
    monkeypatch.setattr(
        slice_search._Lattice, "bound", lambda self, s, e: bounded.append(np.size(s)) or bound(self, s, e)
    )
    start = slice_search._Lattice.level_two

    def level_two(self, one):
        clock.stop()  # the budget runs out with the single conditions
        return start(self, one)

    monkeypatch.setattr(slice_search._Lattice, "level_two", level_two)
    found = slice_search.search(
        columns, error, zero_one=True, max_conditions=3, min_rows=30, error_weight=0.95, k=100, deadline_s=10
    )
    assert not found.complete
    assert found.tables == 0 and not bounded
    assert found.tested_by_conditions == (sum(len(c.conditions) for c in columns), 0, 0)
    assert found.tested == found.tested_by_conditions[0]
    assert clock.reads <= 3


def test_a_search_looks_at_its_clock_between_small_steps(clock, monkeypatch):
    # Between two looks at the clock the search does one small step: one table counted, or
    # one step of pair bounds; so a search stopped at any look stops within one step of it.
    columns, error = wide_data(200, 14)
    log: list[tuple[str, int]] = []
    bound, counts, read = slice_search._Lattice.bound, slice_search._Lattice.counts, clock.perf_counter
    monkeypatch.setattr(
        slice_search._Lattice, "bound", lambda self, s, e: log.append(("cells", np.size(s))) or bound(self, s, e)
    )
    monkeypatch.setattr(slice_search._Lattice, "counts", lambda self, idx: log.append(("tables", 1)) or counts(self, idx))
    monkeypatch.setattr(slice_search, "time", SimpleNamespace(perf_counter=lambda: log.append(("read", 1)) or read()))
    settings = dict(zero_one=True, max_conditions=3, min_rows=30, error_weight=0.95, k=100, deadline_s=10)
    found = slice_search.search(columns, error, **settings)
    assert found.complete and found.tested_by_conditions[2] > 0
    widest = max(len(c.conditions) for c in columns)
    steps, step = [], {"cells": 0, "tables": 0}
    for kind, amount in log[1:]:  # after the deadline is set
        if kind == "read":
            steps.append(step)
            step = {"cells": 0, "tables": 0}
        else:
            step[kind] += amount
    assert max(s["tables"] for s in steps) == 1
    # a step of pair bounds, the table of bounds, or a triple's quick bound and its counted bound
    assert max(s["cells"] for s in steps) <= max(slice_search._CELLS_PER_STEP, slice_search._TABLE_CELLS, 2 * widest**3)
    # Stopped at a look anywhere in the search: nothing more is bounded or counted.
    reads = sum(kind == "read" for kind, _ in log)
    for stop_at in np.linspace(2, reads, 7).astype(int):
        log.clear()
        clock.now, clock.reads = 0.0, 0

        def perf_counter(stop_at=stop_at):
            if clock.reads + 1 == stop_at:
                clock.stop()
                log.append(("stopped", 0))
            return read()

        monkeypatch.setattr(slice_search, "time", SimpleNamespace(perf_counter=perf_counter))
        found = slice_search.search(columns, error, **settings)
        assert not found.complete
        assert log[-1] == ("stopped", 0)


@pytest.mark.parametrize("error_weight", [0.7, 0.95])
def test_pair_bounds_looked_up_are_the_bounds_worked_out_pair_by_pair(error_weight):
    # For 0/1 errors the pairs' bounds come from a table by rows and errors, and from
    # each column's uncovered conditions only where the table never falls; each way must
    # give every pair the very bound that working it out alone gives.
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(800, 40)), columns=[f"x{i}" for i in range(40)])
    frame["x0"] = np.where(rng.random(800) < 0.1, np.nan, frame["x0"])
    frame["x1"] = rng.integers(0, 4, 800)
    columns = slice_codes.encode(frame, dict.fromkeys(frame, "numeric"), bins=10, max_levels=10, min_rows=30)
    error = (rng.random(800) < 0.2).astype(float)

    def lattice():
        # k beyond every slice: the threshold stays 0 and no pair is left out for it
        return slice_search._Lattice(columns, error, True, 30, error_weight, 10**9, 600, None)

    one = lattice().level_one()
    plain = lattice()
    by_pair = {
        (a, b): float(plain.bound(np.minimum.outer(one[a][0], one[b][0]), np.minimum.outer(one[a][1], one[b][1])).max())
        for a, b in combinations(range(len(columns)), 2)
    }
    expected = [(pair, bound) for pair, bound in by_pair.items() if bound > 0]
    assert len(expected) > 100
    ways = {"worked out": (0, False), "looked up": (slice_search._TABLE_CELLS, False)}
    if slice_search._monotone(lattice().bound_table(limit=10**9)):  # else it falls by a last digit somewhere
        ways["uncovered conditions"] = (slice_search._TABLE_CELLS, True)
    assert len(ways) == 3 or error_weight != 0.95
    for way, (table_cells, frontier) in ways.items():
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(slice_search, "_TABLE_CELLS", table_cells)
            patch.setattr(slice_search, "_monotone", lambda table, frontier=frontier: frontier)
            pairs, bounds = lattice().pair_bounds(one)
        assert [((int(a), int(b)), float(v)) for (a, b), v in zip(pairs, bounds)] == expected, way
