"""Inputs a hostile or broken logger writes: huge values, wrong types, 30-digit integers, repeated
ids, nesting 100,000 deep, a path that is a string or a directory.

Each case goes through the real readers and the real collector, and each checks the invariant of
the house: every record read ends in exactly one place, a kept example or a rejection, so
``calls kept + records rejected == records read``, and ``counts["invocations"]`` plus the records
rejected before grouping (stages read and collect) is the number of records read.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from deepeyes_core import InputError, PluginManager, Rejection, TrajectoryCollector, expand_paths, read_jsonl
from deepeyes_core.limits import MAX_DEPTH

START = 1_763_000_000


def call(i: int, session: str | None = "s1", tool: str = "search", **params) -> dict:
    return {
        "invocation_id": f"{session}-{i}", "tool_name": tool, "agent_name": "A", "session_id": session,
        "parameters": params or {"q": f"query {i}"}, "result": {"hits": i}, "status": "success",
        "timestamp": START + i,
    }


def write(path: Path, lines) -> Path:
    """Lines as JSON Lines; a bytes line is written as is. ``json`` writes integers exactly."""
    with open(path, "wb") as handle:
        for line in lines:
            handle.write(line if isinstance(line, bytes) else json.dumps(line).encode())
            handle.write(b"\n")
    return path


@pytest.fixture
def plugins(monkeypatch) -> PluginManager:
    import deepeyes_core.plugins as module

    manager = PluginManager(load_entry_points=False)
    monkeypatch.setattr(module, "_default", manager)
    return manager


def collect(plugins, *paths: Path, source: str = "baseline", **limits):
    """Every record of ``paths`` through the source and the collector; checks the invariant."""
    collector = TrajectoryCollector()
    for name, value in limits.items():
        setattr(collector, name, value)
    items = plugins.build("trajectory_source", source).read(list(paths))
    examples = asyncio.run(collector.stream_examples(items))
    read = sum(1 for path in paths for line in open(path, "rb") if not line.isspace())
    rejected = collector.rejections
    if source == "baseline":  # a record is a call
        assert sum(e.sequence_length for e in examples) + sum(r.records for r in rejected) == read
        early = sum(r.records for r in rejected if r.stage in ("read", "collect"))
        assert collector.counts["invocations"] + early == read == collector.counts["records_read"]
    else:  # a record is a conversation: a trajectory, or one rejection of it
        assert len(examples) + len(rejected) == read
    return collector, examples


def reasons(collector) -> list[tuple[str, int]]:
    return [(r.reason, r.records) for r in collector.rejections]


# -- 1. sizes ---------------------------------------------------------------------------------


def test_a_huge_argument_rejects_its_whole_trajectory_as_too_large_with_the_size(plugins, tmp_path):
    log = write(tmp_path / "log.jsonl", [call(0), call(1, q="x" * 5_000_000), call(2), call(0, session="s2")])
    collector, examples = collect(plugins, log)
    assert [e.session_id for e in examples] == ["s2"]  # s1 is not taught with a call missing
    (rejection,) = collector.rejections
    assert (rejection.reason, rejection.records, rejection.stage) == ("too large", 3, "filter")
    assert rejection.detail == "parameter 'q' of call 2 is 5,000,000 characters, limit 100,000"


def test_a_huge_result_and_a_heavy_trajectory_are_too_large_too(plugins, tmp_path):
    big_result = {**call(0), "result": "r" * 100_001}
    heavy = [call(i, session="heavy", q="y" * 60_000) for i in range(3)]  # 3 x 60,000: over 150,000 in all
    collector, examples = collect(plugins, write(tmp_path / "log.jsonl", [big_result, *heavy]), max_calls_bytes=150_000)
    assert examples == []
    details = {r.records: r.detail for r in collector.rejections}
    assert details[1] == "the result of call 1 is 100,001 characters, limit 100,000"
    assert details[3] == "the calls' arguments and results are over 180,054 bytes of JSON, limit 150,000"


# -- 2. fields that name a call --------------------------------------------------------------


def test_a_call_named_by_a_number_or_nothing_is_a_malformed_record(plugins, tmp_path):
    lines = [
        call(0, tool=123), call(1, tool=""), {**call(2), "agent_name": 5}, {**call(3), "session_id": 7},
        {**call(4), "invocation_id": 9}, {**call(5), "agent_name": ""}, call(6),
    ]
    collector, examples = collect(plugins, write(tmp_path / "log.jsonl", lines))
    assert [e.tool_sequence for e in examples] == [("search",)]
    assert [(r.reason, r.detail) for r in collector.rejections] == [
        ("malformed record", "tool_name: expected a string, got integer 123"),
        ("malformed record", "tool_name: empty string"),
        ("malformed record", "agent_name: expected a string, got integer 5"),
        ("malformed record", "session_id: expected a string or null, got integer 7"),
        ("malformed record", "invocation_id: expected a string, got integer 9"),
        ("malformed record", "agent_name: empty string"),
    ]


# -- 3. integers beyond 64 bits ---------------------------------------------------------------


def test_a_30_digit_integer_costs_its_own_record_only(plugins, tmp_path):
    lines = [call(0), call(1), call(2, n=123456789012345678901234567890), call(3), call(4)]
    collector, [example] = collect(plugins, write(tmp_path / "log.jsonl", lines))
    assert example.sequence_length == 4  # the four readable calls of the session
    (rejection,) = collector.rejections
    assert (rejection.reason, rejection.records, rejection.locations[0].line) == ("integer out of range", 1, 3)
    assert "'parameters.n'" in rejection.detail and "30-digit" in rejection.detail


def test_the_largest_64_bit_integers_are_read_and_exported_exactly(plugins, tmp_path):
    lines = [call(0, n=2**64 - 1, m=-(2**63))]
    _, [example] = collect(plugins, write(tmp_path / "log.jsonl", lines))
    assert example.tool_parameters == ({"n": 2**64 - 1, "m": -(2**63)},)
    assert example.validate() == []


def test_read_jsonl_rejects_an_integer_it_would_read_as_a_float(tmp_path):
    path = write(tmp_path / "c.jsonl", [{"a": {"b": [1, 10**25]}}, {"a": 12345678901234567890.5}, {"a": 1}])
    first, second, third = read_jsonl(path)
    assert isinstance(first, Rejection) and first.reason == "integer out of range" and "'a.b[1]'" in first.detail
    assert second[1] == {"a": 12345678901234567890.5} and third[1] == {"a": 1}  # 20 digits of a float: read


def test_a_chat_conversation_with_a_30_digit_argument_is_rejected_not_rounded(plugins, tmp_path):
    def conversation(number):
        return {
            "id": f"conv-{number}", "model": "claude-haiku-4-5",
            "messages": [
                {"role": "user", "content": "look it up"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{number}", "name": "lookup", "input": {"id": number}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{number}", "content": "found"}]},
                {"role": "assistant", "content": "done"},
            ],
        }

    log = write(tmp_path / "claude.jsonl", [conversation(7), conversation(123456789012345678901234567890)])
    collector, [example] = collect(plugins, log, source="anthropic-messages")
    assert example.tool_parameters == ({"id": 7},)
    assert reasons(collector) == [("integer out of range", 1)]


# -- 4. repeated invocation ids ---------------------------------------------------------------


def test_repeated_invocation_ids_across_files_are_rejected_and_counted(plugins, tmp_path):
    first = write(tmp_path / "a.jsonl", [call(0), call(1)])
    second = write(tmp_path / "b.jsonl", [call(1), call(2), call(0)])  # s1-1 and s1-0 again
    collector, [example] = collect(plugins, first, second)
    assert example.sequence_length == 3  # s1-0, s1-1, s1-2: each once
    assert collector.counts["duplicate_invocation_ids"] == 2
    assert [(r.reason, r.detail, str(r.locations[0])) for r in collector.rejections] == [
        ("duplicate invocation id", f"invocation id 's1-1' was first read at {first}:2", f"{second}:1"),
        ("duplicate invocation id", f"invocation id 's1-0' was first read at {first}:1", f"{second}:3"),
    ]


def test_a_file_named_twice_is_read_once(plugins, tmp_path):
    log = write(tmp_path / "log.jsonl", [{k: v for k, v in call(i).items() if k != "invocation_id"} for i in range(3)])
    collector, [example] = collect(plugins, *expand_paths([str(log), str(tmp_path / "*.jsonl")]))
    assert example.sequence_length == 3 and collector.counts["duplicate_invocation_ids"] == 3


# -- 5. nesting ------------------------------------------------------------------------------


def deep(levels: int) -> bytes:
    return b'{"tool_name": "t", "agent_name": "A", "timestamp": 1763000000, "parameters": {"v": ' + (
        b"[" * levels + b"]" * levels + b"}}"
    )


@pytest.mark.parametrize("levels", [MAX_DEPTH, 300, 2_000, 100_000])
def test_a_value_nested_too_deep_is_rejected_alone_and_the_run_goes_on(plugins, tmp_path, levels):
    log = write(tmp_path / "log.jsonl", [call(0), deep(levels), call(1)])
    collector, [example] = collect(plugins, log)
    assert example.sequence_length == 2
    (rejection,) = collector.rejections
    assert (rejection.reason, rejection.locations[0].line) == ("too deeply nested", 2)
    assert f"deeper than {MAX_DEPTH} levels" in rejection.detail


def test_nesting_within_the_limit_is_read(plugins, tmp_path):
    collector, [example] = collect(plugins, write(tmp_path / "log.jsonl", [deep(MAX_DEPTH - 3)]))
    assert collector.rejections == [] and example.validate() == []


@pytest.mark.parametrize("levels", [300, 5_000, 100_000])
def test_read_jsonl_says_too_deeply_nested_and_reads_on(tmp_path, levels):
    path = write(tmp_path / "x.jsonl", [{"a": 1}, b'{"a": ' + b"[" * levels + b"]" * levels + b"}", {"a": 2}])
    first, nested, last = read_jsonl(path)
    assert isinstance(nested, Rejection) and nested.reason == "too deeply nested"
    assert first[1] == {"a": 1} and last[1] == {"a": 2}


def test_arguments_nested_deep_inside_a_json_string_reject_their_conversation(plugins, tmp_path):
    nested = "[" * 500 + "]" * 500  # a string in the line, JSON once the source parses it
    line = {
        "id": "conv", "model": "claude-haiku-4-5",
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": '{"v": ' + nested + "}"}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
        ],
    }
    collector, examples = collect(plugins, write(tmp_path / "claude.jsonl", [line]), source="anthropic-messages")
    assert examples == [] and reasons(collector) == [("too deeply nested", 1)]
    assert "'parameters of call 1.v" in collector.rejections[0].detail


# -- 6. paths --------------------------------------------------------------------------------


def test_a_single_path_string_is_one_path(tmp_path):
    log = write(tmp_path / "good.jsonl", [call(0)])
    assert expand_paths(str(log)) == [log]
    assert expand_paths("good.jsonl", base=tmp_path) == [log]
    assert expand_paths(log) == [log]


def test_a_directory_is_refused_with_a_glob_to_use(tmp_path):
    (tmp_path / "logs").mkdir()
    with pytest.raises(InputError) as error:
        expand_paths(["logs"], base=tmp_path)
    message = str(error.value)
    assert "logs: is a directory" in message and "no such file" not in message
    assert "name files or a glob such as logs/**/*.jsonl" in message


# -- all of it in one run ---------------------------------------------------------------------


def test_a_run_over_every_hostile_record_accounts_for_each_one(tmp_path):
    """The whole pipeline (runner, RejectsLog, dedup, exporters): no traceback, nothing huge
    written, and the calls in the sft files plus the records in rejects.jsonl are the records read."""
    from deepeyes_core.runner import run

    good = [call(i % 3, session=f"good-{i // 3}", q=f"query {i}") for i in range(60)]
    hostile = [
        call(0, session="big", q="x" * 5_000_000), call(1, session="big"),
        call(0, session="named", tool=123), call(1, session="named", tool=""),
        *[call(i, session="int", n=10**29 if i == 2 else i) for i in range(5)],
        deep(100_000), deep(300), call(0, session="good-0"), b"not json", b"{" * 5000,
    ]
    log = write(tmp_path / "log.jsonl", good + hostile)
    (tmp_path / "run.toml").write_text(
        f'output_dir = "out"\n[[sources]]\nname = "baseline"\npaths = ["{log.name}"]\n'
        '[trainer]\nmin_examples = 1\n[backend]\nname = "dry-run"\n'
    )
    asyncio.run(run(tmp_path / "run.toml"))
    out = tmp_path / "out"
    kept = sum(
        len(json.loads(line)["metadata"]["tool_sequence"])
        for split in ("train", "val", "test")
        for line in (out / f"sft_{split}.jsonl").read_text().splitlines()
    )
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    stats = json.loads((out / "dataset_stats.json").read_text())
    read = len(good) + len(hostile)
    assert kept + sum(r["records"] for r in rejects) == read == stats["pipeline"]["records_read"]
    assert stats["pipeline"]["duplicate_invocation_ids"] == 1
    assert {r["reason"] for r in rejects} >= {
        "too large", "malformed record", "integer out of range", "too deeply nested", "duplicate invocation id",
        "malformed JSON",
    }
    assert sum((out / f"sft_{split}.jsonl").stat().st_size for split in ("train", "val", "test")) < 1_000_000
