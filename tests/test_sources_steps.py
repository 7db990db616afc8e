"""Every source gives examples as the trajectories happened: its turns (parallel calls together, with
the assistant's text), each call's real result or error, and the agent's final answer.

Each test runs a source's own input through ``TrajectoryCollector.stream_examples`` and looks at
the resulting TrainingExamples' ``steps`` and ``final_answer``. The OpenTelemetry case reads the
sample that ``examples/sources/make_samples.py`` makes with the real SDK in pydantic-ai's layout.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from deepeyes_core import Rejection, TrajectoryCollector
from deepeyes_core.baseline import read_invocations

ROOT = Path(__file__).resolve().parent.parent
OTEL_SAMPLE = ROOT / "examples" / "sources" / "otel_traces.jsonl"

REQUEST = "Weather in Oslo and Bergen, then in Tromsø?"
ANSWER = "Oslo 3 °C, Bergen 7 °C, Tromsø -4 °C."


def examples(plugins, source_name, path, **options):
    source = plugins.build("trajectory_source", source_name, options)
    rejected = []
    collector = TrajectoryCollector(quality_threshold=0.0, on_reject=rejected.append)
    found = asyncio.run(collector.stream_examples(source.read([Path(path)])))
    return found, rejected


def shape(example):
    """(calls per step, step texts, per call: name, result text, is_error, error text)."""
    return (
        [len(step.calls) for step in example.steps],
        [step.text for step in example.steps],
        [
            (call.name, call.result.content, call.result.is_error, call.result.error)
            for step in example.steps
            for call in step.calls
        ],
    )


def write(tmp_path, name, records):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


# -- anthropic-messages ----------------------------------------------------------------------------


def claude_conversation(final=ANSWER):
    messages = [
        {"role": "user", "content": REQUEST},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Both at once."},
                {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "tu_2", "name": "get_weather", "input": {"city": "Bergen"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "tu_1", "content": "3 °C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "tu_2",
                    "content": [{"type": "text", "text": "upstream timeout"}],
                    "is_error": True,
                },
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "tu_3", "name": "get_weather", "input": {"city": "Tromsø"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu_3", "content": "-4 °C"}]},
    ]
    if final is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": final}]})
    return {"id": "c1", "model": "claude-haiku-4-5", "messages": messages}


def test_anthropic_messages_steps_results_errors_and_answer(plugins, tmp_path):
    [example], rejected = examples(plugins, "anthropic-messages", write(tmp_path, "c.jsonl", [claude_conversation()]))
    assert rejected == []
    assert shape(example) == (
        [2, 1],
        ["Both at once.", None],
        [
            ("get_weather", "3 °C", False, None),
            ("get_weather", None, True, "upstream timeout"),  # is_error: its content is the error text
            ("get_weather", "-4 °C", False, None),
        ],
    )
    assert example.final_answer == ANSWER and example.user_request == REQUEST
    assert example.success is False  # one call failed


def test_anthropic_messages_ending_on_tool_results_has_no_answer(plugins, tmp_path):
    [example], _ = examples(plugins, "anthropic-messages", write(tmp_path, "c.jsonl", [claude_conversation(None)]))
    assert example.final_answer is None and [len(s.calls) for s in example.steps] == [2, 1]


# -- openai-chat -----------------------------------------------------------------------------------


def openai_call(call_id, city):
    return {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": json.dumps({"city": city})}}


def openai_conversation(final=ANSWER):
    messages = [
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": REQUEST},
        {"role": "assistant", "content": "Both at once.", "tool_calls": [openai_call("c_1", "Oslo"), openai_call("c_2", "Bergen")]},
        {"role": "tool", "tool_call_id": "c_1", "content": "3 °C"},
        {"role": "tool", "tool_call_id": "c_2", "content": "upstream timeout", "is_error": True},
        {"role": "assistant", "content": None, "tool_calls": [openai_call("c_3", "Tromsø")]},
        {"role": "tool", "tool_call_id": "c_3", "content": [{"type": "text", "text": "-4 °C"}]},
    ]
    if final is not None:
        messages.append({"role": "assistant", "content": final})
    return {"id": "o1", "model": "gpt-4.1-mini", "messages": messages}


def test_openai_chat_steps_results_errors_and_answer(plugins, tmp_path):
    [example], rejected = examples(plugins, "openai-chat", write(tmp_path, "o.jsonl", [openai_conversation()]))
    assert rejected == []
    assert shape(example) == (
        [2, 1],
        ["Both at once.", None],
        [
            ("get_weather", "3 °C", False, None),
            ("get_weather", None, True, "upstream timeout"),  # a logger's is_error flag
            ("get_weather", "-4 °C", False, None),
        ],
    )
    assert example.final_answer == ANSWER


def test_openai_chat_without_a_failure_flag_reads_every_call_as_done(plugins, tmp_path):
    line = openai_conversation(None)
    del line["messages"][4]["is_error"]  # Chat Completions itself has no failure flag
    [example], _ = examples(plugins, "openai-chat", write(tmp_path, "o.jsonl", [line]))
    assert [c.result.is_error for s in example.steps for c in s.calls] == [False, False, False]
    assert example.steps[0].calls[1].result.content == "upstream timeout"
    assert example.final_answer is None  # ends on tool messages


# -- otel ------------------------------------------------------------------------------------------


def test_otel_pydantic_ai_run_made_with_the_sdk(plugins):
    found, _ = examples(plugins, "otel", OTEL_SAMPLE)
    [berlin] = [e for e in found if (e.user_request or "").startswith("Check the weather in Berlin")]
    steps, texts, calls = shape(berlin)
    assert steps == [2, 1, 2]
    assert texts == ["Checking both cities first.", "Kelvin is not accepted; asking for Berlin in celsius.", None]
    assert calls[0] == (
        "get_weather",
        "unit must be celsius or fahrenheit\n\nFix the errors and try again.",  # what the model got back
        True,
        "ToolRetryError: unit must be celsius or fahrenheit",
    )
    assert calls[1] == ("get_weather", '{"conditions":"sunny","temperature":6}', False, None)
    assert [c[0] for c in calls[2:]] == ["get_weather", "convert_currency", "book_hotel"]
    assert berlin.final_answer.startswith("Munich is warmer (6 °C and sunny")


TRACE = "5b8efff798038103d269b633813fc60c"
START = 1_763_197_200_000_000_000


def value(v):
    return {"stringValue": v if isinstance(v, str) else json.dumps(v)}


def span(span_id, name, parent=None, start=0, status=None, events=None, **attributes):
    out = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(START + start * 1_000_000),
        "endTimeUnixNano": str(START + start * 1_000_000 + 500_000),
        "attributes": [{"key": k.replace("__", "."), "value": value(v)} for k, v in attributes.items()],
    }
    if parent:
        out["parentSpanId"] = parent
    if status:
        out["status"] = status
    if events:
        out["events"] = events
    return out


def traces(*spans):
    return {"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]}


def tool_call_part(call_id, city):
    return {"type": "tool_call", "id": call_id, "name": "get_weather", "arguments": {"city": city}}


def test_otel_pydantic_ai_version_2_names_and_texts_from_all_messages(plugins, tmp_path):
    """``agent run`` / ``running tool`` spans, ``tool_arguments`` / ``tool_response``, no output
    messages on the chat spans: turns and texts come from ``pydantic_ai.all_messages``; a failed
    span without a status message takes the exception event's text."""
    all_messages = [
        {"role": "user", "parts": [{"type": "text", "content": REQUEST}]},
        {"role": "assistant", "parts": [{"type": "text", "content": "Both at once."}, tool_call_part("p1", "Oslo"), tool_call_part("p2", "Bergen")]},
        {"role": "user", "parts": [{"type": "tool_call_response", "id": "p1", "result": "3 °C"}]},
        {"role": "assistant", "parts": [tool_call_part("p3", "Tromsø")]},
        {"role": "user", "parts": [{"type": "tool_call_response", "id": "p3", "result": "-4 °C"}]},
        {"role": "assistant", "parts": [{"type": "text", "content": ANSWER}]},
    ]
    agent = "00000000000000a0"

    def tool(span_id, start, call_id, city, result=None, **extra):
        attributes = {"gen_ai__tool__name": "get_weather", "gen_ai__tool__call__id": call_id, "tool_arguments": {"city": city}}
        if result is not None:
            attributes["tool_response"] = result
        return span(span_id, "running tool", parent=agent, start=start, **attributes, **extra)

    exception = {
        "name": "exception",
        "attributes": [
            {"key": "exception.type", "value": {"stringValue": "TimeoutError"}},
            {"key": "exception.message", "value": {"stringValue": "upstream timeout"}},
        ],
    }
    line = traces(
        span(agent, "agent run", agent_name="weather", pydantic_ai__all_messages=all_messages, final_result=ANSWER),
        tool("00000000000000a1", 10, "p1", "Oslo", "3 °C"),
        tool("00000000000000a2", 11, "p2", "Bergen", status={"code": 2}, events=[exception]),
        tool("00000000000000a3", 20, "p3", "Tromsø", "-4 °C"),
    )
    [example], rejected = examples(plugins, "otel", write(tmp_path, "t.jsonl", [line]))
    assert [r.reason for r in rejected] == []
    assert shape(example) == (
        [2, 1],
        ["Both at once.", None],
        [
            ("get_weather", "3 °C", False, None),
            ("get_weather", None, True, "TimeoutError: upstream timeout"),
            ("get_weather", "-4 °C", False, None),
        ],
    )
    assert (example.user_request, example.final_answer, example.agent) == (REQUEST, ANSWER, "weather")


