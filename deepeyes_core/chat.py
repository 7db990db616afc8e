"""An example as a neutral conversation: the one turn list every chat exporter and every step-level
evaluation starts from.

:func:`conversation` turns an example into ``system`` + ``tools`` + turns: the user's turn (the
task text), then for each step an assistant turn (its text, where the log has one, and the calls
it made together) followed by one ``tool`` turn per call carrying that call's real outcome, then
the agent's final answer where the log has one. Each exporter only maps these turns to its
consumer's shape and checks its consumer's rules; an outcome the log lacks (``result is None``)
reaches the exporter as such, and the exporter says so (it never writes a placeholder).

:func:`step_prompts` cuts the same conversation before each assistant step: what a model is shown
(the history with the real results so far) and the calls it must make, for step-level evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import attrs
import orjson

from .records import Step, StepCall, ToolResult, ToolSpec, TrainingExample

#: The system text of chat-format records and step-level evaluation.
CHAT_SYSTEM_PROMPT = (
    "You are an agent that completes the user's task by calling the tools provided. Call a tool "
    "when you need one (several at once when they do not depend on each other), read its result, "
    "and answer the user when the task is done."
)


@attrs.frozen(slots=True)
class ChatTurn:
    """One turn. ``user``: ``text`` is the request. ``assistant``: its ``text`` (None where the log
    has none) and the ``calls`` it made together (none for a final answer). ``tool``: the outcome
    of one call, ``call`` (its ``result`` is None where the log has no outcome)."""

    role: Literal["user", "assistant", "tool"]
    text: str | None = None
    calls: tuple[StepCall, ...] = ()
    call: StepCall | None = None


@attrs.frozen(slots=True)
class Conversation:
    system: str
    tools: tuple[ToolSpec, ...]
    turns: tuple[ChatTurn, ...]


@attrs.frozen(slots=True)
class StepPrompt:
    """What a model is shown before one step (the conversation so far) and what it must do."""

    history: Conversation
    expected: Step
    #: The step's position in the trajectory, from 0.
    index: int


def steps_of(example: TrainingExample) -> tuple[Step, ...]:
    """The example's steps; for an example made from a bare call sequence (no steps), each call
    its own step with no recorded outcome."""
    if example.steps:
        return example.steps
    return tuple(
        Step((StepCall(name, arguments, f"call_{i}"),))
        for i, (name, arguments) in enumerate(zip(example.tool_sequence, example.tool_parameters), 1)
    )


def _step_turns(step: Step) -> list[ChatTurn]:
    return [ChatTurn("assistant", step.text, step.calls), *(ChatTurn("tool", call=call) for call in step.calls)]


def conversation(example: TrainingExample, system: str = CHAT_SYSTEM_PROMPT) -> Conversation:
    """The whole trajectory as neutral turns (see the module docstring)."""
    turns = [ChatTurn("user", example.task_description)]
    for step in steps_of(example):
        turns.extend(_step_turns(step))
    if example.final_answer is not None and example.final_answer.strip():
        turns.append(ChatTurn("assistant", example.final_answer))
    return Conversation(system, example.tools, tuple(turns))


def step_prompts(example: TrainingExample, system: str = CHAT_SYSTEM_PROMPT) -> list[StepPrompt]:
    """One prompt per step: the conversation up to that step, with the real results of the steps
    before it."""
    turns = [ChatTurn("user", example.task_description)]
    prompts = []
    for index, step in enumerate(steps_of(example)):
        prompts.append(StepPrompt(Conversation(system, example.tools, tuple(turns)), step, index))
        turns.extend(_step_turns(step))
    return prompts


def missing_outcomes(conversation: Conversation) -> list[str]:
    """A sentence for each call whose outcome the log does not have (a chat format that needs every
    result cannot take such a conversation)."""
    return [
        f"call {turn.call.call_id} ({turn.call.name}) has no recorded result"
        for turn in conversation.turns
        if turn.role == "tool" and turn.call is not None and turn.call.result is None
    ]


# --------------------------------------------------------------------------------------------
# What every chat exporter shares: outcome text, API-valid call ids, the OpenAI-shaped messages
# --------------------------------------------------------------------------------------------

#: The id pattern of the Anthropic Messages API (``tool_use.id``), which also suits OpenAI.
CALL_ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")


def outcome_text(result: ToolResult | None) -> str | None:
    """The text a tool turn carries: the result's content; for a failed call with no content, its
    error text; None where the log has no outcome (a format that needs every result refuses it)."""
    if result is None:
        return None
    if result.content is not None:
        return result.content
    return result.error if result.is_error else None


def call_ids(conversation: Conversation) -> dict[int, str]:
    """Each call's id made valid for the APIs (``^[a-zA-Z0-9_-]+$``: other characters become
    ``_``) and unique in the record (a repeat gets ``_2``, ``_3``...), keyed by the position of
    the call in the conversation (0, 1, ... in order)."""
    ids: dict[int, str] = {}
    used: set[str] = set()
    position = 0
    for turn in conversation.turns:
        for call in turn.calls:
            base = re.sub(r"[^a-zA-Z0-9_-]", "_", call.call_id) or "call"
            candidate, n = base, 1
            while candidate in used:
                n += 1
                candidate = f"{base}_{n}"
            used.add(candidate)
            ids[position] = candidate
            position += 1
    return ids


def chat_messages(
    conversation: Conversation,
    *,
    arguments_as_text: bool = True,
    tool_name: bool = False,
    final_answer: bool = True,
) -> list[dict[str, Any]]:
    """The conversation as OpenAI-shaped chat messages (the shape OpenAI fine-tuning and
    transformers chat templates share): ``system``, ``user``, then per step one ``assistant``
    message (``content``: the step's text or None, ``tool_calls`` with ``{"id", "type":
    "function", "function": {"name", "arguments"}}``) and one ``tool`` message per call
    (``tool_call_id``, ``content``: :func:`outcome_text`, None where the log has no outcome; with
    ``tool_name`` also the tool's ``name``), then the final answer where there is one.
    ``arguments_as_text``: arguments as a JSON string (OpenAI's format), else as the dict."""
    ids = call_ids(conversation)
    messages: list[dict[str, Any]] = [{"role": "system", "content": conversation.system}]
    pending: list[str] = []
    position = 0
    for turn in conversation.turns:
        if turn.role == "user":
            messages.append({"role": "user", "content": turn.text})
        elif turn.role == "assistant" and turn.calls:
            calls = []
            for call in turn.calls:
                id_ = ids[position]
                position += 1
                pending.append(id_)
                arguments: Any = json_text(call.arguments) if arguments_as_text else call.arguments
                calls.append({"id": id_, "type": "function", "function": {"name": call.name, "arguments": arguments}})
            messages.append({"role": "assistant", "content": turn.text or None, "tool_calls": calls})
        elif turn.role == "assistant":
            if final_answer:
                messages.append({"role": "assistant", "content": turn.text})
        elif turn.call is not None:
            message: dict[str, Any] = {"role": "tool", "tool_call_id": pending.pop(0)}
            if tool_name:
                message["name"] = turn.call.name
            message["content"] = outcome_text(turn.call.result)
            messages.append(message)
    return messages


def json_text(value: Any) -> str:
    """``value`` as compact JSON text (non-ASCII kept as it is)."""
    return orjson.dumps(value).decode()


def tool_message_problems(messages: Sequence[Any]) -> list[str]:
    """The rules OpenAI-shaped messages share about tool calls: every ``tool`` message answers a
    call of the assistant message before it (by ``tool_call_id``), every call is answered before
    the next assistant message, and a tool message carries the call's result (None: the log has
    none)."""
    problems: list[str] = []
    pending: list[str] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "assistant":
            if pending:
                problems.append(f"messages[{i}]: tool calls {pending} have no tool message before this turn")
            pending = [c.get("id") for c in message.get("tool_calls") or [] if isinstance(c, dict)]
        elif role == "tool":
            id_ = message.get("tool_call_id")
            if id_ not in pending:
                problems.append(f"messages[{i}]: tool_call_id {id_!r} answers no call of the assistant turn before it")
            else:
                pending.remove(id_)
            if message.get("content") is None:
                problems.append(f"messages[{i}]: call {id_!r} has no recorded result (the log has none)")
            elif not isinstance(message.get("content"), str):
                problems.append(f"messages[{i}].content: a tool result must be a string")
        elif role == "user" and pending:
            problems.append(f"messages[{i}]: tool calls {pending} have no tool message before this turn")
            pending = []
    return problems
