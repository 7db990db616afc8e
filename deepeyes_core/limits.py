"""Limits on input values: what a record may hold to be read, and what a trajectory may weigh to be taught.

**Read limits, per record** (:func:`check_line`, :func:`check_value`). A record whose JSON nests
deeper than :data:`MAX_DEPTH` levels (the record itself is level 1), or that holds an integer
outside the 64-bit range, cannot be read: it is rejected at read time, alone, with reason ``too
deeply nested`` or ``integer out of range`` and the field's path. Its neighbours (the other calls
of its session) are read as usual, as they are beside a line that is not JSON: a record that
cannot be read costs only itself. Why these two: every later step recurses into values (redaction,
dedup, the exporters' JSON encoder: orjson stops at 255 levels, Python at its recursion limit),
and orjson, which writes every export, writes no integer beyond 64 bits (and orjson's reader turns
one into a float silently). Enforced at read, nothing downstream meets a value it cannot handle.

Checking costs one ``bytes.translate`` per line (0.3 us on a 300-byte line): only a line with more
than :data:`MAX_DEPTH` opening brackets, or a run of 20 digits, can break a limit, and only such a
line is parsed again exactly (msgspec: integers exact) and walked.

**Size limits, per trajectory** (:func:`oversized`). A value may be read, yet too large to teach:
a parameter value or a result over :data:`MAX_VALUE_CHARS` characters, or calls (arguments and
results) over :data:`MAX_CALLS_BYTES` bytes of JSON in all. Such a call rejects its whole
trajectory (reason ``too large``, the sizes in the detail), never the call alone: a trajectory is
never taught with a call missing. The collector checks this after the length and quality filters,
before redaction and description (a paid describer never sees it).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import orjson

from .errors import RecordRejected

#: Deepest nesting of a record's JSON (the record's own object is level 1).
MAX_DEPTH = 100
#: Longest parameter value or result, in characters (a string's length; else its JSON text's).
MAX_VALUE_CHARS = 100_000
#: Most JSON bytes of a trajectory's calls: every call's arguments and result, serialized.
MAX_CALLS_BYTES = 1_000_000

_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what orjson writes (int64 and uint64)
_TRANSLATION = bytes.maketrans(b"0123456789[", b"0000000000{")
_DIGIT_RUN = b"0" * 20  # the shortest positive integer literal beyond 64 bits has 20 digits
_NEGATIVE_RUN = b"-" + b"0" * 19  # a negative one 19 (-9223372036854775809)
_decode = msgspec.json.Decoder().decode
_encode_any = json.JSONEncoder(ensure_ascii=False, default=str).encode


def too_deep(limit: int = MAX_DEPTH, where: str = "the record") -> RecordRejected:
    return RecordRejected("too deeply nested", f"{where} nests deeper than {limit} levels, the limit")


def may_break_limits(line: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """False when ``line`` cannot hold a value beyond the read limits (nearly every line): it has
    at most ``max_depth`` opening brackets, no run of 20 digits and no minus sign before 19."""
    text = line.translate(_TRANSLATION)
    return text.count(b"{") > max_depth or _DIGIT_RUN in text or _NEGATIVE_RUN in text


def check_line(line: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise RecordRejected when the JSON text ``line`` breaks a read limit (see the module)."""
    if not may_break_limits(line, max_depth):
        return
    try:
        value = _decode(line)  # integers exact, where orjson would make a float of a long one
    except RecursionError:
        raise too_deep(max_depth) from None
    except msgspec.DecodeError:
        try:  # what msgspec refuses and orjson reads, if any, is still held to the depth limit
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            return  # not JSON (or nested past orjson's 1,024 levels, which msgspec would have said)
    check_value(value, max_depth)


def check_value(value: Any, max_depth: int = MAX_DEPTH, path: str = "", depth: int = 1) -> None:
    """Raise RecordRejected when ``value`` (at nesting level ``depth``, reached by ``path``) nests
    deeper than ``max_depth`` or holds an integer beyond 64 bits. Iterative: any depth is safe."""
    stack = [(value, depth, path)]
    while stack:
        item, level, where = stack.pop()
        kind = type(item)
        if kind is dict or kind is list:
            if level > max_depth:
                raise too_deep(max_depth, f"field {_shown(where)}")
            if kind is dict:
                children = [(v, level + 1, _key_path(where, k)) for k, v in item.items()]
            else:
                children = [(v, level + 1, f"{where}[{i}]") for i, v in enumerate(item)]
            stack.extend(reversed(children))
        elif kind is int and not _INT_MIN <= item <= _INT_MAX:
            raise RecordRejected(
                "integer out of range",
                f"field {_shown(where)} holds a {len(str(abs(item)))}-digit integer, beyond the 64-bit "
                "range the JSON exports can carry",
            )


def oversized(
    invocations: Any, max_value_chars: int = MAX_VALUE_CHARS, max_calls_bytes: int = MAX_CALLS_BYTES
) -> str | None:
    """Why a trajectory's calls (ToolInvocations) are too large to teach, or None when they fit.
    Names the first parameter or result over ``max_value_chars`` (``parameter 'query' of call 2 is
    52,428,800 characters, limit 100,000``), else the calls' total JSON bytes over ``max_calls_bytes``."""
    total = 0
    for number, inv in enumerate(invocations, 1):
        size = _json_size(inv.parameters)
        if size > max_value_chars:
            for key, value in inv.parameters.items():
                chars = len(value) if type(value) is str else _json_size(value)
                if chars > max_value_chars:
                    return f"parameter {_shown(str(key))} of call {number} is {chars:,} characters, limit {max_value_chars:,}"
        result = inv.result
        chars = len(result) if type(result) is str else _json_size(result)
        if chars > max_value_chars:
            return f"the result of call {number} is {chars:,} characters, limit {max_value_chars:,}"
        total += size + chars
        if total > max_calls_bytes:
            break
    if total > max_calls_bytes:
        return f"the calls' arguments and results are over {total:,} bytes of JSON, limit {max_calls_bytes:,}"
    return None


def _json_size(value: Any) -> int:
    try:
        return len(orjson.dumps(value))
    except TypeError:  # not orjson's JSON (a value a reader did not check): measure it anyway
        return len(_encode_any(value).encode())


def _key_path(where: str, key: Any) -> str:
    key = str(key)
    key = key if len(key) <= 40 else key[:39] + "…"
    return f"{where}.{key}" if where else key


def _shown(path: str) -> str:
    path = path or "(the record)"
    return repr(path if len(path) <= 80 else path[:79] + "…")
