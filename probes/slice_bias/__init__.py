"""The ``slice_bias`` probe: declared groups and hidden slices where the model does worse.

``probe`` holds the settings and the run; ``measure`` the mergeable counts and
the slice search; ``judge`` the thresholds that make findings; ``messages``
the templates (the tests format the same ones); ``figures`` what a report
draws. ``README.md`` explains the method and its defaults.
"""

from probes.slice_bias.calibration import Calibration
from probes.slice_bias.messages import (
    DISPARITY_MESSAGE,
    IMPACT,
    INCOMPLETE_MESSAGE,
    INSUFFICIENT_MESSAGE,
    SLICE_CONFIDENCE_MESSAGE,
    SLICE_MESSAGE,
    SLICE_MESSAGE_REGRESSION,
    WEAK_EVIDENCE_MESSAGE,
    WHAT,
)
from probes.slice_bias.probe import SliceBias

__all__ = [
    "DISPARITY_MESSAGE",
    "IMPACT",
    "INCOMPLETE_MESSAGE",
    "INSUFFICIENT_MESSAGE",
    "SLICE_CONFIDENCE_MESSAGE",
    "SLICE_MESSAGE",
    "SLICE_MESSAGE_REGRESSION",
    "WEAK_EVIDENCE_MESSAGE",
    "WHAT",
    "Calibration",
    "SliceBias",
]
