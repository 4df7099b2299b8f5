"""The ``target_leakage`` probe: find the answer hiding in the inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.stats import norm

from auditkit import AuditContext, AuditData, Evidence, Finding, Needs, Probe, Severity, require
from probes._leakage_evidence import Purity, describe_feature, missingness_purity, outcome_phrase
from probes._leakage_model import Dominance, dominance, model_power
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
from probes._leakage_split import (
    conflicting_duplicates,
    cross_duplicates,
    entity_overlap,
    future_values,
    reference_after_audit,
    row_keys,
)

__all__ = [
    "CONFLICTING_DUPLICATES",
    "DOMINANT_FEATURE",
    "DUPLICATE_ROWS",
    "ENTITY_OVERLAP",
    "FUTURE_VALUES",
    "GOLDEN_PAIR",
    "IDENTIFIER_LEAK",
    "MISSINGNESS_LEAK",
    "NEAR_LEAK",
    "NOT_SCORED",
    "RARE_CLASS",
    "REFERENCE_AFTER_AUDIT",
    "ROWS_SORTED_BY_TARGET",
    "SINGLE_FEATURE_LEAK",
    "TOO_FEW_ROWS",
    "TOO_GOOD_TO_BE_TRUE",
    "TargetLeakage",
]

# -- message templates (tests format them with the measured values) ----------

SINGLE_FEATURE_LEAK = (
    "Feature {feature!r} alone predicts {target!r} with {metric} {score:.2f} ± {margin:.2f} "
    "(threshold {threshold:.2f}{model_part}); {evidence}. If {feature!r} is recorded after "
    "the outcome, drop it from the model's inputs."
)
NEAR_LEAK = (
    "Feature {feature!r} alone predicts {target!r} with {metric} {score:.2f} ± {margin:.2f} "
    "(near-leak threshold {threshold:.2f}{model_part}); {evidence}. Check that {feature!r} "
    "is known when the prediction is made."
)
MISSINGNESS_LEAK = (
    "Feature {feature!r} gives {target!r} away by being {state}: {evidence}; at most "
    "{exceptions:.1%} of those rows are exceptions (threshold {threshold:.0%}, against "
    "{elsewhere:.1%} elsewhere). A value that exists only once the outcome is known leaks "
    "through its mere presence: drop {feature!r} or its missingness."
)
IDENTIFIER_LEAK = (
    "Column {feature!r} looks like an identifier ({why}) yet predicts {target!r} with "
    "{metric} {score:.2f} ± {margin:.2f} (threshold {threshold:.2f}); row order alone reaches "
    "{row_order:.2f}. An identifier says nothing about the outcome unless rows were sorted or "
    "numbered by it: drop {feature!r} from the inputs."
)
ROWS_SORTED_BY_TARGET = (
    "Row order alone predicts {target!r} with {metric} {score:.2f} ± {margin:.2f} "
    "(threshold {threshold:.2f}): the rows are sorted or grouped by the outcome, so any "
    "split by position or by a row number is biased. Shuffle before splitting."
)
GOLDEN_PAIR = (
    "Features {a!r} and {b!r} together predict {target!r} with {metric} {score:.2f} ± "
    "{margin:.2f} through {via} (threshold {threshold:.2f}), while alone they reach "
    "{score_a:.2f} and {score_b:.2f}. A quantity derived from the two (a duration, a ratio) "
    "may be recorded after the outcome."
)
TOO_GOOD_TO_BE_TRUE = (
    "The model scores {metric} {score:.3f} ± {margin:.3f} on the audit data (threshold "
    "{threshold:.2f}): results this good usually mean the answer is in the inputs. Top "
    "suspects: {suspects}."
)
DOMINANT_FEATURE = (
    "Shuffling feature {feature!r} drops the model's {metric} from {base:.3f} to "
    "{permuted:.3f}: it carries {share:.0%} of the model's skill above chance (threshold "
    "{threshold:.0%}). A model leaning on one feature is only as sound as that feature: "
    "check that {feature!r} is known when the prediction is made."
)
DUPLICATE_ROWS = (
    "{count} of {rows} audit rows ({share:.1%}) {how} in the reference data, against "
    "{baseline:.1%} expected by coincidence (threshold {threshold:.1%} above that); e.g. audit "
    "rows {examples}. Scores on these rows measure memory, not skill: deduplicate across the split."
)
CONFLICTING_DUPLICATES = (
    "{count} audit rows ({share:.1%}, in {groups} groups) have identical features but "
    "different {target!r} (threshold {threshold:.1%}); e.g. rows {examples}. No model can get "
    "them all right: check those labels, or the feature that tells the rows apart."
)
ENTITY_OVERLAP = (
    "{count} of {total} distinct {column!r} values in the audit data ({share:.1%}) also "
    "occur in the reference data (threshold {threshold:.1%}); e.g. {examples}. The same "
    "entity on both sides of the split lets the model recognise it instead of predicting: "
    "split by {column!r}."
)
FUTURE_VALUES = (
    "Feature {feature!r} is later than the prediction time {time!r} in {count} of the {rows} "
    "rows where both are set ({share:.1%}; threshold {threshold:.1%}); e.g. rows {examples}. A value from after the "
    "prediction cannot be known when it is made: drop it or take it as of {time!r}."
)
REFERENCE_AFTER_AUDIT = (
    "{count} of {rows} reference rows ({share:.1%}) are later by {time!r} than the earliest "
    "audit row ({start}) (threshold {threshold:.1%}): the model learnt from the future of "
    "rows it is judged on. Split by time."
)
RARE_CLASS = (
    "Class {classes} of {target!r} has fewer than {needed} rows and is left out of the "
    "one-vs-rest scores: too few rows to cross-validate."
)
NOT_SCORED = "{count} of {total} features were not scored for single-feature power: {reasons}."
TOO_FEW_ROWS = (
    "Single-feature power was not measured: {reason}. Contamination and time checks still ran."
)

_MIN_ROWS = 30  # below this, five folds of six rows measure nothing
_MIN_EXAMPLE_COUNT = 5  # rows a time or duplicate finding needs before it is more than info
_PURITY_LIFT = 0.25  # a pure group must have at most this fraction of the exceptions found elsewhere
_PAIR_BINS = 16  # bins per column of a pair: 16 x 16 cells, each with rows enough to learn from
_ID_UNIQUE = 0.95  # share of distinct values that makes a column look like an identifier
_ID_MONOTONIC = 0.95  # |Spearman correlation| with row order that makes it look like one
_DOMINANCE_FEATURES = 60  # features permuted at most (the top of the ranking)
_SUSPECTS = 3


@dataclass(frozen=True, kw_only=True)
class TargetLeakage(Probe):
    """Find the answer hiding in the inputs.

    **Detects** features recorded after the outcome (alone, through their
    missingness, or as a pair such as two dates), identifiers sorted by the
    label, rows and entities shared by the reference and audit data, values
    from after the prediction time, and models too good to be true.

    **Measures**

    - *single-feature power*: for every feature, and for the missingness of
      every feature with gaps, the cross-validated ROC AUC (one-vs-rest macro
      for several classes) or R² of a histogram learner on that column alone
      (numbers and dates in quantile bins, one bin per category, one for
      missing values), compared with the model's own score on the same data;
      every feature is ranked in ``metrics["ranking"]``;
    - *purity of missingness*: how certain the outcome is where a feature is
      present (or absent), with a Clopper-Pearson bound;
    - *golden pairs*: the top ``pair_candidates`` features two at a time
      (their joint bins, difference and ratio);
    - *identifiers*: columns of identifier kind, or unique per row and
      monotonic with row order, scored by their order, and row order itself;
    - *contamination*: exact and near-exact (numbers to 4 significant digits)
      duplicate rows between reference and audit data, against
      the rate duplicates within the reference data predict; audit rows with
      identical features and different labels; ``ids`` on both sides;
    - *time*: date features later than the ``time`` column, reference rows
      later than the earliest audit row;
    - *too good to be true*: the model's own score;
    - *dominance*: the fall of the model's score when one feature is
      shuffled (queryable models only).

    **Uncertainty.** Every score carries a standard error (Hanley-McNeil for
    ROC AUC, the delta method for R²) and is judged by its lower confidence
    bound at family-wise level ``alpha`` (Bonferroni over every score tried),
    so noise is not flagged even when a hundred features are tried. Above
    ``max_rows`` rows, scores are measured on a random sample of that size; the
    bound then includes the sampling error, and counts (duplicates, evidence)
    still use every row.

    **Defaults.** ``auc_thresholds`` (near-leak 0.80, leak 0.90, critical
    0.97): honest features rarely reach 0.80 alone (the best single features
    of UCI Adult reach 0.78, Titanic's ``sex`` 0.76), while after-the-fact
    fields reach 0.95 and more (Titanic's ``boat``: 0.97).
    ``r2_thresholds`` (0.40, 0.90, 0.97): a previous grade explaining 40% of
    the final one (Student Performance's ``G1``: 0.62, ``G2``: 0.80) is a
    near-leak to check, not a proof. A near-leak is ``medium`` when the
    feature alone reaches ``share_of_model`` (80%) of the model's skill above
    chance, ``low`` otherwise. An identifier should carry no information, so
    ``identifier_thresholds`` (ROC AUC 0.65, R² 0.15) are lower. A model at
    ``too_good`` (ROC AUC or R² 0.99) is a finding by itself. Missingness
    leaks when the present (or absent) rows, ``min_support`` or more, have at
    most ``max_impurity`` (10%) exceptions and at most a quarter of the
    exceptions found elsewhere. One feature carrying ``dominance_share`` (60%)
    of the model's skill is a suspect: Titanic's ``sex`` carries about half
    in an honest model. Shares of duplicate rows, overlapping entities and
    future values are judged against 1%.
    """

    name: ClassVar[str] = "target_leakage"
    needs: ClassVar[Needs] = Needs(tasks=("binary", "multiclass", "regression"))

    auc_thresholds: tuple[float, float, float] = (0.80, 0.90, 0.97)
    r2_thresholds: tuple[float, float, float] = (0.40, 0.90, 0.97)
    share_of_model: float = 0.80
    identifier_thresholds: tuple[float, float] = (0.65, 0.15)
    too_good: tuple[float, float] = (0.99, 0.99)
    max_impurity: float = 0.10
    min_support: int = 30
    pair_candidates: int = 8
    pair_gain: float = 0.10
    dominance_share: float = 0.60
    dominance_rows: int = 5_000
    duplicate_share: float = 0.01
    conflict_share: float = 0.01
    entity_share: float = 0.01
    future_share: float = 0.01
    alpha: float = 0.05
    folds: int = 5
    max_rows: int = 200_000
    max_bins: int = 128

    def __post_init__(self) -> None:
        for name in ("auc_thresholds", "r2_thresholds", "identifier_thresholds", "too_good"):
            value = getattr(self, name)
            require(isinstance(value, (tuple, list)), f"{name} must be a tuple of numbers; got {value!r}")
            object.__setattr__(self, name, tuple(float(v) for v in value))
        require(len(self.auc_thresholds) == 3 and 0.5 < self.auc_thresholds[0] <= self.auc_thresholds[1]
                <= self.auc_thresholds[2] <= 1, "auc_thresholds must be (near-leak, leak, critical), increasing within (0.5, 1]")
        require(len(self.r2_thresholds) == 3 and 0 < self.r2_thresholds[0] <= self.r2_thresholds[1]
                <= self.r2_thresholds[2] <= 1, "r2_thresholds must be (near-leak, leak, critical), increasing within (0, 1]")
        require(len(self.identifier_thresholds) == 2 and 0.5 < self.identifier_thresholds[0] <= 1
                and 0 < self.identifier_thresholds[1] <= 1, "identifier_thresholds must be (ROC AUC in (0.5, 1], R² in (0, 1])")
        require(len(self.too_good) == 2 and 0.5 < self.too_good[0] <= 1 and 0 < self.too_good[1] <= 1,
                "too_good must be (ROC AUC in (0.5, 1], R² in (0, 1])")
        for name in ("share_of_model", "max_impurity", "dominance_share", "duplicate_share",
                     "conflict_share", "entity_share", "future_share"):
            value = getattr(self, name)
            require(isinstance(value, (int, float)) and 0 < value <= 1, f"{name} must be in (0, 1]; got {value!r}")
        require(0 < self.alpha < 0.5, f"alpha must be in (0, 0.5); got {self.alpha!r}")
        require(isinstance(self.folds, int) and 2 <= self.folds <= 20, f"folds must be an integer from 2 to 20; got {self.folds!r}")
        require(isinstance(self.min_support, int) and self.min_support >= 1, "min_support must be a positive integer")
        require(isinstance(self.pair_candidates, int) and self.pair_candidates >= 0, "pair_candidates must be a non-negative integer")
        require(0 < self.pair_gain < 1, f"pair_gain must be in (0, 1); got {self.pair_gain!r}")
        require(isinstance(self.dominance_rows, int) and self.dominance_rows >= 100, "dominance_rows must be an integer of at least 100")
        require(isinstance(self.max_rows, int) and self.max_rows >= 1_000, "max_rows must be an integer of at least 1000")
        require(isinstance(self.max_bins, int) and 4 <= self.max_bins <= 1024, "max_bins must be an integer from 4 to 1024")

    def run(self, ctx: AuditContext) -> Evidence:
        return _Audit(self, ctx).run()


# -- the audit itself ---------------------------------------------------------


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
        self._contamination()
        self._time()
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
            return f"the audit data has {len(y)} rows, fewer than the {_MIN_ROWS} that {folds}-fold cross-validation needs"
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
            slice=None if g.state == "non-null" else (_is_null(feat.name),),
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

    # -- contamination ------------------------------------------------------

    def _contamination(self) -> None:
        data, p = self.data, self.p
        out: dict[str, Any] = {}
        features = list(data.features)
        keys, near_keys = row_keys(data.frame[features]) if features else (None, None)
        if self.classification and keys is not None:
            c = conflicting_duplicates(keys, data.y)
            out["conflicting_rows"] = c.count
            if c.count:
                severity = Severity.LOW if c.share >= p.conflict_share else Severity.INFO
                self.findings.append(Finding(
                    code="conflicting_duplicates", severity=severity,
                    message=CONFLICTING_DUPLICATES.format(count=c.count, share=c.share, groups=c.groups, target=self.target,
                                                          threshold=p.conflict_share, examples=_list(c.examples)),
                    metrics={"rows": c.count, "share": c.share, "groups": c.groups}, examples=c.examples,
                ))
        ref = data.reference
        if ref is not None and keys is not None:
            index = data.frame.index
            ref_keys, ref_near_keys = row_keys(ref[features])
            exact = cross_duplicates(keys, ref_keys, index, near=False)
            near = cross_duplicates(near_keys, ref_near_keys, index, near=True)
            out["duplicate_rows"] = {"count": exact.count, "share": exact.share, "baseline": exact.baseline}
            out["near_duplicate_rows"] = {"count": near.count, "share": near.share, "baseline": near.baseline}
            flagged = self._judge_duplicates(exact, "appear exactly", "duplicate_rows")
            if not flagged and near.count > exact.count:
                self._judge_duplicates(near, "appear up to rounding (numbers to 4 significant digits)", "near_duplicate_rows")
            for column in data.ids:
                if column not in ref.columns:
                    out.setdefault("ids_not_in_reference", []).append(column)
                    continue
                o = entity_overlap(column, data.frame[column], ref[column])
                out.setdefault("entity_overlap", {})[column] = {"count": o.count, "total": o.total, "share": o.share}
                if o.count == 0:
                    continue
                severity = (Severity.HIGH if o.share >= 5 * p.entity_share else
                            Severity.MEDIUM if o.share >= p.entity_share else Severity.LOW)
                self.findings.append(Finding(
                    code="entity_overlap", severity=severity,
                    message=ENTITY_OVERLAP.format(count=o.count, total=o.total, column=column, share=o.share,
                                                  threshold=p.entity_share, examples=_list(o.examples)),
                    metrics={"count": o.count, "total": o.total, "share": o.share}, examples=o.examples,
                ))
        self.metrics["contamination"] = out

    def _judge_duplicates(self, d: Any, how: str, code: str) -> bool:
        threshold = self.p.duplicate_share
        if d.count < _MIN_EXAMPLE_COUNT or d.excess < threshold or d.p_value() >= self.p.alpha:
            return False
        severity = Severity.HIGH if d.excess >= 5 * threshold else Severity.MEDIUM
        self.findings.append(Finding(
            code=code, severity=severity,
            message=DUPLICATE_ROWS.format(count=d.count, rows=d.rows, share=d.share, how=how, baseline=d.baseline,
                                          threshold=threshold, examples=_list(d.examples)),
            metrics={"count": d.count, "rows": d.rows, "share": d.share, "baseline": d.baseline, "p_value": d.p_value()},
            examples=d.examples,
        ))
        return True

    # -- time ---------------------------------------------------------------

    def _time(self) -> None:
        data, p = self.data, self.p
        time = data.time
        if time is None:
            return
        out: dict[str, Any] = {}
        for name in data.columns_of_kind("datetime"):
            fv = future_values(name, data.frame[name], data.frame[time])
            if fv is None:
                continue
            out.setdefault("future_values", {})[name] = {"count": fv.count, "rows": fv.rows, "share": fv.share}
            if fv.count == 0:
                continue
            serious = fv.share >= p.future_share and fv.count >= _MIN_EXAMPLE_COUNT
            self.findings.append(Finding(
                code="future_values", severity=Severity.HIGH if serious else Severity.LOW,
                message=FUTURE_VALUES.format(feature=name, time=time, count=fv.count, rows=fv.rows, share=fv.share,
                                             threshold=p.future_share, examples=_list(fv.examples)),
                features=(name,), metrics={"count": fv.count, "rows": fv.rows, "share": fv.share}, examples=fv.examples,
            ))
        ref = data.reference
        if ref is not None and time in ref.columns:
            ra = reference_after_audit(data.frame[time], ref[time])
            if ra is not None:
                out["reference_after_audit"] = {"count": ra.count, "rows": ra.rows, "share": ra.share}
                if ra.count:
                    self.findings.append(Finding(
                        code="reference_after_audit",
                        severity=Severity.MEDIUM if ra.share >= p.future_share else Severity.LOW,
                        message=REFERENCE_AFTER_AUDIT.format(count=ra.count, rows=ra.rows, share=ra.share, time=time,
                                                             start=ra.start, threshold=p.future_share),
                        metrics={"count": ra.count, "rows": ra.rows, "share": ra.share, "audit_start": ra.start},
                    ))
        self.metrics["time"] = out

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


def _is_null(name: str) -> Any:
    from auditkit import Condition

    return Condition(name, "is_null")


def _list(items: tuple[Any, ...]) -> str:
    return ", ".join(repr(i) if isinstance(i, str) else str(i) for i in items) or "none"
