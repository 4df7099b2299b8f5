"""What slice_bias asks a report to draw: rates per group, the gaps, the slices found."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from auditkit import Bar, GroupRates, GroupRow, Ranking, Reference, SliceRow, SliceTable
from probes._shared.group_metrics import GroupTable
from probes._shared.intervals import mean_interval, wilson
from probes.slice_bias.judge import GroupsJudged, SlicesJudged
from probes.slice_bias.measure import Slices
from probes.slice_bias.messages import WHAT

if TYPE_CHECKING:
    from probes.slice_bias.probe import SliceBias

__all__ = ["disparity_ranking", "group_rates", "slice_table"]

# Binary rates as (numerator cells, denominator cells) of (tn, fp, fn, tp).
_RATES = {
    "selection_rate": ((1, 3), (0, 1, 2, 3)),
    "false_positive_rate": ((1,), (0, 1)),
    "false_negative_rate": ((2,), (2, 3)),
    "accuracy": ((0, 3), (0, 1, 2, 3)),
}


def group_rates(tables: list[GroupTable], task: str, level: float) -> list[GroupRates]:
    """One chart per sensitive feature (and intersection): its groups' rates with intervals
    (Wilson's from the counts; a regressor's MAE, the normal interval of a mean)."""
    out = []
    for t in tables:
        g = t.grouping
        if task == "regression":
            metrics: tuple[str, ...] = ("mae", "rmse")
            e = t.errors
            assert e is not None
            lo, hi = mean_interval(e.abs_sum, e.sq_sum, e.count, level)
            lows = np.column_stack([lo, np.full(len(lo), np.nan)])
            highs = np.column_stack([hi, np.full(len(hi), np.nan)])
            caption = f"Mean absolute and root mean squared error per group, {level:.0%} intervals on the MAE."
        else:
            assert t.cells is not None
            if task == "binary":
                metrics, cells = tuple(_RATES), t.cells
                rates = [_RATES[m] for m in metrics]
            else:  # multiclass cells: (right, wrong)
                metrics, cells = ("accuracy",), t.cells
                rates = [((0,), (0, 1))]
            bounds = [wilson(cells[:, list(num)].sum(axis=1), cells[:, list(den)].sum(axis=1), level)
                      for num, den in rates]
            lows = np.column_stack([b[0] for b in bounds])
            highs = np.column_stack([b[1] for b in bounds])
            caption = f"At the model's own decision rule; Wilson {level:.0%} intervals from each group's counts."
        values = t.by_group.reindex(columns=list(metrics)).to_numpy(dtype=float)
        rows = tuple(
            GroupRow(group=_name(g.labels[i]), count=int(t.by_group["count"].iloc[i]),
                     values=tuple(values[i]), lows=tuple(lows[i]), highs=tuple(highs[i]))
            for i in range(g.n_groups)
        )
        out.append(GroupRates(title=f"Rates by {g.feature}", feature=g.feature, metrics=metrics, groups=rows,
                              unit=task != "regression", caption=caption))
    return out


def disparity_ranking(probe: SliceBias, groups: GroupsJudged, positive: Any) -> Ranking | None:
    """The gaps judged, as the ratio of the smaller group rate to the larger (1.0 is parity),
    lowest first, with their bootstrap intervals and the severity of their findings."""
    if not groups.judged:
        return None
    bars = []
    for d, severity in sorted(groups.judged, key=lambda item: item[0].ratio):
        labels = d.grouping.labels
        bars.append(Bar(
            label=f"{d.grouping.feature}: {d.name.replace('_', ' ')}",
            value=d.ratio, low=d.ratio_ci[0], high=d.ratio_ci[1], severity=severity,
            note=f"{_name(labels[d.worse])} {d.worse_value:.3g} vs {_name(labels[d.better])} {d.better_value:.3g}; "
                 + WHAT[d.name].format(positive=positive),
        ))
    level = 1 - probe.significance
    return Ranking(
        title="Disparities between groups",
        metric="ratio (smaller group's rate over the larger's)",
        bars=tuple(bars),
        references=(Reference(1.0, "parity", "parity"), Reference(probe.ratio_threshold, "ratio threshold")),
        caption=f"Bootstrap {level:.0%} intervals. A gap below the ratio threshold is a finding when its "
                f"difference is large enough too and it is significant.",
    )


def slice_table(probe: SliceBias, slices: Slices, judged: SlicesJudged) -> SliceTable:
    """The reported slices with their support and error, against the error over all rows."""
    level = 1 - probe.significance
    error, regression = slices.outcome.error, slices.outcome.task == "regression"
    rows = []
    for candidate, entry, severity in zip(slices.kept, judged.metrics["slices"], judged.severities):
        inside = error[candidate.mask]
        if regression:
            lo, hi = mean_interval(inside.sum(), (inside**2).sum(), len(inside), level)
        else:
            lo, hi = wilson(inside.sum(), len(inside), level)
        rows.append(SliceRow(
            conditions=tuple(p.condition for p in candidate.pieces), support=int(entry["support"]),
            error=float(entry["error"]), low=float(lo), high=float(hi), severity=severity,
        ))
    metric = "mean absolute error" if regression else "error rate"
    return SliceTable(
        title="Slices where the model errs more",
        metric=metric,
        slices=tuple(rows),
        overall=slices.found.mean_error,
        caption=f"{level:.0%} intervals; {slices.found.tested} slices tested, the top {len(rows)} shown "
                f"after shrinking to minimal conditions.",
        total=slices.found.tested,
    )


def _name(label: Any) -> str:
    if label is None:
        return "missing"
    if isinstance(label, list | tuple):
        return " & ".join(_name(v) for v in label)
    return str(label)
