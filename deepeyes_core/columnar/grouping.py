"""Sessions over batches: the row path's grouping rules (:meth:`TrajectoryCollector.iter_trajectories`)
computed per chunk with numpy, sessions still open at a chunk's end carried to the next.

The row path reads items one by one (``seen`` counts them, rejections included) and
- appends a call to its (agent, session id) group; without a session id, it first closes the
  group when the call is more than ``session_gap_seconds`` after the group's last call or the group
  holds ``max_trajectory_length`` calls;
- after every ``_SWEEP_EVERY``-th item that is a call (a *sweep*), closes, in the order they were
  opened, the groups whose last call is older than ``newest - session_timeout_seconds``;
- at the end, closes the groups still open, in the order they were opened.

Here the same is said of columns: each chunk's calls (after those still open) get an integer code
per (agent, session id) key and are sorted by it, stably, so each key's calls are a run in read
order. A call starts a group when its key has no call before it, when
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

from ..records import Rejection, ToolInvocation, ToolSpec, Trajectory
from .batch import InvocationBatch, polars
from .ids import SeenIdRuns

_KEYS = ["agent", "has_session", "session"]


class SessionGrouper:
    """Trajectories and rejections, in the row path's order, from batches of a source's items.

    ``close(key, calls)`` makes the Trajectory of a closed group (the collector's own ``_close``);
    ``counts`` and ``tool_calls`` are the collector's, filled as its ``iter_trajectories`` fills them;
    ``declare`` takes the tool definitions a source declares (the collector's catalogue's).
    Per batch, :meth:`batch` gives the events that batch closes; :meth:`flush`, after the last
    batch, those of the sessions still open.
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
        self.ids = SeenIdRuns()
        # The calls of the sessions still open, in read order: their keys, positions and stamps.
        self.open_keys: list[tuple[str, str | None]] = []
        self.open_calls: list[ToolInvocation] = []
        self.open_pos = np.empty(0, np.int64)
        self.open_stamp = np.empty(0)
        counts.setdefault("duplicate_invocation_ids", 0)
        counts.setdefault("records_read", 0)

    def events(self, batches: Iterable[InvocationBatch]) -> Iterator[Trajectory | Rejection]:
        for batch in batches:
            yield from self.batch(batch)
        yield from self.flush()

    def batch(self, batch: InvocationBatch) -> list[Trajectory | Rejection]:
        """The trajectories this batch closes and the rejections it holds, in the row path's order."""
        counts = self.counts
        start = self.seen
        self.seen += len(batch.items)
        rejections: list[tuple[int, Rejection]] = []
        keep: list[int] = []
        calls: list[ToolInvocation] = []
        keys: list[tuple[str, str | None]] = []
        frame = batch.frame
        indices = frame["item"].to_list()
        given = [batch.items[index] for index in indices]
        for row, (index, item, first) in enumerate(zip(indices, given, self.ids.first_locations(given))):
            if first is not None:
                counts["duplicate_invocation_ids"] += 1
                detail = f"invocation id {item.invocation_id!r} was first read at {first}"
                locations = (item.location,) if item.location is not None else ()
                rejections.append((start + index + 1, Rejection("duplicate invocation id", detail, locations, stage="collect")))
                continue
            keep.append(row)
            calls.append(item)
            keys.append((item.agent_name, item.session_id))
        for index, item in enumerate(batch.items):
            if type(item) is Rejection:
                counts["records_read"] += item.records
                rejections.append((start + index + 1, item))
            elif type(item) is ToolSpec:  # a declared definition: a place in the stream, no record of a call
                self.declare(item)
        counts["records_read"] += frame.height
        counts["invocations"] += len(keep)
        kept = frame[keep] if len(keep) < frame.height else frame
        self._tally(kept)
        pos = kept["item"].to_numpy() + (start + 1)
        stamp = kept["stamp"].to_numpy()
        sweeps, horizons = self._sweeps(pos, stamp)
        return self._emit(keys, calls, pos, stamp, sweeps, horizons, rejections)

    def _tally(self, kept: Any) -> None:
        pl = self.pl
        for tool, n, ok in kept.group_by("tool").agg(pl.len(), pl.col("ok").sum()).iter_rows():
            tally = self.tool_calls.setdefault(tool, [0, 0])
            tally[0] += n
            tally[1] += ok

    def _sweeps(self, positions: np.ndarray, stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The items after which this chunk sweeps, and each sweep's horizon (newest - timeout)."""
        if len(stamps) == 0:
            return np.empty(0, np.int64), np.empty(0)
        newest = np.maximum.accumulate(stamps)
        if self.newest is not None:
            newest = np.maximum(newest, self.newest)
        self.newest = float(newest[-1])
        at = np.flatnonzero(positions % self.every == 0)
        return positions[at], newest[at] - self.timeout

    def _emit(
        self, keys: list[tuple[str, str | None]], calls: list[ToolInvocation], pos: np.ndarray, stamp: np.ndarray,
        sweeps: np.ndarray, horizons: np.ndarray, rejections: list[tuple[int, Rejection]],
    ) -> list[Trajectory | Rejection]:
        keys = self.open_keys + keys
        calls = self.open_calls + calls
        pos = np.concatenate([self.open_pos, pos])
        stamp = np.concatenate([self.open_stamp, stamp])
        n = len(keys)
        codes: dict[tuple[str, str | None], int] = {}
        code = np.fromiter((codes.setdefault(key, len(codes)) for key in keys), np.int64, n)
        order = np.argsort(code, kind="stable")  # rows by key, each key's rows in read order
        read_pos, read_stamp = pos, stamp
        code, pos, stamp = code[order], pos[order], stamp[order]
        session = np.fromiter((key[1] is not None for key in codes), bool, len(codes))[code]
        new_key = np.ones(n, bool)
        new_key[1:] = code[1:] != code[:-1]
        prev_pos = np.where(new_key, -1, np.roll(pos, 1))
        prev_stamp = np.where(new_key, 0.0, np.roll(stamp, 1))
        start = new_key.copy()
        if len(sweeps):
            last_sweep = np.searchsorted(sweeps, pos, "left") - 1
            clipped = np.clip(last_sweep, 0, None)
            start |= (last_sweep >= 0) & (sweeps[clipped] >= prev_pos) & (prev_stamp < horizons[clipped])
        start |= ~new_key & ~session & (stamp - prev_stamp > self.gap)
        index = np.arange(n)
        rank = index - np.maximum.accumulate(np.where(start, index, 0))  # within its run of rows
        start |= ~session & (rank % self.longest == 0)
        first_row = np.flatnonzero(start)
        end_row = np.append(first_row[1:], n)[: len(first_row)]
        first, last, last_stamp = pos[first_row], pos[end_row - 1], stamp[end_row - 1]
        never = np.iinfo(np.int64).max
        next_first = np.full(len(first_row), never)
        same = code[first_row[1:]] == code[first_row[:-1]]
        next_first[:-1][same] = first[1:][same]
        # The first sweep at or after a group's last call whose horizon passed that call, if any.
        at = np.maximum(np.searchsorted(sweeps, last, "left"), np.searchsorted(horizons, last_stamp, "right"))
        sweep_pos = np.append(sweeps, never)[at]
        by_sweep = sweep_pos < next_first  # swept before its key's next call arrived
        closed = by_sweep | (next_first < never)
        emit = np.where(by_sweep, sweep_pos, next_first)
        events = [(e, p, f, ("group", a, b)) for e, p, f, a, b in zip(
            emit[closed].tolist(), by_sweep[closed].tolist(), first[closed].tolist(),
            first_row[closed].tolist(), end_row[closed].tolist())]
        events += [(position, 0, 0, ("rejection", r)) for position, r in rejections]
        events.sort(key=lambda event: event[:3])
        rows = order.tolist()
        still = np.sort(order[~np.repeat(closed, end_row - first_row)])
        self.open_keys = [keys[r] for r in still.tolist()]
        self.open_calls = [calls[r] for r in still.tolist()]
        self.open_pos, self.open_stamp = read_pos[still], read_stamp[still]
        return [self._event(payload, keys, calls, rows) for *_, payload in events]

    def _event(self, payload: tuple, keys: list, calls: list[ToolInvocation], rows: list[int]) -> Trajectory | Rejection:
        if payload[0] == "rejection":
            return payload[1]
        _, a, b = payload
        return self.close(keys[rows[a]], [calls[r] for r in rows[a:b]])

    def flush(self) -> list[Trajectory]:
        """The trajectories of the sessions still open after the last batch, in the order they opened."""
        groups: dict[tuple[str, str | None], list[ToolInvocation]] = {}
        for key, call in zip(self.open_keys, self.open_calls):  # one open group per key, in read order
            groups.setdefault(key, []).append(call)
        self.open_keys, self.open_calls = [], []
        self.open_pos, self.open_stamp = np.empty(0, np.int64), np.empty(0)
        return [self.close(key, group) for key, group in groups.items()]
