"""Audit data: a frame, its target, and the roles its columns play.

Every mistake a user can make here is caught when the ``AuditData`` is built,
with a message that names the column and the problem, so that no probe ever
has to guess what a half-valid frame meant.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from auditkit._errors import DataError

__all__ = ["AuditData", "ColumnKind", "infer_kind"]

ColumnKind = Literal["numeric", "categorical", "boolean", "datetime", "text", "identifier"]
KINDS: tuple[str, ...] = ("numeric", "categorical", "boolean", "datetime", "text", "identifier")
Task = Literal["binary", "multiclass", "regression"]

# pandas 3 copies on write, so a shallow copy already protects the user's frame
# from anything a probe does to ours (and theirs from ours); pandas 2 needs a deep copy.
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3

_ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid|key|index)$|^id[_\W]", re.IGNORECASE)
# Below this many rows "unique per row" says little: 12 distinct ages are not identifiers.
_MIN_ROWS_FOR_IDENTIFIER = 20
# A whole-number target with more distinct values than this (a 0-20 grade) is
# read as a quantity to regress; with fewer (a 1-5 rating), as classes.
_MAX_CLASSES_IN_NUMBERS = 10


def _to_pandas(obj: Any, what: str) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj
    if hasattr(obj, "to_pandas") and callable(obj.to_pandas):  # polars, pyarrow
        result = obj.to_pandas()
        if isinstance(result, pd.DataFrame):
            return result
    if isinstance(obj, np.ndarray):
        if obj.ndim != 2:
            raise DataError(f"{what} must be 2-dimensional; got an array of shape {obj.shape}")
        return pd.DataFrame(obj, columns=[f"x{i}" for i in range(obj.shape[1])])
    if isinstance(obj, Mapping):
        return pd.DataFrame(dict(obj))
    raise DataError(
        f"{what} must be a pandas, polars or pyarrow table or a 2-D numpy array; "
        f"got {type(obj).__name__}"
    )


def _names(value: str | Iterable[str] | None, what: str = "columns") -> tuple[str, ...]:
    """Column names, each once, in the order given."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        raise DataError(f"{what} must be a column name or a list of names; got {type(value).__name__} {value!r}")
    return tuple(dict.fromkeys(str(v) for v in value))


def _looks_like_id_name(name: str) -> bool:
    return bool(_ID_NAME.search(name)) or name.lower() in {"id", "uuid", "index"}


def infer_kind(series: pd.Series, name: str | None = None) -> ColumnKind:
    """Guess what a column holds, by its dtype and its values.

    Identifiers are columns unique per row that look like keys (a key-like
    name, or integers in row order): they are the ones a leakage probe must
    not wave through as "harmless because all-unique".
    """
    name = str(series.name if name is None else name)
    if ptypes.is_bool_dtype(series.dtype):
        return "boolean"
    if ptypes.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    n = len(series)
    nonnull = series.dropna()
    if ptypes.is_numeric_dtype(series.dtype):
        if (
            ptypes.is_integer_dtype(series.dtype)
            and n >= _MIN_ROWS_FOR_IDENTIFIER
            and len(nonnull) == n
            and series.nunique() == n
            and (_looks_like_id_name(name) or series.is_monotonic_increasing or series.is_monotonic_decreasing)
        ):
            return "identifier"
        return "numeric"
    if isinstance(series.dtype, pd.CategoricalDtype):
        return "categorical"
    if len(nonnull) == 0:
        return "categorical"
    sample = nonnull.iloc[: min(200, len(nonnull))].astype(str)
    if _parses_as_dates(sample):
        return "datetime"
    unique = nonnull.nunique()
    wordy = sample.str.count(" ").mean() >= 2
    if n >= _MIN_ROWS_FOR_IDENTIFIER and unique == len(nonnull) == n and (_looks_like_id_name(name) or not wordy):
        return "identifier"
    if unique > 0.5 * len(nonnull) and wordy:
        return "text"
    if n >= _MIN_ROWS_FOR_IDENTIFIER and unique == len(nonnull):
        return "identifier"
    return "categorical"


