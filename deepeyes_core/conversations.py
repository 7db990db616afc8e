"""What the sources of logged chat conversations share (``anthropic-messages``, ``openai-chat``).

One JSON line is one conversation: a logged API exchange, ``{"request": ..., "response": ...}``, or
the same keys flat. A source reads the provider's own message format and pairs each call with its
result; this module does the rest the same way for every provider: it unwraps the line, names the
conversation and its agent, checks that every call has its result, and makes the Trajectory with
its assistant turns (the calls of one assistant message are one turn, with that message's text)
and the agent's final answer (the text of the last assistant message, when it comes after the
last tool results).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import RecordRejected
from .io import read_records, record_timestamp
from .records import (
    AssistantTurn,
    Location,
    Rejection,
    ToolInvocation,
    ToolSpec,
    ToolStatus,
    Trajectory,
)

#: A call found in a conversation: tool name, arguments, and the index of the message that made it.
Call = tuple[str, dict[str, Any], int]
#: What a result message or block says: the result, the status, and the error text.
Outcome = tuple[Any, ToolStatus, str | None]


def read_conversations(
    paths: Sequence[Path], parse: Callable[[datetime, Location, Any], Trajectory]
) -> Iterator[Trajectory | Rejection]:
    """Each line of each file through ``parse(file's modification time, location, line)``, the
    time being the timestamp of a conversation that has none (see :func:`~deepeyes_core.read_records`)."""
    for path in paths:
        mtime = datetime.fromtimestamp(Path(path).stat().st_mtime, timezone.utc)
        yield from read_records(path, functools.partial(parse, mtime))


def nonempty_string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def declared_tool(name: str, schema: Any, description: Any) -> ToolSpec:
    """A tool a log declares: its argument schema where that is an object (else an empty object
    schema), its description where that is text."""
    return ToolSpec(
        name,
        schema if isinstance(schema, dict) else {"type": "object", "properties": {}},
        description if isinstance(description, str) else "",
    )


def text_of(content: Any) -> str:
    """The text of a content value: a string, or the ``text`` blocks (parts) of a list joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            b["text"]
            for b in content
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        ]
        return "\n".join(parts)
    return ""


def exchange(line: Any) -> tuple[dict[str, Any], Any]:
    """The request body and the response of a line, which is either ``{"request", "response"}`` or
    the request's keys flat beside ``response``."""
    if not isinstance(line, dict):
        raise RecordRejected.malformed(f"expected a JSON object, got {type(line).__name__}")
    request = line.get("request", line)
    if not isinstance(request, dict):
        raise RecordRejected.malformed("request is not an object")
    return request, line.get("response")


def exchange_time(line: dict[str, Any], mtime: datetime, created: Any = None) -> datetime:
    """When an exchange happened: the line's ``timestamp`` (ISO 8601 or epoch seconds), else the
    response's ``created`` epoch seconds, where the API gives one, else the file's ``mtime``."""
    if line.get("timestamp") is not None:
        return record_timestamp(line["timestamp"])
    if isinstance(created, (int, float)) and not isinstance(created, bool):
        return record_timestamp(created)
    return mtime


def session_id(location: Location, line: dict[str, Any], request: dict[str, Any]) -> str:
    """``metadata.conversation_id``, else ``conversation_id``, else ``id`` of the line, else the
    request's ``metadata.conversation_id``; else the line's ``file:line``."""
    metadata = line.get("metadata")
    request_metadata = request.get("metadata")
    candidates = [
        metadata.get("conversation_id") if isinstance(metadata, dict) else None,
        line.get("conversation_id"),
        line.get("id"),
        request_metadata.get("conversation_id") if isinstance(request_metadata, dict) else None,
    ]
    for value in candidates:
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return f"{location.file}:{location.line}"


def agent_name(line: dict[str, Any], request: dict[str, Any], response: Any, default: str) -> str:
    """The line's ``agent_name``, else ``metadata.agent_name``, else the request's model, else the
    response's, else ``default``."""
    metadata = line.get("metadata") if isinstance(line.get("metadata"), dict) else {}
    model = response.get("model") if isinstance(response, dict) else None
    return (
        nonempty_string(line.get("agent_name"))
        or nonempty_string(metadata.get("agent_name"))
        or nonempty_string(request.get("model"))
        or nonempty_string(model)
        or default
    )


def paired_trajectory(
    location: Location,
    *,
    calls: Mapping[str, Call],
    results: Mapping[str, Any],
    outcome: Callable[[Any], Outcome],
    last_message: int,
    call_kind: str,
    result_kind: str,
    agent: str,
    session: str,
    stamp: datetime,
    user_request: str | None,
    tools: tuple[ToolSpec, ...],
    source: str,
    texts: Mapping[int, str | None] | None = None,
    final_answer: str | None = None,
) -> Trajectory:
    """The Trajectory of a conversation whose calls (by id, in call order) all have their results
    (by call id; ``outcome`` reads one). Raises RecordRejected ``no tool calls``, ``awaiting tool
    results`` (the calls without a result are all in the last message: a per-call logger writes
    the conversation again, longer, on a later line) or ``unpaired <call_kind>``.

    The calls of one message (consecutive calls with one message index) are one assistant turn,
    whose text is ``texts[message index]`` (None where the message has no text). ``final_answer``
    is the agent's closing text, where the conversation has one."""
    if not calls:
        raise RecordRejected("no tool calls", f"the conversation has no {call_kind}")
    unpaired = [call_id for call_id in calls if call_id not in results]
    if unpaired:
        if all(calls[call_id][2] == last_message for call_id in unpaired):
            raise RecordRejected("awaiting tool results", f"the last message asks for {', '.join(unpaired)}")
        raise RecordRejected(f"unpaired {call_kind}", f"no {result_kind} for {', '.join(unpaired)}")
    invocations = []
    for call_id, (tool, arguments, _) in calls.items():
        result, status, error = outcome(results[call_id])
        invocations.append(
            ToolInvocation(
                tool_name=tool,
                agent_name=agent,
                parameters=arguments,
                result=result,
                status=status,
                latency_ms=0.0,
                timestamp=stamp,
                error=error,
                session_id=session,
                invocation_id=call_id,
                location=location,
            )
        )
    return Trajectory(
        agent_name=agent,
        invocations=tuple(invocations),
        session_id=session,
        trajectory_id=str(location),
        user_request=user_request,
        tools=tools,
        source=source,
        turns=turns_of_messages([message for _, _, message in calls.values()], texts or {}),
        final_answer=final_answer,
    )


def turns_of_messages(messages: Sequence[int], texts: Mapping[int, str | None]) -> tuple[AssistantTurn, ...]:
    """One turn per run of consecutive calls made in one message (``messages``: each call's
    message index, in call order), with that message's text."""
    turns: list[AssistantTurn] = []
    previous: int | None = None
    for message in messages:
        if message == previous:
            turns[-1] = AssistantTurn(turns[-1].calls + 1, turns[-1].text)
        else:
            turns.append(AssistantTurn(1, texts.get(message)))
        previous = message
    return tuple(turns)
