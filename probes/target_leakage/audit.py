"""One run of target_leakage: measure, judge, rank, draw.

Measuring and judging alternate where a judgement decides what to measure
next: pairs are tried among the features not already flagged, and the rows
behind a finding are counted only for the features found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from auditkit import AuditContext, Evidence, Finding, Severity
from probes.target_leakage import measure, ranking
from probes.target_leakage.judge import Judge, PowerVerdict, contamination, power_metrics, time_checks
from probes.target_leakage.measure import Feature, draw_pool, model_sample, single_features
from probes.target_leakage.model import model_power
from probes.target_leakage.power import NO_POWER
from probes.target_leakage.split import (
    Contamination,
    EntityIds,
    EntityOverlap,
    ReferenceKeys,
    TimeCounts,
    reference_after_audit,
)

if TYPE_CHECKING:
    from probes.target_leakage.probe import TargetLeakage

__all__ = ["run"]


def run(probe: TargetLeakage, ctx: AuditContext) -> Evidence:
    data = ctx.data
    task = ctx.model.task
    classification = task != "regression"
    classes = np.asarray(data.classes) if classification else np.empty(0)
    counted = classes if classification else None  # outcomes are counted per class, or per value
    metrics: dict[str, Any] = {"task": task, "metric": "roc_auc" if classification else "r2"}
    features = {f: Feature(f, data.kinds[f]) for f in data.features}
    per_feature: dict[str, list[Finding]] = {f: [] for f in features}
    others: list[Finding] = []

    # The model's own score, on the shared sample of audit rows.
    sample = model_sample(ctx, probe.max_rows)
    model_score = NO_POWER
    if sample.predictions is None:
        metrics.update(model_score=None, model_error=sample.error)
    else:
        model_score = model_power(sample.predictions, sample.frame[data.target], task, classes)
        metrics["model_score"] = power_metrics(model_score, norm.ppf(1 - probe.alpha))

    # Every column alone, on the sampled audit and reference rows.
    pool = draw_pool(ctx, probe.max_rows, sample)
    scored_on = "audit and reference rows" if pool.pooled else "audit rows"
    metrics.update(rows=pool.rows, rows_scored=len(pool.frame), sampled=bool(len(pool.frame) < pool.rows),
                   scored_on=scored_on)
    judge = Judge(probe, data.target, task, classes, model_score, pool.pooled)
    scores = single_features(ctx, probe, pool, features, classes)
    others += judge.unmeasured(scores, len(pool.frame))
    if scores.reason is not None:
        metrics["not_measured"] = scores.reason
    else:
        if scores.rare:
            metrics["classes_not_scored"] = [str(c) for c, _ in scores.rare]
        judge.z = norm.ppf(1 - probe.alpha / scores.tests)
        judge.row_order = scores.row_order
        metrics.update(tests=scores.tests, confidence=1 - probe.alpha, row_order_score=power_metrics(scores.row_order, judge.z))
        _judge_features(ctx, judge, pool, features, per_feature, counted)
        identifier_found = any(f.code == "identifier_leak" for found in per_feature.values() for f in found)
        others += [f for f in [judge.rows_sorted(identifier_found)] if f]
        metrics["not_scored"], note = judge.not_scored(features)
        others += [note] if note else []

    flagged = {name for name, found in per_feature.items() if any(f.severity >= Severity.HIGH for f in found)}
    pair_scores = measure.pairs(ctx, probe, pool, features, scores, flagged)
    if pair_scores:
        metrics["pairs"], found = judge.pairs(pair_scores, list(features))
        others += found

    metrics["contamination"], found = _contamination(ctx, probe, counted)
    others += found
    metrics["time"], found = _time(ctx, probe)
    others += found

    dominance_rows = None
    if ctx.model.capabilities.queryable and model_score.ok and features:
        result = measure.dominance_of(ctx, probe, features, classes)
        dominance_rows = result.rows
        metrics["dominance"], dominant, notes = judge.dominance(result, features)
        for name, finding in dominant.items():
            per_feature[name].append(finding)
        others += notes
    else:
        metrics["dominance"] = None
    if sample.error is not None:
        # Issue #22: a model that cannot predict the audit data must not pass as leak-free.
        others.append(judge.model_not_scored(sample.error))

    ranked = ranking.rank(features, per_feature, others, judge.z, judge.share)
    too_good = judge.too_good(ranked)
    others += [too_good] if too_good else []
    metrics["ranking"] = ranked
    metrics["samples"] = _samples(ctx, probe, sample.rows, pool, dominance_rows)
    findings = [f for found in per_feature.values() for f in found] + others
    findings.sort(key=lambda f: -f.severity.rank)
    confidence = metrics.get("confidence")
    where = f"{len(pool.frame)} {scored_on}" + (" (sampled)" if metrics["sampled"] else "")
    figure = ranking.figure(ranked, judge.metric, judge.near, judge.chance, model_score, confidence, where)
    return Evidence(metrics=metrics, findings=findings, figures=(figure,))


def _judge_features(ctx: AuditContext, judge: Judge, pool: measure.Pool, features: dict[str, Feature],
                    per_feature: dict[str, list[Finding]], counted: np.ndarray | None) -> None:
    """Each feature's worst verdict; the rows behind the power verdicts are counted
    on every audit and reference row, in one pass for all of them."""
    missing = measure.missing_counts(ctx, counted)
    gaps = sum(1 for f in features.values() if f.missing.ok) or 1
    verdicts = {name: judge.feature(feat, pool, missing, gaps) for name, feat in features.items()}
    specs = [v.spec for v in verdicts.values() if isinstance(v, PowerVerdict)]
    counts = measure.group_counts(ctx, specs, counted) if specs else None
    for name, v in verdicts.items():
        if isinstance(v, PowerVerdict):
            assert counts is not None
            per_feature[name].append(judge.power_finding(features[name], v, counts))
        elif v is not None:
            per_feature[name].append(v)


def _contamination(ctx: AuditContext, probe: TargetLeakage, counted: np.ndarray | None) -> tuple[dict[str, Any], list[Finding]]:
    data = ctx.data
    features = list(data.features)
    if not features:
        return {}, []
    ref = data.reference
    keys = ReferenceKeys.of(ref[features]) if ref is not None else None
    result = ctx.measure(lambda: Contamination(features, data.target, counted, keys), predictions=False)
    overlaps: list[EntityOverlap] = []
    absent: list[str] = []
    for column in data.ids if ref is not None else ():
        if column not in ref.columns:
            absent.append(column)
            continue
        seen = pd.Index(pd.unique(ref[column].dropna()))
        overlaps.append(ctx.measure(lambda c=column, s=seen: EntityIds(c, s), predictions=False))
    return contamination(result, overlaps, absent, data.target, probe)


def _time(ctx: AuditContext, probe: TargetLeakage) -> tuple[dict[str, Any], list[Finding]]:
    data = ctx.data
    if data.time is None:
        return {}, []
    dated = data.columns_of_kind("datetime")
    dtypes = data.frame.dtypes  # the columns' types only: whether times are numbers or dates
    result = ctx.measure(lambda: TimeCounts(dtypes, dated, data.time), predictions=False)
    ref = data.reference
    later = reference_after_audit(result, ref[data.time]) if ref is not None and data.time in ref.columns else None
    return time_checks(data, result, later, probe)


def _samples(ctx: AuditContext, probe: TargetLeakage, model_rows: np.ndarray, pool: measure.Pool,
             dominance_rows: int | None) -> dict[str, Any]:
    """Which rows each model-based or fitted measurement rests on: the audit's one
    seeded sample (the same rows for every probe and any partitioning)."""
    strata = None if ctx.model.task == "regression" else ctx.data.target
    out: dict[str, Any] = {
        "model_score": {"rows": len(model_rows), "of": ctx.data.n_rows, "size": probe.max_rows, "stratified_by": strata},
        "single_features": {"audit_rows": int(pool.audit.sum()), "reference_rows": int((~pool.audit).sum()),
                            "of": pool.rows, "size": probe.max_rows, "stratified_by": strata},
    }
    if dominance_rows is not None:
        out["dominance"] = {"rows": dominance_rows, "of": ctx.data.n_rows, "size": probe.dominance_rows,
                            "stratified_by": strata}
    return out
