"""From what was measured to findings: the thresholds of the probe's settings
turned into severities. Nothing here reads a row; everything comes from the
merged measurements (totals, the paired differences' intervals, group moments)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditkit import Finding
from probes.cost_weighted_errors.groups import judge_groups
from probes.cost_weighted_errors.measure import Measured
from probes.cost_weighted_errors.messages import COSTLIER_THAN_TRIVIAL, GROUP_SHARE, MONEY_LEFT
from probes.cost_weighted_errors.stats import intervals

if TYPE_CHECKING:
    from auditkit import AuditContext

__all__ = ["HIGH_GROUP_RATIO", "band", "judge"]

# A group paying twice the average cost per row is high, whatever group_cost_ratio flags.
HIGH_GROUP_RATIO = 2.0


def band(share: float, bands: tuple[float, float, float]) -> str | None:
    if share >= bands[2]:
        return "high"
    if share >= bands[1]:
        return "medium"
    if share >= bands[0]:
        return "low"
    return None


def judge(ctx: AuditContext, m: Measured, settings: Any, metrics: dict[str, Any]) -> list[Finding]:
    """The findings, with the judged numbers added to ``metrics``."""
    alpha = 1 - settings.confidence
    k = len(m.trivial)
    levels = [1 - alpha / k if key in m.trivial else settings.confidence for key in m.keys]
    low, high, method = intervals(m.diffs, levels, settings.n_bootstrap, ctx.rng)
    ci = {key: (float(lo), float(hi)) for key, lo, hi in zip(m.keys, low, high)}
    metrics["ci"] = {"method": method, "confidence": settings.confidence,
                     "resamples": settings.n_bootstrap if method == "bootstrap" else 0}
    n = m.rows
    current = m.current / n
    metrics["trivial_policies"] = {
        key: {"expected_cost": total / n, "total_cost": total, "excess_ci": list(ci[key])}
        for key, (_, total) in m.trivial.items()
    }
    findings: list[Finding] = []

    # A model that loses more than a policy ignoring every feature.
    worse = [key for key in m.trivial if ci[key][0] > 0]
    if worse:
        key = min(worse, key=lambda kk: m.trivial[kk][1])
        description, total = m.trivial[key]
        trivial = total / n
        findings.append(
            Finding(
                code="costlier_than_trivial",
                severity="critical",
                message=COSTLIER_THAN_TRIVIAL.format(
                    current=current, policy=description, trivial=trivial, excess=current - trivial,
                    conf=1 - alpha / k, low=ci[key][0], high=ci[key][1], k=k, rows=n, hint=m.hint,
                ),
                metrics={"expected_cost": current, "policy": key, "policy_expected_cost": trivial,
                         "excess": current - trivial, "excess_ci": list(ci[key])},
            )
        )

    # Money left on the table, judged out of sample.
    if m.better is not None:
        better = m.better / n
        saving = current - better
        share = saving / current if current > 0 else 0.0
        metrics.update({m.saving_key: saving, "saving_ci": list(ci["saving"]), "saving_share": share,
                        "saving_total": saving * n})
        # Reported only when the saving is significantly at least the smallest worth acting on
        # (the CI's lower end clears it), then sized by its estimate.
        severity = band(share, settings.saving_share)
        if current > 0 and ci["saving"][0] >= settings.saving_share[0] * current and severity is not None:
            findings.append(
                Finding(
                    code="money_left_on_table",
                    severity=severity,
                    message=MONEY_LEFT.format(
                        current_rule=m.current_rule, current=current, total=m.current, rows=n,
                        better_rule=m.better_rule, better=better, saving=saving, share=share,
                        saving_total=saving * n, conf=settings.confidence, low=ci["saving"][0],
                        high=ci["saving"][1], how=m.better_how, band=settings.saving_share[0], changed=m.changed,
                    ),
                    metrics={"expected_cost": current, "better_expected_cost": better, "saving": saving,
                             "saving_ci": list(ci["saving"]), "saving_share": share, "optimal_threshold": m.threshold},
                    examples=tuple(m.examples),
                )
            )

    # The Bayes threshold against the empirical optimum: a calibration check in money.
    if "bayes_gap" in ci:
        assert m.bayes is not None and m.better is not None
        bayes_cost, better = m.bayes / n, m.better / n
        gap = bayes_cost - better
        gap_share = gap / bayes_cost if bayes_cost > 0 else 0.0
        metrics["bayes_gap"] = {"gap": gap, "ci": list(ci["bayes_gap"]), "share": gap_share}
        if bayes_cost > 0 and ci["bayes_gap"][0] >= settings.saving_share[0] * bayes_cost:
            findings.append(
                Finding(
                    code="bayes_threshold_miscalibrated",
                    severity="low",
                    message=m.bayes_message.format(
                        bayes=m.bayes_threshold if m.bayes_threshold is not None else float("nan"),
                        bayes_cost=bayes_cost, gap=gap, gap_share=gap_share, threshold=m.threshold,
                        conf=settings.confidence, low=ci["bayes_gap"][0], high=ci["bayes_gap"][1],
                        band=settings.saving_share[0],
                    ),
                    metrics={"bayes_threshold": m.bayes_threshold, "bayes_expected_cost": bayes_cost,
                             "optimal_threshold": m.threshold, "gap": gap, "gap_ci": list(ci["bayes_gap"])},
                )
            )

    # Who pays for the errors.
    sensitive = ctx.data.sensitive
    if sensitive and m.groups is not None:
        groups = judge_groups(m.groups, n, m.current, min_rows=settings.min_group_rows,
                              ratio_limit=settings.group_cost_ratio, alpha=alpha)
        metrics["groups"] = {col: [g.to_metrics() for g in groups if g.column == col] for col in sensitive}
        tests = sum(g.p_adjusted is not None for g in groups)
        for g in groups:
            if not g.flagged:
                continue
            findings.append(
                Finding(
                    code="group_pays_disproportionate_cost",
                    severity="high" if g.ratio >= HIGH_GROUP_RATIO else "medium",
                    message=GROUP_SHARE.format(
                        group=g.label, cost_share=g.cost_share, row_share=g.row_share, rows=g.rows,
                        group_cost=g.expected_cost, overall=current, ratio=g.ratio, limit=settings.group_cost_ratio,
                        p=g.p_adjusted, tests=tests,
                    ),
                    features=(g.column,),
                    slice=g.slice,
                    metrics=g.to_metrics(),
                )
            )
    return findings
