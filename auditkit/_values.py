"""The audit's basic vocabulary: severities, slice conditions, JSON-ready values.

Every result type (findings, figures, probe results) builds on these; they
depend on nothing else in auditkit, so any module may import them.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from auditkit._errors import ProbeConfigError

__all__ = ["OPS", "Condition", "FrozenDict", "Op", "Severity", "freeze", "is_frozen", "jsonable", "thaw"]

Op = Literal["==", "in", "<", "<=", ">", ">=", "between", "is_null"]
OPS: tuple[str, ...] = ("==", "in", "<", "<=", ">", ">=", "between", "is_null")


class Severity(str, enum.Enum):
    """How bad a finding is. Ordered: ``Severity.HIGH > Severity.LOW``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self.value)

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        if isinstance(value, Severity):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            known = ", ".join(_SEVERITY_ORDER)
            raise ProbeConfigError(f"unknown severity {value!r}; expected one of: {known}") from None

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __str__(self) -> str:
        return self.value


_SEVERITY_ORDER = ("info", "low", "medium", "high", "critical")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)  # a tuple: conditions are hashable, and JSON's lists read back equal
    return value


def jsonable(value: Any) -> Any:
    """Turn numpy/pandas scalars, tuples and NaN into plain JSON values.

    NaN and infinities become ``None``: JSON has no spelling for them, and a
    report that cannot be parsed is worse than one that says "unknown".
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [jsonable(v) for v in items]
    if hasattr(value, "isoformat"):  # datetime, date, pandas Timestamp
        return value.isoformat()
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return jsonable(value.to_dict())
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return str(value)


class FrozenDict(dict):  # type: ignore[type-arg]
    """A dict that cannot change: what a result's metrics become once it is built.

    A ``dict`` subclass, so ``json.dumps`` writes it as it is; it pickles (pytest-xdist
    sends results between processes) and compares equal to the plain dict it came from.
    """

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("an audit result cannot be changed after it is built")

    __setitem__ = __delitem__ = __ior__ = _read_only  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: Any) -> FrozenDict:
        return self


def freeze(value: Any) -> Any:
    """A JSON-ready value made deeply immutable: dicts become ``FrozenDict``, lists tuples."""
    if isinstance(value, Mapping):
        return value if is_frozen(value) else FrozenDict((str(k), freeze(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def is_frozen(value: Any) -> bool:
    """Whether ``value`` is a ``FrozenDict`` or tuple of JSON scalars and frozen values, all the way down."""
    if isinstance(value, FrozenDict):
        return all(_frozen_leaf(v) for v in value.values())
    if isinstance(value, tuple):
        return all(_frozen_leaf(v) for v in value)
    return False


def _frozen_leaf(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return is_frozen(value)


def thaw(value: Any) -> Any:
    """A frozen value back as plain dicts and lists (what ``to_dict`` hands out)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Condition:
    """One condition of a slice: ``feature op value`` (e.g. ``age >= 60``)."""

    feature: str
    op: Op
    value: Any = None

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"unknown slice operator {self.op!r}; expected one of {OPS}")
        # numpy scalars become Python's: reports read "leak == 1", not "leak == np.int64(1)",
        # and a condition read back from JSON equals the one the probe made.
        object.__setattr__(self, "value", _plain(self.value))

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "op": self.op, "value": jsonable(self.value)}

    def describe(self) -> str:
        if self.op == "is_null":
            return f"{self.feature} is null"
        if self.op == "between":
            lo, hi = self.value
            return f"{lo!r} <= {self.feature} < {hi!r}"
        return f"{self.feature} {self.op} {self.value!r}"
