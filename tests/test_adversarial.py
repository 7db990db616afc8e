"""`deepeyes run` as a subprocess over a table of bad inputs, as an adversarial user would try them:
for each, the exit code, one line on stderr naming the field or path, no traceback, and nothing
under the output folder but what the documentation says (after a refused run: at most the lock
file; after a completed one: the run's files and its manifest)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from tests.conftest import SAMPLE_LOG

EXIT_OK, EXIT_ERROR, EXIT_NO_DATA = 0, 2, 3
#: What a completed run leaves (README: "Files a run writes"), besides the lock and the manifest.
RUN_FILES = {"sft_train.jsonl", "sft_val.jsonl", "sft_test.jsonl", "dataset_stats.json", "rejects.jsonl", "contamination.jsonl",
             "manifest.json", ".deepeyes.lock"}
SAMPLE_LINES = SAMPLE_LOG.read_text().splitlines(keepends=True)[:1500]


def _line(**fields) -> str:
    record = {"tool_name": "database_query", "agent_name": "Adversary", "parameters": {"table": "t"},
              "result": {"rows": 1}, "status": "success", "latency_ms": 1.0,
              "timestamp": "2026-01-01T00:00:00+00:00", "session_id": "adv", **fields}
    return json.dumps(record) + "\n"


@attrs.frozen
class Case:
    name: str
    #: Extra TOML lines (appended to the base config) or a replacement of the sources' paths.
    config: str = ""
    #: The log's lines (default: the first 1,500 of the sample).
    log: Callable[[Path], list[str]] = lambda _: SAMPLE_LINES
    exit_code: int = EXIT_OK
    #: Text stderr's one line must hold (errors), or that rejects.jsonl must hold (completed runs).
    says: str = ""
    #: The output folder is a file made before the run.
    output_is_file: bool = False
    paths: str = '["log.jsonl"]'


def _deep(_: Path) -> list[str]:
    return SAMPLE_LINES + ['{"tool_name": "x", "parameters": ' + "[" * 100_000 + "]" * 100_000 + "}\n"]


def _hostile(_: Path) -> list[str]:
    session = [_line(invocation_id=f"ok{i}", timestamp=f"2026-01-01T00:00:0{i}+00:00",
                     parameters={"table": "t", "n": 10**29 if i == 2 else i}) for i in range(5)]
    return SAMPLE_LINES + session + [
        _line(tool_name=123, invocation_id="named"),
        _line(invocation_id="ok0"),  # a repeat
        _line(session_id="big", invocation_id="big", parameters={"q": "x" * 300_000}),
    ]


def _bad_tool(_: Path) -> list[str]:
    return SAMPLE_LINES + [_line(tool_name="<img src=x>", session_id="img", invocation_id="img")]


CASES = [
    Case("quality threshold out of range", "[collector]\nquality_threshold = 7\n", exit_code=EXIT_ERROR,
         says="collector: quality_threshold must be within 0..1, got 7"),
    Case("no calls allowed", "[collector]\nmax_trajectory_length = 0\n", exit_code=EXIT_ERROR,
         says="max_trajectory_length must be at least 1, got 0"),
    Case("min above max", "[collector]\nmin_trajectory_length = 4\nmax_trajectory_length = 2\n",
         exit_code=EXIT_ERROR, says="min_trajectory_length (4) must not exceed max_trajectory_length (2)"),
    Case("negative epochs", "epochs = -3\n", exit_code=EXIT_ERROR, says="trainer: epochs must be at least 1"),
    Case("ratios summing to 0.9", "[dataset]\ntrain_ratio = 0.6\n", exit_code=EXIT_ERROR,
         says="must sum to 1, got 0.6 + 0.15 + 0.15 = 0.9"),
    Case("unknown prompt layout", '[dataset]\nprompt_layout = "fancy"\n', exit_code=EXIT_ERROR,
         says="dataset: prompt_layout must be one of 'catalogue', 'task', 'guide', got 'fancy'"),
    Case("unknown option", "[collector]\nquality = 0.5\n", exit_code=EXIT_ERROR, says="quality"),
    Case("unknown splitter", '[splitter]\nname = "random"\n', exit_code=EXIT_ERROR,
         says="no splitter named 'random'; available:"),
    Case("output folder is a file", exit_code=EXIT_ERROR, output_is_file=True, says="is a file"),
    Case("a directory as a source", paths='["logs"]', exit_code=EXIT_ERROR, says="logs: is a directory"),
    Case("a missing file with brackets", paths='["logs[prod].jsonl"]', exit_code=EXIT_ERROR,
         says="logs[prod].jsonl: no such file"),
    Case("paths as one string", paths='"log.jsonl"'),
    Case("an empty log", log=lambda _: [], exit_code=EXIT_NO_DATA, says="0 training examples"),
    Case("a value nested 100,000 deep", log=_deep, says="too deeply nested"),
    Case("hostile records", log=_hostile, says="integer out of range"),
    Case("a tool name no chat format accepts", '[[exporters]]\nname = "jsonl"\n[[exporters]]\nname = "openai-chat"\n',
         log=_bad_tool, says="breaks the openai-chat format"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_gets_one_clear_line_and_leaves_nothing_behind(tmp_path, case):
    (tmp_path / "log.jsonl").write_text("".join(case.log(tmp_path)))
    (tmp_path / "logs").mkdir()
    out = tmp_path / "out"
    if case.output_is_file:
        out.write_text("not a folder")
    config = tmp_path / "run.toml"
    config.write_text(
        f'output_dir = "out"\n[[sources]]\nname = "baseline"\npaths = {case.paths}\n'
        f"[trainer]\nmin_examples = 10\n{case.config}"
    )
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run(
        [sys.executable, "-m", "deepeyes_core.cli", "run", str(config), "--no-progress", "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert "Traceback" not in done.stderr + done.stdout
    assert done.returncode == case.exit_code, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if case.exit_code == EXIT_ERROR:
        assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
        assert case.says in lines[0]
        left = set(os.listdir(out)) if out.is_dir() else set()
        assert left <= {".deepeyes.lock"}, left
        return
    result = json.loads(done.stdout)
    assert set(os.listdir(out)) - RUN_FILES == {Path(result["report_file"]).name,
                                               Path(result["report_file"]).with_suffix(".html").name} | (
        {"openai-chat"} if "openai-chat" in case.config else set())
    rejects = (out / "rejects.jsonl").read_text()
    assert case.says in rejects + done.stderr
    # Every record read ends in one place: a kept example, or a rejection's count.
    stats = result["dataset_stats"]
    kept_calls = sum(
        len(json.loads(line)["metadata"]["tool_sequence"])
        for split in ("train", "val", "test") if (out / f"sft_{split}.jsonl").exists()
        for line in (out / f"sft_{split}.jsonl").read_text().splitlines()
    )
    assert stats["pipeline"]["records_read"] == kept_calls + stats["rejects"]["records"]


def test_hostile_records_cost_only_themselves(tmp_path):
    """The 30-digit integer rejects its record, not the four calls of its session beside it."""
    (tmp_path / "log.jsonl").write_text("".join(_hostile(tmp_path)))
    config = tmp_path / "run.toml"
    config.write_text('output_dir = "out"\n[[sources]]\nname = "baseline"\npaths = ["log.jsonl"]\n'
                      "[trainer]\nmin_examples = 10\n")
    subprocess.run([sys.executable, "-m", "deepeyes_core.cli", "run", str(config), "--no-progress"],
                   capture_output=True, check=True, timeout=120)
    reasons = {}
    for line in (tmp_path / "out" / "rejects.jsonl").read_text().splitlines():
        rejection = json.loads(line)
        reasons.setdefault(rejection["reason"], []).append(rejection)
    assert [r["records"] for r in reasons["integer out of range"]] == [1]
    assert [r["records"] for r in reasons["duplicate invocation id"]] == [1]
    assert "tool_name" in reasons["malformed record"][-1]["detail"]
    assert "300,000 characters" in reasons["too large"][0]["detail"]
    examples = [json.loads(line) for split in ("train", "val", "test")
                for line in (tmp_path / "out" / f"sft_{split}.jsonl").read_text().splitlines()]
    adversary = [e for e in examples if e["metadata"]["agent"] == "Adversary"]
    assert [len(e["metadata"]["tool_sequence"]) for e in adversary] in ([4], [])
