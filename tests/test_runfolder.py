"""A run's files are one unit: real processes killed mid-write or mid-commit, a second writer
refused, a reader that finds a mixed or tampered folder, and output errors as one line."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deepeyes_core.errors import OutputError, RunFolderBusy, RunFolderInvalid
from deepeyes_core.io import RejectsLog, atomic_jsonl
from deepeyes_core.runfolder import MANIFEST, RunFolder, verify_run_folder

from .conftest import ROOT

SPLITS = ("train", "val", "test")


def write_run(folder: Path, tag: str, extra: str | None = None) -> str:
    """A finished run into ``folder``: three splits whose rows say ``tag``; returns its run id."""
    with RunFolder(folder) as run:
        for split in SPLITS:
            atomic_jsonl(run.staging / f"sft_{split}.jsonl", [{"run": tag, "i": i} for i in range(50)])
        if extra:
            atomic_jsonl(run.staging / extra / "train.jsonl", [{"run": tag}])
    return run.run_id


def tags(folder: Path) -> set[str]:
    return {json.loads(line)["run"] for split in SPLITS
            for line in (folder / f"sft_{split}.jsonl").read_text().splitlines()}


WRITER = """
import os, sys, time
from pathlib import Path
from deepeyes_core.io import atomic_jsonl, atomic_write
from deepeyes_core.runfolder import RunFolder

folder, mode = Path(sys.argv[1]), sys.argv[2]
if mode == "commit":  # stop for good in the middle of the commit's moves
    real_replace, moved = os.replace, []
    def slow_replace(src, dst):
        real_replace(src, dst)
        if ".staging-" in str(src) and ".staging-" not in str(dst):
            moved.append(dst)
            if len(moved) == 2:
                print("moved two", flush=True)
                time.sleep(600)
    os.replace = slow_replace
with RunFolder(folder) as run:
    atomic_jsonl(run.staging / "sft_train.jsonl", [{"run": "B", "i": i} for i in range(50)])
    print("wrote train", flush=True)
    if mode == "hold":
        time.sleep(600)
    if mode == "write":
        with atomic_write(run.staging / "sft_val.jsonl") as handle:
            handle.write(b'{"run": "B"}\\n')
            handle.flush()
            print("writing val", flush=True)
            time.sleep(600)
    atomic_jsonl(run.staging / "sft_val.jsonl", [{"run": "B", "i": i} for i in range(50)])
    atomic_jsonl(run.staging / "sft_test.jsonl", [{"run": "B", "i": i} for i in range(50)])
