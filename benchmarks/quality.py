"""Detection quality: recall on planted defects, false alarms on clean controls.

A trial builds one scenario (``benchmarks.synthetic``), audits it with the
probe that must find the defect, and asks one question of the scorecard:
is there a finding at ``medium`` or above that points at what was planted
(its code, and its column or slice)? A clean control is audited by every
built-in probe; any finding at ``medium`` or above is a false alarm. The
severity bar is the same on both sides, so the recall is the recall of a
gate that fails at ``medium``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

import auditkit
from auditkit import Finding, ProbeResult, Severity
from auditkit._results import jsonable

from benchmarks import synthetic
from benchmarks.synthetic import DEFECTS, DRIFT_MATCHERS, Defect

__all__ = [
    "BUILTIN_PROBES",
    "FALSE_ALARM_TARGET",
    "MIN_SEVERITY",
    "RECALL_TARGET",
    "Trial",
    "clean_trial",
    "defect_trial",
    "detected",
    "installed_probes",
    "run_quality",
    "summarize",
]

RECALL_TARGET = 0.95
FALSE_ALARM_TARGET = 0.05
MIN_SEVERITY = Severity.MEDIUM
# The built-in probes, as the registry finds them: a new probe folder joins by its entry point.
BUILTIN_PROBES = tuple(sorted(p.name for p in auditkit.available_probes() if p.entry_point.startswith("probes.")))

_DISPARITY_CODES = frozenset(
    {"selection_rate_disparity", "false_positive_rate_disparity", "false_negative_rate_disparity", "error_rate_disparity"}
)
_LEAK_CODES = frozenset({"single_feature_leak", "single_feature_near_leak", "missingness_leak", "identifier_leak"})


def _serious(result: ProbeResult) -> list[Finding]:
    return [f for f in result.findings if f.severity >= MIN_SEVERITY]


def _names_all(features: Iterable[str]) -> Callable[[Finding], bool]:
    wanted = set(features)
    return lambda f: wanted <= set(f.features)


def _slice_features(f: Finding) -> set[str]:
    return {c.feature for c in f.slice or ()}


def _slice_has(f: Finding, feature: str, value: Any) -> bool:
    return any(c.feature == feature and c.op in ("==", "in") and (c.value == value or (
        isinstance(c.value, (list, tuple)) and value in c.value)) for c in f.slice or ())


# What counts as finding each defect: the code that tells the story, pointing at
# the planted column or slice. A finding elsewhere is not a detection.
def _match(defect: str, f: Finding, truth: Mapping[str, Any]) -> bool:
    if defect in ("leaking_feature", "missingness_leak", "id_sorted_by_label"):
        return f.code in _LEAK_CODES and _names_all(truth["features"])(f)
    if defect == "pair_leak":
        return f.code == "golden_pair" and _names_all(truth["features"])(f)
    if defect == "train_test_duplicates":
        return f.code in ("duplicate_rows", "near_duplicate_rows")
    if defect == "group_error_gap":
        return f.code in _DISPARITY_CODES and "group" in f.features and _slice_has(f, "group", "B")
    if defect == "hidden_slice":
        return (
            f.code == "underperforming_slice"
            and set(truth["features"]) <= _slice_features(f)
            and _slice_has(f, "c1", "c1_2")
        )
    if defect in NAN_MATCHERS:
        return NAN_MATCHERS[defect](f, truth)
    if defect == "wasteful_threshold":
        return f.code == "money_left_on_table"
    if defect in DRIFT_MATCHERS:
        return DRIFT_MATCHERS[defect](f, truth)
    raise KeyError(defect)


# nan_injection: NaN in, NaN out is silent corruption naming the unguarded column(s); an
# unseen category that raises IndexError is a crash naming the column; one poisoned
# update that wrecks the online model is online poisoning.
NAN_MATCHERS: dict[str, Callable[[Finding, Mapping[str, Any]], bool]] = {
    "nan_in_nan_out": lambda f, truth: f.code == "silent_corruption" and _names_all(truth["features"])(f),
    "unseen_category_crash": lambda f, truth: f.code == "crash_on_malformed_input" and _names_all(truth["features"])(f),
    "poisoned_update": lambda f, truth: f.code == "online_poisoning",
}


def detected(defect: str, result: ProbeResult, truth: Mapping[str, Any]) -> bool:
    """Whether the probe's result finds the planted defect at ``MIN_SEVERITY`` or above."""
    return result.status in ("passed", "failed") and any(_match(defect, f, truth) for f in _serious(result))


@dataclass(frozen=True)
class Trial:
    """One audit: a defect at one effect size and seed, or a clean control (defect None)."""

    defect: str | None
    effect: Any
    seed: int
    rows: int
    detected: bool  # a clean control: whether it raised a false alarm
    status: dict[str, str]  # probe -> status
    codes: tuple[str, ...]  # codes of the findings at MIN_SEVERITY or above
    alarms: dict[str, list[str]]  # clean controls: probe -> codes of its alarms
    errors: dict[str, str]  # probe -> reason, for probes that errored
    truth: dict[str, Any]
    seconds: float


