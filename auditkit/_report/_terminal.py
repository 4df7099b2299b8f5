"""The terminal summary: the audit's title and verdict, then probe, status, score, worst finding."""

from __future__ import annotations

import io

from auditkit._report._common import expired_waivers, judged, score_notes, shown_findings, title_of
from auditkit._results import Finding, ProbeResult, Scorecard

__all__ = ["render_terminal"]

_STATUS_STYLE = {"passed": "green", "failed": "bold red", "error": "magenta", "skipped": "dim"}
_SEVERITY_STYLE = {"info": "dim", "low": "cyan", "medium": "yellow", "high": "red", "critical": "bold red"}


def _worst(result: ProbeResult, shown: list[Finding]) -> tuple[str, Finding | None]:
    """The worst finding the gate still counts (waived ones are only counted)."""
    if result.status in ("error", "skipped"):
        return result.reason or "", None
    counted = [s for s in shown if not s.waived]
    waived = len(shown) - len(counted)
    tail = f", {waived} waived" if waived else ""
    if not counted:
        return (f"no findings ({waived} waived)" if waived else "no findings"), None
    worst = counted[0]
    more = len(counted) - 1
    extra = f"+{more} more{tail}" if more else tail.lstrip(", ")
    return f"[{worst.severity.value}] {worst.message}" + (f" ({extra})" if extra else ""), worst


def render_terminal(card: Scorecard, *, color: bool = False, width: int = 120) -> str:
    """The scorecard as a compact table; colour only when asked (on a TTY)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    card = judged(card)
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False)
    verdict = "PASSED" if card.passed else "FAILED"
    notes = score_notes(card)
    head = Text(
        f"auditkit {card.auditkit_version} - audit {verdict}: score {card.score:.0f}/100, grade {card.grade}"
        + (f" ({'; '.join(notes)})" if notes else "")
    )
    head.stylize("bold green" if card.passed else "bold red")
    console.print(Text(title_of(card), style="bold"))
    console.print(head)
    console.print(
        f"model: {card.model.get('kind')} ({card.model.get('task')})   "
        f"data: {card.data.get('rows')} rows x {card.data.get('columns')} columns, target "
        f"{card.data.get('target')!r}   seed: {card.seed}   gate: fail on {card.policy.get('fail_on')}"
        + (f", below score {card.policy.get('min_score'):g}" if card.policy.get("min_score") else "")
    )
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("probe", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("worst finding", overflow="fold")
    for r in card.probes:
        status = Text(r.status, style=_STATUS_STYLE.get(r.status, ""))
        text, finding = _worst(r, shown_findings(r))
        worst = Text(text)
        if finding is not None:
            worst.stylize(_SEVERITY_STYLE.get(finding.severity.value, ""), 0, len(finding.severity.value) + 2)
        table.add_row(r.name, status, "-" if r.score is None else f"{r.score:.0f}", worst)
    console.print(table)
    for note in expired_waivers(card):
        console.print(Text(f"note: {note}", style="yellow"))
    return buf.getvalue()
