"""slice_bias's judgement: thresholds and tests turn its measurements into findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from auditkit import Finding, Severity
from probes._shared import disparities as gaps
from probes._shared.disparities import Disparity
from probes._shared.group_metrics import CLASSIFICATION_KEYS, REGRESSION_KEYS, GroupTable
from probes._shared.groups import Grouping
from probes.slice_bias.measure import Slices
from probes.slice_bias.messages import (
    CODES,
    DISPARITY_MESSAGE,
    ERROR_KIND,
    IMPACT,
    INCOMPLETE_MESSAGE,
    INSUFFICIENT_MESSAGE,
    SLICE_CONFIDENCE_MESSAGE,
    SLICE_MESSAGE,
    SLICE_MESSAGE_REGRESSION,
    WEAK_EVIDENCE_MESSAGE,
    WHAT,
)
from probes.slice_bias.outcomes import Coding

if TYPE_CHECKING:
    from probes.slice_bias.probe import SliceBias

__all__ = ["GroupsJudged", "SlicesJudged", "judge_groups", "judge_slices", "show_group"]

# A gap is high when the worse-off group gets under half the better-off group's rate;
# a discovered slice when the model errs there twice as often as overall.
_HIGH_RATIO = 0.5
_HIGH_ERROR_RATIO = 2.0


@dataclass(frozen=True)
class GroupsJudged:
    """The declared groups' metrics, their gaps (judged ones with the severity of their
    finding, None when it is none) and the findings."""

    metrics: dict[str, Any]
    findings: list[Finding]
    judged: list[tuple[Disparity, Severity | None]] = field(default_factory=list)


@dataclass(frozen=True)
class SlicesJudged:
    """The reported slices (with the severity of their finding, None when none) and the findings."""

    metrics: dict[str, Any]
    findings: list[Finding]
    severities: list[Severity | None] = field(default_factory=list)


def judge_groups(probe: SliceBias, tables: list[GroupTable], coding: Coding, rng: np.random.Generator) -> GroupsJudged:
    """Per-group metrics, the insufficient groups, and the gaps that are findings."""
    keys = REGRESSION_KEYS if coding.task == "regression" else CLASSIFICATION_KEYS
    metrics: dict[str, Any] = {"groups": [entry for t in tables for entry in t.entries(keys)]}
    findings: list[Finding] = []

    insufficient = []
    for t in tables:
        counts = t.by_group["count"].to_numpy()
        for i in np.flatnonzero(counts < probe.min_group_size):
            insufficient.append((t.grouping, int(i), int(counts[i])))
    metrics["insufficient"] = [{"feature": g.feature, "group": g.labels[i], "count": c} for g, i, c in insufficient]

    judged, reported = _disparities(probe, tables, coding, rng)
    level = 1 - probe.significance
    adjusted = gaps.holm([d.p_value for d in judged])
    severities: list[tuple[Disparity, Severity | None]] = []
    for d, p_adj in zip(judged, adjusted):
        entry = d.to_dict()
        large = d.ratio < probe.ratio_threshold and (d.name == "mae" or d.difference >= probe.difference_threshold)
        significant = p_adj < probe.significance
        entry.update(p_adjusted=float(p_adj), large=bool(large), significant=bool(significant),
                     strong=bool(p_adj < probe.strong_significance))
        reported.append(entry)
        severity = None
        if large and significant:
            finding = _disparity_finding(probe, d, float(p_adj), len(judged), coding, level)
            findings.append(finding)
            severity = finding.severity
        severities.append((d, severity))
    metrics["disparities"] = reported

    for g, i, count in insufficient:
        findings.append(
            Finding(
                code="insufficient_evidence",
                severity=Severity.INFO,
                message=INSUFFICIENT_MESSAGE.format(
                    group=show_group(g, i), feature=g.feature, count=count, min_group_size=probe.min_group_size
                ),
                features=g.columns,
                slice=g.slices[i],
                metrics={"feature": g.feature, "group": g.labels[i], "count": count},
            )
        )
    return GroupsJudged(metrics, findings, severities)


def _disparities(
    probe: SliceBias, tables: list[GroupTable], coding: Coding, rng: np.random.Generator
) -> tuple[list[Disparity], list[dict[str, Any]]]:
    """The gaps that may become findings, and those only reported (TPR, equalized odds)."""
    level = 1 - probe.significance
    judged: list[Disparity] = []
    reported: list[dict[str, Any]] = []
    common = {"min_group_size": int(probe.min_group_size), "n_bootstrap": int(probe.n_bootstrap), "level": level}
    for t in tables:
        if coding.task == "regression":
            d = gaps.regression_disparity(t, rng=rng, **common)
            judged.extend([d] if d is not None else [])
            continue
        if coding.task == "multiclass":
            judged.extend(gaps.rate_disparities(t, [gaps.ERROR], rng=rng, **common))
            continue
        flip = ("demographic_parity",) if probe.positive_outcome == "risk" else ()
        found = {
            d.name: d
            for d in gaps.rate_disparities(t, [gaps.SELECTION, gaps.FPR, gaps.FNR, gaps.TPR], flip=flip, rng=rng, **common)
        }
        flagged = ("demographic_parity", "false_positive_rate", "false_negative_rate")
        judged.extend(found[name] for name in flagged if name in found)
        if "true_positive_rate" in found:
            tpr = found["true_positive_rate"]
            reported.append(dict(tpr.to_dict(), large=None, significant=None))
            if "false_positive_rate" in found:
                odds = gaps.equalized_odds(tpr, found["false_positive_rate"], level)
                reported.append(dict(odds, large=None, significant=None))
    return judged, reported


def _disparity_finding(
    probe: SliceBias, d: Disparity, p_adjusted: float, tests: int, coding: Coding, level: float
) -> Finding:
    g = d.grouping
    names = {"worse_group": show_group(g, d.worse), "better_group": show_group(g, d.better)}
    positive = coding.positive
    message = DISPARITY_MESSAGE.format(
        what=WHAT[d.name].format(positive=positive),
        feature=g.feature,
        worse_value=d.worse_value,
        better_value=d.better_value,
        ratio=d.ratio,
        ratio_lo=d.ratio_ci[0],
        ratio_hi=d.ratio_ci[1],
        ratio_threshold=probe.ratio_threshold,
        difference=d.difference,
        difference_lo=d.difference_ci[0],
        difference_hi=d.difference_ci[1],
        difference_threshold=probe.difference_threshold,
        level=level,
        p_adjusted=p_adjusted,
        tests=tests,
        impact=IMPACT[(d.name, probe.positive_outcome)].format(positive=positive, **names),
        **names,
    )
    severity = Severity.HIGH if d.ratio < _HIGH_RATIO else Severity.MEDIUM
    error_kind = ERROR_KIND.get((d.name, probe.positive_outcome))
    if error_kind in ("favourable", "lenient"):
        # The error favours the group it falls on; the harm is to the others, and indirect.
        severity = Severity.MEDIUM if severity is Severity.HIGH else Severity.LOW
    if p_adjusted >= probe.strong_significance:
        severity = Severity.LOW
        message += " " + WEAK_EVIDENCE_MESSAGE.format(p_adjusted=p_adjusted, strong_significance=probe.strong_significance)
    return Finding(
        code=CODES[d.name],
        severity=severity,
        message=message,
        features=g.columns,
        slice=g.slices[d.worse],
        metrics=dict(
            d.to_dict(),
            p_adjusted=p_adjusted,
            strong_significance=probe.strong_significance,
            ratio_threshold=probe.ratio_threshold,
            difference_threshold=probe.difference_threshold,
            error_kind=error_kind,
            positive_class=None if coding.task == "regression" else positive,
        ),
    )


def judge_slices(probe: SliceBias, slices: Slices) -> SlicesJudged:
    """The reported slices, the findings among them, and whether the search finished."""
    found, judge, task = slices.found, slices.judge, slices.outcome.task
    reported: list[dict[str, Any]] = []
    findings: list[Finding] = []
    severities: list[Severity | None] = []
    for candidate in slices.kept[: probe.top_k]:
        conds = tuple(p.condition for p in candidate.pieces)
        judged = judge.entry(candidate.found, candidate.pieces, candidate.mask)
        order = ("support", "share", "error", "overall_error", "error_ratio")
        entry = {
            "slice": [c.to_dict() for c in conds],
            **{k: judged.pop(k) for k in order},
            "score": candidate.score,
            **{k: v for k, v in judged.items() if k != "significant"},
            "significant": judged["significant"],
        }
        reported.append(entry)
        severities.append(None)
        if not entry["significant"]:
            continue
        template = SLICE_MESSAGE_REGRESSION if task == "regression" else SLICE_MESSAGE
        message = template.format(
            error=entry["error"],
            support=entry["support"],
            where=" and ".join(c.describe() for c in conds),
            share=entry["share"],
            overall=entry["overall_error"],
            error_ratio=entry["error_ratio"],
            min_error_ratio=probe.min_error_ratio,
            q_value=entry["q_value"],
            tested=found.tested,
        )
        if "confidence_q" in entry:
            message += " " + SLICE_CONFIDENCE_MESSAGE.format(**entry)
        severity = Severity.HIGH if entry["error_ratio"] >= _HIGH_ERROR_RATIO else Severity.MEDIUM
        severities[-1] = severity
        findings.append(
            Finding(
                code="underperforming_slice",
                severity=severity,
                message=message,
                features=tuple(dict.fromkeys(c.feature for c in conds)),
                slice=conds,
                metrics={k: v for k, v in entry.items() if k != "slice"},
                examples=tuple(slices.index[candidate.mask][:3].tolist()),
            )
        )
    if not found.complete:
        findings.append(
            Finding(
                code="slice_search_incomplete",
                severity=Severity.INFO,
                message=INCOMPLETE_MESSAGE.format(budget=slices.budget, tables=found.tables, tested=found.tested),
                metrics={"tables_counted": found.tables, "slices_tested": found.tested},
            )
        )
    metrics = {
        "slices": reported,
        "slice_search": {
            "rows": len(slices.outcome.error),
            "columns": len(slices.columns),
            "conditions": int(sum(len(c.conditions) for c in slices.columns)),
            "min_support_rows": slices.min_rows,
            "max_conditions": int(probe.max_conditions),
            "slices_tested": found.tested,
            "slices_tested_by_conditions": list(found.tested_by_conditions),
            "tables_counted": found.tables,
            "complete": found.complete,
            "overall_error": found.mean_error,
            # No timing here: metrics must be the same on every run (durations live in duration_s).
        },
    }
    return SlicesJudged(metrics, findings, severities)


def show_group(g: Grouping, i: int) -> str:
    """A group's name in a message: its label, or its conditions for an intersection."""
    label = g.labels[i]
    if len(g.columns) > 1:
        return " & ".join(c.describe() for c in g.slices[i])
    return "missing" if label is None else repr(label)
