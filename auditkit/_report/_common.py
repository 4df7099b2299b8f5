"""What every report format shares: findings worst first with the gate's marks,
the verdict's notes, slices in words, metrics flattened to a bounded list of numbers.

Renderers only read what the judge stored in the scorecard (``auditkit._judge``);
a card that was never judged (a version-1 file, one built by hand) is judged
once on the way in, by :func:`judged`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

from auditkit._judge import ensure_judged
from auditkit._results import Condition, Finding, ProbeResult, Scorecard

__all__ = [
    "describe_slice",
    "expired_waivers",
    "flatten_metrics",
    "fmt_number",
    "judged",
    "score_notes",
    "shown_findings",
    "title_of",
    "truncate",
    "verdict",
]

judged = ensure_judged


def shown_findings(result: ProbeResult) -> list[Finding]:
    """The probe's findings, worst first (the probe's order among equals)."""
    order = sorted(range(len(result.findings)), key=lambda i: (-result.findings[i].severity.rank, i))
    return [result.findings[i] for i in order]


def expired_waivers(card: Scorecard) -> list[str]:
    """One line for each waiver that had lapsed by the audit's day (matched or not)."""
    uses = card.verdict.waivers if card.verdict is not None else ()
    return [
        f"waiver for {w.covers} expired on {w.expires} and no longer waives ({w.reason})"
        for w in uses
        if w.expired
    ]


def title_of(card: Scorecard) -> str:
    """What the audit is called in every report: its title, or for a scorecard written
    before audits had titles, its model and data (the same words a new audit's default uses)."""
    if card.title:
        return card.title
    return f"{card.model.get('kind', 'unknown')} model on {card.data.get('rows', '?')} rows, target {card.data.get('target')!r}"


def verdict(card: Scorecard) -> str:
    return "PASSED" if card.passed else "FAILED"


def score_notes(card: Scorecard) -> list[str]:
    """What the headline's score does not say by itself: the score the gate holds
    against its floor when waived findings are set aside, and the probes that errored,
    whose findings nobody knows (the score counts only the probes that ran)."""
    notes = []
    gate = card.verdict.gate_score if card.verdict is not None else card.score
    if round(gate) != round(card.score):
        floor = float(card.policy.get("min_score") or 0)
        notes.append(f"gate score {gate:.0f}/100 with waived findings set aside" + (f" (floor {floor:g})" if floor else ""))
    if card.probes and all(r.status == "skipped" for r in card.probes):
        notes.append("nothing was checked: every probe was skipped")
    errored = sum(r.status == "error" for r in card.probes)
    if errored:
        notes.append(f"{errored} of {len(card.probes)} probe{'s' if len(card.probes) != 1 else ''} errored and "
                     f"{'is' if errored == 1 else 'are'} not scored")
    return notes


def describe_slice(conditions: tuple[Condition, ...] | None) -> str:
    if not conditions:
        return ""
    return " and ".join(c.describe() for c in conditions)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "\u2026"


def fmt_number(value: Any) -> str:
    """Numbers as a reader wants them: 4 significant digits, integers whole."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def flatten_metrics(metrics: Mapping[str, Any], *, limit: int = 100, max_list: int = 10) -> tuple[list[tuple[str, Any]], int]:
    """Scalars under dotted keys (``groups.0.selection_rate``), at most ``limit`` of them.

    Lists longer than ``max_list`` (curves, rankings of thousands) are cut to
    their first items: the JSON scorecard has them whole. Returns the pairs kept
    and how many cuts were made (a cut list counts once), so a report can say
    that it shows only part.
    """
    kept: list[tuple[str, Any]] = []
    dropped = 0

    def walk(prefix: str, value: Any, depth: int) -> Iterator[tuple[str, Any]]:
        if isinstance(value, Mapping):
            for k, v in value.items():
                yield from walk(f"{prefix}.{k}" if prefix else str(k), v, depth + 1)
        elif isinstance(value, (list, tuple)):
            if 0 < len(value) <= 4 and all(not isinstance(v, (Mapping, list, tuple)) for v in value):
                # A CI or a pair reads best whole.
                yield prefix, "[" + ", ".join(fmt_number(v) if not isinstance(v, str) else json.dumps(v) for v in value) + "]"
                return
            for i, v in enumerate(value):
                if i >= max_list:
                    yield f"{prefix}.\u2026", None  # marks the cut
                    return
                yield from walk(f"{prefix}.{i}", v, depth + 1)
        else:
            yield prefix, value

    for key, value in walk("", dict(metrics), 0):
        if key.endswith(".\u2026"):
            dropped += 1
            continue
        if len(kept) < limit:
            kept.append((key, value))
        else:
            dropped += 1
    return kept, dropped
