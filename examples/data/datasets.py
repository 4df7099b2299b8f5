"""Loaders for the public datasets shipped in this folder (sources in README.md).

Each returns a pandas DataFrame exactly as the file holds it, with only the
documented format quirks undone, so the documented defects stay in the data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]

GERMAN_COLUMNS = [
    "checking_status", "duration", "credit_history", "purpose", "credit_amount",
    "savings", "employment", "installment_rate", "personal_status_sex", "other_debtors",
    "residence_since", "property", "age", "other_installment_plans", "housing",
    "existing_credits", "job", "people_liable", "telephone", "foreign_worker", "credit_risk",
]


def titanic() -> pd.DataFrame:
    """1309 passengers; target ``survived``; ``boat`` and ``body`` are recorded after the outcome."""
    return pd.read_csv(HERE / "titanic3.csv")


def adult(split: str = "train") -> pd.DataFrame:
    """UCI Adult; ``split`` is "train" (adult.data, 32561 rows) or "test" (adult.test, 16281 rows).

    Target ``income`` is ``<=50K`` / ``>50K`` in both (the test file's trailing
    period is removed); ``?`` becomes a missing value.
    """
    name = {"train": "adult.data", "test": "adult.test"}[split]
    df = pd.read_csv(
        HERE / name,
        header=None,
        names=ADULT_COLUMNS,
        skipinitialspace=True,
        na_values="?",
        skiprows=1 if split == "test" else 0,
    )
    df = df.dropna(subset=["income"])
    df["income"] = df["income"].str.rstrip(".")
    return df.reset_index(drop=True)


def german() -> pd.DataFrame:
    """Statlog German credit, 1000 rows; ``credit_risk`` 1 = good, 2 = bad.

    Cost matrix from german.doc (rows actual, columns predicted): a bad
    customer predicted good costs 5, a good customer predicted bad costs 1.
    """
    return pd.read_csv(HERE / "german.data", sep=" ", header=None, names=GERMAN_COLUMNS)


def student(subject: str = "mat") -> pd.DataFrame:
    """UCI Student Performance (mathematics: 395 rows); target ``G3``, with ``G1``, ``G2`` near-leaks."""
    return pd.read_csv(HERE / f"student-{subject}.csv", sep=";")
