"""The ``claude-code`` source on transcripts the real Claude Code CLI wrote (``examples/sources/claude_code/``,
made by ``examples/sources/make_claude_code_samples.py``). A record is a tool call; an unreadable line
counts as one: kept calls plus rejected records equal what was read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepeyes_core import PluginManager, Rejection, ToolStatus, Trajectory
from deepeyes_core.plugins import BUILTIN_PLUGINS

from .test_cli import deepeyes

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sources" / "claude_code"
FILES = sorted(SAMPLE.rglob("*.jsonl"))


def sample_lines() -> list[dict]:
    return [json.loads(line) for path in FILES for line in path.read_text().splitlines() if line.strip()]


def tool_uses(lines) -> list[dict]:
    """Every tool_use block of the assistant lines: the records the source must account for."""
    return [
        block
        for line in lines
        if line.get("type") == "assistant"
        for block in line["message"]["content"]
        if isinstance(block, dict) and block.get("type") == "tool_use"
    ]


@pytest.fixture
def manager() -> PluginManager:
    return PluginManager(load_entry_points=False, builtins=BUILTIN_PLUGINS)


def read(manager, paths, **options):
    return list(manager.build("trajectory_source", "claude-code", options).read([Path(p) for p in paths]))


def split(items):
    return [i for i in items if isinstance(i, Trajectory)], [i for i in items if isinstance(i, Rejection)]


def counted(items) -> int:
    trajectories, rejections = split(items)
    return sum(len(t.invocations) for t in trajectories) + sum(r.records for r in rejections)


def test_reads_the_projects_folder_claude_code_wrote(manager):
    items = read(manager, [SAMPLE])  # a directory: every *.jsonl below, subagent files included
    trajectories, rejections = split(items)
    assert rejections == []
    assert counted(items) == len(tool_uses(sample_lines())) == 14
    by_request = {t.user_request.split()[0]: t for t in trajectories}
    assert set(by_request) == {"Take", "Please", "SUBTASK:"} and len(trajectories) == 4
    inventory = by_request["Take"]
    assert inventory.tool_sequence == ("Glob", "Read", "Grep", "Bash", "Read", "Write", "Bash", "Bash")
    # Parallel tool_use blocks (one message, written on two lines) are one step; so are the resumed session's.
    assert [t.calls for t in inventory.turns] == [1, 2, 1, 1, 1, 2]
    assert inventory.turns[0].text == "Let me look at the project first."
    missing, false = inventory.invocations[4], inventory.invocations[7]
    assert missing.status is ToolStatus.FAILURE and missing.error.startswith("File does not exist.")
    assert false.status is ToolStatus.FAILURE and false.error == "Exit code 1" and false.result is None
    assert inventory.invocations[6].result.split("\n") == ["__pycache__", "app.py", "config.toml", "tests"]
    # The session was compacted after its last call: the chain is followed across the boundary.
    assert inventory.final_answer == "Listed the files; the second command failed as expected."
    assert inventory.tools == () and inventory.source == "claude-code" and inventory.agent_name == "claude-code"
    assert all(i.location.file.endswith(f"{inventory.session_id}.jsonl") for i in inventory.invocations)
    assert all(i.latency_ms > 0 for i in inventory.invocations)
    rename = next(t for t in trajectories if t.user_request.startswith("Please rename"))
    assert rename.tool_sequence == ("Edit", "Read", "Edit", "Bash")
    assert "File has not been read yet" in rename.invocations[0].error
    assert rename.invocations[3].result == "6:def grand_total(prices):"


def test_a_subagent_is_its_own_trajectory_or_dropped(manager):
    trajectories, _ = split(read(manager, FILES))
    survey = next(t for t in trajectories if t.user_request.startswith("Please survey"))
    sub = next(t for t in trajectories if t.user_request.startswith("SUBTASK"))
    assert survey.tool_sequence == ("Agent",) and sub.tool_sequence == ("Bash",)
    assert sub.session_id == survey.session_id and sub.trajectory_id.startswith(f"{survey.session_id}/agent-")
    assert sub.agent_name == "claude-code/general-purpose"
    assert sub.invocations[0].result == "7 app.py"
    assert survey.invocations[0].result.startswith(sub.final_answer)
    items = read(manager, FILES, sidechains="drop")
    kept, rejections = split(items)
    assert len(kept) == 3 and [(r.reason, r.records) for r in rejections] == [("subagent dropped", 1)]
    assert counted(items) == 14


def write(path: Path, lines) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def session(name: str) -> list[dict]:
    path = next(p for p in FILES if p.parent.name != "subagents" and name in p.read_text())
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_rewound_branch_is_not_the_main_chain(manager, tmp_path):
    lines = session("Please rename")
    prompt = next(line for line in lines if line.get("type") == "user")
    retry = {**prompt, "uuid": "edit-1", "parentUuid": prompt["parentUuid"], "message": {"role": "user", "content": "Rename it to sum_prices."}}
    last_call = next(line for line in reversed(lines) if line.get("type") == "assistant" and tool_uses([line]))
    answer = {**last_call, "uuid": "edit-2", "parentUuid": "edit-1", "message": {**last_call["message"], "id": "msg_edit", "content": [{"type": "text", "text": "No."}]}}
    items = read(manager, [write(tmp_path / "s.jsonl", [*lines, retry, answer])])
    assert [(r.reason, r.records) for r in split(items)[1]] == [("not on the main chain", 4), ("no tool calls", 0)]
    assert counted(items) == 4


def test_unusable_lines_are_rejections_naming_file_and_line(manager, tmp_path):
    lines = session("Please rename")
    calls = [i for i, line in enumerate(lines) if tool_uses([line])]
    torn = [*lines[:-3], "{not json", [1, 2]]  # the last call's result and the answer are gone
    items = read(manager, [write(tmp_path / "torn.jsonl", torn)])
    _, rejections = split(items)
    assert [(r.reason, r.records) for r in rejections] == [("malformed JSON", 1), ("malformed record", 1), ("awaiting tool results", 4)]
    assert rejections[0].locations[0].line == len(lines) - 2 and rejections[0].locations[0].file.endswith("torn.jsonl")
    gap = [line for i, line in enumerate(lines) if i != calls[1] + 1]  # a result line (a chain link) is lost
    items = read(manager, [write(tmp_path / "gap.jsonl", gap)])
    assert [(r.reason, r.records) for r in split(items)[1]] == [("broken chain", 4)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_kept_plus_rejected_is_read(manager, tmp_path, data):
    lines = [json.dumps(line) for line in session("Take an inventory")]
    keep = data.draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)))
    out = [line for line, kept in zip(lines, keep) if kept]
    junk = data.draw(st.lists(st.sampled_from(["{oops", "[]", '{"type": 3}', '{"type": "assistant", "uuid": "x"}']), max_size=3))
    for text in junk:
        out.insert(data.draw(st.integers(0, len(out))), text)
    if out and data.draw(st.booleans()):
        out.append(out[data.draw(st.integers(0, len(out) - 1))])  # a line written twice
    items = read(manager, [write(tmp_path / "f.jsonl", out)])
    calls = sum(len(tool_uses([json.loads(line)])) for line in out if line in lines)
    assert counted(items) == calls + sum(line not in lines for line in out)  # an unreadable line is one record


def test_deepeyes_plugins_lists_it():
    rows = {(r["kind"], r["name"]): r for r in json.loads(deepeyes("plugins", "--json").stdout)}
    assert rows[("trajectory_source", "claude-code")]["options"] == {"sidechains": "keep", "agent_name": None}


def test_a_dry_run_exports_the_sessions_calls_and_results(tmp_path):
    config = tmp_path / "cc.toml"
    config.write_text(f"""
