"""Writes the sample logs of this folder with the real SDKs, so they are what those SDKs produce.

    python examples/sources/make_samples.py          # rewrites the three files beside this script

- ``claude_transcripts.jsonl``: the ``anthropic`` SDK runs a small tool-use agent loop against an
  ``httpx2.MockTransport`` that answers in the Messages API's JSON. Each API call is logged as one
  line: the request body the SDK sent, and ``response.model_dump(mode="json")``. A conversation of
  three calls is therefore three lines, each longer than the last (the source keeps the last).
- ``openai_transcripts.jsonl``: the same with the ``openai`` SDK and Chat Completions.
- ``otel_traces.jsonl``: the same agent runs traced with ``opentelemetry-sdk`` (GenAI semantic
  conventions: ``invoke_agent`` / ``chat`` / ``execute_tool`` spans, the chat spans carrying
  ``gen_ai.output.messages``), exported through ``encode_spans`` + protobuf's ``MessageToDict`` as
  OTLP/JSON lines, ids turned from base64 into hex as the collector's file exporter writes them.
  Most lines use integer enums (the OTLP/JSON spec); one uses enum names, as some producers do; one
  trace is split over two lines. One run has pydantic-ai's layout and attributes: the request and
  the answer only in the agent span's ``pydantic_ai.all_messages`` / ``final_result``, a
  ``running tools`` span around the tools of one model response, and a tool that raises (the SDK
  records the exception event and the ERROR status) after recording the retry prompt as its result.

Everything is deterministic (fixed ids, clocks and answers), so rerunning gives the same files
for the same SDK versions. Needs: anthropic, openai, opentelemetry-sdk,
opentelemetry-exporter-otlp-proto-common.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
START = datetime(2025, 11, 15, 9, 0, tzinfo=timezone.utc)
CLAUDE_MODEL = "claude-haiku-4-5"
OPENAI_MODEL = "gpt-4.1-mini"
SYSTEM = "You are a travel assistant. Use the tools to answer; never guess values a tool can give."


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, Any]
    result: Any
    error: str | None = None  # the tool failed with this message


@dataclass(frozen=True)
class Scenario:
    conversation_id: str
    request: str
    steps: list[list[Call]] = field(default_factory=list)  # one list per assistant turn (parallel calls)
    answer: str = "Done."
    notes: tuple[str | None, ...] = ()  # what the assistant says in each turn, beside its calls

    def note(self, step: int) -> str | None:
        return self.notes[step] if step < len(self.notes) else None


SCENARIOS = [
    Scenario(
        "conv-weather-paris",
        "What's the weather in Paris right now? Should I pack an umbrella?",
        [[Call("get_weather", {"city": "Paris", "unit": "celsius"}, {"temperature": 14, "conditions": "light rain"})]],
        "It is 14 °C with light rain in Paris: pack an umbrella.",
    ),
    Scenario(
        "conv-lisbon-trip",
        "Find me a flight from Berlin to Lisbon on 2025-12-03, then book a hotel in Lisbon for 3 nights.",
        [
            [
                Call(
                    "search_flights",
                    {"origin": "BER", "destination": "LIS", "date": "2025-12-03"},
                    {"flights": [{"number": "TP541", "departs": "07:05", "price_eur": 189}]},
                )
            ],
            [
                Call(
                    "book_hotel",
                    {"city": "Lisbon", "nights": 3, "check_in": "2025-12-03"},
                    {"confirmation": "HX-20931", "hotel": "Casa do Rio"},
                )
            ],
        ],
        "Flight TP541 leaves at 07:05 (189 EUR); Casa do Rio is booked for 3 nights (HX-20931).",
        ("I'll look for flights first.", "TP541 fits; now the hotel."),
    ),
    Scenario(
        "conv-currency-email",
        "Convert 250 USD to EUR and email the amount to ana@example.com.",
        [
            [
                Call(
                    "convert_currency",
                    {"amount": 250, "from_currency": "USD", "to_currency": "EUR"},
                    {"amount": 231.75, "rate": 0.927},
                )
            ],
            [
                Call(
                    "send_email",
                    {"to": "ana@example.com", "subject": "250 USD in EUR", "body": "250 USD is 231.75 EUR."},
                    {"sent": True},
                )
            ],
        ],
        "250 USD is 231.75 EUR; I emailed it to ana@example.com.",
    ),
    Scenario(
        "conv-atlantis-hotel",
        "Book a hotel in Atlantis for 2 nights starting 2026-01-10.",
        [
            [
                Call(
                    "book_hotel",
                    {"city": "Atlantis", "nights": 2, "check_in": "2026-01-10"},
                    None,
                    error="HotelNotFound: no hotels found in Atlantis",
                )
            ]
        ],
        "I could not find any hotel in Atlantis.",
    ),
    Scenario(
        "conv-weather-japan",
        "Compare today's weather in Tokyo and Osaka.",
        [
            [
                Call("get_weather", {"city": "Tokyo", "unit": "celsius"}, {"temperature": 11, "conditions": "clear"}),
                Call("get_weather", {"city": "Osaka", "unit": "celsius"}, {"temperature": 13, "conditions": "cloudy"}),
            ]
        ],
        "Tokyo is clear at 11 °C; Osaka is cloudy at 13 °C.",
        ("Checking both cities at once.",),
    ),
    Scenario(
        "conv-berlin-weekend",
        "Check the weather in Berlin and Munich, convert 120 EUR to USD, then book a hotel for 2 nights "
        "from 2025-12-12 in whichever city is warmer.",
        [
            [
                Call(
                    "get_weather",
                    {"city": "Berlin", "unit": "kelvin"},
                    None,
                    error="ValueError: unit must be celsius or fahrenheit",
                ),
                Call("get_weather", {"city": "Munich", "unit": "celsius"}, {"temperature": 6, "conditions": "sunny"}),
            ],
            [Call("get_weather", {"city": "Berlin", "unit": "celsius"}, {"temperature": 4, "conditions": "overcast"})],
            [
                Call("convert_currency", {"amount": 120, "from_currency": "EUR", "to_currency": "USD"},
                     {"amount": 129.6, "rate": 1.08}),
                Call("book_hotel", {"city": "Munich", "nights": 2, "check_in": "2025-12-12"},
                     {"confirmation": "HX-31877", "hotel": "Isar Hof"}),
            ],
        ],
        "Munich is warmer (6 °C and sunny; Berlin 4 °C, overcast), so Isar Hof in Munich is booked for 2 nights "
        "from 2025-12-12 (HX-31877). 120 EUR is 129.60 USD.",
        ("Checking both cities first.", "Kelvin is not accepted; asking for Berlin in celsius.", None),
    ),
    Scenario("conv-greeting", "How do I say good morning in French?", [], "Bonjour!"),
]

TOOLS = [
    (
        "get_weather",
        "Current weather for a city.",
        {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    ),
    (
        "search_flights",
        "Flights between two airports on a date.",
        {
            "type": "object",
            "properties": {"origin": {"type": "string"}, "destination": {"type": "string"}, "date": {"type": "string"}},
            "required": ["origin", "destination", "date"],
        },
    ),
    (
        "book_hotel",
        "Book a hotel room.",
        {
            "type": "object",
            "properties": {"city": {"type": "string"}, "nights": {"type": "integer"}, "check_in": {"type": "string"}},
            "required": ["city", "nights"],
        },
    ),
    (
        "convert_currency",
        "Convert an amount between currencies.",
        {
            "type": "object",
            "properties": {
                "amount": {"type": "number"},
                "from_currency": {"type": "string"},
                "to_currency": {"type": "string"},
            },
            "required": ["amount", "from_currency", "to_currency"],
        },
    ),
    (
        "send_email",
        "Send an email.",
        {
            "type": "object",
            "properties": {"to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"}},
            "required": ["to", "subject", "body"],
        },
    ),
]


def _id(prefix: str, *parts: object, size: int = 24) -> str:
    return prefix + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:size]


def _scenario_of(first_user_text: str) -> Scenario:
    return next(s for s in SCENARIOS if s.request == first_user_text)


def _tool_output(call: Call) -> str:
    return call.error if call.error else json.dumps(call.result)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


# -- Claude Messages API ---------------------------------------------------------------------------


def _claude_handler(sent: list[dict[str, Any]]):
    import httpx2

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        sent.append(body)
        first = body["messages"][0]["content"]
        scenario = _scenario_of(first if isinstance(first, str) else first[0]["text"])
        step = sum(1 for m in body["messages"] if m["role"] == "assistant")
        message_id = _id("msg_", scenario.conversation_id, step)
        if step < len(scenario.steps):
            note = scenario.note(step)
            content = [{"type": "text", "text": note}] if note else []
            content += [
                {
                    "type": "tool_use",
                    "id": _id("toolu_", scenario.conversation_id, step, i),
                    "name": c.name,
                    "input": c.arguments,
                }
                for i, c in enumerate(scenario.steps[step])
            ]
            stop = "tool_use"
        else:
            content, stop = [{"type": "text", "text": scenario.answer}], "end_turn"
        return httpx2.Response(
            200,
            json={
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": 40 + 25 * step, "output_tokens": 18},
            },
        )

    return handler


def claude_transcripts() -> list[dict[str, Any]]:
    """One line per Messages API call: the body the SDK sent, and the SDK's response object."""
    import anthropic
    import httpx2

    sent: list[dict[str, Any]] = []
    client = anthropic.Anthropic(
        api_key="test", http_client=httpx2.Client(transport=httpx2.MockTransport(_claude_handler(sent)))
    )
    tools = [{"name": n, "description": d, "input_schema": s} for n, d, s in TOOLS]
    rows = []
    for index, scenario in enumerate(SCENARIOS):
        messages: list[dict[str, Any]] = [{"role": "user", "content": scenario.request}]
        for turn in range(8):
            response = client.messages.create(
                model=CLAUDE_MODEL, max_tokens=1024, system=SYSTEM, tools=tools, messages=messages
            )
            rows.append(
                {
                    "metadata": {"conversation_id": scenario.conversation_id, "agent_name": "travel-assistant"},
                    "timestamp": (START + timedelta(minutes=10 * index, seconds=turn)).isoformat(),
                    "request": sent[-1],
                    "response": response.model_dump(mode="json"),
                }
            )
            if response.stop_reason != "tool_use":
                break
            messages.append({"role": "assistant", "content": response.content})
            calls = {(c.name, json.dumps(c.arguments, sort_keys=True)): c for c in scenario.steps[turn]}
            results = []
            for block in response.content:
                if block.type != "tool_use":
                    continue
                call = calls[(block.name, json.dumps(block.input, sort_keys=True))]
                result = {"type": "tool_result", "tool_use_id": block.id, "content": _tool_output(call)}
                if call.error:
                    result["is_error"] = True
                results.append(result)
            messages.append({"role": "user", "content": results})
    return rows


