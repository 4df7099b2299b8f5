"""Sums of floats per cell that come out the same however the rows were split.

Floating-point addition is not associative: summing ten partitions and adding
the results differs from summing the rows in one go by a last digit, and a
scorecard must not depend on the partitioning. So each value is split into
whole numbers (its 53-bit mantissa in two halves, by binary exponent), whose
sums are exact in any order; the total is rounded to a float once, at the end
(correctly rounded, as ``math.fsum`` does).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["ExactSums"]

_HALF = 26  # bits in the low half of a mantissa: a sum of 2**26 halves stays below 2**53


class ExactSums:
    """Exact sums of values per cell (``cells`` cells), mergeable; ``totals()`` gives floats."""

    def __init__(self, cells: int) -> None:
        self.cells = int(cells)
        # exponent -> (sum of high halves, sum of low halves) per cell, as Python ints
        self.parts: dict[int, list[list[int]]] = {}
        self.odd = np.zeros(self.cells)  # inf and NaN: the same in any order

    def add(self, cell: np.ndarray, values: np.ndarray) -> None:
        """Add each value to its cell."""
        cell = np.asarray(cell, dtype=np.int64)
        values = np.asarray(values, dtype=float)
        finite = np.isfinite(values)
        if not finite.all():
            self.odd += np.bincount(cell[~finite], weights=values[~finite], minlength=self.cells)
            cell, values = cell[finite], values[finite]
        mantissa, exponent = np.frexp(values)
        whole = np.ldexp(mantissa, 53).astype(np.int64)  # exact: value = whole * 2**(exponent - 53)
        high, low = whole >> _HALF, whole & ((1 << _HALF) - 1)
        for e in np.unique(exponent):
            at = exponent == e
            # Below 2**26 rows per exponent the float sums of these whole numbers are exact.
            for start in range(0, int(at.sum()), 1 << _HALF):
                rows = np.flatnonzero(at)[start : start + (1 << _HALF)]
                h = np.bincount(cell[rows], weights=high[rows].astype(float), minlength=self.cells)
                lo = np.bincount(cell[rows], weights=low[rows].astype(float), minlength=self.cells)
                self._add(int(e), [int(v) for v in h], [int(v) for v in lo])

    def _add(self, exponent: int, high: list[int], low: list[int]) -> None:
        if exponent not in self.parts:
            self.parts[exponent] = [high, low]
            return
        old = self.parts[exponent]
        old[0] = [a + b for a, b in zip(old[0], high)]
        old[1] = [a + b for a, b in zip(old[1], low)]

    def merge(self, other: ExactSums) -> ExactSums:
        for e, (high, low) in other.parts.items():
            self._add(e, high, low)
        self.odd = self.odd + other.odd
        return self

    def totals(self) -> np.ndarray:
        """The sum in every cell, rounded once."""
        out = np.zeros(self.cells)
        if self.parts:
            base = min(self.parts)
            wholes = [0] * self.cells
            for e, (high, low) in self.parts.items():
                shift = e - base
                for c in range(self.cells):
                    wholes[c] += ((high[c] << _HALF) + low[c]) << shift
            scale = Fraction(2) ** (base - 53)
            out = np.array([float(w * scale) for w in wholes])
        return out + self.odd
