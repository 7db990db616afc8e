"""Phase 1: the append-only log, loading damaged logs, statistics, the baseline run."""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

import attrs
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from deepeyes_core import (
    BaselineTracker,
    Location,
    RecordRejected,
    Rejection,
    Tool,
    ToolInvocation,
    converter,
    read_invocations,
    read_records,
    record_timestamp,
    run_deepeyesv2_baseline,
)
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


def test_log_lines_of_every_shape_are_read_exactly(tmp_path):
    path = tmp_path / "log.jsonl"
    lines = [
        '{"tool_name": "t", "agent_name": "A", "timestamp": 5, "parameters": {"id": 18446744073709551615}}',
        '{"tool_name": "t", "agent_name": "A", "timestamp": "2025-11-10T00:30:50", "status": "TIMEOUT", "latency_ms": 7}',
        '{"tool_name": "t", "agent_name": "A", "timestamp": 1e300}',
        '[1, 2]',
        '{"tool_name": "t", "agent_name": "A", "timestamp": 5, "parameters": {"id": 123456789012345678901234567890}}',
        '{"tool_name": "t", "agent_name": "A", "timestamp": 5, "parameters": {"id": -9223372036854775808}}',
        '{"tool_name": "t", "agent_name": "A", "timestamp": 5, "parameters": {"id": -9223372036854775809}}',
    ]
    path.write_text("\n".join(lines) + "\n")
    big, upper, far, array, huge, lowest, below = read_invocations(path)
    assert big.parameters == {"id": 18446744073709551615}  # the largest integer JSON exports carry, not rounded
    assert lowest.parameters == {"id": -(2**63)}  # the smallest; one less has 19 digits too, and is refused
    assert isinstance(below, Rejection) and below.reason == "integer out of range" and "parameters.id" in below.detail
    # beyond 64 bits no export can write it (orjson): rejected at read, alone (test_inputs_adversarial)
    assert isinstance(huge, Rejection) and huge.reason == "integer out of range" and "parameters.id" in huge.detail
    assert big.timestamp == datetime(1970, 1, 1, 0, 0, 5, tzinfo=timezone.utc) and big.invocation_id == f"{path}:1"
    assert upper.status.value == "timeout" and upper.latency_ms == 7.0 and upper.timestamp.tzinfo == timezone.utc
    assert isinstance(far, Rejection) and "timestamp" in far.detail and far.locations == (Location(str(path), 3),)
    assert isinstance(array, Rejection) and array.detail == "expected a JSON object, got list"


def test_read_records_turns_each_line_into_its_item_or_a_rejection_with_file_and_line(tmp_path):
    def parse(location, obj):
        if obj.get("calls") == 0:
            raise RecordRejected("no tool calls", "none at all")
        return location, record_timestamp(obj["at"])

    path = tmp_path / "log.jsonl"
    path.write_text('{"at": 0}\n{"calls": 0}\n[1]\n{"at": "yesterday"}\nnot json\n\n{"at": "2024-05-01T12:00:00"}\n')
    items = list(read_records(path, parse, stage="ingest"))
    assert items[0] == (Location(str(path), 1), datetime(1970, 1, 1, tzinfo=timezone.utc))
    assert items[-1] == (Location(str(path), 7), datetime(2024, 5, 1, 12, tzinfo=timezone.utc))
    rejected = [(r.locations, r.reason, r.stage, r.records) for r in items[1:-1]]
    assert rejected == [
        ((Location(str(path), 2),), "no tool calls", "ingest", 1),
        ((Location(str(path), 3),), "malformed record", "ingest", 1),
        ((Location(str(path), 4),), "malformed record", "ingest", 1),
        ((Location(str(path), 5),), "malformed JSON", "read", 1),
    ]
    assert items[1].detail == "none at all"
    assert items[2].detail == "unexpected shape: AttributeError: 'list' object has no attribute 'get'"
    assert items[3].detail.startswith("timestamp 'yesterday': ")


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


