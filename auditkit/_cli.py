"""The auditor's command line: ``auditkit run``, ``report``, ``diff`` and ``probes``.

Exit codes: 0 the audit passed the gate, 1 the gate failed (for ``diff
--fail-on-new``: a regression appeared), 2 bad usage or input (one line on
stderr, no report written), 3 an internal error of auditkit, 141 standard
output was closed by its reader (``| head``) before the report was through.

Every report path is checked before any work is done: a report replaces a
regular file or creates one in an existing folder it can write to, and never
writes over a device, a pipe, a folder or an input. ``-`` writes that report to
standard output (one report at most); the terminal summary and the list of
files written then go to standard error, so a pipe receives the report alone.

Without ``--config``, the policy is ``[tool.auditkit]`` of the nearest
pyproject.toml, looking upwards from the working directory.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_CLOSED = 0, 1, 2, 3, 141
NO_MODEL_USAGE = "give --model or --prediction-column, or --reference to audit the data alone (drift)"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="auditkit", description="Adversarial model audits: probes, scorecard, CI gate.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="audit a model (or stored predictions, or the data alone) on a data file")
    run.add_argument("--data", required=True, metavar="FILE", help="audit rows, CSV or Parquet")
    run.add_argument("--reference", metavar="FILE", help="training rows, same columns")
    run.add_argument("--target", required=True, metavar="COL")
    # Neither: a data-only audit against --reference, where only probes of the data (drift) run.
    source = run.add_mutually_exclusive_group(required=False)
    source.add_argument("--model", metavar="FILE", help=".skops, .joblib/.pkl (with --trust-model-file), TorchScript .pt")
    source.add_argument("--prediction-column", metavar="COL", help="audit stored predictions in this column")
    run.add_argument("--score-column", metavar="COL", help="stored positive-class scores")
    run.add_argument("--sensitive", action="append", default=[], metavar="COL")
    run.add_argument("--time-column", metavar="COL")
    run.add_argument("--id-column", action="append", default=[], metavar="COL")
    run.add_argument(
        "--ignore-column", action="append", default=[], metavar="COL",
        help="a column that is neither a feature nor a role: the model is not handed it",
    )
    run.add_argument("--cost-fp", type=float, metavar="X", help="cost of a false positive")
    run.add_argument("--cost-fn", type=float, metavar="Y", help="cost of a false negative")
    run.add_argument("--cost-matrix", metavar="FILE", help="CSV cost matrix, rows actual, columns predicted")
    run.add_argument("--cost-column", metavar="COL", help="per-row cost column")
    run.add_argument("--probes", metavar="a,b", help="comma-separated probe names (default: all installed)")
    run.add_argument(
        "--config",
        metavar="FILE",
        help="TOML policy file ([tool.auditkit] or top-level keys); default: [tool.auditkit] of the nearest pyproject.toml",
    )
    run.add_argument(
        "--title", metavar="TEXT",
        help="what every report is headed with (default: the model file's and data file's names)",
    )
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--jobs", type=int, default=1, help="probes run in parallel")
    run.add_argument("--json", metavar="FILE", help="write the JSON scorecard here ('-': standard output)")
    _report_options(run)
    run.add_argument("--fail-on", metavar="SEVERITY", help="info, low, medium, high or critical (default high)")
    run.add_argument("--trust-model-file", action="store_true", help="allow model files that can run code")

    report = sub.add_parser("report", help="render a saved JSON scorecard as HTML, Markdown or JUnit XML")
    report.add_argument("scorecard", metavar="SCORECARD", help="a JSON scorecard written by 'auditkit run --json'")
    _report_options(report)

    diff = sub.add_parser("diff", help="compare two JSON scorecards: new, fixed and changed findings")
    diff.add_argument("baseline", metavar="BASELINE", help="the scorecard to compare against")
    diff.add_argument("current", metavar="CURRENT", help="the scorecard of the change")
    diff.add_argument("--markdown", metavar="FILE", help="write the diff as Markdown here ('-': standard output)")
    diff.add_argument(
        "--fail-on-new",
        metavar="SEVERITY",
        help="exit 1 when a new finding at or above SEVERITY appears (or one rises to it), when a probe "
        "that ran in the baseline did not run now (skipped, error or left out), or when the baseline is "
        "of another target",
    )

    sub.add_parser("probes", help="list every installed probe")
    return p


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report here ('-': standard output)")
    p.add_argument("--markdown", metavar="FILE", help="write a Markdown summary here (for a PR comment)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML here (one testcase per probe)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code. Warnings raised on the way are one
    line each after the summary, and none after an error: a refusal is one line."""
    with warnings.catch_warnings(record=True) as caught:
        code = _main(argv)
    if code in (EXIT_PASSED, EXIT_FAILED):
        for message in dict.fromkeys(_one_line(w.message) for w in caught):
            print(f"auditkit: warning: {message}", file=sys.stderr)
    return code


