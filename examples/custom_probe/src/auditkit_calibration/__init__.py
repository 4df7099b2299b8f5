"""An auditkit probe from outside auditkit: are the model's probabilities calibrated?

Registered through the ``auditkit.probes`` entry point in this package's
pyproject.toml, so installing the package is all it takes for auditkit to
find it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from auditkit import AuditContext, Evidence, Finding, Needs, Probe, require

__all__ = ["Calibration"]

MISCALIBRATED = (
    "Predicted probabilities are off by {ece:.3f} on average (expected calibration error over "
    "{bins} bins; threshold {threshold:.2f}); the worst bin predicts {predicted:.2f} where "
    "{observed:.2f} happened ({count} rows). A perfectly calibrated model shows an error this "
    "large by chance with p = {p:.3g}. Recalibrate (isotonic or Platt scaling) before reading "
    "the scores as probabilities."
)


@dataclass(frozen=True, kw_only=True)
class Calibration(Probe):
    """Flags a binary classifier whose probabilities do not match how often the outcome happens.

    Measures the expected calibration error (ECE): rows are binned by their
    predicted probability into ``bins`` equal-width bins, and the gaps between
    each bin's mean prediction and its observed rate are averaged, weighted by
    the bin's share of rows. Judges it against ``threshold`` and against chance:
    outcomes drawn from the model's own probabilities (a perfectly calibrated
    model) give a null distribution of the ECE, and a finding needs
    p < ``alpha``, so small samples do not raise false alarms. The default
    threshold of 0.05 means the probabilities are off by five points on
    average, the size at which a decision made on them starts to shift.
    """

    name: ClassVar[str] = "calibration"
    needs: ClassVar[Needs] = Needs(tasks=("binary",), probabilities=True)
    bins: int = 10
    threshold: float = 0.05
    alpha: float = 0.01
    simulations: int = 500

    def __post_init__(self) -> None:
        require(2 <= self.bins <= 100, "bins must be between 2 and 100")
        require(0 < self.threshold < 1, "threshold must be between 0 and 1")
        require(0 < self.alpha < 1, "alpha must be between 0 and 1")
        require(self.simulations >= 100, "simulations must be at least 100")

    def run(self, ctx: AuditContext) -> Evidence:
        scores = np.asarray(ctx.predictions.scores, dtype=float)
        y = (ctx.data.y.to_numpy() == ctx.data.classes[-1]).astype(float)
        edges = np.linspace(0.0, 1.0, self.bins + 1)
        which = np.clip(np.digitize(scores, edges[1:-1]), 0, self.bins - 1)
        ece, predicted, observed, counts = _ece(scores, y, which, self.bins)
        # The same ECE on outcomes drawn from the scores themselves: what chance alone gives.
        # One draw at a time keeps memory at one column of outcomes, whatever the row count.
        null = np.array(
            [_ece(scores, (ctx.rng.random(len(scores)) < scores).astype(float), which, self.bins)[0]
             for _ in range(self.simulations)]
        )
        p_value = float((1 + np.sum(null >= ece)) / (1 + self.simulations))
        used = counts > 0
        gaps = np.where(used, np.abs(predicted - observed), -1.0)
        worst = int(np.argmax(gaps))
        metrics = {
            "ece": ece,
            "p_value": p_value,
            "bins": [
                {"low": float(edges[i]), "high": float(edges[i + 1]), "count": int(counts[i]),
                 "predicted": float(predicted[i]) if used[i] else None,
                 "observed": float(observed[i]) if used[i] else None}
                for i in range(self.bins)
            ],
        }
        findings = []
        if ece > self.threshold and p_value < self.alpha:
            findings.append(
                Finding(
                    code="miscalibrated_probabilities",
                    severity="high" if ece > 3 * self.threshold else "medium",
                    message=MISCALIBRATED.format(
                        ece=ece, bins=self.bins, threshold=self.threshold, predicted=predicted[worst],
                        observed=observed[worst], count=int(counts[worst]), p=p_value,
                    ),
                    metrics={"ece": ece, "p_value": p_value, "threshold": self.threshold},
                )
            )
        return Evidence(metrics=metrics, findings=findings)


def _ece(scores: np.ndarray, y: np.ndarray, which: np.ndarray, bins: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    counts = np.bincount(which, minlength=bins).astype(float)
    safe = np.maximum(counts, 1)
    predicted = np.bincount(which, weights=scores, minlength=bins) / safe
    observed = np.bincount(which, weights=y, minlength=bins) / safe
    ece = float(np.sum(counts * np.abs(predicted - observed)) / counts.sum())
    return ece, predicted, observed, counts
