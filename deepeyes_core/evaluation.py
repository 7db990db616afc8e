"""Evaluation: parse a model's predicted tool calls, score them against the reference, and measure
the base model and the trained model on the same held-out test prompts.

Two modes, and every figure says which produced it (``"mode"``):

- ``"step"`` (the default where test examples have steps and the backend offers
  ``generate_steps``): for each assistant step of a test trajectory the model is shown the
  conversation up to that step, with the real results of the steps before it
  (:func:`~deepeyes_core.step_prompts`), and makes its calls; a step is right when its calls match
  the step's calls as a set (order-free: a parallel step may be made in any order; arguments as
  :func:`arguments_match` judges). Reported: per-step accuracy, whole-trajectory accuracy (every
  step right), per-call accuracy, the distribution of the first wrong step's index, per tool (calls)
  and per difficulty (trajectories). The final answer is not scored.
- ``"blind-sequence"`` (the guide's): one prompt per example, the whole call sequence predicted
  at once without any result, scored as an exact sequence (calls one step made together may
  come in any order).

Given the train split, every mode also scores two controls that need no model (retrieval and
majority, :mod:`deepeyes_core.contamination`), so a dry run reports them as measured, and every
figure is given on all, clean and near-duplicate test examples with 95 % intervals
(:mod:`deepeyes_core.evaluation_sets`).

The guide's keys (``baseline_success_rate``, ``post_training_success_rate``, ``improvement_pct``,
``readiness_for_rl``, ``tool_improvements``) come from the step mode's whole-trajectory accuracy
when it was measured, else from the blind mode's exact-sequence accuracy, on the headline set
(clean test examples when there are ``min_clean_examples`` of them, else all); ``headline_metric``
says which mode, metric and set. A test split larger than ``[evaluation] max_test_examples`` is
evaluated on a seeded sample of that many examples (``test_sample`` says so): every model and
control answers the same ones, so every comparison stays paired.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .chat import StepPrompt, step_prompts, steps_of
from .collector import cyclic_gc_paused
from .components import TrainingBackend
from .contamination import Nearest, majority_answers, nearest_train, retrieve_by_task
from .errors import LeakError
from .evaluation_sets import (
    CONTROL_DESCRIPTIONS,
    CONTROLS,
    all_sets,
    headline_set,
    membership,
)
from .leakage import DEFINITION as LEAKAGE_DEFINITION
from .matching import (  # noqa: F401  (arguments_match, step_right: still importable from here)
    DEFAULT_MATCHING,
    MatchOptions,
    arguments_match,
    match_calls,
    sequence_matches,
    step_right,
    step_sizes,
)
from .records import DIFFICULTIES, ToolCall, ToolSpec, TrainingExample
from .settings import DATASET, EVALUATION, TRAINER, EvaluationSettings
from .uncertainty import SEED as BOOTSTRAP_SEED

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
class ExampleScore:
    """One answer's score. ``argument_accuracy``: share of expected calls whose name and arguments
    match the predicted call at the same position (or, for calls made together, anywhere in
    their step's positions)."""

    parsed: bool
    exact: bool
    tool_names: bool
    argument_accuracy: float


def _score(expected: Sequence[ToolCall], answer: str, options: MatchOptions, tools: Sequence[ToolSpec] = (),
           steps: Sequence[int] | None = None) -> tuple[ExampleScore, list[bool]]:
    predicted = parse_invocations(answer)
    if predicted is None:
        return ExampleScore(False, False, False, 0.0), [False] * len(expected)
    matches, names = sequence_matches(expected, predicted, options, tools=tools, steps=steps)
    accuracy = sum(matches) / len(expected) if expected else 0.0
    return ExampleScore(True, bool(expected) and names and all(matches), names, accuracy), matches


def score_answer(expected: Sequence[ToolCall], answer: str, options: MatchOptions = DEFAULT_MATCHING, *,
                 tools: Sequence[ToolSpec] = (), steps: Sequence[int] | None = None) -> ExampleScore:
    """Score one model answer against the expected calls; ``tools``: the schemas for type checks,
    ``steps``: calls made together, matched in any order (see :func:`sequence_matches`)."""
    return _score(expected, answer, options, tools, steps)[0]


def score_model(
    examples: Sequence[TrainingExample], answers: Sequence[str], options: MatchOptions = DEFAULT_MATCHING
) -> dict[str, Any]:
    """Scores of one model's answers (one per example, in order). ``argument_accuracy`` and
    ``per_tool`` count expected calls (a call is right when name and arguments match at its
    position; where the example has steps, calls made together match in any order within their
    step's positions, as BFCL's parallel entries are judged; types from ``example.tools``); ``exact_sequence_accuracy``, ``tool_name_sequence_accuracy`` and
    ``per_difficulty`` count examples. Every rate is 0.0 when there is nothing to count."""
    if len(examples) != len(answers):
        raise ValueError(f"{len(answers)} answers for {len(examples)} examples")
    exact = names = unparseable = calls_right = calls_total = 0
    per_tool: dict[str, list[int]] = {}
    per_difficulty: dict[str, list[int]] = {}
    outcomes = []
    for example, answer in zip(examples, answers):
        score, matches = _score(example.calls, answer, options, example.tools, step_sizes(example))
        outcomes.append(score.exact)
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
        "mode": "blind-sequence",
        "matching": options.mode,
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
        "outcomes": outcomes,
    }


