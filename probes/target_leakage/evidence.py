"""The evidence a reader checks a leakage finding against: the rows where a
feature gives the answer away, counted on every audit and reference row.

"non-null for 486 rows, 477 of which survived" is worth more than any score:
it can be verified with one line of pandas and it says where to look. The group
is chosen on the scored sample (which level, which cut), then counted on every
row by a mergeable measurement; so are the outcomes where each feature is
present or missing (the purity of missingness).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditkit import Condition, Measurement, Part
from probes.target_leakage.counting import Examples, ExactSum, Outcomes, examples_of, first_examples, labels
from probes.target_leakage.power import as_numbers, parse_dates

__all__ = ["Group", "GroupCounts", "GroupSpec", "MissingCounts", "Purity", "choose_group", "outcome_phrase"]


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


@dataclass(frozen=True)
class Group:
    """A group of rows named by a condition on one feature, with its outcome counts."""

    text: str  # "non-null for 486 rows, 477 of which survived"
    slice: tuple[Condition, ...] | None
    rows: int
    examples: tuple[Any, ...]


@dataclass(frozen=True)
class GroupSpec:
    """Which rows of one feature make its evidence: ``op`` is "non-null", "null",
    "==", ">=" or "<" (against ``value``)."""

    feature: str
    kind: str
    op: str
    value: Any
    label: str
    slice: tuple[Condition, ...] | None
    prefix: str = ""  # for a regression cut: the correlation, measured on the sample

    def mask(self, series: pd.Series) -> np.ndarray:
        if self.op in ("non-null", "null"):
            missing = series.isna().to_numpy()
            return ~missing if self.op == "non-null" else missing
        if self.op == "==":
            return (series == self.value).fillna(False).to_numpy(dtype=bool)
        numbers = _numbers(series, self.kind)
        assert numbers is not None
        with np.errstate(invalid="ignore"):
            inside = numbers >= self.value if self.op == ">=" else numbers < self.value
        return ~np.isnan(numbers) & inside


def _numbers(series: pd.Series, kind: str) -> np.ndarray | None:
    return as_numbers(parse_dates(series) if kind == "datetime" else series)


def choose_group(name: str, series: pd.Series, kind: str, y: pd.Series, task: str, classes: np.ndarray,
                 target: str, by_missingness: bool) -> GroupSpec:
    """The group of rows (chosen on the scored sample) that best shows what
    ``series`` says about the target."""
    missing = series.isna().to_numpy()
    if by_missingness and 0 < missing.sum() < len(series):
        return GroupSpec(name, kind, "non-null", None, "non-null", None)
    numbers = _numbers(series, kind)
    if numbers is not None and kind != "boolean" and len(np.unique(numbers[~np.isnan(numbers)])) > 12:
        return _threshold(name, kind, numbers, y, task, classes, target)
    return _level(name, kind, series, y, task, classes)


def _level(name: str, kind: str, series: pd.Series, y: pd.Series, task: str, classes: np.ndarray) -> GroupSpec:
    # The level that moves the most rows away from the overall outcome.
    frame = pd.DataFrame({"level": series.to_numpy(), "y": _numeric_outcome(y, task, classes)})
    stats = frame.groupby("level", dropna=False)["y"].agg(["mean", "size"])
    impact = stats["size"] * (stats["mean"] - frame["y"].mean()).abs()
    impact = impact[stats["size"] >= 2] if (stats["size"] >= 2).any() else impact
    level = impact.idxmax()
    if pd.isna(level):
        return GroupSpec(name, kind, "null", None, "null", (Condition(name, "is_null"),))
    return GroupSpec(name, kind, "==", level, f"{name} == {_show(level)}", (Condition(name, "==", level),))


def _threshold(name: str, kind: str, numbers: np.ndarray, y: pd.Series, task: str, classes: np.ndarray,
               target: str) -> GroupSpec:
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
    op = ">=" if mean_high[best] >= mean_low[best] else "<"
    prefix = ""
    if task == "regression":
        r = float(np.corrcoef(x, o)[0, 1]) if len(x) > 2 and x.std() > 0 and o.std() > 0 else float("nan")
        prefix = f"Pearson r = {r:.2f} with {target} over {len(x)} rows; "
    return GroupSpec(name, kind, op, cut, f"{name} {op} {cut:.4g}", (Condition(name, op, cut),), prefix)


def _numeric_outcome(y: pd.Series, task: str, classes: np.ndarray) -> np.ndarray:
    if task == "regression":
        return y.to_numpy(dtype=float)
    if task == "binary":
        return (y.to_numpy() == classes[-1]).astype(float)
    # Several classes: the most common one against the rest.
    return (y.to_numpy() == y.value_counts().idxmax()).astype(float)


class GroupCounts(Measurement["GroupCounts"]):
    """Every row of each chosen group: its count, its outcomes (per class, or the
    exact sum of a numeric target), and its first rows."""

    def __init__(self, specs: list[GroupSpec], target: str, classes: np.ndarray | None) -> None:
        self.specs, self.target, self.classes = specs, target, classes
        self.rows = 0
        self.total_sum = ExactSum()
        self.inside = {s.feature: [0, Outcomes(classes), ExactSum(), ()] for s in specs}

    def update(self, part: Part) -> None:
        y = part.frame[self.target]
        self.rows += len(part)
        if self.classes is None:
            self.total_sum = self.total_sum.plus(ExactSum.of(y.to_numpy(dtype=float)))
        for spec in self.specs:
            mask = spec.mask(part.frame[spec.feature])
            state = self.inside[spec.feature]
            state[0] += int(mask.sum())
            if self.classes is not None:
                state[1] = state[1].plus(Outcomes.of(y[mask], self.classes))
            else:
                state[2] = state[2].plus(ExactSum.of(y.to_numpy(dtype=float)[mask]))
            state[3] = first_examples(state[3], examples_of(part, mask))

    def merge(self, other: GroupCounts) -> GroupCounts:
        self.rows += other.rows
        self.total_sum = self.total_sum.plus(other.total_sum)
        for name, state in self.inside.items():
            o = other.inside[name]
            self.inside[name] = [state[0] + o[0], state[1].plus(o[1]), state[2].plus(o[2]), first_examples(state[3], o[3])]
        return self

    def finalize(self) -> GroupCounts:
        return self

    def group(self, spec: GroupSpec, task: str, classes: np.ndarray, where: str) -> Group:
        rows, outcomes, total, examples = self.inside[spec.feature]
        head = f"{spec.label} for {rows} rows{where}, "
        if task == "regression":
            rest = self.rows - rows
            elsewhere = f"{self.total_sum.plus(ExactSum(-total.total)).mean(rest):.3g}" if rest else "n/a"
            text = head + f"where {self.target} averages {total.mean(rows):.3g} against {elsewhere} elsewhere"
        else:
            value = classes[-1] if task == "binary" else outcomes.most_common()
            text = head + outcome_phrase(outcomes.count(value), self.target, value, classes)
        return Group(spec.prefix + text, spec.slice, rows, labels(examples))


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


class MissingCounts(Measurement["MissingCounts"]):
    """For every feature, the outcomes of the rows where it is missing (those where
    it is present are all rows less these), with the first rows of each."""

    def __init__(self, features: list[str], target: str, classes: np.ndarray | None) -> None:
        self.features, self.target, self.classes = features, target, classes
        self.all = Outcomes(classes)
        self.null: dict[str, Outcomes] = {}
        self.examples: dict[str, tuple[Examples, Examples]] = {f: ((), ()) for f in features}

    def update(self, part: Part) -> None:
        y = part.frame[self.target]
        self.all = self.all.plus(Outcomes.of(y, self.classes))
        for name in self.features:
            missing = part.frame[name].isna().to_numpy()
            present_ex = examples_of(part, ~missing)
            null_ex = examples_of(part, missing) if missing.any() else ()
            if missing.any():
                self.null[name] = self.null.get(name, Outcomes(self.classes)).plus(Outcomes.of(y[missing], self.classes))
            old = self.examples[name]
            self.examples[name] = (first_examples(old[0], present_ex), first_examples(old[1], null_ex))

    def merge(self, other: MissingCounts) -> MissingCounts:
        self.all = self.all.plus(other.all)
        for name, counts in other.null.items():
            self.null[name] = self.null[name].plus(counts) if name in self.null else counts
        for name, (present, null) in other.examples.items():
            old = self.examples[name]
            self.examples[name] = (first_examples(old[0], present), first_examples(old[1], null))
        return self

    def finalize(self) -> MissingCounts:
        return self

    def has_gaps(self, name: str) -> bool:
        """Whether the feature is missing in some rows but not all."""
        null = self.null[name].rows if name in self.null else 0
        return 0 < null < self.all.rows

    def purity(self, name: str, alpha: float, min_support: int) -> list[Purity]:
        """For the non-null and the null rows (each with ``min_support`` rows or more):
        how certain the outcome is there, with a Clopper-Pearson upper bound on the
        share of exceptions at level ``alpha``."""
        from scipy.stats import beta

        null = self.null.get(name, Outcomes(self.classes))
        present = self.all.minus(null)
        examples = self.examples[name]
        out = []
        for state, inside, outside, ex in (("non-null", present, null, examples[0]), ("null", null, present, examples[1])):
            rows = inside.rows
            if rows < min_support or rows == self.all.rows:
                continue
            value = inside.most_common()
            agree = inside.count(value)
            exceptions = rows - agree
            high = 1.0 if exceptions == rows else float(beta.ppf(1 - alpha, exceptions + 1, rows - exceptions))
            elsewhere = (outside.rows - outside.count(value)) / outside.rows
            out.append(Purity(name, state, rows, value, agree, high, float(elsewhere), labels(ex)))
        return out
