"""A property-based fuzzer of the command line and the data reader.

hypothesis builds data files (CSV with odd encodings and separators, Parquet with
extension, Arrow and nested types), odd headers, special values, role options and
report targets (devices, pipes, folders, links, the inputs themselves, standard
output), runs ``auditkit run`` on them (then ``report`` and ``diff`` on what it
wrote), and checks the one property that is auditkit's contract with a CI job:

- exit 0, 1 or 2, never 3 (an internal error) and never a traceback;
- on 2: one line on stderr, nothing on stdout, and no report written (the folder
  holds exactly what it held before, temporary files included);
- on 0 or 1: every report asked for is there, and only those;
- no input file changed, whatever the exit (hashed before and after), and no
  special file replaced by a regular one.

A short derandomized run is part of the test suite (tests/cli/test_fuzz_cli.py). The
long run, from the repository root:

    .venv/bin/python -m benchmarks.fuzz --examples 2000

prints the first case that breaks the contract (shrunk by hypothesis) and exits 1,
or says how many cases held and exits 0. ``--seed`` picks another stream of cases.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import decimal
import hashlib
import io
import os
import stat
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

Runner = Callable[[list[str], Path], "tuple[int, str, str]"]

ODD_NAMES = [
    "", " ", "a,b", 'say "hi"', "line\nbreak", "tab\there", "ünïcødé", "名前", "0", "1.5", "-1", "Unnamed: 0",
    "#comment", "nan", "NULL", "None", "True", "=HYPERLINK(1)", "<b>x</b>", "x" * 300, "id", "customer_id",
    "index", "__index_level_0__", "level_0", "a;b", "|", "🙂",
]
FEATURE_KINDS = [
    "int", "float", "bool", "text", "category", "date", "date_tz", "timedelta", "Int64", "boolean", "Float64",
    "string", "decimal", "bytes", "list", "struct", "nested_list", "constant", "all_null", "mixed", "big_int",
]
TARGET_KINDS = ["binary_int", "binary_str", "binary_bool", "multiclass", "regression", "single", "with_nan", "list"]
# Report targets: a plain new file, standard output, and the places a report must never go.
TARGETS = ["-", "device", "fifo", "folder", "no_folder", "proc", "empty", "input", "link", "slash",
           "long", "stdout_link", "not_a_folder", "existing"]
FORMATS = {"json": ".json", "html": ".html", "markdown": ".md", "junit": ".xml"}
PROBES = ["slice_bias", "target_leakage", "cost_weighted_errors", "nan_injection"]

names = st.one_of(
    st.sampled_from(ODD_NAMES),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=10),
)


@dataclass
class Case:
    """One run of the command line: the files it starts from and its arguments."""

    frame: pd.DataFrame
    fmt: str  # csv, tsv, txt or parquet
    encoding: str
    corruption: str
    reference: str  # none, same, other
    args: list[str]
    targets: dict[str, str] = field(default_factory=dict)  # report option: kind of target
    arrow: bool = False

    def __repr__(self) -> str:  # what hypothesis prints for a failing case: enough to rebuild it
        return (
            f"Case(fmt={self.fmt!r}, encoding={self.encoding!r}, corruption={self.corruption!r}, "
            f"reference={self.reference!r}, arrow={self.arrow}, targets={self.targets!r}, args={self.args!r},\n"
            f"frame dtypes={self.frame.dtypes.astype(str).to_dict()!r},\nframe=\n{self.frame.head(8)!r})"
        )


def _values(draw: st.DrawFn, kind: str, n: int) -> pd.Series:
    """``n`` cells of one kind, missing ones included where the kind allows them."""
    def cells(strategy: st.SearchStrategy[Any], missing: Any = None, *, gaps: bool = True) -> list[Any]:
        return draw(st.lists(st.one_of(strategy, st.just(missing)) if gaps else strategy, min_size=n, max_size=n))

    if kind == "int":
        return pd.Series(cells(st.integers(-1000, 1000), gaps=False), dtype="int64")
    if kind == "big_int":
        return pd.Series(cells(st.integers(-(2**63), 2**63 - 1), gaps=False), dtype="int64")
    if kind == "float":
        return pd.Series(cells(st.floats(width=64), np.nan), dtype="float64")
    if kind == "bool":
        return pd.Series(cells(st.booleans(), gaps=False), dtype=bool)
    if kind == "text":
        return pd.Series(cells(st.one_of(st.sampled_from(["", " ", "NA", "n/a", "-", "1,5", '"', "é"]),
                                         st.text(max_size=6))), dtype=object)
    if kind == "category":
        return pd.Series(cells(st.sampled_from(["a", "b", "c"])), dtype="category")
    if kind == "date":
        return pd.Series(cells(st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1))), dtype="datetime64[ns]")
    if kind == "date_tz":
        return pd.Series(cells(st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2100, 1, 1))),
                         dtype="datetime64[ns]").dt.tz_localize("UTC")
    if kind == "timedelta":
        return pd.Series(cells(st.timedeltas(dt.timedelta(days=-999), dt.timedelta(days=999))), dtype="timedelta64[ns]")
    if kind in ("Int64", "boolean", "Float64"):
        inner = {"Int64": st.integers(-5, 5), "boolean": st.booleans(), "Float64": st.floats(-1e6, 1e6)}[kind]
        return pd.Series(pd.array(cells(inner), dtype=kind))
    if kind == "string":
        return pd.Series(pd.array(cells(st.text(max_size=4)), dtype="string"))
    if kind == "decimal":
        return pd.Series(cells(st.decimals(-100, 100, places=2).map(decimal.Decimal)), dtype=object)
    if kind == "bytes":
        return pd.Series(cells(st.binary(max_size=4)), dtype=object)
    if kind == "list":
        return pd.Series(cells(st.lists(st.integers(0, 9), max_size=3)), dtype=object)
    if kind == "struct":
        return pd.Series(cells(st.fixed_dictionaries({"k": st.integers(0, 3), "v": st.sampled_from(["x", "y"])})),
                         dtype=object)
    if kind == "nested_list":
        return pd.Series(cells(st.lists(st.lists(st.floats(0, 1), max_size=2), max_size=2), gaps=False), dtype=object)
    if kind == "constant":
        return pd.Series([7] * n, dtype="int64")
    if kind == "all_null":
        return pd.Series([np.nan] * n, dtype="float64")
    if kind == "mixed":
        return pd.Series(cells(st.one_of(st.integers(0, 3), st.sampled_from(["a", "b"])), gaps=False), dtype=object)
    raise ValueError(kind)


def _target(draw: st.DrawFn, kind: str, n: int) -> pd.Series:
    if kind == "binary_int":
        return pd.Series(draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n)), dtype="int64")
    if kind == "binary_str":
        return pd.Series(draw(st.lists(st.sampled_from(["yes", "no"]), min_size=n, max_size=n)), dtype=object)
    if kind == "binary_bool":
        return pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if kind == "multiclass":
        return pd.Series(draw(st.lists(st.sampled_from([1, 2, 3]), min_size=n, max_size=n)), dtype="int64")
    if kind == "regression":
        return pd.Series(draw(st.lists(st.floats(-1e3, 1e3), min_size=n, max_size=n)), dtype="float64")
    if kind == "single":
        return pd.Series([1] * n, dtype="int64")
    if kind == "with_nan":
        return pd.Series(draw(st.lists(st.sampled_from([0.0, 1.0, np.nan]), min_size=n, max_size=n)), dtype="float64")
    return _values(draw, "list", n)


# At most one deliberate mistake in the options per case: mistakes in every option at once
# would end every case at the first one the command line checks, and no case would reach
# the audit and the reports. The data itself is odd in every case.
MISTAKES = ["target", "prediction", "roles", "nested", "time", "costs", "flags", "report", "encoding",
            "corruption", "rows"]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A data file, its roles and the reports asked for."""
    mistake = draw(st.sampled_from([None] * len(MISTAKES) + MISTAKES))
    fmt = draw(st.sampled_from(["csv", "csv", "tsv", "txt", "parquet", "parquet"]))
    n = draw(st.integers(0, 3) if mistake == "rows" else st.integers(4, 40))
    kinds = draw(st.lists(st.sampled_from(FEATURE_KINDS), min_size=0, max_size=4))
    feature_names = draw(st.lists(names, min_size=len(kinds), max_size=len(kinds), unique=fmt == "parquet"))
    target_name = draw(st.sampled_from(["y", "y", *ODD_NAMES]))
    target_kind = draw(st.sampled_from(TARGET_KINDS))
    y = _target(draw, target_kind, n)
    pred = y.copy()
    if n and draw(st.booleans()):  # some wrong predictions, in the target's own values
        pred = pred.iloc[np.random.default_rng(n).permutation(n)].reset_index(drop=True)
    columns = [_values(draw, k, n).rename(name) for k, name in zip(kinds, feature_names)]
    columns += [y.rename(target_name), pred.rename("pred")]
    frame = pd.concat(columns, axis=1)
    if fmt == "parquet" and frame.columns.duplicated().any():
        frame = frame.loc[:, ~frame.columns.duplicated()]
    if fmt == "parquet":  # pyarrow refuses object columns of mixed types: those are CSV cases
        frame = frame.astype({c: str for c, k in zip(feature_names, kinds) if k == "mixed" and c in frame})
    has_score = draw(st.booleans())
    if has_score and n:
        frame["score"] = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n))

    features = [str(c) for c in frame.columns if c not in (target_name, "pred", "score")]
    nested = [name for name, kind in zip(feature_names, kinds) if kind in ("list", "struct", "nested_list")]
    column = st.sampled_from(features) if features else names
    odd = st.one_of(column, names)  # a name in the file, or not
    args = ["run", "--data", f"data.{fmt}", "--target", draw(names) if mistake == "target" else target_name]
    args += ["--prediction-column", draw(odd) if mistake == "prediction" else "pred"]
    if has_score and draw(st.booleans()):
        args += ["--score-column", "score"]
    for option in ("--sensitive", "--ignore-column", "--id-column"):
        for name in draw(st.lists(odd if mistake == "roles" else column, max_size=2 if draw(st.booleans()) else 0)):
            args += [option, name]
    if mistake != "nested":  # the way out the refusal of a nested column names
        for name in dict.fromkeys(nested):
            args += ["--ignore-column", name]
    if mistake == "time":
        args += ["--time-column", draw(odd)]
    costs = draw(st.sampled_from(["none", "none", "fp_fn", "column", "half"] if mistake == "costs" else ["none", "fp_fn"]))
    if costs == "fp_fn":
        args += ["--cost-fp", draw(st.sampled_from(["0", "-1", "nan", "inf", "1e308"])) if mistake == "costs" else "1",
                 "--cost-fn", "5"]
    elif costs == "column":
        args += ["--cost-column", draw(odd)]
    elif costs == "half":
        args += ["--cost-fp", "1"]
    args += ["--probes", ",".join(draw(st.lists(st.sampled_from(PROBES), min_size=1, max_size=2, unique=True)))]
    if mistake == "flags":
        args += draw(st.sampled_from([["--fail-on", "huge"], ["--jobs", "0"], ["--seed", "x"], ["--probes", ","]]))
    else:
        args += draw(st.sampled_from([[], ["--seed", "3"], ["--fail-on", "low"], ["--jobs", "2"]]))
    reports = draw(st.lists(st.sampled_from(list(FORMATS)), max_size=3, unique=True))
    targets = {fmt_: draw(st.sampled_from(["new", "new", "-", "existing", "link"])) for fmt_ in reports}
    if "-" in targets.values():  # one report at most on stdout, unless that is the mistake
        first = next(f for f, t in targets.items() if t == "-")
        targets = {f: t if t != "-" or f == first else "new" for f, t in targets.items()}
    if mistake == "report" and reports:
        targets[draw(st.sampled_from(reports))] = draw(st.sampled_from(TARGETS))
    return Case(
        frame=frame,
        fmt=fmt,
        encoding=draw(st.sampled_from(["utf-8-sig", "latin-1", "utf-16", "cp1252"])) if mistake == "encoding" else "utf-8",
        corruption=draw(st.sampled_from(["truncate", "empty", "garbage", "bom_only"])) if mistake == "corruption" else "none",
        reference=draw(st.sampled_from(["none", "none", "same", "other"])),
        args=args,
        targets=targets,
        arrow=fmt == "parquet" and draw(st.booleans()),
    )


