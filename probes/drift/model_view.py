"""The model's view of the shift: its outputs on the reference against its outputs on the audit
rows, and the target itself (label drift).

Outputs on the audit rows are the shared predictions, counted as a mergeable measurement on
edges fixed from the reference's outputs. The reference's outputs come from the model itself
when it can be queried (on a seeded sample of reference rows), or from the stored prediction
columns when the reference holds them; otherwise this part is skipped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditkit import AuditContext, Measurement, ModelFailure, Part
from probes.drift.checks import Check, Settings, feature_checks
from probes.drift.measure import FeatureCounts, FeatureProfile, Plan, plan_column, profile_reference

__all__ = ["OUTPUT", "ModelView", "label_checks", "output_checks"]

# The name the model's output goes by in checks and figures.
OUTPUT = "model output"


@dataclass
class ModelView:
    checks: list[Check]
    plan: Plan | None = None
    counts: tuple[FeatureCounts, FeatureCounts] | None = None
    skipped: str | None = None
    what: str = ""
    reference_rows: int = 0


@dataclass(frozen=True)
class _Stored:
    """The reference's stored outputs, read as the model's would be."""

    labels: np.ndarray
    scores: np.ndarray | None


class OutputProfile(Measurement[FeatureCounts]):
    """The model's outputs on a partition's rows, counted by the output's plan."""

    def __init__(self, plan: Plan, what: str) -> None:
        self.plan, self.what = plan, what
        self.inner = FeatureProfile([plan])

    def update(self, part: Part) -> None:
        assert part.predictions is not None
        values = _outputs(part.predictions, self.what)
        self.inner.update(Part(part.index, part.rows, pd.DataFrame({OUTPUT: values}), None))

    def merge(self, other: OutputProfile) -> OutputProfile:
        self.inner = self.inner.merge(other.inner)
        return self

    def finalize(self) -> FeatureCounts:
        return self.inner.finalize()[OUTPUT]


def _outputs(predictions: Any, what: str) -> pd.Series:
    if what == "score":
        return pd.Series(np.asarray(predictions.scores, dtype=float))
    return pd.Series(np.asarray(predictions.labels))


def _reference_outputs(ctx: AuditContext, rows: int) -> tuple[Any, int] | str:
    """The model's outputs on reference rows, and how many rows; or why there are none."""
    data = ctx.data
    ref = data.reference
    assert ref is not None
    if ctx.model.capabilities.queryable:
        n = min(len(ref), rows)
        chosen = np.sort(np.random.default_rng(ctx.seed + 1).choice(len(ref), size=n, replace=False)) if n < len(ref) else np.arange(len(ref))
        X = ref.iloc[chosen].loc[:, list(data.features)]
        try:
            return ctx.model.predictions(X), n
        except ModelFailure as exc:
            return f"the model could not predict the reference rows: {exc}"
        except Exception as exc:  # the user's model raised: this part cannot run, the data parts still do
            return f"the model raised {type(exc).__name__} on the reference rows: {exc}"
    if data.score is not None and data.score in ref.columns:
        return _Stored(labels=ref[data.score].to_numpy(), scores=ref[data.score].to_numpy(dtype=float)), len(ref)
    if data.prediction is not None and data.prediction in ref.columns:
        return _Stored(labels=ref[data.prediction].to_numpy(), scores=None), len(ref)
    return "the model cannot be queried and the reference holds no stored predictions to compare with"


