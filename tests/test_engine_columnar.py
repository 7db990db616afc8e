"""The columnar engine writes the same bytes as the row engine, and a run says which one ran and why.

Both engines run the whole pipeline (dry-run backend) into their own folder; every file is compared
byte for byte, except the report (its time stamp, timings and engine differ between any two runs;
its other keys are compared) and the two files derived from it (the HTML page, the manifest).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import deepeyes_core.collector as collector_module
import deepeyes_core.plugins as plugins_module
from deepeyes_core import (
    ConfigError,
    PluginManager,
    Rejection,
    TrajectoryCollector,
    hookimpl,
    read_invocation_batches,
    read_invocations,
    run,
)
from deepeyes_core.columnar.engine import grouped_events
from deepeyes_core.config import parse_config
from deepeyes_core.pipeline import Pipeline

from .conftest import BROKEN_LOG, ROOT, SAMPLE_LOG

pytest.importorskip("polars")

_DERIVED = ("training_report", "manifest.json")


def _run(config: dict, out: Path, engine: str, **engine_options) -> dict:
    config = {**config, "output_dir": str(out), "engine": {"name": engine, **engine_options}}
    return asyncio.run(run(parse_config(config), base_dir=ROOT))


def _report(folder: Path) -> dict:
    (path,) = folder.glob("training_report_*.json")
    report = json.loads(path.read_text().replace(str(folder), "<out>"))
    for key in ("generated_at", "timings_s", "engine"):
        report.pop(key)
    report["config"].pop("engine")
    return report


def _files(folder: Path) -> list[Path]:
    """The files to compare; the report's name holds its time, so it is named by its suffix."""
    names = [p.relative_to(folder) for p in folder.rglob("*") if p.is_file()]
    return sorted(Path(f"training_report{n.suffix}") if n.name.startswith(_DERIVED[0]) else n for n in names)


def _assert_same_files(row: Path, columnar: Path) -> int:
    names = _files(row)
    assert names == _files(columnar)
    compared = 0
    for name in names:
        if not name.name.startswith(_DERIVED):
            assert (row / name).read_bytes() == (columnar / name).read_bytes(), f"{name} differs"
            compared += 1
    assert _report(row) == _report(columnar)
    return compared


def _config(log: Path, **collector) -> dict:
    return {
        "sources": [{"name": "baseline", "paths": [str(log)]}],
        "collector": collector,
        "trainer": {"min_examples": 7},  # the fewest a 70/15/15 split can fill
        "backend": {"name": "dry-run"},
    }


def test_the_shipped_sample_gives_the_same_bytes_in_small_chunks(tmp_path, plugins):
    config = _config(SAMPLE_LOG, quality_threshold=0.75)
    row = _run(config, tmp_path / "row", "row")
    columnar = _run(config, tmp_path / "columnar", "columnar", chunk_bytes=50_000)  # about 60 chunks
    assert row["engine"] == {"name": "row", "reason": '[engine] name = "row"'}
    assert columnar["engine"]["name"] == "columnar"
    assert columnar["training_examples_count"] == row["training_examples_count"] > 1000
    assert _assert_same_files(tmp_path / "row", tmp_path / "columnar") >= 5


def test_the_broken_sample_gives_the_same_rejections(tmp_path, plugins, monkeypatch):
    monkeypatch.setattr(collector_module, "_SWEEP_EVERY", 5)  # sweeps for stale sessions between chunks
    config = _config(BROKEN_LOG, session_timeout_seconds=60)
    _run(config, tmp_path / "row", "row")
    _run(config, tmp_path / "columnar", "columnar", chunk_bytes=700)
    _assert_same_files(tmp_path / "row", tmp_path / "columnar")
    reasons = {json.loads(line)["reason"] for line in (tmp_path / "row" / "rejects.jsonl").open()}
    assert {"malformed JSON", "malformed record"} <= reasons


def test_sessions_carry_over_from_one_file_and_source_to_the_next(tmp_path, plugins, monkeypatch):
    """Two sources, three files: the row engine groups them as one stream, and so does the columnar one."""
    monkeypatch.setattr(collector_module, "_SWEEP_EVERY", 64)
    lines = SAMPLE_LOG.read_bytes().splitlines(keepends=True)
    (tmp_path / "a.jsonl").write_bytes(b"".join(lines[:1500]))
    (tmp_path / "b.jsonl").write_bytes(b"".join(lines[1500:]))
    config = _config(tmp_path / "a.jsonl", session_timeout_seconds=900, quality_threshold=0.75)
    config["sources"] = [{"name": "baseline", "paths": [str(tmp_path / "a.jsonl"), str(BROKEN_LOG)]},
                         {"name": "baseline", "paths": [str(tmp_path / "b.jsonl")]}]
    _run(config, tmp_path / "row", "row")
    _run(config, tmp_path / "columnar", "columnar", chunk_bytes=20_000)
    _assert_same_files(tmp_path / "row", tmp_path / "columnar")


