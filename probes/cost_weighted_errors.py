"""Probe ``cost_weighted_errors``: put a price on the model's mistakes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from auditkit import AuditContext, AuditkitError, DataError, Evidence, Finding, Needs, Probe, ProbeSkipped, require
from probes._costs_spec import (
    BinaryCosts,
    ColumnFor,
    MatrixCosts,
    RegressionCosts,
    RegressionLoss,
    matrix_frame,
    resolve_costs,
)
from probes._costs_stats import fold_ids, group_costs, paired_intervals
from probes._costs_sweep import (
    best_offset,
    best_threshold_index,
    downsample,
    offset_sweep,
    threshold_sweep,
    tie_ends,
)

if TYPE_CHECKING:
    from auditkit import AuditData, Model

__all__ = [
    "BAYES_GAP",
    "BAYES_RULE_GAP",
    "BETTER_BAYES_RULE",
    "BETTER_OFFSET",
    "BETTER_THRESHOLD",
    "CHANGED_DECISIONS",
    "CHEAPER_ROWS",
    "COSTLIER_THAN_TRIVIAL",
    "GROUP_SHARE",
    "MONEY_LEFT",
    "CostWeightedErrors",
]

MONEY_LEFT = (
    "The current {current_rule} cost {current:.4g} per row ({total:.6g} over {rows} rows); {better_rule} would "
    "cost {better:.4g} per row, {how}. That leaves {saving:.4g} per row on the table ({share:.1%} of the current "
    "cost, {saving_total:.6g} in total; {conf:.0%} CI {low:.4g} to {high:.4g} per row, reported when the CI's "
    "lower end reaches {band:.0%} of the current cost). {changed}"
)
CHANGED_DECISIONS = "It changes the decision on {changed} of the {rows} rows."
CHEAPER_ROWS = "It lowers the cost of {changed} of the {rows} rows."
BETTER_THRESHOLD = "predicting positive when the score is at least {threshold:.6g} (the cost-optimal threshold)"
BETTER_OFFSET = "adding {offset:+.6g} to every prediction (the cost-optimal offset)"
BETTER_BAYES_RULE = "choosing for each row the class of least expected cost under the predicted probabilities"
HOW_CROSSFIT = (
    "priced out of sample (chosen on {train} of {folds} folds and priced on the other; on the rows it was "
    "chosen on it costs {optimal:.4g}, an optimistic figure)"
)
HOW_BAYES = "with nothing fitted to these rows (the Bayes rule uses only the model's own probabilities)"

COSTLIER_THAN_TRIVIAL = (
    "The model's decisions cost {current:.4g} per row, more than {policy} at {trivial:.4g} per row: "
    "{excess:.4g} more per row ({conf:.2%} CI {low:.4g} to {high:.4g}, Bonferroni-corrected over {k} trivial "
    "policies; {rows} rows). A policy that ignores every feature would lose less money; {hint}."
)
HINT_THRESHOLD = "re-threshold the scores (the cost-optimal threshold is {threshold:.6g}) or check the costs"
HINT_OFFSET = "shift the predictions (the cost-optimal offset is {offset:+.6g}) or check the costs"
HINT_COSTS = "check the model's decision rule against the cost matrix"

BAYES_GAP = (
    "The Bayes threshold {bayes:.4g} = (c_FP - c_TN) / ((c_FP - c_TN) + (c_FN - c_TP)), cost-optimal for "
    "calibrated probabilities, costs {bayes_cost:.4g} per row: {gap:.4g} more ({gap_share:.1%}) than the "
    "cost-optimal threshold {threshold:.6g} found on the scores ({conf:.0%} CI of the gap {low:.4g} to {high:.4g}, "
    "out of sample; reported when the CI's lower end reaches {band:.0%}). The probabilities look miscalibrated: "
    "calibrate them (e.g. scikit-learn's CalibratedClassifierCV) or decide by the empirical threshold."
)
BAYES_RULE_GAP = (
    "The Bayes rule for calibrated probabilities (each row positive when its expected cost is lower) costs "
    "{bayes_cost:.4g} per row: {gap:.4g} more ({gap_share:.1%}) than the cost-optimal threshold {threshold:.6g} "
    "found on the scores ({conf:.0%} CI of the gap {low:.4g} to {high:.4g}, out of sample; reported when "
    "the CI's lower end reaches {band:.0%}). The probabilities look miscalibrated: calibrate them or decide by "
    "the empirical threshold."
)

GROUP_SHARE = (
    "Group {group} carries {cost_share:.1%} of the total cost with {row_share:.1%} of the rows ({rows} rows): "
    "{group_cost:.4g} per row against {overall:.4g} overall, {ratio:.2f}x (flagged from {limit:.2f}x; one-sided "
    "Welch t-test against the other rows, Benjamini-Hochberg adjusted p = {p:.2g} over {tests} groups)."
)

_EXAMPLES = 5
# A group paying twice the average cost per row is high, whatever group_cost_ratio flags.
_HIGH_GROUP_RATIO = 2.0


@dataclass
class _Measured:
    """What one task's measurement hands to the common judging."""

    metrics: dict[str, Any]
    current: np.ndarray
    trivial: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # key -> (description, per-row cost)
    better: np.ndarray | None = None  # the better rule's per-row cost, priced out of sample
    better_rule: str = ""
    better_how: str = ""
    hint: str = HINT_COSTS
    current_rule: str = "decisions"
    saving_key: str = "saving_crossfit"  # the metric the judged saving is reported under
    changed: str = ""
    examples: list[dict[str, Any]] = field(default_factory=list)
    bayes: np.ndarray | None = None  # the Bayes rule's per-row cost, compared with ``better``
    bayes_message: str = ""
    bayes_threshold: float | None = None
    threshold: float | None = None


