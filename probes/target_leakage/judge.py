"""Thresholds to findings: what target_leakage's measurements mean.

Every score is judged by its lower confidence bound (Bonferroni over every
score tried); the thresholds and why they are what they are are in README.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import norm

from auditkit import AuditData, Condition, Finding, Severity
from probes.target_leakage.evidence import GroupCounts, GroupSpec, MissingCounts, Purity, choose_group, outcome_phrase
from probes.target_leakage.messages import (
    CONFLICTING_DUPLICATES,
    DUPLICATE_ROWS,
    ENTITY_OVERLAP,
    FUTURE_VALUES,
    REFERENCE_AFTER_AUDIT,
    DOMINANCE_NOT_MEASURED,
    DOMINANT_FEATURE,
    GOLDEN_PAIR,
    IDENTIFIER_LEAK,
    MISSINGNESS_LEAK,
    MODEL_NOT_SCORED,
    NEAR_LEAK,
    NOT_SCORED,
    RARE_CLASS,
    ROWS_SORTED_BY_TARGET,
    SINGLE_FEATURE_LEAK,
    TOO_FEW_ROWS,
    TOO_GOOD_TO_BE_TRUE,
)
from probes.target_leakage.power import NO_POWER, Power
from probes.target_leakage.split import (
    ContaminationResult,
    Duplicates,
    EntityOverlap,
    ReferenceAfterAudit,
    TimeResult,
)

if TYPE_CHECKING:
    from probes.target_leakage.measure import DominanceResult, Feature, PairScore, Pool, Scores
    from probes.target_leakage.probe import TargetLeakage

__all__ = ["Judge", "PowerVerdict", "contamination", "power_metrics", "show_list", "time_checks"]

_PURITY_LIFT = 0.25  # a pure group must have at most this fraction of the exceptions found elsewhere
_SUSPECTS = 3
# Below this share of rows with an identical twin, the rows are mostly unique
# and twins with contradicting labels stand out.
_MOSTLY_UNIQUE = 0.5
# Rows a duplicate or time finding needs before it is more than a note.
MIN_COUNT = 5


def power_metrics(p: Power, z: float) -> dict[str, Any] | None:
    if not p.ok:
        return None
    return {"value": p.score, "ci_low": p.low(z), "ci_high": p.high(z), "se": p.se, "rows": p.rows}


@dataclass(frozen=True)
class PowerVerdict:
    """A single feature judged a (near-)leak by its power; its message waits for
    the rows of ``spec`` to be counted on every row."""

    feature: str
    severity: Severity
    code: str
    template: str
    threshold: float
    model_part: str
    share: float | None
    spec: GroupSpec


class Judge:
    """The judging of one run: the task's metric and thresholds, the z of its confidence bounds."""

    def __init__(self, probe: TargetLeakage, target: str, task: str, classes: np.ndarray, model_score: Power,
                 pooled: bool) -> None:
        self.p, self.target, self.task, self.classes = probe, target, task, classes
        self.classification = task != "regression"
        self.metric = "ROC AUC" if self.classification else "R²"
        self.chance = 0.5 if self.classification else 0.0
        self.near, self.leak, self.critical = probe.auc_thresholds if self.classification else probe.r2_thresholds
        self.id_threshold = probe.identifier_thresholds[0 if self.classification else 1]
        self.model_score = model_score
        self.where = " of the audit and reference data" if pooled else ""
        self.z = norm.ppf(1 - probe.alpha)  # corrected once the scores tried are counted
        self.row_order: Power = NO_POWER

    def share(self, p: Power) -> float | None:
        """The share of the model's skill above chance that ``p`` reaches."""
        if not (p.ok and self.model_score.ok) or self.model_score.score <= self.chance:
            return None
        return (p.score - self.chance) / (self.model_score.score - self.chance)

    # -- the model, and what kept scores from being measured --------------------

    def model_not_scored(self, error: str) -> Finding:
        return Finding(code="model_not_scored", severity=Severity.HIGH, message=MODEL_NOT_SCORED.format(error=error),
                       metrics={"error": error})

    def unmeasured(self, scores: Scores, rows: int) -> list[Finding]:
        if scores.reason is not None:
            return [Finding(code="too_few_rows", severity=Severity.INFO, message=TOO_FEW_ROWS.format(reason=scores.reason),
                            metrics={"rows": rows})]
        if not scores.rare:
            return []
        shown = ", ".join(f"{c!r} ({n} rows)" for c, n in scores.rare)
        rare = [str(c) for c, _ in scores.rare]
        return [Finding(code="rare_class", severity=Severity.INFO,
                        message=RARE_CLASS.format(classes=shown, target=self.target, needed=2 * self.p.folds),
                        metrics={"classes": rare})]

    # -- single features ------------------------------------------------------------

    def feature(self, feat: Feature, pool: Pool, missing: MissingCounts, gaps: int) -> Finding | PowerVerdict | None:
        """The worst of a feature's identifier, power and missingness verdicts."""
        verdicts = [v for v in (self._identifier(feat, pool), self._power(feat, pool), self._purity(feat, missing, gaps)) if v]
        return max(verdicts, key=lambda v: v.severity.rank) if verdicts else None

    def _power(self, feat: Feature, pool: Pool) -> PowerVerdict | None:
        p = feat.power
        if not p.ok or feat.identifier:
            return None
        low = p.low(self.z)
        if low < self.near:
            return None
        share = self.share(p)
        if low >= self.leak:
            severity = Severity.CRITICAL if low >= self.critical else Severity.HIGH
            template, code, threshold = SINGLE_FEATURE_LEAK, "single_feature_leak", self.critical if low >= self.critical else self.leak
            model_part = "" if share is None else f"; the whole model reaches {self.model_score.score:.2f}"
        else:
            severity = Severity.MEDIUM if share is not None and share >= self.p.share_of_model else Severity.LOW
            template, code, threshold = NEAR_LEAK, "single_feature_near_leak", self.near
            model_part = "" if share is None else (
                f"; the whole model reaches {self.model_score.score:.2f}, {min(share, 1.0):.0%} of its skill "
                "from this feature alone")
        by_missingness = feat.missing.ok and feat.missing.score >= max(self.chance + 0.5 * (p.score - self.chance), self.chance + 0.1)
        spec = choose_group(feat.name, pool.frame[feat.name], feat.kind, pool.frame[self.target], self.task,
                            self.classes, self.target, by_missingness)
        return PowerVerdict(feat.name, severity, code, template, threshold, model_part, share, spec)

    def power_finding(self, feat: Feature, v: PowerVerdict, counts: GroupCounts) -> Finding:
        p = feat.power
        group = counts.group(v.spec, self.task, self.classes, self.where)
        message = v.template.format(
            feature=feat.name, target=self.target, metric=self.metric, score=p.score, margin=self.z * p.se,
            threshold=v.threshold, model_part=v.model_part, evidence=group.text,
        )
        return Finding(
            code=v.code, severity=v.severity, message=message, features=(feat.name,), slice=group.slice,
            metrics={"score": p.score, "ci_low": p.low(self.z), "ci_high": p.high(self.z), "threshold": v.threshold,
                     "model_score": self.model_score.score if self.model_score.ok else None,
                     "share_of_model": v.share, "missing_score": feat.missing.score if feat.missing.ok else None,
                     "evidence_rows": group.rows},
            examples=group.examples,
        )

    def _purity(self, feat: Feature, missing: MissingCounts, gaps: int) -> Finding | None:
        if feat.note or not missing.has_gaps(feat.name):
            return None
        # Two groups (present, absent) per feature with gaps: corrected for all of them.
        groups = missing.purity(feat.name, self.p.alpha / (2 * gaps), self.p.min_support)
        pure = [g for g in groups if g.exceptions_high <= self.p.max_impurity and g.exceptions_high <= _PURITY_LIFT * g.elsewhere]
        if not pure:
            return None
        g = min(pure, key=lambda g: g.exceptions_high)
        return Finding(
            code="missingness_leak", severity=Severity.HIGH,
            message=MISSINGNESS_LEAK.format(feature=feat.name, target=self.target, state=g.state,
                                            evidence=self._purity_evidence(g), exceptions=g.exceptions_high,
                                            threshold=self.p.max_impurity, elsewhere=g.elsewhere),
            features=(feat.name,),
            slice=None if g.state == "non-null" else (Condition(feat.name, "is_null"),),
            metrics={"state": g.state, "rows": g.rows, "outcome": g.value, "agreeing_rows": g.agree,
                     "exceptions": g.exceptions, "exceptions_ci_high": g.exceptions_high,
                     "exceptions_elsewhere": g.elsewhere, "missing_score": feat.missing.score if feat.missing.ok else None},
            examples=g.examples,
        )

    def _purity_evidence(self, g: Purity) -> str:
        head = f"{g.state} for {g.rows} rows{self.where}, "
        if self.task == "binary":
            positive = self.classes[-1]
            k = g.agree if g.value == positive else g.rows - g.agree
            return head + outcome_phrase(k, self.target, positive, self.classes)
        return head + outcome_phrase(g.agree, self.target, g.value, self.classes)

    def _identifier(self, feat: Feature, pool: Pool) -> Finding | None:
        if not feat.identifier:
            return None
        p = feat.best
        if not p.ok:
            return None
        low = p.low(self.z)
        if low < self.id_threshold:
            return None
        if low >= self.critical:
            severity, threshold = Severity.CRITICAL, self.critical
        elif low >= self.leak:
            severity, threshold = Severity.HIGH, self.leak
        else:
            severity, threshold = Severity.MEDIUM, self.id_threshold
        order = self.row_order
        return Finding(
            code="identifier_leak", severity=severity,
            message=IDENTIFIER_LEAK.format(feature=feat.name, why=feat.identifier, target=self.target, metric=self.metric,
                                           score=p.score, margin=self.z * p.se, threshold=threshold,
                                           row_order=order.score if order.ok else float("nan")),
            features=(feat.name,),
            metrics={"score": p.score, "ci_low": low, "ci_high": p.high(self.z), "threshold": threshold,
                     "value_score": feat.power.score if feat.power.ok else None,
                     "order_score": feat.order.score if feat.order.ok else None,
                     "row_order_score": order.score if order.ok else None},
        )

    def rows_sorted(self, identifier_found: bool) -> Finding | None:
        p = self.row_order
        if not p.ok or p.low(self.z) < self.near or identifier_found:  # the identifier finding tells the story
            return None
        return Finding(
            code="rows_sorted_by_target", severity=Severity.LOW,
            message=ROWS_SORTED_BY_TARGET.format(target=self.target, metric=self.metric, score=p.score,
                                                 margin=self.z * p.se, threshold=self.near),
            metrics=power_metrics(p, self.z) or {},
        )

    def not_scored(self, features: dict[str, Feature]) -> tuple[dict[str, str], Finding | None]:
        skipped = {f.name: f.note for f in features.values() if f.note}
        if not skipped:
            return skipped, None
        reasons = "; ".join(f"{name!r} {note}" for name, note in list(skipped.items())[:10])
        if len(skipped) > 10:
            reasons += f"; and {len(skipped) - 10} more"
        return skipped, Finding(
            code="features_not_scored", severity=Severity.INFO,
            message=NOT_SCORED.format(count=len(skipped), total=len(features), reasons=reasons),
            features=tuple(skipped), metrics={"reasons": skipped},
        )

    # -- golden pairs ---------------------------------------------------------------

    def pairs(self, results: list[PairScore], order: list[str]) -> tuple[list[dict[str, Any]], list[Finding]]:
        if not results:
            return [], []
        z = norm.ppf(1 - self.p.alpha / len(results))
        best: dict[tuple[str, str], tuple[str, Power, Feature, Feature]] = {}
        for a, b, via, pw in results:
            if pw.ok and ((a.name, b.name) not in best or pw.score > best[(a.name, b.name)][1].score):
                best[(a.name, b.name)] = (via, pw, a, b)
        summary, findings = [], []
        position = {name: i for i, name in enumerate(order)}
        for (na, nb), (via, pw, fa, fb) in sorted(best.items(), key=lambda kv: -kv[1][1].score):
            (na, a), (nb, b) = sorted(((na, fa), (nb, fb)), key=lambda t: position[t[0]])
            alone = max(a.power.score, b.power.score)
            low = pw.low(z)
            summary.append({"features": [na, nb], "score": pw.score, "ci_low": low, "via": via, "best_single": alone})
            if low < self.leak or low - alone < self.p.pair_gain:
                continue
            severity = Severity.CRITICAL if low >= self.critical else Severity.HIGH
            threshold = self.critical if low >= self.critical else self.leak
            findings.append(Finding(
                code="golden_pair", severity=severity,
                message=GOLDEN_PAIR.format(a=na, b=nb, target=self.target, metric=self.metric, score=pw.score,
                                           margin=z * pw.se, via=via, threshold=threshold,
                                           score_a=a.power.score, score_b=b.power.score),
                features=(na, nb),
                metrics={"score": pw.score, "ci_low": low, "ci_high": pw.high(z), "threshold": threshold, "via": via,
                         "score_a": a.power.score, "score_b": b.power.score, "gain": pw.score - alone},
            ))
        return summary[:10], findings

    # -- the model ---------------------------------------------------------------------

    def dominance(self, d: DominanceResult, features: dict[str, Feature]) -> tuple[Any, dict[str, Finding], list[Finding]]:
        """The metrics, the findings per feature, and a note when the model could not be re-queried."""
        if d.error is not None:
            note = Finding(code="dominance_not_measured", severity=Severity.INFO,
                           message=DOMINANCE_NOT_MEASURED.format(error=d.error), metrics={"error": d.error})
            return {"error": d.error}, {}, [note]
        z = norm.ppf(1 - self.p.alpha / max(len(d.results), 1))
        metrics = [{"feature": r.feature, "drop": r.drop, "share": r.share} for r in
                   sorted(d.results, key=lambda r: -r.drop)][:20]
        found = {}
        for r in d.results:
            if not np.isfinite(r.share) or r.share < self.p.dominance_share or r.drop - z * r.se <= 0:
                continue
            # Honest data often has one feature the model leans on most (Titanic's sex),
            # so leaning alone is only noted; with the feature nearly predicting the
            # target on its own as well, two independent signals point at it.
            feat = features[r.feature]
            alone = feat.best.ok and feat.best.low(self.z) >= self.near
            found[r.feature] = Finding(
                code="dominant_feature", severity=Severity.MEDIUM if alone else Severity.INFO,
                message=DOMINANT_FEATURE.format(feature=r.feature, metric=self.metric, base=r.base, permuted=r.permuted,
                                                share=min(r.share, 1.0), threshold=self.p.dominance_share),
                features=(r.feature,),
                metrics={"base": r.base, "permuted": r.permuted, "drop": r.drop, "share": r.share, "rows": d.rows,
                         "alone_score": feat.best.score if feat.best.ok else None},
            )
        return metrics, found, []

    def too_good(self, ranking: list[dict[str, Any]]) -> Finding | None:
        m = self.model_score
        if not m.ok:
            return None
        threshold = self.p.too_good[0 if self.classification else 1]
        z = norm.ppf(1 - self.p.alpha)
        if m.low(z) < threshold:
            return None
        flagged = [r for r in ranking if r["severity"] in ("medium", "high", "critical")]
        ranked = (flagged or [r for r in ranking if r["score"] is not None])[:_SUSPECTS]
        suspects = ", ".join(f"{r['feature']!r} ({r['score']:.2f})" for r in ranked) or "none found"
        return Finding(
            code="too_good_to_be_true", severity=Severity.HIGH,
            message=TOO_GOOD_TO_BE_TRUE.format(metric=self.metric, score=m.score, margin=z * m.se, threshold=threshold,
                                               suspects=suspects),
            features=tuple(r["feature"] for r in ranked),
            metrics={"score": m.score, "ci_low": m.low(z), "threshold": threshold},
        )


