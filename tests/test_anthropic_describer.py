"""The ``anthropic`` task describer, driven through the real ``anthropic`` SDK over a fake API."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepeyes_core import ConfigError, DeepeyesError, PluginManager, Rejection, Trajectory, converter
from deepeyes_core.plugins import BUILTIN_PLUGINS

anthropic = pytest.importorskip("anthropic")

from deepeyes_anthropic.cache import DiskCache  # noqa: E402
from deepeyes_anthropic.describer import AnthropicDescriber  # noqa: E402
from deepeyes_anthropic.validation import ValidationRules, clean_answer  # noqa: E402

from .conftest import invocation  # noqa: E402
from .test_anthropic_fakeapi import FakeAnthropicAPI, describe_from_prompt  # noqa: E402

KEY = "sk-ant-api03-TESTKEY-do-not-leak-7f3a9c"
MODULES = BUILTIN_PLUGINS + ("deepeyes_anthropic.describer",)


@pytest.fixture(autouse=True)
def fast_sdk_retries(monkeypatch):
    """The SDK backs off 0.5 s, 1 s, ... between retries without retry-after: make it milliseconds."""
    import anthropic._base_client as base

    monkeypatch.setattr(base, "INITIAL_RETRY_DELAY", 0.001)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


@pytest.fixture
def plugins(monkeypatch) -> PluginManager:
    import deepeyes_core.plugins as module

    manager = PluginManager(load_entry_points=False, builtins=MODULES)
    monkeypatch.setattr(module, "_default", manager)
    return manager


def trajectory(n: int, tools: int = 1, agent: str = "AnalyticsAgent") -> Trajectory:
    calls = [
        invocation("database_query", agent, f"s{n}", at=i, table=f"orders_{n}", limit=100 + n)
        if i % 2 == 0
        else invocation("cache_set", agent, f"s{n}", at=i, key=f"report-{n}", ttl_seconds=3600)
        for i in range(tools)
    ]
    return Trajectory(agent, tuple(calls), f"s{n}", f"{agent}/s{n}")


def make(api: FakeAnthropicAPI, tmp_path: Path, **options) -> AnthropicDescriber:
    options.setdefault("cache_dir", str(tmp_path / "cache"))
    options.setdefault("batch_poll_interval_s", 0.001)
    return AnthropicDescriber(AnthropicDescriber.Options(**options), http_client=api.client())


def run(describer, trajectories):
    return asyncio.run(describer.describe(trajectories))


# -- plugin, key, model ----------------------------------------------------------------------------


def test_listed_and_built_by_the_plugin_manager(plugins, tmp_path):
    info = plugins.get("task_describer", "anthropic")
    assert info.summary.startswith("Claude writes each trajectory's task")
    describer = plugins.build("task_describer", "anthropic", {"cache_dir": str(tmp_path), "concurrency": 3})
    assert describer.options.concurrency == 3 and describer.options.model == "claude-haiku-4-5"
    with pytest.raises(ConfigError, match="mode"):
        plugins.build("task_describer", "anthropic", {"mode": "fastest"})


def test_missing_key_is_a_config_error_before_any_work(plugins, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        plugins.build("task_describer", "anthropic")


def test_retired_model_names_its_replacement(plugins):
    with pytest.raises(ConfigError, match=r"claude-haiku-4-5.*\[describer\] model"):
        plugins.build("task_describer", "anthropic", {"model": "claude-3-5-haiku-20241022"})


def test_unknown_model_gets_the_apis_answer_and_the_config_key(tmp_path):
    api = FakeAnthropicAPI(unknown_models=("claude-nonesuch-9",))
    describer = make(api, tmp_path, model="claude-nonesuch-9")
    with pytest.raises(ConfigError) as caught:
        run(describer, [trajectory(1), trajectory(2)])
    assert "model: claude-nonesuch-9" in str(caught.value) and "[describer] model" in str(caught.value)


# -- interactive -----------------------------------------------------------------------------------


def test_describes_each_trajectory_with_a_cached_shared_prefix(tmp_path):
    api = FakeAnthropicAPI(latency_s=0.01)
    describer = make(api, tmp_path)  # concurrency 8: the first call alone writes the cache, 4 read it
    answers = run(describer, [trajectory(i, tools=2) for i in range(5)])
    assert all(isinstance(a, str) for a in answers)
    assert "orders_3" in answers[3] and "report-3" in answers[3] and "3600" in answers[3]
    bodies = api.posts()
    assert len(bodies) == 5
    for body in bodies:
        assert body["model"] == "claude-haiku-4-5"
        assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
        assert "database_query(limit: integer, table: string)" in body["system"][-1]["text"]
        assert "orders_" not in json.dumps(body["system"])  # the shared part holds no trajectory
    usage = describer.usage
    assert usage.interactive.calls == 5 and usage.calls_started == 5
    assert usage.interactive.cache_creation_input_tokens > 0
    assert usage.interactive.cache_read_input_tokens == 4 * usage.interactive.cache_creation_input_tokens
    assert usage.cache_warning is None and usage.cache_savings_usd > 0
    expected = (
        usage.interactive.input_tokens * 1.0
        + usage.interactive.output_tokens * 5.0
        + usage.interactive.cache_creation_input_tokens * 1.25
        + usage.interactive.cache_read_input_tokens * 0.10
    ) / 1e6
    assert usage.estimated_cost_usd == pytest.approx(expected)


def test_short_prefix_gets_a_cache_warning_not_savings(tmp_path):
    api = FakeAnthropicAPI(cache_min_tokens=4096)
    describer = make(api, tmp_path)
    run(describer, [trajectory(i) for i in range(3)])
    warning = describer.usage.cache_warning
    assert warning and "4,096" in warning and "nothing is cached" in warning
    assert describer.usage.cache_savings_usd == 0


def test_count_prefix_tokens_measures_before_calling(tmp_path):
    api = FakeAnthropicAPI(cache_min_tokens=4096)
    describer = make(api, tmp_path, count_prefix_tokens=True)
    run(describer, [trajectory(1)])
    assert len(api.posts("/v1/messages/count_tokens")) == 1
    assert re.search(
        r"prefix of [\d,]+ tokens \(claude-haiku-4-5 caches prefixes of 4,096 tokens or more\)",
        describer.usage.cache_warning,
    )


def test_concurrency_is_bounded(tmp_path):
    api = FakeAnthropicAPI(latency_s=0.01)
    describer = make(api, tmp_path, concurrency=4)
    answers = run(describer, [trajectory(i) for i in range(20)])
    assert all(isinstance(a, str) for a in answers)
    assert api.max_in_flight == 4


def test_sdk_retries_429_529_500(tmp_path):
    api = FakeAnthropicAPI()
    api.fail_next("rate_limit_error", "Number of requests has exceeded your rate limit", {"retry-after": "0.01"})
    api.fail_next("overloaded_error", "Overloaded")
    api.fail_next("api_error", "Internal server error")
    describer = make(api, tmp_path, concurrency=1, max_retries=3)
    started = time.perf_counter()
    answers = run(describer, [trajectory(1)])
    assert isinstance(answers[0], str)
    retry_counts = [headers.get("x-stainless-retry-count") for m, p, _, headers in api.calls if p == "/v1/messages"]
    assert retry_counts == ["0", "1", "2", "3"]
    assert describer.usage.interactive.calls == 1 and describer.usage.failed_calls == 0
    assert time.perf_counter() - started < 5


def test_failures_past_the_retries_reject_and_are_not_cached(tmp_path):
    api = FakeAnthropicAPI()
    api.fail_next("overloaded_error", "Overloaded", times=2)
    describer = make(api, tmp_path, concurrency=1, max_retries=1)
    answers = run(describer, [trajectory(1), trajectory(2)])
    assert isinstance(answers[0], Rejection) and answers[0].reason == "anthropic API error"
    assert "overloaded" in answers[0].detail.lower() and answers[0].stage == "describe"
    assert isinstance(answers[1], str)
    again = run(make(api, tmp_path), [trajectory(1), trajectory(2)])
    assert all(isinstance(a, str) for a in again)
    assert len(api.posts()) == 2 + 1 + 1  # two failed tries, one success; the rerun pays only for the failure


def test_malformed_responses(tmp_path):
    api = FakeAnthropicAPI()
    api.malformed_next(b'{"id": "msg_1", "type": "message", "content": [{"type": "text", "te')
    api.malformed_next(
        b'{"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-haiku-4-5", '
        b'"content": [{"type": "text"}], "stop_reason": "end_turn", "usage": {}}'
    )
    describer = make(api, tmp_path, concurrency=1, max_retries=0)
    answers = run(describer, [trajectory(1), trajectory(2)])
    assert isinstance(answers[0], Rejection) and "malformed response" in answers[0].detail
    assert isinstance(answers[1], str)  # no text at first: retried once with the reason, then fine
    assert "rejected: empty answer" in api.posts()[2]["messages"][2]["content"]


# -- on-disk cache ---------------------------------------------------------------------------------


def test_rerun_pays_nothing_twice(tmp_path):
    api = FakeAnthropicAPI()
    first = run(make(api, tmp_path), [trajectory(i) for i in range(4)])
    second_describer = make(api, tmp_path)
    second = run(second_describer, [trajectory(i) for i in range(6)])
    assert second[:4] == first
    assert len(api.posts()) == 6
    assert second_describer.usage.cached == 4 and second_describer.usage.calls_started == 2


def test_identical_trajectories_share_one_call(tmp_path):
    api = FakeAnthropicAPI()
    twin = Trajectory("AnalyticsAgent", trajectory(1).invocations, "other-session", "other-id")
    answers = run(make(api, tmp_path), [trajectory(1), twin])
    assert answers[0] == answers[1] and len(api.posts()) == 1


def test_cache_survives_kill_9_mid_write(tmp_path):
    script = (
        "import sys\nfrom deepeyes_anthropic.cache import DiskCache\n"
        "cache = DiskCache(sys.argv[1])\ni = 0\n"
        "while True:\n"
        "    cache.put(f'{i % 50:064x}', {'answers': {'0': {'text': 'x' * 200000 + str(i)}}})\n"
        "    i += 1\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "c")])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(list((tmp_path / "c").rglob("*.json"))) < 50:
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    cache = DiskCache(tmp_path / "c")
    entries = list((tmp_path / "c").rglob("*.json"))
    assert len(entries) == 50
    for path in entries:
        value = cache.get(path.stem)
        assert value is not None and len(value["answers"]["0"]["text"]) > 200000


# -- validation ------------------------------------------------------------------------------------


def test_validation_rules():
    rules = ValidationRules()
    t = Trajectory("A", (invocation("run_sql", "A", "s", query="SELECT count(*) FROM orders", limit=3600),), "s")
    assert rules.problem("Please run SELECT count(*) FROM orders with a limit of 3,600 rows.", t) is None
    assert rules.problem("Please run SELECT count(*) FROM orders, limit 3600.", t) is None
    assert "3600" in rules.problem("Please run SELECT count(*) FROM orders.", t)
    assert "does not name" in rules.problem("Please run SELECT count(*) FROM orders with limit 36000.", t)
    assert "call syntax" in rules.problem('run_sql({"query": "SELECT count(*) FROM orders", "limit": 3600})', t)
    assert "call syntax" in rules.problem("Call run_sql(SELECT count(*) FROM orders, 3600) for me.", t)
    assert "not English" in rules.problem("请运行 SELECT count(*) FROM orders 限制 3600 行数据查询", t)
    assert "not English" in rules.problem("Bitte SELECT count(*) FROM orders ausführen, Grenze 3600.", t)
    assert rules.problem("   ", t) == "empty answer"
    assert clean_answer('Task: "Please do it."') == "Please do it."


def test_bad_answer_is_retried_once_with_the_reason(tmp_path):
    replies = iter(
        [
            [{"type": "tool_use", "id": "toolu_01", "name": "database_query", "input": {"table": "orders_1"}}],
        ]
    )

    def answer(body):
        return next(replies, None) or describe_from_prompt(body)

    api = FakeAnthropicAPI(answer)
    describer = make(api, tmp_path)
    answers = run(describer, [trajectory(1)])
    assert isinstance(answers[0], str) and "orders_1" in answers[0]
    retry = api.posts()[1]["messages"]
    assert [m["role"] for m in retry] == ["user", "assistant", "user"]
    assert "rejected: empty answer" in retry[2]["content"]
    assert describer.usage.validation_retries == 1


def test_bad_answers_are_rejected_or_replaced_by_the_template(tmp_path, plugins):
    api = FakeAnthropicAPI(lambda body: 'database_query({"table": "orders_1", "limit": 101})')
    answers = run(make(api, tmp_path), [trajectory(1)])
    assert isinstance(answers[0], Rejection) and answers[0].reason == "description failed validation"
    assert "attempt 1: contains call syntax" in answers[0].detail and "attempt 2" in answers[0].detail
    assert len(api.posts()) == 2
    fallback = make(api, tmp_path, on_invalid="template")
    answers = run(fallback, [trajectory(1)])
    assert answers[0].startswith('Use the database query tool with table "orders_1"')
    assert len(api.posts()) == 2  # the bad answers were cached: validated again, not bought again
    assert fallback.usage.fallbacks == 1


# -- budget ----------------------------------------------------------------------------------------


def test_budget_of_calls_stops_cleanly(tmp_path, plugins):
    api = FakeAnthropicAPI()
    describer = make(api, tmp_path, max_calls=3, concurrency=2)
    answers = run(describer, [trajectory(i) for i in range(6)])
    assert [isinstance(a, str) for a in answers] == [True] * 3 + [False] * 3
    assert {a.reason for a in answers[3:]} == {"budget exhausted"}
    assert len(api.posts()) == 3 and describer.usage.budget_exhausted
    more = run(describer, [trajectory(i) for i in range(6, 8)])  # the budget is the run's, not the call's
    assert all(isinstance(a, Rejection) for a in more) and len(api.posts()) == 3
    templated = make(api, tmp_path, max_calls=0, on_budget_exhausted="template")
    answers = run(templated, [trajectory(1), trajectory(9)])
    assert isinstance(answers[0], str) and answers[1].startswith("Use the database query tool")
    assert len(api.posts()) == 3  # trajectory 1 came from the disk cache, 9 from the template


def test_budget_of_input_tokens(tmp_path):
    api = FakeAnthropicAPI()
    probe = make(api, tmp_path / "probe", concurrency=1)
    run(probe, [trajectory(100)])
    per_call = probe.usage.total_input_tokens
    describer = make(api, tmp_path, concurrency=1, max_input_tokens=int(per_call * 3.9 * 1.5))
    answers = run(describer, [trajectory(i) for i in range(8)])
    described = sum(isinstance(a, str) for a in answers)
    assert 1 <= described < 8 and describer.usage.total_input_tokens <= describer.options.max_input_tokens


# -- batches ---------------------------------------------------------------------------------------


def test_batch_mode_resubmits_only_the_failed_requests(tmp_path):
    api = FakeAnthropicAPI(batch_polls=2)
    api.batch_outcomes = {1: {0: "errored", 1: "expired", 2: "errored:invalid_request_error", 3: "canceled"}}
    events = []
    describer = make(api, tmp_path, mode="batch")
    describer.on_batch_progress = lambda event, details: events.append(event)
    answers = run(describer, [trajectory(i) for i in range(8)])
    first, second = (api.batches[b]["requests"] for b in sorted(api.batches))
    assert len(first) == 8 and len(second) == 3
    assert {r["custom_id"] for r in second} == {first[i]["custom_id"] for i in (0, 1, 3)}
    assert first[0]["params"]["system"][-1]["cache_control"] == {"type": "ephemeral"}
    rejected = [a for a in answers if isinstance(a, Rejection)]
    assert len(rejected) == 1 and "invalid_request_error" in rejected[0].detail
    assert sum(isinstance(a, str) for a in answers) == 7
    usage = describer.usage
    assert usage.batches == 2 and usage.batch.calls == 7 and usage.interactive.calls == 0
    assert usage.estimated_cost_usd == pytest.approx(0.5 * usage.batch.cost(usage.prices))
    assert events.count("submitted") == 2 and "progress" in events and events.count("ended") == 2
    assert json.loads((tmp_path / "cache" / "batches.json").read_text()) == {"batches": []}
    assert not api.posts()  # no interactive calls


def test_auto_mode_switches_at_the_threshold(tmp_path):
    api = FakeAnthropicAPI()
    run(make(api, tmp_path, batch_threshold=3), [trajectory(i) for i in range(2)])
    assert len(api.posts()) == 2 and not api.batches
    run(make(api, tmp_path, batch_threshold=3), [trajectory(i) for i in range(2, 6)])
    assert len(api.batches) == 1 and len(api.posts()) == 2


def test_interrupted_batch_is_resumed_not_resubmitted(tmp_path):
    api = FakeAnthropicAPI(batch_polls=10**6)
    with pytest.raises(DeepeyesError, match="run again to resume"):
        run(make(api, tmp_path, mode="batch", batch_max_wait_s=0.05), [trajectory(i) for i in range(5)])
    saved = json.loads((tmp_path / "cache" / "batches.json").read_text())["batches"]
    assert [b["id"] for b in saved] == ["msgbatch_fake0001"]

    async def cancelled():  # a kill while polling: the id is already on disk
        describer = make(api, tmp_path, mode="batch")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(describer.describe([trajectory(i) for i in range(5)]), 0.05)

    asyncio.run(cancelled())
    assert len(api.batches) == 1
    api.batch_polls = 0
    describer = make(api, tmp_path, mode="batch")
    answers = run(describer, [trajectory(i) for i in range(5)])
    assert all(isinstance(a, str) for a in answers)
    assert len(api.posts("/v1/messages/batches")) == 1 and describer.usage.batch.calls == 5
    assert json.loads((tmp_path / "cache" / "batches.json").read_text()) == {"batches": []}
    assert not api.posts()


# -- the key ---------------------------------------------------------------------------------------


def test_the_key_appears_in_no_output(tmp_path, caplog, plugins):
    caplog.set_level(logging.DEBUG)
    api = FakeAnthropicAPI(cache_min_tokens=4096, batch_polls=2)
    api.fail_next("rate_limit_error", "slow down", {"retry-after": "0.01"})
    api.fail_next("authentication_error", "invalid x-api-key")
    api.batch_outcomes = {1: {0: "errored"}}
    describer = make(api, tmp_path, concurrency=1, max_retries=1, on_invalid="template")
    with pytest.raises(ConfigError) as refused:
        run(describer, [trajectory(1)])
    answers = run(describer, [trajectory(i) for i in range(3)])
    answers += run(make(api, tmp_path, mode="batch"), [trajectory(i) for i in range(3, 9)])
    out = tmp_path / "out.json"
    out.write_bytes(
        json.dumps(
            {
                "answers": converter.unstructure(answers),
                "usage": converter.unstructure(describer.usage),
                "options": repr(describer.options),
                "describer": repr(describer),
                "error": str(refused.value),
            }
        ).encode()
    )
    assert any(KEY in headers.get("authorization", "") for _, _, _, headers in api.calls)  # it was used
    assert KEY not in caplog.text
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) > 5
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path
