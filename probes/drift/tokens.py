"""Values that mean missing without being missing, and the kind of value a cell holds.

A source system that sends ``""`` where it sent ``"NULL"`` has not added a
category: it has changed how it spells missing. So every missing value is
counted under its spelling: ``MISSING`` for a real gap (None, NaN), the
exact text for a null-like token (compared after trimming and lower-casing
against ``NULL_TOKENS``), and ``"<sentinel> -999"`` for a numeric code the
reference itself used as missing (``sentinels``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MISSING", "NULL_TOKENS", "SENTINELS", "is_null_token", "sentinel_name", "sentinels", "value_class"]

MISSING = "<missing>"
# Compared after strip().lower(): "", whitespace, "NULL", "Null", " n/a " all match.
NULL_TOKENS = frozenset({"", "null", "none", "n/a", "na", "nan", "-", "?", "nil", "missing", "#n/a"})
# Numeric codes that systems use for "unknown"; one counts as missing only where the
# reference used it so (see ``sentinels``).
SENTINELS: tuple[float, ...] = (-1, -9, -99, -999, -9999, 99, 999, 9999, 99999)
# A sentinel must hold at least this share of the reference's values (and 5 rows) to count.
SENTINEL_SHARE = 0.001


def is_null_token(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in NULL_TOKENS


def sentinel_name(value: float) -> str:
    return f"<sentinel> {value:g}"


def sentinels(values: np.ndarray) -> tuple[float, ...]:
    """The codes the reference used as missing: a value of ``SENTINELS`` that holds at least
    ``SENTINEL_SHARE`` of the finite values and lies beyond every value that is not such a code (an age of -1
    below all real ages, an income of 9999999 above them). A -1 inside the spread of the
    other values is a value, not a code."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return ()
    coded = np.isin(finite, SENTINELS)
    if not coded.any():
        return ()
    others = finite[~coded]
    if len(others) == 0:
        return ()
    low, high = others.min(), others.max()
    codes, counts = np.unique(finite[coded], return_counts=True)
    return tuple(
        float(code) for code, k in zip(codes, counts)
        if k >= max(5, SENTINEL_SHARE * len(finite)) and (code < low or code > high)
    )


def value_class(value: Any) -> str:
    """What a present value is: a number, a number written as text, text, a truth value, or other."""
    if isinstance(value, (bool, np.bool_)):
        return "truth value"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(value, str):
        try:
            float(value.replace(",", ""))
        except ValueError:
            return "text"
        return "number as text"
    return type(value).__name__