def _main(argv: Sequence[str] | None) -> int:
    from auditkit._errors import AuditkitError

    try:
        args = _parser().parse_args(argv)
        if args.command == "probes":
            return _cmd_probes()
        if args.command == "report":
            return _cmd_report(args)
        if args.command == "diff":
            return _cmd_diff(args)
        return _cmd_run(args)
    except (_UsageError, AuditkitError) as exc:
        print(f"auditkit: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("auditkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of standard output went away (| head): nothing more can reach it, and
        # Python's own flush at exit must not fail on the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLOSED
    except Exception as exc:  # auditkit's own bug: say so in one line unless asked for more
        if os.environ.get("AUDITKIT_DEBUG"):
            raise
        print(
            f"auditkit: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(set AUDITKIT_DEBUG=1 for a traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _cmd_probes() -> int:
    from auditkit._registry import available_probes

    infos = available_probes()
    if not infos:
        print("no probes installed")
        return EXIT_PASSED
    width = max(len(i.name) for i in infos)
    for info in infos:
        print(f"{info.name:<{width}}  {info.summary}  [{info.distribution}]")
    return EXIT_PASSED


def _costs(args: argparse.Namespace) -> Any:
    from auditkit._io import read_table

    given = [args.cost_fp is not None or args.cost_fn is not None, bool(args.cost_matrix), bool(args.cost_column)]
    if sum(given) > 1:
        raise _UsageError("give costs one way: --cost-fp/--cost-fn, --cost-matrix or --cost-column")
    if given[0]:
        if args.cost_fp is None or args.cost_fn is None:
            raise _UsageError("--cost-fp and --cost-fn go together")
        return {"fp": args.cost_fp, "fn": args.cost_fn}
    if args.cost_matrix:
        return _cost_matrix(args.cost_matrix)
    return args.cost_column


def _cost_matrix(path: str) -> Any:
    """A CSV cost matrix, rows actual and columns predicted: labelled (a header row of
    predicted classes over a first column of actual ones: k rows of k + 1 cells), or
    bare (k rows of k numbers, in the order of the model's classes)."""
    import numpy as np
    import pandas as pd

    from auditkit._io import read_table

    matrix = read_table(path)
    name = Path(path).name
    rows, cols = matrix.shape
    if cols == rows + 1 and pd.to_numeric(pd.Series(matrix.columns, dtype=str), errors="coerce").notna().all():
        # Numbers where the header should be, one line short of square: a bare matrix
        # whose first line was read as a header.
        matrix = read_table(path, header=False)
    elif cols == rows + 1:
        matrix = matrix.set_index(matrix.columns[0])
    if matrix.shape[0] != matrix.shape[1]:
        raise _UsageError(
            f"cost matrix {name} must be k rows of k costs (rows actual, columns predicted), optionally "
            f"under a header of predicted classes and after a first column of actual ones; it is "
            f"{rows} row(s) by {cols} column(s)"
        )
    cells = matrix.apply(pd.to_numeric, errors="coerce").astype(float)
    bad = ~np.isfinite(cells.to_numpy())  # text reads as NaN here
    if bad.any():
        r, c = next(zip(*bad.nonzero()))
        raise _UsageError(
            f"cost matrix {name} must hold finite numbers only; actual {matrix.index[r]!r}, "
            f"predicted {matrix.columns[c]!r} holds {'nothing' if pd.isna(matrix.iat[r, c]) else repr(matrix.iat[r, c])}"
        )
    return cells


def _cmd_run(args: argparse.Namespace) -> int:
    from auditkit._config import load_config
    from auditkit._data import AuditData
    from auditkit._io import read_rows
    from auditkit._models import load_model
    from auditkit._report import render_terminal
    from auditkit._results import Severity
    from auditkit._runner import audit

    if args.score_column and not args.prediction_column:
        raise _UsageError("--score-column goes with --prediction-column")
    if not (args.model or args.prediction_column or args.reference):
        raise _UsageError(NO_MODEL_USAGE)
    if args.jobs < 1:
        raise _UsageError("--jobs must be at least 1")
    from auditkit._config import find_config

    outputs = _outputs(args, _FORMATS, inputs={
        "audit data (--data)": args.data,
        "reference data (--reference)": args.reference,
        "model file (--model)": args.model,
        "cost matrix (--cost-matrix)": args.cost_matrix,
        "config file": args.config or (str(found) if (found := find_config()) else None),
    })
    config = load_config(args.config)  # without --config: [tool.auditkit] of the nearest pyproject.toml
    if args.fail_on:
        from dataclasses import replace

        config = replace(config, policy=replace(config.policy, fail_on=Severity.parse(args.fail_on)))
    # Data first: its mistakes are the common ones, and reading a CSV is fast
    # while importing a model format (skops pulls in much of scikit-learn) is not.
    frame = read_rows(args.data)
    reference = read_rows(args.reference) if args.reference else None
    data = AuditData(
        frame,
        target=args.target,
        reference=reference,
        sensitive=args.sensitive,
        time=args.time_column,
        ids=args.id_column,
        ignore=args.ignore_column,
        prediction=args.prediction_column,
        score=args.score_column,
        costs=_costs(args),
    )
    model = load_model(args.model, trust=args.trust_model_file) if args.model else None
    # Without --title, the files audited name the audit: "titanic_model.skops on titanic_audit.csv".
    audited = (
        Path(args.model).name if args.model
        else f"stored predictions {args.prediction_column!r}" if args.prediction_column
        else "the data alone"
    )
    title = args.title if args.title and args.title.strip() else f"{audited} on {Path(args.data).name}"
    card = audit(model, data, probes=args.probes, config=config, seed=args.seed, jobs=args.jobs, title=title)
    _deliver(outputs, _render(card, outputs), lambda color: render_terminal(card, color=color))
    return EXIT_PASSED if card.passed else EXIT_FAILED


_FORMATS = ("json", "html", "markdown", "junit")
_WHAT = {"json": "scorecard", "html": "HTML report", "markdown": "Markdown summary", "junit": "JUnit XML"}


def _outputs(
    args: argparse.Namespace, formats: Sequence[str], *, inputs: dict[str, str | None]
) -> dict[str, tuple[str, Path | None]]:
    """The reports asked for (format: the path given and where it is written, None for
    standard output), each checked before any work is done: a bad target is a usage
    error (exit 2) and no report is written at all. ``inputs`` (what each input option
    names) are files a report must never replace."""
    from auditkit._io import STDOUT, report_target

    asked = {fmt: getattr(args, fmt) for fmt in formats if getattr(args, fmt, None) is not None}
    outputs: dict[str, tuple[str, Path | None]] = {}
    seen: dict[str, str] = {}
    for fmt, path in asked.items():
        target = None
        if path != STDOUT:
            try:
                target = report_target(path)
            except ValueError as exc:
                raise _UsageError(f"cannot write --{fmt} {path!r}: {exc}") from None
            _check_not_input(f"--{fmt}", path, inputs)
        key = str(target) if target is not None else STDOUT
        if key in seen and target is None:
            raise _UsageError(f"--{seen[key]} and --{fmt} both write to standard output ('-'): one report at most goes there")
        if key in seen:
            raise _UsageError(f"--{seen[key]} and --{fmt} both write {path!r}; give each report its own file")
        seen[key] = fmt
        outputs[fmt] = (path, target)
    return outputs


def _check_not_input(option: str, path: str, inputs: dict[str, str | None]) -> None:
    """A report written over the data, the model, the config or a scorecard being read
    would destroy the user's file: refuse before any work is done."""
    out = Path(path)
    for what, given in inputs.items():
        if not given:
            continue
        source = Path(given)
        same = out.resolve() == source.resolve()
        if not same and out.exists() and source.exists():
            same = os.path.samefile(out, source)
        if same:
            raise _UsageError(f"{option} {path!r} would overwrite the {what}; write the report to another file")


def _render(card: Any, outputs: dict[str, tuple[str, Path | None]]) -> dict[str, str]:
    """Every report asked for, rendered before any is written: a renderer that fails
    leaves no file behind."""
    from auditkit._report import render_html, render_json, render_junit, render_markdown

    renderers = {"json": render_json, "html": render_html, "markdown": render_markdown, "junit": render_junit}
    return {fmt: renderers[fmt](card) for fmt in outputs}


def _deliver(
    outputs: dict[str, tuple[str, Path | None]],
    texts: dict[str, str],
    summary: Callable[[bool], str],
    what: dict[str, str] = _WHAT,
) -> None:
    """Write the report files, all or none (each atomically: a reader never sees half of
    one), then the report asked for on standard output. The terminal summary and the
    files written go to standard output, or to standard error when a report is there."""
    from auditkit._io import write_all

    files = {target: texts[fmt] for fmt, (_, target) in outputs.items() if target is not None}
    try:
        write_all(files)
    except OSError as exc:  # checked before the audit, so the place changed meanwhile (a full disk)
        raise _UsageError(f"cannot write {exc.filename or 'the reports'}: {exc.strerror or exc}") from None
    piped = next((fmt for fmt, (_, target) in outputs.items() if target is None), None)
    terminal = sys.stderr if piped else sys.stdout
    if piped:
        sys.stdout.write(texts[piped])
        sys.stdout.flush()
    terminal.write(summary(terminal.isatty()))
    for fmt, (path, target) in outputs.items():
        if target is not None:
            print(f"{what[fmt]} written to {path}", file=terminal)


def _read_scorecard(path: str) -> Any:
    """A saved scorecard, checked against the schema; a bad file is one line, exit 2."""
    import json

    import jsonschema

    from auditkit._report import validate_scorecard
    from auditkit._results import SCHEMA_VERSION, Scorecard

    p = Path(path)
    if not p.is_file():
        raise _UsageError(f"scorecard {path!r} does not exist" if not p.exists() else f"scorecard {path!r} is not a file")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _UsageError(f"{p.name} is not JSON: {exc}") from None
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise _UsageError(
            f"{p.name} was written by a newer auditkit (scorecard schema version {version}; this one reads "
            f"version {SCHEMA_VERSION}): upgrade auditkit to read it"
        )
    try:
        validate_scorecard(doc)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(x) for x in exc.absolute_path) or "the top level"
        raise _UsageError(f"{p.name} is not an auditkit scorecard: at {where}: {exc.message}") from None
    return Scorecard.from_dict(doc)


def _cmd_report(args: argparse.Namespace) -> int:
    from auditkit._report import render_terminal

    outputs = _outputs(args, _FORMATS[1:], inputs={"scorecard being rendered": args.scorecard})
    card = _read_scorecard(args.scorecard)
    _deliver(outputs, _render(card, outputs), lambda color: render_terminal(card, color=color))
    return EXIT_PASSED  # re-rendering is not a gate; 'auditkit run' is


def _cmd_diff(args: argparse.Namespace) -> int:
    from auditkit._diff import diff_scorecards, render_diff_markdown, render_diff_terminal
    from auditkit._results import Severity

    fail_on_new = Severity.parse(args.fail_on_new) if args.fail_on_new else None
    outputs = _outputs(
        args, ["markdown"], inputs={"baseline scorecard": args.baseline, "current scorecard": args.current}
    )
    diff = diff_scorecards(_read_scorecard(args.baseline), _read_scorecard(args.current))
    texts = {fmt: render_diff_markdown(diff, fail_on_new=fail_on_new) for fmt in outputs}
    _deliver(
        outputs, texts, lambda color: render_diff_terminal(diff, color=color, fail_on_new=fail_on_new),
        what={"markdown": "Markdown diff"},
    )
    if fail_on_new is not None and diff.regressions(fail_on_new):
        return EXIT_FAILED
    return EXIT_PASSED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
