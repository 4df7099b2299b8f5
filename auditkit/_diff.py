"""Comparing two scorecards: what a change to the model or the data did to its audit.

Findings are matched by probe, finding code, features and slice (the order of
features and of slice conditions does not matter). A finding only in the
current scorecard is **new**, one in both whose severity or waiver changed is
**changed**, and one only in the baseline is **fixed** when its probe ran
again and found it no more, but **not checked** when its probe did not run
now (skipped, error, or left out of the audit): a check that did not run has
shown nothing, and silence must not pass for a fix. Numeric metrics of probes
that ran in both are compared too (list entries matched by their feature,
group or column rather than their position), and the largest moves are
reported.

``ScorecardDiff.regressions(severity)`` is what ``auditkit diff --fail-on-new``
gates on: new findings at or above the severity that no waiver covers,
findings that rose to it, probes that ran in the baseline but did not run now
(lost coverage: otherwise leaving a probe out, or the data it needs, would be
a way round the gate), and audits of different targets (their findings do not
compare). Findings already in the baseline do not count: CI can gate on
regressions alone while the old findings are worked off.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from auditkit._judge import ensure_judged
from auditkit._policy import slice_key
from auditkit._results import Finding, ProbeResult, Scorecard, Severity

__all__ = [
    "FindingChange",
    "MetricDelta",
    "ProbeChange",
    "ScorecardDiff",
    "diff_scorecards",
    "render_diff_html",
    "render_diff_markdown",
    "render_diff_terminal",
]

MAX_METRIC_DELTAS = 20
MAX_LISTED = 50
# A probe "ran" when it judged the model; skipped and error results carry no findings to compare.
_RAN = ("passed", "failed")

# Message templates (the tests reuse them).
COVERAGE_LOST = "probe {probe} ran in the baseline but {how}, so it was not checked{found}"
DIFFERENT_TARGETS = "the two audits are of different targets ({before} in the baseline, {after} now), so their findings do not compare"
_IDENTITY_KEYS = ("feature", "column", "group", "injection", "kind", "name", "metric", "class")


@dataclass(frozen=True)
class FindingChange:
    """One finding in the baseline, the current scorecard, or both."""

    probe: str
    before: Finding | None
    after: Finding | None
    waived_before: bool = False
    waived_after: bool = False

    @property
    def finding(self) -> Finding:
        found = self.after if self.after is not None else self.before
        assert found is not None
        return found

    @property
    def key(self) -> tuple[Any, ...]:
        return finding_key(self.probe, self.finding)

    def describe(self) -> str:
        f = self.finding
        where = f" [{', '.join(f.features)}]" if f.features else ""
        if f.slice:
            where += " where " + " and ".join(c.describe() for c in f.slice)
        return f"{self.probe}/{f.code}{where}"


@dataclass(frozen=True)
class MetricDelta:
    probe: str
    name: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class ProbeChange:
    """A probe whose status or score moved, or that ran in only one of the two audits."""

    probe: str
    before_status: str | None
    after_status: str | None
    before_score: float | None
    after_score: float | None
    after_reason: str | None = None

    @property
    def lost_coverage(self) -> bool:
        """Ran in the baseline, did not run now: whatever it would have found is unknown."""
        return self.before_status in _RAN and self.after_status not in _RAN

    def how_now(self) -> str:
        """How the probe did not run now, in a few words (its reason goes on the probe's line)."""
        if self.after_status is None:
            return "was left out of this audit"
        return "was skipped now" if self.after_status == "skipped" else "could not run now"

    def not_checked_note(self) -> str:
        """For the probe's line in a rendering: that it was not checked, and why."""
        return f"not checked now: {self.after_reason or self.how_now().removesuffix(' now')}"


@dataclass(frozen=True)
class ScorecardDiff:
    baseline: Scorecard
    current: Scorecard
    new: tuple[FindingChange, ...]
    fixed: tuple[FindingChange, ...]
    changed: tuple[FindingChange, ...]
    unchanged: int
    probes: tuple[ProbeChange, ...]
    metrics: tuple[MetricDelta, ...]
    # Baseline findings whose probe did not run now: neither fixed nor still there, unknown.
    unchecked: tuple[FindingChange, ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        """What makes the two audits not compare: different targets. New rows and new
        columns are what a change usually brings, so they are context, not a warning."""
        before, after = self.baseline.data.get("target"), self.current.data.get("target")
        if before == after:
            return ()
        return (DIFFERENT_TARGETS.format(before=_target_name(before), after=_target_name(after)),)

    def _repr_html_(self) -> str:
        """The diff in a notebook cell (Jupyter calls this)."""
        return render_diff_html(self)

    @property
    def score_delta(self) -> float:
        return float(self.current.score) - float(self.baseline.score)

    def regressions(self, at: Severity | str) -> list[str]:
        """Why a gate on regressions at severity ``at`` fails (empty: it passes)."""
        at = Severity.parse(at)
        out = [
            f"new {c.finding.severity.value} finding {c.describe()}: {c.finding.message}"
            for c in self.new
            if c.finding.severity >= at and not c.waived_after
        ]
        for c in self.changed:
            assert c.before is not None and c.after is not None
            if c.after.severity >= at > c.before.severity and not c.waived_after:
                out.append(
                    f"finding {c.describe()} rose from {c.before.severity.value} to {c.after.severity.value}: {c.after.message}"
                )
        out.extend(self._coverage_lost(p) for p in self.probes if p.lost_coverage)
        # A baseline of another target (most often the wrong file) would let its
        # findings pass for fixed: the gate cannot vouch for such a comparison.
        out.extend(self.warnings)
        return out

    def _coverage_lost(self, p: ProbeChange) -> str:
        # The severity bar does not apply: what the probe would have found now is unknown.
        left = [c.finding for c in self.unchecked if c.probe == p.probe]
        found = ""
        if left:
            worst = max(left, key=lambda f: f.severity.rank).severity.value
            found = f"; the baseline had {len(left)} finding{'s' if len(left) != 1 else ''} there, the worst {worst}"
        return COVERAGE_LOST.format(probe=p.probe, how=p.how_now(), found=found)


def finding_key(probe: str, f: Finding) -> tuple[Any, ...]:
    """What makes two findings the same finding across audits."""
    return (probe, f.code, tuple(sorted(f.features)), slice_key(f.slice) if f.slice else None)


def _numeric_leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _numeric_leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, (list, tuple)):
        if value and not any(isinstance(v, (Mapping, list, tuple)) for v in value):
            return  # a curve or a vector: point-by-point deltas are noise
        for i, v in enumerate(value):
            label = str(i)
            if isinstance(v, Mapping):
                ident = [f"{v[k]}" for k in _IDENTITY_KEYS if isinstance(v.get(k), (str, int)) and not isinstance(v.get(k), bool)]
                label = "=".join(ident) if ident else label
            yield from _numeric_leaves(v, f"{prefix}[{label}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        yield prefix, float(value)


def _metric_deltas(before: ProbeResult, after: ProbeResult) -> list[MetricDelta]:
    a = dict(_numeric_leaves(before.metrics))
    b = dict(_numeric_leaves(after.metrics))
    out = []
    for name in list(a) + [k for k in b if k not in a]:
        x, y = a.get(name), b.get(name)
        if x is None or y is None or not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12):
            out.append(MetricDelta(after.name, name, x, y))
    return out


def _relative(d: MetricDelta) -> float:
    if d.delta is None:
        return math.inf
    return abs(d.delta) / max(abs(d.before or 0.0), abs(d.after or 0.0), 1e-12)


def diff_scorecards(baseline: Scorecard, current: Scorecard) -> ScorecardDiff:
    """What changed from ``baseline`` to ``current`` (waivers as each audit's judge marked them)."""
    baseline, current = ensure_judged(baseline), ensure_judged(current)
    before: dict[tuple[Any, ...], list[tuple[str, Finding]]] = {}
    for r in baseline.probes:
        for f in r.findings:
            before.setdefault(finding_key(r.name, f), []).append((r.name, f))
    new, changed = [], []
    unchanged = 0
    for r in current.probes:
        for f in r.findings:
            bucket = before.get(finding_key(r.name, f))
            waived_now = f.waived
            if not bucket:
                new.append(FindingChange(r.name, None, f, waived_after=waived_now))
                continue
            _, old = bucket.pop(0)
            waived_then = old.waived
            if old.severity != f.severity or waived_then != waived_now:
                changed.append(FindingChange(r.name, old, f, waived_then, waived_now))
            else:
                unchanged += 1
    ran_now = {r.name for r in current.probes if r.status in _RAN}
    fixed: list[FindingChange] = []
    unchecked: list[FindingChange] = []
    for bucket in before.values():
        for name, f in bucket:
            gone = FindingChange(name, f, None, waived_before=f.waived)
            (fixed if name in ran_now else unchecked).append(gone)
    old_probes = {r.name: r for r in baseline.probes}
    new_probes = {r.name: r for r in current.probes}
    probes, deltas = [], []
    for name in list(old_probes) + [n for n in new_probes if n not in old_probes]:
        a, b = old_probes.get(name), new_probes.get(name)
        if a is None or b is None or a.status != b.status or a.score != b.score:
            probes.append(
                ProbeChange(
                    name,
                    a.status if a else None,
                    b.status if b else None,
                    a.score if a else None,
                    b.score if b else None,
                    b.reason if b and b.status not in _RAN else None,
                )
            )
        # A probe that did not run has no metrics: every one of them "gone" would be noise.
        if a is not None and b is not None and a.status in _RAN and b.status in _RAN:
            deltas.extend(_metric_deltas(a, b))
    deltas.sort(key=lambda d: -_relative(d))
    rank = lambda c: -c.finding.severity.rank  # noqa: E731 - worst first
    return ScorecardDiff(
        baseline=baseline,
        current=current,
        new=tuple(sorted(new, key=rank)),
        fixed=tuple(sorted(fixed, key=rank)),
        changed=tuple(sorted(changed, key=rank)),
        unchanged=unchanged,
        probes=tuple(probes),
        metrics=tuple(deltas),
        unchecked=tuple(sorted(unchecked, key=rank)),
    )


def _target_name(target: Any) -> str:
    return "no target" if target is None else repr(target)


def _data_line(diff: ScorecardDiff) -> str | None:
    """Rows and columns when they moved: context for new findings, not a warning."""
    b, c = diff.baseline.data, diff.current.data
    keys = [k for k in ("rows", "columns") if b.get(k) != c.get(k)]
    if not keys:
        return None
    return "data: " + ", ".join(f"{b.get(k, '?')} -> {c.get(k, '?')} {k}" for k in keys)


# --- renderers ---------------------------------------------------------------------------


def _audits(diff: ScorecardDiff) -> tuple[str, str]:
    """Which two audits are compared: each one's title and day, baseline first."""
    from auditkit._report._common import title_of, truncate

    def named(card: Scorecard) -> str:
        return f"{truncate(title_of(card), 200)} ({card.created_at})"

    return named(diff.baseline), named(diff.current)


def _num(v: float | None) -> str:
    from auditkit._report._common import fmt_number

    return fmt_number(v)


def _delta(d: MetricDelta) -> str:
    if d.delta is None:
        return "new" if d.before is None else "gone"
    return f"{d.delta:+.4g}"


def _change_line(c: FindingChange) -> str:
    assert c.before is not None and c.after is not None
    parts = []
    if c.before.severity != c.after.severity:
        parts.append(f"{c.before.severity.value} -> {c.after.severity.value}")
    if c.waived_before != c.waived_after:
        parts.append("now waived" if c.waived_after else "no longer waived")
    return f"{c.describe()}: {', '.join(parts)}: {c.after.message}"


def _summary(diff: ScorecardDiff) -> str:
    b, c = diff.baseline, diff.current
    return (
        f"score {b.score:.0f} -> {c.score:.0f} ({diff.score_delta:+.0f}), grade {b.grade} -> {c.grade}, "
        f"gate {'passed' if b.passed else 'failed'} -> {'passed' if c.passed else 'failed'}; "
        f"findings: {len(diff.new)} new, {len(diff.fixed)} fixed, {len(diff.changed)} changed, {diff.unchanged} unchanged"
        + (f", {len(diff.unchecked)} not checked" if diff.unchecked else "")
    )


def _probe_line(p: ProbeChange) -> str:
    line = f"{p.probe}: {p.before_status or 'not run'} -> {p.after_status or 'not run'} (score {_num(p.before_score)} -> {_num(p.after_score)})"
    return line + (f"; {p.not_checked_note()}" if p.lost_coverage else "")


def _sections(diff: ScorecardDiff) -> list[tuple[str, str, str, list[str]]]:
    """What moved, section by section (those with something in them): title, style, mark, lines."""

    def waived(c: FindingChange) -> str:
        return " (waived)" if c.waived_after else ""

    def line(c: FindingChange, tail: str = "") -> str:
        return f"[{c.finding.severity.value}] {c.describe()}: {c.finding.message}{tail}"

    sections = [
        ("new", "red", "+", [line(c, waived(c)) for c in diff.new]),
        ("fixed", "green", "-", [line(c) for c in diff.fixed]),
        ("changed", "yellow", "~", [_change_line(c) for c in diff.changed]),
        ("not checked (in the baseline; the probe did not run now)", "yellow", "?", [line(c) for c in diff.unchecked]),
        ("probes", "", "*", [_probe_line(p) for p in diff.probes]),
        ("metrics (largest moves)", "", "*", [
            f"{d.probe}.{d.name}: {_num(d.before)} -> {_num(d.after)} ({_delta(d)})" for d in diff.metrics[:MAX_METRIC_DELTAS]
        ]),
    ]
    return [s for s in sections if s[3]]


def render_diff_html(diff: ScorecardDiff) -> str:
    """The diff as an HTML fragment for a notebook cell: both audits by title, the summary,
    then each section folded, new findings open (the report's styles and template parts)."""
    from auditkit._report._html import template

    baseline, current = _audits(diff)
    sections = [(title, mark, items[:MAX_LISTED], max(0, len(items) - MAX_LISTED)) for title, _, mark, items in _sections(diff)]
    view = {"baseline": baseline, "current": current, "summary": _summary(diff), "warnings": list(diff.warnings),
            "data": _data_line(diff), "sections": sections}
    return template("diff.html.j2").render(v=view)


def render_diff_terminal(diff: ScorecardDiff, *, color: bool = False, width: int = 120, fail_on_new: Severity | str | None = None) -> str:
    """The diff as a few lines for a terminal; colour only when asked (on a TTY)."""
    import io

    from rich.console import Console
    from rich.text import Text

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False)
    console.print(Text(f"auditkit diff: {_summary(diff)}", style="bold"))
    baseline, current = _audits(diff)
    console.print(Text(f"baseline: {baseline}"))
    console.print(Text(f"current:  {current}"))
    for warning in diff.warnings:
        console.print(Text(f"warning: {warning}", style="bold yellow"))
    if (data := _data_line(diff)) is not None:
        console.print(data)

    for title, style, mark, items in _sections(diff):
        console.print(Text(title, style="bold"))
        for line in items[:MAX_LISTED]:
            console.print(Text(f"  {mark} {line}", style=style))
        if len(items) > MAX_LISTED:
            console.print(f"  ... and {len(items) - MAX_LISTED} more")
    if fail_on_new is not None:
        reasons = diff.regressions(fail_on_new)
        sev = Severity.parse(fail_on_new).value
        if reasons:
            console.print(Text(f"regressions at {sev} or above: {len(reasons)}", style="bold red"))
            for r in reasons[:MAX_LISTED]:
                console.print(Text(f"  ! {r}", style="red"))
        else:
            console.print(Text(f"no regressions at {sev} or above", style="bold green"))
    return buf.getvalue()


