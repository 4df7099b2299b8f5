"""Loading model files safely: what can run code is refused unless trusted."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from auditkit._errors import ModelFileError, UntrustedModelError, missing_dependency

# Types from these libraries are what a scikit-learn model is made of; anything
# else in a .skops file could run code of its own when it is rebuilt.
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.", "joblib.numpy_pickle")
SUFFIXES = (".skops", ".joblib", ".pkl", ".pickle", ".pt", ".pth")


def load_model(path: str | Any, *, trust: bool = False) -> Any:
    """Load a model file by its suffix: ``.skops`` (safe), ``.joblib``/``.pkl``
    (only with ``trust=True``), TorchScript ``.pt``."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file {str(path)!r} does not exist")
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} is not a file")
    suffix = path.suffix.lower()
    if suffix == ".skops":
        return _load_skops(path, trust)
    if suffix in (".joblib", ".pkl", ".pickle"):
        if not trust:
            raise UntrustedModelError(
                f"refusing to load {path.name}: unpickling a {suffix} file runs whatever code it "
                "contains; re-run with --trust-model-file (trust=True) only if you trust its source"
            )
        import joblib

        try:
            return joblib.load(path)
        except Exception as exc:
            raise ModelFileError(f"cannot load model file {path.name}: {type(exc).__name__}: {exc}") from None
    if suffix in (".pt", ".pth"):
        return _load_torchscript(path)
    raise ModelFileError(
        f"unknown model file type {suffix or '(no suffix)'!r} for {path.name}; expected one of {', '.join(SUFFIXES)}"
    )


def _load_skops(path: Path, trust: bool) -> Any:
    try:
        import skops.io as sio
    except ImportError:  # pragma: no cover - skops is a dependency
        raise missing_dependency("skops", "skops", "loading a .skops model") from None
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"model file {path.name} is not a valid .skops file (corrupt or truncated)")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise ModelFileError(f"model file {path.name} is not a valid .skops file: {exc}") from None
    foreign = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if foreign and not trust:
        raise UntrustedModelError(
            f"refusing to load {path.name}: it contains types outside scikit-learn, numpy and scipy "
            f"({', '.join(foreign[:6])}{' ...' if len(foreign) > 6 else ''}); "
            "re-run with --trust-model-file if you trust its source"
        )
    try:
        return sio.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise ModelFileError(f"cannot load model file {path.name}: {type(exc).__name__}: {exc}") from None


def _load_torchscript(path: Path) -> Any:
    try:
        import torch
    except ImportError:
        raise missing_dependency("torch", "torch", "loading a TorchScript model") from None
    import warnings

    try:
        with warnings.catch_warnings():  # newer torch deprecates TorchScript; the files still load
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise ModelFileError(
            f"cannot load {path.name} as TorchScript (save it with torch.jit.save): {type(exc).__name__}"
        ) from None