def output_checks(ctx: AuditContext, s: Settings, bins: int, rows: int) -> ModelView:
    """Drift of the model's scores (or predicted labels) from the reference to the audit rows."""
    task = ctx.model.capabilities.task
    try:
        ctx.predictions  # noqa: B018 - the shared predictions, computed once for every probe
    except ModelFailure as exc:
        if not ctx.model.capabilities.queryable and ctx.data.prediction is None and ctx.data.score is None:
            return ModelView([], skipped=str(exc))  # a data-only audit: no outputs to compare
        return ModelView([], skipped=f"the model could not predict the audit rows: {exc}")
    got = _reference_outputs(ctx, rows)
    if isinstance(got, str):
        return ModelView([], skipped=got)
    ref_preds, n_ref = got
    what = "score" if ref_preds.scores is not None and ctx.predictions.scores is not None else "label"
    ref_values = _outputs(ref_preds, what)
    kind = "numeric" if what == "score" or task == "regression" else "categorical"
    plan = plan_column(OUTPUT, ref_values, kind, bins)
    plan = Plan(OUTPUT, plan.kind, plan.edges, plan.discrete, (), plan.scale)  # no sentinels in outputs
    ref_counts = profile_reference(pd.DataFrame({OUTPUT: ref_values}), [plan])[OUTPUT]
    audit_counts = ctx.measure(lambda: OutputProfile(plan, what))
    checks = [c for c in feature_checks(plan, ref_counts, audit_counts, s, ctx.rng) if c.code == "distribution_shift"]
    for c in checks:
        c.code = "output_shift"
    return ModelView(checks, plan, (ref_counts, audit_counts), what=what, reference_rows=n_ref)


class TargetProfile(Measurement[FeatureCounts]):
    """The target's values on a partition's rows."""

    def __init__(self, plan: Plan, target: str) -> None:
        self.target = target
        self.inner = FeatureProfile([plan])

    def update(self, part: Part) -> None:
        self.inner.update(part)

    def merge(self, other: TargetProfile) -> TargetProfile:
        self.inner = self.inner.merge(other.inner)
        return self

    def finalize(self) -> FeatureCounts:
        return self.inner.finalize()[self.target]


def label_checks(ctx: AuditContext, s: Settings, bins: int) -> tuple[list[Check], Plan, tuple[FeatureCounts, FeatureCounts]]:
    """Drift of the target from the reference to the audit rows."""
    data = ctx.data
    ref = data.reference
    assert ref is not None
    kind = "numeric" if data.task == "regression" else "categorical"
    plan = plan_column(data.target, ref[data.target], kind, bins)
    plan = Plan(data.target, plan.kind, plan.edges, plan.discrete, (), plan.scale)
    ref_counts = profile_reference(ref, [plan])[data.target]
    audit_counts = ctx.measure(lambda: TargetProfile(plan, data.target), predictions=False)
    checks = [c for c in feature_checks(plan, ref_counts, audit_counts, s, ctx.rng) if c.code == "distribution_shift"]
    for c in checks:
        c.code = "label_shift"
    return checks, plan, (ref_counts, audit_counts)


def shift_impact(ctx: AuditContext, features: list[str], rows: int) -> dict[str, float]:
    """How much each shifted feature matters to the model: the mean absolute change of its
    score (or the share of its labels that change) on the audit's shared sample when that
    feature alone is given values drawn from the reference. Queryable models only."""
    data = ctx.data
    ref = data.reference
    if not features or ref is None or not ctx.model.capabilities.queryable:
        return {}
    chosen = ctx.sample(rows)
    X = data.frame.iloc[chosen].loc[:, list(data.features)]
    rng = np.random.default_rng(ctx.seed + 3)
    try:
        base = ctx.model.predictions(X)
        out = {}
        for feature in features:
            swapped = X.copy()
            swapped[feature] = ref[feature].to_numpy()[rng.integers(0, len(ref), len(X))]
            moved = ctx.model.predictions(swapped)
            if base.scores is not None and moved.scores is not None:
                out[feature] = float(np.mean(np.abs(np.asarray(moved.scores, float) - np.asarray(base.scores, float))))
            else:
                out[feature] = float(np.mean(np.asarray(moved.labels) != np.asarray(base.labels)))
        return out
    except Exception:  # the user's model refused the swapped rows: the impact is left out, the finding stays
        return {}
