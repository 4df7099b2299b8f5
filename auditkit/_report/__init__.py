"""Renderers: one pure function per format, each taking a Scorecard."""

from auditkit._report._json import load_schema, render_json, scorecard_from_json, validate_scorecard
from auditkit._report._terminal import render_terminal

__all__ = ["load_schema", "render_json", "render_terminal", "scorecard_from_json", "validate_scorecard"]
