"""Every test drift makes on one feature, as ``Check`` records: the effect, its interval,
its threshold and its p-value. The judge corrects the p-values for all checks together."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probes.drift.measure import FeatureCounts, Plan
from probes.drift.stats import beyond_range_test, bootstrap, excess_test, ks_test, share_test, total_variation, tv_test, wasserstein_cells
from probes.drift.tokens import value_class

__all__ = ["Check", "Settings", "feature_checks", "shown"]

# Classes of value the reference held in fewer than this share of its values count as foreign.
_FOREIGN_SHARE = 0.001
# How many categories a bootstrap resamples individually (the rest are pooled).
_BOOTSTRAP_CATEGORIES = 200


@dataclass(frozen=True)
class Settings:
    """The thresholds a check is held to (the probe's settings)."""

    min_shift: float
    min_tv: float
    min_share: float
    confidence: float
    n_bootstrap: int


@dataclass
class Check:
    """One test on one feature. ``measure`` names the effect: 'wasserstein_sd', 'total_variation'
    or 'share'. ``p_adjusted`` is set by the judge (Holm over every check)."""

    feature: str
    code: str
    measure: str
    effect: float
    low: float
    high: float
    threshold: float
    p: float
    details: dict[str, Any] = field(default_factory=dict)
    p_adjusted: float = 1.0


def shown(value: Any) -> str:
    """A category or spelling as a message shows it."""
    return repr(value) if isinstance(value, str) else str(value)


def feature_checks(plan: Plan, ref: FeatureCounts, audit: FeatureCounts, s: Settings, rng: np.random.Generator) -> list[Check]:
    checks = _missing_checks(plan.feature, ref, audit)
    if plan.kind == "numeric":
        checks += _numeric_checks(plan, ref, audit, s, rng)
    elif plan.kind == "categorical":
        checks += _categorical_checks(plan.feature, ref, audit, s, rng)
    return checks


def _missing_checks(feature: str, ref: FeatureCounts, audit: FeatureCounts) -> list[Check]:
    """One check per spelling of missing: its share of all rows in the reference and the audit."""
    out = []
    for spelling in sorted(set(ref.missing) | set(audit.missing), key=str):
        k_r, k_a = ref.missing.get(spelling, 0), audit.missing.get(spelling, 0)
        share_r, share_a = k_r / max(ref.rows, 1), k_a / max(audit.rows, 1)
        out.append(Check(
            feature, "missing_spelling", "share", share_a - share_r, share_a - share_r, share_a - share_r, 0.0,
            share_test(k_r, ref.rows, k_a, audit.rows),
            {"spelling": spelling, "reference_rows": k_r, "audit_rows": k_a, "reference_share": share_r,
             "audit_share": share_a},
        ))
    return out


def _numeric_checks(plan: Plan, ref: FeatureCounts, audit: FeatureCounts, s: Settings, rng: np.random.Generator) -> list[Check]:
    assert ref.cells is not None and audit.cells is not None and audit.excess is not None
    out: list[Check] = []
    if audit.present == 0 or ref.present == 0:
        return out
    k_below, k_above = int(audit.cells[0]), int(audit.cells[-1])
    mean_excess = (audit.excess[0] / k_below if k_below else 0.0, audit.excess[1] / k_above if k_above else 0.0)

    def w1(r: np.ndarray, a: np.ndarray) -> np.ndarray:
        return wasserstein_cells(r, a, plan.edges, mean_excess, plan.discrete) / plan.scale

    effect = float(w1(ref.cells, audit.cells)[0])
    low, high = bootstrap(ref.cells, audit.cells, w1, rng, s.n_bootstrap, s.confidence)
    stat, p = ks_test(ref.cells, audit.cells)
    quantiles = _quantiles(plan, ref.cells), _quantiles(plan, audit.cells)
    out.append(Check(
        plan.feature, "distribution_shift", "wasserstein_sd", effect, min(low, effect), max(high, effect), s.min_shift, p,
        {"ks": stat, "scale": plan.scale, "reference_quantiles": quantiles[0], "audit_quantiles": quantiles[1]},
    ))
    # Values beyond the reference's range: a finite reference of n rows leaves about 2/(n+1) of
    # new rows beyond its extremes by chance alone (the effect is the share above that); the
    # p-value is the exact one for samples drawn alike (``beyond_range_test``).
    k_out = k_below + k_above
    expected = 2.0 / (ref.present + 1)
    share = k_out / audit.present
    out.append(Check(
        plan.feature, "out_of_range", "share", share - expected, share - expected, share - expected, s.min_share,
        beyond_range_test(k_below, k_above, ref.present, audit.present),
        {"rows": k_out, "below": k_below, "above": k_above, "share": share, "expected": expected,
         "reference_min": float(plan.edges[0]), "reference_max": float(plan.edges[-1]),
         "audit_min": audit.low, "audit_max": audit.high},
    ))
    return out


def _quantiles(plan: Plan, cells: np.ndarray) -> dict[str, float]:
    """The 5th, 50th and 95th percentiles as read off the histogram (the edge where each is reached)."""
    total = cells.sum()
    if total == 0:
        return {}
    cum = np.cumsum(cells) / total
    out = {}
    for q in (0.05, 0.5, 0.95):
        i = int(np.searchsorted(cum, q))
        i = min(max(i - 1, 0), len(plan.edges) - 1)  # cell i covers up to edges[i - 1]
        out[f"p{int(q * 100)}"] = float(plan.edges[i])
    return out


def _categorical_checks(feature: str, ref: FeatureCounts, audit: FeatureCounts, s: Settings, rng: np.random.Generator) -> list[Check]:
    out: list[Check] = []
    if audit.present == 0 or ref.present == 0:
        return out
    levels = sorted(set(ref.values) | set(audit.values), key=lambda v: (-(ref.values.get(v, 0) + audit.values.get(v, 0)), str(v)))
    r = np.array([ref.values.get(v, 0) for v in levels], dtype=np.int64)
    a = np.array([audit.values.get(v, 0) for v in levels], dtype=np.int64)
    effect = float(total_variation(r, a)[0])
    head = _BOOTSTRAP_CATEGORIES
    rb = np.append(r[:head], r[head:].sum()) if len(r) > head else r
    ab = np.append(a[:head], a[head:].sum()) if len(a) > head else a
    low, high = bootstrap(rb, ab, total_variation, rng, s.n_bootstrap, s.confidence)
    p_r, p_a = r / r.sum(), a / a.sum()
    moved = np.argsort(-np.abs(p_a - p_r), kind="stable")[:3]
    out.append(Check(
        feature, "distribution_shift", "total_variation", effect, min(low, effect), max(high, effect), s.min_tv, tv_test(r, a),
        {"moved": [{"value": shown(levels[i]), "reference_share": float(p_r[i]), "audit_share": float(p_a[i])} for i in moved]},
    ))
    # Categories the reference never held. A reference with many values seen once would meet
    # new ones by chance alone: Good-Turing puts that share at (values seen once) / rows.
    unseen = [v for v in audit.values if v not in ref.values]
    k_new = int(sum(audit.values[v] for v in unseen))
    expected = sum(1 for k in ref.values.values() if k == 1) / ref.present
    share = k_new / audit.present
    top = sorted(unseen, key=lambda v: (-audit.values[v], str(v)))[:5]
    out.append(Check(
        feature, "unseen_categories", "share", share - expected, share - expected, share - expected, s.min_share,
        excess_test(k_new, audit.present, expected),
        {"rows": k_new, "share": share, "expected": expected, "categories": len(unseen),
         "top": [{"value": shown(v), "rows": int(audit.values[v])} for v in top]},
    ))
    # Kinds of value (numbers arriving as text): the audit's share in kinds the reference (almost) never held.
    kinds_r, kinds_a = _kinds(ref.values), _kinds(audit.values)
    foreign = [c for c in kinds_a if kinds_r.get(c, 0) < _FOREIGN_SHARE * ref.present]
    if foreign:
        k_f, k_rf = sum(kinds_a[c] for c in foreign), sum(kinds_r.get(c, 0) for c in foreign)
        diff = k_f / audit.present - k_rf / ref.present
        out.append(Check(
            feature, "type_changed", "share", diff, diff, diff, s.min_share,
            share_test(k_rf, ref.present, k_f, audit.present),
            {"reference_kinds": dict(kinds_r), "audit_kinds": dict(kinds_a), "new_kinds": sorted(foreign),
             "examples": [shown(v) for v in sorted((v for v in audit.values if value_class(v) in foreign), key=str)[:3]]},
        ))
    return out


def _kinds(values: Counter[Any]) -> Counter[str]:
    out: Counter[str] = Counter()
    for v, k in values.items():
        out[value_class(v)] += k
    return out
