"""Reading an audit policy from TOML: ``[tool.auditkit]`` in pyproject.toml or a file of its own.

Without an explicit file, the policy is the ``[tool.auditkit]`` table of the
nearest pyproject.toml that has one, looking from the working directory
upwards (as ruff and pytest find theirs). The CLI and the pytest plugin both
come through here, so they always read the same policy.

A file shaped like a pyproject.toml (so named, or with a ``[tool]``,
``[project]`` or ``[build-system]`` table) is read for its ``[tool.auditkit]``
table alone: the other tools' tables are theirs, and without ours it holds no
audit settings. Any other file is an audit policy from its top level.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from auditkit._errors import ProbeConfigError
from auditkit._policy import AuditConfig

__all__ = ["display_path", "find_config", "load_config"]


def display_path(path: Path) -> str:
    """The file as a message names it: as given, or relative to the working directory
    when found there; a pyproject.toml found further up needs its whole path."""
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProbeConfigError(f"config file {display_path(path)} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ProbeConfigError(f"cannot read config file {str(path)!r}: {exc.strerror or exc}") from None


def _auditkit_table(doc: dict[str, Any]) -> Any:
    tool = doc.get("tool")
    return tool.get("auditkit") if isinstance(tool, dict) else None


_PYPROJECT_TABLES = ("tool", "project", "build-system")


def _is_pyproject(path: Path, doc: dict[str, Any]) -> bool:
    # A policy of its own has none of these keys, so their presence says whose file it is.
    return path.name == "pyproject.toml" or any(key in doc for key in _PYPROJECT_TABLES)


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest pyproject.toml with a ``[tool.auditkit]`` table, from ``start``
    (default: the working directory) upwards; None when there is none."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and _auditkit_table(_read_toml(candidate)) is not None:
            return candidate
    return None


def load_config(
    path: str | os.PathLike[str] | None = None, *, start: str | os.PathLike[str] | None = None
) -> AuditConfig:
    """The audit policy: from ``path`` (a ``[tool.auditkit]`` table if the file has
    one, else the whole file), or when no path is given, from :func:`find_config`;
    the default policy when neither exists."""
    if path is None:
        found = find_config(start)
        if found is None:
            return AuditConfig()
        path = found
    path = Path(path)
    if path.is_dir():
        inside = path / "pyproject.toml"
        hint = f"; did you mean {str(inside)!r}?" if inside.is_file() else ""
        raise ProbeConfigError(f"config file {str(path)!r} is a folder, not a TOML file{hint}")
    if not path.is_file():
        raise ProbeConfigError(f"config file {str(path)!r} does not exist")
    doc = _read_toml(path)
    table = _auditkit_table(doc)
    if table is None:
        if _is_pyproject(path, doc):
            return AuditConfig(source=str(path))
        table = doc
    if not isinstance(table, dict):
        raise ProbeConfigError(f"{display_path(path)}: [tool.auditkit] must be a table")
    try:
        return AuditConfig.from_mapping(table, source=str(path))
    except ProbeConfigError as exc:
        raise ProbeConfigError(f"{display_path(path)}: {exc}") from None
