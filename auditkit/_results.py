"""The plain, frozen data an audit produces: findings, probe results, the scorecard.

Everything here is JSON-ready (``to_dict``) and never mutated after it is built.
The JSON layout is the contract with CI and other tools; it is described by
``auditkit/schema/scorecard.schema.json`` and versioned by ``SCHEMA_VERSION``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = [
    "SCHEMA_VERSION",
    "Condition",
    "Finding",
    "ProbeResult",
    "Scorecard",
    "Severity",
    "Status",
    "jsonable",
]

SCHEMA_VERSION = 1

Status = Literal["passed", "failed", "error", "skipped"]
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
            from auditkit._errors import ProbeConfigError

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


@dataclass(frozen=True)
class Finding:
    """Something a probe judged worth a reader's attention.

    ``message`` is a full sentence carrying the measured value, its threshold
    and the offenders; ``code`` is a stable machine-readable identifier
    (``"single_feature_leak"``) that baselines and waivers match on.
    """

    code: str
    severity: Severity
    message: str
    features: tuple[str, ...] = ()
    slice: tuple[Condition, ...] | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    examples: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity.parse(self.severity))
        object.__setattr__(self, "features", tuple(str(f) for f in self.features))
        if self.slice is not None:
            conds = tuple(c if isinstance(c, Condition) else Condition(**c) for c in self.slice)
            object.__setattr__(self, "slice", conds)
        object.__setattr__(self, "metrics", jsonable(dict(self.metrics)))
        object.__setattr__(self, "examples", tuple(jsonable(list(self.examples))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "features": list(self.features),
            "slice": None if self.slice is None else [c.to_dict() for c in self.slice],
            "metrics": dict(self.metrics),
            "examples": list(self.examples),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Finding:
        return cls(
            code=d["code"],
            severity=Severity.parse(d["severity"]),
            message=d["message"],
            features=tuple(d.get("features") or ()),
            slice=None if d.get("slice") is None else tuple(Condition(**c) for c in d["slice"]),
            metrics=d.get("metrics") or {},
            examples=tuple(d.get("examples") or ()),
        )


@dataclass(frozen=True)
class ProbeResult:
    """What one probe reported: its status, its score, its measurements and findings."""

    name: str
    status: Status
    score: float | None = None
    reason: str | None = None
    duration_s: float = 0.0
    metrics: Mapping[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", jsonable(dict(self.metrics)))
        object.__setattr__(self, "findings", tuple(self.findings))
        # Kept at the precision the JSON stores, so a report rendered now and one rendered
        # from the scorecard file read the same ("Ran 20 ms", not 20 here and 19 there).
        object.__setattr__(self, "duration_s", round(float(self.duration_s), 4))

    @property
    def worst(self) -> Finding | None:
        """The most severe finding (the first of them when several tie)."""
        if not self.findings:
            return None
        return max(self.findings, key=lambda f: f.severity.rank)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "score": None if self.score is None else round(float(self.score), 2),
            "reason": self.reason,
            "duration_s": self.duration_s,
            "seed": self.seed,
            "metrics": dict(self.metrics),
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ProbeResult:
        return cls(
            name=d["name"],
            status=d["status"],
            score=d.get("score"),
            reason=d.get("reason"),
            duration_s=d.get("duration_s", 0.0),
            metrics=d.get("metrics") or {},
            findings=tuple(Finding.from_dict(f) for f in d.get("findings") or ()),
            seed=d.get("seed"),
        )


@dataclass(frozen=True)
class Scorecard:
    """The whole audit: every probe's result, the overall score and the gate's verdict."""

    seed: int
    created_at: str
    model: Mapping[str, Any]
    data: Mapping[str, Any]
    score: float
    grade: str
    passed: bool
    policy: Mapping[str, Any]
    probes: tuple[ProbeResult, ...]
    auditkit_version: str = ""
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "probes", tuple(self.probes))
        object.__setattr__(self, "model", jsonable(dict(self.model)))
        object.__setattr__(self, "data", jsonable(dict(self.data)))
        object.__setattr__(self, "policy", jsonable(dict(self.policy)))

    def __getitem__(self, name: str) -> ProbeResult:
        for result in self.probes:
            if result.name == name:
                return result
        raise KeyError(name)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for p in self.probes for f in p.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "auditkit_version": self.auditkit_version,
            "seed": self.seed,
            "created_at": self.created_at,
            "model": dict(self.model),
            "data": dict(self.data),
            "score": round(float(self.score), 2),
            "grade": self.grade,
            "passed": self.passed,
            "policy": dict(self.policy),
            "probes": [p.to_dict() for p in self.probes],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Scorecard:
        return cls(
            schema_version=d["schema_version"],
            auditkit_version=d["auditkit_version"],
            seed=d["seed"],
            created_at=d["created_at"],
            model=d["model"],
            data=d["data"],
            score=d["score"],
            grade=d["grade"],
            passed=d["passed"],
            policy=d["policy"],
            probes=tuple(ProbeResult.from_dict(p) for p in d["probes"]),
        )
