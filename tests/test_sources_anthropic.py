"""The ``anthropic-messages`` source (Claude Messages API JSONL) and the ``source`` task describer.

The sample is real SDK output: ``examples/sources/make_samples.py`` drives the ``anthropic`` SDK
over ``httpx2.MockTransport`` through tool-use agent loops and logs each call. A record is a line:
every non-blank line ends as exactly one trajectory or one rejection of one record.
"""

from __future__ import annotations

import asyncio
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

from deepeyes_core import ConfigError, PluginManager, Rejection, ToolStatus, Trajectory, UnknownComponentError
from deepeyes_core.plugins import BUILTIN_PLUGINS

from .source_files import read, write_lines

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "sources"
SAMPLE = SAMPLES / "claude_transcripts.jsonl"
MODULES = (
    "deepeyes_anthropic.messages_source",
    "deepeyes_openai.chat_source",
    "deepeyes_otel.source",
    "deepeyes_builtin.source_describer",
)


def load_make_samples():
    """``examples/sources/make_samples.py``, the script that writes the samples with the real SDKs."""
    name = "deepeyes_examples_make_samples"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SAMPLES / "make_samples.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def manager(monkeypatch) -> PluginManager:
    """A fresh manager with the built-ins and this issue's modules, installed as the process-wide one."""
    import deepeyes_core.plugins as module

    extra = tuple(m for m in MODULES if m not in BUILTIN_PLUGINS)
    fresh = PluginManager(load_entry_points=False, builtins=BUILTIN_PLUGINS + extra)
    monkeypatch.setattr(module, "_default", fresh)
    return fresh


@pytest.fixture
def source(manager):
    return manager.build("trajectory_source", "anthropic-messages")


def summary(items):
    """What a reader cares about, independent of file names and SDK fields."""
    out = []
    for item in items:
        if isinstance(item, Trajectory):
            out.append(
                (
                    "T",
                    item.session_id,
                    item.agent_name,
                    item.user_request,
                    tuple(
                        (i.tool_name, json.dumps(i.parameters, sort_keys=True), i.status.value, i.error)
                        for i in item.invocations
                    ),
                    tuple(t.name for t in item.tools),
                    tuple((t.calls, t.text) for t in item.turns),
                    item.final_answer,
                )
            )
        else:
            out.append(("R", item.reason, item.records))
    return out


# -- the SDK-made sample -----------------------------------------------------------------------


