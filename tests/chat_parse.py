"""Each chat export parsed back to the trajectory it writes: the sequence of steps, each a list of
(name, arguments, result text, is_error) per call, and the final answer. ``is_error`` is None
where the format has no error flag; a result the format does not write is None."""

from __future__ import annotations

import json
import re
from typing import Any

Call = tuple[str, dict[str, Any], "str | None", "bool | None"]


def parse_anthropic(record: dict) -> tuple[list[list[Call]], str | None]:
    steps: list[list[Call]] = []
    index: dict[str, tuple[int, int]] = {}
    final = None
    for message in record["messages"][1:]:
        if message["role"] == "assistant":
            uses = [b for b in message["content"] if b["type"] == "tool_use"]
            if not uses:
                final = "".join(b["text"] for b in message["content"] if b["type"] == "text")
                continue
            steps.append([])
            for block in uses:
                index[block["id"]] = (len(steps) - 1, len(steps[-1]))
                steps[-1].append((block["name"], block["input"], None, None))
        else:
            for block in message["content"]:
                s, c = index[block["tool_use_id"]]
                name, args, _, _ = steps[s][c]
                steps[s][c] = (name, args, block.get("content", ""), block["is_error"])
    return steps, final


def parse_openai(record: dict) -> tuple[list[list[Call]], str | None]:
    steps: list[list[Call]] = []
    index: dict[str, tuple[int, int]] = {}
    final = None
    for message in record["messages"]:
        if message["role"] == "assistant" and message.get("tool_calls"):
            steps.append([])
            for call in message["tool_calls"]:
                index[call["id"]] = (len(steps) - 1, len(steps[-1]))
                arguments = call["function"]["arguments"]
                steps[-1].append((call["function"]["name"], json.loads(arguments), None, None))
        elif message["role"] == "assistant":
            final = message["content"]
        elif message["role"] == "tool":
            s, c = index[message["tool_call_id"]]
            name, args, _, _ = steps[s][c]
            steps[s][c] = (name, args, message["content"], None)
    return steps, final


def parse_sharegpt(record: dict) -> tuple[list[list[Call]], str | None]:
    steps: list[list[Call]] = []
    final = None
    for turn in record["conversations"][1:]:
        if turn["from"] == "function_call":
            value = json.loads(turn["value"])
            calls = value if isinstance(value, list) else [value]
            steps.append([(c["name"], c["arguments"], None, None) for c in calls])
        elif turn["from"] == "observation":
            results = [turn["value"]] if len(steps[-1]) == 1 else json.loads(turn["value"])
            steps[-1] = [(n, a, r, None) for (n, a, _, _), r in zip(steps[-1], results)]
        elif turn["from"] == "gpt":
            final = turn["value"]
    return steps, final


_CALL_LINE = re.compile(r"^([A-Za-z0-9_.-]+)\((.*)\)$")
_RESULT_HEAD = re.compile(r"(?:^|\n\n)(Result of|Error from) (\S+) \(([A-Za-z0-9_-]+)\):\n")


def parse_bedrock(record: dict) -> tuple[list[list[Call]], str | None]:
    steps: list[list[Call]] = []
    final = None
    for message in record["messages"][1:]:
        content = message["content"]
        if message["role"] == "assistant":
            if "Tool calls:\n" not in content:
                final = content
                continue
            lines = content.split("Tool calls:\n", 1)[1].split("\n")
            steps.append([])
            for line in lines:
                name, args = _CALL_LINE.match(line).groups()
                steps[-1].append((name, json.loads(args), None, None))
        else:
            # "Result of name (id):\n<text>" blocks, joined by blank lines, in call order
            heads = list(_RESULT_HEAD.finditer(content))
            texts = [
                (m.group(1), content[m.end() : heads[j + 1].start() if j + 1 < len(heads) else len(content)])
                for j, m in enumerate(heads)
            ]
            steps[-1] = [(n, a, text, kind == "Error from") for (n, a, _, _), (kind, text) in zip(steps[-1], texts)]
    return steps, final


PARSERS = {
    "anthropic-messages": parse_anthropic,
    "openai-chat": parse_openai,
    "trl": parse_openai,
    "sharegpt": parse_sharegpt,
    "bedrock-claude": parse_bedrock,
}
#: Formats whose last turn must be the assistant's: without a final answer, the last step's
#: results are not written.
ENDS_ON_ASSISTANT = {"sharegpt", "bedrock-claude"}
#: Formats with an error flag on results.
ERROR_FLAG = {"anthropic-messages", "bedrock-claude"}


def expected(example, fmt: str) -> tuple[list[list[Call]], str | None]:
    """The steps and final answer ``fmt`` must write for ``example``."""
    from deepeyes_core import outcome_text

    has_final = bool(example.final_answer and example.final_answer.strip())
    steps = []
    for k, step in enumerate(example.steps):
        dropped = fmt in ENDS_ON_ASSISTANT and not has_final and k == len(example.steps) - 1
        steps.append([
            (
                call.name,
                call.arguments,
                None if dropped else outcome_text(call.result),
                (bool(call.result.is_error) if not dropped else None) if fmt in ERROR_FLAG else None,
            )
            for call in step.calls
        ])
    return steps, example.final_answer if has_final else None
