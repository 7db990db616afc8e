"""Evaluation: parsing predicted calls, BFCL-style argument matching, scores, leak check, before/after."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepeyes_core.errors import LeakError
from deepeyes_core.evaluation import (
    ExampleScore,
    MatchOptions,
    arguments_match,
    check_no_leak,
    evaluate_improvement,
    parse_invocations,
    score_answer,
    score_model,
)
from deepeyes_core.records import ToolCall, ToolSpec, TrainingExample

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
params = st.dictionaries(st.text(max_size=10), json_values, max_size=4)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,15}", fullmatch=True)


@st.composite
def examples(draw):
    tools = draw(st.lists(names, min_size=1, max_size=5))
    return TrainingExample(
        task_id="t",
        task_description=draw(st.text(min_size=1, max_size=40)),
        tool_sequence=tuple(tools),
        tool_parameters=tuple(draw(params) for _ in tools),
        difficulty=draw(st.sampled_from(["easy", "medium", "hard"])),
    )


def canonical(calls):
    """Calls as JSON text: distinguishes 1 from 1.0 and True from 1, unlike dict equality."""
    return json.dumps([[c.name, c.arguments] for c in calls])


def example(task_id, calls, difficulty="easy", task=None):
    return TrainingExample(
        task_id=task_id,
        task_description=task or f"Do thing number {task_id}",
        tool_sequence=tuple(name for name, _ in calls),
        tool_parameters=tuple(args for _, args in calls),
        difficulty=difficulty,
        tools=(ToolSpec("db.query"), ToolSpec("cache_set")),
    )


# -- parsing -------------------------------------------------------------------------------------


@given(examples())
def test_parse_round_trips_the_completion(ex):
    parsed = parse_invocations(ex.completion())
    assert parsed is not None
    assert canonical(parsed) == canonical(ex.calls)


@given(examples(), st.sampled_from(["", "\n\nSuccess: Yes\n\nConfidence: high", "  \n"]))
def test_parse_round_trips_with_trailing_text_and_fences(ex, tail):
    text = f"```\n{ex.completion()}{tail}\n```"
    assert canonical(parse_invocations(text)) == canonical(ex.calls)


@pytest.mark.parametrize(
    "text",
    [
        'Tool Invocation Sequence:\n1. db.query({"table": "orders", "limit": 5})\n2. cache-set({"ttl": 60})',
        '  1. db.query({"table": "orders", "limit": 5})\n\n\n2. cache-set({"ttl": 60})  \n',
        '1) db.query( {"table":"orders","limit":5} )\n2) cache-set({ "ttl" : 60 })',
        (
            '```json\nTool Invocation Sequence:\n1. db.query({"limit": 5, "table": "orders"})\n'
            '2. cache-set({"ttl": 60})\n```\n\nSuccess: Yes\n\nConfidence: high'
        ),
        'Here you go:\n1. db.query({\n  "table": "orders",\n  "limit": 5\n})\n2. cache-set({"ttl": 60})',
        '- db.query({"table": "orders", "limit": 5})\n- cache-set({"ttl": 60})',
    ],
)
def test_parse_is_tolerant(text):
    assert parse_invocations(text) == (
        ToolCall("db.query", {"table": "orders", "limit": 5}),
        ToolCall("cache-set", {"ttl": 60}),
    )


def test_parse_reads_empty_parentheses_as_no_arguments():
    assert parse_invocations("1. now()\n2. now({})") == (ToolCall("now", {}), ToolCall("now", {}))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "Tool Invocation Sequence:\n",
        "I cannot help with that.",
        "1. db.query(table='orders')",  # Python keywords, not a JSON object
        '1. db.query(["orders"])',  # arguments not an object
        '1. db.query({"table": "orders"',  # unterminated
        '1. db.query({"table": "orders"}',  # no closing parenthesis
        '1. db.query({"table": orders})',  # invalid JSON
        '1. db.query({"table": "orders"})\n2. then cache the rows',  # a numbered line that is no call
    ],
)
def test_parse_refuses_unparseable_answers(text):
    assert parse_invocations(text) is None


# -- argument matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "predicted", "bfcl", "strict"),
    [
        ({"n": 5}, {"n": 5.0}, True, True),  # no schema: numbers by value in both modes
        ({"n": 5.0}, {"n": 5}, True, True),
        ({"n": 5}, {"n": 5.5}, False, False),
        ({"flag": True}, {"flag": 1}, False, False),
        ({"n": 1}, {"n": True}, False, False),
        ({"flag": False}, {"flag": False}, True, True),
        ({"a": 1, "b": "x"}, {"b": "x", "a": 1}, True, True),
        ({"a": 1, "b": "x"}, {"a": 1}, False, False),
        ({"a": 1}, {"a": 1, "b": "x"}, False, False),
        ({"a": None}, {"a": None}, True, True),
        ({"a": None}, {"a": 0}, False, False),
        ({"a": "5"}, {"a": 5}, False, False),
        ({"a": {"b": [1, {"c": 2}]}}, {"a": {"b": [1.0, {"c": 2}]}}, True, True),
        ({"a": {"b": [1, {"c": 2}]}}, {"a": {"b": [1, {"c": 2, "d": 3}]}}, False, False),
        ({"a": [1, 2]}, {"a": [2, 1]}, False, False),
        ({"a": [1, 2]}, {"a": [1, 2, 3]}, False, False),
        ({"a": [1]}, {"a": {"0": 1}}, False, False),
        ({"s": "Orders"}, {"s": "orders"}, True, False),  # BFCL lower-cases
        ({"s": "New York, NY"}, {"s": "new york ny"}, True, False),  # and drops spaces and ,./-_*^
        ({"s": "New York"}, {"s": "NewYork!"}, False, False),
        ({}, {}, True, True),
    ],
)
def test_arguments_match_by_mode(expected, predicted, bfcl, strict):
    assert arguments_match(expected, predicted) is bfcl
    assert arguments_match(expected, predicted, MatchOptions(mode="strict")) is strict


def test_match_options():
    assert arguments_match({"x": 1.0}, {"x": 1.05}, MatchOptions(float_tolerance=0.1))
    assert arguments_match({"x": 1.0}, {"x": 1.05}, MatchOptions(mode="strict", float_tolerance=0.1))
    assert not arguments_match({"x": 1.0}, {"x": 1.2}, MatchOptions(float_tolerance=0.1))
    assert not arguments_match({"x": True}, {"x": 1}, MatchOptions(float_tolerance=0.5))
    assert MatchOptions().mode == "bfcl" and "BFCL" in MatchOptions().description
    with pytest.raises(ValueError):
        MatchOptions(mode="fuzzy")
    with pytest.raises(ValueError):
        MatchOptions(float_tolerance=-1)


# -- scores --------------------------------------------------------------------------------------

Q = ("db.query", {"table": "orders", "limit": 5})
C = ("cache_set", {"ttl": 60})


def render(*calls):
    return "Tool Invocation Sequence:\n" + "\n".join(
        f"{i}. {ToolCall(n, a).render()}" for i, (n, a) in enumerate(calls, 1)
    )


def test_score_answer():
    expected = example("e", [Q, C]).calls
    assert score_answer(expected, render(Q, C)) == ExampleScore(True, True, True, 1.0)
    assert score_answer(expected, render(Q, ("cache_set", {"ttl": 61}))) == ExampleScore(True, False, True, 0.5)
    assert score_answer(expected, render(C, Q)) == ExampleScore(True, False, False, 0.0)
    assert score_answer(expected, render(Q)) == ExampleScore(True, False, False, 0.5)
    assert score_answer(expected, render(Q, C, C)) == ExampleScore(True, False, False, 1.0)
    assert score_answer(expected, "no idea") == ExampleScore(False, False, False, 0.0)


@pytest.fixture
def test_set():
    return [
        example("1", [Q, C], "easy"),
        example("2", [Q], "easy"),
        example("3", [C, Q], "medium"),
        example("4", [C], "hard"),
    ]


def test_score_model_numbers(test_set):
    answers = [
        render(Q, C),  # exact
        render(("db.query", {"table": "users", "limit": 5})),  # right name, wrong argument
        render(C, ("db.query", {"limit": 5.0, "table": "orders"})),  # exact (5 == 5.0, key order)
        "1. cache_set(ttl=60)",  # unparseable
    ]
    scores = score_model(test_set, answers)
    assert scores == {
        "mode": "blind-sequence",
        "matching": "bfcl",
        "examples": 4,
        "exact_sequence_accuracy": 0.5,
        "tool_name_sequence_accuracy": 0.75,
        "argument_accuracy": 4 / 6,
        "unparseable": 1,
        "per_tool": {"cache_set": 2 / 3, "db.query": 2 / 3},
        "per_difficulty": {"easy": 0.5, "medium": 1.0, "hard": 0.0},
        "outcomes": [True, False, True, False],
    }


def test_score_model_refuses_a_count_mismatch(test_set):
    with pytest.raises(ValueError, match="3 answers for 4 examples"):
        score_model(test_set, ["", "", ""])


# -- leak check ----------------------------------------------------------------------------------


def test_leak_check_refuses_the_guide_layout_and_accepts_the_others(test_set):
    for ex in test_set:
        with pytest.raises(LeakError, match="catalogue"):
            check_no_leak(ex, ex.prompt("guide"))
        check_no_leak(ex, ex.prompt("catalogue"))
        check_no_leak(ex, ex.prompt("task"))


def test_leak_check_looks_at_call_syntax_only():
    ex = example("v", [Q], task="Read 5 rows of the orders table")
    check_no_leak(ex, ex.prompt("catalogue"))
    with pytest.raises(LeakError, match="db.query"):
        check_no_leak(ex, "Task: hint: " + ToolCall(*Q).render())
    with pytest.raises(LeakError, match="expected call"):
        check_no_leak(ex, 'Task: db.query({"table":"orders","limit":5})')
    with pytest.raises(LeakError, match="completion"):
        check_no_leak(ex, ex.completion())


# -- before / after ------------------------------------------------------------------------------


class ReplayBackend:
    """Answers with the reference completion for "trained" and a wrong call for "base", except for
    the test examples named in ``base_right``; or cannot answer with the roles in ``cannot``."""

    name = "replay"

    def __init__(self, examples, base_right=(), cannot=()):
        self.by_prompt = {ex.prompt("catalogue"): ex for ex in examples}
        assert len(self.by_prompt) == len(examples), "test prompts must differ"
        self.base_right = set(base_right)
        self.cannot = set(cannot)
        self.asked = []

    async def generate(self, model, prompts):
        self.asked.append(model)
        if model in self.cannot:
            return None
        answers = []
        for prompt in prompts:
            ex = self.by_prompt[prompt]
            if model == "trained" or ex.task_id in self.base_right:
                answers.append(ex.completion())
            else:
                answers.append(render(("db.query", {"table": "nothing"})))
        return answers


def test_evaluate_improvement_measures_both_models(test_set):
    backend = ReplayBackend(test_set, base_right={"4"})
    ev = asyncio.run(evaluate_improvement(backend, test_set, phase1_success_rates={"db.query": 0.99}))
    assert sorted(backend.asked) == ["base", "trained"]
    assert ev["status"] == "measured"
    assert ev["metric"] == "exact_sequence_accuracy"
    assert ev["test_examples"] == 4
    assert ev["baseline_success_rate"] == 0.25
    assert ev["post_training_success_rate"] == 1.0
    assert ev["improvement_pct"] == pytest.approx(75.0)
    assert ev["improvement_unit"] == "percentage points"
    assert ev["relative_improvement_pct"] == pytest.approx(300.0)
    assert ev["readiness_for_rl"] is True
    assert ev["tool_improvements"]["cache_set"] == {"before": pytest.approx(1 / 3), "after": 1.0,
                                                   "delta_pct_points": pytest.approx(200 / 3)}
    assert ev["tool_improvements"]["db.query"]["before"] == 0.0
    assert ev["per_difficulty"]["hard"] == {"before": 1.0, "after": 1.0, "delta_pct_points": 0.0}
    assert ev["per_difficulty"]["easy"]["before"] == 0.0
    assert ev["base"]["unparseable"] == 0 and ev["trained"]["argument_accuracy"] == 1.0
    assert ev["phase1_success_rates"] == {"db.query": 0.99}


def test_evaluate_improvement_readiness_and_zero_baseline(test_set):
    backend = ReplayBackend(test_set)
    ev = asyncio.run(evaluate_improvement(backend, test_set, readiness_threshold=1.01))
    assert ev["baseline_success_rate"] == 0.0
    assert ev["relative_improvement_pct"] is None
    assert ev["improvement_pct"] == pytest.approx(100.0)
    assert ev["readiness_for_rl"] is False
    assert "below" in ev["readiness_reason"]


@pytest.mark.parametrize("role", ["trained", "base"])
def test_evaluate_improvement_not_measured_when_a_model_cannot_answer(test_set, role):
    backend = ReplayBackend(test_set, cannot={role})
    ev = asyncio.run(evaluate_improvement(backend, test_set, phase1_success_rates={"x": 0.9}))
    assert ev["status"] == "not measured"
    assert f"{role} model" in ev["reason"] and "'replay'" in ev["reason"]
    for key in ("baseline_success_rate", "post_training_success_rate", "improvement_pct", "relative_improvement_pct"):
        assert ev[key] is None
    assert ev["readiness_for_rl"] is False
    assert ev["tool_improvements"] == {}
    assert ev["phase1_success_rates"] == {"x": 0.9}


def test_evaluate_improvement_empty_test_split():
    backend = ReplayBackend([])
    ev = asyncio.run(evaluate_improvement(backend, []))
    assert ev["status"] == "not measured" and "empty" in ev["reason"]
    assert ev["improvement_pct"] is None and backend.asked == []


def test_evaluate_improvement_refuses_leaking_prompts_before_generating(test_set):
    backend = ReplayBackend(test_set)
    with pytest.raises(LeakError):
        asyncio.run(evaluate_improvement(backend, test_set, prompt_layout="guide"))
    assert backend.asked == []


# -- step mode -----------------------------------------------------------------------------------

from deepeyes_core.evaluation import match_calls, score_steps, step_right  # noqa: E402
from deepeyes_core.records import Step, StepCall, ToolResult  # noqa: E402

W_PARIS, W_BERLIN = ("weather", {"city": "Paris"}), ("weather", {"city": "Berlin"})
MAIL = ("send_email", {"to": "bob@example.com"})


def stepped(task_id, steps, difficulty="medium"):
    """An example whose steps are given as lists of (name, arguments); every call with a result."""
    calls = [call for step in steps for call in step]
    return attrs_evolve(example(task_id, calls, difficulty), steps=tuple(
        Step(tuple(StepCall(n, a, f"{task_id}-{i}-{k}", ToolResult('"ok"')) for k, (n, a) in enumerate(step)))
        for i, step in enumerate(steps)))


def attrs_evolve(inst, **changes):
    import attrs

    return attrs.evolve(inst, **changes)


def tc(*calls):
    return tuple(ToolCall(n, a) for n, a in calls)


def test_a_parallel_step_matches_as_a_set():
    expected = tc(W_PARIS, W_BERLIN)
    assert step_right(expected, tc(W_BERLIN, W_PARIS))
    assert not step_right(expected, tc(W_PARIS, W_PARIS))  # one call may not stand for two
    assert match_calls(expected, tc(W_PARIS, W_PARIS)) == [True, False]
    assert not step_right(expected, tc(W_BERLIN, W_PARIS, MAIL))  # an extra call makes the step wrong
    assert match_calls(expected, tc(W_BERLIN, W_PARIS, MAIL)) == [True, True]
    assert not step_right(expected, tc(W_PARIS))
    # Matching is maximal, not greedy: with a tolerance of 0.5, x=1.0 fits both predictions and x=0.6
    # only the first; a greedy match would give the first to x=1.0 and leave x=0.6 unmatched.
    loose = MatchOptions(float_tolerance=0.5)
    assert match_calls(tc(("w", {"x": 1.0}), ("w", {"x": 0.6})), tc(("w", {"x": 1.0}), ("w", {"x": 1.4})), loose) == [True, True]
    assert step_right(tc(("w", {"x": 1.0}), ("w", {"x": 0.6})), tc(("w", {"x": 1.0}), ("w", {"x": 1.4})), loose)


def test_score_steps_numbers():
    two = stepped("a", [[W_PARIS, W_BERLIN], [MAIL]], "medium")
    one = stepped("b", [[MAIL]], "easy")
    three = stepped("c", [[W_PARIS], [W_BERLIN], [MAIL]], "hard")
    predicted = [
        [tc(W_BERLIN, W_PARIS), tc(MAIL)],            # every step right (parallel step in another order)
        [()],                                          # no call
        [tc(W_PARIS), tc(W_PARIS), tc(MAIL)],          # wrong at step 1, right again at step 2
    ]
    scores = score_steps([two, one, three], predicted)
    assert scores["mode"] == "step"
    assert scores["steps"] == 6 and scores["examples"] == 3
    assert scores["step_accuracy"] == pytest.approx(4 / 6)
    assert scores["trajectory_accuracy"] == pytest.approx(1 / 3)
    assert scores["call_accuracy"] == pytest.approx(5 / 7)
    assert scores["steps_without_calls"] == 1
    assert scores["first_error"] == {"0": 1, "1": 1, "none": 1}
    assert scores["per_step_index"] == {"0": pytest.approx(2 / 3), "1": 0.5, "2": 1.0}
    assert scores["per_tool"] == {"send_email": pytest.approx(2 / 3), "weather": 0.75}
    assert scores["per_difficulty"] == {"easy": 0.0, "medium": 1.0, "hard": 0.0}
    with pytest.raises(ValueError, match="step answers"):
        score_steps([two], [[tc(MAIL)]])


class StepReplayBackend(ReplayBackend):
    """Also answers step prompts: the trained model makes each step's calls (in reverse order, which
    a set match accepts), the base model makes none."""

    def __init__(self, examples, cannot=()):
        super().__init__(examples, cannot=cannot)
        self.step_prompts = []

    async def generate_steps(self, model, prompts):
        self.asked.append(("steps", model))
        self.step_prompts.extend(prompts)
        if model in self.cannot:
            return None
        if model == "base":
            return [() for _ in prompts]
        return [tuple(ToolCall(c.name, c.arguments) for c in reversed(p.expected.calls)) for p in prompts]


@pytest.fixture
def stepped_set():
    return [stepped("a", [[W_PARIS, W_BERLIN], [MAIL]], "medium"), stepped("b", [[MAIL]], "easy"),
            example("flat", [Q], "easy")]


def test_step_mode_is_the_headline_where_examples_have_steps(stepped_set):
    backend = StepReplayBackend(stepped_set)
    ev = asyncio.run(evaluate_improvement(backend, stepped_set))
    assert backend.asked[:2] == [("steps", "trained"), ("steps", "base")]  # trained first
    assert ev["status"] == "measured" and ev["mode"] == "step" and ev["metric"] == "trajectory_accuracy"
    assert ev["headline_metric"]["mode"] == "step"
    step = ev["modes"]["step"]
    assert step["status"] == "measured" and step["step_prompts"] == 3 and step["examples_without_steps"] == 1
    assert ev["baseline_success_rate"] == 0.0 and ev["post_training_success_rate"] == 1.0
    assert ev["improvement_pct"] == pytest.approx(100.0) and ev["readiness_for_rl"] is True
    assert ev["trained"]["mode"] == "step" and ev["trained"]["first_error"] == {"none": 2}
    assert ev["base"]["first_error"] == {"0": 2}
    assert ev["tool_improvements"]["weather"] == {"before": 0.0, "after": 1.0, "delta_pct_points": 100.0}
    # The model saw the real results of the steps before: the second prompt of "a" holds step 0's.
    second = [p for p in backend.step_prompts if p.index == 1][0]
    assert [t.role for t in second.history.turns] == ["user", "assistant", "tool", "tool"]
    assert second.history.turns[2].call.result == ToolResult('"ok"')
    # The blind mode ran too, over every example, and says so.
    blind = ev["modes"]["blind-sequence"]
    assert blind["status"] == "measured" and blind["mode"] == "blind-sequence"
    assert blind["metric"] == "exact_sequence_accuracy" and blind["base"]["examples"] == 3


def test_blind_only_when_the_backend_has_no_generate_steps(stepped_set):
    ev = asyncio.run(evaluate_improvement(ReplayBackend(stepped_set), stepped_set))
    assert ev["mode"] == "blind-sequence" and ev["headline_metric"]["metric"] == "exact_sequence_accuracy"
    assert ev["modes"]["step"]["status"] == "not run" and "generate_steps" in ev["modes"]["step"]["reason"]
    assert ev["trained"]["mode"] == "blind-sequence"


def test_step_mode_not_run_without_steps_and_modes_can_be_chosen(test_set, stepped_set):
    ev = asyncio.run(evaluate_improvement(StepReplayBackend(test_set), test_set))
    assert ev["mode"] == "blind-sequence" and "no test example has steps" in ev["modes"]["step"]["reason"]
    backend = StepReplayBackend(stepped_set)
    ev = asyncio.run(evaluate_improvement(backend, stepped_set, modes=["step"]))
    assert list(ev["modes"]) == ["step"] and all(isinstance(a, tuple) for a in backend.asked)
    with pytest.raises(ValueError, match="unknown evaluation modes"):
        asyncio.run(evaluate_improvement(backend, stepped_set, modes=["vibes"]))


def test_step_mode_not_measured_when_the_trained_model_cannot_answer(stepped_set):
    backend = StepReplayBackend(stepped_set, cannot={"trained"})
    ev = asyncio.run(evaluate_improvement(backend, stepped_set))
    assert ev["status"] == "not measured" and ev["improvement_pct"] is None
    assert ev["modes"]["step"]["status"] == "not measured" and ev["modes"]["blind-sequence"]["status"] == "not measured"
    assert "step:" in ev["reason"] and "blind-sequence:" in ev["reason"]
    assert ("steps", "base") not in backend.asked


class _NinetyPercent:
    """Blind answers only: the trained model right on 18 of 20 examples, the base on none."""

    name = "ninety"

    async def generate(self, model, prompts):
        return [self.right[i] if model == "trained" and i % 10 else "" for i in range(len(prompts))]


def test_readiness_needs_the_intervals_lower_bound_to_clear_the_threshold():
    examples = [example(str(i), [Q], "easy") for i in range(20)]
    backend = _NinetyPercent()
    backend.right = [render(Q)] * 20
    result = asyncio.run(evaluate_improvement(backend, examples, prompt_layout="task", readiness_threshold=0.85))
    assert result["post_training_success_rate"] == 0.9  # the point estimate clears 0.85 ...
    low = result["uncertainty"]["trained"]["low"]
    assert low < 0.85 and result["readiness_for_rl"] is False  # ... its interval does not
    assert f"from {low:.1%}" in result["readiness_reason"]
    assert result["improvement_summary"].startswith("+90.0 pts (95% CI") and "p<0.001" in result["improvement_summary"]
    assert result["uncertainty"]["trained_only_right"] == 18 and result["uncertainty"]["base_only_right"] == 0