_FIELD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["success", "SUCCESS", "failure", "Timeout", "error", "", "exploded",
                     "2025-11-10T00:30:50.464373+00:00", "2025-11-10T00:30:50", "not a date"]),
    st.text(max_size=8), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2), st.lists(st.integers(), max_size=2),
)
_GOOD = {
    "tool_name": st.text(min_size=1, max_size=8), "agent_name": st.text(min_size=1, max_size=8),
    "parameters": st.dictionaries(st.text(max_size=4), st.integers(), max_size=2), "result": _FIELD_VALUES,
    "status": st.sampled_from(["success", "failure", "timeout", "error"]), "latency_ms": st.floats(0, 1e6) | st.integers(0, 10**6),
    "timestamp": st.floats(0, 2e9) | st.integers(0, 2 * 10**9) | st.just("2025-11-10T00:30:50.464373+00:00"),
    "error": st.none() | st.text(max_size=8), "session_id": st.none() | st.text(max_size=8), "invocation_id": st.text(max_size=8),
}
_FIELDS = {name: st.one_of(good, good, good, _FIELD_VALUES) for name, good in _GOOD.items()}


def _beyond_64_bits(value) -> bool:
    if isinstance(value, dict):
        return any(_beyond_64_bits(v) for v in value.values())
    if isinstance(value, list):
        return any(_beyond_64_bits(v) for v in value)
    return type(value) is int and not -(2**63) <= value < 2**64


def _names_a_call_wrongly(record: dict) -> bool:
    """tool_name / agent_name not a non-empty string, session_id / invocation_id not a string
    (session_id: or null): the converter would turn 123 into "123"; the reader refuses."""
    for field in ("tool_name", "agent_name"):
        if field in record and (not isinstance(record[field], str) or record[field] == ""):
            return True
    if "session_id" in record and not (record["session_id"] is None or isinstance(record["session_id"], str)):
        return True
    return "invocation_id" in record and not isinstance(record["invocation_id"], str)


def _read_as_the_converter_does(record: dict) -> bool:
    """The record written as a log line and read back is what the converter makes of the JSON,
    once the reader's own rules pass: integers within 64 bits, fields naming the call strings."""
    line = json.dumps(record)  # exact integers, however large, as JSON allows
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.jsonl"
        path.write_text(line + "\n")
        (parsed,) = read_invocations(path)
    location = Location(str(path), 1)
    if _beyond_64_bits(record):
        assert isinstance(parsed, Rejection) and parsed.reason == "integer out of range"
        return False
    if _names_a_call_wrongly(record):
        assert isinstance(parsed, Rejection) and parsed.reason == "malformed record"
        return False
    try:
        expected = converter.structure(
            {"invocation_id": f"{path}:1", **json.loads(line), "location": location}, ToolInvocation
        )
    except Exception:
        assert isinstance(parsed, Rejection) and parsed.reason == "malformed record"
        assert parsed.locations == (location,)
        return False
    assert isinstance(parsed, ToolInvocation)
    assert attrs.astuple(parsed, recurse=False) == attrs.astuple(expected, recurse=False)
    assert [type(v) for v in attrs.astuple(parsed, recurse=False)] == [type(v) for v in attrs.astuple(expected, recurse=False)]
    assert parsed.location == location
    return True


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({"tool_name": _GOOD["tool_name"], "agent_name": _GOOD["agent_name"], "timestamp": _FIELDS["timestamp"]},
                             optional={name: _FIELDS[name] for name in _FIELDS if name not in ("tool_name", "agent_name", "timestamp")}))
def test_well_typed_records_are_read_as_the_converter_reads_them(record):
    _read_as_the_converter_does(record)


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({"timestamp": _FIELD_VALUES}, optional={name: _FIELD_VALUES for name in _GOOD if name != "timestamp"}))
def test_any_record_is_read_or_rejected_as_the_converter_does(record):
    _read_as_the_converter_does(record)
