"""Phase 1: the append-only log, loading damaged logs, statistics, the baseline run."""

from __future__ import annotations

import asyncio
import threading

import attrs
import orjson

from deepeyes_core import BaselineTracker, Tool, run_deepeyesv2_baseline
from deepeyes_core.baseline import LOG_FILE_NAME

from .conftest import invocation


def test_record_invocation_appends_and_flushes_each_record(tmp_path):
    tracker = BaselineTracker(tmp_path)
    tracker.record_invocation(invocation(at=1))
    lines = (tmp_path / LOG_FILE_NAME).read_bytes().splitlines()  # readable before close: flushed
    assert len(lines) == 1 and orjson.loads(lines[0])["tool_name"] == "database_query"
    tracker.record_invocation(invocation(at=2, ok=False))
    tracker.close()
    loaded = BaselineTracker.load(tmp_path / LOG_FILE_NAME)
    assert [i.succeeded for i in loaded.invocations] == [True, False]
    assert loaded.invocations[0].parameters == {"table": "orders"}


def test_concurrent_writers_never_interleave(tmp_path):
    tracker = BaselineTracker(tmp_path)

    def write(worker: int) -> None:
        for i in range(200):
            tracker.record_invocation(invocation(session=f"w{worker}", at=i, blob="x" * 500))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tracker.close()
    loaded = BaselineTracker.load(tmp_path / LOG_FILE_NAME)
    assert len(loaded.invocations) == 1600 and loaded.load_errors == []


def test_damaged_log_reports_file_line_and_field_and_keeps_the_rest(tmp_path, caplog):
    good = orjson.dumps({"tool_name": "cache_get", "agent_name": "A", "status": "success"}).decode()
    no_tool = orjson.dumps({"agent_name": "A", "status": "success"}).decode()
    bad_status = orjson.dumps({"tool_name": "x", "agent_name": "A", "status": "exploded"}).decode()
    path = tmp_path / "log.jsonl"
    path.write_text(f"{good}\nnot json at all\n{no_tool}\n{bad_status}\n{good}\n{good[:25]}")
    tracker = BaselineTracker.load(path)
    assert len(tracker.invocations) == 2
    problems = {(r.locations[0].line, r.reason): r.detail for r in tracker.load_errors}
    assert set(problems) == {(2, "malformed JSON"), (3, "malformed record"), (4, "malformed record"), (6, "torn last line")}
    assert "tool_name" in problems[(3, "malformed record")]
    assert "status" in problems[(4, "malformed record")]
    assert f"{path}:6" in caplog.text


def test_statistics_per_tool():
    tracker = BaselineTracker()
    for i in range(20):
        inv = invocation(tool="http_get", at=i, ok=i % 4 != 0)
        tracker.record_invocation(attrs.evolve(inv, latency_ms=float(i + 1)))
    stats = tracker.get_statistics()["per_tool"]["http_get"]
    assert stats["count"] == 20 and stats["success_rate"] == 0.75
    assert stats["error_distribution"] == {"timeout after 5s": 5}
    assert stats["latency_ms"] == {"p50": 11.0, "p95": 19.0, "max": 20.0}


def test_baseline_run_invokes_every_tool_with_bounded_concurrency(tmp_path, plugins):
    running = peak = 0

    async def slow(args):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        if args["n"] == 3:
            raise ValueError("n must not be 3")
        return {"n": args["n"]}

    tool = Tool("slow", slow, lambda rng: {"n": rng.randint(0, 4)})
    result = asyncio.run(run_deepeyesv2_baseline(20, 3, tools=[tool], output_dir=tmp_path))
    assert peak == 3
    assert result["statistics"]["total_invocations"] == 20
    failures = [i for i in result["tracker"].invocations if not i.succeeded]
    assert failures and all(i.error == "ValueError: n must not be 3" for i in failures)
    assert len(BaselineTracker.load(result["log_file"]).invocations) == 20


def test_baseline_run_uses_plugin_tools_by_default(tmp_path, plugins):
    result = asyncio.run(run_deepeyesv2_baseline(4, output_dir=tmp_path))
    per_tool = result["statistics"]["per_tool"]
    assert set(per_tool) == {t.name for t in plugins.tools()}
    assert all(s["count"] == 4 for s in per_tool.values())
