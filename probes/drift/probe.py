"""Probe ``drift``: has the data the model sees moved away from the data it learned from?"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from auditkit import AuditContext, Evidence, Finding, Needs, Probe, Severity, require
from probes.drift.checks import Settings, feature_checks
from probes.drift.domain import domain_classifier
from probes.drift.figures import distribution_figure, shift_ranking
from probes.drift.judge import judge
from probes.drift.measure import FeatureProfile, plan_features, profile_reference
from probes.drift.messages import IMPACT_MESSAGE, MODEL_SKIPPED_MESSAGE
from probes.drift.model_view import label_checks, output_checks, shift_impact
from probes.drift.skew import SkewProfile, skew_applies

__all__ = ["Drift"]

# At most this many flagged features get a distribution figure each.
_FIGURES = 6


@dataclass(frozen=True, kw_only=True)
class Drift(Probe):
    """Distribution shift, null-token drift and training-serving skew between the reference
    (training) rows and the audit rows.

    Detects: features whose distribution moved, categories never seen in training, values
    beyond the training range, numbers arriving as text, missing values that changed
    spelling ("NULL" became ""), a rise in missing values, a shift of the model's outputs
    and of the target, rows a classifier tells apart from training rows, and features that
    differ for the same ids in training and serving.

    Measures: per feature, the Wasserstein distance in reference standard deviations
    (numbers) or the total variation distance (categories), with bootstrap intervals,
    from histograms on reference-fixed edges and counts per value and per spelling of
    missing, all mergeable across partitions; the model's outputs on the reference against
    the audit rows (queryable models, or stored outputs in the reference); a domain
    classifier's ROC AUC on the audit's shared sample; an id join for skew.

    Why the defaults: a finding needs both significance (``alpha`` = 0.01 family-wise,
    Holm-corrected over every test) and an effect of at least ``min_shift`` = 0.1 standard
    deviations, ``min_tv`` = 10% of rows, ``min_share`` = 1% of rows, or a domain AUC of
    ``min_domain_auc`` = 0.6, so that the verdict does not hinge on the number of rows.
    The reasons are in ``probes/drift/README.md``.
    """

    name: ClassVar[str] = "drift"
    needs: ClassVar[Needs] = Needs(tasks=("binary", "multiclass", "regression"), model=False, reference=True)

    alpha: float = 0.01
    min_shift: float = 0.1
    min_tv: float = 0.1
    min_share: float = 0.01
    min_domain_auc: float = 0.6
    high_factor: float = 3.0
    confidence: float = 0.95
    n_bootstrap: int = 200
    bins: int = 100
    sample_rows: int = 5000
    model_rows: int = 50_000
    impact_rows: int = 2000

    def __post_init__(self) -> None:
        require(0 < self.alpha < 0.5, f"alpha must be in (0, 0.5); got {self.alpha}")
        for key in ("min_shift", "min_tv", "min_share"):
            value = getattr(self, key)
            require(isinstance(value, (int, float)) and value > 0, f"{key} must be a positive number; got {value!r}")
        require(self.min_tv < 1 and self.min_share < 1, "min_tv and min_share are shares: they must be below 1")
        require(0.5 < self.min_domain_auc < 1, f"min_domain_auc must be in (0.5, 1); got {self.min_domain_auc}")
        require(self.high_factor >= 1, f"high_factor must be at least 1; got {self.high_factor}")
        require(0.5 <= self.confidence < 1, f"confidence must be in [0.5, 1); got {self.confidence}")
        require(isinstance(self.n_bootstrap, int) and self.n_bootstrap >= 0, f"n_bootstrap must be a whole number >= 0; got {self.n_bootstrap!r}")
        require(isinstance(self.bins, int) and 10 <= self.bins <= 10_000, f"bins must be a whole number in [10, 10000]; got {self.bins!r}")
        require(isinstance(self.sample_rows, int) and self.sample_rows >= 0, f"sample_rows must be a whole number >= 0 (0: no domain classifier); got {self.sample_rows!r}")
        require(isinstance(self.impact_rows, int) and self.impact_rows >= 0, f"impact_rows must be a whole number >= 0 (0: not measured); got {self.impact_rows!r}")
        require(isinstance(self.model_rows, int) and self.model_rows >= 100, f"model_rows must be a whole number >= 100; got {self.model_rows!r}")

    def run(self, ctx: AuditContext) -> Evidence:
        data = ctx.data
        ref = data.reference
        assert ref is not None
        s = Settings(self.min_shift, self.min_tv, self.min_share, self.confidence, self.n_bootstrap)
        plans = plan_features(data, self.bins)
        ref_counts = profile_reference(ref, plans)
        audit_counts = ctx.measure(lambda: FeatureProfile(plans), predictions=False)
        checks = []
        for plan in plans:
            checks += feature_checks(plan, ref_counts[plan.feature], audit_counts[plan.feature], s, ctx.rng)
            ctx.check()
        labels, label_plan, label_counts = label_checks(ctx, s, self.bins)
        view = output_checks(ctx, s, self.bins, self.model_rows)
        domain = domain_classifier(
            ctx, plans, ref_counts, self.sample_rows, self.confidence, self.n_bootstrap, self.min_domain_auc
        ) if self.sample_rows else None
        skew_reason = skew_applies(data)
        skew = None
        joined = 0
        if skew_reason is None:
            features = tuple(f for f in data.features if f in ref.columns)
            joined, skew = ctx.measure(lambda: SkewProfile(ref, data.ids, features), predictions=False)
        source = "the model on a sample of reference rows" if ctx.model.capabilities.queryable else "the reference's stored predictions"
        judged = judge(checks + labels + view.checks, domain, skew, self, (view.what or "output", source))
        findings = list(judged.findings)
        shifted = [f.features[0] for f in findings if f.code == "distribution_shift"][:_FIGURES]
        impact = shift_impact(ctx, shifted, self.impact_rows) if self.impact_rows else {}
        what = "scores" if view.what == "score" else "predictions"
        findings = [
            replace(f, message=f.message + " " + IMPACT_MESSAGE.format(impact=impact[f.features[0]], what=what),
                    metrics={**f.metrics, "model_impact": impact[f.features[0]]})
            if f.code == "distribution_shift" and f.features[0] in impact else f
            for f in findings
        ]
        if view.skipped:
            findings.append(Finding("model_view_skipped", Severity.INFO, MODEL_SKIPPED_MESSAGE.format(reason=view.skipped)))
        figures: list[Any] = []
        ranking = shift_ranking(checks, judged.flagged)
        if ranking is not None:
            figures.append(ranking)
        by_plan = {p.feature: p for p in plans}
        shown = [f for f in judged.flagged if f in by_plan and by_plan[f].kind != "nulls"][:_FIGURES]
        figures += [distribution_figure(by_plan[f], ref_counts[f], audit_counts[f]) for f in shown]
        if view.plan is not None and view.counts is not None and any(f.code == "output_shift" for f in findings):
            figures.append(distribution_figure(view.plan, *view.counts))
        if any(f.code == "label_shift" for f in findings):
            figures.append(distribution_figure(label_plan, *label_counts))
        metrics: dict[str, Any] = {
            "features": len(plans),
            "reference_rows": len(ref),
            "audit_rows": data.n_rows,
            "tests": judged.tests,
            "shift": {
                c.feature: {"measure": c.measure, "effect": c.effect, "low": c.low, "high": c.high,
                            "threshold": c.threshold, "p_adjusted": c.p_adjusted}
                for c in checks if c.code == "distribution_shift"
            },
            "missing": {
                p.feature: {"reference": dict(ref_counts[p.feature].missing), "audit": dict(audit_counts[p.feature].missing)}
                for p in plans if ref_counts[p.feature].missing or audit_counts[p.feature].missing
            },
            "label": {c.feature: {"measure": c.measure, "effect": c.effect, "p_adjusted": c.p_adjusted} for c in labels},
            "model_view": (
                {"skipped": view.skipped} if view.skipped else
                {"output": view.what, "reference_rows": view.reference_rows,
                 **{k: v for c in view.checks for k, v in (("measure", c.measure), ("effect", c.effect), ("low", c.low),
                                                            ("high", c.high), ("p_adjusted", c.p_adjusted))}}
            ),
            "domain": None if domain is None else {
                "auc": domain.auc, "low": domain.low, "high": domain.high, "rows": domain.rows,
                "sample": "the audit's shared sample (ctx.sample) and as many seeded reference rows",
                "separating": [{"feature": f, "auc_drop": d} for f, d in domain.separating],
            },
            "skew": {"skipped": skew_reason} if skew is None else {
                "joined": joined, **{f: {"differ": c.differ, "joined": c.joined} for f, c in skew.items() if c.differ}},
        }
        return Evidence(metrics=metrics, findings=findings, figures=figures)
