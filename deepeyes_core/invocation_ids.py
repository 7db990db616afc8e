"""Invocation ids seen in a run, so that a repeated id is rejected rather than taught twice.

**Which ids.** Those of the ToolInvocations a source yields one by one (the ``baseline`` source,
any per-call source): one log record each, whose id is the log's own (or ``file:line`` where it
has none, so a file named twice in ``paths`` shows up as a repeat of every line). Across all files
and sources of a run: the collector keeps one :class:`SeenInvocationIds` for its stream.

Not checked: the calls inside a Trajectory a source yields whole (``anthropic-messages``,
``openai-chat``, ``otel``). Their ids are the provider's call ids, promised unique only within
one conversation (OpenAI-compatible servers number them ``call_0``, ``call_1``... afresh), and
the ``otel`` source already rejects a span id seen twice in a file (``duplicate span``). A
conversation logged twice is rejected by dedup as a duplicate example.

**Memory.** Per id, an 8-byte BLAKE2b digest (a Python int) as key and the first location packed
in an int (file number and line): 120 bytes an id (measured), 120 MB at a million calls, whatever the
ids' length. Two distinct ids share a digest with probability about n²/2⁶⁵ (3e-8 at a million
ids), and the same ids always give the same answer: a run stays reproducible. Time: 0.5 us an id
(the digest), 1.1 us a call with the size check (:mod:`deepeyes_core.limits`), measured on 200,000 calls.
"""

from __future__ import annotations

from hashlib import blake2b

from .records import Location, ToolInvocation

_LINE_BITS = 40


class SeenInvocationIds:
    """The first location of every invocation id seen; ``repeats`` counts the ids seen again."""

    def __init__(self) -> None:
        self._first: dict[int, int | str] = {}
        self._files: list[str] = []
        self._file_numbers: dict[str, int] = {}
        self.repeats = 0

    def first_location(self, invocation: ToolInvocation) -> str | None:
        """None when ``invocation``'s id is new (it is remembered); else where it was first seen."""
        key = int.from_bytes(blake2b(invocation.invocation_id.encode(), digest_size=8).digest(), "little")
        first = self._first.get(key)
        if first is None:
            self._first[key] = self._pack(invocation.location)
            return None
        self.repeats += 1
        return self._unpack(first)

    def _pack(self, location: Location | None) -> int | str:
        if location is None:
            return "an earlier record without a location"
        if location.span_id is not None or location.line is None or location.line >= 1 << _LINE_BITS:
            return str(location)
        number = self._file_numbers.get(location.file)
        if number is None:
            number = self._file_numbers[location.file] = len(self._files)
            self._files.append(location.file)
        return number << _LINE_BITS | location.line

    def _unpack(self, packed: int | str) -> str:
        if isinstance(packed, str):
            return packed
        return str(Location(self._files[packed >> _LINE_BITS], packed & ((1 << _LINE_BITS) - 1)))
