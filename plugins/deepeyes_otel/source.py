"""The ``otel`` source: OpenTelemetry traces as OTLP/JSON files, read with the GenAI semantic conventions.

**Files.** The OpenTelemetry Collector's file exporter shape: JSON Lines, one ``TracesData`` object
a line (``{"resourceSpans": [{"resource": ..., "scopeSpans": [{"scope": ..., "spans": [...]}]}]}``).
Per the OTLP/JSON spec ids are hex, enums integers (status code ERROR = 2) and int64 values decimal
strings; producers also write enum names (``"STATUS_CODE_ERROR"``) and protobuf's ``MessageToDict``
writes ids in base64: all are accepted.

**Tool calls.** A span is a *tool span* when its ``name`` starts with ``execute_tool``, or an
attribute ``gen_ai.operation.name`` is ``"execute_tool"``, or (pydantic-ai's instrumentation
version 2) its name is ``running tool`` and it has a ``gen_ai.tool.name``. Each becomes a
ToolInvocation: tool ``gen_ai.tool.name`` (else the span name's second word), parameters from the
JSON text of ``gen_ai.tool.call.arguments`` (else pydantic-ai's ``tool_arguments``; absent: none),
result from ``gen_ai.tool.call.result`` (else ``tool_response``; parsed when it is JSON), latency
from the span's duration, timestamp its start, invocation id its span id, location
``Location(file, line, span_id)``. A span whose status is ERROR is a FAILURE; its error text is
the status message (after ``error.type`` where that is set and the message does not already start
with it), else the ``exception`` event's ``exception.type: exception.message``, else
``error.type``; a result it recorded (pydantic-ai records the retry prompt the model got back) is
kept.

**Trajectories.** Tool spans are grouped by trace id and, within a trace, by the nearest
``invoke_agent`` ancestor span (``agent run`` for pydantic-ai version 2; a trace where one agent
calls another gives one trajectory per agent), and ordered by start time. Session id: the trace
id. Agent name: the option ``agent_name``, else the agent span's ``gen_ai.agent.name`` (or
``agent_name``), else the tool span's, else the resource's ``service.name``. The user request is
the first user message of the agent span's messages (``gen_ai.input.messages``, else
``pydantic_ai.all_messages``, else ``gen_ai.prompt``: see :mod:`.genai_messages`), else that of
the agent's first chat span; the agent span's ``gen_ai.tool.definitions`` become the
trajectory's ToolSpecs.

**Turns and answer.** A *chat span* (name ``chat`` or ``chat ...``, or ``gen_ai.operation.name``
``chat`` / ``generate_content`` / ``text_completion``) is one model request. The tool spans one
model response asked for are one assistant turn: the tool spans under one chat span, or, in
pydantic-ai's layout where the chat span is a sibling that ends before its tools run, the tool
spans that start after one chat span of the agent and before the next. The turn's text is the
assistant text of that chat span's ``gen_ai.output.messages``, else the text of the message of
``pydantic_ai.all_messages`` that made the calls (matched by ``gen_ai.tool.call.id``). The final
answer is the output text of the agent's last chat span when it starts after the last tool span,
else the last message of ``pydantic_ai.all_messages`` when it is an assistant message without
calls, else pydantic-ai's ``final_result`` (a string). An agent without chat spans has no turn
structure unless its ``pydantic_ai.all_messages`` names the message of every call.

**Record.** A record is a tool span; other spans (``invoke_agent``, ``chat``, HTTP...) are context,
not records. What cannot be read counts as one record: a line that is not JSON, a line or a
``resourceSpans`` / ``scopeSpans`` entry of the wrong shape, a span entry that is not an object.
So ``sum(len(t.invocations)) + sum(r.records)`` equals tool spans plus unreadable units.

**Rejections** (stage ``read``): ``malformed JSON`` / ``torn last line``, ``malformed record``,
``malformed span`` (a tool span without valid ids, tool name or start time), ``duplicate span``
(a tool span id seen before in the file), ``unparseable arguments``, ``incomplete trace`` (the
other tool spans of a trajectory that lost a span: a trajectory with a step missing is not
trained on), ``no tool calls`` (a trace without tool spans; ``records=0``, it holds none).

**Memory.** Spans of one trace may be spread over many lines (the exporter writes batches), so
traces are grouped per file: memory holds one file's span ids and parent links, its tool calls,
and its ``invoke_agent`` spans, never the raw JSON. The bound is the size of the largest file; let
the collector rotate its files (the file exporter's ``rotation.max_megabytes``) to keep it small.
A trace split over two files becomes two trajectories (the second's id ends in ``@file``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import orjson

from deepeyes_core import (
    AssistantTurn,
    Location,
    RecordRejected,
    Rejection,
    SourceItem,
    ToolInvocation,
    ToolSpec,
    ToolStatus,
    Trajectory,
    hookimpl,
    read_jsonl,
)

from . import genai_messages

_STAGE = "read"
_ERROR_CODES = (2, "2", "STATUS_CODE_ERROR", "ERROR")
_EMPTY_SCHEMA = {"type": "object", "properties": {}}


def _any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as plain Python; None for what is not one."""
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"] if isinstance(value["stringValue"], str) else None
    if "boolValue" in value:
        return value["boolValue"] if isinstance(value["boolValue"], bool) else None
    if "intValue" in value:
        return _integer(value["intValue"])
    if "doubleValue" in value:
        number = value["doubleValue"]
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return float(number)
        return None
    if "arrayValue" in value:
        inner = value["arrayValue"]
        values = inner.get("values", []) if isinstance(inner, dict) else None
        return [_any_value(v) for v in values] if isinstance(values, list) else None
    if "kvlistValue" in value:
        inner = value["kvlistValue"]
        return _attributes(inner.get("values") if isinstance(inner, dict) else None)
    if "bytesValue" in value:
        return value["bytesValue"] if isinstance(value["bytesValue"], str) else None
    return None


