"""What a source's ``read_batches`` yields: a chunk of a log as records and as columns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from ..baseline import read_line, read_tool_specs
from ..errors import MissingExtraError
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
    pl = polars()
    rows = [i for i, item in enumerate(items) if type(item) is ToolInvocation]
    calls: list[ToolInvocation] = [items[i] for i in rows]  # type: ignore[misc]
    frame = pl.DataFrame(
        {
            "item": rows,
            "agent": [c.agent_name for c in calls],
            "session": [c.session_id for c in calls],
            "tool": [c.tool_name for c in calls],
            "stamp": [c.timestamp.timestamp() for c in calls],
            "ok": [c.status is ToolStatus.SUCCESS for c in calls],
        },
        schema={"item": pl.Int64, "agent": pl.String, "session": pl.String, "tool": pl.String,
                "stamp": pl.Float64, "ok": pl.Boolean},
    )
    return InvocationBatch(items, frame)


def read_invocation_batches(path: Path | str, chunk_bytes: int) -> Iterator[InvocationBatch]:
    """A BaselineTracker log in batches of about ``chunk_bytes`` bytes, each cut at a line end,
    after a batch of the tool definitions in its sidecar, if it has one (as the ``baseline``
    source's ``read`` yields them first). Every line is read by
    :func:`~deepeyes_core.baseline.read_line`, the row engine's reader, so a line gives the same
    record or Rejection (file, line, reason, detail) in either engine."""
    specs = read_tool_specs(path)
    if specs:
        yield invocation_batch(list(specs))
    name = str(path)
    number = 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(chunk_bytes)
            if not chunk:
                return
            if not chunk.endswith(b"\n"):
                chunk += handle.readline()  # up to the line's end (or the file's: a torn last line)
            lines = chunk.split(b"\n")
            last = lines.pop()  # b"" after a final newline, else the torn last line
            items: list[ToolInvocation | Rejection] = []
            for text in lines:
                number += 1
                if text and not text.isspace():
                    items.append(read_line(Location(name, number), text + b"\n"))
            if last:
                number += 1
                if not last.isspace():
                    items.append(read_line(Location(name, number), last))
            yield invocation_batch(items)
