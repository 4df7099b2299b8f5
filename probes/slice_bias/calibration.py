"""Platt scaling of a model's stated probabilities, fitted on binned log-odds."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

__all__ = ["Calibration"]

# Platt scaling of the model's stated error probabilities: bins of their log-odds, and how
# close to 0 or 1 a stated probability is taken at face value.
_PLATT_BINS = 1024
_PLATT_CLIP = 1e-6
_NEWTON_STEPS = 50


class Calibration:
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
