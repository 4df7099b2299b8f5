"""Probe ``cost_weighted_errors``: put a price on the model's mistakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from auditkit import AuditContext, AuditData, AuditkitError, DataError, Evidence, Needs, Probe, ProbeConfigError
from auditkit import ProbeSkipped, require
from auditkit._costs import check_binary_costs, cost_matrix_frame
from probes.cost_weighted_errors.binary import measure_binary
from probes.cost_weighted_errors.costs import ColumnFor, RegressionLoss, resolve_costs
from probes.cost_weighted_errors.groups import SensitiveValues, define_groups
from probes.cost_weighted_errors.judge import judge
from probes.cost_weighted_errors.multiclass import measure_multiclass
from probes.cost_weighted_errors.regression import measure_regression

if TYPE_CHECKING:
    from auditkit import Model

__all__ = ["MEASURES", "CostWeightedErrors"]

# Each task's measurement, picked by the model's declared task.
MEASURES: dict[str, Callable[..., Any]] = {
    "binary": measure_binary,
    "multiclass": measure_multiclass,
    "regression": measure_regression,
}


@dataclass(frozen=True, kw_only=True)
class CostWeightedErrors(Probe):
    """Puts a price on the model's mistakes and finds the money its decision rule leaves on the table.

    Detects: a decision rule costlier than a cost-optimal one on the same
    scores; a model costlier than a trivial policy; probabilities whose Bayes
    threshold is far from the empirical optimum; a sensitive group paying a
    disproportionate share of the cost.

    Measures: the cost per row at the model's own decisions; the exact
    cost-optimal threshold (offset for regression, the Bayes rule for
    multiclass), chosen again out of fold; the trivial policies' costs; the
    cost per group; the cost curve. Costs come from the settings, else from
    ``AuditData(costs=...)``; with none the probe is skipped.

    Why the defaults: the saving judged is cross-fitted over ``folds`` = 5
    with a paired bootstrap interval at ``confidence`` = 0.95; it is reported
    when the interval's lower end reaches ``saving_share[0]`` = 2% of the
    current cost, medium from 10%, high from 25%. A group is flagged from
    ``group_cost_ratio`` = 1.25 times the average (the four-fifths rule's
    reciprocal) with ``min_group_rows`` = 30. The reasons, and every
    setting, are in ``probes/cost_weighted_errors/README.md``.
    """

    name: ClassVar[str] = "cost_weighted_errors"
    needs: ClassVar[Needs] = Needs(tasks=("binary", "multiclass", "regression"))

    cost_fp: float | None = None
    cost_fn: float | None = None
    cost_tp: float | None = None
    cost_tn: float | None = None
    cost_matrix: Any = None
    cost_column: str | None = None
    cost_column_for: ColumnFor = "errors"
    over: float | None = None
    under: float | None = None
    kind: RegressionLoss = "linear"
    confidence: float = 0.95
    n_bootstrap: int = 1000
    max_bootstrap_rows: int = 50_000
    folds: int = 5
    saving_share: tuple[float, float, float] = (0.02, 0.10, 0.25)
    group_cost_ratio: float = 1.25
    min_group_rows: int = 30
    curve_points: int = 200

    def __post_init__(self) -> None:
        for key in ("cost_fp", "cost_fn", "cost_tp", "cost_tn", "over", "under"):
            value = getattr(self, key)
            require(_finite(value), f"{key} must be a finite number; got {value!r}")
        require(self.over is None or self.over >= 0, f"over must be >= 0; got {self.over}")
        require(self.under is None or self.under >= 0, f"under must be >= 0; got {self.under}")
        require(
            self.over is None or self.under is None or self.over + self.under > 0,
            "over and under cannot both be 0: nothing would cost anything",
        )
        require(self.kind in ("linear", "squared"), f"kind must be 'linear' or 'squared'; got {self.kind!r}")
        require(
            self.cost_column_for in ("errors", "fn", "fp"),
            f"cost_column_for must be 'errors', 'fn' or 'fp'; got {self.cost_column_for!r}",
        )
        require(
            self.cost_column is None or (isinstance(self.cost_column, str) and self.cost_column != ""),
            f"cost_column must be a column name; got {self.cost_column!r}",
        )
        if self.cost_matrix is not None:
            _as_setting("cost_matrix", lambda: cost_matrix_frame(self.cost_matrix, mappings=True))
            require(
                self.cost_fp is None and self.cost_fn is None,
                "give cost_matrix or cost_fp/cost_fn, not both",
            )
            require(self.cost_column_for == "errors", "cost_column_for applies to cost_fp/cost_fn, not to cost_matrix")
        if self.cost_column_for == "errors":
            require(
                (self.cost_fp is None) == (self.cost_fn is None),
                "cost_fp and cost_fn go together (or set cost_column with cost_column_for='fn' or 'fp')",
            )
            require(
                self.cost_column is None or self.cost_fp is None,
                "cost_column prices every mistake (cost_column_for='errors'); drop cost_fp/cost_fn, or set "
                "cost_column_for='fn' or 'fp' to price one kind of mistake by the column",
            )
        else:
            priced, other = ("cost_fn", "cost_fp") if self.cost_column_for == "fn" else ("cost_fp", "cost_fn")
            require(
                getattr(self, priced) is None and getattr(self, other) is not None,
                f"cost_column_for={self.cost_column_for!r} prices {priced[5:]} by the column: set {other}, not {priced}",
            )
        given = {k: v for k, v in (("fp", self.cost_fp), ("fn", self.cost_fn)) if v is not None}
        if given:
            _as_setting("cost_fp/cost_fn", lambda: check_binary_costs(given, need=tuple(given)))
        require(0.5 <= self.confidence < 1, f"confidence must be in [0.5, 1); got {self.confidence}")
        require(
            isinstance(self.n_bootstrap, int) and (self.n_bootstrap == 0 or self.n_bootstrap >= 100),
            f"n_bootstrap must be 0 (normal intervals) or at least 100; got {self.n_bootstrap}",
        )
        require(
            isinstance(self.max_bootstrap_rows, int) and self.max_bootstrap_rows >= 1,
            f"max_bootstrap_rows must be a positive integer; got {self.max_bootstrap_rows}",
        )
        require(isinstance(self.folds, int) and self.folds >= 2, f"folds must be an integer >= 2; got {self.folds}")
        bands = tuple(self.saving_share)
        require(
            len(bands) == 3 and 0 < bands[0] <= bands[1] <= bands[2],
            f"saving_share must be three increasing shares (low, medium, high) above 0; got {self.saving_share!r}",
        )
        object.__setattr__(self, "saving_share", tuple(float(b) for b in bands))
        require(self.group_cost_ratio > 1, f"group_cost_ratio must be above 1; got {self.group_cost_ratio}")
        require(
            isinstance(self.min_group_rows, int) and self.min_group_rows >= 2,
            f"min_group_rows must be an integer >= 2; got {self.min_group_rows}",
        )
        require(
            isinstance(self.curve_points, int) and self.curve_points >= 10,
            f"curve_points must be an integer >= 10; got {self.curve_points}",
        )

    # -- applicability --------------------------------------------------------

    def applies(self, model: Model, data: AuditData) -> str | None:
        reason = super().applies(model, data)
        if reason is not None:
            return reason
        try:
            resolve_costs(self, data, model.task, model.classes)  # type: ignore[arg-type]
        except ProbeSkipped as exc:
            return str(exc)
        except AuditkitError:
            return None  # malformed costs: run() reports them as this probe's error
        return None

    # -- measuring, then judging -------------------------------------------------

    def run(self, ctx: AuditContext) -> Evidence:
        data, model = ctx.data, ctx.model
        task = model.capabilities.task
        assert task is not None
        costs, source, notes = resolve_costs(self, data, task, model.classes, check_column=True)  # type: ignore[arg-type]
        groups = define_groups(ctx.measure(lambda: SensitiveValues(data.sensitive), predictions=False))
        measured = MEASURES[task](ctx, costs, self, groups, notes)
        metrics: dict[str, Any] = {
            "task": task,
            "costs": costs.describe(),
            "cost_source": source,
            "rows": measured.rows,
            **measured.metrics,
        }
        findings = judge(ctx, measured, self, metrics)
        metrics["notes"] = notes
        return Evidence(metrics=metrics, findings=findings, figures=measured.figures)


def _as_setting(setting: str, check: Callable[[], Any]) -> None:
    """Run ``auditkit._costs``' check on a setting: its ``DataError`` is this setting's mistake."""
    try:
        check()
    except DataError as exc:
        raise ProbeConfigError(f"{setting}: {exc}") from exc


def _finite(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value)))
