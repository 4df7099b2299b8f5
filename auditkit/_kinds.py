"""What a column holds: the kinds auditkit tells apart, guessed from a column's dtype and values.

A column of lists, arrays or dicts (a Parquet list or struct column: embeddings, tag
lists, logged payloads) is ``nested``: no probe can count, bin or compare such cells,
so the audit data accepts it only as a column set aside (``ignore``).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

__all__ = ["KINDS", "ColumnKind", "as_text", "describe_nested", "infer_kind", "nested_example", "printed"]

ColumnKind = Literal["numeric", "categorical", "boolean", "datetime", "text", "identifier", "nested"]
# The kinds a user may declare: "nested" is what a column holds, never a way to read one.
KINDS: tuple[str, ...] = ("numeric", "categorical", "boolean", "datetime", "text", "identifier")

_ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid|key|index)$|^id[_\W]", re.IGNORECASE)
# Below this many rows "unique per row" says little: 12 distinct ages are not identifiers.
_MIN_ROWS_FOR_IDENTIFIER = 20
# pandas' own verdicts on an object column's values that rule out containers without
# looking at each value (lists, dicts and arrays make "mixed").
_SCALAR_VALUES = frozenset({
    "string", "bytes", "floating", "integer", "mixed-integer-float", "decimal", "complex", "boolean",
    "datetime64", "datetime", "date", "timedelta64", "timedelta", "time", "period", "interval", "empty",
})
_CONTAINERS: tuple[type, ...] = (list, tuple, set, frozenset, dict, Mapping, np.ndarray, pd.Series, pd.DataFrame)


def _looks_like_id_name(name: str) -> bool:
    return bool(_ID_NAME.search(name)) or name.lower() in {"id", "uuid", "index"}


def _is_container(value: Any) -> bool:
    # An unhashable value of any other type cannot be counted either.
    return isinstance(value, _CONTAINERS) or not isinstance(value, Hashable)


def nested_example(series: pd.Series) -> Any | None:
    """The first cell of ``series`` that is a list, array, dict or other container, or
    None when every cell is a single value (what a probe can count and compare)."""
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        if not pa.types.is_nested(dtype.pyarrow_dtype):
            return None
        present = series.dropna()
        return present.iloc[0] if len(present) else []
    if dtype != object:
        return None
    # "mixed-integer" is ints with anything else, lists included: look at each value then.
    if ptypes.infer_dtype(series, skipna=True) in _SCALAR_VALUES:
        return None
    for value in series:
        if value is not None and _is_container(value):
            return value
    return None


def describe_nested(value: Any, width: int = 40) -> str:
    """What a nested column holds, for a message: "arrays (such as [1.0, 2.0])"."""
    if isinstance(value, np.ndarray):
        what = "arrays"
    elif isinstance(value, Mapping):
        what = "dicts (a struct column)"
    elif isinstance(value, (list, tuple, set, frozenset)):
        what = f"{type(value).__name__}s"
    else:
        what = f"{type(value).__name__} values"
    text = " ".join(printed(value).split())
    return f"{what} (such as {text if len(text) <= width else text[: width - 3] + '...'})"


def printed(value: Any) -> str:
    """A cell as text, whole: numpy shortens a long array's repr with '...', and two
    embeddings must not print alike."""
    return repr(value.tolist() if isinstance(value, np.ndarray) else value)


def as_text(series: pd.Series) -> pd.Series:
    """``series`` as text. Bytes (a Parquet binary column) are shown, not decoded: pandas'
    ``astype(str)`` decodes them as UTF-8 and fails on any other byte."""
    if ptypes.infer_dtype(series, skipna=True) in ("bytes", "mixed"):
        return series.map(lambda v: repr(v)[2:-1] if isinstance(v, bytes) else str(v)).astype(object)
    return series.astype(str)


def infer_kind(series: pd.Series, name: str | None = None) -> ColumnKind:
    """Guess what a column holds, by its dtype and its values.

    Identifiers are columns unique per row that look like keys (a key-like
    name, or integers in row order): they are the ones a leakage probe must
    not wave through as "harmless because all-unique". A column of lists,
    arrays or dicts is ``nested``.
    """
    name = str(series.name if name is None else name)
    if nested_example(series) is not None:
        return "nested"
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
    sample = as_text(nonnull.iloc[: min(200, len(nonnull))])
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
