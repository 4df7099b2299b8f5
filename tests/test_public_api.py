"""The public surface: what ``auditkit`` exports is exactly ``__all__``."""

from __future__ import annotations

import types

import auditkit


def test_all_is_sorted_unique_and_resolves() -> None:
    names = list(auditkit.__all__)
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(auditkit, name), name


def test_nothing_public_is_left_out_of_all() -> None:
    public = {
        name
        for name, value in vars(auditkit).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(auditkit.__all__), sorted(public - set(auditkit.__all__))


def test_errors_share_one_root_and_their_builtins() -> None:
    assert issubclass(auditkit.DataError, (auditkit.AuditkitError, ValueError))
    assert issubclass(auditkit.ModelError, TypeError)
    assert issubclass(auditkit.UnknownProbeError, KeyError)
    assert issubclass(auditkit.MissingDependencyError, ImportError)
    assert issubclass(auditkit.UntrustedModelError, auditkit.ModelFileError)
    for name in auditkit.__all__:
        value = getattr(auditkit, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, auditkit.AuditkitError), name


def test_the_core_never_imports_the_builtin_probes() -> None:
    import subprocess
    import sys

    code = "import sys, auditkit; auditkit.AuditData; print('probes' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
