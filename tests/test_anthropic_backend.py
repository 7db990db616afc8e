"""The ``anthropic`` training backend (in-context adaptation), through the real SDK over a fake API,
and a whole run with the ``anthropic`` describer and backend."""

from __future__ import annotations

import asyncio
import json
import random
import re
from pathlib import Path

import attrs
import pytest

from deepeyes_core import (
    ColdStartTrainer,
    ConfigError,
    DeepeyesError,
    PluginManager,
    ToolSpec,
    TrainingExample,
    ToolCall,
    TrainingSettings,
    TrajectoryCollector,
)
from deepeyes_core.plugins import BUILTIN_PLUGINS

anthropic = pytest.importorskip("anthropic")

from deepeyes_anthropic.backend import ARTIFACT, AnthropicBackend  # noqa: E402

from .conftest import invocation  # noqa: E402
from .test_anthropic_fakeapi import FakeAnthropicAPI, describe_from_prompt  # noqa: E402

KEY = "sk-ant-api03-BACKENDKEY-never-written-41c2"
MODULES = BUILTIN_PLUGINS + ("deepeyes_anthropic.describer", "deepeyes_anthropic.backend")
TOOLS = (
    ToolSpec("search", {"type": "object", "properties": {"query": {"type": "string"}}}),
    ToolSpec("fetch", {"type": "object", "properties": {"url": {"type": "string"}}}),
    ToolSpec("summarise", {"type": "object", "properties": {"doc": {"type": "string"}, "words": {"type": "integer"}}}),
    ToolSpec("notify", {"type": "object", "properties": {"channel": {"type": "string"}}}),
    ToolSpec("db.query", {"type": "object", "properties": {"sql": {"type": "string"}}}),
)
SEQUENCES = (
    ("search",),
    ("fetch",),
    ("db.query",),
    ("search", "fetch"),
    ("fetch", "summarise"),
    ("search", "fetch", "summarise"),
    ("db.query", "notify"),
    ("search", "fetch", "summarise", "notify"),
)
_SEQ_LINE = re.compile(r"^\d+\. ([\w.\-]+)\(", re.MULTILINE)


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    import anthropic._base_client as base

    monkeypatch.setattr(base, "INITIAL_RETRY_DELAY", 0.001)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


@pytest.fixture
def plugins(monkeypatch) -> PluginManager:
    import deepeyes_core.plugins as module

    manager = PluginManager(load_entry_points=False, builtins=MODULES)
    monkeypatch.setattr(module, "_default", manager)
    return manager


def arguments(tool: str, rng: random.Random) -> dict:
    n = rng.randrange(1000)
    return {
        "search": {"query": f"topic {n}"},
        "fetch": {"url": f"https://example.org/{n}"},
        "summarise": {"doc": f"doc-{n}", "words": 50 + n % 7},
        "notify": {"channel": f"#team-{n % 5}"},
        "db.query": {"sql": f"SELECT * FROM t{n}"},
    }[tool]


def examples(n: int, seed: int, prefix: str) -> list[TrainingExample]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        sequence = SEQUENCES[i % len(SEQUENCES)]
        params = tuple(arguments(t, rng) for t in sequence)
        difficulty = "easy" if len(sequence) == 1 else "medium" if len(sequence) < 4 else "hard"
        out.append(
            TrainingExample(
                task_id=f"{prefix}{i:03d}",
                task_description=f"Task {prefix}{i}: " + "; ".join(map(json.dumps, params)),
                tool_sequence=sequence,
                tool_parameters=params,
                difficulty=difficulty,
                agent="Researcher",
                tools=TOOLS,
            )
        )
    return out


TRAIN, VAL, TEST = examples(40, 1, "tr"), examples(16, 2, "va"), examples(16, 3, "te")
BY_PROMPT = {e.prompt("catalogue"): e for e in (*TRAIN, *VAL, *TEST)}


