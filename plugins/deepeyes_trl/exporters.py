"""The ``trl`` exporter: TRL's conversational format (``messages`` + ``tools``), as JSONL and Parquet.

Builds every record of every split, checks each against the rules TRL's SFT data preparation and
transformers' chat templates rely on, and only then writes, atomically, under
``output_dir/trl/``. A record that breaks a rule stops the export with a
:class:`~deepeyes_core.DatasetError` naming the example's ``task_id``, its split and the rule.
pyarrow (for Parquet) is imported only when exporting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson

from deepeyes_core import (
    MissingExtraError,
    TrainingExample,
    chat_messages,
    checked_records,
    conversation,
    json_text,
    tool_definition,
    tool_message_problems,
    tool_problems,
    atomic_jsonl,
    atomic_write,
    hookimpl,
    split_file_name,
)

ROLES = ("system", "user", "assistant", "tool")


def _json_value(text: Any) -> Any:
    """The value a JSON string holds; None for anything else."""
    if not isinstance(text, str):
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
#: Columns that make TRL read a dataset as another type than conversational language modelling.
OTHER_TYPE_KEYS = frozenset({"prompt", "completion", "chosen", "rejected", "label", "text"})


@attrs.frozen(slots=True)
class TrlOptions:
    #: Start each conversation with the shared system message.
    include_system: bool = True
    #: Also write ``sft_<split>.parquet`` (needs pyarrow, which the "trl" extra brings).
    parquet: bool = True


def _parquet_schema(pa: Any) -> Any:
    """One schema for every split: arguments, tools and metadata are JSON strings (see the class
    docstring), so every column is a plain Arrow type that every ``datasets`` version reads."""
    function = pa.struct([("name", pa.string()), ("arguments", pa.string())])
    call = pa.struct([("id", pa.string()), ("type", pa.string()), ("function", function)])
    message = pa.struct([
        ("role", pa.string()),
        ("content", pa.string()),
        ("tool_calls", pa.list_(call)),
        ("tool_call_id", pa.string()),
        ("name", pa.string()),
    ])
    return pa.schema(
        [("messages", pa.list_(message)), ("tools", pa.string()), ("task_id", pa.string()), ("metadata", pa.string())]
    )


def template_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages of a loaded row ready for a chat template that wants arguments as dicts
    (templates that apply ``tojson`` to them, such as Qwen2.5's): each call's JSON-string
    arguments decoded, and the keys a columnar reader filled with None dropped. Templates that
    print string arguments as they are (Qwen3's) take the rows as loaded."""
    out = []
    for message in messages:
        clean = {key: value for key, value in message.items() if value is not None}
        if clean.get("tool_calls"):
            clean["tool_calls"] = [
                {**call, "function": {**call["function"], "arguments": orjson.loads(call["function"]["arguments"])}}
                for call in clean["tool_calls"]
            ]
        out.append(clean)
    return out


