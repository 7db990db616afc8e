"""Whether a predicted tool call matches the expected one: names, argument values, parallel calls.

Two modes (``[evaluation] matching``, :class:`MatchOptions`); each score dict names the one used.

``"bfcl"`` (default) follows ``ast_checker`` of the Berkeley Function Calling Leaderboard
(``bfcl_eval/eval_checker/ast_eval/ast_checker.py``, bfcl-eval 2026.3.23, Python):

- strings compare after BFCL's ``standardize_string``: lower-cased, spaces and ``,./-_*^``
  dropped, ``'`` read as ``"``;
- types come from the tool's JSON Schema (``ToolSpec.parameters``; BFCL's own names ``dict``,
  ``float``, ``tuple``, ``any`` are read too): an ``integer`` parameter takes only an int (not
  5.0, not True), a ``number`` parameter an int or a float, array items must have the item type
  exactly (an int in a ``number`` array is wrong, as in BFCL). A value of another type still
  passes when it has the type of the expected value (BFCL's rule for a reference that disagrees
  with its schema) and is then compared exactly. Without a schema for the parameter (lenient
  rule): a number matches a number of equal value, int or float; a bool only a bool; types
  are otherwise those of the expected value;
- an expected value may be :class:`Accepted` (any one of several values), and a parameter may be
  left out where the reference allows it (see :func:`arguments_match`); an optional Accepted
  also takes ``""`` for a string and ``[]`` for an array (BFCL's ``""`` marker is a value too);
  a parameter the reference does not have is wrong;
- a parallel step's calls match in any order (:func:`match_calls`; the blind scorer knows the
  steps from ``TrainingExample.steps``, or from ``steps=`` of
  :func:`~deepeyes_core.score_answer`).

Measured (``tests/test_matching_bfcl.py``): on 36,168 cases made by perturbing the 1,000
simple/multiple/parallel/parallel_multiple entries shipped in bfcl-eval 2026.3.23, ``bfcl`` mode
agrees with ``ast_checker`` on 99.91 % (31 cases differ), ``strict`` on 74.0 %, the matching before this
module on 67.4 %. Where it differs from BFCL: BFCL rejects an argument its function schema does
not declare even where its answer lists it (two entries, 30 of the 31 cases: deepeyes follows the
answer); parallel calls are paired by a maximum matching, where BFCL pairs greedily in order and
can miss a pairing (1 case); strings are normalised at every depth (BFCL: top-level values,
array items and dict values only); with an optional array parameter BFCL skips the item type
check.

``"strict"``: every value exactly equal (strings too), schemas unused. Numbers compare as JSON
does, by value (5 and 5.0 are equal; a bool is not a number); :class:`Accepted` alternatives and
an ``optional`` Accepted are honoured, since the reference states them; nothing else may be left
out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from .records import ToolCall, ToolSpec, TrainingExample
from .settings import MATCHING_MODES

#: One line per mode, for reports beside the figures it produced.
MODE_DESCRIPTIONS = {
    "bfcl": "BFCL AST-checker rules: normalised strings, accepted-value lists, optional parameters, "
    "types from the tool schema, parallel calls in any order",
    "strict": "exact equality of every argument value (numbers by value), parallel calls in any order",
}

_PUNCTUATION = re.compile(r"[ ,./\-_*^]")
#: JSON Schema type names, and BFCL's own, as the kind of Python value each one wants.
_SCHEMA_KINDS = {
    "string": "string", "any": "string", "char": "string",
    "integer": "integer", "long": "integer", "short": "integer", "byte": "integer",
    "number": "number", "float": "number", "double": "number",
    "boolean": "boolean", "bool": "boolean",
    "array": "array", "tuple": "array", "list": "array",
    "object": "object", "dict": "object", "null": "null",
}


@attrs.frozen(slots=True)
class Accepted:
    """Several acceptable values for one expected argument (any one of them matches), for
    references that list alternatives, as BFCL's possible answers do. ``optional``: the argument
    may also be left out (BFCL's ``""`` marker); a bare value in a reference means exactly that
    value. Lives in references handed to the scorer; it is not part of an example's JSON."""

    values: tuple[Any, ...] = attrs.field(converter=tuple)
    optional: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.values and not self.optional:
            raise ValueError("Accepted needs at least one value, or optional=True")


@attrs.frozen(slots=True)
class MatchOptions:
    """How arguments are compared. ``mode``: ``"bfcl"`` or ``"strict"`` (the module docstring);
    ``float_tolerance``: an absolute tolerance for numbers, in both modes (0: exact, as BFCL).
    Strings have no option of their own: ``bfcl`` normalises them as BFCL does, ``strict``
    compares them exactly."""

    mode: str = attrs.field(default="bfcl", validator=attrs.validators.in_(MATCHING_MODES))
    float_tolerance: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))

    @property
    def description(self) -> str:
        return MODE_DESCRIPTIONS[self.mode]


