"""Model wrappers: one interface over scikit-learn, torch, functions and stored predictions."""

from auditkit._models._base import Capabilities, Learner, Model, Predictions
from auditkit._models._loading import load_model
from auditkit._models._wrap import wrap

__all__ = ["Capabilities", "Learner", "Model", "Predictions", "load_model", "wrap"]
