"""A yes/no decision priced: the current rule, the cost-optimal threshold on
the scores (exact, from the merged per-distinct-score counts of each class),
the same chosen out of fold, the Bayes rule, and the two trivial policies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from auditkit import Measurement, Part
from probes.cost_weighted_errors.costs import BinaryCosts
from probes.cost_weighted_errors.figures import threshold_curve
from probes.cost_weighted_errors.measure import Measured, RowCosts, Rules, cost_totals, scale_of, show
from probes.cost_weighted_errors.messages import (
    BAYES_GAP,
    BAYES_RULE_GAP,
    BETTER_THRESHOLD,
    CHANGED_DECISIONS,
    HINT_THRESHOLD,
    HOW_CROSSFIT,
    NOTE_LABELS_ONLY,
    NOTE_NOT_FINITE,
    NOTE_NOT_PROBABILITIES,
)
from probes.cost_weighted_errors.sums import KeyCounts
from probes.cost_weighted_errors.sweep import best_threshold_index, downsample, fold_of, threshold_sweep, tie_ends

if TYPE_CHECKING:
    from auditkit import AuditContext
    from probes.cost_weighted_errors.groups import Group

__all__ = ["BinarySweep", "measure_binary"]


@dataclass(frozen=True)
class Sweep:
    """Every useful threshold priced, the cheapest, and one chosen on each fold's complement."""

    thresholds: np.ndarray  # descending; the first lies above every score (nobody positive)
    totals: np.ndarray
    best: int
    fold_thresholds: np.ndarray


class BinarySweep(Measurement[Any]):
    """Rows per distinct score, fold and actual class (and value of the cost column):
    ``code`` = 2 * fold + actual, highest score first."""

    def __init__(self, costs: BinaryCosts, positive: Any, target: str, seed: int, folds: int) -> None:
        self.costs, self.positive, self.target, self.seed, self.folds = costs, positive, target, seed, folds
        self.missing_scores = False
        self.not_finite = 0
        self.entries = KeyCounts(3 if costs.per_row else 2)  # -score, code (, cost column)

    def update(self, part: Part) -> None:
        if len(part) == 0:
            return
        assert part.predictions is not None
        scores = part.predictions.scores
        if scores is None:
            self.missing_scores = True
            return
        finite = np.isfinite(scores)
        self.not_finite += int((~finite).sum())
        actual = part.frame[self.target].to_numpy()[finite] == self.positive
        # small integers: the sort by them is a radix sort
        code = (2 * fold_of(self.seed, part.rows[finite], self.folds) + actual).astype(np.min_scalar_type(2 * self.folds))
        keys = [0.0 - scores[finite].astype(float), code]  # 0.0 - x: no -0.0 key
        scale = scale_of(part, self.costs.column)
        self.entries.add(keys if scale is None else [*keys, scale[finite]])

    def merge(self, other: BinarySweep) -> BinarySweep:
        self.missing_scores |= other.missing_scores
        self.not_finite += other.not_finite
        self.entries.merge(other.entries)
        return self

    def finalize(self) -> Sweep | None:
        if self.missing_scores or self.not_finite:
            return None
        neg_score, code = self.entries.keys[:2]
        counts = self.entries.counts
        scores = 0.0 - neg_score
        actual, fold = code % 2 == 1, code // 2
        amount = counts * self.entries.keys[2] if self.costs.per_row else counts

        def cell(name: str) -> np.ndarray:
            return self.costs.cells[name] * (amount if name in self.costs.scaled else counts)

        if_pos = np.where(actual, cell("tp"), cell("fp"))
        if_neg = np.where(actual, cell("fn"), cell("tn"))
        delta = if_pos - if_neg
        ends = tie_ends(scores)
        thresholds, totals = threshold_sweep(scores, delta, float(if_neg.sum()), ends)
        # Cross-fitting: the other folds' sweep is the same sweep with this fold's entries zeroed out.
        fold_thresholds = np.array(
            [thresholds[best_threshold_index(np.where(fold != f, delta, 0.0), ends)] for f in range(self.folds)]
        )
        return Sweep(thresholds, totals, int(np.argmin(totals)), fold_thresholds)