# -- OpenAI Chat Completions -----------------------------------------------------------------------


def _openai_handler(sent: list[dict[str, Any]]):
    import httpx2

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        sent.append(body)
        scenario = _scenario_of(next(m["content"] for m in body["messages"] if m["role"] == "user"))
        step = sum(1 for m in body["messages"] if m["role"] == "assistant")
        index = SCENARIOS.index(scenario)
        if step < len(scenario.steps):
            message = {
                "role": "assistant",
                "content": scenario.note(step),
                "refusal": None,
                "tool_calls": [
                    {
                        "id": _id("call_", scenario.conversation_id, step, i),
                        "type": "function",
                        "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                    }
                    for i, c in enumerate(scenario.steps[step])
                ],
            }
            finish = "tool_calls"
        else:
            message, finish = {"role": "assistant", "content": scenario.answer, "refusal": None}, "stop"
        return httpx2.Response(
            200,
            json={
                "id": _id("chatcmpl-", scenario.conversation_id, step),
                "object": "chat.completion",
                "created": int((START + timedelta(minutes=10 * index, seconds=step)).timestamp()),
                "model": body["model"],
                "system_fingerprint": "fp_sample",
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": {"prompt_tokens": 60 + 30 * step, "completion_tokens": 20, "total_tokens": 80 + 30 * step},
            },
        )

    return handler


def openai_transcripts() -> list[dict[str, Any]]:
    """One line per chat.completions call: the body the SDK sent, and the SDK's response object.
    Lines carry the conversation as ``id`` and no agent name (the model becomes the agent)."""
    import httpx2
    import openai

    sent: list[dict[str, Any]] = []
    client = openai.OpenAI(
        api_key="test", http_client=httpx2.Client(transport=httpx2.MockTransport(_openai_handler(sent)))
    )
    tools = [{"type": "function", "function": {"name": n, "description": d, "parameters": s}} for n, d, s in TOOLS]
    rows = []
    for scenario in SCENARIOS:
        messages: list[Any] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": scenario.request}]
        for turn in range(8):
            response = client.chat.completions.create(model=OPENAI_MODEL, messages=messages, tools=tools)
            rows.append(
                {"id": scenario.conversation_id, "request": sent[-1], "response": response.model_dump(mode="json")}
            )
            message = response.choices[0].message
            if not message.tool_calls:
                break
            messages.append(message)
            calls = {(c.name, json.dumps(c.arguments, sort_keys=True)): c for c in scenario.steps[turn]}
            for tool_call in message.tool_calls:
                key = (tool_call.function.name, json.dumps(json.loads(tool_call.function.arguments), sort_keys=True))
                messages.append({"role": "tool", "tool_call_id": tool_call.id, "content": _tool_output(calls[key])})
    return rows


# -- OpenTelemetry ---------------------------------------------------------------------------------


def _sequential_ids(seed: int):
    """Deterministic trace and span ids, through the SDK's IdGenerator interface."""
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    class SequentialIds(IdGenerator):
        def __init__(self) -> None:
            self.trace, self.span = seed << 64, seed << 32

        def generate_trace_id(self) -> int:
            self.trace += 1
            return self.trace

        def generate_span_id(self) -> int:
            self.span += 1
            return self.span

        def is_trace_id_random(self) -> bool:
            return False

    return SequentialIds()


class _Clock:
    def __init__(self, start: datetime):
        self.now = int(start.timestamp()) * 10**9

    def tick(self, ms: float) -> int:
        self.now += int(ms * 1e6)
        return self.now


@contextlib.contextmanager
def _span(
    tracer, clock: _Clock, name: str, attributes: dict[str, Any], kind=None, error: tuple[str, str] | None = None
) -> Iterator[Any]:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    with tracer.start_as_current_span(
        name, kind=kind or SpanKind.INTERNAL, attributes=attributes, start_time=clock.tick(1), end_on_exit=False
    ) as span:
        yield span
        if error is not None:
            span.set_attribute("error.type", error[0])
            span.set_status(Status(StatusCode.ERROR, error[1]))
    span.end(end_time=clock.tick(3))


def _agent_run(
    tracer, clock: _Clock, agent: str, scenario: Scenario, model: str = OPENAI_MODEL, tool_definitions: bool = False
) -> None:
    """The spans a GenAI-instrumented agent framework makes for one run (pydantic-ai's layout)."""
    from opentelemetry.trace import SpanKind

    attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": agent,
        "gen_ai.conversation.id": scenario.conversation_id,
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": scenario.request}]}]
        ),
    }
    if tool_definitions:
        attributes["gen_ai.tool.definitions"] = json.dumps(
            [{"type": "function", "name": n, "description": d, "parameters": s} for n, d, s in TOOLS]
        )
    with _span(tracer, clock, f"invoke_agent {agent}", attributes):
        for step, calls in enumerate(scenario.steps):
            with _span(
                tracer,
                clock,
                f"chat {model}",
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": model,
                    "gen_ai.output.messages": json.dumps([_assistant_message(scenario, step)]),
                },
                SpanKind.CLIENT,
            ):
                clock.tick(420)
            for i, call in enumerate(calls):
                tool_attributes = {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": call.name,
                    "gen_ai.tool.call.id": _id("call_", scenario.conversation_id, step, i),
                    "gen_ai.tool.call.arguments": json.dumps(call.arguments),
                }
                if not call.error:
                    tool_attributes["gen_ai.tool.call.result"] = json.dumps(call.result)
                error = tuple(call.error.split(": ", 1)) if call.error else None
                with _span(tracer, clock, f"execute_tool {call.name}", tool_attributes, error=error):
                    clock.tick(35 + 10 * i)
        with _span(
            tracer,
            clock,
            f"chat {model}",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                "gen_ai.output.messages": json.dumps([_assistant_message(scenario, len(scenario.steps))]),
            },
            SpanKind.CLIENT,
        ):
            clock.tick(380)


