"""Writes the OpenAI Responses API and OpenAI Agents SDK samples of this folder with the real SDKs.

    python examples/sources/make_openai_samples.py    # rewrites the two files beside this script

Needs ``openai`` (the project's ``test`` extra) and, for the Agents SDK sample, ``openai-agents``,
which is no dependency of deepeyes; install it beside the project's environment, for example
``pip install --target /tmp/agents-deps openai-agents`` and ``PYTHONPATH=/tmp/agents-deps``.

- ``openai_responses.jsonl``: the ``openai`` SDK calls ``client.responses.create`` against a fake
  Responses API (an ``httpx2.MockTransport`` handler answering in the API's JSON), runs the function
  calls locally and logs each call as one line: ``{"id": <conversation>, "request": <the body the
  SDK sent>, "response": response.model_dump(mode="json")}``. Most conversations resend the whole
  history (``input`` grows by the response's output items and the ``function_call_output`` items),
  so a conversation of three calls is three lines, each longer than the last; one conversation
  (``conv-lisbon-trip``) chains its calls with ``previous_response_id`` instead, as apps that let
  the server keep the state do: each request holds only the new items.
- ``openai_agents_traces.jsonl``: an Agents SDK ``Agent`` with three ``@function_tool``s (one raises
  for some inputs) runs through ``Runner.run`` on an ``OpenAIResponsesModel`` whose client talks to
  the same fake API. Tracing goes to :class:`JsonlTraceExporter` (``set_trace_processors``), not to
  OpenAI: one line per span, ``span.export()``, written when the span ends, and the
  ``trace.export()`` line when the trace ends. A ``response`` span's export holds only the response
  id; the exporter adds the ``input`` and ``response`` the SDK keeps on the span's data (the request
  and the answer). For a diff-able file, span ids and times are renumbered per trace in the order
  the SDK gave them (ids keep their ``span_`` shape, times their order, 10 ms apart, each trace 10 minutes after the one before).

Everything else is deterministic (fixed ids and answers), so rerunning gives the same files for the
same SDK versions.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _shared():
    """``make_samples.py`` beside this script: the scenarios, tools and helpers all samples share."""
    name = "deepeyes_examples_make_samples"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "make_samples.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


S = _shared()
CHAINED = "conv-lisbon-trip"  # the conversation logged with previous_response_id
AGENT_SCENARIOS = ("conv-weather-paris", "conv-atlantis-hotel", "conv-weather-japan", "conv-berlin-weekend")


def _user_text(items: Any) -> str | None:
    if isinstance(items, str):
        return items
    for item in items:
        if item.get("role") == "user":
            content = item["content"]
            return content if isinstance(content, str) else content[0]["text"]
    return None


def _responses_so_far(items: list[dict[str, Any]]) -> int:
    """How many model responses the input history holds: runs of output items (assistant
    messages, function calls) between the user's and the tools' items."""
    runs, previous_output = 0, False
    for item in items:
        output = item.get("type") == "function_call" or (
            item.get("role") == "assistant" and item.get("type", "message") == "message"
        )
        runs += output and not previous_output
        previous_output = output
    return runs


class FakeResponsesAPI:
    """A Responses API that answers each scenario's steps, then its answer (``POST /responses``)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.chains: dict[str, tuple[Any, int]] = {}  # response id -> (scenario, step answered)

    def handler(self, request):
        import httpx2

        body = json.loads(request.content)
        self.sent.append(body)
        items = [{"role": "user", "content": body["input"]}] if isinstance(body["input"], str) else body["input"]
        if body.get("previous_response_id"):
            scenario, previous = self.chains[body["previous_response_id"]]
            step = previous + 1
        else:
            scenario, step = S._scenario_of(_user_text(items)), _responses_so_far(items)
        index = S.SCENARIOS.index(scenario)
        response_id = S._id("resp_", scenario.conversation_id, step, body.get("previous_response_id") is not None)
        self.chains[response_id] = (scenario, step)
        output: list[dict[str, Any]] = []
        text = scenario.note(step) if step < len(scenario.steps) else scenario.answer
        if text:
            output.append({
                "type": "message",
                "id": S._id("msg_", scenario.conversation_id, step),
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            })
        for i, call in enumerate(scenario.steps[step] if step < len(scenario.steps) else []):
            output.append({
                "type": "function_call",
                "id": S._id("fc_", scenario.conversation_id, step, i),
                "call_id": S._id("call_", scenario.conversation_id, step, i),
                "name": call.name,
                "arguments": json.dumps(call.arguments),
                "status": "completed",
            })
        return httpx2.Response(
            200,
            json={
                "id": response_id,
                "object": "response",
                "created_at": int((S.START + timedelta(minutes=10 * index, seconds=step)).timestamp()),
                "status": "completed",
                "model": body["model"],
                "output": output,
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": body.get("tools", []),
                "instructions": body.get("instructions"),
                "previous_response_id": body.get("previous_response_id"),
                "error": None,
                "incomplete_details": None,
                "metadata": {},
                "temperature": 1.0,
                "top_p": 1.0,
                "text": {"format": {"type": "text"}},
                "truncation": "disabled",
                "usage": {
                    "input_tokens": 60 + 30 * step,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": 20,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 80 + 30 * step,
                },
            },
        )


def _run_call(scenario, step: int, name: str, arguments: dict[str, Any]) -> str:
    """The tool's output as the model gets it: the recorded result as JSON, or the error's text."""
    call = next(c for c in scenario.steps[step] if c.name == name and c.arguments == arguments)
    return S._tool_output(call)


