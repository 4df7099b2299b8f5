"""Reading audit inputs and writing reports without ever leaving half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from auditkit._errors import DataError, missing_dependency

__all__ = ["read_table", "write_atomic"]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once, at import: os.umask can only be read by setting it


def write_atomic(path: str | os.PathLike[str], text: str | bytes) -> Path:
    """Write to a temporary file beside ``path`` and rename it into place:
    a reader sees the old file or the whole new one, never a torn one."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist")
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        # mkstemp makes the file private (0600); a report is meant to be read
        # by others (CI artefacts, a web server), so give it the usual mode.
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read_table(path: str | os.PathLike[str], *, header: bool = True) -> pd.DataFrame:
    """Read a CSV or Parquet file, with errors that name the file and the problem.
    ``header=False``: a CSV's first line is data (its columns are numbered)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist")
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} is not a file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise missing_dependency("pyarrow", "parquet", "reading Parquet files") from None
        try:
            return pd.read_parquet(path)
        except Exception as exc:
            raise DataError(f"cannot read {path.name} as Parquet: {exc}") from None
    if suffix in (".csv", ".txt", ".tsv", ".gz"):
        sep = "\t" if suffix == ".tsv" else ","
        try:
            return pd.read_csv(path, sep=sep, header=0 if header else None)
        except pd.errors.EmptyDataError:
            raise DataError(f"data file {path.name} is empty") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot parse {path.name} as CSV: {str(exc).splitlines()[0]}") from None
    raise DataError(f"unknown data file type {suffix or '(none)'!r} for {path.name}; expected .csv or .parquet")
