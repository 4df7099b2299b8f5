"""Renderers: one pure function per format, each taking a Scorecard and returning a string."""

from auditkit._report._html import render_html
from auditkit._report._json import load_schema, render_json, scorecard_from_json, validate_scorecard
from auditkit._report._junit import render_junit
from auditkit._report._markdown import render_markdown
from auditkit._report._notebook import render_notebook, render_probe_notebook
from auditkit._report._terminal import render_terminal
from auditkit._results import show_in_notebooks

# Results show as the report in a notebook cell; they cannot import their renderer
# (it imports them), so it is handed to them here, when auditkit is imported.
show_in_notebooks(render_notebook, render_probe_notebook)

__all__ = [
    "load_schema",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_notebook",
    "render_probe_notebook",
    "render_terminal",
    "scorecard_from_json",
    "validate_scorecard",
]