# -- what crosses the split ---------------------------------------------------------


def contamination(c: ContaminationResult, overlaps: list[EntityOverlap], ids_missing: list[str], target: str,
                  settings: TargetLeakage) -> tuple[dict[str, Any], list[Finding]]:
    """Contradicting duplicates in the audit data; duplicate rows and shared
    entities between reference and audit data."""
    out: dict[str, Any] = {}
    findings: list[Finding] = []
    conflicts = c.conflicts
    if conflicts is not None:
        out["conflicting_rows"] = conflicts.count
        if conflicts.count:
            # Where most rows have identical twins (a few coarse features), contradicting
            # twins are what the features cannot tell apart, not a defect of the data.
            distinct_rows = conflicts.duplicated < _MOSTLY_UNIQUE * conflicts.rows
            findings.append(Finding(
                code="conflicting_duplicates",
                severity=Severity.LOW if conflicts.share >= settings.conflict_share and distinct_rows else Severity.INFO,
                message=CONFLICTING_DUPLICATES.format(count=conflicts.count, share=conflicts.share, groups=conflicts.groups,
                                                      target=target, threshold=settings.conflict_share,
                                                      examples=show_list(conflicts.examples)),
                metrics={"rows": conflicts.count, "share": conflicts.share, "groups": conflicts.groups,
                         "duplicated_rows": conflicts.duplicated},
                examples=conflicts.examples,
            ))
    exact, near = c.exact, c.near
    if exact is None or near is None:
        return out, findings
    out["duplicate_rows"] = {"count": exact.count, "share": exact.share, "baseline": exact.baseline}
    out["near_duplicate_rows"] = {"count": near.count, "share": near.share, "baseline": near.baseline}
    found = _duplicates_finding(exact, "appear exactly", "duplicate_rows", settings)
    if found is None and near.count > exact.count:
        found = _duplicates_finding(near, "appear up to rounding (numbers to 4 significant digits)",
                                    "near_duplicate_rows", settings)
    findings += [found] if found else []
    if ids_missing:
        out["ids_not_in_reference"] = ids_missing
    for o in overlaps:
        out.setdefault("entity_overlap", {})[o.column] = {"count": o.count, "total": o.total, "share": o.share}
        if o.count == 0:
            continue
        share = settings.entity_share
        findings.append(Finding(
            code="entity_overlap",
            severity=Severity.HIGH if o.share >= 5 * share else Severity.MEDIUM if o.share >= share else Severity.LOW,
            message=ENTITY_OVERLAP.format(count=o.count, total=o.total, column=o.column, share=o.share,
                                          threshold=share, examples=show_list(o.examples)),
            metrics={"count": o.count, "total": o.total, "share": o.share}, examples=o.examples,
        ))
    return out, findings


