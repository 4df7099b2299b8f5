"""The gate: what turns a scorecard into pass or fail, kept apart from the probes.

A policy says which severity fails (for all probes, or per probe), whether a
probe that could not run fails, the minimum score, and the expected failures
(waivers). A waiver names a probe and, optionally, a finding code, its
features and its slice; it carries a reason and may carry an expiry date.
A waived finding stays in every report, marked waived with its reason; only
the gate looks past it. From the day after its expiry date a waiver no longer
waives, and the reports say that it expired.

The policy travels inside the scorecard (its ``policy`` block), so a saved
scorecard can be re-rendered, and waivers re-read, long after the audit.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditkit._errors import ProbeConfigError
from auditkit._results import Condition, Finding, Scorecard, Severity

__all__ = ["AuditConfig", "GatePolicy", "Waiver", "WaiverStatus", "scorecard_date", "today"]

# A probe that hangs longer than this is reported as an error and the audit
# moves on; generous, because a real probe on a million rows takes a minute.
DEFAULT_TIMEOUT_S = 600.0

_WAIVER_KEYS = ("probe", "code", "features", "slice", "reason", "expires")


def today() -> _dt.date:
    # UTC, like the scorecard's created_at: a waiver expires on the same day everywhere.
    return _dt.datetime.now(_dt.timezone.utc).date()


def _parse_date(value: Any, where: str) -> _dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        raise ProbeConfigError(f"{where}: expires must be a date such as 2026-06-30; got {value!r}") from None


def slice_key(conditions: Iterable[Condition]) -> tuple[tuple[str, str, str], ...]:
    """A slice as something comparable: order of conditions and 60 vs 60.0 do not matter."""

    def norm(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        return v

    return tuple(
        sorted((c.feature, c.op, json.dumps(norm(c.to_dict()["value"]), sort_keys=True)) for c in conditions)
    )


@dataclass(frozen=True)
class Waiver:
    """An expected failure: which findings it covers, why, and until when.

    ``code``, ``features`` and ``slice`` narrow it down; left out, they match
    anything, so ``Waiver(probe="slice_bias", reason=...)`` waives the whole probe.
    ``expires`` is the last day the waiver holds.
    """

    probe: str
    reason: str
    code: str | None = None
    features: tuple[str, ...] | None = None
    slice: tuple[Condition, ...] | None = None
    expires: _dt.date | None = None

    def __post_init__(self) -> None:
        where = f"waiver for {self.probe!r}"
        if not isinstance(self.probe, str) or not self.probe:
            raise ProbeConfigError("a waiver needs the name of the probe it waives ('probe')")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ProbeConfigError(f"{where}: a waiver needs a reason ('reason'), so the next reader knows why")
        if self.features is not None:
            if isinstance(self.features, str) or not isinstance(self.features, Sequence):
                raise ProbeConfigError(f"{where}: features must be a list of column names")
            object.__setattr__(self, "features", tuple(str(f) for f in self.features))
        if self.slice is not None:
            try:
                conds = tuple(c if isinstance(c, Condition) else Condition(**c) for c in self.slice)
            except (TypeError, ValueError) as exc:
                raise ProbeConfigError(
                    f"{where}: slice must be a list of {{feature, op, value}} tables: {exc}"
                ) from None
            object.__setattr__(self, "slice", conds)
        object.__setattr__(self, "expires", _parse_date(self.expires, where))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Waiver:
        if not isinstance(raw, Mapping):
            raise ProbeConfigError("each waiver must be a table with probe, reason and optionally code, features, slice, expires")
        unknown = sorted(set(raw) - set(_WAIVER_KEYS))
        if unknown:
            raise ProbeConfigError(
                f"waiver for {raw.get('probe')!r}: unknown key {unknown[0]!r}; known keys: {', '.join(_WAIVER_KEYS)}"
            )
        return cls(
            probe=raw.get("probe", ""),
            reason=raw.get("reason", ""),
            code=raw.get("code"),
            features=raw.get("features"),
            slice=raw.get("slice"),
            expires=raw.get("expires"),
        )

    def matches(self, probe: str, finding: Finding) -> bool:
        if probe != self.probe:
            return False
        if self.code is not None and finding.code != self.code:
            return False
        if self.features is not None and sorted(finding.features) != sorted(self.features):
            return False
        if self.slice is not None and slice_key(finding.slice or ()) != slice_key(self.slice):
            return False
        return True

    def expired(self, on: _dt.date) -> bool:
        return self.expires is not None and on > self.expires

    def describe(self) -> str:
        """``target_leakage/single_feature_leak [boat]``: what the waiver covers."""
        text = self.probe + (f"/{self.code}" if self.code else "")
        if self.features:
            text += f" [{', '.join(self.features)}]"
        if self.slice:
            text += " where " + " and ".join(c.describe() for c in self.slice)
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"probe": self.probe, "reason": self.reason}
        if self.code is not None:
            out["code"] = self.code
        if self.features is not None:
            out["features"] = list(self.features)
        if self.slice is not None:
            out["slice"] = [c.to_dict() for c in self.slice]
        if self.expires is not None:
            out["expires"] = self.expires.isoformat()
        return out


@dataclass(frozen=True)
class WaiverStatus:
    """How a waiver stands for one finding on one day."""

    waiver: Waiver
    active: bool

    @property
    def note(self) -> str:
        """One line for reports: why the finding is waived, or that the waiver lapsed."""
        if self.active:
            until = f" (until {self.waiver.expires.isoformat()})" if self.waiver.expires else ""
            return f"waived{until}: {self.waiver.reason}"
        assert self.waiver.expires is not None
        return f"waiver expired on {self.waiver.expires.isoformat()}, so it no longer waives: {self.waiver.reason}"


@dataclass(frozen=True)
class GatePolicy:
    """Which scorecards fail.

    By default an audit fails on any finding of severity ``high`` or above and
    on any probe that could not run (``error``): a probe that crashed has
    shown nothing, and silence must not pass for health. For the same reason an
    audit whose every probe was skipped fails: nothing was checked. ``probe_fail_on``
    sets the failing severity of single probes; ``waivers`` lists expected
    failures, which the gate ignores while they hold.
    """

    fail_on: Severity = Severity.HIGH
    fail_on_error: bool = True
    min_score: float = 0.0
    probe_fail_on: Mapping[str, Severity] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fail_on", Severity.parse(self.fail_on))
        if not 0 <= float(self.min_score) <= 100:
            raise ProbeConfigError(f"min_score must be between 0 and 100; got {self.min_score}")
        object.__setattr__(
            self, "probe_fail_on", {str(k): Severity.parse(v) for k, v in dict(self.probe_fail_on).items()}
        )
        object.__setattr__(
            self, "waivers", tuple(w if isinstance(w, Waiver) else Waiver.from_mapping(w) for w in self.waivers)
        )

    def threshold(self, probe: str | None = None) -> Severity:
        """The severity at which a finding of ``probe`` fails the gate."""
        return self.probe_fail_on.get(probe, self.fail_on) if probe is not None else self.fail_on

    def waiver_for(self, probe: str, finding: Finding, on: _dt.date | None = None) -> WaiverStatus | None:
        """The waiver that covers ``finding`` (a holding one before a lapsed one), if any."""
        day = on or today()
        lapsed: WaiverStatus | None = None
        for waiver in self.waivers:
            if waiver.matches(probe, finding):
                if not waiver.expired(day):
                    return WaiverStatus(waiver, active=True)
                lapsed = lapsed or WaiverStatus(waiver, active=False)
        return lapsed

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fail_on": self.fail_on.value,
            "fail_on_error": self.fail_on_error,
            "min_score": self.min_score,
        }
        # Only what was set: a default policy reads the same as it always has.
        if self.probe_fail_on:
            out["probe_fail_on"] = {k: v.value for k, v in self.probe_fail_on.items()}
        if self.waivers:
            out["waivers"] = [w.to_dict() for w in self.waivers]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GatePolicy:
        """Back from a scorecard's ``policy`` block (missing keys take their defaults)."""
        return cls(
            fail_on=d.get("fail_on") or Severity.HIGH,
            fail_on_error=bool(d.get("fail_on_error", True)),
            min_score=float(d.get("min_score") or 0.0),
            probe_fail_on=d.get("probe_fail_on") or {},
            waivers=tuple(Waiver.from_mapping(w) for w in d.get("waivers") or ()),
        )


