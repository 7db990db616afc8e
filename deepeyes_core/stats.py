"""``deepeyes stats``: statistics of a stored invocation log, an exported split, or a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import orjson

from .baseline import BaselineTracker
from .dataset import split_statistics
from .errors import InputError
from .io import read_jsonl
from .records import SPLITS


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


def statistics_of(path: Path) -> dict[str, Any]:
    if path.is_dir():
        stored = path / "dataset_stats.json"
        if stored.exists():
            return orjson.loads(stored.read_bytes())
        files = {split: path / f"sft_{split}.jsonl" for split in SPLITS}
        if not any(f.exists() for f in files.values()):
            raise InputError(f"{path}: no dataset_stats.json and no sft_*.jsonl files here")
        stats = {split: _split_file_statistics(f) for split, f in files.items() if f.exists()}
        return {"total_examples": sum(s["count"] for s in stats.values()), **stats}
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if _looks_exported(path):
        return _split_file_statistics(path)
    tracker = BaselineTracker.load(path)
    stats = tracker.get_statistics()
    stats["unreadable_lines"] = [f"{r.locations[0]}: {r.reason}: {r.detail}" for r in tracker.load_errors]
    return stats
