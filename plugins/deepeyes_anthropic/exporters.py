"""Claude exporters: ``anthropic-messages`` (Messages API records with tool blocks) and
``bedrock-claude`` (Amazon Bedrock's fine-tuning record for Claude 3 Haiku).

Both build every record of every split, check each against its consumer's documented rules, and
only then write, atomically (a temporary name renamed into place), one file per split under
``output_dir/<format name>/``. A record that breaks a rule stops the export with a
:class:`~deepeyes_core.DatasetError` naming the example's ``task_id``, its split and the rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson

from deepeyes_core import (
    API_TOOL_NAME,
    CALL_ID_PATTERN,
    CHAT_SYSTEM_PROMPT,
    DatasetError,
    ToolCall,
    TrainingExample,
    call_ids,
    checked_records,
    conversation,
    outcome_text,
    tool_definition,
    tool_problems,
    atomic_write,
    hookimpl,
    split_file_name,
)

log = logging.getLogger(__name__)

#: Anthropic's tool-use docs: a tool name must match ``^[a-zA-Z0-9_-]{1,64}$``.
TOOL_NAME = API_TOOL_NAME
#: The Messages API's pattern for ``tool_use.id`` / ``tool_result.tool_use_id``.
TOOL_USE_ID = CALL_ID_PATTERN
#: The Messages API accepts at most 4 ``cache_control`` breakpoints per request.
MAX_CACHE_BREAKPOINTS = 4


def _metadata(example: TrainingExample) -> dict[str, Any]:
    """The example's id, difficulty and provenance (source file:line or trace span), and the rest
    of the guide's metadata block."""
    return {"task_id": example.task_id, **example.metadata()}


def _dumps(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record) + b"\n"


def _write_lines(path: Path, lines: Sequence[bytes]) -> Path:
    with atomic_write(path) as handle:
        for line in lines:
            handle.write(line)
    return path


# --------------------------------------------------------------------------------------------
# anthropic-messages
# --------------------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class AnthropicMessagesOptions:
    #: End each record with the agent's final answer (an assistant text turn) where the log has
    #: one. False ends it on the last tool_result turn: the shape of the next request of a live
    #: agent loop.
    final_answer: bool = True


