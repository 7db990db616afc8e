"""Files in and out: atomic writes, JSONL reading with locations (line by line, or record by
record for a source), and the rejects log."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson

from .errors import InputError, OutputError, RecordRejected
from .limits import check_line
from .records import Location, Rejection, converter

_T = TypeVar("_T")


#: What an OSError's errno means for a file being written, said for a user.
_PROBLEMS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "not writable (permission denied)",
    errno.EPERM: "not writable (operation not permitted)",
    errno.EROFS: "not writable (read-only file system)",
    errno.EEXIST: "is a file, not a folder",
    errno.ENOTDIR: "is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
}


def os_problem(exc: OSError) -> str:
    """What went wrong, in a few words: ``no space left on device``, ``not writable (permission
    denied)``, else the system's message."""
    return _PROBLEMS.get(exc.errno or 0) or (exc.strerror or str(exc))


def write_error(exc: OSError, path: Path) -> OutputError:
    """The OutputError of an OSError met while writing ``path``: one line naming the file."""
    problem = os_problem(exc)
    if exc.errno in (errno.EEXIST, errno.ENOTDIR) and exc.filename and Path(exc.filename) != path:
        problem = f"{exc.filename} {problem}"
    return OutputError(f"cannot write {path}: {problem}", path=path, reason=problem)


def _ours(exc: OSError, *names: object) -> bool:
    """Whether an OSError raised inside a write is about the file being written (a write, flush or
    fsync names no file), not about some other file the caller opened meanwhile."""
    return exc.filename is None or str(exc.filename) in {str(n) for n in names}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The process's umask when deepeyes was imported (reading it means setting it, so once).
