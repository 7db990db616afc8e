"""``deepeyes``: the command line, a thin layer over the Python runner.

Exit codes (``deepeyes run --help`` shows them too):

- 0: done (``run``: the pipeline completed, or prepared the data where nothing is trained)
- 1: the run failed (its result's status is ``failed``)
- 2: an error in the config, an input or the output folder (a folder in use by another run, a
  path that is a file, no permission, a full disk), or in the command line; one line on stderr
  naming the file and what is wrong, never a traceback
- 3: no training data: fewer examples than ``trainer.min_examples`` (none at all, for an empty
  log); nothing was split, exported or trained, the message says why
- 130: interrupted (Ctrl-C)

Everything printed from user data or hints (paths, messages, names) is printed without rich
markup, so ``logs[prod].jsonl`` and ``pip install 'deepeyes[trl]'`` print as they are.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .errors import DeepeyesError

console = Console(stderr=True)

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_NO_DATA, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

RUN_EPILOG = """\
exit codes:
  0    done
  1    the run failed
  2    an error in the config, an input or the output folder (in use by another run, a file,
       not writable, full disk) or in the command line: one line on stderr says what and where
  3    no training data: fewer examples than trainer.min_examples, nothing exported or trained

The output folder holds one run at a time: the run writes into a staging folder inside it and
swaps it in whole, then writes manifest.json; `deepeyes stats FOLDER` checks it.

What the summary reports: base and trained model on the held-out tasks with 95% intervals, on
the clean ones (no near-duplicate in train; contamination.jsonl) when there are
[evaluation] min_clean_examples of them, beside a retrieval and a majority control that need no
model (a dry run measures them too); arguments compared as [evaluation] matching says ("bfcl" or
"strict"). [router] name = "pass-rate" routes examples by the base model's pass rate first
(rl_pool.jsonl); [engine] name = "row" | "columnar" | "ray" | "auto" picks how logs are read and
grouped. A test split over [evaluation] max_test_examples (5,000) is evaluated on a seeded sample.
"""

EPILOG = """\
examples:
  deepeyes run examples/quickstart.toml          run the whole pipeline a config describes
  deepeyes run cfg.toml --output-dir out/        ... writing somewhere else
  deepeyes run cfg.toml --set backend.name=dry-run   ... changing a config value (data only, no training)
  deepeyes plugins                               list every component you can name in a config
  deepeyes stats examples/logs/invocations.jsonl statistics of a stored log, as tables
  deepeyes stats runs/quickstart                 a run folder, checked against its manifest: per
                                                 split counts, success, lengths, tools, difficulty;
                                                 pipeline counts and rejects per reason
  deepeyes stats runs/quickstart --json          ... as JSON
  deepeyes baseline --output-dir logs/phase1     Phase 1: invoke the available tools and log it
  deepeyes baseline --config phase1.toml         ... the tools of MCP servers (see baseline --help)

