"""The ``claude-code`` source: Claude Code / Claude Agent SDK session transcripts.

Checked against transcripts written by Claude Code 2.1.197 (``examples/sources/claude_code/``,
made by ``examples/sources/make_claude_code_samples.py``).

**Files.** ``~/.claude/projects/<project-slug>/<session-id>.jsonl``, one event a line; subagent
(Task / Agent tool) conversations in ``<session-id>/subagents/agent-<id>.jsonl`` (older versions
write them into the session file with ``isSidechain: true``; both are read). ``read`` takes files
and directories (every ``*.jsonl`` below: ``directory_glob``, which a config's paths follow too).

**Chains.** Lines with a ``uuid`` are linked by ``parentUuid``. The main chain of a file is found
by walking from its last ``user``/``assistant`` line back to the root; a ``compact_boundary``
(``parentUuid`` null) is crossed through its ``logicalParentUuid``, so a compacted session stays
one trajectory (the compaction summary is context, not a request). The assistant message of a
chain line is taken whole: Claude Code writes one line per content block with one ``message.id``
(and chains parallel tool_use blocks one after the other, their results hanging off each), so the
lines of one message id are one assistant turn, and a call's result is the ``tool_result`` block
naming its id. Sidechains are grouped by ``agentId`` and walked the same way (one trajectory each,
trajectory id ``<session>/agent-<agentId>``, agent ``claude-code/<attributionAgent>``; the main
chain's agent is ``claude-code``). ``sidechains = "drop"`` rejects them instead.

**Trajectory.** Session id: ``sessionId`` (a subagent shares its session's, so a group splitter
keeps them together). User request: the first user prompt of the chain (not ``isMeta``, not a
compaction summary, not tool results). Each call: ``tool_use`` name and input; its result is the
``tool_result`` content the model saw (``is_error`` -> FAILURE with that text as the error); its
timestamp is the tool_use line's and its latency the time to the result line. Turn text: the
message's ``text`` blocks (thinking is not the visible text and is left out). Final answer: the
last assistant text after the last tool result. Tool definitions are not in transcripts, so
``tools`` stays empty (no ToolSpec is invented). Later prompts of the same session (a resumed
session's) have no place in a Trajectory; their calls are steps of the one trajectory.

**Record.** A record is a tool call (a ``tool_use`` block); an unreadable line counts as one.
``sum(len(t.invocations)) + sum(r.records)`` equals calls read plus unreadable lines. Other events
(``queue-operation``, ``attachment``, ``system``, ``summary``, ``file-history-snapshot``...) are
context, not records.

**Rejections** (stage ``read``): ``malformed JSON`` / ``torn last line``, ``malformed record`` (a
line that is not an object with a string ``type``; a user/assistant line without a message, or
with a tool_use lacking id or name), ``unparseable arguments``, ``duplicate line`` (a uuid seen
before), ``not on the main chain`` (lines left by a rewind or edit), ``broken chain`` (a parent
that is not in the file, or a cycle), ``subagent dropped``, and those of ``paired_trajectory``:
``awaiting tool results`` (the session stopped while its last calls ran), ``unpaired tool_use``,
``no tool calls`` (``records=0``).

**Memory.** Streams line by line; memory holds one file's links and message blocks (not the raw
JSON, nor ``toolUseResult`` or other events).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import attrs

from deepeyes_core import (
    Location,
    RecordRejected,
    Rejection,
    SourceItem,
    conversations,
    expand_paths,
    hookimpl,
    read_jsonl,
    record_timestamp,
)

from .messages_source import _arguments, _outcome

_STAGE = "read"


@attrs.frozen(slots=True)
class _Line:
    """What one transcript line with a uuid says, without its raw JSON."""

    location: Location
    parent: str | None
    logical_parent: str | None
    role: str | None  # "user", "assistant", or None for a context event
    sidechain: bool
    agent_id: str | None
    agent_type: str | None
    session: str | None
    message_id: str | None
    stamp: datetime | None
    prompt: str | None  # a user's own words
    text: str | None
    calls: tuple[tuple[str, str, dict[str, Any]], ...] = ()  # (id, tool, input)
    results: tuple[tuple[str, dict[str, Any]], ...] = ()  # (tool_use_id, block)


def _line(location: Location, value: Any) -> tuple[str, _Line] | None:
    """The uuid and the reading of a line; None for a line without a uuid (context only)."""
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise RecordRejected.malformed("not a JSON object with a string type")
    uuid = value.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        return None
    kind = value["type"]
    stamp = record_timestamp(value["timestamp"]) if value.get("timestamp") is not None else None
    role = kind if kind in ("user", "assistant") else None
    text = prompt = message_id = None
    calls: list[tuple[str, str, dict[str, Any]]] = []
    results: list[tuple[str, dict[str, Any]]] = []
    if role is not None:
        message = value.get("message")
        if not isinstance(message, dict):
            raise RecordRejected.malformed(f"{kind} line without a message object")
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            raise RecordRejected.malformed("message.content is neither text nor a list of blocks")
        for position, block in enumerate(blocks):
            if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                raise RecordRejected.malformed(f"message.content[{position}] is not a content block")
            if block["type"] == "tool_use" and role == "assistant":
                call_id, tool = conversations.nonempty_string(block.get("id")), conversations.nonempty_string(block.get("name"))
                if call_id is None or tool is None:
                    raise RecordRejected.malformed(f"message.content[{position}]: tool_use without an id or a name")
                calls.append((call_id, tool, _arguments(block.get("input", {}), call_id)))
            elif block["type"] == "tool_result" and conversations.nonempty_string(block.get("tool_use_id")):
                results.append((block["tool_use_id"], block))
        text = conversations.text_of(blocks).strip() or None
        message_id = conversations.nonempty_string(message.get("id"))
        own_words = role == "user" and not results and not value.get("isMeta") and not value.get("isCompactSummary")
        prompt = text if own_words else None
    return uuid, _Line(
        location=location,
        parent=conversations.nonempty_string(value.get("parentUuid")),
        logical_parent=conversations.nonempty_string(value.get("logicalParentUuid")),
        role=role,
        sidechain=value.get("isSidechain") is True,
        agent_id=conversations.nonempty_string(value.get("agentId")),
        agent_type=conversations.nonempty_string(value.get("attributionAgent")),
        session=conversations.nonempty_string(value.get("sessionId")),
        message_id=message_id,
        stamp=stamp,
        prompt=prompt,
        text=text,
        calls=tuple(calls),
        results=tuple(results),
    )


def _rejection(reason: str, detail: str, lines: Sequence[_Line]) -> Rejection:
    return Rejection(
        reason,
        detail,
        tuple(line.location for line in lines),
        records=sum(len(line.calls) for line in lines),
        stage=_STAGE,
    )


class ClaudeCodeSource:
    """Claude Code session transcripts (``~/.claude/projects``): one trajectory per main chain and subagent."""

    name = "claude-code"
    #: A projects folder named in ``paths`` is read whole: every transcript under it.
    directory_glob = "**/*.jsonl"

    @attrs.frozen
    class Options:
        #: Subagent (sidechain) conversations: "keep" as trajectories of their own, or "drop" (rejected).
        sidechains: Literal["keep", "drop"] = "keep"
        #: Agent name for every trajectory; unset: "claude-code", "claude-code/<subagent type>".
        agent_name: str | None = None

    def __init__(self, options: Options):
        self.options = options

    def read(self, paths: Sequence[Path]) -> Iterator[SourceItem]:
        for path in expand_paths(paths, directory_glob=self.directory_glob):
            yield from self._file(path)

    def _file(self, path: Path) -> Iterator[SourceItem]:
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        lines: dict[str, _Line] = {}
        for item in read_jsonl(path):
            if isinstance(item, Rejection):
                yield item
                continue
            location, value = item
            try:
                read = _line(location, value)
            except RecordRejected as exc:
                yield Rejection(exc.reason, exc.detail, (location,), stage=_STAGE)
                continue
            if read is None:
                continue
            uuid, line = read
            if uuid in lines:
                yield _rejection("duplicate line", f"uuid {uuid} first at line {lines[uuid].location.line}", [line])
                continue
            lines[uuid] = line
        groups: dict[str | None, list[str]] = {}
        for uuid, line in lines.items():
            if line.role is not None:
                groups.setdefault(line.agent_id if line.sidechain else None, []).append(uuid)
        for key, members in groups.items():
            sidechain = lines[members[0]].sidechain
            if sidechain and self.options.sidechains == "drop":
                yield _rejection("subagent dropped", f"agent {key} (option sidechains = drop)", [lines[u] for u in members])
                continue
            yield from self._chain(lines, members, sidechain, mtime)

    def _chain(self, lines: dict[str, _Line], members: list[str], sidechain: bool, mtime: datetime) -> Iterator[SourceItem]:
        """The trajectory of the chain ending at the group's last message, and what is off it."""
        group = [lines[u] for u in members]
        chain: set[str] = set()
        uuid: str | None = members[-1]
        while uuid is not None:
            line = lines.get(uuid)
            if line is None or uuid in chain:
                problem = f"parent {uuid} is not in the file" if line is None else f"a cycle at {uuid}"
                yield _rejection("broken chain", problem, group)
                return
            chain.add(uuid)
            uuid = line.parent if line.parent is not None else (line.logical_parent if line.logical_parent in lines else None)
        on_chain = {lines[u].message_id or u for u in chain if lines[u].role == "assistant"}
        kept = {
            u
            for u in members
            if (lines[u].role == "assistant" and (lines[u].message_id or u) in on_chain)
            or (lines[u].role == "user" and u in chain)
        }
        called = {call[0] for u in kept for call in lines[u].calls}
        for u in members:  # results hanging off a parallel call's line, beside the chain
            if u not in kept and lines[u].results and {r[0] for r in lines[u].results} <= called:
                kept.add(u)
        off = [lines[u] for u in members if u not in kept]
        if off:
            yield _rejection("not on the main chain", f"{len(off)} lines left by a rewind or edit", off)
        yield self._trajectory([lines[u] for u in members if u in kept], sidechain, mtime)

    def _trajectory(self, lines: list[_Line], sidechain: bool, mtime: datetime) -> SourceItem:
        first = lines[0]
        messages: dict[str, int] = {}
        texts: dict[int, str | None] = {}
        calls: dict[str, conversations.Call] = {}
        call_lines: dict[str, _Line] = {}
        results: dict[str, dict[str, Any]] = {}
        result_lines: dict[str, _Line] = {}
        final_answer: str | None = None
        user_request = next((line.prompt for line in lines if line.prompt), None)
        for line in lines:
            if line.role == "assistant":
                index = messages.setdefault(line.message_id or str(line.location), len(messages))
                if line.text:
                    texts[index] = f"{texts[index]}\n{line.text}" if texts.get(index) else line.text
                    final_answer = line.text if not line.calls else None
                for call_id, tool, arguments in line.calls:
                    calls[call_id], call_lines[call_id] = (tool, arguments, index), line
                    final_answer = None
            for call_id, block in line.results:
                if call_id in calls and call_id not in results:
                    results[call_id], result_lines[call_id] = block, line
                    final_answer = None
        session = first.session or str(first.location.file)
        kind = next((line.agent_type for line in lines if line.agent_type), "subagent")
        agent = self.options.agent_name or (f"claude-code/{kind}" if sidechain else "claude-code")
        try:
            trajectory = conversations.paired_trajectory(
                first.location,
                calls=calls,
                results=results,
                outcome=_outcome,
                last_message=len(messages) - 1,
                call_kind="tool_use",
                result_kind="tool_result",
                agent=agent,
                session=session,
                stamp=first.stamp or mtime,
                user_request=user_request,
                tools=(),
                source=self.name,
                texts=texts,
                final_answer=final_answer,
            )
        except RecordRejected as exc:
            with_calls = [line for line in lines if line.calls]
            return _rejection(exc.reason, exc.detail, with_calls or [first])
        invocations = []
        for invocation in trajectory.invocations:
            call, result = call_lines[invocation.invocation_id], result_lines[invocation.invocation_id]
            stamp = call.stamp or first.stamp or mtime
            latency = (result.stamp - stamp).total_seconds() * 1000 if result.stamp and call.stamp else 0.0
            invocations.append(attrs.evolve(invocation, location=call.location, timestamp=stamp, latency_ms=max(latency, 0.0)))
        identifier = f"{session}/agent-{first.agent_id}" if sidechain else session
        return attrs.evolve(trajectory, invocations=tuple(invocations), trajectory_id=identifier)


@hookimpl
def deepeyes_trajectory_sources():
    return [ClaudeCodeSource]
