"""Synthetic data for auditkit's own tests (import as ``auditkit_test_synthetic``;
the root conftest registers it under that name)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_clean_binary(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """A healthy classification problem: honest signal, mixed kinds, no defect planted."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    group = rng.choice(["a", "b"], size=n)
    logit = 0.8 * x1 - 0.6 * x2 + np.where(color == "red", 0.5, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "color": color, "group": group, "y": y})
