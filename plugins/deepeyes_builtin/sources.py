"""The ``baseline`` source: BaselineTracker JSONL logs (the guide's invocation records)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from deepeyes_core import (
    InvocationBatch,
    NoOptions,
    SourceItem,
    read_invocation_batches,
    read_invocations,
    read_tool_specs,
)


class BaselineSource:
    """JSONL of ToolInvocation records, as BaselineTracker writes them (one call per line).

    A log's ``<stem>.tools.json`` sidecar (Phase 1 over MCP writes one), where present, is read
    first: its tool definitions are yielded as ToolSpecs, so examples carry the real definitions."""

    name = "baseline"
    Options = NoOptions

    def __init__(self, options: NoOptions):
        self.options = options

    def read(self, paths: Sequence[Path]) -> Iterator[SourceItem]:
        for path in paths:
            yield from read_tool_specs(path)
            yield from read_invocations(path)

    def read_batches(self, paths: Sequence[Path], chunk_bytes: int) -> Iterator[InvocationBatch]:
        """The same items in batches of about ``chunk_bytes`` of log (the columnar engine's read),
        each log's sidecar definitions first."""
        for path in paths:
            yield from read_invocation_batches(path, chunk_bytes)
