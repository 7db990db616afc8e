"""The rules and detectors of redaction: one regular expression with what it needs to match at
all (:class:`Rule`), and the spans of one kind of secret a group of rules finds (:class:`Detector`).
What each kind is, is in the docstring of :mod:`deepeyes_core.redaction`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

import attrs

from . import redaction_prefilter as prefilter
from .redaction_prefilter import Literal

_TOKEN_LEFT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_TOKEN_RIGHT = _TOKEN_LEFT | frozenset("+/=")
_DELIMITERS = frozenset(" \t\r\n\"'=:")


@attrs.frozen(eq=False)
class Rule:
    """One regular expression of one detector, with what it needs to match at all."""

    regex: re.Pattern[str]
    #: Which group is the secret; None: what ``findall`` returns (the match, or each group).
    group: int | None = None
    #: A cheap test every string the regex matches in passes, run before the regex where the
    #: pattern has no selective literal (a phone number, an AWS secret key).
    cheap_gate: Callable[[str], bool] | None = None
    needs: tuple[frozenset[Literal], ...] = attrs.field(init=False)
    #: Where a match can begin, for case-insensitive patterns that begin with literals.
    starts: frozenset[str] | None = attrs.field(init=False)

    #: The shortest string it can match (shorter strings are skipped).
    min_width: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        # Most selective first, so that a string that lacks one fails early.
        needs = sorted(prefilter.needs(self.regex), key=prefilter.strength, reverse=True)
        object.__setattr__(self, "needs", tuple(needs))
        object.__setattr__(self, "min_width", prefilter.min_width(self.regex))
        object.__setattr__(self, "starts", prefilter.start_literals(self.regex))

    def gate(self) -> frozenset[Literal] | None:
        """The most selective set of literals it needs, or None when none is selective."""
        best = [n for n in self.needs if prefilter.selective(n)]
        return max(best, key=prefilter.strength) if best else None

    def could_match(self, text: str, low: str) -> bool:
        if len(text) < self.min_width:
            return False
        for need in self.needs:
            if not prefilter.present(need, text, low):
                return False
        if self.cheap_gate is not None and not self.cheap_gate(text):
            return False
        return self.regex.search(text) is not None

    def matches(self, text: str, low: str) -> Iterator[re.Match[str]]:
        if len(text) < self.min_width or not all(prefilter.present(n, text, low) for n in self.needs):
            return
        if self.starts is None or len(low) != len(text):
            yield from self.regex.finditer(text)
            return
        positions = sorted({i for t in self.starts for i in prefilter.find_all(low, t)})
        end = 0
        for pos in positions:  # finditer's non-overlapping leftmost matches, tried where they can be
            if pos < end:
                continue
            match = self.regex.match(text, pos)
            if match is not None:
                yield match
                end = max(match.end(), pos + 1)



# -- detectors ---------------------------------------------------------------------------------


def group_spans(match: re.Match[str], group: int | None) -> Iterator[tuple[int, int]]:
    """The spans ``findall`` would return for a match: the whole match, or each non-empty group."""
    if group is not None:  # 0: the whole match
        if match.group(group):
            yield match.span(group)
    elif match.re.groups == 0:
        yield match.span()
    else:
        for index in range(1, match.re.groups + 1):
            if match.group(index):
                yield match.span(index)


def widen(text: str, start: int, end: int) -> tuple[int, int]:
    """The span grown to the whole token around it. detect-secrets' patterns are written to
    *detect*: some yield a part of the token (``GitHubTokenDetector`` yields ``ghp``, the JWT
    pattern stops before the signature, Artifactory's include the delimiters); redaction must
    cover the token, and only it."""
    while start < end and text[start] in _DELIMITERS:
        start += 1
    while end > start and text[end - 1] in _DELIMITERS:
        end -= 1
    while start > 0 and text[start - 1] in _TOKEN_LEFT:
        start -= 1
    size = len(text)
    while end < size and (
        text[end] in _TOKEN_RIGHT or (text[end] == "." and end + 1 < size and text[end + 1] in _TOKEN_RIGHT)
    ):
        end += 1
    return start, end


@attrs.frozen
class Detector:
    """Finds the spans of one kind of secret in a string."""

    kind: str
    rules: tuple[Rule, ...]
    #: ``keep(text, start, end)``: False drops a found span (detect-secrets' verdict, its filters).
    keep: Callable[[str, int, int], bool] | None = None
    #: Grow each span to the whole token around it (see _widen).
    widen: bool = False
    #: Any hit redacts the whole string.
    whole: bool = False

    def spans(self, text: str, low: str, candidates: set[Rule]) -> Iterator[tuple[int, int]]:
        for rule in self.rules:
            if rule not in candidates:
                continue
            for match in rule.matches(text, low):
                for start, end in group_spans(match, rule.group):
                    if self.keep is None or self.keep(text, start, end):
                        if self.whole:
                            yield 0, len(text)
                            return
                        yield widen(text, start, end) if self.widen else (start, end)


def merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if start == end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out