#: The options a scorer uses unless told otherwise: ``bfcl`` mode, exact numbers.
DEFAULT_MATCHING = MatchOptions()


def standardise(text: str) -> str:
    """BFCL's ``standardize_string``: spaces and ``,./-_*^`` dropped, lower-cased, ``'`` as ``"``."""
    return _PUNCTUATION.sub("", text).lower().replace("'", '"')


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "null" if value is None else type(value).__name__


def _schema_kinds(schema: Any) -> set[str] | None:
    """The value kinds a property schema allows; None where it says nothing."""
    if not isinstance(schema, Mapping):
        return None
    declared = schema.get("type")
    names = declared if isinstance(declared, list) else [declared]
    kinds = {_SCHEMA_KINDS[name] for name in names if isinstance(name, str) and name in _SCHEMA_KINDS}
    return kinds or None


def _alternatives(expected: Any) -> tuple[Any, ...]:
    return expected.values if isinstance(expected, Accepted) else (expected,)


def _numbers_equal(expected: Any, predicted: Any, options: MatchOptions) -> bool:
    return expected == predicted or abs(expected - predicted) <= options.float_tolerance


def _equal(expected: Any, predicted: Any, options: MatchOptions, normalise: bool) -> bool:
    """Value equality at any depth: bools only with bools, numbers by value, strings normalised
    when ``normalise``, dicts by :func:`_object_match`, lists in order."""
    if isinstance(expected, Accepted):
        return any(_equal(value, predicted, options, normalise) for value in expected.values)
    kinds = _kind(expected), _kind(predicted)
    if "boolean" in kinds:
        return kinds[0] == kinds[1] and expected == predicted
    if set(kinds) <= {"integer", "number"}:
        return _numbers_equal(expected, predicted, options)
    if kinds == ("string", "string"):
        return standardise(expected) == standardise(predicted) if normalise else expected == predicted
    if kinds == ("object", "object"):
        return _object_match(expected, predicted, options, None, normalise)
    if kinds == ("array", "array"):
        return len(expected) == len(predicted) and all(
            _equal(e, p, options, normalise) for e, p in zip(expected, predicted))
    return kinds == ("null", "null")


def _typed(value: Any, wanted: set[str] | None, reference: Any) -> bool | None:
    """BFCL's type check of a top-level value: True (the schema's type), False (wrong type), or
    None (not the schema's type but the reference's: compare exactly, as BFCL does)."""
    kind = _kind(value)
    if wanted is None or kind in wanted or (kind == "integer" and "number" in wanted):
        return True
    return None if kind == _kind(reference) else False


def _items_typed(value: Any, schema: Mapping, reference: Any) -> bool:
    """BFCL's one-level check of an array's items: each has the item type exactly, or the type
    of the reference's first item."""
    wanted = _schema_kinds(schema.get("items"))
    if wanted is None or not isinstance(value, (list, tuple)):
        return True
    first = reference[0] if isinstance(reference, (list, tuple)) and reference else None
    return all(_kind(item) in wanted or (first is not None and _kind(item) == _kind(first)) for item in value)


def _value_match(expected: Any, predicted: Any, schema: Any, options: MatchOptions) -> bool:
    """One top-level argument in ``bfcl`` mode, with its property schema (or None)."""
    wanted = _schema_kinds(schema)
    for reference in _alternatives(expected):
        typed = _typed(predicted, wanted, reference)
        if typed is False:
            continue
        if typed and wanted is not None and "array" in wanted and not _items_typed(predicted, schema, reference):
            continue
        if _equal(reference, predicted, options, normalise=bool(typed)):
            return True
    return False


def _empty_for_optional(expected: Any, predicted: Any, schema: Any) -> bool:
    """BFCL's ``""`` marker is an accepted value too: an optional parameter takes ``""`` (a string)
    or ``[]`` (an array) where its schema allows that type."""
    if not (isinstance(expected, Accepted) and expected.optional and predicted in ("", [])):
        return False
    wanted = _schema_kinds(schema)
    return wanted is None or _kind(predicted) in wanted


def _may_leave_out(expected: Any, required: bool, declared: bool) -> bool:
    if isinstance(expected, Accepted):
        return expected.optional and not required
    return declared and not required


def _object_match(expected: Mapping, predicted: Mapping, options: MatchOptions,
                  schema: Mapping | None, normalise: bool = True) -> bool:
    """Dicts: no key the reference lacks, every left-out key allowed, every value matching (typed
    by ``schema``'s properties where there is one)."""
    if any(key not in expected for key in predicted):
        return False
    properties = schema.get("properties") if schema is not None else None
    properties = properties if isinstance(properties, Mapping) else {}
    required = set(schema.get("required", ())) if schema is not None else set()
    for key, value in expected.items():
        if key not in predicted:
            if not _may_leave_out(value, key in required, key in properties):
                return False
        elif options.mode == "bfcl" and _empty_for_optional(value, predicted[key], properties.get(key)):
            continue
        elif schema is not None:
            if not _value_match(value, predicted[key], properties.get(key), options):
                return False
        elif not _equal(value, predicted[key], options, normalise):
            return False
    return True


