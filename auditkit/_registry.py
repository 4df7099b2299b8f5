"""Finding probes: every probe, built-in or third-party, comes through the
``auditkit.probes`` entry-point group. The core never imports ``probes``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from auditkit._errors import ProbeConfigError, UnknownProbeError
from auditkit._probe import Probe

__all__ = ["ENTRY_POINT_GROUP", "ProbeInfo", "available_probes", "installed_probe_names", "load_probe", "probe_class", "resolve_probes"]

ENTRY_POINT_GROUP = "auditkit.probes"


@dataclass(frozen=True)
class ProbeInfo:
    """An installed probe: its name, where it comes from, the first line of its docstring."""

    name: str
    entry_point: str
    distribution: str
    summary: str


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        found.setdefault(ep.name, ep)
    return found


def refresh() -> None:
    """Forget the cached entry points (after installing a probe package at run time)."""
    _entry_points.cache_clear()


def installed_probe_names() -> list[str]:
    """The names of the installed probes (``auditkit.probes`` entry points), sorted, without loading any."""
    return sorted(_entry_points())


def probe_class(name: str) -> type[Probe]:
    """The class an installed probe's entry point loads, checked to be a ``Probe`` of that name.

    Raises ``UnknownProbeError`` (naming the installed probes) or ``ProbeConfigError``."""
    ep = _entry_points().get(name)
    if ep is None:
        known = ", ".join(sorted(_entry_points())) or "(none installed)"
        raise UnknownProbeError(f"unknown probe {name!r}; installed probes are: {known}")
    cls = ep.load()
    if not (isinstance(cls, type) and issubclass(cls, Probe)):
        raise ProbeConfigError(f"entry point {ep.value!r} for probe {name!r} is not an auditkit Probe class")
    if cls.name != name:
        raise ProbeConfigError(f"entry point {name!r} loads a probe that calls itself {cls.name!r}")
    return cls


def available_probes() -> list[ProbeInfo]:
    """Every installed probe, sorted by name."""
    out = []
    for name, ep in _entry_points().items():
        dist = ep.dist.name if ep.dist is not None else "?"
        try:
            doc = (probe_class(name).__doc__ or "").strip().splitlines()
        except Exception as exc:  # a broken third-party probe must not hide the others
            doc = [f"(cannot be loaded: {type(exc).__name__}: {exc})"]
        out.append(ProbeInfo(name=name, entry_point=ep.value, distribution=dist, summary=doc[0] if doc else ""))
    return out


def load_probe(name: str, **settings: Any) -> Probe:
    """Build an installed probe by name, with settings validated."""
    cls = probe_class(name)
    try:
        return cls(**settings)
    except TypeError as exc:
        raise ProbeConfigError(f"probe {name!r}: {exc}") from None


def resolve_probes(
    probes: Iterable[str | Probe] | str | None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Probe]:
    """Turn names and instances into probe objects; None means every installed probe."""
    settings = settings or {}
    if probes is None:
        items: list[str | Probe] = list(_entry_points())
    elif isinstance(probes, str):
        items = [p.strip() for p in probes.split(",") if p.strip()]
    else:
        items = list(probes)
    out: list[Probe] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, Probe):
            probe = item.with_settings(**settings.get(item.name, {})) if item.name in settings else item
        elif isinstance(item, type) and issubclass(item, Probe):
            probe = item(**settings.get(item.name, {}))
        elif isinstance(item, str) and probes is None:
            # Everything installed was asked for: one broken third-party probe
            # is reported as that probe's error, and the others still run.
            try:
                probe = load_probe(item, **settings.get(item, {}))
            except ProbeConfigError:
                raise
            except Exception as exc:
                probe = _Unloadable(item, f"the probe could not be loaded: {type(exc).__name__}: {exc}")
        elif isinstance(item, str):
            probe = load_probe(item, **settings.get(item, {}))
        else:
            raise ProbeConfigError(f"expected a probe name or a Probe; got {type(item).__name__}")
        if probe.name in seen:
            raise ProbeConfigError(f"probe {probe.name!r} is listed twice")
        seen.add(probe.name)
        out.append(probe)
    return out


class _Unloadable(Probe):
    """Stands in for an installed probe whose code failed to import."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name  # type: ignore[misc]
        self._reason = reason

    def run(self, ctx: Any) -> Any:
        raise RuntimeError(self._reason)
