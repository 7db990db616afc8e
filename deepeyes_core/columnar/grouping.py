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
sweep that finds it stale, else where its key's next group starts, else it stays open: carried to
the next chunk as one summary (its calls, first and last position, last stamp, and the rank of its
last call in its run, which the ``max_trajectory_length`` rule counts on from).
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


class SessionGrouper:
    """Trajectories and rejections, in the row path's order, from batches of a source's items.

    ``close(key, calls)`` makes the Trajectory of a closed group (the collector's own ``_close``);
    ``counts`` and ``tool_calls`` are the collector's, filled as its ``iter_trajectories`` fills them;
    ``declare`` takes the tool definitions a source declares (the collector's catalogue's).
    Per batch, :meth:`batch` gives the events that batch closes; :meth:`flush`, after the last
    batch, those of the sessions still open. Batches must come in read order, one grouper per run:
    a session may straddle batches.
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
        self.never = np.iinfo(np.int64).max
        self._forget()
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
        frame = batch.frame
        indices = frame["item"].to_list()
        calls: list[ToolInvocation] = [batch.items[index] for index in indices]
        firsts = self.ids.first_locations(calls)
        if firsts.count(None) < len(firsts):  # some ids were read before
            keep: list[int] = []
            for row, (index, item, first) in enumerate(zip(indices, calls, firsts)):
                if first is None:
                    keep.append(row)
                    continue
                counts["duplicate_invocation_ids"] += 1
                detail = f"invocation id {item.invocation_id!r} was first read at {first}"
                locations = (item.location,) if item.location is not None else ()
                rejections.append((start + index + 1, Rejection("duplicate invocation id", detail, locations, stage="collect")))
            kept = frame[keep]
            calls = [calls[row] for row in keep]
        else:
            kept = frame
        keys = list(zip(kept["agent"].to_list(), kept["session"].to_list()))
        if frame.height < len(batch.items):  # rejections or tool definitions among the items
            for index, item in enumerate(batch.items):
                if type(item) is Rejection:
                    counts["records_read"] += item.records
                    rejections.append((start + index + 1, item))
                elif type(item) is ToolSpec:  # a declared definition: a place in the stream, no call
                    self.declare(item)
        counts["records_read"] += frame.height
        counts["invocations"] += kept.height
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
        m, n = len(self.open_keys), len(keys)
        codes = {key: i for i, key in enumerate(self.open_keys)}  # open sessions first: code = its index
        code = np.fromiter((codes.setdefault(key, len(codes)) for key in keys), np.int64, n)
        all_keys = list(codes)
        session = np.fromiter((key[1] is not None for key in all_keys), bool, len(all_keys))
        order = np.argsort(code, kind="stable")  # this chunk's calls by key, each key's in read order
        code, pos, stamp = code[order], pos[order], stamp[order]
        no_session = ~session[code]
        head = np.ones(n, bool)  # a key's first call in this chunk
        head[1:] = code[1:] != code[:-1]
        carried = head & (code < m)  # ... whose key has an open session (carried from earlier chunks)
        held = np.flatnonzero(carried)
        prev_pos, prev_stamp = np.roll(pos, 1), np.roll(stamp, 1)
        prev_pos[held], prev_stamp[held] = self.open_last[code[held]], self.open_stamp[code[held]]
        has_prev = ~head | carried
        start = ~has_prev
        if len(sweeps):
            last_sweep = np.searchsorted(sweeps, pos, "left") - 1
            clipped = np.clip(last_sweep, 0, None)
            start |= has_prev & (last_sweep >= 0) & (sweeps[clipped] >= prev_pos) & (prev_stamp < horizons[clipped])
        start |= has_prev & no_session & (stamp - prev_stamp > self.gap)
        index = np.arange(n)
        anchor = np.maximum.accumulate(np.where(start | head, index, 0))  # where each call's run starts
        goes_on = carried & ~start  # a carried session's run goes on into this chunk
        rank_of = np.zeros(len(all_keys), np.int64)  # per key: its carried session's last rank, first call
        first_of = np.zeros(len(all_keys), np.int64)
        rank_of[:m], first_of[:m] = self.open_rank, self.open_first
        rank = index - anchor + np.where(goes_on[anchor], rank_of[code[anchor]] + 1, 0)
        start |= no_session & (rank % self.longest == 0)
        # Groups: each carried session, then each run of this chunk's calls that starts a group.
        piece = np.flatnonzero(start | head)
        piece_end = np.append(piece[1:], n)[: len(piece)]
        piece_code = code[piece]
        joins = goes_on[piece] & ~start[piece]  # the piece is the rest of its carried session
        old = np.arange(m)
        old_continued = np.zeros(m, bool)
        old_continued[piece_code[joins]] = True
        old_next = np.full(m, self.never)  # the carried session's key's first call here, if it starts a group
        starts_key = head[piece] & (piece_code < m) & ~joins
        old_next[piece_code[starts_key]] = pos[piece[starts_key]]
        ended = ~old_continued  # carried sessions that get no call of this chunk
        next_first = np.full(len(piece), self.never)
        same = piece_code[1:] == piece_code[:-1]
        next_first[:-1][same] = pos[piece[1:]][same]
        first = np.where(joins, first_of[piece_code], pos[piece])
        group_first = np.concatenate([self.open_first[ended], first])
        group_last = np.concatenate([self.open_last[ended], pos[piece_end - 1]])
        group_stamp = np.concatenate([self.open_stamp[ended], stamp[piece_end - 1]])
        group_next = np.concatenate([old_next[ended], next_first])
        group_rank = np.concatenate([self.open_rank[ended], rank[piece_end - 1]])
        # The first sweep at or after a group's last call whose horizon passed that call, if any.
        at = np.maximum(np.searchsorted(sweeps, group_last, "left"), np.searchsorted(horizons, group_stamp, "right"))
        sweep_pos = np.append(sweeps, self.never)[at]
        by_sweep = sweep_pos < group_next  # swept before its key's next call arrived
        closed = by_sweep | (group_next < self.never)
        emit = np.where(by_sweep, sweep_pos, group_next)
        rows = order.tolist()
        old_calls = self.open_calls
        groups: list[tuple[tuple[str, str | None], list[ToolInvocation]]] = [
            (all_keys[k], old_calls[k]) for k in old[ended].tolist()]
        for k, a, b, joined in zip(piece_code.tolist(), piece.tolist(), piece_end.tolist(), joins.tolist()):
            made = [calls[r] for r in rows[a:b]]
            if joined:
                old_calls[k].extend(made)
                made = old_calls[k]
            groups.append((all_keys[k], made))
        events = [(e, p, f, g) for e, p, f, g, c in zip(
            emit.tolist(), by_sweep.tolist(), group_first.tolist(), range(len(groups)), closed.tolist()) if c]
        events += [(position, 0, 0, r) for position, r in rejections]
        events.sort(key=lambda event: event[:3])
        still = np.flatnonzero(~closed)
        still = still[np.argsort(group_first[still], kind="stable")]  # in the order they opened
        self.open_keys = [groups[g][0] for g in still.tolist()]
        self.open_calls = [groups[g][1] for g in still.tolist()]
        self.open_first, self.open_last = group_first[still], group_last[still]
        self.open_stamp, self.open_rank = group_stamp[still], group_rank[still]
        return [self.close(*groups[g]) if type(g) is int else g for *_, g in events]

    def flush(self) -> list[Trajectory]:
        """The trajectories of the sessions still open after the last batch, in the order they opened."""
        events = [self.close(key, calls) for key, calls in zip(self.open_keys, self.open_calls)]
        self._forget()
        return events

    def _forget(self) -> None:
        """No session open: per open session, its key, calls, first and last call's position, last
        call's stamp and the rank of its last call in its run (``max_trajectory_length`` counts)."""
        self.open_keys: list[tuple[str, str | None]] = []
        self.open_calls: list[list[ToolInvocation]] = []
        self.open_first, self.open_last = np.empty(0, np.int64), np.empty(0, np.int64)
        self.open_stamp, self.open_rank = np.empty(0), np.empty(0, np.int64)
