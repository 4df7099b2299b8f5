"""What mistakes cost, validated once: the costs ``AuditData(costs=...)`` takes
and the cost settings of a probe go through these functions, and every
problem is a ``DataError`` naming what is wrong.

Three shapes of costs exist:

- ``{"fp": ..., "fn": ...}`` (optional ``"tp"``, ``"tn"``): the price of each
  outcome of a yes/no decision;
- a square cost matrix, rows actual and columns predicted, labelled by class
  or read in the order of the classes;
- the name of a column holding a per-row cost.

Errors are priced at zero or more (a negative price of an error is a typo;
gains of right answers go on the diagonal, or in ``tp``/``tn``). Class labels
are compared by ``AuditData.class_key``'s rule, so that 1, 1.0 and "1" name
one class here as everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from auditkit._errors import DataError
from auditkit._frames import _is_number_column, _label, _list

__all__ = [
    "align_matrix",
    "check_binary_costs",
    "check_cost_column",
    "check_costs",
    "check_costs_fit_target",
    "cost_matrix_frame",
]

BINARY_KEYS = ("fp", "fn", "tp", "tn")


def check_cost_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A per-row cost column as floats: present, numeric, complete, zero or more."""
    if name not in frame.columns:
        raise DataError(f"costs column {name!r} is not in the audit data")
    if not _is_number_column(frame[name]):
        raise DataError(f"costs column {name!r} must be numeric; it has dtype {frame[name].dtype}")
    values = frame[name].to_numpy(dtype=float, na_value=np.nan)
    missing = int((~np.isfinite(values)).sum())
    if missing:
        raise DataError(f"costs column {name!r} has {missing} missing or infinite value(s); every row needs a cost")
    negative = int((values < 0).sum())
    if negative:
        raise DataError(
            f"costs column {name!r} has {negative} negative value(s), as low as {values.min():g}; "
            "a row's cost is zero or more"
        )
    return values


def check_binary_costs(costs: Mapping[str, Any], need: Sequence[str] = ("fp", "fn")) -> dict[str, float]:
    """The costs of a yes/no decision as floats; ``need`` names the keys that must be there."""
    unknown = set(costs) - set(BINARY_KEYS)
    if unknown:
        raise DataError(f"unknown cost key(s) {_list(sorted(unknown))}; expected fp, fn, tp, tn")
    if not set(need) <= set(costs):
        raise DataError(f"binary costs need both {' and '.join(repr(k) for k in need)}")
    out: dict[str, float] = {}
    for k, v in costs.items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            raise DataError(f"cost {k!r} must be a number; got {v!r}") from None
        if not np.isfinite(out[k]):
            raise DataError(f"cost {k!r} must be finite; got {v!r}")
    # A negative price of an error is a typo, not a gain (gains go in 'tp' and 'tn').
    for k in ("fp", "fn"):
        if k in out and out[k] < 0:
            raise DataError(f"cost {k!r} must be zero or more; got {costs[k]!r}")
    if out.get("fp") == out.get("fn") == 0:
        raise DataError("costs 'fp' and 'fn' are both zero: errors cost nothing, so there is nothing to price")
    return out


def cost_matrix_frame(value: Any, *, mappings: bool = False) -> pd.DataFrame:
    """A cost matrix as a frame, rows actual and columns predicted: a DataFrame,
    nested lists (or a 2-D array) in class order, or, with ``mappings``, a
    ``{actual: {predicted: cost}}`` mapping (a policy file's table)."""
    if isinstance(value, pd.DataFrame):
        matrix = value
    elif mappings and isinstance(value, Mapping):
        rows = {a: dict(r) if isinstance(r, Mapping) else None for a, r in value.items()}
        if any(r is None for r in rows.values()):
            raise DataError("a cost matrix as a mapping must map each actual class to {predicted class: cost}")
        matrix = pd.DataFrame.from_dict(rows, orient="index")
    else:
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise DataError(
                "costs must be {'fp': ..., 'fn': ...}, a square cost matrix of numbers, or the name of a cost column; "
                f"got {type(value).__name__} that is none of these"
            ) from None
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise DataError(f"a cost matrix must be square; got shape {arr.shape}")
        matrix = pd.DataFrame(arr)
    if matrix.shape[0] != matrix.shape[1]:
        raise DataError(f"a cost matrix must be square; got shape {matrix.shape}")
    try:
        values = matrix.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise DataError("a cost matrix must hold numbers only") from None
    if not np.isfinite(values).all():
        raise DataError("a cost matrix must hold finite numbers only (a missing cell is not a cost)")
    # Off the diagonal are errors: a negative price is a typo (gains of right answers go on the diagonal).
    rows, cols = [_label(v) for v in matrix.index], [_label(v) for v in matrix.columns]
    labelled = set(rows) == set(cols) and not isinstance(matrix.index, pd.RangeIndex)
    error = np.array([[r != c for c in cols] for r in rows]) if labelled else ~np.eye(len(values), dtype=bool)
    if (values[error] < 0).any():
        low = float(values[error].min())
        raise DataError(f"a cost matrix prices errors off its diagonal at zero or more; it has {low:g}")
    return matrix