def demo_sequences(body) -> set[tuple[str, ...]]:
    system = "".join(b["text"] for b in body.get("system", []))
    return {tuple(_SEQ_LINE.findall(block)) for block in system.split("<example>")[1:]}


def model_answer(body):
    """Right when a demonstration shows the same tool sequence; no demonstrations: no usable answer."""
    example = BY_PROMPT[body["messages"][-1]["content"]]
    right = example.tool_sequence in demo_sequences(body)
    if "tools" in body:
        if not right:
            return [{"type": "text", "text": "I am not sure which tool to use."}]
        return [
            {
                "type": "tool_use",
                "id": f"toolu_{i:02d}",
                "name": re.sub(r"[^a-zA-Z0-9_-]", "_", call.name),
                "input": call.arguments,
            }
            for i, call in enumerate(example.calls)
        ]
    return example.completion() if right else "I would look it up."


def make(api: FakeAnthropicAPI, tmp_path: Path, **options) -> AnthropicBackend:
    options.setdefault("cache_dir", str(tmp_path / "cache"))
    return AnthropicBackend(AnthropicBackend.Options(**options), http_client=api.client())


def train(backend, tmp_path, epochs=3, seed=42, layout="catalogue", model="claude-haiku-4-5"):
    settings = TrainingSettings(model, epochs=epochs, seed=seed, prompt_layout=layout)
    return asyncio.run(backend.train(TRAIN, VAL, settings, tmp_path / "model"))


def test_listed_with_its_limits_said(plugins, tmp_path):
    info = plugins.get("training_backend", "anthropic")
    assert "no fine-tuning endpoint" in info.summary
    assert "bedrock-claude" in AnthropicBackend.__doc__ and "no fine-tuning endpoint" in AnthropicBackend.__doc__
    backend = plugins.build("training_backend", "anthropic", {"cache_dir": str(tmp_path), "tool_format": "tools"})
    assert backend.options.tool_format == "tools"


def test_missing_key_and_retired_model_are_config_errors(plugins, monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match=r"claude-haiku-4-5.*\[trainer\] model_id"):
        train(make(FakeAnthropicAPI(model_answer), tmp_path), tmp_path, model="claude-3-5-haiku-20241022")
    with pytest.raises(ConfigError, match=r"\[backend\] model"):
        plugins.build("training_backend", "anthropic", {"model": "claude-3-5-haiku-20241022"})
    api = FakeAnthropicAPI(model_answer, unknown_models=("claude-gone-1",))
    with pytest.raises(ConfigError, match=r"model: claude-gone-1.*\[trainer\] model_id"):
        train(make(api, tmp_path), tmp_path, model="claude-gone-1")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        plugins.build("training_backend", "anthropic")


def test_trains_by_choosing_demonstrations(tmp_path):
    api = FakeAnthropicAPI(model_answer)
    backend = make(api, tmp_path, candidates_per_round=4)
    progress = []
    run = asyncio.run(
        backend.train(
            TRAIN,
            VAL,
            TrainingSettings("claude-haiku-4-5", epochs=3),
            tmp_path / "model",
            lambda done, total: progress.append((done, total)),
        )
    )
    assert run.trained and run.backend == "anthropic" and progress == [(1, 3), (2, 3), (3, 3)]
    assert [m.epoch for m in run.epochs] == [1, 2, 3]
    scores = [m.val_score for m in run.epochs]
    assert scores == sorted(scores) and scores[-1] > run.extra["coverage_val_score"] >= 0
    assert run.not_applicable == {"learning_rate": "not applicable", "batch_size": "not applicable"}
    assert run.library_versions == {"anthropic": anthropic.__version__}
    artifact = json.loads(Path(run.artifact).read_text())
    assert Path(run.artifact).name == ARTIFACT and artifact["seed"] == 42
    assert artifact["demonstration_ids"] == [d["task_id"] for d in artifact["demonstrations"]]
    assert [r["val_score"] for r in artifact["rounds"]] == scores
    assert {t["name"] for t in artifact["tool_catalogue"]} == {t.name for t in TOOLS}
    assert "Tool Invocation Sequence" in artifact["system_prompt"]
    covered = {t for d in artifact["demonstrations"] for t in d["tool_sequence"]}
    assert covered == {t.name for t in TOOLS}
    assert {d["difficulty"] for d in artifact["demonstrations"]} == {"easy", "medium", "hard"}


