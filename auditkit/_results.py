"""The plain, frozen data an audit produces: findings, probe results, the scorecard.

Everything here is JSON-ready (``to_dict``) and deeply immutable: metrics
become read-only mappings and tuples, so no probe, renderer or user can change
a result after it is built. The JSON layout is the contract with CI and other
tools; it is described by ``auditkit/schema/scorecard.schema.json`` and
versioned by ``SCHEMA_VERSION``.

What the gate decided is stored here too (by ``auditkit._judge``, the one place
the policy is applied): each finding's ``gate`` mark, each probe's status and
the severity it was judged at, and the scorecard's ``verdict`` with its reasons.

In a notebook a scorecard or a probe result shows as the report (``_repr_html_``);
the HTML comes from ``auditkit._report``, whose renderer is handed in here
(:func:`show_in_notebooks`), since results must not import what renders them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from auditkit._figures import figure_from_dict
from auditkit._values import OPS, Condition, Op, Severity, freeze, is_frozen, jsonable, thaw

__all__ = [
    "SCHEMA_VERSION",
    "Condition",
    "Finding",
    "GateMark",
    "ProbeResult",
    "Scorecard",
    "Severity",
    "Status",
    "Verdict",
    "WaiverUse",
    "clean_title",
    "jsonable",
    "show_in_notebooks",
]

# 2: findings carry their gate mark, probes their gate severity and figures,
# the scorecard its verdict (gate score, reasons, waivers). Version 1 files
# are still read: the judge fills in what they lack.
SCHEMA_VERSION = 2

Status = Literal["passed", "failed", "error", "skipped"]
# What the gate made of a finding: it fails the gate; it is below the gate's
# severity; a waiver covers it; or the waiver that covered it has expired (it fails).
GateMark = Literal["fails", "passes", "waived", "waiver_expired"]
GATE_MARKS: tuple[str, ...] = ("fails", "passes", "waived", "waiver_expired")


# How a result shows in a notebook cell. The renderer lives in auditkit._report, which
# imports this module: it hands its function in here (show_in_notebooks) when auditkit
# is imported, so results never import their renderers.
_notebook_views: dict[str, Callable[[Any], str]] = {}


def show_in_notebooks(scorecard: Callable[[Any], str], probe_result: Callable[[Any], str]) -> None:
    """Set the functions that give a Scorecard's and a ProbeResult's HTML in a notebook cell."""
    _notebook_views.update(scorecard=scorecard, probe_result=probe_result)


def _notebook_html(kind: str, result: Any) -> str | None:
    view = _notebook_views.get(kind)
    # None: Jupyter falls back on the plain repr, as it does for any object without HTML.
    return None if view is None else view(result)


def _frozen_json(value: Any) -> Any:
    """JSON-ready and deeply immutable; a value that already is (a result copied by
    ``dataclasses.replace``) is kept as it is, not walked and copied again."""
    if is_frozen(value):
        return value
    return freeze(jsonable(dict(value) if isinstance(value, Mapping) else list(value)))


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
    gate: GateMark | None = None  # set by the judge; None until the policy has been applied
    waiver: str | None = None  # the waiver's note when one covers the finding

    @property
    def fails_gate(self) -> bool:
        return self.gate in ("fails", "waiver_expired")

    @property
    def waived(self) -> bool:
        return self.gate == "waived"

    def __post_init__(self) -> None:
        if self.gate is not None and self.gate not in GATE_MARKS:
            raise ValueError(f"unknown gate mark {self.gate!r}; expected one of {GATE_MARKS}")
        object.__setattr__(self, "severity", Severity.parse(self.severity))
        object.__setattr__(self, "features", tuple(str(f) for f in self.features))
        if self.slice is not None:
            conds = tuple(c if isinstance(c, Condition) else Condition(**c) for c in self.slice)
            object.__setattr__(self, "slice", conds)
        object.__setattr__(self, "metrics", _frozen_json(self.metrics))
        object.__setattr__(self, "examples", _frozen_json(tuple(self.examples)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "features": list(self.features),
            "slice": None if self.slice is None else [c.to_dict() for c in self.slice],
            "metrics": thaw(self.metrics),
            "examples": thaw(self.examples),
            "gate": self.gate,
            "waiver": self.waiver,
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
            gate=d.get("gate"),
            waiver=d.get("waiver"),
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
    fail_on: Severity | None = None  # the severity its findings were judged to fail at

    def __post_init__(self) -> None:
        if self.fail_on is not None:
            object.__setattr__(self, "fail_on", Severity.parse(self.fail_on))
        object.__setattr__(self, "metrics", _frozen_json(self.metrics))
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "figures", tuple(self.figures))
        # Kept at the precision the JSON stores, so a report rendered now and one rendered
        # from the scorecard file read the same ("Ran 20 ms", not 20 here and 19 there).
        object.__setattr__(self, "duration_s", round(float(self.duration_s), 4))

    def _repr_html_(self) -> str | None:
        """The probe's section of the report, for a notebook cell (Jupyter calls this)."""
        return _notebook_html("probe_result", self)

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
            "fail_on": None if self.fail_on is None else self.fail_on.value,
            "metrics": thaw(self.metrics),
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
            fail_on=d.get("fail_on"),
        )


