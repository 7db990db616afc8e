"""The ``template`` describer: a natural sentence per call that names every argument value."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from deepeyes_core import NoOptions, Rejection, Trajectory


def _value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


@lru_cache(maxsize=4096)
def _words(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").replace(".", " ")


@lru_cache(maxsize=4096)
def _key_words(key: str) -> str:
    return key.replace("_", " ")


def _clause(tool: str, parameters: dict[str, Any]) -> str:
    if not parameters:
        return f"use the {_words(tool)} tool with no arguments"
    pairs = [
        f'{_key_words(key)} "{value}"' if type(value) is str
        else f"{_key_words(key)} {value!r}" if type(value) is int
        else f"{_key_words(key)} {_value(value)}"
        for key, value in parameters.items()
    ]
    listed = pairs[0] if len(pairs) == 1 else ", ".join(pairs[:-1]) + f" and {pairs[-1]}"
    return f"use the {_words(tool)} tool with {listed}"


def describe_calls(trajectory: Trajectory) -> str:
    """One sentence for the whole trajectory: 'First, ..., then ..., and finally ....'"""
    clauses = [_clause(inv.tool_name, inv.parameters) for inv in trajectory.invocations]
    if len(clauses) == 1:
        return clauses[0][0].upper() + clauses[0][1:] + "."
    middle = "".join(f", then {c}" for c in clauses[1:-1])
    return f"First, {clauses[0]}{middle}, and finally {clauses[-1]}."


class TemplateDescriber:
    """A templated sentence per call naming the tool in words and every argument value."""

    name = "template"
    Options = NoOptions

    def __init__(self, options: NoOptions):
        self.options = options

    async def describe(self, trajectories: Sequence[Trajectory]) -> list[str | Rejection]:
        return [describe_calls(trajectory) for trajectory in trajectories]
