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
    SYSTEM_PROMPT,
    TrainingExample,
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


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class ShareGPTExporter:
    """LLaMA-Factory sharegpt records with function_call / observation turns, and their dataset_info.json.

    One JSON object a line, ``sharegpt/sft_<split>.jsonl``::

        {"conversations": [
            {"from": "human", "value": <prompt in the run's layout>},
            {"from": "function_call", "value": "{\\"name\\": ..., \\"arguments\\": {...}}"},
            {"from": "observation", "value": "ok"},
            ...
            {"from": "function_call", "value": "{\\"name\\": ..., \\"arguments\\": {...}}"},
            {"from": "observation", "value": <expected_result, or "ok">},
            {"from": "gpt", "value": <completion>}],
         "system": SYSTEM_PROMPT,
         "tools": "[{\\"name\\": ..., \\"description\\": ..., \\"parameters\\": {...}}]",
         "metadata": {"task_id": ..., "difficulty": ..., "provenance": [...], ...}}

    Each call is its own ``function_call`` turn (a JSON string of ``{"name", "arguments"}``),
    answered by an ``observation``: one call a turn suits every LLaMA-Factory tool template (the
    Llama 3 and GLM-4 ones refuse parallel calls in one turn). **Observations**: a TrainingExample
    carries no per-call results, only ``expected_result`` (the last call's logged result,
    summarised), so every observation reads ``"ok"`` except the last, which is ``expected_result``
    (``"ok"`` when blank). The closing ``gpt`` turn is ``example.completion()``, the numbered call
    sequence the shared system prompt asks for. ``tools`` is a JSON string of the tool
    definitions (name, description, parameters), as LLaMA-Factory's tool formatters read it.
    ``metadata`` is an extra key that LLaMA-Factory does not read (it keeps only mapped columns).

    ``dataset_info.json`` beside the files registers each split::

        "deepeyes_train": {"file_name": "sft_train.jsonl", "formatting": "sharegpt",
                           "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
                           "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                                    "assistant_tag": "gpt", "function_tag": "function_call",
                                    "observation_tag": "observation"}}

    so ``dataset_dir: <output>/sharegpt`` and ``dataset: deepeyes_train`` train on it.

    Rules checked (LLaMA-Factory ``data/README.md``, sharegpt format, and its
    ``SharegptDatasetConverter``): every turn has exactly ``from`` and ``value``, a known tag and a
    non-empty string value; human and observation turns at odd positions, gpt and function_call
    turns at even positions; the first turn is human; an even number of turns (an odd count is
    dropped as "invalid message count"); a function_call value is a JSON object string with a
    ``name`` among the tools and an object ``arguments``; ``tools`` is a JSON string of a list of
    ``{"name", "description", "parameters"}`` with an object schema holding ``properties`` (the
    default tool formatter reads it); ``system`` is a string.
    """

    name = "sharegpt"
    Options = ShareGPTOptions

    def __init__(self, options: ShareGPTOptions):
        self.options = options

    def record(self, example: TrainingExample, prompt_layout: str) -> dict[str, Any]:
        conversations = [{"from": "human", "value": example.prompt(prompt_layout)}]
        for i, call in enumerate(example.calls, 1):
            last = i == example.sequence_length
            conversations.append(
                {"from": "function_call", "value": _json({"name": call.name, "arguments": call.arguments})}
            )
            conversations.append(
                {
                    "from": "observation",
                    "value": example.expected_result if last and example.expected_result.strip() else "ok",
                }
            )
        conversations.append({"from": "gpt", "value": example.completion()})
        record: dict[str, Any] = {"conversations": conversations}
        if self.options.include_system:
            record["system"] = SYSTEM_PROMPT
        record["tools"] = _json(
            [
                {"name": t.name, "description": t.description, "parameters": t.parameters}
                for t in example.tools
            ]
        )
        record["metadata"] = {"task_id": example.task_id, **example.metadata()}
        return record

    @staticmethod
    def check(record: dict[str, Any]) -> list[str]:
        """Every rule the record breaks, as sentences naming the rule; empty when it is sound."""
        problems: list[str] = []
        if "system" in record and not isinstance(record["system"], str):
            problems.append("system: must be a string")
        declared: set[str] = set()
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
        for i, tool in enumerate(tools):
            name = tool.get("name") if isinstance(tool, dict) else None
            parameters = tool.get("parameters") if isinstance(tool, dict) else None
            if not isinstance(name, str) or not name:
                problems.append(f"tools[{i}].name: must be a non-empty string")
            elif name in declared:
                problems.append(f"tools[{i}].name: {name!r} is declared twice")
            else:
                declared.add(name)
            if (
                not isinstance(parameters, dict)
                or parameters.get("type") != "object"
                or not isinstance(parameters.get("properties"), dict)
            ):
                problems.append(
                    f'tools[{i}].parameters: must be an object schema ("type": "object") with properties'
                )

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
            if not isinstance(value, str) or not value.strip():
                problems.append(f"conversations[{i}].value: must be a non-empty string")
                continue
            if tag == "function_call":
                try:
                    call = orjson.loads(value)
                except orjson.JSONDecodeError:
                    call = None
                if not isinstance(call, dict) or not isinstance(call.get("name"), str):
                    problems.append(
                        f'conversations[{i}]: a function_call value is a JSON string of {{"name", "arguments"}}'
                    )
                    continue
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
