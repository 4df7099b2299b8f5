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

from auditkit._costs import check_costs, check_costs_fit_target
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
from auditkit._kinds import KINDS, ColumnKind, as_text, describe_nested, infer_kind, nested_example, printed
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
        self.costs = check_costs(costs, df)
        check_costs_fit_target(
            self.costs, target=self.target, distinct=int(df[self.target].nunique()), task=self.task, classes=self.classes
        )
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
            if (example := nested_example(self._frame[name])) is None:
                continue
            held = describe_nested(example)
            if name in roles:  # even when also ignored: the role still reads it
                raise DataError(f"{roles[name]} column {name!r} holds {held}; it must hold one value per row")
            if name in self.ignore:
                continue
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
        parsed = pd.to_datetime(as_text(values), errors="coerce", format="mixed")
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

    def _infer_kinds(self, overrides: Mapping[str, str]) -> dict[str, ColumnKind]:
        if not isinstance(overrides, Mapping):
            raise DataError(
                f"kinds must map column names to kinds, such as {{'zip': 'categorical'}}; got {type(overrides).__name__}"
            )
        kinds: dict[str, ColumnKind] = {}
        for name, kind in overrides.items():
            if name not in self._frame.columns:
                raise DataError(f"kinds names column {name!r}, which is not in the audit data")
            # "nested" comes back from replace(), which hands over the kinds already inferred
            if kind not in KINDS and not (kind == "nested" and nested_example(self._frame[name]) is not None):
                raise DataError(f"kind {kind!r} for column {name!r} is not one of {', '.join(KINDS)}")
        for name in self._frame.columns:
            column = self._frame[name]
            if nested_example(column) is not None:  # no declared kind makes lists countable
                kinds[str(name)] = "nested"
            else:
                kinds[str(name)] = overrides.get(name) or infer_kind(column, str(name))  # type: ignore[assignment]
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
