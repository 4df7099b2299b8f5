"""The JSON scorecard: the contract with CI and other tools.

Written at the current ``SCHEMA_VERSION``, with the judge's marks and verdict
(a card that was never judged is judged first). Read back from any version the
schema accepts: a version-1 file lacks the marks, which the judge fills in
from its stored policy when a report or a diff first reads it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from auditkit._judge import ensure_judged
from auditkit._results import Scorecard

__all__ = ["load_schema", "render_json", "scorecard_from_json", "validate_scorecard"]


def render_json(card: Scorecard) -> str:
    return json.dumps(ensure_judged(card).to_dict(), indent=2, sort_keys=False, allow_nan=False) + "\n"


def scorecard_from_json(text: str) -> Scorecard:
    return Scorecard.from_dict(json.loads(text))


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The JSON Schema of the scorecard, as shipped in the package."""
    text = resources.files("auditkit.schema").joinpath("scorecard.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate_scorecard(document: dict[str, Any] | Scorecard) -> None:
    """Raise ``jsonschema.ValidationError`` when a scorecard breaks the contract."""
    import jsonschema

    if isinstance(document, Scorecard):
        document = json.loads(render_json(document))
    jsonschema.validate(document, load_schema())
