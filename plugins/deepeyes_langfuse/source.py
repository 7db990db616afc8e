"""The ``langfuse`` source: Langfuse traces with their observations, one JSON object a line.

**Files.** JSON Lines, one trace a line, each line the JSON of Langfuse's public API
``GET /api/public/traces/{traceId}``: the trace's fields (``id``, ``name``, ``input``, ``output``,
``sessionId``...) and its ``observations`` (``id``, ``type`` SPAN / GENERATION / TOOL / EVENT...,
``name``, ``startTime``, ``endTime``, ``parentObservationId``, ``input``, ``output``, ``level``,
``statusMessage``). The rows of ``GET /api/public/v2/observations`` (what SDK 5's
``iter_observation_pages`` reads, dumped with ``model_dump(mode="json", by_alias=True)``) have the
same field names: a line ``{"id": <trace id>, "observations": [<the trace's rows>]}`` is read
alike (without a trace name and session, the agent is ``langfuse`` and the session the trace id).
A file of loose rows, one a line, is not read (each line is rejected, saying so). The OTel spans
the SDK emits are not read here (the ``otel`` source reads GenAI spans, not ``langfuse.*``
attributes).

**Steps.** A GENERATION is one model turn. Its ``output`` is the assistant message in OpenAI's
shape (``{"role", "content", "tool_calls": [{"id", "function": {"name", "arguments"}}]}``; Langfuse's
OpenAI integration writes this; ``tool_use`` content blocks, Anthropic's shape, are calls too), or a
one-message list of it, or a text. Generations are ordered by ``startTime``, then by how many
messages their input holds (the API keeps milliseconds, so a quick agent's turns share a start
time), then ``endTime``. The calls of one generation are one step,
with its text.

**Calls and results.** Each call of a generation is paired with a *tool observation*: the first
not yet paired observation of type TOOL (or a SPAN, as SDKs before ``as_type="tool"`` wrote) with
the call's name, starting no earlier than the generation, whose input holds the call's arguments
(``@observe`` records ``{"args": [...], "kwargs": {...}}``), else the first with the call's name. The
call's parameters are the model's arguments; its result the observation's ``output``. An observation
of level ERROR is a FAILURE whose error is its ``statusMessage`` (else "ERROR"), keeping any output
it recorded. A trace without calling generations reads its TOOL observations, in ``startTime``
order, as calls with their input as parameters, without turn structure. A TOOL observation under
another TOOL observation, or under the observation a call was paired with (``parentObservationId``),
is part of that call, not a call of the agent.

**Request, answer, tools.** The user request is the trace's ``input`` when it is a text or a
message list (or ``{"messages": [...]}``), else the first user message of the first generation's
input. The final answer is the text of the last generation when it makes no call and comes after
the last calling generation; in a trace without generations, the trace's ``output`` when it is a
text. ToolSpecs come from the ``tools`` of the first generation input that has them. Session id:
``sessionId``, else the trace id; agent name: the option ``agent_name``, else the trace's ``name``.

**Record.** A line (a trace) is a record: it ends as one Trajectory or one Rejection. Rejections
(stage ``read``): ``malformed JSON`` / ``torn last line``, ``malformed record``, ``unparseable
arguments``, ``unpaired tool call`` (a generation's call without its tool observation),
``unpaired tool observation`` (a tool observation no call of a generation asked for, in a trace
whose generations make calls), ``unfinished tool observation`` (no ``endTime``), ``no tool calls``.

**Memory.** Streams: one trace at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import orjson

from deepeyes_core import (
    AssistantTurn,
    Location,
    RecordRejected,
    SourceItem,
    ToolInvocation,
    ToolSpec,
    ToolStatus,
    Trajectory,
    conversations,
    hookimpl,
    read_records,
    record_timestamp,
)

_TOOL_TYPES = ("TOOL", "SPAN")


@attrs.frozen(slots=True)
class _Observation:
    id: str
    type: str
    name: str | None
    parent: str | None
    start: datetime
    end: datetime | None
    input: Any
    output: Any
    level: str | None
    status_message: str | None
    index: int


@attrs.frozen(slots=True)
class _Call:
    name: str
    arguments: dict[str, Any]


@attrs.frozen(slots=True)
class _Generation:
    observation: _Observation
    text: str | None
    calls: tuple[_Call, ...]


def _observations(raw: Any) -> list[_Observation]:
    if not isinstance(raw, list):
        raise RecordRejected.malformed("observations is not a list")
    out = []
    for index, entry in enumerate(raw):
        where = f"observations[{index}]"
        if not isinstance(entry, dict):
            raise RecordRejected.malformed(f"{where} is not an object")
        identifier, kind = entry.get("id"), entry.get("type")
        if not isinstance(identifier, str) or not identifier or not isinstance(kind, str):
            raise RecordRejected.malformed(f"{where} has no id or type")
        if entry.get("startTime") is None:
            raise RecordRejected.malformed(f"{where} ({identifier}) has no startTime")
        end = entry.get("endTime")
        parent, name = entry.get("parentObservationId"), entry.get("name")
        level, message = entry.get("level"), entry.get("statusMessage")
        out.append(
            _Observation(
                identifier,
                kind.upper(),
                name if isinstance(name, str) and name else None,
                parent if isinstance(parent, str) and parent else None,
                record_timestamp(entry["startTime"]),
                None if end is None else record_timestamp(end),
                entry.get("input"),
                entry.get("output"),
                level if isinstance(level, str) else None,
                message if isinstance(message, str) and message.strip() else None,
                index,
            )
        )
    return out


def _message(output: Any) -> dict[str, Any] | None:
    if isinstance(output, list) and len(output) == 1:
        output = output[0]
    return output if isinstance(output, dict) else None


def _generation(observation: _Observation) -> _Generation:
    message = _message(observation.output)
    if message is None:
        text = observation.output.strip() or None if isinstance(observation.output, str) else None
        return _Generation(observation, text, ())
    calls = []
    raw_calls = message.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        raise RecordRejected.malformed(f"generation {observation.id}: tool_calls is not a list")
    for position, raw in enumerate(raw_calls):
        function = raw.get("function", raw) if isinstance(raw, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise RecordRejected.malformed(f"generation {observation.id}: tool_calls[{position}] has no name")
        calls.append(_Call(name, _arguments(function.get("arguments"), f"generation {observation.id}: {name}")))
    content = message.get("content")
    for block in content if isinstance(content, list) else ():  # Anthropic's tool_use blocks
        if isinstance(block, dict) and block.get("type") == "tool_use":
            name = block.get("name")
            if not isinstance(name, str) or not name:
                raise RecordRejected.malformed(f"generation {observation.id}: a tool_use block has no name")
            calls.append(_Call(name, _arguments(block.get("input"), f"generation {observation.id}: {name}")))
    text = conversations.text_of(content).strip() or None
    return _Generation(observation, text, tuple(calls))


def _arguments(value: Any, where: str) -> dict[str, Any]:
    """A call's arguments: a JSON object, or its text (empty: none)."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise RecordRejected("unparseable arguments", f"{where}: {exc}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordRejected("unparseable arguments", f"{where}: arguments are not a JSON object")
    return value


