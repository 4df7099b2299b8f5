"""Finding probes: every probe, built-in or third-party, comes through the
``auditkit.probes`` entry-point group. The core never imports ``probes``.

Probes given as objects or classes (a test suite's own) need no entry point.
A policy's probe settings and waivers are checked here, when the audit
resolves its probes: each names a probe of the audit or an installed one, and
each probe's settings build it, else one line names the file, the probe and
the setting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from auditkit._config import display_path
from auditkit._errors import ProbeConfigError, UnknownProbeError
from auditkit._policy import AuditConfig
from auditkit._probe import NO_SUCH_SETTING, Probe

__all__ = [
    "BAD_SETTING",
    "BAD_SETTINGS",
    "ENTRY_POINT_GROUP",
    "NO_SUCH_SETTING",
    "UNKNOWN_PROBE",
    "ProbeInfo",
    "available_probes",
    "check_config",
    "configure",
    "installed_probe_names",
    "load_probe",
    "probe_class",
    "resolve_probes",
]

# What a config says when it names a probe or a setting that is not there
# (templates the tests reuse; the config file's name goes in front).
UNKNOWN_PROBE = "{what} for unknown probe {name!r}; installed probes are: {installed}"
BAD_SETTING = "probe {name!r} setting {setting} = {value!r} is invalid: {problem}"
BAD_SETTINGS = "probe {name!r} settings {settings} do not go together: {problem}"

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
    probes: Iterable[str | Probe | type[Probe]] | str | None,
    config: AuditConfig | None = None,
) -> list[Probe]:
    """Turn names, classes and instances into probe objects, configured by ``config``
    (checked first, see :func:`check_config`); None means every installed probe."""
    settings: Mapping[str, Mapping[str, Any]] = config.probe_settings if config is not None else {}
    if probes is not None and not isinstance(probes, str):
        probes = list(probes)
    if config is not None:
        given = [] if probes is None or isinstance(probes, str) else probes
        check_config(config, [p for p in given if isinstance(p, (Probe, type))])
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
            probe = item.with_settings(**settings[item.name]) if item.name in settings else item
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


def configure(probe: Probe, settings: Mapping[str, Any] | None) -> Probe:
    """``probe`` with a policy's settings for it, a bad one named in one line."""
    if not settings:
        return probe
    cls = type(probe)
    if dataclasses.is_dataclass(cls):
        problem = _settings_problem(cls, probe.name, settings)
        if problem is not None:
            raise ProbeConfigError(problem)
    return probe.with_settings(**settings)


def check_config(config: AuditConfig, probes: Iterable[Probe | type[Probe]] = ()) -> None:
    """Every probe the config names (settings, gate, waivers) is one of ``probes`` or
    installed, and the settings build their probe; else ``ProbeConfigError``, with
    the config file's name in front when it came from one."""
    classes = {p.name: (p if isinstance(p, type) else type(p)) for p in probes}
    try:
        _check_names(config, classes)
        for name, table in config.probe_settings.items():
            cls = classes.get(name) or _installed_class(name)
            if cls is not None and dataclasses.is_dataclass(cls):
                problem = _settings_problem(cls, name, table)
                if problem is not None:
                    raise ProbeConfigError(problem)
    except ProbeConfigError as exc:
        if config.source is None:
            raise
        raise ProbeConfigError(f"{display_path(Path(config.source))}: {exc}") from None


def _check_names(config: AuditConfig, classes: Mapping[str, type[Probe]]) -> None:
    # A setting or a waiver for a probe that does not exist would be ignored, and a
    # typo in a waiver would leave the finding it meant failing: say so instead.
    named = [("settings", n) for n in dict.fromkeys([*config.probe_settings, *config.policy.probe_fail_on])]
    named += [("waiver", w.probe) for w in config.policy.waivers]
    installed = installed_probe_names()
    for what, name in named:
        if name not in installed and name not in classes:
            listed = ", ".join(installed) or "(none installed)"
            raise ProbeConfigError(UNKNOWN_PROBE.format(what=what, name=name, installed=listed))


def _installed_class(name: str) -> type[Probe] | None:
    try:
        return probe_class(name)
    except Exception:  # a broken third-party probe: not this config's mistake; the audit reports it
        return None


def _build_problem(cls: type[Probe], settings: Mapping[str, Any]) -> str | None:
    """What building the probe with these settings says is wrong with them, if anything."""
    try:
        cls(**settings)
    except ProbeConfigError as exc:
        return str(exc)
    except Exception as exc:  # a value of the wrong type trips the probe's own checks
        return f"{type(exc).__name__}: {exc}"
    return None


def _settings_problem(cls: type[Probe], name: str, settings: Mapping[str, Any]) -> str | None:
    """Build the probe with its configured settings now, so that a bad one is named
    (probe and setting) before the audit starts, not in its middle."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    for setting in settings:
        if setting not in fields:
            return NO_SUCH_SETTING.format(name=name, setting=setting, known=", ".join(sorted(fields)) or "(none)")
    missing = dataclasses.MISSING
    if any(f.default is missing and f.default_factory is missing and k not in settings for k, f in fields.items()):
        return None  # needs a setting the config does not give: only the code that builds it can
    problem = _build_problem(cls, settings)
    if problem is None:
        return None
    # Blame the one setting that fails the same way on its own; else it is their combination.
    for setting, value in settings.items():
        if _build_problem(cls, {setting: value}) == problem:
            return BAD_SETTING.format(name=name, setting=setting, value=value, problem=problem)
    listed = ", ".join(f"{k} = {v!r}" for k, v in settings.items())
    return BAD_SETTINGS.format(name=name, settings=listed, problem=problem)
