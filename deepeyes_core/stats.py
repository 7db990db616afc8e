"""``deepeyes stats``: statistics of a stored invocation log, an exported split, or a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import orjson
from rich.table import Table
from rich.text import Text

from .baseline import BaselineTracker
from .dataset import split_statistics
from .errors import InputError, RunFolderInvalid
from .io import read_jsonl
from .records import SPLITS
from .runfolder import verify_run_folder


class _ExportedExample(NamedTuple):
    """The fields split statistics read, from an exported record's metadata."""

    tool_sequence: tuple[str, ...]
    success: bool
    difficulty: str

    @property
    def sequence_length(self) -> int:
        return len(self.tool_sequence)


def _split_file_statistics(path: Path) -> dict[str, Any]:
    examples = []
    for item in read_jsonl(path):
        if not isinstance(item, tuple):
            raise InputError(f"{item.locations[0]}: {item.reason}: {item.detail}")
        location, record = item
        try:
            meta = record["metadata"]
            examples.append(_ExportedExample(tuple(meta["tool_sequence"]), bool(meta["success"]), meta["difficulty"]))
        except (KeyError, TypeError) as exc:
            raise InputError(f"{location}: not an exported example (missing field {exc})") from None
    return split_statistics(examples)


def _looks_exported(path: Path) -> bool:
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    return False
                return isinstance(record, dict) and "completion" in record and "metadata" in record
    return False


def statistics_of(path: Path, *, verify: bool = True) -> dict[str, Any]:
    """The statistics of an invocation log, an exported split file, or a run folder.

    A run folder is first checked with :func:`verify_run_folder` (its manifest, every file's size
    and sha256, no file of another run), and its statistics carry ``run``: the run id and times;
    ``verify=False`` reads a folder without a manifest (a run of an older version) as it is.
    """
    if path.is_dir():
        run: dict[str, Any] = {}
        if verify:
            try:
                manifest = verify_run_folder(path)
            except RunFolderInvalid as exc:
                raise RunFolderInvalid(f"{exc} (`deepeyes stats --no-verify` reads it anyway)") from None
            run = {"run": {"run_id": manifest.run_id, "started_at": manifest.started_at.isoformat(),
                           "finished_at": manifest.finished_at.isoformat(), "files": len(manifest.files)}}
        stored = path / "dataset_stats.json"
        if stored.exists():
            return {**orjson.loads(stored.read_bytes()), **run}
        files = {split: path / f"sft_{split}.jsonl" for split in SPLITS}
        if not any(f.exists() for f in files.values()):
            raise InputError(f"{path}: no dataset_stats.json and no sft_*.jsonl files here")
        stats = {split: _split_file_statistics(f) for split, f in files.items() if f.exists()}
        return {"total_examples": sum(s["count"] for s in stats.values()), **stats, **run}
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if _looks_exported(path):
        return _split_file_statistics(path)
    tracker = BaselineTracker.load(path)
    stats = tracker.get_statistics()
    stats["unreadable_lines"] = [f"{r.locations[0]}: {r.reason}: {r.detail}" for r in tracker.load_errors]
    return stats


# -- tables -----------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _top(counts: dict[str, int], n: int = 5) -> str:
    items = list(counts.items())
    text = ", ".join(f"{name} {count}" for name, count in items[:n])
    return text + (f", +{len(items) - n} more" if len(items) > n else "") if text else "-"


def _table(title: str, *columns: str, header: bool = True) -> Table:
    table = Table(title=Text(title), show_header=header, title_justify="left")
    for column in columns:
        table.add_column(Text(column))
    return table


def _row(table: Table, *cells: Any) -> None:
    table.add_row(*(Text(str(cell)) for cell in cells))  # Text: no markup, brackets survive


def _splits_table(splits: dict[str, dict[str, Any]], title: str) -> Table:
    table = _table(title, "", *splits)
    rows = (
        ("examples", lambda s: s["count"]),
        ("successful", lambda s: f"{s['success_rate_pct']:.1f}%"),
        ("sequence length avg (min-max)",
         lambda s: f"{s['avg_sequence_length']:g} ({s['min_sequence_length']}-{s['max_sequence_length']})"),
        ("unique tools", lambda s: s["unique_tools"]),
        ("top tools", lambda s: _top(s["top_tools"])),
        ("difficulty", lambda s: ", ".join(f"{k} {v}" for k, v in s["difficulty_distribution"].items()) or "-"),
    )
    for label, cell in rows:
        _row(table, label, *(cell(s) for s in splits.values()))
    return table


