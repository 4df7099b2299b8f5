"""What every wrapped model offers the probes, whatever it was before wrapping."""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from auditkit._errors import ModelError
from auditkit._models._outputs import OutputCheck, check_outputs, output_problem

if TYPE_CHECKING:
    from auditkit._data import AuditData

__all__ = ["Capabilities", "Learner", "Model", "Predictions", "Task", "output_problem"]

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class Capabilities:
    """What a wrapped model can do; probes declare which of these they need.

    ``task`` is None until the model is bound to audit data that settles it.
    """

    task: Task | None = None
    probabilities: bool = False
    queryable: bool = True
    online: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "probabilities": self.probabilities,
            "queryable": self.queryable,
            "online": self.online,
        }


@dataclass(frozen=True)
class Predictions:
    """A model's outputs on a set of rows, computed once and shared by probes.

    ``labels`` follow the model's own decision rule (its ``predict``), not an
    argmax auditkit chose; ``proba`` columns follow ``classes``; ``scores`` is
    the positive-class score of a binary model (probability or decision
    value) and the prediction itself for regression.
    """

    labels: np.ndarray
    proba: np.ndarray | None = None
    scores: np.ndarray | None = None
    classes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> Predictions:
        return Predictions(
            labels=self.labels[index],
            proba=None if self.proba is None else self.proba[index],
            scores=None if self.scores is None else self.scores[index],
            classes=self.classes,
        )

    def check(self, rows: int, task: str | None, classes: Any = None) -> OutputCheck:
        """Whether these outputs can be a ``task`` model's answer on ``rows`` rows:
        the one output check of auditkit, whole (``problem``) and row by row
        (``invalid``); ``classes`` default to the predictions' own."""
        return check_outputs(self, rows, task, classes)


# What one thread's calls handed the user's model, while ``Model.input_writes`` watches.
_watched = threading.local()


def hand_over(X: pd.DataFrame) -> pd.DataFrame:
    """The frame one call hands the user's model: a copy of its own.

    A shallow copy under pandas' copy-on-write: it shares the data until the
    model writes, and whatever the model writes (a column set, a cell changed,
    a column dropped, values filled in place) stays in the copy. So a model that
    writes into its input changes neither the audit data nor the frames a probe
    compares its answers with, and costs no memory when it does not.
    """
    handed = X.copy(deep=False)
    frames = getattr(_watched, "frames", None)
    if frames is not None:
        frames.append((X, handed))
    return handed


def _written_columns(original: pd.DataFrame, handed: pd.DataFrame) -> list[str]:
    """The columns the model changed in the copy it was handed: written into, dropped or added."""
    out = []
    for column in dict.fromkeys([*original.columns, *handed.columns]):
        if column not in handed.columns or column not in original.columns:
            out.append(str(column))
        elif not handed[column].equals(original[column]):
            out.append(str(column))
    return out


class Learner(ABC):
    """A private copy of an online model that can take one update at a time."""

    @abstractmethod
    def update(self, X: pd.DataFrame, y: np.ndarray) -> None:
        """Apply one incremental update with this batch."""

    @abstractmethod
    def model(self) -> Model:
        """The updated copy, as a model probes can query."""


