"""A run's output folder as one unit: a lock, a staging folder swapped in whole, a manifest last.

Two runs' files must never lie side by side (a new train split beside an old test split leaks
test examples into training). So a run never writes into its output folder directly::

    output_dir/
      .deepeyes.lock            flock'ed (exclusive, non-blocking) by the run using the folder; holds its pid
      .staging-<run_id>/        everything the run writes, while it runs (splits, export folders,
                                dataset_stats.json, rejects.jsonl, training_report_*.json/.html)
        .commit.json            the commit journal: written when the run commits (its point of no return)
      sft_train.jsonl ...       the last committed run's files
      model/                    the backend's artifact: written in place (checkpoints a rerun resumes
                                from), never staged, listed in the manifest as in place, not hashed
      manifest.json             written last: run id, start and finish times, and each file's
                                relative path, size and sha256

The protocol (:class:`RunFolder`):

``open()``
    creates the folder (a path that is a file, not writable, or on a full disk is an
    :class:`OutputError` naming it), takes the lock (a second run is refused with
    :class:`RunFolderBusy` naming the folder and the pid that holds it), finishes the commit of a
    killed run whose journal was written (roll forward), removes every other ``.staging-*``
    folder and every ``.*.tmp`` file left by killed runs (``model/`` excepted: the backend owns
    it), and makes a fresh staging folder, :attr:`RunFolder.staging`.
``commit()``
    hashes the staged files, writes the journal (the new manifest and what the previous run left
    that this run did not write), then: removes the previous ``manifest.json``, moves each staged
    file and folder into place with ``os.replace`` (a folder replaces the folder of its name
    whole), removes the previous run's files this run did not write (an export format no longer
    configured, an older ``training_report_*``), writes the new ``manifest.json`` and removes the
    staging folder. Each step can be redone, so a commit killed half-way is finished by the next
    ``open()``.
``close()``
    a run that did not commit (an exception, an interrupt) has its staging folder removed; the
    lock is released. A failed or killed run never touches the previous run's files.

Readers call :func:`verify_run_folder`: it raises :class:`RunFolderInvalid` when the manifest is
missing (the run did not finish), a listed file is missing or differs in size or sha256, or a file
of a known output name (``sft_*.jsonl``, ``dataset_stats.json``, ``rejects.jsonl``,
``training_report_*``), or any file inside a listed folder, is not in the manifest.

Wiring into a run (the trainer writes under ``folder.staging``; the backend under
``folder.model_dir``)::

    with RunFolder(output_dir) as folder:      # open(); commit() on success; close() always
        ...write everything under folder.staging...
    result = folder.relocate(result)           # staging paths in a result -> final paths

An OSError or :class:`OutputError` raised inside the ``with`` block about a staged file is
re-raised as ``OutputError("output_dir /x: no space left on device while writing sft_val.jsonl")``.

Choices: the folder holds the last committed run and nothing else of the runs before it (an
older ``training_report_*`` or export folder goes); a run with too little data commits too (its
stats, rejects and report say why), so its folder never shows an older run's splits beside its
report. ``model/`` is not hashed (gigabytes, rewritten in place by checkpoints a rerun resumes
from) and is the one thing that can be newer than the manifest. Readers take no lock: the manifest
is removed first and written last, so a reader sees the previous run whole, or no manifest, or
(mid-commit) a file that differs from the manifest, which verification reports. Hashing costs a
read of every file at commit and at verification (``hashes=False`` checks sizes only).

Locking uses ``fcntl.flock``: POSIX only, and advisory (on NFS it depends on the server).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import attrs
import orjson

from .errors import OutputError, RunFolderBusy, RunFolderInvalid
from .io import atomic_json, os_problem
from .records import converter

MANIFEST = "manifest.json"
LOCK = ".deepeyes.lock"
STAGING_PREFIX = ".staging-"
JOURNAL = ".commit.json"
#: Written in place by the training backend, never staged, not hashed; kept across runs.
IN_PLACE = ("model",)
#: Names of files a run writes at the top of its folder; one the manifest does not list is a mixture.
KNOWN_OUTPUTS = (
    "sft_*.jsonl", "dataset_stats.json", "rejects.jsonl", "training_report_*.json", "training_report_*.html",
)
MANIFEST_FORMAT = 1


@attrs.frozen
class FileEntry:
    """One file of a run: its path relative to the run folder (``/``-separated), size and sha256."""

    path: str
    size: int
    sha256: str


@attrs.frozen
class Manifest:
    """``manifest.json``: which run wrote the folder, when, and every file it wrote."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    files: tuple[FileEntry, ...]
    in_place: tuple[str, ...] = ()
    format: int = MANIFEST_FORMAT

    def top_level(self) -> set[str]:
        """The names at the top of the run folder that this run wrote (files and folders)."""
        return {entry.path.split("/", 1)[0] for entry in self.files}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def new_run_id() -> str:
    """``20260115T103000Z-1a2b3c``: sortable by start time, unique among concurrent starts."""
    return f"{_now():%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _files_under(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            yield Path(folder, name)


