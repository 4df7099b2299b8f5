"""Whether a model's outputs can be its answer: the one check, for every layer.

``check_outputs`` looks at an answer once and says what is wrong with it two
ways, from the same masks:

- ``problem``: one sentence for the audit rows (the templates below), which
  the shared predictions raise as ``ModelFailure`` and every probe that needs
  predictions reports as its error;
- ``shape`` and ``invalid``: in short, the answer's wrong shape, or for each
  kind of invalid output ("NaN or infinite probabilities") the rows that show
  it, which ``nan_injection`` reads to judge the answers to malformed batches
  row by row (``OutputCheck.part`` cuts a stacked answer into its batches).

``problem`` is None exactly when ``shape`` is empty and no row is invalid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from auditkit._models._base import Predictions

__all__ = ["NONFINITE", "OutputCheck", "check_outputs", "describe_values", "output_problem"]

# Output that cannot be the model's answer on the audit rows. Each is one
# sentence, the reason every probe that needs predictions reports as its
# error; the tests reuse these templates.
WRONG_LENGTH = "the model returned {n} predictions for the {rows} audit rows"
RETURNED_NONE = "the model returned None for the {rows} audit rows"
WRONG_SHAPE = "the model returned {what} of shape {shape} for the {rows} audit rows"
NOT_FINITE = "the model returned {what} for {bad} of the {rows} audit rows"
NOT_NUMBERS = "the model's predictions are not numbers ({shown})"
WRONG_COLUMNS = "the model returned {k} probability {columns} for the target's {n} classes"
OUTSIDE_UNIT = "the model's probabilities lie outside [0, 1] ({low:.3g} to {high:.3g})"
NOT_SUMMING = "the model's probabilities do not sum to 1 in {bad} of the {rows} audit rows (sums {low:.3g} to {high:.3g})"
NOT_CLASSES = "the model's labels ({shown}) are not classes of the target ({classes})"
NEITHER = (
    "the model's outputs are neither classes of the target ({classes}) nor scores in [0, 1]: "
    "they range from {low:.3g} to {high:.3g} (logits or decision values? declare output='logits')"
)

# The kinds of invalid output, row by row ("3 of 300 rows came back with ...").
NONFINITE = "NaN or infinite"
NOT_UNIT = "probabilities outside [0, 1] or not summing to 1"
UNKNOWN_LABELS = "labels that are not classes of the target"
MISSING_LABELS = "missing labels"
NON_NUMERIC = "non-numeric predictions"

# The slack a probability may have: float32 softmax sums stray by about 1e-7.
PROBABILITY_ATOL = 1e-4


@dataclass(frozen=True)
class OutputCheck:
    """What is wrong with a model's answer on ``rows`` rows (nothing when ``ok``)."""

    rows: int
    problem: str | None = None  # one sentence, for the audit rows
    shape: str = ""  # the answer as a whole has the wrong shape, in short: "299 outputs for 300 rows"
    invalid: Mapping[str, np.ndarray] = field(default_factory=dict)  # kind -> rows that show it

    @property
    def ok(self) -> bool:
        return not self.shape and not self.kinds

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of invalid output found, in a fixed order."""
        return tuple(k for k, rows in self.invalid.items() if rows.any())

    @property
    def invalid_rows(self) -> np.ndarray:
        """Which rows are invalid in any way (every row when the shape is wrong)."""
        if self.shape:
            return np.ones(self.rows, dtype=bool)
        return np.logical_or.reduce(list(self.invalid.values())) if self.invalid else np.zeros(self.rows, dtype=bool)

    @property
    def what(self) -> str:
        """In short: the wrong shape, or the kinds found ("" when ``ok``)."""
        return self.shape or ", ".join(self.kinds)

    @property
    def nonfinite_only(self) -> bool:
        """Every kind found is NaN or infinity (the shape is right)."""
        return not self.shape and bool(self.kinds) and all(k.startswith(NONFINITE) for k in self.kinds)

    def part(self, rows: slice) -> OutputCheck:
        """The check of ``rows`` of a right-shaped answer, row by row as if they had been
        answered alone (its ``problem``, when it has any, is the whole answer's sentence)."""
        assert not self.shape, "an answer of the wrong shape has no rows to cut"
        invalid = {k: v[rows] for k, v in self.invalid.items()}
        n = len(range(*rows.indices(self.rows)))
        found = any(v.any() for v in invalid.values())
        return OutputCheck(n, problem=self.problem if found else None, invalid=invalid)


def check_outputs(pred: Predictions, rows: int, task: str | None, classes: Any = None) -> OutputCheck:
    """Why ``pred`` cannot be a model's answer on ``rows`` rows, whole and row by row.

    ``classes`` are those of the target (``pred.classes`` when not given).
    """
    classes = pred.classes if classes is None else classes
    labels = np.asarray(pred.labels)
    if labels.ndim == 0 or len(labels) != rows:
        got = "a scalar" if labels.ndim == 0 else f"{len(labels)} outputs"
        return OutputCheck(rows, _length_problem(labels, rows), shape=f"{got} for {rows} rows")
    if task == "regression":
        return _values_check(pred.scores if pred.scores is not None else labels, rows)
    invalid: dict[str, np.ndarray] = {}
    problem: str | None = None
    if pred.proba is not None:
        p = np.asarray(pred.proba, dtype=float)
        width = len(classes) if classes is not None else (p.shape[-1] if p.ndim else 0)
        if p.ndim != 2 or len(p) != rows:
            short = f"probabilities of shape {p.shape} for {rows} rows and {width} classes"
            return OutputCheck(rows, WRONG_SHAPE.format(what="probabilities", shape=p.shape, rows=rows), short)
        if p.shape[1] != width:
            k = p.shape[1]
            short = f"probabilities of shape {p.shape} for {rows} rows and {width} classes"
            return OutputCheck(rows, WRONG_COLUMNS.format(k=k, columns="column" if k == 1 else "columns", n=width), short)
        nonfinite, problem = _nonfinite(p, rows)
        with np.errstate(invalid="ignore"):
            outside = ((p < -PROBABILITY_ATOL) | (p > 1 + PROBABILITY_ATOL)).any(axis=1)
            off = np.abs(p.sum(axis=1) - 1) > PROBABILITY_ATOL
        invalid[f"{NONFINITE} probabilities"] = nonfinite
        invalid[NOT_UNIT] = (outside | off) & ~nonfinite
        if problem is None and outside.any():
            # A binary model's own numbers are its positive-class scores, not the 1 - s beside them.
            shown = pred.scores if pred.scores is not None and p.shape[1] == 2 else p
            problem = OUTSIDE_UNIT.format(low=float(np.min(shown)), high=float(np.max(shown)))
        elif problem is None and off.any():
            sums = p.sum(axis=1)
            problem = NOT_SUMMING.format(bad=int(off.sum()), rows=rows, low=float(sums.min()), high=float(sums.max()))
    elif pred.scores is not None:
        s = np.asarray(pred.scores, dtype=float)
        if s.ndim != 1 or len(s) != rows:
            short = f"{s.size} scores for {rows} rows" if s.ndim == 1 else f"scores of shape {s.shape} for {rows} rows"
            return OutputCheck(rows, WRONG_SHAPE.format(what="scores", shape=s.shape, rows=rows), short)
        invalid[f"{NONFINITE} scores"], problem = _nonfinite(s.reshape(rows, 1), rows)
    if labels.ndim != 1:
        short = f"labels of shape {labels.shape} for {rows} rows"
        return OutputCheck(rows, problem or WRONG_SHAPE.format(what="labels", shape=labels.shape, rows=rows), short)
    missing = np.asarray(pd.isna(labels), dtype=bool)
    if classes is None:
        invalid[MISSING_LABELS] = missing
        if problem is None and missing.any():
            problem = _missing_problem(labels, missing, rows)
        return OutputCheck(rows, problem, invalid=invalid)
    known = pd.Series(labels, dtype=object).isin(list(classes)).to_numpy(dtype=bool)
    invalid[UNKNOWN_LABELS] = ~known | missing
    if problem is None and missing.any():
        problem = _missing_problem(labels, missing, rows)
    elif problem is None and not known.all():
        problem = _unknown_problem(labels, known, task, np.asarray(classes))
    return OutputCheck(rows, problem, invalid=invalid)


def output_problem(pred: Predictions, rows: int, task: str | None) -> str | None:
    """Why ``pred`` cannot be a model's answer on ``rows`` audit rows, or None.

    The shared predictions run this once on the audit rows. The wrappers'
    own calls never do: nan_injection feeds malformed rows on purpose and
    judges the malformed output it gets back with ``check_outputs``.
    """
    return check_outputs(pred, rows, task).problem


def _length_problem(labels: np.ndarray, rows: int) -> str:
    # A function returning None comes back as one None: say so, not "1 predictions".
    if labels.size == 1 and labels.ravel()[0] is None:
        return RETURNED_NONE.format(rows=rows)
    return WRONG_LENGTH.format(n=1 if labels.ndim == 0 else len(labels), rows=rows)


def _values_check(values: Any, rows: int) -> OutputCheck:
    """A regression model's values: any real numbers, one row each."""
    numbers, odd = _as_numbers(np.asarray(values))
    if numbers is None:
        return OutputCheck(
            rows, NOT_NUMBERS.format(shown=describe_values(odd)), invalid={NON_NUMERIC: np.ones(rows, dtype=bool)}
        )
    if numbers.ndim == 0 or len(numbers) != rows:
        got = "a scalar" if numbers.ndim == 0 else f"{len(numbers)} outputs"
        return OutputCheck(rows, WRONG_LENGTH.format(n=numbers.size, rows=rows), shape=f"{got} for {rows} rows")
    nonfinite, problem = _nonfinite(numbers.reshape(rows, -1) if rows else numbers.reshape(0, 1), rows)
    return OutputCheck(rows, problem, invalid={f"{NONFINITE} predictions": nonfinite})


def _nonfinite(values: np.ndarray, rows: int) -> tuple[np.ndarray, str | None]:
    """The rows of a (rows, k) array holding NaN or infinity, and the sentence saying so."""
    nan, inf = np.isnan(values), np.isinf(values)
    bad = (nan | inf).any(axis=1)
    if not bad.any():
        return bad, None
    what = "NaN or infinite values" if nan.any() and inf.any() else "NaN" if nan.any() else "infinite values"
    return bad, NOT_FINITE.format(what=what, bad=int(bad.sum()), rows=rows)


def _missing_problem(labels: np.ndarray, missing: np.ndarray, rows: int) -> str:
    what = "NaN" if labels.dtype.kind == "f" else "missing labels"
    return NOT_FINITE.format(what=what, bad=int(missing.sum()), rows=rows)


def _unknown_problem(labels: np.ndarray, known: np.ndarray, task: str | None, classes: np.ndarray) -> str:
    listed = describe_values(classes, limit=10)
    if task == "binary" and labels.dtype.kind in "fiu" and (labels.min() < 0 or labels.max() > 1):
        # Numbers a binary model gave that are not its classes were not read as
        # scores either: name both, since either may have been meant.
        return NEITHER.format(classes=listed, low=float(labels.min()), high=float(labels.max()))
    return NOT_CLASSES.format(shown=describe_values(labels[~known]), classes=listed)


def _as_numbers(values: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """``values`` as floats, or None and the values that are not numbers."""
    if values.dtype.kind in "fiub":
        return values.astype(float, copy=False), values[:0]
    flat = pd.Series(values.ravel(), dtype=object)
    numbers = pd.to_numeric(flat, errors="coerce")
    odd = flat[numbers.isna() & flat.notna()].to_numpy()
    if len(odd):
        return None, odd
    return numbers.to_numpy(dtype=float).reshape(values.shape), odd


def describe_values(values: np.ndarray, limit: int = 3) -> str:
    """The distinct values, the way a person would type them: 'cat', -2.31, 'no' and 4 more."""
    distinct = pd.unique(pd.Series(values, dtype=object))
    parts = [_show(v) for v in distinct[:limit]]
    more = len(distinct) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def _show(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return f"{value:.3g}"
    return repr(value)