def _duplicates_finding(d: Duplicates, how: str, code: str, settings: TargetLeakage) -> Finding | None:
    # Judged by the excess over the coincidental rate, and only when the count
    # is significantly above that rate: low-cardinality data repeats honestly.
    threshold = settings.duplicate_share
    if d.count < MIN_COUNT or d.excess < threshold or d.p_value() >= settings.alpha:
        return None
    return Finding(
        code=code, severity=Severity.HIGH if d.excess >= 5 * threshold else Severity.MEDIUM,
        message=DUPLICATE_ROWS.format(count=d.count, rows=d.rows, share=d.share, how=how, baseline=d.baseline,
                                      threshold=threshold, examples=show_list(d.examples)),
        metrics={"count": d.count, "rows": d.rows, "share": d.share, "baseline": d.baseline, "p_value": d.p_value()},
        examples=d.examples,
    )


def time_checks(data: AuditData, t: TimeResult | None, ra: ReferenceAfterAudit | None,
                settings: TargetLeakage) -> tuple[dict[str, Any], list[Finding]]:
    """Date features later than the prediction time; reference rows later than audit rows."""
    out: dict[str, Any] = {}
    findings: list[Finding] = []
    if t is None:
        return out, findings
    time = data.time
    for name, fv in t.future.items():
        out.setdefault("future_values", {})[name] = {"count": fv.count, "rows": fv.rows, "share": fv.share}
        if fv.count == 0:
            continue
        serious = fv.share >= settings.future_share and fv.count >= MIN_COUNT
        findings.append(Finding(
            code="future_values", severity=Severity.HIGH if serious else Severity.LOW,
            message=FUTURE_VALUES.format(feature=name, time=time, count=fv.count, rows=fv.rows, share=fv.share,
                                         threshold=settings.future_share, examples=show_list(fv.examples)),
            features=(name,), metrics={"count": fv.count, "rows": fv.rows, "share": fv.share}, examples=fv.examples,
        ))
    if ra is not None:
        out["reference_after_audit"] = {"count": ra.count, "rows": ra.rows, "share": ra.share}
        if ra.count:
            findings.append(Finding(
                code="reference_after_audit",
                severity=Severity.MEDIUM if ra.share >= settings.future_share else Severity.LOW,
                message=REFERENCE_AFTER_AUDIT.format(count=ra.count, rows=ra.rows, share=ra.share, time=time,
                                                     start=ra.start, threshold=settings.future_share),
                metrics={"count": ra.count, "rows": ra.rows, "share": ra.share, "audit_start": ra.start},
            ))
    return out, findings


def show_list(items: tuple[Any, ...]) -> str:
    """Examples for a message: row labels as they are, text quoted."""
    return ", ".join(repr(i) if isinstance(i, str) else str(i) for i in items) or "none"