def arguments_match(expected: Mapping, predicted: Mapping, options: MatchOptions = MatchOptions(),
                    schema: Mapping | None = None) -> bool:
    """True when the predicted arguments match the expected ones under ``options.mode``.

    ``schema``: the tool's parameters (JSON Schema), used in ``bfcl`` mode only: types as the
    module docstring says, and which arguments may be left out: one whose expected value is
    ``Accepted(..., optional=True)``, or (a bare value) one the schema declares in ``properties``
    but does not list as ``required``. An argument the schema requires may never be left out; without a schema only
    an optional :class:`Accepted` may. A predicted argument the reference lacks is wrong (BFCL's
    "Unexpected parameter"). In ``strict`` mode the schema is ignored."""
    if options.mode == "strict":
        return _object_match(expected, predicted, options, None, normalise=False)
    return _object_match(expected, predicted, options, schema if isinstance(schema, Mapping) else None)


def _schema(tools: Sequence[ToolSpec], name: str) -> Mapping | None:
    """The parameters schema of the first tool declared as ``name``; None when there is none."""
    for tool in tools:
        if tool.name == name:
            return tool.parameters
    return None


def _augment(i: int, fits: list[list[int]], owner: dict[int, int], seen: set[int]) -> bool:
    """One augmenting path from expected call ``i`` (Kuhn's algorithm). A module function, not a
    closure: a closure that calls itself is a reference cycle, garbage only the cyclic collector
    frees (evaluation pauses it while scoring)."""
    for j in fits[i]:
        if j not in seen:
            seen.add(j)
            if j not in owner or _augment(owner[j], fits, owner, seen):
                owner[j] = i
                return True
    return False


def match_calls(expected: Sequence[ToolCall], predicted: Sequence[ToolCall],
                options: MatchOptions = MatchOptions(), tools: Iterable[ToolSpec] = ()) -> list[bool]:
    """For each expected call, whether it is matched by a distinct predicted call (same name,
    arguments as :func:`arguments_match` judges with the tool's schema from ``tools``), in any
    order: a maximum bipartite matching, so a parallel step's calls are scored as a set."""
    tools = tools if isinstance(tools, (tuple, list)) else tuple(tools)
    # A schema is looked up only for a pair whose names agree (most pairs of a wrong answer do not).
    fits = [[j for j, p in enumerate(predicted)
             if e.name == p.name and arguments_match(e.arguments, p.arguments, options, _schema(tools, e.name))]
            for e in expected]
    owner: dict[int, int] = {}
    for i in range(len(expected)):
        _augment(i, fits, owner, set())
    matched = set(owner.values())
    return [i in matched for i in range(len(expected))]


def step_right(expected: Sequence[ToolCall], predicted: Sequence[ToolCall], options: MatchOptions = MatchOptions(),
               tools: Iterable[ToolSpec] = ()) -> bool:
    """True when the predicted calls are exactly the step's calls, in any order (none missing, none extra)."""
    return len(predicted) == len(expected) and all(match_calls(expected, predicted, options, tools))


def sequence_matches(expected: Sequence[ToolCall], predicted: Sequence[ToolCall],
                     options: MatchOptions = MatchOptions(), *, tools: Iterable[ToolSpec] = (),
                     steps: Sequence[int] | None = None) -> tuple[list[bool], bool]:
    """Per expected call, whether it is matched; and whether the tool names are right.

    ``steps``: how many consecutive calls each step made together (a BFCL parallel entry: one
    step of all its calls). Within a step, calls match in any order (:func:`match_calls` on the
    predicted calls at the same positions) and names compare as a multiset; None: every call is
    a step of its own, so calls match by position. The names are right when there are as many
    predicted calls as expected ones and every step's names agree."""
    tools = tuple(tools)
    if steps is None or sum(steps) != len(expected):
        steps = [1] * len(expected)
    matches: list[bool] = []
    names = len(predicted) == len(expected)
    start = 0
    for size in steps:
        want, got = expected[start:start + size], predicted[start:start + size]
        matches.extend(match_calls(want, got, options, tools))
        names = names and sorted(c.name for c in want) == sorted(c.name for c in got)
        start += size
    return matches, names


def step_sizes(example: TrainingExample) -> tuple[int, ...] | None:
    """How many calls each of the example's steps made together; None without steps."""
    sizes = tuple(len(step.calls) for step in example.steps)
    return sizes if sizes and sum(sizes) == len(example.tool_sequence) else None
