"""Records: JSON round-trips through the one converter, validation, prompt and training formats."""

from __future__ import annotations

import json
import math
from datetime import timezone

import orjson
from hypothesis import given
from hypothesis import strategies as st

from deepeyes_core import (
    Location,
    ToolInvocation,
    ToolSpec,
    ToolStatus,
    TrainingExample,
    Trajectory,
    converter,
)
from deepeyes_core.records import flat_json

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
params = st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=4)
names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
aware = st.datetimes(timezones=st.just(timezone.utc))

invocations = st.builds(
    ToolInvocation,
    tool_name=names,
    agent_name=st.text(min_size=1, max_size=12),
    parameters=params,
    result=json_values,
    status=st.sampled_from(ToolStatus),
    latency_ms=st.floats(0, 1e6, allow_nan=False),
    timestamp=aware,
    error=st.none() | st.text(max_size=20),
    session_id=st.none() | st.text(max_size=12),
    invocation_id=st.text(min_size=1, max_size=12),
)

specs = st.builds(ToolSpec, name=names, parameters=st.just({"type": "object", "properties": {"a": {"type": "string"}}}))


@st.composite
def examples(draw):
    tools = draw(st.lists(names, min_size=1, max_size=5))
    return TrainingExample(
        task_id=draw(st.text(min_size=1, max_size=12)),
        task_description=draw(st.text(min_size=1, max_size=40)),
        tool_sequence=tuple(tools),
        tool_parameters=tuple(draw(params) for _ in tools),
        expected_result=draw(st.text(max_size=20)),
        success=draw(st.booleans()),
        difficulty=draw(st.sampled_from(["easy", "medium", "hard"])),
        agent=draw(st.text(max_size=10)),
        timestamp=draw(aware),
        tools=tuple(draw(st.lists(specs, max_size=3))),
        session_id=draw(st.none() | st.text(max_size=8)),
    )


@given(invocations)
def test_invocation_round_trips_through_json(inv):
    text = orjson.dumps(converter.unstructure(inv))
    assert converter.structure(orjson.loads(text), ToolInvocation) == inv


@given(examples())
def test_training_example_round_trips_through_json(example):
    text = orjson.dumps(converter.unstructure(example))
    assert converter.structure(orjson.loads(text), TrainingExample) == example


@given(st.lists(invocations, min_size=1, max_size=4))
def test_trajectory_round_trips(invs):
    trajectory = Trajectory(agent_name="a", invocations=tuple(invs), session_id="s")
    back = converter.structure(orjson.loads(orjson.dumps(converter.unstructure(trajectory))), Trajectory)
    assert back == trajectory


def test_status_and_time_are_read_leniently():
    inv = converter.structure(
        {"tool_name": "t", "agent_name": "a", "status": "SUCCESS", "timestamp": 1763225842.5}, ToolInvocation
    )
    assert inv.status is ToolStatus.SUCCESS
    assert inv.timestamp.tzinfo is not None and inv.timestamp.timestamp() == 1763225842.5
    naive = converter.structure({"tool_name": "t", "agent_name": "a", "timestamp": "2025-11-15T16:57:22"}, ToolInvocation)
    assert naive.timestamp.tzinfo is timezone.utc


def test_location_is_provenance_not_identity():
    a = ToolInvocation("t", "a", invocation_id="x", location=Location("f.jsonl", 3))
    b = ToolInvocation("t", "a", invocation_id="x", timestamp=a.timestamp)
    assert a == b
    assert str(a.location) == "f.jsonl:3"


def _example(**changes) -> TrainingExample:
    fields = dict(
        task_id="task_1",
        task_description="Query the orders table, then cache the rows",
        tool_sequence=("database_query", "cache_set"),
        tool_parameters=({"table": "orders", "limit": 5}, {"key": "orders", "ttl_seconds": 60}),
        difficulty="medium",
        agent="AnalyticsAgent",
        tools=(ToolSpec("database_query", {"type": "object", "properties": {"table": {"type": "string"}}}),),
    )
    fields.update(changes)
    return TrainingExample(**fields)


def test_validate_names_each_problem():
    assert _example().validate() == []
    errors = _example(task_description=" ", tool_parameters=({},), difficulty="extreme").validate()
    assert "task_description is empty" in errors
    assert any("tool_parameters has 1 entries for 2 tools" in e for e in errors)
    assert any("difficulty 'extreme'" in e for e in errors)
    assert _example(tool_parameters=({"x": object()}, {})).validate()[0].startswith("tool_parameters is not JSON")


def test_sequence_length_and_completion_layout():
    example = _example()
    assert example.sequence_length == 2
    assert example.completion() == (
        "Tool Invocation Sequence:\n"
        '1. database_query({"table": "orders", "limit": 5})\n'
        '2. cache_set({"key": "orders", "ttl_seconds": 60})'
    )


def test_default_prompt_carries_task_and_catalogue_but_not_the_answer():
    example = _example()
    prompt = example.prompt()
    assert example.task_description in prompt
    assert "database_query(table: string)" in prompt
    assert 'database_query({"table"' not in prompt
    assert 'database_query({"table": "orders", "limit": 5})' in example.prompt("guide")


def test_guide_record_and_claude_training_format():
    example = _example()
    record = example.to_dict()
    assert set(record) == {"task_id", "prompt", "completion", "metadata"}
    assert record["metadata"]["tool_sequence"] == ["database_query", "cache_set"]
    assert record["metadata"]["difficulty"] == "medium"
    claude = example.to_training_format()
    assert claude["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert [m["role"] for m in claude["messages"]] == ["user", "assistant"]
    assert claude["messages"][1]["content"] == example.completion()


_SCALAR = st.one_of(st.text(), st.integers(), st.floats(), st.booleans(), st.none())


@given(st.one_of(
    st.dictionaries(st.text(), _SCALAR),
    st.dictionaries(st.one_of(st.text(), st.integers()), st.one_of(_SCALAR, st.lists(_SCALAR, max_size=2))),
    _SCALAR,
))
def test_flat_json_writes_what_json_dumps_writes(value):
    text = flat_json(value)
    assert text is None or text == json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict) and all(type(k) is str for k in value) and all(
        type(v) in (str, int, bool, type(None)) or (type(v) is float and math.isfinite(v)) for v in value.values()
    ):
        assert text is not None
