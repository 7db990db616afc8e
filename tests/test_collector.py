"""Grouping, quality filtering and example generation; every record is accounted for."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from deepeyes_core import Rejection, Trajectory, TrajectoryCollector

from .conftest import invocation


def collect(items, **options):
    collector = TrajectoryCollector(**options)
    examples = asyncio.run(collector.stream_examples(items))
    return collector, examples


def test_groups_by_agent_and_session_in_time_order(plugins):
    items = [
        invocation(agent="A", session="s1", at=2, step=2),
        invocation(agent="B", session="s1", at=1, step=1),
        invocation(agent="A", session="s1", at=1, step=1),
    ]
    collector = TrajectoryCollector()
    trajectories = asyncio.run(collector.collect_trajectories(items))
    by_agent = {t.agent_name: t for t in trajectories}
    assert [i.parameters["step"] for i in by_agent["A"].invocations] == [1, 2]
    assert len(by_agent["B"].invocations) == 1


def test_without_session_ids_a_time_gap_or_the_max_length_cuts_sessions(plugins):
    times = [0, 10, 20, 1000, 1010, 1020, 1030, 1040, 1050, 1060]
    items = [invocation(session=None, at=t, n=i) for i, t in enumerate(times)]
    collector = TrajectoryCollector(max_trajectory_length=5, session_gap_seconds=300)
    trajectories = asyncio.run(collector.collect_trajectories(items))
    assert [len(t.invocations) for t in trajectories] == [3, 5, 2]


def test_quality_filter_rejects_with_reasons(plugins):
    items = [invocation(session="ok", at=0)]
    items += [invocation(session="failing", at=i, ok=i != 0) for i in range(3)]
    items += [invocation(session="long", at=i) for i in range(7)]
    collector, examples = collect(items)
    assert len(examples) == 1
    reasons = {r.reason: r.records for r in collector.rejections}
    assert reasons == {"below quality threshold": 3, "too long": 7}


def test_examples_are_described_classified_validated_and_given_the_agents_catalogue(plugins):
    items = [invocation(tool="cache_get", session="s", at=0, key="orders"),
             invocation(tool="database_query", session="s", at=1, table="orders", limit=50)]
    _, [example] = collect(items)
    assert example.difficulty == "medium"
    assert example.tool_sequence == ("cache_get", "database_query")
    assert '"orders"' in example.task_description and "50" in example.task_description
    assert "database_query(" not in example.task_description
    assert [t.signature() for t in example.tools] == ["cache_get(key: string)", "database_query(limit: integer, table: string)"]
    assert example.validate() == []


def test_source_trajectories_and_rejections_pass_through(plugins):
    trajectory = Trajectory("Bot", (invocation(session="x"),), session_id="x", user_request="hi")
    rejection = Rejection("malformed record", "bad")
    collector, examples = collect([trajectory, rejection])
    assert len(examples) == 1 and collector.rejections == [rejection]


statuses = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["s1", "s2", None]), st.booleans(), st.integers(0, 5000)),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(statuses)
def test_every_invocation_ends_in_an_example_or_a_rejection(rows):
    from deepeyes_core import PluginManager

    manager = PluginManager(load_entry_points=False)
    items = [invocation(agent=a, session=s, ok=ok, at=t) for a, s, ok, t in rows]
    collector = TrajectoryCollector(
        describer=manager.build("task_describer", "template"),
        classifier=manager.build("difficulty_classifier", "sequence-length"),
        session_timeout_seconds=100,
    )
    examples = asyncio.run(collector.stream_examples(items))
    kept = sum(e.sequence_length for e in examples)
    rejected = sum(r.records for r in collector.rejections)
    assert kept + rejected == len(items)


def test_replacing_the_tools_keeps_every_other_field():
    from datetime import datetime, timezone

    import attrs

    from deepeyes_core import Location, Step, StepCall, ToolResult, ToolSpec, TrainingExample
    from deepeyes_core.collector import _with_tools

    values = {
        "task_id": "task_1", "task_description": "Do it.", "tool_sequence": ("a",), "tool_parameters": ({"k": 1},),
        "expected_result": "ok", "success": False, "difficulty": "hard", "agent": "A",
        "timestamp": datetime(2025, 1, 1, tzinfo=timezone.utc), "tools": (ToolSpec("b"),), "session_id": "s",
        "source": "otel", "locations": (Location("f", 3),),
        "steps": (Step((StepCall("a", {"k": 1}, "c1", ToolResult("boom", True, "failed")),), "Let me look."),),
        "final_answer": "Done.", "user_request": "Please do it.",
    }
    assert [f.name for f in attrs.fields(TrainingExample)] == list(values)  # a new field must be passed on too
    example, tools = TrainingExample(**values), (ToolSpec("a"),)
    replaced = _with_tools(example, tools)
    assert attrs.astuple(replaced, recurse=False) == attrs.astuple(attrs.evolve(example, tools=tools), recurse=False)
