"""The plain, frozen data an audit produces: findings, probe results, the scorecard.

Everything here is JSON-ready (``to_dict``) and never mutated after it is built.
The JSON layout is the contract with CI and other tools; it is described by
``auditkit/schema/scorecard.schema.json`` and versioned by ``SCHEMA_VERSION``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from auditkit._figures import figure_from_dict
from auditkit._values import OPS, Condition, Op, Severity, jsonable

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
    figures: tuple[Any, ...] = ()  # auditkit.figures records, drawn by the reports

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", jsonable(dict(self.metrics)))
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "figures", tuple(self.figures))
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
            "figures": [f.to_dict() for f in self.figures],
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
            figures=_figures(d.get("figures") or ()),
        )


def _figures(raw: Any) -> tuple[Any, ...]:
    return tuple(figure_from_dict(f) for f in raw)


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