"""


def start_writer(folder: Path, mode: str, wait_for: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'plugins'}"}
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(WRITER), str(folder), mode],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline().strip()
    while line and line != wait_for:
        line = process.stdout.readline().strip()
    assert line == wait_for, process.stderr.read()
    return process


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()


def test_a_run_killed_while_writing_leaves_the_previous_run_whole(tmp_path):
    folder = tmp_path / "out"
    first = write_run(folder, "A")
    (folder / ".sft_test.jsonl.x1y2.tmp").write_text("half a line of a run killed by an older version")
    writer = start_writer(folder, "write", "writing val")
    kill(writer)
    leftovers = [p for p in folder.rglob("*") if ".staging-" in str(p)]
    assert any(p.name.startswith(".sft_val.jsonl.") for p in leftovers)  # killed inside a write
    assert verify_run_folder(folder).run_id == first and tags(folder) == {"A"}  # no mixture

    second = write_run(folder, "C")  # the next run cleans up after the killed one
    assert verify_run_folder(folder).run_id == second and tags(folder) == {"C"}
    assert sorted(p.name for p in folder.iterdir()) == [".deepeyes.lock", MANIFEST, *sorted(f"sft_{s}.jsonl" for s in SPLITS)]


def test_a_commit_killed_half_way_is_finished_by_the_next_open(tmp_path):
    folder = tmp_path / "out"
    write_run(folder, "A")
    kill(start_writer(folder, "commit", "moved two"))
    with pytest.raises(RunFolderInvalid, match="incomplete run: the commit of .* was interrupted"):
        verify_run_folder(folder)
    RunFolder(folder).open().close()  # what the next run does first
    manifest = verify_run_folder(folder)
    assert tags(folder) == {"B"} and len(manifest.files) == 3


def test_a_second_writer_is_refused_naming_the_folder_and_the_pid(tmp_path):
    folder = tmp_path / "out"
    holder = start_writer(folder, "hold", "wrote train")
    try:
        with pytest.raises(RunFolderBusy) as caught:
            RunFolder(folder).open()
        assert str(caught.value) == (f"output_dir {folder}: in use by another run (pid {holder.pid}); "
                                     "wait for it to finish or write somewhere else (--output-dir)")
    finally:
        kill(holder)
    assert write_run(folder, "C")  # the lock died with its holder


def test_a_reader_finds_a_mixed_or_tampered_folder(tmp_path):
    folder = tmp_path / "out"
    with pytest.raises(RunFolderInvalid, match="no such folder"):
        verify_run_folder(folder)
    write_run(folder, "A", extra="trl")
    assert (folder / "trl" / "train.jsonl").exists()
    run_id = verify_run_folder(folder).run_id
    other = tmp_path / "other"
    write_run(other, "B")

    (folder / "sft_val.jsonl").write_bytes((other / "sft_val.jsonl").read_bytes())  # same size, other run
    with pytest.raises(RunFolderInvalid, match="sft_val.jsonl: content differs from the manifest"):
        verify_run_folder(folder)
    assert verify_run_folder(folder, hashes=False).run_id == run_id  # sizes alone cannot see it
    with (folder / "sft_test.jsonl").open("a") as handle:
        handle.write("{}\n")
    (folder / "trl" / "val.jsonl").write_text("{}\n")
    (folder / "training_report_20250101_000000.json").write_text("{}")
    (folder / "sft_train.jsonl").unlink()
    with pytest.raises(RunFolderInvalid) as caught:
        verify_run_folder(folder)
    message = str(caught.value)
    for problem in ("sft_train.jsonl: missing", "sft_test.jsonl: ", "bytes, the manifest says",
                    f"training_report_20250101_000000.json: not written by run {run_id}",
                    f"trl/val.jsonl: not written by run {run_id}"):
        assert problem in message
    (folder / MANIFEST).unlink()
    with pytest.raises(RunFolderInvalid, match="incomplete run: no manifest.json; the run that wrote here did not finish"):
        verify_run_folder(folder)


def test_a_commit_replaces_the_previous_runs_files_and_keeps_the_model(tmp_path):
    folder = tmp_path / "out"
    with RunFolder(folder) as run:
        atomic_jsonl(run.staging / "sft_train.jsonl", [{"run": "A"}])
        atomic_jsonl(run.staging / "sharegpt" / "train.jsonl", [{"run": "A"}])
        atomic_jsonl(run.staging / "trl" / "old.jsonl", [{"run": "A"}])
        atomic_jsonl(run.model_dir / "checkpoint-1" / "state.json", [{"step": 1}])
    with RunFolder(folder) as run:
        atomic_jsonl(run.staging / "sft_train.jsonl", [{"run": "B"}])
        atomic_jsonl(run.staging / "trl" / "train.jsonl", [{"run": "B"}])
        assert run.final_path(run.staging / "trl" / "train.jsonl") == folder / "trl" / "train.jsonl"
        result = run.relocate({"files": {"trl/train": str(run.staging / "trl" / "train.jsonl")}, "n": 1})
    assert result == {"files": {"trl/train": str(folder / "trl" / "train.jsonl")}, "n": 1}
    manifest = verify_run_folder(folder)
    assert [e.path for e in manifest.files] == ["sft_train.jsonl", "trl/train.jsonl"]
    assert manifest.in_place == ("model",) and (folder / "model" / "checkpoint-1" / "state.json").exists()
    assert not (folder / "sharegpt").exists() and not (folder / "trl" / "old.jsonl").exists()


def test_a_failed_run_leaves_the_previous_run_and_no_staging(tmp_path):
    folder = tmp_path / "out"
    first = write_run(folder, "A")
    with pytest.raises(RuntimeError, match="the run failed"):
        with RunFolder(folder) as run:
            atomic_jsonl(run.staging / "sft_train.jsonl", [{"run": "B"}])
            raise RuntimeError("the run failed")
    assert verify_run_folder(folder).run_id == first and tags(folder) == {"A"}
    assert not list(folder.glob(".staging-*"))


def test_output_dir_errors_are_one_line_naming_the_path(tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    with pytest.raises(OutputError, match=f"^output_dir {afile}: is a file$"):
        RunFolder(afile).open()
    with pytest.raises(OutputError, match=f"^output_dir {afile / 'out'}: a folder on its path is a file$"):
        RunFolder(afile / "out").open()
    real_mkdir = os.mkdir

    def denied(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path / "locked")):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", denied)
    with pytest.raises(OutputError, match=f"^output_dir {tmp_path / 'locked'}: not writable \\(permission denied\\)$"):
        RunFolder(tmp_path / "locked").open()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_dir_is_one_line(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable \\(permission denied\\)"):
            RunFolder(folder).open()
    finally:
        folder.chmod(0o700)


def test_a_full_disk_names_the_file_and_leaves_the_previous_run(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    first = write_run(folder, "A")
    real_fsync = os.fsync
    with pytest.raises(OutputError) as caught:
        with RunFolder(folder) as run:
            atomic_jsonl(run.staging / "sft_train.jsonl", [{"run": "B"}])
            monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
            atomic_jsonl(run.staging / "sft_val.jsonl", [{"run": "B"}])
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert str(caught.value) == f"output_dir {folder}: no space left on device while writing sft_val.jsonl"
    assert verify_run_folder(folder).run_id == first and tags(folder) == {"A"}
    assert not list(folder.glob(".staging-*")) and not list(folder.rglob("*.tmp"))


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs, where mounting is allowed (root in a container); else the test is skipped."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_really_full_disk(tiny_disk):
    folder = tiny_disk / "out"
    first = write_run(folder, "A")
    with pytest.raises(OutputError, match=f"^output_dir {folder}: no space left on device while writing sft_val.jsonl$"):
        with RunFolder(folder) as run:
            atomic_jsonl(run.staging / "sft_train.jsonl", [{"run": "B"}])
            atomic_jsonl(run.staging / "sft_val.jsonl", ({"run": "B", "pad": "x" * 1000} for _ in range(1000)))
    assert verify_run_folder(folder).run_id == first and tags(folder) == {"A"}
    assert not list(folder.glob(".staging-*")) and not list(folder.rglob("*.tmp"))


def test_rejects_log_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from deepeyes_core.records import Rejection

    path = tmp_path / "rejects.jsonl"
    with RejectsLog(path) as log:
        log.add(Rejection("duplicate", "same as line 1"))
    assert len(path.read_text().splitlines()) == 1 and log.summary()["by_reason"] == {"duplicate": 1}
    with pytest.raises(KeyError):
        with RejectsLog(path) as log:
            log.add(Rejection("malformed record", "x"))
            raise KeyError("the run failed")
    assert "duplicate" in path.read_text() and not list(tmp_path.glob("*.tmp"))  # the old file stays
    log = RejectsLog(path)
    log.add(Rejection("malformed record", "x"))
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(OutputError, match=f"^cannot write {path}: no space left on device$"):
        log.close()
    log.close()  # closing again does nothing
    assert "duplicate" in path.read_text() and not list(tmp_path.glob("*.tmp"))


def test_outputs_have_the_permissions_of_a_plain_open(tmp_path):
    from deepeyes_core import atomic_json

    atomic_json(tmp_path / "a.json", {"x": 1})
    with open(tmp_path / "b.json", "w"):
        pass
    assert (tmp_path / "a.json").stat().st_mode == (tmp_path / "b.json").stat().st_mode
