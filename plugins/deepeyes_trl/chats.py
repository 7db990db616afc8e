"""What the ``trl`` backend trains on and answers: a conversation as chat-template messages, the
loss mask over its assistant turns, and the tool calls parsed back out of a generated turn.

Messages follow the transformers chat-template convention (what ``apply_chat_template`` and TRL's
tool-calling datasets take): ``system``, ``user``, ``assistant`` with ``tool_calls``
(``{"type": "function", "id", "function": {"name", "arguments"}}``, arguments as an object), and
one ``tool`` message per call (``tool_call_id``, ``name``, ``content``) with the call's real
outcome: the result text; for a failed call ``Error: <error>`` (and the result where the log has
one besides); for a call whose log has no outcome the explicit line :data:`NO_RESULT` (nothing is
made up). Tools are passed as JSON-schema function specs.

The loss mask (:func:`assistant_mask`) is built here, for any chat template, rather than with
``{% generation %}`` markers (which few model templates carry): each assistant turn's characters
are the difference between the rendering up to the turn's generation prompt and the rendering
through the turn (its closing token included, the whitespace after it not), and a token carries
loss when it starts inside such a span (the tokenizer's offset mapping). A template whose renderings
are not prefixes of each other is refused with a clear error. TRL gets the tokens and the mask
(``input_ids``, ``assistant_masks``) and builds the labels from them.

Tool calls are written and read in the Hermes / Qwen layout, ``<tool_call>{"name": ...,
"arguments": {...}}</tool_call>`` (the tiny recipe's template writes them so; so do Qwen 2.5 and
Hermes templates). A block that is not such JSON is kept as a call with an empty name, so it
counts as a wrong call rather than vanishing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from deepeyes_core import Conversation, ToolCall, ToolResult, ToolSpec, TrainingExample, conversation

#: The content of a tool message whose call has no recorded outcome in the log.
NO_RESULT = "[the log has no result for this call]"
#: The user text of a blind-sequence prompt is the example's prompt; a step prompt's is the task.
CALL_PATTERN = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)

Chat = dict[str, Any]  # {"messages": [...], "tools": [...] or None}


def tool_content(result: ToolResult | None) -> str:
    """The text a tool message carries for one call's outcome."""
    if result is None:
        return NO_RESULT
    if not result.is_error:
        return result.content if result.content is not None else ""
    text = f"Error: {result.error}" if result.error else "Error"
    return text if result.content is None else f"{text}\n{result.content}"


def tool_specs(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": t.name, "description": t.description,
                                              "parameters": t.parameters}} for t in tools]


def messages(conv: Conversation, with_tools: bool) -> Chat:
    """The conversation as chat-template messages (and tools where ``with_tools``)."""
    out: list[dict[str, Any]] = [{"role": "system", "content": conv.system}]
    for turn in conv.turns:
        if turn.role == "user":
            out.append({"role": "user", "content": turn.text or ""})
        elif turn.role == "assistant":
            message: dict[str, Any] = {"role": "assistant", "content": turn.text or ""}
            if turn.calls:
                message["tool_calls"] = [
                    {"type": "function", "id": call.call_id,
                     "function": {"name": call.name, "arguments": call.arguments}}
                    for call in turn.calls
                ]
            out.append(message)
        else:
            assert turn.call is not None
            out.append({"role": "tool", "tool_call_id": turn.call.call_id, "name": turn.call.name,
                        "content": tool_content(turn.call.result)})
    return {"messages": out, "tools": tool_specs(conv.tools) if with_tools and conv.tools else None}


def example_chat(example: TrainingExample, with_tools: bool) -> Chat:
    """The whole trajectory of an example, to train on."""
    return messages(conversation(example), with_tools)


def plain_text(chat: Chat) -> str:
    """The chat's words without template markers (what the tiny recipe's BPE tokenizer learns from)."""
    parts = []
    for tool in chat.get("tools") or ():
        parts.append(tool["function"]["name"] + " " + " ".join(tool["function"]["parameters"].get("properties", {})))
    for message in chat["messages"]:
        parts.append(message["content"])
        for call in message.get("tool_calls", ()):
            parts.append(render_call(call["function"]["name"], call["function"]["arguments"]))
    return "\n".join(parts)


def render_call(name: str, arguments: Any) -> str:
    """One call in the Hermes layout (as the tiny template writes it)."""
    return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False) + "</tool_call>"


def parse_calls(text: str) -> tuple[ToolCall, ...]:
    """The calls of a generated assistant turn, in order (see the module docstring)."""
    calls = []
    for match in CALL_PATTERN.finditer(text):
        body = match.group(1).strip()
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            data = None
        arguments = data.get("arguments", {}) if isinstance(data, dict) else None
        if isinstance(arguments, str):  # some templates write the arguments as a JSON string
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                arguments = None
        name = data.get("name") if isinstance(data, dict) else None
        if isinstance(name, str) and name and isinstance(arguments, dict):
            calls.append(ToolCall(name, arguments))
        else:
            calls.append(ToolCall("", {"unparsed": body}))
    return tuple(calls)


def render(tokenizer: Any, chat: Chat, generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(chat["messages"], tools=chat.get("tools"), tokenize=False,
                                         add_generation_prompt=generation_prompt)


def assistant_spans(tokenizer: Any, chat: Chat) -> tuple[str, list[tuple[int, int]]]:
    """(the rendered chat, the character spans of its assistant turns)."""
    full = render(tokenizer, chat)
    spans = []
    for i, message in enumerate(chat["messages"]):
        if message["role"] != "assistant":
            continue
        before = render(tokenizer, {**chat, "messages": chat["messages"][:i]}, generation_prompt=True)
        through = render(tokenizer, {**chat, "messages": chat["messages"][:i + 1]})
        if not (through.startswith(before) and full.startswith(through)):
            raise ValueError("the chat template does not render a conversation's beginning as a prefix of the "
                             "whole, so the assistant turns cannot be found for the loss mask")
        spans.append((len(before), len(through.rstrip())))
    return full, spans


def tokenize_with_mask(tokenizer: Any, chat: Chat) -> dict[str, list[int]]:
    """``input_ids`` and ``assistant_masks`` (1: the token carries loss) of one chat."""
    text, spans = assistant_spans(tokenizer, chat)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    mask = [int(any(start <= begin < end for start, end in spans)) for begin, _ in encoded["offset_mapping"]]
    return {"input_ids": list(encoded["input_ids"]), "assistant_masks": mask}


def numbered(calls: Sequence[ToolCall]) -> str:
    """Calls in the guide's completion layout (what blind-sequence scoring parses)."""
    return "Tool Invocation Sequence:\n" + "\n".join(f"{i}. {call.render()}" for i, call in enumerate(calls, 1))
