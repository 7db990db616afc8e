"""The columnar duplicate-id check answers as the row path's SeenInvocationIds, call for call."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from deepeyes_core.columnar.ids import SeenIdRuns
from deepeyes_core.invocation_ids import SeenInvocationIds
from deepeyes_core.records import Location, ToolInvocation

_PLACES = st.one_of(
    st.builds(Location, st.sampled_from(["a.jsonl", "b.jsonl"]), st.sampled_from([1, 7, 10**6, 2**40])),
    st.builds(Location, st.just("t.json"), st.none(), st.sampled_from(["span1", "span2"])),
    st.builds(Location, st.just("whole.json")),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(calls=st.lists(st.tuples(st.sampled_from([f"i{n}" for n in range(12)]), _PLACES), max_size=60),
       cuts=st.lists(st.integers(0, 60), max_size=8))
def test_batches_of_ids_are_answered_as_one_by_one(calls, cuts):
    invocations = [ToolInvocation("t", "A", invocation_id=i, location=place) for i, place in calls]
    row = SeenInvocationIds()
    expected = [row.first_location(call) for call in invocations]
    columnar, got = SeenIdRuns(), []
    bounds = sorted({0, len(invocations), *[c for c in cuts if c < len(invocations)]})
    for start, end in pairwise(bounds):
        got += columnar.first_locations(invocations[start:end])
    assert got == expected
    assert sum(answer is not None for answer in got) == len(invocations) - len({i for i, _ in calls})
