"""The searched slices shrunk to reproducers, one per problem."""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

import numpy as np

from probes._shared import shrinking, slice_stats
from probes._shared.slice_codes import Column
from probes._shared.slice_stats import Found, Search
from probes.slice_bias.outcomes import Outcome
from probes.slice_bias.slice_verdict import Candidate, SliceJudge

__all__ = ["distinct_slices"]

# Searched slices sharing this much of their rows (intersection over union) are near-copies.
_NEAR_COPY = 0.8
# How many searched slices are shrunk: at least this many per slice reported, and as many
# as fit in this many rows' worth of passes (all of them up to about 50k rows).
_POLISHED_PER_REPORTED = 4
_POLISH_ROWS = 20_000_000


def distinct_slices(
    found: Search,
    columns: list[Column],
    outcome: Outcome,
    judge: SliceJudge,
    *,
    level: float,
    min_rows: int,
    top_k: int,
    max_conditions: int,
    error_weight: float,
) -> list[Candidate]:
    """The searched slices, shrunk, one per problem: findings first, strongest evidence
    first, then the rest by score.

    Candidates alternate between the best by score and the likeliest findings: a
    small slice that explains a larger one's excess error ranks low by score.
    Near-copies (most rows shared) are dropped before shrinking, which costs a
    few passes over the rows each. A shrunk slice whose excess error sits in a
    core one condition narrower is replaced by that core, shrunk in turn. Every
    shrunk slice is judged before any is dropped as a copy of another, so that a
    broad slice that is no finding never stands in for a finding inside it.
    """
    error = outcome.error
    zero_one = outcome.task != "regression"
    n = len(error)
    by_name = {c.name: c for c in columns}
    cache: dict[tuple[int, int], np.ndarray] = {}

    def rows(c: int, j: int) -> np.ndarray:
        if (c, j) not in cache:
            cache[(c, j)] = columns[c].rows(j)
        return cache[(c, j)]

    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    shrunk_seen: set[tuple[Any, ...]] = set()
    raw_masks: list[np.ndarray] = []
    candidates: list[Candidate] = []
    # Shrinking costs a few passes over the rows: all candidates on small data, fewer on large.
    budget = max(_POLISHED_PER_REPORTED * top_k, _POLISH_ROWS // n)
    for f in _interleave(found.top, found.most_significant):
        if budget == 0:
            break
        if (f.columns, f.conditions) in seen:
            continue
        seen.add((f.columns, f.conditions))
        pieces = [shrinking.Piece(columns[c].conditions[j], rows(c, j)) for c, j in zip(f.columns, f.conditions)]
        raw = shrinking.rows_of(pieces, n)
        if any(_jaccard(raw, m) >= _NEAR_COPY for m in raw_masks):
            continue
        raw_masks.append(raw)
        budget -= 1
        fails = judge.fails(f)
        pieces = shrinking.shrink(
            pieces, by_name, error, zero_one=zero_one, level=level, min_rows=min_rows, fails=fails
        )
        for _ in range(max_conditions):
            narrowed = shrinking.core(
                pieces, columns, error, zero_one=zero_one, level=level, min_rows=min_rows,
                max_conditions=max_conditions, fails=fails,
            )
            if narrowed is None:
                break
            pieces = shrinking.shrink(
                narrowed, by_name, error, zero_one=zero_one, level=level, min_rows=min_rows, fails=fails
            )
        key = tuple(sorted((p.condition.feature, p.condition.op, repr(p.condition.value)) for p in pieces))
        if key in shrunk_seen:
            continue  # shrunk to a slice already judged
        shrunk_seen.add(key)
        mask = shrinking.rows_of(pieces, n)
        significant, evidence = judge.verdict(f, pieces, mask)
        score = float(slice_stats.score(mask.sum(), error[mask].sum(), n=n, mean=found.mean_error,
                                       error_weight=error_weight))
        candidates.append(Candidate(f, tuple(pieces), mask, significant, evidence, score))

    candidates.sort(key=lambda c: (not c.significant, c.evidence if c.significant else 0.0, -c.score))
    kept: list[Candidate] = []
    for c in candidates:
        relations = [shrinking.relation(c.mask, k.mask, error, zero_one=zero_one, level=level) for k in kept]
        if "duplicate" in relations:
            continue
        if c.significant:
            # A finding overlapping those already kept is a problem of its own only if it
            # still fails without their rows (a wider slice around a finding is one through
            # the rows of that one).
            others = [k.mask for k in kept if k.significant and np.any(k.mask & c.mask)]
            if others and not judge.stands_alone(c.mask & ~np.logical_or.reduce(others), level):
                continue
        if any(r == "replaces" and k.significant and not c.significant for k, r in zip(kept, relations)):
            continue  # a core that is no finding does not replace the finding around it
        kept = [k for k, r in zip(kept, relations) if r != "replaces"]
        kept.append(c)
    return kept


def _interleave(*ranked: tuple[Found, ...]) -> list[Found]:
    out = []
    for tier in zip_longest(*ranked):
        out.extend(f for f in tier if f is not None)
    return out


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    both = np.count_nonzero(a & b)
    return both / (np.count_nonzero(a) + np.count_nonzero(b) - both)
