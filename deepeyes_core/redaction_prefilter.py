"""The pre-filter of redaction: the literals a match of a regular expression must contain.

Redaction runs on every string of every kept trajectory, and nearly none holds a secret. So each
detector's regular expression is analysed once for the literals any match must contain ("akia",
"bearer", "@", "password"...); a string that contains none of a pattern's literals is never
searched with it. :func:`needs` gives those literals, :func:`min_width` the shortest match,
:func:`start_literals` the literals a case-insensitive match begins with (the pattern is then
tried only at their positions), :func:`trie_regex` one regex finding any of many literals.

Decision: the analysis uses CPython's own regex parser, ``re._parser`` and ``re._constants``
(private, 3.11+). Declaring each rule's literals by hand beside its pattern was considered and not
chosen: most patterns are not ours but detect-secrets' (``plugin.denylist``, ~40 of them, new ones
arriving with new releases), and literals written by hand drift from the pattern silently, which
here means a secret that is never searched for. The parser's output is pinned by tests instead:
``tests/test_integrity_redaction.py`` generates matches of *every* pattern the redactor uses with
hypothesis' ``from_regex`` and checks the pre-filter lets each one through, and checks the
literals derived for a few known patterns. What the analysis relies on is small: the parse tree's
opcodes ``LITERAL``, ``IN``, ``SUBPATTERN``, ``BRANCH``, ``MAX_REPEAT``/``MIN_REPEAT``/
``POSSESSIVE_REPEAT``, ``ATOMIC_GROUP`` and ``SubPattern.getwidth()``; any other opcode ends a
literal run (it can only make the literals found fewer, never wrong).

Fallback: when the private modules cannot be imported (:data:`AVAILABLE` is False) or a pattern
cannot be parsed, :func:`needs` returns no literals, :func:`min_width` 0 and
:func:`start_literals` None: every pattern is then searched directly on every string. Slower, the
same output (a test monkeypatches the import away and checks it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

try:  # Python's own regex parser (3.11+), see the module docstring
    from re import _constants as _sre
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - a Python that moves them: tested by monkeypatching
    _sre = _sre_parse = None

#: Whether the regex parser is there (False: every pattern is searched directly).
AVAILABLE = _sre_parse is not None

_MAX_VARIANTS = 32

#: A literal a match must contain: its text (casefolded when matched case-insensitively) and
#: whether it is matched case-insensitively.
Literal = tuple[str, bool]


def _parse(pattern: re.Pattern[str]) -> Any:
    """The parse tree of a pattern, or None when the parser is missing or fails on it."""
    if _sre_parse is None:
        return None
    try:
        return _sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:  # pragma: no cover - defensive: an exotic pattern runs ungated
        return None


def needs(pattern: re.Pattern[str]) -> tuple[frozenset[Literal], ...]:
    """Sets of literals such that every match contains at least one literal of *each* set.
    Empty when nothing is known (the pattern then runs ungated)."""
    parsed = _parse(pattern)
    if parsed is None:
        return ()
    return tuple(_needs_of(list(parsed), bool(pattern.flags & re.IGNORECASE)))


def min_width(pattern: re.Pattern[str]) -> int:
    """The length of the shortest string the pattern matches (0 when unknown)."""
    parsed = _parse(pattern)
    return 0 if parsed is None else parsed.getwidth()[0]


def start_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """For a case-insensitive pattern whose every match begins with one of some literals: those
    literals, casefolded; else None."""
    if not pattern.flags & re.IGNORECASE:
        return None
    parsed = _parse(pattern)
    if parsed is None:
        return None
    lead = _leading(list(parsed), True)
    if lead and all(ci and t for t, ci in lead):
        return frozenset(t for t, _ in lead)
    return None


def _lit(char: int, ci: bool) -> Literal:
    return (chr(char).casefold(), True) if ci else (chr(char), False)


def _join(run: list[Literal]) -> Literal:
    ci = any(c for _, c in run)
    return "".join(t.casefold() if ci else t for t, _ in run), ci


def _leading(items: list, ci: bool) -> frozenset[Literal] | None:
    """The literals a match of this sequence begins with, or None if it may begin otherwise."""
    run: list[Literal] = []
    for op, av in items:
        if op is _sre.LITERAL:
            run.append(_lit(av, ci))
            continue
        if not run and op is _sre.SUBPATTERN:
            return _leading(list(av[3]), _ci(av, ci))
        if not run and op is _sre.BRANCH:
            alternatives = [_leading(list(alt), ci) for alt in av[1]]
            return None if any(a is None for a in alternatives) else frozenset().union(*alternatives)
        break
    return frozenset([_join(run)]) if run else None


def _ci(subpattern: tuple, ci: bool) -> bool:
    _, add, remove, _ = subpattern
    return True if add & re.IGNORECASE else False if remove & re.IGNORECASE else ci


def _chars(op: Any, av: Any) -> list[int] | None:
    """The characters a one-character item matches, when it is a literal or a class of literals."""
    if op is _sre.LITERAL:
        return [av]
    if op is _sre.IN and av and all(o is _sre.LITERAL for o, _ in av):
        return [v for _, v in av]
    return None


def _needs_of(items: list, ci: bool) -> list[frozenset[Literal]]:
    needs: list[frozenset[Literal]] = []
    variants: set[str] = set()  # the literal run so far, in each of its spellings ("api_?key")
    run_ci = False

    def flush() -> None:
        nonlocal variants, run_ci
        if variants:
            needs.append(frozenset((v.casefold(), True) if run_ci else (v, False) for v in variants))
        variants, run_ci = set(), False

    for op, av in items:
        chars = _chars(op, av)
        if chars is None and op is _sre.MAX_REPEAT and av[:2] == (0, 1) and len(av[2]) == 1 and variants:
            optional = _chars(*av[2][0])
            grown = variants | {v + chr(c) for v in variants for c in optional} if optional else set()
            if optional and len(grown) <= _MAX_VARIANTS:
                variants, run_ci = grown, run_ci or ci
                continue
        if chars is not None:
            grown = {v + chr(c) for v in (variants or {""}) for c in chars}
            if len(grown) <= _MAX_VARIANTS:
                variants, run_ci = grown, run_ci or ci
                continue
            flush()
            needs.append(frozenset(_lit(c, ci) for c in chars))
            continue
        if variants and op is _sre.BRANCH:  # "A(?:KIA|SIA)": the run joined to each branch's start
            starts = [_leading(list(alt), ci) for alt in av[1]]
            if all(starts) and len(variants) * sum(map(len, starts)) <= _MAX_VARIANTS:
                both = run_ci or any(c for start in starts for _, c in start)
                needs.append(frozenset(
                    ((v + t).casefold(), True) if both else (v + t, False)
                    for v in variants for start in starts for t, _ in start
                ))
        flush()
        if op is _sre.SUBPATTERN:
            needs.extend(_needs_of(list(av[3]), _ci(av, ci)))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)) and av[0] >= 1:
            needs.extend(_needs_of(list(av[2]), ci))
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            needs.extend(_needs_of(list(av), ci))
        elif op is _sre.BRANCH:
            best = []
            for alternative in av[1]:
                sub = _needs_of(list(alternative), ci)
                if not sub:
                    break
                best.append(max(sub, key=strength))
            else:
                needs.append(frozenset().union(*best))
    flush()
    return needs


def strength(literals: frozenset[Literal]) -> int:
    return min(len(text) for text, _ in literals)


def selective(literals: frozenset[Literal]) -> bool:
    """Rare enough to gate on: three characters or more (two when case-sensitive), or an '@'."""
    return all(len(t) >= 3 or (not ci and len(t) >= 2) or "@" in t for t, ci in literals)


def present(literals: frozenset[Literal], text: str, low: str) -> bool:
    for literal, ci in literals:
        if literal in (low if ci else text):
            return True
    return False



def minimal(literals: set[str]) -> set[str]:
    """Drop each literal that contains another: finding the shorter one is enough to pass."""
    return {t for t in literals if not any(o != t and o in t for o in literals)}


def trie_regex(literals: Iterable[str]) -> re.Pattern[str] | None:
    """One regex finding any of the literals, written as a trie (``a(?:kia|pi|ws)|...``): Python's
    regex engine tries alternatives one by one, so shared prefixes make it several times faster
    than a flat alternation."""
    trie: dict[str, dict] = {}
    for literal in literals:
        node = trie
        for char in literal:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches or "" in node:  # a literal ends here: finding it is enough
            return ""
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return re.compile(emit(trie)) if trie else None


def find_all(text: str, literal: str) -> Iterator[int]:
    index = text.find(literal)
    while index >= 0:
        yield index
        index = text.find(literal, index + 1)