def _input_arguments(value: Any) -> Any:
    """A tool observation's input as arguments: ``@observe``'s ``{"args": [], "kwargs": {...}}`` is
    its kwargs; a JSON text is parsed; anything else as it is."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    if isinstance(value, dict) and set(value) == {"args", "kwargs"} and value["args"] == []:
        return value["kwargs"]
    return value


def _holds(value: Any, arguments: dict[str, Any]) -> bool:
    """Whether a tool observation's input records these arguments (by name, or ``@observe``'s
    positional ``args`` in the arguments' order)."""
    value = _input_arguments(value)
    if value == arguments:
        return True
    return isinstance(value, dict) and value.get("args") == list(arguments.values()) and not value.get("kwargs")


def _user_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        value = value.get("messages")
    if isinstance(value, list):
        for message in value:
            if isinstance(message, dict) and message.get("role") == "user":
                return conversations.text_of(message.get("content")).strip() or None
    return None


def _tools(generations: list[_Generation]) -> tuple[ToolSpec, ...]:
    for generation in generations:
        raw = generation.observation.input
        listed = raw.get("tools") if isinstance(raw, dict) else None
        if not isinstance(listed, list):
            continue
        specs = []
        for tool in listed:
            function = tool.get("function", tool) if isinstance(tool, dict) else None
            name = function.get("name") if isinstance(function, dict) else None
            if isinstance(name, str) and name:
                schema, description = function.get("parameters"), function.get("description")
                specs.append(conversations.declared_tool(name, schema, description))
        return tuple(specs)
    return ()


def _turn_order(generation: _Generation) -> tuple[Any, ...]:
    raw = generation.observation.input
    messages = raw.get("messages") if isinstance(raw, dict) else raw
    size = len(messages) if isinstance(messages, list) else 0
    end = generation.observation.end or generation.observation.start
    return (generation.observation.start, size, end, generation.observation.index)


def _pair(
    generations: list[_Generation], candidates: list[_Observation], by_id: dict[str, _Observation]
) -> list[tuple[_Call, _Observation, int]]:
    """Each call of each calling generation with its tool observation and its step number."""
    claimed: set[str] = set()
    paired = []
    for step, generation in enumerate(g for g in generations if g.calls):
        for call in generation.calls:
            named = [
                o
                for o in candidates
                if o.id not in claimed and o.name == call.name and o.start >= generation.observation.start
            ]
            if not named:
                raise RecordRejected(
                    "unpaired tool call",
                    f"generation {generation.observation.id} calls {call.name}, and no tool observation ran it",
                )
            match = next((o for o in named if _holds(o.input, call.arguments)), named[0])
            claimed.add(match.id)
            paired.append((call, match, step))
    unclaimed = [
        o.id for o in candidates if o.type == "TOOL" and o.id not in claimed and not _inside(o, by_id, claimed.__contains__)
    ]
    if unclaimed:
        raise RecordRejected(
            "unpaired tool observation", f"no generation asked for tool observation(s) {', '.join(unclaimed)}"
        )
    return paired


