"""The ``trl`` exporter: TRL's conversational format (``messages`` + ``tools``), as JSONL and Parquet.

Builds every record of every split, checks each against the rules TRL's SFT data preparation and
transformers' chat templates rely on, and only then writes, atomically, under
``output_dir/trl/``. A record that breaks a rule stops the export with a
:class:`~deepeyes_core.DatasetError` naming the example's ``task_id``, its split and the rule.
pyarrow (for Parquet) is imported only when exporting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson

from deepeyes_core import (
    SYSTEM_PROMPT,
    MissingExtraError,
    TrainingExample,
    checked_records,
    atomic_jsonl,
    atomic_write,
    hookimpl,
    split_file_name,
)

ROLES = ("system", "user", "assistant", "tool")
#: Columns that make TRL read a dataset as another type than conversational language modelling.
OTHER_TYPE_KEYS = frozenset({"prompt", "completion", "chosen", "rejected", "label", "text"})


@attrs.frozen(slots=True)
class TrlOptions:
    #: Start each conversation with the shared system message.
    include_system: bool = True
    #: Also write ``sft_<split>.parquet`` (needs pyarrow, which the "trl" extra brings).
    parquet: bool = True


def _parquet_schema(pa: Any) -> Any:
    """Arguments, tool definitions and metadata differ in shape from row to row, and Parquet needs
    one schema: they are Arrow JSON columns (``pa.json_()``), which ``datasets`` reads back as its
    ``Json`` feature, i.e. as dicts, exactly what chat templates expect."""
    function = pa.struct([("name", pa.string()), ("arguments", pa.json_())])
    call = pa.struct([("id", pa.string()), ("type", pa.string()), ("function", function)])
    message = pa.struct([("role", pa.string()), ("content", pa.string()), ("tool_calls", pa.list_(call))])
    return pa.schema(
        [
            ("messages", pa.list_(message)),
            ("tools", pa.json_()),
            ("task_id", pa.string()),
            ("metadata", pa.json_()),
        ]
    )


def _storage_schema(pa: Any) -> Any:
    """:func:`_parquet_schema` with plain strings in place of the JSON columns (built first, then cast)."""
    function = pa.struct([("name", pa.string()), ("arguments", pa.string())])
    call = pa.struct([("id", pa.string()), ("type", pa.string()), ("function", function)])
    message = pa.struct([("role", pa.string()), ("content", pa.string()), ("tool_calls", pa.list_(call))])
    return pa.schema(
        [
            ("messages", pa.list_(message)),
            ("tools", pa.string()),
            ("task_id", pa.string()),
            ("metadata", pa.string()),
        ]
    )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _parquet_row(record: dict[str, Any]) -> dict[str, Any]:
    messages = []
    for message in record["messages"]:
        calls = message.get("tool_calls")
        messages.append(
            {
                "role": message["role"],
                "content": message.get("content"),
                "tool_calls": None
                if calls is None
                else [
                    {
                        "id": call.get("id"),
                        "type": call.get("type"),
                        "function": {
                            "name": call["function"]["name"],
                            "arguments": _json(call["function"]["arguments"]),
                        },
                    }
                    for call in calls
                ],
            }
        )
    return {
        "messages": messages,
        "tools": _json(record.get("tools") or []),
        "task_id": record["task_id"],
        "metadata": _json(record["metadata"]),
    }


class TrlExporter:
    """TRL conversational records: ``messages`` with assistant ``tool_calls`` (arguments as dicts) and ``tools``.

    ``trl/sft_<split>.jsonl``, and ``trl/sft_<split>.parquet`` unless ``parquet = false``::

        {"messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": <prompt in the run's layout>},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_<task>_1", "type": "function",
                 "function": {"name": ..., "arguments": {...}}}, ...]}],
         "tools": [{"type": "function",
                    "function": {"name": ..., "description": ..., "parameters": {...}}}],
         "task_id": ..., "metadata": {"difficulty": ..., "provenance": [...], ...}}

    TRL's language-modelling type of conversational data (``messages``), with the ``tools`` column
    that ``SFTTrainer`` passes to the chat template (as a list, or a JSON string it decodes), and
    arguments as dicts, which is what chat templates render (``arguments | tojson``): a JSON string
    there would come out quoted. One assistant turn holds every call, in order. ``task_id`` and
    ``metadata`` are extra columns that TRL leaves alone. Train with
    ``SFTConfig(assistant_only_loss=True)`` so only the calls are learned.

    **Loading.** ``datasets.load_dataset("parquet", data_files=...)`` reads the JSON columns
    (arguments, tools, metadata) back as dicts through its ``Json`` feature. The JSONL files hold
    plain objects; ``datasets`` 5 reads arguments whose keys differ between rows as ``Json`` too,
    while an older ``datasets`` unifies them into one struct and fills absent keys with None: use
    the Parquet files there.

    Rules checked (TRL "Dataset formats" docs and ``trl.data_utils``; transformers' chat-template
    tool format): the only type key is ``messages`` (none of prompt/completion/chosen/rejected/
    label/text); messages are objects with a role among system/user/assistant/tool and string
    content, a system message only first, at least one assistant message, the last message from
    the assistant; an assistant's empty content only beside tool calls; each tool call is
    ``{"type": "function", "function": {"name", "arguments"}}`` with a non-empty name and
    ``arguments`` a dict (TRL's ``_validate_tool_calls``), calling a tool of ``tools``; each tool is
    ``{"type": "function", "function": {"name", "description", "parameters"}}`` with a unique name
    and an object schema; every value JSON-serialisable.
    """

    name = "trl"
    Options = TrlOptions

    def __init__(self, options: TrlOptions):
        self.options = options

    def record(self, example: TrainingExample, prompt_layout: str) -> dict[str, Any]:
        stem = re.sub(r"[^a-zA-Z0-9_-]", "_", example.task_id)
        messages: list[dict[str, Any]] = []
        if self.options.include_system:
            messages.append({"role": "system", "content": SYSTEM_PROMPT})
        messages.append({"role": "user", "content": example.prompt(prompt_layout)})
        messages.append(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": f"call_{stem}_{i}",
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    }
                    for i, c in enumerate(example.calls, 1)
                ],
            }
        )
        tools = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
            }
            for t in example.tools
        ]
        return {
            "messages": messages,
            "tools": tools,
            "task_id": example.task_id,
            "metadata": example.metadata(),
        }

    @staticmethod
    def check(record: dict[str, Any]) -> list[str]:
        """Every rule the record breaks, as sentences naming the rule; empty when it is sound."""
        problems: list[str] = []
        other = sorted(OTHER_TYPE_KEYS & set(record))
        if other:
            problems.append(f"dataset type: {other} beside messages make TRL read another dataset type")
        declared: set[str] = set()
        tools = record.get("tools")
        if not isinstance(tools, list):
            problems.append("tools: must be a list of tool definitions")
            tools = []
        for i, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
                problems.append(f'tools[{i}]: must be {{"type": "function", "function": {{...}}}}')
                continue
            name = function.get("name")
            if not isinstance(name, str) or not name:
                problems.append(f"tools[{i}].function.name: must be a non-empty string")
            elif name in declared:
                problems.append(f"tools[{i}].function.name: {name!r} is declared twice")
            else:
                declared.add(name)
            if not isinstance(function.get("description", ""), str):
                problems.append(f"tools[{i}].function.description: must be a string")
            parameters = function.get("parameters")
            if not isinstance(parameters, dict) or parameters.get("type") != "object":
                problems.append(
                    f'tools[{i}].function.parameters: must be a JSON Schema object with "type": "object"'
                )

        messages = record.get("messages")
        if not isinstance(messages, list) or not messages:
            return problems + ["messages: must be a non-empty list of messages"]
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or "role" not in message:
                problems.append(f"messages[{i}]: must be an object with a role")
                continue
            role, content, calls = message["role"], message.get("content"), message.get("tool_calls")
            if role not in ROLES:
                problems.append(f"messages[{i}].role: {role!r} is not one of {', '.join(ROLES)}")
            if role == "system" and i != 0:
                problems.append(f"messages[{i}]: a system message may only come first")
            if not isinstance(content, str):
                problems.append(f"messages[{i}].content: must be a string")
            elif not content and not (role == "assistant" and calls):
                problems.append(
                    f"messages[{i}].content: is empty (allowed only for an assistant turn with tool_calls)"
                )
            if calls is None:
                continue
            if role != "assistant" or not isinstance(calls, list) or not calls:
                problems.append(f"messages[{i}].tool_calls: a non-empty list, on assistant messages only")
                continue
            for j, call in enumerate(calls):
                where = f"messages[{i}].tool_calls[{j}]"
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict) or call.get("type") != "function":
                    problems.append(
                        f'{where}: must be {{"type": "function", "function": {{"name", "arguments"}}}}'
                    )
                    continue
                if not isinstance(function.get("name"), str) or not function["name"]:
                    problems.append(f"{where}.function.name: must be a non-empty string")
                elif function["name"] not in declared:
                    problems.append(
                        f"{where}.function.name: {function['name']!r} is not a tool of the tools column"
                    )
                if not isinstance(function.get("arguments"), dict):
                    problems.append(
                        f"{where}.function.arguments: must be a dict (TRL's conversational format), "
                        f"not {type(function.get('arguments')).__name__}"
                    )
        roles = [m.get("role") for m in messages if isinstance(m, dict)]
        if "assistant" not in roles:
            problems.append("messages: no assistant message, so there is nothing to learn")
        elif roles[-1] != "assistant":
            problems.append("messages: the last message must be from the assistant")
        try:
            orjson.dumps(record)
        except TypeError as exc:
            problems.append(f"record: not JSON-serialisable ({exc})")
        return problems

    def export(
        self, splits: Mapping[str, Sequence[TrainingExample]], output_dir: Path, prompt_layout: str
    ) -> dict[str, Path]:
        pa = pq = None
        if self.options.parquet:
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise MissingExtraError(
                    f"exporter {self.name!r} (parquet = true)", "trl", "pyarrow"
                ) from None
        checked = checked_records(self, splits, prompt_layout)
        records = {split: [record for _, record in rows] for split, rows in checked.items()}
        tables = {}
        if pa is not None:
            for split, rows in records.items():
                storage = pa.Table.from_pylist([_parquet_row(r) for r in rows], schema=_storage_schema(pa))
                tables[split] = storage.cast(_parquet_schema(pa))
        folder = Path(output_dir) / self.name
        written: dict[str, Path] = {}
        for split, rows in records.items():
            path = folder / split_file_name(split)
            atomic_jsonl(path, rows)
            written[split] = path
            if split in tables:
                parquet_path = path.with_suffix(".parquet")
                with atomic_write(parquet_path) as handle:
                    pq.write_table(tables[split], handle)
                written[f"{split}.parquet"] = parquet_path
        return written


@hookimpl
def deepeyes_exporters():
    return [TrlExporter]
