"""Sessions over batches: the row path's grouping rules (:meth:`TrajectoryCollector.iter_trajectories`)
computed per chunk with polars and numpy, sessions still open at a chunk's end carried to the next.

The row path reads items one by one (``seen`` counts them, rejections included) and
- appends a call to its (agent, session id) group; without a session id, it first closes the
  group when the call is more than ``session_gap_seconds`` after the group's last call or the group
  holds ``max_trajectory_length`` calls;
- after every ``_SWEEP_EVERY``-th item that is a call (a *sweep*), closes, in the order they were
  opened, the groups whose last call is older than ``newest - session_timeout_seconds``;
- at the end, closes the groups still open, in the order they were opened.

Here the same is said of columns. A call starts a group when its key has no call before it, when
a sweep between that call and this one closed the group (the last sweep before it is enough: the
horizon only grows), or, without a session id, on a gap or a full group. A group ends at the first
sweep that finds it stale, else where its key's next group starts, else it stays open (carried).
Events come out sorted by when the row path emits them: (item, 0) for a rejection or a group
closed by the next call, (sweep, 1, first call) for one a sweep closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ..invocation_ids import SeenInvocationIds
from ..records import Rejection, ToolInvocation, ToolSpec, Trajectory
from .batch import InvocationBatch, polars

_KEYS = ["agent", "has_session", "session"]


class SessionGrouper:
    """Trajectories and rejections, in the row path's order, from batches of a source's items.

    ``close(key, calls)`` makes the Trajectory of a closed group (the collector's own ``_close``);
    ``counts`` and ``tool_calls`` are the collector's, filled as its ``iter_trajectories`` fills them;
    ``declare`` takes the tool definitions a source declares (the collector's catalogue's).
    """

    def __init__(
        self,
        gap: float,
        timeout: float,
        longest: int,
        sweep_every: int,
        close: Callable[[tuple[str, str | None], list[ToolInvocation]], Trajectory],
        counts: dict[str, int],
        tool_calls: dict[str, list[int]],
        declare: Callable[[ToolSpec], None],
    ):
        self.gap, self.timeout, self.longest, self.every = gap, timeout, longest, sweep_every
        self.close, self.counts, self.tool_calls, self.declare = close, counts, tool_calls, declare
        self.pl = polars()
        self.seen = 0
        self.newest: float | None = None
        self.ids = SeenInvocationIds()
        self.open_frame: Any = None  # the calls of the groups still open, with their columns
        self.open_calls: list[ToolInvocation] = []
        counts.setdefault("duplicate_invocation_ids", 0)
        counts.setdefault("records_read", 0)

    def events(self, batches: Iterable[InvocationBatch]) -> Iterator[Trajectory | Rejection]:
        for batch in batches:
            yield from self._batch(batch)
        yield from self._flush()

    def _batch(self, batch: InvocationBatch) -> list[Trajectory | Rejection]:
        pl, counts = self.pl, self.counts
        start = self.seen
        self.seen += len(batch.items)
        rejections: list[tuple[int, Rejection]] = []
        keep: list[int] = []
        calls: list[ToolInvocation] = []
        frame = batch.frame
        for row, index in enumerate(frame["item"].to_list()):
            item = batch.items[index]
            first = self.ids.first_location(item)
            if first is not None:
                counts["duplicate_invocation_ids"] += 1
                detail = f"invocation id {item.invocation_id!r} was first read at {first}"
                locations = (item.location,) if item.location is not None else ()
                rejections.append((start + index + 1, Rejection("duplicate invocation id", detail, locations, stage="collect")))
                continue
            keep.append(row)
            calls.append(item)
        for index, item in enumerate(batch.items):
            if type(item) is Rejection:
                counts["records_read"] += item.records
                rejections.append((start + index + 1, item))
            elif type(item) is ToolSpec:  # a declared definition: a place in the stream, no record of a call
                self.declare(item)
        counts["records_read"] += frame.height
        counts["invocations"] += len(keep)
        new = frame[keep].with_columns(pos=pl.col("item") + (start + 1)).drop("item")
        self._tally(new)
        sweeps, horizons = self._sweeps(new)
        return self._emit(new, calls, sweeps, horizons, rejections)

    def _tally(self, new: Any) -> None:
        pl = self.pl
        for tool, n, ok in new.group_by("tool").agg(pl.len(), pl.col("ok").sum()).iter_rows():
            tally = self.tool_calls.setdefault(tool, [0, 0])
            tally[0] += n
            tally[1] += ok

    def _sweeps(self, new: Any) -> tuple[np.ndarray, np.ndarray]:
        """The items after which this chunk sweeps, and each sweep's horizon (newest - timeout)."""
        stamps = new["stamp"].to_numpy()
        positions = new["pos"].to_numpy()
        if len(stamps) == 0:
            return np.empty(0, np.int64), np.empty(0)
        newest = np.maximum.accumulate(stamps)
        if self.newest is not None:
            newest = np.maximum(newest, self.newest)
        self.newest = float(newest[-1])
        at = np.flatnonzero(positions % self.every == 0)
        return positions[at], newest[at] - self.timeout

    def _emit(
        self, new: Any, calls: list[ToolInvocation], sweeps: np.ndarray, horizons: np.ndarray,
        rejections: list[tuple[int, Rejection]],
    ) -> list[Trajectory | Rejection]:
        pl = self.pl
        new = new.with_columns(has_session=pl.col("session").is_not_null())
        frame = new if self.open_frame is None else pl.concat([self.open_frame, new], how="vertical")
        calls = self.open_calls + calls
        frame = frame.with_row_index("row").with_columns(
            prev_stamp=pl.col("stamp").shift(1).over(_KEYS), prev_pos=pl.col("pos").shift(1).over(_KEYS)
        )
        pos = frame["pos"].to_numpy()
        prev_pos = frame["prev_pos"].fill_null(-1).to_numpy()
        prev_stamp = frame["prev_stamp"].fill_null(0.0).to_numpy()
        last_sweep = np.searchsorted(sweeps, pos, "left") - 1
        clipped = np.clip(last_sweep, 0, None)
        swept = np.zeros(len(pos), bool)
        if len(sweeps):
            swept = (last_sweep >= 0) & (sweeps[clipped] >= prev_pos) & (prev_stamp < horizons[clipped])
        has_session = frame["has_session"].to_numpy()
        gap = ~has_session & (frame["stamp"].to_numpy() - prev_stamp > self.gap)
        frame = frame.with_columns(start=pl.Series((prev_pos < 0) | swept | (gap & (prev_pos >= 0))))
        frame = frame.with_columns(segment=pl.col("start").cum_sum().over(_KEYS))
        frame = frame.with_columns(
            start=pl.col("start")
            | (~pl.col("has_session") & (pl.int_range(pl.len()).over(_KEYS + ["segment"]) % self.longest == 0))
        ).with_columns(group=pl.col("start").cum_sum().over(_KEYS))
        groups = (  # in the order they opened, which is each key's order too
            frame.group_by([*_KEYS, "group"], maintain_order=True)
            .agg(first=pl.col("pos").first(), last=pl.col("pos").last(), last_stamp=pl.col("stamp").last(),
                 rows=pl.col("row"))
            .with_columns(next_first=pl.col("first").shift(-1).over(_KEYS))
        )
        # The first sweep at or after a group's last call whose horizon passed that call, if any.
        never = np.iinfo(np.int64).max
        at = np.maximum(np.searchsorted(sweeps, groups["last"].to_numpy(), "left"),
                        np.searchsorted(horizons, groups["last_stamp"].to_numpy(), "right"))
        sweep_pos = np.append(sweeps, never)[at]
        next_first = groups["next_first"].fill_null(never).to_numpy()
        by_sweep = sweep_pos < next_first  # swept before its key's next call arrived
        closed = by_sweep | (next_first < never)
        groups = groups.with_columns(
            closed=pl.Series(closed), emit=pl.Series(np.where(by_sweep, sweep_pos, next_first)),
            phase=pl.Series(by_sweep.astype(np.int8)),
        )
        done = groups.filter(pl.col("closed"))
        order = [(e, p, f, ("group", a, s, rows)) for e, p, f, a, s, rows in
                 done.select("emit", "phase", "first", "agent", "session", "rows").iter_rows()]
        order += [(position, 0, 0, ("rejection", r)) for position, r in rejections]
        order.sort(key=lambda event: event[:3])
        still = groups.filter(~pl.col("closed"))["rows"].explode()
        keep = frame["row"].is_in(still.implode()) if len(still) else pl.Series([False] * frame.height, dtype=pl.Boolean)
        self.open_frame = frame.filter(keep).select(new.columns)
        self.open_calls = [calls[r] for r in frame.filter(keep)["row"].to_list()]
        return [self._event(payload, calls) for *_, payload in order]

    def _event(self, payload: tuple, calls: list[ToolInvocation]) -> Trajectory | Rejection:
        if payload[0] == "rejection":
            return payload[1]
        _, agent, session, rows = payload
        return self.close((agent, session), [calls[r] for r in rows])

    def _flush(self) -> list[Trajectory]:
        if self.open_frame is None or self.open_frame.height == 0:
            return []
        pl = self.pl
        frame = self.open_frame.with_row_index("row")
        # Every open group is its key's only open group: one per key, in the order they opened.
        groups = frame.group_by(_KEYS, maintain_order=True).agg(pl.col("pos").first().alias("first"), rows=pl.col("row"))
        events = [
            self.close((agent, session), [self.open_calls[r] for r in rows])
            for agent, session, rows in groups.sort("first").select("agent", "session", "rows").iter_rows()
        ]
        self.open_frame, self.open_calls = None, []
        return events