def _assistant_message(scenario: Scenario, step: int) -> dict[str, Any]:
    """The model's response before ``step`` (its note and calls), or its answer after the last
    step, as a GenAI semantic-convention output message."""
    if step >= len(scenario.steps):
        return {"role": "assistant", "parts": [{"type": "text", "content": scenario.answer}], "finish_reason": "stop"}
    note = scenario.note(step)
    parts: list[dict[str, Any]] = [{"type": "text", "content": note}] if note else []
    parts += [
        {"type": "tool_call", "id": _id("call_", scenario.conversation_id, step, i), "name": c.name, "arguments": c.arguments}
        for i, c in enumerate(scenario.steps[step])
    ]
    return {"role": "assistant", "parts": parts, "finish_reason": "tool_call"}


class ToolRetryError(Exception):
    """Stands for pydantic-ai's exception of the same name (a tool asked the model to retry)."""


def _pydantic_ai_run(tracer, clock: _Clock, agent: str, scenario: Scenario, model: str = OPENAI_MODEL) -> None:
    """One agent run as pydantic-ai (instrumentation version 3+) traces it: the agent span carries
    the run's messages only in ``pydantic_ai.all_messages`` (set when the run ends) and its output
    in ``final_result``; each model request is a ``chat`` span, the tools it asked for run inside
    a ``running tools`` span after it; a tool that fails records the retry prompt as its result
    and raises, so the SDK records the exception and sets the ERROR status."""
    from opentelemetry.trace import SpanKind, Status, StatusCode

    messages: list[dict[str, Any]] = [{"role": "user", "parts": [{"type": "text", "content": scenario.request}]}]
    with _span(
        tracer, clock, f"invoke_agent {agent}", {"gen_ai.agent.name": agent, "gen_ai.operation.name": "invoke_agent"}
    ) as run:
        for step in range(len(scenario.steps) + 1):
            response = _assistant_message(scenario, step)
            with _span(
                tracer,
                clock,
                f"chat {model}",
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": model,
                    "gen_ai.input.messages": json.dumps(messages),
                    "gen_ai.output.messages": json.dumps([response]),
                },
                SpanKind.CLIENT,
            ):
                clock.tick(400)
            messages.append({k: v for k, v in response.items() if k != "finish_reason"})
            if step == len(scenario.steps):
                break
            returns = []
            calls = scenario.steps[step]
            with _span(
                tracer, clock, "running tools", {"tools": [c.name for c in calls], "logfire.msg": f"running {len(calls)} tools"}
            ):
                for i, call in enumerate(calls):
                    call_id = _id("call_", scenario.conversation_id, step, i)
                    span = tracer.start_span(
                        f"execute_tool {call.name}",
                        attributes={
                            "gen_ai.tool.name": call.name,
                            "gen_ai.tool.call.id": call_id,
                            "gen_ai.tool.call.arguments": json.dumps(call.arguments),
                            "logfire.msg": f"running tool: {call.name}",
                        },
                        start_time=clock.tick(1),
                    )
                    clock.tick(30 + 10 * i)
                    if call.error:
                        retry = f"{call.error.split(': ', 1)[1]}\n\nFix the errors and try again."
                        span.set_attribute("gen_ai.tool.call.result", retry)
                        error = ToolRetryError(call.error.split(": ", 1)[1])
                        span.record_exception(error, timestamp=clock.tick(1))
                        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
                        returns.append({"type": "tool_call_response", "id": call_id, "name": call.name, "result": retry})
                    else:
                        span.set_attribute("gen_ai.tool.call.result", json.dumps(call.result))
                        returns.append(
                            {"type": "tool_call_response", "id": call_id, "name": call.name, "result": call.result}
                        )
                    span.end(end_time=clock.tick(1))
            messages.append({"role": "user", "parts": returns})
        run.set_attribute("pydantic_ai.all_messages", json.dumps(messages))
        run.set_attribute("final_result", scenario.answer)


