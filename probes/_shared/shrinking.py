"""Smallest reproducers for discovered slices, and which of them are one problem.

The search ranks slices by score, and a score that weighs error over size
happily keeps a third condition that trims a few rows at random, or a numeric
cut at the nearest decile rather than where the error starts. Before a slice
is reported it is shrunk, like a failing example in hypothesis: a condition is
dropped while the rows it excludes are not significantly better off than the
slice, and each ``<`` / ``>=`` cut is moved to the value where the slice's
excess error is most significant (its two-sample z against the other rows:
the scan statistic, which, unlike the score, does not trade a sharp slice for
a larger, diluted one on small data). As in hypothesis, a step is taken only
if the slice still fails: one that is a finding stays a finding. Without that,
a condition whose excluded rows are only moderately better off (a hundred rows
against three hundred cannot show more) is dropped, and a sharp slice the
model fails on turns into a broad, diluted one that is no finding at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Literal

import numpy as np
from scipy import stats

from auditkit import Condition
from probes._shared.slice_codes import Column

__all__ = ["Piece", "Relation", "core", "on_grid", "relation", "rows_of", "shrink"]

@dataclass(frozen=True)
class Piece:
    """One condition of a slice with the rows it holds for."""

    condition: Condition
    rows: np.ndarray


Fails = Callable[[Sequence[Piece]], bool]


def shrink(
    pieces: Sequence[Piece],
    columns: Mapping[str, Column],
    error: np.ndarray,
    *,
    zero_one: bool,
    level: float,
    min_rows: int,
    fails: Fails | None = None,
) -> list[Piece]:
    """Drop the conditions the slice does not need, refine its cuts, and drop again.

    ``fails`` says whether a slice is a finding; a step that would turn a finding
    into none is not taken.
    """
    keeps = _keeper(fails)
    out = _minimal(list(pieces), error, zero_one=zero_one, level=level, keeps=keeps)
    for i in range(len(out)):
        moved = _refine(out, i, columns, error, min_rows=min_rows)
        if moved is not out[i]:
            candidate = out[:i] + [moved] + out[i + 1:]
            if keeps(out, candidate):
                out = candidate
    return _minimal(out, error, zero_one=zero_one, level=level, keeps=keeps)


def _keeper(fails: Fails | None) -> Callable[[Sequence[Piece], Sequence[Piece]], bool]:
    """Whether a step from one slice to another keeps what the first shows."""
    if fails is None:
        return lambda old, new: True
    return lambda old, new: not fails(old) or fails(new)


def on_grid(pieces: Sequence[Piece], columns: Mapping[str, Column]) -> Iterator[list[Piece]]:
    """The slices of the search's own grid nearest to a shrunk one.

    Every ``<`` / ``>=`` cut that shrinking moved off the grid is put back on the
    grid's cut just below it or just above it (one slice a little wider, one a
    little narrower); every other condition is on the grid already. These are
    slices the search tested, so their p-values are covered by its correction.
    """
    choices: list[list[Piece]] = []
    for piece in pieces:
        cond = piece.condition
        col = columns.get(cond.feature)
        if col is None:
            return
        if cond in col.conditions:
            choices.append([piece])
            continue
        if cond.op not in ("<", ">="):
            return
        cuts = [(c.value, j) for j, c in enumerate(col.conditions) if c.op == cond.op]
        below = [t for t in cuts if t[0] <= cond.value]
        above = [t for t in cuts if t[0] >= cond.value]
        near = {j for _, j in ([max(below)] if below else []) + ([min(above)] if above else [])}
        if not near:
            return
        choices.append([Piece(col.conditions[j], col.rows(j)) for j in sorted(near)])
    for pick in product(*choices):
        yield list(pick)


def rows_of(pieces: Sequence[Piece], n: int) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    for p in pieces:
        mask &= p.rows
    return mask


def _minimal(
    pieces: list[Piece],
    error: np.ndarray,
    *,
    zero_one: bool,
    level: float,
    keeps: Callable[[Sequence[Piece], Sequence[Piece]], bool],
) -> list[Piece]:
    n = len(error)
    while len(pieces) > 1:
        inside = rows_of(pieces, n)
        droppable = []
        for i in range(len(pieces)):
            excluded = rows_of(pieces[:i] + pieces[i + 1:], n) & ~pieces[i].rows
            p = _worse_p(error[inside], error[excluded], zero_one)
            if p >= level:
                droppable.append((p, i))
        # the condition that matters least first, among those whose loss keeps the finding
        weakest = next(
            (i for _, i in sorted(droppable, reverse=True) if keeps(pieces, pieces[:i] + pieces[i + 1:])), None
        )
        if weakest is None:
            break  # every condition shuts out rows the model handles significantly better, or is needed
        del pieces[weakest]
    return pieces


def _worse_p(inside: np.ndarray, excluded: np.ndarray, zero_one: bool) -> float:
    """One-sided p-value that the slice's error is higher than the excluded rows'."""
    if len(excluded) == 0 or len(inside) == 0:
        return 1.0
    if zero_one:
        a, b = int(inside.sum()), int(excluded.sum())
        table = [[a, len(inside) - a], [b, len(excluded) - b]]
        return float(stats.fisher_exact(table, alternative="greater").pvalue)
    if len(excluded) < 2 or len(inside) < 2:
        return 1.0
    p = stats.ttest_ind(inside, excluded, equal_var=False, alternative="greater").pvalue
    return float(p) if np.isfinite(p) else 1.0


def _refine(pieces: list[Piece], i: int, columns: Mapping[str, Column], error: np.ndarray, *, min_rows: int) -> Piece:
    """The same condition with its cut moved to where the slice's excess error is most significant."""
    piece = pieces[i]
    cond = piece.condition
    col = columns.get(cond.feature)
    if cond.op not in ("<", ">=") or col is None or col.cuts is None or col.fine is None or not len(col.cuts):
        return piece
    others = rows_of(pieces[:i] + pieces[i + 1:], len(error))
    k = len(col.cuts)
    fine = col.fine[others]
    fine_err = error[others]
    n_rows = np.bincount(fine, minlength=k + 2)[: k + 1]  # the last code is missing: in neither side
    n_err = np.bincount(fine, weights=fine_err, minlength=k + 2)[: k + 1]
    # rows at or above cut j have fine code >= j + 1
    below_n, below_e = np.cumsum(n_rows)[:-1], np.cumsum(n_err)[:-1]
    if cond.op == ">=":
        size, err = n_rows.sum() - below_n, n_err.sum() - below_e
    else:
        size, err = below_n, below_e
    size = size.astype(float)
    n, total = len(error), float(error.sum())
    valid = (size >= min_rows) & (size < n)
    if not valid.any():
        return piece
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (err / size - (total - err) / (n - size)) / np.sqrt(1 / size + 1 / (n - size))
    j = int(np.argmax(np.where(valid, z, -np.inf)))
    best = float(col.cuts[j])
    value = int(best) if col.integer and best.is_integer() else best
    nonnull = col.fine <= k
    rows = (col.fine >= j + 1) & nonnull if cond.op == ">=" else (col.fine <= j)
    return Piece(Condition(cond.feature, cond.op, value), rows)


