"""Calling the model under a time budget.

Every query of the ``nan_injection`` probe goes through :class:`ModelCaller`:
one worker thread, a per-call budget. A call past its budget is the model
hanging (judged ``crashed``); since a thread cannot be killed, no call is
sent after it, and what was left is reported as ``not_run``. The budget is a
safety stop only: how much work the probe plans never depends on time.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from auditkit import Model, ProbeCancelled


@dataclass(frozen=True)
class Answer:
    """What one call returned: a value, an exception, or nothing within the budget."""

    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    seconds: float = 0.0


class ModelHung(RuntimeError):
    """A call ran past its budget; the model may still be running, so it is not queried again."""


class ModelCaller:
    """Runs calls to the model one at a time on a daemon worker thread, each
    within ``budget_s``. A call past its budget is abandoned (a thread cannot
    be killed) and every later call raises :class:`ModelHung`, since a model
    still busy in the background cannot be trusted to answer the next one."""

    def __init__(self, model: Model, budget_s: float) -> None:
        self.model = model
        self.budget_s = float(budget_s)
        self.hung = False
        self.calls = 0
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, box, done = job
            try:
                box["value"] = fn()
            except BaseException as exc:  # the model's every failure is an outcome to judge
                box["error"] = exc
            done.set()

    def call(self, fn: Callable[[], Any]) -> Answer:
        if self.hung:
            raise ModelHung("an earlier call exceeded its time budget")
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="auditkit-nan-injection-model", daemon=True)
            self._thread.start()
        box: dict[str, Any] = {}
        done = threading.Event()
        start = time.perf_counter()
        self.calls += 1
        self._jobs.put((fn, box, done))
        if not done.wait(self.budget_s):
            self.hung = True
            return Answer(timed_out=True, seconds=time.perf_counter() - start)
        if isinstance(box.get("error"), ProbeCancelled):
            raise box["error"]  # the runner gave up on the probe: not the model's doing, and the end of it
        return Answer(value=box.get("value"), error=box.get("error"), seconds=time.perf_counter() - start)

    def predictions(self, X: pd.DataFrame) -> Answer:
        """The model's outputs on ``X`` in one pass (``Model.outputs``): a
        classifier is asked for its probabilities alone, which tell whether
        the output is valid and how far it moved."""
        return self.call(lambda: self.model.outputs(X))

    def close(self) -> None:
        if self._thread is not None and not self.hung:
            self._jobs.put(None)


