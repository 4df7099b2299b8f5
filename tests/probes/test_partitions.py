"""One partition or ten: every built-in probe gives the same scorecard.

Probes build their sums over rows as mergeable measurements (update, merge,
finalize) and draw their samples from the one seeded sample, so how the audit
rows are split must not change a single number. This is what lets the same
probes run partition by partition on a cluster.
"""

from __future__ import annotations

from typing import Any

import pytest

import auditkit

# The built-in probes, as the registry finds them (a new probe folder joins by its entry point).
BUILT_IN = tuple(sorted(p.name for p in auditkit.available_probes() if p.entry_point.startswith("probes.")))
MEMBERS = ("zoo_healthy", "zoo_leaky_feature", "zoo_biased_group", "zoo_nan_propagating", "zoo_cost_wasting_threshold",
           "zoo_drifted_inputs")


def _comparable(card: auditkit.Scorecard) -> dict[str, Any]:
    out = card.to_dict()
    out.pop("created_at")
    for probe in out["probes"]:
        probe.pop("duration_s")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("probe", BUILT_IN)
@pytest.mark.parametrize("member", MEMBERS)
def test_one_partition_or_ten_give_the_same_scorecard(probe: str, member: str, request: pytest.FixtureRequest) -> None:
    zoo = request.getfixturevalue(member)
    one = auditkit.audit(zoo.model, zoo.data, probes=[probe], seed=3, partitions=1)
    ten = auditkit.audit(zoo.model, zoo.data, probes=[probe], seed=3, partitions=10)
    assert _comparable(one) == _comparable(ten)


def test_partitions_must_be_a_whole_number(zoo_healthy: Any) -> None:
    with pytest.raises(auditkit.AuditkitError, match="partitions"):
        auditkit.audit(zoo_healthy.model, zoo_healthy.data, probes=["slice_bias"], partitions=0)