_UMASK = _umask()


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new temporary file beside ``path``, with the permissions a plain ``open()`` would give
    (mkstemp makes it 0600, which would leave outputs unreadable to a training job's other user)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_UMASK)
    return fd, tmp


@contextlib.contextmanager
def atomic_write(path: Path | str, mode: str = "wb") -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path`` and rename it into place on success, so a crash
    never leaves a half-written file that looks whole.

    An OSError while creating, writing or renaming the file (a full disk, no permission, a parent
    that is a file) becomes an :class:`OutputError` naming ``path``; the temporary file is removed.
    OSErrors about other files, raised by the caller's code inside the block, pass unchanged.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temporary_beside(path)
    except OSError as exc:
        raise write_error(exc, path) from None
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and _ours(exc, tmp, path):
            raise write_error(exc, path) from None
        raise


def atomic_jsonl(path: Path | str, rows: Iterable[Any]) -> int:
    """Write ``rows`` (plain data or records) as JSON Lines, atomically. Returns the row count."""
    count = 0
    with atomic_write(path) as handle:
        for row in rows:
            handle.write(orjson.dumps(converter.unstructure(row)))
            handle.write(b"\n")
            count += 1
    return count


def atomic_json(path: Path | str, data: Any) -> None:
    with atomic_write(path) as handle:
        handle.write(orjson.dumps(converter.unstructure(data), option=orjson.OPT_INDENT_2))


def expand_paths(
    patterns: Sequence[str | Path] | str | Path, base: Path | None = None, directory_glob: str | None = None
) -> list[Path]:
    """Files named by paths and globs (``logs/**/*.jsonl``, ``~/logs/*.jsonl``), sorted per pattern; ``patterns`` may be
    one path or glob (a string, not read letter by letter) or a list of them. A pattern matching
    no file is an InputError (a file that exists is itself, even with ``[`` or ``*`` in its name);
    so is a directory named as a path, unless ``directory_glob`` says which of its files to read
    (a source whose logs are folders of files, such as Claude Code's projects folder, declares
    one); otherwise its files are named by a glob (``dir/**/*.jsonl``), not guessed (a directory
    also holds files that are not logs)."""
    if isinstance(patterns, (str, Path)):
        patterns = [patterns]
    found: list[Path] = []
    for pattern in patterns:
        text = os.path.expanduser(str(pattern))
        if base is not None and not os.path.isabs(text):
            text = str(base / text)
        where = f" (looked for {text})" if text != str(pattern) else ""
        if not glob.has_magic(text) and os.path.isdir(text) and directory_glob is not None:
            text = os.path.join(text, directory_glob)
        elif not glob.has_magic(text) and os.path.isdir(text):
            hint = os.path.join(str(pattern), "**", "*.jsonl")
            raise InputError(f"{pattern}: is a directory{where}; name files or a glob such as {hint}")
        # A file whose name holds glob characters (logs[prod].jsonl) is that file, not a pattern.
        literal = not glob.has_magic(text) or os.path.isfile(text)
        matches = [text] if literal else sorted(glob.glob(text, recursive=True))
        matches = [m for m in matches if os.path.isfile(m)]
        if not matches:
            raise InputError(f"{pattern}: no such file{where}")
        found.extend(Path(m) for m in matches)
    return found


def read_jsonl(path: Path) -> Iterator[tuple[Location, Any] | Rejection]:
    """Each line of a JSON Lines file, parsed, with its location; a line that is not JSON becomes
    a Rejection naming file and line (a torn last line after a crash included), and so does a line
    beyond the read limits of :mod:`deepeyes_core.limits` (``too deeply nested``, ``integer out of
    range``: orjson would read a 30-digit integer as a float). Blank lines are skipped. Streams:
    memory does not grow with the file."""
    name = str(path)
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if line.isspace():  # what strip() would empty, without copying every line
                continue
            location = Location(name, number)
            try:
                value: Any = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                value = not_json(location, line, exc)  # unless it is JSON nested past orjson's limit
            try:
                check_line(line)
            except RecordRejected as exc:
                yield Rejection(exc.reason, exc.detail, (location,), stage="read")
                continue
            yield value if isinstance(value, Rejection) else (location, value)


def not_json(location: Location, line: bytes, error: Exception) -> Rejection:
    """The Rejection of a line that does not parse: a ``torn last line`` (no newline: a writer
    crashed mid-line), else ``malformed JSON``, with the parser's message."""
    reason = "malformed JSON" if line.endswith(b"\n") else "torn last line"
    return Rejection(reason, str(error), (location,), stage="read")


def read_records(
    path: Path | str, parse: Callable[[Location, Any], _T], stage: str = "read"
) -> Iterator[_T | Rejection]:
    """Each JSON line of a file (a line per record) through ``parse(location, value)``, in order.

    Yields what ``parse`` returns; when it raises :class:`RecordRejected`, a Rejection of the line
    with that reason and detail; when it raises TypeError, ValueError, AttributeError or KeyError
    (a shape it did not foresee), a ``malformed record`` Rejection saying so. Lines that are not
    JSON are :func:`read_jsonl`'s Rejections. Rejections made here carry ``stage``. Streams.
    """
    for item in read_jsonl(Path(path)):
        if isinstance(item, Rejection):
            yield item
            continue
        location, value = item
        try:
            parsed: _T | Rejection = parse(location, value)
        except RecordRejected as exc:
            parsed = Rejection(exc.reason, exc.detail, (location,), stage=stage)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            detail = f"unexpected shape: {type(exc).__name__}: {exc}"
            parsed = Rejection("malformed record", detail, (location,), stage=stage)
        yield parsed


def record_timestamp(value: Any) -> datetime:
    """A record's timestamp field: ISO 8601 (naive means UTC) or epoch seconds. Any other value
    raises ``RecordRejected.malformed``."""
    try:
        return converter.structure(value, datetime)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise RecordRejected.malformed(f"timestamp {value!r}: {exc}") from None


class RejectsLog:
    """``rejects.jsonl``: one line per rejection, written as the run goes, with counts per reason.

    Written to a temporary name beside ``path`` and renamed into place by :meth:`close` (an empty
    file when nothing was rejected), like every output file; :meth:`abort` (or leaving a ``with``
    block by an exception) removes the temporary file instead, so a failed run leaves no rejects
    file that looks whole. A write that fails (a full disk) aborts and raises
    :class:`OutputError` naming the file. Closing or aborting twice does nothing.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.counts: dict[str, int] = {}
        self.records: dict[str, int] = {}
        self._handle: IO[bytes] | None = None
        self._tmp: str | None = None
        self._closed = False

    def __enter__(self) -> RejectsLog:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def _open(self) -> IO[bytes]:
        if self._closed:
            raise RuntimeError(f"{self.path}: the rejects log is closed")
        if self._handle is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, self._tmp = _temporary_beside(self.path)
            except OSError as exc:
                self._closed = True
                raise write_error(exc, self.path) from None
            self._handle = os.fdopen(fd, "wb")
        return self._handle

    def add(self, rejection: Rejection) -> None:
        handle = self._open()
        try:
            handle.write(orjson.dumps(converter.unstructure(rejection)) + b"\n")
        except OSError as exc:
            self.abort()
            raise write_error(exc, self.path) from None
        self.counts[rejection.reason] = self.counts.get(rejection.reason, 0) + 1
        self.records[rejection.reason] = self.records.get(rejection.reason, 0) + rejection.records

    def close(self) -> None:
        """Move the file into place (an empty file when nothing was rejected)."""
        if self._closed:
            return
        handle = self._open()
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.replace(self._tmp, self.path)
        except OSError as exc:
            self.abort()
            raise write_error(exc, self.path) from None
        self._closed = True
        self._handle = self._tmp = None

    def abort(self) -> None:
        """Drop what was written: the temporary file is removed, ``path`` is left as it was."""
        self._closed = True
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None

    def summary(self) -> dict[str, Any]:
        return {
            "total": sum(self.counts.values()),
            "records": sum(self.records.values()),
            "by_reason": dict(sorted(self.counts.items())),
            "records_by_reason": dict(sorted(self.records.items())),
        }
