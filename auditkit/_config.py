"""Reading an audit policy from TOML: ``[tool.auditkit]`` in pyproject.toml or a file of its own.

Without an explicit file, the policy is the ``[tool.auditkit]`` table of the
nearest pyproject.toml that has one, looking from the working directory
upwards (as ruff and pytest find theirs). The CLI and the pytest plugin both
come through here, so they always read the same policy.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from auditkit._errors import ProbeConfigError
from auditkit._policy import AuditConfig

__all__ = ["find_config", "load_config"]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProbeConfigError(f"config file {path.name} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ProbeConfigError(f"cannot read config file {str(path)!r}: {exc.strerror or exc}") from None


def _auditkit_table(doc: dict[str, Any]) -> Any:
    tool = doc.get("tool")
    return tool.get("auditkit") if isinstance(tool, dict) else None


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
    if not path.is_file():
        raise ProbeConfigError(f"config file {str(path)!r} does not exist")
    doc = _read_toml(path)
    table = _auditkit_table(doc)
    if table is None:
        if path.name == "pyproject.toml":
            return AuditConfig(source=str(path))
        table = doc
    if not isinstance(table, dict):
        raise ProbeConfigError(f"{path.name}: [tool.auditkit] must be a table")
    try:
        return AuditConfig.from_mapping(table, source=str(path))
    except ProbeConfigError as exc:
        raise ProbeConfigError(f"{path.name}: {exc}") from None
