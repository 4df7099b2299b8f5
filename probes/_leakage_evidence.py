"""The evidence a reader checks a leakage finding against: the rows where a
feature gives the answer away, counted on the full audit data.

"non-null for 486 rows, 477 of which survived" is worth more than any score:
it can be verified with one line of pandas and it says where to look.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditkit import Condition
from probes._leakage_power import as_numbers, parse_dates

__all__ = ["Group", "Purity", "describe_feature", "missingness_purity", "outcome_phrase"]

_EXAMPLES = 5


@dataclass(frozen=True)
class Group:
    """A group of rows named by a condition on one feature, with its outcome counts."""

    text: str  # "non-null for 486 rows, 477 of which survived"
    slice: tuple[Condition, ...] | None
    rows: int
    examples: tuple[Any, ...]


def outcome_phrase(count: int, target: str, value: Any, classes: np.ndarray) -> str:
    """"477 of which survived" for a 0/1 target named like a past event (``survived``,
    ``churned``, ``defaulted``); "40 of which have income = '>50K'" or "329 of which
    have target = 1" otherwise, which reads right whatever the target's name."""
    if _is_flag(classes) and bool(value) and re.fullmatch(r"[A-Za-z]+ed", target):
        return f"{count} of which {target}"
    return f"{count} of which have {target} = {_show(value)}"


def _is_flag(classes: np.ndarray) -> bool:
    try:
        return len(classes) == 2 and {float(c) for c in classes.tolist()} == {0.0, 1.0}
    except (TypeError, ValueError):
        return False


def _show(value: Any) -> str:
    if isinstance(value, (np.generic,)):
        value = value.item()
    return repr(value)


def _group(mask: np.ndarray, y: pd.Series, task: str, classes: np.ndarray, target: str, label: str,
           cond: tuple[Condition, ...] | None, index: pd.Index, where: str = "") -> Group:
    rows = int(mask.sum())
    inside = y[mask]
    if task == "regression":
        rest = y[~mask]
        elsewhere = f"{rest.mean():.3g}" if len(rest) else "n/a"
        text = f"{label} for {rows} rows{where}, where {target} averages {inside.mean():.3g} against {elsewhere} elsewhere"
    else:
        value = classes[-1] if task == "binary" else inside.value_counts().idxmax()
        text = f"{label} for {rows} rows{where}, " + outcome_phrase(int((inside == value).sum()), target, value, classes)
    return Group(text, cond, rows, tuple(index[mask][:_EXAMPLES].tolist()))


def describe_feature(
    name: str, series: pd.Series, kind: str, y: pd.Series, task: str, classes: np.ndarray,
    target: str, by_missingness: bool, where: str = "",
) -> Group:
    """The group of rows that best shows what ``series`` says about the target
    (``where`` says which rows were counted, as " of the audit and reference data")."""
    index = series.index
    missing = series.isna().to_numpy()
    if by_missingness and 0 < missing.sum() < len(series):
        return _group(~missing, y, task, classes, target, "non-null", None, index, where)
    numbers = as_numbers(parse_dates(series) if kind == "datetime" else series)
    if numbers is not None and kind != "boolean" and len(np.unique(numbers[~np.isnan(numbers)])) > 12:
        return _threshold_group(name, numbers, y, task, classes, target, index, where)
    return _level_group(name, series, y, task, classes, target, index, where)


def _level_group(name: str, series: pd.Series, y: pd.Series, task: str, classes: np.ndarray,
                 target: str, index: pd.Index, where: str) -> Group:
    # The level that moves the most rows away from the overall outcome.
    frame = pd.DataFrame({"level": series.to_numpy(), "y": _numeric_outcome(y, task, classes)})
    stats = frame.groupby("level", dropna=False)["y"].agg(["mean", "size"])
    impact = stats["size"] * (stats["mean"] - frame["y"].mean()).abs()
    impact = impact[stats["size"] >= 2] if (stats["size"] >= 2).any() else impact
    level = impact.idxmax()
    if pd.isna(level):
        mask = series.isna().to_numpy()
        return _group(mask, y, task, classes, target, "null", (Condition(name, "is_null"),), index, where)
    mask = (series == level).fillna(False).to_numpy(dtype=bool)
    label = f"{name} == {_show(level)}"
    return _group(mask, y, task, classes, target, label, (Condition(name, "==", level),), index, where)