def test_reproducible_from_the_seed_and_paid_once(tmp_path):
    api = FakeAnthropicAPI(model_answer)
    first = train(make(api, tmp_path), tmp_path / "a")
    calls = len(api.posts())
    again = make(api, tmp_path)
    second = train(again, tmp_path / "b")
    ids = [json.loads(Path(r.artifact).read_text())["demonstration_ids"] for r in (first, second)]
    assert ids[0] == ids[1] and len(api.posts()) == calls and again.usage.calls_started == 0
    other = train(make(FakeAnthropicAPI(model_answer), tmp_path / "fresh"), tmp_path / "c")
    assert json.loads(Path(other.artifact).read_text())["demonstration_ids"] == ids[0]


def test_serving_puts_demonstrations_behind_a_breakpoint(tmp_path):
    api = FakeAnthropicAPI(model_answer, latency_s=0.002)
    backend = make(api, tmp_path)
    assert asyncio.run(backend.generate("trained", ["x"])) is None  # nothing trained yet
    train(backend, tmp_path)
    before = len(api.calls)
    prompts = [e.prompt("catalogue") for e in TEST]
    trained = asyncio.run(backend.generate("trained", prompts))
    bodies = [body for _, path, body, _ in api.calls[before:]]
    assert len(bodies) == len(TEST)
    assert all(
        b["system"][-1]["cache_control"] == {"type": "ephemeral"} and "<example>" in b["system"][-1]["text"]
        for b in bodies
    )
    base = asyncio.run(backend.generate("base", prompts))
    base_bodies = [body for _, path, body, _ in api.calls[before + len(TEST) :]]
    assert all("<example>" not in json.dumps(b["system"]) for b in base_bodies)
    assert base_bodies[0]["model"] == bodies[0]["model"] == "claude-haiku-4-5"
    assert sum(t.startswith("Tool Invocation Sequence") for t in trained) > sum(
        t.startswith("Tool Invocation Sequence") for t in base
    )
    assert backend.usage.interactive.cache_read_input_tokens > 0 and backend.usage.cache_warning is None


def test_tool_use_answers_are_written_in_the_completion_layout(tmp_path):
    api = FakeAnthropicAPI(model_answer)
    backend = make(api, tmp_path, tool_format="tools")
    train(backend, tmp_path, epochs=1)
    body = api.posts()[-1]
    assert body["tool_choice"] == {"type": "any"}
    names = {t["name"] for t in body["tools"]}
    assert "db_query" in names and "db.query" not in names
    shown = {d.tool_sequence for d in backend.demonstrations}
    example = next(e for e in TEST if e.tool_sequence in shown and "db.query" in e.tool_sequence)
    [answer] = asyncio.run(backend.generate("trained", [example.prompt("catalogue")]))
    assert answer == example.completion()
    assert '. db.query({"sql": "SELECT * FROM t' in answer


def test_evaluation_measures_base_and_trained(tmp_path):
    from deepeyes_core.evaluation import evaluate_improvement

    api = FakeAnthropicAPI(model_answer)
    backend = make(api, tmp_path)
    train(backend, tmp_path)
    result = asyncio.run(evaluate_improvement(backend, TEST))
    assert result["status"] == "measured"
    assert result["post_training_success_rate"] > result["baseline_success_rate"] == 0.0


def stepped(example: TrainingExample) -> TrainingExample:
    """The example as a logged trajectory: the first call alone (it failed, with its error), then the
    rest made together, each with its real result."""
    from deepeyes_core import Step, StepCall, ToolResult

    calls = [StepCall(c.name, c.arguments, f"{example.task_id}.call-{i}", ToolResult(json.dumps({"n": i})))
             for i, c in enumerate(example.calls)]
    calls[0] = attrs.evolve(calls[0], result=ToolResult(None, True, "HTTP 503 from upstream"))
    steps = (Step((calls[0],)),) + ((Step(tuple(calls[1:]), "Now the rest."),) if len(calls) > 1 else ())
    return attrs.evolve(example, steps=steps)


