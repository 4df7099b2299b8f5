"""The report in a notebook cell: what Jupyter shows for a ``Scorecard`` or a
``ProbeResult`` (their ``_repr_html_``).

The same views and template parts as the HTML page (``_html.py``,
``templates/_parts.html.j2``), cut to a cell: the header with the audit's
title and verdict, then one ``<details>`` fold per probe, failed and errored
ones open, each with its charts drawn from the probe's figures. A fragment,
not a page: inline styles scoped under ``.auditkit`` (a notebook's own styles
stay as they are), no script (a notebook that is not trusted runs none, and
none is needed), no element ids (a notebook shows many audits). Fewer findings
per probe than the page; the cell says where the rest is.
"""

from __future__ import annotations

from typing import Any

from auditkit._report._html import NOTEBOOK, page_view, probe_views, template
from auditkit._results import ProbeResult, Scorecard

__all__ = ["render_notebook", "render_probe_notebook"]

CUT_NOTE = (
    "this cell shows at most {n} findings per probe; auditkit.render_html(card) writes the whole report "
    "as a page and the JSON scorecard (auditkit.render_json) keeps everything."
)


def render_notebook(card: Scorecard) -> str:
    """The scorecard as an HTML fragment for a notebook cell (a string)."""
    view = page_view(card, NOTEBOOK)
    view["cut_note"] = CUT_NOTE.format(n=NOTEBOOK.findings_per_probe)
    return template("notebook.html.j2").render(v=view)


def render_probe_notebook(result: ProbeResult) -> str:
    """One probe's result as an HTML fragment for a notebook cell, its fold open
    (as the scorecard's judge left it: ``card["slice_bias"]``)."""
    view: dict[str, Any] = {"card": None, "probes": probe_views((result,), NOTEBOOK)}
    return template("notebook.html.j2").render(v=view)