def test_reads_what_the_anthropic_sdk_produced(source, tmp_path):
    sample = write_lines(tmp_path / "claude.jsonl", load_make_samples().claude_transcripts())
    items = read(source, sample)
    trajectories = [i for i in items if isinstance(i, Trajectory)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert len(items) == 17  # one item per line
    assert [t.session_id for t in trajectories] == [
        "conv-weather-paris",
        "conv-lisbon-trip",
        "conv-currency-email",
        "conv-atlantis-hotel",
        "conv-weather-japan",
        "conv-berlin-weekend",
    ]
    assert {r.reason for r in rejections} == {"awaiting tool results", "no tool calls"}
    assert sum(r.reason == "awaiting tool results" for r in rejections) == 10
    lisbon = trajectories[1]
    assert lisbon.tool_sequence == ("search_flights", "book_hotel")
    assert lisbon.invocations[1].parameters == {"city": "Lisbon", "nights": 3, "check_in": "2025-12-03"}
    assert lisbon.invocations[0].result == json.dumps(
        {"flights": [{"number": "TP541", "departs": "07:05", "price_eur": 189}]}
    )
    assert lisbon.user_request.startswith("Find me a flight from Berlin to Lisbon")
    assert lisbon.agent_name == "travel-assistant" and lisbon.source == "anthropic-messages"
    assert [i.invocation_id[:6] for i in lisbon.invocations] == ["toolu_", "toolu_"]
    assert {(loc.file, loc.line) for loc in lisbon.locations} == {(str(sample), 5)}
    assert lisbon.invocations[0].timestamp.isoformat() == "2025-11-15T09:10:02+00:00"
    assert lisbon.invocations[0].latency_ms == 0.0
    book_hotel = {t.name: t for t in lisbon.tools}["book_hotel"]
    assert book_hotel.parameters["properties"]["nights"] == {"type": "integer"}
    assert book_hotel.description == "Book a hotel room."
    atlantis = trajectories[3].invocations[0]
    assert atlantis.status is ToolStatus.FAILURE and atlantis.result is None
    assert atlantis.error == "HotelNotFound: no hotels found in Atlantis"
    assert [i.parameters["city"] for i in trajectories[4].invocations] == ["Tokyo", "Osaka"]  # parallel calls, in order
    # Turns: the tool_use blocks of one message, with its text blocks; the closing text is the answer.
    assert [(t.calls, t.text) for t in lisbon.turns] == [(1, "I'll look for flights first."), (1, "TP541 fits; now the hotel.")]
    assert lisbon.final_answer.startswith("Flight TP541 leaves at 07:05")
    assert [(t.calls, t.text) for t in trajectories[4].turns] == [(2, "Checking both cities at once.")]
    berlin = trajectories[5]
    assert [t.calls for t in berlin.turns] == [2, 1, 2] and berlin.turns[2].text is None
    assert [i.status for i in berlin.invocations[:2]] == [ToolStatus.FAILURE, ToolStatus.SUCCESS]
    assert berlin.invocations[0].error == "ValueError: unit must be celsius or fahrenheit"


def test_the_committed_sample_is_what_the_script_makes(source, tmp_path):
    fresh = write_lines(tmp_path / "claude.jsonl", load_make_samples().claude_transcripts())
    assert summary(read(source, SAMPLE)) == summary(read(source, fresh))


def test_several_files_in_one_read(source, tmp_path):
    other = write_lines(tmp_path / "more.jsonl", ["{broken"])
    items = read(source, SAMPLE, other)
    assert len(items) == 18
    assert items[-1].reason == "malformed JSON" and items[-1].locations[0].file == str(other)


# -- what a line can be ------------------------------------------------------------------------


def use(call_id, name="get_weather", **arguments):
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def result(call_id, content="ok", **extra):
    return {"type": "tool_result", "tool_use_id": call_id, "content": content, **extra}


def conversation(*turns, **extra):
    return {"messages": [{"role": role, "content": content} for role, content in turns], **extra}


ASK = ("user", "Weather in Oslo?")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "malformed JSON"),
        ([1, 2], "malformed record"),
        ({"messages": "hello"}, "malformed record"),
        ({"request": "hello"}, "malformed record"),
        (conversation(ASK, response={"content": "text"}), "malformed record"),
        (conversation(("robot", "hi")), "malformed record"),
        (conversation(ASK, ("assistant", [{"text": "no type"}])), "malformed record"),
        (
            conversation(ASK, ("assistant", [use("a")]), ("user", [result("a")]), timestamp="yesterday"),
            "malformed record",
        ),
        (conversation(ASK, ("assistant", [use("a"), use("a")]), ("user", [result("a")])), "malformed record"),
        (
            conversation(ASK, ("assistant", [{**use("a"), "input": '{"city": '}]), ("user", [result("a")])),
            "unparseable arguments",
        ),
        (conversation(ASK, ("assistant", [use("a")]), ("user", "go on"), ("assistant", "done")), "unpaired tool_use"),
        (conversation(ASK, ("user", [result("zzz")])), "unpaired tool_result"),
        (
            conversation(ASK, response={"type": "message", "role": "assistant", "content": [use("a")]}),
            "awaiting tool results",
        ),
        (conversation(ASK, ("assistant", "It is sunny.")), "no tool calls"),
        (conversation(ASK, tools=[{"description": "nameless"}]), "malformed record"),
    ],
)
def test_each_unusable_line_is_one_rejection_with_its_reason(source, tmp_path, line, reason):
    path = write_lines(tmp_path / "log.jsonl", [line])
    [item] = read(source, path)
    assert isinstance(item, Rejection), item
    assert (item.reason, item.records, item.stage) == (reason, 1, "read")
    assert item.locations == (item.locations[0],) and (item.locations[0].file, item.locations[0].line) == (str(path), 1)
    assert item.detail and not item.detail.startswith("unexpected shape")


def test_is_error_gives_a_failure_with_the_result_text(source, tmp_path):
    error_content = [{"type": "text", "text": "rate limited"}, {"type": "text", "text": "retry in 5s"}]
    line = conversation(
        ("user", [{"type": "text", "text": "  Weather in Oslo and Rome?  "}]),
        ("assistant", [{"type": "text", "text": "Checking."}, use("a", city="Oslo"), use("b", city="Rome")]),
        ("user", [result("a", error_content, is_error=True), result("b", [{"type": "text", "text": "sunny"}])]),
        ("assistant", "Rome is sunny; Oslo failed."),
    )
    [trajectory] = read(source, write_lines(tmp_path / "log.jsonl", [line]))
    oslo, rome = trajectory.invocations
    assert (oslo.status, oslo.error, oslo.result) == (ToolStatus.FAILURE, "rate limited\nretry in 5s", None)
    assert (rome.status, rome.error, rome.result) == (ToolStatus.SUCCESS, None, "sunny")
    assert trajectory.user_request == "Weather in Oslo and Rome?"