def scorecard_date(card: Scorecard) -> _dt.date:
    """The day the audit ran: waivers in a saved scorecard are read as of that day."""
    try:
        return _dt.datetime.fromisoformat(str(card.created_at)).date()
    except ValueError:
        return today()


_PROBE_GATE_KEYS = ("fail_on",)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProbeConfigError(f"{name} must be a number; got {value!r}")
    return float(value)


@dataclass(frozen=True)
class AuditConfig:
    """Everything an audit can be configured with: the gate, per-probe settings, the time budget.

    ``source`` is the file it was read from, if any (for messages).
    """

    policy: GatePolicy = field(default_factory=GatePolicy)
    probe_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not float(self.timeout_s) > 0:
            raise ProbeConfigError(f"timeout_s must be positive; got {self.timeout_s}")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], source: str | None = None) -> AuditConfig:
        """From ``[tool.auditkit]``-shaped data::

            fail_on = "high"            # info, low, medium, high, critical
            fail_on_error = true
            min_score = 60
            timeout_s = 600

            [probes.slice_bias]         # a probe's own settings and thresholds,
            fail_on = "medium"          # and the severity at which it fails the gate
            min_support = 50

            [[waivers]]
            probe = "target_leakage"
            code = "single_feature_leak"  # optional, as are features and slice
            features = ["boat"]
            reason = "boat is dropped before scoring; see the model card"
            expires = 2026-06-30          # optional: the last day it holds
        """
        known = {"fail_on", "fail_on_error", "min_score", "timeout_s", "probes", "waivers"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ProbeConfigError(f"unknown audit setting {unknown[0]!r}; known settings: {', '.join(sorted(known))}")
        probes = raw.get("probes", {})
        if not isinstance(probes, Mapping) or not all(isinstance(v, Mapping) for v in probes.values()):
            raise ProbeConfigError("'probes' must map each probe name to a table of its settings")
        settings: dict[str, dict[str, Any]] = {}
        probe_fail_on: dict[str, Any] = {}
        for name, table in probes.items():
            settings[name] = {k: v for k, v in table.items() if k not in _PROBE_GATE_KEYS}
            if "fail_on" in table:
                probe_fail_on[name] = table["fail_on"]
        waivers = raw.get("waivers", [])
        if not isinstance(waivers, Sequence) or isinstance(waivers, str):
            raise ProbeConfigError("'waivers' must be a list of tables ([[tool.auditkit.waivers]])")
        fail_on_error = raw.get("fail_on_error", True)
        if not isinstance(fail_on_error, bool):
            raise ProbeConfigError(f"fail_on_error must be true or false; got {fail_on_error!r}")
        policy = GatePolicy(
            fail_on=raw.get("fail_on", Severity.HIGH),
            fail_on_error=fail_on_error,
            min_score=_number(raw.get("min_score", 0.0), "min_score"),
            probe_fail_on=probe_fail_on,
            waivers=tuple(Waiver.from_mapping(w) for w in waivers),
        )
        # The probes named here are checked (they exist, their settings build them)
        # when the audit resolves its probes: see auditkit._registry.
        return cls(
            policy=policy,
            probe_settings={k: v for k, v in settings.items() if v},
            timeout_s=_number(raw.get("timeout_s", DEFAULT_TIMEOUT_S), "timeout_s"),
            source=source,
        )

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