def _parses_as_dates(sample: pd.Series) -> bool:
    if len(sample) == 0 or sample.str.len().min() < 8 or not sample.str.contains(r"[-/:]").all():
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="ISO8601")
    return bool(parsed.notna().mean() >= 0.95)


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
        self._check_roles()
        self._check_target()
        self.kinds: dict[str, ColumnKind] = self._infer_kinds(kinds or {})
        self._check_sensitive()
        self.costs = _check_costs(costs, df)
        self._check_costs_fit_target()
        self._reference = None
        if reference is not None:
            self._reference = self._check_reference(_to_pandas(reference, "the reference data"))

    # -- validation ---------------------------------------------------------

    def _check_roles(self) -> None:
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
        if self.time is not None:
            self._check_time(self._frame[self.time])

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

    def _check_reference(self, ref: pd.DataFrame) -> pd.DataFrame:
        ref = _check_columns(ref, "the reference data", stacklevel=4)
        if len(ref) == 0:
            raise DataError("the reference data is empty: it has 0 rows")
        needed = [self.target, *self.features]
        missing = [c for c in needed if c not in ref.columns]
        extra = [c for c in ref.columns if c not in self._frame.columns]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {_list(missing)}")
            if extra:
                parts.append(f"extra {_list(extra)}")
            raise DataError(
                "the reference data has different columns from the audit data: " + "; ".join(parts)
            )
        # Numbers in one and text in the other are two different columns under one name:
        # every comparison between the two would be meaningless.
        clash = [
            c for c in needed
            if _is_number_column(self._frame[c]) != _is_number_column(ref[c])
            and not (self._frame[c].isna().all() or ref[c].isna().all())
        ]
        if clash:
            c = clash[0]
            raise DataError(
                f"the reference data's column {c!r} holds {ref[c].dtype} values where the audit data's holds "
                f"{self._frame[c].dtype}" + (f" (and {len(clash) - 1} more column(s) differ so)" if len(clash) > 1 else "")
            )
        audit_classes = {_label(v) for v in pd.unique(self._frame[self.target].dropna())}
        ref_classes = {_label(v) for v in pd.unique(ref[self.target].dropna())}
        if len(audit_classes) <= 50 and audit_classes.isdisjoint(ref_classes):
            raise DataError(
                f"the reference data's target {self.target!r} shares no value with the audit data's "
                f"({_list(sorted(ref_classes)[:5])} against {_list(sorted(audit_classes)[:5])})"
            )
        return ref.copy(deep=not _COPY_ON_WRITE)

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
        h.update(pd.util.hash_pandas_object(self._frame, index=False).to_numpy().tobytes())
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


def _sort_key(value: Any) -> tuple[int, Any]:
    # Mixed numbers and strings would not sort; numbers first, then text.
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return (0, float(value))
    return (1, str(value))


def _attach_target(df: pd.DataFrame, target: Any) -> tuple[pd.DataFrame, str]:
    y = np.asarray(target)
    if y.ndim != 1 or len(y) != len(df):
        raise DataError(
            f"target must be a column name or a 1-D array with one value per row "
            f"({len(df)}); got shape {y.shape}"
        )
    name = str(getattr(target, "name", None) or "target")
    if name in df.columns:
        raise DataError(f"cannot add the target as column {name!r}: the data already has one")
    return df.assign(**{name: y}), name


def _is_number_column(column: pd.Series) -> bool:
    return ptypes.is_numeric_dtype(column.dtype) and not ptypes.is_bool_dtype(column.dtype)


def _label(value: Any) -> str:
    """A target value as a class name: 1, 1.0 and "1" name one class."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value).strip()
    return str(int(f)) if np.isfinite(f) and f == int(f) else str(f)


def _check_columns(df: pd.DataFrame, what: str, *, stacklevel: int = 3) -> pd.DataFrame:
    """``df`` with string column names (non-string labels would break every report),
    renamed on a new frame: the user's own keeps its names."""
    names = [str(c) for c in df.columns]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise DataError(f"{what} has duplicated column names: {_list(dupes)}")
    if any(not isinstance(c, str) for c in df.columns):
        df = df.set_axis(names, axis=1)
    if not df.index.is_unique:
        # Findings name example rows by index label; a repeated label would point at
        # several rows, so those examples count rows by position instead.
        counts = df.index.value_counts()
        label, times = counts.index[0], int(counts.iloc[0])
        label = label.item() if isinstance(label, np.generic) else label
        warnings.warn(
            f"{what} has a repeated index label ({label!r} labels {times} rows); findings name "
            f"its example rows by position (0 to {len(df) - 1}) instead",
            UserWarning,
            stacklevel=stacklevel,
        )
        df = df.set_axis(pd.RangeIndex(len(df)), axis=0)
    return df


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


def _list(names: Iterable[Any], limit: int = 12) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
