"""The ``anthropic`` backend sampling its base model for the ``pass-rate`` router: the budget and the
Message Batches mode, through the real SDK over the fake API."""

from __future__ import annotations

import asyncio
import json
import re

import attrs
import pytest

from deepeyes_core import DeepeyesError, PluginManager, Sampling, TrainingSettings

anthropic = pytest.importorskip("anthropic")

from deepeyes_anthropic.backend import AnthropicBackend
from deepeyes_anthropic.client import BudgetExhausted

from .test_anthropic_backend import KEY, MODULES, TEST, environment, stepped  # noqa: F401
from .test_anthropic_fakeapi import FakeAnthropicAPI

SETTINGS = TrainingSettings("claude-haiku-4-5", prompt_layout="catalogue")
EXAMPLES = TEST[:5]
PROMPTS = [e.prompt("catalogue") for e in EXAMPLES]
BATCHES = "/v1/messages/batches"


def by_prompt(body):
    """Right for every other example, the same answer to every sample of a prompt."""
    index = PROMPTS.index(body["messages"][-1]["content"])
    return EXAMPLES[index].completion() if index % 2 == 0 else f"I would look up item {index}."


def make(api: FakeAnthropicAPI, tmp_path, cache: str = "cache", **options) -> AnthropicBackend:
    options = {"cache_dir": str(tmp_path / cache), "batch_poll_interval_s": 0.0, **options}
    return AnthropicBackend(AnthropicBackend.Options(**options), http_client=api.client())


def sample(backend: AnthropicBackend, k: int = 2, seed: int = 3) -> list[list[str]]:
    return asyncio.run(backend.sample(PROMPTS, Sampling(k, 1.0, seed), SETTINGS))


def batch_sizes(api: FakeAnthropicAPI) -> list[int]:
    return [len(body["requests"]) for body in api.posts(BATCHES)]


# -- budget ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [False, True])
def test_budget_exhausted_is_one_typed_error_and_a_rerun_pays_only_the_rest(tmp_path, batch):
    api = FakeAnthropicAPI(by_prompt)

    def paid() -> int:
        return len(api.posts()) + sum(batch_sizes(api))

    short = make(api, tmp_path, max_calls=4, batch=batch)
    with pytest.raises(BudgetExhausted, match=r"budget exhausted \(max_calls=4, max_input_tokens=None; "
                       r"max_calls=4 reached after 4 paid requests\): 4 answers so far are cached; raise the budget"):
        sample(short)
    assert isinstance(BudgetExhausted("x"), DeepeyesError)
    assert paid() == 4 and short.usage.budget_exhausted and short.usage.calls_started == 4
    assert batch_sizes(api) == ([4] if batch else [])
    rerun = make(api, tmp_path, max_calls=6, batch=batch)
    answers = sample(rerun)
    assert paid() == 10 and rerun.usage.cached == 4 and rerun.usage.calls_started == 6
    assert answers == [[by_prompt({"messages": [{"content": p}]})] * 2 for p in PROMPTS]


def test_budget_of_input_tokens_stops_before_the_request_that_would_cross_it(tmp_path):
    api = FakeAnthropicAPI(by_prompt)
    probe = make(api, tmp_path, "probe")
    sample(probe, k=1)
    per_request = probe.usage.total_input_tokens // len(PROMPTS)
    backend = make(api, tmp_path, max_input_tokens=per_request * 10)  # the estimate is cruder than the API
    before = len(api.posts())
    with pytest.raises(BudgetExhausted, match=r"max_input_tokens=\d+ reached after (\d+) paid requests") as caught:
        sample(backend, k=4)
    made = len(api.posts()) - before
    assert 0 < made < 20 and f"after {made} paid requests" in str(caught.value)
    assert backend.usage.total_input_tokens <= per_request * 10


# -- Message Batches ---------------------------------------------------------------------------------


def test_batch_mode_sends_one_batch_gives_the_same_answers_and_shares_the_cache(tmp_path):
    api = FakeAnthropicAPI(by_prompt)
    direct = sample(make(api, tmp_path, "direct"), k=3)
    assert len(api.posts()) == 15
    batched_backend = make(api, tmp_path, "batched", batch=True)
    batched = sample(batched_backend, k=3)
    assert batched == direct and {len(set(a)) for a in batched} == {1}
    assert batch_sizes(api) == [15] and len(api.posts()) == 15  # one batch, no request made one by one
    assert batched_backend.usage.batch.calls == 15 and batched_backend.usage.batches == 1
    for cache, batch in (("batched", True), ("batched", False), ("direct", True)):
        again = make(api, tmp_path, cache, batch=batch)
        assert sample(again, k=3) == direct and again.usage.cached == 15
    assert batch_sizes(api) == [15] and len(api.posts()) == 15  # nothing paid twice, either way
    assert json.loads((tmp_path / "batched" / "backend-batches.json").read_text()) == {"batches": []}