def _remove(path: Path) -> None:
    """Remove a file or a whole folder; a missing one is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_manifest(path: Path) -> Manifest | None:
    """The manifest of a run folder, or None when there is none or it cannot be read."""
    try:
        return converter.structure(orjson.loads((path / MANIFEST).read_bytes()), Manifest)
    except FileNotFoundError:
        return None
    except Exception:  # a torn or foreign file: no manifest to trust
        return None


class RunFolder:
    """The output folder of one run; see the module docstring for the protocol."""

    def __init__(self, path: Path | str, run_id: str | None = None):
        self.path = Path(path)
        self.run_id = run_id or new_run_id()
        self.staging = self.path / f"{STAGING_PREFIX}{self.run_id}"
        self.started_at = _now()
        self.manifest: Manifest | None = None
        self._lock_fd: int | None = None

    @property
    def model_dir(self) -> Path:
        """Where the backend writes its artifact, in place (not staged)."""
        return self.path / IN_PLACE[0]

    # -- open --------------------------------------------------------------------------------

    def open(self) -> RunFolder:
        """Create the folder, lock it, clean up after killed runs, make the staging folder."""
        try:
            if self.path.exists() and not self.path.is_dir():
                raise OutputError(f"output_dir {self.path}: is a file", path=self.path, reason="is a file")
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock()
            try:
                self.recover()
                self.staging.mkdir()
            except BaseException:
                self._unlock()
                raise
        except OSError as exc:
            raise self._error(exc) from None
        self.started_at = _now()
        return self

    def _lock(self) -> None:
        import fcntl  # POSIX; imported here so that readers (verify_run_folder) work anywhere

        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunFolderBusy(
                f"output_dir {self.path}: in use by another run (pid {holder}); wait for it to finish "
                "or write somewhere else (--output-dir)",
                path=self.path, reason="in use by another run",
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._lock_fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            self._unlock()
            raise

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def recover(self) -> None:
        """Under the lock: finish a commit whose journal was written, remove other staging folders
        and stale ``.*.tmp`` files of killed runs."""
        for staging in sorted(self.path.glob(f"{STAGING_PREFIX}*")):
            journal = staging / JOURNAL
            if journal.is_file():
                try:
                    data = orjson.loads(journal.read_bytes())
                    manifest = converter.structure(data["manifest"], Manifest)
                    stale = list(data["stale"])
                except Exception:  # torn before its rename cannot be: atomic_json; foreign: drop it
                    _remove(staging)
                    continue
                self._apply(staging, manifest, stale)
            else:
                _remove(staging)
        for folder, dirs, files in os.walk(self.path):
            if Path(folder) == self.path:
                dirs[:] = [d for d in dirs if d not in IN_PLACE]
            for name in files:
                if name.startswith(".") and name.endswith(".tmp"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(folder, name))

    # -- commit ------------------------------------------------------------------------------

    def commit(self) -> Manifest:
        """Swap the staged files in as one unit and write the manifest last; returns it."""
        if self._lock_fd is None or not self.staging.is_dir():
            raise RuntimeError(f"{self.path}: commit() needs an open RunFolder")
        try:
            for tmp in self.staging.rglob(".*.tmp"):  # a writer that never finished
                tmp.unlink()
            files = tuple(
                FileEntry(p.relative_to(self.staging).as_posix(), p.stat().st_size, sha256_of(p))
                for p in _files_under(self.staging)
            )
            staged = {entry.path.split("/", 1)[0] for entry in files}
            in_place = tuple(name for name in IN_PLACE if name not in staged and (self.path / name).exists())
            manifest = Manifest(self.run_id, self.started_at, _now(), files, in_place)
            stale = sorted(self._previous_names() - manifest.top_level() - set(IN_PLACE))
            atomic_json(self.staging / JOURNAL, {"manifest": manifest, "stale": stale})
            _fsync_dir(self.staging)
        except OSError as exc:
            raise self._error(exc) from None
        except OutputError as exc:
            raise self._relocated(exc) from None
        self._apply(self.staging, manifest, stale)
        self.manifest = manifest
        return manifest

    def _previous_names(self) -> set[str]:
        """What the previous run wrote: its manifest's names, or with no manifest (a killed run of
        an older version), the files of known output names."""
        previous = read_manifest(self.path)
        if previous is not None:
            return previous.top_level()
        return {p.name for p in self.path.iterdir() if p.is_file() and any(fnmatch(p.name, k) for k in KNOWN_OUTPUTS)}

    def _apply(self, staging: Path, manifest: Manifest, stale: list[str]) -> None:
        """The commit's steps; each can be redone after a kill (the next open() does)."""
        try:
            with contextlib.suppress(FileNotFoundError):
                (self.path / MANIFEST).unlink()
            _fsync_dir(self.path)
            for name in sorted(manifest.top_level()):
                source, target = staging / name, self.path / name
                if not source.exists():  # moved before a kill
                    continue
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif source.is_dir() and os.path.lexists(target):
                    target.unlink()
                os.replace(source, target)
            for name in stale:
                _remove(self.path / name)
            atomic_json(self.path / MANIFEST, manifest)
            _fsync_dir(self.path)
            shutil.rmtree(staging)
        except OSError as exc:
            raise self._error(exc) from None
        except OutputError as exc:
            raise self._relocated(exc) from None

    # -- close -------------------------------------------------------------------------------

    def close(self) -> None:
        """Remove the staging folder of a run that did not commit (one whose commit began and failed
        keeps it: its journal lets the next open() finish the commit); release the lock."""
        try:
            if self.manifest is None and self._lock_fd is not None and not (self.staging / JOURNAL).exists():
                _remove(self.staging)
        finally:
            self._unlock()

    def __enter__(self) -> RunFolder:
        return self.open()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            if kind is None:
                self.commit()
        finally:
            self.close()
        if isinstance(exc, OutputError):
            raise self._relocated(exc) from exc
        if isinstance(exc, OSError) and exc.filename and self._is_staged(exc.filename):
            raise self._error(exc) from exc

    # -- paths and errors --------------------------------------------------------------------

    def _is_staged(self, path: Any) -> bool:
        return Path(path).is_relative_to(self.staging)

    def final_path(self, path: Path | str) -> Path:
        """Where a staged file lies once committed (other paths are returned unchanged)."""
        path = Path(path)
        return self.path / path.relative_to(self.staging) if self._is_staged(path) else path

    def relocate(self, value: Any) -> Any:
        """``value`` (a result dict, list, path or string) with every staged path made final."""
        if isinstance(value, dict):
            return {key: self.relocate(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.relocate(item) for item in value)
        if isinstance(value, Path):
            return self.final_path(value)
        if isinstance(value, str) and value.startswith(str(self.staging)):
            return str(self.path) + value[len(str(self.staging)):]
        return value

    def _what(self, path: Any) -> str:
        if path is None:
            return ""
        path = Path(path)
        for root in (self.staging, self.path):
            if path.is_relative_to(root) and path != root:
                return f" while writing {path.relative_to(root).as_posix()}"
        return "" if path == self.path else f" ({path})"

    def _error(self, exc: OSError) -> OutputError:
        problem = os_problem(exc)
        where = Path(exc.filename) if exc.filename else self.path
        if exc.errno == errno.ENOTDIR and where == self.path:
            problem = "a folder on its path is a file"
        elif exc.errno in (errno.EEXIST, errno.ENOTDIR) and not where.is_relative_to(self.path):
            problem = f"{where} {problem}"
        where_text = self._what(where) if where.is_relative_to(self.path) else ""
        return OutputError(f"output_dir {self.path}: {problem}{where_text}", path=where, reason=problem)

    def _relocated(self, exc: OutputError) -> OutputError:
        if exc.path is None or not exc.reason or not Path(str(exc.path)).is_relative_to(self.path):
            return exc
        return OutputError(f"output_dir {self.path}: {exc.reason}{self._what(exc.path)}",
                           path=self.final_path(Path(str(exc.path))), reason=exc.reason)


# -- readers --------------------------------------------------------------------------------


def verify_run_folder(path: Path | str, *, hashes: bool = True) -> Manifest:
    """The manifest of a run folder whose files are exactly the files one finished run wrote.

    Raises :class:`RunFolderInvalid` listing every problem: no manifest (the run did not finish;
    a commit that was killed half-way is named so), a listed file missing or of another size or
    sha256 (``hashes=False`` checks sizes only), a file of a known output name or inside a listed
    folder that the manifest does not list (files of another run). Reads only.
    """
    path = Path(path)
    if not path.is_dir():
        raise RunFolderInvalid(f"{path}: no such folder" if not path.exists() else f"{path}: is a file, not a run folder")
    manifest = read_manifest(path)
    if manifest is None:
        committing = [p.name for p in path.glob(f"{STAGING_PREFIX}*") if (p / JOURNAL).is_file()]
        if committing:
            raise RunFolderInvalid(
                f"{path}: incomplete run: the commit of {committing[0][len(STAGING_PREFIX):]} was interrupted; "
                "the next run into this folder finishes it (or call RunFolder(path).open() and close())"
            )
        why = "manifest.json cannot be read" if (path / MANIFEST).exists() else "no manifest.json"
        raise RunFolderInvalid(f"{path}: incomplete run: {why}; the run that wrote here did not finish")
    problems = []
    listed = {entry.path for entry in manifest.files}
    for entry in manifest.files:
        file = path / entry.path
        if not file.is_file():
            problems.append(f"{entry.path}: missing")
        elif file.stat().st_size != entry.size:
            problems.append(f"{entry.path}: {file.stat().st_size} bytes, the manifest says {entry.size}")
        elif hashes and sha256_of(file) != entry.sha256:
            problems.append(f"{entry.path}: content differs from the manifest (sha256)")
    folders = {name for name in manifest.top_level() if (path / name).is_dir()}
    for item in sorted(path.iterdir()):
        if item.is_file() and item.name not in listed and any(fnmatch(item.name, k) for k in KNOWN_OUTPUTS):
            problems.append(f"{item.name}: not written by run {manifest.run_id}")
    for name in sorted(folders):
        for file in _files_under(path / name):
            relative = file.relative_to(path).as_posix()
            if relative not in listed:
                problems.append(f"{relative}: not written by run {manifest.run_id}")
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise RunFolderInvalid(f"{path}: not one finished run (manifest of run {manifest.run_id}): {shown}")
    return manifest
