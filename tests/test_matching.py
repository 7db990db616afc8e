"""Argument matching modes: accepted values, optional parameters, schema types, calls made together."""

from __future__ import annotations

import pytest

from deepeyes_core import (
    MODE_DESCRIPTIONS,
    Accepted,
    MatchOptions,
    NoOptions,
    ToolCall,
    ToolSpec,
    TrainingExample,
    TrainingRun,
    arguments_match,
    hookimpl,
    match_calls,
    score_answer,
    score_model,
    step_right,
)
from deepeyes_core.matching import sequence_matches, standardise, step_sizes
from deepeyes_core.records import Step, StepCall

STRICT = MatchOptions(mode="strict")
SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer"},
        "radius": {"type": "number"},
        "temps": {"type": "array", "items": {"type": "number"}},
        "ids": {"type": "array", "items": {"type": "integer"}},
        "metric": {"type": "boolean"},
        "unit": {"type": "string"},
        "either": {"type": ["integer", "string"]},
    },
    "required": ["city", "days"],
}


def test_standardise_is_bfcls():
    assert standardise("New York, N.Y. - 'USA'_*^/") == 'newyorkny"usa"'


def test_accepted_values_and_optional_parameters():
    expected = {"city": Accepted(("Paris", "Paris, France")), "unit": Accepted(("celsius",), optional=True)}
    for options in (MatchOptions(), STRICT):
        assert arguments_match(expected, {"city": "Paris, France", "unit": "celsius"}, options)
        assert arguments_match(expected, {"city": "Paris"}, options)  # optional: may be left out
        assert not arguments_match(expected, {"unit": "celsius"}, options)  # city may not
        assert not arguments_match(expected, {"city": "Lyon"}, options)
    assert arguments_match(expected, {"city": "paris france"})
    assert not arguments_match(expected, {"city": "paris france"}, STRICT)
    assert arguments_match(expected, {"city": "Paris", "unit": ""})  # BFCL's "" marker is a value too
    assert not arguments_match(expected, {"city": "Paris", "unit": ""}, STRICT)
    with pytest.raises(ValueError):
        Accepted(())


def test_optional_from_the_schema():
    expected = {"city": "Paris", "days": 3, "unit": "celsius"}
    assert arguments_match(expected, {"city": "Paris", "days": 3}, schema=SCHEMA)  # not required
    assert not arguments_match(expected, {"city": "Paris", "unit": "celsius"}, schema=SCHEMA)  # required
    assert not arguments_match(expected, {"city": "Paris", "days": 3})  # no schema: every key needed
    assert not arguments_match(expected, {"city": "Paris", "days": 3}, STRICT, schema=SCHEMA)
    # The reference's own Accepted decides; a required parameter is never optional.
    assert not arguments_match({"city": "Paris", "unit": Accepted(("c",))}, {"city": "Paris"}, schema=SCHEMA)
    assert not arguments_match({"city": Accepted(("Paris",), optional=True)}, {}, schema=SCHEMA)


@pytest.mark.parametrize(
    ("param", "expected", "predicted", "bfcl"),
    [
        ("days", 3, 3.0, False),  # integer: a float is wrong
        ("days", 3, True, False),
        ("radius", 2.0, 2, True),  # number: an int is right
        ("radius", 2.0, "2.0", False),
        ("temps", [1.0, 2.5], [1, 2.5], False),  # array items: exact type, as BFCL
        ("temps", [1.0, 2.5], [1.0, 2.5], True),
        ("ids", [1, 2], [1.0, 2.0], False),
        ("metric", True, 1, False),
        ("either", 3, "3", False),
        ("either", "x", "X", True),
        ("days", "n_days", "n_days", True),  # a reference of another type than its schema: exact
        ("days", "n_days", "N_DAYS", False),
    ],
)
def test_types_from_the_schema(param, expected, predicted, bfcl):
    reference, answer = {"city": "Paris", param: expected}, {"city": "Paris", param: predicted}
    if param != "days":
        reference["days"] = answer["days"] = 1
    assert arguments_match(reference, answer, schema=SCHEMA) is bfcl
    # Without a schema numbers compare by value, in both modes.
    assert arguments_match({"n": 3}, {"n": 3.0}) and arguments_match({"n": 3}, {"n": 3.0}, STRICT)


