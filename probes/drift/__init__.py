"""The ``drift`` probe: distribution shift, null-token drift and training-serving skew.

``probe`` holds the settings and the run; ``measure`` the mergeable counts per feature;
``checks`` and ``stats`` the effect sizes, intervals and tests; ``model_view`` the model's
outputs and the target; ``domain`` the domain classifier; ``skew`` the id join; ``judge``
the thresholds that make findings; ``messages`` the templates; ``figures`` what a report
draws. ``README.md`` explains the method and its defaults.
"""

from probes.drift.messages import (
    CATEGORICAL_DETAIL,
    MISSING_RISE_MESSAGE,
    NULL_TOKEN_MESSAGE,
    NUMERIC_DETAIL,
    SHIFT_MESSAGE,
    SKEW_MESSAGE,
    STRENGTH,
    UNSEEN_MESSAGE,
)
from probes.drift.probe import Drift

__all__ = [
    "CATEGORICAL_DETAIL",
    "MISSING_RISE_MESSAGE",
    "NULL_TOKEN_MESSAGE",
    "NUMERIC_DETAIL",
    "SHIFT_MESSAGE",
    "SKEW_MESSAGE",
    "STRENGTH",
    "UNSEEN_MESSAGE",
    "Drift",
]
