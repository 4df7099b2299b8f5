"""Which stored columns the command line hands the model: ``--ignore-column``, and
the row index each file format keeps in its own way (pandas' conventions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

import auditkit

FEATURES = ["a", "b", "c", "d"]


def auditkit_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditkit", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _rows(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Four numeric features, a binary target they predict, a text group and a customer number."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=FEATURES)
    frame["y"] = (frame["a"] + frame["b"] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    frame["grp"] = rng.choice(["north", "south", "east"], size=n)
    frame["customer_id"] = np.arange(1000, 1000 + n)
    return frame


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real scikit-learn model that takes a, b, c and d only, saved as .skops. Fitted on
    an array, it knows no column names: it takes whatever columns it is handed, in order,
    so one column too many fails every query (as a TorchScript model would)."""
    out = tmp_path_factory.mktemp("columns")
    train = _rows(seed=1)
    model = LogisticRegression().fit(train[FEATURES].to_numpy(), train["y"])
    sio.dump(model, out / "model.skops")
    return out


def _run(cwd: Path, data: str, *extra: str, report: str = "card.json") -> subprocess.CompletedProcess[str]:
    return auditkit_cli(
        "run", "--data", data, "--model", "model.skops", "--target", "y", "--json", report, *extra, cwd=cwd
    )


def _card(cwd: Path, proc: subprocess.CompletedProcess[str], report: str = "card.json") -> dict:
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads((cwd / report).read_text())
    auditkit.validate_scorecard(doc)
    return doc


def _assert_every_probe_ran(doc: dict) -> None:
    errors = {p["name"]: p.get("reason") for p in doc["probes"] if p["status"] == "error"}
    assert not errors, errors
    assert {p["name"] for p in doc["probes"]} == {i.name for i in auditkit.available_probes()}


def _assert_every_probe_ran_of(doc: dict, *names: str) -> None:
    assert [p["name"] for p in doc["probes"]] == list(names)
    assert all(p["status"] != "error" for p in doc["probes"]), doc["probes"]


def _assert_usage_error(cwd: Path, proc: subprocess.CompletedProcess[str], message: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("auditkit: error: "), proc.stderr
    assert message in lines[0]
    assert not (cwd / "never.json").exists()


# -- --ignore-column ---------------------------------------------------------


def test_an_ignored_column_is_not_handed_to_the_model(model_dir: Path) -> None:
    _rows(seed=2).drop(columns="customer_id").to_csv(model_dir / "with_grp.csv", index=False)
    handed_grp = _run(model_dir, "with_grp.csv", report="never.json")
    _assert_usage_error(model_dir, handed_grp, "the model was fitted on 4 features; the audit data has 5")
    proc = _run(model_dir, "with_grp.csv", "--ignore-column", "grp")
    doc = _card(model_dir, proc)
    _assert_every_probe_ran(doc)
    assert doc["data"]["columns"] == 6  # still in the audit data, only set aside from the features


def test_ignore_column_is_repeatable_and_combines_with_the_other_roles(model_dir: Path) -> None:
    frame = _rows(seed=3)
    frame["note"] = "free text"
    frame.to_csv(model_dir / "two_extra.csv", index=False)
    proc = _run(
        model_dir, "two_extra.csv", "--ignore-column", "grp", "--ignore-column", "note",
        "--id-column", "customer_id", "--probes", "nan_injection",
    )
    _assert_every_probe_ran_of(_card(model_dir, proc), "nan_injection")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ignore-column", "gorup"], "ignore column 'gorup' is not in the audit data"),
        (["--ignore-column", "y"], "ignore column 'y' is the target itself"),
    ],
)
def test_a_bad_ignore_column_exits_2_with_one_line_and_no_report(
    model_dir: Path, args: list[str], message: str
) -> None:
    _rows(seed=2).to_csv(model_dir / "bad_ignore.csv", index=False)
    proc = _run(model_dir, "bad_ignore.csv", *args, report="never.json")
    _assert_usage_error(model_dir, proc, message)


# -- Parquet: an index is stored columns --------------------------------------


def test_a_parquet_files_named_index_is_a_column_again(model_dir: Path) -> None:
    _rows(seed=4).drop(columns="grp").set_index("customer_id").to_parquet(model_dir / "by_customer.parquet")
    proc = _run(model_dir, "by_customer.parquet", "--id-column", "customer_id")
    doc = _card(model_dir, proc)
    _assert_every_probe_ran(doc)
    assert doc["data"]["columns"] == 6  # a, b, c, d, y and customer_id


def test_a_parquet_files_multiindex_is_columns_again(model_dir: Path) -> None:
    frame = _rows(seed=5).set_index(["grp", "customer_id"])
    frame.to_parquet(model_dir / "by_group.parquet")
    proc = _run(
        model_dir, "by_group.parquet", "--id-column", "customer_id", "--sensitive", "grp", "--ignore-column", "grp",
        "--probes", "slice_bias,nan_injection",
    )
    doc = _card(model_dir, proc)
    _assert_every_probe_ran_of(doc, "slice_bias", "nan_injection")
    assert doc["data"]["columns"] == 7 and doc["data"]["sensitive"] == ["grp"]
    # ignored by the model, still the groups the fairness probe compares
    slice_bias = next(p for p in doc["probes"] if p["name"] == "slice_bias")
    assert {g["feature"] for g in slice_bias["metrics"]["groups"]} == {"grp"}


