"""A plain function ``f(DataFrame) -> array`` of labels, scores or probabilities,
and the stored predictions of a model that cannot be queried."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from auditkit._errors import DataError, ModelError, ModelFailure
from auditkit._models._base import Capabilities, Model, Predictions, check_task, hand_over, probabilities_from_logits
from auditkit._models._outputs import _show, describe_values

if TYPE_CHECKING:
    from auditkit._data import AuditData

FunctionOutput = Literal["labels", "scores", "probabilities", "logits", "values"]
FUNCTION_OUTPUTS = ("labels", "scores", "probabilities", "logits", "values")
# Outputs a probability can be made of.
_PROBABILISTIC = ("scores", "probabilities", "logits")

# A function declared (or read) to give scores or probabilities that answers
# with something else: raised from the call, since no probability can be made of it.
NOT_NUMBERS_DECLARED = "the model returned {shown} where output={output!r} needs numbers"


class FunctionModel(Model):
    """A callable taking the feature frame. What it returns is declared with
    ``output=`` or read from its first answer: a 2-D array is class
    probabilities, 1-D numbers in [0, 1] for a binary target are
    positive-class scores, anything else is labels (or values, for regression).
    Logits (or any decision values: one column for a binary target, one per class
    otherwise) are never guessed; declare ``output="logits"``."""

    kind = "function"

    def __init__(
        self,
        fn: Callable[[pd.DataFrame], Any],
        *,
        task: str | None = None,
        output: str | None = None,
        classes: Any = None,
        threshold: float = 0.5,
    ) -> None:
        if output is not None and output not in FUNCTION_OUTPUTS:
            raise ModelError(f"output must be one of {', '.join(FUNCTION_OUTPUTS)}; got {output!r}")
        self.fn = fn
        self.output: FunctionOutput | None = output  # type: ignore[assignment]
        self.threshold = float(threshold)
        declared = check_task(task)
        super().__init__(
            Capabilities(task=declared, probabilities=output in _PROBABILISTIC, queryable=True),
            classes=None if classes is None else np.asarray(classes),
        )

    def _call(self, X: pd.DataFrame) -> np.ndarray:
        # An answer of the wrong length, NaN or labels that are no class are
        # passed on as they are, not raised: a model that fails without a word
        # is what probes must see (the shared predictions refuse it on the audit
        # rows; nan_injection calls it corruption on its malformed ones).
        # The function gets its own copy of X: what it writes there stays there.
        return np.atleast_1d(np.asarray(self.fn(hand_over(X))))

    def bind(self, data: AuditData) -> Model:
        model = self._with_capabilities(task=self.capabilities.task or data.task)
        assert isinstance(model, FunctionModel)
        if model.classes is None and model.capabilities.task != "regression":
            model.classes = np.asarray(data.classes)
        if model.output is None:
            sample = data.X.iloc[: min(len(data.X), 64)]
            try:
                first = model._call(sample)
            except Exception:
                # The model fails on the audit data itself: every probe that asks
                # it for predictions reports that failure, so let them all run.
                model.capabilities = Capabilities(task=model.capabilities.task, probabilities=True, queryable=True)
                return model
            model.output = _infer_function_output(first, model.capabilities.task, model.classes)
        model.capabilities = Capabilities(
            task=model.capabilities.task,
            probabilities=model.output in _PROBABILISTIC,
            queryable=True,
        )
        return model

    def _numbers(self, out: np.ndarray) -> np.ndarray:
        try:
            return out.astype(float)
        except (TypeError, ValueError):
            odd = [v for v in out.ravel()[:1000] if not _is_number(v)]
            raise ModelFailure(
                NOT_NUMBERS_DECLARED.format(shown=describe_values(np.asarray(odd, dtype=object)), output=self.output)
            ) from None

    def _proba(self, out: np.ndarray) -> np.ndarray:
        if self.output == "scores":
            s = self._numbers(out).ravel()
            return np.column_stack([1.0 - s, s])
        if self.output == "logits":
            return probabilities_from_logits(self._numbers(out).reshape(len(out), -1))
        return self._numbers(out).reshape(len(out), -1)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not self.capabilities.probabilities:
            return super().predict_proba(X)
        return self._proba(self._call(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._labels(self._call(X))

    def _labels(self, out: np.ndarray) -> np.ndarray:
        if self.output == "scores":
            assert self.classes is not None
            s = self._numbers(out).ravel()
            labels = self.classes[(s >= self.threshold).astype(int)]
            return labels
        if self.output == "logits" and self._numbers(out).reshape(len(out), -1).shape[1] == 1:
            assert self.classes is not None
            p = self._proba(out)[:, 1]
            return self.classes[(p >= self.threshold).astype(int)]
        if self.output in ("probabilities", "logits"):
            assert self.classes is not None
            p = self._proba(out) if self.output == "logits" else self._numbers(out).reshape(len(out), -1)
            if p.shape[1] != len(self.classes):
                # No class to name; the shared predictions report the column count.
                return np.full(len(p), None, dtype=object)
            return self.classes[np.argmax(np.nan_to_num(p, nan=-np.inf), axis=1)]
        if out.ndim == 2 and out.shape[1] == 1:
            return out.ravel()  # a column of labels is labels
        return out

    def predictions(self, X: pd.DataFrame) -> Predictions:
        out = self._call(X)  # one call serves labels and probabilities
        labels = self._labels(out)
        if self.capabilities.task == "regression":
            # Values that are not numbers stay as they came, for the shared
            # predictions (and nan_injection) to judge, rather than fail the cast here.
            try:
                scores = labels.astype(float)
            except (TypeError, ValueError):
                scores = None
            return Predictions(labels=labels, scores=scores, classes=None)
        proba = self._proba(out) if self.capabilities.probabilities else None
        scores = proba[:, 1] if proba is not None and proba.shape[1] == 2 else None
        return Predictions(labels=labels, proba=proba, scores=scores, classes=self.classes)

    def fingerprint(self) -> str | None:
        import joblib

        try:
            return joblib.hash(self.fn)
        except Exception:  # closures over unpicklable state: nothing to compare
            return None


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _infer_function_output(out: np.ndarray, task: str | None, classes: np.ndarray | None) -> FunctionOutput:
    if task == "regression":
        return "values"
    if out.ndim == 2 and out.shape[1] > 1:
        return "probabilities"
    flat = out.ravel()
    if classes is not None and np.isin(flat, classes).all():
        return "labels"
    if ptypes.is_numeric_dtype(flat.dtype) and task == "binary":
        finite = flat[np.isfinite(flat.astype(float))]
        if finite.size == 0 or (finite.min() >= 0 and finite.max() <= 1):
            return "scores"
    return "labels"


class StoredPredictions(Model):
    """Predictions already in the audit data: a vendor's labels or scores.

    Probes that must query the model (inject malformed rows, permute a
    feature) report ``skipped``; everything that only needs outputs runs.
    """

    kind = "stored"

    def __init__(self, prediction: str | None = None, score: str | None = None, *, threshold: float = 0.5) -> None:
        self.prediction = prediction
        self.score = score
        self.threshold = float(threshold)
        self._stored: Predictions | None = None
        super().__init__(Capabilities(task=None, probabilities=score is not None, queryable=False))

    def bind(self, data: AuditData) -> Model:
        prediction = self.prediction or data.prediction
        score = self.score or data.score
        if prediction is None and score is None:
            raise ModelError(
                "no model to audit: pass a model, or name the stored prediction column "
                "(AuditData(prediction=...) or --prediction-column)"
            )
        for role, col in (("prediction", prediction), ("score", score)):
            if col is not None and col not in data.frame.columns:
                raise DataError(f"{role} column {col!r} is not in the audit data")
        task = data.task
        classes = None if task == "regression" else np.asarray(data.classes)
        labels = scores = proba = None
        if score is not None:
            scores = data.numeric_values(score, "score column")
            if task == "binary":
                _check_unit_interval(scores, score)
                proba = np.column_stack([1.0 - scores, scores])
        if prediction is not None:
            raw = data.frame[prediction]
            if task == "regression":
                labels = data.numeric_values(prediction, "prediction column")
            elif raw.isna().any():
                # Said before the classes: a gap is not a label of some other class.
                raise DataError(f"prediction column {prediction!r} has {int(raw.isna().sum())} missing value(s)")
            elif pd.Series(raw).isin(classes).all():
                labels = raw.to_numpy()
            elif task == "binary" and ptypes.is_numeric_dtype(raw.dtype):
                values = data.numeric_values(prediction, "prediction column")
                if values.min() < 0 or values.max() > 1:
                    raise DataError(
                        f"prediction column {prediction!r} holds neither classes of the target {data.target!r} "
                        f"nor probabilities in [0, 1]; it ranges from {values.min():g} to {values.max():g}"
                    )
                if scores is None:
                    scores = values
                    proba = np.column_stack([1.0 - scores, scores])
                labels = classes[(values >= self.threshold).astype(int)]  # type: ignore[index]
            else:
                odd = sorted(map(str, set(pd.unique(raw.dropna())) - set(classes.tolist())))[:5]  # type: ignore[union-attr]
                raise DataError(
                    f"prediction column {prediction!r} holds values that are not classes of the "
                    f"target {data.target!r}: {odd}"
                )
        elif task == "multiclass":
            # One score per row cannot say which of several classes was predicted.
            raise DataError(
                f"score column {score!r} alone gives no labels for the {len(classes)} classes of "  # type: ignore[arg-type]
                f"target {data.target!r}; name the prediction column too"
            )
        else:
            assert scores is not None
            labels = classes[(scores >= self.threshold).astype(int)] if task == "binary" else scores  # type: ignore[index]
        if task == "multiclass" and score is not None:
            # Nothing would read it: say so rather than audit as if it were used.
            raise DataError(
                f"score column {score!r} holds one probability per row, which the {len(classes)} classes of "  # type: ignore[arg-type]
                f"target {data.target!r} cannot use; leave it out (the stored labels are audited on their own)"
            )
        if task == "binary" and score is not None and prediction is not None:
            _check_labels_follow_scores(np.asarray(labels), scores, classes, score)  # type: ignore[arg-type]
        if task == "regression":
            scores = np.asarray(labels, dtype=float)
        bound = StoredPredictions(prediction, score, threshold=self.threshold)
        bound.capabilities = Capabilities(task=task, probabilities=proba is not None, queryable=False)
        bound.classes = classes
        bound._stored = Predictions(labels=np.asarray(labels), proba=proba, scores=scores, classes=classes)
        return bound

    def stored(self) -> Predictions:
        if self._stored is None:
            raise ModelError("stored predictions are read when the model is bound to audit data")
        return self._stored

    def predictions(self, X: pd.DataFrame) -> Predictions:
        stored = self.stored()
        if len(X) == len(stored):
            return stored
        raise ModelError("stored predictions exist only for the audit rows; they cannot be recomputed")

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raise ModelError("stored predictions cannot be queried on new rows")

    def fingerprint(self) -> str | None:
        return None

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update({"prediction_column": self.prediction, "score_column": self.score})
        return out


def _check_labels_follow_scores(labels: np.ndarray, scores: np.ndarray, classes: np.ndarray, name: str) -> None:
    """Refuse stored labels that fall where the score says the other class.

    A score column is read as the probability of the positive class, the last in
    sorted order ('good' of 'bad'/'good'). A vendor's P(bad) read that way turns
    every cost and rate upside down without a word; its labels give it away: the
    rows labelled positive have the lowest scores. A ROC AUC of the score for
    the stored labels below 0.25 is no ranking of the same model's decisions.
    """
    positive = labels == classes[1]
    if positive.all() or not positive.any():
        return
    from sklearn.metrics import roc_auc_score

    if roc_auc_score(positive, scores) < 0.25:
        raise DataError(
            f"score column {name!r} is read as the probability of {_show(classes[1])} (the positive class, the last "
            f"in sorted order), but the stored labels say {_show(classes[0])} where it is high; if it is the "
            f"probability of {_show(classes[0])}, store 1 - score"
        )


def _check_unit_interval(values: np.ndarray, name: str) -> None:
    if values.min() < 0 or values.max() > 1:
        raise DataError(
            f"score column {name!r} must hold probabilities in [0, 1]; "
            f"it ranges from {values.min():g} to {values.max():g}"
        )


NO_MODEL = "no model was given (a data-only audit)"


class DataOnly(Model):
    """No model and no stored predictions: the data alone is audited.

    Probes that need the model's outputs are skipped (``Needs(model=True)``, the
    default); a probe of the data alone (``drift``) runs, and any part of it that
    asks for outputs gets ``ModelFailure`` naming the reason.
    """

    kind = "none"

    def __init__(self, task: Any = None, classes: np.ndarray | None = None) -> None:
        super().__init__(Capabilities(task=task, probabilities=False, queryable=False), classes)

    def bind(self, data: AuditData) -> Model:
        task = data.task
        return DataOnly(task, None if task == "regression" else np.asarray(data.classes))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raise ModelFailure(NO_MODEL)

    def predictions(self, X: pd.DataFrame) -> Predictions:
        raise ModelFailure(NO_MODEL)
