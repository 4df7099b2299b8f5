"""The ``target_leakage`` probe: find the answer hiding in the inputs.

Its parts, the same in every probe: ``probe`` (the class and its settings),
``measure`` (what is measured, on which rows), ``judge`` (thresholds to
findings), ``messages`` (the sentences findings are written in). The rest
serves them: ``power`` (cross-validated power of a column), ``model`` (the
model's own score and dominance), ``split`` (what crosses the split),
``evidence`` (the rows behind a finding), ``counting`` (mergeable pieces),
``ranking`` (the ranking and its figure), ``audit`` (one run). How it judges,
and why its defaults are what they are: README.md beside this file.
"""

from probes.target_leakage.messages import (
    CONFLICTING_DUPLICATES,
    DOMINANCE_NOT_MEASURED,
    DOMINANT_FEATURE,
    DUPLICATE_ROWS,
    ENTITY_OVERLAP,
    FUTURE_VALUES,
    GOLDEN_PAIR,
    IDENTIFIER_LEAK,
    MISSINGNESS_LEAK,
    MODEL_NOT_SCORED,
    NEAR_LEAK,
    NOT_SCORED,
    RARE_CLASS,
    REFERENCE_AFTER_AUDIT,
    ROWS_SORTED_BY_TARGET,
    SINGLE_FEATURE_LEAK,
    TOO_FEW_ROWS,
    TOO_GOOD_TO_BE_TRUE,
)
from probes.target_leakage.probe import TargetLeakage

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
    "TargetLeakage",
]
