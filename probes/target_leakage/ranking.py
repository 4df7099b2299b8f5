"""The leakage ranking: every feature, most suspect first, as metrics and as a figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from auditkit import Bar, Finding, Ranking, Reference, Severity
from probes.target_leakage.measure import Feature
from probes.target_leakage.power import Power

__all__ = ["figure", "rank"]

_BARS = 20  # bars drawn; the ranking in the metrics holds every feature
_SEVERITIES = [s.value for s in Severity]


def rank(features: Mapping[str, Feature], per_feature: Mapping[str, Sequence[Finding]], others: Sequence[Finding],
         z: float, share: Any) -> list[dict[str, Any]]:
    """Every feature, most suspect first: by its worst finding, then by its power alone.
    ``share(power)`` is the share of the model's skill the power reaches."""
    worst = {name: max((f.severity.rank for f in per_feature.get(name, ())), default=-1) for name in features}
    for f in others:
        for name in f.features:
            if name in worst and f.code != "too_good_to_be_true":
                worst[name] = max(worst[name], f.severity.rank)
    rows = []
    for name, feat in features.items():
        best = feat.best
        rows.append({
            "feature": name,
            "kind": feat.kind,
            "score": best.score if best.ok else None,
            "ci_low": best.low(z) if best.ok else None,
            "ci_high": best.high(z) if best.ok else None,
            "missing_score": feat.missing.score if feat.missing.ok else None,
            "order_score": feat.order.score if feat.order.ok else None,
            "share_of_model": share(best),
            "severity": None if worst[name] < 0 else _SEVERITIES[worst[name]],
            "note": feat.note,
        })
    rows.sort(key=lambda r: (-worst[r["feature"]], -(r["score"] if r["score"] is not None else -np.inf)))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def figure(ranking: list[dict[str, Any]], metric: str, near: float, chance: float, model: Power,
           confidence: float | None, scored_on: str) -> Ranking:
    """The ranking as bars: each scored feature's power alone with its interval, the
    severity of its finding, against the near-leak threshold, the whole model and chance."""
    scored = [r for r in ranking if r["score"] is not None]
    bars = tuple(
        Bar(label=r["feature"], value=r["score"], low=r["ci_low"], high=r["ci_high"], severity=r["severity"],
            note=r["kind"])
        for r in scored[:_BARS]
    )
    references = [Reference(near, f"near-leak threshold {near:.2f}", "threshold")]
    if model.ok:
        references.append(Reference(model.score, f"the whole model {model.score:.2f}", "model"))
    references.append(Reference(chance, f"chance {chance:g}", "chance"))
    how = f"{confidence:.0%} family-wise intervals" if confidence is not None else "no intervals"
    caption = (f"Each feature alone: cross-validated {metric} of a histogram learner, on {scored_on}; {how}. "
               f"Top {len(bars)} of {len(scored)} features scored.")
    return Ranking(title="Leakage ranking: each feature alone", metric=metric, bars=bars,
                   references=tuple(references), caption=caption, total=len(scored))