def render_diff_markdown(diff: ScorecardDiff, *, fail_on_new: Severity | str | None = None) -> str:
    """The diff as Markdown, for a pull-request comment."""
    from auditkit._report._markdown import md_code, md_escape

    regressions = diff.regressions(fail_on_new) if fail_on_new is not None else None
    icon = "\u274c" if regressions else ("\u2705" if regressions is not None else "\U0001f50d")
    baseline, current = _audits(diff)
    lines = [
        f"### {icon} auditkit diff", "",
        f"Baseline: {md_escape(baseline)}  ", f"Current: {md_escape(current)}", "",
        md_escape(_summary(diff)), "",
    ]
    for warning in diff.warnings:
        lines.extend([f"\u26a0\ufe0f **Warning:** {md_escape(warning)}", ""])
    if (data := _data_line(diff)) is not None:
        lines.extend([md_escape(data), ""])

    def section(title: str, rows: list[str]) -> None:
        if not rows:
            return
        lines.extend([f"**{title}**", ""])
        lines.extend(f"- {r}" for r in rows[:MAX_LISTED])
        if len(rows) > MAX_LISTED:
            lines.append(f"- \u2026 and {len(rows) - MAX_LISTED} more")
        lines.append("")

    def item(c: FindingChange, tail: str = "") -> str:
        return f"**{c.finding.severity.value}** {md_code(c.describe())}: {md_escape(c.finding.message)}{tail}"

    section(f"New findings ({len(diff.new)})", [item(c, " _(waived)_" if c.waived_after else "") for c in diff.new])
    section(f"Fixed findings ({len(diff.fixed)})", [item(c) for c in diff.fixed])
    section(f"Changed findings ({len(diff.changed)})", [md_escape(_change_line(c)) for c in diff.changed])
    section(
        f"Not checked ({len(diff.unchecked)}): in the baseline, and their probe did not run now",
        [item(c) for c in diff.unchecked],
    )
    if diff.probes:
        lines += ["| probe | status | score |", "|---|---|--:|"]
        for p in diff.probes:
            lost = f" ({md_escape(p.not_checked_note())})" if p.lost_coverage else ""
            lines.append(
                f"| {md_code(p.probe)} | {p.before_status or 'not run'} \u2192 {p.after_status or 'not run'}{lost} "
                f"| {_num(p.before_score)} \u2192 {_num(p.after_score)} |"
            )
        lines.append("")
    if diff.metrics:
        lines += ["<details><summary>Metric deltas (largest moves)</summary>", "", "| metric | before | after | change |", "|---|--:|--:|--:|"]
        for d in diff.metrics[:MAX_METRIC_DELTAS]:
            lines.append(f"| {md_code(d.probe + '.' + d.name)} | {_num(d.before)} | {_num(d.after)} | {_delta(d)} |")
        lines += ["", "</details>", ""]
    if regressions is not None:
        sev = Severity.parse(fail_on_new).value  # type: ignore[arg-type]
        if regressions:
            lines.append(f"**{len(regressions)} regression{'s' if len(regressions) != 1 else ''} at {sev} or above:**")
            lines.append("")
            lines.extend(f"- {md_escape(r)}" for r in regressions[:MAX_LISTED])
        else:
            lines.append(f"No regressions at {sev} or above.")
        lines.append("")
    return "\n".join(lines)

