"""The sentences target_leakage findings are written in.

Module-level templates, so tests format them with the values they computed
another way and compare whole messages. Each carries the measured value, its
threshold, the evidence a reader can check, and what to do about it.
"""

__all__ = [
    "CONFLICTING_DUPLICATES",
    "DOMINANCE_NOT_MEASURED",
    "DOMINANT_FEATURE",
    "DUPLICATE_ROWS",
    "ENTITY_OVERLAP",
    "FUTURE_VALUES",
    "GOLDEN_PAIR",
    "IDENTIFIER_LEAK",
    "MISSINGNESS_LEAK",
    "MODEL_NOT_SCORED",
    "NEAR_LEAK",
    "NOT_SCORED",
    "RARE_CLASS",
    "REFERENCE_AFTER_AUDIT",
    "ROWS_SORTED_BY_TARGET",
    "SINGLE_FEATURE_LEAK",
    "TOO_FEW_ROWS",
    "TOO_GOOD_TO_BE_TRUE",
]

SINGLE_FEATURE_LEAK = (
    "Feature {feature!r} alone predicts {target!r} with {metric} {score:.2f} ± {margin:.2f} "
    "(threshold {threshold:.2f}{model_part}); {evidence}. If {feature!r} is recorded after "
    "the outcome, drop it from the model's inputs."
)
NEAR_LEAK = (
    "Feature {feature!r} alone predicts {target!r} with {metric} {score:.2f} ± {margin:.2f} "
    "(near-leak threshold {threshold:.2f}{model_part}); {evidence}. Check that {feature!r} "
    "is known when the prediction is made."
)
MISSINGNESS_LEAK = (
    "Feature {feature!r} gives {target!r} away by being {state}: {evidence}; at most "
    "{exceptions:.1%} of those rows are exceptions (threshold {threshold:.0%}, against "
    "{elsewhere:.1%} elsewhere). A value that exists only once the outcome is known leaks "
    "through its mere presence: drop {feature!r} or its missingness."
)
IDENTIFIER_LEAK = (
    "Column {feature!r} looks like an identifier ({why}) yet predicts {target!r} with "
    "{metric} {score:.2f} ± {margin:.2f} (threshold {threshold:.2f}); row order alone reaches "
    "{row_order:.2f}. An identifier says nothing about the outcome unless rows were sorted or "
    "numbered by it: drop {feature!r} from the inputs."
)
ROWS_SORTED_BY_TARGET = (
    "Row order alone predicts {target!r} with {metric} {score:.2f} ± {margin:.2f} "
    "(threshold {threshold:.2f}): the rows are sorted or grouped by the outcome, so any "
    "split by position or by a row number is biased. Shuffle before splitting."
)
GOLDEN_PAIR = (
    "Features {a!r} and {b!r} together predict {target!r} with {metric} {score:.2f} ± "
    "{margin:.2f} through {via} (threshold {threshold:.2f}), while alone they reach "
    "{score_a:.2f} and {score_b:.2f}. A quantity derived from the two (a duration, a ratio) "
    "may be recorded after the outcome."
)
TOO_GOOD_TO_BE_TRUE = (
    "The model scores {metric} {score:.3f} ± {margin:.3f} on the audit data (threshold "
    "{threshold:.2f}): results this good usually mean the answer is in the inputs. Top "
    "suspects: {suspects}."
)
DOMINANT_FEATURE = (
    "Shuffling feature {feature!r} drops the model's {metric} from {base:.3f} to "
    "{permuted:.3f}: it carries {share:.0%} of the model's skill above chance (threshold "
    "{threshold:.0%}). A model leaning on one feature is only as sound as that feature: "
    "check that {feature!r} is known when the prediction is made."
)
DUPLICATE_ROWS = (
    "{count} of {rows} audit rows ({share:.1%}) {how} in the reference data, against "
    "{baseline:.1%} expected by coincidence (threshold {threshold:.1%} above that); e.g. audit "
    "rows {examples}. Scores on these rows measure memory, not skill: deduplicate across the split."
)
CONFLICTING_DUPLICATES = (
    "{count} audit rows ({share:.1%}, in {groups} groups) have identical features but "
    "different {target!r} (threshold {threshold:.1%}); e.g. rows {examples}. No model can get "
    "them all right: check those labels, or the feature that tells the rows apart."
)
ENTITY_OVERLAP = (
    "{count} of {total} distinct {column!r} values in the audit data ({share:.1%}) also "
    "occur in the reference data (threshold {threshold:.1%}); e.g. {examples}. The same "
    "entity on both sides of the split lets the model recognise it instead of predicting: "
    "split by {column!r}."
)
FUTURE_VALUES = (
    "Feature {feature!r} is later than the prediction time {time!r} in {count} of the {rows} "
    "rows where both are set ({share:.1%}; threshold {threshold:.1%}); e.g. rows {examples}. A value from after the "
    "prediction cannot be known when it is made: drop it or take it as of {time!r}."
)
REFERENCE_AFTER_AUDIT = (
    "{count} of {rows} reference rows ({share:.1%}) are later by {time!r} than the earliest "
    "audit row ({start}) (threshold {threshold:.1%}): the model learnt from the future of "
    "rows it is judged on. Split by time."
)
RARE_CLASS = (
    "Class {classes} of {target!r} has fewer than {needed} rows and is left out of the "
    "one-vs-rest scores: too few rows to cross-validate."
)
NOT_SCORED = "{count} of {total} features were not scored for single-feature power: {reasons}."
TOO_FEW_ROWS = (
    "Single-feature power was not measured: {reason}. Contamination and time checks still ran."
)
MODEL_NOT_SCORED = (
    "The model's part of the leakage audit did not run: {error}. Its own score (too good to be "
    "true) and the features it leans on (dominance) were not measured; the checks of the data "
    "alone ran. Make the model predict the audit data, then audit again."
)
DOMINANCE_NOT_MEASURED = (
    "Dominance was not measured: the model raised {error} on the audit rows with one feature "
    "shuffled. The other checks ran."
)