# -- making the files -------------------------------------------------------------------


def _write_data(case: Case, path: Path, frame: pd.DataFrame) -> None:
    if case.fmt == "parquet":
        if case.arrow:
            try:
                frame = frame.convert_dtypes(dtype_backend="pyarrow")
            except Exception:  # noqa: BLE001 - a frame pyarrow cannot type stays as it is
                pass
        try:
            frame.to_parquet(path)
        except Exception:  # noqa: BLE001 - what pyarrow refuses to write is no input anyone has
            frame.astype(str).to_parquet(path)
    else:
        sep = "\t" if case.fmt == "tsv" else ","
        frame.to_csv(path, sep=sep, index=False, encoding=case.encoding, errors="replace")
    data = path.read_bytes()
    if case.corruption == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif case.corruption == "empty":
        path.write_bytes(b"")
    elif case.corruption == "garbage":
        path.write_bytes(bytes(range(256)) * 3)
    elif case.corruption == "bom_only":
        path.write_bytes(b"\xef\xbb\xbf")


def _target_path(kind: str, fmt: str, case: Case, work: Path) -> str:
    """Make what a target of ``kind`` needs in ``work`` and return the path to give."""
    name = f"out{FORMATS[fmt]}"
    if kind == "new":
        return name
    if kind == "existing":
        (work / name).write_text("an old report\n")
        return name
    if kind == "-":
        return "-"
    if kind == "device":
        try:  # a private null device: the fuzzer, often root, must never risk the machine's /dev/null
            os.mknod(work / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except (PermissionError, OSError):
            os.mkfifo(work / "null")
        return "null"
    if kind == "fifo":
        os.mkfifo(work / "pipe")
        return "pipe"
    if kind == "folder":
        (work / "folder").mkdir(exist_ok=True)
        return "folder"
    if kind == "no_folder":
        return f"missing/{name}"
    if kind == "proc":
        return f"/proc/{name}"
    if kind == "empty":
        return ""
    if kind == "input":
        return f"data.{case.fmt}"
    if kind == "link":
        (work / f"real{FORMATS[fmt]}").write_text("old\n")
        os.symlink(f"real{FORMATS[fmt]}", work / f"link{FORMATS[fmt]}")
        return f"link{FORMATS[fmt]}"
    if kind == "slash":
        return f"{name}/"
    if kind == "long":
        return "r" * 300 + FORMATS[fmt]
    if kind == "stdout_link":
        os.symlink("/dev/stdout", work / "stdout")
        return "stdout"
    if kind == "not_a_folder":
        return f"data.{case.fmt}/{name}"
    raise ValueError(kind)


def _snapshot(work: Path) -> dict[str, str]:
    """Every entry under ``work``: its type, and for a regular file its content's digest."""
    out = {}
    for root, dirs, files in os.walk(work):
        for name in dirs + files:
            path = Path(root, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                out[str(path.relative_to(work))] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[str(path.relative_to(work))] = stat.filemode(info.st_mode)[0]
    return out


# -- running it ---------------------------------------------------------------------------


def run_in_process(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """The command line's ``main`` in this process (no interpreter start: fast)."""
    from auditkit._cli import main

    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
    finally:
        os.chdir(before)
    return rc, out.getvalue(), err.getvalue()


def run_subprocess(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """``python -m auditkit``, as a user runs it."""
    proc = subprocess.run([sys.executable, "-m", "auditkit", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr


def check_contract(case: Case, run: Runner = run_in_process) -> tuple[int, str]:
    """Build ``case``'s files in a fresh folder, run it (and, on a scorecard, ``report``
    and ``diff``), and assert the contract; the assertion says what broke. Returns the
    run's exit code and the start of its error line, if any (to tell what the cases reached)."""
    with tempfile.TemporaryDirectory(prefix="auditkit-fuzz-") as tmp:
        work = Path(tmp)
        _write_data(case, work / f"data.{case.fmt}", case.frame)
        args = list(case.args)
        if case.reference != "none":
            ref = case.frame if case.reference == "same" else case.frame.iloc[::-1].head(max(1, len(case.frame) // 2))
            _write_data(case, work / f"ref.{case.fmt}", ref)
            args += ["--reference", f"ref.{case.fmt}"]
        reports = {}
        for fmt, kind in case.targets.items():
            reports[fmt] = _target_path(kind, fmt, case, work)
            args += [f"--{fmt}", reports[fmt]]
        try:
            rc, err = _check_one(args, reports, work, run)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{case!r}") from None
        card = reports.get("json")
        if rc in (0, 1) and card and case.targets["json"] in ("new", "existing", "link"):
            # the scorecard just written, re-rendered and compared with itself, to odd targets too
            for fmt, kind in (("html", "device"), ("markdown", "-"), ("junit", "new"), ("html", "proc")):
                target = _target_path(kind, fmt, case, work) if kind != "device" or not (work / "null").exists() else "null"
                _check_one(["report", card, f"--{fmt}", target], {fmt: target}, work, run)
            _check_one(["diff", card, card, "--markdown", "-"], {"markdown": "-"}, work, run)
            _check_one(["diff", card, f"data.{case.fmt}"], {}, work, run)
        return rc, err.split(":")[2].strip()[:30] if rc == 2 else ""


def _check_one(args: list[str], reports: dict[str, str], work: Path, run: Runner) -> tuple[int, str]:
    before = _snapshot(work)
    rc, out, err = run(args, work)
    after = _snapshot(work)
    shown = f"auditkit {' '.join(repr(a) for a in args)}\nexit {rc}\nstderr: {err[-2000:]}"
    if rc == 3 and run is run_in_process:  # the traceback, for whoever fixes it
        os.environ["AUDITKIT_DEBUG"] = "1"
        try:
            run(args, work)
        except Exception as exc:  # noqa: BLE001
            import traceback

            shown += "\n" + "".join(traceback.format_exception(exc))[-4000:]
        finally:
            del os.environ["AUDITKIT_DEBUG"]
    assert rc in (0, 1, 2), shown
    assert "Traceback" not in err, shown
    written = {p for p, kind in after.items() if before.get(p) != kind}
    gone = set(before) - set(after)
    assert not gone, f"{shown}\nremoved: {sorted(gone)}"
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("auditkit: error: "), shown
        assert out == "", f"{shown}\nstdout: {out[:500]}"
        assert not written, f"{shown}\nwritten on exit 2: {sorted(written)}"
        return rc, err
    # reports land where they were asked (through a link, on the file it points to), nowhere else
    allowed = {os.path.normpath(p) for p in reports.values() if p != "-"}
    allowed |= {p.replace("link", "real") for p in allowed if p.startswith("link")}
    assert written <= allowed, f"{shown}\nwritten besides the reports: {sorted(written - allowed)}"
    for fmt, path in reports.items():
        if path == "-":
            assert out.strip(), f"{shown}\nno {fmt} report on stdout"
        else:
            assert os.path.normpath(path) in after, f"{shown}\n{path} not written"
    for path, kind in before.items():  # no special file became a regular one
        if len(kind) == 1:
            assert after[path] == kind, f"{shown}\n{path} was {kind!r}, is now {after[path]!r}"
    return rc, err


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000, help="cases to try (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="which stream of cases")
    parser.add_argument("--subprocess", action="store_true", help="run each case as a separate process (slow)")
    args = parser.parse_args(argv)
    run = run_subprocess if args.subprocess else run_in_process
    tried, outcomes = 0, Counter()

    @settings(max_examples=args.examples, deadline=None, database=None, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(case=cases())
    def fuzz(case: Case) -> None:
        nonlocal tried
        tried += 1
        outcomes[check_contract(case, run)] += 1

    try:
        seed(args.seed)(fuzz)()
    except AssertionError as exc:
        print(f"contract broken after {tried} case(s):\n{exc}", file=sys.stderr)
        return 1
    print(f"{tried} case(s) tried; the contract held in every one. Outcomes:")
    for (rc, error), count in outcomes.most_common():
        print(f"{count:6d}  exit {rc}  {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
