"""Peak RSS and CPU seconds of each stage of one run, measured inside the run's process.

    python bench/bench_stage_memory.py CONFIG [--set trainer.min_examples=1 ...]

Runs CONFIG as ``deepeyes run`` does, with one more plugin that notes when each stage starts and
ends (the ``deepeyes_stage_started``/``deepeyes_stage_finished`` hooks). A thread reads the
process's RSS from ``/proc/self/statm`` every 20 ms. For each stage the script prints its CPU
seconds (``time.process_time``, all threads; the sampler costs little), the RSS when it ended and
the highest RSS seen from its start to the next stage's. read, collect and describe run as one
streamed pass: they show the same figures. Then the CPU seconds of the exact similarity
searches inside two stages: the near-duplicate join that measures contamination and counts
leakage (``split``), the retrieval and majority controls (``evaluate``). Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import threading
import time
from pathlib import Path

from deepeyes_core import hookimpl
from deepeyes_core.plugins import PluginManager
from deepeyes_core.runner import run

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


class StageMemory:
    """The plugin: the stage running now, each stage's CPU seconds, end RSS and peak RSS."""

    def __init__(self) -> None:
        self.running = "setup"
        self.started: dict[str, float] = {}
        self.rows: dict[str, dict[str, float]] = {}
        self.peaks: dict[str, int] = {}

    @hookimpl
    def deepeyes_stage_started(self, event) -> None:
        self.started.setdefault(event.stage, time.process_time())
        self.running = event.stage

    @hookimpl
    def deepeyes_stage_finished(self, event) -> None:
        self.rows[event.stage] = {"cpu_s": time.process_time() - self.started[event.stage], "end_mb": rss() / 2**20}
        self.running = f"after {event.stage}"

    def sample(self, stop: threading.Event) -> None:
        while not stop.wait(0.02):
            now, where = rss(), self.running
            if now > self.peaks.get(where, 0):
                self.peaks[where] = now


#: (module, function, the stage it runs in): the searches whose CPU seconds are printed apart.
SEARCHES = (
    ("deepeyes_core.trainer", "measure_overlap", "split"),
    ("deepeyes_core.evaluation", "retrieve_by_task", "evaluate"),
    ("deepeyes_core.evaluation", "majority_answers", "evaluate"),
)


def time_searches() -> dict[str, float]:
    """Wrap each of :data:`SEARCHES` where its stage calls it; the dict fills with CPU seconds."""
    spent: dict[str, float] = {}
    for module_name, name, _ in SEARCHES:
        module = importlib.import_module(module_name)
        function = getattr(module, name)

        def timed(*args, _function=function, _name=name, **kwargs):
            started = time.process_time()
            try:
                return _function(*args, **kwargs)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.process_time() - started

        setattr(module, name, timed)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--set", action="append", default=[], help="a config override, as deepeyes run --set takes")
    args = parser.parse_args()
    observer = StageMemory()
    searches = time_searches()
    stop = threading.Event()
    sampler = threading.Thread(target=observer.sample, args=(stop,), daemon=True)
    sampler.start()
    try:
        result = asyncio.run(run(args.config, plugins=PluginManager(extra_plugins=[observer]), overrides=args.set))
    finally:
        stop.set()
        sampler.join()
    print(f"status {result['status']}, {result['training_examples_count']} examples")
    print(f"{'stage':<10} {'cpu s':>7} {'RSS at end MB':>14} {'peak RSS MB':>12}")
    for stage, row in observer.rows.items():
        peak = max(observer.peaks.get(stage, 0) / 2**20, observer.peaks.get(f"after {stage}", 0) / 2**20, row["end_mb"])
        print(f"{stage:<10} {row['cpu_s']:>7.2f} {row['end_mb']:>14.0f} {peak:>12.0f}")
    print(f"peak RSS of the run: {max(observer.peaks.values()) / 2**20:.0f} MB")
    for _, name, stage in SEARCHES:
        if name in searches:
            print(f"  of {stage}: {name} {searches[name]:.2f} cpu s")


if __name__ == "__main__":
    main()
