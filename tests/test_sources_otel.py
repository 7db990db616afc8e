"""The ``otel`` source (OTLP/JSON trace files, GenAI semantic conventions), and a whole run that
reads two sources at once.

The sample is real library output: ``examples/sources/make_samples.py`` records spans with
``opentelemetry-sdk`` (TracerProvider + InMemorySpanExporter) and encodes them with
``encode_spans`` + protobuf's ``MessageToDict``, ids turned into hex as the collector's file
exporter writes them. A record is a tool span (``execute_tool``); what cannot be read (a line, an
entry of the wrong shape) counts as one record.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import importlib.util
import json
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepeyes_core import PluginManager, Rejection, ToolStatus, Trajectory
from deepeyes_core.config import parse_config
from deepeyes_core.plugins import BUILTIN_PLUGINS
from deepeyes_core.runner import run

from .source_files import read, write_lines

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "sources"
SAMPLE = SAMPLES / "otel_traces.jsonl"
MODULES = ("deepeyes_anthropic.messages_source", "deepeyes_otel.source", "deepeyes_builtin.source_describer")


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

    extra = tuple(m for m in MODULES if m not in BUILTIN_PLUGINS)
    fresh = PluginManager(load_entry_points=False, builtins=BUILTIN_PLUGINS + extra)
    monkeypatch.setattr(module, "_default", fresh)
    return fresh


@pytest.fixture
def source(manager):
    return manager.build("trajectory_source", "otel")


def summary(items):
    return [
        (
            "T",
            i.session_id,
            i.agent_name,
            i.user_request,
            tuple(
                (v.tool_name, json.dumps(v.parameters, sort_keys=True), v.status.value, v.error, v.latency_ms)
                for v in i.invocations
            ),
            tuple((t.calls, t.text) for t in i.turns),
            i.final_answer,
        )
        if isinstance(i, Trajectory)
        else ("R", i.reason, i.records)
        for i in items
    ]


# -- the SDK-made sample -----------------------------------------------------------------------


def test_reads_what_the_opentelemetry_sdk_produced(source, tmp_path):
    sample = write_lines(tmp_path / "traces.jsonl", load_make_samples().otel_traces())
    items = read(source, sample)
    trajectories = [i for i in items if isinstance(i, Trajectory)]
    [no_tools] = [i for i in items if isinstance(i, Rejection)]
    assert (no_tools.reason, no_tools.records) == ("no tool calls", 0)
    assert [t.agent_name for t in trajectories] == [
        "travel-assistant",
        "travel-assistant",
        "travel-assistant",
        "currency-agent",
        "mail-agent",
        "travel-assistant",
        "travel-assistant",
        "weather-cron",
    ]
    paris, lisbon, atlantis, currency, mail, japan, berlin, cron = trajectories
    assert paris.user_request == "What's the weather in Paris right now? Should I pack an umbrella?"
    [weather] = paris.invocations
    assert (weather.tool_name, weather.parameters, weather.result) == (
        "get_weather",
        {"city": "Paris", "unit": "celsius"},
        {"temperature": 14, "conditions": "light rain"},
    )
    assert weather.latency_ms == 38.0 and weather.timestamp.isoformat() == "2025-11-15T09:00:00.426000+00:00"
    assert paris.session_id == "00000000000000010000000000000001"  # the trace id, hex
    assert weather.invocation_id == "0000000100000003" == weather.location.span_id  # the span id
    assert (weather.location.file, weather.location.line) == (str(sample), 1)
    assert {t.name for t in paris.tools} == {
        "get_weather",
        "search_flights",
        "book_hotel",
        "convert_currency",
        "send_email",
    }
    assert lisbon.tool_sequence == ("search_flights", "book_hotel") and lisbon.tools == ()
    # Line 2 writes enum names: STATUS_CODE_ERROR is a failure, its error the error.type and the status message.
    [hotel] = atlantis.invocations
    assert (hotel.status, hotel.error, hotel.result) == (
        ToolStatus.FAILURE,
        "HotelNotFound: no hotels found in Atlantis",
        None,
    )
    # One trace, two agents, spread over lines 3 and 4: one trajectory per agent, one session.
    assert currency.session_id == mail.session_id and currency.trajectory_id != mail.trajectory_id
    assert (currency.user_request, mail.user_request) == (
        "Convert 250 USD to EUR.",
        "Email ana@example.com the converted amount.",
    )
    assert {inv.location.line for inv in currency.invocations + mail.invocations} == {3, 4}
    assert [i.parameters["city"] for i in japan.invocations] == ["Tokyo", "Osaka"]  # by start time
    assert cron.user_request is None  # no invoke_agent span; agent from the resource's service.name
    # Turns: the tool spans after one chat span (its gen_ai.output.messages text); the last chat
    # span's text is the answer.
    assert [(t.calls, t.text) for t in lisbon.turns] == [(1, "I'll look for flights first."), (1, "TP541 fits; now the hotel.")]
    assert lisbon.final_answer.startswith("Flight TP541 leaves at 07:05")
    assert [(t.calls, t.text) for t in japan.turns] == [(2, "Checking both cities at once.")]
    assert (currency.final_answer, mail.final_answer) == (
        "250 USD is 231.75 EUR.",
        "I emailed ana@example.com that 250 USD is 231.75 EUR.",
    )
    assert (cron.turns, cron.final_answer) == ((), None)  # no chat span: no structure, no answer
    # pydantic-ai's layout: the request only in pydantic_ai.all_messages, tools under "running
    # tools", a tool that raised (exception event, ERROR status) after recording the retry prompt.
    assert berlin.user_request.startswith("Check the weather in Berlin and Munich")
    assert [(t.calls, t.text) for t in berlin.turns] == [
        (2, "Checking both cities first."),
        (1, "Kelvin is not accepted; asking for Berlin in celsius."),
        (2, None),
    ]
    failed = berlin.invocations[0]
    assert (failed.status, failed.error) == (ToolStatus.FAILURE, "ToolRetryError: unit must be celsius or fahrenheit")
    assert failed.result == "unit must be celsius or fahrenheit\n\nFix the errors and try again."
    assert [i.status for i in berlin.invocations[1:]] == [ToolStatus.SUCCESS] * 4
    assert berlin.final_answer.startswith("Munich is warmer")


def test_the_committed_sample_is_what_the_script_makes(source, tmp_path):
    fresh = write_lines(tmp_path / "traces.jsonl", load_make_samples().otel_traces())
    assert summary(read(source, SAMPLE)) == summary(read(source, fresh))


def test_base64_ids_and_integer_status_codes_read_the_same(source, tmp_path):
    lines = [orjson.loads(line) for line in SAMPLE.read_bytes().splitlines()]

    def to_base64(node):
        if isinstance(node, dict):
            return {
                k: base64.b64encode(bytes.fromhex(v)).decode()
                if k in ("traceId", "spanId", "parentSpanId")
                else to_base64(v)
                for k, v in node.items()
            }
        return [to_base64(v) for v in node] if isinstance(node, list) else node

    text = json.dumps(lines[1])
    assert '"STATUS_CODE_ERROR"' in text
    integer_codes = json.loads(text.replace('"STATUS_CODE_ERROR"', "2"))
    other = write_lines(tmp_path / "b64.jsonl", [to_base64(line) for line in lines[:1]] + [integer_codes] + lines[2:])
    assert summary(read(source, other)) == summary(read(source, SAMPLE))


# -- what a line can be ------------------------------------------------------------------------

TRACE = "5b8efff798038103d269b633813fc60c"
START = 1_763_197_200_000_000_000


def value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    return {"stringValue": v}


def span(span_id, name="execute_tool get_weather", parent=None, start=START, trace=TRACE, status=None, **attributes):
    out = {
        "traceId": trace,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 2_500_000),
        "attributes": [{"key": k.replace("__", "."), "value": value(v)} for k, v in attributes.items()],
    }
    if parent:
        out["parentSpanId"] = parent
    if status:
        out["status"] = status
    return out


def traces(*spans, service="svc"):
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}],
            }
        ]
    }


def tool_span(span_id, start=START, **attributes):
    attributes.setdefault("gen_ai__tool__call__arguments", '{"city": "Oslo"}')
    return span(
        span_id, start=start, gen_ai__operation__name="execute_tool", gen_ai__tool__name="get_weather", **attributes
    )


@pytest.mark.parametrize(
    ("line", "reason", "records"),
    [
        ("{torn", "malformed JSON", 1),
        ({}, "malformed record", 1),
        ({"resourceSpans": 5}, "malformed record", 1),
        ({"resourceSpans": [5]}, "malformed record", 1),
        ({"resourceSpans": [{"scopeSpans": "x"}]}, "malformed record", 1),
        ({"resourceSpans": [{"scopeSpans": [{"spans": {"a": 1}}]}]}, "malformed record", 1),
        (traces(7), "malformed span", 1),
        (traces(tool_span("zz")), "malformed span", 1),
        (traces(span("00f067aa0ba902b7", name="chat gpt")), "no tool calls", 0),  # a trace of context spans only
        (traces(span("00f067aa0ba902b7", name="execute_tool")), "malformed span", 1),  # no tool name
        (traces({**tool_span("00f067aa0ba902b7"), "startTimeUnixNano": "soon"}), "malformed span", 1),
        (
            traces(tool_span("00f067aa0ba902b7", gen_ai__tool__call__arguments="{'city': 1}")),
            "unparseable arguments",
            1,
        ),
        (traces(tool_span("00f067aa0ba902b7", gen_ai__tool__call__arguments="[1]")), "unparseable arguments", 1),
    ],
)
def test_each_unusable_unit_is_rejected_with_its_reason(source, tmp_path, line, reason, records):
    path = write_lines(tmp_path / "t.jsonl", [line])
    [item] = read(source, path)
    assert isinstance(item, Rejection), item
    assert (item.reason, item.records, item.stage) == (reason, records, "read")
    assert (item.locations[0].file, item.locations[0].line) == (str(path), 1)


def test_a_trace_that_lost_a_span_is_not_trained_on(source, tmp_path):
    line = traces(
        tool_span("00000000000000a1", start=START),
        tool_span("00000000000000a2", start=START + 10**9, gen_ai__tool__call__arguments="{oops"),
        tool_span("00000000000000a3", start=START + 2 * 10**9),
    )
    duplicate = traces(tool_span("00000000000000a1"))
    items = read(source, write_lines(tmp_path / "t.jsonl", [line, duplicate]))
    assert [(r.reason, r.records) for r in items] == [
        ("duplicate span", 1),
        ("unparseable arguments", 1),
        ("incomplete trace", 2),
    ]
    assert [loc.span_id for loc in items[2].locations] == ["00000000000000a1", "00000000000000a3"]
    assert items[0].locations[0].line == 2


def test_status_and_timing(source, tmp_path):
    line = traces(
        span(
            "00000000000000b0",
            name="invoke_agent helper",
            gen_ai__operation__name="invoke_agent",
            gen_ai__input__messages=json.dumps([{"role": "user", "content": "Check Oslo"}]),
        ),
        tool_span(
            "00000000000000b2",
            start=START + 5,
            parent="00000000000000b0",
            status={"code": "STATUS_CODE_ERROR", "message": "upstream 503"},
        ),
        tool_span(
            "00000000000000b1",
            start=START,
            parent="00000000000000b0",
            status={"code": 1},
            gen_ai__tool__call__result="plain text",
            gen_ai__tool__call__arguments="",
        ),
        service="helper-svc",
    )
    [trajectory] = read(source, write_lines(tmp_path / "t.jsonl", [line]))
    first, second = trajectory.invocations
    assert (first.invocation_id, first.status, first.result, first.parameters) == (
        "00000000000000b1",
        ToolStatus.SUCCESS,
        "plain text",
        {},
    )
    assert (second.status, second.error) == (ToolStatus.FAILURE, "upstream 503")  # no error.type: the status message
    assert first.latency_ms == 2.5
    assert trajectory.user_request == "Check Oslo" and trajectory.agent_name == "helper-svc"  # no gen_ai.agent.name


def test_traces_are_grouped_per_file(source, tmp_path):
    first = write_lines(tmp_path / "a.jsonl", [traces(tool_span("00000000000000c1"))])
    second = write_lines(tmp_path / "b.jsonl", [traces(tool_span("00000000000000c2", start=START + 1))])
    one, two = read(source, first, second)
    assert one.session_id == two.session_id == TRACE
    assert (one.trajectory_id, two.trajectory_id) == (TRACE, f"{TRACE}@{second}")
    [merged] = read(
        source,
        write_lines(
            tmp_path / "ab.jsonl",
            [traces(tool_span("00000000000000c2", start=START + 1)), traces(tool_span("00000000000000c1"))],
        ),
    )
    assert [inv.invocation_id for inv in merged.invocations] == ["00000000000000c1", "00000000000000c2"]


# -- fuzzing: nothing escapes read(), every record is accounted for -----------------------------

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


def is_tool(span) -> bool:
    """The documented rule, written again from the docstring."""
    if isinstance(span.get("name"), str) and span["name"].startswith("execute_tool"):
        return True
    attributes = span.get("attributes")
    if span.get("name") == "running tool" and isinstance(attributes, list) and any(
        isinstance(a, dict) and a.get("key") == "gen_ai.tool.name" for a in attributes
    ):
        return True
    return isinstance(attributes, list) and any(
        isinstance(a, dict)
        and a.get("key") == "gen_ai.operation.name"
        and isinstance(a.get("value"), dict)
        and a["value"].get("stringValue") == "execute_tool"
        for a in attributes
    )


def expected_records(data: bytes) -> int:
    """Tool spans, plus one per unit that cannot be read (the source's documented definition)."""
    total = 0
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError:
            total += 1
            continue
        if not isinstance(line, dict) or not isinstance(line.get("resourceSpans", 0), list):
            total += 1
            continue
        for resource in line["resourceSpans"]:
            scopes = resource.get("scopeSpans", []) if isinstance(resource, dict) else None
            if not isinstance(scopes, list):
                total += 1
                continue
            for scope in scopes:
                spans = scope.get("spans", []) if isinstance(scope, dict) else None
                if not isinstance(spans, list):
                    total += 1
                    continue
                total += sum(1 for s in spans if not isinstance(s, dict) or is_tool(s))
    return total


def assert_accounted(items, data: bytes) -> None:
    kept = rejected = 0
    for item in items:
        if isinstance(item, Trajectory):
            assert item.invocations and all(inv.location.span_id for inv in item.invocations)
            assert [inv.timestamp for inv in item.invocations] == sorted(inv.timestamp for inv in item.invocations)
            kept += len(item.invocations)
        else:
            assert isinstance(item, Rejection) and item.locations
            assert item.records >= (0 if item.reason == "no tool calls" else 1)
            rejected += item.records
    assert kept + rejected == expected_records(data)


@st.composite
def mutated(draw):
    """A real OTLP/JSON line with one value somewhere replaced by arbitrary JSON (or removed)."""
    line = copy.deepcopy(draw(st.sampled_from(SAMPLE_LINES)))
    node, path = line, []
    while isinstance(node, (dict, list)) and node and draw(st.integers(0, 7)):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        path.append((node, key))
        node = node[key]
    if path:
        parent, key = path[-1]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = draw(
                JSON | st.sampled_from(["execute_tool x", "STATUS_CODE_ERROR", 2, "{", "", "AAAAAAAAAAE="])
            )
    return line


@FUZZ
@given(st.lists(JSON | mutated() | st.sampled_from(SAMPLE_LINES), max_size=5))
def test_fuzz_arbitrary_and_mutated_lines(source, tmp_path, values):
    data = b"".join(orjson.dumps(v) + b"\n" for v in values)
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(data)
    assert_accounted(read(source, path), data)


@FUZZ
@given(st.data())
def test_fuzz_truncated_files(source, tmp_path, data):
    whole = SAMPLE.read_bytes() + data.draw(st.binary(max_size=40))
    cut = whole[: data.draw(st.integers(0, len(whole)))]
    path = tmp_path / "cut.jsonl"
    path.write_bytes(cut)
    assert_accounted(read(source, path), cut)


# -- the whole pipeline, two sources at once ------------------------------------------------------


def test_a_run_reads_claude_transcripts_and_otel_traces_at_once(manager, tmp_path):
    out = tmp_path / "run"
    config = parse_config(
        {
            "output_dir": str(out),
            "sources": [
                {"name": "anthropic-messages", "paths": [str(SAMPLES / "claude_transcripts.jsonl")]},
                {"name": "otel", "paths": [str(SAMPLES / "otel_*.jsonl")], "agent_name": "traced"},
            ],
            "describer": {"name": "source"},
            "trainer": {"min_examples": 1},
        }
    )
    result = asyncio.run(run(config, plugins=manager))
    assert result["status"] == "completed", result["message"]
    examples = [
        json.loads(line)
        for split in ("train", "val", "test")
        for line in (out / f"sft_{split}.jsonl").read_text().splitlines()
    ]
    # 6 conversations + 8 trajectories from traces, less the two failed bookings and the two
    # Berlin runs with one failed call in five (quality filter: 0.8 < 0.9). No duplicates: a
    # transcript's results are the text the model read, a trace's the recorded JSON.
    assert len(examples) == result["training_examples_count"] == 10
    assert sorted({e["metadata"]["source"] for e in examples}) == ["anthropic-messages", "otel"]
    assert {e["metadata"]["agent"] for e in examples} == {"travel-assistant", "traced"}
    prompts = "\n".join(e["prompt"] for e in examples)
    assert "Task: Find me a flight from Berlin to Lisbon on 2025-12-03" in prompts  # the user's own words
    assert 'Task: Use the get weather tool with city "Reykjavik"' in prompts  # no request in the trace: template
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    reasons = sorted(r["reason"] for r in rejects)
    assert reasons == ["awaiting tool results"] * 10 + ["below quality threshold"] * 4 + ["no tool calls"] * 2
    assert {r["locations"][0]["file"] for r in rejects} == {str(SAMPLES / "claude_transcripts.jsonl"), str(SAMPLE)}
    # Every tool call of a whole conversation or a trace is in an example or a rejection.
    kept_calls = sum(len(e["metadata"]["tool_sequence"]) for e in examples)
    filtered_calls = sum(r["records"] for r in rejects if r["reason"] in ("below quality threshold", "duplicate"))
    assert kept_calls + filtered_calls == 13 + 14  # tool calls of the six conversations + tool spans
