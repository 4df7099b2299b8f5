"""Audit data: a frame, its target, and the roles its columns play.

Every mistake a user can make here is caught when the ``AuditData`` is built,
with a message that names the column and the problem, so that no probe ever
has to guess what a half-valid frame meant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from auditkit._errors import DataError
from auditkit._frames import (
    _COPY_ON_WRITE,
    _attach_target,
    _check_columns,
    _is_number_column,
    _label,
    _list,
    _sort_key,
    _to_pandas,
)
from auditkit._kinds import KINDS, ColumnKind, describe_nested, infer_kind, nested_example, printed
from auditkit._reference import check_reference

__all__ = ["AuditData", "ColumnKind", "infer_kind"]

Task = Literal["binary", "multiclass", "regression"]

# A whole-number target with more distinct values than this (a 0-20 grade) is
# read as a quantity to regress; with fewer (a 1-5 rating), as classes.
_MAX_CLASSES_IN_NUMBERS = 10


def _names(value: str | Iterable[str] | None, what: str = "columns") -> tuple[str, ...]:
    """Column names, each once, in the order given."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        raise DataError(f"{what} must be a column name or a list of names; got {type(value).__name__} {value!r}")
    return tuple(dict.fromkeys(str(v) for v in value))


class AuditData:
    """The data an audit runs on, with the role of every column.

    Parameters
    ----------
    frame:
        The audit (evaluation) rows. pandas, polars, pyarrow and 2-D numpy are
        accepted; with numpy, ``target`` may be the label array itself.
    target:
        Name of the column the model predicts.
    reference:
        Optional training frame with the same columns (leakage and drift probes compare against it).
    sensitive:
        Columns whose groups must be treated alike (fairness probes).
    time:
        Column holding when each row's prediction is made.
    ids:
        Entity identifiers (a customer number); excluded from the model's inputs.
    ignore:
        Columns neither the model nor the probes should look at.
    prediction, score:
        Stored predictions of a model that cannot be queried: a column of
        labels (or of scores, when ``score`` is not given) and an optional
        column of positive-class scores.
    costs:
        What errors cost: ``{"fp": 1, "fn": 10}`` (optional ``"tp"``, ``"tn"``),
        a square matrix indexed by class (rows actual, columns predicted), or
        the name of a column holding a per-row cost.
    kinds:
        Overrides of the inferred column kinds, ``{"zip": "categorical"}``.

    The frame is never modified; auditkit keeps its own (copy-on-write) copy.
    """

    def __init__(
        self,
        frame: Any,
        target: str | Sequence[Any] | np.ndarray | pd.Series,
        *,
        reference: Any = None,
        sensitive: str | Iterable[str] = (),
        time: str | None = None,
        ids: str | Iterable[str] = (),
        ignore: str | Iterable[str] = (),
        prediction: str | None = None,
        score: str | None = None,
        costs: Any = None,
        kinds: Mapping[str, str] | None = None,
    ) -> None:
        df = _to_pandas(frame, "the audit data")
        if not isinstance(target, str):
            df, target = _attach_target(df, target)
        df = _check_columns(df.copy(deep=not _COPY_ON_WRITE), "the audit data")
        if len(df) == 0:
            raise DataError("the audit data is empty: it has 0 rows")
        if df.shape[1] == 0:
            raise DataError("the audit data has no columns")
        self._frame = df
        self.target: str = target
        self.sensitive: tuple[str, ...] = _names(sensitive, "sensitive")
        self.time: str | None = time
        self.ids: tuple[str, ...] = _names(ids, "ids")
        self.ignore: tuple[str, ...] = _names(ignore, "ignore")
        self.prediction: str | None = prediction
        self.score: str | None = score
        self._check_roles(costs if isinstance(costs, str) else None)
        self._check_target()
        self.kinds: dict[str, ColumnKind] = self._infer_kinds(kinds or {})
        self._check_sensitive()
        self.costs = _check_costs(costs, df)
        self._check_costs_fit_target()
        self._reference = None
        if reference is not None:
            self._reference = check_reference(self, _to_pandas(reference, "the reference data"))

    # -- validation ---------------------------------------------------------

    def _check_roles(self, cost_column: str | None = None) -> None:
        cols = set(map(str, self._frame.columns))
        if self.target not in cols:
            raise DataError(
                f"target column {self.target!r} is not in the audit data; "
                f"columns are: {_list(self._frame.columns)}"
            )
        roles: list[tuple[str, Iterable[str]]] = [
            ("sensitive", self.sensitive),
            ("time", _names(self.time)),
            ("ids", self.ids),
            ("ignore", self.ignore),
            ("prediction", _names(self.prediction)),
            ("score", _names(self.score)),
        ]
        for role, names in roles:
            for name in names:
                if name not in cols:
                    raise DataError(
                        f"{role} column {name!r} is not in the audit data; "
                        f"columns are: {_list(self._frame.columns)}"
                    )
                if name == self.target and role != "sensitive":
                    raise DataError(f"{role} column {name!r} is the target itself")
        if self.target in self.sensitive:
            raise DataError(f"sensitive column {self.target!r} is the target itself")
        # The model's own outputs are neither groups of people nor anything else.
        outputs = {"prediction": self.prediction, "score": self.score}
        for role, name in outputs.items():
            if name is None:
                continue
            for other, names in roles:
                if other != role and other != "ignore" and name in names:
                    raise DataError(f"{other} column {name!r} is also the stored {role} column")
        self._check_nested(cost_column)
        if self.time is not None:
            self._check_time(self._frame[self.time])

    def _check_nested(self, cost_column: str | None) -> None:
        """Lists, arrays or dicts in the cells (a Parquet list or struct column) can be neither
        counted nor compared, so no probe could audit them: such a column is accepted only set aside."""
        roles = {self.target: "target", self.time: "time", self.prediction: "prediction", self.score: "score",
                 cost_column: "costs", **{c: "ids" for c in self.ids}, **{c: "sensitive" for c in self.sensitive}}
        for name in self._frame.columns:
            if name in self.ignore or (example := nested_example(self._frame[name])) is None:
                continue
            held = describe_nested(example)
            if name in roles:
                raise DataError(f"{roles[name]} column {name!r} holds {held}; it must hold one value per row")
            raise DataError(
                f"column {name!r} holds {held}, which no probe can audit: set it aside with "
                f"ignore=[{name!r}] (on the command line: --ignore-column {name})"
            )

    def _check_time(self, column: pd.Series) -> None:
        """A time column holds dates, times or numbers (a year, an epoch): anything else
        would quietly switch off the checks that need it."""
        if ptypes.is_datetime64_any_dtype(column.dtype) or _is_number_column(column):
            return
        values = column.dropna()
        parsed = pd.to_datetime(values.astype(str), errors="coerce", format="mixed")
        bad = values[parsed.isna().to_numpy()]
        if len(values) and len(bad) > 0.05 * len(values):
            raise DataError(
                f"time column {self.time!r} does not hold dates or times: {len(bad)} of its {len(values)} values "
                f"are not, such as {_list(bad.unique()[:3])}"
            )

    def _check_target(self) -> None:
        y = self._frame[self.target]
        missing = int(y.isna().sum())
        if missing:
            raise DataError(
                f"target column {self.target!r} has {missing} missing value(s); "
                "drop or label those rows before auditing"
            )
        if y.nunique() < 2:
            only = y.iloc[0].item() if hasattr(y.iloc[0], "item") else y.iloc[0]
            raise DataError(
                f"target column {self.target!r} has a single class ({only!r}) in all "
                f"{len(y)} rows; an audit needs at least two outcomes"
            )

    def _check_sensitive(self) -> None:
        """A sensitive column splits the rows into groups; one that cannot would make the
        group checks pass without comparing anything."""
        for name in self.sensitive:
            values = self._frame[name].dropna()
            if values.empty:
                raise DataError(f"sensitive column {name!r} is missing in every row: there are no groups to compare")
            if values.nunique() < 2:
                only = values.iloc[0]
                only = only.item() if hasattr(only, "item") else only
                raise DataError(
                    f"sensitive column {name!r} holds one value ({only!r}) in every row that has one: "
                    "there are no groups to compare"
                )

    def _check_costs_fit_target(self) -> None:
        """Costs that cannot price this target's errors are a mistake, not something to skip."""
        costs, distinct = self.costs, self._frame[self.target].nunique()
        if isinstance(costs, Mapping) and distinct > 2:
            way = (
                "a cost matrix" if self.task == "multiclass" else "cost_weighted_errors' over/under settings or a cost column"
            )
            raise DataError(
                f"costs 'fp' and 'fn' price the two errors of a binary decision, but target {self.target!r} has "
                f"{distinct} distinct values; price its errors with {way}"
            )
        if isinstance(costs, pd.DataFrame):
            if self.task == "regression":
                raise DataError(
                    f"a cost matrix prices errors between classes, but target {self.target!r} holds numbers "
                    "(regression); price its errors with cost_weighted_errors' over/under settings or a cost column"
                )
            if not isinstance(costs.index, pd.RangeIndex) or not isinstance(costs.columns, pd.RangeIndex):
                labels = {_label(v) for v in [*costs.index, *costs.columns]}
                known = {_label(c) for c in self.classes}
                if not labels <= known:
                    unknown = sorted(labels - known)
                    raise DataError(
                        f"the cost matrix is labelled {_list(unknown)}, which are not classes of target "
                        f"{self.target!r} ({', '.join(repr(c) for c in self.classes.tolist())}); label rows (actual) and columns "
                        "(predicted) by class"
                    )

    def _infer_kinds(self, overrides: Mapping[str, str]) -> dict[str, ColumnKind]:
        if not isinstance(overrides, Mapping):
            raise DataError(
                f"kinds must map column names to kinds, such as {{'zip': 'categorical'}}; got {type(overrides).__name__}"
            )
        kinds: dict[str, ColumnKind] = {}
        for name, kind in overrides.items():
            if name not in self._frame.columns:
                raise DataError(f"kinds names column {name!r}, which is not in the audit data")
            if kind not in KINDS:
                raise DataError(f"kind {kind!r} for column {name!r} is not one of {', '.join(KINDS)}")
        for name in self._frame.columns:
            kinds[str(name)] = overrides.get(name) or infer_kind(self._frame[name], str(name))  # type: ignore[assignment]
        return kinds

    # -- views --------------------------------------------------------------

    @property
    def frame(self) -> pd.DataFrame:
        """All audit rows and columns (auditkit's own copy)."""
        return self._frame

    @property
    def reference(self) -> pd.DataFrame | None:
        return self._reference

    @cached_property
    def features(self) -> tuple[str, ...]:
        """The columns a model takes as input: all but the target and the non-feature roles."""
        excluded = {self.target, self.prediction, self.score, self.time, *self.ids, *self.ignore}
        if isinstance(self.costs, str):
            excluded.add(self.costs)
        return tuple(str(c) for c in self._frame.columns if c not in excluded)

    @property
    def X(self) -> pd.DataFrame:
        """The model's inputs for every audit row."""
        return self._frame.loc[:, list(self.features)]

    @property
    def y(self) -> pd.Series:
        return self._frame[self.target]

    @property
    def n_rows(self) -> int:
        return len(self._frame)

    @staticmethod
    def class_key(value: Any) -> str:
        """The name a target value goes by, for matching labels from elsewhere (a cost
        matrix read from CSV, a policy file's keys): 1, 1.0 and "1" name one class."""
        return _label(value)

    @cached_property
    def classes(self) -> np.ndarray:
        """Sorted distinct target values (the positive class of a binary target is the last)."""
        return np.asarray(sorted(pd.unique(self.y), key=_sort_key))

    @cached_property
    def task(self) -> Task:
        """The task the target suggests when no model says otherwise."""
        y = self.y
        n_classes = y.nunique()
        if n_classes == 2:
            return "binary"
        if not ptypes.is_numeric_dtype(y.dtype):
            return "multiclass"
        values = y.to_numpy(dtype=float)
        if not np.all(np.mod(values, 1) == 0) or n_classes > _MAX_CLASSES_IN_NUMBERS:
            return "regression"
        return "multiclass"

    @cached_property
    def sha256(self) -> str:
        """A digest of the audit rows, their column names and dtypes (stable across runs)."""
        h = hashlib.sha256()
        h.update(repr([(str(c), str(t)) for c, t in self._frame.dtypes.items()]).encode())
        frame = self._frame
        nested = {c: frame[c].map(printed) for c, kind in self.kinds.items() if kind == "nested"}
        if nested:  # lists and dicts cannot be hashed as cells; their printed form can
            frame = frame.assign(**nested)
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        return h.hexdigest()

    def describe(self) -> dict[str, Any]:
        """The ``data`` block of a scorecard."""
        return {
            "rows": self.n_rows,
            "columns": int(self._frame.shape[1]),
            "target": self.target,
            "sensitive": list(self.sensitive),
            "sha256": self.sha256,
        }

    def numeric_values(self, name: str, role: str = "column") -> np.ndarray:
        """Column ``name`` as floats, refusing text and gaps: a missing score or
        cost is not zero. ``role`` names the column in the error ("score column")."""
        if name not in self._frame.columns:
            raise DataError(f"{role} {name!r} is not in the audit data")
        series = self._frame[name]
        if not _is_number_column(series):
            raise DataError(f"{role} {name!r} must be numeric; it has dtype {series.dtype}")
        values = series.to_numpy(dtype=float)
        bad = int((~np.isfinite(values)).sum())
        if bad:
            raise DataError(f"{role} {name!r} has {bad} missing or infinite value(s)")
        return values

    def columns_of_kind(self, *kinds: str) -> tuple[str, ...]:
        return tuple(c for c in self.features if self.kinds[c] in kinds)

    def replace(self, frame: pd.DataFrame, **roles: Any) -> AuditData:
        """A new AuditData over ``frame`` with the same roles (for sampling and slicing)."""
        kw: dict[str, Any] = {
            "reference": self._reference,
            "sensitive": self.sensitive,
            "time": self.time,
            "ids": self.ids,
            "ignore": self.ignore,
            "prediction": self.prediction,
            "score": self.score,
            "costs": self.costs,
            "kinds": self.kinds,
        }
        kw.update(roles)
        return AuditData(frame, self.target, **kw)

    def __repr__(self) -> str:
        return (
            f"AuditData(rows={self.n_rows}, target={self.target!r}, "
            f"features={len(self.features)}, sensitive={list(self.sensitive)})"
        )