def _attributes(raw: Any) -> dict[str, Any]:
    """``[{"key": k, "value": AnyValue}]`` as a dict; entries of another shape are skipped."""
    if not isinstance(raw, list):
        return {}
    out = {}
    for entry in raw:
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            out[entry["key"]] = _any_value(entry.get("value"))
    return out


def _integer(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _hex_id(value: Any, size: int) -> str | None:
    """A trace (16 bytes) or span (8 bytes) id as lowercase hex, from hex or base64; None if invalid."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) == 2 * size and value.isascii():
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) == size:
            return raw.hex() if any(raw) else None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == size and any(raw) else None


def is_tool_span(span: dict[str, Any]) -> bool:
    """The documented rule: name starts with ``execute_tool``, or an attribute
    ``gen_ai.operation.name`` is ``"execute_tool"``, or the name is ``running tool`` (pydantic-ai
    version 2) and an attribute ``gen_ai.tool.name`` is there."""
    name = span.get("name")
    if isinstance(name, str) and name.startswith("execute_tool"):
        return True
    if name == "running tool" and _has_attribute(span, "gen_ai.tool.name"):
        return True
    return _operation(span, "execute_tool")


def _has_attribute(span: dict[str, Any], key: str) -> bool:
    raw = span.get("attributes")
    return isinstance(raw, list) and any(isinstance(entry, dict) and entry.get("key") == key for entry in raw)


def _operation(span: dict[str, Any], *operations: str) -> bool:
    raw = span.get("attributes")
    if not isinstance(raw, list):
        return False
    return any(
        isinstance(entry, dict)
        and entry.get("key") == "gen_ai.operation.name"
        and isinstance(entry.get("value"), dict)
        and entry["value"].get("stringValue") in operations
        for entry in raw
    )


def _is_agent_span(span: dict[str, Any]) -> bool:
    name = span.get("name")
    return (
        isinstance(name, str) and (name.startswith("invoke_agent") or name == "agent run")
    ) or _operation(span, "invoke_agent")


def _is_chat_span(span: dict[str, Any]) -> bool:
    name = span.get("name")
    return (
        isinstance(name, str) and (name == "chat" or name.startswith("chat "))
    ) or _operation(span, "chat", "generate_content", "text_completion")


def _tool_definitions(value: Any) -> tuple[ToolSpec, ...]:
    """``gen_ai.tool.definitions``: ``[{"type": "function", "name", "description", "parameters"}]``
    (or OpenAI's nested ``function``); entries of another shape are skipped."""
    definitions = genai_messages.json_value(value)
    if not isinstance(definitions, list):
        return ()
    specs = []
    for entry in definitions:
        function = entry.get("function", entry) if isinstance(entry, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            continue
        schema, description = function.get("parameters"), function.get("description")
        specs.append(
            ToolSpec(
                function["name"],
                schema if isinstance(schema, dict) else _EMPTY_SCHEMA,
                description if isinstance(description, str) else "",
            )
        )
    return tuple(specs)


@attrs.define(slots=True)
class _ToolCall:
    span_id: str
    parent: str | None
    start: int
    location: Location
    tool: str = ""
    parameters: dict[str, Any] = attrs.field(factory=dict)
    result: Any = None
    status: ToolStatus = ToolStatus.SUCCESS
    error: str | None = None
    latency_ms: float = 0.0
    agent: str | None = None
    service: str | None = None
    problem: RecordRejected | None = None
    call_id: str | None = None


@attrs.define(slots=True)
class _AgentSpan:
    start: int
    agent: str | None
    user_request: str | None
    tools: tuple[ToolSpec, ...]
    #: pydantic-ai's run record: the text of the message that made each call (by call id, with the
    #: message's index), the closing assistant text, and ``final_result``.
    call_texts: dict[str, tuple[int, str | None]] = attrs.field(factory=dict)
    closing_text: str | None = None
    final_result: str | None = None


@attrs.define(slots=True)
class _ChatSpan:
    span_id: str
    parent: str | None
    start: int
    text: str | None
    call_ids: tuple[str, ...]
    user_request: str | None


def _agent_span(span: dict[str, Any]) -> _AgentSpan:
    attributes = _attributes(span.get("attributes"))
    agent = attributes.get("gen_ai.agent.name") or attributes.get("agent_name")
    all_messages = attributes.get("pydantic_ai.all_messages")
    final = attributes.get("final_result")
    return _AgentSpan(
        _integer(span.get("startTimeUnixNano")) or 0,
        agent if isinstance(agent, str) and agent else None,
        genai_messages.user_request(attributes),
        _tool_definitions(attributes.get("gen_ai.tool.definitions")),
        genai_messages.texts_by_call(all_messages),
        genai_messages.closing_text(all_messages),
        final.strip() or None if isinstance(final, str) else None,
    )


def _chat_span(span: dict[str, Any], span_id: str, parent: str | None) -> _ChatSpan:
    attributes = _attributes(span.get("attributes"))
    output = genai_messages.messages(attributes.get("gen_ai.output.messages"))
    return _ChatSpan(
        span_id,
        parent,
        _integer(span.get("startTimeUnixNano")) or 0,
        genai_messages.output_text(output),
        tuple(call_id for message in output for call_id in genai_messages.tool_call_ids(message)),
        genai_messages.user_request(attributes),
    )


def _error_text(span: dict[str, Any], attributes: dict[str, Any]) -> str:
    """The status message (after ``error.type`` where it does not start with it), else the
    exception event's type and message, else ``error.type``, else "error"."""
    status = span.get("status")
    message = status.get("message") if isinstance(status, dict) else None
    error_type = attributes.get("error.type")
    error_type = str(error_type) if error_type not in (None, "") else None
    if isinstance(message, str) and message.strip():
        message = message.strip()
        return message if error_type is None or message.startswith(error_type) else f"{error_type}: {message}"
    events = span.get("events")
    for event in events if isinstance(events, list) else ():
        if not isinstance(event, dict) or event.get("name") != "exception":
            continue
        details = _attributes(event.get("attributes"))
        kind, text = details.get("exception.type"), details.get("exception.message")
        if isinstance(text, str) and text.strip():
            return f"{kind}: {text.strip()}" if isinstance(kind, str) and kind else text.strip()
        if isinstance(kind, str) and kind:
            return kind
    return error_type or "error"


def _tool_call(
    span: dict[str, Any], span_id: str, parent: str | None, location: Location, service: str | None
) -> _ToolCall:
    attributes = _attributes(span.get("attributes"))
    start, end = _integer(span.get("startTimeUnixNano")), _integer(span.get("endTimeUnixNano"))
    call = _ToolCall(span_id, parent, start or 0, location, service=service)
    name = span.get("name")
    tool = attributes.get("gen_ai.tool.name")
    if not isinstance(tool, str) or not tool:
        words = name.split() if isinstance(name, str) else []
        tool = words[1] if len(words) > 1 and words[0] == "execute_tool" else None
    if tool is None:
        call.problem = RecordRejected("malformed span", f"span {span_id}: no gen_ai.tool.name")
        return call
    if start is None or start > 253402300799 * 10**9:  # no start time, or past the year 9999
        call.problem = RecordRejected("malformed span", f"span {span_id}: no valid startTimeUnixNano")
        return call
    call.tool = tool
    arguments = attributes.get("gen_ai.tool.call.arguments", attributes.get("tool_arguments"))
    if isinstance(arguments, str):
        try:
            arguments = orjson.loads(arguments) if arguments.strip() else {}
        except orjson.JSONDecodeError as exc:
            call.problem = RecordRejected("unparseable arguments", f"span {span_id}: {exc}")
            return call
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        call.problem = RecordRejected("unparseable arguments", f"span {span_id}: arguments are not a JSON object")
        return call
    call.parameters = arguments
    result = attributes.get("gen_ai.tool.call.result", attributes.get("tool_response"))
    if isinstance(result, str):
        parsed = genai_messages.json_value(result)
        result = result if parsed is None and result.strip() != "null" else parsed
    call.result = result
    status = span.get("status")
    if isinstance(status, dict) and status.get("code") in _ERROR_CODES:
        call.status = ToolStatus.FAILURE
        call.error = _error_text(span, attributes)
    call_id = attributes.get("gen_ai.tool.call.id")
    call.call_id = call_id if isinstance(call_id, str) and call_id else None
    call.latency_ms = max(0.0, (end - start) / 1e6) if end is not None else 0.0
    agent = attributes.get("gen_ai.agent.name")
    call.agent = agent if isinstance(agent, str) and agent else None
    return call


class _FileTraces:
    """What one file's spans say, kept compact until the file is read."""

    def __init__(self) -> None:
        self.first_seen: dict[str, Location] = {}
        self.parents: dict[tuple[str, str], str | None] = {}
        self.agents: dict[tuple[str, str], _AgentSpan] = {}
        self.agents_by_trace: dict[str, list[str]] = {}
        self.calls: dict[str, list[_ToolCall]] = {}
        self.chats: dict[str, list[_ChatSpan]] = {}

    def add(self, span: Any, location: Location, service: str | None) -> Iterator[Rejection]:
        if not isinstance(span, dict):
            yield Rejection(
                "malformed span", f"a span is a {type(span).__name__}, not an object", (location,), stage=_STAGE
            )
            return
        trace, span_id = _hex_id(span.get("traceId"), 16), _hex_id(span.get("spanId"), 8)
        parent = _hex_id(span.get("parentSpanId"), 8)
        tool = is_tool_span(span)
        if trace is None or span_id is None:
            if tool:
                detail = "traceId or spanId missing, or not a valid id"
                yield Rejection("malformed span", detail, (location,), stage=_STAGE)
            return  # a context span we cannot place is no record
        key = (trace, span_id)
        where = Location(location.file, location.line, span_id)
        if key in self.parents:
            if tool:
                yield Rejection("duplicate span", f"span {span_id} of trace {trace} again", (where,), stage=_STAGE)
            return
        self.parents[key] = parent
        self.first_seen.setdefault(trace, where)
        if tool:
            self.calls.setdefault(trace, []).append(_tool_call(span, span_id, parent, where, service))
        elif _is_agent_span(span):
            self.agents[key] = _agent_span(span)
            self.agents_by_trace.setdefault(trace, []).append(span_id)
        elif _is_chat_span(span):
            self.chats.setdefault(trace, []).append(_chat_span(span, span_id, parent))

    def agent_span(self, trace: str, parent: str | None) -> str | None:
        """The nearest invoke_agent ancestor; else the trace's earliest invoke_agent span."""
        seen: set[str] = set()
        current = parent
        while current is not None and current not in seen:
            if (trace, current) in self.agents:
                return current
            seen.add(current)
            current = self.parents.get((trace, current))
        candidates = self.agents_by_trace.get(trace)
        if not candidates:
            return None
        return min(candidates, key=lambda s: (self.agents[(trace, s)].start, s))

    def chat_ancestor(self, trace: str, parent: str | None, chats: dict[str, _ChatSpan]) -> _ChatSpan | None:
        """The nearest ancestor that is one of ``chats``, below the nearest agent span."""
        seen: set[str] = set()
        current = parent
        while current is not None and current not in seen and (trace, current) not in self.agents:
            if current in chats:
                return chats[current]
            seen.add(current)
            current = self.parents.get((trace, current))
        return None


class OtelSource:
    """OpenTelemetry traces (OTLP/JSON lines, GenAI semantic conventions): execute_tool spans."""

    name = "otel"

    @attrs.frozen
    class Options:
        #: Agent name for every trajectory; unset: gen_ai.agent.name, else service.name.
        agent_name: str | None = None

    def __init__(self, options: Options):
        self.options = options

    def read(self, paths: Sequence[Path]) -> Iterator[SourceItem]:
        emitted: set[str] = set()  # trajectory ids, so a trace split over two files gets two
        for path in paths:
            traces = _FileTraces()
            for item in read_jsonl(Path(path)):
                if isinstance(item, Rejection):
                    yield item
                else:
                    yield from self._line(traces, *item)
            for item in self._emit(traces):
                if isinstance(item, Trajectory):
                    if item.trajectory_id in emitted:
                        item = attrs.evolve(item, trajectory_id=f"{item.trajectory_id}@{path}")
                    emitted.add(item.trajectory_id)
                yield item

    def _line(self, traces: _FileTraces, location: Location, data: Any) -> Iterator[Rejection]:
        def unit(detail: str) -> Rejection:
            return Rejection("malformed record", detail, (location,), stage=_STAGE)

        if not isinstance(data, dict) or "resourceSpans" not in data:
            yield unit("not an OTLP/JSON TracesData object (no resourceSpans)")
            return
        if not isinstance(data["resourceSpans"], list):
            yield unit("resourceSpans is not a list")
            return
        for r, resource_spans in enumerate(data["resourceSpans"]):
            if not isinstance(resource_spans, dict):
                yield unit(f"resourceSpans[{r}] is not an object")
                continue
            resource = resource_spans.get("resource")
            service = (
                _attributes(resource.get("attributes")).get("service.name") if isinstance(resource, dict) else None
            )
            service = service if isinstance(service, str) and service else None
            scopes = resource_spans.get("scopeSpans", [])
            if not isinstance(scopes, list):
                yield unit(f"resourceSpans[{r}].scopeSpans is not a list")
                continue
            for s, scope in enumerate(scopes):
                if not isinstance(scope, dict):
                    yield unit(f"resourceSpans[{r}].scopeSpans[{s}] is not an object")
                    continue
                spans = scope.get("spans", [])
                if not isinstance(spans, list):
                    yield unit(f"resourceSpans[{r}].scopeSpans[{s}].spans is not a list")
                    continue
                for span in spans:
                    try:
                        rejected = list(traces.add(span, location, service))
                    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a shape not foreseen
                        detail = f"unexpected shape: {type(exc).__name__}: {exc}"
                        rejected = [Rejection("malformed span", detail, (location,), stage=_STAGE)]
                    yield from rejected

    def _emit(self, traces: _FileTraces) -> Iterator[SourceItem]:
        for trace, first in traces.first_seen.items():
            calls = traces.calls.get(trace)
            if not calls:
                yield Rejection(
                    "no tool calls", f"trace {trace} has no execute_tool span", (first,), records=0, stage=_STAGE
                )
                continue
            groups: dict[str | None, list[_ToolCall]] = {}
            for call in calls:
                groups.setdefault(traces.agent_span(trace, call.parent), []).append(call)
            chats: dict[str | None, list[_ChatSpan]] = {}
            for chat in traces.chats.get(trace, ()):
                chats.setdefault(traces.agent_span(trace, chat.parent), []).append(chat)
            for agent_span_id, members in groups.items():
                agent_span = traces.agents.get((trace, agent_span_id)) if agent_span_id else None
                yield from self._trajectory(
                    traces, trace, agent_span_id, agent_span, members, chats.get(agent_span_id, [])
                )

    def _trajectory(
        self,
        traces: _FileTraces,
        trace: str,
        agent_span_id: str | None,
        agent_span: _AgentSpan | None,
        members: list[_ToolCall],
        chats: list[_ChatSpan],
    ) -> Iterator[SourceItem]:
        members.sort(key=lambda c: (c.start, c.span_id))
        bad = [c for c in members if c.problem is not None]
        if bad:
            for call in bad:
                yield Rejection(call.problem.reason, call.problem.detail, (call.location,), stage=_STAGE)
            good = [c for c in members if c.problem is None]
            if good:
                detail = f"trace {trace} lost {len(bad)} of its {len(members)} tool spans"
                yield Rejection(
                    "incomplete trace", detail, tuple(c.location for c in good), records=len(good), stage=_STAGE
                )
            return
        agent = (
            self.options.agent_name
            or (agent_span.agent if agent_span else None)
            or next((c.agent for c in members if c.agent), None)
            or next((c.service for c in members if c.service), None)
            or self.name
        )
        invocations = tuple(
            ToolInvocation(
                tool_name=c.tool,
                agent_name=agent,
                parameters=c.parameters,
                result=c.result,
                status=c.status,
                latency_ms=c.latency_ms,
                timestamp=datetime.fromtimestamp(c.start / 1e9, timezone.utc),
                error=c.error,
                session_id=trace,
                invocation_id=c.span_id,
                location=c.location,
            )
            for c in members
        )
        chats.sort(key=lambda c: (c.start, c.span_id))
        turns, final_answer = _turns(traces, trace, members, chats, agent_span)
        request = agent_span.user_request if agent_span else None
        yield Trajectory(
            agent_name=agent,
            invocations=invocations,
            session_id=trace,
            trajectory_id=trace if agent_span_id is None else f"{trace}/{agent_span_id}",
            user_request=request or next((c.user_request for c in chats if c.user_request), None),
            tools=agent_span.tools if agent_span else (),
            source=self.name,
            turns=turns,
            final_answer=final_answer,
        )


def _turns(
    traces: _FileTraces, trace: str, calls: list[_ToolCall], chats: list[_ChatSpan], agent: _AgentSpan | None
) -> tuple[tuple[AssistantTurn, ...], str | None]:
    """The assistant turns of an agent's tool calls (in start order) and its final answer (see the
    module docstring)."""
    call_texts = agent.call_texts if agent else {}
    by_id = {chat.span_id: chat for chat in chats}
    by_call_id = {call_id: chat for chat in chats for call_id in chat.call_ids}
    keys: list[Any] = []
    for call in calls:
        chat = traces.chat_ancestor(trace, call.parent, by_id) or (by_call_id.get(call.call_id) if call.call_id else None)
        if chat is None:
            chat = next((c for c in reversed(chats) if c.start <= call.start), None)
        if chat is not None:
            keys.append(("chat", chat.span_id))
        elif not chats and call.call_id in call_texts:
            keys.append(("message", call_texts[call.call_id][0]))
        else:
            keys.append(None)
    turns: list[AssistantTurn] = []
    if any(key is not None for key in keys):
        previous: Any = None
        for call, key in zip(calls, keys):
            if key is not None and key == previous:
                turns[-1] = AssistantTurn(turns[-1].calls + 1, turns[-1].text)
            else:
                text = by_id[key[1]].text if key is not None and key[0] == "chat" else None
                if text is None and call.call_id in call_texts:
                    text = call_texts[call.call_id][1]
                turns.append(AssistantTurn(1, text))
            previous = key
    final_answer = None
    last_call = calls[-1].start if calls else 0
    if chats and chats[-1].start > last_call and not chats[-1].call_ids:
        final_answer = chats[-1].text
    if final_answer is None and agent is not None:
        final_answer = agent.closing_text or agent.final_result
    return tuple(turns), final_answer


@hookimpl
def deepeyes_trajectory_sources():
    return [OtelSource]