class LangfuseSource:
    """Langfuse trace exports (the public API's trace JSON, one a line): generations and tool observations."""

    name = "langfuse"

    @attrs.frozen
    class Options:
        #: Agent name for every trajectory; unset: the trace's name.
        agent_name: str | None = None

    def __init__(self, options: Options):
        self.options = options

    def read(self, paths: Sequence[Path]) -> Iterator[SourceItem]:
        for path in paths:
            yield from read_records(Path(path), self._trajectory)

    def _trajectory(self, location: Location, line: Any) -> Trajectory:
        if not isinstance(line, dict):
            raise RecordRejected.malformed(f"expected a trace object, got {type(line).__name__}")
        trace_id = conversations.nonempty_string(line.get("id"))
        if trace_id is None:
            raise RecordRejected.malformed("the trace has no id")
        if "observations" not in line:
            raise RecordRejected.malformed(
                f"{trace_id} has no observations: a line is a trace with its observations (GET "
                "/api/public/traces/{id}, or {\"id\": <trace id>, \"observations\": [<its v2 rows>]})"
            )
        observations = sorted(_observations(line["observations"]), key=lambda o: (o.start, o.index))
        by_id = {o.id: o for o in observations}
        generations = sorted(
            (_generation(o) for o in observations if o.type == "GENERATION"), key=_turn_order
        )
        candidates = [
            o for o in observations
            if o.type in _TOOL_TYPES and not _inside(o, by_id, lambda i: by_id[i].type == "TOOL")
        ]
        calling = [g for g in generations if g.calls]
        if calling:
            paired = _pair(generations, candidates, by_id)
            paired.sort(key=lambda p: p[2])  # by step; within one, in the generation's order
        else:
            paired = [
                (_Call(o.name or "", _arguments(_input_arguments(o.input), f"tool observation {o.id}")), o, i)
                for i, o in enumerate(o for o in candidates if o.type == "TOOL")
            ]
        if not paired:
            raise RecordRejected("no tool calls", f"trace {trace_id} has no tool observation")
        for _, observation, _ in paired:
            if observation.end is None:
                raise RecordRejected("unfinished tool observation", f"tool observation {observation.id} has no endTime")
            if not observation.name:
                raise RecordRejected.malformed(f"tool observation {observation.id} has no name")
        agent = self.options.agent_name or conversations.nonempty_string(line.get("name")) or self.name
        session = conversations.nonempty_string(line.get("sessionId")) or trace_id
        invocations = tuple(_invocation(call, o, agent, session, location) for call, o, _ in paired)
        turns: tuple[AssistantTurn, ...] = ()
        if calling:
            turns = tuple(AssistantTurn(len(g.calls), g.text) for g in calling)
        user_request = _user_text(line.get("input")) or next(
            (text for g in generations if (text := _user_text(g.observation.input))), None
        )
        return Trajectory(
            agent_name=agent,
            invocations=invocations,
            session_id=session,
            trajectory_id=trace_id,
            user_request=user_request,
            tools=_tools(generations),
            source=self.name,
            turns=turns,
            final_answer=_final_answer(line, generations),
        )


def _inside(observation: _Observation, by_id: dict[str, _Observation], test: Any) -> bool:
    """Whether an ancestor of ``observation`` (by ``parentObservationId``) passes ``test(id)``."""
    seen = {observation.id}
    parent = observation.parent
    while parent is not None and parent not in seen and parent in by_id:
        if test(parent):
            return True
        seen.add(parent)
        parent = by_id[parent].parent
    return False


def _invocation(call: _Call, observation: _Observation, agent: str, session: str, location: Location) -> ToolInvocation:
    failed = observation.level == "ERROR"
    end = observation.end or observation.start
    return ToolInvocation(
        tool_name=call.name,
        agent_name=agent,
        parameters=call.arguments,
        result=observation.output,
        status=ToolStatus.FAILURE if failed else ToolStatus.SUCCESS,
        latency_ms=(end - observation.start).total_seconds() * 1000,
        timestamp=observation.start,
        error=(observation.status_message or "ERROR") if failed else None,
        session_id=session,
        invocation_id=observation.id,
        location=location,
    )


def _final_answer(line: dict[str, Any], generations: list[_Generation]) -> str | None:
    if not generations:
        output = line.get("output")
        return output.strip() or None if isinstance(output, str) else None
    last = generations[-1]
    return last.text if not last.calls and any(g.calls for g in generations) else None


@hookimpl
def deepeyes_trajectory_sources():
    return [LangfuseSource]
