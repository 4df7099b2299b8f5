"""Reading audit inputs and writing reports without ever leaving half a file."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from auditkit._errors import DataError, missing_dependency

__all__ = ["STDOUT", "read_rows", "read_table", "report_target", "write_all", "write_atomic"]

STDOUT = "-"  # a report's path that means standard output, as in most command-line tools


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
    tmp = _stage(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        _discard([tmp])
        raise
    return path


def write_all(files: Mapping[Path, str | bytes]) -> None:
    """Write several files all or none: each is staged in full beside its place first,
    and only when every one is staged are they renamed into place. A failure while
    staging (a full disk, a folder made read-only meanwhile) leaves no file written."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            try:
                staged.append((_stage(path, text), path))
            except OSError as exc:  # named by the report, not by its temporary file
                raise OSError(exc.errno, exc.strerror, str(path)) from exc
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        _discard([tmp for tmp, _ in staged])
        raise


def _stage(path: Path, text: str | bytes) -> str:
    """``text`` written in full to a temporary file in ``path``'s folder; its name."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    # A short prefix: the temporary name must fit wherever the report's own name fits.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:64]}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); a report is meant to be read
        # by others (CI artefacts, a web server), so give it the usual mode.
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        _discard([tmp])
        raise
    return tmp


def _discard(paths: list[str]) -> None:
    for tmp in paths:
        if os.path.exists(tmp):
            os.unlink(tmp)


_NOT_A_FILE = {
    stat.S_ISDIR: "a folder",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISFIFO: "a named pipe (FIFO)",
    stat.S_ISSOCK: "a socket",
}


def _same_file(info: os.stat_result, fd: int) -> bool:
    try:
        other = os.fstat(fd)
    except OSError:  # closed
        return False
    return (info.st_dev, info.st_ino) == (other.st_dev, other.st_ino)


def report_target(path: str) -> Path:
    """Where a report given as ``path`` is written: the path itself or, through a symbolic
    link, the file it points to (so the link stays). Raises ``ValueError`` with the problem
    when no report can be written there: a report replaces a regular file or creates one,
    and never writes over a device, a pipe or a folder (as root, replacing /dev/stdout
    or /dev/null with a file would break the whole machine). ``-`` is standard output."""
    if not path:
        raise ValueError("no file name given")
    if "\0" in path:
        raise ValueError("the name holds a NUL character")
    if path.endswith(("/", os.sep)):
        raise ValueError("it names a folder, not a file")
    try:
        info = os.stat(path)  # follows links: what a write would land on
    except (FileNotFoundError, NotADirectoryError):  # the folder's own problem is told below
        info = None
    except OSError as exc:
        raise ValueError(exc.strerror or str(exc)) from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        what = next((name for test, name in _NOT_A_FILE.items() if test(info.st_mode)), "not a regular file")
        hint = "" if stat.S_ISDIR(info.st_mode) else f" (write a report to standard output with '{STDOUT}')"
        raise ValueError(f"it is {what}, not a regular file{hint}")
    if info is not None and any(_same_file(info, fd) for fd in (1, 2)):
        # /dev/stdout (or a link to it) redirected to a file: replacing that file would
        # take the command's own output away from under it.
        raise ValueError(f"it is this command's own standard output or error (write a report there with '{STDOUT}')")
    target = Path(os.path.realpath(path))
    folder = target.parent
    if not folder.is_dir():
        shown = str(Path(path).parent)
        raise ValueError(f"folder {shown!r} does not exist" if not folder.exists() else f"{shown!r} is not a folder")
    # Permissions say too little (root passes every check, /proc refuses every file, a
    # read-only mount neither), so try: the name itself when it is free, else a file beside it.
    try:
        if info is None:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(target)
        else:
            _discard([_stage(target, b"")])
    except OSError as exc:
        where = "there" if info is None else f"in folder {str(folder)!r}"
        raise ValueError(f"cannot create a file {where}: {exc.strerror or exc}") from None
    return target


def read_table(path: str | os.PathLike[str], *, header: bool = True) -> pd.DataFrame:
    """Read a CSV or Parquet file as its cells, with errors that name the file and the problem.
    ``header=False``: a CSV's first line is data (its columns are numbered)."""
    path = _existing_file(path)
    if _is_parquet(path):
        return _read_parquet(path)
    return _read_csv(path, header=0 if header else None)


def read_rows(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read audit (or reference) rows: every column the file stores is a column, and
    the row numbers pandas writes beside them are the index, never a feature.

    pandas stores an index differently in each format. Parquet keeps it apart from
    the columns, so a named index or a MultiIndex (``set_index('customer_id')``)
    comes back as columns here; an unnamed one is only row labels. A CSV written by
    ``to_csv`` with its default index has a first column under an empty header
    (which pandas reads as ``Unnamed: 0``): that column is the index.
    """
    path = _existing_file(path)
    if _is_parquet(path):
        return _index_as_columns(_read_parquet(path), path)
    frame = _read_csv(path, header=0, index_col=0 if _first_header_is_empty(path) else None)
    _check_separator(frame, path)
    return frame


def _check_separator(frame: pd.DataFrame, path: Path) -> None:
    """One column whose name holds ';' (or a tab) is a file written with another separator,
    as spreadsheets in many locales write CSV: say so instead of auditing one column."""
    if frame.shape[1] != 1:
        return
    name, expected = str(frame.columns[0]), _separator(path)
    reads = "tab-separated .tsv" if expected == "\t" else "comma-separated"
    for sep, called in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
        if sep in name and sep != expected:
            raise DataError(
                f"{path.name} reads as one column named {name[:60]!r}: its fields are separated by {called}, "
                f"and auditkit reads {reads} files; save it with commas (pandas: to_csv(path, index=False))"
            )


_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".txt", ".tsv", ".gz")


def _existing_file(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist")
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} is not a file")
    suffix = path.suffix.lower()
    if suffix not in _PARQUET + _CSV:
        raise DataError(f"unknown data file type {suffix or '(none)'!r} for {path.name}; expected .csv or .parquet")
    return path


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in _PARQUET


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise missing_dependency("pyarrow", "parquet", "reading Parquet files") from None
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise DataError(f"cannot read {path.name} as Parquet: {exc}") from None


def _separator(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _read_csv(path: Path, **options: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep=_separator(path), **options)
    except pd.errors.EmptyDataError:
        raise DataError(f"data file {path.name} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot parse {path.name} as CSV: {str(exc).splitlines()[0]}") from None


def _first_header_is_empty(path: Path) -> bool:
    """Whether the header's first cell is empty, as ``to_csv`` writes over its index.
    Read from the header itself: a column truly called ``Unnamed: 0`` is the user's."""
    # Every cell as the text written (an empty one as ""), not as pandas names columns.
    header = _read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    return header.shape[1] > 1 and header.iat[0, 0] == ""


def _index_as_columns(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``frame`` with a named index or a MultiIndex turned back into columns: each level
    was a column of the user's before ``set_index``. An unnamed index (a RangeIndex, the
    labels of filtered rows) is only row labels, and stays the index."""
    index = frame.index
    if not isinstance(index, pd.MultiIndex) and index.name is None:
        return frame
    # the names reset_index gives the levels: an unnamed level of a MultiIndex is level_<i>
    names = [f"level_{i}" if name is None else name for i, name in enumerate(index.names)]
    clash = [name for name in names if name in frame.columns]
    if clash:
        # Two columns under one name: neither could be told from the other.
        raise DataError(
            f"{path.name} stores an index named {clash[0]!r} and a column of that name too; "
            "rename one of them (or write the file with index=False)"
        )
    return frame.reset_index()