def _summary_truth(truth: Mapping[str, Any]) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in truth.items()}


def defect_trial(defect: Defect | str, effect: Any, seed: int, rows: int) -> Trial:
    """Plant ``defect`` at ``effect`` in a ``rows``-row audit and audit it with its probe."""
    d = _defect(defect)
    start = time.perf_counter()
    scenario = d.build(rows, seed, effect)
    card = auditkit.audit(scenario.model, scenario.data, probes=[d.probe], seed=seed, progress=False)
    result = card[d.probe]
    return Trial(
        defect=d.name,
        effect=effect,
        seed=seed,
        rows=rows,
        detected=detected(d.name, result, scenario.truth),
        status={result.name: result.status},
        codes=tuple(f.code for f in _serious(result)),
        alarms={},
        errors={result.name: result.reason or ""} if result.status == "error" else {},
        truth=_summary_truth(scenario.truth),
        seconds=time.perf_counter() - start,
    )


def clean_trial(seed: int, rows: int, probes: Sequence[str] | None = None) -> Trial:
    """Audit a clean control with every built-in probe (or ``probes``); any serious finding is an alarm."""
    start = time.perf_counter()
    scenario = synthetic.clean_control(rows, seed)
    card = auditkit.audit(scenario.model, scenario.data, probes=list(probes or installed_probes()), seed=seed, progress=False)
    alarms = {r.name: [f.code for f in _serious(r)] for r in card.probes if _serious(r)}
    return Trial(
        defect=None,
        effect=None,
        seed=seed,
        rows=rows,
        detected=bool(alarms),
        status={r.name: r.status for r in card.probes},
        codes=tuple(code for codes in alarms.values() for code in codes),
        alarms=alarms,
        errors={r.name: r.reason or "" for r in card.probes if r.status == "error"},
        truth=_summary_truth(scenario.truth),
        seconds=time.perf_counter() - start,
    )


def installed_probes() -> list[str]:
    """The built-in probes that load (one still being written is left out, not an error)."""
    out = []
    for name in BUILTIN_PROBES:
        try:
            auditkit.load_probe(name)
        except Exception:
            continue
        out.append(name)
    return out


def _defect(defect: Defect | str) -> Defect:
    if isinstance(defect, Defect):
        return defect
    for d in DEFECTS:
        if d.name == defect:
            return d
    raise KeyError(f"unknown defect {defect!r}; known: {', '.join(d.name for d in DEFECTS)}")


def _run_task(task: tuple[str | None, Any, int, int]) -> Trial:
    import sklearn.ensemble  # noqa: F401  (loads OpenMP first: threadpoolctl caps only what is loaded)
    from threadpoolctl import threadpool_limits

    defect, effect, seed, rows = task
    with threadpool_limits(limits=1):
        if defect is None:
            return clean_trial(seed, rows)
        return defect_trial(defect, effect, seed, rows)


def plan(
    seeds: Sequence[int],
    rows: int,
    *,
    defects: Iterable[str] | None = None,
    stated_only: bool = False,
    effects: Iterable[str] | None = None,
    clean_seeds: Sequence[int] | None = None,
) -> list[tuple[str | None, Any, int, int]]:
    """Every trial to run: each defect at each effect size (or those of ``effects``, by
    their written form) and seed, then the clean controls."""
    installed = set(installed_probes())
    chosen = [d for d in DEFECTS if (defects is None or d.name in set(defects)) and d.probe in installed]
    if effects is not None:
        known = {str(e) for d in chosen for e in (d.stated if stated_only else d.effects)}
        unknown = sorted(set(effects) - known)
        if unknown:
            raise KeyError(f"no chosen defect has effect size(s) {', '.join(unknown)}; they have: {', '.join(sorted(known))}")
    tasks: list[tuple[str | None, Any, int, int]] = []
    for d in chosen:
        for effect in d.stated if stated_only else d.effects:
            if effects is not None and str(effect) not in set(effects):
                continue
            tasks.extend((d.name, effect, seed, rows) for seed in seeds)
    tasks.extend((None, None, seed, rows) for seed in (seeds if clean_seeds is None else clean_seeds))
    return tasks


