"""What drift says: its message templates (the tests format the same ones)."""

from __future__ import annotations

__all__ = [
    "DOMAIN_MESSAGE",
    "HINTS",
    "IMPACT_MESSAGE",
    "LABEL_MESSAGE",
    "MEAN_DETAIL",
    "MISSING_FALL_MESSAGE",
    "MISSING_RISE_MESSAGE",
    "MODEL_SKIPPED_MESSAGE",
    "NULL_TOKEN_MESSAGE",
    "NUMERIC_DETAIL",
    "CATEGORICAL_DETAIL",
    "SHIFT_MESSAGE",
    "OUTPUT_MESSAGE",
    "RANGE_MESSAGE",
    "SKEW_MESSAGE",
    "STRENGTH",
    "TYPE_MESSAGE",
    "UNSEEN_MESSAGE",
]

# Every finding ends with its strength: the p-value after Holm's correction over all tests made.
STRENGTH = "p = {p_adjusted:.2g} (Holm, {tests} tests)."

MEAN_DETAIL = (
    "the mean moved {effect:.2f} reference standard deviations ({level:.0%} CI {low:.2f}-{high:.2f}, threshold "
    "{threshold:.2f}), from {reference_mean:.4g} to {audit_mean:.4g}"
)
SHIFT_MESSAGE = "{feature!r} shifted: {detail}. " + STRENGTH + " {hint}"
NUMERIC_DETAIL = (
    "its values moved {effect:.2f} reference standard deviations on average (Wasserstein distance, "
    "{level:.0%} CI {low:.2f}-{high:.2f}, threshold {threshold:.2f}); 5th/50th/95th percentiles {ref_q} "
    "in the reference, {audit_q} now"
)
CATEGORICAL_DETAIL = (
    "{effect:.1%} of rows would have to change category to match the reference (total variation, "
    "{level:.0%} CI {low:.1%}-{high:.1%}, threshold {threshold:.0%}); most moved: {moved}"
)
UNSEEN_MESSAGE = (
    "{feature!r} holds {categories} categor{ies} the reference never held, in {share:.1%} of its present values "
    "(about {expected:.1%} expected by chance, threshold {threshold:.0%} above it): {top}. " + STRENGTH + " {hint}"
)
RANGE_MESSAGE = (
    "{feature!r} has {rows} value(s) outside the reference's range {reference_min:g} to {reference_max:g} "
    "({share:.1%} of present values, {below} below and {above} above; audit range {audit_min:g} to {audit_max:g}; "
    "threshold {threshold:.0%} above the {expected:.2%} expected by chance). " + STRENGTH + " {hint}"
)
TYPE_MESSAGE = (
    "{feature!r} changed kind of value: {share:.1%} of its present values are now {new_kinds} "
    "(reference: {reference_kinds}; audit: {audit_kinds}), such as {examples}; threshold {threshold:.0%}. "
    + STRENGTH + " {hint}"
)
NULL_TOKEN_MESSAGE = (
    "{feature!r} changed how it spells missing: {old} in the reference, {new} now "
    "(threshold {threshold:.0%} of rows). The values are still missing, not a new category. " + STRENGTH + " {hint}"
)
MISSING_RISE_MESSAGE = (
    "{feature!r} is missing more often: {changes} (threshold {threshold:.0%} of rows). " + STRENGTH + " {hint}"
)
MISSING_FALL_MESSAGE = (
    "{feature!r} is missing less often: {changes} (threshold {threshold:.0%} of rows); check that gaps are not "
    "being filled in upstream. " + STRENGTH
)
OUTPUT_MESSAGE = (
    "The model's {what}s shifted between the reference and the audit rows: {detail} "
    "(reference outputs from {source}). " + STRENGTH + " {hint}"
)
LABEL_MESSAGE = "The target {feature!r} shifted: {detail}. " + STRENGTH + " {hint}"
DOMAIN_MESSAGE = (
    "A classifier tells audit rows from reference rows with ROC AUC {auc:.3f} ({level:.0%} CI {low:.3f}-{high:.3f}, "
    "threshold {threshold:.2f}; 0.5 = alike), on {rows} rows (the audit's shared sample and as many reference rows); "
    "the features that separate them most: {separating}. " + STRENGTH + " {hint}"
)
SKEW_MESSAGE = (
    "{feature!r} differs between training and serving for the same ids: {differ} of {joined} joined rows "
    "({share:.1%}, threshold {threshold:.0%}){by}; for example {examples}. {hint}"
)
# How much a shifted feature matters to the model (queryable models): its outputs with the feature's training values.
IMPACT_MESSAGE = (
    "Through the model: given its training values instead, this feature alone would change the model's {what} "
    "by {impact:.3g} on average (the audit's shared sample)."
)
MODEL_SKIPPED_MESSAGE = "The model's view of the shift was not measured: {reason}. The data checks ran."

HINTS = {
    "distribution_shift": "Check the source of this feature; retrain or recalibrate if the new values are the real population.",
    "unseen_categories": "Map the new categories to known ones upstream, or retrain with them; the model treats them as it treats unknowns.",
    "out_of_range": "The model extrapolates beyond anything it was trained on there: check units and the source system.",
    "type_changed": "Parse the column as it was parsed in training (a changed export format, a locale's decimal comma).",
    "null_token_changed": "Map the new spelling back to missing where the data is read; the model sees it as a value it never learned.",
    "missing_rise": "Find where the feature is lost upstream; the model imputes these rows.",
    "output_shift": "The model now decides differently on the population it sees: check the flagged features and its performance on recent labels.",
    "label_shift": "The outcome's base rate moved: recalibrate the model's scores or thresholds to the new prior.",
    "domain_shift": "The audit rows are not drawn like the training rows: start with the separating features.",
    "training_serving_skew": "Serving computes this feature differently from training: use one transformation for both.",
}
