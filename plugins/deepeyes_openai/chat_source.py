"""The ``openai-chat`` source: OpenAI Chat Completions conversations, one JSON object a line.

**Record.** One non-blank line of a JSONL file is one record: one conversation. It ends as exactly
one item: a :class:`Trajectory` (every tool call of the conversation, each carrying the line as its
location), or a :class:`Rejection` with ``records=1``. So ``trajectories + sum(rejection.records)``
equals the number of non-blank lines read.

**Line shapes.** Either a logged API exchange, ``{"request": <chat.completions request body>,
"response": <ChatCompletion>}``, or the same keys flat, ``{"messages": [...], "tools": [...],
"response": ...}`` (OpenAI's fine-tuning JSONL is this shape, without a response). The response's
first choice's ``message`` ends the conversation; ``response.model_dump(mode="json")`` of the
``openai`` SDK is read as is, and an ``error`` response is treated as absent. Optional line-level
keys: ``metadata.conversation_id`` / ``conversation_id`` / ``id`` (the session id; else
``file:line``), ``timestamp`` (ISO 8601 or epoch seconds; else the response's ``created``; else
the file's modification time), ``agent_name`` / ``metadata.agent_name`` (else the model).

**Pairing.** Each assistant ``tool_calls`` entry (``type: function``) is paired with the ``tool``
message whose ``tool_call_id`` names it. ``function.arguments`` is a JSON string and is parsed
(an empty string means no arguments); what does not parse to a JSON object is ``unparseable
arguments``. The Chat Completions format has no failure flag: an invocation is a SUCCESS unless its
``tool`` message carries ``"is_error": true`` (a field some loggers add), which makes it a FAILURE
with the message's text as the error. The first user message's text is the ``user_request``; the
request's ``tools`` become ``ToolSpec``s.

**Turns and answer.** The ``tool_calls`` of one assistant message are one assistant turn (calls
made together), whose text is that message's ``content`` (None where it is empty or null). The
``content`` of the first assistant message without tool_calls after the last tool message (the one
that closes the tool loop) is the trajectory's ``final_answer``; a conversation that ends on tool
messages (or with an assistant message without content) has none. The legacy ``function_call`` / ``function`` role (no ids)
is not read.

**Rejections** (stage ``read``): ``malformed JSON`` / ``torn last line``, ``malformed record``,
``unparseable arguments``, ``unsupported tool call`` (a ``custom`` tool call), ``unpaired
tool_call``, ``unpaired tool message``, ``awaiting tool results`` (the last assistant message asks
for tools whose results are not in the record: a per-call logger writes the conversation again,
longer, later), ``no tool calls``.

**Memory.** Streams: one line at a time, whatever the size of the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from deepeyes_core import (
    Location,
    RecordRejected,
    SourceItem,
    ToolSpec,
    ToolStatus,
    Trajectory,
    conversations,
    hookimpl,
)

from .response_items import arguments

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def _tools(value: Any) -> tuple[ToolSpec, ...]:
    """``[{"type": "function", "function": {name, description, parameters}}]`` (or the flat
    ``{"type": "function", "name": ...}``) as ToolSpecs."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RecordRejected.malformed("tools is not a list")
    specs = []
    for index, tool in enumerate(value):
        function = tool.get("function", tool) if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not conversations.nonempty_string(function.get("name")):
            raise RecordRejected.malformed(f"tools[{index}] has no function name")
        schema, description = function.get("parameters"), function.get("description")
        specs.append(conversations.declared_tool(function["name"], schema, description))
    return tuple(specs)


