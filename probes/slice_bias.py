"""The ``slice_bias`` probe: the declared groups and the hidden slices where the model fails."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

from auditkit import AuditContext, Evidence, Finding, Needs, Predictions, Probe, Severity, require
from probes import _groups, _shrink, _sliceline
from probes._groups import CLASSIFICATION_KEYS, REGRESSION_KEYS, Disparity, GroupTable

__all__ = [
    "DISPARITY_MESSAGE",
    "IMPACT",
    "INCOMPLETE_MESSAGE",
    "INSUFFICIENT_MESSAGE",
    "SLICE_CONFIDENCE_MESSAGE",
    "SLICE_MESSAGE",
    "SLICE_MESSAGE_REGRESSION",
    "WEAK_EVIDENCE_MESSAGE",
    "WHAT",
    "SliceBias",
]

DISPARITY_MESSAGE = (
    "{what} differs across {feature!r}: {worse_group} {worse_value:.3f} vs {better_group} {better_value:.3f}; "
    "ratio {ratio:.2f} ({level:.0%} CI {ratio_lo:.2f}-{ratio_hi:.2f}, threshold {ratio_threshold:.2f}), "
    "difference {difference:.3f} (CI {difference_lo:.3f}-{difference_hi:.3f}, threshold {difference_threshold:.3f}), "
    "p = {p_adjusted:.2g} (Holm, {tests} tests). {impact}"
)
WHAT = {
    "demographic_parity": "Selection rate (share predicted {positive!r})",
    "false_positive_rate": "False positive rate (share of actual non-{positive!r} predicted {positive!r})",
    "false_negative_rate": "False negative rate (share of actual {positive!r} not predicted so)",
    "error_rate": "Error rate",
    "mae": "Mean absolute error",
}
IMPACT = {
    ("demographic_parity", "benefit"): "{worse_group} receives the favourable outcome {positive!r} less often.",
    ("demographic_parity", "risk"): "{worse_group} is flagged {positive!r} more often.",
    ("false_positive_rate", "risk"): (
        "The gap is in punitive errors (false positives): people in {worse_group} are wrongly flagged "
        "{positive!r} more often."
    ),
    ("false_positive_rate", "benefit"): (
        "The gap is in false positives, which grant {positive!r} undeservedly: an error in favour of "
        "{worse_group}, so the other groups are held to a stricter standard."
    ),
    ("false_negative_rate", "benefit"): (
        "The gap is in assistive errors (false negatives): people in {worse_group} who merit {positive!r} "
        "are denied it more often."
    ),
    ("false_negative_rate", "risk"): (
        "The gap is in false negatives, which miss real {positive!r} cases: a lenient error in favour "
        "of {worse_group}, so the other groups are flagged more strictly."
    ),
    ("error_rate", "benefit"): "The model is wrong more often for {worse_group}.",
    ("error_rate", "risk"): "The model is wrong more often for {worse_group}.",
    ("mae", "benefit"): "The model's predictions are further off for {worse_group}.",
    ("mae", "risk"): "The model's predictions are further off for {worse_group}.",
}
WEAK_EVIDENCE_MESSAGE = (
    "The evidence is weak (p = {p_adjusted:.2g}, not below {strong_significance:g}): "
    "a gap worth a look, not yet one to fail on."
)
INSUFFICIENT_MESSAGE = (
    "Group {group} of {feature!r} has {count} row(s), fewer than min_group_size={min_group_size}: "
    "too few to judge, so it is left out of the disparities (insufficient evidence, not a pass)."
)
SLICE_MESSAGE = (
    "The model errs on {error:.1%} of the {support} rows where {where} ({share:.1%} of the data), "
    "against {overall:.1%} overall ({error_ratio:.2f}x, threshold {min_error_ratio:.2f}x); "
    "p = {q_value:.2g} corrected for the {tested} slices tried (Bonferroni, weighted by number of conditions)."
)
SLICE_MESSAGE_REGRESSION = (
    "The model's mean absolute error is {error:.4g} on the {support} rows where {where} ({share:.1%} of the data), "
    "against {overall:.4g} overall ({error_ratio:.2f}x, threshold {min_error_ratio:.2f}x); "
    "p = {q_value:.2g} corrected for the {tested} slices tried (Bonferroni, weighted by number of conditions)."
)
INCOMPLETE_MESSAGE = (
    "The slice search ran out of its {budget:g} s budget after counting {tables} column combinations "
    "({tested} slices tested): slices among the rest were not searched (raise search_budget_s or min_support)."
)
SLICE_CONFIDENCE_MESSAGE = (
    "Its own probabilities expected {expected_error:.1%} errors there (recalibrated on the other "
    "rows): it is confidently wrong, {confidence_ratio:.2f}x beyond its confidence "
    "(p = {confidence_q:.2g}, corrected the same way)."
)

_CODES = {
    "demographic_parity": "selection_rate_disparity",
    "false_positive_rate": "false_positive_rate_disparity",
    "false_negative_rate": "false_negative_rate_disparity",
    "error_rate": "error_rate_disparity",
    "mae": "mae_disparity",
}
# Which error hurts the people it falls on, by what a positive prediction means for them.
_HARMFUL_ERROR = {"benefit": "false_negative_rate", "risk": "false_positive_rate"}
_ERROR_KIND = {
    ("false_positive_rate", "risk"): "punitive",
    ("false_positive_rate", "benefit"): "favourable",
    ("false_negative_rate", "benefit"): "assistive",
    ("false_negative_rate", "risk"): "lenient",
}
# A gap is high when the worse-off group gets under half the better-off group's rate;
# a discovered slice when the model errs there twice as often as overall.
_HIGH_RATIO = 0.5
_HIGH_ERROR_RATIO = 2.0
# Searched slices sharing this much of their rows (intersection over union) are near-copies.
_NEAR_COPY = 0.8
# How many searched slices are shrunk: at least this many per slice reported, and as many
# as fit in this many rows' worth of passes (all of them up to about 50k rows).
_POLISHED_PER_REPORTED = 4
_POLISH_ROWS = 20_000_000
# No slice is judged on fewer rows than this, whatever fraction min_support gives.
_MIN_SLICE_ROWS = 30
# Platt scaling of the model's stated error probabilities: bins of their log-odds, and how
# close to 0 or 1 a stated probability is taken at face value.
_PLATT_BINS = 1024
_PLATT_CLIP = 1e-6
_NEWTON_STEPS = 50


@dataclass(frozen=True, kw_only=True)
class SliceBias(Probe):
    """Groups and slices where the model does worse than on everyone else.

    **Declared groups.** For every ``sensitive`` column (and every pair of them
    when ``intersections`` is set) the per-group metrics at the model's own
    decision rule, through fairlearn's ``MetricFrame``: count, selection rate,
    accuracy, false positive, false negative and true positive rates, and
    precision (regression: MAE and RMSE). Numeric sensitive columns are banded:
    ages by ``age_bands`` (the bands reports use), anything else by quartiles
    with rounded edges; a numeric column with ten values or fewer is read as codes.
    Between the supported groups, the disparities: demographic parity
    (selection rate), FPR and FNR gaps, and equalized odds (the larger of the
    TPR and FPR gaps), each as the largest difference and the smallest ratio
    with a bootstrap CI. A gap is a finding when it is large, its ratio below
    ``ratio_threshold`` (0.8: the four-fifths rule of adverse impact) and its
    difference at least ``difference_threshold`` (0.05, so a 1% vs 2% FPR is not
    flagged on its ratio alone), *and* significant: the worst-vs-best two-proportion
    test, Bonferroni over the pairs of groups and Holm over all the gaps tested
    (every rate of every sensitive column and intersection), below
    ``significance``. Medium or high severity takes stronger evidence, below
    ``strong_significance`` (0.01); between the two the gap is a low finding,
    worth a look. The gaps are tested a handful of times per audit and the
    groups' own rates are noisy: at 0.05, a large-looking gap on a model that
    treats the groups alike would fail one audit in twenty on this test alone,
    before any other probe has spoken. Equalized odds is reported, not flagged: its finding
    is the FPR or FNR gap behind it, which says which error it is. Whether a
    false positive is punitive or a false negative denies an assistive outcome
    depends on what the positive class means: ``positive_outcome`` says it
    (``"benefit"``: a loan, ``'>50K'``; ``"risk"``: a fraud or recidivism flag).
    Groups with fewer than ``min_group_size`` rows (30, the usual floor for a
    rate's normal approximation) are reported as insufficient evidence, never
    flagged and never silently passed. Multiclass models are compared on error
    rate, regressors on MAE (ratio only: the difference has the target's units).

    **Discovered slices.** A SliceLine search (Sagadeeva & Boehm, 2021) over
    conjunctions of up to ``max_conditions`` conditions on distinct columns:
    category values (the ``max_levels`` most frequent), numeric ranges cut at
    ``numeric_bins`` quantiles (``<``, ``>=``, ``between``) and nulls, among
    those with at least ``min_support`` of the rows (1%, and never fewer than
    30: a smaller slice is rarely worth a fix, and a larger floor prunes the
    search). Every slice it evaluates is tested against the rest (the search
    ranks by a binomial tail for classification errors; a slice judged gets
    Fisher's exact test; absolute errors, a z-test), corrected by
    Bonferroni over all of them, weighted so that each number of conditions
    gets an equal share of the error budget (there are hundreds of
    one-condition slices, tens of thousands of pairs, millions of triples: a
    sharp pair should not need the evidence of one picked out of millions).
    Bonferroni, not Benjamini-Hochberg: the slices overlap, one real problem
    makes thousands of its near-copies significant, and a false-discovery
    budget growing with them would let it vouch for a false slice beside it.
    The candidates are the exact top slices by SliceLine's score
    (``error_weight`` 0.95 as in the paper: error first, size second) and the
    likeliest findings: slices erring at least ``min_error_ratio`` times the
    overall error, every condition of which matters, by their evidence. The
    score is no filter for those: it discounts a slice of 5% of the rows by
    more than its error doubling gains. The candidates are then shrunk to
    minimal reproducers, as hypothesis shrinks a failing example, a step taken
    only if a finding stays a finding: a condition goes if the rows it shuts
    out are not significantly better off (Fisher's test, Bonferroni over the
    conditions searched); a ``<`` / ``>=`` cut moves to where the slice's excess
    error is most significant; a broad slice whose excess sits in a narrower
    core is replaced by the core. A slice is a finding when its error is at
    least ``min_error_ratio`` times the overall error (1.5) and significant
    both as shrunk and as a slice the search itself tested (the one it found,
    or the shrunk one with its cuts put back on the search's grid): the
    correction covers those. With labels only, a hard region (errors near the
    decision boundary) cannot be told from a weak one. With probabilities it
    can: the slice must also err ``min_error_ratio`` times more than the model's
    own probabilities expect there, tested on every slice searched and
    corrected the same way, so a sound model that knows where it is unsure
    stays quiet. Those probabilities are first recalibrated (Platt scaling, on
    the rows outside the slice judged): few models are calibrated as they
    come, and taken at its word an overconfident model errs "beyond its
    confidence" on every group of its confident rows. Findings are judged
    before slices sharing most rows are merged into one problem, so a broad
    slice that is no finding never hides one inside it, and a finding that
    overlaps one already kept must still fail without its rows (a wider slice
    around a finding is not a second problem). The ``top_k`` reported are the
    findings, strongest evidence first, then the rest by score. A search cut
    short by ``search_budget_s`` says so.
    """

    name: ClassVar[str] = "slice_bias"
    needs: ClassVar[Needs] = Needs(tasks=("binary", "multiclass", "regression"))

    positive_outcome: Literal["benefit", "risk"] = "benefit"
    intersections: bool = False
    min_group_size: int = 30
    ratio_threshold: float = 0.8
    difference_threshold: float = 0.05
    significance: float = 0.05
    strong_significance: float = 0.01
    n_bootstrap: int = 1000
    age_bands: tuple[float, ...] = (25, 35, 45, 55, 65)
    sensitive_bins: int = 4
    discover: bool = True
    max_conditions: int = 3
    min_support: float = 0.01
    numeric_bins: int = 10
    max_levels: int = 30
    error_weight: float = 0.95
    min_error_ratio: float = 1.5
    top_k: int = 5
    search_budget_s: float = 120.0

    def __post_init__(self) -> None:
        require(self.positive_outcome in ("benefit", "risk"), "positive_outcome must be 'benefit' or 'risk'")
        require(int(self.min_group_size) >= 1, "min_group_size must be a positive number of rows")
        require(0 < self.ratio_threshold <= 1, "ratio_threshold must be in (0, 1]")
        require(0 <= self.difference_threshold < 1, "difference_threshold must be in [0, 1)")
        require(0 < self.significance < 0.5, "significance must be in (0, 0.5)")
        require(
            0 < self.strong_significance <= self.significance,
            "strong_significance must be in (0, significance]",
        )
        require(int(self.n_bootstrap) >= 100, "n_bootstrap must be at least 100")
        require(
            all(np.isfinite(b) for b in self.age_bands) and list(self.age_bands) == sorted(set(self.age_bands)),
            "age_bands must be increasing numbers",
        )
        require(int(self.sensitive_bins) >= 2, "sensitive_bins must be at least 2")
        require(self.max_conditions in (1, 2, 3), "max_conditions must be 1, 2 or 3")
        require(0 < self.min_support < 1, "min_support must be a fraction of the rows in (0, 1)")
        require(int(self.numeric_bins) >= 2, "numeric_bins must be at least 2")
        require(int(self.max_levels) >= 1, "max_levels must be at least 1")
        require(0 < self.error_weight < 1, "error_weight must be in (0, 1)")
        require(self.min_error_ratio >= 1, "min_error_ratio must be at least 1")
        require(int(self.top_k) >= 1, "top_k must be at least 1")
        require(self.search_budget_s > 0, "search_budget_s must be positive")

    # -- run -----------------------------------------------------------------------

    def run(self, ctx: AuditContext) -> Evidence:
        outcome = _Outcome.of(ctx)
        metrics: dict[str, Any] = {"task": outcome.task}
        if outcome.task != "regression":
            metrics["positive_class"] = outcome.positive
            metrics["positive_outcome"] = self.positive_outcome
        findings: list[Finding] = []
        if ctx.data.sensitive:
            self._groups(ctx, outcome, metrics, findings)
        else:
            metrics["groups"] = []
            metrics["disparities"] = []
            metrics["insufficient"] = []
        if self.discover:
            self._slices(ctx, outcome, metrics, findings)
        return Evidence(metrics=metrics, findings=findings)

    # -- declared groups --------------------------------------------------------------

    def _groups(self, ctx: AuditContext, outcome: _Outcome, metrics: dict[str, Any], findings: list[Finding]) -> None:
        grouping = _groups.groupings(
            ctx.data.frame,
            ctx.data.sensitive,
            intersections=self.intersections,
            age_bands=self.age_bands,
            bins=int(self.sensitive_bins),
        )
        tables = [
            _groups.group_metrics(g, outcome.y_true, outcome.y_pred, outcome.task, outcome.n_classes)
            for g in grouping
        ]
        keys = REGRESSION_KEYS if outcome.task == "regression" else CLASSIFICATION_KEYS
        metrics["groups"] = [entry for t in tables for entry in t.entries(keys)]

        insufficient = []
        for t in tables:
            counts = t.by_group["count"].to_numpy()
            for i in np.flatnonzero(counts < self.min_group_size):
                insufficient.append((t.grouping, int(i), int(counts[i])))
        metrics["insufficient"] = [
            {"feature": g.feature, "group": g.labels[i], "count": c} for g, i, c in insufficient
        ]

        judged, reported = self._disparities(tables, outcome, ctx.rng)
        level = 1 - self.significance
        adjusted = _groups.holm([d.p_value for d in judged])
        for d, p_adj in zip(judged, adjusted):
            entry = d.to_dict()
            large = d.ratio < self.ratio_threshold and (
                d.name == "mae" or d.difference >= self.difference_threshold
            )
            significant = p_adj < self.significance
            entry.update(p_adjusted=float(p_adj), large=bool(large), significant=bool(significant),
                         strong=bool(p_adj < self.strong_significance))
            reported.append(entry)
            if large and significant:
                findings.append(self._disparity_finding(d, float(p_adj), len(judged), outcome, level))
        metrics["disparities"] = reported

        for g, i, count in insufficient:
            findings.append(
                Finding(
                    code="insufficient_evidence",
                    severity=Severity.INFO,
                    message=INSUFFICIENT_MESSAGE.format(
                        group=_show_group(g, i), feature=g.feature, count=count, min_group_size=self.min_group_size
                    ),
                    features=g.columns,
                    slice=g.slices[i],
                    metrics={"feature": g.feature, "group": g.labels[i], "count": count},
                )
            )

    def _disparities(
        self, tables: list[GroupTable], outcome: _Outcome, rng: np.random.Generator
    ) -> tuple[list[Disparity], list[dict[str, Any]]]:
        """The gaps that may become findings, and those only reported (TPR, equalized odds)."""
        level = 1 - self.significance
        judged: list[Disparity] = []
        reported: list[dict[str, Any]] = []
        common = {"min_group_size": int(self.min_group_size), "n_bootstrap": int(self.n_bootstrap), "level": level}
        for t in tables:
            if outcome.task == "regression":
                d = _groups.regression_disparity(t, rng=rng, **common)
                judged.extend([d] if d is not None else [])
                continue
            if outcome.task == "multiclass":
                judged.extend(_groups.rate_disparities(t, [_groups.ERROR], rng=rng, **common))
                continue
            flip = ("demographic_parity",) if self.positive_outcome == "risk" else ()
            found = {
                d.name: d
                for d in _groups.rate_disparities(
                    t, [_groups.SELECTION, _groups.FPR, _groups.FNR, _groups.TPR], flip=flip, rng=rng, **common
                )
            }
            flagged = ("demographic_parity", "false_positive_rate", "false_negative_rate")
            judged.extend(found[name] for name in flagged if name in found)
            if "true_positive_rate" in found:
                tpr = found["true_positive_rate"]
                reported.append(dict(tpr.to_dict(), large=None, significant=None))
                if "false_positive_rate" in found:
                    odds = _groups.equalized_odds(tpr, found["false_positive_rate"], level)
                    reported.append(dict(odds, large=None, significant=None))
        return judged, reported

    def _disparity_finding(
        self, d: Disparity, p_adjusted: float, tests: int, outcome: _Outcome, level: float
    ) -> Finding:
        g = d.grouping
        names = {"worse_group": _show_group(g, d.worse), "better_group": _show_group(g, d.better)}
        positive = outcome.positive
        message = DISPARITY_MESSAGE.format(
            what=WHAT[d.name].format(positive=positive),
            feature=g.feature,
            worse_value=d.worse_value,
            better_value=d.better_value,
            ratio=d.ratio,
            ratio_lo=d.ratio_ci[0],
            ratio_hi=d.ratio_ci[1],
            ratio_threshold=self.ratio_threshold,
            difference=d.difference,
            difference_lo=d.difference_ci[0],
            difference_hi=d.difference_ci[1],
            difference_threshold=self.difference_threshold,
            level=level,
            p_adjusted=p_adjusted,
            tests=tests,
            impact=IMPACT[(d.name, self.positive_outcome)].format(positive=positive, **names),
            **names,
        )
        severity = Severity.HIGH if d.ratio < _HIGH_RATIO else Severity.MEDIUM
        error_kind = _ERROR_KIND.get((d.name, self.positive_outcome))
        if error_kind in ("favourable", "lenient"):
            # The error favours the group it falls on; the harm is to the others, and indirect.
            severity = Severity.MEDIUM if severity is Severity.HIGH else Severity.LOW
        if p_adjusted >= self.strong_significance:
            severity = Severity.LOW
            message += " " + WEAK_EVIDENCE_MESSAGE.format(
                p_adjusted=p_adjusted, strong_significance=self.strong_significance
            )
        return Finding(
            code=_CODES[d.name],
            severity=severity,
            message=message,
            features=g.columns,
            slice=g.slices[d.worse],
            metrics=dict(
                d.to_dict(),
                p_adjusted=p_adjusted,
                strong_significance=self.strong_significance,
                ratio_threshold=self.ratio_threshold,
                difference_threshold=self.difference_threshold,
                error_kind=error_kind,
                positive_class=None if outcome.task == "regression" else positive,
            ),
        )

    # -- discovered slices --------------------------------------------------------------

    def _slices(self, ctx: AuditContext, outcome: _Outcome, metrics: dict[str, Any], findings: list[Finding]) -> None:
        data = ctx.data
        n = data.n_rows
        min_rows = max(_MIN_SLICE_ROWS, int(np.ceil(self.min_support * n)))
        columns = _sliceline.encode(
            data.X, data.kinds, bins=int(self.numeric_bins), max_levels=int(self.max_levels), min_rows=min_rows
        )
        budget = min(self.search_budget_s, 0.8 * ctx.timeout_s)  # leave the runner time to collect
        found = _sliceline.search(
            columns,
            outcome.error,
            zero_one=outcome.task != "regression",
            max_conditions=int(self.max_conditions),
            min_rows=min_rows,
            error_weight=self.error_weight,
            k=max(100, 20 * int(self.top_k)),
            deadline_s=budget,
            expected=outcome.recalibrated,
            min_error_ratio=self.min_error_ratio,
        )
        # The search chose each condition among all of them, so the evidence that a condition
        # matters must clear a level corrected for that many choices (Bonferroni).
        keep_level = self.significance / max(1, sum(len(c.conditions) for c in columns))
        judge = _Judge(found, outcome, columns, significance=self.significance, min_error_ratio=self.min_error_ratio)
        kept = self._distinct_slices(found, columns, outcome, keep_level, min_rows, judge)
        reported: list[dict[str, Any]] = []
        for candidate in kept[: self.top_k]:
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
            if entry["significant"]:
                template = SLICE_MESSAGE_REGRESSION if outcome.task == "regression" else SLICE_MESSAGE
                message = template.format(
                    error=entry["error"],
                    support=entry["support"],
                    where=" and ".join(c.describe() for c in conds),
                    share=entry["share"],
                    overall=entry["overall_error"],
                    error_ratio=entry["error_ratio"],
                    min_error_ratio=self.min_error_ratio,
                    q_value=entry["q_value"],
                    tested=found.tested,
                )
                if "confidence_q" in entry:
                    message += " " + SLICE_CONFIDENCE_MESSAGE.format(**entry)
                findings.append(
                    Finding(
                        code="underperforming_slice",
                        severity=Severity.HIGH if entry["error_ratio"] >= _HIGH_ERROR_RATIO else Severity.MEDIUM,
                        message=message,
                        features=tuple(dict.fromkeys(c.feature for c in conds)),
                        slice=conds,
                        metrics={k: v for k, v in entry.items() if k != "slice"},
                        examples=tuple(data.frame.index[candidate.mask][:3].tolist()),
                    )
                )
        metrics["slices"] = reported
        if not found.complete:
            findings.append(
                Finding(
                    code="slice_search_incomplete",
                    severity=Severity.INFO,
                    message=INCOMPLETE_MESSAGE.format(
                        budget=budget, tables=found.tables, tested=found.tested
                    ),
                    metrics={"tables_counted": found.tables, "slices_tested": found.tested},
                )
            )
        metrics["slice_search"] = {
            "rows": n,
            "columns": len(columns),
            "conditions": int(sum(len(c.conditions) for c in columns)),
            "min_support_rows": min_rows,
            "max_conditions": int(self.max_conditions),
            "slices_tested": found.tested,
            "slices_tested_by_conditions": list(found.tested_by_conditions),
            "tables_counted": found.tables,
            "complete": found.complete,
            "overall_error": found.mean_error,
            # No timing here: metrics must be the same on every run (durations live in duration_s).
        }

    def _distinct_slices(
        self,
        found: _sliceline.Search,
        columns: list[_sliceline.Column],
        outcome: _Outcome,
        level: float,
        min_rows: int,
        judge: _Judge,
    ) -> list[_Candidate]:
        """The searched slices, shrunk, one per problem: findings first, strongest evidence
        first, then the rest by score.

        Candidates alternate between the best by score and the likeliest findings: a
        small slice that explains a larger one's excess error ranks low by score.
        Near-copies (most rows shared) are dropped before shrinking, which costs a
        few passes over the rows each. A shrunk slice whose excess error sits in a
        core one condition narrower is replaced by that core, shrunk in turn. Every
        shrunk slice is judged before any is dropped as a copy of another, so that a
        broad slice that is no finding never stands in for a finding inside it.
        """
        error = outcome.error
        zero_one = outcome.task != "regression"
        n = len(error)
        by_name = {c.name: c for c in columns}
        cache: dict[tuple[int, int], np.ndarray] = {}

        def rows(c: int, j: int) -> np.ndarray:
            if (c, j) not in cache:
                cache[(c, j)] = columns[c].rows(j)
            return cache[(c, j)]

        seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
        shrunk_seen: set[tuple[Any, ...]] = set()
        raw_masks: list[np.ndarray] = []
        candidates: list[_Candidate] = []
        # Shrinking costs a few passes over the rows: all candidates on small data, fewer on large.
        budget = max(_POLISHED_PER_REPORTED * int(self.top_k), _POLISH_ROWS // n)
        for f in _interleave(found.top, found.most_significant):
            if budget == 0:
                break
            if (f.columns, f.conditions) in seen:
                continue
            seen.add((f.columns, f.conditions))
            pieces = [_shrink.Piece(columns[c].conditions[j], rows(c, j)) for c, j in zip(f.columns, f.conditions)]
            raw = _shrink.rows_of(pieces, n)
            if any(_jaccard(raw, m) >= _NEAR_COPY for m in raw_masks):
                continue
            raw_masks.append(raw)
            budget -= 1
            fails = judge.fails(f)
            pieces = _shrink.shrink(
                pieces, by_name, error, zero_one=zero_one, level=level, min_rows=min_rows, fails=fails
            )
            for _ in range(int(self.max_conditions)):
                narrowed = _shrink.core(
                    pieces, columns, error, zero_one=zero_one, level=level, min_rows=min_rows,
                    max_conditions=int(self.max_conditions), fails=fails,
                )
                if narrowed is None:
                    break
                pieces = _shrink.shrink(
                    narrowed, by_name, error, zero_one=zero_one, level=level, min_rows=min_rows, fails=fails
                )
            key = tuple(sorted((p.condition.feature, p.condition.op, repr(p.condition.value)) for p in pieces))
            if key in shrunk_seen:
                continue  # shrunk to a slice already judged
            shrunk_seen.add(key)
            mask = _shrink.rows_of(pieces, n)
            significant, evidence = judge.verdict(f, pieces, mask)
            score = float(_sliceline.score(mask.sum(), error[mask].sum(), n=n, mean=found.mean_error,
                                           error_weight=self.error_weight))
            candidates.append(_Candidate(f, tuple(pieces), mask, significant, evidence, score))

        candidates.sort(key=lambda c: (not c.significant, c.evidence if c.significant else 0.0, -c.score))
        kept: list[_Candidate] = []
        for c in candidates:
            relations = [_shrink.relation(c.mask, k.mask, error, zero_one=zero_one, level=level) for k in kept]
            if "duplicate" in relations:
                continue
            if c.significant:
                # A finding overlapping those already kept is a problem of its own only if it
                # still fails without their rows (a wider slice around a finding is one through
                # the rows of that one).
                others = [k.mask for k in kept if k.significant and np.any(k.mask & c.mask)]
                if others and not judge.stands_alone(c.mask & ~np.logical_or.reduce(others), level):
                    continue
            if any(r == "replaces" and k.significant and not c.significant for k, r in zip(kept, relations)):
                continue  # a core that is no finding does not replace the finding around it
            kept = [k for k, r in zip(kept, relations) if r != "replaces"]
            kept.append(c)
        return kept


@dataclass(frozen=True)
class _Candidate:
    """A searched slice shrunk to its reproducer, with the verdict on it."""

    found: _sliceline.Found  # the slice the search tested, before shrinking
    pieces: tuple[_shrink.Piece, ...]
    mask: np.ndarray
    significant: bool
    evidence: float  # the adjusted p-value a finding rests on (1.0 when it is none)
    score: float


class _Judge:
    """Whether a shrunk slice is a finding, and the numbers it is judged on.

    The search tested slices on its own grid of conditions, and its correction
    covers those alone; shrinking moved cuts to values the search never tried.
    So a finding rests on two things, both significant after the correction: the
    shrunk slice itself, and a slice the search tested that is the same problem,
    whichever has the most evidence: the one the search found, or the shrunk
    slice with each moved cut put back on the grid just below or above it. With
    probabilities, one grid slice must pass both tests (error above the rest,
    and above what the model expects there).
    """

    def __init__(
        self,
        found: _sliceline.Search,
        outcome: _Outcome,
        columns: list[_sliceline.Column],
        *,
        significance: float,
        min_error_ratio: float,
    ) -> None:
        self.found = found
        self.outcome = outcome
        self.columns = columns
        self.by_name = {c.name: c for c in columns}
        self.alpha = significance
        self.min_ratio = min_error_ratio
        self.error = outcome.error
        self.n = len(outcome.error)
        self.total = float(outcome.error.sum())
        self.zero_one = outcome.task != "regression"
        self.absolute = None if self.zero_one else _sliceline.AbsoluteErrorTest(outcome.error)

    def _p(self, mask: np.ndarray) -> tuple[int, float, float]:
        """The slice's rows, errors, and one-sided p-value that it errs more than the rest.

        The search ranks by the binomial tail at the overall error rate, which is
        quick and on the safe side; a slice judged gets the exact test, Fisher's:
        given the errors in all, the slice's share of them is hypergeometric when
        it is no worse than the rest. Absolute errors: Welch's t-test and the
        rank-sum test, both (``_sliceline.AbsoluteErrorTest``).
        """
        size, errors = int(mask.sum()), float(self.error[mask].sum())
        if self.absolute is None:
            p = stats.hypergeom.sf(errors - 1, self.n, self.total, size)
        else:
            p = self.absolute.p(mask)
        return size, errors, float(p)

    def _grid_twins(self, f: _sliceline.Found, pieces: Sequence[_shrink.Piece]) -> Iterator[list[_shrink.Piece]]:
        """The slices the search tested that stand for this one: as found, and as shrunk put on the grid."""
        raw = [_shrink.Piece(self.columns[c].conditions[j], self.columns[c].rows(j))
               for c, j in zip(f.columns, f.conditions)]
        yield raw
        yield from _shrink.on_grid(pieces, self.by_name)

    def stands_alone(self, rows: np.ndarray, level: float) -> bool:
        """Whether these rows fail on their own: erring ``min_error_ratio`` times the overall
        error, significantly more than the other rows at ``level`` and, with probabilities,
        than the model expects there (calibrated on the other rows)."""
        size, errors, p = self._p(rows)
        if size == 0 or errors / size < self.min_ratio * self.found.mean_error or p >= level:
            return False
        if self.outcome.calibration is None:
            return True
        rates = self.outcome.expected_errors(rows)
        return errors >= self.min_ratio * rates.sum() and self.outcome.confidence_p(rows, rates) < level

    def _tested(self, mask: np.ndarray) -> bool:
        size = int(mask.sum())
        return self.found.min_rows <= size < self.n

    def fails(self, f: _sliceline.Found) -> Callable[[Sequence[_shrink.Piece]], bool]:
        """Whether a slice shrunk from ``f`` is a finding (remembered: shrinking asks again)."""
        memo: dict[tuple[Any, ...], bool] = {}

        def fails(pieces: Sequence[_shrink.Piece]) -> bool:
            key = tuple(sorted((p.condition.feature, p.condition.op, repr(p.condition.value)) for p in pieces))
            if key not in memo:
                memo[key] = self.verdict(f, pieces, _shrink.rows_of(pieces, self.n))[0]
            return memo[key]

        return fails

    def verdict(self, f: _sliceline.Found, pieces: Sequence[_shrink.Piece], mask: np.ndarray) -> tuple[bool, float]:
        """(finding or not, the adjusted p-value it rests on), stopping as soon as it is decided."""
        entry = self._judge(f, pieces, mask, thorough=False)
        return entry["significant"], (entry["evidence"] if entry["significant"] else 1.0)

    def entry(self, f: _sliceline.Found, pieces: Sequence[_shrink.Piece], mask: np.ndarray) -> dict[str, Any]:
        """Every number of the verdict, for the report."""
        entry = self._judge(f, pieces, mask, thorough=True)
        del entry["evidence"]
        return entry

    def _judge(
        self, f: _sliceline.Found, pieces: Sequence[_shrink.Piece], mask: np.ndarray, *, thorough: bool
    ) -> dict[str, Any]:
        found, alpha, c = self.found, self.alpha, len(pieces)
        size, errors, p = self._p(mask)
        overall = found.mean_error
        error = errors / size
        ratio = error / overall if overall > 0 else float("inf")
        entry: dict[str, Any] = {
            "support": size,
            "share": size / self.n,
            "error": error,
            "overall_error": overall,
            "error_ratio": ratio,
            "p_value": p,
            "q_value": found.adjust(p, conditions=c),
            "significant": False,
            "evidence": 1.0,
        }
        q_self = entry["q_value"]
        hopeless = ratio < self.min_ratio or q_self >= alpha
        if hopeless and not thorough:
            return entry
        confidence = None
        cq_self = 0.0
        if self.outcome.calibration is not None:
            rates = self.outcome.expected_errors(mask)
            expected = float(rates.sum())
            conf_ratio = errors / expected if expected > 0 else float("inf")
            confidence = {"expected_error": expected / size, "confidence_ratio": conf_ratio,
                          "confidence_p": 1.0, "confidence_q": 1.0}
            entry.update(confidence)
            hopeless = hopeless or conf_ratio < self.min_ratio
            if hopeless and not thorough:
                return entry
            cp = self.outcome.confidence_p(mask, rates)
            cq_self = found.adjust(cp, conditions=c)
            confidence.update(confidence_p=cp, confidence_q=cq_self)
            entry.update(confidence)
            hopeless = hopeless or cq_self >= alpha
            if hopeless and not thorough:
                return entry
        # The best grid slice that stands for this one: the smallest of its adjusted p-values'
        # maximum (with probabilities, one slice must pass both tests).
        best = (float("inf"), 1.0, 1.0)
        seen: set[bytes] = set()
        for twin in self._grid_twins(f, pieces):
            twin_mask = _shrink.rows_of(twin, self.n)
            key = np.packbits(twin_mask).tobytes()
            if key in seen or not self._tested(twin_mask):
                continue
            seen.add(key)
            twin_p = self._p(twin_mask)[2]
            q = found.adjust(twin_p, conditions=len(twin))
            cq = 0.0
            if confidence is not None:
                if q >= min(alpha, best[0]) and not thorough:
                    continue  # cannot beat what is already known
                cq = found.adjust(self.outcome.confidence_p(twin_mask), conditions=len(twin))
            if max(q, cq) < best[0]:
                best = (max(q, cq), q, cq)
        entry["q_value"] = max(q_self, best[1])
        if confidence is not None:
            entry["confidence_q"] = max(cq_self, best[2])
        significant = not hopeless and best[0] < alpha
        entry["significant"] = bool(significant)
        entry["evidence"] = max(q_self, cq_self, best[0])
        return entry


@dataclass(frozen=True)
class _Outcome:
    """The model's outcomes in the probe's terms: class indices (binary: 1 is the
    positive class) or values, and the per-row error slices are judged on."""

    task: str
    y_true: np.ndarray
    y_pred: np.ndarray
    error: np.ndarray
    n_classes: int
    positive: Any
    expected: np.ndarray | None = None  # per row, 1 - the probability the model gave its own label

    @functools.cached_property
    def calibration(self) -> _Calibration | None:
        """The model's stated error probabilities, recalibrated (see ``_Calibration``).

        A binary model's probability of the positive class is what is calibrated
        (Platt's own use), whatever threshold turns it into labels: a model deciding
        at 0.25 states errors up to 0.75 on its positive calls and below 0.25 on its
        negative ones, and one curve through both would misjudge a slice rich in
        either. Other models: whether the label is wrong, against the probability
        that it is.
        """
        if self.expected is None or self.error.sum() <= 0 or self.error.sum() >= len(self.error):
            return None
        if self.task == "binary":
            positive = self.y_pred == 1
            return _Calibration(np.where(positive, 1 - self.expected, self.expected), self.y_true, flip=positive)
        return _Calibration(self.expected, self.error)

    @functools.cached_property
    def recalibrated(self) -> np.ndarray | None:
        """Each row's error probability by the model's own account, recalibrated on all audit rows."""
        return None if self.calibration is None else self.calibration.rates()

    def expected_errors(self, mask: np.ndarray) -> np.ndarray:
        """The error probabilities of the slice's rows, as calibrated on the other rows."""
        assert self.calibration is not None
        return self.calibration.rates(outside=mask)

    def confidence_p(self, mask: np.ndarray, expected: np.ndarray | None = None) -> float:
        """The exact one-sided p-value that the slice errs more often than its rows'
        error probabilities (``expected_errors``) say. The binomial at their mean rate
        stands in for the exact tail where it is decisive already."""
        expected = self.expected_errors(mask) if expected is None else expected
        observed = self.error[mask].sum()
        bound = float(_sliceline.confidence_p_values(np.array([len(expected)]), np.array([observed]),
                                                      np.array([expected.sum()]))[0])
        if bound < 1e-15:
            return bound  # the exact tail is no more precise down there
        return _sliceline.poisson_binomial_sf(int(observed), expected)

    @classmethod
    def of(cls, ctx: AuditContext) -> _Outcome:
        task = ctx.model.task
        labels = np.asarray(ctx.predictions.labels)
        y = ctx.data.y.to_numpy()
        if task == "regression":
            y_true, y_pred = y.astype(float), labels.astype(float)
            return cls(task, y_true, y_pred, np.abs(y_true - y_pred), 0, None)
        classes = ctx.model.classes if ctx.model.classes is not None else ctx.data.classes
        classes = np.asarray(classes)
        positive = _plain(classes[-1])
        if task == "binary":
            y_true = (y == classes[-1]).astype(np.intp)
            y_pred = (labels == classes[-1]).astype(np.intp)
            n_classes = 2
        else:
            index = pd.Index(classes)
            n_classes = len(classes) + 1  # the last index: a label outside the model's classes
            y_true = index.get_indexer(y)
            y_pred = index.get_indexer(labels)
            y_true = np.where(y_true < 0, n_classes - 1, y_true).astype(np.intp)
            y_pred = np.where(y_pred < 0, n_classes - 1, y_pred).astype(np.intp)
        return cls(
            task, y_true, y_pred, (y_true != y_pred).astype(float), n_classes, positive,
            _expected_error(ctx.predictions, labels),
        )


def _expected_error(predictions: Predictions, labels: np.ndarray) -> np.ndarray | None:
    """1 - the probability the model gave the label it predicted, or None without probabilities."""
    proba, classes = predictions.proba, predictions.classes
    if proba is None or classes is None or proba.ndim != 2 or proba.shape[1] != len(classes):
        return None
    column = pd.Index(classes).get_indexer(labels)
    if (column < 0).any() or not np.isfinite(proba).all():
        return None
    return 1.0 - proba[np.arange(len(labels)), column]


class _Calibration:
    """Platt scaling of a model's stated probabilities against what happened.

    The observed 0/1 outcomes (the positive class, or an error) are regressed
    (logistic) on the log-odds of the stated probabilities; a row's error
    probability is the calibrated one, or one minus it where ``flip`` says the
    row's label is the outcome itself. Models are rarely calibrated as they come: a boosted model fitted on a
    few thousand rows errs on about 9% of the rows it gives 1% to. Taken at its
    word, every group of its confident rows errs "beyond its confidence", and a
    slice search finds dozens; Platt's two parameters absorb over- or
    under-confidence everywhere, so a slice is judged on where the model is
    *more* wrong than its calibrated confidence says.

    A slice is judged against the calibration fitted on the other rows: its own
    errors do not set the standard it is held to. Fitted on every row, a slice's
    excess errors pull the calibration towards themselves, and the more so the
    more confidently wrong they are (a flipped 0.95 is a point of great leverage
    in log-odds): the very slices worth finding would set their own bar. The rows
    are pooled into quantile bins of the stated log-odds, so a fit sees one
    weighted point per bin (a million rows cost what a thousand do), and leaving
    a slice out only takes its rows from their bins. The two parameters are
    found by Newton's method on the binned log-likelihood, each leave-out fit
    starting from the fit on every row: shrinking asks for hundreds of them, and
    a scikit-learn fit costs milliseconds of input checks per call (the tests
    check the fit against scikit-learn's).
    """

    def __init__(self, stated: np.ndarray, outcome: np.ndarray, flip: np.ndarray | None = None) -> None:
        self.z = logit(np.clip(stated, _PLATT_CLIP, 1 - _PLATT_CLIP))
        self.flip = np.zeros(len(self.z), dtype=bool) if flip is None else flip
        # bins of the stated log-odds, apart for flipped and other rows
        edges = np.unique(np.quantile(self.z, np.linspace(0, 1, _PLATT_BINS + 1)[1:-1]))
        self.cells = 2 * (len(edges) + 1)
        self.cell = 2 * np.searchsorted(edges, self.z, side="right") + self.flip
        self.outcome = outcome.astype(float)
        self.count = np.bincount(self.cell, minlength=self.cells).astype(float)
        self.sum_z = np.bincount(self.cell, weights=self.z, minlength=self.cells)
        self.hits = np.bincount(self.cell, weights=self.outcome, minlength=self.cells)
        self.params = self.fit(self.count, self.sum_z, self.hits)

    def fit(self, count: np.ndarray, sum_z: np.ndarray, hits: np.ndarray) -> np.ndarray:
        """Platt's (intercept, slope) by maximum likelihood on the bins; a flat rate when
        only one outcome is left."""
        used = count > 0.5
        n, h = count[used], hits[used]
        x = sum_z[used] / n
        rate = h.sum() / n.sum()
        if rate <= 0 or rate >= 1:
            return np.array([logit(np.clip(rate, _PLATT_CLIP, 1 - _PLATT_CLIP)), 0.0])
        theta = getattr(self, "params", None)
        theta = np.array([logit(rate), 0.0]) if theta is None else theta.copy()

        def loglik(t: np.ndarray) -> float:
            eta = t[0] + t[1] * x
            return float(np.sum(h * eta - n * np.logaddexp(0.0, eta)))

        current = loglik(theta)
        for _ in range(_NEWTON_STEPS):
            mu = expit(theta[0] + theta[1] * x)
            residual, weight = h - n * mu, n * mu * (1 - mu)
            gradient = np.array([residual.sum(), (residual * x).sum()])
            hessian = np.array([[weight.sum(), (weight * x).sum()], [(weight * x).sum(), (weight * x * x).sum()]])
            step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
            scale = 1.0
            while scale > 1e-6:  # halve the step until the likelihood does not drop
                trial = theta + scale * step
                value = loglik(trial)
                if value >= current - 1e-12:
                    break
                scale /= 2
            theta, current = trial, value
            if np.max(np.abs(scale * step)) < 1e-10:
                break
        return theta

    def rates(self, *, outside: np.ndarray | None = None) -> np.ndarray:
        """Calibrated error probabilities: of every row, or of the rows of ``outside``
        as calibrated on the rest."""
        if outside is None:
            theta, z, flip = self.params, self.z, self.flip
        else:
            cell = self.cell[outside]
            theta = self.fit(
                self.count - np.bincount(cell, minlength=self.cells),
                self.sum_z - np.bincount(cell, weights=self.z[outside], minlength=self.cells),
                self.hits - np.bincount(cell, weights=self.outcome[outside], minlength=self.cells),
            )
            z, flip = self.z[outside], self.flip[outside]
        q = expit(theta[0] + theta[1] * z)
        return np.where(flip, 1 - q, q)


def _interleave(*ranked: tuple[_sliceline.Found, ...]) -> list[_sliceline.Found]:
    out = []
    for tier in zip_longest(*ranked):
        out.extend(f for f in tier if f is not None)
    return out


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    both = np.count_nonzero(a & b)
    return both / (np.count_nonzero(a) + np.count_nonzero(b) - both)


def _show_group(g: _groups.Grouping, i: int) -> str:
    label = g.labels[i]
    if len(g.columns) > 1:
        return " & ".join(c.describe() for c in g.slices[i])
    return "missing" if label is None else repr(label)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
