"""Thresholds -> findings. A shift is a finding only when it is both significant (Holm-corrected
over every test the probe made) and at least its stated effect size, so a large audit does not
turn trivial shifts into alarms and a small one does not make noise look like a shift."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from auditkit import Finding, Severity
from probes.drift.checks import Check, shown
from probes.drift.domain import DomainResult
from probes.drift.messages import (
    CATEGORICAL_DETAIL,
    DOMAIN_MESSAGE,
    HINTS,
    LABEL_MESSAGE,
    MEAN_DETAIL,
    MISSING_FALL_MESSAGE,
    MISSING_RISE_MESSAGE,
    NULL_TOKEN_MESSAGE,
    NUMERIC_DETAIL,
    OUTPUT_MESSAGE,
    RANGE_MESSAGE,
    SHIFT_MESSAGE,
    SKEW_MESSAGE,
    TYPE_MESSAGE,
    UNSEEN_MESSAGE,
)
from probes.drift.skew import SkewCounts
from probes.drift.tokens import MISSING

__all__ = ["Judged", "judge"]


@dataclass
class Judged:
    findings: list[Finding]
    flagged: dict[str, Severity]  # feature -> worst severity of a finding naming it
    tests: int


def _fmt_q(q: dict[str, float]) -> str:
    return "/".join(f"{v:.3g}" for v in q.values()) if q else "n/a"


def _spelling(spelling: str) -> str:
    return "a real gap" if spelling == MISSING else shown(spelling)


def judge(
    checks: list[Check],
    domain: DomainResult | None,
    skew: dict[str, SkewCounts] | None,
    probe: Any,
    output_source: tuple[str, str],
) -> Judged:
    tests = len(checks) + (domain is not None)
    from probes.drift.stats import holm

    adjusted = holm([c.p for c in checks] + ([domain.p] if domain is not None else []))
    for c, p in zip(checks, adjusted):
        c.p_adjusted = float(p)
    common = {"tests": tests, "level": probe.confidence}
    findings: list[Finding] = []

    def significant(c: Check) -> bool:
        return c.p_adjusted < probe.alpha

    by_feature: dict[str, list[Check]] = defaultdict(list)
    for c in checks:
        by_feature[c.feature].append(c)
    for feature, mine in by_feature.items():
        findings += _missing_findings(feature, [c for c in mine if c.code == "missing_spelling"], probe, common, significant)
        for c in mine:
            if c.code == "missing_spelling" or not significant(c) or c.effect < c.threshold:
                continue
            findings.append(_finding(c, probe, common, output_source))
    if domain is not None:
        p_dom = float(adjusted[-1])
        if p_dom < probe.alpha and domain.auc >= probe.min_domain_auc:
            names = [f for f, _ in domain.separating]
            separating = ", ".join(f"{f!r} (the AUC falls by {d:.3f} when it is shuffled)" for f, d in domain.separating) or "none alone"
            findings.append(Finding(
                "domain_shift", Severity.MEDIUM,
                DOMAIN_MESSAGE.format(auc=domain.auc, low=domain.low, high=domain.high, threshold=probe.min_domain_auc,
                                      rows=domain.rows, separating=separating, p_adjusted=p_dom,
                                      hint=HINTS["domain_shift"], **common),
                features=tuple(names),
                metrics={"auc": domain.auc, "low": domain.low, "high": domain.high, "p_adjusted": p_dom,
                         "separating": [{"feature": f, "auc_drop": d} for f, d in domain.separating]},
            ))
    for feature, counts in (skew or {}).items():
        share = counts.differ / counts.joined if counts.joined else 0.0
        if counts.differ and share >= probe.min_share:
            by = f", by {counts.mean_abs:.3g} on average and at most {counts.max_abs:.3g}" if counts.mean_abs is not None else ""
            examples = "; ".join(f"id {e['id']!r}: {e['reference']!r} in training, {e['audit']!r} in serving" for e in counts.examples[:3])
            findings.append(Finding(
                "training_serving_skew", Severity.HIGH,
                SKEW_MESSAGE.format(feature=feature, differ=counts.differ, joined=counts.joined, share=share,
                                    threshold=probe.min_share, by=by, examples=examples, hint=HINTS["training_serving_skew"]),
                features=(feature,),
                metrics={"joined": counts.joined, "differ": counts.differ, "share": share, "mean_abs": counts.mean_abs,
                         "max_abs": counts.max_abs},
                examples=tuple(counts.examples),
            ))
    findings.sort(key=lambda f: (-f.severity.rank, f.code, f.features))
    flagged: dict[str, Severity] = {}
    for f in findings:
        for name in f.features:
            if name not in flagged or f.severity > flagged[name]:
                flagged[name] = f.severity
    return Judged(findings, flagged, tests)


def _missing_findings(feature: str, mine: list[Check], probe: Any, common: dict[str, Any], significant) -> list[Finding]:
    rose = [c for c in mine if significant(c) and c.effect >= probe.min_share]
    fell = [c for c in mine if significant(c) and -c.effect >= probe.min_share]
    if not rose and not fell:
        return []

    def side(cs: list[Check], key: str) -> str:
        return " and ".join(
            f"{_spelling(c.details['spelling'])} in {c.details[key + '_rows']} rows ({c.details[key + '_share']:.1%})" for c in cs
        )

    p = min(c.p_adjusted for c in rose + fell)
    metrics = {"spellings": [dict(c.details) for c in mine], "p_adjusted": p}
    if rose and fell:
        message = NULL_TOKEN_MESSAGE.format(feature=feature, old=side(fell, "reference"), new=side(rose, "audit"),
                                            threshold=probe.min_share, p_adjusted=p, hint=HINTS["null_token_changed"], **common)
        return [Finding("null_token_changed", Severity.HIGH, message, features=(feature,), metrics=metrics)]
    changes = "; ".join(
        f"{_spelling(c.details['spelling'])} in {c.details['reference_share']:.1%} of reference rows, {c.details['audit_share']:.1%} now"
        for c in rose or fell
    )
    if rose:
        message = MISSING_RISE_MESSAGE.format(feature=feature, changes=changes, threshold=probe.min_share, p_adjusted=p,
                                              hint=HINTS["missing_rise"], **common)
        return [Finding("missing_rise", Severity.MEDIUM, message, features=(feature,), metrics=metrics)]
    message = MISSING_FALL_MESSAGE.format(feature=feature, changes=changes, threshold=probe.min_share, p_adjusted=p, **common)
    return [Finding("missing_fall", Severity.LOW, message, features=(feature,), metrics=metrics)]


def _finding(c: Check, probe: Any, common: dict[str, Any], output_source: tuple[str, str]) -> Finding:
    d = c.details
    base = dict(feature=c.feature, effect=c.effect, low=c.low, high=c.high, threshold=c.threshold,
                p_adjusted=c.p_adjusted, **common)
    metrics = {"effect": c.effect, "low": c.low, "high": c.high, "threshold": c.threshold, "measure": c.measure,
               "p": c.p, "p_adjusted": c.p_adjusted, **d}
    severity = Severity.MEDIUM
    if c.code in ("distribution_shift", "output_shift", "label_shift"):
        if c.measure == "mean_sd":
            detail = MEAN_DETAIL.format(reference_mean=d["reference_mean"], audit_mean=d["audit_mean"], **base)
        elif c.measure == "wasserstein_sd":
            detail = NUMERIC_DETAIL.format(ref_q=_fmt_q(d["reference_quantiles"]), audit_q=_fmt_q(d["audit_quantiles"]), **base)
        else:
            moved = ", ".join(f"{m['value']} {m['reference_share']:.1%} -> {m['audit_share']:.1%}" for m in d["moved"])
            detail = CATEGORICAL_DETAIL.format(moved=moved, **base)
        if c.code == "distribution_shift":
            message = SHIFT_MESSAGE.format(detail=detail, hint=HINTS[c.code], **base)
            return Finding(c.code, severity, message, features=(c.feature,), metrics=metrics)
        if c.code == "output_shift":
            what, source = output_source
            if c.effect >= probe.high_factor * c.threshold:
                severity = Severity.HIGH
            message = OUTPUT_MESSAGE.format(what=what, detail=detail, source=source, p_adjusted=c.p_adjusted,
                                            hint=HINTS[c.code], **common)
            return Finding(c.code, severity, message, features=(), metrics=metrics)
        message = LABEL_MESSAGE.format(feature=c.feature, detail=detail, p_adjusted=c.p_adjusted, hint=HINTS[c.code], **common)
        return Finding(c.code, severity, message, features=(c.feature,), metrics=metrics)
    if c.code == "unseen_categories":
        top = ", ".join(f"{t['value']} ({t['rows']} rows)" for t in d["top"])
        message = UNSEEN_MESSAGE.format(categories=d["categories"], ies="y" if d["categories"] == 1 else "ies",
                                        share=d["share"], expected=d["expected"], top=top, hint=HINTS[c.code], **base)
    elif c.code == "out_of_range":
        message = RANGE_MESSAGE.format(rows=d["rows"], reference_min=d["reference_min"], reference_max=d["reference_max"],
                                       share=d["share"], below=d["below"], above=d["above"], audit_min=d["audit_min"],
                                       audit_max=d["audit_max"], expected=d["expected"], hint=HINTS[c.code], **base)
    elif c.code == "type_changed":
        severity = Severity.HIGH
        message = TYPE_MESSAGE.format(share=c.effect, new_kinds=" and ".join(d["new_kinds"]),
                                      reference_kinds=dict(d["reference_kinds"]), audit_kinds=dict(d["audit_kinds"]),
                                      examples=", ".join(d["examples"]), hint=HINTS[c.code], **base)
    else:  # pragma: no cover - every check code is judged above
        raise KeyError(c.code)
    return Finding(c.code, severity, message, features=(c.feature,), metrics=metrics)
