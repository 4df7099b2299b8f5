"""torch ``nn.Module`` models (and TorchScript files, which load as modules)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from auditkit._errors import ModelError
from auditkit._models._base import (
    Capabilities,
    Learner,
    Model,
    check_task,
    digest_arrays,
    hand_over,
    probabilities_from_logits,
)

if TYPE_CHECKING:
    import torch

    from auditkit._data import AuditData

Output = Literal["logits", "probabilities", "values"]
OUTPUTS = ("logits", "probabilities", "values")


def default_to_tensor(X: pd.DataFrame, dtype: Any, device: Any) -> torch.Tensor:
    """Numeric, boolean columns as a float tensor; anything else needs a ``to_tensor``."""
    import torch

    bad = [c for c in X.columns if not (ptypes.is_numeric_dtype(X[c].dtype) or ptypes.is_bool_dtype(X[c].dtype))]
    if bad:
        raise TypeError(
            f"column {bad[0]!r} has dtype {X[bad[0]].dtype}, which the default torch input "
            "conversion cannot turn into numbers; pass wrap(module, to_tensor=...)"
        )
    # A copy: under copy-on-write pandas hands out read-only arrays, which torch warns about.
    return torch.tensor(np.array(X.to_numpy(dtype=np.float64)), dtype=dtype, device=device)


class TorchModel(Model):
    """Runs a module in eval mode under ``no_grad``, in batches, and turns
    logits into probabilities (sigmoid for one output, softmax for several)."""

    kind = "torch"

    def __init__(
        self,
        module: Any,
        *,
        task: str | None = None,
        output: str | None = None,
        classes: Any = None,
        to_tensor: Callable[[pd.DataFrame], Any] | None = None,
        features: Any = None,
        batch_size: int = 8192,
        device: Any = None,
        dtype: Any = None,
        optimizer: Any = None,
        loss_fn: Callable[..., Any] | None = None,
    ) -> None:
        import torch

        if output is not None and output not in OUTPUTS:
            raise ModelError(f"output must be one of {', '.join(OUTPUTS)}; got {output!r}")
        if (optimizer is None) != (loss_fn is None):
            raise ModelError("online learning needs both optimizer= and loss_fn=")
        if batch_size < 1:
            raise ModelError(f"batch_size must be at least 1; got {batch_size}")
        self.module = module
        self.output: Output | None = output  # type: ignore[assignment]
        self.to_tensor = to_tensor
        self.feature_names = None if features is None else tuple(map(str, features))
        self.batch_size = int(batch_size)
        self.device = torch.device(device) if device is not None else _module_device(module)
        self.dtype = dtype if dtype is not None else _module_dtype(module)
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        declared = check_task(task)
        if declared == "regression":
            self.output = "values"
        super().__init__(
            Capabilities(
                task=declared,
                probabilities=declared != "regression",
                queryable=True,
                online=optimizer is not None,
            ),
            classes=None if classes is None else np.asarray(classes),
        )

    # -- forward ------------------------------------------------------------

    def _tensor(self, X: pd.DataFrame) -> torch.Tensor:
        if self.feature_names is not None:
            X = X.loc[:, list(self.feature_names)]
        if self.to_tensor is not None:
            import torch

            t = self.to_tensor(hand_over(X))  # its own copy: what it writes there stays there
            return torch.as_tensor(t).to(device=self.device)
        return default_to_tensor(X, self.dtype, self.device)

    def raw(self, X: pd.DataFrame) -> np.ndarray:
        """The module's raw outputs, batch by batch, as an (n, k) float array."""
        import torch

        was_training = self.module.training
        self.module.eval()
        try:
            outs = []
            with torch.no_grad():
                for start in range(0, len(X), self.batch_size):
                    batch = self._tensor(X.iloc[start : start + self.batch_size])
                    out = self.module(batch)
                    outs.append(out.detach().to("cpu", torch.float64).numpy())
        finally:
            self.module.train(was_training)
        if not outs:
            return np.zeros((0, 1))
        out = np.concatenate(outs)
        return out.reshape(len(out), -1)

    def _proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        kind = self.output or _infer_output(raw)
        if kind != "probabilities":
            return probabilities_from_logits(raw)
        return np.hstack([1.0 - raw, raw]) if raw.shape[1] == 1 else raw

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.capabilities.task == "regression":
            return super().predict_proba(X)
        return self._proba_from_raw(self.raw(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raw = self.raw(X)
        if self.capabilities.task == "regression":
            return raw[:, 0] if raw.shape[1] == 1 else raw
        return self._labels(self._proba_from_raw(raw))

    def _labels(self, proba: np.ndarray) -> np.ndarray:
        classes = self.classes if self.classes is not None else np.arange(proba.shape[1])
        if proba.shape[1] != len(classes):
            # No class to name; the shared predictions report the column count.
            return np.full(len(proba), None, dtype=object)
        # NaN probabilities must not become a confident class: argmax of NaN is 0.
        idx = np.argmax(np.nan_to_num(proba, nan=-np.inf), axis=1)
        labels = classes[idx].astype(object if classes.dtype == object else classes.dtype)
        if np.isnan(proba).any() and labels.dtype.kind == "f":
            labels[np.isnan(proba).any(axis=1)] = np.nan
        return labels

    def predictions(self, X: pd.DataFrame):  # type: ignore[override]
        from auditkit._models._base import Predictions

        raw = self.raw(X)  # one forward pass serves labels, probabilities and scores
        if self.capabilities.task == "regression":
            values = raw[:, 0] if raw.shape[1] == 1 else raw
            return Predictions(labels=values, scores=values, classes=None)
        proba = self._proba_from_raw(raw)
        scores = proba[:, 1] if proba.shape[1] == 2 else None
        return Predictions(labels=self._labels(proba), proba=proba, scores=scores, classes=self.classes)

    # -- binding, fingerprint, online ----------------------------------------

    def bind(self, data: AuditData) -> Model:
        model = self
        if self.capabilities.task is None:
            model = self._with_capabilities(task=data.task, probabilities=data.task != "regression")
            if data.task == "regression":
                model.output = "values"
        if model.classes is None and model.capabilities.task != "regression":
            model.classes = np.asarray(data.classes)
        if model.feature_names is None:
            model.feature_names = tuple(data.features)
        if model.output is None and model.capabilities.task != "regression":
            # Settle logits vs probabilities once, on many rows: read per call, a
            # single row whose logit happens to fall in [0, 1] was taken for a probability.
            try:
                model.output = _infer_output(model.raw(data.X.iloc[: min(len(data.X), 512)]))
            except Exception:  # the module fails on the audit rows: probes report that, not bind
                pass
        return model

    def fingerprint(self) -> str | None:
        state = self.module.state_dict()
        return digest_arrays([t.detach().to("cpu").numpy() for t in state.values()])

    def learner(self) -> Learner:
        if not self.capabilities.online:
            return super().learner()
        return _TorchLearner(self)


class _TorchLearner(Learner):
    def __init__(self, model: TorchModel) -> None:
        self._source = model
        self._module = copy.deepcopy(model.module)
        opt = model.optimizer
        # A fresh optimizer of the same kind and settings, over the copy's parameters.
        self._optimizer = type(opt)(self._module.parameters(), **opt.defaults)

    def _copy(self) -> TorchModel:
        clone = copy.copy(self._source)
        clone.module = self._module
        clone.optimizer = self._optimizer
        return clone

    def update(self, X: pd.DataFrame, y: np.ndarray) -> None:
        model = self._copy()
        inputs = model._tensor(X)
        self._module.train()
        self._optimizer.zero_grad()
        out = self._module(inputs)
        target = _target_tensor(model, out, y)
        loss = self._source.loss_fn(out, target)  # type: ignore[misc]
        loss.backward()
        self._optimizer.step()
        self._module.eval()

    def model(self) -> Model:
        return self._copy()


def _target_tensor(model: TorchModel, out: Any, y: np.ndarray) -> Any:
    import torch

    task = model.capabilities.task
    if task == "regression":
        return torch.as_tensor(np.asarray(y, dtype=float), dtype=out.dtype).reshape(out.shape)
    classes = model.classes if model.classes is not None else np.unique(y)
    index = np.searchsorted(classes, y) if classes.dtype != object else np.array(
        [list(classes).index(v) for v in y]
    )
    if out.ndim == 1 or out.shape[-1] == 1:
        return torch.as_tensor(index, dtype=out.dtype).reshape(out.shape)
    return torch.as_tensor(index, dtype=torch.long)


def _infer_output(raw: np.ndarray) -> Output:
    finite = raw[np.isfinite(raw)]
    if finite.size and finite.min() >= 0 and finite.max() <= 1:
        if raw.shape[1] == 1 or np.allclose(np.nansum(raw, axis=1), 1, atol=1e-4):
            return "probabilities"
    return "logits"


def _module_device(module: Any) -> Any:
    import torch

    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def _module_dtype(module: Any) -> Any:
    import torch

    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32