A config names one component per table ([describer] name = "template") and gives its options
as the table's other keys; `deepeyes plugins` shows every name and option with its default.
Set DEEPEYES_LOAD_PLUGINS="" to run with the built-in plugins only.
"""


class _Bars:
    """Rich progress bars for the runner's progress callback (stage, done or advance, total)."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self.tasks:
            label = {"read": "reading records", "train": "training steps"}.get(stage, stage)
            self.tasks[stage] = self.progress.add_task(label, total=total)
        if stage == "read":
            self.progress.advance(self.tasks[stage], done)
        else:
            self.progress.update(self.tasks[stage], completed=done, total=total)


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "not measured"
    return f"{value:.1%}" if pct else f"{value:+.1f} pts"


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import run

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=args.no_progress, transient=True) as progress:
        result = asyncio.run(run(Path(args.config), output_dir=args.output_dir, progress=_Bars(progress),
                                 overrides=args.set))
    code = _exit_code(result)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return code
    ev = result["evaluation"]
    table = Table(title=f"deepeyes run: {result['status']}", show_header=False)
    table.add_row("training examples", str(result["training_examples_count"]))
    if result.get("engine"):
        engine = result["engine"]
        table.add_row("engine", escape(f"{engine['name']} ({engine['reason']})"))
        if ray := engine.get("ray"):
            table.add_row("ray stage", f"{ray['tasks']} tasks, {ray['task_cpu_s']:.1f} CPU s in the workers, "
                                       f"{ray['wall_s']:.1f} s on {ray['cpus']:g} CPUs")
    table.add_row("splits", ", ".join(f"{k} {v}" for k, v in result["splits"].items()) or "-")
    stats = result.get("dataset_stats") or {}
    table.add_row("rejected", escape(str(stats.get("rejects", {}).get("records_by_reason", {}))))
    if routing := stats.get("routing"):
        table.add_row(f"routed ({routing['samples']} samples, temperature {routing['temperature']})",
                      f"sft {routing['sft']}, rl pool {routing['rl_pool']}, dropped as solved {routing['dropped_solved']}")
    training = result.get("training") or {}
    table.add_row("trained", "yes" if training.get("trained") else escape(f"no: {training.get('reason', '')}"))
    headline = {"step": "whole trajectories, step mode", "blind-sequence": "exact sequence, blind mode"}.get(
        ev.get("mode"), "not measured")
    if ev.get("headline_set"):
        headline += f", {ev['headline_set'].replace('_', '-')} test set"
    contamination = ev.get("contamination") or {}
    if "clean" in contamination:
        table.add_row("test sets", f"{contamination['clean']} clean, {contamination['near_duplicate']} near-duplicates "
                                   f"of train (similarity >= {contamination['threshold']:g})")
    table.add_row(f"base model ({headline})", _fmt(ev.get("baseline_success_rate"), pct=True))
    table.add_row(f"trained model ({headline})", _fmt(ev.get("post_training_success_rate"), pct=True))
    table.add_row("improvement", ev.get("improvement_summary") or _fmt(ev.get("improvement_pct")))
    controls = ev.get("controls") or {}
    for name in ("retrieval", "majority"):
        if (control := controls.get(name)) is not None:
            interval = control["interval"]
            where = f"{controls['mode']} mode, {controls['set'].replace('_', '-')} set"
            table.add_row(f"{name} control ({where})", "n/a (no examples)" if interval is None else
                          f"{control['accuracy']:.1%} (95% CI {interval['low']:.1%} to {interval['high']:.1%})")
    if matching := ev.get("matching"):
        table.add_row("arguments compared", escape(f"{matching['mode']}: {matching['description']}"))
    if versus := ev.get("trained_vs_strongest_control"):
        table.add_row(f"trained vs {versus['control']} control", versus["summary"])
    figures = {"step": (("steps right", "step_accuracy"), ("calls right", "call_accuracy")),
               "blind-sequence": (("exact sequence", "exact_sequence_accuracy"),
                                  ("tool names in order", "tool_name_sequence_accuracy"),
                                  ("calls right", "argument_accuracy"))}
    for mode, scores in (ev.get("modes") or {}).items():
        for label, key in figures.get(mode, ()) if scores.get("status") == "measured" else ():
            before, after = scores["base"].get(key), scores["trained"].get(key)
            table.add_row(f"{label}, {mode} mode (base -> trained)", f"{before:.1%} -> {after:.1%}")
    table.add_row("ready for RL", escape(f"{ev.get('readiness_for_rl')} ({ev.get('readiness_reason', '')})"))
    table.add_row("report", escape(str(result["report_file"])))
    table.add_row("rejects", escape(str(result["rejects_file"])))
    Console().print(table)
    for warning in ev.get("warnings") or ():
        console.print(f"[yellow]warning: {escape(warning)}[/yellow]")
    if result["message"]:
        console.print(f"[yellow]{escape(result['message'])}[/yellow]")
    if code == EXIT_NO_DATA:
        console.print(f"[bold red]no training data[/bold red] (exit code {EXIT_NO_DATA})")
    return code


