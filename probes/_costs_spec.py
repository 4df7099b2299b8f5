"""What mistakes cost: the cost models ``cost_weighted_errors`` prices decisions
with, resolved from the probe's settings or from ``AuditData(costs=...)``.

Three shapes cover the tasks:

- ``BinaryCosts``: the cost of a true/false positive/negative, each a number
  or one number per row (a missed fraud costs its amount);
- ``MatrixCosts``: a full matrix, rows actual and columns predicted, in the
  order of the model's classes, optionally scaled per row by a cost column;
- ``RegressionCosts``: the cost of over- and under-predicting by one unit
  (linear) or its square, optionally scaled per row.

The probe's own settings win over the data's costs, so a config file can
price an audit without touching the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from auditkit import AuditData, DataError, ProbeConfigError, ProbeSkipped

__all__ = [
    "BinaryCosts",
    "CostSettings",
    "Costs",
    "MatrixCosts",
    "RegressionCosts",
    "matrix_frame",
    "resolve_costs",
]

ColumnFor = Literal["errors", "fn", "fp"]
RegressionLoss = Literal["linear", "squared"]

NO_COSTS = (
    "no costs were given: pass {data_costs}, or set this probe's "
    "{settings}; auditkit does not invent what a mistake costs"
)
NO_REGRESSION_COSTS = (
    "the costs given ({given}) price classification errors, but the model is a regression; set "
    "this probe's over/under (and kind='linear' or 'squared') or give a per-row cost column"
)
NO_MULTICLASS_DICT = (
    "fp/fn costs describe a yes/no decision, but the model has {k} classes; give a {k}x{k} cost "
    "matrix (rows actual, columns predicted) or a per-row cost column"
)


class CostSettings:
    """The cost settings the probe carries (read by attribute; documented on the probe)."""

    cost_fp: float | None
    cost_fn: float | None
    cost_tp: float | None
    cost_tn: float | None
    cost_matrix: Any
    cost_column: str | None
    cost_column_for: ColumnFor
    over: float | None
    under: float | None
    kind: RegressionLoss


Scalar = float | np.ndarray


@dataclass(frozen=True)
class BinaryCosts:
    """What each outcome of a yes/no decision costs; a number, or one per row."""

    tp: Scalar
    fp: Scalar
    fn: Scalar
    tn: Scalar

    @property
    def per_row(self) -> bool:
        return any(isinstance(c, np.ndarray) for c in (self.tp, self.fp, self.fn, self.tn))

    def if_positive(self, actual: np.ndarray) -> np.ndarray:
        """Each row's cost if it is predicted positive (``actual`` is True for positives)."""
        return np.where(actual, self.tp, self.fp).astype(float, copy=False)

    def if_negative(self, actual: np.ndarray) -> np.ndarray:
        return np.where(actual, self.fn, self.tn).astype(float, copy=False)

    @property
    def bayes_threshold(self) -> float | None:
        """Elkan's (2001) threshold (fp - tn) / ((fp - tn) + (fn - tp)) on a calibrated
        probability; None with per-row costs (each row has its own) or when the costs
        are not "reasonable" (a mistake cheaper than being right)."""
        if self.per_row:
            return None
        gain_neg = float(self.fp) - float(self.tn)  # what calling a negative right saves
        gain_pos = float(self.fn) - float(self.tp)  # what calling a positive right saves
        if gain_neg <= 0 or gain_pos <= 0:
            return None
        return gain_neg / (gain_neg + gain_pos)

    def bayes_positive(self, proba: np.ndarray) -> np.ndarray:
        """The decision with the least expected cost if ``proba`` were calibrated."""
        threshold = self.bayes_threshold
        if threshold is not None:  # the same rule, written as the threshold a report quotes
            return proba >= threshold
        expected_pos = proba * self.tp + (1 - proba) * self.fp
        expected_neg = proba * self.fn + (1 - proba) * self.tn
        return expected_pos <= expected_neg

    def describe(self) -> dict[str, Any]:
        return {k: _describe_value(getattr(self, k)) for k in ("fp", "fn", "tp", "tn")}


