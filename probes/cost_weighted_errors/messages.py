"""Message templates of ``cost_weighted_errors``: every finding, note and skip
reason is one of these, formatted; the tests reuse them."""

from __future__ import annotations

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
    "HINT_COSTS",
    "HINT_OFFSET",
    "HINT_THRESHOLD",
    "HOW_BAYES",
    "HOW_CROSSFIT",
    "MONEY_LEFT",
    "NO_COSTS",
    "NO_MULTICLASS_DICT",
    "NOTE_COLUMN_ONLY",
    "NOTE_LABELS_ONLY",
    "NOTE_NOT_FINITE",
    "NOTE_NOT_PROBABILITIES",
    "NOTE_NO_BAYES_RULE",
    "NO_REGRESSION_COSTS",
]

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

# Notes in the metrics: why part of the measurement could not be made.
NOTE_LABELS_ONLY = "the model gives labels only: the current cost is priced, but no threshold can be optimised"
NOTE_NOT_FINITE = "some scores are missing or infinite: no threshold is optimised"
NOTE_NOT_PROBABILITIES = "the scores are not probabilities: the Bayes threshold does not apply to them"
NOTE_NO_BAYES_RULE = "the model gives labels only: the Bayes rule cannot be priced"
NOTE_COLUMN_ONLY = "only a cost column was given: over- and under-prediction cost {column!r} per unit alike"