def _run_tables(stats: dict[str, Any]) -> list[Table]:
    tables = []
    splits = {split: stats[split] for split in SPLITS if isinstance(stats.get(split), dict)}
    summary = _table("run", header=False)
    if run := stats.get("run"):
        _row(summary, "run id", run["run_id"])
        _row(summary, "finished", run["finished_at"])
    _row(summary, "examples in splits", stats.get("total_examples", "-"))
    for key, value in (stats.get("pipeline") or {}).items():
        _row(summary, f"pipeline {key.replace('_', ' ')}", value)
    dedup = stats.get("dedup") or {}
    if dedup:
        _row(summary, "duplicates dropped", ", ".join(f"{k} {v}" for k, v in dedup.items()))
    if redaction := stats.get("redaction"):
        redacted, seen = redaction.get("trajectories_redacted", 0), redaction.get("trajectories_seen", 0)
        _row(summary, "trajectories redacted", f"{redacted} of {seen}")
    if leakage := stats.get("leakage"):
        pairs = leakage.get("near_duplicate_pairs") or {}
        _row(summary, "near-duplicates across splits", ", ".join(f"{k} {v}" for k, v in pairs.items()) or "-")
    if contamination := stats.get("contamination"):
        for split in ("val", "test"):
            counts = contamination.get(split) or {}
            removed = f", {counts['removed']} removed (decontaminate)" if counts.get("removed") else ""
            _row(summary, f"{split}: near-duplicates of train", f"{counts.get('near_duplicate', 0)} of "
                 f"{counts.get('near_duplicate', 0) + counts.get('clean', 0)} (similarity >= "
                 f"{contamination['threshold']:g}){removed}")
    if routing := stats.get("routing"):
        _row(summary, f"routed ({routing['router']}, {routing['samples']} samples at temperature {routing['temperature']})",
             f"sft {routing['sft']}, rl pool {routing['rl_pool']}, dropped as solved {routing['dropped_solved']}")
    tables.append(summary)
    if splits:
        tables.append(_splits_table(splits, "splits"))
    rejects = stats.get("rejects") or {}
    if rejects.get("by_reason"):
        table = _table(f"rejects ({rejects.get('total', 0)} rejections, {rejects.get('records', 0)} records)",
                       "reason", "rejections", "records")
        records = rejects.get("records_by_reason", {})
        for reason, count in rejects["by_reason"].items():
            _row(table, reason, count, records.get(reason, "-"))
        tables.append(table)
    return tables


def _log_tables(stats: dict[str, Any]) -> list[Table]:
    summary = _table("invocation log", header=False)
    _row(summary, "invocations", stats["total_invocations"])
    _row(summary, "successful", _pct(stats["success_rate"]))
    _row(summary, "tools", stats["tools"])
    _row(summary, "unreadable lines", len(stats.get("unreadable_lines", [])))
    per_tool = _table("per tool", "tool", "calls", "successful", "latency p50 ms", "p95", "max", "most common error")
    for tool, s in stats["per_tool"].items():
        latency = s["latency_ms"]
        error = next(iter(s["error_distribution"].items()), None)
        _row(per_tool, tool, s["count"], _pct(s["success_rate"]), f"{latency['p50']:.0f}", f"{latency['p95']:.0f}",
             f"{latency['max']:.0f}", f"{error[0]} ({error[1]})" if error else "-")
    return [summary, per_tool]


def statistics_tables(stats: dict[str, Any]) -> list[Table]:
    """Readable tables of what :func:`statistics_of` returned: a log's per-tool table; a split's
    column; a run's summary, its splits side by side and its rejects per reason."""
    if "per_tool" in stats:
        return _log_tables(stats)
    if "count" in stats and "top_tools" in stats:
        return [_splits_table({"split": stats}, "split")]
    return _run_tables(stats)
