"""Every finding of the quality plan, written down so that two versions can be compared.

The quality table says how often each defect is found; a refactor must keep
more than that: the same findings, trial by trial. This runs the quality
benchmark's trials (each defect at its stated sizes, and the clean controls)
and writes, for every trial, each probe's status and every finding's code,
severity, features and slice. ``--compare A B`` prints what differs.

    .venv/bin/python -m benchmarks.findings --seeds 5 --out before.json
    .venv/bin/python -m benchmarks.findings --seeds 5 --out after.json
    .venv/bin/python -m benchmarks.findings --compare before.json after.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from benchmarks import quality, synthetic


def _describe(card: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in card.probes:
        out[r.name] = {
            "status": r.status,
            "findings": sorted(
                f"{f.code} [{f.severity.value}] features={list(f.features)}"
                + (f" slice={[c.describe() for c in f.slice]}" if f.slice else "")
                for f in r.findings
            ),
        }
    return out


def _trial(task: tuple[str | None, Any, int, int]) -> dict[str, Any]:
    import sklearn.ensemble  # noqa: F401  (OpenMP loaded first, so threadpoolctl can cap it)
    from threadpoolctl import threadpool_limits

    import auditkit

    defect, effect, seed, rows = task
    with threadpool_limits(limits=1):
        if defect is None:
            scenario = synthetic.clean_control(rows, seed)
            probes = quality.installed_probes()
        else:
            d = quality._defect(defect)
            scenario = d.build(rows, seed, effect)
            probes = [d.probe]
        card = auditkit.audit(scenario.model, scenario.data, probes=probes, seed=seed, progress=False)
    return {"defect": defect, "effect": str(effect), "seed": seed, "rows": rows, "probes": _describe(card)}


def run(seeds: int, rows: int, clean: int) -> list[dict[str, Any]]:
    tasks = quality.plan(range(seeds), rows, stated_only=True, clean_seeds=range(clean))
    out = []
    for i, task in enumerate(tasks):
        out.append(_trial(task))
        print(f"{i + 1}/{len(tasks)} {task[0]} {task[1]} seed {task[2]}", file=sys.stderr, flush=True)
    return out


def compare(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]]) -> list[str]:
    def key(t: dict[str, Any]) -> tuple[Any, ...]:
        return (t["defect"], t["effect"], t["seed"], t["rows"])

    left, right = {key(t): t for t in a}, {key(t): t for t in b}
    lines = []
    for k in sorted(set(left) | set(right), key=repr):
        if k not in left or k not in right:
            lines.append(f"{k}: only in {'the first' if k in left else 'the second'} file")
            continue
        for probe in sorted(set(left[k]["probes"]) | set(right[k]["probes"])):
            x, y = left[k]["probes"].get(probe), right[k]["probes"].get(probe)
            if x != y:
                lines.append(f"{k} {probe}:\n  before {x}\n  after  {y}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.findings", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--clean", type=int, default=10)
    parser.add_argument("--out")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.compare:
        with open(args.compare[0]) as fa, open(args.compare[1]) as fb:
            diffs = compare(json.load(fa), json.load(fb))
        print("\n".join(diffs) if diffs else "every trial has the same findings")
        return 1 if diffs else 0
    trials = run(args.seeds, args.rows, args.clean)
    text = json.dumps(trials, indent=1)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