# -- one problem or two -------------------------------------------------------------

Relation = Literal["distinct", "duplicate", "replaces"]
# Two slices sharing this much of their rows (intersection over union) are one problem.
_SAME_ROWS = 0.5


def relation(new: np.ndarray, old: np.ndarray, error: np.ndarray, *, zero_one: bool, level: float) -> Relation:
    """How a new slice stands to one already kept, both as row masks.

    ``duplicate``: the new one says nothing the old one does not (mostly the same
    rows; or mostly inside the old one and no worse than the rest of it; or a
    larger slice whose extra rows are no worse than everyone else). ``replaces``:
    the new one is a worse core of the old one and the rest of the old one is no
    worse than everyone else, so the old slice was bad only because of it.
    """
    both = int(np.count_nonzero(new & old))
    if both == 0:
        return "distinct"
    a, b = int(new.sum()), int(old.sum())
    if both / (a + b - both) >= _SAME_ROWS:
        return "duplicate"
    if both >= _SAME_ROWS * a:  # the new slice lies mostly inside the old one
        if _worse_p(error[new], error[old & ~new], zero_one) >= level:
            return "duplicate"
        if _worse_p(error[old & ~new], error[~old], zero_one) >= level:
            return "replaces"
        return "distinct"
    if both >= _SAME_ROWS * b:  # the old slice lies mostly inside the new one
        if _worse_p(error[new & ~old], error[~new], zero_one) >= level:
            return "duplicate"
    return "distinct"


def core(
    pieces: list[Piece],
    columns: Sequence[Column],
    error: np.ndarray,
    *,
    zero_one: bool,
    level: float,
    min_rows: int,
    max_conditions: int,
    fails: Fails | None = None,
) -> list[Piece] | None:
    """The slice narrowed by one more condition to a core that carries all its excess error.

    On small data a score that rewards size ranks a broad slice (``x03 >= 0.26``)
    above the small one inside it that the model actually fails on (``x03 >=
    0.67 and c1 == 'c1_2'``); the broad one is only bad because of it. The
    condition tried is the one whose rows inside the slice are most worse than
    the slice's other rows; it is kept only if the slice's other rows are then
    no worse than everyone else (``relation`` says the core ``replaces`` it).
    """
    if len(pieces) >= max_conditions:
        return None
    n = len(error)
    inside = np.flatnonzero(rows_of(pieces, n))
    m, total = len(inside), float(error[inside].sum())
    used = {p.condition.feature for p in pieces}
    best: tuple[float, Column, int] | None = None
    for col in columns:
        if col.name in used:
            continue
        codes = col.codes[inside]
        size = col.member @ np.bincount(codes, minlength=col.n_codes)
        errors = col.member @ np.bincount(codes, weights=error[inside], minlength=col.n_codes)
        ok = (size >= min_rows) & (size < m)
        if not ok.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (errors / size - (total - errors) / (m - size)) / np.sqrt(1 / size + 1 / (m - size))
        z = np.where(ok, z, -np.inf)
        j = int(np.argmax(z))
        if best is None or z[j] > best[0]:
            best = (float(z[j]), col, j)
    if best is None:
        return None
    _, col, j = best
    narrowed = [*pieces, Piece(col.conditions[j], col.rows(j))]
    whole = rows_of(pieces, n)
    if relation(rows_of(narrowed, n), whole, error, zero_one=zero_one, level=level) != "replaces":
        return None
    if not _keeper(fails)(pieces, narrowed):
        return None
    return narrowed
