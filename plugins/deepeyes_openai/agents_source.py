"""The ``openai-agents`` source: OpenAI Agents SDK traces, exported as JSON lines.

**Files.** One JSON object a line, in the Agents SDK's own export format: ``span.export()``
(``{"object": "trace.span", "id", "trace_id", "parent_id", "started_at", "ended_at", "span_data",
"error"}``) and ``trace.export()`` (``{"object": "trace", "id", "workflow_name", "group_id"}``), or
a batch of them, ``{"data": [...]}`` (the payload the SDK's backend exporter posts). A
``TracingProcessor`` that writes them is ``JsonlTraceExporter`` in
``examples/sources/make_openai_samples.py``. A ``response`` span's export holds only the response
id; a processor may add the ``input`` and ``response`` (the Response as JSON) that the SDK keeps on
the span's data, and this source reads them where they are.

**Tool calls.** Each ``function`` span is one ToolInvocation: tool ``span_data.name``, parameters
the JSON text ``span_data.input``, result ``span_data.output`` (the text the model got), timestamp
and latency from ``started_at`` / ``ended_at``, invocation id the span id. A span with an ``error``
is a FAILURE whose error text is its output (the SDK's message to the model), else the error's
``data.error``, else its ``message``.

**Trajectories.** Function spans are grouped by trace and by their nearest ``agent`` ancestor (a
handoff gives one trajectory per agent), ordered by start. Session: the trace's ``group_id`` (the
SDK's conversation id) where its trace line has one, else the trace id. Agent name: the option,
else the agent span's name. The *model spans* (``response``, or ``generation`` for Chat Completions
models) of the agent, by start time, make the steps: the function spans that start after one model
span and before the next are that model response's calls, one assistant turn. Where model spans
carry their payload, the turn's text is the response's assistant message text, the user request
is the first user message of the first model span's input, the tools are the response's function
tools, and the final answer is the text of the last model span when it starts after the last
function span. Where a response lists its function calls, their names must be the turn's function
spans (else ``incomplete trace``).

**Record.** A record is a function span; other spans are context. A line that is not JSON or not
one of the shapes above counts as one record. So ``sum(len(t.invocations)) + sum(r.records)``
equals function spans plus unreadable lines.

**Rejections** (stage ``read``): ``malformed JSON`` / ``torn last line``, ``malformed record``,
``duplicate span`` (a function span id seen before in the trace), ``no tool calls`` (a trace
without function spans; ``records=0``), and, for all the function spans of one agent of a trace
together (a trajectory with a step missing is not trained on): ``malformed span`` (one without a
name or a start time), ``unparseable arguments``, ``incomplete trace`` (its responses asked for
other calls than the function spans ran).

**Memory.** A trace is held until its trace line arrives after some of its spans (the SDK calls
``on_trace_end`` after every span ended, so a processor that writes the trace then closes it), else
until the end of the file; held are the parsed spans, not the JSON lines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from deepeyes_core import (
    AssistantTurn,
    Location,
    RecordRejected,
    Rejection,
    SourceItem,
    ToolInvocation,
    ToolStatus,
    Trajectory,
    conversations,
    hookimpl,
    read_records,
    record_timestamp,
)

from . import response_items

_MODEL_SPANS = ("response", "generation")


@attrs.define
class _Trace:
    spans: dict[str, dict[str, Any]] = attrs.field(factory=dict)  # context spans by id (no payload kept but the models')
    calls: list[tuple[Location, dict[str, Any]]] = attrs.field(factory=list)
    bad: list[Rejection] = attrs.field(factory=list)
    group_id: str | None = None
    first_line: int = 0


def _objects(location: Location, value: Any) -> tuple[Location, list[Any]]:
    """The line and the exported objects it holds: itself, or the items of a ``{"data": [...]}`` batch."""
    if not isinstance(value, dict):
        raise RecordRejected.malformed(f"expected a JSON object, got {type(value).__name__}")
    return location, value["data"] if isinstance(value.get("data"), list) else [value]


def _check(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordRejected.malformed(f"a batch item is a {type(value).__name__}, not an object")
    if value.get("object") not in ("trace", "trace.span"):
        raise RecordRejected.malformed(f"object is {value.get('object')!r}, not trace or trace.span")
    if not conversations.nonempty_string(value.get("id")):
        raise RecordRejected.malformed(f"{value['object']} without an id")
    if value["object"] == "trace.span" and (
        not conversations.nonempty_string(value.get("trace_id")) or not isinstance(value.get("span_data"), dict)
    ):
        raise RecordRejected.malformed(f"span {value['id']} without a trace_id or span_data")
    return value


def _time(value: Any) -> datetime | None:
    try:
        return record_timestamp(value) if value is not None else None
    except RecordRejected:
        return None


class OpenAIAgentsSource:
    """OpenAI Agents SDK traces (span.export() JSONL): function spans, with turns from the model spans."""

    name = "openai-agents"

    @attrs.frozen
    class Options:
        #: Agent name for every trajectory; unset: the agent span's name.
        agent_name: str | None = None

    def __init__(self, options: Options):
        self.options = options

    def read(self, paths: Sequence[Path]) -> Iterator[SourceItem]:
        for path in paths:
            traces: dict[str, _Trace] = {}
            for item in read_records(path, _objects):
                if isinstance(item, Rejection):
                    yield item
                else:
                    yield from self._take(traces, *item)
            for trace_id, trace in traces.items():
                yield from self._close(trace_id, trace, str(path))

    def _take(self, traces: dict[str, _Trace], location: Location, objects: list[Any]) -> Iterator[SourceItem]:
        for value in objects:
            try:
                _check(value)
            except RecordRejected as exc:
                yield Rejection(exc.reason, exc.detail, (location,), 1, "read")
                continue
            if value["object"] == "trace":
                trace = traces.get(value["id"])
                group = conversations.nonempty_string(value.get("group_id"))
                if trace is not None and (trace.calls or trace.spans):
                    trace.group_id = group or trace.group_id
                    yield from self._close(value["id"], traces.pop(value["id"]), location.file)
                else:
                    traces.setdefault(value["id"], _Trace(first_line=location.line or 0)).group_id = group
                continue
            trace = traces.setdefault(value["trace_id"], _Trace(first_line=location.line or 0))
            data = value["span_data"]
            if data.get("type") == "function":
                trace.calls.append((Location(location.file, location.line, value["id"]), value))
            else:
                trace.spans[value["id"]] = value if data.get("type") in _MODEL_SPANS else {
                    "parent_id": value.get("parent_id"), "span_data": {"type": data.get("type"), "name": data.get("name")}
                }

    def _close(self, trace_id: str, trace: _Trace, file: str) -> Iterator[SourceItem]:
        """The trajectories of one trace (one per agent), and its rejections."""
        by_agent: dict[str | None, list[tuple[Location, dict[str, Any]]]] = {}
        seen: set[str] = set()
        for location, span in trace.calls:
            if span["id"] in seen:
                yield Rejection("duplicate span", f"span {span['id']} appears twice", (location,), 1, "read")
                continue
            seen.add(span["id"])
            by_agent.setdefault(self._agent_of(trace, span.get("parent_id")), []).append((location, span))
        if not by_agent:
            yield Rejection("no tool calls", f"trace {trace_id} has no function spans", (Location(file, trace.first_line),), 0, "read")
        for agent_id, calls in by_agent.items():
            yield self._trajectory(trace_id, trace, agent_id, calls)

    def _agent_of(self, trace: _Trace, parent: Any) -> str | None:
        hops = 0
        while isinstance(parent, str) and parent in trace.spans and hops < 1000:
            span = trace.spans[parent]
            if span["span_data"].get("type") == "agent":
                return parent
            parent, hops = span.get("parent_id"), hops + 1
        return None

    def _trajectory(
        self, trace_id: str, trace: _Trace, agent_id: str | None, calls: list[tuple[Location, dict[str, Any]]]
    ) -> Trajectory | Rejection:
        locations = tuple(location for location, _ in calls)
        try:
            return self._build(trace_id, trace, agent_id, calls)
        except RecordRejected as exc:
            return Rejection(exc.reason, exc.detail, locations, len(calls), "read")
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            return Rejection("malformed record", f"trace {trace_id}: {type(exc).__name__}: {exc}", locations, len(calls), "read")

    def _build(
        self, trace_id: str, trace: _Trace, agent_id: str | None, calls: list[tuple[Location, dict[str, Any]]]
    ) -> Trajectory:
        agent_span = trace.spans.get(agent_id) if agent_id else None
        agent = self.options.agent_name or (
            conversations.nonempty_string(agent_span["span_data"].get("name")) if agent_span else None
        ) or self.name
        session = trace.group_id or trace_id
        starts = []
        for location, span in calls:
            start = _time(span.get("started_at"))
            if start is None or conversations.nonempty_string(span["span_data"].get("name")) is None:
                raise RecordRejected("malformed span", f"function span {location.span_id} has no name or start time")
            starts.append(start)
        order = sorted(range(len(calls)), key=lambda i: starts[i])
        models = sorted(
            (
                (start, span)
                for span in trace.spans.values()
                if span["span_data"].get("type") in _MODEL_SPANS
                and self._agent_of(trace, span.get("parent_id")) == agent_id
                and (start := _time(span.get("started_at"))) is not None
            ),
            key=lambda pair: pair[0],
        )
        invocations, turn_of = [], []
        for i in order:
            location, span = calls[i]
            invocations.append(_invocation(location, span, starts[i], agent, session))
            turn_of.append(sum(1 for start, _ in models if start <= starts[i]) - 1)
        payloads = [_payload(span) for _, span in models]
        turns = _turns(turn_of, payloads, [inv.tool_name for inv in invocations], trace_id)
        first, last = (payloads[0] if payloads else None), (payloads[-1] if payloads else None)
        answer = None
        if models and models[-1][0] > max(starts) and last is not None:
            answer = last.texts.get(last.last_turn) if not last.calls else None
        return Trajectory(
            agent_name=agent,
            invocations=tuple(invocations),
            session_id=session,
            trajectory_id=trace_id if agent_id is None else f"{trace_id}/{agent_id}",
            user_request=first.user_request if first else None,
            tools=response_items.tools(models[0][1]["span_data"].get("response", {}).get("tools")) if models and first else (),
            source=self.name,
            turns=turns,
            final_answer=answer,
        )


def _payload(span: dict[str, Any]) -> response_items.Walked | None:
    """What a model span's payload says: its response's calls and texts, its input's user request."""
    data = span["span_data"]
    if data.get("type") == "generation":  # Chat Completions messages
        given, output = data.get("input"), data.get("output")
        if not isinstance(given, list) or not isinstance(output, list):
            return None
        found = response_items.Walked()
        user = next((m for m in given if isinstance(m, dict) and m.get("role") == "user"), None)
        found.user_request = conversations.text_of(user.get("content")).strip() or None if user else None
        message = output[0] if output and isinstance(output[0], dict) else {}
        found.texts[0], found.last_turn = conversations.text_of(message.get("content")).strip() or None, 0
        for n, call in enumerate(message.get("tool_calls") or []):
            function = call.get("function", {}) if isinstance(call, dict) else {}
            found.calls[str(n)] = (function.get("name"), {}, 0)
        return found
    response, given = data.get("response"), data.get("input")
    if not isinstance(response, dict) or not isinstance(response.get("output"), list):
        return None
    items = [{"role": "user", "content": given}] if isinstance(given, str) else given if isinstance(given, list) else []
    first_user = next((i for i in items if isinstance(i, dict) and i.get("role") == "user"), None)
    found = response_items.walk([], response["output"])
    found.user_request = response_items.text_of(first_user.get("content")).strip() or None if first_user else None
    return found


