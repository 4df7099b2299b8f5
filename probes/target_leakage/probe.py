"""The ``target_leakage`` probe: its settings, their validation, and its run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from auditkit import AuditContext, Evidence, Needs, Probe, require
from probes.target_leakage import audit

__all__ = ["TargetLeakage"]


@dataclass(frozen=True, kw_only=True)
class TargetLeakage(Probe):
    """Find the answer hiding in the inputs.

    **Detects** features recorded after the outcome (alone, through their
    missingness, or as a pair), identifiers sorted by the label, rows and
    entities shared by reference and audit data, values from after the
    prediction time, and models too good to be true.

    **Measures** the cross-validated ROC AUC (R² for regression) of each
    feature alone, of its missingness and of the best pairs, on a seeded
    sample of up to ``max_rows`` audit and reference rows; the purity of
    missingness, duplicate rows, shared ids and late values on every row; the
    model's own score, and its fall when one feature is shuffled
    (``dominance_rows`` rows). Scores are judged by their lower confidence
    bound at family-wise level ``alpha``.

    **Defaults**: honest features rarely reach ROC AUC 0.80 alone (Adult's
    best 0.78, Titanic's ``sex`` 0.76) while after-the-fact fields reach 0.95
    and more (Titanic's ``boat`` 0.97): near-leak 0.80, leak 0.90, critical
    0.97. Every threshold and its reasons: ``probes/target_leakage/README.md``.
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
        return audit.run(self, ctx)