def _threshold_group(name: str, numbers: np.ndarray, y: pd.Series, task: str, classes: np.ndarray,
                     target: str, index: pd.Index, where: str) -> Group:
    # The cut that best separates the outcome (Youden's J; for regression, the
    # largest between-group sum of squares), searched over quantiles.
    present = ~np.isnan(numbers)
    outcome = _numeric_outcome(y, task, classes)
    x, o = numbers[present], outcome[present]
    cuts = np.unique(np.quantile(x, np.linspace(0.02, 0.98, 49)))
    order = np.argsort(x, kind="stable")
    xs, os_ = x[order], o[order]
    below = np.searchsorted(xs, cuts, side="left")
    cum = np.concatenate([[0.0], np.cumsum(os_)])
    n = len(xs)
    n_low = below.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = cum[below] / n_low
        mean_high = (cum[-1] - cum[below]) / (n - n_low)
        gain = n_low * (n - n_low) * (mean_high - mean_low) ** 2
    gain[(n_low == 0) | (n_low == n)] = -1
    best = int(np.argmax(gain))
    cut = float(cuts[best])
    high_side = mean_high[best] >= mean_low[best]
    op = ">=" if high_side else "<"
    mask = present & ((numbers >= cut) if high_side else (numbers < cut))
    label = f"{name} {op} {cut:.4g}"
    group = _group(mask, y, task, classes, target, label, (Condition(name, op, cut),), index, where)
    if task != "regression":
        return group
    r = float(np.corrcoef(x, o)[0, 1]) if len(x) > 2 and x.std() > 0 and o.std() > 0 else float("nan")
    text = f"Pearson r = {r:.2f} with {target} over {len(x)} rows; " + group.text
    return Group(text, group.slice, group.rows, group.examples)


def _numeric_outcome(y: pd.Series, task: str, classes: np.ndarray) -> np.ndarray:
    if task == "regression":
        return y.to_numpy(dtype=float)
    if task == "binary":
        return (y.to_numpy() == classes[-1]).astype(float)
    # Several classes: the most common one against the rest.
    return (y.to_numpy() == y.value_counts().idxmax()).astype(float)


@dataclass(frozen=True)
class Purity:
    """The outcome inside the rows where a feature is present (or missing)."""

    feature: str
    state: str  # "non-null" or "null"
    rows: int
    value: Any  # the outcome that dominates the group
    agree: int  # rows of the group with that outcome
    exceptions_high: float  # upper confidence bound of the share of other outcomes
    elsewhere: float  # share of other outcomes outside the group
    examples: tuple[Any, ...]

    @property
    def exceptions(self) -> float:
        return 1.0 - self.agree / self.rows


def missingness_purity(feature: str, series: pd.Series, y: pd.Series, alpha: float,
                       min_support: int) -> list[Purity]:
    """For the non-null and the null rows of ``series`` (each with ``min_support``
    rows or more): how certain the outcome is there, with a Clopper-Pearson
    upper bound on the share of exceptions at level ``alpha``."""
    from scipy.stats import beta

    missing = series.isna().to_numpy()
    out = []
    for state, mask in (("non-null", ~missing), ("null", missing)):
        rows = int(mask.sum())
        if rows < min_support or rows == len(series):
            continue
        inside = y[mask]
        value = inside.value_counts().idxmax()
        agree = int((inside == value).sum())
        exceptions = rows - agree
        high = 1.0 if exceptions == rows else float(beta.ppf(1 - alpha, exceptions + 1, rows - exceptions))
        outside = y[~mask]
        elsewhere = float((outside != value).mean())
        out.append(Purity(feature, state, rows, value, agree, high, elsewhere, tuple(series.index[mask][:_EXAMPLES].tolist())))
    return out