def _exit_code(result: dict[str, Any]) -> int:
    if result["status"] == "failed":
        return EXIT_FAILED
    if result["status"] == "insufficient_data" or not result.get("training_examples_count"):
        return EXIT_NO_DATA
    return EXIT_OK


def cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import get_plugin_manager

    manager = get_plugin_manager()
    infos = manager.describe()
    providers = {info.plugin for info in infos}
    others = [p for p in manager.plugins() if p.name not in providers]
    if args.json:
        rows = [
            {"kind": i.kind, "name": i.name, "distribution": i.distribution.name,
             "version": i.distribution.version, "summary": i.summary, "options": i.option_defaults()}
            for i in infos
        ]
        rows += [
            {"kind": "plugin", "name": p.name, "distribution": p.distribution.name,
             "version": p.distribution.version, "hooks": list(p.hooks)}
            for p in others
        ]
        print(json.dumps(rows, indent=2, default=str))
        return 0
    wide = Console(width=max(Console().width, 160))
    table = Table("kind", "name", "from", "options (defaults)", "what it does")
    for info in infos:
        options = ", ".join(f"{k}={v!r}" for k, v in info.option_defaults().items()) or "-"
        table.add_row(*map(escape, (info.kind, info.name, str(info.distribution), options, info.summary)))
    wide.print(table)
    if others:
        hooks = Table("plugin", "from", "hooks (run events, tools, redactor)", title="plugins without components")
        for plugin in others:
            hooks.add_row(*map(escape, (plugin.name, str(plugin.distribution), ", ".join(plugin.hooks) or "-")))
        wide.print(hooks)
    for failure in manager.failures:
        console.print(f"[red]failed to load[/red] {escape(f'{failure.entry_point} from {failure.distribution}: {failure.error}')}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from .stats import statistics_of, statistics_tables

    stats = statistics_of(Path(args.path), verify=not args.no_verify)
    if args.json:
        print(json.dumps(stats, indent=2, default=str))
        return EXIT_OK
    out = Console()
    for table in statistics_tables(stats):
        out.print(table)
    for line in stats.get("unreadable_lines", [])[:10]:
        console.print(f"[yellow]unreadable:[/yellow] {escape(line)}")
    return EXIT_OK


BASELINE_EPILOG = """\
Without --config, the tools that plugins provide (deepeyes_tools) are called. With --config, the
tools of Model Context Protocol servers are (pip install 'deepeyes[mcp]'), from the file's
[baseline] table:

  [baseline]
  output_dir = "logs/phase1"     # invocations.jsonl + invocations.tools.json (the tools' definitions)
  agent_name = "BaselineAgent"
  calls_per_tool = 10            # calls planned per listed tool
  concurrency = 5                # calls in flight at once, over all servers
  timeout_s = 30.0               # per call; past it the call is a failure ("timeout after 30s")
  startup_timeout_s = 30.0       # per server: start, initialize, tools/list
  seed = 42

  [baseline.arguments]           # the argument generator (`deepeyes plugins`: argument_generator)
  name = "schema"                # from each tool's JSON Schema; "anthropic": Claude proposes them
  invalid_ratio = 0.2            # schema: share of calls with missing-required or wrong-type arguments

  [baseline.mcp.servers.files]   # a server over stdio ...
  command = "python"
  args = ["server.py"]
  env = { LOG_LEVEL = "warn" }   # added to the SDK's default environment
  cwd = "."                      # relative to the config file's folder
  tools = ["read_file"]          # optional: only these tools
  prefix = "fs_"                 # optional: logged names are prefix + tool name

  [baseline.mcp.servers.search]  # ... or over streamable HTTP
  url = "http://127.0.0.1:8000/mcp"
  headers = { Authorization = "Bearer ..." }

Every planned call is logged: a tool error (isError), a timeout, or a server that crashed (its
remaining calls too) is a failed call with its reason. Exit code 1 when a server could not be
started or crashed; the JSON printed says which and why.
"""


def cmd_baseline(args: argparse.Namespace) -> int:
    if args.config is not None:
        return _mcp_baseline(args)
    from .baseline import run_deepeyesv2_baseline

    result = asyncio.run(
        run_deepeyesv2_baseline(
            invocations_per_tool=args.invocations_per_tool or 10,
            concurrent_tasks=args.concurrent_tasks or 5,
            output_dir=args.output_dir or Path("logs/deepeyesv2/baseline"),
        )
    )
    print(json.dumps({"log_file": str(result["log_file"]), **result["statistics"]}, indent=2))
    return 0


def _mcp_baseline(args: argparse.Namespace) -> int:
    import attrs

    from .baseline_config import load_baseline_config
    from .mcp_baseline import run_mcp_baseline

    config = load_baseline_config(args.config, args.set)
    changes = {"output_dir": args.output_dir and str(args.output_dir), "calls_per_tool": args.invocations_per_tool,
               "concurrency": args.concurrent_tasks}
    config = attrs.evolve(config, **{k: v for k, v in changes.items() if v is not None})
    result = asyncio.run(run_mcp_baseline(config))
    summary = {"log_file": str(result["log_file"]), "tools_file": str(result["tools_file"]),
               "planned": result["planned"], "servers": result["servers"], **result["statistics"]}
    print(json.dumps(summary, indent=2))
    troubled = {name: s["error"] for name, s in result["servers"].items() if s["status"] != "ok"}
    for message in troubled.values():
        _error(message)
    return EXIT_FAILED if troubled else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepeyes",
        description="Turn logged tool invocations of LLM agents into cold-start SFT data, "
        "train on it, and measure whether tool use improved.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the whole pipeline from a TOML config",
                         description="Read logs, build examples, split, export, train, evaluate, report.",
                         epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("config", help="TOML config (see examples/quickstart.toml)")
    run.add_argument("--output-dir", type=Path, help="write here instead of the config's output_dir")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="change one config value, e.g. --set backend.name=dry-run --set trainer.epochs=2 "
                          "(VALUE is read as TOML; repeatable; naming another component, as backend.name=dry-run, "
                          "drops the options the table held for the old one)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.set_defaults(func=cmd_run)

    plugins = sub.add_parser("plugins", help="list every component: kind, name, provider, options")
    plugins.add_argument("--json", action="store_true", help="as JSON")
    plugins.set_defaults(func=cmd_plugins)

    stats = sub.add_parser("stats", help="statistics of a stored log, an exported split, or a run folder")
    stats.add_argument("path", help="invocation log (.jsonl), sft_*.jsonl file, or a run's output folder")
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON, not as tables")
    stats.add_argument("--no-verify", action="store_true",
                       help="read a run folder without checking it against its manifest.json "
                            "(a folder written by an older version has none)")
    stats.set_defaults(func=cmd_stats)

    baseline = sub.add_parser("baseline", help="Phase 1: invoke the available tools and log every call",
                              description="Phase 1: call tools, log every call (result, error, latency).",
                              epilog=BASELINE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    baseline.add_argument("--config", type=Path, help="TOML file with a [baseline] table naming MCP servers")
    baseline.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                          help="with --config: change one value, e.g. --set baseline.calls_per_tool=3")
    baseline.add_argument("--output-dir", type=Path, help="default: logs/deepeyesv2/baseline, or the config's")
    baseline.add_argument("--invocations-per-tool", type=int, help="default: 10, or the config's calls_per_tool")
    baseline.add_argument("--concurrent-tasks", type=int, help="default: 5, or the config's concurrency")
    baseline.set_defaults(func=cmd_baseline)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DeepeyesError as exc:
        _error(str(exc))
        return EXIT_ERROR
    except OSError as exc:  # a file we did not foresee: one line, path and what the system said
        where = exc.filename if exc.filename is not None else ""
        other = f" -> {exc.filename2}" if exc.filename2 is not None else ""
        _error(f"{where}{other}: {exc.strerror or exc}" if where else str(exc.strerror or exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        console.print("interrupted")
        return EXIT_INTERRUPTED


def _error(message: str) -> None:
    console.print(f"[bold red]error:[/bold red] {escape(message)}", soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
