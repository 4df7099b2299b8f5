"""Several classes priced by a cost matrix: the current rule, each trivial
policy (one class for every row), and the Bayes rule (least expected cost
under the model's probabilities); per class, the cost of predicting it from a
threshold on its probability."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from auditkit import DataError, Measurement, Part
from probes.cost_weighted_errors.costs import MatrixCosts
from probes.cost_weighted_errors.figures import MAX_CLASS_CURVES, class_curve
from probes.cost_weighted_errors.measure import Measured, RowCosts, Rules, cost_totals, scale_of, show
from probes.cost_weighted_errors.messages import BETTER_BAYES_RULE, CHANGED_DECISIONS, HOW_BAYES, NOTE_NO_BAYES_RULE
from probes.cost_weighted_errors.sums import KeyCounts
from probes.cost_weighted_errors.sweep import threshold_sweep, tie_ends

if TYPE_CHECKING:
    from auditkit import AuditContext
    from probes.cost_weighted_errors.groups import Group

__all__ = ["ClassSweep", "measure_multiclass"]


class Outsiders(Measurement[None]):
    """Target values and predictions that are no class of the model: refused, all of them named."""

    def __init__(self, classes: np.ndarray, target: str) -> None:
        self.index, self.target = pd.Index(classes), target
        self.odd: dict[str, set[str]] = {"target": set(), "model's predictions": set()}

    def update(self, part: Part) -> None:
        assert part.predictions is not None
        for what, values in (("target", part.frame[self.target].to_numpy()),
                             ("model's predictions", part.predictions.labels)):
            idx = self.index.get_indexer(values)
            self.odd[what] |= set(map(str, set(values[idx < 0].tolist())))

    def merge(self, other: Outsiders) -> Outsiders:
        for what in self.odd:
            self.odd[what] |= other.odd[what]
        return self

    def finalize(self) -> None:
        for what, odd in self.odd.items():
            if odd:
                raise DataError(f"the {what} hold(s) values that are not the model's classes: {sorted(odd)[:5]}")


class ClassSweep(Measurement[list[tuple[np.ndarray, np.ndarray]]]):
    """For each of a few classes: per distinct probability of it, actual and predicted class,
    the rows (or their cost column's sum); priced as "predict it from this threshold up"."""

    def __init__(self, costs: MatrixCosts, target: str, chosen: list[int]) -> None:
        self.costs, self.target, self.chosen = costs, target, chosen
        self.index = pd.Index(costs.classes)
        self.entries = [KeyCounts(3 if costs.per_row else 2) for _ in chosen]  # -probability, code (, cost column)

    def update(self, part: Part) -> None:
        if len(part) == 0:
            return
        assert part.predictions is not None and part.predictions.proba is not None
        k = len(self.costs.classes)
        code = self.index.get_indexer(part.frame[self.target].to_numpy()) * k + self.index.get_indexer(
            part.predictions.labels)
        scale = scale_of(part, self.costs.column)
        weight = [] if scale is None else [scale]
        for entries, j in zip(self.entries, self.chosen):
            entries.add([0.0 - part.predictions.proba[:, j], code, *weight])

    def merge(self, other: ClassSweep) -> ClassSweep:
        for mine, theirs in zip(self.entries, other.entries):
            mine.merge(theirs)
        return self

    def finalize(self) -> list[tuple[np.ndarray, np.ndarray]]:
        k, out = len(self.costs.classes), []
        for j, entries in zip(self.chosen, self.entries):
            neg_p, code = entries.keys[:2]
            weight = entries.counts * entries.keys[2] if self.costs.per_row else entries.counts.astype(float)
            actual, predicted = code // k, code % k
            delta = (self.costs.matrix[actual, j] - self.costs.matrix[actual, predicted]) * weight
            current = float((self.costs.matrix[actual, predicted] * weight).sum())
            thresholds, totals = threshold_sweep(0.0 - neg_p, delta, current, tie_ends(0.0 - neg_p))
            out.append((thresholds[::-1], totals[::-1]))
        return out


def measure_multiclass(
    ctx: AuditContext, costs: MatrixCosts, settings: Any, groups: list[Group], notes: list[str]
) -> Measured:
    target, classes = ctx.data.target, costs.classes
    index, k = pd.Index(classes), len(classes)
    ctx.measure(lambda: Outsiders(classes, target))
    with_bayes = ctx.model.capabilities.probabilities and ctx.predictions.proba is not None

    def price(part: Part) -> RowCosts:
        assert part.predictions is not None
        y, labels = part.frame[target].to_numpy(), part.predictions.labels
        actual, predicted = index.get_indexer(y), index.get_indexer(labels)
        rows = np.arange(len(y))
        decision = costs.decision_costs(actual, scale_of(part, costs.column))
        current = decision[rows, predicted]
        by_actual = [current[actual == a] for a in range(k)]
        sums = [current, *(decision[:, j] for j in range(k)), *by_actual]
        diffs = [current[:, None] - decision]
        if not with_bayes:
            return RowCosts(current, sums, np.column_stack(diffs))
        assert part.predictions.proba is not None
        choice = np.argmin(costs.expected(part.predictions.proba, scale_of(part, costs.column)), axis=1)
        bayes = decision[rows, choice]
        sums.append(bayes)
        diffs.insert(0, (current - bayes)[:, None])
        columns = {"actual": y, "predicted": labels, "bayes_choice": classes[choice], "cost_now": current,
                   "cost_at_bayes_rule": bayes}
        return RowCosts(current, sums, np.column_stack(diffs), int((choice != predicted).sum()), current - bayes,
                        columns)

    names = ["current", *(f"all_{j}" for j in range(k)), *(f"actual_{a}" for a in range(k))]
    names += ["bayes"] if with_bayes else []
    width = k + with_bayes
    rules = ctx.measure(lambda: Rules(price, names, width, groups, settings.max_bootstrap_rows))
    n, current = rules.n, rules.total("current")
    keys = [f"all_{c}" for c in classes.tolist()]
    measured = Measured(
        metrics=cost_totals(current, n), rows=n, current=current, diffs=rules.diffs, keys=keys, groups=rules.groups,
        trivial={
            f"all_{c}": (f"predicting {show(c)} for every row", rules.total(f"all_{j}"))
            for j, c in enumerate(classes.tolist())
        },
    )
    if not with_bayes:
        notes.append(NOTE_NO_BAYES_RULE)
        return measured
    bayes = rules.total("bayes")
    measured.metrics["bayes_expected_cost"] = bayes / n
    measured.metrics["saving"] = (current - bayes) / n
    keys.insert(0, "saving")
    measured.better = bayes
    measured.better_rule = BETTER_BAYES_RULE
    measured.better_how = HOW_BAYES
    measured.saving_key = "saving_bayes_rule"
    measured.changed = CHANGED_DECISIONS.format(changed=rules.changed, rows=n)
    measured.examples = rules.top.items
    # The classes whose rows cost the most under the current rule get a curve each.
    paid = np.array([rules.total(f"actual_{a}") for a in range(k)])
    chosen = [int(a) for a in np.argsort(-paid, kind="stable")[:MAX_CLASS_CURVES]]
    curves = ctx.measure(lambda: ClassSweep(costs, target, chosen))
    for j, (x, total) in zip(chosen, curves):
        measured.figures += class_curve(show(classes[j]), x, total / n, current / n, settings.curve_points)
    return measured