def _turns(
    turn_of: list[int], payloads: list[response_items.Walked | None], names: list[str], trace_id: str
) -> tuple[AssistantTurn, ...]:
    """One turn per model span that made calls; checked against the calls its response lists."""
    if not payloads or min(turn_of) < 0:
        return ()
    turns: list[AssistantTurn] = []
    for turn in sorted(set(turn_of)):
        made = [name for name, t in zip(names, turn_of) if t == turn]
        payload = payloads[turn]
        if payload is not None:
            listed = sorted(name for name, _, _ in payload.calls.values())
            if listed != sorted(made):
                raise RecordRejected(
                    "incomplete trace", f"trace {trace_id}: a response asked for {listed}, the function spans ran {sorted(made)}"
                )
        turns.append(AssistantTurn(len(made), payload.texts.get(payload.last_turn) if payload else None))
    return tuple(turns)


def _invocation(location: Location, span: dict[str, Any], start: datetime, agent: str, session: str) -> ToolInvocation:
    data, error = span["span_data"], span.get("error")
    output = data.get("output")
    end = _time(span.get("ended_at"))
    status, result, message = ToolStatus.SUCCESS, output, None
    if error is not None:
        details = error.get("data") if isinstance(error, dict) else None
        status, result = ToolStatus.FAILURE, None
        message = (
            (output if isinstance(output, str) and output else None)
            or (str(details["error"]) if isinstance(details, dict) and details.get("error") else None)
            or (str(error.get("message")) if isinstance(error, dict) and error.get("message") else None)
            or "function span error"
        )
    return ToolInvocation(
        tool_name=data["name"],
        agent_name=agent,
        parameters=response_items.arguments(data.get("input"), span["id"]),
        result=result,
        status=status,
        latency_ms=max((end - start).total_seconds() * 1000, 0.0) if end else 0.0,
        timestamp=start,
        error=message,
        session_id=session,
        invocation_id=span["id"],
        location=location,
    )


@hookimpl
def deepeyes_trajectory_sources():
    return [OpenAIAgentsSource]
