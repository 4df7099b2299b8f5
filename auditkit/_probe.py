"""The probe protocol: what a probe is, what it needs, what it hands back.

A probe is a frozen, keyword-only dataclass::

    @dataclass(frozen=True, kw_only=True)
    class TargetLeakage(Probe):
        '''What it detects, what it measures, why its defaults are what they are.'''

        name: ClassVar[str] = "target_leakage"
        needs: ClassVar[Needs] = Needs(tasks=("binary", "multiclass", "regression"))
        threshold: float = 0.9

        def __post_init__(self) -> None:
            require(0.5 < self.threshold <= 1, "threshold must be in (0.5, 1]")

        def run(self, ctx: AuditContext) -> Evidence:
            ...measure, then judge...
            return Evidence(metrics={...}, findings=[Finding(...)])

Variants are settings, not subclasses. ``run`` measures and judges; whether
the scorecard passes is decided later by the gate policy, never by a probe.
To run one probe as a test, see ``auditkit.testing.check_probe``.

A probe cannot harm the next one: it sees its own read-only view of the audit
data (writing into ``ctx.data.frame`` touches only its copy) and read-only
prediction arrays, and what it returns is copied into deeply frozen results.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from auditkit._errors import ModelFailure, ProbeCancelled, ProbeConfigError
from auditkit._measure import Measurement, Part, fold, sample_rows, split_rows
from auditkit._models._base import output_problem
from auditkit._models._cancellable import Cancellable
from auditkit._results import Finding

if TYPE_CHECKING:
    import pandas as pd

    from auditkit._data import AuditData
    from auditkit._figures import Figure
    from auditkit._models import Model, Predictions

__all__ = ["NO_SUCH_SETTING", "AuditContext", "Evidence", "Needs", "Probe", "derive_seed", "read_only", "require"]

T = TypeVar("T")

NO_SUCH_SETTING = "probe {name!r} has no setting {setting!r}; its settings are: {known}"


def require(condition: bool, message: str) -> None:
    """Validate a probe setting; the message names the setting and what it must be."""
    if not condition:
        raise ProbeConfigError(message)


def derive_seed(seed: int, name: str) -> int:
    """The per-probe seed: stable across runs and platforms, different per probe."""
    digest = hashlib.sha256(f"{int(seed)}:{name}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class Needs:
    """What a probe needs from the model and the data to apply at all."""

    tasks: Sequence[str] = ("binary", "multiclass", "regression")
    model: bool = True  # False: runs on the data alone when no model or stored predictions were given
    queryable: bool = False
    probabilities: bool = False
    online: bool = False
    reference: bool = False
    sensitive: bool = False

    def unmet(self, model: Model, data: AuditData) -> str | None:
        """Why the probe does not apply, or None when it does."""
        caps = model.capabilities
        if self.model and model.kind == "none":
            return "needs a model or stored predictions; this audit has the data alone"
        if caps.task not in self.tasks:
            return f"needs a {' or '.join(self.tasks)} model; this one is {caps.task}"
        if self.queryable and not caps.queryable:
            return "needs a model it can query; only stored predictions were given"
        if self.probabilities and not caps.probabilities:
            return "needs predicted probabilities or scores; the model gives labels only"
        if self.online and not caps.online:
            return "needs a model that learns online (partial_fit, or a torch module wrapped with optimizer= and loss_fn=)"
        if self.reference and data.reference is None:
            return "needs reference (training) data; none was given"
        if self.sensitive and not data.sensitive:
            return "needs sensitive columns; none were declared"
        return None


@dataclass(frozen=True)
class Evidence:
    """What a probe's ``run`` returns: its measurements and the findings judged from them.

    ``score`` (0-100) overrides the score derived from the findings' severities.
    ``figures`` are the charts a report draws for this probe (``auditkit.figures``).
    """

    metrics: Mapping[str, Any] = field(default_factory=dict)
    findings: Sequence[Finding] = ()
    score: float | None = None
    figures: Sequence[Figure] = ()


class AuditContext:
    """Everything one probe run may use: the bound model, the data, its seed,
    and the predictions on the audit rows, computed once and shared by all probes.

    Once the probe's time budget has run out, the runner reports it as an error
    and cancels its context: every later call to ``model``, and ``check()``,
    raises ``ProbeCancelled``, so the abandoned run ends at its next step. A
    probe with long work between model calls calls ``check()`` in its loops.
    """

    def __init__(
        self,
        model: Model,
        data: AuditData,
        seed: int,
        shared: SharedPredictions,
        timeout_s: float,
        *,
        partitions: int = 1,
        sample_seed: int = 0,
    ) -> None:
        self._cancelled = threading.Event()
        self.model: Model = Cancellable(model, self.check)
        self.data = read_only(data)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.timeout_s = timeout_s
        self.partitions = max(1, int(partitions))
        self.sample_seed = int(sample_seed)
        self._shared = shared

    def check(self) -> None:
        """Raise ``ProbeCancelled`` when the runner has given up on this probe."""
        if self._cancelled.is_set():
            raise ProbeCancelled(f"the probe was cancelled: it ran past its time budget of {self.timeout_s:g} s")

    def cancel(self) -> None:
        """Give up on the probe: its next model call or ``check()`` raises ``ProbeCancelled``."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def predictions(self) -> Predictions:
        """The model's outputs on ``data.X`` (the model's failure is re-raised here)."""
        return self._shared.get()

    def parts(self, *, predictions: bool = True) -> list[Part]:
        """The audit rows as partitions, each with its slice of the shared predictions
        (``predictions=False`` for measurements of the data alone: no model call)."""
        preds = self.predictions if predictions else None
        frame = self.data.frame
        out = []
        for i, rows in enumerate(split_rows(len(frame), self.partitions)):
            start, stop = (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, 0)
            out.append(Part(i, rows, frame.iloc[start:stop], None if preds is None else preds.take(rows)))
        return out

    def measure(self, factory: Callable[[], Measurement[T]], *, predictions: bool = True) -> T:
        """Fold a mergeable measurement over the partitions: one state per
        partition, merged, finalized (see ``auditkit.Measurement``)."""
        self.check()
        return fold(factory, self.parts(predictions=predictions))

    def sample(self, size: int, *, strata: Callable[[Part], np.ndarray] | None = None) -> np.ndarray:
        """Positions (sorted) of the audit's one seeded sample of at most ``size`` rows,
        stratified by ``strata`` when given. The same rows for every probe and
        however the data is partitioned; every row when there are fewer."""
        return sample_rows(self.parts(predictions=False), self.sample_seed, size, strata)