def _rules(
    ctx: AuditContext, costs: BinaryCosts, positive: Any, sweep: Sweep | None, calibrated: bool,
    groups: list[Group], settings: Any,
) -> Rules:
    target, seed, folds = ctx.data.target, ctx.seed, settings.folds
    threshold = None if sweep is None else float(sweep.thresholds[sweep.best])
    with_bayes = sweep is not None and calibrated
    width = 2 + (sweep is not None) + with_bayes

    def price(part: Part) -> RowCosts:
        assert part.predictions is not None
        y, labels = part.frame[target].to_numpy(), part.predictions.labels
        actual, predicted = y == positive, labels == positive
        scale = scale_of(part, costs.column)
        if_pos, if_neg = costs.if_positive(actual, scale), costs.if_negative(actual, scale)
        current = np.where(predicted, if_pos, if_neg)
        cells = (actual & predicted, ~actual & predicted, actual & ~predicted, ~actual & ~predicted)
        sums = [current, if_pos, if_neg, *(np.array([np.count_nonzero(c)], dtype=float) for c in cells)]
        diffs = [current - if_pos, current - if_neg]
        if sweep is None:
            return RowCosts(current, sums, np.column_stack(diffs))
        scores = part.predictions.scores
        assert scores is not None and threshold is not None
        optimal = np.where(scores >= threshold, if_pos, if_neg)
        crossfit = np.where(scores >= sweep.fold_thresholds[fold_of(seed, part.rows, folds)], if_pos, if_neg)
        sums += [optimal, crossfit]
        diffs.insert(0, current - crossfit)
        if with_bayes:
            bayes = np.where(costs.bayes_positive(scores, scale), if_pos, if_neg)
            sums.append(bayes)
            diffs.append(bayes - crossfit)
        changed = int(((scores >= threshold) != predicted).sum())
        columns = {"score": scores, "actual": y, "predicted": labels, "cost_now": current, "cost_at_optimum": optimal}
        return RowCosts(current, sums, np.column_stack(diffs), changed, current - optimal, columns)

    names = ["current", "all_positive", "all_negative", "tp", "fp", "fn", "tn"]
    names += ["optimal", "crossfit"] if sweep is not None else []
    names += ["bayes"] if with_bayes else []
    return ctx.measure(lambda: Rules(price, names, width, groups, settings.max_bootstrap_rows))


def measure_binary(ctx: AuditContext, costs: BinaryCosts, settings: Any, groups: list[Group], notes: list[str]) -> Measured:
    classes = np.asarray(ctx.model.classes)
    positive, negative = classes[-1], classes[0]
    calibrated = ctx.model.capabilities.probabilities
    sweep = ctx.measure(lambda: BinarySweep(costs, positive, ctx.data.target, ctx.seed, settings.folds))
    rules = _rules(ctx, costs, positive, sweep, calibrated, groups, settings)
    n, current = rules.n, rules.total("current")
    keys = ["all_positive", "all_negative"]
    measured = Measured(
        metrics={"positive_class": positive, **cost_totals(current, n),
                 "confusion": {c: int(rules.total(c)) for c in ("tp", "fp", "fn", "tn")}},
        rows=n, current=current, diffs=rules.diffs, keys=keys, groups=rules.groups,
        trivial={
            "all_positive": (f"predicting {show(positive)} (positive) for every row", rules.total("all_positive")),
            "all_negative": (f"predicting {show(negative)} (negative) for every row", rules.total("all_negative")),
        },
    )
    bayes_threshold = costs.bayes_threshold
    measured.metrics["bayes_threshold"] = bayes_threshold
    if sweep is None:
        notes.append(NOTE_NOT_FINITE if ctx.predictions.scores is not None else NOTE_LABELS_ONLY)
        measured.figures = threshold_curve(None, None, current / n, None, None, settings.curve_points)
        return measured
    threshold = float(sweep.thresholds[sweep.best])
    optimal, crossfit = rules.total("optimal"), rules.total("crossfit")
    keys.insert(0, "saving")
    # The sweep, lowest threshold first, thinned to curve_points (the optimum kept).
    curve_t, curve_c = downsample(sweep.thresholds[::-1], sweep.totals[::-1] / n, settings.curve_points,
                                  len(sweep.totals) - 1 - sweep.best)
    measured.metrics.update(
        {
            "optimal_threshold": threshold,
            **cost_totals(optimal, n, "optimal_"),
            "saving": (current - optimal) / n,
            "crossfit_expected_cost": crossfit / n,
            "crossfit_thresholds": sweep.fold_thresholds,
            "distinct_scores": int(len(sweep.thresholds) - 1),
            "cost_curve": {"threshold": curve_t, "expected_cost": curve_c},
        }
    )
    measured.better = crossfit
    measured.threshold = threshold
    measured.better_rule = BETTER_THRESHOLD.format(threshold=threshold)
    measured.better_how = HOW_CROSSFIT.format(train=settings.folds - 1, folds=settings.folds, optimal=optimal / n)
    measured.hint = HINT_THRESHOLD.format(threshold=threshold)
    measured.changed = CHANGED_DECISIONS.format(changed=rules.changed, rows=n)
    measured.examples = rules.top.items
    bayes_cost = None
    if calibrated:
        bayes_cost = rules.total("bayes") / n
        measured.metrics["bayes_expected_cost"] = bayes_cost
        measured.bayes = rules.total("bayes")
        measured.bayes_threshold = bayes_threshold
        measured.bayes_message = BAYES_GAP if bayes_threshold is not None else BAYES_RULE_GAP
        keys.append("bayes_gap")
    else:
        notes.append(NOTE_NOT_PROBABILITIES)
    measured.figures = threshold_curve(
        sweep.thresholds[::-1], sweep.totals[::-1] / n, current / n, (threshold, optimal / n),
        None if bayes_cost is None or bayes_threshold is None else (bayes_threshold, bayes_cost), settings.curve_points,
    )
    return measured
