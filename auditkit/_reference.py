"""The reference (training) rows, checked against the audit rows they are compared with."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from auditkit._errors import DataError
from auditkit._frames import _COPY_ON_WRITE, _check_columns, _is_number_column, _label, _list
from auditkit._kinds import describe_nested, nested_example

if TYPE_CHECKING:
    from auditkit._data import AuditData


def check_reference(data: AuditData, ref: pd.DataFrame) -> pd.DataFrame:
    """``ref`` as auditkit's own copy, refused when it could not be compared with ``data``'s
    rows: other columns, other kinds of values under one name, or no target value in common."""
    ref = _check_columns(ref, "the reference data", stacklevel=4)
    if len(ref) == 0:
        raise DataError("the reference data is empty: it has 0 rows")
    needed = [data.target, *data.features]
    missing = [c for c in needed if c not in ref.columns]
    extra = [c for c in ref.columns if c not in data.frame.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {_list(missing)}")
        if extra:
            parts.append(f"extra {_list(extra)}")
        raise DataError(
            "the reference data has different columns from the audit data: " + "; ".join(parts)
        )
    for c in ref.columns:
        if c not in data.ignore and (example := nested_example(ref[c])) is not None:
            raise DataError(
                f"the reference data's column {c!r} holds {describe_nested(example)} where the audit data's "
                "holds one value per row"
            )
    # Numbers in one and text in the other are two different columns under one name:
    # every comparison between the two would be meaningless.
    clash = [
        c for c in needed
        if _is_number_column(data.frame[c]) != _is_number_column(ref[c])
        and not (data.frame[c].isna().all() or ref[c].isna().all())
    ]
    if clash:
        c = clash[0]
        raise DataError(
            f"the reference data's column {c!r} holds {ref[c].dtype} values where the audit data's holds "
            f"{data.frame[c].dtype}" + (f" (and {len(clash) - 1} more column(s) differ so)" if len(clash) > 1 else "")
        )
    audit_classes = {_label(v) for v in pd.unique(data.frame[data.target].dropna())}
    ref_classes = {_label(v) for v in pd.unique(ref[data.target].dropna())}
    if len(audit_classes) <= 50 and audit_classes.isdisjoint(ref_classes):
        raise DataError(
            f"the reference data's target {data.target!r} shares no value with the audit data's "
            f"({_list(sorted(ref_classes)[:5])} against {_list(sorted(audit_classes)[:5])})"
        )
    return ref.copy(deep=not _COPY_ON_WRITE)
