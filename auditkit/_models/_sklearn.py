"""scikit-learn estimators and pipelines (anything with ``predict``)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from auditkit._errors import DataError, ModelError
from auditkit._models._base import Capabilities, Learner, Model, Predictions, Task, check_task, hand_over

if TYPE_CHECKING:
    from auditkit._data import AuditData


class EstimatorModel(Model):
    """Wraps an object with ``predict`` and optionally ``predict_proba``,
    ``decision_function`` and ``partial_fit``: scikit-learn's protocol, which
    XGBoost, LightGBM and most others follow too."""

    kind = "sklearn"

    def __init__(self, estimator: Any, *, task: str | None = None) -> None:
        self.estimator = estimator
        classes = getattr(estimator, "classes_", None)
        declared = check_task(task)
        inferred = _infer_task(estimator, classes)
        if declared and inferred and declared != inferred and not (
            {declared, inferred} == {"binary", "multiclass"}
        ):
            raise ModelError(f"wrap(task={declared!r}) contradicts the estimator, which is a {inferred} model")
        resolved: Task | None = declared or inferred
        super().__init__(
            Capabilities(
                task=resolved,
                probabilities=hasattr(estimator, "predict_proba") and resolved != "regression",
                queryable=True,
                online=hasattr(estimator, "partial_fit"),
            ),
            classes=None if classes is None else np.asarray(classes),
        )
        self._labels_are_argmax = _predicts_argmax(estimator)
        names = getattr(estimator, "feature_names_in_", None)
        self.feature_names: tuple[str, ...] | None = None if names is None else tuple(map(str, names))
        self.n_features: int | None = getattr(estimator, "n_features_in_", None)

    def _inputs(self, X: pd.DataFrame) -> Any:
        """What the estimator is handed: its own copy of the frame (``hand_over``), or an array."""
        if self.feature_names is not None:
            return hand_over(X.loc[:, list(self.feature_names)] if list(X.columns) != list(self.feature_names) else X)
        # Fitted on an array: hand it an array, so scikit-learn does not warn about names
        # (a new array, or a read-only view under copy-on-write: a write cannot reach X).
        return X.to_numpy()

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.estimator.predict(self._inputs(X)))

    def predictions(self, X: pd.DataFrame) -> Predictions:
        """One pass where the estimator's ``predict`` is by its own code the
        most probable class of ``predict_proba``; two passes otherwise.

        The one-pass labels agree with ``predict`` except where two classes'
        probabilities tie exactly after rounding (a gradient boosting raw
        score within about 1e-16 of its boundary).
        """
        if not (self._labels_are_argmax and self.capabilities.probabilities and self.classes is not None):
            return super().predictions(X)
        proba = self.predict_proba(X)
        labels = self.classes[np.argmax(proba, axis=1)]  # what their predict computes, NaN rows included
        scores = proba[:, 1] if self.capabilities.task == "binary" and proba.shape[1] == 2 else None
        return Predictions(labels=labels, proba=proba, scores=scores, classes=self.classes)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not self.capabilities.probabilities:
            return super().predict_proba(X)
        return np.asarray(self.estimator.predict_proba(self._inputs(X)), dtype=float)

    def decision_scores(self, X: pd.DataFrame) -> np.ndarray | None:
        if hasattr(self.estimator, "decision_function"):
            return np.asarray(self.estimator.decision_function(self._inputs(X)), dtype=float)
        return None

    def bind(self, data: AuditData) -> Model:
        if self.feature_names is not None:
            missing = [c for c in self.feature_names if c not in data.frame.columns]
            if missing:
                raise DataError(
                    f"the model expects column(s) {', '.join(map(repr, missing))}, "
                    "which the audit data does not have"
                )
            roles = {data.target: "target", data.prediction: "prediction", data.score: "score"}
            clash = [c for c in self.feature_names if c in roles]
            if clash:
                raise DataError(f"the model takes column {clash[0]!r} as input, but it is the {roles[clash[0]]}")
            # The probes call the model on the features alone: a column it needs that the data
            # sets aside (an id, the time, an ignored column) would fail every call.
            aside = {**{c: "an id column" for c in data.ids}, **{c: "ignored" for c in data.ignore}}
            if data.time is not None:
                aside[data.time] = "the time column"
            needed = [c for c in self.feature_names if c in aside]
            if needed:
                c = needed[0]
                raise DataError(
                    f"the model takes column {c!r} as input, but the audit data marks it as {aside[c]}; "
                    "a model input must be audited as a feature"
                )
        elif self.n_features is not None and self.n_features != len(data.features):
            raise DataError(
                f"the model was fitted on {self.n_features} features; the audit data has "
                f"{len(data.features)} ({', '.join(data.features[:8])}...)"
            )
        model: Model = self
        if self.capabilities.task is None:
            model = self._with_capabilities(task=data.task)
        if model.classes is not None and model.capabilities.task != "regression":
            unknown = set(pd.unique(data.y)) - set(model.classes.tolist())
            if unknown:
                raise DataError(
                    f"target {data.target!r} holds label(s) the model never predicts: "
                    f"{sorted(map(str, unknown))[:5]}; the model's classes are {model.classes.tolist()[:10]}"
                )
        return model

    def fingerprint(self) -> str | None:
        import joblib

        try:
            return joblib.hash(self.estimator)
        except Exception:  # an estimator that cannot be pickled cannot be fingerprinted
            return None

    def learner(self) -> Learner:
        if not self.capabilities.online:
            return super().learner()
        return _PartialFitLearner(self)

    @property
    def features(self) -> tuple[str, ...] | None:
        return self.feature_names


# scikit-learn classifiers whose ``predict`` is, in their own code, the class of
# the largest ``predict_proba`` column (``classes_[argmax(proba)]``); their
# predictions then cost one pass instead of two. Decision-function models
# (logistic regression, SVMs) and anything thresholded are not listed.
_ARGMAX_CLASSIFIERS = frozenset({
    "sklearn.ensemble.HistGradientBoostingClassifier",
    "sklearn.ensemble.RandomForestClassifier",
    "sklearn.ensemble.ExtraTreesClassifier",
    "sklearn.tree.DecisionTreeClassifier",
    "sklearn.tree.ExtraTreeClassifier",
})


def _predicts_argmax(estimator: Any) -> bool:
    """Whether ``estimator`` (or the last step of a pipeline) is one of the
    classifiers above, by its exact class: a subclass may change ``predict``."""
    while hasattr(estimator, "steps") and estimator.steps:
        estimator = estimator.steps[-1][1]
    cls = type(estimator)
    public = cls.__module__.split("._")[0] + "." + cls.__name__  # sklearn.ensemble._forest -> sklearn.ensemble
    return public in _ARGMAX_CLASSIFIERS


class _PartialFitLearner(Learner):
    def __init__(self, model: EstimatorModel) -> None:
        self._source = model
        self._estimator = copy.deepcopy(model.estimator)

    def update(self, X: pd.DataFrame, y: np.ndarray) -> None:
        inputs = self._source._inputs(X)
        if self._source.classes is not None:
            self._estimator.partial_fit(inputs, y, classes=self._source.classes)
        else:
            self._estimator.partial_fit(inputs, y)

    def model(self) -> Model:
        return EstimatorModel(self._estimator, task=self._source.capabilities.task)


def _infer_task(estimator: Any, classes: Any) -> Task | None:
    from sklearn.base import is_classifier, is_regressor

    if classes is not None:
        return "binary" if len(classes) == 2 else "multiclass"
    if is_regressor(estimator):
        return "regression"
    if is_classifier(estimator):
        return None  # a classifier not yet fitted: the data will tell
    return None