def read_only(data: AuditData) -> AuditData:
    """A probe's own view of the audit data: its frames are shallow copies (under
    pandas' copy-on-write, writing into one copies only what is written), its
    arrays read-only and its dicts its own, so nothing a probe does to the data
    reaches the user's frame or the next probe. No data is copied up front."""
    import pandas as pd

    view = copy.copy(data)
    for name, value in vars(data).items():
        if isinstance(value, (pd.DataFrame, pd.Series)):
            value = value.copy(deep=False)
        elif isinstance(value, np.ndarray):
            value = _frozen_array(value)
        elif isinstance(value, (dict, list, set)):
            value = copy.copy(value)
        vars(view)[name] = value
    return view


def _frozen_array(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


def _read_only_predictions(value: Predictions) -> Predictions:
    """The shared predictions with read-only arrays: one probe's write cannot reach another."""
    changes = {
        f.name: _frozen_array(v)
        for f in dataclasses.fields(value)
        if isinstance(v := getattr(value, f.name), np.ndarray)
    }
    return dataclasses.replace(value, **changes)


class SharedPredictions:
    """Predictions on the audit rows, computed on first use under a lock.

    They are checked once here: output that cannot be the model's answer
    (the wrong length, NaN, labels that are not classes, probabilities that
    are not probabilities) raises ``ModelFailure`` naming the problem, so every
    probe that needs predictions reports it instead of scoring garbage.
    """

    def __init__(self, model: Model, X: Callable[[], pd.DataFrame]) -> None:
        self._model = model
        self._X = X
        self._lock = threading.Lock()
        self._value: Predictions | None = None
        self._error: BaseException | None = None

    def get(self) -> Predictions:
        with self._lock:
            if self._value is None and self._error is None:
                try:
                    X = self._X()
                    value = self._model.predictions(X)
                    problem = output_problem(value, len(X), self._model.capabilities.task)
                    if problem is not None:
                        self._error = ModelFailure(problem)
                    else:
                        self._value = _read_only_predictions(value)
                except Exception as exc:
                    self._error = exc
            if isinstance(self._error, ModelFailure):
                raise self._error
            if self._error is not None:
                raise ModelFailure(
                    f"the model raised {type(self._error).__name__} while predicting the audit data: {self._error}"
                ) from self._error
            assert self._value is not None
            return self._value


class Probe:
    """Base of every probe. Subclasses are frozen keyword-only dataclasses.

    ``name`` is stable snake_case: the pytest id, the JSON key and the CLI selector.
    """

    name: ClassVar[str] = ""
    needs: ClassVar[Needs] = Needs()

    def run(self, ctx: AuditContext) -> Evidence:  # pragma: no cover - abstract
        raise NotImplementedError

    def applies(self, model: Model, data: AuditData) -> str | None:
        """None when the probe applies; otherwise the reason it is skipped."""
        return self.needs.unmet(model, data)

    def settings(self) -> dict[str, Any]:
        if dataclasses.is_dataclass(self):
            return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {}

    def with_settings(self, **changes: Any) -> Probe:
        """The same probe with some settings changed (validated again)."""
        if not changes:
            return self
        known = set(self.settings())
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ProbeConfigError(
                NO_SUCH_SETTING.format(name=self.name, setting=unknown[0], known=", ".join(sorted(known)) or "(none)")
            )
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name and not (name.isidentifier() and name == name.lower()):
            raise TypeError(f"probe name {name!r} must be snake_case")
