"""What the source tests share: reading a source's items, and writing a log of lines."""

from __future__ import annotations

import json
from pathlib import Path


def read(source, *paths) -> list:
    """Every item ``source`` yields for ``paths``."""
    return list(source.read([Path(p) for p in paths]))


def write_lines(path: Path, lines) -> Path:
    """A JSONL file: each line a string as it is, or a value as JSON."""
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path
