"""Hypothesis strategies for rows and frames shaped like an audit's data.

The schema (each feature's kind, dtype, range and values) is inferred from an
:class:`~auditkit.AuditData` (or a plain DataFrame); the strategies draw
values that fit it and, on request, adversarial ones: missing values in all
their spellings, extreme magnitudes, wrong types, unseen categories and
garbled text. They compose with ``@given`` like any other strategy, and a
failing example shrinks towards typical values (the median, the most frequent
category) in every cell except the ones that break the model::

    import numpy as np
    from hypothesis import given
    from auditkit import strategies

    @given(X=strategies.frames(data, adversarial=True))
    def test_no_row_makes_the_model_return_nan(X):
        try:
            proba = model.predict_proba(X)
        except (ValueError, TypeError, KeyError):
            return  # rejecting malformed input loudly is fine
        assert np.isfinite(proba).all()

``rows`` draws one row as a ``{column: value}`` dict and shrinks best: use it
for the single smallest failing row. :func:`to_frame` turns rows into a frame
with the schema's dtypes (a value that does not fit its column's dtype leaves
that column ``object``, so a wrong type stays wrong); :func:`to_source` prints
a frame as Python a person can paste::

    @given(row=strategies.rows(data, adversarial=True))
    def test_one_row(row):
        X = strategies.to_frame([row], data)
        ...
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, get_args

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from pandas.api import types as ptypes

from auditkit._data import AuditData, ColumnKind, infer_kind

__all__ = [
    "FAULTS",
    "ColumnSchema",
    "Fault",
    "Schema",
    "cells",
    "fault_values",
    "frames",
    "infer_schema",
    "rows",
    "to_frame",
    "to_source",
]

Fault = Literal["missing", "extreme", "wrong_type", "unseen", "garbled"]
"""A family of malformed values: ``missing`` (NaN, None, "", "null", "NaN",
"N/A"), ``extreme`` (infinities, 1e308, a value 1000x outside the observed
range; overlong text), ``wrong_type`` (text in a numeric column, a number in a
text one), ``unseen`` (a category the data never had) and ``garbled``
(mojibake, invalid UTF-8, control characters)."""

FAULTS: tuple[Fault, ...] = get_args(Fault)

# How far outside the observed range an "out of range" value lies, in spans of that range.
OUT_OF_RANGE_FACTOR = 1000.0
# Typical numeric values the valid draws start from (the median first, so that
# a shrunk example shows a typical value in every cell but the failing one).
_QUANTILES = (0.5, 0.25, 0.75, 0.05, 0.95, 0.0, 1.0)
# Distinct values kept per column: enough for every category of a real
# categorical column, bounded for free text and identifiers.
_MAX_VALUES = 1000

_MOJIBAKE = "CafÃ© MÃ¼nchen â€“ naÃ¯ve â€œquotedâ€\x9d"
# What Python makes of bytes that are not UTF-8 when it reads them leniently
# (errors="surrogateescape"): lone surrogates that no UTF-8 encoder accepts.
_INVALID_UTF8 = b"caf\xe9 \xff\xfe\xc3\x28".decode("utf-8", "surrogateescape")
_CONTROL_CHARS = "\x00\x07\x1b[2J\r\n\t\u202e\ufeff\u200b"
_OVERLONG_TEXT = "x" * 10_000
_UNSEEN = "<unseen category>"


@dataclass(frozen=True)
class ColumnSchema:
    """What one feature column holds, as the audit data shows it.

    ``values`` are typical observed values, most typical first: the median
    and other quantiles of a numeric column, the categories of a categorical
    one by frequency (all of them, up to 1,000), a sample of texts or dates.
    ``low`` and ``high`` bound a numeric or datetime column's observed values.
    """

    name: str
    kind: ColumnKind
    dtype: Any
    nullable: bool = False
    integer: bool = False
    low: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()

    @property
    def numeric(self) -> bool:
        return ptypes.is_numeric_dtype(self.dtype) and not ptypes.is_bool_dtype(self.dtype)

    @property
    def textual(self) -> bool:
        """Holds text (categories, free text, string identifiers) rather than numbers or dates."""
        return not self.numeric and self.kind not in ("boolean", "datetime")

    def series(self, values: Iterable[Any], index: Any = None) -> pd.Series:
        """``values`` as a column of this schema's dtype where they all fit it, else ``object``.

        A text in a numeric column, or a category the dtype does not know, so
        keeps its type instead of being coerced (or, for pandas categoricals,
        silently turned into NaN).
        """
        items = values if isinstance(values, np.ndarray) else list(values)
        array = np.empty(len(items), dtype=object)
        array[:] = items
        dtype = self._dtype_for(array)
        if dtype is not object:
            try:
                return pd.Series(array, dtype=dtype, index=index, name=self.name)
            except (TypeError, ValueError, OverflowError):  # e.g. lone surrogates in an Arrow string column
                pass
        return pd.Series(array, dtype=object, index=index, name=self.name)

    def _dtype_for(self, values: np.ndarray) -> Any:
        # infer_dtype skips missing values and runs in C: a 1,000-row batch costs microseconds.
        inferred = ptypes.infer_dtype(values, skipna=True)
        missing = bool(pd.isna(values).any())
        dtype = self.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            present = pd.Series(values, dtype=object).dropna()
            try:
                fits = bool(present.isin(dtype.categories).all())
            except TypeError:  # unhashable values
                fits = False
            return dtype if fits else object
        if ptypes.is_bool_dtype(dtype):
            return dtype if inferred == "boolean" and not missing else object
        if ptypes.is_numeric_dtype(dtype):
            if inferred not in ("floating", "integer", "mixed-integer-float", "empty"):
                return object
            if ptypes.is_integer_dtype(dtype):
                present = values[~pd.isna(values)].astype(float)
                with np.errstate(invalid="ignore"):
                    whole = bool(np.all(np.mod(present, 1) == 0) and np.all(np.abs(present) < 2**63))
                if missing or not whole:
                    return np.float64
            return dtype
        if ptypes.is_datetime64_any_dtype(dtype):
            return dtype if inferred in ("datetime", "datetime64", "empty") else object
        if ptypes.is_string_dtype(dtype) and dtype != object:
            return dtype if inferred in ("string", "empty") else object
        return object


Schema: TypeAlias = "AuditData | pd.DataFrame | Sequence[ColumnSchema]"
"""What the strategies accept: audit data (its feature columns), a feature frame, or an inferred schema."""


def infer_schema(data: Schema) -> tuple[ColumnSchema, ...]:
    """The schema of the model's input columns: ``data.features`` of an AuditData
    (with its column kinds), every column of a DataFrame, or a schema as it is."""
    if isinstance(data, AuditData):
        X, kinds = data.X, data.kinds
    elif isinstance(data, pd.DataFrame):
        X, kinds = data, {str(c): infer_kind(data[c], str(c)) for c in data.columns}
    else:
        columns = tuple(data)
        if not all(isinstance(c, ColumnSchema) for c in columns):
            raise TypeError("expected an AuditData, a DataFrame or a sequence of ColumnSchema")
        return columns
    return tuple(_column_schema(X[c], str(c), kinds[str(c)]) for c in X.columns)


def _column_schema(s: pd.Series, name: str, kind: ColumnKind) -> ColumnSchema:
    nullable = bool(s.isna().any())
    present = s.dropna()
    if ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype):
        x = present.to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        integer = bool(ptypes.is_integer_dtype(s.dtype) or (x.size and np.all(np.mod(x, 1) == 0)))
        if x.size == 0:
            return ColumnSchema(name, kind, s.dtype, nullable, integer, 0.0, 0.0, (0.0,))
        q = np.quantile(x, _QUANTILES)
        typical = np.round(q) if integer else q
        values = tuple(dict.fromkeys(_python(v, integer) for v in typical))
        return ColumnSchema(name, kind, s.dtype, nullable, integer, _python(x.min(), integer), _python(x.max(), integer), values)
    if ptypes.is_datetime64_any_dtype(s.dtype):
        ordered = present.sort_values()
        if len(ordered) == 0:
            return ColumnSchema(name, kind, s.dtype, nullable)
        picks = ordered.iloc[np.unique(np.quantile(np.arange(len(ordered)), _QUANTILES).astype(int))]
        values = tuple(dict.fromkeys([ordered.iloc[len(ordered) // 2], *picks]))
        return ColumnSchema(name, kind, s.dtype, nullable, low=ordered.iloc[0], high=ordered.iloc[-1], values=values)
    counts = present.value_counts(sort=True)
    values = tuple(_python(v) for v in counts.index[:_MAX_VALUES])
    return ColumnSchema(name, kind, s.dtype, nullable, values=values)


# -- adversarial values -------------------------------------------------------


def fault_values(column: ColumnSchema, fault: Fault) -> dict[str, Any]:
    """The named malformed values of one fault family that apply to ``column``.

    These are the fixed list the ``nan_injection`` probe pushes through a
    model; the strategies draw from them and from hypothesis' own generators.
    An empty dict means the family does not apply (no unseen category for a
    number, no infinity for a text).
    """
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
    if fault == "missing":
        return {"nan": math.nan, "none": None, "empty_string": "", "null_text": "null", "nan_text": "NaN", "na_text": "N/A"}
    if fault == "extreme":
        if column.numeric:
            return {
                "pos_inf": math.inf,
                "neg_inf": -math.inf,
                "huge": 1e308,
                "neg_huge": -1e308,
                "out_of_range": _out_of_range(column),
            }
        if column.kind == "datetime":
            return {"far_future": pd.Timestamp("2262-04-11"), "far_past": pd.Timestamp("1677-09-22")}
        if column.textual:
            return {"overlong_text": _OVERLONG_TEXT}
        return {}
    if fault == "wrong_type":
        if column.numeric:
            return {"wrong_type": "twelve"}
        if column.kind == "boolean":
            return {"wrong_type": "maybe"}
        return {"wrong_type": 12345}
    if fault == "unseen":
        if column.textual:
            return {"unseen_category": _unseen(column)}
        return {}
    if column.textual:  # garbled
        return {"mojibake": _MOJIBAKE, "invalid_utf8": _INVALID_UTF8, "control_chars": _CONTROL_CHARS}
    return {}


def _out_of_range(column: ColumnSchema) -> float:
    low, high = float(column.low or 0.0), float(column.high or 0.0)
    span = high - low
    if span <= 0:
        span = max(abs(high), 1.0)
    value = high + OUT_OF_RANGE_FACTOR * span
    return float(round(value)) if column.integer else value


def _unseen(column: ColumnSchema) -> str:
    known = {str(v) for v in column.values}
    candidate = _UNSEEN
    while candidate in known:
        candidate += "*"
    return candidate


# -- strategies ---------------------------------------------------------------


def cells(column: ColumnSchema, *, adversarial: bool | Iterable[Fault] = False, fault_rate: float = 0.25) -> st.SearchStrategy[Any]:
    """Values for one cell of ``column``.

    Valid values shrink towards the column's most typical one (its median or
    most frequent category); missing values are valid where the data has
    them. With ``adversarial``, a share ``fault_rate`` of draws come from the
    fault families asked for (all of them for ``True``), and shrinking moves
    a cell back to a valid value whenever the failure does not need it.
    """
    valid = _valid_cells(column)
    faults = _faults(adversarial)
    if not faults:
        return valid
    if not 0 < fault_rate <= 1:
        raise ValueError(f"fault_rate must be in (0, 1]; got {fault_rate}")
    bad = [_fault_cells(column, f) for f in faults]
    bad = [b for b in bad if b is not None]
    if not bad:
        return valid
    return _mixed(valid, st.one_of(bad), fault_rate)


def rows(
    data: Schema, *, adversarial: bool | Iterable[Fault] = False, fault_rate: float | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """One row as ``{column: value}`` over the schema's columns, in order.

    ``fault_rate`` (the chance that a cell is malformed, with ``adversarial``)
    defaults to about two malformed cells per row, so that one column's
    loud rejection does not hide another column's silent failure.
    """
    schema = infer_schema(data)
    rate = _default_rate(schema) if fault_rate is None else fault_rate
    names = [c.name for c in schema]
    drawn = st.fixed_dictionaries({c.name: cells(c, adversarial=adversarial, fault_rate=rate) for c in schema})
    return drawn.map(lambda row: {name: row[name] for name in names})


def frames(
    data: Schema,
    *,
    adversarial: bool | Iterable[Fault] = False,
    min_rows: int = 1,
    max_rows: int = 20,
    fault_rate: float | None = None,
) -> st.SearchStrategy[pd.DataFrame]:
    """Frames of ``min_rows`` to ``max_rows`` rows built by :func:`to_frame` from :func:`rows`.

    One frame is one batch for the model, so a property test covers many rows
    per call. Hypothesis shrinks a failing frame towards fewer rows and typical
    values, though not always to a single row; :func:`rows` does that.
    """
    if not 0 <= min_rows <= max_rows:
        raise ValueError(f"need 0 <= min_rows <= max_rows; got {min_rows} and {max_rows}")
    schema = infer_schema(data)
    row = rows(schema, adversarial=adversarial, fault_rate=fault_rate)
    return st.lists(row, min_size=min_rows, max_size=max_rows).map(lambda rs: to_frame(rs, schema))


def to_frame(rows: Sequence[Mapping[str, Any]], data: Schema) -> pd.DataFrame:
    """Rows as a frame with the schema's columns, in order, and dtypes where the values fit them."""
    schema = infer_schema(data)
    rows = list(rows)
    unknown = sorted({k for r in rows for k in r} - {c.name for c in schema})
    if unknown:
        raise KeyError(f"row has column(s) the schema does not: {unknown}")
    index = pd.RangeIndex(len(rows))
    columns = {c.name: c.series([r.get(c.name) for r in rows], index=index) for c in schema}
    return pd.DataFrame(columns, index=index)


