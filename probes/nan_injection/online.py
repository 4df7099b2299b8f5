"""Online poisoning: one update with a poisoned batch, applied to a private copy.

For each poison (NaN, +inf, 1e308) and batch size, smallest first, a fresh
copy of the model (``Model.learner()``) takes one update with rows whose
cells in one numeric column hold the poison. The copy is poisoned when its
weights or its outputs on clean rows turn NaN or infinite, or when its score
on clean rows falls far below that of a copy updated with the same rows
unpoisoned. Rejecting the poisoned batch with a validation error is fine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auditkit import Model, Predictions
from auditkit.strategies import ColumnSchema, to_source

from probes.nan_injection.calls import ModelCaller, ModelHung
from probes.nan_injection.outcome import VALIDATION_ERRORS, Reference

POISONS: dict[str, tuple[str, float]] = {
    "nan": ("NaN", float("nan")),
    "pos_inf": ("+inf", float("inf")),
    "huge": ("1e308", 1e308),
}
# Numeric columns a poison is tried in (chosen at random): one usually tells
# as much as all, and each try costs a copy of the model and an update.
MAX_POISON_COLUMNS = 3


@dataclass(frozen=True)
class PoisonResult:
    """What one poison did at the smallest batch size where it did anything notable."""

    poison: str
    label: str
    outcome: str  # "poisoned", "rejected", "crashed", "harmless", "not_run"
    size: int | None = None
    column: str | None = None
    effect: str = ""
    error: str | None = None
    error_text: str = ""
    score: float | None = None
    clean_score: float | None = None
    reproducer: str = ""
    tried: list[dict[str, Any]] = field(default_factory=list)


def score(pred: Predictions, y: np.ndarray, task: str) -> float:
    """Accuracy, or R² for regression: the clean score a poisoned update must not collapse."""
    if task == "regression":
        from sklearn.metrics import r2_score

        values = np.asarray(pred.scores if pred.scores is not None else pred.labels, dtype=float)
        if not np.isfinite(values).all():
            return float("-inf")
        return float(r2_score(y, values))
    labels = pd.Series(np.asarray(pred.labels), dtype=object)
    return float((labels.to_numpy() == pd.Series(y, dtype=object).to_numpy()).mean())


def poison_model(
    caller: ModelCaller,
    model: Model,
    sample: pd.DataFrame,
    y: np.ndarray,
    schema: Sequence[ColumnSchema],
    reference: Reference,
    sizes: Sequence[int],
    poisons: Sequence[str],
    collapse_drop: float,
    rng: np.random.Generator,
) -> tuple[list[PoisonResult], dict[int, float]]:
    """Every poison at every batch size (smallest first, stopping at the first that poisons)."""
    numeric = [c.name for c in schema if c.numeric]
    if not numeric:
        return [], {}
    columns = [numeric[i] for i in sorted(rng.choice(len(numeric), min(MAX_POISON_COLUMNS, len(numeric)), replace=False))]
    order = rng.permutation(len(sample))
    clean_scores: dict[int, float] = {}
    for size in sizes:
        rows = order[: min(size, len(sample))]
        try:
            got = _update(caller, model, sample.iloc[rows].reset_index(drop=True), y[rows])
            if isinstance(got, Model):
                answer = caller.call(lambda: got.predictions(sample))
                if answer.error is None and not answer.timed_out:
                    clean_scores[size] = score(answer.value, y, reference.task)
        except ModelHung:
            return [PoisonResult(p, POISONS[p][0], "not_run") for p in poisons], clean_scores
    results = []
    for poison in poisons:
        label, value = POISONS[poison]
        results.append(_one_poison(
            caller, model, sample, y, reference, sizes, columns, order, poison, label, value, clean_scores, collapse_drop,
        ))
    return results, clean_scores


def _one_poison(
    caller: ModelCaller,
    model: Model,
    sample: pd.DataFrame,
    y: np.ndarray,
    reference: Reference,
    sizes: Sequence[int],
    columns: Sequence[str],
    order: np.ndarray,
    poison: str,
    label: str,
    value: float,
    clean_scores: dict[int, float],
    collapse_drop: float,
) -> PoisonResult:
    tried: list[dict[str, Any]] = []
    first_error: PoisonResult | None = None
    for size in sizes:
        rows = order[: min(size, len(sample))]
        for column in columns:
            batch = sample.iloc[rows].reset_index(drop=True).assign(**{column: value})
            if caller.hung:
                return PoisonResult(poison, label, "not_run", tried=tried)
            try:
                got = _update(caller, model, batch, y[rows])
            except ModelHung:
                return PoisonResult(poison, label, "not_run", tried=tried)
            reproducer = to_source(batch.iloc[:1]) if len(batch.columns) <= 40 else ""
            if isinstance(got, BaseException) or got is None:
                error = "timeout" if got is None else type(got).__name__
                text = "no answer within the per-call budget" if got is None else " ".join(str(got).split())[:160]
                outcome = "rejected" if isinstance(got, VALIDATION_ERRORS) else "crashed"
                tried.append({"size": size, "column": column, "outcome": outcome, "error": error})
                if outcome == "crashed" and first_error is None:
                    first_error = PoisonResult(
                        poison, label, "crashed", size, column, error=error, error_text=text,
                        reproducer=reproducer, tried=tried,
                    )
                continue
            effect, after = _damage(caller, got, sample, y, reference, clean_scores.get(size), collapse_drop)
            tried.append({"size": size, "column": column, "outcome": "poisoned" if effect else "harmless", "score": after})
            if effect:
                return PoisonResult(
                    poison, label, "poisoned", size, column, effect=effect, score=after,
                    clean_score=clean_scores.get(size), reproducer=reproducer, tried=tried,
                )
    if first_error is not None:
        return first_error
    outcome = "rejected" if tried and all(t["outcome"] == "rejected" for t in tried) else "harmless"
    return PoisonResult(poison, label, outcome, tried=tried)


def _update(caller: ModelCaller, model: Model, X: pd.DataFrame, y: np.ndarray) -> Model | BaseException | None:
    """A fresh private copy updated once with (X, y): the updated model, the
    exception the update raised, or None when it did not finish in time."""

    def step() -> Model:
        learner = model.learner()
        learner.update(X, y)
        return learner.model()

    answer = caller.call(step)
    if answer.timed_out:
        return None
    return answer.error if answer.error is not None else answer.value


def _damage(
    caller: ModelCaller,
    updated: Model,
    sample: pd.DataFrame,
    y: np.ndarray,
    reference: Reference,
    clean_score: float | None,
    collapse_drop: float,
) -> tuple[str, float | None]:
    """How the update hurt the copy ("" when it did not), and its clean score."""
    bad_weights = nonfinite_weights(updated)
    if bad_weights:
        return f"turned {bad_weights} weight(s) NaN or infinite", None
    answer = caller.call(lambda: updated.predictions(sample))
    if answer.timed_out:
        return "left a model that no longer answered within the per-call budget", None
    if answer.error is not None:
        return f"left a model that raises {type(answer.error).__name__} on clean rows", None
    check = answer.value.check(len(sample), reference.task, reference.classes)
    if not check.ok:
        return f"made it return {check.what} on {int(check.invalid_rows.sum())} of {len(sample)} clean rows", None
    after = score(answer.value, y, reference.task)
    if clean_score is not None and after < clean_score - collapse_drop:
        what = "R²" if reference.task == "regression" else "accuracy"
        return (
            f"collapsed its {what} on clean rows to {after:.3f} from {clean_score:.3f} after the same "
            f"update unpoisoned (allowed drop {collapse_drop:g})",
            after,
        )
    return "", after


def nonfinite_weights(model: Model) -> int:
    """How many parameters of the updated copy are NaN or infinite (0 when they cannot be read)."""
    module = getattr(model, "module", None)
    arrays: list[np.ndarray] = []
    if module is not None and hasattr(module, "state_dict"):
        for tensor in module.state_dict().values():
            if tensor.is_floating_point():
                arrays.append(tensor.detach().to("cpu").double().numpy())
    estimator = getattr(model, "estimator", None)
    if estimator is not None:
        for name in ("coef_", "intercept_", "coefs_", "intercepts_"):
            value = getattr(estimator, name, None)
            for part in value if isinstance(value, list) else [value]:
                if isinstance(part, np.ndarray) and part.dtype.kind == "f":
                    arrays.append(part)
    return int(sum((~np.isfinite(a)).sum() for a in arrays))
