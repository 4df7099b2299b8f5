"""What nan_injection says: its message templates and the names of what it injects.

The tests build the expected messages from these templates.
"""

from __future__ import annotations

# Said in findings: "NaN", "the text 'null'", ... (keys are the names auditkit.strategies.fault_values gives).
INJECTION_LABELS: dict[str, str] = {
    "nan": "NaN",
    "none": "None",
    "empty_string": "an empty string",
    "null_text": "the text 'null'",
    "nan_text": "the text 'NaN'",
    "na_text": "the text 'N/A'",
    "pos_inf": "+inf",
    "neg_inf": "-inf",
    "huge": "1e308",
    "neg_huge": "-1e308",
    "out_of_range": "a value 1000x outside the column's range",
    "far_future": "a date in 2262",
    "far_past": "a date in 1677",
    "overlong_text": "a 10,000-character text",
    "wrong_type": "a value of the wrong type",
    "unseen_category": "an unseen category",
    "mojibake": "mojibake (UTF-8 decoded as Latin-1)",
    "invalid_utf8": "invalid UTF-8 (lone surrogates)",
    "control_chars": "control characters",
}

# The injection grid's column headers: short, as a chart has room for.
INJECTION_HEADERS: dict[str, str] = {
    "nan": "NaN",
    "none": "None",
    "empty_string": "''",
    "null_text": "'null'",
    "nan_text": "'NaN'",
    "na_text": "'N/A'",
    "pos_inf": "+inf",
    "neg_inf": "-inf",
    "huge": "1e308",
    "neg_huge": "-1e308",
    "out_of_range": "1000x range",
    "far_future": "year 2262",
    "far_past": "year 1677",
    "overlong_text": "10k chars",
    "wrong_type": "wrong type",
    "unseen_category": "unseen category",
    "mojibake": "mojibake",
    "invalid_utf8": "invalid UTF-8",
    "control_chars": "control chars",
}

FRAME_FAULT_LABELS: dict[str, str] = {
    "missing_column": "a missing column",
    "extra_column": "an extra column",
    "reordered_columns": "its columns in reverse order",
    "wrong_dtype_column": "a whole column of the wrong dtype",
    "empty_batch": "no rows at all",
    "single_row": "a single row",
}

FAMILY_LABELS = {
    "missing": "missing values",
    "extreme": "extreme values",
    "wrong_type": "values of the wrong type",
    "unseen": "unseen categories",
    "garbled": "garbled text",
}

VALIDATION_NAMES = "ValueError, TypeError or KeyError"

CORRUPTION_MESSAGE = (
    "Injecting {injections} into {n_columns} of {n_applicable} column(s) ({columns}) returned invalid "
    "output with no error in {n_cells} of {n_tried} batch(es) (allowed: none); e.g. {example} in {column!r}, "
    "{rate}: {problem}. Reproduce with X = {reproducer}"
)
CRASH_MESSAGE = (
    "Injecting {injections} into {n_columns} of {n_applicable} column(s) ({columns}) crashed the model in "
    "{n_cells} of {n_tried} batch(es) with {errors} instead of a validation error ({validation}); e.g. "
    "{example} in {column!r}, {rate}: {error_text}. Reproduce with X = {reproducer}"
)
OVERFLOW_MESSAGE = (
    "Injecting {injections} into {n_columns} of {n_applicable} column(s) ({columns}) came back with {what} and no "
    "error in {n_cells} of {n_tried} batch(es); e.g. {example} in {column!r}, {rate}: {problem}. That is float overflow "
    "at the edge of the range (float64 ends at 1.8e308, float32 at 3.4e38), not a missing value passed through: in "
    "{column!r} the output is finite up to {last:g} and first turns NaN or infinite at {first:g}, far above the "
    "{limit:.2g} taken as plausible there ({spans:g} times the column's range). Clip or reject such values if a feed "
    "can send them. Reproduce with X = {reproducer}"
)
FUZZ_OVERFLOW_MESSAGE = (
    "Hypothesis found {batches} generated batch(es) that came back with NaN or infinite output only because of finite "
    "values beyond any plausible magnitude (float overflow at the edge of the range: with those values brought "
    "down to the largest plausible ones, the same batches are answered); e.g. X = {reproducer}"
)
FRAME_CORRUPTION_MESSAGE = (
    "A batch with {fault} ({detail}) returned invalid output with no error (allowed: none): {problem}."
)
FRAME_CRASH_MESSAGE = (
    "A batch with {fault} ({detail}) crashed the model with {error} instead of a validation error "
    "({validation}): {error_text}."
)
SHIFT_MESSAGE = (
    "Missing values are handled but move predictions far in {n_columns} of {n_tried} column(s): {offenders} "
    "(thresholds: a mean shift above {threshold:g} and above {ratio:g}x the shift from shuffling the column). "
    "An imputer filling a value far from the data does this."
)
SHIFT_OFFENDER = "{column!r} ({injection}: mean shift {shift:.3f}, {times:.1f}x shuffling, {flipped:.0%} of labels flip)"
BATCH_MESSAGE = (
    "Predictions depend on the batch: the same {rows} rows predicted in one batch, in batches of {small} "
    "and (the first {single}) one at a time differ by up to {max_diff:.3g} (tolerance {tolerance:g}) in {differing} row(s), and "
    "{flipped} label(s) flip. Batch statistics used at inference (batch norm in training mode) or "
    "padding bugs do this."
)
BATCH_FAILURE_MESSAGE = (
    "Predicting {rows} clean rows {how} failed with {error} ({error_text}), while the same rows in one "
    "batch were answered."
)
POISON_MESSAGE = (
    "One online update with a poisoned batch of {size} row(s) ({injection} in {column!r}) {effect}; "
    "{size} is the smallest poisoned batch that does it (sizes tried: {sizes}). Reproduce with "
    "learner.update(X, y), X = {reproducer}"
)
POISON_CRASH_MESSAGE = (
    "One online update with a poisoned batch of {size} row(s) ({injection} in {column!r}) crashed with "
    "{error} instead of a validation error ({validation}): {error_text}."
)
FUZZ_MESSAGE = (
    "Hypothesis found {what} that {effect} with no validation error after {examples} generated batches; "
    "shrunk to: X = {reproducer}"
)
CLEAN_INVALID_MESSAGE = (
    "The model returns {problem} for {n_invalid} of {rows} clean sampled rows, before any injection "
    "(allowed: none)."
)
MUTATES_INPUT_MESSAGE = (
    "The model writes into the frame it is given: predicting {rows} clean rows, it wrote into, dropped or "
    "added {n_columns} column(s) of its input ({columns}). A caller that reuses the frame afterwards (to log "
    "it, explain it or predict it again) reads altered data; copy the input inside the model before changing "
    "it. auditkit handed every call a copy of its own, so no other check of this audit is affected."
)
CLEAN_FAILURE_MESSAGE = "the model failed on a clean sample of {rows} audit rows ({what})"

GRID_TITLE = "What each malformed value did, by column"
GRID_CAPTION = (
    "Each cell is the worst outcome of one malformed value injected into one column of {rows} sampled rows "
    "(into one cell, {fraction} rows and the whole column). Overflow: NaN or infinite output only from a value at "
    "the edge of the float range. Not run: a call before it hung, so it was never sent."
)
FAULT_GRID_TITLE = "What each fault of the whole batch did"
FAULT_GRID_ROW = "the whole batch"
