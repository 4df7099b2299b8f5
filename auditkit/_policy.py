"""The gate: what turns a scorecard into pass or fail, kept apart from the probes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditkit._errors import ProbeConfigError
from auditkit._results import Finding, Severity

__all__ = ["AuditConfig", "GatePolicy"]

# A probe that hangs longer than this is reported as an error and the audit
# moves on; generous, because a real probe on a million rows takes a minute.
DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class GatePolicy:
    """Which scorecards fail.

    By default an audit fails on any finding of severity ``high`` or above and
    on any probe that could not run (``error``): a probe that crashed has
    shown nothing, and silence must not pass for health.
    """

    fail_on: Severity = Severity.HIGH
    fail_on_error: bool = True
    min_score: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "fail_on", Severity.parse(self.fail_on))
        if not 0 <= float(self.min_score) <= 100:
            raise ProbeConfigError(f"min_score must be between 0 and 100; got {self.min_score}")

    def fails(self, finding: Finding) -> bool:
        return finding.severity >= self.fail_on

    def to_dict(self) -> dict[str, Any]:
        return {"fail_on": self.fail_on.value, "fail_on_error": self.fail_on_error, "min_score": self.min_score}


@dataclass(frozen=True)
class AuditConfig:
    """Everything an audit can be configured with: the gate, per-probe settings, the time budget."""

    policy: GatePolicy = field(default_factory=GatePolicy)
    probe_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if not float(self.timeout_s) > 0:
            raise ProbeConfigError(f"timeout_s must be positive; got {self.timeout_s}")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> AuditConfig:
        """From ``[tool.auditkit]``-shaped data: ``fail_on``, ``fail_on_error``,
        ``min_score``, ``timeout_s`` and a ``probes`` table of per-probe settings."""
        known = {"fail_on", "fail_on_error", "min_score", "timeout_s", "probes"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ProbeConfigError(f"unknown audit setting {unknown[0]!r}; known settings: {', '.join(sorted(known))}")
        policy = GatePolicy(
            fail_on=raw.get("fail_on", Severity.HIGH),
            fail_on_error=bool(raw.get("fail_on_error", True)),
            min_score=float(raw.get("min_score", 0.0)),
        )
        probes = raw.get("probes", {})
        if not isinstance(probes, Mapping) or not all(isinstance(v, Mapping) for v in probes.values()):
            raise ProbeConfigError("'probes' must map each probe name to a table of its settings")
        return cls(policy=policy, probe_settings=dict(probes), timeout_s=float(raw.get("timeout_s", DEFAULT_TIMEOUT_S)))

    @classmethod
    def coerce(cls, config: AuditConfig | GatePolicy | Mapping[str, Any] | None) -> AuditConfig:
        if config is None:
            return cls()
        if isinstance(config, AuditConfig):
            return config
        if isinstance(config, GatePolicy):
            return cls(policy=config)
        if isinstance(config, Mapping):
            return cls.from_mapping(config)
        raise ProbeConfigError(f"config must be an AuditConfig, a GatePolicy or a mapping; got {type(config).__name__}")
