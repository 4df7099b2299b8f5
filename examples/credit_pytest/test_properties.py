"""Property tests of the credit model with auditkit.strategies and hypothesis.

``strategies.frames(audit_data, adversarial=True)`` draws application batches
shaped like the audit data, with malformed cells mixed in (missing values in
every spelling, extreme numbers, wrong types, unseen codes, garbled text).
The property: the model either rejects a batch loudly or scores every row
with a valid probability; it never returns NaN. Were it to, hypothesis would
shrink the batch to the smallest one that shows it.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditkit import strategies

# Rejecting malformed input with an error is the loud failure we want.
REJECTIONS = (ValueError, TypeError, KeyError)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw=st.data())
def test_no_batch_makes_the_model_return_nan(draw, audit_model, audit_data):
    batch = draw.draw(strategies.frames(audit_data, adversarial=True, max_rows=8), label="batch")
    inputs = batch.drop(columns=["sex"])
    try:
        proba = audit_model.predict_proba(inputs)
    except REJECTIONS:
        return
    assert proba.shape == (len(batch), 2)
    assert np.isfinite(proba).all(), strategies.to_source(batch)
    assert np.allclose(proba.sum(axis=1), 1.0)