def _messages(request: dict[str, Any], response: Any) -> list[Any]:
    messages = request.get("messages")
    if not isinstance(messages, list):
        raise RecordRejected.malformed("no messages list")
    if response is None or (isinstance(response, dict) and "error" in response and "choices" not in response):
        return messages
    choices = response.get("choices") if isinstance(response, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise RecordRejected.malformed("response is not a ChatCompletion (no choices)")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise RecordRejected.malformed("response.choices[0] has no message")
    return [*messages, message]


class OpenAIChatSource:
    """OpenAI Chat Completions conversations (JSONL): tool_calls paired with tool messages by id."""

    name = "openai-chat"

    @attrs.frozen
    class Options:
        #: Agent name for every trajectory; unset: the line's agent_name, else the model.
        agent_name: str | None = None

    def __init__(self, options: Options):
        self.options = options

    def read(self, paths: Sequence[Path]) -> Iterator[SourceItem]:
        return conversations.read_conversations(paths, self._trajectory)

    def _trajectory(self, mtime: datetime, location: Location, line: Any) -> Trajectory:
        request, response = conversations.exchange(line)
        messages = _messages(request, response)
        tools = _tools(request.get("tools"))
        stamp = conversations.exchange_time(line, mtime, response.get("created") if isinstance(response, dict) else None)
        calls, results, user_request, texts, final_answer = _walk(messages)
        return conversations.paired_trajectory(
            location,
            calls=calls,
            results=results,
            outcome=_outcome,
            last_message=len(messages) - 1,
            call_kind="tool_call",
            result_kind="tool message",
            agent=self.options.agent_name or conversations.agent_name(line, request, response, self.name),
            session=conversations.session_id(location, line, request),
            stamp=stamp,
            user_request=user_request,
            tools=tools,
            source=self.name,
            texts=texts,
            final_answer=final_answer,
        )


def _outcome(message: dict[str, Any]) -> conversations.Outcome:
    """Result, status and error of a tool message (a FAILURE only where a logger added ``is_error``)."""
    content = message.get("content")
    text = conversations.text_of(content)
    if message.get("is_error") is True:
        return None, ToolStatus.FAILURE, text or "tool message is_error"
    return (content if content is None or isinstance(content, str) else text), ToolStatus.SUCCESS, None


def _walk(
    messages: list[Any],
) -> tuple[dict[str, conversations.Call], dict[str, dict[str, Any]], str | None, dict[int, str | None], str | None]:
    """Calls by id (tool name, arguments, message index) in call order, tool messages by call id,
    the text of the first user message, the content of each assistant message that made calls (by
    index), and the final answer."""
    calls: dict[str, conversations.Call] = {}
    results: dict[str, dict[str, Any]] = {}
    user_request: str | None = None
    seen_user = False
    texts: dict[int, str | None] = {}
    final_answer: str | None = None
    answered = False  # an assistant message without calls came after the last tool message
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise RecordRejected.malformed(f"messages[{index}] is not an object")
        role = message.get("role")
        if role not in _ROLES:
            raise RecordRejected.malformed(f"messages[{index}].role is {role!r}")
        if role == "user" and not seen_user:
            seen_user = True
            user_request = conversations.text_of(message.get("content")).strip() or None
        if role == "assistant":
            tool_calls = message.get("tool_calls")
            text = conversations.text_of(message.get("content")).strip() or None
            if not tool_calls:  # None, or an empty list some loggers write
                if tool_calls is not None and not isinstance(tool_calls, list):
                    raise RecordRejected.malformed(f"messages[{index}].tool_calls is not a list")
                if calls and not answered:
                    answered, final_answer = True, text
                continue
            if not isinstance(tool_calls, list):
                raise RecordRejected.malformed(f"messages[{index}].tool_calls is not a list")
            for position, call in enumerate(tool_calls):
                where = f"messages[{index}].tool_calls[{position}]"
                if not isinstance(call, dict):
                    raise RecordRejected.malformed(f"{where} is not an object")
                call_id = conversations.nonempty_string(call.get("id"))
                if call_id is None:
                    raise RecordRejected.malformed(f"{where} has no id")
                kind = call.get("type", "function")
                if kind != "function":
                    raise RecordRejected("unsupported tool call", f"{where} is of type {kind!r}")
                function = call.get("function")
                if not isinstance(function, dict) or conversations.nonempty_string(function.get("name")) is None:
                    raise RecordRejected.malformed(f"{where} has no function name")
                if call_id in calls:
                    raise RecordRejected.malformed(f"{where}: tool_call id {call_id} appears twice")
                calls[call_id] = (function["name"], arguments(function.get("arguments"), call_id), index)
            texts[index] = text
            answered, final_answer = False, None
        elif role == "tool":
            call_id = conversations.nonempty_string(message.get("tool_call_id"))
            if call_id is None:
                raise RecordRejected.malformed(f"messages[{index}] is a tool message without a tool_call_id")
            if call_id not in calls:
                raise RecordRejected(
                    "unpaired tool message", f"messages[{index}] answers {call_id}, which no earlier tool_call made"
                )
            if call_id in results:
                raise RecordRejected.malformed(f"messages[{index}]: a second tool message for {call_id}")
            results[call_id] = message
            answered, final_answer = False, None
    return calls, results, user_request, texts, final_answer


@hookimpl
def deepeyes_trajectory_sources():
    return [OpenAIChatSource]
