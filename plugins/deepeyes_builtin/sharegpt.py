"""The ``sharegpt`` exporter: LLaMA-Factory's sharegpt layout, with ``function_call`` / ``observation`` turns.

Builds every record of every split, checks each against LLaMA-Factory's sharegpt rules, and only
then writes, atomically, ``output_dir/sharegpt/sft_<split>.jsonl`` and the ``dataset_info.json``
that registers them. A record that breaks a rule stops the export with a
:class:`~deepeyes_core.DatasetError` naming the example's ``task_id``, its split and the rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson

from deepeyes_core import (
    TrainingExample,
    conversation,
    json_text,
    outcome_text,
    tool_definition,
    tool_problems,
    checked_records,
    atomic_json,
    atomic_jsonl,
    hookimpl,
    split_file_name,
)

#: The tags LLaMA-Factory reads the conversations with (its defaults, written out in dataset_info).
TAGS = {
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "function_tag": "function_call",
    "observation_tag": "observation",
}
#: Turns at odd positions (1st, 3rd, ...) and at even positions (2nd, 4th, ...).
ODD_TAGS = ("human", "observation")
EVEN_TAGS = ("gpt", "function_call")


@attrs.frozen(slots=True)
class ShareGPTOptions:
    #: Write the shared system prompt in the ``system`` column.
    include_system: bool = True
    #: ``dataset_info.json`` registers each split file as ``<dataset_prefix>_<split>``.
    dataset_prefix: str = attrs.field(default="deepeyes", validator=attrs.validators.min_len(1))


def _observation(results: list[str | None]) -> str | None:
    """One step's results as one observation: the result of a single call, a JSON list of the
    results of several; None where one is missing."""
    if any(text is None for text in results):
        return None
    return results[0] if len(results) == 1 else json_text(results)


class ShareGPTExporter:
    """LLaMA-Factory sharegpt records with function_call / observation turns, and their dataset_info.json.

    One JSON object a line, ``sharegpt/sft_<split>.jsonl``, made from
    :func:`deepeyes_core.conversation`::

        {"conversations": [
            {"from": "human", "value": <the task>},
            {"from": "function_call", "value": "{\"name\": ..., \"arguments\": {...}}"},
            {"from": "observation", "value": <the real result>},
            {"from": "function_call", "value": "[{\"name\": ..., \"arguments\": {...}}, {...}]"},
            {"from": "observation", "value": "[<result of the 1st call>, <result of the 2nd>]"},
            ...
            {"from": "gpt", "value": <the agent's final answer>}],
         "system": CHAT_SYSTEM_PROMPT,
         "tools": "[{\"name\": ..., \"description\": ..., \"parameters\": {...}}]",
         "metadata": {"task_id": ..., "difficulty": ..., "provenance": [...], ...}}

    Each step is one ``function_call`` turn: a JSON string of ``{"name", "arguments"}`` for one
    call, of a list of them for the calls the agent made together (LLaMA-Factory's
    ``FunctionFormatter`` reads a list as parallel calls), answered by one ``observation`` turn:
    the call's real result, or for several calls a JSON list of their results as strings, in call
    order (a failed call that returned nothing: its error text; the format has no error flag).
    The last turn must be at an even position (an odd count is dropped as an "invalid message
    count"): it is the agent's final answer as a ``gpt`` turn where the log has one; without it
    the conversation ends on the last ``function_call``, and that step's results (which no later
    turn reads) are not written (where one of them is missing from the log, the example is still
    refused, as every chat format refuses it). A step's text has no turn of its own (a ``gpt`` turn before the
    ``function_call`` would break the alternation), so it is not written. A call whose log has no
    outcome makes its observation null, which :meth:`check` refuses, so the example is rejected
    before the split. ``tools`` is a JSON string of the tool definitions (name, description,
    parameters), as LLaMA-Factory's tool formatters read it. ``metadata`` is an extra key that
    LLaMA-Factory does not read (it keeps only mapped columns).

    ``dataset_info.json`` beside the files registers each split::

        "deepeyes_train": {"file_name": "sft_train.jsonl", "formatting": "sharegpt",
                           "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
                           "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                                    "assistant_tag": "gpt", "function_tag": "function_call",
                                    "observation_tag": "observation"}}

    so ``dataset_dir: <output>/sharegpt`` and ``dataset: deepeyes_train`` train on it.

    Rules checked (LLaMA-Factory ``data/README.md``, sharegpt format, and its
    ``SharegptDatasetConverter``, ``FunctionFormatter``): every turn has exactly ``from`` and
    ``value``, a known tag and a string value (non-empty but for an observation, which may be an
    empty result; null: a result the log does not have); human and observation turns at odd positions, gpt and function_call
    turns at even positions; the first turn is human; an even number of turns (an odd count is
    dropped as "invalid message count"); a function_call value is a JSON string of an object (or a
    list of objects) with a ``name`` among the tools and an object ``arguments``; ``tools`` is a JSON string of a list of
    ``{"name", "description", "parameters"}`` with an object schema holding ``properties`` (the
    default tool formatter reads it); ``system`` is a string.
    """

    name = "sharegpt"
    Options = ShareGPTOptions

    def __init__(self, options: ShareGPTOptions):
        self.options = options

    def record(self, example: TrainingExample, prompt_layout: str) -> dict[str, Any]:
        chat = conversation(example)
        conversations: list[dict[str, Any]] = []
        results: list[str | None] = []
        for turn in chat.turns:
            if turn.role == "tool" and turn.call is not None:
                results.append(outcome_text(turn.call.result))
                continue
            if results:
                conversations.append({"from": "observation", "value": _observation(results)})
                results = []
            if turn.role == "user":
                conversations.append({"from": "human", "value": turn.text})
            elif turn.calls:
                calls = [{"name": call.name, "arguments": call.arguments} for call in turn.calls]
                conversations.append({"from": "function_call", "value": json_text(calls[0] if len(calls) == 1 else calls)})
            else:
                conversations.append({"from": "gpt", "value": turn.text})
        if None in results:  # the last step's results are not written, but one the log lacks still refuses
            conversations.append({"from": "observation", "value": None})
        record: dict[str, Any] = {"conversations": conversations}
        if self.options.include_system:
            record["system"] = chat.system
        record["tools"] = json_text([tool_definition(spec, description=True) for spec in chat.tools])
        record["metadata"] = {"task_id": example.task_id, **example.metadata()}
        return record

    @staticmethod
    def check(record: dict[str, Any]) -> list[str]:
        """Every rule the record breaks, as sentences naming the rule; empty when it is sound."""
        problems: list[str] = []
        if "system" in record and not isinstance(record["system"], str):
            problems.append("system: must be a string")
        try:
            tools = (
                orjson.loads(record.get("tools", "[]"))
                if isinstance(record.get("tools", "[]"), str)
                else None
            )
        except orjson.JSONDecodeError:
            tools = None
        if not isinstance(tools, list):
            problems.append("tools: must be a JSON string of a list of tool definitions")
            tools = []
        declared, rules = tool_problems(tools, need_properties=True)
        problems.extend(rules)

        turns = record.get("conversations")
        if not isinstance(turns, list) or not turns:
            return problems + ["conversations: must be a non-empty list of turns"]
        for i, turn in enumerate(turns):
            position = i + 1
            if not isinstance(turn, dict) or set(turn) != {"from", "value"}:
                problems.append(f"conversations[{i}]: must have exactly the keys from and value")
                continue
            tag, value = turn["from"], turn["value"]
            allowed = ODD_TAGS if position % 2 else EVEN_TAGS
            if tag not in allowed:
                problems.append(
                    f"conversations[{i}]: {tag!r} at position {position}; human and observation go at odd "
                    "positions, gpt and function_call at even positions"
                )
            if tag == "observation" and value is None:
                problems.append(f"conversations[{i}]: a call's result is missing (the log has none)")
                continue
            if not isinstance(value, str) or (tag != "observation" and not value.strip()):
                problems.append(f"conversations[{i}].value: must be a non-empty string")
                continue
            if tag == "function_call":
                try:
                    parsed = orjson.loads(value)
                except orjson.JSONDecodeError:
                    parsed = None
                calls = parsed if isinstance(parsed, list) and parsed else [parsed]
                for call in calls:
                    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
                        problems.append(
                            f'conversations[{i}]: a function_call value is a JSON string of {{"name", "arguments"}} '
                            "or of a list of them"
                        )
                        break
                    if call["name"] not in declared:
                        problems.append(
                            f"conversations[{i}]: function_call {call['name']!r} is not a tool of the tools column"
                        )
                    if not isinstance(call.get("arguments"), dict):
                        problems.append(f"conversations[{i}]: function_call arguments must be a JSON object")
        if isinstance(turns[0], dict) and turns[0].get("from") != "human":
            problems.append("conversations[0]: the conversation must start with a human turn")
        if len(turns) % 2:
            problems.append(
                f"conversations: {len(turns)} turns; LLaMA-Factory drops an odd count as an invalid message count"
            )
        return problems

    def dataset_info(self, split_files: Mapping[str, str]) -> dict[str, Any]:
        """The ``dataset_info.json`` entries registering each split file."""
        columns = {"messages": "conversations", "tools": "tools"}
        if self.options.include_system:
            columns["system"] = "system"
        return {
            f"{self.options.dataset_prefix}_{split}": {
                "file_name": file_name,
                "formatting": "sharegpt",
                "columns": columns,
                "tags": dict(TAGS),
            }
            for split, file_name in split_files.items()
        }

    def export(
        self, splits: Mapping[str, Sequence[TrainingExample]], output_dir: Path, prompt_layout: str
    ) -> dict[str, Path]:
        checked = checked_records(self, splits, prompt_layout)
        records = {split: [record for _, record in rows] for split, rows in checked.items()}
        folder = Path(output_dir) / self.name
        written: dict[str, Path] = {}
        for split, rows in records.items():
            written[split] = folder / split_file_name(split)
            atomic_jsonl(written[split], rows)
        info = folder / "dataset_info.json"
        atomic_json(info, self.dataset_info({split: split_file_name(split) for split in records}))
        written["dataset_info"] = info
        return written


@hookimpl
def deepeyes_exporters():
    return [ShareGPTExporter]
