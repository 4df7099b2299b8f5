"""What mistakes cost: the cost models the probe prices decisions with,
resolved from its settings or from ``AuditData(costs=...)``.

Three shapes cover the tasks:

- ``BinaryCosts``: the cost of a true/false positive/negative, each a number
  or scaled per row by a cost column (a missed fraud costs its amount);
- ``MatrixCosts``: a full matrix, rows actual and columns predicted, in the
  order of the model's classes, optionally scaled per row by a cost column;
- ``RegressionCosts``: the cost of over- and under-predicting by one unit
  (linear) or its square, optionally scaled per row.

The probe's own settings win over the data's costs, so a config file can
price an audit without touching the data. Every check of the costs
themselves is ``auditkit._costs``' (the one place, one error type).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from auditkit import AuditData, ProbeConfigError, ProbeSkipped
from auditkit._costs import align_matrix, check_cost_column, cost_matrix_frame
from probes.cost_weighted_errors.messages import NO_COSTS, NO_MULTICLASS_DICT, NO_REGRESSION_COSTS, NOTE_COLUMN_ONLY

__all__ = ["BinaryCosts", "Costs", "MatrixCosts", "RegressionCosts", "resolve_costs"]

ColumnFor = Literal["errors", "fn", "fp"]
RegressionLoss = Literal["linear", "squared"]
CELLS = ("tp", "fp", "fn", "tn")


@dataclass(frozen=True)
class BinaryCosts:
    """What each outcome of a yes/no decision costs: ``cells[c]``, times the row's
    value of ``column`` for the cells in ``scaled``."""

    cells: Mapping[str, float]
    scaled: frozenset[str] = frozenset()
    column: str | None = None

    @property
    def per_row(self) -> bool:
        return bool(self.scaled)

    def cell(self, name: str, scale: np.ndarray | None) -> float | np.ndarray:
        value = self.cells[name]
        return value * scale if name in self.scaled and scale is not None else value

    def if_positive(self, actual: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
        """Each row's cost if it is predicted positive (``actual`` is True for positives)."""
        return np.where(actual, self.cell("tp", scale), self.cell("fp", scale)).astype(float, copy=False)

    def if_negative(self, actual: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
        return np.where(actual, self.cell("fn", scale), self.cell("tn", scale)).astype(float, copy=False)

    @property
    def bayes_threshold(self) -> float | None:
        """Elkan's (2001) threshold (fp - tn) / ((fp - tn) + (fn - tp)) on a calibrated
        probability; None with per-row costs (each row has its own) or when the costs
        are not "reasonable" (a mistake cheaper than being right)."""
        if self.per_row:
            return None
        gain_neg = self.cells["fp"] - self.cells["tn"]  # what calling a negative right saves
        gain_pos = self.cells["fn"] - self.cells["tp"]  # what calling a positive right saves
        if gain_neg <= 0 or gain_pos <= 0:
            return None
        return gain_neg / (gain_neg + gain_pos)

    def bayes_positive(self, proba: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
        """The decision with the least expected cost if ``proba`` were calibrated."""
        threshold = self.bayes_threshold
        if threshold is not None:  # the same rule, written as the threshold a report quotes
            return proba >= threshold
        tp, fp, fn, tn = (self.cell(c, scale) for c in CELLS)
        return proba * tp + (1 - proba) * fp <= proba * fn + (1 - proba) * tn

    def describe(self) -> dict[str, Any]:
        return {k: "per row" if k in self.scaled else float(self.cells[k]) for k in ("fp", "fn", "tp", "tn")}


@dataclass(frozen=True)
class MatrixCosts:
    """A cost matrix, rows actual and columns predicted, in the model's class order."""

    matrix: np.ndarray
    classes: np.ndarray
    column: str | None = None

    @property
    def per_row(self) -> bool:
        return self.column is not None

    def decision_costs(self, actual_index: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
        """(rows, classes): what predicting each class would cost on each row."""
        out = self.matrix[actual_index]
        return out if scale is None else out * scale[:, None]

    def expected(self, proba: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
        """(rows, classes): each decision's expected cost under the predicted probabilities."""
        out = proba @ self.matrix
        return out if scale is None else out * scale[:, None]

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
    column: str | None = None

    @property
    def per_row(self) -> bool:
        return self.column is not None

    def row_costs(self, excess: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
        """Each row's cost, ``excess`` being prediction minus actual."""
        size = np.abs(excess) if self.kind == "linear" else np.square(excess)
        out = np.where(excess > 0, self.over, self.under) * size
        return out if scale is None else out * scale

    @property
    def quantile_level(self) -> float:
        """The level of the cost-optimal predictive quantile (linear costs) or expectile (squared)."""
        return self.under / (self.over + self.under)

    def describe(self) -> dict[str, Any]:
        return {"over": self.over, "under": self.under, "kind": self.kind, "column": self.column}


Costs = BinaryCosts | MatrixCosts | RegressionCosts


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
    settings: Any, data: AuditData, task: str, classes: np.ndarray | None, *, check_column: bool = False
) -> tuple[Costs, str, list[str]]:
    """The cost model for this audit, where it came from, and notes for the report.

    ``settings`` is the probe (its cost settings are read by attribute).
    Raises ``ProbeSkipped`` when no costs were given anywhere, or only costs
    that do not fit the task, and ``ProbeConfigError``/``DataError`` when the
    given ones are malformed. ``check_column`` checks a cost column the
    settings name (the data's own was checked when the data was built).
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
    if check_column and column is not None and column != given_column:
        # A check of the input, like AuditData's of its own cost column when it is
        # built: it reads the whole column once, before anything is measured.
        check_cost_column(data.frame, column)

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
            notes.append(NOTE_COLUMN_ONLY.format(column=column))
        return RegressionCosts(over, under, settings.kind, column), source, notes

    assert classes is not None
    classes = np.asarray(classes)
    source = "probe settings" if from_settings else "audit data"
    matrix: pd.DataFrame | None = None
    if settings.cost_matrix is not None:
        matrix = cost_matrix_frame(settings.cost_matrix, mappings=True)
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
            values, note = align_matrix(matrix, classes)
            if note:
                notes.append(note)
        return MatrixCosts(values, classes, column), source, notes

    # binary: the positive class is the model's last
    if matrix is not None:
        values, note = align_matrix(matrix, classes)
        if note:
            notes.append(note)
        cells = {"tn": values[0, 0], "fp": values[0, 1], "fn": values[1, 0], "tp": values[1, 1]}
        scaled = frozenset(CELLS) if column is not None else frozenset()
        return BinaryCosts({k: float(v) for k, v in cells.items()}, scaled, column), source, notes
    tp = extra.get("tp", float((fixed or {}).get("tp", 0.0)))
    tn = extra.get("tn", float((fixed or {}).get("tn", 0.0)))
    if column is None:
        assert fixed is not None
        return BinaryCosts({"tp": tp, "fp": fixed["fp"], "fn": fixed["fn"], "tn": tn}), source, notes
    if settings.cost_column_for == "fn":
        if fixed is None or "fp" not in fixed:
            raise ProbeConfigError("cost_column_for='fn' prices false negatives by the column; set cost_fp too")
        return BinaryCosts({"tp": tp, "fp": fixed["fp"], "fn": 1.0, "tn": tn}, frozenset({"fn"}), column), source, notes
    if settings.cost_column_for == "fp":
        if fixed is None or "fn" not in fixed:
            raise ProbeConfigError("cost_column_for='fp' prices false positives by the column; set cost_fn too")
        return BinaryCosts({"tp": tp, "fp": 1.0, "fn": fixed["fn"], "tn": tn}, frozenset({"fp"}), column), source, notes
    return BinaryCosts({"tp": tp, "fp": 1.0, "fn": 1.0, "tn": tn}, frozenset({"fp", "fn"}), column), source, notes


def _given_kind(given: Any) -> str:
    if isinstance(given, Mapping):
        return "fp/fn"
    if isinstance(given, pd.DataFrame):
        return "a cost matrix"
    return repr(given)