@dataclass(frozen=True)
class MatrixCosts:
    """A cost matrix, rows actual and columns predicted, in the model's class order."""

    matrix: np.ndarray
    classes: np.ndarray
    scale: np.ndarray | None = None
    column: str | None = None

    def decision_costs(self, actual_index: np.ndarray) -> np.ndarray:
        """(rows, classes): what predicting each class would cost on each row."""
        out = self.matrix[actual_index]
        return out if self.scale is None else out * self.scale[:, None]

    def expected(self, proba: np.ndarray) -> np.ndarray:
        """(rows, classes): each decision's expected cost under the predicted probabilities."""
        out = proba @ self.matrix
        return out if self.scale is None else out * self.scale[:, None]

    def describe(self) -> dict[str, Any]:
        return {
            "matrix": {
                str(a): {str(p): float(self.matrix[i, j]) for j, p in enumerate(self.classes.tolist())}
                for i, a in enumerate(self.classes.tolist())
            },
            "column": self.column,
        }


@dataclass(frozen=True)
class RegressionCosts:
    """Cost of predicting ``u`` too high (``over``) or too low (``under``), per unit or squared."""

    over: float
    under: float
    kind: RegressionLoss
    scale: np.ndarray | None = None
    column: str | None = None

    def row_costs(self, excess: np.ndarray) -> np.ndarray:
        """Each row's cost, ``excess`` being prediction minus actual."""
        size = np.abs(excess) if self.kind == "linear" else np.square(excess)
        out = np.where(excess > 0, self.over, self.under) * size
        return out if self.scale is None else out * self.scale

    @property
    def quantile_level(self) -> float:
        """The level of the cost-optimal predictive quantile (linear costs) or expectile (squared)."""
        return self.under / (self.over + self.under)

    def describe(self) -> dict[str, Any]:
        return {"over": self.over, "under": self.under, "kind": self.kind, "column": self.column}


Costs = BinaryCosts | MatrixCosts | RegressionCosts


def _describe_value(value: Scalar) -> Any:
    return "per row" if isinstance(value, np.ndarray) else float(value)


def matrix_frame(value: Any) -> pd.DataFrame:
    """A cost-matrix setting as a frame: a DataFrame, ``{actual: {predicted: cost}}``,
    or nested lists in the order of the model's classes."""
    if isinstance(value, pd.DataFrame):
        frame = value
    elif isinstance(value, Mapping):
        rows = {a: dict(r) if isinstance(r, Mapping) else None for a, r in value.items()}
        if any(r is None for r in rows.values()):
            raise ProbeConfigError("cost_matrix as a mapping must map each actual class to {predicted class: cost}")
        frame = pd.DataFrame.from_dict(rows, orient="index")
    elif isinstance(value, Sequence) and not isinstance(value, str) or isinstance(value, np.ndarray):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ProbeConfigError("cost_matrix must hold numbers only") from None
        if arr.ndim != 2:
            raise ProbeConfigError(f"cost_matrix must be a square matrix; got shape {arr.shape}")
        frame = pd.DataFrame(arr)
    else:
        raise ProbeConfigError(
            f"cost_matrix must be a DataFrame, a mapping {{actual: {{predicted: cost}}}} or nested lists; "
            f"got {type(value).__name__}"
        )
    if frame.shape[0] != frame.shape[1]:
        raise ProbeConfigError(f"cost_matrix must be square; got shape {frame.shape}")
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ProbeConfigError("cost_matrix must hold numbers only") from None
    if not np.isfinite(values).all():
        raise ProbeConfigError("cost_matrix must hold finite numbers only (a missing cell is not a cost)")
    return frame


