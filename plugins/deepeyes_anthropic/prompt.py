"""The describer's prompt: the instructions, the tool catalogue, and one trajectory as text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from deepeyes_core import ToolSpec, Trajectory

PROMPT_VERSION = "describe-v1"

INSTRUCTIONS = """You write the task descriptions of a tool-use training set. You are shown the tool \
calls an AI agent made, in order (tool, arguments, result), and you write the request a user would \
have sent the agent to get exactly that done.

Rules:
1. Write one to three sentences of plain English, as the user speaking to the agent.
2. Name every argument value the calls need, verbatim: ids, names, numbers, dates, paths, queries. \
The agent must be able to rebuild each call's arguments from your text alone.
3. Say what to do in ordinary words. Never write tool-call syntax: no function name followed by a \
parenthesis, no JSON, no code blocks, no tool names in backticks.
4. Do not state results the calls returned, unless a later call used one as an argument.
5. Answer with the request only: no preamble, no label, no quotation marks.

Example. Calls: 1. tool `weather_lookup`, arguments {"city": "Oslo", "units": "metric"}; \
2. tool `send_message`, arguments {"to": "ana@example.com", "text": "Umbrella day"}.
Request: Check the weather in Oslo in metric units, then message ana@example.com with the text \
Umbrella day."""


def infer_catalogue(trajectories: Sequence[Trajectory]) -> tuple[ToolSpec, ...]:
    """Declared ToolSpecs, else names and argument types inferred from the calls; sorted by name."""
    declared: dict[str, ToolSpec] = {}
    inferred: dict[str, dict[str, set[str]]] = {}
    for trajectory in trajectories:
        for spec in trajectory.tools:
            declared.setdefault(spec.name, spec)
        for inv in trajectory.invocations:
            props = inferred.setdefault(inv.tool_name, {})
            for key, value in inv.parameters.items():
                props.setdefault(key, set()).add(_json_type(value))
    specs = []
    for name in sorted(set(declared) | set(inferred)):
        if name in declared:
            specs.append(declared[name])
        else:
            props = {k: {"type": sorted(t)[0] if len(t) == 1 else sorted(t)} for k, t in sorted(inferred[name].items())}
            specs.append(ToolSpec(name, {"type": "object", "properties": props}))
    return tuple(specs)


def catalogue_text(specs: Sequence[ToolSpec]) -> str:
    lines = [f"- {spec.signature()}" + (f": {spec.description}" if spec.description else "") for spec in specs]
    return "Tools available to the agent:\n" + "\n".join(lines)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "string"
    )


def _short(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_trajectory(trajectory: Trajectory, max_result_chars: int) -> str:
    lines = [f"Agent: {trajectory.agent_name}", "Calls, in order:"]
    for i, inv in enumerate(trajectory.invocations, 1):
        status = inv.status.value if hasattr(inv.status, "value") else str(inv.status)
        lines.append(f"{i}. tool `{inv.tool_name}` ({status})")
        lines.append(f"   arguments: {json.dumps(inv.parameters, ensure_ascii=False, sort_keys=True, default=str)}")
        outcome = inv.error if inv.error and inv.result is None else inv.result
        lines.append(f"   result: {_short(outcome, max_result_chars)}")
    lines.append("Write the user's request.")
    return "\n".join(lines)
