"""The ``langfuse`` source (Langfuse trace exports: the public API's trace JSON, one trace a line).

The sample is real SDK output: ``examples/sources/make_langfuse_samples.py`` runs the ``langfuse``
SDK's ``@observe`` / ``start_as_current_observation`` instrumentation, which exports OTLP/HTTP to a
loopback fake Langfuse server, and downloads the traces back. A record is a line (a trace): every
non-blank line ends as exactly one trajectory or one rejection of one record.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepeyes_core import (
    PluginManager,
    Rejection,
    ToolStatus,
    Trajectory,
    canonical_text,
)
from deepeyes_core.config import parse_config
from deepeyes_core.plugins import BUILTIN_PLUGINS
from deepeyes_core.runner import run

from .source_files import read, write_lines

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "sources"
SAMPLE = SAMPLES / "langfuse_traces.jsonl"
SAMPLE_LINES = [json.loads(line) for line in SAMPLE.read_text().splitlines()]


@pytest.fixture
def manager(monkeypatch) -> PluginManager:
    import deepeyes_core.plugins as module

    modules = ("deepeyes_langfuse.source", "deepeyes_openai.exporters")
    fresh = PluginManager(load_entry_points=False, builtins=tuple(dict.fromkeys(BUILTIN_PLUGINS + modules)))
    monkeypatch.setattr(module, "_default", fresh)
    return fresh


@pytest.fixture
def source(manager):
    return manager.build("trajectory_source", "langfuse")


def summary(items):
    return [
        (
            "T",
            i.session_id,
            i.agent_name,
            i.user_request,
            tuple(
                (v.tool_name, json.dumps(v.parameters, sort_keys=True), v.status.value, json.dumps(v.result), v.error)
                for v in i.invocations
            ),
            tuple((t.calls, t.text) for t in i.turns),
            i.final_answer,
            tuple(t.name for t in i.tools),
        )
        if isinstance(i, Trajectory)
        else ("R", i.reason, i.records)
        for i in items
    ]


# -- the SDK-made sample -----------------------------------------------------------------------


def test_reads_what_the_langfuse_sdk_produced(source):
    items = read(source, SAMPLE)
    assert len(items) == len(SAMPLE_LINES) == 9
    [greeting] = [i for i in items if isinstance(i, Rejection)]
    assert (greeting.reason, greeting.records, greeting.locations[0].line) == ("no tool calls", 1, 9)
    kept = {t.session_id: t for t in items if isinstance(t, Trajectory)}
    paris, japan, atlantis, rome, oslo = (kept[f"sess-{n}"] for n in ("paris", "japan", "atlantis", "rome", "oslo"))
    assert paris.trajectory_id == SAMPLE_LINES[0]["id"] and paris.agent_name == "travel-agent"
    # @observe records the agent's arguments as the trace input; the request is the generation's user message
    assert paris.user_request == "What's the weather in Paris right now?"
    assert paris.invocations[0].parameters == {"city": "Paris"}  # the model's arguments, parsed
    assert paris.invocations[0].result == {"city": "Paris", "celsius": 18, "sky": "cloudy"}  # the real output
    assert [(t.calls, t.text) for t in paris.turns] == [(1, None)]
    assert paris.final_answer == "It is 18 °C and cloudy in Paris."
    assert [t.name for t in paris.tools] == ["get_weather", "search_hotels", "book_hotel"]
    assert paris.tools[0].parameters["required"] == ["city"]
    # the parallel step: two calls of one generation, each paired with the observation of its arguments
    assert [(t.calls, t.text) for t in japan.turns] == [(2, "Checking both cities at once.")]
    assert [(v.parameters["city"], v.result["city"]) for v in japan.invocations] == [("Tokyo", "Tokyo"), ("Osaka", "Osaka")]
    # the failing tool: level ERROR, the exception's text as statusMessage
    search, book = atlantis.invocations
    assert search.status is ToolStatus.SUCCESS and search.result[0]["hotel"] == "Poseidon Palace"
    assert book.status is ToolStatus.FAILURE and book.result is None
    assert book.error == "no hotel named 'Poseidon Palace' in the booking service"
    assert [(t.calls, t.text) for t in atlantis.turns] == [(1, "Let me find hotels first."), (1, None)]
    assert kept["sess-narnia"].invocations[0].error == "unknown city: Narnia"
    # two different tools in one parallel step, then a third step
    assert rome.tool_sequence == ("get_weather", "search_hotels", "book_hotel")
    assert [(t.calls, t.text) for t in rome.turns] == [(2, "Weather and hotels at once."), (1, "Coral Inn is the cheapest.")]
    assert rome.invocations[2].result["confirmation"] == "CI-2025-12-05"
    # one tool twice with the same arguments: two steps, two observations
    assert [t.calls for t in oslo.turns] == [1, 1] and len({v.invocation_id for v in oslo.invocations}) == 2
    tool_ids = {o["id"] for line in SAMPLE_LINES for o in line["observations"] if o["type"] == "TOOL"}
    assert {v.invocation_id for t in kept.values() for v in t.invocations} == tool_ids
    assert all(v.location.file == str(SAMPLE) for t in kept.values() for v in t.invocations)


def test_the_committed_sample_is_what_the_script_makes(source, tmp_path):
    pytest.importorskip("langfuse")
    name = "deepeyes_examples_make_langfuse_samples"
    spec = importlib.util.spec_from_file_location(name, SAMPLES / "make_langfuse_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exports = list(module.langfuse_exports())
    fresh = write_lines(tmp_path / "langfuse.jsonl", [trace for trace, _ in exports])
    assert summary(read(source, SAMPLE)) == summary(read(source, fresh))
    assert [json.loads(line)["id"] for line in fresh.read_text().splitlines()] == [t["id"] for t in SAMPLE_LINES]
    # the same traces as SDK 5 reads them (v2 observation rows), grouped a trace a line
    rows = write_lines(tmp_path / "rows.jsonl", [{"id": trace["id"], "observations": obs} for trace, obs in exports])
    from_rows = read(source, rows)
    assert [s[3:] for s in summary(from_rows)] == [s[3:] for s in summary(read(source, SAMPLE))]
    assert {i.agent_name for i in from_rows if isinstance(i, Trajectory)} == {"langfuse"}


# -- what a line can be ------------------------------------------------------------------------


def obs(id_, kind, start, name=None, parent="root", end=None, input=None, output=None, **extra):
    return {
        "id": id_, "type": kind, "name": name, "startTime": f"2025-11-15T09:00:00.{start:03d}Z",
        "endTime": f"2025-11-15T09:00:00.{end if end is not None else start:03d}Z", "parentObservationId": parent,
        "input": input, "output": output, "level": "DEFAULT", "statusMessage": None, **extra,
    }


def call(name, arguments, id_="c"):
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def generation(id_, start, history, text=None, calls=()):
    messages = [{"role": "user", "content": "Weather in Oslo and Rome?"}] + [{"role": "x"}] * history
    return obs(id_, "GENERATION", start, "chat", input={"messages": messages},
               output={"role": "assistant", "content": text, "tool_calls": list(calls) or None})


def trace(*observations, **extra):
    return {"id": "t1", "name": "agent", "input": None, "output": None, "observations": list(observations), **extra}


def tool(id_, start, name="get_weather", city="Oslo", kind="TOOL", **extra):
    extra.setdefault("output", f"sunny in {city}")
    return obs(id_, kind, start, name, input={"args": [], "kwargs": {"city": city}}, **extra)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("[1, 2", "malformed JSON"),
        ("42", "malformed record"),
        ({"name": "no id"}, "malformed record"),
        ({"id": "t1", "name": "an exported trace list row, without observations"}, "malformed record"),
        (trace("not an object"), "malformed record"),
        (trace(obs("a", "TOOL", 1, "f") | {"startTime": "yesterday"}), "malformed record"),
        (trace(generation("g", 1, 0, calls=[{"function": {"arguments": "{}"}}])), "malformed record"),
        (trace(generation("g", 1, 0, calls=[{"id": "c", "function": {"name": "f", "arguments": "{\"x"}}])),
         "unparseable arguments"),
        (trace(generation("g", 1, 0, calls=[call("get_weather", {"city": "Oslo"})])), "unpaired tool call"),
        (trace(generation("g", 5, 0, calls=[call("get_weather", {"city": "Oslo"})]), tool("t", 2)), "unpaired tool call"),
        (trace(generation("g", 1, 0, calls=[call("get_weather", {"city": "Oslo"})]), tool("t", 2), tool("u", 3, "other")),
         "unpaired tool observation"),
        (trace(tool("t", 2) | {"endTime": None}), "unfinished tool observation"),
        (trace(generation("g", 1, 0, text="Hello.")), "no tool calls"),
    ],
)
def test_each_unusable_line_is_one_rejection_with_its_reason(source, tmp_path, line, reason):
    [item] = read(source, write_lines(tmp_path / "l.jsonl", [line]))
    assert isinstance(item, Rejection), item
    assert (item.reason, item.records, item.locations[0].line) == (reason, 1, 1), item.detail


def test_turns_follow_the_conversation_when_start_times_tie(source, tmp_path):
    """The API keeps milliseconds: here every observation starts at once, listed in a shuffled order.
    Generations are ordered by their history's length; calls pair with tools by their arguments."""
    first = generation("g1", 1, 0, "Both at once.", [call("get_weather", {"city": "Oslo"}), call("get_weather", {"city": "Rome"}, "c2")])
    second = generation("g2", 1, 3, None, [call("get_time", {"city": "Rome"})])
    last = generation("g3", 1, 5, "Oslo is sunny, Rome too; it is noon in Rome.")
    rome, oslo = tool("r", 1, city="Rome"), tool("o", 1, city="Oslo")
    clock = obs("k", "TOOL", 1, "get_time", input={"city": "Rome"}, output={"time": "12:00"})
    line = trace(last, rome, clock, second, oslo, first, input="Weather in Oslo and Rome, and Rome's time?")
    [item] = read(source, write_lines(tmp_path / "l.jsonl", [line]))
    assert [(v.tool_name, v.parameters["city"], v.result) for v in item.invocations] == [
        ("get_weather", "Oslo", "sunny in Oslo"),
        ("get_weather", "Rome", "sunny in Rome"),
        ("get_time", "Rome", {"time": "12:00"}),
    ]
    assert [(t.calls, t.text) for t in item.turns] == [(2, "Both at once."), (1, None)]
    assert item.final_answer == "Oslo is sunny, Rome too; it is noon in Rome."
    assert item.user_request == "Weather in Oslo and Rome, and Rome's time?"  # the trace's input, a text


