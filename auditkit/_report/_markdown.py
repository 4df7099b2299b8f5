"""The Markdown summary: fit for a pull-request comment or a CI job summary.

Short on purpose: the verdict, a table of probes, then the findings that
matter (worst first, waived ones marked), capped so it stays well within the
size a code host accepts for a comment. Text from data is escaped so that a
column name can neither break the table nor inject markup.
"""

from __future__ import annotations

import re

from auditkit._report._common import (
    describe_slice,
    expired_waivers,
    judged,
    score_notes,
    shown_findings,
    title_of,
    truncate,
    verdict,
)
from auditkit._results import Finding, Scorecard

__all__ = ["md_code", "md_escape", "render_markdown"]

MAX_FINDINGS = 30
MAX_MESSAGE_CHARS = 500
# Every line the renderer writes starts with its own prefix ("| ", "- "), so the
# characters that matter only at a line's start (#, +, -, digits) stay as they are.
_PLAIN = re.compile(r"[A-Za-z0-9_.:/=-]{1,200}")
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_ICON = {"passed": "\u2705", "failed": "\u274c", "error": "\u26a0\ufe0f", "skipped": "\u23ed\ufe0f"}


def md_escape(text: str) -> str:
    """Data as inert Markdown: HTML's specials become entities, Markdown's get a
    backslash, and line breaks become spaces (a table row is one line)."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text)


def md_code(text: str) -> str:
    """A name as a code span when it is a plain identifier (a probe, a code, most
    columns); anything else is escaped text, so data never reaches the page raw."""
    text = str(text)
    return f"`{text}`" if _PLAIN.fullmatch(text) else md_escape(text)


def render_markdown(card: Scorecard) -> str:
    """The scorecard as Markdown (a string)."""
    card = judged(card)
    icon = "\u2705" if card.passed else "\u274c"
    lines = [
        f"### {icon} {md_escape(truncate(title_of(card), 200))}",
        "",
        f"auditkit: audit **{verdict(card)}**, score {card.score:.0f}/100 (grade {card.grade})",
        *(["", "_" + "; ".join(n[0].upper() + n[1:] for n in score_notes(card)) + "._"] if score_notes(card) else []),
        *(["", "Why it failed: " + "; ".join(md_escape(r) for r in card.verdict.reasons) + "."]
          if card.verdict is not None and card.verdict.reasons else []),
        "",
        f"Model {md_code(card.model.get('kind', '?'))} ({md_escape(card.model.get('task', '?'))}) on "
        f"{card.data.get('rows', '?')} rows \u00d7 {card.data.get('columns', '?')} columns, target "
        f"**{md_escape(card.data.get('target', '?'))}**; seed {card.seed}; gate fails at "
        f"**{card.policy.get('fail_on', 'high')}**"
        + (f" and below score {card.policy.get('min_score'):g}" if card.policy.get("min_score") else "")
        + ".",
        "",
        "| probe | status | score | worst finding |",
        "|---|---|--:|---|",
    ]
    every: list[tuple[str, Finding]] = []
    for r in card.probes:
        shown = shown_findings(r)
        every.extend((r.name, s) for s in shown)
        unwaived = [s for s in shown if not s.waived]
        if r.status in ("error", "skipped"):
            worst = md_escape(truncate(r.reason or "", 160))
        elif unwaived:
            w = unwaived[0]
            worst = f"**{w.severity.value}** {md_escape(truncate(w.message, 160))}"
            more = len(shown) - 1
            worst += f" (+{more} more)" if more else ""
        elif shown:
            worst = f"{len(shown)} waived"
        else:
            worst = "no findings"
        score = "-" if r.score is None else f"{r.score:.0f}"
        lines.append(f"| {md_code(r.name)} | {_ICON.get(r.status, '')} {r.status} | {score} | {worst} |")
    for note in expired_waivers(card):
        lines += ["", f"> \u26a0\ufe0f {md_escape(note)}"]
    if every:
        every.sort(key=lambda item: -item[1].severity.rank)
        lines += ["", "<details><summary>Findings ({})</summary>".format(len(every)), ""]
        for name, f in every[:MAX_FINDINGS]:
            tags = []
            if f.fails_gate:
                tags.append("**fails the gate**")
            if f.waiver:
                tags.append(f"_{md_escape(f.waiver)}_")
            where = []
            if f.features:
                where.append("features: " + ", ".join(md_code(x) for x in f.features[:8]))
            if f.slice:
                where.append(f"slice: {md_escape(describe_slice(f.slice))}")
            line = f"- **{f.severity.value}** {md_code(f'{name}/{f.code}')}: {md_escape(truncate(f.message, MAX_MESSAGE_CHARS))}"
            if where:
                line += " (" + "; ".join(where) + ")"
            if tags:
                line += " \u2014 " + "; ".join(tags)
            lines.append(line)
        if len(every) > MAX_FINDINGS:
            lines.append(f"- \u2026 and {len(every) - MAX_FINDINGS} more in the full report")
        lines += ["", "</details>"]
    lines += ["", f"<sub>auditkit {md_escape(card.auditkit_version)} \u00b7 {md_escape(card.created_at)}</sub>", ""]
    return "\n".join(lines)
