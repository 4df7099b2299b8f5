"""The model's outcomes in the probe's terms, coded partition by partition."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditkit import AuditContext, Part
from probes._shared import slice_stats
from probes.slice_bias.calibration import Calibration

__all__ = ["Coding", "Outcome"]


@dataclass(frozen=True)
class Coding:
    """How a partition's rows become outcomes: class indices (binary: 1 is the positive
    class; multiclass: one more index for a label outside the model's classes) or values."""

    task: str
    target: str
    classes: np.ndarray | None
    positive: Any
    n_classes: int

    @classmethod
    def of(cls, ctx: AuditContext) -> Coding:
        task = ctx.model.task
        if task == "regression":
            return cls(task, ctx.data.target, None, None, 0)
        # The model's own classes; without them, the target's (a core property of the data).
        classes = np.asarray(ctx.model.classes if ctx.model.classes is not None else ctx.data.classes)
        n_classes = 2 if task == "binary" else len(classes) + 1
        return cls(task, ctx.data.target, classes, _plain(classes[-1]), n_classes)

    def labels(self, part: Part) -> tuple[np.ndarray, np.ndarray]:
        """(y_true, y_pred) of the partition's rows."""
        assert part.predictions is not None
        labels = np.asarray(part.predictions.labels)
        y = part.frame[self.target].to_numpy()
        if self.task == "regression":
            return y.astype(float), labels.astype(float)
        assert self.classes is not None
        if self.task == "binary":
            return (y == self.classes[-1]).astype(np.intp), (labels == self.classes[-1]).astype(np.intp)
        index = pd.Index(self.classes)
        y_true, y_pred = index.get_indexer(y), index.get_indexer(labels)
        last = self.n_classes - 1
        return np.where(y_true < 0, last, y_true).astype(np.intp), np.where(y_pred < 0, last, y_pred).astype(np.intp)

    def rows(self, part: Part) -> dict[str, np.ndarray]:
        """Per row: y_true, y_pred, the error slices are judged on, and (classifiers) the
        probability of error the model stated (NaN where it stated none)."""
        y_true, y_pred = self.labels(part)
        if self.task == "regression":
            return {"y_true": y_true, "y_pred": y_pred, "error": np.abs(y_true - y_pred)}
        assert part.predictions is not None
        expected = _expected_error(part.predictions, np.asarray(part.predictions.labels))
        return {"y_true": y_true, "y_pred": y_pred, "error": (y_true != y_pred).astype(float), "expected": expected}


@dataclass(frozen=True)
class Outcome:
    """Every audit row's outcome, in row order, and the per-row error slices are judged on."""

    task: str
    y_true: np.ndarray
    y_pred: np.ndarray
    error: np.ndarray
    n_classes: int
    positive: Any
    expected: np.ndarray | None = None  # per row, 1 - the probability the model gave its own label

    @classmethod
    def of(cls, coding: Coding, values: dict[str, np.ndarray]) -> Outcome:
        expected = values.get("expected")
        if expected is not None and (len(expected) == 0 or not np.isfinite(expected).all()):
            expected = None  # one row without a stated probability: none are used
        return cls(coding.task, values["y_true"], values["y_pred"], values["error"], coding.n_classes,
                   coding.positive, expected)

    @functools.cached_property
    def calibration(self) -> Calibration | None:
        """The model's stated error probabilities, recalibrated (see ``Calibration``).

        A binary model's probability of the positive class is what is calibrated
        (Platt's own use), whatever threshold turns it into labels: a model deciding
        at 0.25 states errors up to 0.75 on its positive calls and below 0.25 on its
        negative ones, and one curve through both would misjudge a slice rich in
        either. Other models: whether the label is wrong, against the probability
        that it is.
        """
        if self.expected is None or self.error.sum() <= 0 or self.error.sum() >= len(self.error):
            return None
        if self.task == "binary":
            positive = self.y_pred == 1
            return Calibration(np.where(positive, 1 - self.expected, self.expected), self.y_true, flip=positive)
        return Calibration(self.expected, self.error)

    @functools.cached_property
    def recalibrated(self) -> np.ndarray | None:
        """Each row's error probability by the model's own account, recalibrated on all audit rows."""
        return None if self.calibration is None else self.calibration.rates()

    def expected_errors(self, mask: np.ndarray) -> np.ndarray:
        """The error probabilities of the slice's rows, as calibrated on the other rows."""
        assert self.calibration is not None
        return self.calibration.rates(outside=mask)

    def confidence_p(self, mask: np.ndarray, expected: np.ndarray | None = None) -> float:
        """The exact one-sided p-value that the slice errs more often than its rows'
        error probabilities (``expected_errors``) say. The binomial at their mean rate
        stands in for the exact tail where it is decisive already."""
        expected = self.expected_errors(mask) if expected is None else expected
        observed = self.error[mask].sum()
        bound = float(slice_stats.confidence_p_values(np.array([len(expected)]), np.array([observed]),
                                                       np.array([expected.sum()]))[0])
        if bound < 1e-15:
            return bound  # the exact tail is no more precise down there
        return slice_stats.poisson_binomial_sf(int(observed), expected)


def _expected_error(predictions: Any, labels: np.ndarray) -> np.ndarray:
    """1 - the probability the model gave the label it predicted; NaN for rows where it
    gave none (no probabilities, a label outside them, a probability not finite)."""
    proba, classes = predictions.proba, predictions.classes
    if proba is None or classes is None or proba.ndim != 2 or proba.shape[1] != len(classes):
        return np.full(len(labels), np.nan)
    column = pd.Index(classes).get_indexer(labels)
    valid = (column >= 0) & np.isfinite(proba).all(axis=1)
    out = np.full(len(labels), np.nan)
    out[valid] = 1.0 - proba[np.flatnonzero(valid), column[valid]]
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