def test_anthropic_tool_use_blocks_and_positional_tool_inputs(source, tmp_path):
    """A generation whose output holds Anthropic's tool_use blocks; tools traced with @observe and
    called positionally (``{"args": ["Rome"], "kwargs": {}}``), listed in the other order."""
    blocks = [
        {"type": "text", "text": "Both cities."},
        {"type": "tool_use", "id": "tu1", "name": "get_weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "tu2", "name": "get_weather", "input": {"city": "Rome"}},
    ]
    first = obs("g1", "GENERATION", 1, "claude", input=[{"role": "user", "content": "Oslo and Rome?"}],
                output={"role": "assistant", "content": blocks})
    rome = obs("r", "TOOL", 2, "get_weather", input={"args": ["Rome"], "kwargs": {}}, output="rain")
    oslo = obs("o", "TOOL", 2, "get_weather", input={"args": ["Oslo"], "kwargs": {}}, output="sun")
    last = obs("g2", "GENERATION", 3, "claude", output={"role": "assistant", "content": [{"type": "text", "text": "Sun; rain."}]})
    [item] = read(source, write_lines(tmp_path / "l.jsonl", [trace(first, rome, oslo, last)]))
    assert [(v.parameters, v.result) for v in item.invocations] == [({"city": "Oslo"}, "sun"), ({"city": "Rome"}, "rain")]
    assert [(t.calls, t.text) for t in item.turns] == [(2, "Both cities.")]
    assert (item.user_request, item.final_answer) == ("Oslo and Rome?", "Sun; rain.")


def test_spans_as_tools_nested_tools_errors_and_traces_without_generations(source, tmp_path):
    # an SDK before as_type="tool": the tool is a SPAN named as the call; its own inner TOOL is part of it
    spans = trace(
        generation("g1", 1, 0, None, [call("get_weather", {"city": "Oslo"})]),
        tool("s", 2, kind="SPAN"),
        obs("inner", "TOOL", 3, "http_get", parent="s", input={"url": "x"}, output="200"),
        generation("g2", 4, 2, "Sunny."),
    )
    # no generation at all: each TOOL observation is a call with its input; ERROR without a message
    bare = trace(
        tool("a", 1, city="Oslo"),
        tool("b", 2, city="Rome", level="ERROR", output=None),
        obs("note", "EVENT", 3, "log"),
        id="t2", output="Oslo is sunny; Rome failed.", sessionId="s-2",
    )
    first, second = read(source, write_lines(tmp_path / "l.jsonl", [spans, bare]))
    assert [(v.tool_name, v.invocation_id, v.result) for v in first.invocations] == [("get_weather", "s", "sunny in Oslo")]
    assert first.final_answer == "Sunny." and first.user_request == "Weather in Oslo and Rome?"
    assert [(v.parameters, v.status, v.error) for v in second.invocations] == [
        ({"city": "Oslo"}, ToolStatus.SUCCESS, None),
        ({"city": "Rome"}, ToolStatus.FAILURE, "ERROR"),
    ]
    assert second.turns == () and second.session_id == "s-2" and second.final_answer == "Oslo is sunny; Rome failed."


# -- kept + rejected = read ----------------------------------------------------------------------


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def mutated(draw):
    """A real SDK trace with one value somewhere replaced by arbitrary JSON (or removed)."""
    line = copy.deepcopy(draw(st.sampled_from(SAMPLE_LINES)))
    node, path = line, []
    while isinstance(node, (dict, list)) and node and draw(st.integers(0, 6)):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        path.append((node, key))
        node = node[key]
    if path:
        parent, key = path[-1]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = draw(JSON)
    return line


def assert_every_line_once(items, data: bytes, path: Path) -> None:
    expected = {n for n, line in enumerate(data.split(b"\n"), 1) if line.strip()}
    seen = []
    for item in items:
        if isinstance(item, Trajectory):
            lines = {(inv.location.file, inv.location.line) for inv in item.invocations}
            assert len(lines) == 1 and item.invocations
            assert sum(t.calls for t in item.turns) in (0, len(item.invocations))
            seen.append(lines.pop()[1])
        else:
            assert isinstance(item, Rejection) and item.records == 1 and len(item.locations) == 1
            assert item.locations[0].file == str(path)
            assert not item.detail.startswith("unexpected shape"), item.detail
            seen.append(item.locations[0].line)
    assert sorted(seen) == sorted(expected)


@FUZZ
@given(st.lists(JSON | mutated(), max_size=6))
def test_fuzz_arbitrary_and_mutated_lines(source, tmp_path, values):
    data = b"".join(orjson.dumps(v) + b"\n" for v in values)
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(data)
    assert_every_line_once(read(source, path), data, path)


@FUZZ
@given(st.data())
def test_fuzz_truncated_files(source, tmp_path, data):
    whole = SAMPLE.read_bytes()
    cut = whole[: data.draw(st.integers(0, len(whole)))]
    path = tmp_path / "cut.jsonl"
    path.write_bytes(cut)
    assert_every_line_once(read(source, path), cut, path)


# -- the source in deepeyes ----------------------------------------------------------------------


def test_deepeyes_plugins_lists_the_langfuse_source():
    env = {**os.environ, "DEEPEYES_LOAD_PLUGINS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "deepeyes_core.cli", "plugins", "--json"], check=True, capture_output=True, text=True, env=env, timeout=120
    )
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    assert rows[("trajectory_source", "langfuse")]["options"] == {"agent_name": None}


def test_a_dry_run_exports_every_call_and_result_of_the_sample(manager, tmp_path):
    out = tmp_path / "run"
    config = parse_config({
        "output_dir": str(out),
        "sources": [{"name": "langfuse", "paths": [str(SAMPLE)]}],
        "describer": {"name": "source"},
        "collector": {"quality_threshold": 0.0, "min_trajectory_length": 1},
        "backend": {"name": "dry-run"},
        "trainer": {"min_examples": 1},
        "exporters": [{"name": "jsonl"}, {"name": "openai-chat", "token_counter": "approximate", "min_train_examples": 1}],
    })
    result = asyncio.run(run(config, plugins=manager))
    assert result["status"] == "completed", result["message"]
    records = [
        json.loads(line)
        for split in ("train", "val", "test")
        for line in (out / "openai-chat" / f"sft_{split}.jsonl").read_text().splitlines()
    ]
    assert len(records) == 8  # the eight traces with tool calls
    calls = [(c["function"]["name"], json.loads(c["function"]["arguments"]))
             for r in records for m in r["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or ()]
    results = [m["content"] for r in records for m in r["messages"] if m["role"] == "tool"]
    tools = [o for line in SAMPLE_LINES for o in line["observations"] if o["type"] == "TOOL"]
    assert len(calls) == len(results) == len(tools) == 14
    assert sorted(calls, key=json.dumps) == sorted(
        ((o["name"], o["input"]["kwargs"]) for o in tools), key=json.dumps
    )
    expected = [o["statusMessage"] if o["level"] == "ERROR" else canonical_text(o["output"]) for o in tools]
    assert sorted(expected) == sorted(results)
    assert any("Poseidon Palace' in the booking service" in r for r in results)
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert [r["reason"] for r in rejects] == ["no tool calls"]
