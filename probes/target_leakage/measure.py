"""What target_leakage measures, and on which rows.

- On every audit row, as mergeable measurements folded over the partitions by
  ``ctx.measure``: row hashes (``split.Contamination``), distinct ids
  (``split.EntityIds``), late values (``split.TimeCounts``), the outcomes where
  each feature is missing (``evidence.MissingCounts``) and the rows behind each
  finding (``evidence.GroupCounts``). The reference rows, an in-memory frame,
  are folded in as one more partition where the question pools both sides.
- On the audit's one seeded sample (``ctx.sample``, stratified by the target
  for classification), because they fit models or query the model again: the
  model's own score (``max_rows`` audit rows), the cross-validated power of
  every column and of pairs (``max_rows`` audit and reference rows together),
  and dominance (``dominance_rows`` audit rows, each feature shuffled).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from auditkit import AuditContext, ModelFailure, Part, Predictions, ProbeCancelled
from probes.target_leakage.counting import Gather, reference_part
from probes.target_leakage.evidence import GroupCounts, GroupSpec, MissingCounts
from probes.target_leakage.model import Dominance, dominance
from probes.target_leakage.power import (
    NO_POWER,
    Encoded,
    Power,
    Target,
    as_numbers,
    coarsen,
    encode,
    encode_missing,
    encode_ordered,
    encode_pair,
    parse_dates,
    power,
)

if TYPE_CHECKING:
    from probes.target_leakage.probe import TargetLeakage

__all__ = ["Feature", "ModelSample", "Pool", "Scores", "draw_pool", "model_sample", "single_features"]

MIN_ROWS = 30  # below this, five folds of six rows measure nothing
_PAIR_BINS = 16  # bins per column of a pair: 16 x 16 cells, each with rows enough to learn from
_ID_UNIQUE = 0.95  # share of distinct values that makes a column look like an identifier
_ID_MONOTONIC = 0.95  # |Spearman correlation| with row order that makes it look like one
_DOMINANCE_FEATURES = 60  # features permuted at most (the top of the ranking)


@dataclass
class Feature:
    """What was measured about one feature on the scored sample."""

    name: str
    kind: str
    power: Power = NO_POWER
    missing: Power = NO_POWER
    order: Power = NO_POWER  # for identifier-like columns: power of the column's order
    identifier: str | None = None  # why it looks like an identifier
    note: str | None = None  # why it was not scored

    @property
    def best(self) -> Power:
        scored = [p for p in (self.power, self.order) if p.ok]
        return max(scored, key=lambda p: p.score) if scored else NO_POWER


def by_target(ctx: AuditContext) -> Callable[[Part], np.ndarray] | None:
    """Sample strata: the target's classes (so a rare class is in every sample), none for regression."""
    if ctx.model.task == "regression":
        return None
    target = ctx.data.target
    return lambda part: part.frame[target].to_numpy()


# -- the model's outputs on the sample ------------------------------------------


@dataclass(frozen=True)
class ModelSample:
    """Sampled audit rows with the model's outputs on them (None when the model failed)."""

    rows: np.ndarray
    frame: pd.DataFrame  # the model's inputs and the target
    predictions: Predictions | None
    error: str | None  # why the model could not be scored


def model_sample(ctx: AuditContext, size: int) -> ModelSample:
    error = None
    try:
        # Only asks whether the model could predict: the shared predictions are
        # computed once for every probe, and the rows are read from the partitions.
        ctx.predictions
    except ModelFailure as exc:  # the model failed: the data can still be audited
        error = str(exc)
    rows = ctx.sample(size, strata=by_target(ctx))
    columns = [*ctx.data.features, ctx.data.target]
    got = ctx.measure(lambda: Gather(rows, columns), predictions=error is None)
    return ModelSample(got.rows, got.frame, got.predictions, error)


# -- the rows single-column scores are measured on -----------------------------


@dataclass(frozen=True)
class Pool:
    """The sampled audit rows, then the sampled reference rows (a leak is in the
    data whichever side of the split it fell on, and the model learnt it from
    the reference side)."""

    frame: pd.DataFrame  # features and target
    audit: np.ndarray  # True for audit rows
    audit_rows: np.ndarray  # their positions in the audit data
    rows: int  # audit and reference rows in all, before sampling
    pooled: bool  # reference rows are part of it