output_dir = "{tmp_path / 'out'}"
[[sources]]
name = "claude-code"
paths = ["{SAMPLE}"]  # a projects folder: every transcript under it
[collector]
quality_threshold = 0.5
max_trajectory_length = 10
[trainer]
min_examples = 1
[dataset]
train_ratio = 0.5
val_ratio = 0.25
test_ratio = 0.25
[describer]
name = "source"
[[exporters]]
name = "openai-chat"
min_train_examples = 1
""")
    result = deepeyes("run", str(config), "--no-progress", "--json")
    assert result.returncode == 0, result.stderr
    calls, results = [], []
    for split_name in ("train", "val", "test"):
        for line in (tmp_path / "out" / "openai-chat" / f"sft_{split_name}.jsonl").read_text().splitlines():
            for message in json.loads(line)["messages"]:
                calls += [c["function"]["name"] for c in message.get("tool_calls") or []]
                results += [message["content"]] if message["role"] == "tool" else []
    expected = [block["name"] for block in tool_uses(sample_lines())]
    assert sorted(calls) == sorted(expected) and len(results) == len(expected)
    assert "Exit code 1" in " ".join(results) and "6:def grand_total(prices):" in results


def test_the_generator_documents_how_to_rerun_it():
    script = ROOT / "examples" / "sources" / "make_claude_code_samples.py"
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "--claude" in done.stdout
