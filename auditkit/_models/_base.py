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


# Output that cannot be the model's answer on the audit rows. Each is one
# sentence, the reason every probe that needs predictions reports as its
# error; the tests reuse these templates.
WRONG_LENGTH = "the model returned {n} predictions for the {rows} audit rows"
RETURNED_NONE = "the model returned None for the {rows} audit rows"
WRONG_SHAPE = "the model returned {what} of shape {shape} for the {rows} audit rows"
NOT_FINITE = "the model returned {what} for {bad} of the {rows} audit rows"
NOT_NUMBERS = "the model's predictions are not numbers ({shown})"
WRONG_COLUMNS = "the model returned {k} probability {columns} for the target's {n} classes"
OUTSIDE_UNIT = "the model's probabilities lie outside [0, 1] ({low:.3g} to {high:.3g})"
NOT_SUMMING = "the model's probabilities do not sum to 1 in {bad} of the {rows} audit rows (sums {low:.3g} to {high:.3g})"
NOT_CLASSES = "the model's labels ({shown}) are not classes of the target ({classes})"
NEITHER = (
    "the model's outputs are neither classes of the target ({classes}) nor scores in [0, 1]: "
    "they range from {low:.3g} to {high:.3g} (logits or decision values? declare output='logits')"
)

# The slack a probability may have: float32 softmax sums stray by about 1e-7;
# nan_injection judges its own outputs with the same bound.
PROBABILITY_ATOL = 1e-4


def output_problem(pred: Predictions, rows: int, task: str | None) -> str | None:
    """Why ``pred`` cannot be a model's answer on ``rows`` audit rows, or None.

    The shared predictions run this once on the audit rows. The wrappers'
    own calls never do: nan_injection feeds malformed rows on purpose and
    judges the malformed output it gets back itself.
    """
    labels = np.asarray(pred.labels)
    if labels.ndim == 0 or len(labels) != rows:
        return _length_problem(labels, rows)
    if task == "regression":
        return _values_problem(pred.scores if pred.scores is not None else labels, rows)
    return (
        _proba_problem(pred, rows)
        or (_scores_problem(pred.scores, rows) if pred.proba is None else None)
        or _labels_problem(labels, rows, task, pred.classes)
    )


def _length_problem(labels: np.ndarray, rows: int) -> str:
    # A function returning None comes back as one None: say so, not "1 predictions".
    if labels.size == 1 and labels.ravel()[0] is None:
        return RETURNED_NONE.format(rows=rows)
    return WRONG_LENGTH.format(n=1 if labels.ndim == 0 else len(labels), rows=rows)


def _values_problem(values: np.ndarray, rows: int) -> str | None:
    """A regression model's values: any real numbers, one row each."""
    numbers, odd = _as_numbers(np.asarray(values))
    if numbers is None:
        return NOT_NUMBERS.format(shown=describe_values(odd))
    return _nonfinite_problem(numbers.reshape(rows, -1), rows)


def _proba_problem(pred: Predictions, rows: int) -> str | None:
    if pred.proba is None:
        return None
    p = np.asarray(pred.proba, dtype=float)
    if p.ndim != 2 or len(p) != rows:
        return WRONG_SHAPE.format(what="probabilities", shape=p.shape, rows=rows)
    if pred.classes is not None and p.shape[1] != len(pred.classes):
        k = p.shape[1]
        return WRONG_COLUMNS.format(k=k, columns="column" if k == 1 else "columns", n=len(pred.classes))
    nonfinite = _nonfinite_problem(p, rows)
    if nonfinite:
        return nonfinite
    if p.min() < -PROBABILITY_ATOL or p.max() > 1 + PROBABILITY_ATOL:
        # A binary model's own numbers are its positive-class scores, not the 1 - s beside them.
        shown = pred.scores if pred.scores is not None and p.shape[1] == 2 else p
        return OUTSIDE_UNIT.format(low=float(np.min(shown)), high=float(np.max(shown)))
    sums = p.sum(axis=1)
    off = np.abs(sums - 1) > PROBABILITY_ATOL
    if off.any():
        return NOT_SUMMING.format(bad=int(off.sum()), rows=rows, low=float(sums.min()), high=float(sums.max()))
    return None


def _scores_problem(scores: np.ndarray | None, rows: int) -> str | None:
    """The decision values of a binary model without probabilities: any real numbers."""
    if scores is None:
        return None
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or len(s) != rows:
        return WRONG_SHAPE.format(what="scores", shape=s.shape, rows=rows)
    return _nonfinite_problem(s.reshape(rows, 1), rows)


def _labels_problem(labels: np.ndarray, rows: int, task: str | None, classes: np.ndarray | None) -> str | None:
    if labels.ndim != 1:
        return WRONG_SHAPE.format(what="labels", shape=labels.shape, rows=rows)
    missing = pd.isna(labels)
    if missing.any():
        what = "NaN" if labels.dtype.kind == "f" else "missing labels"
        return NOT_FINITE.format(what=what, bad=int(missing.sum()), rows=rows)
    if classes is None:
        return None
    known = pd.Series(labels).isin(list(classes)).to_numpy()
    if known.all():
        return None
    listed = describe_values(np.asarray(classes), limit=10)
    if task == "binary" and labels.dtype.kind in "fiu" and (labels.min() < 0 or labels.max() > 1):
        # Numbers a binary model gave that are not its classes were not read as
        # scores either: name both, since either may have been meant.
        return NEITHER.format(classes=listed, low=float(labels.min()), high=float(labels.max()))
    return NOT_CLASSES.format(shown=describe_values(labels[~known]), classes=listed)


def _nonfinite_problem(values: np.ndarray, rows: int) -> str | None:
    """NaN or infinite numbers in a (rows, k) array, counted by row."""
    nan, inf = np.isnan(values), np.isinf(values)
    bad = (nan | inf).any(axis=1)
    if not bad.any():
        return None
    what = "NaN or infinite values" if nan.any() and inf.any() else "NaN" if nan.any() else "infinite values"
    return NOT_FINITE.format(what=what, bad=int(bad.sum()), rows=rows)


def _as_numbers(values: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """``values`` as floats, or None and the values that are not numbers."""
    if values.dtype.kind in "fiub":
        return values.astype(float, copy=False), values[:0]
    flat = pd.Series(values.ravel(), dtype=object)
    numbers = pd.to_numeric(flat, errors="coerce")
    odd = flat[numbers.isna() & flat.notna()].to_numpy()
    if len(odd):
        return None, odd
    return numbers.to_numpy(dtype=float).reshape(values.shape), odd


def describe_values(values: np.ndarray, limit: int = 3) -> str:
    """The distinct values, the way a person would type them: 'cat', -2.31, 'no' and 4 more."""
    distinct = pd.unique(pd.Series(values, dtype=object))
    parts = [_show(v) for v in distinct[:limit]]
    more = len(distinct) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def _show(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return f"{value:.3g}"
    return repr(value)


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