@dataclass(frozen=True, kw_only=True)
class CostWeightedErrors(Probe):
    """Puts a price on the model's mistakes and finds the money its decision rule leaves on the table.

    Detects: a decision rule that costs more than a cost-optimal one on the
    same scores (a threshold of 0.5 when a missed default costs five times a
    refused loan); a model that costs more than a trivial policy (everyone
    positive, everyone negative, or a constant); probabilities whose Bayes
    threshold is far from the empirical optimum (miscalibration); and a group
    of a sensitive column that pays a disproportionate share of the cost.

    Measures: the cost per row (``expected_cost``) and in total at the model's
    own decisions (its ``predict`` or the stored labels); the exact
    cost-optimal threshold (``optimal_threshold``, ``optimal_expected_cost``),
    found by sorting the scores once and pricing every distinct score with
    cumulative sums, O(n log n); the Bayes threshold (fp - tn) / ((fp - tn) +
    (fn - tp)) (Elkan 2001) and its cost; the trivial policies' costs; the
    saving with a confidence interval; the cost per group of every sensitive
    column; and the cost curve, downsampled to ``curve_points``. Multiclass
    models are priced with a full matrix and compared with the Bayes rule
    (least expected cost under their probabilities); regression with the
    asymmetric ``over``/``under`` costs and the cost-optimal offset.

    Costs come from the probe's settings when any is set, else from
    ``AuditData(costs=...)``; with none the probe is skipped, never guessing.

    Why the defaults: the in-sample optimal threshold is chosen on the very
    rows it is priced on, so its saving is optimistic; the saving that is
    judged is cross-fitted over ``folds`` = 5 folds (choose on four, price on
    the fifth) with a paired bootstrap interval at ``confidence`` = 0.95
    (``n_bootstrap`` = 1000 resamples; a normal interval above
    ``max_bootstrap_rows`` rows, where the two agree). ``saving_share`` =
    (0.02, 0.10, 0.25): a saving is reported when the interval's lower end
    reaches 2% of the current cost (less is within what a re-fit moves anyway,
    and a sample's quirks can make a right threshold look 1-3% off), then
    sized by its estimate: a tenth is a budget line (medium); a quarter means
    the rule ignores the costs (high). The same 2% bar, on the interval's lower
    end, applies to the gap between the Bayes threshold and the empirical
    optimum (a low finding: a diagnosis, not a loss of its own). Costing more
    than a trivial policy is always critical (its interval Bonferroni-corrected
    over the policies compared: a model worse than ignoring every feature
    should never ship). A group is flagged when
    it pays at least ``group_cost_ratio`` = 1.25 times the average cost per
    row, the reciprocal of the four-fifths rule of disparate impact, with at
    least ``min_group_rows`` = 30 rows and a Benjamini-Hochberg adjusted
    one-sided Welch test below 1 - ``confidence``; twice the average is high.

    Settings: ``cost_fp``, ``cost_fn`` (both, or with a cost column the one
    the column does not give), ``cost_tp``, ``cost_tn`` (default 0; negative
    for a benefit); ``cost_matrix`` (rows actual, columns predicted: a
    DataFrame, ``{actual: {predicted: cost}}`` or nested lists in class
    order); ``cost_column`` with ``cost_column_for`` "errors" (any mistake on
    the row costs its value), "fn" or "fp"; for regression ``over``,
    ``under`` (per unit too high/too low, default 1) and ``kind`` "linear"
    or "squared".
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
            require(
                value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)),
                f"{key} must be a finite number; got {value!r}",
            )
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
            matrix_frame(self.cost_matrix)  # raises ProbeConfigError naming the problem
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

    # -- measuring --------------------------------------------------------------

    def run(self, ctx: AuditContext) -> Evidence:
        data, model = ctx.data, ctx.model
        task = model.task
        costs, source, notes = resolve_costs(self, data, task, model.classes)  # type: ignore[arg-type]
        preds = ctx.predictions
        y = data.y.to_numpy()
        if isinstance(costs, BinaryCosts):
            measured = self._binary(ctx, costs, y, preds.labels, preds.scores, preds.proba is not None, notes)
        elif isinstance(costs, MatrixCosts):
            measured = self._multiclass(data, costs, y, preds.labels, preds.proba, notes)
        else:
            measured = self._regression(ctx, costs, y.astype(float), preds.labels, notes)
        metrics: dict[str, Any] = {
            "task": task,
            "costs": costs.describe(),
            "cost_source": source,
            "rows": int(len(y)),
            **measured.metrics,
        }
        findings = self._judge(ctx, measured, metrics)
        metrics["notes"] = notes
        return Evidence(metrics=metrics, findings=findings)

    def _binary(
        self,
        ctx: AuditContext,
        costs: BinaryCosts,
        y: np.ndarray,
        labels: np.ndarray,
        scores: np.ndarray | None,
        calibrated: bool,
        notes: list[str],
    ) -> _Measured:
        classes = np.asarray(ctx.model.classes)
        positive, negative = classes[-1], classes[0]
        actual = y == positive
        if_pos, if_neg = costs.if_positive(actual), costs.if_negative(actual)
        current = np.where(labels == positive, if_pos, if_neg)
        n = len(y)
        measured = _Measured(
            metrics={"positive_class": positive, **_cost_totals(current)},
            current=current,
            trivial={
                "all_positive": (f"predicting {_show(positive)} (positive) for every row", if_pos),
                "all_negative": (f"predicting {_show(negative)} (negative) for every row", if_neg),
            },
        )
        bayes_threshold = costs.bayes_threshold
        measured.metrics["bayes_threshold"] = bayes_threshold
        if scores is None or not np.isfinite(scores).all():
            notes.append(
                "the model gives labels only: the current cost is priced, but no threshold can be optimised"
                if scores is None
                else "some scores are missing or infinite: no threshold is optimised"
            )
            return measured
        order = np.argsort(-scores)
        sorted_scores = scores[order]
        delta = (if_pos - if_neg)[order]
        ends = tie_ends(sorted_scores)
        thresholds, totals = threshold_sweep(sorted_scores, delta, float(if_neg.sum()), ends)
        best = int(np.argmin(totals))
        threshold = float(thresholds[best])
        optimal = np.where(scores >= threshold, if_pos, if_neg)
        # Cross-fitting: choose the threshold on the other folds, price it on this one.
        # The other folds' sweep is the same sweep with this fold's rows zeroed out.
        folds = fold_ids(n, self.folds, ctx.rng, strata=actual)
        sorted_folds = folds[order]
        fold_thresholds = np.empty(self.folds)
        for f in range(self.folds):
            k = best_threshold_index(np.where(sorted_folds != f, delta, 0.0), ends)
            fold_thresholds[f] = thresholds[k]
        crossfit = np.where(scores >= fold_thresholds[folds], if_pos, if_neg)
        curve_t, curve_c = downsample(thresholds[::-1], totals[::-1] / n, self.curve_points, len(totals) - 1 - best)
        measured.metrics.update(
            {
                "optimal_threshold": threshold,
                **_cost_totals(optimal, "optimal_"),
                "saving": float(current.mean() - optimal.mean()),
                "crossfit_expected_cost": float(crossfit.mean()),
                "crossfit_thresholds": fold_thresholds,
                "distinct_scores": int(len(thresholds) - 1),
                "cost_curve": {"threshold": curve_t, "expected_cost": curve_c},
            }
        )
        measured.better = crossfit
        measured.threshold = threshold
        measured.better_rule = BETTER_THRESHOLD.format(threshold=threshold)
        measured.better_how = HOW_CROSSFIT.format(train=self.folds - 1, folds=self.folds, optimal=optimal.mean())
        measured.hint = HINT_THRESHOLD.format(threshold=threshold)
        changed = (scores >= threshold) != (labels == positive)
        measured.changed = CHANGED_DECISIONS.format(changed=int(changed.sum()), rows=n)
        measured.examples = _examples(
            ctx.data, current - optimal, {"score": scores, "actual": y, "predicted": labels,
                                          "cost_now": current, "cost_at_optimum": optimal}
        )
        if calibrated:
            bayes = np.where(costs.bayes_positive(scores), if_pos, if_neg)
            measured.metrics["bayes_expected_cost"] = float(bayes.mean())
            measured.bayes = bayes
            measured.bayes_threshold = bayes_threshold
            measured.bayes_message = BAYES_GAP if bayes_threshold is not None else BAYES_RULE_GAP
        else:
            notes.append("the scores are not probabilities: the Bayes threshold does not apply to them")
        return measured

    def _multiclass(
        self,
        data: AuditData,
        costs: MatrixCosts,
        y: np.ndarray,
        labels: np.ndarray,
        proba: np.ndarray | None,
        notes: list[str],
    ) -> _Measured:
        index = pd.Index(costs.classes)
        actual, predicted = index.get_indexer(y), index.get_indexer(labels)
        for what, idx, values in (("target", actual, y), ("model's predictions", predicted, labels)):
            if (idx < 0).any():
                odd = sorted(map(str, set(values[idx < 0].tolist())))[:5]
                raise DataError(f"the {what} hold(s) values that are not the model's classes: {odd}")
        rows = np.arange(len(y))
        decision = costs.decision_costs(actual)
        current = decision[rows, predicted]
        measured = _Measured(
            metrics=_cost_totals(current),
            current=current,
            trivial={
                f"all_{c}": (f"predicting {_show(c)} for every row", decision[:, j])
                for j, c in enumerate(costs.classes.tolist())
            },
        )
        if proba is None:
            notes.append("the model gives labels only: the Bayes rule cannot be priced")
            return measured
        choice = np.argmin(costs.expected(proba), axis=1)
        bayes = decision[rows, choice]
        measured.metrics["bayes_expected_cost"] = float(bayes.mean())
        measured.metrics["saving"] = float(current.mean() - bayes.mean())
        measured.better = bayes
        measured.better_rule = BETTER_BAYES_RULE
        measured.better_how = HOW_BAYES
        measured.saving_key = "saving_bayes_rule"
        measured.changed = CHANGED_DECISIONS.format(changed=int((choice != predicted).sum()), rows=len(y))
        measured.examples = _examples(
            data, current - bayes, {"actual": y, "predicted": labels, "bayes_choice": costs.classes[choice],
                                    "cost_now": current, "cost_at_bayes_rule": bayes}
        )
        return measured

    def _regression(
        self, ctx: AuditContext, costs: RegressionCosts, y: np.ndarray, predictions: np.ndarray, notes: list[str]
    ) -> _Measured:
        predictions = np.asarray(predictions, dtype=float)
        if not np.isfinite(predictions).all():
            raise DataError("the model's predictions hold missing or infinite values; they cannot be priced")
        n = len(y)
        weight = np.ones(n) if costs.scale is None else costs.scale
        if (weight < 0).any():
            raise DataError(f"cost column {costs.column!r} weighs regression errors and cannot be negative")
        excess = predictions - y
        current = costs.row_costs(excess)
        gap = -excess  # what each prediction lacks: the offset that would make it exact
        order = np.argsort(gap)
        sorted_gap, sorted_w = gap[order], weight[order]
        curve_b, curve_total, candidates, totals = offset_sweep(sorted_gap, sorted_w, costs.over, costs.under, costs.kind)
        offset = float(candidates[int(np.argmin(totals))])
        optimal = costs.row_costs(excess + offset)
        # The best constant prediction is the trivial policy; both it and the offset are chosen,
        # so both are cross-fitted.
        y_order = np.argsort(y)
        sorted_y, sorted_yw = y[y_order], weight[y_order]
        constant = best_offset(sorted_y, sorted_yw, costs.over, costs.under, costs.kind)
        folds = fold_ids(n, self.folds, ctx.rng)
        sorted_folds, sorted_y_folds = folds[order], folds[y_order]
        crossfit, constant_cf = np.empty(n), np.empty(n)
        for f in range(self.folds):
            rows = folds == f
            train, train_y = sorted_folds != f, sorted_y_folds != f
            b = best_offset(sorted_gap[train], sorted_w[train], costs.over, costs.under, costs.kind)
            c = best_offset(sorted_y[train_y], sorted_yw[train_y], costs.over, costs.under, costs.kind)
            crossfit[rows] = costs.row_costs(excess[rows] + b)
            constant_cf[rows] = costs.row_costs(c - y[rows])
        keep = int(np.argmin(np.abs(curve_b - offset)))
        curve_x, curve_y = downsample(curve_b, curve_total / n, self.curve_points, keep)
        measured = _Measured(
            metrics={
                **_cost_totals(current),
                "optimal_offset": offset,
                **_cost_totals(optimal, "optimal_"),
                "saving": float(current.mean() - optimal.mean()),
                "crossfit_expected_cost": float(crossfit.mean()),
                "quantile_level": costs.quantile_level,
                "best_constant": constant,
                "cost_curve": {"offset": curve_x, "expected_cost": curve_y},
            },
            current=current,
            trivial={
                "best_constant": (
                    f"predicting a cost-optimal constant (about {constant:.6g}, chosen out of fold) for every row",
                    constant_cf,
                )
            },
            better=crossfit,
            better_rule=BETTER_OFFSET.format(offset=offset),
            better_how=HOW_CROSSFIT.format(train=self.folds - 1, folds=self.folds, optimal=optimal.mean()),
            current_rule="predictions",
            hint=HINT_OFFSET.format(offset=offset),
            changed=CHEAPER_ROWS.format(changed=int((optimal < current).sum()), rows=n),
        )
        measured.examples = _examples(
            ctx.data, current - optimal, {"actual": y, "predicted": predictions, "cost_now": current,
                                          "cost_at_optimum": optimal}
        )
        return measured

    # -- judging ----------------------------------------------------------------

    def _judge(self, ctx: AuditContext, m: _Measured, metrics: dict[str, Any]) -> list[Finding]:
        alpha = 1 - self.confidence
        columns: list[np.ndarray] = []
        levels: list[float] = []
        keys: list[str] = []
        if m.better is not None:
            keys.append("saving")
            columns.append(m.current - m.better)
            levels.append(self.confidence)
        k = len(m.trivial)
        for key, (_, cost) in m.trivial.items():
            keys.append(key)
            columns.append(m.current - cost)
            levels.append(1 - alpha / k)
        if m.bayes is not None and m.better is not None:
            keys.append("bayes_gap")
            columns.append(m.bayes - m.better)
            levels.append(self.confidence)
        diffs = np.column_stack(columns) if columns else np.zeros((len(m.current), 0))
        low, high, method = paired_intervals(diffs, levels, self.n_bootstrap, ctx.rng, self.max_bootstrap_rows)
        ci = {key: (float(lo), float(hi)) for key, lo, hi in zip(keys, low, high)}
        metrics["ci"] = {"method": method, "confidence": self.confidence,
                         "resamples": self.n_bootstrap if method == "bootstrap" else 0}
        current = float(m.current.mean())
        metrics["trivial_policies"] = {
            key: {"expected_cost": float(cost.mean()), "total_cost": float(cost.sum()),
                  "excess_ci": list(ci[key])}
            for key, (_, cost) in m.trivial.items()
        }
        findings: list[Finding] = []

        # A model that loses more than a policy ignoring every feature.
        worse = [key for key in m.trivial if ci[key][0] > 0]
        if worse:
            key = min(worse, key=lambda kk: float(m.trivial[kk][1].mean()))
            description, cost = m.trivial[key]
            trivial = float(cost.mean())
            findings.append(
                Finding(
                    code="costlier_than_trivial",
                    severity="critical",
                    message=COSTLIER_THAN_TRIVIAL.format(
                        current=current, policy=description, trivial=trivial, excess=current - trivial,
                        conf=1 - alpha / k, low=ci[key][0], high=ci[key][1], k=k, rows=len(m.current), hint=m.hint,
                    ),
                    metrics={"expected_cost": current, "policy": key, "policy_expected_cost": trivial,
                             "excess": current - trivial, "excess_ci": list(ci[key])},
                )
            )

        # Money left on the table, judged out of sample.
        if m.better is not None:
            saving = float(m.current.mean() - m.better.mean())
            share = saving / current if current > 0 else 0.0
            metrics.update({m.saving_key: saving,
                            "saving_ci": list(ci["saving"]), "saving_share": share,
                            "saving_total": saving * len(m.current)})
            # Reported only when the saving is significantly at least the smallest worth acting on
            # (the CI's lower end clears it), then sized by its estimate.
            severity = _band(share, self.saving_share)
            if current > 0 and ci["saving"][0] >= self.saving_share[0] * current and severity is not None:
                findings.append(
                    Finding(
                        code="money_left_on_table",
                        severity=severity,
                        message=MONEY_LEFT.format(
                            current_rule=m.current_rule, current=current, total=float(m.current.sum()),
                            rows=len(m.current),
                            better_rule=m.better_rule, better=float(m.better.mean()), saving=saving, share=share,
                            saving_total=saving * len(m.current), conf=self.confidence, low=ci["saving"][0],
                            high=ci["saving"][1], how=m.better_how, band=self.saving_share[0], changed=m.changed,
                        ),
                        metrics={"expected_cost": current, "better_expected_cost": float(m.better.mean()),
                                 "saving": saving, "saving_ci": list(ci["saving"]), "saving_share": share,
                                 "optimal_threshold": m.threshold},
                        examples=tuple(m.examples),
                    )
                )

        # The Bayes threshold against the empirical optimum: a calibration check in money.
        if "bayes_gap" in ci:
            assert m.bayes is not None and m.better is not None
            bayes_cost, better = float(m.bayes.mean()), float(m.better.mean())
            gap = bayes_cost - better
            gap_share = gap / bayes_cost if bayes_cost > 0 else 0.0
            metrics["bayes_gap"] = {"gap": gap, "ci": list(ci["bayes_gap"]), "share": gap_share}
            if bayes_cost > 0 and ci["bayes_gap"][0] >= self.saving_share[0] * bayes_cost:
                findings.append(
                    Finding(
                        code="bayes_threshold_miscalibrated",
                        severity="low",
                        message=m.bayes_message.format(
                            bayes=m.bayes_threshold if m.bayes_threshold is not None else float("nan"),
                            bayes_cost=bayes_cost, gap=gap, gap_share=gap_share, threshold=m.threshold,
                            conf=self.confidence, low=ci["bayes_gap"][0], high=ci["bayes_gap"][1],
                            band=self.saving_share[0],
                        ),
                        metrics={"bayes_threshold": m.bayes_threshold, "bayes_expected_cost": bayes_cost,
                                 "optimal_threshold": m.threshold, "gap": gap, "gap_ci": list(ci["bayes_gap"])},
                    )
                )

        # Who pays for the errors.
        data = ctx.data
        if data.sensitive:
            groups = group_costs(
                m.current, data.frame, data.sensitive, min_rows=self.min_group_rows,
                ratio_limit=self.group_cost_ratio, alpha=alpha,
            )
            metrics["groups"] = {
                col: [g.to_metrics() for g in groups if g.column == col] for col in data.sensitive
            }
            tests = sum(g.p_adjusted is not None for g in groups)
            for g in groups:
                if not g.flagged:
                    continue
                findings.append(
                    Finding(
                        code="group_pays_disproportionate_cost",
                        severity="high" if g.ratio >= _HIGH_GROUP_RATIO else "medium",
                        message=GROUP_SHARE.format(
                            group=g.label, cost_share=g.cost_share, row_share=g.row_share, rows=g.rows,
                            group_cost=g.expected_cost, overall=current, ratio=g.ratio, limit=self.group_cost_ratio,
                            p=g.p_adjusted, tests=tests,
                        ),
                        features=(g.column,),
                        slice=g.slice,
                        metrics=g.to_metrics(),
                    )
                )
        return findings


def _show(value: Any) -> str:
    """A class label as a person would type it (2, not np.int64(2))."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _band(share: float, bands: tuple[float, float, float]) -> str | None:
    if share >= bands[2]:
        return "high"
    if share >= bands[1]:
        return "medium"
    if share >= bands[0]:
        return "low"
    return None


def _cost_totals(row_cost: np.ndarray, prefix: str = "") -> dict[str, float]:
    # Summed, then divided: integer costs stay exact, so a hand count matches to the last digit.
    total = float(row_cost.sum())
    return {f"{prefix}expected_cost": total / len(row_cost), f"{prefix}total_cost": total}


def _examples(data: AuditData, saving: np.ndarray, columns: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """The rows where the better rule saves the most: the smallest reproducer of the finding."""
    k = min(_EXAMPLES, len(saving))
    top = np.argpartition(-saving, k - 1)[:k]
    top = top[np.lexsort((top, -saving[top]))]  # largest saving first, then row order
    top = top[saving[top] > 0]
    index = data.frame.index
    return [{"row": index[i], **{k: v[i] for k, v in columns.items()}} for i in top]
