"""What a report draws for drift: the per-feature shift ranking with intervals against the
threshold, and the reference against the audit distribution of each flagged feature."""

from __future__ import annotations

import numpy as np

from auditkit import Bar, GroupRates, GroupRow, Ranking, Reference, Severity
from probes.drift.checks import Check, shown
from probes.drift.measure import FeatureCounts, Plan
from probes.drift.tokens import MISSING

__all__ = ["distribution_figure", "shift_ranking"]

_TOP_BARS = 20
_TOP_GROUPS = 8
_BANDS = 10


def shift_ranking(checks: list[Check], flagged: dict[str, Severity]) -> Ranking | None:
    """Each feature's distribution shift as a multiple of its threshold (1 = the threshold)."""
    shifts = [c for c in checks if c.code == "distribution_shift"]
    if not shifts:
        return None
    shifts.sort(key=lambda c: (-c.effect / c.threshold, c.feature))
    bars = tuple(
        Bar(
            c.feature, c.effect / c.threshold, c.low / c.threshold, c.high / c.threshold, severity=flagged.get(c.feature),
            note=(f"Wasserstein {c.effect:.3f} sd" if c.measure == "wasserstein_sd" else f"total variation {c.effect:.1%}")
            + f", p = {c.p_adjusted:.2g} (Holm)",
        )
        for c in shifts[:_TOP_BARS]
    )
    return Ranking(
        title="Shift of each feature, as a multiple of its threshold",
        metric="shift / threshold",
        bars=bars,
        references=(Reference(1.0, "threshold"),),
        caption=(
            "Numbers: Wasserstein distance in reference standard deviations; categories: total variation "
            "distance. Whiskers are bootstrap intervals. A shift is a finding when it reaches 1 and is "
            "significant after Holm's correction."
        ),
        total=len(shifts),
    )


def distribution_figure(plan: Plan, ref: FeatureCounts, audit: FeatureCounts) -> GroupRates:
    """The share of rows in each band (numbers: reference deciles) or category, on both sides."""
    names, r, a = _groups(plan, ref, audit)
    names += [("missing: " + ("gap" if s == MISSING else shown(s))) for s in sorted(set(ref.missing) | set(audit.missing), key=str)]
    r += [ref.missing.get(s, 0) for s in sorted(set(ref.missing) | set(audit.missing), key=str)]
    a += [audit.missing.get(s, 0) for s in sorted(set(ref.missing) | set(audit.missing), key=str)]
    n_r, n_a = max(ref.rows, 1), max(audit.rows, 1)
    rows = tuple(GroupRow(name, int(k_a), (k_r / n_r, k_a / n_a)) for name, k_r, k_a in zip(names, r, a))
    return GroupRates(
        title=f"{plan.feature}: reference against audit",
        feature=plan.feature,
        metrics=("reference share", "audit share"),
        groups=rows,
        unit=True,
        caption="Share of all rows in each band or category, missing spellings included; the count is the audit's rows.",
    )


def _groups(plan: Plan, ref: FeatureCounts, audit: FeatureCounts) -> tuple[list[str], list[int], list[int]]:
    if plan.kind == "numeric":
        assert ref.cells is not None and audit.cells is not None
        inner_r, inner_a = ref.cells[1:-1], audit.cells[1:-1]
        cum = np.cumsum(inner_r) / max(inner_r.sum(), 1)
        # band boundaries: the edges where the reference's cumulative share passes each tenth
        cuts = sorted(set(int(np.searchsorted(cum, q)) for q in np.linspace(0.1, 0.9, _BANDS - 1)) | {len(cum) - 1})
        names, r, a, start = [], [], [], 0
        if audit.cells[0]:
            names.append(f"below {plan.edges[0]:.4g}"); r.append(0); a.append(int(audit.cells[0]))
        for cut in cuts:
            if cut < start:
                continue
            low = plan.edges[start - 1] if start else None
            label = f"<= {plan.edges[cut]:.4g}" if low is None else f"({low:.4g}, {plan.edges[cut]:.4g}]"
            names.append(label)
            r.append(int(inner_r[start:cut + 1].sum()))
            a.append(int(inner_a[start:cut + 1].sum()))
            start = cut + 1
        if audit.cells[-1]:
            names.append(f"above {plan.edges[-1]:.4g}"); r.append(0); a.append(int(audit.cells[-1]))
        return names, r, a
    levels = sorted(set(ref.values) | set(audit.values), key=lambda v: (-(ref.values.get(v, 0) + audit.values.get(v, 0)), str(v)))
    shown_levels, rest = levels[:_TOP_GROUPS], levels[_TOP_GROUPS:]
    names = [shown(v) + ("" if v in ref.values else " (new)") for v in shown_levels]
    r = [ref.values.get(v, 0) for v in shown_levels]
    a = [audit.values.get(v, 0) for v in shown_levels]
    if rest:
        names.append(f"{len(rest)} other categories")
        r.append(sum(ref.values.get(v, 0) for v in rest))
        a.append(sum(audit.values.get(v, 0) for v in rest))
    return names, r, a
