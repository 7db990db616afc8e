"""Deduplication of training examples, before they are split.

Two examples are duplicates when what the model sees and must produce is the same: the user's
own request (where the log has one), the tools called in the same order with the same arguments,
and the same results, once normalised (:func:`normalise_arguments`): strings casefolded and their
whitespace collapsed, numbers compared by value (``5 == 5.0``), object keys in sorted order, all
the way down. Two sessions with different requests and the same calls are two examples
(paraphrases), and so are two with the same calls and different results. A task text the
describer wrote is not part of the key: it is made from the calls.

:func:`deduplicate` keeps the first example of each key (input order; a run's order is the log's,
so it is deterministic) and rejects every later one with reason ``"duplicate"``, its locations,
and ``records`` = its number of calls, so every input invocation is still accounted for. A
rejected example is an **exact** duplicate when its tool sequence and raw arguments are identical
to the kept example's (object key order aside), a **near-exact** one when they are equal only once
normalised; the two are counted apart in ``stats``.

Deliberately *not* normalised: object keys (argument names are part of a tool's schema; ``Table``
and ``table`` are different arguments), the order of list items, and types across the string /
number line (``"5"`` and ``5`` are different calls). Near-duplicates beyond this (a word changed)
are not removed here; :mod:`deepeyes_core.leakage` counts those that cross splits.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from .records import Rejection, TrainingExample

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def normalise_arguments(value: Any) -> Any:
    """The canonical form of an argument value, for comparing calls.

    >>> normalise_arguments({"b": "  New   York ", "a": [5.0, True, None]})
    {'a': [5, True, None], 'b': 'new york'}
    """
    kind = type(value)
    if kind is str:
        return " ".join(value.casefold().split())
    if kind is dict:  # an object of scalars, the common case, is done without a call per value
        out = {}
        for key in sorted(value, key=str):
            item = value[key]
            kind = type(item)
            if kind is str:
                item = " ".join(item.casefold().split())
            elif not (kind is int or kind is bool or item is None):
                item = normalise_arguments(item)
            out[str(key)] = item
        return out
    if kind is list or kind is tuple:
        return [normalise_arguments(item) for item in value]
    if kind is bool or kind is int or value is None:
        return value
    if isinstance(value, str):
        return " ".join(value.casefold().split())
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)  # nan, inf, -inf: JSON has no such number
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(key): normalise_arguments(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [normalise_arguments(item) for item in value]
    return normalise_arguments(str(value))


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=_OPTIONS, default=str)
    except (orjson.JSONEncodeError, TypeError):  # an int over 64 bits, say
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode()


def _digest(value: Any) -> str:
    return hashlib.blake2b(_canonical(value), digest_size=16).hexdigest()


def _outcomes(example: TrainingExample) -> list[Any]:
    return [
        None if call.result is None else [call.result.content, call.result.is_error, call.result.error]
        for step in example.steps
        for call in step.calls
    ]


def _normalised_outcomes(example: TrainingExample) -> list[Any]:
    """``normalise_arguments(_outcomes(example))``, without a call per item for the usual types."""
    out: list[Any] = []
    for step in example.steps:
        for call in step.calls:
            result = call.result
            if result is None:
                out.append(None)
                continue
            content, failed, error = result.content, result.is_error, result.error
            out.append([
                " ".join(content.casefold().split()) if type(content) is str else normalise_arguments(content),
                failed if type(failed) is bool else normalise_arguments(failed),
                None if error is None else normalise_arguments(error),
            ])
    return out


def _dedup_value(example: TrainingExample) -> list[Any]:
    request = example.user_request
    return [
        list(example.tool_sequence),
        [normalise_arguments(p) for p in example.tool_parameters],
        _normalised_outcomes(example),
        None if request is None else normalise_arguments(request),
    ]


def _exact_value(example: TrainingExample) -> list[Any]:
    return [list(example.tool_sequence), list(example.tool_parameters), _outcomes(example), example.user_request]


def calls_key(example: TrainingExample) -> str:
    """A hash of the tool sequence and the normalised arguments alone: equal for examples that
    make the same calls, whatever their requests and results."""
    return _digest([list(example.tool_sequence), [normalise_arguments(p) for p in example.tool_parameters]])


def dedup_key(example: TrainingExample) -> str:
    """A hash of the tool sequence and the normalised arguments: equal for duplicates."""
    return _digest(_dedup_value(example))


def exact_key(example: TrainingExample) -> str:
    """A hash of the tool sequence and the arguments as they are (object key order aside)."""
    return _digest(_exact_value(example))


class Deduplication(tuple):
    """``(kept, rejections)`` — unpacks as a pair — with ``stats``: ``{"exact": n, "near_exact": m}``
    and ``calls_keys``: each kept example's :func:`calls_key`, in order (made from the normalised
    arguments dedup has made anyway; the split groups by them)."""

    kept: list[TrainingExample]
    rejections: list[Rejection]
    stats: dict[str, int]
    calls_keys: list[str]

    def __new__(cls, kept: list[TrainingExample], rejections: list[Rejection], stats: dict[str, int],
                calls_keys: list[str]):
        self = super().__new__(cls, (kept, rejections))
        self.kept, self.rejections, self.stats, self.calls_keys = kept, rejections, stats, calls_keys
        return self


def deduplicate(examples: Iterable[TrainingExample]) -> Deduplication:
    """Keep the first example of each :func:`dedup_key`; reject the others as ``"duplicate"``.

    Returns ``(kept, rejections)`` with a ``.stats`` attribute counting exact and near-exact
    duplicates. Each rejection names the kept example's task_id in its detail and accounts for the
    duplicate's invocations (``records`` = its sequence length).
    """
    # Keyed by the binary digest (orjson's output keeps a 4 KB buffer, too much to hold 200,000 of);
    # exact forms are made only for a duplicate and the example it duplicates.
    first: dict[bytes, TrainingExample] = {}
    kept: list[TrainingExample] = []
    rejections: list[Rejection] = []
    stats = {"exact": 0, "near_exact": 0}
    calls_keys: list[str] = []
    for example in examples:
        value = _dedup_value(example)
        key = hashlib.blake2b(_canonical(value), digest_size=16).digest()
        original = first.get(key)
        if original is None:
            first[key] = example
            kept.append(example)
            calls_keys.append(_digest(value[:2]))  # calls_key(example)
            continue
        if _canonical(_exact_value(example)) == _canonical(_exact_value(original)):
            stats["exact"] += 1
            detail = f"exact duplicate of {original.task_id}: same tools, identical arguments"
        else:
            stats["near_exact"] += 1
            detail = f"near-exact duplicate of {original.task_id}: same tools, arguments equal once normalised"
        rejections.append(
            Rejection("duplicate", detail, example.locations, example.sequence_length, stage="dedup")
        )
    return Deduplication(kept, rejections, stats, calls_keys)