def to_source(frame: pd.DataFrame) -> str:
    """Python that rebuilds ``frame``'s values: ``pd.DataFrame({"x": [float("nan")]})``.

    NaN and infinities are spelled ``float("nan")``, texts with control
    characters or lone surrogates as escaped string literals, and a column
    of mixed types stays ``object``, so the text pastes into a test as it is.
    """
    parts = []
    for name in frame.columns:
        values = "[" + ", ".join(_literal(v) for v in frame[name].tolist()) + "]"
        if frame[name].dtype == object:
            # As it was: a mixed or surrogate-holding column would not survive pandas' own inference.
            values = f"pd.Series({values}, dtype=object)"
        parts.append(f"{str(name)!r}: {values}")
    return "pd.DataFrame({" + ", ".join(parts) + "})"


# -- internals ----------------------------------------------------------------


def _faults(adversarial: bool | Iterable[Fault]) -> tuple[Fault, ...]:
    if adversarial is True:
        return FAULTS
    if adversarial is False:
        return ()
    faults = tuple(adversarial)
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {unknown[0]!r}; expected one of {', '.join(FAULTS)}")
    return faults


def _default_rate(schema: Sequence[ColumnSchema]) -> float:
    return min(0.5, 2.0 / max(len(schema), 1))


def _mixed(valid: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], rate: float) -> st.SearchStrategy[Any]:
    # A weighted choice that shrinks towards the valid branch: the draw shrinks
    # to 0, and only the top ``rate`` of the range picks a malformed value.
    cut = max(1, round(1000 * (1 - rate))) if rate < 1 else 0
    return st.integers(0, 999).flatmap(lambda u: bad if u >= cut else valid)