def check_costs(costs: Any, frame: pd.DataFrame) -> Any:
    """``AuditData``'s costs, checked against its frame: the column name, the
    fp/fn costs as floats, or the cost matrix as a frame (None stays None)."""
    if costs is None:
        return None
    if isinstance(costs, str):
        check_cost_column(frame, costs)
        return costs
    if isinstance(costs, Mapping):
        return check_binary_costs(costs)
    return cost_matrix_frame(costs)


def check_costs_fit_target(costs: Any, *, target: str, distinct: int, task: str, classes: np.ndarray) -> None:
    """Costs that cannot price this target's errors are a mistake, not something to skip."""
    if isinstance(costs, Mapping) and distinct > 2:
        way = "a cost matrix" if task == "multiclass" else "cost_weighted_errors' over/under settings or a cost column"
        raise DataError(
            f"costs 'fp' and 'fn' price the two errors of a binary decision, but target {target!r} has "
            f"{distinct} distinct values; price its errors with {way}"
        )
    if isinstance(costs, pd.DataFrame):
        if task == "regression":
            raise DataError(
                f"a cost matrix prices errors between classes, but target {target!r} holds numbers "
                "(regression); price its errors with cost_weighted_errors' over/under settings or a cost column"
            )
        if not isinstance(costs.index, pd.RangeIndex) or not isinstance(costs.columns, pd.RangeIndex):
            labels = {_label(v) for v in [*costs.index, *costs.columns]}
            known = {_label(c) for c in classes}
            if not labels <= known:
                raise DataError(_unknown_labels("cost matrix", sorted(labels - known), f"classes of target {target!r}", classes))


def _unknown_labels(what: str, unknown: Sequence[str], whose: str, classes: np.ndarray) -> str:
    return (
        f"the {what} is labelled {_list(unknown[:5])}, which are not {whose} "
        f"({', '.join(repr(c) for c in classes.tolist()[:10])}); label rows (actual) and columns (predicted) by class"
    )


def align_matrix(frame: pd.DataFrame, classes: np.ndarray, what: str = "cost matrix") -> tuple[np.ndarray, str | None]:
    """The matrix in the order of the model's ``classes``, and a note when it had to be read by position."""
    k = len(classes)
    if frame.shape != (k, k):
        raise DataError(
            f"the {what} is {frame.shape[0]}x{frame.shape[1]}, but the model has {k} classes "
            f"({', '.join(map(repr, classes.tolist()[:10]))})"
        )
    keys = [_label(c) for c in classes.tolist()]
    rows = [_label(r) for r in frame.index]
    cols = [_label(c) for c in frame.columns]
    values = frame.to_numpy(dtype=float)
    if set(rows) == set(keys) and set(cols) == set(keys):
        return values[np.ix_([rows.index(c) for c in keys], [cols.index(c) for c in keys])], None
    positional = [str(i) for i in range(k)]
    if rows == positional and set(cols) == set(keys):
        # a CSV with a header of predicted classes but no column of actual ones:
        # its rows are read in the order of its columns
        order = [cols.index(c) for c in keys]
        return values[np.ix_(order, order)], (
            f"the {what} labels its columns only; its rows (actual) are read in the order of its columns"
        )
    if rows == positional and cols == positional:
        return values, (
            f"the {what} has no class labels; its rows (actual) and columns (predicted) are read "
            f"in the order of the model's classes {classes.tolist()}"
        )
    unknown = sorted((set(rows) | set(cols)) - set(keys))
    raise DataError(_unknown_labels(what, unknown, "the model's classes", classes))