def draw_pool(ctx: AuditContext, max_rows: int, sample: ModelSample) -> Pool:
    data = ctx.data
    columns = [*data.features, data.target]
    ref = data.reference
    n_ref = 0 if ref is None else len(ref)
    total = data.n_rows + n_ref
    audit_rows, ref_rows = sample.rows, np.arange(n_ref)
    if total > max_rows and n_ref:
        size = int(round(max_rows * data.n_rows / total))
        audit_rows = ctx.sample(size, strata=by_target(ctx))  # within the model's sample: the smallest keys
        ref_rows = np.sort(ctx.rng.choice(n_ref, max_rows - size, replace=False))
    audit = sample.frame[columns].iloc[np.flatnonzero(np.isin(sample.rows, audit_rows))]
    frames = [audit]
    if ref is not None:
        part = reference_part(data, columns)
        assert part is not None
        frames.append(part.frame.iloc[ref_rows])
    frame = pd.concat(frames) if len(frames) > 1 else audit
    is_audit = np.zeros(len(frame), dtype=bool)
    is_audit[: len(audit)] = True
    return Pool(frame, is_audit, audit_rows, total, ref is not None)


# -- single columns ----------------------------------------------------------------


@dataclass
class Scores:
    """The single-column scores of one run, and what kept them from being measured."""

    target: Target | None = None
    tests: int = 0  # scores tried (the Bonferroni count)
    row_order: Power = NO_POWER
    reason: str | None = None  # why nothing was scored
    rare: list[tuple[Any, int]] = field(default_factory=list)  # classes left out, with their rows
    encoded: dict[str, Encoded] = field(default_factory=dict)


def single_features(ctx: AuditContext, probe: TargetLeakage, pool: Pool, features: dict[str, Feature],
                    classes: np.ndarray) -> Scores:
    """Every single-column score: each feature, its missingness, an identifier's
    order, and row order itself."""
    task = ctx.model.task
    y = pool.frame[ctx.data.target]
    scores = Scores()
    scores.reason = _unmeasurable(y, task, classes, probe.folds, pool.pooled, ctx.data.target, scores)
    if scores.reason is not None:
        return scores
    target = Target.build(y, task, classes, probe.folds, ctx.rng, min_class_rows=2 * probe.folds)
    tests = 0
    for name, feat in features.items():
        ctx.check()  # one column's cross-validated scores are seconds on wide data
        series = pool.frame[name]
        feat.note = _unscorable(series, feat.kind)
        if feat.note:
            continue
        scores.encoded[name] = enc = encode(series, feat.kind, probe.max_bins)
        feat.power = power(enc, target)
        tests += 1
        if 0 < series.isna().sum() < len(series):
            feat.missing = power(encode_missing(series), target)
            tests += 1
        # row order means something within the audit rows only
        feat.identifier = _identifier_like(series[pool.audit], feat.kind)
        if feat.identifier:
            feat.order = power(encode_ordered(series, probe.max_bins), target)
            tests += 1
    audit_target = target.subset(pool.audit)
    if audit_target is not None:
        scores.row_order = power(encode_ordered(pd.Series(pool.audit_rows.astype(float)), probe.max_bins), audit_target)
    scores.target, scores.tests = target, tests + 1
    return scores


def _unmeasurable(y: pd.Series, task: str, classes: np.ndarray, folds: int, pooled: bool, name: str,
                  scores: Scores) -> str | None:
    """Why cross-validated scores cannot be measured at all, or None; notes rare classes."""
    if len(y) < MIN_ROWS:
        what = "the audit and reference data have" if pooled else "the audit data has"
        return f"{what} {len(y)} rows, fewer than the {MIN_ROWS} that {folds}-fold cross-validation needs"
    if task == "regression":
        return None
    needed = 2 * folds
    counts = y.value_counts()
    rare = [c for c in classes.tolist() if counts.get(c, 0) < needed]
    if len(classes) - len(rare) < 2:
        shown = ", ".join(f"{c!r} ({counts.get(c, 0)} rows)" for c in rare)
        return f"class {shown} of {name!r} has fewer than the {needed} rows {folds}-fold cross-validation needs"
    scores.rare = [(c, int(counts.get(c, 0))) for c in rare]
    return None


def _unscorable(series: pd.Series, kind: str) -> str | None:
    present = series.dropna()
    if len(present) == 0:
        return "is missing in every row"
    if kind == "datetime" and parse_dates(present).notna().sum() == 0:
        return "holds no parseable dates"
    if len(present) == len(series) and bool((present == present.iloc[0]).all()):
        return "is constant"
    return None


def _identifier_like(series: pd.Series, kind: str) -> str | None:
    """Why the column looks like an identifier, or None."""
    present = series.dropna()
    if kind == "identifier":
        return "identifier kind"
    # Dates and measurements are unique per row too; identifiers are whole numbers or text.
    if len(present) < MIN_ROWS or kind not in ("numeric", "text", "categorical"):
        return None
    head = present.iloc[:1000]
    if head.nunique() < _ID_UNIQUE * len(head) or present.nunique() < _ID_UNIQUE * len(series):
        return None
    numbers = as_numbers(present)
    if numbers is not None and not np.all(np.mod(numbers[np.isfinite(numbers)], 1) == 0):
        return None
    if numbers is None:
        numbers = pd.factorize(present, sort=True)[0].astype(float)
    position = np.flatnonzero(series.notna().to_numpy()).astype(float)
    rho = pd.Series(numbers).rank().corr(pd.Series(position).rank())
    if np.isfinite(rho) and abs(rho) >= _ID_MONOTONIC:
        direction = "increasing" if rho > 0 else "decreasing"
        return f"unique per row, {direction} with row order"
    return None


