"""Tool definitions as chat formats declare them, and the rules every format shares about them.

Each chat format wraps a tool in its own shape (Anthropic ``input_schema``, OpenAI/transformers
``{"type": "function", "function": {...}}``, LLaMA-Factory's JSON string); underneath they are
all :func:`tool_definition`'s ``{"name", "description", "parameters"}``, and
:func:`tool_problems` checks what every format requires of them: a non-empty name (matching the
format's pattern where it has one), declared once, an object schema (``"type": "object"``, with
``properties`` where the consumer reads them), a string description.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .records import ToolSpec

#: The tool-name rule of the Anthropic and OpenAI APIs.
API_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def tool_definition(spec: ToolSpec, *, description: bool | None = None) -> dict[str, Any]:
    """``{"name", "description", "parameters"}``; ``description`` True: always, False: never,
    None: only where the tool has one."""
    definition: dict[str, Any] = {"name": spec.name}
    if description or (description is None and spec.description):
        definition["description"] = spec.description
    definition["parameters"] = spec.parameters
    return definition


def tool_problems(
    tools: Sequence[Any],
    *,
    where: str = "tools",
    name_pattern: re.Pattern[str] | None = None,
    need_properties: bool = False,
) -> tuple[set[str], list[str]]:
    """The declared names, and every shared rule the definitions break. ``tools`` holds
    :func:`tool_definition`-shaped dicts (anything else is reported as not a definition)."""
    declared: set[str] = set()
    problems: list[str] = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            problems.append(f"{where}[{i}]: must be a tool definition object")
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}[{i}].name: must be a non-empty string")
        elif name_pattern is not None and not name_pattern.match(name):
            problems.append(f"{where}[{i}].name: {name!r} must match {name_pattern.pattern}")
        elif name in declared:
            problems.append(f"{where}[{i}].name: {name!r} is declared twice; tool names must be unique")
        else:
            declared.add(name)
        parameters = tool.get("parameters")
        if not isinstance(parameters, dict) or parameters.get("type") != "object":
            problems.append(f'{where}[{i}]: the parameters must be a JSON Schema object with "type": "object"')
        elif need_properties and not isinstance(parameters.get("properties"), dict):
            problems.append(f"{where}[{i}]: the parameters schema must have properties (the consumer reads them)")
        if "description" in tool and not isinstance(tool["description"], str):
            problems.append(f"{where}[{i}].description: must be a string")
    return declared, problems

