"""The duplicate-invocation-id check over a batch's id column (the columnar engine's
:class:`~deepeyes_core.invocation_ids.SeenInvocationIds`).

The same decisions as the row path's: an id is the 8-byte BLAKE2b digest of its text (so two ids
sharing a digest are one id in both engines alike), and a repeat is told where the id was first
read. The digests seen are kept in sorted numpy runs beside each one's packed first location,
16 bytes an id where the row path's dict takes about 120; a run is merged into the one before it
once it is as large, so a lookup searches a few runs (log of the ids seen).
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import blake2b

import numpy as np

from ..invocation_ids import _LINE_BITS, SeenInvocationIds
from ..records import Location, ToolInvocation

_LINE_LIMIT = 1 << _LINE_BITS


class SeenIdRuns:
    """The first location of every invocation id seen, asked a batch at a time."""

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted digests, packed locations)
        self._places = SeenInvocationIds()  # packs and unpacks locations as the row path does
        self._odd: list[str] = []  # locations that do not pack into an integer, said in words

    def first_locations(self, calls: Sequence[ToolInvocation]) -> list[str | None]:
        """Per call, in order: None when its id is new (it is remembered), else where it was first
        read (an earlier batch, or earlier in this one)."""
        n = len(calls)
        if n == 0:
            return []
        digests = np.frombuffer(
            b"".join([blake2b(c.invocation_id.encode(), digest_size=8).digest() for c in calls]), "<u8")
        order = np.argsort(digests, kind="stable")
        ordered = digests[order]
        first_here = np.ones(n, bool)
        first_here[1:] = ordered[1:] != ordered[:-1]
        # Each call's first occurrence in this batch, by index into ``calls``.
        earliest = order[np.maximum.accumulate(np.where(first_here, np.arange(n), 0))]
        firsts = np.empty(n, np.int64)
        firsts[order] = earliest
        before = np.full(n, -1, np.int64)  # index into a run's locations, per call; -1: not seen before
        before_run = np.zeros(n, np.int64)
        for number, (seen, _) in enumerate(self._runs):
            at = np.minimum(np.searchsorted(seen, digests), len(seen) - 1)
            hit = seen[at] == digests
            before[hit], before_run[hit] = at[hit], number
        new = (firsts == np.arange(n)) & (before < 0)
        fresh = np.flatnonzero(new).tolist()
        packed = self._pack_all([calls[i].location for i in fresh])
        answers: list[str | None] = [None] * n
        repeats = np.flatnonzero(~new).tolist()
        if repeats:
            place = dict(zip(fresh, packed))
            for i in repeats:
                at = int(before[i])
                answers[i] = self._unpack(
                    int(self._runs[int(before_run[i])][1][at]) if at >= 0 else place[int(firsts[i])])
        if packed:
            self._add(digests[new], np.array(packed, np.int64))
        return answers

    def _add(self, digests: np.ndarray, packed: np.ndarray) -> None:
        order = np.argsort(digests)
        run = (digests[order], packed[order])
        while self._runs and len(self._runs[-1][0]) <= len(run[0]):
            seen, places = self._runs.pop()
            both = np.concatenate([seen, run[0]])
            order = np.argsort(both, kind="stable")
            run = (both[order], np.concatenate([places, run[1]])[order])
        self._runs.append(run)

    def _pack_all(self, locations: list[Location | None]) -> list[int]:
        """Each location packed as the row path packs it (file number and line), or, where it does
        not pack into an integer, as the negative index of its words in ``_odd``."""
        numbers = self._places._file_numbers
        packed = []
        for location in locations:
            if location is not None and location.span_id is None and location.line is not None:
                number = numbers.get(location.file)
                if number is not None and location.line < _LINE_LIMIT:
                    packed.append(number << _LINE_BITS | location.line)
                    continue
            value = self._places._pack(location)  # a new file, or a location in words
            if isinstance(value, str):
                self._odd.append(value)
                value = -len(self._odd)
            packed.append(value)
        return packed

    def _unpack(self, packed: int) -> str:
        return self._odd[-packed - 1] if packed < 0 else self._places._unpack(packed)
