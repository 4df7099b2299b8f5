"""Whether a shrunk slice is a finding, and the numbers it is judged on."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from probes._shared import shrinking
from probes._shared.slice_codes import Column
from probes._shared.slice_stats import AbsoluteErrorTest, Found, Search
from probes.slice_bias.outcomes import Outcome

__all__ = ["Candidate", "SliceJudge"]


@dataclass(frozen=True)
class Candidate:
    """A searched slice shrunk to its reproducer, with the verdict on it."""

    found: Found  # the slice the search tested, before shrinking
    pieces: tuple[shrinking.Piece, ...]
    mask: np.ndarray
    significant: bool
    evidence: float  # the adjusted p-value a finding rests on (1.0 when it is none)
    score: float


class SliceJudge:
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
        found: Search,
        outcome: Outcome,
        columns: list[Column],
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
        self.absolute = None if self.zero_one else AbsoluteErrorTest(outcome.error)

    def _p(self, mask: np.ndarray) -> tuple[int, float, float]:
        """The slice's rows, errors, and one-sided p-value that it errs more than the rest.

        The search ranks by the binomial tail at the overall error rate, which is
        quick and on the safe side; a slice judged gets the exact test, Fisher's:
        given the errors in all, the slice's share of them is hypergeometric when
        it is no worse than the rest. Absolute errors: Welch's t-test and the
        rank-sum test, both (``AbsoluteErrorTest``).
        """
        size, errors = int(mask.sum()), float(self.error[mask].sum())
        if self.absolute is None:
            p = stats.hypergeom.sf(errors - 1, self.n, self.total, size)
        else:
            p = self.absolute.p(mask)
        return size, errors, float(p)

    def _grid_twins(self, f: Found, pieces: Sequence[shrinking.Piece]) -> Iterator[list[shrinking.Piece]]:
        """The slices the search tested that stand for this one: as found, and as shrunk put on the grid."""
        raw = [shrinking.Piece(self.columns[c].conditions[j], self.columns[c].rows(j))
               for c, j in zip(f.columns, f.conditions)]
        yield raw
        yield from shrinking.on_grid(pieces, self.by_name)

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

    def fails(self, f: Found) -> Callable[[Sequence[shrinking.Piece]], bool]:
        """Whether a slice shrunk from ``f`` is a finding (remembered: shrinking asks again)."""
        memo: dict[tuple[Any, ...], bool] = {}

        def fails(pieces: Sequence[shrinking.Piece]) -> bool:
            key = tuple(sorted((p.condition.feature, p.condition.op, repr(p.condition.value)) for p in pieces))
            if key not in memo:
                memo[key] = self.verdict(f, pieces, shrinking.rows_of(pieces, self.n))[0]
            return memo[key]

        return fails

    def verdict(self, f: Found, pieces: Sequence[shrinking.Piece], mask: np.ndarray) -> tuple[bool, float]:
        """(finding or not, the adjusted p-value it rests on), stopping as soon as it is decided."""
        entry = self._judge(f, pieces, mask, thorough=False)
        return entry["significant"], (entry["evidence"] if entry["significant"] else 1.0)

    def entry(self, f: Found, pieces: Sequence[shrinking.Piece], mask: np.ndarray) -> dict[str, Any]:
        """Every number of the verdict, for the report."""
        entry = self._judge(f, pieces, mask, thorough=True)
        del entry["evidence"]
        return entry

    def _judge(
        self, f: Found, pieces: Sequence[shrinking.Piece], mask: np.ndarray, *, thorough: bool
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
            twin_mask = shrinking.rows_of(twin, self.n)
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
