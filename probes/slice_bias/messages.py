"""What slice_bias says: its message templates (the tests format the same ones)."""

from __future__ import annotations

__all__ = [
    "CODES",
    "DISPARITY_MESSAGE",
    "ERROR_KIND",
    "IMPACT",
    "INCOMPLETE_MESSAGE",
    "INSUFFICIENT_MESSAGE",
    "SLICE_CONFIDENCE_MESSAGE",
    "SLICE_MESSAGE",
    "SLICE_MESSAGE_REGRESSION",
    "WEAK_EVIDENCE_MESSAGE",
    "WHAT",
]

DISPARITY_MESSAGE = (
    "{what} differs across {feature!r}: {worse_group} {worse_value:.3f} vs {better_group} {better_value:.3f}; "
    "ratio {ratio:.2f} ({level:.0%} CI {ratio_lo:.2f}-{ratio_hi:.2f}, threshold {ratio_threshold:.2f}), "
    "difference {difference:.3f} (CI {difference_lo:.3f}-{difference_hi:.3f}, threshold {difference_threshold:.3f}), "
    "p = {p_adjusted:.2g} (Holm, {tests} tests). {impact}"
)
WHAT = {
    "demographic_parity": "Selection rate (share predicted {positive!r})",
    "false_positive_rate": "False positive rate (share of actual non-{positive!r} predicted {positive!r})",
    "false_negative_rate": "False negative rate (share of actual {positive!r} not predicted so)",
    "error_rate": "Error rate",
    "mae": "Mean absolute error",
}
IMPACT = {
    ("demographic_parity", "benefit"): "{worse_group} receives the favourable outcome {positive!r} less often.",
    ("demographic_parity", "risk"): "{worse_group} is flagged {positive!r} more often.",
    ("false_positive_rate", "risk"): (
        "The gap is in punitive errors (false positives): people in {worse_group} are wrongly flagged "
        "{positive!r} more often."
    ),
    ("false_positive_rate", "benefit"): (
        "The gap is in false positives, which grant {positive!r} undeservedly: an error in favour of "
        "{worse_group}, so the other groups are held to a stricter standard."
    ),
    ("false_negative_rate", "benefit"): (
        "The gap is in assistive errors (false negatives): people in {worse_group} who merit {positive!r} "
        "are denied it more often."
    ),
    ("false_negative_rate", "risk"): (
        "The gap is in false negatives, which miss real {positive!r} cases: a lenient error in favour "
        "of {worse_group}, so the other groups are flagged more strictly."
    ),
    ("error_rate", "benefit"): "The model is wrong more often for {worse_group}.",
    ("error_rate", "risk"): "The model is wrong more often for {worse_group}.",
    ("mae", "benefit"): "The model's predictions are further off for {worse_group}.",
    ("mae", "risk"): "The model's predictions are further off for {worse_group}.",
}
WEAK_EVIDENCE_MESSAGE = (
    "The evidence is weak (p = {p_adjusted:.2g}, not below {strong_significance:g}): "
    "a gap worth a look, not yet one to fail on."
)
INSUFFICIENT_MESSAGE = (
    "Group {group} of {feature!r} has {count} row(s), fewer than min_group_size={min_group_size}: "
    "too few to judge, so it is left out of the disparities (insufficient evidence, not a pass)."
)
SLICE_MESSAGE = (
    "The model errs on {error:.1%} of the {support} rows where {where} ({share:.1%} of the data), "
    "against {overall:.1%} overall ({error_ratio:.2f}x, threshold {min_error_ratio:.2f}x); "
    "p = {q_value:.2g} corrected for the {tested} slices tried (Bonferroni, weighted by number of conditions)."
)
SLICE_MESSAGE_REGRESSION = (
    "The model's mean absolute error is {error:.4g} on the {support} rows where {where} ({share:.1%} of the data), "
    "against {overall:.4g} overall ({error_ratio:.2f}x, threshold {min_error_ratio:.2f}x); "
    "p = {q_value:.2g} corrected for the {tested} slices tried (Bonferroni, weighted by number of conditions)."
)
INCOMPLETE_MESSAGE = (
    "The slice search ran out of its {budget:g} s budget after counting {tables} column combinations "
    "({tested} slices tested): slices among the rest were not searched (raise search_budget_s or min_support)."
)
SLICE_CONFIDENCE_MESSAGE = (
    "Its own probabilities expected {expected_error:.1%} errors there (recalibrated on the other "
    "rows): it is confidently wrong, {confidence_ratio:.2f}x beyond its confidence "
    "(p = {confidence_q:.2g}, corrected the same way)."
)

CODES = {
    "demographic_parity": "selection_rate_disparity",
    "false_positive_rate": "false_positive_rate_disparity",
    "false_negative_rate": "false_negative_rate_disparity",
    "error_rate": "error_rate_disparity",
    "mae": "mae_disparity",
}
# Whose side an error is on, by what a positive prediction means for the people it falls on.
ERROR_KIND = {
    ("false_positive_rate", "risk"): "punitive",
    ("false_positive_rate", "benefit"): "favourable",
    ("false_negative_rate", "benefit"): "assistive",
    ("false_negative_rate", "risk"): "lenient",
}
