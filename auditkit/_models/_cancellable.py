"""The bound model as one probe sees it: every call first asks whether the runner
has given up on the probe.

A thread cannot be killed, so a probe past its time budget is abandoned, not
stopped. Most of a probe's time goes into calls to the model; answering the
abandoned probe's next call with ``ProbeCancelled`` ends it there, instead of
leaving it to run on, beside the next probe, until the process exits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from auditkit._models._base import Learner, Model, Predictions

if TYPE_CHECKING:
    import pandas as pd

    from auditkit._data import AuditData

__all__ = ["Cancellable"]


class Cancellable(Model):
    """``inner`` with ``check`` called before every call that runs the model."""

    def __init__(self, inner: Model, check: Callable[[], None]) -> None:
        super().__init__(inner.capabilities, inner.classes)
        self.kind = inner.kind
        self._inner = inner
        self._check = check

    @property
    def inner(self) -> Model:
        return self._inner

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        self._check()
        return self._inner.predict(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        self._check()
        return self._inner.predict_proba(X)

    def decision_scores(self, X: pd.DataFrame) -> np.ndarray | None:
        self._check()
        return self._inner.decision_scores(X)

    def predictions(self, X: pd.DataFrame) -> Predictions:
        self._check()
        return self._inner.predictions(X)

    def outputs(self, X: pd.DataFrame) -> Predictions:
        self._check()
        return self._inner.outputs(X)

    def learner(self) -> Learner:
        self._check()
        return self._inner.learner()

    def bind(self, data: AuditData) -> Model:
        return self

    def fingerprint(self) -> str | None:
        return self._inner.fingerprint()

    def describe(self) -> dict[str, Any]:
        return self._inner.describe()

    def __getattr__(self, name: str) -> Any:
        # only for what Model itself does not define: a wrapper's own attributes
        if name.startswith("__") or "_inner" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_inner"], name)

    def __repr__(self) -> str:
        return repr(self._inner)
