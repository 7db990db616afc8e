"""Deduplication (issue 3): exact and near-exact duplicates go before the split, each accounted for."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deepeyes_core import Location, TrainingExample
from deepeyes_core.dedup import dedup_key, deduplicate, exact_key, normalise_arguments


def example(task_id: str, *calls: tuple[str, dict], description: str = "do it", line: int = 1) -> TrainingExample:
    return TrainingExample(
        task_id=task_id,
        task_description=description,
        tool_sequence=tuple(name for name, _ in calls),
        tool_parameters=tuple(params for _, params in calls),
        locations=tuple(Location("log.jsonl", line + i) for i in range(len(calls))),
    )


def test_normalise_arguments():
    assert normalise_arguments("  New\tYork  CITY ") == "new york city"
    assert normalise_arguments(5.0) == 5 and isinstance(normalise_arguments(5.0), int)
    assert normalise_arguments(2.5) == 2.5
    assert normalise_arguments(True) is True  # a bool is not the number 1
    assert normalise_arguments("5") == "5"  # a string is not a number
    assert list(normalise_arguments({"b": 1, "a": {"d": 2.0, "c": " X "}})) == ["a", "b"]
    assert normalise_arguments({"b": 1, "a": {"d": 2.0, "c": " X "}}) == {"a": {"c": "x", "d": 2}, "b": 1}
    assert normalise_arguments([3.0, ("A  b",), None]) == [3, ["a b"], None]
    assert normalise_arguments(float("nan")) == "nan"


def test_keys_equal_for_near_exact_and_distinct_otherwise():
    a = example("t1", ("get_weather", {"city": "Paris", "days": 5}))
    near = example("t2", ("get_weather", {"days": 5.0, "city": "  paris "}))
    other_value = example("t3", ("get_weather", {"city": "Lyon", "days": 5}))
    other_tool = example("t4", ("get_forecast", {"city": "Paris", "days": 5}))
    other_key = example("t5", ("get_weather", {"City": "Paris", "days": 5}))
    assert dedup_key(a) == dedup_key(near)
    assert exact_key(a) != exact_key(near)
    assert len({dedup_key(e) for e in (a, other_value, other_tool, other_key)}) == 4
    # Object key order is not a difference at all.
    assert exact_key(a) == exact_key(example("t6", ("get_weather", {"days": 5, "city": "Paris"})))
    # The task text is not part of the key.
    assert dedup_key(a) == dedup_key(example("t7", ("get_weather", {"city": "Paris", "days": 5}), description="other"))


def test_deduplicate_counts_exact_and_near_exact_and_accounts_for_every_call():
    kept_first = example("t1", ("search", {"q": "weather Paris"}), ("summarise", {"n": 3}), line=1)
    examples = [
        kept_first,
        example("t2", ("search", {"q": "weather Paris"}), ("summarise", {"n": 3}), line=10),  # exact
        example("t3", ("search", {"q": "Weather  paris"}), ("summarise", {"n": 3.0}), line=20),  # near-exact
        example("t4", ("search", {"q": "weather Lyon"}), ("summarise", {"n": 3}), line=30),  # distinct
        example("t5", ("search", {"q": "weather Lyon"}), ("summarise", {"n": 3}), line=40),  # exact of t4
        example("t6", ("search", {"q": "weather Paris"}), line=50),  # another sequence: distinct
    ]
    kept, rejections = result = deduplicate(examples)
    assert [e.task_id for e in kept] == ["t1", "t4", "t6"]
    assert result.stats == {"exact": 2, "near_exact": 1}
    assert [r.reason for r in rejections] == ["duplicate"] * 3
    assert {r.stage for r in rejections} == {"dedup"}
    by_line = {r.locations[0].line: r for r in rejections}
    assert by_line[10].detail.startswith("exact duplicate of t1")
    assert by_line[20].detail.startswith("near-exact duplicate of t1")
    assert by_line[40].detail.startswith("exact duplicate of t4")
    assert by_line[20].locations == examples[2].locations and by_line[20].records == 2
    total = sum(e.sequence_length for e in examples)
    assert sum(e.sequence_length for e in kept) + sum(r.records for r in rejections) == total


def test_first_of_each_key_is_kept_whatever_comes_after():
    a = example("z-last-id", ("t", {"x": 1}))
    b = example("a-first-id", ("t", {"x": 1.0}))
    assert deduplicate([a, b]).kept == [a]
    assert deduplicate([b, a]).kept == [b]


_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["a", "A ", " b", "a  b"])),
    lambda children: st.one_of(
        st.lists(children, max_size=2), st.dictionaries(st.sampled_from("xy"), children, max_size=2)
    ),
    max_leaves=4,
)
_calls = st.lists(
    st.tuples(st.sampled_from(["f", "g"]), st.dictionaries(st.sampled_from("pq"), _values, max_size=2)),
    min_size=1,
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_calls, max_size=25))
def test_deduplicate_properties(call_lists):
    examples = [example(f"t{i}", *calls) for i, calls in enumerate(call_lists)]
    kept, rejections = result = deduplicate(examples)
    keys = [dedup_key(e) for e in kept]
    assert len(keys) == len(set(keys))  # no two kept share a key
    assert {dedup_key(e) for e in examples} == set(keys)  # every key is kept once
    assert len(kept) + len(rejections) == len(examples)
    assert result.stats["exact"] + result.stats["near_exact"] == len(rejections)
    assert sum(e.sequence_length for e in kept) + sum(r.records for r in rejections) == sum(
        e.sequence_length for e in examples
    )
    assert deduplicate(kept).kept == kept  # idempotent