def run_quality(
    seeds: Sequence[int],
    rows: int,
    *,
    defects: Iterable[str] | None = None,
    stated_only: bool = False,
    effects: Iterable[str] | None = None,
    clean_seeds: Sequence[int] | None = None,
    jobs: int = 1,
    progress: Callable[[Trial], None] | None = None,
) -> dict[str, Any]:
    """Run the trials (in ``jobs`` processes, one thread each) and summarize them."""
    tasks = plan(seeds, rows, defects=defects, stated_only=stated_only, effects=effects, clean_seeds=clean_seeds)
    start = time.perf_counter()
    trials: list[Trial] = []
    if jobs <= 1:
        for task in tasks:
            trials.append(_run_task(task))
            if progress:
                progress(trials[-1])
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for trial in pool.map(_run_task, tasks):
                trials.append(trial)
                if progress:
                    progress(trial)
    out = summarize(trials)
    out.update(rows=rows, seeds=len(seeds), clean_audits=len([t for t in trials if t.defect is None]),
               seconds=time.perf_counter() - start, jobs=jobs)
    return out


def _ci(k: int, n: int) -> list[float] | None:
    if n == 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return [float(ci.low), float(ci.high)]


def _mean_truth(trials: Sequence[Trial]) -> dict[str, float]:
    """The planted effect as measured on the rows drawn, averaged over seeds."""
    keys = {k for t in trials for k, v in t.truth.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {k: float(np.mean([t.truth[k] for t in trials if k in t.truth])) for k in sorted(keys)}


def summarize(trials: Sequence[Trial]) -> dict[str, Any]:
    """Recall per defect and effect size, pooled and worst at the stated sizes (the target holds
    at each), false alarms."""
    defects: list[dict[str, Any]] = []
    by_defect: dict[str, list[Trial]] = {}
    for t in trials:
        if t.defect is not None:
            by_defect.setdefault(t.defect, []).append(t)
    for d in DEFECTS:
        ts = by_defect.get(d.name)
        if not ts:
            continue
        effects = []
        for effect in d.effects:
            group = [t for t in ts if t.effect == effect]
            if not group:
                continue
            hits = sum(t.detected for t in group)
            effects.append({
                "effect": effect,
                "stated": effect in d.stated,
                "trials": len(group),
                "detected": hits,
                "recall": hits / len(group),
                "recall_ci": _ci(hits, len(group)),
                "errors": sum(bool(t.errors) for t in group),
                "missed_seeds": [t.seed for t in group if not t.detected],
                "codes": dict(Counter(c for t in group for c in t.codes)),
                "measured": _mean_truth(group),
                "seconds_per_trial": float(np.mean([t.seconds for t in group])),
                "error_reasons": sorted({r for t in group for r in t.errors.values()})[:3],
            })
        stated = [e for e in effects if e["stated"]]
        n = sum(e["trials"] for e in stated)
        k = sum(e["detected"] for e in stated)
        # The target holds at each stated size, not pooled over them: a size found every
        # time must not make up for one missed often.
        worst = min(stated, key=lambda e: e["recall"], default=None)
        defects.append({
            "defect": d.name,
            "probe": d.probe,
            "description": d.description,
            "effect_name": d.effect_name,
            "effects": effects,
            "stated_trials": n,
            "stated_recall": k / n if n else None,
            "stated_recall_ci": _ci(k, n),
            "worst_stated": None if worst is None else {
                "effect": worst["effect"], "recall": worst["recall"], "recall_ci": worst["recall_ci"],
                "trials": worst["trials"]},
            "target_met": all(e["recall"] >= RECALL_TARGET for e in stated) if n else None,
        })
    clean = [t for t in trials if t.defect is None]
    by_probe: dict[str, dict[str, Any]] = {}
    for t in clean:
        for probe, status in t.status.items():
            entry = by_probe.setdefault(probe, {"audits": 0, "alarms": 0, "errors": 0, "skipped": 0, "codes": Counter()})
            entry["audits"] += 1
            entry["alarms"] += probe in t.alarms
            entry["errors"] += status == "error"
            entry["skipped"] += status == "skipped"
            entry["codes"].update(t.alarms.get(probe, []))
    for entry in by_probe.values():
        entry["codes"] = dict(entry["codes"])
        entry["rate"] = entry["alarms"] / entry["audits"] if entry["audits"] else None
    alarms = sum(t.detected for t in clean)
    return {
        "targets": {"recall": RECALL_TARGET, "false_alarm_rate": FALSE_ALARM_TARGET, "severity": MIN_SEVERITY.value},
        "defects": defects,
        "clean": {
            "audits": len(clean),
            "false_alarms": alarms,
            "rate": alarms / len(clean) if clean else None,
            "rate_ci": _ci(alarms, len(clean)),
            "target_met": (alarms / len(clean) <= FALSE_ALARM_TARGET) if clean else None,
            "by_probe": by_probe,
            "error_reasons": sorted({f"{p}: {r}" for t in clean for p, r in t.errors.items()})[:5],
            "alarm_seeds": {str(t.seed): t.alarms for t in clean if t.detected},
            "seconds_per_audit": float(np.mean([t.seconds for t in clean])) if clean else None,
        },
    }
