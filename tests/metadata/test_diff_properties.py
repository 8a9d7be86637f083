"""Properties of the diff over generated models."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from metadata.diff import diff
from metadata.snapshot import Snapshot
from metadata.validation import validate_data
from tests.metadata.strategies import documents, evolutions


@settings(max_examples=300, deadline=None)
@given(documents(), st.data())
def test_replaying_the_plan_reaches_the_new_model(before, data):
    after = data.draw(st.one_of(documents(), evolutions(before)), label="after")
    old = Snapshot.of(validate_data(before).model)
    new = Snapshot.of(validate_data(after).model)
    plan = diff(old, new)
    if plan.refusals:
        return  # refused plans are never applied
    state = old.model
    for op in plan.operations:
        state = op.state_forwards(state)
    assert Snapshot.of(state).content_hash == new.content_hash
    for op in reversed(plan.operations):
        state = op.reverse().state_forwards(state)
    assert Snapshot.of(state).content_hash == old.content_hash
