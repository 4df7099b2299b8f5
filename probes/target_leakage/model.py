"""The audited model's own score, and how much of it each feature carries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit import Model, Predictions
from probes.target_leakage.power import NO_POWER, Power, auc_with_se, r2_with_se

__all__ = ["Dominance", "dominance", "model_power"]

# Rows per stacked model call when shuffling features (bounds its memory).
_STACKED_ROWS = 200_000


def model_power(pred: Predictions, y: pd.Series, task: str, classes: np.ndarray) -> Power:
    """ROC AUC (one-vs-rest macro for several classes) or R² of the model's outputs.

    A classifier that gives labels only is scored on its labels, which makes
    its ROC AUC its balanced accuracy.
    """
    if task == "regression":
        if pred.scores is None:
            return NO_POWER
        scores = np.asarray(pred.scores, dtype=float)
        if not np.isfinite(scores).all():
            return NO_POWER
        return r2_with_se(y.to_numpy(dtype=float), scores)
    truth = y.to_numpy()
    per_class = []
    targets = classes[-1:] if task == "binary" else classes
    for c in targets:
        is_c = truth == c
        if is_c.all() or not is_c.any():
            continue
        score = _class_score(pred, c, task)
        if score is None or not np.isfinite(score).all():
            return NO_POWER
        per_class.append(auc_with_se(is_c, score))
    if not per_class:
        return NO_POWER
    return Power(
        float(np.mean([p.score for p in per_class])),
        float(np.mean([p.se for p in per_class])),
        len(truth),
    )


def _class_score(pred: Predictions, c: object, task: str) -> np.ndarray | None:
    model_classes = None if pred.classes is None else list(np.asarray(pred.classes).tolist())
    if pred.proba is not None and model_classes is not None and c in model_classes:
        return np.asarray(pred.proba, dtype=float)[:, model_classes.index(c)]
    if task == "binary" and pred.scores is not None:
        return np.asarray(pred.scores, dtype=float)
    return (np.asarray(pred.labels) == c).astype(float)


@dataclass(frozen=True)
class Dominance:
    """How far the model's score falls when one feature's values are shuffled."""

    feature: str
    base: float
    permuted: float
    se: float
    chance: float

    @property
    def drop(self) -> float:
        return self.base - self.permuted

    regression: bool = False

    @property
    def share(self) -> float:
        """The fraction of the model's skill above chance that the feature carries.

        Shuffling a feature in a regression both removes its signal and adds as
        much noise: a linear model loses twice the feature's share of R², so the
        drop is halved.
        """
        skill = self.base - self.chance
        drop = self.drop / 2 if self.regression else self.drop
        return drop / skill if skill > 0 else float("nan")


def dominance(
    model: Model,
    X: pd.DataFrame,
    base_pred: Predictions,
    y: pd.Series,
    task: str,
    classes: np.ndarray,
    features: list[str],
    rng: np.random.Generator,
) -> list[Dominance]:
    """Permutation importance of each feature on the rows of ``X``, scored as the model is.

    The user's frame is never touched: each permutation builds a new frame.
    """
    chance = 0.0 if task == "regression" else 0.5
    base = model_power(base_pred, y, task, classes)
    if not base.ok:
        return []
    # Every feature's shuffled copy goes through the model in as few calls as
    # the row cap allows: a call's fixed cost (a pipeline's checks and
    # encoders) outweighs its per-row cost at these sizes. Only probabilities
    # or scores are read, so one pass of the model serves.
    n = len(X)
    per_call = max(1, _STACKED_ROWS // max(n, 1))
    out = []
    for start in range(0, len(features), per_call):
        chunk = features[start : start + per_call]
        frames = []
        for feature in chunk:
            perm = rng.permutation(n)
            frames.append(X.assign(**{feature: X[feature].take(perm).set_axis(X.index)}))
        stacked = model.outputs(pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0])
        for i, feature in enumerate(chunk):
            permuted = model_power(stacked.take(np.arange(i * n, (i + 1) * n)), y, task, classes)
            if permuted.ok:
                # The two scores share their rows, so their errors are correlated; the
                # root of the summed variances is a cautious bound for their difference.
                se = float(np.hypot(base.se, permuted.se))
                out.append(Dominance(feature, base.score, permuted.score, se, chance, task == "regression"))
    return out
