"""The command line, run as a user runs it: the console script in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


from .conftest import ROOT, SAMPLE_LOG

DEEPEYES = [sys.executable, "-m", "deepeyes_core.cli"]


def deepeyes(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEEPEYES_LOAD_PLUGINS": "", "COLUMNS": "200"}
    return subprocess.run([*DEEPEYES, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_help_teaches():
    out = deepeyes("--help").stdout
    assert "deepeyes run examples/quickstart.toml" in out and "DEEPEYES_LOAD_PLUGINS" in out


def test_quickstart_writes_every_file(tmp_path):
    result = deepeyes("run", str(ROOT / "examples" / "quickstart.toml"), "--output-dir", str(tmp_path), "--no-progress", "--set", "backend.name=dry-run", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed" and summary["training_examples_count"] >= 100
    names = {p.name for p in tmp_path.iterdir()}
    assert {"sft_train.jsonl", "sft_val.jsonl", "sft_test.jsonl", "dataset_stats.json", "rejects.jsonl"} <= names
    assert any(n.startswith("training_report_") for n in names)
    stats = json.loads((tmp_path / "dataset_stats.json").read_text())
    read = stats["pipeline"]["invocations"]
    kept = sum(json.loads(line)["metadata"]["tool_sequence"].__len__()
               for split in ("train", "val", "test")
               for line in (tmp_path / f"sft_{split}.jsonl").read_text().splitlines())
    assert kept + stats["rejects"]["records"] == read  # nothing dropped silently
    report = json.loads(next(tmp_path.glob("training_report_*.json")).read_text())
    assert report["evaluation"]["status"] == "not measured" and report["evaluation"]["improvement_pct"] is None


def test_config_errors_name_the_file_and_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[[sources]]\nname = "baseline"\npaths = ["x.jsonl"]\n[collector]\nquality = 0.5\n')
    result = deepeyes("run", str(config))
    assert result.returncode == 2
    assert "bad.toml" in result.stderr and "quality" in result.stderr and "collector" in result.stderr
    config.write_text(f'[[sources]]\nname = "baseline"\npaths = ["{SAMPLE_LOG}"]\n[describer]\nname = "templat"\n')
    result = deepeyes("run", str(config))
    assert result.returncode == 2 and "no task describer named 'templat'; available: anthropic, source, template" in result.stderr
    config.write_text('[[sources]]\nname = "baseline"\npaths = ["logs/missing.jsonl"]\n')
    result = deepeyes("run", str(config), cwd=ROOT)  # relative to the config's folder, not the cwd
    assert result.returncode == 2
    assert f"logs/missing.jsonl: no such file (looked for {tmp_path / 'logs' / 'missing.jsonl'})" in " ".join(result.stderr.split())


def test_plugins_lists_kind_name_provider_and_options():
    result = deepeyes("plugins", "--json")
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    assert rows[("splitter", "stratified")]["distribution"] == "deepeyes"
    assert rows[("difficulty_classifier", "sequence-length")]["options"] == {"medium_max": 3}
    table = deepeyes("plugins").stdout
    assert "training_backend" in table and "dry-run" in table


def test_stats_of_a_log_and_of_a_run(tmp_path):
    log_stats = json.loads(deepeyes("stats", str(SAMPLE_LOG), "--json").stdout)
    assert log_stats["tools"] >= 18 and 0.8 < log_stats["success_rate"] < 1.0
    assert {"p50", "p95", "max"} == set(next(iter(log_stats["per_tool"].values()))["latency_ms"])
    deepeyes("run", str(ROOT / "examples" / "quickstart.toml"), "--output-dir", str(tmp_path), "--no-progress", "--set", "backend.name=dry-run")
    split_stats = json.loads(deepeyes("stats", str(tmp_path / "sft_test.jsonl"), "--json").stdout)
    # --no-verify: checked against the manifest in test_cli_errors.py
    run_stats = json.loads(deepeyes("stats", str(tmp_path), "--json", "--no-verify").stdout)
    assert split_stats["count"] == run_stats["test"]["count"]
    missing = deepeyes("stats", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "nope.jsonl: no such file" in missing.stderr


def test_one_run_reads_several_sources_and_writes_several_formats(tmp_path):
    sources = ROOT / "examples" / "sources"
    config = tmp_path / "multi.toml"
    config.write_text(f"""
output_dir = "{tmp_path / 'out'}"
[[sources]]
name = "baseline"
paths = ["{SAMPLE_LOG}"]
[[sources]]
name = "anthropic-messages"
paths = ["{sources / 'claude_transcripts.jsonl'}"]
[[sources]]
name = "otel"
paths = ["{sources / 'otel_traces.jsonl'}"]
[describer]
name = "source"
[[exporters]]
name = "jsonl"
[[exporters]]
name = "openai-chat"
[[exporters]]
name = "sharegpt"
[[exporters]]
name = "bedrock-claude"
""")
    result = deepeyes("run", str(config), "--no-progress", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    sources_seen = set()
    for split in ("train", "val", "test"):
        for line in (tmp_path / "out" / f"sft_{split}.jsonl").read_text().splitlines():
            sources_seen.add(json.loads(line)["metadata"]["source"])
    assert sources_seen == {"baseline", "anthropic-messages", "otel"}
    for fmt in ("openai-chat", "sharegpt", "bedrock-claude"):
        assert any(key.startswith(f"{fmt}/") for key in summary["files"]), fmt
        assert (tmp_path / "out" / fmt).is_dir()


def test_set_overrides_config_values(tmp_path):
    from deepeyes_core.config import apply_overrides

    data = {"trainer": {"epochs": 16}, "sources": [{"name": "baseline", "paths": ["a.jsonl"]}]}
    changed = apply_overrides(data, ["trainer.epochs=2", "backend.name=dry-run", 'sources.0.paths=["b.jsonl"]',
                                     "dataset.prompt_layout=task"])
    assert changed == {"trainer": {"epochs": 2}, "backend": {"name": "dry-run"},
                       "sources": [{"name": "baseline", "paths": ["b.jsonl"]}], "dataset": {"prompt_layout": "task"}}
    assert data["trainer"]["epochs"] == 16  # the input is left alone
    bad = deepeyes("run", str(ROOT / "examples" / "quickstart.toml"), "--set", "trainer.epochs")
    assert bad.returncode == 2 and "expected KEY=VALUE" in bad.stderr
    wrong = deepeyes("run", str(ROOT / "examples" / "quickstart.toml"), "--set", "trainer.epoch=2")
    assert wrong.returncode == 2 and "epoch" in wrong.stderr and "quickstart.toml" in wrong.stderr