def test_a_sidecar_of_tool_definitions_reaches_the_examples_alike(tmp_path, plugins):
    log = tmp_path / "invocations.jsonl"
    log.write_bytes(SAMPLE_LOG.read_bytes())
    tool = json.loads(log.read_text().splitlines()[0])["tool_name"]
    definition = {"name": tool, "parameters": {"type": "object", "properties": {}}}  # the log's calls have some
    (tmp_path / "invocations.tools.json").write_text(json.dumps([definition]))
    config = _config(log, quality_threshold=0.75)
    _run(config, tmp_path / "row", "row")
    _run(config, tmp_path / "columnar", "columnar", chunk_bytes=100_000)
    _assert_same_files(tmp_path / "row", tmp_path / "columnar")
    assert f"- {tool}()".encode() in (tmp_path / "columnar" / "sft_train.jsonl").read_bytes()  # as declared


# -- hypothesis: generated logs ---------------------------------------------------------------

_SECRET = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documented example key id: redacted by both engines

_LONG = "a value longer than the tests' max_value_chars"  # its trajectory is "too large"

_BAD_LINES = [
    b"{not json\n",
    b'{"tool_name": 5, "agent_name": "A", "timestamp": 1}\n',
    b'{"tool_name": "", "agent_name": "A", "timestamp": 1}\n',
    b'{"tool_name": "t", "agent_name": "A", "timestamp": "yesterday"}\n',
    b'{"tool_name": "t", "agent_name": "A", "timestamp": 1, "parameters": {"n": 123456789012345678901234}}\n',
    b'{"tool_name": "t", "agent_name": "A", "timestamp": 1, "parameters": {"x": ' + b"[" * 120 + b"]" * 120 + b"}}\n",
    b"[1, 2]\n",
    b"\n",
]


@st.composite
def logs(draw) -> bytes:
    lines: list[bytes] = []
    clock = 1_763_000_000.0
    for _ in range(draw(st.integers(1, 80))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(_BAD_LINES)))
            continue
        clock += draw(st.sampled_from([0.5, 1.0, 7.25, 90.0, 400.0, 5000.0, -3.0]))
        record = {
            "tool_name": draw(st.sampled_from(["search", "fetch", "send_email"])),
            "agent_name": draw(st.sampled_from(["A", "B"])),
            "parameters": {"query": draw(st.sampled_from(["cats", "dogs", f"key {_SECRET}", _LONG]))},
            "result": {"rows": draw(st.integers(0, 3))},
            "status": draw(st.sampled_from(["success", "success", "failure"])),
            "timestamp": clock if draw(st.booleans()) else f"2025-11-15T10:{int(clock) % 60:02d}:00+00:00",
        }
        session = draw(st.sampled_from([None, "s1", "s2", "absent"]))
        if session != "absent":
            record["session_id"] = session
        if draw(st.integers(0, 7)) == 0:
            record["invocation_id"] = draw(st.sampled_from(["i1", "i2"]))  # repeats: duplicate ids
        lines.append(json.dumps(record).encode() + b"\n")
    text = b"".join(lines)
    return text[:-1] if draw(st.booleans()) and len(lines) > 1 else text  # a torn last line, or not


def _in_order(collector: TrajectoryCollector, events) -> list:
    """Trajectories (id and calls) and rejections, in the order the collector meets them."""
    seen: list = []
    collector.on_reject = lambda r: seen.append(r)
    for item in events:
        if isinstance(item, Rejection):
            collector.on_reject(item)
        else:
            seen.append((item.trajectory_id, item.invocations))
    return seen


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=logs(), chunk_bytes=st.integers(60, 2000), sweep_every=st.integers(2, 9))
def test_generated_logs_group_alike(tmp_path_factory, monkeypatch, log, chunk_bytes, sweep_every):
    """The grouping alone, many logs: the same trajectories, rejections, order and counts."""
    monkeypatch.setattr(collector_module, "_SWEEP_EVERY", sweep_every)
    path = tmp_path_factory.mktemp("group") / "log.jsonl"
    path.write_bytes(log)
    settings = {"session_timeout_seconds": 600, "max_trajectory_length": 3, "redactor": object()}
    row, columnar = TrajectoryCollector(**settings), TrajectoryCollector(**settings)
    expected = _in_order(row, row.iter_trajectories(read_invocations(path)))
    got = _in_order(columnar, grouped_events(columnar, read_invocation_batches(path, chunk_bytes)))
    assert got == expected
    assert columnar.counts == row.counts
    assert columnar.tool_success_rates() == row.tool_success_rates()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=logs(), chunk_bytes=st.integers(60, 2000), sweep_every=st.integers(2, 9), drop_failed=st.booleans())
