"""Reading an audit policy from TOML: ``[tool.auditkit]`` in pyproject.toml or a file of its own."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from auditkit._errors import ProbeConfigError
from auditkit._policy import AuditConfig

__all__ = ["load_config"]


def load_config(path: str | os.PathLike[str]) -> AuditConfig:
    """Read a TOML policy file: a ``[tool.auditkit]`` table if there is one, else the whole file."""
    path = Path(path)
    if not path.is_file():
        raise ProbeConfigError(f"config file {str(path)!r} does not exist")
    try:
        doc: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProbeConfigError(f"config file {path.name} is not valid TOML: {exc}") from None
    table = doc.get("tool", {}).get("auditkit") if isinstance(doc.get("tool"), dict) else None
    if table is None:
        if path.name == "pyproject.toml":
            return AuditConfig()
        table = doc
    try:
        return AuditConfig.from_mapping(table)
    except ProbeConfigError as exc:
        raise ProbeConfigError(f"{path.name}: {exc}") from None
