"""The demo's model: a Titanic survival classifier trained the way many are,
on every column at hand - including ``boat`` and ``body``, which are only
known after the ship sank. The audit (``make demo``) is meant to catch that.

Writes to the folder given as the first argument (default ``demo-out``):
``titanic_model.skops`` (a scikit-learn pipeline, loadable safely with skops),
``titanic_train.csv`` and ``titanic_audit.csv`` (a stratified 70/30 split), and
``titanic_vendor_scores.csv``: the audit rows with the model's stored
predictions ``vendor_label`` and ``vendor_score``, to audit them without the model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import skops.io as sio
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

HERE = Path(__file__).resolve().parent
NUMERIC = ["pclass", "age", "sibsp", "parch", "fare", "body"]
CATEGORICAL = ["sex", "embarked", "boat"]


def build_model() -> object:
    pre = make_column_transformer(
        (SimpleImputer(strategy="median"), NUMERIC),
        (
            make_pipeline(
                SimpleImputer(strategy="constant", fill_value="missing"),
                OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False),
            ),
            CATEGORICAL,
        ),
    )
    return make_pipeline(pre, HistGradientBoostingClassifier(max_iter=100, random_state=0))


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.read_csv(HERE.parent / "data" / "titanic3.csv")
    # Lifeboat labels mix numbers and letters; read them as text everywhere.
    frame["boat"] = frame["boat"].astype(str).where(frame["boat"].notna())
    train, test = train_test_split(frame, test_size=0.3, stratify=frame["survived"], random_state=0)
    model = build_model().fit(train[NUMERIC + CATEGORICAL], train["survived"])
    vendor = test.copy()
    vendor["vendor_score"] = model.predict_proba(vendor[NUMERIC + CATEGORICAL])[:, 1].round(6)
    vendor["vendor_label"] = (vendor["vendor_score"] >= 0.5).astype(int)
    sio.dump(model, out / "titanic_model.skops")
    train.to_csv(out / "titanic_train.csv", index=False)
    test.to_csv(out / "titanic_audit.csv", index=False)
    vendor.to_csv(out / "titanic_vendor_scores.csv", index=False)
    print(
        f"trained on {len(train)} passengers; wrote {out}/titanic_model.skops, "
        "titanic_train.csv, titanic_audit.csv, titanic_vendor_scores.csv"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("demo-out"))
