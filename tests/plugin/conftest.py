"""Loads up front what the suites these tests run in-process will import.

When a test that uses ``pytester`` ends, pytester removes every module
imported since the test began; compiled modules (numpy's, scipy's, the Rust
extension under jsonschema) cannot be loaded a second time in one process,
so a later test that imports them again would fail, far from here. Imported
now, at collection, they are part of what pytester keeps.
"""

import jsonschema  # noqa: F401

import auditkit
import auditkit.strategies  # noqa: F401

auditkit.available_probes()  # every installed probe, and scikit-learn, scipy, fairlearn behind them
