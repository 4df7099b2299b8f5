"""The zoo: each deliberately flawed model trips exactly its own probe.

The members live in the root conftest.py (one planted defect each, plus a
healthy control); this runs every built-in probe on every member, as
scikit-learn runs its checks on estimators broken on purpose. A defect that
trips another probe too, or a healthy control that fails anything, is a
false alarm of that probe; a defect its probe misses is a blind spot.
"""

from __future__ import annotations

import pytest

import auditkit

# The built-in probes, as the registry finds them (a new probe folder joins by its entry point).
BUILT_IN = tuple(sorted(p.name for p in auditkit.available_probes() if p.entry_point.startswith("probes.")))
MEMBERS = (
    "zoo_healthy", "zoo_leaky_feature", "zoo_biased_group", "zoo_nan_propagating", "zoo_cost_wasting_threshold",
    "zoo_drifted_inputs",
)


@pytest.mark.slow
@pytest.mark.parametrize("member", MEMBERS)
def test_each_defect_trips_its_own_probe_and_no_other(member: str, request: pytest.FixtureRequest) -> None:
    zoo = request.getfixturevalue(member)
    card = auditkit.audit(zoo.model, zoo.data, probes=BUILT_IN, seed=0)
    expected = {name: "passed" for name in BUILT_IN}
    expected.update({name: "skipped" for name in zoo.skipped})
    if zoo.defect is not None:
        expected[zoo.defect] = "failed"
    got = {r.name: r.status for r in card.probes}
    assert got == expected, f"zoo member {zoo.name}:\n{auditkit.render_terminal(card, width=200)}"
    for result in card.probes:
        if result.status == "skipped":
            assert result.reason, f"{result.name} skipped {zoo.name} without saying why"
    if zoo.defect is not None:
        # The defect is judged as one that fails the default gate, not waved through at a low severity.
        worst = card[zoo.defect].worst
        assert worst is not None and worst.severity >= auditkit.Severity.HIGH


def test_every_built_in_probe_has_a_zoo_member() -> None:
    defects = {"zoo_leaky_feature": "target_leakage", "zoo_biased_group": "slice_bias",
               "zoo_nan_propagating": "nan_injection", "zoo_cost_wasting_threshold": "cost_weighted_errors",
               "zoo_drifted_inputs": "drift"}
    assert sorted(defects.values()) == sorted(BUILT_IN)
    installed = {p.name for p in auditkit.available_probes()}
    assert set(BUILT_IN) <= installed, f"built-in probe(s) not installed: {sorted(set(BUILT_IN) - installed)}"
