"""A regression priced by asymmetric over/under costs: the current predictions,
the cost-optimal offset added to every one (exact, from the merged counts of
each distinct shortfall), the same chosen out of fold, and the best constant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from auditkit import DataError, Measurement, Part
from probes.cost_weighted_errors.costs import RegressionCosts
from probes.cost_weighted_errors.figures import offset_curve
from probes.cost_weighted_errors.measure import Measured, RowCosts, Rules, cost_totals, scale_of
from probes.cost_weighted_errors.messages import BETTER_OFFSET, CHEAPER_ROWS, HINT_OFFSET, HOW_CROSSFIT
from probes.cost_weighted_errors.sums import KeyCounts
from probes.cost_weighted_errors.sweep import best_offset, downsample, fold_of, offset_sweep

if TYPE_CHECKING:
    from auditkit import AuditContext
    from probes.cost_weighted_errors.groups import Group

__all__ = ["OffsetSweep", "measure_regression"]

NOT_FINITE = "the model's predictions hold missing or infinite values; they cannot be priced"


@dataclass(frozen=True)
class Offsets:
    offset: float
    curve: tuple[np.ndarray, np.ndarray]  # every distinct shortfall and the total cost of adding it
    fold_offsets: np.ndarray
    constant: float
    fold_constants: np.ndarray


class OffsetSweep(Measurement[Offsets]):
    """Rows per distinct shortfall (actual minus prediction), fold and value of the cost
    column, and per distinct actual value, fold and cost; sorted by the value."""

    def __init__(self, costs: RegressionCosts, target: str, seed: int, folds: int) -> None:
        self.costs, self.target, self.seed, self.folds = costs, target, seed, folds
        width = 3 if costs.per_row else 2
        self.gaps = KeyCounts(width)  # shortfall, fold (, cost column)
        self.actual = KeyCounts(width)  # actual value, fold (, cost column)

    def update(self, part: Part) -> None:
        if len(part) == 0:
            return
        assert part.predictions is not None
        predictions = np.asarray(part.predictions.labels, dtype=float)
        if not np.isfinite(predictions).all():
            raise DataError(NOT_FINITE)
        y = part.frame[self.target].to_numpy(dtype=float)
        scale = scale_of(part, self.costs.column)
        fold = fold_of(self.seed, part.rows, self.folds).astype(np.min_scalar_type(self.folds))
        weight = [] if scale is None else [scale]
        self.gaps.add([y - predictions + 0.0, fold, *weight])  # + 0.0: no -0.0 key
        self.actual.add([y + 0.0, fold, *weight])

    def merge(self, other: OffsetSweep) -> OffsetSweep:
        self.gaps.merge(other.gaps)
        self.actual.merge(other.actual)
        return self

    def finalize(self) -> Offsets:
        c = self.costs
        gap, gap_fold = self.gaps.keys[:2]
        y, y_fold = self.actual.keys[:2]
        gap_w, y_w = (s.counts * s.keys[2] if c.per_row else s.counts.astype(float) for s in (self.gaps, self.actual))
        curve_b, curve_total, candidates, totals = offset_sweep(gap, gap_w, c.over, c.under, c.kind)
        offset = float(candidates[int(np.argmin(totals))])
        # The best constant prediction is the trivial policy; both it and the offset are chosen,
        # so both are cross-fitted.
        constant = best_offset(y, y_w, c.over, c.under, c.kind)
        fold_offsets = np.array([best_offset(gap[gap_fold != f], gap_w[gap_fold != f], c.over, c.under, c.kind)
                                 for f in range(self.folds)])
        fold_constants = np.array([best_offset(y[y_fold != f], y_w[y_fold != f], c.over, c.under, c.kind)
                                   for f in range(self.folds)])
        return Offsets(offset, (curve_b, curve_total), fold_offsets, constant, fold_constants)


def measure_regression(
    ctx: AuditContext, costs: RegressionCosts, settings: Any, groups: list[Group], notes: list[str]
) -> Measured:
    target, seed, folds = ctx.data.target, ctx.seed, settings.folds
    sweep: Offsets = ctx.measure(lambda: OffsetSweep(costs, target, seed, folds))

    def price(part: Part) -> RowCosts:
        assert part.predictions is not None
        y = part.frame[target].to_numpy(dtype=float)
        predictions = np.asarray(part.predictions.labels, dtype=float)
        scale = scale_of(part, costs.column)
        fold = fold_of(seed, part.rows, folds)
        excess = predictions - y
        current = costs.row_costs(excess, scale)
        optimal = costs.row_costs(excess + sweep.offset, scale)
        crossfit = costs.row_costs(excess + sweep.fold_offsets[fold], scale)
        constant = costs.row_costs(sweep.fold_constants[fold] - y, scale)
        columns = {"actual": y, "predicted": predictions, "cost_now": current, "cost_at_optimum": optimal}
        return RowCosts(current, [current, optimal, crossfit, constant],
                        np.column_stack([current - crossfit, current - constant]),
                        int((optimal < current).sum()), current - optimal, columns)

    rules = ctx.measure(lambda: Rules(price, ["current", "optimal", "crossfit", "constant"], 2, groups,
                                      settings.max_bootstrap_rows))
    n = rules.n
    current, optimal, crossfit = rules.total("current"), rules.total("optimal"), rules.total("crossfit")
    offset, constant = sweep.offset, sweep.constant
    curve_b, curve_total = sweep.curve
    keep = int(np.argmin(np.abs(curve_b - offset)))
    curve_x, curve_y = downsample(curve_b, curve_total / n, settings.curve_points, keep)
    return Measured(
        metrics={
            **cost_totals(current, n),
            "optimal_offset": offset,
            **cost_totals(optimal, n, "optimal_"),
            "saving": (current - optimal) / n,
            "crossfit_expected_cost": crossfit / n,
            "quantile_level": costs.quantile_level,
            "best_constant": constant,
            "cost_curve": {"offset": curve_x, "expected_cost": curve_y},
        },
        rows=n, current=current, diffs=rules.diffs, keys=["saving", "best_constant"], groups=rules.groups,
        trivial={
            "best_constant": (
                f"predicting a cost-optimal constant (about {constant:.6g}, chosen out of fold) for every row",
                rules.total("constant"),
            )
        },
        better=crossfit,
        better_rule=BETTER_OFFSET.format(offset=offset),
        better_how=HOW_CROSSFIT.format(train=folds - 1, folds=folds, optimal=optimal / n),
        current_rule="predictions",
        hint=HINT_OFFSET.format(offset=offset),
        changed=CHEAPER_ROWS.format(changed=rules.changed, rows=n),
        examples=rules.top.items,
        figures=offset_curve(curve_b, curve_total / n, current / n, (offset, optimal / n), settings.curve_points),
    )
