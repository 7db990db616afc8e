"""Benchmark (not a test): what reading a log costs a per-record Python pipeline, step by step.

Each row times one pass over the same invocation log (made by ``../shared/peers/gen_invocations.py``)
doing a little more per line than the row above: iterate the lines, parse them, make the records
deepeyes makes for every line (a ``Location``, the timestamp's ``datetime``, a ``ToolInvocation``),
and group them by (agent, session) as the collector does. The cyclic GC is paused, as in a run.
Beside them: the whole hand-written polars job (``peers/polars_pipeline.py``) in a child process.
The gap between the last row and polars is what any pipeline that makes a Python record per line
starts from, before it describes, redacts, dedups, splits or exports anything.

    python bench/bench_read_floor.py                    # 1,000,000 invocations
    python bench/bench_read_floor.py --invocations 200000 --log FILE
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson

from deepeyes_core.baseline import parse_invocation, read_invocations
from deepeyes_core.records import Location, ToolInvocation

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO.parent / "shared" / "peers"
UTC = timezone.utc


def _lines(path: Path):
    with open(path, "rb") as handle:
        yield from enumerate(handle, 1)


def iterate(path: Path) -> None:
    for _ in _lines(path):
        pass


def parse(path: Path) -> None:
    for _, line in _lines(path):
        orjson.loads(line)


def parse_and_locate(path: Path) -> None:
    name = str(path)
    for number, line in _lines(path):
        orjson.loads(line), Location(name, number)


def parse_locate_and_time(path: Path) -> None:
    name = str(path)
    for number, line in _lines(path):
        datetime.fromtimestamp(orjson.loads(line)["timestamp"], UTC), Location(name, number)


def records_via_converter(path: Path) -> None:
    """orjson, then a ToolInvocation through the cattrs converter (``parse_invocation``)."""
    name = str(path)
    for number, line in _lines(path):
        parse_invocation(Location(name, number), orjson.loads(line))


def records(path: Path) -> None:
    """What the ``baseline`` source does: msgspec parses and type-checks, then a ToolInvocation."""
    for _ in read_invocations(path):
        pass


def records_grouped(path: Path) -> None:
    """Records, all kept in groups by (agent, session): the collector without its memory bound."""
    groups: dict[tuple[str, str | None], list[ToolInvocation]] = {}
    for invocation in read_invocations(path):
        groups.setdefault((invocation.agent_name, invocation.session_id), []).append(invocation)


ROWS = [
    ("iterate lines", iterate),
    ("+ orjson.loads", parse),
    ("+ Location", parse_and_locate),
    ("+ datetime", parse_locate_and_time),
    ("ToolInvocation via the converter", records_via_converter),
    ("ToolInvocation via msgspec (the reader)", records),
    ("+ group by (agent, session), all kept", records_grouped),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invocations", type=int, default=1_000_000)
    parser.add_argument("--log", type=Path, help="an existing log to read (default: generate one)")
    parser.add_argument("--peers", type=Path, default=PEERS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = args.log
        if log is None:
            log = Path(tmp) / "invocations.jsonl"
            subprocess.run([sys.executable, str(args.peers / "gen_invocations.py"), str(args.invocations), str(log)],
                           check=True)
        lines = sum(1 for _ in _lines(log))
        print(f"{lines:,} lines, {log.stat().st_size / 1e6:.1f} MB, Python {sys.version.split()[0]}\n")
        print(f"{'row':<40} {'s':>6} {'us/line':>8}")
        gc.disable()
        for label, work in ROWS:
            started = time.perf_counter()
            work(log)
            seconds = time.perf_counter() - started
            print(f"{label:<40} {seconds:6.2f} {seconds / lines * 1e6:8.2f}")
            gc.collect()
        gc.enable()
        try:
            import polars  # noqa: F401
        except ImportError:
            print("polars not installed: its row is skipped")
            return
        started = time.perf_counter()
        subprocess.run([sys.executable, str(args.peers / "polars_pipeline.py"), str(log), str(Path(tmp) / "polars")],
                       check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        print(f"{'polars: the whole job, in a child process':<40} {seconds:6.2f} {seconds / lines * 1e6:8.2f}")


if __name__ == "__main__":
    main()