def step_answer(body):
    """Right (the step's calls, as tool_use) when a demonstration shows the task's tool sequence."""
    task = body["messages"][0]["content"]
    example = next(e for e in (*TRAIN, *VAL, *TEST) if e.task_description == task)
    done = sum(1 for m in body["messages"] if m["role"] == "assistant")
    step = stepped(example).steps[done]
    if example.tool_sequence not in demo_sequences(body):
        return [{"type": "text", "text": "Which tool?"}]
    return [{"type": "tool_use", "id": f"toolu_{i}", "name": re.sub(r"[^a-zA-Z0-9_-]", "_", c.name), "input": c.arguments}
            for i, c in enumerate(reversed(step.calls))]


def test_step_prompts_replay_the_history_with_the_real_results(tmp_path):
    from deepeyes_core import step_prompts

    def answer(body):
        return step_answer(body) if body.get("tool_choice") == {"type": "auto"} else model_answer(body)

    api = FakeAnthropicAPI(answer)
    backend = make(api, tmp_path)
    assert asyncio.run(backend.generate_steps("trained", [])) is None  # nothing trained yet
    train(backend, tmp_path, epochs=1)
    shown = {d.tool_sequence for d in backend.demonstrations}
    example = stepped(next(e for e in TEST if e.tool_sequence in shown and len(e.tool_sequence) >= 3))
    prompts = step_prompts(example)
    before = len(api.posts())
    calls = asyncio.run(backend.generate_steps("trained", prompts))
    def as_set(calls):
        return sorted(json.dumps([c.name, c.arguments], sort_keys=True) for c in calls)

    # The parallel step's calls come back in the order Claude wrote them (here reversed).
    assert calls[1] != tuple(ToolCall(c.name, c.arguments) for c in example.steps[1].calls)
    assert [as_set(c) for c in calls] == [as_set(step.calls) for step in example.steps]

    bodies = api.posts()[before:]
    assert len(bodies) == 2 and all(b["tool_choice"] == {"type": "auto"} for b in bodies)
    assert {t["name"] for t in bodies[0]["tools"]} >= {"search", "fetch", "summarise"}
    assert "<example>" in "".join(b["text"] for b in bodies[1]["system"])
    first, second = bodies  # the step after the failed call sees that call and its real error
    assert first["messages"] == [{"role": "user", "content": example.task_description}]
    failed = example.steps[0].calls[0]
    assert second["messages"][1:] == [
        {"role": "assistant", "content": [{"type": "tool_use", "id": f"{example.task_id}_call-0",
                                           "name": failed.name, "input": failed.arguments}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"{example.task_id}_call-0",
                                      "content": "Error: HTTP 503 from upstream", "is_error": True}]},
    ]
    # The base model has no demonstrations and makes no call here; answers are cached on disk.
    assert asyncio.run(backend.generate_steps("base", prompts)) == [(), ()]
    posted = len(api.posts())
    assert asyncio.run(backend.generate_steps("trained", prompts)) == calls and len(api.posts()) == posted


def test_evaluation_runs_step_by_step_where_examples_have_steps(tmp_path):
    from deepeyes_core.evaluation import evaluate_improvement

    def answer(body):
        return step_answer(body) if body.get("tool_choice") == {"type": "auto"} else model_answer(body)

    backend = make(FakeAnthropicAPI(answer), tmp_path)
    train(backend, tmp_path)
    result = asyncio.run(evaluate_improvement(backend, [stepped(e) for e in TEST]))
    assert result["status"] == "measured" and result["headline_metric"]["mode"] == "step"
    assert result["post_training_success_rate"] > result["baseline_success_rate"] == 0.0
    assert result["modes"]["blind-sequence"]["status"] == "measured"
    assert result["trained"]["first_error"].get("none", 0) == round(result["post_training_success_rate"] * len(TEST))