def _figures(raw: Any) -> tuple[Any, ...]:
    return tuple(figure_from_dict(f) for f in raw)


@dataclass(frozen=True)
class WaiverUse:
    """How one waiver of the policy stood on the audit's day: expired or not, and
    how many findings it waived (an expired one waives none)."""

    covers: str
    reason: str
    expires: str | None = None
    expired: bool = False
    matched: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"covers": self.covers, "reason": self.reason, "expires": self.expires,
                "expired": self.expired, "matched": self.matched}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WaiverUse:
        return cls(d["covers"], d["reason"], d.get("expires"), bool(d.get("expired")), int(d.get("matched") or 0))


@dataclass(frozen=True)
class Verdict:
    """Why the scorecard passed or failed: the score the gate held against its floor
    (waived findings set aside), one line per reason it failed, and the waivers' standing."""

    gate_score: float
    reasons: tuple[str, ...] = ()
    waivers: tuple[WaiverUse, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "gate_score", float(self.gate_score))
        object.__setattr__(self, "reasons", tuple(str(r) for r in self.reasons))
        object.__setattr__(self, "waivers", tuple(self.waivers))

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate_score": round(self.gate_score, 2),
            "reasons": list(self.reasons),
            "waivers": [w.to_dict() for w in self.waivers],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Verdict:
        return cls(
            gate_score=d["gate_score"],
            reasons=tuple(d.get("reasons") or ()),
            waivers=tuple(WaiverUse.from_dict(w) for w in d.get("waivers") or ()),
        )


@dataclass(frozen=True)
class Scorecard:
    """The whole audit: every probe's result, the overall score and the gate's verdict.

    ``title`` names the audit for people (``"credit model v3 vs 2026-Q4 traffic"``),
    so that two reports side by side can be told apart; files written before titles
    existed read with an empty one (the reports then name the model and data).
    """

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
    verdict: Verdict | None = None  # None until judged (a version-1 file, a card built by hand)
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", clean_title(self.title))
        object.__setattr__(self, "probes", tuple(self.probes))
        object.__setattr__(self, "model", _frozen_json(self.model))
        object.__setattr__(self, "data", _frozen_json(self.data))
        object.__setattr__(self, "policy", _frozen_json(self.policy))

    def __getitem__(self, name: str) -> ProbeResult:
        for result in self.probes:
            if result.name == name:
                return result
        raise KeyError(name)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for p in self.probes for f in p.findings)

    def _repr_html_(self) -> str | None:
        """The report sized for a notebook cell, one collapsible section per probe
        (Jupyter calls this to show a scorecard)."""
        return _notebook_html("scorecard", self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "auditkit_version": self.auditkit_version,
            "title": self.title,
            "seed": self.seed,
            "created_at": self.created_at,
            "model": thaw(self.model),
            "data": thaw(self.data),
            "score": round(float(self.score), 2),
            "grade": self.grade,
            "passed": self.passed,
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "policy": thaw(self.policy),
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
            verdict=None if d.get("verdict") is None else Verdict.from_dict(d["verdict"]),
            title=d.get("title") or "",
        )


def clean_title(title: Any) -> str:
    """A title on one line: runs of white space (a newline, a tab) become one space."""
    if not isinstance(title, str):
        raise TypeError(f"a scorecard's title must be a string; got {type(title).__name__}")
    return " ".join(title.split())
