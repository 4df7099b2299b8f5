"""The ``nan_injection`` probe: malformed input must fail loudly, never silently.

``probe.py`` holds the probe and its settings, ``measure.py`` what it
measures, ``judge.py`` the findings drawn from that, ``messages.py`` what it
says; README.md explains the design and the defaults.
"""

from probes.nan_injection.grid import RATES
from probes.nan_injection.messages import (
    BATCH_FAILURE_MESSAGE,
    BATCH_MESSAGE,
    CLEAN_INVALID_MESSAGE,
    CORRUPTION_MESSAGE,
    CRASH_MESSAGE,
    FRAME_CORRUPTION_MESSAGE,
    FRAME_CRASH_MESSAGE,
    FRAME_FAULT_LABELS,
    FUZZ_MESSAGE,
    FUZZ_OVERFLOW_MESSAGE,
    INJECTION_HEADERS,
    INJECTION_LABELS,
    MUTATES_INPUT_MESSAGE,
    OVERFLOW_MESSAGE,
    POISON_CRASH_MESSAGE,
    POISON_MESSAGE,
    SHIFT_MESSAGE,
)
from probes.nan_injection.overflow import PLAUSIBLE_SPANS
from probes.nan_injection.probe import NanInjection

__all__ = [
    "BATCH_FAILURE_MESSAGE",
    "BATCH_MESSAGE",
    "CLEAN_INVALID_MESSAGE",
    "CORRUPTION_MESSAGE",
    "CRASH_MESSAGE",
    "FRAME_CORRUPTION_MESSAGE",
    "FRAME_CRASH_MESSAGE",
    "FRAME_FAULT_LABELS",
    "FUZZ_MESSAGE",
    "FUZZ_OVERFLOW_MESSAGE",
    "INJECTION_HEADERS",
    "INJECTION_LABELS",
    "MUTATES_INPUT_MESSAGE",
    "OVERFLOW_MESSAGE",
    "PLAUSIBLE_SPANS",
    "POISON_CRASH_MESSAGE",
    "POISON_MESSAGE",
    "RATES",
    "SHIFT_MESSAGE",
    "NanInjection",
]
