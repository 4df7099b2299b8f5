"""auditkit: adversarial model audits as code.

Pluggable probes run against any model (scikit-learn, torch, a function, or
stored predictions) and produce an audit scorecard::

    import auditkit
    data = auditkit.AuditData(frame, target="survived", sensitive=["sex"])
    card = auditkit.audit(model, data)
    print(auditkit.render_terminal(card))
"""

from auditkit._version import __version__
from auditkit._config import find_config, load_config
from auditkit._data import AuditData, ColumnKind, infer_kind
from auditkit._diff import ScorecardDiff, diff_scorecards, render_diff_markdown, render_diff_terminal
from auditkit._errors import (
    AuditkitError,
    DataError,
    MissingDependencyError,
    ModelError,
    ModelFailure,
    ModelFileError,
    ProbeCancelled,
    ProbeConfigError,
    ProbeSkipped,
    UnknownProbeError,
    UntrustedModelError,
)
from auditkit._figures import (
    OUTCOMES,
    Bar,
    Curve,
    GridCell,
    GroupRates,
    GroupRow,
    Marker,
    OutcomeGrid,
    Ranking,
    Reference,
    SliceRow,
    SliceTable,
    figure_from_dict,
)
from auditkit._measure import Measurement, Part
from auditkit._models import Capabilities, Learner, Model, Predictions, load_model, wrap
from auditkit._policy import AuditConfig, GatePolicy, Waiver
from auditkit._probe import AuditContext, Evidence, Needs, Probe, require
from auditkit._registry import ProbeInfo, available_probes, installed_probe_names, load_probe, probe_class
from auditkit._report import (
    render_html,
    render_json,
    render_junit,
    render_markdown,
    render_terminal,
    scorecard_from_json,
    validate_scorecard,
)
from auditkit._results import Condition, Finding, ProbeResult, Scorecard, Severity, Verdict, WaiverUse
from auditkit._runner import AuditSession, audit

__all__ = [
    "AuditConfig",
    "AuditContext",
    "AuditData",
    "AuditSession",
    "AuditkitError",
    "Bar",
    "Capabilities",
    "ColumnKind",
    "Condition",
    "Curve",
    "DataError",
    "Evidence",
    "Finding",
    "GatePolicy",
    "GridCell",
    "GroupRates",
    "GroupRow",
    "Learner",
    "Marker",
    "Measurement",
    "MissingDependencyError",
    "Model",
    "ModelError",
    "ModelFailure",
    "ModelFileError",
    "Needs",
    "OUTCOMES",
    "OutcomeGrid",
    "Part",
    "Predictions",
    "Probe",
    "ProbeCancelled",
    "ProbeConfigError",
    "ProbeInfo",
    "ProbeResult",
    "ProbeSkipped",
    "Ranking",
    "Reference",
    "Scorecard",
    "ScorecardDiff",
    "Severity",
    "SliceRow",
    "SliceTable",
    "UnknownProbeError",
    "UntrustedModelError",
    "Verdict",
    "Waiver",
    "WaiverUse",
    "__version__",
    "audit",
    "available_probes",
    "diff_scorecards",
    "figure_from_dict",
    "find_config",
    "infer_kind",
    "installed_probe_names",
    "load_config",
    "load_model",
    "load_probe",
    "probe_class",
    "render_diff_markdown",
    "render_diff_terminal",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_terminal",
    "require",
    "scorecard_from_json",
    "validate_scorecard",
    "wrap",
]
