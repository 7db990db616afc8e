"""The Ray engine writes the same bytes as the row engine, on a real local Ray instance (2 CPUs),
even when a worker is killed mid-job; a component that does not pickle is a ConfigError naming it."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from deepeyes_core import ConfigError, EngineError, hookimpl
from deepeyes_core.config import parse_config
from deepeyes_core.pipeline import Pipeline

from .conftest import BROKEN_LOG, ROOT, SAMPLE_LOG
from .test_engine_columnar import _assert_same_files, _config, _run

ray = pytest.importorskip("ray")
pytest.importorskip("polars")

#: Small describe batches and blocks, so the sample makes many Ray tasks.
_RAY = {"num_cpus": 2, "batches_per_task": 2, "max_retries": 2}


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the test's describers reach the workers
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _kept_and_rejected(folder: Path) -> tuple[int, int, int]:
    """Calls in the examples written, records in rejects.jsonl, records read (the run's stats)."""
    kept = sum(
        len(json.loads(line)["metadata"]["tool_sequence"])
        for split in ("train", "val", "test") for line in (folder / f"sft_{split}.jsonl").open()
    )
    rejected = sum(json.loads(line)["records"] for line in (folder / "rejects.jsonl").open())
    stats = json.loads((folder / "dataset_stats.json").read_text())
    return kept, rejected, stats["pipeline"]["records_read"]


def _timings(folder: Path) -> dict[str, float]:
    return json.loads(next(folder.glob("training_report_*.json")).read_text())["timings_s"]


def test_the_sample_gives_the_same_bytes_and_accounts_for_every_record(tmp_path, plugins):
    config = {**_config(SAMPLE_LOG, quality_threshold=0.75, describe_batch_size=50)}
    row = _run(config, tmp_path / "row", "row")
    result = _run(config, tmp_path / "ray", "ray", **_RAY)  # 13 Ray tasks of at most 100 trajectories
    engine = result["engine"]
    assert (engine["name"], engine["reason"]) == ("ray", '[engine] name = "ray"')
    assert engine["ray"]["tasks"] == 13 and engine["ray"]["cpus"] == 2
    assert 0 < engine["ray"]["task_cpu_s"] and 0 < engine["ray"]["wall_s"] <= sum(_timings(tmp_path / "ray").values())
    assert "ray" not in row["engine"]
    assert result["training_examples_count"] == row["training_examples_count"] > 1000
    assert _assert_same_files(tmp_path / "row", tmp_path / "ray") >= 5
    kept, rejected, read = _kept_and_rejected(tmp_path / "ray")
    assert kept > 0 and rejected > 0 and kept + rejected == read == 4000


def test_the_broken_sample_gives_the_same_rejections(tmp_path, plugins):
    config = _config(BROKEN_LOG, session_timeout_seconds=60, describe_batch_size=2)
    _run(config, tmp_path / "row", "row")
    _run(config, tmp_path / "ray", "ray", **_RAY)
    _assert_same_files(tmp_path / "row", tmp_path / "ray")
    reasons = {json.loads(line)["reason"] for line in (tmp_path / "ray" / "rejects.jsonl").open()}
    assert {"malformed JSON", "malformed record"} <= reasons


def _stall_once(pid_file: Path) -> None:
    try:
        with open(pid_file, "x") as handle:
            handle.write(str(os.getpid()))
    except FileExistsError:
        return
    time.sleep(120)  # killed long before


class _StallingDescriber:
    """The template describer's answers; the first call anywhere writes its process id to
    ``pid_file`` and waits to be killed (a retry finds the file and goes on)."""

    name = "stalling"

    class Options:
        pass

    def __init__(self, options, pid_file: Path):
        self.pid_file = pid_file

    async def describe(self, trajectories):
        _stall_once(self.pid_file)
        return ["Call " + " then ".join(i.tool_name for i in t.invocations) + "." for t in trajectories]


class _UnpicklableDescriber(_StallingDescriber):
    name = "unpicklable"

    def __init__(self, options, pid_file: Path):
        super().__init__(options, pid_file)
        self.lock = threading.Lock()


def _plugin(describer: type, pid_file: Path) -> object:
    import attrs

    @attrs.define
    class Options:
        pass

    class Describer(describer):  # type: ignore[misc,valid-type]
        pass

    Describer.Options = Options
    Describer.__init__ = lambda self, options: describer.__init__(self, options, pid_file)  # type: ignore[method-assign]

    class Plugin:
        @staticmethod
        @hookimpl
        def deepeyes_task_describers():
            return [Describer]

    return Plugin()


def _killer(pid_file: Path, killed: list[int]) -> threading.Thread:
    """A started thread that SIGKILLs the worker whose pid the stalling describer writes."""

    def kill_the_worker() -> None:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    return killer


def _stalling_run(tmp_path, deepeyes_plugins) -> tuple[dict, Path, list[int], threading.Thread]:
    """A config whose describer stalls in a Ray worker until the killer thread, started here, has
    killed that worker by the pid it wrote: the config, the pid file, the pids killed, the thread."""
    pid_file = tmp_path / "worker.pid"
    deepeyes_plugins(_plugin(_StallingDescriber, pid_file))
    config = {**_config(SAMPLE_LOG, describe_batch_size=200), "describer": {"name": "stalling"}}
    killed: list[int] = []
    return config, pid_file, killed, _killer(pid_file, killed)


def test_a_worker_killed_mid_job_still_gives_the_same_bytes(tmp_path, deepeyes_plugins):
    config, pid_file, killed, killer = _stalling_run(tmp_path, deepeyes_plugins)
    result = _run(config, tmp_path / "ray", "ray", **_RAY)
    killer.join()
    assert killed and killed[0] != os.getpid()  # a Ray worker, not this process
    pid_file.write_text("done")  # the row run's describer goes straight on
    _run(config, tmp_path / "row", "row")
    assert result["training_examples_count"] > 1000
    _assert_same_files(tmp_path / "row", tmp_path / "ray")


def test_a_describer_that_does_not_pickle_is_a_config_error_naming_it(tmp_path, deepeyes_plugins):
    plugins = deepeyes_plugins(_plugin(_UnpicklableDescriber, tmp_path / "unused.pid"))
    config = {**_config(SAMPLE_LOG), "describer": {"name": "unpicklable"}, "engine": {"name": "ray"}}
    with pytest.raises(ConfigError, match=r"ray.*task describer 'unpicklable' does not pickle.*lock"):
        Pipeline.from_config(parse_config(config), ROOT, plugins)


def test_a_describer_with_a_usage_is_a_config_error_naming_it(tmp_path, deepeyes_plugins):
    class _Counting(_StallingDescriber):
        name = "counting"
        usage = 0  # calls made: a count the run would report

    plugins = deepeyes_plugins(_plugin(_Counting, tmp_path / "unused.pid"))
    config = {**_config(SAMPLE_LOG), "describer": {"name": "counting"}, "engine": {"name": "ray"}}
    with pytest.raises(ConfigError, match=r"task describer 'counting' keeps a usage"):
        Pipeline.from_config(parse_config(config), ROOT, plugins)


def test_a_worker_that_dies_past_max_retries_is_an_engine_error(tmp_path, deepeyes_plugins):
    config, _, killed, killer = _stalling_run(tmp_path, deepeyes_plugins)
    with pytest.raises(EngineError, match=r"worker died on each of its 1 attempt \(\[engine\] max_retries = 0\)"):
        _run(config, tmp_path / "ray", "ray", **{**_RAY, "max_retries": 0})
    killer.join()
    assert killed
