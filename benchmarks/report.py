"""Tables from the results JSON: the README's sections and the terminal summary."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["broken", "quality_tables", "speed_line", "speed_tables", "summary", "update_readme"]

PROBES = ("target_leakage", "slice_bias", "nan_injection", "cost_weighted_errors")
_MARKERS = {
    "speed": ("<!-- speed:begin (written by python -m benchmarks.run) -->", "<!-- speed:end -->"),
    "quality": ("<!-- quality:begin (written by python -m benchmarks.run --quality) -->", "<!-- quality:end -->"),
}


def _s(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def _rows(n: int | float | None) -> str:
    if n is None:
        return "-"
    n = int(n)
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


def _met(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "**no**")


def speed_line(r: Mapping[str, Any]) -> str:
    """One line per measurement, for progress on the terminal."""
    if "error" in r:
        return f"ERROR {r['error']}: " + " | ".join(r.get("stderr_tail", [])[-3:])
    probes = ", ".join(f"{k} {_s(v['seconds'])} s" + ("" if v["status"] in ("passed", "failed") else f" ({v['status']})")
                       for k, v in r["probes"].items())
    return (f"{_rows(r['rows'])} rows: {_s(r['total_s'])} s wall, {_s(r['audit_cpu_s'])} s CPU, peak "
            f"{_s(r['audit_peak_mb'], 0)} MiB; {probes}")


def _machine(m: Mapping[str, Any], extra: str = "") -> str:
    libs = ", ".join(f"{k} {v}" for k, v in (m.get("libraries") or {}).items() if v)
    load = m.get("load_average_at_start")
    return (
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gb')} GB memory, {m.get('os')}; "
        f"Python {m.get('python')}; {libs}. Commit {m.get('git')}{extra}; load average at start "
        f"{', '.join(f'{x:.1f}' for x in load) if load else '-'}."
    )


def speed_tables(speed: Mapping[str, Any]) -> str:
    runs = [r for r in speed.get("runs", []) if "error" not in r]
    t = speed.get("targets", {})
    lines = [
        f"Measured {speed.get('created_at')}. "
        + _machine(speed.get("machine", {}), f"; {speed.get('threads')} thread(s) (threadpoolctl)"),
        "",
        "Full default audit (every built-in probe) of a `HistGradientBoostingClassifier` pipeline; "
        "wall time of `AuditData(...)` plus `auditkit.audit(model, data)`, CPU time of the process (all threads), "
        "one `predict` pass over the same rows, and the peak resident memory during the audit (data and model "
        "included; *added* is what the audit itself added on top).",
        "",
        "| audit | rows | wall (s) | CPU (s) | one predict (s) | overhead (x predict) | peak RSS (MiB) | added (MiB) | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in speed.get("runs", []):
        if "error" in r:
            lines.append(f"| synthetic x {r['config'].get('features')} | {_rows(r['config'].get('rows'))} | error: {r['error']} |||||||")
            continue
        target, met = "", None
        if r["rows"] >= 1_000_000:
            target = f"<= {t.get('million_s', 60):g} s, <= {t.get('million_mb', 2048) / 1024:g} GiB"
            met = r["total_s"] <= t.get("million_s", 60) and (r["audit_peak_mb"] or 0) <= t.get("million_mb", 2048)
        lines.append(
            f"| synthetic, {r['features']} features | {r['rows']:,} | {_s(r['total_s'])} | {_s(r['audit_cpu_s'])} | "
            f"{_s(r['predict_s'], 3)} | {_s(r['overhead'], 0)} | {_s(r['audit_peak_mb'], 0)} | "
            f"{_s(r['audit_extra_mb'], 0)} | {target} | {_met(met)} |"
        )
    for r in speed.get("adult", []):
        layout = r.get("config", {}).get("layout")
        name = "UCI Adult, all 48,842 rows" if layout == "all" else "UCI Adult, test vs train reference"
        if "error" in r:
            lines.append(f"| {name} | - | error: {r['error']} |||||||")
            continue
        met = r["total_s"] <= t.get("adult_s", 5) if layout == "all" else None
        lines.append(
            f"| {name} | {r['rows']:,} | {_s(r['total_s'])} | {_s(r['audit_cpu_s'])} | {_s(r['predict_s'], 3)} | "
            f"{_s(r['overhead'], 0)} | {_s(r['audit_peak_mb'], 0)} | {_s(r['audit_extra_mb'], 0)} | "
            f"{'<= %g s' % t.get('adult_s', 5) if layout == 'all' else ''} | {_met(met)} |"
        )
    sc = speed.get("scaling", {})
    lines += [
        "",
        f"Scaling exponent k (time ~ rows^k, least squares on the logs over {', '.join(_rows(x) for x in sc.get('rows', []))} rows; "
        f"target: at most 1): audit wall {_s(sc.get('total'))}, audit CPU {_s(sc.get('total_cpu'))}, "
        f"one predict {_s(sc.get('predict'))}.",
        "",
        "Per probe, within the full audit: wall seconds (from `ProbeResult.duration_s`) at each size, the scaling "
        "exponent, and the probe alone at the size its own issue sets its target at.",
        "",
    ]
    sizes = [r["rows"] for r in runs]
    head = "| probe | " + " | ".join(f"{_rows(n)} (s)" for n in sizes) + " | k | CPU k | alone: rows x features | alone (s) | target | met |"
    lines += [head, "|---|" + "---:|" * len(sizes) + "---:|---:|---|---:|---|---|"]
    targets = {r.get("config", {}).get("probe"): r for r in speed.get("probe_targets", [])}
    # The four first probes in their historic order, then any other probe the runs measured.
    seen = {p for r in runs for p in r["probes"]} | {t for t in targets if t}
    names = [p for p in PROBES if p in seen] + sorted(seen - set(PROBES))
    for p in names:
        cells = []
        for r in runs:
            v = r["probes"].get(p)
            if v is None:
                cells.append("-")
            elif v["status"] in ("passed", "failed"):
                cells.append(_s(v["seconds"]))
            else:
                cells.append(v["status"])
        alone = targets.get(p)
        if alone is None:
            a_size = a_time = a_target = ""
            a_met = None
        elif "error" in alone:
            a_size, a_time, a_target, a_met = _rows(alone["config"].get("rows")), f"error: {alone['error']}", "", None
        else:
            v = alone["probes"].get(p, {})
            ran = v.get("status") in ("passed", "failed")
            a_size = f"{_rows(alone['rows'])} x {alone['features']}"
            a_time = _s(v.get("seconds")) if ran else v.get("status", "-")
            a_target = alone.get("target", "")
            full = alone["rows"] >= alone.get("target_rows", alone["rows"])
            a_met = (v.get("seconds", 1e9) <= alone.get("target_s", 60)) if ran and full else None
            if ran and not full:
                a_target += f" (measured at {_rows(alone['rows'])} rows, not the target's {_rows(alone.get('target_rows'))})"
        lines.append(
            f"| `{p}` | " + " | ".join(cells)
            + f" | {_s(sc.get('probes', {}).get(p))} | {_s(sc.get('probes_cpu', {}).get(p))} | {a_size} | {a_time} | {a_target} | {_met(a_met)} |"
        )
    problems = [
        f"`{p}` at {_rows(r['rows'])} rows: {v['status']} ({v.get('reason')})"
        for r in runs + list(speed.get("adult", [])) if "error" not in r
        for p, v in r["probes"].items() if v["status"] not in ("passed", "failed")
    ]
    if problems:
        lines += ["", "Probes that did not run: " + "; ".join(problems) + "."]
    return "\n".join(lines)


def quality_tables(q: Mapping[str, Any]) -> str:
    t = q.get("targets", {})
    lines = [
        f"Measured {q.get('created_at')}: {q.get('seeds')} seeds per defect and effect size, "
        f"{q.get('clean_audits')} clean audits, {q.get('rows', 0):,} audit rows (and as many training rows) each; "
        f"{_s(q.get('seconds'), 0)} s in {q.get('jobs')} process(es). " + _machine(q.get("machine", {})),
        "",
        f"A defect counts as found when its probe reports a finding at `{t.get('severity', 'medium')}` or above "
        "that names it (the right code, and the planted column or slice). Recall at each effect size; the "
        f"sizes in **bold** are the stated ones, where the target is recall >= {t.get('recall', 0.95):.0%} "
        "at each of them: `met` is yes when the lowest stated size's recall reaches it.",
        "",
        "| defect | probe | effect | recall at each size | lowest stated size (95% CI) | met |",
        "|---|---|---|---|---|---|",
    ]
    for d in q.get("defects", []):
        cells = []
        for e in d["effects"]:
            text = f"{e['effect']}: {e['detected']}/{e['trials']}"
            if e.get("errors"):
                text += f" ({e['errors']} errors)"
            cells.append(f"**{text}**" if e["stated"] else text)
        # from the sizes themselves, so that results written before the target was read per size render alike
        stated = [e for e in d["effects"] if e["stated"]]
        w = min(stated, key=lambda e: e["recall"], default=None)
        rec = "-" if not w else (
            f"{w['effect']}: {w['recall']:.0%}" + (f" ({w['recall_ci'][0]:.0%}-{w['recall_ci'][1]:.0%})"
                                                   if w.get("recall_ci") else ""))
        met = all(e["recall"] >= t.get("recall", 0.95) for e in stated) if stated else None
        lines.append(f"| {d['defect']} | `{d['probe']}` | {d['effect_name']} | {'; '.join(cells)} | {rec} | {_met(met)} |")
    c = q.get("clean", {})
    if c.get("audits"):
        ci = c.get("rate_ci")
        lines += [
            "",
            f"Clean controls: {c['false_alarms']} of {c['audits']} audits with a finding at "
            f"`{t.get('severity', 'medium')}` or above: {c['rate']:.1%}"
            + (f" (95% CI {ci[0]:.1%}-{ci[1]:.1%})" if ci else "")
            + f"; target <= {t.get('false_alarm_rate', 0.05):.0%}: {_met(c.get('target_met'))}.",
            "",
            "| probe | clean audits | false alarms | rate | codes | errors | skipped |",
            "|---|---:|---:|---:|---|---:|---:|",
        ]
        for p, e in sorted(c.get("by_probe", {}).items()):
            codes = ", ".join(f"{k} x{v}" for k, v in e.get("codes", {}).items()) or "-"
            lines.append(f"| `{p}` | {e['audits']} | {e['alarms']} | {_s(100 * e['rate'], 1) + '%' if e.get('rate') is not None else '-'} | {codes} | {e['errors']} | {e['skipped']} |")
        if c.get("error_reasons"):
            lines += ["", "Errors on clean controls: " + "; ".join(c["error_reasons"]) + "."]
    partial = q.get("partial_runs") or []
    if partial:
        lines += ["", "Re-measured since: " + "; ".join(
            f"{', '.join(r['defects'])} on {r['created_at']} (commit {r['git']}, {r['seeds']} seeds"
            + (f", {r['clean_audits']} clean audits)" if r.get("clean_audits") else ")") for r in partial) + "."]
    descr = [f"- **{d['defect']}**: {d['description']}." for d in q.get("defects", [])]
    if descr:
        lines += ["", "What each defect is:", "", *descr]
    return "\n".join(lines)


def update_readme(path: Path, latest: Mapping[str, Any]) -> None:
    """Rewrite the generated sections of the README (between their markers) from the results."""
    text = path.read_text() if path.exists() else ""
    for key, render in (("speed", speed_tables), ("quality", quality_tables)):
        section = latest.get(key)
        if not section or section.get("smoke"):
            continue
        begin, end = _MARKERS[key]
        block = f"{begin}\n{render(section)}\n{end}"
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
        if pattern.search(text):
            text = pattern.sub(lambda _: block, text)
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def summary(latest: Mapping[str, Any]) -> str:
    """What to print at the end of a run: the tables, as they go into the README."""
    parts = []
    if latest.get("speed"):
        parts.append("## Speed\n\n" + speed_tables(latest["speed"]))
    if latest.get("quality"):
        parts.append("## Detection quality\n\n" + quality_tables(latest["quality"]))
    return "\n\n".join(parts)


def broken(latest: Mapping[str, Any]) -> list[str]:
    """Measurements the harness itself failed to take (a crashed subprocess), not targets missed."""
    speed = latest.get("speed") or {}
    out = [f"{r.get('config')}: {r['error']}" for r in
           list(speed.get("runs", [])) + list(speed.get("adult", [])) + list(speed.get("probe_targets", []))
           if "error" in r]
    return out