@pytest.mark.parametrize(
    "rows", [slice(None), slice(None, None, 2)], ids=["range index", "filtered rows' unnamed index"]
)
def test_a_parquet_files_unnamed_index_stays_out_of_the_columns(model_dir: Path, rows: slice) -> None:
    frame = _rows(seed=6).drop(columns=["grp", "customer_id"]).iloc[rows]
    frame.to_parquet(model_dir / "plain.parquet")
    doc = _card(model_dir, _run(model_dir, "plain.parquet", "--probes", "nan_injection"))
    _assert_every_probe_ran_of(doc, "nan_injection")
    assert doc["data"]["columns"] == 5


def test_a_parquet_index_named_like_a_column_exits_2(model_dir: Path) -> None:
    frame = _rows(seed=7).drop(columns="grp")
    frame.index.name = "customer_id"  # and a customer_id column besides
    frame.to_parquet(model_dir / "clash.parquet")
    proc = _run(model_dir, "clash.parquet", "--id-column", "customer_id", report="never.json")
    _assert_usage_error(model_dir, proc, "clash.parquet stores an index named 'customer_id' and a column")


# -- Parquet: list and struct columns (issue #22) ------------------------------


def _with_nested(model_dir: Path, name: str) -> None:
    """The model's rows plus what logging pipelines store beside them: a list and a struct column,
    written by pyarrow itself."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    frame = _rows(seed=11).drop(columns=["grp", "customer_id"])
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("tags", pa.array([["new", "web"][: 1 + i % 2] for i in range(len(frame))],
                                                  pa.list_(pa.string())))
    table = table.append_column("session", pa.array([{"device": "ios", "visits": i} for i in range(len(frame))]))
    pq.write_table(table, model_dir / name)


@pytest.mark.parametrize(("column", "held", "other"), [
    ("tags", "holds arrays (such as ['new'])", "session"),
    ("session", "holds dicts (a struct column) (such as {'device': 'ios', 'visits': 0})", "tags"),
])
def test_a_parquet_list_or_struct_column_exits_2_naming_it_and_the_way_out(
    model_dir: Path, column: str, held: str, other: str
) -> None:
    _with_nested(model_dir, "logged.parquet")
    proc = _run(model_dir, "logged.parquet", "--ignore-column", other, report="never.json")
    _assert_usage_error(model_dir, proc, f"column {column!r} {held}, which no probe can audit: set it aside with "
                                         f"ignore=[{column!r}] (on the command line: --ignore-column {column})")


def test_parquet_list_and_struct_columns_set_aside_are_kept_out_of_the_model(model_dir: Path) -> None:
    _with_nested(model_dir, "logged_ok.parquet")
    proc = _run(model_dir, "logged_ok.parquet", "--ignore-column", "tags", "--ignore-column", "session")
    doc = _card(model_dir, proc)
    _assert_every_probe_ran(doc)
    assert doc["data"]["columns"] == 7  # a, b, c, d, y and the two set aside


# -- CSV: an empty first header is pandas' row index ---------------------------


def test_a_csv_written_with_pandas_default_index_keeps_it_out_of_the_features(model_dir: Path) -> None:
    _rows(seed=8).drop(columns=["grp", "customer_id"]).to_csv(model_dir / "with_index.csv")
    assert (model_dir / "with_index.csv").read_text().startswith(",a,b,c,d,y\n")
    doc = _card(model_dir, _run(model_dir, "with_index.csv"))
    _assert_every_probe_ran(doc)
    assert doc["data"]["columns"] == 5


def test_a_csv_whose_first_column_is_named_keeps_it_as_a_column(model_dir: Path) -> None:
    # Row numbers 0..n-1 under a real header: the user's own column, left alone.
    frame = _rows(seed=9).drop(columns=["grp", "customer_id"])
    frame.rename_axis("row").to_csv(model_dir / "named_first.csv")
    assert (model_dir / "named_first.csv").read_text().startswith("row,a,b,c,d,y\n")
    proc = _run(model_dir, "named_first.csv", "--id-column", "row", "--probes", "nan_injection")
    doc = _card(model_dir, proc)
    _assert_every_probe_ran_of(doc, "nan_injection")
    assert doc["data"]["columns"] == 6


@pytest.mark.parametrize(("sep", "called"), [(";", "semicolons"), ("|", "'|'")])
def test_a_csv_with_another_separator_exits_2_and_says_which(model_dir: Path, sep: str, called: str) -> None:
    # Spreadsheets in many locales write ';' between fields: one column named 'a;b;c;d;y' is no audit.
    _rows(seed=10).drop(columns=["grp", "customer_id"]).to_csv(model_dir / "semi.csv", sep=sep, index=False)
    proc = _run(model_dir, "semi.csv", report="never.json")
    _assert_usage_error(model_dir, proc, f"semi.csv reads as one column named 'a{sep}b{sep}c{sep}d{sep}y': its fields "
                                         f"are separated by {called}")


def test_a_warning_is_one_line_after_the_summary_and_none_after_a_refusal(model_dir: Path) -> None:
    # pandas' index written with to_csv, one label for every row: the rows are told apart by position
    _rows(seed=12).drop(columns=["grp", "customer_id"]).set_axis([7] * 300).to_csv(model_dir / "same_label.csv")
    proc = _run(model_dir, "same_label.csv", "--probes", "nan_injection")
    _card(model_dir, proc)
    warning = ("auditkit: warning: the audit data has a repeated index label (7 labels 300 rows); findings name "
               "its example rows by position (0 to 299) instead")
    assert proc.stderr.splitlines() == [warning]
    # a refusal is one line, whatever was said on the way (found by benchmarks/fuzz.py)
    refused = _run(model_dir, "same_label.csv", "--ignore-column", "gorup", report="never.json")
    _assert_usage_error(model_dir, refused, "ignore column 'gorup' is not in the audit data")
