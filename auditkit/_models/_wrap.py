"""``auditkit.wrap``: one entry point from any model object to a ``Model``."""

from __future__ import annotations

import os
import sys
from typing import Any

from auditkit._errors import ModelError
from auditkit._models._base import Model
from auditkit._models._function import FunctionModel, StoredPredictions
from auditkit._models._sklearn import EstimatorModel


def _is_torch_module(obj: Any) -> bool:
    # Only a program that already imported torch can hand us a module: never import it here.
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def wrap(obj: Any, **options: Any) -> Model:
    """Wrap any model so probes can audit it.

    - an object with ``predict`` (scikit-learn estimators and pipelines);
      option ``task``;
    - a torch ``nn.Module``; options ``task``, ``output`` ("logits",
      "probabilities", "values"), ``classes``, ``to_tensor``, ``features``,
      ``batch_size``, ``device``, ``dtype``, and ``optimizer`` with
      ``loss_fn`` for a model that learns online;
    - a callable ``f(DataFrame) -> array``; options ``task``, ``output``
      ("labels", "scores", "probabilities", "logits", "values"), ``classes``, ``threshold``;
    - ``None``: the stored predictions named by the audit data
      (``AuditData(prediction=..., score=...)``), or by options
      ``prediction`` and ``score``;
    - a path to a model file (``.skops``, ``.joblib``/``.pkl`` with
      ``trust=True``, TorchScript ``.pt``).

    An already wrapped model is returned as it is.
    """
    if isinstance(obj, Model):
        if options:
            raise ModelError("this model is already wrapped; pass options when wrapping it first")
        return obj
    if obj is None:
        return StoredPredictions(**options)
    if isinstance(obj, (str, os.PathLike)):
        from auditkit._models._loading import load_model

        trust = options.pop("trust", False)
        return wrap(load_model(obj, trust=trust), **options)
    wrapper: type[Model] | None = None
    if _is_torch_module(obj):
        from auditkit._models._torch import TorchModel

        wrapper, what = TorchModel, "a torch module"
    elif hasattr(obj, "predict"):
        wrapper, what = EstimatorModel, "a model with predict()"
    elif callable(obj):
        wrapper, what = FunctionModel, "a function"
    if wrapper is not None:
        _check_options(wrapper, what, options)
        return wrapper(obj, **options)
    raise ModelError(
        f"cannot audit a {type(obj).__name__}: expected an object with predict(), "
        "a torch nn.Module, a callable, a model file path, or None for stored predictions"
    )


def _check_options(wrapper: type[Model], what: str, options: dict[str, Any]) -> None:
    """An option the wrapper does not take is named, with the ones it does (a typo is
    the usual cause, so the nearest is offered)."""
    import difflib
    import inspect

    known = [name for name in list(inspect.signature(wrapper.__init__).parameters)[2:]]
    for name in options:
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ModelError(
                f"wrap() has no option {name!r} for {what}; its options are: {', '.join(known)}{hint}"
            )
