"""Consistency of redaction within a trajectory: a value redacted anywhere is redacted everywhere.

A password redacted under its ``password`` key, or found by a detector that needs context
(``--password x``, ``postgres://u:x@h``, ``Bearer x``), can come back elsewhere without that
context: a tool's result that echoes it (``{"echo": "x"}``), an error, the user's request.
:class:`Redactor.redact <deepeyes_core.redaction.Redactor>` collects every value it redacted in a
trajectory and then replaces each occurrence of those values in every string of the trajectory
(each invocation's parameters, result and error, and the user request), counted under the kind
the value was first redacted as.

A value must have :data:`MIN_LENGTH` characters or more (a one-letter password would otherwise
take every "a" of the trajectory with it); one shorter than :data:`ANYWHERE_LENGTH` is replaced
only where it stands as a token of its own (not next to a letter or digit: ``1234`` is not taken
out of ``order 12345``), a longer one wherever it occurs. Text already replaced is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

#: Shortest value spread through the trajectory.
MIN_LENGTH = 4
#: Shortest value replaced inside a longer token too.
ANYWHERE_LENGTH = 8


def worth_spreading(value: str) -> bool:
    return len(value.strip()) >= MIN_LENGTH


class Spreader:
    """Replaces the given secret values in every string of a JSON-like value."""

    def __init__(self, values: dict[str, str], marker_re: re.Pattern[str], marker: Callable[[str], str],
                 counts: dict[str, int]):
        #: value -> kind, longest first (so that a value containing another wins).
        self.values = dict(sorted(values.items(), key=lambda item: -len(item[0])))
        self.counts = counts
        self.marker = marker
        alternatives = [
            re.escape(v) if len(v) >= ANYWHERE_LENGTH else rf"(?<![A-Za-z0-9]){re.escape(v)}(?![A-Za-z0-9])"
            for v in self.values
        ]
        # Markers first: a marker is consumed whole, so nothing inside one is replaced. Group 1 is
        # the marker (its pattern has no group of its own), group 2 + i the i-th value.
        self.finder = re.compile(f"((?:{marker_re.pattern}))|" + "|".join(f"({a})" for a in alternatives))
        self.kinds = list(self.values.values())

    def text(self, text: str) -> str:
        if not any(v in text for v in self.values):
            return text

        def replace(match: re.Match[str]) -> str:
            if match.group(1) is not None:
                return match.group(0)
            kind = self.kinds[match.lastindex - 2]
            self.counts[kind] = self.counts.get(kind, 0) + 1
            return self.marker(kind)

        out = self.finder.sub(replace, text)
        return text if out == text else out

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            out = None
            for key, item in value.items():
                new = self.value(item)
                if new is not item:
                    if out is None:
                        out = dict(value)
                    out[key] = new
            return value if out is None else out
        if isinstance(value, (list, tuple)):
            items = [self.value(item) for item in value]
            if all(new is old for new, old in zip(items, value)):
                return value
            return items if isinstance(value, list) else tuple(items)
        return value
