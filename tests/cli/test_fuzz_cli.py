"""The command line's contract under fuzzing (benchmarks/fuzz.py, issue #22): exit 0, 1 or 2,
never 3 and never a traceback; on 2 one line on stderr and no report written; no input
changed. A short derandomized run here; the long one is ``python -m benchmarks.fuzz``."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
try:
    from benchmarks.fuzz import Case, cases, check_contract, run_subprocess
finally:
    sys.path.remove(str(ROOT))

# derandomized: the same cases every run, so a failure here is never a flake
SHORT = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SHORT
@given(case=cases())
def test_the_contract_holds_for_fuzzed_files_and_targets_in_process(case: Case) -> None:
    check_contract(case)


@settings(SHORT, max_examples=2)
@given(case=cases())
def test_the_contract_holds_through_a_subprocess(case: Case) -> None:
    check_contract(case, run_subprocess)