def test_without_ids_or_timestamps_a_line_is_its_own_session_at_the_files_time(source, tmp_path):
    path = write_lines(
        tmp_path / "log.jsonl",
        ["", conversation(ASK, ("assistant", [use("a")]), ("user", [result("a")]), model="claude-x")],
    )
    os.utime(path, (1_700_000_000, 1_700_000_000))
    [trajectory] = read(source, path)
    assert trajectory.session_id == f"{path}:2"
    assert trajectory.agent_name == "claude-x"  # no agent name in the line: the model
    assert trajectory.invocations[0].timestamp.timestamp() == 1_700_000_000
    assert trajectory.tools == ()


def test_the_agent_name_option_and_the_conversation_id_precedence(manager, tmp_path):
    source = manager.build("trajectory_source", "anthropic-messages", {"agent_name": "support-bot"})
    line = conversation(
        ASK,
        ("assistant", [use("a")]),
        ("user", [result("a")]),
        id="line-id",
        metadata={"conversation_id": "c-1", "agent_name": "ignored"},
        timestamp=1_700_000_000,
    )
    [trajectory] = read(source, write_lines(tmp_path / "log.jsonl", [line]))
    assert (trajectory.agent_name, trajectory.session_id) == ("support-bot", "c-1")
    with pytest.raises(ConfigError, match="anthropic-messages"):
        manager.build("trajectory_source", "anthropic-messages", {"agent": "typo"})


def test_server_tool_results_pair_and_their_errors_fail(source, tmp_path):
    line = conversation(
        ASK,
        response={
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"query": "oslo weather"}},
                {
                    "type": "web_search_tool_result",
                    "tool_use_id": "srv_1",
                    "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"},
                },
                {"type": "text", "text": "Search failed."},
            ],
        },
    )
    [trajectory] = read(source, write_lines(tmp_path / "log.jsonl", [line]))
    [call] = trajectory.invocations
    assert (call.tool_name, call.status, call.error) == ("web_search", ToolStatus.FAILURE, "max_uses_exceeded")


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


@st.composite
def mutated(draw, lines=SAMPLE_LINES):
    """A real SDK line with one value somewhere replaced by arbitrary JSON (or removed)."""
    line = copy.deepcopy(draw(st.sampled_from(lines)))
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
            parent[key] = draw(JSON)
    return line


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


# -- the ``source`` task describer --------------------------------------------------------------


def describe(describer, trajectories):
    return asyncio.run(describer.describe(trajectories))


def test_source_describer_uses_the_users_request_and_the_fallback_elsewhere(manager):
    items = read(manager.build("trajectory_source", "anthropic-messages"), SAMPLE)
    trajectories = [i for i in items if isinstance(i, Trajectory)]
    without = Trajectory("A", trajectories[0].invocations, user_request="   ")
    describer = manager.build("task_describer", "source")
    texts = describe(describer, [trajectories[0], without, trajectories[1]])
    assert texts[0] == "What's the weather in Paris right now? Should I pack an umbrella?"
    assert texts[1] == describe(manager.build("task_describer", "template"), [without])[0]
    assert '"Paris"' in texts[1]
    assert texts[2] == trajectories[1].user_request


def test_source_describer_options_are_checked(manager):
    with pytest.raises(ConfigError, match="itself"):
        manager.build("task_describer", "source", {"fallback": "source"})
    with pytest.raises(UnknownComponentError, match="template"):
        manager.build("task_describer", "source", {"fallback": "no-such-describer"})
    with pytest.raises(ConfigError, match="fallback"):
        manager.build("task_describer", "source", {"fallbak": "template"})


def test_the_modules_register_their_components(manager):
    assert {"anthropic-messages", "openai-chat", "otel"} <= set(manager.components("trajectory_source"))
    assert manager.get("task_describer", "source").summary.startswith("The user's own request")
    assert manager.get("trajectory_source", "anthropic-messages").option_defaults() == {"agent_name": None}
