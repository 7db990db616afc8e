"""The ``anthropic-messages`` source: Claude Messages API conversations, one JSON object a line.

**Record.** One non-blank line of a JSONL file is one record: one conversation. It ends as exactly
one item: a :class:`Trajectory` (every tool call of the conversation, each carrying the line as its
location), or a :class:`Rejection` with ``records=1``. So ``trajectories + sum(rejection.records)``
equals the number of non-blank lines read.

**Line shapes.** Either a logged API exchange, ``{"request": <Messages API request body>,
"response": <Message>}``, or the same keys flat, ``{"messages": [...], "tools": [...],
"model": ..., "response": <Message>}``. ``response`` is optional (a transcript whose ``messages``
already end with the assistant's turn); an ``error`` response is treated as absent. The response
``response.model_dump(mode="json")`` of the ``anthropic`` SDK is read as is. Optional line-level
keys: ``metadata.conversation_id`` / ``conversation_id`` / ``id`` (the session id; else
``file:line``), ``timestamp`` (ISO 8601 or epoch seconds; else the file's modification time),
``agent_name`` / ``metadata.agent_name`` (else the request's ``model``).

**Pairing.** ``tool_use`` blocks (and ``server_tool_use`` / ``mcp_tool_use``) are paired with the
``tool_result`` block (or ``*_tool_result``) that names their id; ``is_error: true`` makes the
invocation a FAILURE whose error is the result's text (the content the model saw). The first user
turn's text is the trajectory's ``user_request``; the request's ``tools`` become its ``ToolSpec``s.

**Turns and answer.** The tool_use blocks of one assistant message are one assistant turn (calls
made together), whose text is that message's ``text`` blocks joined by newlines (None where it has
none). The text of the first assistant message without tool_use after the last tool results (the
one that closes the tool loop) is the trajectory's ``final_answer``; a conversation that ends on
tool results (or with an assistant message without text) has none.

**Rejections** (stage ``read``): ``malformed JSON`` / ``torn last line`` (from ``read_jsonl``),
``malformed record`` (not the shape above), ``unparseable arguments`` (a ``tool_use.input`` that
is a string but not a JSON object), ``unpaired tool_use`` (a call without a result, followed by
more conversation), ``unpaired tool_result`` (a result naming no earlier call), ``awaiting tool
results`` (the last assistant turn asks for tools whose results are not in the record: a logger
that writes one line per API call writes the conversation again, longer, on a later line, so only
the final line becomes a trajectory), ``no tool calls``.

**Memory.** Streams: one line at a time, whatever the size of the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import orjson

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


def _arguments(value: Any, call_id: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):  # a logger that kept the streamed partial JSON as text
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise RecordRejected("unparseable arguments", f"tool_use {call_id}: {exc}") from None
        if isinstance(parsed, dict):
            return parsed
        raise RecordRejected("unparseable arguments", f"tool_use {call_id}: input is not a JSON object")
    raise RecordRejected.malformed(f"tool_use {call_id}: input is a {type(value).__name__}, not an object")


def _outcome(block: dict[str, Any]) -> conversations.Outcome:
    """Result, status and error of a tool_result block."""
    content = block.get("content")
    failed = block.get("is_error") is True
    if isinstance(content, dict):  # server tool results: {"type": "web_search_tool_result_error", ...}
        kind = content.get("type")
        if isinstance(kind, str) and kind.endswith("_error"):
            failed = True
            code = content.get("error_code")
            return None, ToolStatus.FAILURE, str(code) if code is not None else kind
    text = conversations.text_of(content)
    if failed:
        return None, ToolStatus.FAILURE, text or "tool_result is_error"
    only_text = isinstance(content, list) and all(isinstance(b, dict) and b.get("type") == "text" for b in content)
    return (text if isinstance(content, str) or only_text else content), ToolStatus.SUCCESS, None


def _tools(value: Any) -> tuple[ToolSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RecordRejected.malformed("tools is not a list")
    specs = []
    for index, tool in enumerate(value):
        if not isinstance(tool, dict) or not conversations.nonempty_string(tool.get("name")):
            raise RecordRejected.malformed(f"tools[{index}] has no name")
        schema = tool.get("input_schema")
        description = tool.get("description")
        specs.append(conversations.declared_tool(tool["name"], schema, description))
    return tuple(specs)


def _messages(request: dict[str, Any], response: Any) -> list[Any]:
    messages = request.get("messages")
    if not isinstance(messages, list):
        raise RecordRejected.malformed("no messages list")
    if response is None or (isinstance(response, dict) and response.get("type") == "error"):
        return messages
    if not isinstance(response, dict) or not isinstance(response.get("content"), list):
        raise RecordRejected.malformed("response is not a Message (no content list)")
    return [*messages, {"role": "assistant", "content": response["content"]}]


class AnthropicMessagesSource:
    """Claude Messages API conversations (JSONL): tool_use paired with tool_result by id."""

    name = "anthropic-messages"

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
        stamp = conversations.exchange_time(line, mtime)  # a Message has no creation time
        calls, results, user_request, texts, final_answer = _walk(messages)
        return conversations.paired_trajectory(
            location,
            calls=calls,
            results=results,
            outcome=_outcome,
            last_message=len(messages) - 1,
            call_kind="tool_use",
            result_kind="tool_result",
            agent=self.options.agent_name or conversations.agent_name(line, request, response, self.name),
            session=conversations.session_id(location, line, request),
            stamp=stamp,
            user_request=user_request,
            tools=tools,
            source=self.name,
            texts=texts,
            final_answer=final_answer,
        )


def _walk(
    messages: list[Any],
) -> tuple[dict[str, conversations.Call], dict[str, dict[str, Any]], str | None, dict[int, str | None], str | None]:
    """Calls by id (tool name, arguments, message index) in call order, results by id, the text
    of the first user turn, the text of each assistant message by index, and the final answer."""
    calls: dict[str, conversations.Call] = {}
    results: dict[str, dict[str, Any]] = {}
    user_request: str | None = None
    seen_user = False
    texts: dict[int, str | None] = {}
    final_answer: str | None = None
    answered = False  # an assistant message without calls came after the last tool results
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise RecordRejected.malformed(f"messages[{index}] is not an object")
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant"):
            raise RecordRejected.malformed(f"messages[{index}].role is {role!r}, not user or assistant")
        if isinstance(content, str):
            blocks: list[Any] = [{"type": "text", "text": content}]
        elif isinstance(content, list):
            blocks = content
        else:
            raise RecordRejected.malformed(f"messages[{index}].content is neither text nor a list of blocks")
        if role == "user" and not seen_user:
            seen_user = True
            user_request = conversations.text_of(blocks).strip() or None
        made = len(calls)
        had_results = len(results)
        for position, block in enumerate(blocks):
            where = f"messages[{index}].content[{position}]"
            if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                raise RecordRejected.malformed(f"{where} is not a content block")
            kind = block["type"]
            if kind.endswith("tool_use"):
                call_id = conversations.nonempty_string(block.get("id"))
                tool = conversations.nonempty_string(block.get("name"))
                if call_id is None or tool is None:
                    raise RecordRejected.malformed(f"{where}: {kind} without an id or a name")
                if call_id in calls:
                    raise RecordRejected.malformed(f"{where}: tool_use id {call_id} appears twice")
                calls[call_id] = (tool, _arguments(block.get("input", {}), call_id), index)
            elif kind.endswith("tool_result"):
                call_id = conversations.nonempty_string(block.get("tool_use_id"))
                if call_id is None:
                    raise RecordRejected.malformed(f"{where}: {kind} without a tool_use_id")
                if call_id not in calls:
                    raise RecordRejected(
                        "unpaired tool_result", f"{where} answers {call_id}, which no earlier tool_use made"
                    )
                if call_id in results:
                    raise RecordRejected.malformed(f"{where}: a second result for {call_id}")
                results[call_id] = block
        if len(results) > had_results:
            answered, final_answer = False, None
        if role == "assistant":
            text = conversations.text_of(blocks).strip() or None
            if len(calls) > made:
                texts[index] = text
                answered, final_answer = False, None
            elif calls and not answered:
                answered, final_answer = True, text
    return calls, results, user_request, texts, final_answer


@hookimpl
def deepeyes_trajectory_sources():
    return [AnthropicMessagesSource]
