"""The chat messages that GenAI instrumentations record on spans, read into what a trajectory needs.

Attributes read (each a JSON text, or a value the exporter already structured):

- ``gen_ai.input.messages`` / ``gen_ai.output.messages`` (OpenTelemetry GenAI semantic
  conventions): ``[{"role", "parts": [{"type": "text", "content"}, {"type": "tool_call", "id",
  "name", "arguments"}, ...]}]``; the older ``{"role", "content": "..."}`` shape (and OpenAI-style
  ``content`` part lists and ``tool_calls``) too.
- ``pydantic_ai.all_messages`` (pydantic-ai's agent run span, instrumentation version 2 and
  later): the whole run in the semantic-convention shape; with ``final_result``, the run's output.
- ``gen_ai.prompt`` (older adopters: a JSON message list, or the prompt text) and the flattened
  ``gen_ai.prompt.<i>.role`` / ``gen_ai.prompt.<i>.content`` attributes (OpenLLMetry).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson


def json_value(value: Any) -> Any:
    """A JSON text parsed (None where it is not JSON); any other value as it is."""
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value


def messages(value: Any) -> list[dict[str, Any]]:
    """A message list attribute as its message objects (entries of another shape skipped)."""
    parsed = json_value(value)
    if isinstance(parsed, dict):  # a single message
        parsed = [parsed]
    return [m for m in parsed if isinstance(m, dict)] if isinstance(parsed, list) else []


def text(message: Mapping[str, Any]) -> str | None:
    """The text of one message: its ``content`` string, or its text parts joined by newlines."""
    content = message.get("content")
    if isinstance(content, str):
        return content.strip() or None
    parts = message.get("parts")
    if not isinstance(parts, list):
        parts = content if isinstance(content, list) else []
    texts = []
    for part in parts:
        if not isinstance(part, dict) or part.get("type") != "text":
            continue
        piece = part.get("content", part.get("text"))
        if isinstance(piece, str):
            texts.append(piece)
    return "\n".join(texts).strip() or None


def tool_call_ids(message: Mapping[str, Any]) -> list[str]:
    """The ids of the tool calls a message makes (``tool_call`` parts, or OpenAI's ``tool_calls``)."""
    ids = []
    for key, kind in (("parts", "tool_call"), ("tool_calls", None)):
        entries = message.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            matches = isinstance(entry, dict) and (kind is None or entry.get("type") == kind)
            if matches and isinstance(entry.get("id"), str) and entry["id"]:
                ids.append(entry["id"])
    return ids


def is_assistant(message: Mapping[str, Any]) -> bool:
    return message.get("role") in ("assistant", "model")


def first_user_text(value: Any) -> str | None:
    """The first user message's text of a message list attribute."""
    for message in messages(value):
        if message.get("role") == "user":
            return text(message)
    return None


def user_request(attributes: Mapping[str, Any]) -> str | None:
    """The user's request from a span's attributes: ``gen_ai.input.messages``, else
    ``pydantic_ai.all_messages``, else ``gen_ai.prompt`` (a message list, or the prompt text),
    else the first flattened ``gen_ai.prompt.<i>`` with role user."""
    for key in ("gen_ai.input.messages", "pydantic_ai.all_messages"):
        found = first_user_text(attributes.get(key))
        if found:
            return found
    prompt = attributes.get("gen_ai.prompt")
    if isinstance(prompt, str):
        listed = messages(prompt)
        if listed:
            return first_user_text(listed)
        return prompt.strip() or None
    for i in range(64):
        role = attributes.get(f"gen_ai.prompt.{i}.role")
        if role is None:
            break
        content = attributes.get(f"gen_ai.prompt.{i}.content")
        if role == "user" and isinstance(content, str) and content.strip():
            return content.strip()
    return None


def closing_text(value: Any) -> str | None:
    """The text of the last message of a list, where it is an assistant message without calls."""
    listed = messages(value)
    if not listed or not is_assistant(listed[-1]) or tool_call_ids(listed[-1]):
        return None
    return text(listed[-1])


def texts_by_call(value: Any) -> dict[str, tuple[int, str | None]]:
    """For each tool call id of a message list: the index of the assistant message that made it,
    and that message's text."""
    out: dict[str, tuple[int, str | None]] = {}
    for index, message in enumerate(messages(value)):
        if is_assistant(message):
            for call_id in tool_call_ids(message):
                out.setdefault(call_id, (index, text(message)))
    return out


def output_text(value: Any) -> str | None:
    """The assistant text of an output message list (``gen_ai.output.messages``), joined."""
    texts = [t for m in messages(value) if is_assistant(m) and (t := text(m))]
    return "\n".join(texts) or None
