"""The on-disk cache: one JSON file per content key, replaced atomically (temporary file + rename)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "deepeyes", "anthropic")


class DiskCache:
    """One JSON file per key under ``root``, replaced atomically (temporary file + rename)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            with open(self._path(key), "rb") as handle:
                value = json.loads(handle.read())
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        write_atomically(self._path(key), json.dumps(value, ensure_ascii=False).encode())


_tmp_counter = 0


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a unique temporary name beside ``path`` and rename it into place: a process killed
    mid-write leaves the old file or the new one, never half of one. (No fsync: a power cut may lose
    the newest entries, which are then misses, not corrupt hits.)"""
    global _tmp_counter
    _tmp_counter += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{_tmp_counter}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def content_key(*parts: Any) -> str:
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
