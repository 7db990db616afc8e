"""Dedup's keys: the direct normalisation of outcomes equals the generic one on every result, and
the calls keys dedup hands to the split are :func:`calls_key`'s."""

from __future__ import annotations

import asyncio

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepeyes_core import TrainingExample
from deepeyes_core.dataset import SFTDataset
from deepeyes_core.dedup import (
    _normalised_outcomes,
    _outcomes,
    calls_key,
    dedup_key,
    deduplicate,
    normalise_arguments,
)
from deepeyes_core.errors import DatasetError
from deepeyes_core.records import Step, StepCall, ToolResult
from tests.test_contamination import CITIES, trip

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


def test_dedup_gives_each_kept_example_its_calls_key_and_the_split_uses_them():
    pool = [trip(i, CITIES[i % 7], i % 3 + 1, ("weather", "forecast")[i % 2]) for i in range(40)]
    paraphrases = [attrs.evolve(e, task_id=f"p{e.task_id}", user_request="same calls, asked again") for e in pool[::4]]
    dedup = deduplicate(pool + paraphrases + pool[:5])
    assert len(dedup.kept) == 50 and dedup.calls_keys == [calls_key(e) for e in dedup.kept]
    assert len(set(dedup.calls_keys)) == 40

    def split(**given) -> dict:
        dataset = SFTDataset(dedup.kept, output_dir="unused", **given)
        asyncio.run(dataset.split_data())
        dataset.balance_dataset()
        assert dataset._given_keys is None and not dataset._calls_keys  # not held once used
        once = {name: [e.task_id for e in examples] for name, examples in dataset.splits.items()}
        asyncio.run(dataset.split_data())  # again: the keys are made afresh, the split is the same
        dataset.balance_dataset()
        assert {name: [e.task_id for e in examples] for name, examples in dataset.splits.items()} == once
        return once

    assert split(calls_keys=dedup.calls_keys) == split() == split(calls_keys=[None] * 50)
    with pytest.raises(DatasetError, match="49 calls keys for 50 examples"):
        SFTDataset(dedup.kept, calls_keys=dedup.calls_keys[1:])
