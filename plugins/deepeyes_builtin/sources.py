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
)


class BaselineSource:
    """JSONL of ToolInvocation records, as BaselineTracker writes them (one call per line)."""

    name = "baseline"
    Options = NoOptions

    def __init__(self, options: NoOptions):
        self.options = options

    def read(self, paths: Sequence[Path]) -> Iterator[SourceItem]:
        for path in paths:
            yield from read_invocations(path)

    def read_batches(self, paths: Sequence[Path], chunk_bytes: int) -> Iterator[InvocationBatch]:
        """The same items in batches of about ``chunk_bytes`` of log (the columnar engine's read)."""
        for path in paths:
            yield from read_invocation_batches(path, chunk_bytes)