def openai_responses() -> list[dict[str, Any]]:
    """One line per ``responses.create`` call: the body the SDK sent, and the SDK's Response."""
    import httpx2
    import openai

    api = FakeResponsesAPI()
    client = openai.OpenAI(api_key="test", http_client=httpx2.Client(transport=httpx2.MockTransport(api.handler)))
    tools = [{"type": "function", "name": n, "description": d, "parameters": s, "strict": False} for n, d, s in S.TOOLS]
    rows = []
    for scenario in S.SCENARIOS:
        chained = scenario.conversation_id == CHAINED
        items: list[Any] = [{"role": "user", "content": scenario.request}]
        previous: str | None = None
        for turn in range(8):
            extra = {"previous_response_id": previous} if previous else {}
            response = client.responses.create(
                model=S.OPENAI_MODEL, instructions=S.SYSTEM, input=items, tools=tools, **extra
            )
            rows.append({"id": scenario.conversation_id, "request": api.sent[-1], "response": response.model_dump(mode="json")})
            calls = [item for item in response.output if item.type == "function_call"]
            if not calls:
                break
            outputs = [
                {
                    "type": "function_call_output",
                    "call_id": call.call_id,
                    "output": _run_call(scenario, turn, call.name, json.loads(call.arguments)),
                }
                for call in calls
            ]
            if chained:
                items, previous = outputs, response.id
            else:
                items = [*items, *(item.model_dump(exclude_none=True) for item in response.output), *outputs]
    return rows


class JsonlTraceExporter:
    """An Agents SDK ``TracingProcessor`` that keeps each trace's exported spans and writes them,
    then the trace, as JSON lines when the trace ends (ids and times renumbered: module docstring)."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self._open: dict[str, list[dict[str, Any]]] = {}
        self._ended = 0

    def on_trace_start(self, trace) -> None:
        self._open[trace.trace_id] = []

    def on_span_start(self, span) -> None:
        pass

    def on_span_end(self, span) -> None:
        exported = span.export()
        data = span.span_data
        if data.type == "response":  # the request and the answer, which export() leaves out
            exported["span_data"]["input"] = data.input
            exported["span_data"]["response"] = data.response.model_dump(mode="json") if data.response else None
        self._open[span.trace_id].append(exported)

    def on_trace_end(self, trace) -> None:
        spans = self._open.pop(trace.trace_id)
        ids = {span["id"]: S._id("span_", trace.trace_id, n) for n, span in enumerate(spans)}
        times = sorted({t for span in spans for t in (span["started_at"], span["ended_at"]) if t})
        start = S.START + timedelta(minutes=10 * self._ended)
        self._ended += 1
        clock = {t: (start + timedelta(milliseconds=10 * n)).isoformat() for n, t in enumerate(times)}
        for span in spans:
            span["id"] = ids[span["id"]]
            span["parent_id"] = ids.get(span["parent_id"])
            span["started_at"], span["ended_at"] = clock.get(span["started_at"]), clock.get(span["ended_at"])
        self.lines.extend(spans)
        self.lines.append(trace.export())

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


def openai_agents_traces() -> list[dict[str, Any]]:
    """The agent's runs, traced: span lines then the trace line of each run, in order."""
    import httpx2
    import openai
    from agents import (
        Agent,
        OpenAIResponsesModel,
        Runner,
        function_tool,
        set_trace_processors,
        trace,
    )

    api = FakeResponsesAPI()
    exporter = JsonlTraceExporter()
    set_trace_processors([exporter])
    client = openai.AsyncOpenAI(
        api_key="test", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(api.handler))
    )
    current: dict[str, Any] = {}

    def run(name: str, arguments: dict[str, Any]) -> str:
        scenario = current["scenario"]
        step = next(i for i, calls in enumerate(scenario.steps) if any(c.name == name and c.arguments == arguments for c in calls))
        call = next(c for c in scenario.steps[step] if c.name == name and c.arguments == arguments)
        if call.error:
            raise ValueError(call.error)
        return json.dumps(call.result)

    @function_tool
    def get_weather(city: str, unit: str = "celsius") -> str:
        """Current weather for a city."""
        return run("get_weather", {"city": city, "unit": unit})

    @function_tool
    def book_hotel(city: str, nights: int, check_in: str) -> str:
        """Book a hotel room."""
        return run("book_hotel", {"city": city, "nights": nights, "check_in": check_in})

    @function_tool
    def convert_currency(amount: float, from_currency: str, to_currency: str) -> str:
        """Convert an amount between currencies."""
        return run("convert_currency", {"amount": amount, "from_currency": from_currency, "to_currency": to_currency})

    agent = Agent(
        name="travel-assistant",
        instructions=S.SYSTEM,
        tools=[get_weather, book_hotel, convert_currency],
        model=OpenAIResponsesModel(model=S.OPENAI_MODEL, openai_client=client),
    )

    async def main() -> None:
        for conversation_id in AGENT_SCENARIOS:
            scenario = next(s for s in S.SCENARIOS if s.conversation_id == conversation_id)
            current["scenario"] = scenario
            trace_id = "trace_" + S._id("", conversation_id, size=32)
            with trace("travel", trace_id=trace_id, group_id=conversation_id):
                await Runner.run(agent, scenario.request)

    asyncio.run(main())
    return exporter.lines


def write_samples(folder: Path = HERE) -> dict[str, Path]:
    """Write both sample files into ``folder``; returns their paths by source name."""
    files = {"openai-responses": folder / "openai_responses.jsonl", "openai-agents": folder / "openai_agents_traces.jsonl"}
    S._write_jsonl(files["openai-responses"], openai_responses())
    S._write_jsonl(files["openai-agents"], openai_agents_traces())
    return files


if __name__ == "__main__":
    for name, path in write_samples().items():
        print(f"{name}: {path} ({sum(1 for _ in path.open())} lines)")