def test_match_calls_and_step_right_use_the_tools_schemas():
    tools = (ToolSpec("w", SCHEMA),)
    expected = [ToolCall("w", {"city": "Paris", "days": 1}), ToolCall("w", {"city": "Rome", "days": 2})]
    predicted = [ToolCall("w", {"city": "ROME", "days": 2}), ToolCall("w", {"city": "paris", "days": 1.0})]
    assert match_calls(expected, predicted, tools=tools) == [False, True]
    assert match_calls(expected, predicted) == [True, True]  # no schema: 1 == 1.0
    assert not step_right(expected, predicted, tools=tools)
    assert not step_right(expected, predicted, STRICT)


def test_calls_made_together_match_in_any_order():
    a, b, c = ToolCall("a", {"x": 1}), ToolCall("b", {"y": "Z"}), ToolCall("c")
    assert sequence_matches([a, b, c], [b, a, c], steps=(2, 1)) == ([True, True, True], True)
    assert sequence_matches([a, b, c], [b, a, c]) == ([False, False, True], False)
    assert sequence_matches([a, b, c], [a, c, b], steps=(2, 1)) == ([True, False, False], False)
    rendered = "\n".join(f"{i}. {call.render()}" for i, call in enumerate([b, a], 1))
    assert score_answer([a, b], rendered, steps=(2,)).exact
    assert not score_answer([a, b], rendered).exact


def _example(steps: list[list[ToolCall]]) -> TrainingExample:
    calls = [call for step in steps for call in step]
    return TrainingExample(
        task_id="t", task_description="do", tool_sequence=tuple(c.name for c in calls),
        tool_parameters=tuple(c.arguments for c in calls), tools=(ToolSpec("a", SCHEMA),),
        steps=tuple(Step(tuple(StepCall(c.name, c.arguments, f"id{i}{j}") for j, c in enumerate(s)))
                    for i, s in enumerate(steps)))


def test_score_model_matches_a_parallel_step_in_any_order_and_names_the_mode():
    one, two = ToolCall("a", {"city": "Paris", "days": 1}), ToolCall("a", {"city": "Rome", "days": 2})
    example = _example([[one, two]])
    assert step_sizes(example) == (2,)
    answer = f"1. {two.render()}\n2. {one.render()}"
    assert score_model([example], [answer])["exact_sequence_accuracy"] == 1.0
    assert score_model([_example([[one], [two]])], [answer])["exact_sequence_accuracy"] == 0.0
    wrong_type = answer.replace('"days": 2', '"days": 2.0')
    scores = score_model([example], [wrong_type])
    assert scores["matching"] == "bfcl" and scores["exact_sequence_accuracy"] == 0.0
    assert score_model([example], [wrong_type], STRICT)["exact_sequence_accuracy"] == 1.0
    assert set(MODE_DESCRIPTIONS) == {"bfcl", "strict"}


class _Echo:
    """Answers every prompt with one call nobody expects."""

    name = "echo"
    Options = NoOptions

    def __init__(self, options: NoOptions):
        pass

    async def train(self, train, val, settings, workdir, progress=None) -> TrainingRun:
        return TrainingRun(backend=self.name, trained=True)

    async def generate(self, model, prompts):
        return ['1. nothing({})'] * len(prompts)


class _EchoPlugin:
    @hookimpl
    def deepeyes_training_backends(self):
        yield _Echo


@pytest.mark.parametrize("mode", ["strict", "bfcl"])
def test_the_evaluation_table_names_the_matching_mode(deepeyes_plugins, deepeyes_run, mode):
    result = deepeyes_run(deepeyes_plugins(_EchoPlugin()), backend={"name": "echo"}, evaluation={"matching": mode})
    blind = result["evaluation"]["modes"]["blind-sequence"]
    assert blind["status"] == "measured"
    assert blind["base"]["matching"] == blind["trained"]["matching"] == mode