def align_matrix(frame: pd.DataFrame, classes: np.ndarray, what: str) -> tuple[np.ndarray, str | None]:
    """The matrix in the order of ``classes``, and a note when it had to be read by position."""
    k = len(classes)
    if frame.shape != (k, k):
        raise DataError(
            f"{what} is {frame.shape[0]}x{frame.shape[1]}, but the model has {k} classes "
            f"({', '.join(map(repr, classes.tolist()[:10]))})"
        )
    keys = [AuditData.class_key(c) for c in classes.tolist()]
    rows = [AuditData.class_key(r) for r in frame.index]
    cols = [AuditData.class_key(c) for c in frame.columns]
    values = frame.to_numpy(dtype=float)
    if set(rows) == set(keys) and set(cols) == set(keys):
        return values[np.ix_([rows.index(c) for c in keys], [cols.index(c) for c in keys])], None
    positional = [str(i) for i in range(k)]
    if rows == positional and set(cols) == set(keys):
        # a CSV with a header of predicted classes but no column of actual ones:
        # its rows are read in the order of its columns
        order = [cols.index(c) for c in keys]
        note = f"the {what} labels its columns only; its rows (actual) are read in the order of its columns"
        return values[np.ix_(order, order)], note
    if rows == positional and cols == positional:
        note = (
            f"the {what} has no class labels; its rows (actual) and columns (predicted) are read "
            f"in the order of the model's classes {classes.tolist()}"
        )
        return values, note
    unknown = sorted((set(rows) | set(cols)) - set(keys))
    raise DataError(
        f"the {what} is labelled {unknown[:5]}, which are not the model's classes "
        f"{classes.tolist()[:10]}; label rows (actual) and columns (predicted) by class"
    )


def column_values(data: AuditData, name: str) -> np.ndarray:
    """A per-row cost column as floats, refusing gaps: a missing cost is not zero."""
    return data.numeric_values(name, "cost column")


def _data_costs(task: str) -> str:
    """The costs the data itself can declare for this task (others are refused there)."""
    if task == "regression":
        return "AuditData(costs='<cost column>') (CLI: --cost-column)"
    if task == "multiclass":
        return "AuditData(costs=<cost matrix or cost column>) (CLI: --cost-matrix, --cost-column)"
    return (
        "AuditData(costs={'fp': ..., 'fn': ...}), a cost matrix or a cost column "
        "(CLI: --cost-fp/--cost-fn, --cost-matrix, --cost-column)"
    )


def _setting_names(task: str) -> str:
    if task == "regression":
        return "over/under (kind='linear' or 'squared') or cost_column"
    return "cost_fp/cost_fn, cost_matrix or cost_column"