class TrlExporter:
    """TRL conversational records: the trajectory as ``messages`` (assistant ``tool_calls``, ``tool`` results) and ``tools``.

    ``trl/sft_<split>.jsonl``, and ``trl/sft_<split>.parquet`` unless ``parquet = false``, made
    from :func:`deepeyes_core.conversation` by :func:`deepeyes_core.chat_messages`::

        {"messages": [
            {"role": "system", "content": CHAT_SYSTEM_PROMPT},
            {"role": "user", "content": <the task>},
            {"role": "assistant", "content": <the step's text, or null>, "tool_calls": [
                {"id": <call_id>, "type": "function",
                 "function": {"name": ..., "arguments": "<JSON object as a string>"}}, ...]},
            {"role": "tool", "tool_call_id": <call_id>, "name": ..., "content": <the real result>},
            ... one assistant message and its tool messages per step ...
            {"role": "assistant", "content": <the agent's final answer>}],
         "tools": "[{\"type\": \"function\", \"function\": {\"name\": ..., \"description\": ..., \"parameters\": {...}}}]",
         "task_id": ..., "metadata": "<JSON object as a string>"}

    TRL's language-modelling type of conversational data (``messages``), with TRL's tool-calling
    convention: assistant ``tool_calls`` and ``tool`` messages (``name`` and ``tool_call_id``),
    and a ``tools`` column that ``SFTTrainer`` hands to the chat template. One assistant message
    per step, one tool message per call with its real result (a failed call that returned
    nothing: its error text), then the agent's final answer where the log has one. A call whose
    log has no outcome gives null tool content, which :meth:`check` refuses, so the example is
    rejected before the split. Train with ``SFTConfig(assistant_only_loss=True)`` so only the
    agent's turns are learned.

    **Arguments, tools and metadata are JSON strings**, so that every ``datasets`` version reads
    them back byte for byte. As objects, ``datasets`` 4.x (the version LLaMA-Factory pins) infers
    one struct per split from the JSONL (absent keys filled with None, date strings turned into
    timestamps; loading all splits together fails with a cast error), and has no dtype for
    Arrow's JSON extension type in Parquet. TRL's docs name the JSON string as the ``tools``
    format for ``datasets`` before 4.8 (``SFTTrainer`` decodes it), and OpenAI's fine-tuning
    format writes arguments as a JSON string. Chat templates that print string arguments as they
    are (Qwen3's) take the rows as loaded; for one that applies ``tojson`` to them (Qwen2.5's),
    pass each row's messages through :func:`template_messages` first.

    Rules checked (TRL "Dataset formats" docs and ``trl.data_utils``; transformers' chat-template
    tool format): the only type key is ``messages`` (none of prompt/completion/chosen/rejected/
    label/text); messages are objects with a role among system/user/assistant/tool, a system
    message only first, at least one assistant message; string content, empty or null only on an
    assistant turn with tool calls; each tool call is ``{"type": "function", "function": {"name",
    "arguments"}}`` with a non-empty name of a declared tool and ``arguments`` a JSON string of
    an object; every call answered by a ``tool`` message (``tool_call_id``) with its result
    before the next assistant turn; ``tools`` a JSON string of ``{"type": "function",
    "function": {"name", "description", "parameters"}}`` with unique names and object schemas;
    ``metadata`` a JSON string.
    """

    name = "trl"
    Options = TrlOptions

    def __init__(self, options: TrlOptions):
        self.options = options

    def record(self, example: TrainingExample, prompt_layout: str) -> dict[str, Any]:
        chat = conversation(example)
        messages = chat_messages(chat, tool_name=True)
        if not self.options.include_system:
            messages = messages[1:]
        tools = [{"type": "function", "function": tool_definition(spec, description=True)} for spec in chat.tools]
        return {
            "messages": messages,
            "tools": json_text(tools),
            "task_id": example.task_id,
            "metadata": json_text(example.metadata()),
        }

    @staticmethod
    def check(record: dict[str, Any]) -> list[str]:
        """Every rule the record breaks, as sentences naming the rule; empty when it is sound."""
        problems: list[str] = []
        other = sorted(OTHER_TYPE_KEYS & set(record))
        if other:
            problems.append(f"dataset type: {other} beside messages make TRL read another dataset type")
        tools = _json_value(record.get("tools"))
        if not isinstance(tools, list):
            problems.append("tools: must be a JSON string of a list of tool definitions")
            tools = []
        functions = []
        for i, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
                problems.append(f'tools[{i}]: must be {{"type": "function", "function": {{...}}}}')
                function = None
            functions.append(function)
        declared, rules = tool_problems(functions, where="tools.function")
        problems.extend(rule for rule in rules if "must be a tool definition" not in rule)
        if not isinstance(_json_value(record.get("metadata")), dict):
            problems.append("metadata: must be a JSON string of an object")

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
            if role == "tool":
                pass  # a tool result: tool_message_problems below (it may be empty: the call returned nothing)
            elif content is None and role == "assistant" and calls:
                pass
            elif not isinstance(content, str):
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
                if not isinstance(_json_value(function.get("arguments")), dict):
                    problems.append(f"{where}.function.arguments: must be a JSON string of an object")
        problems.extend(tool_message_problems(messages))
        roles = [m.get("role") for m in messages if isinstance(m, dict)]
        if "assistant" not in roles:
            problems.append("messages: no assistant message, so there is nothing to learn")
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
                tables[split] = pa.Table.from_pylist(rows, schema=_parquet_schema(pa))
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
