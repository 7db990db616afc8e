"""The ``openai-chat`` exporter: OpenAI's chat fine-tuning format, with native tool calls.

Builds every record of every split, checks each as OpenAI's published data-preparation checks
do (extended for tools), and only then writes, atomically, one file per split under
``output_dir/openai-chat/``. A record that breaks a rule stops the export with a
:class:`~deepeyes_core.DatasetError` naming the example's ``task_id``, its split and the rule.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson

from deepeyes_core import (
    API_TOOL_NAME,
    DatasetError,
    MissingExtraError,
    TrainingExample,
    chat_messages,
    checked_records,
    conversation,
    tool_definition,
    tool_message_problems,
    tool_problems,
    atomic_write,
    hookimpl,
    split_file_name,
)

log = logging.getLogger(__name__)

#: OpenAI's function-name rule: a-z, A-Z, 0-9, underscores and dashes, at most 64 characters.
FUNCTION_NAME = API_TOOL_NAME
#: The keys of one line of a chat fine-tuning file (the API's ``FineTuneChatRequestInput``).
RECORD_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
#: Message keys the data-prep notebook accepts, plus the tool keys it predates.
MESSAGE_KEYS = frozenset({"role", "content", "name", "function_call", "weight", "tool_calls", "tool_call_id"})
ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
TOKEN_COUNTERS = ("auto", "tiktoken", "approximate")


@attrs.frozen(slots=True)
class OpenAIChatOptions:
    #: Start each record with the shared system message.
    include_system: bool = True
    #: Tokens one example may hold: 65,536 is the training-example context length of gpt-4o and
    #: gpt-4o-mini fine-tuning (older models: 16,385 for gpt-3.5-turbo-0125, 4,096 before).
    max_tokens_per_example: int = attrs.field(default=65_536, validator=attrs.validators.gt(0))
    #: ``tiktoken``: count with tiktoken (extra "openai"), an error if it cannot load ``encoding``;
    #: ``approximate``: one token per 3 UTF-8 bytes (over-counts English, code and JSON);
    #: ``auto``: tiktoken when it is installed and its encoding loads (it downloads encodings on
    #: first use, or reads them from ``TIKTOKEN_CACHE_DIR``), else the approximation.
    token_counter: str = attrs.field(default="auto", validator=attrs.validators.in_(TOKEN_COUNTERS))
    #: tiktoken encoding: ``o200k_base`` for the gpt-4o and gpt-4.1 families.
    encoding: str = "o200k_base"
    #: OpenAI refuses a fine-tuning job with fewer than 10 training examples; 0 turns the check off.
    min_train_examples: int = attrs.field(default=10, validator=attrs.validators.ge(0))


def _approximate_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / 3)


def _tiktoken_counter(encoding: Any) -> Callable[[str], int]:
    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    return count


class OpenAIChatExporter:
    """OpenAI chat fine-tuning records with ``tool_calls`` (arguments as JSON strings) and ``tools``.

    One JSON object a line, ``openai-chat/sft_<split>.jsonl``, made from
    :func:`deepeyes_core.conversation` by :func:`deepeyes_core.chat_messages`::

        {"messages": [
            {"role": "system", "content": CHAT_SYSTEM_PROMPT},
            {"role": "user", "content": <the task>},
            {"role": "assistant", "content": <the step's text, or null>, "tool_calls": [
                {"id": <call_id>, "type": "function",
                 "function": {"name": ..., "arguments": "<JSON object as a string>"}}, ...]},
            {"role": "tool", "tool_call_id": <call_id>, "content": <the real result>},
            ... one assistant message and its tool messages per step ...
            {"role": "assistant", "content": <the agent's final answer>}],
         "tools": [{"type": "function",
                    "function": {"name": ..., "description": ..., "parameters": {...}}}]}

    One assistant message per step (the calls the agent made together, in order; ids are the
    logged call ids made API-valid and unique), then one ``tool`` message per call with its real
    result (a failed call that returned nothing: its error text; the format has no error flag),
    then the agent's final answer where the log has one (without it the record ends on the last
    tool messages). A call whose log has no outcome gives a tool message with null content, which
    :meth:`check` refuses (``invalid_tool_result``), so the example is rejected before the split.
    A line allows no keys
    besides ``messages``, ``tools``, ``parallel_tool_calls`` and ``functions``, so the records carry
    no metadata: each ``sft_<split>.jsonl`` has a line-aligned ``sft_<split>.metadata.jsonl``
    beside it with the example's task_id, difficulty and provenance (upload only the record files).

    Rules checked: the format-error checks of OpenAI's cookbook "Data preparation and analysis for
    chat model fine-tuning" (https://cookbook.openai.com/examples/chat_finetuning_data_prep):
    ``data_type``, ``missing_messages_list``, ``message_missing_key``, ``message_unrecognized_key``,
    ``unrecognized_role``, ``missing_content``, ``example_missing_assistant_message``, and its
    per-example token count (``num_tokens_from_messages``: 3 tokens a message, the tokens of each
    value, 1 for a name, 3 to prime the reply) against ``max_tokens_per_example``, refused rather
    than truncated (truncation would cut the calls the example teaches). The notebook predates
    tools and rejects ``tool_calls`` and the ``tool`` role; these checks accept them and add:
    ``unrecognized_record_key`` (top-level keys of ``FineTuneChatRequestInput``),
    ``invalid_tool_call`` (id, ``"type": "function"``, a name, ``arguments`` a string holding a
    JSON object, ids unique), ``undeclared_tool`` (a called function not in ``tools``),
    ``invalid_tool`` (``"type": "function"``, a name matching ``^[a-zA-Z0-9_-]{1,64}$``, unique,
    ``parameters`` an object schema), ``invalid_tool_result`` (every call answered by a ``tool``
    message with its ``tool_call_id`` before the next assistant turn, each carrying a string
    result), and tokens of the serialised tool calls and tools in the
    count. Across the file: at least 10 training examples (``min_train_examples``).
    """

    name = "openai-chat"
    Options = OpenAIChatOptions

    def __init__(self, options: OpenAIChatOptions):
        self.options = options
        self._counter: Callable[[str], int] | None = None

    # -- records -------------------------------------------------------------------------------

    def record(self, example: TrainingExample, prompt_layout: str) -> dict[str, Any]:
        chat = conversation(example)
        messages = chat_messages(chat)
        if not self.options.include_system:
            messages = messages[1:]
        tools = [{"type": "function", "function": tool_definition(spec)} for spec in chat.tools]
        return {"messages": messages, "tools": tools}

    # -- token counting ------------------------------------------------------------------------

    def token_counter(self) -> Callable[[str], int]:
        """The function counting tokens of a text, chosen by ``token_counter`` (see Options)."""
        if self._counter is not None:
            return self._counter
        mode = self.options.token_counter
        counter: Callable[[str], int] = _approximate_tokens
        if mode != "approximate":
            try:
                import tiktoken
            except ImportError:
                if mode == "tiktoken":
                    raise MissingExtraError(
                        f"exporter {self.name!r} (token_counter='tiktoken')", "openai", "tiktoken"
                    ) from None
                log.info("openai-chat: tiktoken is not installed; counting tokens as UTF-8 bytes / 3")
            else:
                try:
                    encoding = tiktoken.get_encoding(self.options.encoding)
                except Exception as exc:  # unknown name, or the encoding file cannot be downloaded
                    if mode == "tiktoken":
                        raise DatasetError(
                            f"{self.name}: tiktoken cannot load encoding {self.options.encoding!r} ({exc}); "
                            "put the encoding file in TIKTOKEN_CACHE_DIR or set token_counter = 'approximate'"
                        ) from exc
                    log.warning(
                        "openai-chat: tiktoken cannot load encoding %r (%s); counting tokens as UTF-8 bytes / 3",
                        self.options.encoding,
                        exc,
                    )
                else:
                    counter = _tiktoken_counter(encoding)
        self._counter = counter
        return counter

    def count_tokens(self, record: dict[str, Any]) -> int:
        """The cookbook's ``num_tokens_from_messages``, extended to tool calls and tool definitions."""
        count = self.token_counter()
        total = 0
        for message in record.get("messages", []):
            total += 3
            for key, value in message.items():
                if key == "weight":
                    continue
                text = value if isinstance(value, str) else orjson.dumps(value).decode()
                total += count(text)
                if key == "name":
                    total += 1
        total += 3
        if record.get("tools"):
            total += count(orjson.dumps(record["tools"]).decode())
        return total

    # -- checks --------------------------------------------------------------------------------

    def check(self, record: Any) -> list[str]:
        """Every rule the record breaks, each named as the cookbook names its error types."""
        if not isinstance(record, dict):
            return ["data_type: the record must be a JSON object"]
        problems: list[str] = []
        extra = sorted(set(record) - RECORD_KEYS)
        if extra:
            problems.append(f"unrecognized_record_key: {extra} (a line holds only {sorted(RECORD_KEYS)})")
        functions = []
        for i, tool in enumerate(record.get("tools") or []):
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
                problems.append(
                    f'invalid_tool: tools[{i}] must be {{"type": "function", "function": {{...}}}}'
                )
                function = None
            functions.append(function)
        declared, rules = tool_problems(functions, name_pattern=FUNCTION_NAME)
        problems.extend(f"invalid_tool: {rule}" for rule in rules if "must be a tool definition" not in rule)

        messages = record.get("messages")
        if not messages or not isinstance(messages, list):
            return problems + ["missing_messages_list: the record has no messages list"]
        call_ids: set[str] = set()
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                problems.append(f"data_type: messages[{i}] must be a JSON object")
                continue
            role = message.get("role")
            has_calls = role == "assistant" and bool(message.get("tool_calls"))
            if "role" not in message or ("content" not in message and not has_calls):
                problems.append(f"message_missing_key: messages[{i}] needs role and content (or tool_calls)")
            unknown = sorted(set(message) - MESSAGE_KEYS)
            if unknown:
                problems.append(f"message_unrecognized_key: messages[{i}] has {unknown}")
            if role not in ROLES:
                problems.append(f"unrecognized_role: messages[{i}] role {role!r}")
            content = message.get("content")
            if has_calls:
                if content is not None and not isinstance(content, str):
                    problems.append(f"missing_content: messages[{i}] content must be a string or absent")
            elif role == "tool":
                pass  # a tool result: tool_message_problems below (it may be empty: the call returned nothing)
            elif not isinstance(content, str) or not content:
                problems.append(f"missing_content: messages[{i}] needs non-empty string content")
            if "tool_calls" in message and role != "assistant":
                problems.append(f"invalid_tool_call: messages[{i}] only assistant messages carry tool_calls")
            if "weight" in message and (role != "assistant" or message["weight"] not in (0, 1)):
                problems.append(
                    f"message_unrecognized_key: messages[{i}] weight is 0 or 1, on assistant messages only"
                )
            calls = message.get("tool_calls")
            if calls is None:
                continue
            if not isinstance(calls, list) or not calls:
                problems.append(f"invalid_tool_call: messages[{i}].tool_calls must be a non-empty list")
                continue
            for j, call in enumerate(calls):
                where = f"messages[{i}].tool_calls[{j}]"
                if (
                    not isinstance(call, dict)
                    or call.get("type") != "function"
                    or not isinstance(call.get("function"), dict)
                ):
                    problems.append(
                        f'invalid_tool_call: {where} must be {{"id", "type": "function", "function": {{...}}}}'
                    )
                    continue
                call_id = call.get("id")
                if not isinstance(call_id, str) or not call_id:
                    problems.append(f"invalid_tool_call: {where} needs an id")
                elif call_id in call_ids:
                    problems.append(f"invalid_tool_call: {where} id {call_id!r} is used twice")
                else:
                    call_ids.add(call_id)
                name = call["function"].get("name")
                arguments = call["function"].get("arguments")
                if not isinstance(name, str) or not name:
                    problems.append(f"invalid_tool_call: {where} needs a function name")
                elif name not in declared:
                    problems.append(f"undeclared_tool: {where} calls {name!r}, which is not in tools")
                if not isinstance(arguments, str):
                    problems.append(
                        f"invalid_tool_call: {where} arguments must be a JSON string, not {type(arguments).__name__}"
                    )
                else:
                    try:
                        parsed = orjson.loads(arguments)
                    except orjson.JSONDecodeError:
                        parsed = None
                    if not isinstance(parsed, dict):
                        problems.append(
                            f"invalid_tool_call: {where} arguments must be a string holding a JSON object"
                        )
        problems.extend(f"invalid_tool_result: {rule}" for rule in tool_message_problems(messages))
        if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
            problems.append("example_missing_assistant_message: no assistant message")
        if not problems:
            tokens = self.count_tokens(record)
            if tokens > self.options.max_tokens_per_example:
                problems.append(
                    f"too_many_tokens: {tokens:,} tokens, over the {self.options.max_tokens_per_example:,} "
                    "a training example may hold (max_tokens_per_example)"
                )
        return problems

    # -- export --------------------------------------------------------------------------------

    def export(
        self, splits: Mapping[str, Sequence[TrainingExample]], output_dir: Path, prompt_layout: str
    ) -> dict[str, Path]:
        checked = checked_records(self, splits, prompt_layout)
        lines = {split: [orjson.dumps(record) + b"\n" for _, record in rows] for split, rows in checked.items()}
        sidecars = {
            split: [
                orjson.dumps({"line": number, "task_id": example.task_id, **example.metadata()}) + b"\n"
                for number, (example, _) in enumerate(rows, 1)
            ]
            for split, rows in checked.items()
        }
        train = len(lines.get("train", ()))
        if "train" in lines and train < self.options.min_train_examples:
            raise DatasetError(
                f"{self.name}: the train split has {train} examples; OpenAI fine-tuning needs at least "
                f"{self.options.min_train_examples} (min_train_examples)"
            )
        folder = Path(output_dir) / self.name
        written: dict[str, Path] = {}
        for split, rows in lines.items():
            name = split_file_name(split)
            written[split] = _write(folder / name, rows)
            written[f"{split}.metadata"] = _write(
                folder / (name.removesuffix(".jsonl") + ".metadata.jsonl"), sidecars[split]
            )
        return written


def _write(path: Path, rows: Sequence[bytes]) -> Path:
    with atomic_write(path) as handle:
        for row in rows:
            handle.write(row)
    return path


@hookimpl
def deepeyes_exporters():
    return [OpenAIChatExporter]