def _check_costs(costs: Any, df: pd.DataFrame) -> Any:
    if costs is None:
        return None
    if isinstance(costs, str):
        if costs not in df.columns:
            raise DataError(f"costs column {costs!r} is not in the audit data")
        if not _is_number_column(df[costs]):
            raise DataError(f"costs column {costs!r} must be numeric; it has dtype {df[costs].dtype}")
        values = df[costs].to_numpy(dtype=float, na_value=np.nan)
        missing = int((~np.isfinite(values)).sum())
        if missing:
            raise DataError(f"costs column {costs!r} has {missing} missing or infinite value(s); every row needs a cost")
        negative = int((values < 0).sum())
        if negative:
            raise DataError(
                f"costs column {costs!r} has {negative} negative value(s), as low as {values.min():g}; "
                "a row's cost is zero or more"
            )
        return costs
    if isinstance(costs, Mapping):
        known = {"fp", "fn", "tp", "tn"}
        unknown = set(costs) - known
        if unknown:
            raise DataError(f"unknown cost key(s) {_list(sorted(unknown))}; expected fp, fn, tp, tn")
        if not {"fp", "fn"} <= set(costs):
            raise DataError("binary costs need both 'fp' and 'fn'")
        out = {}
        for k, v in costs.items():
            try:
                out[k] = float(v)
            except (TypeError, ValueError):
                raise DataError(f"cost {k!r} must be a number; got {v!r}") from None
            if not np.isfinite(out[k]):
                raise DataError(f"cost {k!r} must be finite; got {v!r}")
        # A negative price of an error is a typo, not a gain (gains go in 'tp' and 'tn').
        for k in ("fp", "fn"):
            if out[k] < 0:
                raise DataError(f"cost {k!r} must be zero or more; got {costs[k]!r}")
        if out["fp"] == out["fn"] == 0:
            raise DataError("costs 'fp' and 'fn' are both zero: errors cost nothing, so there is nothing to price")
        return out
    if isinstance(costs, pd.DataFrame):
        matrix = costs
    else:
        try:
            arr = np.asarray(costs, dtype=float)
        except (TypeError, ValueError):
            raise DataError(
                "costs must be {'fp': ..., 'fn': ...}, a square cost matrix of numbers, or the name of a cost column; "
                f"got {type(costs).__name__} that is none of these"
            ) from None
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise DataError(f"a cost matrix must be square; got shape {arr.shape}")
        matrix = pd.DataFrame(arr)
    if matrix.shape[0] != matrix.shape[1]:
        raise DataError(f"a cost matrix must be square; got shape {matrix.shape}")
    try:
        values = matrix.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise DataError("a cost matrix must hold numbers only") from None
    if not np.isfinite(values).all():
        raise DataError("a cost matrix must hold finite numbers only")
    # Off the diagonal are errors: a negative price is a typo (gains of right answers go on the diagonal).
    rows, cols = [_label(v) for v in matrix.index], [_label(v) for v in matrix.columns]
    labelled = set(rows) == set(cols) and not isinstance(matrix.index, pd.RangeIndex)
    error = np.array([[r != c for c in cols] for r in rows]) if labelled else ~np.eye(len(values), dtype=bool)
    if (values[error] < 0).any():
        low = float(values[error].min())
        raise DataError(f"a cost matrix prices errors off its diagonal at zero or more; it has {low:g}")
    return matrix


