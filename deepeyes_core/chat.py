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

from typing import Literal

import attrs

from .records import Step, StepCall, ToolSpec, TrainingExample

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
    if example.final_answer is not None:
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
