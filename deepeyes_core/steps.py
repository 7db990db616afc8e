"""A trajectory's assistant turns, as the source recorded them, made into an example's steps.

Each call keeps its real outcome (:class:`~deepeyes_core.ToolResult`): the result as text (a JSON
result as canonical JSON: sorted keys, no spaces, so equal results are equal text), whether the
call failed, and the error text. Nothing is invented: a call whose log has neither a result nor an
error has ``result = None``, and the exporters say so rather than fill it in. A result longer than
the size budget is cut, ends with an explicit marker, and keeps its original length in
``original_chars``. Results arrive here already redacted (the collector redacts whole trajectories).

Turn structure: the source's :attr:`~deepeyes_core.Trajectory.turns` where it recorded them; else
consecutive calls with one ``step_id`` are one turn; else every call is its own turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from .records import AssistantTurn, Step, StepCall, ToolInvocation, ToolResult, ToolStatus, Trajectory

#: A result cut to the budget ends with this line (the count of characters left out, and the whole).
TRUNCATION_MARKER = "\n[... truncated: {omitted:,} of {total:,} characters not shown]"


def canonical_text(value: Any) -> str:
    """A result as text: a string as it is, anything else as canonical JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def tool_result(invocation: ToolInvocation, budget: int) -> ToolResult | None:
    """The outcome of one call, cut to ``budget`` characters; None where the log has neither a
    result nor an error."""
    failed = invocation.status is not ToolStatus.SUCCESS
    if invocation.result is None and not (failed and invocation.error):
        if not failed:
            return None
        return ToolResult(None, True, invocation.status.value)
    content = None if invocation.result is None else canonical_text(invocation.result)
    original = None
    if content is not None and len(content) > budget:
        original = len(content)
        content = content[:budget] + TRUNCATION_MARKER.format(omitted=original - budget, total=original)
    return ToolResult(content, failed, invocation.error if failed else None, original)


def turns_of(trajectory: Trajectory) -> tuple[AssistantTurn, ...]:
    """The trajectory's assistant turns (see the module docstring). Raises ValueError where the
    source's turns do not cover its calls exactly."""
    invocations = trajectory.invocations
    if trajectory.turns:
        covered = sum(turn.calls for turn in trajectory.turns)
        if covered != len(invocations) or any(turn.calls < 1 for turn in trajectory.turns):
            raise ValueError(
                f"the source's {len(trajectory.turns)} assistant turns cover {covered} calls, "
                f"the trajectory has {len(invocations)}"
            )
        return trajectory.turns
    turns: list[AssistantTurn] = []
    previous: str | None = None
    for invocation in invocations:
        step = invocation.step_id
        if step is not None and step == previous:
            turns[-1] = AssistantTurn(turns[-1].calls + 1)
        else:
            turns.append(AssistantTurn(1))
        previous = step
    return tuple(turns)


def example_steps(trajectory: Trajectory, budget: int) -> tuple[Step, ...]:
    """The trajectory's turns as steps, every call with its outcome (results cut to ``budget``)."""
    steps = []
    calls: Sequence[ToolInvocation] = trajectory.invocations
    start = 0
    for turn in turns_of(trajectory):
        made = calls[start : start + turn.calls]
        start += turn.calls
        steps.append(Step(
            tuple(StepCall(inv.tool_name, inv.parameters, inv.invocation_id, tool_result(inv, budget)) for inv in made),
            turn.text,
        ))
    return tuple(steps)
