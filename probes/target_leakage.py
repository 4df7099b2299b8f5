"""The ``target_leakage`` probe: find the answer hiding in the inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from auditkit import AuditContext, Evidence, Needs, Probe, require
from probes import _leakage_audit
from probes._leakage_messages import (
    CONFLICTING_DUPLICATES,
    DOMINANT_FEATURE,
    DUPLICATE_ROWS,
    ENTITY_OVERLAP,
    FUTURE_VALUES,
    GOLDEN_PAIR,
    IDENTIFIER_LEAK,
    MISSINGNESS_LEAK,
    NEAR_LEAK,
    NOT_SCORED,
    RARE_CLASS,
    REFERENCE_AFTER_AUDIT,
    ROWS_SORTED_BY_TARGET,
    SINGLE_FEATURE_LEAK,
    TOO_FEW_ROWS,
    TOO_GOOD_TO_BE_TRUE,
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
      missing values), compared with the model's own score on the audit
      data; every feature is ranked in ``metrics["ranking"]``, most suspect
      first. With reference data, columns are scored on the audit and
      reference rows together: a leak is in the data whichever side of the
      split it fell on, and the model learnt it from the reference side;
    - *purity of missingness*: how certain the outcome is where a feature is
      present (or absent), with a Clopper-Pearson bound;
    - *golden pairs*: the top ``pair_candidates`` features two at a time
      (their joint bins, difference and ratio);
    - *identifiers*: columns of identifier kind, or whole numbers or text
      unique per row and monotonic with row order, scored by their order;
      and the order of the audit rows itself;
    - *contamination*: exact and near-exact (numbers to 4 significant digits)
      duplicate rows between reference and audit data, against the rate
      duplicates within the reference data predict; audit rows with
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
    fields reach 0.95 and more (Titanic's ``boat``: 0.97). Where honest
    measurements nearly decide the outcome, they are flagged too: in
    scikit-learn's breast cancer data several cell measurements reach 0.95 to
    0.98 alone. No single column can tell the two apart (a leak may come in
    copies, so the model's leaning on one is no test either); for such a
    problem, raise ``auc_thresholds`` in the policy file, or waive the
    findings with the reason they are honest.
    ``r2_thresholds`` (0.40, 0.90, 0.97): a previous grade explaining 40% of
    the final one (Student Performance's ``G1``: 0.62, ``G2``: 0.80) is a
    near-leak to check, not a proof. A near-leak is ``medium`` when the
    feature alone reaches ``share_of_model`` (80%) of the model's skill above
    chance, ``low`` otherwise. An identifier should carry no information, so
    ``identifier_thresholds`` (ROC AUC 0.65, R² 0.15) are lower. A model at
    ``too_good`` (ROC AUC or R² 0.99) is a finding by itself. Missingness
    leaks when the present (or absent) rows, ``min_support`` or more, have at
    most ``max_impurity`` (10%) exceptions and at most a quarter of the
    exceptions found elsewhere. A model carrying ``dominance_share`` (60%)
    of its skill above chance on one feature is noted (``info``): honest
    models do that too (Titanic's ``sex`` carries 60% of an honest model's);
    it is ``medium`` when that feature also nearly predicts the target alone.
    Pairs must beat their better half by ``pair_gain`` (0.10) and reach the
    leak threshold. Shares of duplicate rows (above the coincidental rate),
    overlapping entities, contradicting twins and future values are judged
    against 1%; five times that is ``high``.
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
        return _leakage_audit.run(self, ctx)