def _step_calls(step: Any) -> list[ToolCall]:
    return [ToolCall(call.name, call.arguments) for call in step.calls]


def _rates(counts: Mapping[str, list[int]], order: Sequence[str] = ()) -> dict[str, float]:
    rank = {key: i for i, key in enumerate(order)}
    return {key: right / total for key, (right, total) in
            sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))}


def score_steps(
    examples: Sequence[TrainingExample],
    predicted: Sequence[Sequence[Sequence[ToolCall]]],
    options: MatchOptions = DEFAULT_MATCHING,
) -> dict[str, Any]:
    """Step-level scores of one model: ``predicted[i][j]`` are its calls at step ``j`` of example
    ``i`` (steps as :func:`~deepeyes_core.steps_of` gives them). Rates are 0.0 when there is
    nothing to count. ``first_error``: how many trajectories first went wrong at each step index
    (``"none"``: every step right)."""
    if len(examples) != len(predicted):
        raise ValueError(f"{len(predicted)} predictions for {len(examples)} examples")
    steps_right = steps_total = whole = calls_right = calls_total = no_call = 0
    first_error: dict[str, int] = {}
    per_tool: dict[str, list[int]] = {}
    per_difficulty: dict[str, list[int]] = {}
    per_index: dict[str, list[int]] = {}
    outcomes = []
    for example, answers in zip(examples, predicted):
        steps = steps_of(example)
        if len(answers) != len(steps):
            raise ValueError(f"{len(answers)} step answers for the {len(steps)} steps of example {example.task_id!r}")
        first: int | None = None
        for index, (step, calls) in enumerate(zip(steps, answers)):
            expected = _step_calls(step)
            matches = match_calls(expected, calls, options, example.tools)
            right = len(calls) == len(expected) and all(matches)
            steps_right += right
            steps_total += 1
            no_call += not calls
            calls_right += sum(matches)
            calls_total += len(matches)
            for call, hit in zip(expected, matches):
                per_tool.setdefault(call.name, [0, 0])[0] += hit
                per_tool[call.name][1] += 1
            counts = per_index.setdefault(str(index), [0, 0])
            counts[0] += right
            counts[1] += 1
            if not right and first is None:
                first = index
        whole += first is None
        outcomes.append(first is None)
        key = "none" if first is None else str(first)
        first_error[key] = first_error.get(key, 0) + 1
        counts = per_difficulty.setdefault(example.difficulty, [0, 0])
        counts[0] += first is None
        counts[1] += 1
    n = len(examples)
    return {
        "mode": "step",
        "matching": options.mode,
        "examples": n,
        "steps": steps_total,
        "step_accuracy": steps_right / steps_total if steps_total else 0.0,
        "trajectory_accuracy": whole / n if n else 0.0,
        "call_accuracy": calls_right / calls_total if calls_total else 0.0,
        "steps_without_calls": no_call,
        "first_error": dict(sorted(first_error.items(), key=lambda kv: (kv[0] == "none", int(kv[0]) if kv[0] != "none" else 0))),
        "per_step_index": _rates(per_index, [str(i) for i in range(len(per_index))]),
        "per_tool": _rates(per_tool),
        "per_difficulty": _rates(per_difficulty, DIFFICULTIES),
        "outcomes": outcomes,
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


MODES = ("step", "blind-sequence")
#: Seed of the test sample drawn when the split is larger than ``max_test_examples`` (the bootstrap's).
SAMPLE_SEED = BOOTSTRAP_SEED
#: The figure each mode's headline is, and how the report names it.
_HEADLINE = {
    "step": ("trajectory_accuracy", "whole-trajectory accuracy (every step right, real results shown)"),
    "blind-sequence": ("exact_sequence_accuracy", "exact-sequence accuracy (whole sequence predicted blind)"),
}


async def _answers(backend: Any, method: str, prompts: Sequence[Any], name: str) -> dict[str, list] | str:
    """Both models' answers (the trained one first, so a backend that trained nothing costs no
    base-model calls), or why there are none."""
    answers: dict[str, list] = {}
    for role in ("trained", "base"):
        got = await getattr(backend, method)(role, prompts)
        if got is None:
            why = "it trained nothing" if role == "trained" else "it has no base model to ask"
            return f"backend {name!r} cannot answer prompts with the {role} model ({why})"
        if len(got) != len(prompts):
            raise ValueError(f"backend {name!r} gave {len(got)} {role} answers for {len(prompts)} prompts")
        answers[role] = list(got)
    return answers


def control_picks(train: Sequence[TrainingExample], test: Sequence[TrainingExample]) -> dict[str, list[int | None]]:
    """For each control, the train example whose calls answer each test example (None: no answer)."""
    return {
        "retrieval": [n.train_index for n in retrieve_by_task(train, test)],
        "majority": majority_answers(train, test),
    }


def _control_predictions(mode: str, train: Sequence[TrainingExample], examples: Sequence[TrainingExample],
                         picks: Mapping[str, Sequence[int | None]]):
    """Each control's answers to ``examples``: per-step calls (step mode) or answer texts (blind)."""
    predictions = {}
    for control, chosen in picks.items():
        if mode == "step":
            # The chosen train example's calls at each step the test example has (none past its end).
            # (StepCalls stand for ToolCalls here: matching reads only their names and arguments.)
            answers = [[s.calls for s in steps_of(train[i])] if i is not None else [] for i in chosen]
            predictions[control] = [[answer[j] if j < len(answer) else () for j in range(len(steps_of(example)))]
                                    for example, answer in zip(examples, answers)]
        else:
            predictions[control] = [train[i].completion() if i is not None else "" for i in chosen]
    return predictions


def _score_mode(mode: str, examples: Sequence[TrainingExample], answers: Sequence[Any], options: MatchOptions) -> dict[str, Any]:
    if mode == "step":
        return score_steps(examples, answers, options)
    return score_model(examples, answers, options)


def _step_answers(per_example: Sequence[Sequence[StepPrompt]], flat: Sequence[Any]) -> list[list[tuple]]:
    nested, start = [], 0
    for group in per_example:
        nested.append([tuple(calls) for calls in flat[start:start + len(group)]])
        start += len(group)
    return nested


async def _evaluate_mode(
    mode: str, backend: Any, name: str, test: Sequence[TrainingExample], train: Sequence[TrainingExample],
    nearest: Sequence[Nearest] | None, picks: Mapping[str, Sequence[int | None]], settings: EvaluationSettings,
    options: MatchOptions, prompt_layout: str,
) -> dict[str, Any]:
    """One mode: both models (or why not), both controls (where train is known), on the three sets."""
    metric, described = _HEADLINE[mode]
    if mode == "step":
        positions = [i for i, example in enumerate(test) if example.steps]
        if not positions:
            return {"mode": mode, "status": "not run",
                    "reason": "no test example has steps (the log recorded no trajectory structure)"}
    else:
        positions = list(range(len(test)))
    examples = [test[i] for i in positions]
    result: dict[str, Any] = {"mode": mode, "metric": metric, "description": described, "examples": len(examples)}
    scores: dict[str, dict[str, Any]] = {}
    if mode == "step":
        result["examples_without_steps"] = len(test) - len(examples)
        if not callable(getattr(backend, "generate_steps", None)):
            result.update(status="not run", reason=f"backend {name!r} has no generate_steps (evaluated blind only)")
        else:
            with cyclic_gc_paused():
                per_example = [step_prompts(example) for example in examples]
                prompts = [prompt for group in per_example for prompt in group]
            result["step_prompts"] = len(prompts)
            answers = await _answers(backend, "generate_steps", prompts, name)
            del prompts  # the histories of every step: not held while the controls are scored
            if isinstance(answers, str):
                result.update(status="not measured", reason=answers)
            else:
                with cyclic_gc_paused():
                    scores = {role: score_steps(examples, _step_answers(per_example, flat), options)
                              for role, flat in answers.items()}
            del per_example
    else:
        result["prompt_layout"] = prompt_layout
        answers = await _answers(backend, "generate", [e.prompt(prompt_layout) for e in examples], name)
        if isinstance(answers, str):
            result.update(status="not measured", reason=answers)
        else:
            with cyclic_gc_paused():
                scores = {role: score_model(examples, got, options) for role, got in answers.items()}
    # Scoring makes millions of small acyclic objects beside the run's heap: no cyclic passes over it.
    with cyclic_gc_paused():
        if train:
            controls = _control_predictions(mode, train, examples, {
                control: [chosen[i] for i in positions] for control, chosen in picks.items()})
            result["controls"] = {control: {"description": CONTROL_DESCRIPTIONS[control],
                                            **_score_mode(mode, examples, got, options)}
                                  for control, got in controls.items()}
            del controls
        outcomes = {role: s["outcomes"] for role, s in scores.items()}
        outcomes.update({control: s["outcomes"] for control, s in result.get("controls", {}).items()})
        sets = membership(None if nearest is None else [nearest[i] for i in positions],
                          settings.near_duplicate_threshold)
        result["sets"] = all_sets(outcomes, sets, len(examples)) if outcomes else {}
    chosen, why = headline_set(result["sets"], settings.min_clean_examples, settings.near_duplicate_threshold)
    result.update(headline_set=chosen, headline_set_reason=why)
    if scores:
        base, trained = scores["base"], scores["trained"]
        figures = result["sets"][chosen]
        result.update(
            status="measured",
            baseline=figures["accuracy"]["base"],
            post_training=figures["accuracy"]["trained"],
            improvement_pct=figures["improvement"]["improvement_pts"]["estimate"],
            uncertainty=figures["improvement"],
            tool_improvements=_before_after(base["per_tool"], trained["per_tool"]),
            per_difficulty=_before_after(base["per_difficulty"], trained["per_difficulty"]),
            base=base,
            trained=trained,
        )
    return result


def _controls_summary(by_mode: Mapping[str, Any]) -> dict[str, Any]:
    """The controls of the first mode that has them, on its headline set."""
    for mode in MODES:
        result = by_mode.get(mode) or {}
        if "controls" in result:
            figures = result["sets"][result["headline_set"]]
            return {
                "mode": mode,
                "set": result["headline_set"],
                "examples": figures["examples"],
                **{control: {"description": CONTROL_DESCRIPTIONS[control],
                             "accuracy": figures["accuracy"].get(control),
                             "interval": figures["intervals"].get(control)} for control in CONTROLS},
            }
    return {"status": "not measured", "reason": "no train split was given (the controls answer from train)"}


def _contamination(nearest: Sequence[Nearest] | None, settings: EvaluationSettings) -> dict[str, Any]:
    if nearest is None:
        return {"status": "not measured", "reason": "no train split was given"}
    near = sum(n.at_least(settings.near_duplicate_threshold) for n in nearest)
    return {
        "definition": LEAKAGE_DEFINITION.format(threshold=settings.near_duplicate_threshold),
        "threshold": settings.near_duplicate_threshold,
        "test_examples": len(nearest),
        "clean": len(nearest) - near,
        "near_duplicate": near,
    }


async def evaluate_improvement(
    backend: TrainingBackend,
    test: Sequence[TrainingExample],
    *,
    prompt_layout: str = DATASET.prompt_layout,
    readiness_threshold: float = TRAINER.readiness_threshold,
    phase1_success_rates: Mapping[str, float] | None = None,
    options: MatchOptions = DEFAULT_MATCHING,
    modes: Sequence[str] = MODES,
    train: Sequence[TrainingExample] = (),
    settings: EvaluationSettings = EVALUATION,
    nearest: Sequence[Nearest] | None = None,
) -> dict[str, Any]:
    """Base model vs trained model on the same test examples, in each of ``modes`` (see the
    module docstring), beside the retrieval and majority controls, on all, clean and
    near-duplicate test examples; the guide's keys from the headline mode's headline set.

    ``train`` (the train split) gives the controls and the contamination sets (``nearest``: each
    test example's nearest train example, computed here when not given). Every blind prompt is
    checked for leaks before any generation. Phase 1 success rates are context only.
    ``readiness_for_rl`` needs the trained model's interval lower bound at the threshold and the
    trained model ahead of the retrieval control."""
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown or not modes:
        raise ValueError(f"unknown evaluation modes {unknown}; choose from {', '.join(MODES)}")
    phase1 = dict(phase1_success_rates or {})
    name = getattr(backend, "name", type(backend).__name__)
    if nearest is not None and len(nearest) != len(test):
        raise ValueError(f"{len(nearest)} nearest-train entries for {len(test)} test examples")
    split_size, cap = len(test), settings.max_test_examples
    if split_size > cap:
        keep = sorted(random.Random(SAMPLE_SEED).sample(range(split_size), cap))
        test = [test[i] for i in keep]
        nearest = None if nearest is None else [nearest[i] for i in keep]
    if train and nearest is None:
        with cyclic_gc_paused():
            nearest = nearest_train(train, test, settings.near_duplicate_threshold)
    by_mode: dict[str, Any] = {}
    if test:
        with cyclic_gc_paused():
            if "blind-sequence" in modes:
                for example in test:
                    check_no_leak(example, example.prompt(prompt_layout))
            picks = control_picks(train, test) if train else {}
        for mode in MODES:
            if mode in modes:
                by_mode[mode] = await _evaluate_mode(mode, backend, name, test, train, nearest, picks, settings,
                                                     options, prompt_layout)
    common = {
        "matching": {"mode": options.mode, "description": options.description},
        "test_examples": len(test),
        "test_split_examples": split_size,
        "test_sample": None if split_size <= cap else (
            f"a seeded sample (seed {SAMPLE_SEED}) of {cap:,} of the test split's {split_size:,} examples, "
            f"every scorer on the same ones ([evaluation] max_test_examples = {cap})"),
        "prompt_layout": prompt_layout,
        "readiness_threshold": readiness_threshold,
        "contamination": _contamination(nearest, settings),
        "controls": _controls_summary(by_mode),
        "modes": by_mode,
        "phase1_success_rates": phase1,
    }
    headline = next((by_mode[m] for m in MODES if by_mode.get(m, {}).get("status") == "measured"), None)
    if headline is None:
        reason = ("the test split is empty, so there are no held-out prompts to answer" if not test else
                  "; ".join(f"{m}: {by_mode[m]['reason']}" for m in MODES if m in by_mode))
        return {
            "status": "not measured", "reason": reason, "mode": None, "metric": None, "headline_metric": None,
            "headline_set": None,
            "baseline_success_rate": None, "post_training_success_rate": None, "improvement_pct": None,
            "relative_improvement_pct": None, "readiness_for_rl": False,
            "readiness_reason": f"not measured: {reason}", "tool_improvements": {}, "warnings": [], **common,
        }
    mode, metric = headline["mode"], headline["metric"]
    before, after = headline["baseline"], headline["post_training"]
    uncertainty = headline["uncertainty"]
    figures = headline["sets"][headline["headline_set"]]
    lower = uncertainty["trained"]["low"]
    described = _HEADLINE[mode][1]
    warnings, reasons = [], []
    retrieval = figures["accuracy"].get("retrieval")
    beats_retrieval = retrieval is None or after > retrieval
    if not beats_retrieval:
        warnings.append(f"the trained model ({after:.1%}) does not beat the retrieval control ({retrieval:.1%}): "
                        "answering with the calls of the most similar train task does as well")
        reasons.append(f"it does not beat the retrieval control ({retrieval:.1%})")
    clears = lower >= readiness_threshold
    reasons.insert(0, f"the interval's lower bound is {'at or above' if clears else 'below'} the threshold "
                      f"{readiness_threshold:.1%}")
    ready = clears and beats_retrieval
    return {
        "status": "measured",
        "mode": mode,
        "metric": metric,
        "headline_metric": {"mode": mode, "metric": metric, "description": described, "set": headline["headline_set"]},
        "headline_set": headline["headline_set"],
        "headline_set_reason": headline["headline_set_reason"],
        "baseline_success_rate": before,
        "post_training_success_rate": after,
        "improvement_pct": (after - before) * 100,
        "improvement_unit": "percentage points",
        "improvement_summary": uncertainty["summary"],
        "uncertainty": uncertainty,
        "trained_vs_strongest_control": figures.get("trained_vs_strongest_control"),
        "sets": headline["sets"],
        "relative_improvement_pct": (after - before) / before * 100 if before else None,
        "readiness_for_rl": ready,
        "readiness_reason": (
            f"trained model's {described} {after:.1%} on {headline['headline_set']} test examples ({mode} mode; 95% "
            f"interval from {lower:.1%}): {'; '.join(reasons)}"
        ),
        "warnings": warnings,
        "tool_improvements": headline["tool_improvements"],
        "per_difficulty": headline["per_difficulty"],
        "base": headline["base"],
        "trained": headline["trained"],
        **common,
    }