def _hex_ids(node: Any) -> Any:
    """MessageToDict writes bytes fields in base64; OTLP/JSON files carry ids in hex."""
    if isinstance(node, dict):
        return {
            k: base64.b64decode(v).hex()
            if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str)
            else _hex_ids(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def _traces_data(spans, integer_enums: bool = True) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return _hex_ids(MessageToDict(encode_spans(spans), use_integers_for_enums=integer_enums))


def otel_traces() -> list[dict[str, Any]]:
    """OTLP/JSON lines (TracesData) of seven traced agent runs and one cron job's tool calls."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        InMemorySpanExporter,
    )

    exporter = InMemorySpanExporter()

    def tracer_for(service: str, seed: int):
        provider = TracerProvider(resource=Resource({"service.name": service}), id_generator=_sequential_ids(seed))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return provider.get_tracer("deepeyes.samples", "1.0")

    def batch() -> tuple:
        spans = exporter.get_finished_spans()
        exporter.clear()
        return spans

    tracer, clock = tracer_for("travel-service", 1), _Clock(START)
    by_id = {s.conversation_id: s for s in SCENARIOS}
    lines = []
    # Line 1: two runs, integer enums (what the collector's file exporter writes).
    _agent_run(tracer, clock, "travel-assistant", by_id["conv-weather-paris"], tool_definitions=True)
    _agent_run(tracer, clock, "travel-assistant", by_id["conv-lisbon-trip"])
    lines.append(_traces_data(batch()))
    # Line 2: a failing tool call, enum names (what MessageToDict writes by default).
    _agent_run(tracer, clock, "travel-assistant", by_id["conv-atlantis-hotel"])
    lines.append(_traces_data(batch(), integer_enums=False))
    # Lines 3-4: a planner agent hands the two halves of a request to two sub-agents; the trace's
    # spans are split over two batches.
    planner = by_id["conv-currency-email"]
    with _span(
        tracer,
        clock,
        "invoke_agent planner",
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "planner",
            "gen_ai.input.messages": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": planner.request}]}]
            ),
        },
    ):
        _agent_run(
            tracer, clock, "currency-agent", Scenario("conv-currency", "Convert 250 USD to EUR.", planner.steps[:1], "250 USD is 231.75 EUR.")
        )
        first_half = batch()
        _agent_run(
            tracer,
            clock,
            "mail-agent",
            Scenario(
                "conv-mail",
                "Email ana@example.com the converted amount.",
                planner.steps[1:],
                "I emailed ana@example.com that 250 USD is 231.75 EUR.",
            ),
        )
    lines.append(_traces_data(first_half))
    lines.append(_traces_data(batch()))
    # Line 5: parallel tool calls, and a run that called no tool.
    _agent_run(tracer, clock, "travel-assistant", by_id["conv-weather-japan"])
    _agent_run(tracer, clock, "travel-assistant", by_id["conv-greeting"])
    lines.append(_traces_data(batch()))
    # Line 6: pydantic-ai's layout: a failed call beside a parallel one, then a retry, then two
    # calls at once; the request and answer only in pydantic_ai.all_messages / final_result.
    _pydantic_ai_run(tracer, clock, "travel-assistant", by_id["conv-berlin-weekend"])
    lines.append(_traces_data(batch()))
    # Line 7: a job with no agent framework: tool spans only, named by the resource's service.name.
    cron = tracer_for("weather-cron", 2)
    with _span(cron, clock, "refresh", {}):
        with _span(
            cron,
            clock,
            "execute_tool get_weather",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.call.arguments": json.dumps({"city": "Reykjavik", "unit": "celsius"}),
                "gen_ai.tool.call.result": json.dumps({"temperature": -2, "conditions": "snow"}),
            },
        ):
            clock.tick(50)
    lines.append(_traces_data(batch()))
    return lines


def write_samples(folder: Path = HERE) -> dict[str, Path]:
    """Write the three sample files into ``folder``; returns their paths by format."""
    files = {
        "anthropic-messages": folder / "claude_transcripts.jsonl",
        "openai-chat": folder / "openai_transcripts.jsonl",
        "otel": folder / "otel_traces.jsonl",
    }
    _write_jsonl(files["anthropic-messages"], claude_transcripts())
    _write_jsonl(files["openai-chat"], openai_transcripts())
    folder.joinpath(files["otel"].name).write_text(
        "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in otel_traces()), encoding="utf-8"
    )
    return files


if __name__ == "__main__":
    for name, path in write_samples().items():
        print(f"{name}: {path} ({sum(1 for _ in path.open())} lines)")