def test_short_prefix_is_reported_not_claimed(tmp_path):
    backend = make(FakeAnthropicAPI(model_answer, cache_min_tokens=4096), tmp_path)
    train(backend, tmp_path, epochs=1)
    assert "4,096" in backend.usage.cache_warning and backend.usage.cache_savings_usd == 0


def test_api_failure_stops_instead_of_scoring_a_hole(tmp_path):
    api = FakeAnthropicAPI(model_answer)
    api.fail_next("api_error", "Internal server error", times=3)
    with pytest.raises(DeepeyesError, match="run again"):
        train(make(api, tmp_path, max_retries=2), tmp_path)


def test_guide_layout_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="guide"):
        train(make(FakeAnthropicAPI(model_answer), tmp_path), tmp_path, layout="guide")


# -- a whole run -----------------------------------------------------------------------------------


def test_whole_run_with_claude_describer_and_backend_never_writes_the_key(tmp_path, plugins, caplog):
    caplog.set_level("DEBUG")
    described: dict[str, list] = {}

    def answer(body):
        system = body["system"][0]["text"]
        if system.startswith("You write the task descriptions"):
            text = describe_from_prompt(body)
            described[text] = body["messages"][0]["content"]
            return text
        step = body.get("tool_choice") == {"type": "auto"}  # a step prompt: the history replayed
        prompt = body["messages"][0 if step else -1]["content"]
        task = prompt.split("\n", 1)[0].removeprefix("Task: ")
        user = described[task]
        calls = [
            (tool, json.loads(args)) for tool, args in re.findall(r"tool `([^`]+)`.*\n\s+arguments: (\{.*\})", user)
        ]
        if "<example>" not in "".join(b["text"] for b in body["system"]):
            return "I would look it up."
        if step:  # each logged call was its own step: make the next one
            tool, args = calls[sum(m["role"] == "assistant" for m in body["messages"])]
            return [{"type": "tool_use", "id": "toolu_1", "name": tool, "input": args}]
        return "Tool Invocation Sequence:\n" + "\n".join(
            f"{i}. {tool}({json.dumps(args)})" for i, (tool, args) in enumerate(calls, 1)
        )

    api = FakeAnthropicAPI(answer)
    cache = str(tmp_path / "cache")
    describer = plugins.get("task_describer", "anthropic").cls(
        plugins.get("task_describer", "anthropic").cls.Options(cache_dir=cache), http_client=api.client()
    )
    backend = AnthropicBackend(
        AnthropicBackend.Options(cache_dir=cache, candidates_per_round=3), http_client=api.client()
    )
    items = [
        invocation(tool, f"Agent{s % 3}", f"s{s}", at=s * 1000 + i, table=f"t{s}", key=f"k{s}-{i}")
        for s in range(60)
        for i, tool in enumerate(("database_query", "cache_set")[: 1 + s % 2])
    ]
    trainer = ColdStartTrainer(
        output_dir=tmp_path / "run",
        min_examples=10,
        backend=backend,
        plugins=plugins,
        collector=TrajectoryCollector(describer=describer),
    )
    result = asyncio.run(trainer.run_full_pipeline(items))
    assert result["status"] == "completed", result["message"]
    assert result["training"]["trained"] and result["evaluation"]["status"] == "measured"
    assert result["evaluation"]["post_training_success_rate"] > result["evaluation"]["baseline_success_rate"]
    # The collector records steps, so the headline is the step mode's; the blind score is beside it.
    assert result["evaluation"]["headline_metric"]["mode"] == "step"
    assert result["evaluation"]["modes"]["blind-sequence"]["status"] == "measured"
    assert describer.usage.interactive.calls == 60
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == ARTIFACT for p in files) and any(p.name.startswith("training_report_") for p in files)
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in caplog.text
