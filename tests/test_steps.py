"""An example's steps are the trajectory's turns as they happened, with every call's real outcome."""

from __future__ import annotations

import attrs
import pytest

from deepeyes_core import AssistantTurn, ToolResult, ToolStatus, Trajectory, canonical_text, example_steps
from tests.conftest import invocation


def test_each_call_keeps_its_real_result_and_error():
    calls = (
        attrs.evolve(invocation(at=0), result={"b": 2, "a": [1, "x"]}),
        attrs.evolve(invocation(ok=False, at=1), result={"code": 503}),
        invocation(ok=False, at=2),
        attrs.evolve(invocation(at=3), result=None),
    )
    steps = example_steps(Trajectory("A", calls), budget=1000)
    outcomes = [step.calls[0].result for step in steps]
    assert outcomes == [
        ToolResult('{"a":[1,"x"],"b":2}'),
        ToolResult('{"code":503}', True, "timeout after 5s"),
        ToolResult(None, True, "timeout after 5s"),
        None,  # the log has no result: said, not filled in
    ]
    assert [len(step.calls) for step in steps] == [1, 1, 1, 1]


def test_a_long_result_is_cut_with_a_marker_and_its_length():
    call = attrs.evolve(invocation(), result="x" * 50)
    (step,) = example_steps(Trajectory("A", (call,)), budget=20)
    result = step.calls[0].result
    assert result.content.startswith("x" * 20) and "truncated: 30 of 50 characters" in result.content
    assert result.original_chars == 50


def test_turns_come_from_the_source_or_from_step_ids():
    calls = tuple(attrs.evolve(invocation(at=i), step_id=s) for i, s in enumerate(["a", "a", None, "b", "b", "b"]))
    assert [len(s.calls) for s in example_steps(Trajectory("A", calls), 100)] == [2, 1, 3]
    declared = Trajectory("A", calls, turns=(AssistantTurn(1, "first"), AssistantTurn(5, "then the rest")))
    steps = example_steps(declared, 100)
    assert [(len(s.calls), s.text) for s in steps] == [(1, "first"), (5, "then the rest")]
    with pytest.raises(ValueError, match="cover 4 calls, the trajectory has 6"):
        example_steps(attrs.evolve(declared, turns=(AssistantTurn(4),)), 100)


def test_canonical_text_sorts_keys_and_keeps_strings():
    assert canonical_text({"b": 1, "a": None}) == '{"a":null,"b":1}'
    assert canonical_text("plain text") == "plain text"
    assert ToolStatus.FAILURE.value == "failure"


def test_the_neutral_conversation_interleaves_each_step_with_its_results():
    from deepeyes_core import Step, StepCall, TrainingExample, conversation, missing_outcomes, step_prompts

    ok, failed = ToolResult('{"rows":3}'), ToolResult(None, True, "timeout after 5s")
    steps = (
        Step((StepCall("search", {"q": "a"}, "c1", ok), StepCall("search", {"q": "b"}, "c2", failed)), "Two at once."),
        Step((StepCall("fetch", {"id": 3}, "c3", None),)),
    )
    example = TrainingExample("t", "Find a and b.", ("search", "search", "fetch"), ({"q": "a"}, {"q": "b"}, {"id": 3}),
                              steps=steps, final_answer="Found it.")
    turns = conversation(example).turns
    assert [(t.role, t.text, len(t.calls), t.call.call_id if t.call else None) for t in turns] == [
        ("user", "Find a and b.", 0, None),
        ("assistant", "Two at once.", 2, None), ("tool", None, 0, "c1"), ("tool", None, 0, "c2"),
        ("assistant", None, 1, None), ("tool", None, 0, "c3"),
        ("assistant", "Found it.", 0, None),
    ]
    assert turns[3].call.result == failed
    assert missing_outcomes(conversation(example)) == ["call c3 (fetch) has no recorded result"]
    prompts = step_prompts(example)
    assert [len(p.history.turns) for p in prompts] == [1, 4] and prompts[1].expected is steps[1]


def test_the_final_answer_and_turn_texts_are_redacted_like_everything_else():
    from deepeyes_core import Redactor

    secret = "hunter2-Very-Secret"
    calls = (attrs.evolve(invocation(at=0), parameters={"password": secret}), invocation(at=1))
    trajectory = Trajectory(
        "A", calls, turns=(AssistantTurn(1, f"Logging in with {secret}."), AssistantTurn(1, "Now the query.")),
        final_answer="Done; I emailed the report to ana@example.com.",
    )
    redacted = Redactor().redact(trajectory)
    assert secret not in redacted.turns[0].text and redacted.turns[1] is trajectory.turns[1]
    assert "ana@example.com" not in redacted.final_answer and redacted.final_answer.startswith("Done;")
    clean = Trajectory("A", (invocation(),), turns=(AssistantTurn(1, "Nothing to hide."),), final_answer="Fine.")
    assert Redactor().redact(clean) is clean
