"""Dedup's key over call outcomes: the direct normalisation equals the generic one on every result."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deepeyes_core import TrainingExample
from deepeyes_core.dedup import (
    _normalised_outcomes,
    _outcomes,
    dedup_key,
    normalise_arguments,
)
from deepeyes_core.records import Step, StepCall, ToolResult

texts = st.none() | st.text(st.sampled_from(" \tAaBbÉé1ß"), max_size=8)
results = st.none() | st.builds(ToolResult, texts, st.booleans(), texts)


def _example(outcomes: list[ToolResult | None]) -> TrainingExample:
    calls = tuple(StepCall("t", {"i": i}, f"c{i}", result) for i, result in enumerate(outcomes))
    return TrainingExample("x", "do it", ("t",) * len(calls), tuple(c.arguments for c in calls),
                           steps=(Step(calls),) if calls else ())


@settings(max_examples=200, deadline=None)
@given(st.lists(results, max_size=4))
def test_direct_normalisation_equals_the_generic_one(outcomes):
    example = _example(outcomes)
    assert _normalised_outcomes(example) == normalise_arguments(_outcomes(example))


def test_results_that_differ_make_different_keys():
    ok, case = _example([ToolResult("Sunny  day")]), _example([ToolResult(" sunny DAY")])
    assert dedup_key(ok) == dedup_key(case)
    assert dedup_key(ok) != dedup_key(_example([ToolResult("Sunny day", is_error=True)]))
    assert dedup_key(ok) != dedup_key(_example([ToolResult(None, True, "Sunny day")]))
    assert dedup_key(ok) != dedup_key(_example([None]))
