"""Probe ``cost_weighted_errors``: put a price on the model's mistakes.

``probe`` holds the class and its settings, ``measure`` (with ``binary``,
``multiclass`` and ``regression``, one per task) the mergeable measurements,
``judge`` the thresholds that turn them into findings, ``messages`` the
templates; ``costs`` resolves what mistakes cost, ``sweep`` prices every
threshold exactly, ``sums`` and ``stats`` hold the mergeable sums and the
intervals, ``groups`` who pays, ``figures`` the cost curves.
"""

from probes.cost_weighted_errors.messages import (
    BAYES_GAP,
    BAYES_RULE_GAP,
    BETTER_BAYES_RULE,
    BETTER_OFFSET,
    BETTER_THRESHOLD,
    CHANGED_DECISIONS,
    CHEAPER_ROWS,
    COSTLIER_THAN_TRIVIAL,
    GROUP_SHARE,
    MONEY_LEFT,
    NO_COSTS,
    NO_MULTICLASS_DICT,
    NO_REGRESSION_COSTS,
)
from probes.cost_weighted_errors.probe import CostWeightedErrors

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
    "NO_COSTS",
    "NO_MULTICLASS_DICT",
    "NO_REGRESSION_COSTS",
    "CostWeightedErrors",
]
