"""The ``openai-responses`` (Responses API JSONL) and ``openai-agents`` (Agents SDK traces) sources.

The samples are real SDK output: ``examples/sources/make_openai_samples.py`` drives the ``openai``
SDK's ``responses.create`` and an Agents SDK ``Runner`` against a fake Responses API and logs what
they send, receive and trace. Every unusable record is a rejection: kept + rejected = read.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepeyes_core import PluginManager, Rejection, ToolStatus, Trajectory, run
from deepeyes_core.config import parse_config
from deepeyes_core.plugins import BUILTIN_PLUGINS

from .source_files import read, write_lines

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "sources"
RESPONSES = SAMPLES / "openai_responses.jsonl"
AGENTS = SAMPLES / "openai_agents_traces.jsonl"


def load_generator():
    name = "deepeyes_examples_make_openai_samples"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SAMPLES / "make_openai_samples.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def manager(monkeypatch) -> PluginManager:
    import deepeyes_core.plugins as module

    fresh = PluginManager(load_entry_points=False, builtins=BUILTIN_PLUGINS)
    monkeypatch.setattr(module, "_default", fresh)
    return fresh


@pytest.fixture
def responses(manager):
    return manager.build("trajectory_source", "openai-responses")


@pytest.fixture
def agents(manager):
    return manager.build("trajectory_source", "openai-agents")


def summary(items):
    return [
        (
            "T",
            i.session_id,
            i.agent_name,
            i.user_request,
            tuple((v.tool_name, json.dumps(v.parameters, sort_keys=True), v.status.value, v.result, v.error) for v in i.invocations),
            tuple((t.calls, t.text) for t in i.turns),
            i.final_answer,
            tuple(t.name for t in i.tools),
        )
        if isinstance(i, Trajectory)
        else ("R", i.reason, i.records)
        for i in items
    ]


def test_deepeyes_plugins_lists_both_sources():
    result = subprocess.run(
        [sys.executable, "-m", "deepeyes_core.cli", "plugins", "--json"],
        capture_output=True, text=True, env={**os.environ, "DEEPEYES_LOAD_PLUGINS": ""}, timeout=120, check=True,
    )
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    assert rows[("trajectory_source", "openai-responses")]["options"] == {"agent_name": None, "max_chained_responses": 10_000}
    assert rows[("trajectory_source", "openai-agents")]["distribution"] == "deepeyes"


# -- the SDK-made samples --------------------------------------------------------------------------


def test_reads_what_the_openai_sdk_logged(responses):
    items = read(responses, RESPONSES)
    trajectories = [i for i in items if isinstance(i, Trajectory)]
    assert len(items) == sum(1 for line in RESPONSES.read_text().splitlines() if line.strip())
    assert [t.session_id for t in trajectories] == [
        "conv-weather-paris", "conv-lisbon-trip", "conv-currency-email",
        "conv-atlantis-hotel", "conv-weather-japan", "conv-berlin-weekend",
    ]
    assert Counter(i.reason for i in items if isinstance(i, Rejection)) == {"awaiting tool results": 10, "no tool calls": 1}
    # conv-lisbon-trip was logged with previous_response_id: each line holds only the new items.
    lisbon = trajectories[1]
    chained = [json.loads(line) for line in RESPONSES.read_text().splitlines() if '"conv-lisbon-trip"' in line]
    assert all(line["request"].get("previous_response_id") for line in chained[1:])
    assert lisbon.tool_sequence == ("search_flights", "book_hotel")
    assert [(t.calls, t.text) for t in lisbon.turns] == [(1, "I'll look for flights first."), (1, "TP541 fits; now the hotel.")]
    assert lisbon.user_request.startswith("Find me a flight from Berlin to Lisbon")
    assert lisbon.final_answer.startswith("Flight TP541 leaves at 07:05")
    assert json.loads(lisbon.invocations[1].result) == {"confirmation": "HX-20931", "hotel": "Casa do Rio"}
    berlin = trajectories[5]
    assert [t.calls for t in berlin.turns] == [2, 1, 2]  # parallel calls of one response are one turn
    assert berlin.invocations[0].parameters == {"city": "Berlin", "unit": "kelvin"}  # parsed from the JSON string
    # The Responses API has no failure flag: the failed call reads as a success whose output says so.
    assert berlin.invocations[0].status is ToolStatus.SUCCESS and berlin.invocations[0].result.startswith("ValueError")
    assert [s.name for s in berlin.tools] == ["get_weather", "search_flights", "book_hotel", "convert_currency", "send_email"]
    assert berlin.agent_name == "gpt-4.1-mini" and berlin.invocations[0].timestamp.isoformat() == "2025-11-15T09:50:03+00:00"  # the last response's created_at


def test_reads_what_the_agents_sdk_traced(agents):
    items = read(agents, AGENTS)
    trajectories = [i for i in items if isinstance(i, Trajectory)]
    function_spans = [s for s in map(json.loads, AGENTS.read_text().splitlines()) if s.get("span_data", {}).get("type") == "function"]
    assert not [i for i in items if isinstance(i, Rejection)]
    assert sum(len(t.invocations) for t in trajectories) == len(function_spans) == 9
    assert [t.session_id for t in trajectories] == [
        "conv-weather-paris", "conv-atlantis-hotel", "conv-weather-japan", "conv-berlin-weekend"
    ]  # the trace's group_id
    paris, atlantis, japan, berlin = trajectories
    assert {t.agent_name for t in trajectories} == {"travel-assistant"}
    # A tool that raised: the span's error makes a FAILURE whose text is what the model got.
    failed = atlantis.invocations[0]
    assert (failed.status, failed.result) == (ToolStatus.FAILURE, None)
    assert failed.error == "An error occurred while running the tool. Please try again."
    assert [v.status for v in berlin.invocations].count(ToolStatus.FAILURE) == 1
    assert [(t.calls, t.text) for t in japan.turns] == [(2, "Checking both cities at once.")]
    assert [t.calls for t in berlin.turns] == [2, 1, 2]
    assert json.loads(paris.invocations[0].result) == {"temperature": 14, "conditions": "light rain"}
    assert paris.user_request == "What's the weather in Paris right now? Should I pack an umbrella?"
    assert paris.final_answer == "It is 14 °C with light rain in Paris: pack an umbrella."
    assert [s.name for s in paris.tools] == ["get_weather", "book_hotel", "convert_currency"]
    assert paris.tools[0].parameters["properties"]["city"] == {"title": "City", "type": "string"}


def test_the_committed_responses_sample_is_what_the_script_makes(responses, tmp_path):
    fresh = write_lines(tmp_path / "responses.jsonl", load_generator().openai_responses())
    assert summary(read(responses, RESPONSES)) == summary(read(responses, fresh))


def test_the_committed_agents_sample_is_what_the_script_makes():
    pytest.importorskip("agents", reason="openai-agents (the test extra) makes the Agents SDK sample")
    fresh = json.loads(json.dumps(load_generator().openai_agents_traces()))
    assert fresh == [json.loads(line) for line in AGENTS.read_text().splitlines()]


def test_a_dry_run_exports_every_call_with_its_result(manager, tmp_path):
    """Each sample through the whole pipeline: the chat export holds every call the sample's
    conversations completed (counted in the raw input), with its real output."""
    outputs = {  # by call id: a conversation logged call by call repeats its earlier outputs
        item["call_id"]: item["output"]
        for line in map(json.loads, RESPONSES.read_text().splitlines())
        for item in line["request"]["input"]
        if item.get("type") == "function_call_output"
    }
    spans = [s for s in map(json.loads, AGENTS.read_text().splitlines()) if s.get("span_data", {}).get("type") == "function"]
    expected = {
        "openai-responses": (RESPONSES, Counter(outputs.values()), 13),
        "openai-agents": (AGENTS, Counter(s["span_data"]["output"] for s in spans), 9),
    }
    assert len(outputs) == 13
    for name, (sample, results, count) in expected.items():
        out = tmp_path / name
        config = parse_config({
            "sources": [{"name": name, "paths": [str(sample)]}],
            "output_dir": str(out),
            "collector": {"quality_threshold": 0.0},
            "redaction": {"enabled": False},
            "dataset": {"train_ratio": 0.4, "val_ratio": 0.3, "test_ratio": 0.3},
            "trainer": {"min_examples": 1},
            "exporters": [{"name": "openai-chat", "min_train_examples": 1}],
            "describer": {"name": "source"},
        })
        result = asyncio.run(run(config, base_dir=tmp_path, plugins=manager))
        assert result["status"] == "completed", result
        calls, tool_messages = [], []
        for split in ("train", "val", "test"):
            for record in map(json.loads, (out / "openai-chat" / f"sft_{split}.jsonl").read_text().splitlines()):
                for message in record["messages"]:
                    calls += message.get("tool_calls") or []
                    if message["role"] == "tool":
                        tool_messages.append(message["content"])
        assert len(calls) == count, name
        assert Counter(tool_messages) == results, name


# -- what a line can be ------------------------------------------------------------------------------

USER = {"role": "user", "content": "Weather in Oslo?"}


def call(call_id, arguments='{"city": "Oslo"}', name="get_weather"):
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def output(call_id, text="sunny", **extra):
    return {"type": "function_call_output", "call_id": call_id, "output": text, **extra}


def answer(text="Sunny.", role="assistant"):
    return {"type": "message", "role": role, "content": [{"type": "output_text", "text": text}]}


def exchange(*items, response_output=(), **extra):
    line = {"request": {"model": "gpt-4.1-mini", "input": [USER, *items]}, **extra}
    if response_output is not None:
        line["response"] = {"id": "resp_1", "object": "response", "output": list(response_output)}
    return line


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("[1, 2", "malformed JSON"),
        ("42", "malformed record"),
        ({"id": "resp_1", "object": "response", "output": []}, "malformed record"),
        ({"request": {"input": 3}}, "malformed record"),
        (exchange(response_output=None, response={"output": "x"}), "malformed record"),
        (exchange({"role": "wizard", "content": "x"}), "malformed record"),
        (exchange({"type": "function_call", "name": "f"}), "malformed record"),
        (exchange(call("a", '{"city": "Os'), output("a")), "unparseable arguments"),
        (exchange(call("a", "[1]"), output("a")), "unparseable arguments"),
        (exchange({"type": "web_search_call", "id": "ws_1", "status": "completed"}), "unsupported tool call"),
        (exchange({"type": "item_reference", "id": "msg_1"}), "unsupported input item"),
        (exchange(call("a"), {"role": "user", "content": "and?"}, answer("hm")), "unpaired function_call"),
        (exchange(output("nobody")), "unpaired function_call_output"),
        (exchange(response_output=[call("a")]), "awaiting tool results"),
        (exchange(response_output=[answer()]), "no tool calls"),
        ({"request": {"input": [output("a")], "previous_response_id": "resp_x"}}, "unknown previous_response_id"),
        (exchange(call("a"), output("a"), timestamp=[2025]), "malformed record"),
    ],
)
def test_each_unusable_responses_line_is_one_rejection(responses, tmp_path, line, reason):
    path = write_lines(tmp_path / "log.jsonl", [line])
    [item] = read(responses, path)
    assert isinstance(item, Rejection), item
    assert (item.reason, item.records, item.stage) == (reason, 1, "read")
    assert (item.locations[0].file, item.locations[0].line) == (str(path), 1)
    assert item.detail and not item.detail.startswith("unexpected shape")


def test_flat_lines_string_input_mcp_calls_and_error_flags(responses, tmp_path):
    line = {
        "input": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "Oslo and Rome,"}, {"type": "input_text", "text": "please."}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            answer("Both at once."), call("a"), call("b", ""),
            output("a", [{"type": "input_text", "text": "sunny"}]), output("b", "quota", is_error=True),
            {"type": "mcp_call", "id": "mcp_1", "name": "lookup", "arguments": "{}", "server_label": "s", "error": "boom"},
        ],
        "tools": [{"type": "web_search"}, {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
        "response": {"id": "resp_2", "object": "response", "created_at": 1_700_000_000, "output": [answer("Done.")]},
    }
    [trajectory] = read(responses, write_lines(tmp_path / "flat.jsonl", [line]))
    a, b, m = trajectory.invocations
    assert (a.result, a.status, b.status, b.error, b.parameters) == ("sunny", ToolStatus.SUCCESS, ToolStatus.FAILURE, "quota", {})
    assert (m.tool_name, m.status, m.error) == ("lookup", ToolStatus.FAILURE, "boom")
    assert [(t.calls, t.text) for t in trajectory.turns] == [(2, "Both at once."), (1, None)]
    assert (trajectory.user_request, trajectory.final_answer) == ("Oslo and Rome,\nplease.", "Done.")
    assert [t.name for t in trajectory.tools] == ["get_weather"] and a.timestamp.timestamp() == 1_700_000_000
    [string_input] = read(responses, write_lines(tmp_path / "s.jsonl", [{"input": "Weather?", "response": {"output": [call("x")]}}]))
    assert string_input.reason == "awaiting tool results"


def test_chains_follow_previous_response_id_and_stop_at_a_loop(responses, tmp_path):
    def line(response_id, previous, *items, output=()):
        request = {"input": list(items), **({"previous_response_id": previous} if previous else {})}
        return {"request": request, "response": {"id": response_id, "output": list(output)}}

    lines = [
        line("r1", None, USER, output=[call("a")]),
        line("r2", "r1", output("a"), output=[answer("Sunny in Oslo.")]),
        line("r1", "r2", {"role": "user", "content": "again"}, output=[call("b")]),  # r1 now points back to r2
        line("r3", "r1", output("b")),
    ]
    items = read(responses, write_lines(tmp_path / "chain.jsonl", lines))
    assert [getattr(i, "reason", None) for i in items] == ["awaiting tool results", None, "awaiting tool results", "malformed record"]
    assert (items[1].tool_sequence, items[1].final_answer, items[1].user_request) == (("get_weather",), "Sunny in Oslo.", "Weather in Oslo?")


def span(span_id, trace_id="trace_1", kind="function", parent="agent_1", start="2025-01-01T00:00:01", **data):
    return {
        "object": "trace.span", "id": span_id, "trace_id": trace_id, "parent_id": parent,
        "started_at": start, "ended_at": start, "span_data": {"type": kind, **data}, "error": None,
    }


def test_agents_lines_batches_handoffs_and_bad_spans(agents, tmp_path):
    lines = [
        span("agent_1", kind="agent", parent=None, name="triage"),
        {"data": [
            span("f1", name="lookup", input='{"q": 1}', output="one"),
            span("agent_2", kind="agent", parent=None, name="billing"),
            span("f2", parent="agent_2", name="refund", input="{}", output="ok", start="2025-01-01T00:00:02"),
            "not a span",
        ]},
        span("f3", trace_id="trace_2", name="x", input="[1]", output="no"),
        span("f1", name="lookup", input='{"q": 1}', output="one"),
        {"object": "trace", "id": "trace_1", "group_id": "thread-9"},
        {"object": "trace", "id": "trace_3"},
        {"object": "nonsense", "id": "z"},
    ]
    items = read(agents, write_lines(tmp_path / "agents.jsonl", lines))
    kept = {t.agent_name: t for t in items if isinstance(t, Trajectory)}
    rejected = Counter((r.reason, r.records) for r in items if isinstance(r, Rejection))
    assert set(kept) == {"triage", "billing"} and {t.session_id for t in kept.values()} == {"thread-9"}
    assert kept["billing"].invocations[0].parameters == {} and kept["triage"].turns == ()  # no model spans
    assert rejected == Counter({
        ("malformed record", 1): 2, ("duplicate span", 1): 1, ("unparseable arguments", 1): 1, ("no tool calls", 0): 1
    })


# -- fuzzing: nothing escapes read(), every record is accounted for exactly once ---------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def mutate(draw, line):
    """One value somewhere in a real SDK line replaced by arbitrary JSON (or removed)."""
    line = copy.deepcopy(line)
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
            parent[key] = draw(JSON | st.text(max_size=12).map(lambda s: '{"' + s))
    return line


@FUZZ
@given(st.data())
def test_fuzz_responses_every_line_once(responses, tmp_path, data):
    sample = [orjson.loads(line) for line in RESPONSES.read_bytes().splitlines()]
    lines = [data.draw(JSON) if data.draw(st.integers(0, 4)) == 0 else mutate(data.draw, line) for line in sample[:8]]
    raw = b"".join(orjson.dumps(v) + b"\n" for v in lines) + data.draw(st.binary(max_size=20))
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(raw)
    seen = []
    for item in read(responses, path):
        if isinstance(item, Trajectory):
            found = {inv.location.line for inv in item.invocations}
            assert len(found) == 1
            seen.append(found.pop())
        else:
            assert item.records == 1 and not item.detail.startswith("unexpected shape"), item
            seen.append(item.locations[0].line)
    assert sorted(seen) == [n for n, line in enumerate(raw.split(b"\n"), 1) if line.strip()]


@FUZZ
@given(st.data())
def test_fuzz_agents_function_spans_plus_unreadable_lines(agents, tmp_path, data):
    sample = [orjson.loads(line) for line in AGENTS.read_bytes().splitlines()]
    lines = [mutate(data.draw, line) if data.draw(st.integers(0, 3)) == 0 else line for line in sample]
    lines += data.draw(st.lists(JSON, max_size=3))
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in lines))
    readable = [v for v in lines if isinstance(v, dict) and not isinstance(v.get("data"), list)]
    unreadable = len(lines) - len(readable)
    expected = sum(
        1 for v in readable if v.get("object") == "trace.span" and isinstance(v.get("span_data"), dict)
        and v["span_data"].get("type") == "function" and isinstance(v.get("id"), str) and v["id"]
        and isinstance(v.get("trace_id"), str) and v["trace_id"]
    ) + unreadable + sum(
        1 for v in readable
        if v.get("object") not in ("trace", "trace.span") or not (isinstance(v.get("id"), str) and v["id"])
        or (v.get("object") == "trace.span" and not (
            isinstance(v.get("trace_id"), str) and v["trace_id"] and isinstance(v.get("span_data"), dict)))
    )
    items = read(agents, path)
    counted = sum(len(i.invocations) for i in items if isinstance(i, Trajectory))
    counted += sum(i.records for i in items if isinstance(i, Rejection))
    assert counted == expected
    assert all(not i.detail.startswith("unexpected shape") for i in items if isinstance(i, Rejection))
