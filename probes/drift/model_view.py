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

__all__ = ["OUTPUT", "OUTPUT_FACTOR", "ModelView", "label_checks", "mean_check", "output_checks", "shift_impact"]

# The name the model's output goes by in checks and figures.
OUTPUT = "model output"
# The model's outputs on the reference are in-sample (the rows it learned from): even their
# mean sits apart from its outputs on new rows of the same population (about 0.07 reference
# sd for the benchmark's boosted classifier at 2,000 to 10,000 rows; predicted-label shares
# of its three-class model by about 0.10 total variation). So the output's thresholds are the
# features' thresholds times this factor.
OUTPUT_FACTOR = 2.0


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
    if plan.kind == "numeric":
        # The reference outputs are the model's answers on rows it was trained on, more extreme
        # than on any new rows when it overfits (a boosted model's scores on its own training
        # rows): their spread differs with no drift at all, so only the mean is compared.
        checks = [mean_check(plan, ref_counts, audit_counts, s)]
    else:
        checks = [c for c in feature_checks(plan, ref_counts, audit_counts, s, ctx.rng) if c.code == "distribution_shift"]
    for c in checks:
        c.code = "output_shift"
        c.threshold *= OUTPUT_FACTOR
    return ModelView(checks, plan, (ref_counts, audit_counts), what=what, reference_rows=n_ref)


def _moments(plan: Plan, counts: FeatureCounts) -> tuple[float, float, int]:
    """Mean, variance and rows from the histogram (each cell at its middle; beyond the
    edges at the observed mean distance), the same way on both sides."""
    assert counts.cells is not None
    edges, cells = plan.edges, counts.cells.astype(float)
    excess = counts.excess if counts.excess is not None else np.zeros(2)
    middle = np.r_[
        edges[0] - (excess[0] / cells[0] if cells[0] else 0.0),
        edges[0],
        (edges[:-1] + edges[1:]) / 2 if not plan.discrete else edges[1:],
        edges[-1] + (excess[1] / cells[-1] if cells[-1] else 0.0),
    ]
    n = cells.sum()
    if n == 0:
        return 0.0, 0.0, 0
    mean = float((cells * middle).sum() / n)
    return mean, float((cells * (middle - mean) ** 2).sum() / max(n - 1, 1)), int(n)


def mean_check(plan: Plan, ref: FeatureCounts, audit: FeatureCounts, s: Settings) -> Check:
    """The shift of the mean output in reference standard deviations, Welch's t-test."""
    from scipy import stats

    m_r, v_r, n_r = _moments(plan, ref)
    m_a, v_a, n_a = _moments(plan, audit)
    sd = np.sqrt(v_r) if v_r > 0 else plan.scale
    effect = abs(m_a - m_r) / sd
    se = np.sqrt(v_r / max(n_r, 1) + v_a / max(n_a, 1)) / sd
    z = stats.norm.ppf(0.5 + s.confidence / 2)
    p = float(stats.ttest_ind_from_stats(m_a, np.sqrt(v_a), n_a, m_r, np.sqrt(v_r), n_r, equal_var=False).pvalue) if n_a > 1 and n_r > 1 else 1.0
    return Check(OUTPUT, "output_shift", "mean_sd", float(effect), max(0.0, float(effect - z * se)), float(effect + z * se),
                 s.min_shift, p if np.isfinite(p) else 1.0, {"reference_mean": m_r, "audit_mean": m_a})


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
