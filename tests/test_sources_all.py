"""One run reads every shipped source at once into one dataset and exports every chat format;
each source's tool calls and results all reach every export, counted against what the source read."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from deepeyes_core import Rejection, ToolInvocation, Trajectory, outcome_text, run
from deepeyes_core.config import parse_config
from deepeyes_core.steps import tool_result

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SOURCES = {
    "baseline": EXAMPLES / "logs" / "invocations.jsonl",
    "anthropic-messages": EXAMPLES / "sources" / "claude_transcripts.jsonl",
    "openai-chat": EXAMPLES / "sources" / "openai_transcripts.jsonl",
    "otel": EXAMPLES / "sources" / "otel_traces.jsonl",
    "claude-code": EXAMPLES / "sources" / "claude_code",
    "openai-responses": EXAMPLES / "sources" / "openai_responses.jsonl",
    "openai-agents": EXAMPLES / "sources" / "openai_agents_traces.jsonl",
    "langfuse": EXAMPLES / "sources" / "langfuse_traces.jsonl",
}
CHAT_FORMATS = ("anthropic-messages", "openai-chat", "trl", "sharegpt", "bedrock-claude")
UNCUT = 10**9
#: A result the format cannot hold (sharegpt: the last step's, where the log has no final answer).
UNWRITTEN = "<not written by this format>"


def _read(manager, name: str) -> tuple[list[ToolInvocation], int]:
    """What the source itself makes of its sample: the calls of its trajectories, and how many
    records it rejected."""
    source = manager.build("trajectory_source", name, {})
    calls, rejected = [], 0
    for item in source.read([SOURCES[name]]):
        if isinstance(item, Trajectory):
            calls.extend(item.invocations)
        elif isinstance(item, ToolInvocation):
            calls.append(item)
        elif isinstance(item, Rejection):
            rejected += item.records
    return calls, rejected


def _source_of(location: dict) -> str:
    file = Path(location["file"])
    return next(name for name, path in SOURCES.items() if file == path or path in file.parents)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    from deepeyes_core.plugins import PluginManager

    out = tmp_path_factory.mktemp("all") / "run"
    config = parse_config({
        "output_dir": str(out),
        "sources": [{"name": name, "paths": [str(path)]} for name, path in SOURCES.items()],
        "collector": {"quality_threshold": 0.0, "max_trajectory_length": 100, "max_result_chars": UNCUT},
        "describer": {"name": "source"},
        "redaction": {"enabled": False},
        "trainer": {"min_examples": 1},
        "backend": {"name": "dry-run"},
        "exporters": [{"name": "jsonl"}, {"name": "anthropic-messages"},
                      {"name": "openai-chat", "token_counter": "approximate", "min_train_examples": 1},
                      {"name": "trl"}, {"name": "sharegpt"}, {"name": "bedrock-claude"}],
    })
    result = asyncio.run(run(config, plugins=PluginManager()))
    assert result["status"] == "completed", result["message"]
    return out


def _records(out: Path, fmt: str, split: str) -> list[dict]:
    path = out / (f"sft_{split}.jsonl" if fmt == "jsonl" else f"{fmt}/sft_{split}.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def _calls_and_results(fmt: str, record: dict) -> tuple[list[str], list[str]]:
    """The names of a record's calls and the texts of its tool results, in that format's shape."""
    names, results = [], []
    if fmt in ("openai-chat", "trl"):
        for message in record["messages"]:
            names += [c["function"]["name"] for c in message.get("tool_calls") or ()]
            if message["role"] == "tool":
                results.append(message["content"])
    elif fmt == "anthropic-messages":
        for message in record["messages"]:
            for block in message["content"] if isinstance(message["content"], list) else ():
                if block["type"] == "tool_use":
                    names.append(block["name"])
                elif block["type"] == "tool_result":
                    content = block["content"]
                    results.append(content if isinstance(content, str) else "".join(b["text"] for b in content))
    elif fmt == "sharegpt":  # parallel calls: one function_call turn holding a list, one observation list
        parallel = False
        for turn in record["conversations"]:
            if turn["from"] == "function_call":
                value = json.loads(turn["value"])
                parallel = isinstance(value, list)
                names += [c["name"] for c in (value if parallel else [value])]
            elif turn["from"] == "observation":
                results += json.loads(turn["value"]) if parallel else [turn["value"]]
        last = record["conversations"][-1]
        if last["from"] == "function_call":
            # The format ends on the model's turn: without a final answer, the last step's results
            # are not written (no later turn reads them; the exporter documents it).
            value = json.loads(last["value"])
            results += [UNWRITTEN] * (len(value) if isinstance(value, list) else 1)
    return names, results


def test_every_source_reaches_every_chat_export(run_folder: Path):
    from deepeyes_core.plugins import PluginManager

    manager = PluginManager()
    rejects = [json.loads(line) for line in (run_folder / "rejects.jsonl").read_text().splitlines()]
    # Calls of trajectories the pipeline dropped after the source had read them (duplicates).
    dropped: Counter[str] = Counter()
    for reject in rejects:
        if reject["stage"] != "read":
            dropped[_source_of(reject["locations"][0])] += reject["records"]
    jsonl = {split: _records(run_folder, "jsonl", split) for split in ("train", "val", "test")}
    for name in SOURCES:
        read, _ = _read(manager, name)
        assert read, f"{name}: its sample gave no calls"
        expected_results = Counter(outcome_text(tool_result(call, UNCUT)) for call in read)
        for fmt in CHAT_FORMATS:
            names: Counter[str] = Counter()
            results: Counter[str] = Counter()
            for split, guide in jsonl.items():
                records = _records(run_folder, fmt, split)
                assert len(records) == len(guide), f"{fmt} {split}: one record per example, in the same order"
                for record, guide_record in zip(records, guide):
                    if guide_record["metadata"]["source"] != name:
                        continue
                    if fmt == "bedrock-claude":  # calls as text: each expected call is named in it
                        text = json.dumps(record["messages"])
                        for tool in guide_record["metadata"]["tool_sequence"]:
                            assert f"{tool}(" in text
                        names.update(guide_record["metadata"]["tool_sequence"])
                        continue
                    got_names, got_results = _calls_and_results(fmt, record)
                    names.update(got_names)
                    results.update(got_results)
            assert sum(names.values()) + dropped[name] == len(read), (name, fmt)
            assert set(names) == {call.tool_name for call in read} or dropped[name], (name, fmt)
            if fmt != "bedrock-claude":
                # Every exported result is one the source read, and there is one for each call.
                assert sum(results.values()) == sum(names.values()), (name, fmt)
                written = results - Counter({UNWRITTEN: results[UNWRITTEN]})
                assert not written - expected_results, (name, fmt, list(written - expected_results)[:2])


def test_paths_under_home_and_a_folder_for_a_source_that_reads_folders(tmp_path, monkeypatch):
    from deepeyes_core import expand_paths

    monkeypatch.setenv("HOME", str(SOURCES["claude-code"].parent))
    files = expand_paths(["~/claude_code"], directory_glob="**/*.jsonl")
    assert sorted(files) == sorted(SOURCES["claude-code"].rglob("*.jsonl")) and len(files) >= 3
    with pytest.raises(Exception, match="is a directory"):
        expand_paths(["~/claude_code"])  # a source that does not read folders asks for a glob
