"""What a source's ``read_batches`` yields: a chunk of a log as records and as columns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import msgspec

from ..baseline import _decode_line, _invocation, read_line, read_tool_specs
from ..errors import MissingExtraError
from ..limits import may_break_limits
from ..records import Location, Rejection, ToolInvocation, ToolSpec, ToolStatus


@attrs.frozen(slots=True)
class InvocationBatch:
    """A chunk of a log, in read order. ``items`` are the chunk's records (a ToolInvocation, the
    Rejection of a line that could not be read, or a ToolSpec the log declares), as the row
    engine's ``read`` yields them;
    ``frame`` is a polars DataFrame with a row per ToolInvocation of ``items``: ``item`` (its index
    in ``items``), ``agent``, ``session`` (null without one), ``tool``, ``stamp`` (the timestamp in
    epoch seconds, as ``timestamp.timestamp()`` gives it) and ``ok`` (the call succeeded)."""

    items: list[ToolInvocation | Rejection | ToolSpec]
    frame: Any


def polars() -> Any:
    """The polars module, or MissingExtraError naming the ``columnar`` extra."""
    try:
        import polars as pl
    except ImportError:
        raise MissingExtraError("the columnar engine", "columnar", "polars") from None
    return pl


def invocation_batch(items: list[ToolInvocation | Rejection | ToolSpec]) -> InvocationBatch:
    """The batch of ``items``, its frame made from their ToolInvocations."""
    rows = [i for i, item in enumerate(items) if type(item) is ToolInvocation]
    calls: list[ToolInvocation] = [items[i] for i in rows]  # type: ignore[misc]
    return _batch(
        items, rows, [c.agent_name for c in calls], [c.session_id for c in calls], [c.tool_name for c in calls],
        [c.timestamp.timestamp() for c in calls], [c.status is ToolStatus.SUCCESS for c in calls],
    )


def _batch(items: list[Any], rows: list[int], agents: list[str], sessions: list[str | None], tools: list[str],
           stamps: list[float], ok: list[bool]) -> InvocationBatch:
    pl = polars()
    frame = pl.DataFrame(
        {"item": rows, "agent": agents, "session": sessions, "tool": tools, "stamp": stamps, "ok": ok},
        schema={"item": pl.Int64, "agent": pl.String, "session": pl.String, "tool": pl.String,
                "stamp": pl.Float64, "ok": pl.Boolean},
    )
    return InvocationBatch(items, frame)


def read_invocation_batches(path: Path | str, chunk_bytes: int) -> Iterator[InvocationBatch]:
    """A BaselineTracker log in batches of about ``chunk_bytes`` bytes, each cut at a line end,
    after a batch of the tool definitions in its sidecar, if it has one (as the ``baseline``
    source's ``read`` yields them first). A line gives the same record or Rejection (file, line,
    reason, detail) as :func:`~deepeyes_core.baseline.read_line`, the row engine's reader: a
    well-typed line within the read limits takes that reader's fast path (msgspec), inlined here with
    the frame's columns filled as it goes; any other line is read by ``read_line`` itself."""
    specs = read_tool_specs(path)
    if specs:
        yield invocation_batch(list(specs))
    name = str(path)
    number = 0
    success = ToolStatus.SUCCESS
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(chunk_bytes)
            if not chunk:
                return
            if not chunk.endswith(b"\n"):
                chunk += handle.readline()  # up to the line's end (or the file's: a torn last line)
            lines = chunk.split(b"\n")
            if lines[-1]:
                complete = len(lines) - 1  # lines with a newline: all but the file's torn last line
            else:
                lines.pop()  # the empty piece after the final newline
                complete = len(lines)
            items: list[Any] = []
            rows: list[int] = []
            agents: list[str] = []
            sessions: list[str | None] = []
            tools: list[str] = []
            stamps: list[float] = []
            ok: list[bool] = []
            for index, text in enumerate(lines):
                number += 1
                if not text or text.isspace():
                    continue
                location = Location(name, number)
                item = None
                if not may_break_limits(text):
                    try:
                        item = _invocation(location, _decode_line(text))
                    except (msgspec.DecodeError, RecursionError):  # read_line says why, below
                        pass
                if item is None:
                    item = read_line(location, text + b"\n" if index < complete else text)
                    if type(item) is not ToolInvocation:
                        items.append(item)
                        continue
                rows.append(len(items))
                items.append(item)
                agents.append(item.agent_name)
                sessions.append(item.session_id)
                tools.append(item.tool_name)
                stamps.append(item.timestamp.timestamp())
                ok.append(item.status is success)
            yield _batch(items, rows, agents, sessions, tools, stamps, ok)
