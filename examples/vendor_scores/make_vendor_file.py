"""Stands in for the vendor: writes the scores file a credit-scoring vendor would send.

The vendor scored 1,000 German credit applications with a model nobody here
can run (here: a gradient-boosting model trained on the vendor's own half of
the data); what arrives is the applications, the outcomes that followed, and
two columns of the vendor's output: ``vendor_score`` (probability of a bad
risk) and ``vendor_decision`` (1: refuse). audit_vendor.sh audits that file.

    python make_vendor_file.py OUT.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
import datasets  # noqa: E402  (examples/data/datasets.py)

TARGET = "bad_risk"


def main(out: Path) -> None:
    frame = datasets.german()
    frame[TARGET] = (frame.pop("credit_risk") == 2).astype(int)
    frame["sex"] = frame["personal_status_sex"].isin(["A92", "A95"]).map({True: "female", False: "male"})
    vendor_train, scored = train_test_split(frame, test_size=0.5, stratify=frame[TARGET], random_state=1)
    features = [c for c in frame.columns if c not in (TARGET, "sex")]
    codes = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    model = make_pipeline(
        make_column_transformer((OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), codes),
                                remainder="passthrough"),
        HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, random_state=0),
    ).fit(vendor_train[features], vendor_train[TARGET])
    scored = scored.copy()
    scored["vendor_score"] = model.predict_proba(scored[features])[:, 1].round(4)
    scored["vendor_decision"] = (scored["vendor_score"] >= 0.5).astype(int)
    out.parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(out, index=False)
    print(f"wrote {len(scored)} scored applications to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "vendor_scores.csv"))