class Model(ABC):
    """One interface over any model: scikit-learn, torch, a function, stored predictions."""

    kind: str = "model"

    def __init__(self, capabilities: Capabilities, classes: np.ndarray | None = None) -> None:
        self.capabilities = capabilities
        self.classes = classes

    # -- what probes call ---------------------------------------------------

    @property
    def task(self) -> Task:
        if self.capabilities.task is None:
            raise ModelError(f"the task of this {self.kind} model is unknown; pass wrap(..., task=...)")
        return self.capabilities.task

    @abstractmethod
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Labels (classification) or values (regression), by the model's own rule."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes``."""
        raise ModelError(f"this {self.kind} model gives no probabilities")

    def decision_scores(self, X: pd.DataFrame) -> np.ndarray | None:
        """Positive-class scores of a binary model that has no probabilities."""
        return None

    def predictions(self, X: pd.DataFrame) -> Predictions:
        """Everything probes need on ``X``: the labels of the model's own
        ``predict`` and, where it has them, its probabilities (two passes here;
        the wrappers whose labels follow from one pass override this)."""
        labels = np.asarray(self.predict(X))
        proba = scores = None
        task = self.capabilities.task
        if self.capabilities.probabilities and task != "regression":
            proba = np.asarray(self.predict_proba(X), dtype=float)
            if task == "binary" and proba.ndim == 2 and proba.shape[1] == 2:
                scores = proba[:, 1]
        elif task == "binary":
            raw = self.decision_scores(X)
            scores = None if raw is None else np.asarray(raw, dtype=float).ravel()
        elif task == "regression":
            scores = labels.astype(float, copy=False)
        return Predictions(labels=labels, proba=proba, scores=scores, classes=self.classes)

    def outputs(self, X: pd.DataFrame) -> Predictions:
        """The model's outputs on ``X`` in one pass, for probes that read its
        probabilities or scores rather than the labels of its ``predict``.

        A classifier with probabilities is asked for them alone and its labels
        are their most probable class, which can differ from ``predict`` for a
        classifier that applies a threshold of its own. Probabilities of the
        wrong shape are returned as they came, with labels of the right length
        but no value, so a caller judging malformed output can see them.
        Every other model answers as ``predictions`` does.
        """
        caps = self.capabilities
        if not (caps.probabilities and caps.task != "regression" and self.classes is not None):
            return self.predictions(X)
        classes = np.asarray(self.classes)
        proba = np.asarray(self.predict_proba(X), dtype=float)
        if proba.ndim == 2 and proba.shape[1] == len(classes):
            labels = classes[np.argmax(np.nan_to_num(proba, nan=-np.inf), axis=1)]
        else:
            labels = np.full(len(proba) if proba.ndim else 0, None, dtype=object)
        scores = proba[:, 1] if proba.ndim == 2 and proba.shape[1] == 2 == len(classes) else None
        return Predictions(labels=labels, proba=proba, scores=scores, classes=classes)

    def input_writes(self, X: pd.DataFrame) -> tuple[str, ...]:
        """The columns of ``X`` the model writes into (or drops, or adds) in the
        frame it is handed when it predicts ``X``; empty for a model that leaves
        its input alone.

        Every call hands the model a copy of its own (``hand_over``), so the
        writes never reach ``X``; this asks the model as the probes do
        (``predictions`` and ``outputs``) and compares each copy it was handed
        with what it was. A model that writes into its input is a defect all
        the same: its caller, who does not copy, reads altered data afterwards.
        """
        outer = getattr(_watched, "frames", None)
        _watched.frames = handed = []
        try:
            self.predictions(X)
            self.outputs(X)
        finally:
            _watched.frames = outer
        return tuple(dict.fromkeys(c for original, copy in handed for c in _written_columns(original, copy)))

    def bind(self, data: AuditData) -> Model:
        """This model, with what only the data can settle (task, classes) filled in.

        Raises a DataError or ModelError when model and data do not fit together.
        """
        return self

    def fingerprint(self) -> str | None:
        """A digest of the model's parameters, or None when they cannot be read."""
        return None

    def learner(self) -> Learner:
        """A private copy that learns online; the user's model is never updated."""
        raise ModelError(f"this {self.kind} model does not learn online")

    def describe(self) -> dict[str, Any]:
        """The ``model`` block of a scorecard."""
        return {"kind": self.kind, "task": self.capabilities.task, **{
            k: v for k, v in self.capabilities.to_dict().items() if k != "task"
        }}

    def _with_capabilities(self, **changes: Any) -> Model:
        import copy

        clone = copy.copy(self)
        clone.capabilities = replace(self.capabilities, **changes)
        return clone

    def __repr__(self) -> str:
        caps = ", ".join(f"{k}={v!r}" for k, v in self.capabilities.to_dict().items())
        return f"<auditkit {self.kind} model: {caps}>"


def probabilities_from_logits(raw: np.ndarray) -> np.ndarray:
    """Class probabilities from logits (rows x outputs): the sigmoid of one output
    (the positive class's), the softmax of several."""
    if raw.shape[1] == 1:
        with np.errstate(over="ignore"):
            p = 1.0 / (1.0 + np.exp(-raw))
        return np.hstack([1.0 - p, p])
    # Shifted by each row's largest logit, so exp never overflows.
    e = np.exp(raw - raw.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def digest_arrays(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()


def infer_task(data: AuditData) -> Task:
    return data.task


def check_task(task: str | None) -> Task | None:
    if task is not None and task not in TASKS:
        raise ModelError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    return task  # type: ignore[return-value]
