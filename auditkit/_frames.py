"""Turning what a user hands auditkit into a pandas frame with usable column names,
and the small vocabulary the data checks share (class names, lists of names in messages)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from auditkit._errors import DataError

# pandas 3 copies on write, so a shallow copy already protects the user's frame
# from anything a probe does to ours (and theirs from ours); pandas 2 needs a deep copy.
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


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
        counts = df.index.value_counts(dropna=False)  # an index of missing labels repeats too
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


def _is_number_column(column: pd.Series) -> bool:
    return ptypes.is_numeric_dtype(column.dtype) and not ptypes.is_bool_dtype(column.dtype)


def _label(value: Any) -> str:
    """A target value as a class name: 1, 1.0 and "1" name one class."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value).strip()
    return str(int(f)) if np.isfinite(f) and f == int(f) else str(f)


def _sort_key(value: Any) -> tuple[int, Any]:
    # Mixed numbers and strings would not sort; numbers first, then text.
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return (0, float(value))
    return (1, str(value))


def _list(names: Iterable[Any], limit: int = 12) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
