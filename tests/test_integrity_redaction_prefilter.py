"""The redaction pre-filter (deepeyes_core.redaction_prefilter): the literals it derives with
CPython's private regex parser are really required, and without that parser redaction still works,
every pattern searched directly, with the same output."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from deepeyes_core import redaction_prefilter as prefilter
from deepeyes_core.redaction import Redactor
from deepeyes_core.redaction_patterns import ANTHROPIC, BEARER, EMAIL, PEM_BLOCK

from .redaction_corpus import rows
from .test_integrity_redaction import CLEAN, PLANTED

NEGATIVES = [json.loads(line)["text"] for line in (Path(__file__).parent / "data" / "redaction_negatives.jsonl").open()]
TEXTS = [text for _, text, _ in rows()] + [text for text, _, _ in PLANTED] + CLEAN + NEGATIVES


def test_the_parser_is_there_on_this_python():
    assert prefilter.AVAILABLE  # 3.11+: re._parser, re._constants


def test_literals_of_known_patterns():
    assert frozenset({("sk-ant-", False)}) in prefilter.needs(ANTHROPIC)
    assert frozenset({("bearer", True)}) in prefilter.needs(BEARER)
    assert frozenset({("@", False)}) in prefilter.needs(EMAIL)
    assert any(("-----begin ", False) in need or any("PRIVATE KEY" in t for t, _ in need)
               for need in prefilter.needs(PEM_BLOCK))
    assert frozenset({("AKIA", False), ("ASIA", False)}) in prefilter.needs(re.compile(r"A(?:KIA|SIA)[0-9]{4}"))
    assert prefilter.needs(re.compile(r"api_?key=x")) == (frozenset({("api_key=x", False), ("apikey=x", False)}),)
    assert prefilter.needs(re.compile(r"[0-9]+")) == ()
    assert prefilter.start_literals(re.compile(r"(?i:token|secret)=\w+", re.I)) == frozenset({"token", "secret"})
    assert prefilter.start_literals(re.compile(r"token=\w+")) is None  # case-sensitive: not used
    assert prefilter.min_width(re.compile(r"sk-[a-z]{20,}")) == 23


def test_trie_regex_finds_every_literal():
    literals = {"akia", "aws", "api_key", "bearer", "@", "sk-ant-"}
    gate = prefilter.trie_regex(prefilter.minimal(literals))
    for literal in literals:
        assert gate.search(f"xx {literal} yy")
    assert gate.search("nothing to see here") is None
    assert prefilter.minimal({"sk-", "sk-ant-", "@"}) == {"sk-", "@"}


_REDACTOR = Redactor()
_RULES = [rule for detector in _REDACTOR._detectors for rule in detector.rules]


def test_derived_literals_are_in_every_real_match():
    """Every match of every pattern the redactor uses, in every string of the corpora, contains
    a literal of each set the pre-filter derived (the hypothesis test of test_integrity_redaction
    checks the same on generated matches)."""
    checked = 0
    for rule in _RULES:
        for text in TEXTS:
            low = text.casefold()
            if rule.regex.search(text) is None:
                continue
            checked += 1
            assert len(text) >= rule.min_width, rule.regex.pattern
            for need in rule.needs:
                assert prefilter.present(need, text, low), (rule.regex.pattern, need, text)
            assert rule in _REDACTOR._candidates(text, low), (rule.regex.pattern, text)
    assert checked >= 300


@pytest.fixture
def without_parser(monkeypatch):
    """deepeyes_core.redaction_prefilter as imported on a Python without re._parser/re._constants."""
    for name in ("_parser", "_constants"):
        monkeypatch.delattr(re, name)
        monkeypatch.setitem(__import__("sys").modules, f"re.{name}", None)
    try:
        importlib.reload(prefilter)
        yield prefilter
    finally:
        monkeypatch.undo()
        importlib.reload(prefilter)
        assert prefilter.AVAILABLE


def test_without_the_private_parser_every_pattern_runs_ungated_with_the_same_output(without_parser):
    assert not without_parser.AVAILABLE
    assert without_parser.needs(ANTHROPIC) == () and without_parser.min_width(ANTHROPIC) == 0
    fallback = Redactor()
    rules = [rule for detector in fallback._detectors for rule in detector.rules]
    assert all(rule.needs == () and rule.min_width == 0 and rule.starts is None for rule in rules)
    assert len(fallback._ungated) == len(rules) and fallback._gate_ci is None
    for text in TEXTS:  # _REDACTOR was built with the parser
        assert fallback.redact_text(text) == _REDACTOR.redact_text(text), text