def resolve_costs(
    settings: CostSettings, data: AuditData, task: str, classes: np.ndarray | None
) -> tuple[Costs, str, list[str]]:
    """The cost model for this audit, where it came from, and notes for the report.

    Raises ``ProbeSkipped`` when no costs were given anywhere, or only costs
    that do not fit the task, and ``ProbeConfigError``/``DataError`` when the
    given ones are malformed.
    """
    notes: list[str] = []
    given = data.costs
    given_column = given if isinstance(given, str) else None
    from_settings = any(
        v is not None for v in (settings.cost_fp, settings.cost_fn, settings.cost_matrix, settings.cost_column)
    )
    if task == "regression" or not from_settings or settings.cost_column_for != "errors":
        # the data's cost column combines with regression's over/under and with a
        # fixed cost for the other kind of mistake; otherwise settings stand alone
        column = settings.cost_column or given_column
    else:
        column = settings.cost_column
    scale = None if column is None else column_values(data, column)

    if task == "regression":
        if settings.over is None and settings.under is None and column is None:
            if from_settings:
                raise ProbeSkipped(NO_REGRESSION_COSTS.format(given="cost_fp/cost_fn or cost_matrix settings"))
            if given is not None:
                raise ProbeSkipped(NO_REGRESSION_COSTS.format(given=_given_kind(given)))
            raise ProbeSkipped(NO_COSTS.format(data_costs=_data_costs(task), settings=_setting_names(task)))
        over = 1.0 if settings.over is None else float(settings.over)
        under = 1.0 if settings.under is None else float(settings.under)
        source = "probe settings" if settings.over is not None or settings.under is not None else "audit data"
        if settings.over is None and settings.under is None:
            notes.append(f"only a cost column was given: over- and under-prediction cost {column!r} per unit alike")
        return RegressionCosts(over, under, settings.kind, scale, column), source, notes

    assert classes is not None
    classes = np.asarray(classes)
    source = "probe settings" if from_settings else "audit data"
    matrix: pd.DataFrame | None = None
    if settings.cost_matrix is not None:
        matrix = matrix_frame(settings.cost_matrix)
    elif not from_settings and isinstance(given, pd.DataFrame):
        matrix = given
    fixed: dict[str, float] | None = None
    if settings.cost_fp is not None or settings.cost_fn is not None:
        fixed = {k: float(v) for k, v in (("fp", settings.cost_fp), ("fn", settings.cost_fn)) if v is not None}
    elif not from_settings and isinstance(given, Mapping):
        fixed = dict(given)
    extra = {k: float(v) for k, v in (("tp", settings.cost_tp), ("tn", settings.cost_tn)) if v is not None}

    if matrix is None and fixed is None and column is None:
        raise ProbeSkipped(NO_COSTS.format(data_costs=_data_costs(task), settings=_setting_names(task)))

    if task == "multiclass":
        if matrix is None and fixed is not None:
            raise ProbeSkipped(NO_MULTICLASS_DICT.format(k=len(classes)))
        if settings.cost_column_for != "errors":
            raise ProbeConfigError(
                f"cost_column_for={settings.cost_column_for!r} applies to a yes/no decision; "
                f"this model has {len(classes)} classes"
            )
        if matrix is None:  # a cost column alone: any mistake on a row costs its value
            values = 1.0 - np.eye(len(classes))
        else:
            values, note = align_matrix(matrix, classes, "cost matrix")
            if note:
                notes.append(note)
        return MatrixCosts(values, classes, scale, column), source, notes

    # binary: the positive class is the model's last
    if matrix is not None:
        values, note = align_matrix(matrix, classes, "cost matrix")
        if note:
            notes.append(note)
        s = 1.0 if scale is None else scale
        cells = {"tn": values[0, 0], "fp": values[0, 1], "fn": values[1, 0], "tp": values[1, 1]}
        return BinaryCosts(**{k: v * s for k, v in cells.items()}), source, notes
    tp = extra.get("tp", float((fixed or {}).get("tp", 0.0)))
    tn = extra.get("tn", float((fixed or {}).get("tn", 0.0)))
    if column is None:
        assert fixed is not None
        return BinaryCosts(tp=tp, fp=fixed["fp"], fn=fixed["fn"], tn=tn), source, notes
    assert scale is not None
    if settings.cost_column_for == "fn":
        if fixed is None or "fp" not in fixed:
            raise ProbeConfigError("cost_column_for='fn' prices false negatives by the column; set cost_fp too")
        return BinaryCosts(tp=tp, fp=fixed["fp"], fn=scale, tn=tn), source, notes
    if settings.cost_column_for == "fp":
        if fixed is None or "fn" not in fixed:
            raise ProbeConfigError("cost_column_for='fp' prices false positives by the column; set cost_fn too")
        return BinaryCosts(tp=tp, fp=scale, fn=fixed["fn"], tn=tn), source, notes
    return BinaryCosts(tp=tp, fp=scale, fn=scale, tn=tn), source, notes


def _given_kind(given: Any) -> str:
    if isinstance(given, Mapping):
        return "fp/fn"
    if isinstance(given, pd.DataFrame):
        return "a cost matrix"
    return repr(given)