def test_batch_mode_resubmits_what_errored_or_expired_and_stops_on_invalid(tmp_path):
    api = FakeAnthropicAPI(by_prompt)
    api.batch_outcomes = {1: {0: "expired", 3: "errored:overloaded_error", 7: "canceled"}, 2: {1: "expired"}}
    backend = make(api, tmp_path, batch=True)
    assert sample(backend) == sample(make(api, tmp_path, "direct"))
    assert batch_sizes(api) == [10, 3, 1] and backend.usage.failed_calls == 4
    api.batch_outcomes = {4: {0: "errored:invalid_request_error"}}
    with pytest.raises(DeepeyesError, match="1 batch requests got no usable answer .*invalid_request_error"):
        sample(make(api, tmp_path, batch=True), seed=4)
    assert batch_sizes(api)[3:] == [10]  # not resubmitted; the 9 answers are cached
    api.batch_outcomes = {}
    assert sample(make(api, tmp_path, batch=True), seed=4) and batch_sizes(api)[4:] == [1]  # only the 10th
    api.batch_outcomes = {n: {0: "expired"} for n in range(6, 9)}
    with pytest.raises(DeepeyesError, match=r"batch request expired; after 2 resubmissions"):
        sample(make(api, tmp_path, batch=True, batch_max_resubmits=2), k=1, seed=5)
    assert batch_sizes(api)[5:] == [5, 1, 1]


def test_an_interrupted_batch_is_resumed_not_submitted_again(tmp_path):
    api = FakeAnthropicAPI(by_prompt, batch_polls=3)
    with pytest.raises(DeepeyesError, match="still in_progress .* run again to resume polling it"):
        sample(make(api, tmp_path, batch=True, batch_max_wait_s=0.0))
    ledger = json.loads((tmp_path / "cache" / "backend-batches.json").read_text())["batches"]
    assert [b["id"] for b in ledger] == ["msgbatch_fake0001"] and len(ledger[0]["requests"]) == 10
    resumed = make(api, tmp_path, batch=True)
    assert sample(resumed) == sample(make(api, tmp_path, "direct"))
    assert batch_sizes(api) == [10] and resumed.usage.batch.calls == 10 and resumed.usage.batches == 0
    assert json.loads((tmp_path / "cache" / "backend-batches.json").read_text()) == {"batches": []}


def step_by_example(body):
    """Each step's calls (as tool_use) for every other example; text for the others."""
    task = body["messages"][0]["content"]
    index = next(i for i, e in enumerate(EXAMPLES) if e.task_description == task)
    if index % 2:
        return [{"type": "text", "text": "Which tool?"}]
    step = stepped(EXAMPLES[index]).steps[sum(m["role"] == "assistant" for m in body["messages"])]
    return [{"type": "tool_use", "id": f"toolu_{i}", "name": re.sub(r"[^a-zA-Z0-9_-]", "_", c.name),
             "input": c.arguments} for i, c in enumerate(step.calls)]


def test_pass_rate_router_routes_through_batched_steps_and_blind_prompts(tmp_path):
    plugins = PluginManager(load_entry_points=False, builtins=MODULES)
    router = plugins.build("router", "pass-rate", {"samples": 2, "reliable_at": 1.0, "sft_at_most": 0.0})
    options = plugins.build("training_backend", "anthropic", {"batch": True, "max_calls": 100}).options
    assert options.batch and options.max_calls == 100  # the config lines reach the backend
    examples = [stepped(e) for e in EXAMPLES[:3]] + list(EXAMPLES[3:])

    def answer(body):
        return step_by_example(body) if body.get("tool_choice") == {"type": "auto"} else by_prompt(body)

    api = FakeAnthropicAPI(answer)
    backend = AnthropicBackend(attrs.evolve(options, cache_dir=str(tmp_path / "cache"), batch_poll_interval_s=0.0),
                               http_client=api.client())
    routes = asyncio.run(router.route(examples, backend, SETTINGS))
    steps = sum(len(e.steps) for e in examples[:3])
    assert batch_sizes(api) == [2 * steps, 2 * 2] and not api.posts()  # sample_steps, then sample
    solved = {item.example.task_id: item.mode for item, _ in routes.rejected}
    assert solved == {EXAMPLES[0].task_id: "step", EXAMPLES[2].task_id: "step", EXAMPLES[4].task_id: "blind-sequence"}
    assert {item.example.task_id for item in routes.sft} == {EXAMPLES[1].task_id, EXAMPLES[3].task_id}
    direct = AnthropicBackend(attrs.evolve(options, cache_dir=str(tmp_path / "direct"), batch=False),
                              http_client=api.client())
    assert asyncio.run(router.route(examples, direct, SETTINGS)) == routes
