"""The pass-rate router: DeepEyesV2's curation by the base model's pass rate (issue #14, part).

The stub base model's answers are right with a known frequency per example (4/4, 2/4 or 0/4,
chosen from a hash of the task text), so every route is known in advance.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest
from deepeyes_builtin.backends import DryRunBackend

from deepeyes_core import (
    ConfigError,
    Pipeline,
    Sampling,
    StepPrompt,
    ToolCall,
    TrainingExample,
    TrainingSettings,
    base_model_passes,
    hookimpl,
)
from deepeyes_core.config import parse_config

#: How many of 4 samples the stub gets right, by the task's class.
RIGHT = (4, 2, 0)


def right_of(task: str, samples: int = 4) -> int:
    """Right answers out of ``samples`` for a task: known from its text."""
    return RIGHT[int(hashlib.sha256(task.encode()).hexdigest(), 16) % 3] * samples // 4


def _right(task: str, j: int, sampling: Sampling) -> bool:
    """Sample ``j`` is right for the first right_of(task) draws, rotated by the seed."""
    return (j + sampling.seed) % sampling.samples < right_of(task, sampling.samples)


class StubBackend(DryRunBackend):
    """A base model whose sampled answers are right with a known frequency per example."""

    name = "stub-sampler"

    def __init__(self, options):
        super().__init__(options)
        self.answers: dict[str, str] = {}  # blind prompt -> right completion (examples without steps)

    async def sample(self, prompts, sampling, settings):
        return [[self.answers[p] if _right(p, j, sampling) else "I would rather not." for j in range(sampling.samples)]
                for p in prompts]

    async def sample_steps(self, prompts: list[StepPrompt], sampling, settings):
        out = []
        for prompt in prompts:
            task = prompt.history.turns[0].text
            calls = tuple(ToolCall(c.name, c.arguments) for c in prompt.expected.calls)
            out.append([calls if _right(task, j, sampling) else () for j in range(sampling.samples)])
        return out


class StubPlugin:
    @hookimpl
    def deepeyes_training_backends(self):
        return [StubBackend]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _task(record: dict) -> str:
    """The task text of an exported record (its prompt starts "Task: <text>" then a blank line)."""
    return record["prompt"].split("\n\n")[0].removeprefix("Task: ")


def test_the_router_routes_by_known_pass_rates(deepeyes_plugins, deepeyes_run, tmp_path):
    plugins = deepeyes_plugins(StubPlugin())
    plain = deepeyes_run(plugins, backend={"name": "stub-sampler"}, output_dir=str(tmp_path / "plain"),
                         trainer={"min_examples": 3})
    result = deepeyes_run(plugins, backend={"name": "stub-sampler"}, router={"name": "pass-rate"},
                          trainer={"min_examples": 3})
    run = Path(result["rejects_file"]).parent
    stats = json.loads((run / "dataset_stats.json").read_text())
    routing = stats["routing"]

    before = plain["training_examples_count"]  # what reached the split without a router
    sft = [r for split in ("train", "val", "test") for r in _lines(run / f"sft_{split}.jsonl")]
    pool = _lines(run / "rl_pool.jsonl")
    dropped = [r for r in _lines(run / "rejects.jsonl") if r["stage"] == "route"]
    # Every example ends in exactly one place, and each route holds what the stub's rates say.
    assert len(sft) + len(pool) + len(dropped) == before == routing["examples"]
    assert sft and pool and dropped
    every = [r for split in ("train", "val", "test") for r in _lines(Path(plain["rejects_file"]).parent / f"sft_{split}.jsonl")]
    classes = [right_of(_task(r)) for r in every]
    assert (classes.count(0), classes.count(2), classes.count(4)) == (len(sft), len(pool), len(dropped))
    assert all(right_of(_task(r)) == 0 for r in sft) and all(right_of(_task(r)) == 2 for r in pool)
    assert all(r["passes"] == 2 and r["samples"] == 4 and r["pass_rate"] == 0.5 for r in pool)
    assert {r["reason"] for r in dropped} == {"solved by the base model 4/4"}
    assert (routing["dropped_solved"], routing["rl_pool"], routing["sft"]) == (len(dropped), len(pool), len(sft))
    assert (routing["samples"], routing["temperature"], routing["seed"]) == (4, 1.0, 42)
    assert routing["scored_by_mode"] == {"step": before}
    assert stats["rejects"]["by_reason"]["solved by the base model 4/4"] == len(dropped)
    # The RL pool's records are the jsonl exporter's records plus the pass rate.
    assert set(pool[0]) == {"task_id", "prompt", "completion", "metadata", "pass_rate", "passes", "samples", "pass_mode"}
    assert result["files"]["rl_pool"] == str(run / "rl_pool.jsonl")
    report = json.loads(Path(result["report_file"]).read_text())
    assert "route" in report["timings_s"] and report["dataset_stats"]["routing"] == routing
    page = Path(result["report_file"]).with_suffix(".html").read_text()
    assert f"RL pool, rl_pool.jsonl (solved sometimes)</td><td>{len(pool)}</td>" in page
    assert f"dropped (solved reliably)</td><td>{len(dropped)}</td>" in page
    manifest = json.loads((run / "manifest.json").read_text())
    assert "rl_pool.jsonl" in json.dumps(manifest)


def test_thresholds_decide_the_routes(deepeyes_plugins, deepeyes_run):
    plugins = deepeyes_plugins(StubPlugin())
    result = deepeyes_run(plugins, backend={"name": "stub-sampler"},
                          router={"name": "pass-rate", "reliable_at": 0.5, "sft_at_most": 0.25})
    routing = result["dataset_stats"]["routing"]
    assert routing["rl_pool"] == 0  # 2/4 is now "reliable": nothing lies strictly between
    reasons = result["dataset_stats"]["rejects"]["by_reason"]
    assert "solved by the base model 2/4" in reasons and "solved by the base model 4/4" in reasons


def test_the_dry_run_backend_is_refused_before_any_log_is_read(plugins, tmp_path):
    config = parse_config({"sources": [{"name": "baseline", "paths": [str(tmp_path / "missing.jsonl")]}],
                           "router": {"name": "pass-rate"}})
    with pytest.raises(ConfigError) as caught:
        Pipeline.from_config(config, tmp_path, plugins)
    message = str(caught.value)
    assert "\n" not in message
    assert "router 'pass-rate'" in message and "training backend 'dry-run'" in message


def test_bad_thresholds_name_the_fields(plugins):
    with pytest.raises(ConfigError, match="sft_at_most.*reliable_at"):
        plugins.build("router", "pass-rate", {"reliable_at": 0.5, "sft_at_most": 0.5})
    with pytest.raises(ConfigError, match="temperature"):
        plugins.build("router", "pass-rate", {"temperature": 0})


def _bare(task_id: str, task: str, calls: list[tuple[str, dict]]) -> TrainingExample:
    return TrainingExample(task_id=task_id, task_description=task, tool_sequence=tuple(n for n, _ in calls),
                           tool_parameters=tuple(a for _, a in calls))


def test_examples_without_steps_are_scored_blind_on_the_exact_sequence():
    examples = [_bare(f"t{i}", f"look up order {i}", [("db", {"id": i}), ("mail", {"to": "ops"})]) for i in range(9)]
    settings = TrainingSettings("stub", prompt_layout="task")
    backend = StubBackend(None)
    backend.answers = {e.prompt("task"): e.completion() for e in examples}
    for seed in (0, 3):
        routed = asyncio.run(base_model_passes(examples, backend, Sampling(4, 1.0, seed), settings))
        assert [r.passes for r in routed] == [right_of(e.prompt("task")) for e in examples]
        assert {r.mode for r in routed} == {"blind-sequence"}
    assert sorted({right_of(e.prompt("task")) for e in examples}) == [0, 2, 4]  # every class is exercised


def test_trl_sampling_really_samples_and_a_seed_repeats_it(tmp_path):
    pytest.importorskip("trl")
    from deepeyes_trl import tiny
    from deepeyes_trl.backend import TrlBackend
    from deepeyes_trl.engine import TrlSettings

    small = TrlSettings(tiny_vocab_size=300, tiny_hidden_size=32, tiny_layers=1, tiny_heads=2, max_new_tokens=12)
    model, tokenizer = tiny.build([f"call db with id {i} then mail ops" for i in range(50)], small)
    model.save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")
    backend = TrlBackend(TrlSettings(model=str(tmp_path / "base"), max_new_tokens=12))
    settings = TrainingSettings("local", prompt_layout="task")
    prompts = ["Task: look up order 7", "Task: mail the ops team"]

    def draw(seed: int) -> list[list[str]]:
        return asyncio.run(backend.sample(prompts, Sampling(4, 1.0, seed), settings))

    first = draw(1)
    assert [len(answers) for answers in first] == [4, 4]
    assert all(len(set(answers)) > 1 for answers in first)  # k samples at temperature 1.0 differ
    assert draw(1) == first
    assert draw(2) != first
    with pytest.raises(ConfigError, match='"tiny" has no base model before training'):
        asyncio.run(TrlBackend(TrlSettings()).sample(prompts, Sampling(), settings))


def test_a_rerun_of_anthropic_sampling_pays_nothing_twice(tmp_path, monkeypatch):
    pytest.importorskip("anthropic")
    from deepeyes_anthropic.backend import AnthropicBackend

    from .test_anthropic_backend import KEY, TEST
    from .test_anthropic_fakeapi import FakeAnthropicAPI

    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    asked: dict[str, int] = {}

    def sometimes_right(body):
        """Every other request for a prompt is answered right: 2 of 4 samples."""
        prompt = body["messages"][-1]["content"]
        asked[prompt] = asked.get(prompt, 0) + 1
        example = next(e for e in TEST if e.prompt("catalogue") == prompt)
        return example.completion() if asked[prompt] % 2 else "I would look it up."

    examples, settings = TEST[:5], TrainingSettings("claude-haiku-4-5", prompt_layout="catalogue")
    api = FakeAnthropicAPI(sometimes_right)

    def route(seed: int):
        backend = AnthropicBackend(AnthropicBackend.Options(cache_dir=str(tmp_path / "cache")), http_client=api.client())
        return asyncio.run(base_model_passes(examples, backend, Sampling(4, 1.0, seed), settings))

    first = route(3)
    posts = api.posts()
    assert len(posts) == 5 * 4 and not any("temperature" in p for p in posts)  # the API takes none
    assert [r.passes for r in first] == [2] * 5 and {r.mode for r in first} == {"blind-sequence"}
    assert route(3) == first and len(api.posts()) == 20  # the rerun is served from the cache
    route(4)
    assert len(api.posts()) == 40  # another seed draws new samples
    with pytest.raises(ConfigError, match="takes no sampling parameters"):
        asyncio.run(base_model_passes(examples, AnthropicBackend(), Sampling(4, 0.7, 3), settings))


def test_deepeyes_stats_prints_the_routes(deepeyes_plugins, deepeyes_run, capsys, monkeypatch):
    from deepeyes_core.cli import main

    monkeypatch.setenv("COLUMNS", "240")  # one table row a line

    plugins = deepeyes_plugins(StubPlugin())
    result = deepeyes_run(plugins, backend={"name": "stub-sampler"}, router={"name": "pass-rate"},
                          trainer={"min_examples": 3})
    routing = result["dataset_stats"]["routing"]
    assert main(["stats", str(Path(result["rejects_file"]).parent)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"sft {routing['sft']}, rl pool {routing['rl_pool']}, dropped as solved {routing['dropped_solved']}" in out
