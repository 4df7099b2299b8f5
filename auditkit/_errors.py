"""Errors raised by auditkit.

Every error a user can cause has one root, :class:`AuditkitError`, and each
subclass also inherits the builtin a Python user would expect to catch, so
``except ValueError`` keeps working::

    AuditkitError(Exception)
    ├── DataError(AuditkitError, ValueError)          the audit data is unusable
    ├── ModelError(AuditkitError, TypeError)          the object cannot be audited as a model
    ├── ModelFileError(AuditkitError, ValueError)     a model file is missing, corrupt or unreadable
    │   └── UntrustedModelError(ModelFileError)       loading it would run code nobody vouched for
    ├── ProbeConfigError(AuditkitError, ValueError)   a probe setting or a policy value is invalid
    ├── UnknownProbeError(AuditkitError, KeyError)    no installed probe has that name
    ├── MissingDependencyError(AuditkitError, ImportError)
    ├── ModelFailure(AuditkitError, RuntimeError)      the audited model raised on the audit rows
    └── ProbeSkipped(AuditkitError)                   raised inside a probe: it does not apply

The CLI turns any of these into one line on stderr and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "AuditkitError",
    "DataError",
    "MissingDependencyError",
    "ModelError",
    "ModelFailure",
    "ModelFileError",
    "ProbeConfigError",
    "ProbeSkipped",
    "UnknownProbeError",
    "UntrustedModelError",
]


class AuditkitError(Exception):
    """Root of every error auditkit raises on purpose."""


class DataError(AuditkitError, ValueError):
    """The audit data cannot be audited as given (names the column and the problem)."""


class ModelError(AuditkitError, TypeError):
    """The object cannot be wrapped as a model, or its declared capabilities are inconsistent."""


class ModelFileError(AuditkitError, ValueError):
    """A model file is missing, corrupt, or of a format auditkit cannot read."""


class UntrustedModelError(ModelFileError):
    """Loading the file would execute code or types that were not trusted explicitly."""


class ProbeConfigError(AuditkitError, ValueError):
    """A probe setting, a policy value or a config file is invalid."""


class UnknownProbeError(AuditkitError, KeyError):
    """No installed probe has the requested name."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(AuditkitError, ImportError):
    """An optional framework (torch, pyarrow) is needed for this and is not installed."""


class ModelFailure(AuditkitError, RuntimeError):
    """The audited model itself failed on the audit rows: it raised, or it answered
    what cannot be its answer (NaN, labels that are not classes of the target,
    probabilities of the wrong shape, the wrong number of rows).

    Raised by ``AuditContext.predictions``; a probe that lets it through is
    reported as ``error`` with the model's exception, and the audit goes on.
    A probe may catch it to run the checks that need no predictions.
    """


class ProbeSkipped(AuditkitError):
    """Raised by a probe's ``run`` when it finds it does not apply; the message is the reason."""


class ProbeCancelled(AuditkitError):
    """Raised inside a probe that the runner has given up on (its time budget ran out):
    by ``AuditContext.check`` and by every call to ``AuditContext.model``. A probe lets
    it through; it only ends the abandoned run, whose result is already an error."""


def missing_dependency(package: str, extra: str, purpose: str) -> MissingDependencyError:
    """The one message used whenever an optional framework is absent."""
    return MissingDependencyError(
        f"{purpose} needs the optional dependency '{package}'; "
        f"install it with: pip install 'auditkit[{extra}]'"
    )
