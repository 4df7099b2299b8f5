"""Auditing a PyTorch model from Python: a small MLP that predicts students' final grade.

Shows ``auditkit.wrap`` on a torch ``nn.Module`` (regression, with a
``to_tensor`` that encodes the frame the way the net was trained) and
``auditkit.audit`` as a library call, without pytest or the CLI. The net
predicts the final grade ``G3`` of the UCI Student Performance data from ten
fields, among them the period grades ``G1`` and ``G2``, which are known only
late in the year and all but give the final grade away; and like most nets it
has no idea what to do with a missing value. The scorecard shows both, and
where the net errs most: students with no absences and a low G1, 60% of whom
have a final grade of 0 (all 38 zeros in the data come with no absences: most
likely they never sat the final exam).

    python examples/torch_model.py [scorecard.json]

Prints the scorecard; writes it as JSON when given a path. Exits 0 whatever
the audit found (an example, not a gate: see examples/ci for gating).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.compose import make_column_transformer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import auditkit

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
import datasets  # noqa: E402  (examples/data/datasets.py)

TARGET = "G3"
FEATURES = ["school", "sex", "age", "studytime", "failures", "higher", "internet", "absences", "G1", "G2"]


def fit_net(train: pd.DataFrame, encoder, epochs: int = 400) -> torch.nn.Module:
    """A two-layer MLP on the encoded columns, trained full-batch with Adam on squared error."""
    torch.manual_seed(0)
    X = torch.tensor(encoder.transform(train.drop(columns=TARGET)), dtype=torch.float32)
    y = torch.tensor(train[TARGET].to_numpy(), dtype=torch.float32).unsqueeze(1)
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-3)
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(net(X), y)
        loss.backward()
        optimizer.step()
    return net.eval()


def main(json_path: str | None = None) -> auditkit.Scorecard:
    frame = datasets.student("mat")[FEATURES + [TARGET]]
    train, audit = train_test_split(frame, test_size=0.4, random_state=0)
    features = train.drop(columns=TARGET)
    numbers = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    codes = [c for c in features.columns if c not in numbers]
    # Scaling and one-hot coding, as trained; no imputer: a missing value goes straight into the net.
    encoder = make_column_transformer(
        (StandardScaler(), numbers), (OneHotEncoder(handle_unknown="ignore", sparse_output=False), codes)
    ).fit(features)
    net = fit_net(train, encoder)

    def to_tensor(X: pd.DataFrame) -> torch.Tensor:
        return torch.tensor(np.asarray(encoder.transform(X), dtype=np.float32))

    model = auditkit.wrap(net, task="regression", to_tensor=to_tensor)
    data = auditkit.AuditData(audit, target=TARGET, reference=train, sensitive=["sex"])
    card = auditkit.audit(model, data, seed=0)
    print(auditkit.render_terminal(card, width=110))
    if json_path:
        Path(json_path).write_text(auditkit.render_json(card), encoding="utf-8")
        print(f"scorecard written to {json_path}")
    return card


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