class AnthropicMessagesExporter:
    """Claude Messages API records: the trajectory as it happened, with tool_use / tool_result blocks.

    One JSON object a line, ``anthropic-messages/sft_<split>.jsonl``, made from
    :func:`deepeyes_core.conversation`::

        {"system": [{"type": "text", "text": CHAT_SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}],
         "tools": [{"name": ..., "description": ..., "input_schema": {...}}],
         "messages": [
           {"role": "user", "content": <the task>},
           {"role": "assistant", "content": [{"type": "text", "text": <the step's text, where logged>},
                                             {"type": "tool_use", "id": <call_id>, "name": ..., "input": {...}}, ...]},
           {"role": "user", "content": [{"type": "tool_result", "tool_use_id": <call_id>,
                                         "content": <the real result>, "is_error": false}, ...]},
           ... one assistant turn and one user turn per step ...
           {"role": "assistant", "content": [{"type": "text", "text": <the agent's final answer>}]}],
         "metadata": {"task_id": ..., "difficulty": ..., "provenance": [...], ...}}

    Each step (the calls the agent made together) is one assistant message with a ``tool_use``
    block per call, and the results of all of them come in ONE user message, as the Messages API
    requires for parallel calls. Ids are the logged call ids, made API-valid
    (``^[a-zA-Z0-9_-]+$``) and unique. A result is the call's real ``ToolResult.content`` (JSON
    results as canonical JSON, cut to the run's size budget with an explicit marker); a failed
    call has ``is_error: true`` and, where it returned nothing, its error text as the content; an
    empty result has no ``content`` (the API's empty tool_result). A call whose log has no outcome
    gives ``"content": null``, which :meth:`check` refuses, so such an example is rejected before
    the split (nothing is made up). The final answer is the agent's own, where the log has one;
    without it the record ends on the last tool_result turn. ``metadata`` is ours, not the API's
    (whose ``metadata`` takes only ``user_id``): drop it before sending a record as a request. The
    system block carries the ``cache_control`` hint; Claude Haiku 4.5 caches only prefixes of
    4,096 tokens or more, so a short system prompt alone is not cached.

    Rules checked (Anthropic Messages API and tool-use docs): system is a list of non-empty text
    blocks with the ephemeral cache hint, at most 4 cache breakpoints; tool names match
    ``^[a-zA-Z0-9_-]{1,64}$`` and are unique, each ``input_schema`` is an object schema
    (``"type": "object"``); messages start with ``user`` and alternate user/assistant; no empty
    text; every ``tool_use`` has an id matching ``^[a-zA-Z0-9_-]+$``, unique in the record, names
    a declared tool, and has an object ``input``; the next user turn answers every ``tool_use`` of
    the assistant turn before it with a ``tool_result``, results first, and answers nothing else;
    a ``tool_result`` carries the call's result (string content) and a boolean ``is_error``.
    """

    name = "anthropic-messages"
    Options = AnthropicMessagesOptions

    def __init__(self, options: AnthropicMessagesOptions):
        self.options = options

    def record(self, example: TrainingExample, prompt_layout: str) -> dict[str, Any]:
        chat = conversation(example)
        ids = call_ids(chat)
        position = 0
        pending: list[str] = []
        messages: list[dict[str, Any]] = []
        for turn in chat.turns:
            if turn.role == "user":
                messages.append({"role": "user", "content": turn.text})
            elif turn.role == "assistant":
                if not turn.calls and not self.options.final_answer:
                    continue
                blocks: list[dict[str, Any]] = []
                if turn.text and turn.text.strip():
                    blocks.append({"type": "text", "text": turn.text})
                for call in turn.calls:
                    pending.append(ids[position])
                    position += 1
                    blocks.append({"type": "tool_use", "id": pending[-1], "name": call.name, "input": call.arguments})
                messages.append({"role": "assistant", "content": blocks})
            elif turn.call is not None:
                block: dict[str, Any] = {"type": "tool_result", "tool_use_id": pending.pop(0)}
                text = outcome_text(turn.call.result)
                if text != "":
                    block["content"] = text
                block["is_error"] = bool(turn.call.result and turn.call.result.is_error)
                if messages[-1]["role"] == "user" and isinstance(messages[-1]["content"], list):
                    messages[-1]["content"].append(block)
                else:
                    messages.append({"role": "user", "content": [block]})
        tools = []
        for spec in chat.tools:
            definition = tool_definition(spec)
            definition["input_schema"] = definition.pop("parameters")
            tools.append(definition)
        return {
            "system": [{"type": "text", "text": chat.system, "cache_control": {"type": "ephemeral"}}],
            "tools": tools,
            "messages": messages,
            "metadata": _metadata(example),
        }

    @staticmethod
    def check(record: dict[str, Any]) -> list[str]:
        """Every rule the record breaks, as sentences naming the rule; empty when it is sound."""
        problems: list[str] = []
        breakpoints = 0
        system = record.get("system")
        if not isinstance(system, list) or not system:
            problems.append("system: must be a non-empty list of text blocks")
            system = []
        for i, block in enumerate(system):
            if (
                not isinstance(block, dict)
                or block.get("type") != "text"
                or not isinstance(block.get("text"), str)
            ):
                problems.append(f"system[{i}]: must be a text block")
            elif not block["text"].strip():
                problems.append(f"system[{i}]: text content blocks must be non-empty")
            if isinstance(block, dict) and "cache_control" in block:
                breakpoints += 1
        if (
            not system
            or not isinstance(system[-1], dict)
            or system[-1].get("cache_control") != {"type": "ephemeral"}
        ):
            problems.append('system: the shared system block must carry cache_control {"type": "ephemeral"}')

        tools = record.get("tools") or []
        declared, tool_rules = tool_problems(
            [
                {**{k: v for k, v in tool.items() if k != "input_schema"}, "parameters": tool.get("input_schema")}
                if isinstance(tool, dict) else tool
                for tool in tools
            ],
            name_pattern=TOOL_NAME,
        )
        problems.extend(rule.replace("the parameters", "input_schema") for rule in tool_rules)
        breakpoints += sum(1 for tool in tools if isinstance(tool, dict) and "cache_control" in tool)

        messages = record.get("messages")
        if not isinstance(messages, list) or not messages:
            return problems + ["messages: must be a non-empty list"]
        seen_ids: set[str] = set()
        pending: list[str] = []  # tool_use ids of the previous assistant turn, awaiting results
        for i, message in enumerate(messages):
            role = message.get("role") if isinstance(message, dict) else None
            if role not in ("user", "assistant"):
                problems.append(f"messages[{i}].role: {role!r} is not user or assistant")
                continue
            if i == 0 and role != "user":
                problems.append("messages[0]: the first message must be from the user")
            if i > 0 and isinstance(messages[i - 1], dict) and messages[i - 1].get("role") == role:
                problems.append(f"messages[{i}]: roles must alternate user/assistant ({role} follows {role})")
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            if not isinstance(blocks, list) or not blocks:
                problems.append(f"messages[{i}].content: must be a non-empty string or list of blocks")
                continue
            answered: list[str] = []
            results_done = False
            for j, block in enumerate(blocks):
                where = f"messages[{i}].content[{j}]"
                kind = block.get("type") if isinstance(block, dict) else None
                if kind == "text":
                    results_done = True
                    if not isinstance(block.get("text"), str) or not block["text"].strip():
                        problems.append(f"{where}: text content blocks must be non-empty")
                    if "cache_control" in block:
                        breakpoints += 1
                elif kind == "tool_use":
                    if role != "assistant":
                        problems.append(f"{where}: tool_use blocks belong to assistant turns")
                    id_ = block.get("id")
                    if not isinstance(id_, str) or not TOOL_USE_ID.match(id_):
                        problems.append(f"{where}.id: {id_!r} must match ^[a-zA-Z0-9_-]+$")
                    elif id_ in seen_ids:
                        problems.append(f"{where}.id: {id_!r} is used twice; tool_use ids must be unique")
                    else:
                        seen_ids.add(id_)
                    if block.get("name") not in declared:
                        problems.append(f"{where}.name: {block.get('name')!r} is not a declared tool")
                    if not isinstance(block.get("input"), dict):
                        problems.append(f"{where}.input: must be a JSON object")
                elif kind == "tool_result":
                    if role != "user":
                        problems.append(f"{where}: tool_result blocks belong to user turns")
                    if results_done:
                        problems.append(f"{where}: tool_result blocks must come first in the user turn")
                    answered.append(block.get("tool_use_id"))
                    content = block.get("content", "")
                    if content is None:
                        problems.append(
                            f"{where}: call {block.get('tool_use_id')!r} has no recorded result (the log has none)"
                        )
                    elif not isinstance(content, (str, list)):
                        problems.append(f"{where}.content: must be a string or a list of content blocks")
                    elif isinstance(content, str) and content and not content.strip():
                        problems.append(f"{where}.content: text content blocks must be non-empty")
                    if not isinstance(block.get("is_error", False), bool):
                        problems.append(f"{where}.is_error: must be a boolean")
                else:
                    problems.append(f"{where}.type: {kind!r} is not text, tool_use or tool_result")
            if role == "user":
                missing = [id_ for id_ in pending if id_ not in answered]
                extra = [id_ for id_ in answered if id_ not in pending]
                if missing:
                    problems.append(
                        f"messages[{i}]: tool_use ids {missing} have no tool_result in the user turn that follows"
                    )
                if extra:
                    problems.append(
                        f"messages[{i}]: tool_result ids {extra} answer no tool_use of the previous turn"
                    )
                pending = []
            else:
                if pending:
                    problems.append(
                        f"messages[{i}]: tool_use ids {pending} have no tool_result before this turn"
                    )
                pending = [b.get("id") for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
        if breakpoints > MAX_CACHE_BREAKPOINTS:
            problems.append(
                f"cache_control: {breakpoints} breakpoints, at most {MAX_CACHE_BREAKPOINTS} are allowed"
            )
        if not isinstance(record.get("metadata"), dict) or not record["metadata"].get("task_id"):
            problems.append("metadata: must keep the example's task_id")
        return problems

    def export(
        self, splits: Mapping[str, Sequence[TrainingExample]], output_dir: Path, prompt_layout: str
    ) -> dict[str, Path]:
        checked = checked_records(self, splits, prompt_layout)
        folder = Path(output_dir) / self.name
        return {
            split: _write_lines(folder / split_file_name(split), [_dumps(record) for _, record in rows])
            for split, rows in checked.items()
        }


# --------------------------------------------------------------------------------------------
# bedrock-claude
# --------------------------------------------------------------------------------------------

#: The base model the Bedrock format fine-tunes, and the day it reached end of life on Bedrock.
BEDROCK_BASE_MODEL = "anthropic.claude-3-haiku-20240307-v1:0:200k"
BEDROCK_EOL = "2026-09-10"

# "Model requirements for training and validation datasets", Anthropic Claude 3 Haiku, in
# https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html
BEDROCK_MIN_RECORDS = 32
BEDROCK_MAX_TRAIN_RECORDS = 10_000
BEDROCK_MAX_VAL_RECORDS = 1_000
BEDROCK_MAX_TOTAL_RECORDS = 10_000  # adjustable through Service Quotas
BEDROCK_MAX_TOKENS = 32_000
BEDROCK_MAX_TRAIN_BYTES = 10 * 10**9  # 10 GB (decimal: the stricter reading)
BEDROCK_MAX_VAL_BYTES = 1 * 10**9  # 1 GB
#: The splits Bedrock takes: the training file and the optional validation file.
_BEDROCK_LIMITED_SPLITS = {
    "train": (BEDROCK_MAX_TRAIN_RECORDS, BEDROCK_MAX_TRAIN_BYTES),
    "val": (BEDROCK_MAX_VAL_RECORDS, BEDROCK_MAX_VAL_BYTES),
}


#: The system text of bedrock-claude records: the chat system prompt, and how calls and results
#: are written in a text-only conversation.
BEDROCK_SYSTEM_PROMPT = (
    CHAT_SYSTEM_PROMPT + " To call tools, write 'Tool calls:' and then one line per call, "
    'name({"argument": value}) with the arguments as JSON; the results come back in the next message.'
)


def _results_message(results: list[str | None]) -> dict[str, Any]:
    """The user turn carrying a step's results as text; null content where one is missing."""
    if any(text is None for text in results):
        return {"role": "user", "content": None}
    return {"role": "user", "content": "\n\n".join(results)}  # type: ignore[arg-type]


@attrs.frozen(slots=True)
class BedrockClaudeOptions:
    #: Write the optional ``system`` string (the shared system prompt).
    include_system: bool = True
    #: "Maximum total records" (train + validation): 10,000 by default, adjustable through Service
    #: Quotas; raise this only when your account's quota is higher.
    max_total_records: int = attrs.field(default=BEDROCK_MAX_TOTAL_RECORDS, validator=attrs.validators.gt(0))
    #: Claude 3 Haiku's tokenizer is not published, so tokens are estimated as UTF-8 bytes / this.
    #: 3.0 over-counts English, code and JSON (about 3.5 to 4 bytes a token), so a record within the
    #: estimate is within Bedrock's 32,000-token limit in practice; lower it to be stricter.
    bytes_per_token: float = attrs.field(default=3.0, validator=attrs.validators.gt(0))


class BedrockClaudeExporter:
    """Amazon Bedrock fine-tuning records for Claude 3 Haiku (end of life on Bedrock: 2026-09-10).

    **End of life.** The format's base model, Claude 3 Haiku, reached end of life on Amazon
    Bedrock on 2026-09-10; every export logs a warning saying so. The files stay valid for
    accounts and regions that still offer the customization; check before paying for a job.

    One JSON object a line, ``bedrock-claude/sft_<split>.jsonl``::

        {"system": BEDROCK_SYSTEM_PROMPT,
         "messages": [{"role": "user", "content": "<the task>\n\nAvailable tools:\n- name(arg: type)..."},
                      {"role": "assistant", "content": "<step text, where logged>\n\nTool calls:\nname({json})\n..."},
                      {"role": "user", "content": "Result of name (call_id):\n<the real result>\n\n..."},
                      ... one assistant turn and one user turn per step ...
                      {"role": "assistant", "content": <the agent's final answer>}]}

    **Steps as text.** The format is text only (strictly alternating user/assistant ``messages``,
    no tool fields), so the trajectory is rendered as text: the first user turn is the task and
    the tool catalogue; each step is an assistant turn holding its text (where the log has one)
    and its calls, one ``name({json arguments})`` line each after ``Tool calls:`` (what
    :meth:`~deepeyes_core.ToolCall.render` writes); the next user turn carries the real results of
    those calls as text (``Result of name (id):`` or, for a failed call, ``Error from name (id):``,
    then the result, or the error text where it returned nothing). The last turn must be the
    assistant's: the agent's final answer where the log has one; without it the record ends on
    the last step's calls, and that step's results (which no later turn reads) are not written
    (where one of them is missing from the log, the example is still refused, as every chat
    format refuses it).
    A call without a recorded outcome in a results turn makes that turn's content null, which
    :meth:`check` refuses (the example is rejected before the split). It also allows no
    keys besides ``system`` and ``messages``, so the records carry no metadata: each
    ``sft_<split>.jsonl`` has a line-aligned ``sft_<split>.metadata.jsonl`` beside it with the
    example's task_id, difficulty and provenance (upload only the record files to S3).

    Rules checked, from Bedrock's "Prepare data for fine-tuning" (Anthropic Claude 3 Haiku:
    conversational format and "Model requirements for training and validation datasets",
    https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html) and the
    Claude cookbook "Finetuning Claude 3 Haiku on Bedrock"
    (https://platform.claude.com/cookbook/finetuning-finetuning-on-bedrock): no keys but the
    optional ``system`` (a string) and ``messages``; at least two messages, each exactly
    ``role`` + non-empty string ``content``; the first from ``user``, the last from
    ``assistant``, strictly alternating; at most 32,000 tokens a record (estimated, see
    ``bytes_per_token``); at least 32 training records, at most 10,000 training and 1,000
    validation records and 10,000 in all (``max_total_records``); a training file of at most
    10 GB and a validation file of at most 1 GB. The test split is written for deepeyes' own
    evaluation; Bedrock takes no test file, so its count and size are not limited.
    """

    name = "bedrock-claude"
    Options = BedrockClaudeOptions

    def __init__(self, options: BedrockClaudeOptions):
        self.options = options

    def record(self, example: TrainingExample, prompt_layout: str) -> dict[str, Any]:
        chat = conversation(example, BEDROCK_SYSTEM_PROMPT)
        ids = call_ids(chat)
        position = 0
        messages: list[dict[str, Any]] = []
        results: list[str | None] = []
        for turn in chat.turns:
            if turn.role == "user":
                catalogue = "\n".join(f"- {tool.signature()}" for tool in chat.tools)
                messages.append({"role": "user", "content": f"{turn.text}\n\nAvailable tools:\n{catalogue}"})
            elif turn.role == "assistant":
                if results:
                    messages.append(_results_message(results))
                    results = []
                if not turn.calls:
                    messages.append({"role": "assistant", "content": turn.text})
                    continue
                lines = []
                for call in turn.calls:
                    lines.append(ToolCall(call.name, call.arguments).render())
                text = f"{turn.text}\n\n" if turn.text and turn.text.strip() else ""
                messages.append({"role": "assistant", "content": text + "Tool calls:\n" + "\n".join(lines)})
            elif turn.call is not None:
                text = outcome_text(turn.call.result)
                failed = turn.call.result is not None and turn.call.result.is_error
                label = "Error from" if failed else "Result of"
                results.append(None if text is None else f"{label} {turn.call.name} ({ids[position]}):\n{text}")
                position += 1
        if None in results:  # the last step's results are not written, but one the log lacks still refuses
            messages.append(_results_message(results))
        record: dict[str, Any] = {}
        if self.options.include_system:
            record["system"] = chat.system
        record["messages"] = messages
        return record

    def estimate_tokens(self, record: dict[str, Any]) -> int:
        """Estimated tokens of a record: its system and message texts, UTF-8 bytes / bytes_per_token."""
        texts = [record.get("system") or ""] + [m.get("content") or "" for m in record.get("messages", [])]
        size = sum(len(text.encode("utf-8")) for text in texts if isinstance(text, str))
        return int(-(-size // self.options.bytes_per_token))

    def check(self, record: dict[str, Any]) -> list[str]:
        """Every rule of Bedrock's Claude 3 Haiku record the record breaks; empty when it is sound."""
        problems: list[str] = []
        extra = sorted(set(record) - {"system", "messages"})
        if extra:
            problems.append(f"no extraneous keys are allowed, found {extra}")
        if "system" in record and not isinstance(record["system"], str):
            problems.append("system: must be a string")
        messages = record.get("messages")
        if not isinstance(messages, list):
            return problems + ["messages: must be a list"]
        if len(messages) < 2:
            problems.append(f"there must be at least two messages, found {len(messages)}")
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or set(message) != {"role", "content"}:
                problems.append(f"messages[{i}]: must have exactly the keys role and content")
                continue
            if message["role"] not in ("user", "assistant"):
                problems.append(f"messages[{i}].role: {message['role']!r} is not user or assistant")
            if message["content"] is None and message["role"] == "user":
                problems.append(
                    f"messages[{i}].content: a call of the step before it has no recorded result (the log has none)"
                )
            elif not isinstance(message["content"], str) or not message["content"].strip():
                problems.append(f"messages[{i}].content: must be a non-empty string")
            expected = "user" if i % 2 == 0 else "assistant"
            if message["role"] != expected:
                problems.append(
                    f"messages[{i}]: user and assistant messages must alternate, starting with user "
                    f"(expected {expected}, found {message['role']!r})"
                )
        if messages and isinstance(messages[-1], dict) and messages[-1].get("role") != "assistant":
            problems.append("the last message must be from the assistant")
        tokens = self.estimate_tokens(record)
        if tokens > BEDROCK_MAX_TOKENS:
            problems.append(
                f"about {tokens:,} tokens (estimated), over Bedrock's maximum of {BEDROCK_MAX_TOKENS:,} tokens a record"
            )
        return problems

    def _check_dataset(self, counts: Mapping[str, int], sizes: Mapping[str, int]) -> None:
        """Bedrock's record-count and file-size limits, for the files it takes (train, val)."""
        train = counts.get("train", 0)
        if train < BEDROCK_MIN_RECORDS:
            raise DatasetError(
                f"{self.name}: the train split has {train} records; Bedrock's Claude 3 Haiku fine-tuning "
                f"needs at least {BEDROCK_MIN_RECORDS}"
            )
        for split, (max_records, max_bytes) in _BEDROCK_LIMITED_SPLITS.items():
            if counts.get(split, 0) > max_records:
                raise DatasetError(
                    f"{self.name}: the {split} split has {counts[split]:,} records; Bedrock allows at most "
                    f"{max_records:,} {('training' if split == 'train' else 'validation')} records"
                )
            if sizes.get(split, 0) > max_bytes:
                raise DatasetError(
                    f"{self.name}: the {split} file would be {sizes[split]:,} bytes; Bedrock allows at most "
                    f"{max_bytes // 10**9} GB"
                )
        total = counts.get("train", 0) + counts.get("val", 0)
        if total > self.options.max_total_records:
            raise DatasetError(
                f"{self.name}: train + val hold {total:,} records; Bedrock allows at most "
                f"{self.options.max_total_records:,} in all (max_total_records; adjustable through Service Quotas)"
            )

    def export(
        self, splits: Mapping[str, Sequence[TrainingExample]], output_dir: Path, prompt_layout: str
    ) -> dict[str, Path]:
        log.warning(
            "bedrock-claude: the format's base model, Claude 3 Haiku (%s), reached end of life on Amazon "
            "Bedrock on %s; check that your account and region still offer its fine-tuning before starting a job",
            BEDROCK_BASE_MODEL,
            BEDROCK_EOL,
        )
        checked = checked_records(self, splits, prompt_layout)
        lines = {split: [_dumps(record) for _, record in rows] for split, rows in checked.items()}
        self._check_dataset(
            {split: len(rows) for split, rows in lines.items()},
            {split: sum(map(len, rows)) for split, rows in lines.items()},
        )
        folder = Path(output_dir) / self.name
        written: dict[str, Path] = {}
        for split, rows in lines.items():
            written[split] = _write_lines(folder / split_file_name(split), rows)
            meta_name = split_file_name(split).removesuffix(".jsonl") + ".metadata.jsonl"
            sidecar = [_dumps({"line": n, **_metadata(example)}) for n, (example, _) in enumerate(checked[split], 1)]
            written[f"{split}.metadata"] = _write_lines(folder / meta_name, sidecar)
        return written


@hookimpl
def deepeyes_exporters():
    return [AnthropicMessagesExporter, BedrockClaudeExporter]