# -- pairs -----------------------------------------------------------------------


PairScore = tuple[Feature, Feature, str, Power]


def pairs(ctx: AuditContext, probe: TargetLeakage, pool: Pool, features: dict[str, Feature], scores: Scores,
          flagged: set[str]) -> list[PairScore]:
    """The top ``pair_candidates`` features not already flagged, two at a time:
    their joint bins, and for numbers their difference and ratio."""
    target = scores.target
    if target is None or probe.pair_candidates < 2:
        return []
    candidates = [f for f in features.values()
                  if f.name in scores.encoded and f.name not in flagged and not f.identifier
                  and f.kind in ("numeric", "boolean", "datetime", "categorical") and f.power.ok]
    candidates.sort(key=lambda f: -f.power.score)
    candidates = candidates[: probe.pair_candidates]
    numbers = {f.name: _numbers(pool.frame[f.name], f.kind) for f in candidates}
    results = []
    for i, a in enumerate(candidates):
        ctx.check()
        for b in candidates[i + 1:]:
            ways = {"their joint values": encode_pair(coarsen(scores.encoded[a.name], _PAIR_BINS),
                                                      coarsen(scores.encoded[b.name], _PAIR_BINS))}
            xa, xb = numbers[a.name], numbers[b.name]
            if xa is not None and xb is not None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ways["their difference"] = encode(pd.Series(xa - xb), "numeric", probe.max_bins)
                    ways["their ratio"] = encode(pd.Series(xa / np.where(xb == 0, np.nan, xb)), "numeric", probe.max_bins)
            for via, enc in ways.items():
                results.append((a, b, via, power(enc, target)))
    return results


def _numbers(series: pd.Series, kind: str) -> np.ndarray | None:
    if kind == "categorical":
        return None
    return as_numbers(parse_dates(series) if kind == "datetime" else series)


# -- dominance -------------------------------------------------------------------


@dataclass(frozen=True)
class DominanceResult:
    results: list[Dominance]
    rows: int
    error: str | None = None


def dominance_of(ctx: AuditContext, probe: TargetLeakage, features: dict[str, Feature],
                 classes: np.ndarray) -> DominanceResult:
    """The fall of the model's score when each feature (the top of the ranking) is shuffled,
    on the sample's first ``dominance_rows`` rows; the model is queried again."""
    data = ctx.data
    rows = ctx.sample(probe.dominance_rows, strata=by_target(ctx))
    got = ctx.measure(lambda: Gather(rows, [*data.features, data.target]))
    order = sorted(features.values(), key=lambda f: -(f.best.score if f.best.ok else -np.inf))
    names = [f.name for f in order][:_DOMINANCE_FEATURES]
    assert got.predictions is not None
    try:
        results = dominance(ctx.model, got.frame[list(data.features)], got.predictions, got.frame[data.target],
                            ctx.model.task, classes, names, ctx.rng)
    except ProbeCancelled:
        raise
    except Exception as exc:  # the model rejecting shuffled rows is not the data's leak
        return DominanceResult([], len(rows), f"{type(exc).__name__}: {exc}")
    return DominanceResult(results, len(rows))


# -- every audit row -----------------------------------------------------------------


def missing_counts(ctx: AuditContext, classes: np.ndarray | None) -> MissingCounts:
    """The outcomes where each feature is missing, over every audit and reference row."""
    data = ctx.data
    features, columns = list(data.features), [*data.features, data.target]
    counts = ctx.measure(lambda: MissingCounts(features, data.target, classes), predictions=False)
    return _with_reference(ctx, counts, MissingCounts(features, data.target, classes), columns)


def group_counts(ctx: AuditContext, specs: list[GroupSpec], classes: np.ndarray | None) -> GroupCounts:
    """The rows of each finding's evidence group, over every audit and reference row."""
    data = ctx.data
    columns = [*data.features, data.target]
    counts = ctx.measure(lambda: GroupCounts(specs, data.target, classes), predictions=False)
    return _with_reference(ctx, counts, GroupCounts(specs, data.target, classes), columns)


def _with_reference(ctx: AuditContext, audit: Any, empty: Any, columns: list[str]) -> Any:
    part = reference_part(ctx.data, columns)
    if part is None:
        return audit
    empty.update(part)
    return audit.merge(empty)
