"""The ``openai-chat`` source (Chat Completions JSONL).

The sample is real SDK output: ``examples/sources/make_samples.py`` drives the ``openai`` SDK (it
builds on ``httpx2``, like anthropic's) over ``httpx2.MockTransport`` through tool-calling loops and
logs each call. A record is a line: every non-blank line ends as exactly one trajectory or one
rejection of one record.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepeyes_core import PluginManager, Rejection, ToolStatus, Trajectory
from deepeyes_core.plugins import BUILTIN_PLUGINS

from .source_files import read, write_lines

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "sources"
SAMPLE = SAMPLES / "openai_transcripts.jsonl"


def load_make_samples():
    name = "deepeyes_examples_make_samples"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SAMPLES / "make_samples.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def manager(monkeypatch) -> PluginManager:
    import deepeyes_core.plugins as module

    extra = tuple(m for m in ("deepeyes_openai.chat_source",) if m not in BUILTIN_PLUGINS)
    fresh = PluginManager(load_entry_points=False, builtins=BUILTIN_PLUGINS + extra)
    monkeypatch.setattr(module, "_default", fresh)
    return fresh


@pytest.fixture
def source(manager):
    return manager.build("trajectory_source", "openai-chat")


def summary(items):
    return [
        (
            "T",
            i.session_id,
            i.agent_name,
            i.user_request,
            tuple((v.tool_name, json.dumps(v.parameters, sort_keys=True), v.status.value) for v in i.invocations),
            tuple((t.calls, t.text) for t in i.turns),
            i.final_answer,
        )
        if isinstance(i, Trajectory)
        else ("R", i.reason, i.records)
        for i in items
    ]


# -- the SDK-made sample -----------------------------------------------------------------------


def test_the_sdk_in_use_builds_on_httpx2():
    import openai._base_client as base

    assert "httpx2" in base.__dict__ and "httpx" not in base.__dict__


def test_reads_what_the_openai_sdk_produced(source, tmp_path):
    sample = write_lines(tmp_path / "openai.jsonl", load_make_samples().openai_transcripts())
    items = read(source, sample)
    trajectories = [i for i in items if isinstance(i, Trajectory)]
    assert len(items) == 17
    assert [t.session_id for t in trajectories] == [
        "conv-weather-paris",
        "conv-lisbon-trip",
        "conv-currency-email",
        "conv-atlantis-hotel",
        "conv-weather-japan",
        "conv-berlin-weekend",
    ]
    assert sorted({i.reason for i in items if isinstance(i, Rejection)}) == ["awaiting tool results", "no tool calls"]
    currency = trajectories[2]
    assert currency.tool_sequence == ("convert_currency", "send_email")
    assert currency.invocations[0].parameters == {
        "amount": 250,
        "from_currency": "USD",
        "to_currency": "EUR",
    }  # parsed from the JSON string
    assert currency.invocations[0].result == json.dumps({"amount": 231.75, "rate": 0.927})
    assert currency.agent_name == "gpt-4.1-mini"  # lines without an agent name: the model
    assert currency.user_request == "Convert 250 USD to EUR and email the amount to ana@example.com."
    assert currency.invocations[0].invocation_id.startswith("call_")
    assert currency.invocations[0].timestamp.isoformat() == "2025-11-15T09:20:02+00:00"  # the response's `created`
    assert {t.name: t.parameters["required"] for t in currency.tools}["send_email"] == ["to", "subject", "body"]
    # Chat Completions has no failure flag: the failed booking reads as a success whose result says so.
    atlantis = trajectories[3].invocations[0]
    assert atlantis.status is ToolStatus.SUCCESS and "HotelNotFound" in atlantis.result
    # Turns: the tool_calls of one assistant message, with its content; the closing content is the answer.
    lisbon, japan, berlin = trajectories[1], trajectories[4], trajectories[5]
    assert [(t.calls, t.text) for t in lisbon.turns] == [(1, "I'll look for flights first."), (1, "TP541 fits; now the hotel.")]
    assert [(t.calls, t.text) for t in currency.turns] == [(1, None), (1, None)]  # content null
    assert currency.final_answer == "250 USD is 231.75 EUR; I emailed it to ana@example.com."
    assert [(t.calls, t.text) for t in japan.turns] == [(2, "Checking both cities at once.")]
    assert [t.calls for t in berlin.turns] == [2, 1, 2]


def test_the_committed_sample_is_what_the_script_makes(source, tmp_path):
    fresh = write_lines(tmp_path / "openai.jsonl", load_make_samples().openai_transcripts())
    assert summary(read(source, SAMPLE)) == summary(read(source, fresh))


# -- what a line can be ------------------------------------------------------------------------


def call(call_id, arguments='{"city": "Oslo"}', name="get_weather", kind="function"):
    return {"id": call_id, "type": kind, "function": {"name": name, "arguments": arguments}}


def assistant(*calls, content=None):
    return {"role": "assistant", "content": content, "tool_calls": list(calls) or None}


def tool(call_id, content="sunny", **extra):
    return {"role": "tool", "tool_call_id": call_id, "content": content, **extra}


USER = {"role": "user", "content": "Weather in Oslo?"}


def chat(*messages, **extra):
    return {"messages": [USER, *messages], **extra}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("[1, 2", "malformed JSON"),
        ("42", "malformed record"),
        ({"messages": {"role": "user"}}, "malformed record"),
        (chat(response={"choices": []}), "malformed record"),
        (chat({"role": "wizard", "content": "x"}), "malformed record"),
        (
            chat({"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f"}}]}),
            "malformed record",
        ),
        (chat(assistant(call("a")), tool("a"), timestamp=[2025]), "malformed record"),
        (chat(assistant(call("a", '{"city": "Os')), tool("a")), "unparseable arguments"),
        (chat(assistant(call("a", "[1, 2]")), tool("a")), "unparseable arguments"),
        (chat(assistant(call("a", None)), tool("a")), "unparseable arguments"),
        (
            chat(assistant({"id": "a", "type": "custom", "custom": {"name": "grep", "input": "x"}}), tool("a")),
            "unsupported tool call",
        ),
        (
            chat(assistant(call("a")), {"role": "user", "content": "and?"}, {"role": "assistant", "content": "hm"}),
            "unpaired tool_call",
        ),
        (chat(tool("nobody")), "unpaired tool message"),
        (chat(response={"choices": [{"message": assistant(call("a"))}]}), "awaiting tool results"),
        (chat({"role": "assistant", "content": "Sunny.", "tool_calls": None, "function_call": None}), "no tool calls"),
        (chat(assistant(call("a")), tool("a"), tools=[{"type": "function"}]), "malformed record"),
    ],
)
def test_each_unusable_line_is_one_rejection_with_its_reason(source, tmp_path, line, reason):
    path = write_lines(tmp_path / "log.jsonl", [line])
    [item] = read(source, path)
    assert isinstance(item, Rejection), item
    assert (item.reason, item.records, item.stage) == (reason, 1, "read")
    assert (item.locations[0].file, item.locations[0].line) == (str(path), 1)
    assert item.detail and not item.detail.startswith("unexpected shape")


def test_fine_tuning_format_lines_and_argument_forms(source, tmp_path):
    line = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "Oslo and Rome,"}, {"type": "text", "text": "please."}],
            },
            assistant(call("a"), call("b", ""), call("c", {"city": "Rome"})),
            tool("a", [{"type": "text", "text": "sunny"}]),
            tool("b", "Error: quota", is_error=True),
            tool("c", None),
            {"role": "assistant", "content": "Done."},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    }
    path = write_lines(tmp_path / "ft.jsonl", [line])
    os.utime(path, (1_700_000_000, 1_700_000_000))
    [trajectory] = read(source, path)
    a, b, c = trajectory.invocations
    assert [v.parameters for v in (a, b, c)] == [{"city": "Oslo"}, {}, {"city": "Rome"}]
    assert (a.result, a.status) == ("sunny", ToolStatus.SUCCESS)
    assert (b.status, b.error, b.result) == (ToolStatus.FAILURE, "Error: quota", None)
    assert c.result is None
    assert trajectory.user_request == "Oslo and Rome,\nplease."
    assert trajectory.session_id == f"{path}:1" and trajectory.agent_name == "openai-chat"
    assert a.timestamp.timestamp() == 1_700_000_000  # no timestamp, no response: the file's time
    assert [t.name for t in trajectory.tools] == ["get_weather"]


# -- fuzzing: nothing escapes read(), every line is accounted for exactly once -------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
SAMPLE_LINES = [orjson.loads(line) for line in SAMPLE.read_bytes().splitlines()]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def mutated(draw):
    """A real SDK line with one value somewhere replaced by arbitrary JSON (or removed)."""
    line = copy.deepcopy(draw(st.sampled_from(SAMPLE_LINES)))
    node, path = line, []
    while isinstance(node, (dict, list)) and node and draw(st.integers(0, 5)):
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


def is_json(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


def assert_every_line_once(items, data: bytes, path: Path) -> None:
    expected = {n for n, line in enumerate(data.split(b"\n"), 1) if line.strip()}
    seen = []
    for item in items:
        if isinstance(item, Trajectory):
            lines = {(inv.location.file, inv.location.line) for inv in item.invocations}
            assert len(lines) == 1 and item.invocations
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
def test_fuzz_truncated_files_and_raw_bytes(source, tmp_path, data):
    whole = SAMPLE.read_bytes() + data.draw(st.binary(max_size=40))
    cut = whole[: data.draw(st.integers(0, len(whole)))]
    path = tmp_path / "cut.jsonl"
    path.write_bytes(cut)
    items = read(source, path)
    assert_every_line_once(items, cut, path)
    tail = cut.rsplit(b"\n", 1)[-1]
    if tail.strip() and not is_json(tail):
        assert items[-1].reason == "torn last line"  # a torn last line is never half-read
