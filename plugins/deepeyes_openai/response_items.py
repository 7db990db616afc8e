"""Reading the items of OpenAI Responses API requests and responses (``input`` and ``output`` lists).

Shared by the ``openai-responses`` and ``openai-agents`` sources; the item types and what each
source does with them are described in :mod:`deepeyes_openai.responses_source`.
"""

from __future__ import annotations

from typing import Any

import attrs
import orjson

from deepeyes_core import RecordRejected, ToolSpec, conversations

#: Built-in tool calls whose results the items do not hold.
BUILTIN_CALLS = frozenset({
    "web_search_call",
    "file_search_call",
    "computer_call",
    "computer_call_output",
    "code_interpreter_call",
    "image_generation_call",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "tool_search_call",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_list_tools",
})
_ROLES = ("user", "system", "developer", "assistant")
_TEXT_PARTS = ("input_text", "output_text", "text")


def text_of(content: Any) -> str:
    """A string, or the text parts (``input_text`` / ``output_text``) of a content list joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("type"), str) and part["type"] in _TEXT_PARTS and isinstance(part.get("text"), str)
        )
    return ""


def arguments(value: Any, call_id: str) -> dict[str, Any]:
    """A call's ``arguments`` (a JSON string; an empty one means none) as a dict."""
    if isinstance(value, dict):  # a logger that stored them parsed
        return value
    if not isinstance(value, str):
        raise RecordRejected("unparseable arguments", f"call {call_id}: arguments are a {type(value).__name__}")
    if not value.strip():
        return {}
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise RecordRejected("unparseable arguments", f"call {call_id}: {exc}") from None
    if not isinstance(parsed, dict):
        raise RecordRejected("unparseable arguments", f"call {call_id}: arguments are not a JSON object")
    return parsed


def tools(value: Any) -> tuple[ToolSpec, ...]:
    """The ``function`` tools of a request (``{"type": "function", "name", "description",
    "parameters"}``) as ToolSpecs; built-in tools (``web_search`` ...) declare no function."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RecordRejected.malformed("tools is not a list")
    specs = []
    for index, tool in enumerate(value):
        if not isinstance(tool, dict):
            raise RecordRejected.malformed(f"tools[{index}] is not an object")
        if tool.get("type", "function") != "function":
            continue
        if conversations.nonempty_string(tool.get("name")) is None:
            raise RecordRejected.malformed(f"tools[{index}] has no function name")
        schema, description = tool.get("parameters"), tool.get("description")
        specs.append(conversations.declared_tool(tool["name"], schema, description))
    return tuple(specs)


@attrs.define
class Walked:
    """What a conversation's items hold. ``calls`` by call id (name, arguments, turn), in call
    order; ``results`` their output items by call id; ``texts`` each turn's assistant text."""

    calls: dict[str, conversations.Call] = attrs.field(factory=dict)
    results: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    texts: dict[int, str | None] = attrs.field(factory=dict)
    user_request: str | None = None
    final_answer: str | None = None
    last_turn: int = -1


def walk(items: list[Any], output: list[Any]) -> Walked:
    """Walk the input ``items`` then a response's ``output``; a turn is a run of assistant output
    items (messages, calls), and the response's output always starts a new one."""
    found = Walked()
    seen_user = in_turn = False
    turn_texts: list[str] = []
    answer_turn: int | None = None  # the first turn without calls after the last results
    awaiting_answer = False
    for index, item in enumerate([*items, *output]):
        where = f"input[{index}]" if index < len(items) else f"output[{index - len(items)}]"
        if index == len(items):
            in_turn = False
        if not isinstance(item, dict):
            raise RecordRejected.malformed(f"{where} is not an object")
        kind = item.get("type", "message" if "role" in item else None)
        if not isinstance(kind, str):
            raise RecordRejected.malformed(f"{where}.type is {kind!r}, not a string")
        if kind in ("reasoning", "compaction"):
            continue
        if kind == "message":
            role = item.get("role")
            if role not in _ROLES:
                raise RecordRejected.malformed(f"{where}.role is {role!r}")
            if role != "assistant":
                if role == "user" and not seen_user:
                    seen_user = True
                    found.user_request = text_of(item.get("content")).strip() or None
                in_turn = False
                continue
        elif kind in ("function_call", "mcp_call"):
            name = conversations.nonempty_string(item.get("name"))
            call_id = conversations.nonempty_string(item.get("call_id" if kind == "function_call" else "id"))
            if call_id is None or name is None:
                raise RecordRejected.malformed(f"{where}: {kind} without a call id or a name")
            if call_id in found.calls:
                raise RecordRejected.malformed(f"{where}: call id {call_id} appears twice")
        elif kind == "function_call_output":
            call_id = conversations.nonempty_string(item.get("call_id"))
            if call_id is None:
                raise RecordRejected.malformed(f"{where}: function_call_output without a call_id")
            if call_id not in found.calls:
                raise RecordRejected(
                    "unpaired function_call_output", f"{where} answers {call_id}, which no earlier function_call made"
                )
            if call_id in found.results:
                raise RecordRejected.malformed(f"{where}: a second output for {call_id}")
            found.results[call_id] = item
            in_turn, awaiting_answer, answer_turn = False, True, None
            continue
        elif kind in BUILTIN_CALLS:
            raise RecordRejected("unsupported tool call", f"{where} is a {kind}, whose result the log does not hold")
        elif kind == "item_reference":
            raise RecordRejected("unsupported input item", f"{where} refers to an item kept on the server")
        else:
            raise RecordRejected.malformed(f"{where}.type is {kind!r}")
        # an assistant output item: a message or a call
        if not in_turn:
            in_turn, turn_texts = True, []
            found.last_turn += 1
        turn = found.last_turn
        if kind == "message":
            text = text_of(item.get("content")).strip()
            if text:
                turn_texts.append(text)
            found.texts[turn] = "\n".join(turn_texts) or None
            if awaiting_answer:
                awaiting_answer, answer_turn = False, turn
        else:
            found.calls[call_id] = (name, arguments(item.get("arguments"), call_id), turn)
            found.texts[turn] = "\n".join(turn_texts) or None
            answer_turn = None  # an answer followed by more calls is not the final one
            awaiting_answer = kind == "mcp_call"
            if kind == "mcp_call":  # its result is in the item itself
                found.results[call_id] = item
    if answer_turn is not None:
        found.final_answer = found.texts.get(answer_turn)
    return found
