"""The audit as tests: one test per installed probe, named after it.

``test_audit[target_leakage]``, ``test_audit[slice_bias]``, ... pass, fail with
every finding and its numbers, error when a probe could not run, or skip with
the probe's reason. A probe the team knows fails goes into
``expected_failures`` with the reason: its test xfails, and the run's
scorecard lists it as waived, until the model is fixed.
"""

from auditkit.testing import parametrize_with_probes


@parametrize_with_probes(
    expected_failures={
        "cost_weighted_errors": "the model still refuses credit at the default 0.5 cut-off; "
        "re-thresholding to the cost matrix is planned",
    }
)
def test_audit(probe, audit_model, audit_data):
    probe.check(audit_model, audit_data)