def test_otel_tools_nested_in_their_chat_span_and_the_older_prompt_attributes(plugins, tmp_path):
    """Tool spans that are children of the chat span that asked for them; the request in the
    flattened ``gen_ai.prompt.<i>`` attributes of the first chat span; the answer in the last."""
    line = traces(
        span("00000000000000b0", "invoke_agent helper", gen_ai__operation__name="invoke_agent"),
        span(
            "00000000000000b1", "chat gpt", parent="00000000000000b0", start=1,
            gen_ai__prompt__0__role="system", gen_ai__prompt__0__content="Be brief.",
            gen_ai__prompt__1__role="user", gen_ai__prompt__1__content=REQUEST,
        ),
        span("00000000000000c1", "execute_tool get_weather", parent="00000000000000b1", start=2,
             gen_ai__tool__name="get_weather", gen_ai__tool__call__arguments={"city": "Oslo"}, gen_ai__tool__call__result="3 °C"),
        span("00000000000000c2", "execute_tool get_weather", parent="00000000000000b1", start=3,
             gen_ai__tool__name="get_weather", gen_ai__tool__call__arguments={"city": "Bergen"},
             status={"code": "STATUS_CODE_ERROR", "message": "upstream timeout"}),
        span("00000000000000b2", "chat gpt", parent="00000000000000b0", start=4,
             gen_ai__output__messages=[{"role": "assistant", "parts": [tool_call_part("x", "Tromsø")]}]),
        span("00000000000000c3", "execute_tool get_weather", parent="00000000000000b2", start=5,
             gen_ai__tool__name="get_weather", gen_ai__tool__call__arguments={"city": "Tromsø"}, gen_ai__tool__call__result="-4 °C"),
        span("00000000000000b3", "chat gpt", parent="00000000000000b0", start=6,
             gen_ai__output__messages=[{"role": "assistant", "parts": [{"type": "text", "content": ANSWER}]}]),
    )
    [example], _ = examples(plugins, "otel", write(tmp_path, "t.jsonl", [line]))
    assert shape(example)[0] == [2, 1]
    assert shape(example)[2][1] == ("get_weather", None, True, "upstream timeout")
    assert (example.user_request, example.final_answer) == (REQUEST, ANSWER)


