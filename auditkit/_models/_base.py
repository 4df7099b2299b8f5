"""What every wrapped model offers the probes, whatever it was before wrapping."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from auditkit._errors import ModelError

if TYPE_CHECKING:
    from auditkit._data import AuditData

__all__ = ["Capabilities", "Learner", "Model", "Predictions", "Task"]

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
