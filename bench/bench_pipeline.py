"""Benchmark (not a test): deepeyes' default data pipeline against the same job hand-written in polars, against
deepeyes' own records written by one polars query (bench/polars_record_layout.py), and against the bare cost of
parsing the log with orjson, all on ONE generated invocation log.

Each tool runs in a fresh child process; wall time is measured around the child and its peak RSS comes from
os.wait4 (the rusage of exactly that child). Nothing is trained: deepeyes uses the dry-run backend.

    python bench/bench_pipeline.py                         # 1,000,000 invocations: deepeyes vs polars vs orjson
    python bench/bench_pipeline.py --invocations 200000
    python bench/bench_pipeline.py --sizes 100000,300000,1000000   # deepeyes only: peak RSS per log size

See bench/README.md for what each figure means and the numbers measured.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PEERS = REPO.parent / "shared" / "peers"

CONFIG = """\
output_dir = "deepeyes_out"
[[sources]]
name = "baseline"
paths = ["invocations.jsonl"]
[trainer]
min_examples = 1
[backend]
name = "dry-run"
[engine]
name = "{engine}"
"""
COLUMNAR = "deepeyes-columnar"
RAY = "deepeyes-ray"
#: Outputs folder of each engine's run.
OUT = {"row": "deepeyes_out", "columnar": "deepeyes_columnar_out", "ray": "deepeyes_ray_out"}


def deepeyes_command() -> list[str]:
    script = Path(sys.executable).parent / "deepeyes"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from deepeyes_core.cli import main; sys.exit(main())"]


def run_child(cmd: list[str], cwd: Path, label: str) -> dict:
    """Run cmd in a fresh process; return wall time, peak RSS of that child (os.wait4) and its output."""
    out_path, err_path = cwd / f".{label}.stdout", cwd / f".{label}.stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting again
    stdout, stderr = out_path.read_text(errors="replace"), err_path.read_text(errors="replace")
    out_path.unlink()
    err_path.unlink()
    if proc.returncode != 0:
        raise RuntimeError(f"{label} exited {proc.returncode}: {' '.join(cmd)}\n{stderr[-3000:]}")
    # Linux reports ru_maxrss in KiB, macOS in bytes
    rss_bytes = rusage.ru_maxrss if sys.platform == "darwin" else rusage.ru_maxrss * 1024
    return {"wall_s": wall, "peak_rss_mb": rss_bytes / 2**20, "user_s": rusage.ru_utime,
            "sys_s": rusage.ru_stime, "stdout": stdout}


def make_log(peers: Path, n: int, path: Path) -> float:
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, str(peers / "gen_invocations.py"), str(n), str(path)], check=True)
    return time.perf_counter() - start


def run_deepeyes(dirpath: Path, engine: str = "row", ray_cpus: int = 2) -> dict:
    """deepeyes on the row engine (the ``deepeyes`` row), the columnar one (``deepeyes-columnar``) or
    Ray's (``deepeyes-ray``: a local Ray instance of ``ray_cpus`` CPUs), writing into ``OUT[engine]``
    (for Ray on other than 2 CPUs, ``OUT["ray"]`` + ``_<cpus>``)."""
    out, label = OUT[engine], engine
    if engine == "ray" and ray_cpus != 2:
        out, label = f"{out}_{ray_cpus}", f"ray_{ray_cpus}"
    config = CONFIG.replace("deepeyes_out", out).format(engine=engine)
    if engine == "ray":
        config += f"num_cpus = {ray_cpus}\n"
    (dirpath / f"config_{label}.toml").write_text(config)
    res = run_child(deepeyes_command() + ["run", f"config_{label}.toml", "--no-progress", "--json"], dirpath,
                    f"deepeyes_{label}")
    result = json.loads(res.pop("stdout"))
    res["examples"] = result.get("training_examples_count")
    res["status"] = result.get("status")
    res["engine"] = result.get("engine")
    report = result.get("report_file")
    res["timings_s"] = {}
    if report:
        rp = Path(report)
        if not rp.is_absolute():
            rp = dirpath / rp
        if rp.exists():
            res["timings_s"] = json.loads(rp.read_text()).get("timings_s", {})
    return res


LAYOUT = "polars, deepeyes' records"


def same_records(layout: Path, deepeyes_out: Path) -> tuple[int, int]:
    """How many of deepeyes' JSONL records were compared with the yardstick's record of the same task_id, and how
    many of those differ by a byte. The yardstick keeps what dedup rejects, so it has a few records more."""
    by_id = {}
    with open(layout, "rb") as handle:
        for line in handle:
            by_id[json.loads(line)["task_id"]] = line.rstrip(b"\n")
    checked = differing = 0
    for split in ("train", "val", "test"):
        with open(deepeyes_out / f"sft_{split}.jsonl", "rb") as handle:
            for line in handle:
                line = line.rstrip(b"\n")
                checked += 1
                differing += by_id.get(json.loads(line)["task_id"]) != line
    return checked, differing


def different_files(row: Path, columnar: Path) -> list[str]:
    """The output files of the two engines that differ by a byte (the report, its HTML page and the
    manifest hold times and so always differ; they are left out)."""
    names = {p.relative_to(row) for p in row.rglob("*") if p.is_file()}
    names |= {p.relative_to(columnar) for p in columnar.rglob("*") if p.is_file()}
    return sorted(str(n) for n in names if not n.name.startswith(("training_report_", "manifest.json", ".deepeyes.lock"))
                  and (not (row / n).exists() or not (columnar / n).exists()
                       or (row / n).read_bytes() != (columnar / n).read_bytes()))


def have_module(name: str) -> bool:
    probe = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True)
    return probe.returncode == 0


def first_int(text: str, suffix: str) -> int | None:
    m = re.search(rf"(\d+)\s+{suffix}", text)
    return int(m.group(1)) if m else None


def fmt_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def machine() -> dict:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d")}


def compare(args, peers: Path, work: Path) -> dict:
    n = args.invocations
    log = work / "invocations.jsonl"
    print(f"generating {n:,} invocations -> {log}", flush=True)
    gen_s = make_log(peers, n, log)
    size_mb = log.stat().st_size / 2**20
    print(f"  {size_mb:.1f} MB in {gen_s:.1f}s\n", flush=True)

    results: dict[str, dict] = {}
    print("running deepeyes ...", flush=True)
    results["deepeyes"] = run_deepeyes(work)
    if have_module("polars"):
        print("running deepeyes, columnar engine ...", flush=True)
        results[COLUMNAR] = run_deepeyes(work, "columnar")
    if have_module("polars") and have_module("ray"):
        print("running deepeyes, ray engine (local, 2 CPUs) ...", flush=True)
        results[RAY] = run_deepeyes(work, "ray")

    if have_module("polars"):
        print("running polars ...", flush=True)
        r = run_child([sys.executable, str(peers / "polars_pipeline.py"), str(log), str(work / "polars_out")],
                      work, "polars")
        r["examples"] = first_int(r.pop("stdout"), "examples")
        results["polars"] = r
        print("running polars, deepeyes' record layout ...", flush=True)
        r = run_child([sys.executable, str(REPO / "bench" / "polars_record_layout.py"), str(log),
                       str(work / "polars_record_layout.jsonl")],
                      work, "polars_layout")
        r["examples"] = first_int(r.pop("stdout"), "examples")
        results[LAYOUT] = r
    else:
        print("polars is not installed in this Python: skipping it (pip install polars)", flush=True)

    if have_module("orjson"):
        print("running orjson parse-only ceiling ...", flush=True)
        r = run_child([sys.executable, str(peers / "orjson_ceiling.py"), str(log)], work, "orjson")
        r["lines"] = first_int(r.pop("stdout"), "lines")
        r["examples"] = None
        results["orjson (parse only)"] = r
    else:
        print("orjson is not installed in this Python: skipping the parse-only ceiling", flush=True)

    if COLUMNAR in results:  # after every child ran, as below
        results[COLUMNAR]["files_differing"] = different_files(work / "deepeyes_out", work / "deepeyes_columnar_out")
    if RAY in results:
        results[RAY]["files_differing"] = different_files(work / "deepeyes_out", work / "deepeyes_ray_out")
    if LAYOUT in results:  # after every child ran: a fork of this process, grown by the check, would count it
        results[LAYOUT]["records_checked"], results[LAYOUT]["records_differing"] = same_records(
            work / "polars_record_layout.jsonl", work / "deepeyes_out")
    polars_wall = results.get("polars", {}).get("wall_s")
    rows = []
    for tool, r in results.items():
        r["invocations_per_s"] = n / r["wall_s"]
        r["ratio_to_polars"] = r["wall_s"] / polars_wall if polars_wall else None
        rows.append([tool, f"{r['wall_s']:.2f}", f"{r['invocations_per_s']:,.0f}", f"{r['peak_rss_mb']:.0f}",
                     f"{r['ratio_to_polars']:.2f}x" if r["ratio_to_polars"] else "-",
                     f"{r['user_s'] + r['sys_s']:.2f}",
                     f"{r['examples']:,}" if r.get("examples") is not None else "-"])
    print(f"\n{n:,} invocations ({size_mb:.1f} MB JSONL), {os.cpu_count()} CPUs, each tool in a fresh process\n")
    print(fmt_table(["tool", "wall s", "invocations/s", "peak RSS MB", "vs polars", "cpu s", "examples"], rows))

    ex = {t: r.get("examples") for t, r in results.items() if r.get("examples") is not None}
    if len(set(ex.values())) > 1:
        print(f"\nNOTE: example counts differ: {ex} (deepeyes rejects exact duplicates; the polars scripts do not)")
    if LAYOUT in results:
        r = results[LAYOUT]
        print(f"\n{LAYOUT}: {r['records_checked']:,} of deepeyes' records looked up by task_id, "
              f"{r['records_differing']:,} differ by a byte")

    for tool in (COLUMNAR, RAY):
        if tool in results:
            r = results[tool]
            print(f"\n{tool}: engine {r['engine']}; output files differing from the row engine's: "
                  f"{r['files_differing'] or 'none'}")
    for tool in ("deepeyes", COLUMNAR, RAY):
        timings = results.get(tool, {}).get("timings_s") or {}
        if timings:
            print(f"\n{tool} stages (report timings_s):")
            rest = results[tool]["wall_s"] - sum(timings.values())
            print(fmt_table(["stage", "s"], [[k, f"{v:.2f}"] for k, v in timings.items()]
                            + [["(outside stages: start-up, imports, report)", f"{rest:.2f}"]]))
    return {"mode": "compare", "invocations": n, "log_mb": size_mb, "machine": machine(), "results": results}


def sizes(args, peers: Path, work: Path) -> dict:
    ns = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    rows, per_size = [], []
    for n in ns:
        d = work / f"n{n}"
        print(f"generating {n:,} invocations ...", flush=True)
        make_log(peers, n, d / "invocations.jsonl")
        size_mb = (d / "invocations.jsonl").stat().st_size / 2**20
        print(f"running deepeyes on {n:,} ...", flush=True)
        r = run_deepeyes(d, args.engine)
        r.update(invocations=n, log_mb=size_mb, invocations_per_s=n / r["wall_s"])
        per_size.append(r)
        rows.append([f"{n:,}", f"{size_mb:.1f}", f"{r['wall_s']:.2f}", f"{r['invocations_per_s']:,.0f}",
                     f"{r['peak_rss_mb']:.0f}", f"{r['peak_rss_mb'] / size_mb:.2f}", f"{r['examples']:,}"])
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)
    print(f"\ndeepeyes only ({args.engine} engine), {os.cpu_count()} CPUs, each size in a fresh process\n")
    print(fmt_table(["invocations", "log MB", "wall s", "invocations/s", "peak RSS MB", "RSS/log", "examples"], rows))
    return {"mode": "sizes", "machine": machine(), "results": per_size}


def ray_scaling(args, peers: Path, work: Path) -> dict:
    """The Ray engine on one log with each CPU count of ``--ray-cpus``, its stage's figures from the
    report (``engine.ray``), and the throughput projected per added node from them."""
    n = args.invocations
    cpus = [int(c) for c in args.ray_cpus.split(",") if c.strip()]
    log = work / "invocations.jsonl"
    print(f"generating {n:,} invocations ...", flush=True)
    make_log(peers, n, log)
    runs, rows = [], []
    for c in cpus:
        print(f"running deepeyes, ray engine (local, {c} CPU{'s' if c > 1 else ''}) ...", flush=True)
        r = run_deepeyes(work, "ray", c)
        stage = r["engine"]["ray"]
        # The stage's part that more CPUs do not shrink: shipping, scheduling, collecting.
        stage["fixed_s"] = stage["wall_s"] - stage["task_cpu_s"] / c
        r.update(cpus=c, driver_s=r["wall_s"] - stage["wall_s"], ray_stage=stage)
        runs.append(r)
        rows.append([str(c), f"{r['wall_s']:.2f}", f"{n / r['wall_s']:,.0f}", f"{r['peak_rss_mb']:.0f}",
                     f"{stage['wall_s']:.2f}", f"{stage['task_cpu_s']:.2f}", str(stage["tasks"]),
                     f"{stage['fixed_s']:.2f}", f"{r['driver_s']:.2f}"])
    print(f"\n{n:,} invocations, Ray engine (local), {os.cpu_count()} CPUs on this machine, one run each\n")
    print(fmt_table(["Ray CPUs", "wall s", "invocations/s", "peak RSS MB", "Ray stage s", "task CPU s", "tasks",
                     "stage minus tasks/CPUs s", "driver outside the stage s"], rows))
    best = min(runs, key=lambda r: r["ray_stage"]["fixed_s"])
    driver, fixed, work_s = best["driver_s"], best["ray_stage"]["fixed_s"], best["ray_stage"]["task_cpu_s"]
    projection = []
    for nodes in (1, 2, 4, 8, 16):
        wall = driver + fixed + work_s / (2 * nodes)
        projection.append({"nodes": nodes, "wall_s": wall, "invocations_per_s": n / wall})
    print(f"\nProjected from the {best['cpus']}-CPU run (driver {driver:.1f} s, stage overhead {fixed:.1f} s, "
          f"{work_s:.1f} task CPU s), nodes of 2 worker CPUs, the driver on its own machine:")
    print(fmt_table(["nodes", "wall s", "invocations/s"],
                    [[str(p["nodes"]), f"{p['wall_s']:.1f}", f"{p['invocations_per_s']:,.0f}"] for p in projection]))
    print(f"ceiling (infinitely many nodes): {n / (driver + fixed):,.0f} invocations/s; everything but the "
          "Ray stage runs on the driver.")
    return {"mode": "ray-scaling", "invocations": n, "machine": machine(), "results": runs, "projection": projection}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--invocations", type=int, default=1_000_000, help="log size (default 1,000,000)")
    ap.add_argument("--sizes", help="comma-separated sizes: run only deepeyes at each and report peak RSS per size")
    ap.add_argument("--engine", choices=("row", "columnar", "ray"), default="row", help="the engine --sizes runs")
    ap.add_argument("--ray-cpus", help="comma-separated CPU counts (e.g. 1,2): run only the Ray engine with each, "
                                       "print its stage's figures and the throughput projected per added node")
    ap.add_argument("--peers", type=Path, default=DEFAULT_PEERS,
                    help=f"folder with gen_invocations.py, polars_pipeline.py, orjson_ceiling.py (default {DEFAULT_PEERS})")
    ap.add_argument("--workdir", type=Path, help="where to put the log and outputs (default: a fresh temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated log and outputs")
    ap.add_argument("--json-out", type=Path, help="also write the figures here as JSON")
    args = ap.parse_args()

    peers = args.peers.resolve()
    if not (peers / "gen_invocations.py").exists():
        ap.error(f"{peers / 'gen_invocations.py'} not found (pass --peers)")

    if args.workdir:
        work = args.workdir.resolve() / f"bench_pipeline_{os.getpid()}"
        work.mkdir(parents=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="deepeyes_bench_"))
    try:
        if args.sizes:
            figures = sizes(args, peers, work)
        elif args.ray_cpus:
            figures = ray_scaling(args, peers, work)
        else:
            figures = compare(args, peers, work)
    finally:
        if args.keep:
            print(f"\nkept files in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
