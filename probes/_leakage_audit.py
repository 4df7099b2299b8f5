"""One run of target_leakage: measure every column, judge, rank.

The probe class (settings, documentation) lives in ``probes.target_leakage``;
this is the work it delegates to, one method per question the issue asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from auditkit import AuditContext, AuditData, Condition, Evidence, Finding, Severity
from probes._leakage_evidence import Purity, describe_feature, missingness_purity, outcome_phrase
from probes._leakage_messages import (
    DOMINANT_FEATURE,
    GOLDEN_PAIR,
    IDENTIFIER_LEAK,
    MISSINGNESS_LEAK,
    NEAR_LEAK,
    NOT_SCORED,
    RARE_CLASS,
    ROWS_SORTED_BY_TARGET,
    SINGLE_FEATURE_LEAK,
    TOO_FEW_ROWS,
    TOO_GOOD_TO_BE_TRUE,
)
from probes._leakage_model import dominance, model_power
from probes._leakage_power import (
    NO_POWER,
    Encoded,
    Power,
    Target,
    as_numbers,
    coarsen,
    encode,
    encode_missing,
    encode_ordered,
    encode_pair,
    parse_dates,
    power,
)
from probes._leakage_split import contamination, time_checks

if TYPE_CHECKING:
    from probes.target_leakage import TargetLeakage

__all__ = ["run"]

_MIN_ROWS = 30  # below this, five folds of six rows measure nothing
_PURITY_LIFT = 0.25  # a pure group must have at most this fraction of the exceptions found elsewhere
_PAIR_BINS = 16  # bins per column of a pair: 16 x 16 cells, each with rows enough to learn from
_ID_UNIQUE = 0.95  # share of distinct values that makes a column look like an identifier
_ID_MONOTONIC = 0.95  # |Spearman correlation| with row order that makes it look like one
_DOMINANCE_FEATURES = 60  # features permuted at most (the top of the ranking)
_SUSPECTS = 3


def run(probe: TargetLeakage, ctx: AuditContext) -> Evidence:
    return _Audit(probe, ctx).run()


@dataclass
class _Feature:
    """What was measured about one feature."""

    name: str
    kind: str
    power: Power = NO_POWER
    missing: Power = NO_POWER
    order: Power = NO_POWER  # for identifier-like columns: power of the column's order
    identifier: str | None = None  # why it looks like an identifier
    note: str | None = None  # why it was not scored
    findings: list[Finding] = field(default_factory=list)

    @property
    def best(self) -> Power:
        scored = [p for p in (self.power, self.order) if p.ok]
        return max(scored, key=lambda p: p.score) if scored else NO_POWER

    @property
    def worst(self) -> int:
        return max((f.severity.rank for f in self.findings), default=-1)


class _Audit:
    """One run of the probe: measures, judges, and collects findings and metrics."""

    def __init__(self, probe: TargetLeakage, ctx: AuditContext) -> None:
        self.p = probe
        self.ctx = ctx
        self.data: AuditData = ctx.data
        self.task: str = ctx.model.task
        self.classification = self.task != "regression"
        self.classes = np.asarray(self.data.classes) if self.classification else np.empty(0)
        self.metric = "ROC AUC" if self.classification else "R²"
        self.chance = 0.5 if self.classification else 0.0
        self.near, self.leak, self.critical = probe.auc_thresholds if self.classification else probe.r2_thresholds
        self.id_threshold = probe.identifier_thresholds[0 if self.classification else 1]
        self.target = self.data.target
        self.findings: list[Finding] = []
        self.metrics: dict[str, Any] = {"task": self.task, "metric": "roc_auc" if self.classification else "r2"}
        self.features = {f: _Feature(f, self.data.kinds[f]) for f in self.data.features}
        self.model_score: Power = NO_POWER
        self.row_order: Power = NO_POWER
        # Bonferroni over every single-column score tried; set once they are counted.
        self.z = norm.ppf(1 - probe.alpha)
        # The rows single-column scores are measured on: the audit rows, then the
        # reference rows (a leak is in the data whichever side of the split it fell).
        self.pool = _pool(self.data)
        self.pooled = self.data.reference is not None
        self.where = " of the audit and reference data" if self.pooled else ""
        self.rows = np.arange(len(self.pool))  # positions in the pool, sampled above max_rows
        self.encoded: dict[str, Encoded] = {}
        self.scored_target: Target | None = None

    # -- orchestration ------------------------------------------------------

    def run(self) -> Evidence:
        self._model_score()
        self._single_features()
        self._pairs()
        self._split_checks()
        self._dominance()
        self._too_good()
        self.metrics["ranking"] = self._ranking()
        findings = [f for feat in self.features.values() for f in feat.findings] + self.findings
        findings.sort(key=lambda f: -f.severity.rank)
        return Evidence(metrics=self.metrics, findings=findings)

    # -- the model's own score ----------------------------------------------

    def _model_score(self) -> None:
        try:
            predictions = self.ctx.predictions
        except RuntimeError as exc:  # the model failed: the data can still be audited
            self.metrics["model_score"] = None
            self.metrics["model_error"] = str(exc)
            return
        self.model_score = model_power(predictions, self.data.y, self.task, self.classes)
        self.metrics["model_score"] = _power_metrics(self.model_score, self.z)

    def _share(self, p: Power) -> float | None:
        if not (p.ok and self.model_score.ok) or self.model_score.score <= self.chance:
            return None
        return (p.score - self.chance) / (self.model_score.score - self.chance)

    # -- single features ----------------------------------------------------

    def _single_features(self) -> None:
        p = self.p
        n = len(self.pool)
        if n > p.max_rows:
            self.rows = np.sort(self.ctx.rng.choice(n, p.max_rows, replace=False))
        self.metrics.update(rows=n, rows_scored=len(self.rows), sampled=bool(len(self.rows) < n),
                            scored_on="audit and reference rows" if self.pooled else "audit rows")
        frame = self.pool.iloc[self.rows]
        y = frame[self.target]
        reason = self._unmeasurable(y)
        if reason is not None:
            self.findings.append(Finding(code="too_few_rows", severity=Severity.INFO,
                                         message=TOO_FEW_ROWS.format(reason=reason), metrics={"rows": len(self.rows)}))
            self.metrics["not_measured"] = reason
            return
        self.scored_target = Target.build(y, self.task, self.classes, p.folds, self.ctx.rng, min_class_rows=2 * p.folds)
        tests = self._measure(frame, self.scored_target)
        self.z = norm.ppf(1 - p.alpha / tests)
        self.metrics.update(tests=tests, confidence=1 - p.alpha, row_order_score=_power_metrics(self.row_order, self.z))
        for feat in self.features.values():
            self._judge_feature(feat)
        self._judge_row_order()
        self._not_scored()

    def _unmeasurable(self, y: pd.Series) -> str | None:
        """Why cross-validated scores cannot be measured at all, or None; notes rare classes."""
        folds = self.p.folds
        if len(y) < _MIN_ROWS:
            what = "the audit and reference data have" if self.pooled else "the audit data has"
            return f"{what} {len(y)} rows, fewer than the {_MIN_ROWS} that {folds}-fold cross-validation needs"
        if not self.classification:
            return None
        needed = 2 * folds
        counts = y.value_counts()
        rare = [c for c in self.classes.tolist() if counts.get(c, 0) < needed]
        shown = ", ".join(f"{c!r} ({counts.get(c, 0)} rows)" for c in rare)
        if len(self.classes) - len(rare) < 2:
            return f"class {shown} of {self.target!r} has fewer than the {needed} rows {folds}-fold cross-validation needs"
        if rare:
            self.metrics["classes_not_scored"] = [str(c) for c in rare]
            self.findings.append(Finding(
                code="rare_class", severity=Severity.INFO,
                message=RARE_CLASS.format(classes=shown, target=self.target, needed=needed),
                metrics={"classes": [str(c) for c in rare]},
            ))
        return None

    def _measure(self, frame: pd.DataFrame, target: Target) -> int:
        """Every single-column score: each feature, its missingness, an identifier's
        order, and row order itself. Returns how many scores were tried."""
        tests = 0
        audit = self.rows < self.data.n_rows  # row order means something within the audit rows only
        for name, feat in self.features.items():
            self.ctx.check()  # one column's cross-validated scores are seconds on wide data
            series = frame[name]
            feat.note = _unscorable(series, feat.kind)
            if feat.note:
                continue
            self.encoded[name] = enc = encode(series, feat.kind, self.p.max_bins)
            feat.power = power(enc, target)
            tests += 1
            if 0 < series.isna().sum() < len(series):
                feat.missing = power(encode_missing(series), target)
                tests += 1
            feat.identifier = _identifier_like(series[audit], feat.kind)
            if feat.identifier:
                feat.order = power(encode_ordered(series, self.p.max_bins), target)
                tests += 1
        audit_target = target.subset(audit)
        if audit_target is not None:
            positions = pd.Series(self.rows[audit].astype(float))
            self.row_order = power(encode_ordered(positions, self.p.max_bins), audit_target)
        return tests + 1

    def _judge_feature(self, feat: _Feature) -> None:
        candidates = [f for f in (self._identifier_finding(feat), self._power_finding(feat), self._purity_finding(feat)) if f]
        if candidates:
            feat.findings.append(max(candidates, key=lambda f: f.severity.rank))

    def _power_finding(self, feat: _Feature) -> Finding | None:
        p = feat.power
        if not p.ok or feat.identifier:
            return None
        low = p.low(self.z)
        if low < self.near:
            return None
        share = self._share(p)
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
        group = describe_feature(feat.name, self.pool[feat.name], feat.kind, self.pool[self.target], self.task,
                                 self.classes, self.target, by_missingness, self.where)
        message = template.format(
            feature=feat.name, target=self.target, metric=self.metric, score=p.score, margin=self.z * p.se,
            threshold=threshold, model_part=model_part, evidence=group.text,
        )
        return Finding(
            code=code, severity=severity, message=message, features=(feat.name,), slice=group.slice,
            metrics={"score": p.score, "ci_low": low, "ci_high": p.high(self.z), "threshold": threshold,
                     "model_score": self.model_score.score if self.model_score.ok else None,
                     "share_of_model": share, "missing_score": feat.missing.score if feat.missing.ok else None,
                     "evidence_rows": group.rows},
            examples=group.examples,
        )

    def _purity_finding(self, feat: _Feature) -> Finding | None:
        if feat.note:
            return None
        series = self.pool[feat.name]
        if not (0 < series.isna().sum() < len(series)):
            return None
        # Two groups (present, absent) per feature with gaps: corrected for all of them.
        gaps = sum(1 for f in self.features.values() if f.missing.ok) or 1
        groups = missingness_purity(feat.name, series, self.pool[self.target], self.p.alpha / (2 * gaps),
                                    self.p.min_support)
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

    def _identifier_finding(self, feat: _Feature) -> Finding | None:
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
        return Finding(
            code="identifier_leak", severity=severity,
            message=IDENTIFIER_LEAK.format(feature=feat.name, why=feat.identifier, target=self.target, metric=self.metric,
                                           score=p.score, margin=self.z * p.se, threshold=threshold,
                                           row_order=self.row_order.score if self.row_order.ok else float("nan")),
            features=(feat.name,),
            metrics={"score": p.score, "ci_low": low, "ci_high": p.high(self.z), "threshold": threshold,
                     "value_score": feat.power.score if feat.power.ok else None,
                     "order_score": feat.order.score if feat.order.ok else None,
                     "row_order_score": self.row_order.score if self.row_order.ok else None},
        )

    def _judge_row_order(self) -> None:
        p = self.row_order
        if not p.ok or p.low(self.z) < self.near:
            return
        if any(f.code == "identifier_leak" for feat in self.features.values() for f in feat.findings):
            return  # the identifier finding already tells the story
        self.findings.append(Finding(
            code="rows_sorted_by_target", severity=Severity.LOW,
            message=ROWS_SORTED_BY_TARGET.format(target=self.target, metric=self.metric, score=p.score,
                                                 margin=self.z * p.se, threshold=self.near),
            metrics=_power_metrics(p, self.z),
        ))

    def _not_scored(self) -> None:
        skipped = {f.name: f.note for f in self.features.values() if f.note}
        self.metrics["not_scored"] = skipped
        if skipped:
            reasons = "; ".join(f"{name!r} {note}" for name, note in list(skipped.items())[:10])
            if len(skipped) > 10:
                reasons += f"; and {len(skipped) - 10} more"
            self.findings.append(Finding(
                code="features_not_scored", severity=Severity.INFO,
                message=NOT_SCORED.format(count=len(skipped), total=len(self.features), reasons=reasons),
                features=tuple(skipped), metrics={"reasons": skipped},
            ))

    # -- golden pairs -------------------------------------------------------

    def _pairs(self) -> None:
        target = self.scored_target
        if target is None or self.p.pair_candidates < 2:
            return
        flagged = {f.name for f in self.features.values() if f.worst >= Severity.HIGH.rank}
        pool = [f for f in self.features.values()
                if f.name in self.encoded and f.name not in flagged and not f.identifier
                and f.kind in ("numeric", "boolean", "datetime", "categorical") and f.power.ok]
        pool.sort(key=lambda f: -f.power.score)
        pool = pool[: self.p.pair_candidates]
        frame = self.pool.iloc[self.rows]
        numbers = {f.name: _numbers(frame[f.name], f.kind) for f in pool}
        results = []
        for i, a in enumerate(pool):
            self.ctx.check()
            for b in pool[i + 1:]:
                ways = {"their joint values": encode_pair(coarsen(self.encoded[a.name], _PAIR_BINS),
                                                          coarsen(self.encoded[b.name], _PAIR_BINS))}
                xa, xb = numbers[a.name], numbers[b.name]
                if xa is not None and xb is not None:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        ways["their difference"] = _encode_numbers(xa - xb, self.p.max_bins)
                        ways["their ratio"] = _encode_numbers(xa / np.where(xb == 0, np.nan, xb), self.p.max_bins)
                for via, enc in ways.items():
                    results.append((a, b, via, power(enc, target)))
        if not results:
            return
        z = norm.ppf(1 - self.p.alpha / len(results))
        best: dict[tuple[str, str], tuple[str, Power]] = {}
        for a, b, via, pw in results:
            if pw.ok and ((a.name, b.name) not in best or pw.score > best[(a.name, b.name)][1].score):
                best[(a.name, b.name)] = (via, pw)
        summary = []
        position = {name: i for i, name in enumerate(self.features)}
        for (na, nb), (via, pw) in sorted(best.items(), key=lambda kv: -kv[1][1].score):
            na, nb = sorted((na, nb), key=position.__getitem__)
            a, b = self.features[na], self.features[nb]
            alone = max(a.power.score, b.power.score)
            low = pw.low(z)
            summary.append({"features": [na, nb], "score": pw.score, "ci_low": low, "via": via, "best_single": alone})
            if low < self.leak or low - alone < self.p.pair_gain:
                continue
            severity = Severity.CRITICAL if low >= self.critical else Severity.HIGH
            threshold = self.critical if low >= self.critical else self.leak
            self.findings.append(Finding(
                code="golden_pair", severity=severity,
                message=GOLDEN_PAIR.format(a=na, b=nb, target=self.target, metric=self.metric, score=pw.score,
                                           margin=z * pw.se, via=via, threshold=threshold,
                                           score_a=a.power.score, score_b=b.power.score),
                features=(na, nb),
                metrics={"score": pw.score, "ci_low": low, "ci_high": pw.high(z), "threshold": threshold, "via": via,
                         "score_a": a.power.score, "score_b": b.power.score, "gain": pw.score - alone},
            ))
        self.metrics["pairs"] = summary[:10]

    # -- what crosses the split ----------------------------------------------

    def _split_checks(self) -> None:
        self.metrics["contamination"], found = contamination(self.data, self.p, self.classification)
        self.findings += found
        self.metrics["time"], found = time_checks(self.data, self.p)
        self.findings += found

    # -- the model ----------------------------------------------------------

    def _dominance(self) -> None:
        caps = self.ctx.model.capabilities
        if not caps.queryable or not self.model_score.ok or not self.features:
            self.metrics["dominance"] = None
            return
        data = self.data
        n = data.n_rows
        rows = np.sort(self.ctx.rng.choice(n, self.p.dominance_rows, replace=False)) if n > self.p.dominance_rows else np.arange(n)
        order = sorted(self.features.values(), key=lambda f: -(f.best.score if f.best.ok else -np.inf))
        names = [f.name for f in order][:_DOMINANCE_FEATURES]
        try:
            results = dominance(self.ctx.model, data.X.iloc[rows], self.ctx.predictions.take(rows), data.y.iloc[rows],
                                self.task, self.classes, names, self.ctx.rng)
        except Exception as exc:  # the model rejecting shuffled rows is not the data's leak
            self.metrics["dominance"] = {"error": f"{type(exc).__name__}: {exc}"}
            return
        z = norm.ppf(1 - self.p.alpha / max(len(results), 1))
        self.metrics["dominance"] = [{"feature": d.feature, "drop": d.drop, "share": d.share} for d in
                                     sorted(results, key=lambda d: -d.drop)][:20]
        for d in results:
            if not np.isfinite(d.share) or d.share < self.p.dominance_share or d.drop - z * d.se <= 0:
                continue
            # Honest data often has one feature the model leans on most (Titanic's sex),
            # so leaning alone is only noted; with the feature nearly predicting the
            # target on its own as well, two independent signals point at it.
            feat = self.features[d.feature]
            alone = feat.best.ok and feat.best.low(self.z) >= self.near
            feat.findings.append(Finding(
                code="dominant_feature", severity=Severity.MEDIUM if alone else Severity.INFO,
                message=DOMINANT_FEATURE.format(feature=d.feature, metric=self.metric, base=d.base, permuted=d.permuted,
                                                share=min(d.share, 1.0), threshold=self.p.dominance_share),
                features=(d.feature,),
                metrics={"base": d.base, "permuted": d.permuted, "drop": d.drop, "share": d.share, "rows": len(rows),
                         "alone_score": feat.best.score if feat.best.ok else None},
            ))

    def _too_good(self) -> None:
        m = self.model_score
        if not m.ok:
            return
        threshold = self.p.too_good[0 if self.classification else 1]
        z = norm.ppf(1 - self.p.alpha)
        if m.low(z) < threshold:
            return
        ranking = self._ranking()
        flagged = [r for r in ranking if r["severity"] in ("medium", "high", "critical")]
        ranked = (flagged or [r for r in ranking if r["score"] is not None])[:_SUSPECTS]
        suspects = ", ".join(f"{r['feature']!r} ({r['score']:.2f})" for r in ranked) or "none found"
        self.findings.append(Finding(
            code="too_good_to_be_true", severity=Severity.HIGH,
            message=TOO_GOOD_TO_BE_TRUE.format(metric=self.metric, score=m.score, margin=z * m.se, threshold=threshold,
                                               suspects=suspects),
            features=tuple(r["feature"] for r in ranked),
            metrics={"score": m.score, "ci_low": m.low(z), "threshold": threshold},
        ))

    # -- the ranking --------------------------------------------------------

    def _ranking(self) -> list[dict[str, Any]]:
        """Every feature, most suspect first: by its worst finding, then by its power alone."""
        worst: dict[str, int] = {name: feat.worst for name, feat in self.features.items()}
        for f in self.findings:
            for name in f.features:
                if name in worst and f.code != "too_good_to_be_true":
                    worst[name] = max(worst[name], f.severity.rank)
        rows = []
        for name, feat in self.features.items():
            best = feat.best
            rows.append({
                "feature": name,
                "kind": feat.kind,
                "score": best.score if best.ok else None,
                "ci_low": best.low(self.z) if best.ok else None,
                "ci_high": best.high(self.z) if best.ok else None,
                "missing_score": feat.missing.score if feat.missing.ok else None,
                "order_score": feat.order.score if feat.order.ok else None,
                "share_of_model": self._share(best),
                "severity": None if worst[name] < 0 else _SEVERITIES[worst[name]],
                "note": feat.note,
            })
        rows.sort(key=lambda r: (-worst[r["feature"]], -(r["score"] if r["score"] is not None else -np.inf)))
        for i, r in enumerate(rows, 1):
            r["rank"] = i
        return rows


_SEVERITIES = [s.value for s in Severity]


def _power_metrics(p: Power, z: float) -> dict[str, Any] | None:
    if not p.ok:
        return None
    return {"value": p.score, "ci_low": p.low(z), "ci_high": p.high(z), "se": p.se, "rows": p.rows}


def _pool(data: AuditData) -> pd.DataFrame:
    """The features and target of the audit rows, then of the reference rows (whose
    index labels are marked, so examples can be told apart)."""
    columns = [*data.features, data.target]
    if data.reference is None:
        return data.frame[columns]
    ref = data.reference[columns]
    ref = ref.set_axis(pd.Index([f"reference row {label}" for label in ref.index], dtype=object))
    return pd.concat([data.frame[columns], ref])


def _unscorable(series: pd.Series, kind: str) -> str | None:
    present = series.dropna()
    if len(present) == 0:
        return "is missing in every row"
    if kind == "datetime" and parse_dates(present).notna().sum() == 0:
        return "holds no parseable dates"
    if len(present) == len(series) and bool((present == present.iloc[0]).all()):
        return "is constant"
    return None


def _identifier_like(series: pd.Series, kind: str) -> str | None:
    """Why the column looks like an identifier, or None."""
    present = series.dropna()
    if kind == "identifier":
        return "identifier kind"
    # Dates and measurements are unique per row too; identifiers are whole numbers or text.
    if len(present) < _MIN_ROWS or kind not in ("numeric", "text", "categorical"):
        return None
    head = present.iloc[:1000]
    if head.nunique() < _ID_UNIQUE * len(head) or present.nunique() < _ID_UNIQUE * len(series):
        return None
    numbers = as_numbers(present)
    if numbers is not None and not np.all(np.mod(numbers[np.isfinite(numbers)], 1) == 0):
        return None
    if numbers is None:
        numbers = pd.factorize(present, sort=True)[0].astype(float)
    position = np.flatnonzero(series.notna().to_numpy()).astype(float)
    rho = pd.Series(numbers).rank().corr(pd.Series(position).rank())
    if np.isfinite(rho) and abs(rho) >= _ID_MONOTONIC:
        direction = "increasing" if rho > 0 else "decreasing"
        return f"unique per row, {direction} with row order"
    return None


def _numbers(series: pd.Series, kind: str) -> np.ndarray | None:
    if kind == "categorical":
        return None
    return as_numbers(parse_dates(series) if kind == "datetime" else series)


def _encode_numbers(values: np.ndarray, max_bins: int) -> Encoded:
    return encode(pd.Series(values), "numeric", max_bins)
