"""The columnar engine's pass: a pipeline's sources read in batches, grouped into trajectories."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import collector as row_collector
from ..records import Rejection, Trajectory
from .batch import InvocationBatch
from .grouping import SessionGrouper


def read_batches(pipeline: Any, on_progress: Callable[[int], None] | None = None) -> Iterator[InvocationBatch]:
    """Every batch of every source of ``pipeline``, in config order."""
    chunk_bytes = pipeline.engine.chunk_bytes
    for binding in pipeline.sources:
        for batch in binding.source.read_batches(list(binding.paths), chunk_bytes):
            if on_progress is not None:
                on_progress(len(batch.items))
            yield batch


def grouped_events(collector: Any, batches: Iterable[InvocationBatch]) -> Iterator[Trajectory | Rejection]:
    """The trajectories and rejections of ``batches``, in the order the row engine's
    ``iter_trajectories`` makes them, with the collector's counts filled as it fills them."""
    grouper = SessionGrouper(
        collector.session_gap_seconds, collector.session_timeout_seconds, collector.max_trajectory_length,
        row_collector._SWEEP_EVERY,  # the row engine's sweep period, read when the run starts
        collector._close, collector.counts, collector._tool_calls, collector.catalogue.declare,
    )
    return grouper.events(batches)
