"""Evaluation: parse a model's predicted tool calls, score them against the reference, and measure
the base model and the trained model on the same held-out test prompts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .components import TrainingBackend
from .errors import LeakError
from .records import DIFFICULTIES, ToolCall, TrainingExample
from .settings import DATASET, TRAINER

_DECODER = json.JSONDecoder()
#: A line that may hold a call: optional "1." / "1)" / "-" marker, then ``name(``.
_LINE = re.compile(
    r"^[ \t]*(?:(?P<num>\d+)[.)]|[-*])?[ \t]*(?:(?P<name>[A-Za-z_][\w.\-]*)[ \t]*(?P<paren>\()[ \t]*)?",
    re.MULTILINE,
)


def parse_invocations(text: str) -> tuple[ToolCall, ...] | None:
    """The calls of an answer laid out as ``TrainingExample.completion()`` does, or None.

    Tolerated: a missing header, blank lines, code fences, JSON spacing, ``1)`` or ``-`` markers,
    ``name()`` (read as ``{}``), pretty-printed JSON over several lines, and text after a call
    (``Success: Yes``). None when there is no call, or a numbered line (or ``name({``) is not a
    call whose arguments are one JSON object followed by ``)``."""
    calls: list[ToolCall] = []
    end = 0
    for match in _LINE.finditer(text):
        if match.start() < end:  # inside the arguments of the previous call
            continue
        numbered = match.group("num") is not None
        if match.group("paren") is None:
            if numbered:
                return None  # "3. something" that is not a call
            continue
        pos = match.end()
        if text.startswith(")", pos):
            arguments: Any = {}
        else:
            if not text.startswith("{", pos):
                if numbered:
                    return None
                continue  # prose such as "Sure (here it is)"
            try:
                arguments, pos = _DECODER.raw_decode(text, pos)
            except json.JSONDecodeError:
                return None
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if not isinstance(arguments, dict) or not text.startswith(")", pos):
                return None
        calls.append(ToolCall(match.group("name"), arguments))
        end = pos + 1
    return tuple(calls) or None


@attrs.frozen(slots=True)
class MatchOptions:
    """How argument values are compared. ``string_match``: "exact"; "strip" (surrounding whitespace
    ignored); "casefold" (whitespace and case ignored). ``float_tolerance``: absolute, for numbers."""

    string_match: str = attrs.field(default="exact", validator=attrs.validators.in_(("exact", "casefold", "strip")))
    float_tolerance: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))

    def normalise(self, value: str) -> str:
        if self.string_match == "exact":
            return value
        return value.strip().casefold() if self.string_match == "casefold" else value.strip()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _values_match(expected: Any, predicted: Any, options: MatchOptions) -> bool:
    if isinstance(expected, bool) or isinstance(predicted, bool):
        return type(expected) is type(predicted) and expected == predicted
    if _is_number(expected) and _is_number(predicted):
        return expected == predicted or abs(expected - predicted) <= options.float_tolerance
    if isinstance(expected, str) and isinstance(predicted, str):
        return options.normalise(expected) == options.normalise(predicted)
    if isinstance(expected, Mapping) and isinstance(predicted, Mapping):
        return arguments_match(expected, predicted, options)
    if isinstance(expected, (list, tuple)) and isinstance(predicted, (list, tuple)):
        return len(expected) == len(predicted) and all(
            _values_match(e, p, options) for e, p in zip(expected, predicted)
        )
    return expected is None and predicted is None


def arguments_match(expected: Mapping, predicted: Mapping, options: MatchOptions = MatchOptions()) -> bool:
    """True when the predicted arguments match the expected ones, as BFCL's AST checker judges.

    Followed from ``berkeley-function-call-leaderboard/bfcl/eval_checker/ast_eval/ast_checker.py``
    (ShishirPatil/gorilla): ``simple_function_checker`` fails a missing required parameter and an
    "Unexpected parameter"; its ``type_checker`` compares ``type(value)``, so a bool is not an
    integer; Python ints are accepted for floats; ``list_checker`` compares lists in order;
    ``dict_checker`` fails unexpected and missing keys. Differences: every expected key is
    required (logs have no optional-parameter markers), int and float are interchangeable both
    ways (no schema says which is wanted), nesting is checked to any depth, and strings are exact
    by default (BFCL lower-cases and drops spaces and punctuation; see :class:`MatchOptions`)."""
    if expected.keys() != predicted.keys():
        return False
    return all(_values_match(expected[key], predicted[key], options) for key in expected)


@attrs.frozen(slots=True)
class ExampleScore:
    """One answer's score. ``argument_accuracy``: share of expected calls whose name and arguments
    match the predicted call at the same position."""

    parsed: bool
    exact: bool
    tool_names: bool
    argument_accuracy: float


def _position_matches(expected: Sequence[ToolCall], predicted: Sequence[ToolCall], options: MatchOptions) -> list[bool]:
    return [
        i < len(predicted)
        and predicted[i].name == call.name
        and arguments_match(call.arguments, predicted[i].arguments, options)
        for i, call in enumerate(expected)
    ]


def _score(expected: Sequence[ToolCall], answer: str, options: MatchOptions) -> tuple[ExampleScore, list[bool]]:
    predicted = parse_invocations(answer)
    if predicted is None:
        return ExampleScore(False, False, False, 0.0), [False] * len(expected)
    matches = _position_matches(expected, predicted, options)
    names = [c.name for c in predicted] == [c.name for c in expected]
    accuracy = sum(matches) / len(expected) if expected else 0.0
    return ExampleScore(True, bool(expected) and names and all(matches), names, accuracy), matches


def score_answer(expected: Sequence[ToolCall], answer: str, options: MatchOptions = MatchOptions()) -> ExampleScore:
    """Score one model answer against the expected calls."""
    return _score(expected, answer, options)[0]


def score_model(
    examples: Sequence[TrainingExample], answers: Sequence[str], options: MatchOptions = MatchOptions()
) -> dict[str, Any]:
    """Scores of one model's answers (one per example, in order). ``argument_accuracy`` and
    ``per_tool`` count expected calls (a call is right when name and arguments match at its
    position); ``exact_sequence_accuracy``, ``tool_name_sequence_accuracy`` and
    ``per_difficulty`` count examples. Every rate is 0.0 when there is nothing to count."""
    if len(examples) != len(answers):
        raise ValueError(f"{len(answers)} answers for {len(examples)} examples")
    exact = names = unparseable = calls_right = calls_total = 0
    per_tool: dict[str, list[int]] = {}
    per_difficulty: dict[str, list[int]] = {}
    for example, answer in zip(examples, answers):
        score, matches = _score(example.calls, answer, options)
        exact += score.exact
        names += score.tool_names
        unparseable += not score.parsed
        calls_right += sum(matches)
        calls_total += len(matches)
        for call, right in zip(example.calls, matches):
            counts = per_tool.setdefault(call.name, [0, 0])
            counts[0] += right
            counts[1] += 1
        counts = per_difficulty.setdefault(example.difficulty, [0, 0])
        counts[0] += score.exact
        counts[1] += 1
    n = len(examples)
    order = {d: i for i, d in enumerate(DIFFICULTIES)}
    return {
        "examples": n,
        "exact_sequence_accuracy": exact / n if n else 0.0,
        "tool_name_sequence_accuracy": names / n if n else 0.0,
        "argument_accuracy": calls_right / calls_total if calls_total else 0.0,
        "unparseable": unparseable,
        "per_tool": {tool: right / total for tool, (right, total) in sorted(per_tool.items())},
        "per_difficulty": {
            d: right / total
            for d, (right, total) in sorted(per_difficulty.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        },
    }


def check_no_leak(example: TrainingExample, prompt: str) -> None:
    """Raise LeakError when the prompt holds its own answer: the completion, or any expected call
    in call syntax (``name({...})``, as rendered or in compact JSON). Argument values named in
    the task text are allowed."""
    where = f"the prompt of example {example.task_id!r}"
    advice = "(the 'guide' layout repeats the required tool sequence; use prompt_layout 'catalogue' or 'task')"
    if example.completion() in prompt:
        raise LeakError(f"{where} contains its expected completion {advice}")
    for call in example.calls:
        compact = f"{call.name}({json.dumps(call.arguments, ensure_ascii=False, separators=(',', ':'))})"
        for rendered in (call.render(), compact):
            if rendered in prompt:
                raise LeakError(f"{where} contains its expected call {rendered!r} {advice}")


def _before_after(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, dict[str, float]]:
    return {
        key: {"before": before[key], "after": after[key], "delta_pct_points": (after[key] - before[key]) * 100}
        for key in before
    }


async def evaluate_improvement(
    backend: TrainingBackend,
    test: Sequence[TrainingExample],
    *,
    prompt_layout: str = DATASET.prompt_layout,
    readiness_threshold: float = TRAINER.readiness_threshold,
    phase1_success_rates: Mapping[str, float] | None = None,
    options: MatchOptions = MatchOptions(),
) -> dict[str, Any]:
    """Base model vs trained model on the same test prompts, scored by exact-sequence accuracy.

    Every prompt is checked for leaks before any generation. The trained model is asked first, so
    a backend that trained nothing costs no base-model calls. Phase 1 success rates are context
    only; the gain and ``readiness_for_rl`` come from the two measurements."""
    phase1 = dict(phase1_success_rates or {})
    name = getattr(backend, "name", type(backend).__name__)

    def not_measured(reason: str) -> dict[str, Any]:
        return {
            "status": "not measured",
            "reason": reason,
            "metric": "exact_sequence_accuracy",
            "test_examples": len(test),
            "baseline_success_rate": None,
            "post_training_success_rate": None,
            "improvement_pct": None,
            "relative_improvement_pct": None,
            "readiness_for_rl": False,
            "readiness_threshold": readiness_threshold,
            "readiness_reason": f"not measured: {reason}",
            "tool_improvements": {},
            "phase1_success_rates": phase1,
        }

    if not test:
        return not_measured("the test split is empty, so there are no held-out prompts to answer")
    prompts = [example.prompt(prompt_layout) for example in test]
    for example, prompt in zip(test, prompts):
        check_no_leak(example, prompt)
    answers: dict[str, list[str]] = {}
    for role in ("trained", "base"):
        got = await backend.generate(role, prompts)
        if got is None:
            why = "it trained nothing" if role == "trained" else "it has no base model to ask"
            return not_measured(f"backend {name!r} cannot answer prompts with the {role} model ({why})")
        if len(got) != len(prompts):
            raise ValueError(f"backend {name!r} gave {len(got)} {role} answers for {len(prompts)} prompts")
        answers[role] = list(got)
    base = score_model(test, answers["base"], options)
    trained = score_model(test, answers["trained"], options)
    before, after = base["exact_sequence_accuracy"], trained["exact_sequence_accuracy"]
    ready = after >= readiness_threshold
    return {
        "status": "measured",
        "metric": "exact_sequence_accuracy",
        "test_examples": len(test),
        "prompt_layout": prompt_layout,
        "baseline_success_rate": before,
        "post_training_success_rate": after,
        "improvement_pct": (after - before) * 100,
        "improvement_unit": "percentage points",
        "relative_improvement_pct": (after - before) / before * 100 if before else None,
        "readiness_for_rl": ready,
        "readiness_threshold": readiness_threshold,
        "readiness_reason": (
            f"trained model's exact-sequence accuracy {after:.1%} is "
            f"{'at or above' if ready else 'below'} the threshold {readiness_threshold:.1%}"
        ),
        "tool_improvements": _before_after(base["per_tool"], trained["per_tool"]),
        "per_difficulty": _before_after(base["per_difficulty"], trained["per_difficulty"]),
        "base": base,
        "trained": trained,
        "phase1_success_rates": phase1,
    }
