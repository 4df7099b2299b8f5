"""Batch consistency: the same rows one at a time, in small batches, in one batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit import Predictions

from probes.nan_injection.calls import ModelCaller, ModelHung
from probes.nan_injection.outcome import Reference, row_shift


@dataclass(frozen=True)
class BatchResult:
    rows: int
    small_batch: int
    max_diff: float | None = None
    flipped: int = 0
    differing_rows: int = 0
    failed_how: str | None = None  # "one at a time" / "in batches of 8"
    error: str | None = None
    error_text: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "small_batch": self.small_batch,
            "max_diff": self.max_diff,
            "flipped_labels": self.flipped,
            "differing_rows": self.differing_rows,
            "failed": self.failed_how,
            "error": self.error,
        }


def check_batches(
    caller: ModelCaller, rows: pd.DataFrame, reference: Reference, small: int, single: int, tolerance: float,
) -> BatchResult | None:
    """Compare the answers of each way of batching with the one-batch answer:
    the first ``single`` rows one at a time, and all of them in batches of
    ``small``.

    None when even the one batch fails or the model hung: nothing to compare.
    """
    n = len(rows)
    try:
        whole = caller.predictions(rows)
        if whole.error is not None or whole.timed_out:
            return None
        ones = min(single, n)
        parts: dict[str, list[pd.DataFrame]] = {
            "one at a time": [rows.iloc[[i]] for i in range(ones)],
            f"in batches of {small}": [rows.iloc[i : i + small] for i in range(0, n, small)],
        }
        worst = BatchResult(n, small, max_diff=0.0)
        for how, batches in parts.items():
            answers = []
            for batch in batches:
                answer = caller.predictions(batch)
                if answer.error is not None or answer.timed_out:
                    error = "timeout" if answer.timed_out else type(answer.error).__name__
                    text = "no answer within the per-call budget" if answer.timed_out else " ".join(str(answer.error).split())[:160]
                    return BatchResult(n, small, failed_how=how, error=error, error_text=text)
                answers.append(answer.value)
            joined = _concat(answers)
            diff, flips = row_shift(joined, whole.value.take(np.arange(len(joined))), reference.task, reference.scale)
            moved = diff > tolerance
            max_diff = float(np.max(diff)) if len(diff) else 0.0
            if max_diff > (worst.max_diff or 0.0) or int(flips.sum()) > worst.flipped:
                worst = BatchResult(n, small, max_diff=max(max_diff, worst.max_diff or 0.0),
                                    flipped=max(int(flips.sum()), worst.flipped),
                                    differing_rows=max(int((moved | flips).sum()), worst.differing_rows))
        return worst
    except ModelHung:
        return None


def _concat(parts: list[Predictions]) -> Predictions:
    def cat(name: str) -> np.ndarray | None:
        values = [getattr(p, name) for p in parts]
        if any(v is None for v in values):
            return None
        return np.concatenate([np.asarray(v) for v in values])

    labels = cat("labels")
    assert labels is not None
    return Predictions(labels=labels, proba=cat("proba"), scores=cat("scores"), classes=parts[0].classes)