def test_generated_logs_give_the_same_bytes(tmp_path_factory, monkeypatch, log, chunk_bytes, sweep_every,
                                            drop_failed):
    monkeypatch.setattr(plugins_module, "_default", PluginManager(load_entry_points=False))
    monkeypatch.setattr(collector_module, "_SWEEP_EVERY", sweep_every)
    folder = tmp_path_factory.mktemp("gen")
    (folder / "log.jsonl").write_bytes(log)
    config = _config(folder / "log.jsonl", session_timeout_seconds=600, max_trajectory_length=3,
                     min_trajectory_length=2, quality_threshold=0.5, max_value_chars=len(_LONG) - 1,
                     drop_failed_calls=drop_failed)
    row = _run(config, folder / "row", "row")
    _run(config, folder / "columnar", "columnar", chunk_bytes=chunk_bytes)
    event(f"status {row['status']}")  # both kinds: split and exported, or too few examples
    for line in (folder / "row" / "rejects.jsonl").read_text().splitlines():
        event(f"rejected: {json.loads(line)['reason']}")  # every reason, over the examples
    _assert_same_files(folder / "row", folder / "columnar")
    assert not [f for f in (folder / "columnar").rglob("*.json*") if _SECRET.encode() in f.read_bytes()]


# -- the choice of engine ---------------------------------------------------------------------


class _RowOnlySource:
    """A third-party source with ``read`` only."""

    name = "row-only"
    from deepeyes_core import NoOptions as Options

    def __init__(self, options):
        self.options = options

    def read(self, paths):
        from deepeyes_core import read_invocations

        for path in paths:
            yield from read_invocations(path)


class _RowOnlyPlugin:
    @staticmethod
    @hookimpl
    def deepeyes_trajectory_sources():
        return [_RowOnlySource]


def _pipeline(plugins, source: str, engine: str) -> Pipeline:
    config = {**_config(SAMPLE_LOG), "sources": [{"name": source, "paths": [str(SAMPLE_LOG)]}],
              "engine": {"name": engine}}
    return Pipeline.from_config(parse_config(config), ROOT, plugins)


def test_auto_picks_columnar_for_built_ins_and_says_why(tmp_path, plugins):
    result = _run(_config(SAMPLE_LOG), tmp_path / "auto", "auto")
    assert result["engine"]["name"] == "columnar"
    assert "read_batches" in result["engine"]["reason"]
    (report,) = (tmp_path / "auto").glob("training_report_*.json")
    assert json.loads(report.read_text())["engine"] == result["engine"]


def test_auto_picks_row_for_a_source_without_a_batch_method(tmp_path, deepeyes_plugins):
    deepeyes_plugins(_RowOnlyPlugin())
    config = {**_config(SAMPLE_LOG), "sources": [{"name": "row-only", "paths": [str(SAMPLE_LOG)]}]}
    result = _run(config, tmp_path / "auto", "auto")
    assert result["engine"] == {
        "name": "row", "reason": "auto: trajectory source 'row-only' has no read_batches method"}


def test_forced_columnar_with_a_source_without_a_batch_method_is_a_config_error(deepeyes_plugins):
    plugins = deepeyes_plugins(_RowOnlyPlugin())
    with pytest.raises(ConfigError, match=r"columnar.*trajectory source 'row-only' has no read_batches method"):
        _pipeline(plugins, "row-only", "columnar")


def test_auto_falls_back_to_row_without_polars(tmp_path, plugins, monkeypatch):
    monkeypatch.setitem(sys.modules, "polars", None)  # import polars now raises ImportError
    result = _run(_config(SAMPLE_LOG), tmp_path / "auto", "auto")
    assert result["engine"]["name"] == "row"
    assert "pip install 'deepeyes[columnar]'" in result["engine"]["reason"]
    with pytest.raises(ConfigError, match=r"deepeyes\[columnar\]"):
        _pipeline(plugins, "baseline", "columnar")


def test_records_handed_in_run_on_the_row_engine(tmp_path, plugins):
    from deepeyes_core import ColdStartTrainer, read_invocations

    pipeline = _pipeline(plugins, "baseline", "auto")
    trainer = ColdStartTrainer.from_pipeline(pipeline)
    asyncio.run(trainer.prepare_training_data(read_invocations(SAMPLE_LOG)))
    assert trainer.record.engine.name == "row"
    assert "handed records" in trainer.record.engine.reason


def test_an_unknown_engine_is_a_config_error():
    with pytest.raises(ConfigError, match=r"engine.*name must be one of 'auto', 'row', 'columnar'"):
        parse_config({**_config(SAMPLE_LOG), "engine": {"name": "fast"}})


def test_the_cli_summary_names_the_engine_and_why(tmp_path):
    import os
    import subprocess

    command = [sys.executable, "-m", "deepeyes_core.cli", "run", str(ROOT / "examples" / "quickstart.toml"),
               "--output-dir", str(tmp_path), "--no-progress", "--set", "backend.name=dry-run",
               "--set", "engine.name=row"]
    env = {**os.environ, "DEEPEYES_LOAD_PLUGINS": "", "COLUMNS": "200"}
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert 'engine' in done.stdout and '[engine] name = "row"' in done.stdout
