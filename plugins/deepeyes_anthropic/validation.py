"""Checks on Claude's answers: a plain-English task that names every argument value, no call syntax."""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from deepeyes_core import Trajectory

_STOPWORDS = frozenset(
    "a an the to and or of for with in on at by from into then than that this these those it its is are be "
    "was were will would can could should please me my i we our you your all each every after before as "
    "using use get find show give make set send run check list create update delete fetch look up".split()
)
_CALL_SYNTAX = re.compile(r"[A-Za-z_][\w.\-]*\(|\{\s*\"|```")
_LABEL = re.compile(r"^\s*(?:task|request|user request|user)\s*:\s*", re.IGNORECASE)


def clean_answer(text: str) -> str:
    text = _LABEL.sub("", text.strip()).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”":
        text = text[1:-1].strip()
    elif text.startswith("“") and text.endswith("”"):
        text = text[1:-1].strip()
    return text


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


@attrs.frozen
class ValidationRules:
    max_chars: int = 1500
    max_value_chars: int = 200
    check_language: bool = True
    min_ascii_letter_share: float = 0.9

    def problem(self, text: str, trajectory: Trajectory) -> str | None:
        """Why ``text`` is not an acceptable task for ``trajectory``; None when it is."""
        if not text.strip():
            return "empty answer"
        if len(text) > self.max_chars:
            return f"too long ({len(text)} characters, at most {self.max_chars})"
        squashed = _squash(text)
        missing, rest = [], squashed
        for leaf in (leaf for inv in trajectory.invocations for leaf in _leaves(inv.parameters)):
            if isinstance(leaf, bool) or leaf is None:
                continue
            if isinstance(leaf, str):
                needle = _squash(leaf)
                if not needle or len(leaf) > self.max_value_chars:
                    continue
                if needle not in squashed:
                    missing.append(leaf)
                rest = rest.replace(needle, " ")
            elif isinstance(leaf, (int, float)):
                forms = {repr(leaf), str(leaf)}
                if isinstance(leaf, int) or float(leaf).is_integer():
                    forms |= {str(int(leaf)), f"{int(leaf):,}"}
                else:
                    forms |= {f"{leaf:g}", f"{leaf:,}"}
                pattern = re.compile(r"(?<![\d.])(?:" + "|".join(re.escape(f) for f in forms) + r")(?![\d])")
                if not pattern.search(squashed):
                    missing.append(leaf)
                rest = pattern.sub(" ", rest)
        if missing:
            shown = ", ".join(json.dumps(v, ensure_ascii=False)[:60] for v in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            return f"does not name the argument value(s) {shown}{more}"
        syntax = _CALL_SYNTAX.search(rest)
        if syntax:
            return f"contains call syntax {syntax.group(0)!r}"
        if self.check_language:
            letters = [c for c in rest if c.isalpha()]
            if not letters:
                return "no words besides the argument values"
            share = sum(c.isascii() for c in letters) / len(letters)
            if share < self.min_ascii_letter_share:
                return f"not English ({share:.0%} of the letters are ASCII)"
            if not any(word in _STOPWORDS for word in re.findall(r"[a-z]+", rest)):
                return "not English (no common English word)"
        return None

