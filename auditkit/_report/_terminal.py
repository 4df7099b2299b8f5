"""The terminal summary: probe, status, score, worst finding."""

from __future__ import annotations

import io

from auditkit._results import ProbeResult, Scorecard

__all__ = ["render_terminal"]

_STATUS_STYLE = {"passed": "green", "failed": "bold red", "error": "magenta", "skipped": "dim"}
_SEVERITY_STYLE = {"info": "dim", "low": "cyan", "medium": "yellow", "high": "red", "critical": "bold red"}


def _worst(result: ProbeResult) -> str:
    if result.status in ("error", "skipped"):
        return result.reason or ""
    worst = result.worst
    if worst is None:
        return "no findings"
    more = len(result.findings) - 1
    return f"[{worst.severity.value}] {worst.message}" + (f" (+{more} more)" if more else "")


def render_terminal(card: Scorecard, *, color: bool = False, width: int = 120) -> str:
    """The scorecard as a compact table; colour only when asked (on a TTY)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False)
    verdict = "PASSED" if card.passed else "FAILED"
    head = Text(f"auditkit {card.auditkit_version} - audit {verdict}: score {card.score:.0f}/100, grade {card.grade}")
    head.stylize("bold green" if card.passed else "bold red")
    console.print(head)
    console.print(
        f"model: {card.model.get('kind')} ({card.model.get('task')})   "
        f"data: {card.data.get('rows')} rows x {card.data.get('columns')} columns, target "
        f"{card.data.get('target')!r}   seed: {card.seed}   gate: fail on {card.policy.get('fail_on')}"
    )
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("probe", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("worst finding", overflow="fold")
    for r in card.probes:
        status = Text(r.status, style=_STATUS_STYLE.get(r.status, ""))
        worst = Text(_worst(r))
        if r.worst is not None and r.status in ("passed", "failed"):
            worst.stylize(_SEVERITY_STYLE.get(r.worst.severity.value, ""), 0, len(r.worst.severity.value) + 2)
        table.add_row(r.name, status, "-" if r.score is None else f"{r.score:.0f}", worst)
    console.print(table)
    return buf.getvalue()