def test_otel_describer_source_uses_the_request_from_all_messages(plugins):
    """The ``source`` describer takes the user's words from pydantic_ai.all_messages (it fell back
    to the template when only gen_ai.input.messages was read)."""
    source = plugins.build("trajectory_source", "otel")
    describer = plugins.build("task_describer", "source")
    collector = TrajectoryCollector(quality_threshold=0.0, describer=describer)
    found = asyncio.run(collector.stream_examples(source.read([OTEL_SAMPLE])))
    [berlin] = [e for e in found if e.tool_sequence[:2] == ("get_weather", "get_weather") and len(e.tool_sequence) == 5]
    assert berlin.task_description.startswith("Check the weather in Berlin and Munich")


# -- baseline --------------------------------------------------------------------------------------


def log_line(tool, at, step=None, **extra):
    line = {
        "tool_name": tool,
        "agent_name": "A",
        "session_id": "s1",
        "timestamp": f"2025-11-15T09:00:0{at}+00:00",
        "parameters": {"n": at},
        "result": {"at": at},
        **extra,
    }
    if step is not None:
        line["step_id"] = step
    return line


def test_baseline_step_id_groups_calls_made_together(plugins, tmp_path):
    path = write(
        tmp_path,
        "invocations.jsonl",
        [
            log_line("search", 1, "t1"),
            log_line("search", 2, "t1", status="FAILURE", error="rate limited", result=None),  # converter's path
            log_line("fetch", 3),
            log_line("summarise", 4, "t2"),
        ],
    )
    read = list(read_invocations(path))
    assert [i.step_id for i in read] == ["t1", "t1", None, "t2"]
    [example], _ = examples(plugins, "baseline", path)
    assert shape(example) == (
        [2, 1, 1],
        [None, None, None],
        [
            ("search", '{"at":1}', False, None),
            ("search", None, True, "rate limited"),
            ("fetch", '{"at":3}', False, None),
            ("summarise", '{"at":4}', False, None),
        ],
    )
    assert example.final_answer is None  # a call log has no answer


@pytest.mark.parametrize("bad", [7, ["t1"], {"id": "t1"}])
def test_baseline_step_id_of_another_type_is_rejected_naming_the_field(tmp_path, bad):
    path = write(tmp_path, "invocations.jsonl", [{**log_line("search", 1), "step_id": bad}])
    [item] = read_invocations(path)
    assert isinstance(item, Rejection) and item.reason == "malformed record" and "step_id" in item.detail


def test_baseline_parent_id_is_not_a_step(tmp_path):
    path = write(tmp_path, "invocations.jsonl", [log_line("a", 1, parent_id="run"), log_line("b", 2, parent_id="run")])
    assert [i.step_id for i in read_invocations(path)] == [None, None]
