"""Multivariate shift: can a classifier tell reference rows from audit rows?

A gradient-boosted classifier is cross-fitted (two folds) on a seeded sample of the audit
rows (the audit's one shared sample) against as many reference rows; its out-of-fold ROC
AUC is 0.5 when the two are alike, whatever the number of features, and rises with any
shift, joint shifts included that no single feature shows. Its significance is the
Mann-Whitney test of the out-of-fold scores; its interval a bootstrap over the rows. The
features that separate the two are those whose shuffling across the two sides lowers the
held-out AUC most, compared with shuffling them within each side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from auditkit import AuditContext
from probes.drift.measure import FeatureCounts, Plan
from probes.drift.tokens import is_null_token

__all__ = ["DomainResult", "domain_classifier"]

# A feature separates the two when shuffling it lowers the held-out AUC by at least _MIN_DROP
# and by at least _MIN_PART of the classifier's separation above chance (averaged over _REPEATS).
_MIN_DROP = 0.01
_MIN_PART = 0.1
_REPEATS = 3
# A category with fewer reference rows than this is coded "rare", as is one the reference never
# had. Otherwise every value of a near-unique column (a ticket or a name) is "seen" on the
# reference side and "unseen" on the audit side, and the classifier separates two random halves
# of the same data perfectly; new categories are the per-feature check's business.
_MIN_LEVEL_ROWS = 10


@dataclass
class DomainResult:
    auc: float
    low: float
    high: float
    p: float
    rows: int
    separating: list[tuple[str, float]] = field(default_factory=list)  # feature, drop in AUC


def _encode(frame: pd.DataFrame, plans: list[Plan], ref_counts: dict[str, FeatureCounts]) -> np.ndarray:
    """Numbers as they are (sentinels as missing), categories by their rank in the reference
    (rare and unseen ones last, missing spellings as missing), other columns as missing or not."""
    cols = []
    for plan in plans:
        column = frame[plan.feature]
        if plan.kind == "numeric":
            values = column.to_numpy(dtype=float, na_value=np.nan)
            values = np.where(np.isin(values, plan.sentinels), np.nan, values)
        elif plan.kind == "categorical":
            common = [v for v, count in ref_counts[plan.feature].values.most_common() if count >= _MIN_LEVEL_ROWS]
            ranked = {v: i for i, v in enumerate(common)}
            unseen = float(len(ranked))
            values = np.array(
                [np.nan if (v is None or (isinstance(v, float) and np.isnan(v)) or is_null_token(v) or v is pd.NA)
                 else ranked.get(v.item() if isinstance(v, np.generic) else v, unseen) for v in column.tolist()],
                dtype=float,
            )
        else:
            values = column.isna().to_numpy(dtype=float)
        cols.append(values)
    return np.column_stack(cols) if cols else np.empty((len(frame), 0))


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by ranks (the Mann-Whitney U over the product of the two sides' sizes)."""
    ranks = stats.rankdata(score)
    n1 = float(y.sum())
    n0 = len(y) - n1
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def domain_classifier(
    ctx: AuditContext, plans: list[Plan], ref_counts: dict[str, FeatureCounts], rows: int, confidence: float,
    replicates: int, min_auc: float,
) -> DomainResult | None:
    """The classifier's AUC with interval and p-value; the separating features only when the
    AUC reaches ``min_auc`` (they are named by a finding only then, and cost a model call each)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    ref = ctx.data.reference
    assert ref is not None
    if not plans:
        return None
    audit_rows = ctx.sample(rows)
    n = min(len(audit_rows), len(ref))
    if n < 20:
        return None
    rng = np.random.default_rng(ctx.seed + 2)
    audit_rows = np.sort(rng.choice(audit_rows, size=n, replace=False)) if n < len(audit_rows) else audit_rows
    ref_rows = np.sort(rng.choice(len(ref), size=n, replace=False))
    X = np.vstack([
        _encode(ref.iloc[ref_rows], plans, ref_counts),
        _encode(ctx.data.frame.iloc[audit_rows], plans, ref_counts),
    ])
    y = np.r_[np.zeros(n), np.ones(n)]
    fold = np.r_[rng.permutation(np.arange(n) % 2), rng.permutation(np.arange(n) % 2)]
    scores = np.empty(2 * n)
    models = []
    for k in (0, 1):
        # Small and regularized: a flexible model fits noise in features that did not move,
        # and shuffling them would then seem to matter.
        model = HistGradientBoostingClassifier(
            max_iter=60, max_leaf_nodes=8, min_samples_leaf=max(20, n // 50), l2_regularization=1.0,
            early_stopping=False, random_state=ctx.seed % 2**31,
        )
        model.fit(X[fold != k], y[fold != k])
        scores[fold == k] = model.predict_proba(X[fold == k])[:, 1]
        models.append(model)
        ctx.check()
    auc = float(_auc(y, scores))
    p = float(stats.mannwhitneyu(scores[y == 1], scores[y == 0], alternative="greater").pvalue)
    boot = []
    for _ in range(replicates):
        i = rng.integers(0, 2 * n, 2 * n)
        if 0 < y[i].sum() < len(i):
            boot.append(_auc(y[i], scores[i]))
    tail = (1 - confidence) / 2
    low, high = (float(q) for q in np.quantile(boot, [tail, 1 - tail])) if boot else (auc, auc)
    # Which features separate: shuffling a feature across all held-out rows against shuffling it
    # within each side. Both add the same noise to a model that also fitted noise in it; only
    # the first destroys what the feature says about the side, so their AUC difference is the
    # feature's own share of the separation (a plain permutation drop credits noise features too).
    if auc < min_auc:
        return DomainResult(auc, min(low, auc), max(high, auc), p, 2 * n)
    held = fold == 1
    Xh, yh = X[held], y[held]
    predict = models[0].predict_proba
    drops = []
    for j, plan in enumerate(plans):
        drop = 0.0
        for _ in range(_REPEATS):
            across, within = Xh.copy(), Xh.copy()
            across[:, j] = rng.permutation(across[:, j])
            for side in (0, 1):
                at = np.flatnonzero(yh == side)
                within[at, j] = within[rng.permutation(at), j]
            drop += (_auc(yh, predict(within)[:, 1]) - _auc(yh, predict(across)[:, 1])) / _REPEATS
        drops.append((plan.feature, float(drop)))
        ctx.check()
    drops.sort(key=lambda t: -t[1])
    return DomainResult(auc, min(low, auc), max(high, auc), p, 2 * n, [d for d in drops if d[1] >= max(_MIN_DROP, _MIN_PART * (auc - 0.5))][:5])