def _valid_cells(column: ColumnSchema) -> st.SearchStrategy[Any]:
    typical = st.sampled_from(column.values) if column.values else None
    if column.numeric:
        low, high = column.low, column.high
        if column.integer:
            spread: st.SearchStrategy[Any] = st.integers(int(low), int(high))
        else:
            spread = st.floats(float(low), float(high), allow_nan=False, allow_infinity=False)
        base = st.one_of(typical, spread) if typical is not None else spread
    elif column.kind == "boolean":
        base = st.sampled_from(column.values) if column.values else st.booleans()
    elif column.kind == "datetime" and column.low is not None:
        low, high = column.low.to_pydatetime(), column.high.to_pydatetime()
        spread = st.datetimes(low.replace(tzinfo=None), high.replace(tzinfo=None)).map(pd.Timestamp)
        base = st.one_of(typical, spread) if typical is not None else spread
    elif typical is not None:
        base = typical
    else:
        base = st.text(max_size=8)
    if column.nullable:
        return st.one_of(base, st.just(math.nan if column.numeric else None))
    return base


def _fault_cells(column: ColumnSchema, fault: Fault) -> st.SearchStrategy[Any] | None:
    fixed = list(fault_values(column, fault).values())
    if not fixed:
        return None
    listed = st.sampled_from(fixed)
    if fault == "extreme" and column.numeric:
        # Beyond the list: any float hypothesis finds awkward (subnormals, -0.0, 1.7e308).
        return st.one_of(listed, st.floats(allow_nan=False).filter(lambda v: not _within(column, v)))
    if fault == "wrong_type":
        other = st.text(max_size=4) if column.numeric else st.one_of(st.integers(), st.floats(allow_nan=False))
        return st.one_of(listed, other)
    if fault == "unseen":
        known = {str(v) for v in column.values}
        return st.one_of(listed, st.text(min_size=1, max_size=8).filter(lambda s: s not in known))
    if fault == "garbled":
        odd = st.characters(codec=None, categories=("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))
        return st.one_of(listed, st.text(alphabet=odd, min_size=1, max_size=8))
    return listed


def _within(column: ColumnSchema, value: float) -> bool:
    return float(column.low) <= value <= float(column.high)


def _python(value: Any, integer: bool = False) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if integer and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _literal(value: Any) -> str:
    value = _python(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if isinstance(value, pd.Timestamp):
        return f"pd.Timestamp({value.isoformat()!r})"
    if value is pd.NaT:
        return "pd.NaT"
    if value is pd.NA:
        return "pd.NA"
    if isinstance(value, str) and len(value) > 200:
        return f"{value[:1]!r} * {len(value)}" if value == value[0] * len(value) else repr(value)
    return repr(value)
