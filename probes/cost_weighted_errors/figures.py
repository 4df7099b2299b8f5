"""The probe's figures: expected cost per row against the threshold (or the
offset), with the current, optimal and Bayes rules marked; one per class
(at most four) for a multiclass model."""

from __future__ import annotations

import numpy as np

from auditkit import Curve, Marker, Reference
from probes.cost_weighted_errors.sweep import downsample

__all__ = ["MAX_CLASS_CURVES", "MAX_POINTS", "class_curve", "offset_curve", "threshold_curve"]

# A reader sees a few hundred points at most; more only weigh on the report.
MAX_POINTS = 300
MAX_CLASS_CURVES = 4
Point = tuple[float, float]


def _thin(x: np.ndarray, y: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    return downsample(x, y, min(points, MAX_POINTS), int(np.argmin(y)))


def _finite(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The first threshold of a sweep lies above every score; past 1e300 it is no place on an axis.
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def threshold_curve(
    x: np.ndarray | None, y: np.ndarray | None, current: float, optimal: Point | None, bayes: Point | None,
    points: int,
) -> list[Curve]:
    """The binary cost curve; the current rule's threshold is unknown (its ``predict`` or stored
    labels), so its cost is a level, not a marker."""
    if x is None or y is None or len(x) < 2:
        return []
    x, y = _thin(*_finite(np.asarray(x, dtype=float), np.asarray(y, dtype=float)), points)
    markers = []
    if optimal is not None:
        markers.append(Marker(optimal[0], optimal[1], "cost-optimal threshold", "optimal"))
    if bayes is not None:
        markers.append(Marker(bayes[0], bayes[1], "Bayes threshold", "bayes"))
    return [
        Curve(
            title="Expected cost per row by threshold",
            x_label="threshold (positive when the score is at least it)",
            y_label="expected cost per row",
            x=tuple(x.tolist()),
            y=tuple(y.tolist()),
            markers=tuple(markers),
            levels=(Reference(current, "current rule", "current"),),
            caption="Each threshold priced on every audit row; the optimum chosen on the same rows is optimistic.",
        )
    ]


def offset_curve(x: np.ndarray, y: np.ndarray, current: float, optimal: Point, points: int) -> list[Curve]:
    """The regression cost curve: the predictions as they are sit at offset 0."""
    if len(x) < 2:
        return []
    x, y = _thin(*_finite(np.asarray(x, dtype=float), np.asarray(y, dtype=float)), points)
    return [
        Curve(
            title="Expected cost per row by offset added to every prediction",
            x_label="offset added to every prediction",
            y_label="expected cost per row",
            x=tuple(x.tolist()),
            y=tuple(y.tolist()),
            markers=(Marker(0.0, current, "current predictions", "current"),
                     Marker(optimal[0], optimal[1], "cost-optimal offset", "optimal")),
            caption="Each offset priced on every audit row; the optimum chosen on the same rows is optimistic.",
        )
    ]


def class_curve(label: str, x: np.ndarray, y: np.ndarray, current: float, points: int) -> list[Curve]:
    """One class of a multiclass model: predict it whenever its probability is at least the threshold."""
    if len(x) < 2:
        return []
    x, y = _thin(*_finite(np.asarray(x, dtype=float), np.asarray(y, dtype=float)), points)
    best = int(np.argmin(y))
    return [
        Curve(
            title=f"Expected cost per row when predicting {label} from a probability threshold",
            x_label=f"threshold on the probability of {label}",
            y_label="expected cost per row",
            x=tuple(x.tolist()),
            y=tuple(y.tolist()),
            markers=(Marker(float(x[best]), float(y[best]), "cost-optimal threshold", "optimal"),),
            levels=(Reference(current, "current rule", "current"),),
            caption=(f"{label} is predicted for a row whose probability of it reaches the threshold; "
                     "the model's own prediction otherwise."),
        )
    ]
