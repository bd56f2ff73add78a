"""The run directory: a contract that every later command reads.

    DIR/config.json          everything needed to rebuild data and model (format_version, versions)
    DIR/status.json          running | completed | failed_nonfinite, with the reason, the resumes so far,
                             the failure (epoch, batch, values) and, once training ends, the SHA-256 of
                             config.json, history.jsonl, metrics.json and model.safetensors ("files"); it
                             carries its own SHA-256 (content_sha256), so every file is verified on load
    DIR/history.jsonl        one JSON object per epoch (epoch 0 = before training), each with format_version
    DIR/metrics.json         train_acc, val_acc, test_acc, converged_epoch, epochs_run, params, ...
    DIR/model.safetensors    final weights (metadata: format_version)
    DIR/training_curves.png|svg
    DIR/checkpoints/         see checkpoint.py
    DIR/.lock                held (flock) by the process writing the run

Every file is written atomically (rnnscope.io).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

from rnnscope.errors import BadRunDirectory
from rnnscope.io import (
    FORMAT_VERSION,
    NewerFormatError,
    RunFileError,
    atomic_write_bytes,
    check_version,
    dumps,
    loads,
    read_json,
    sha256,
    write_json,
)
from rnnscope.training.callbacks import Callback

RUN_MARKERS = ("config.json", "history.jsonl", "model.safetensors", "status.json")


class RunLockedError(BadRunDirectory):
    """Another live process is writing this run directory."""


def is_run(path: Path) -> bool:
    return path.is_dir() and any((path / m).exists() for m in RUN_MARKERS)


def prepare_output(out: str | Path, overwrite: bool) -> Path:
    """Check that `out` can receive a new run, without writing anything yet.

    Refuses a directory that already holds a run (unless overwrite) or other files, and paths that
    cannot be written. Raises ValueError with one clear line.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {out} exists and is not a directory")
    if is_run(out) and not overwrite:
        raise ValueError(f"{out} already holds a run; pass --overwrite to replace it or choose another --out")
    if out.is_dir() and not is_run(out) and any(p.name != ".lock" for p in out.iterdir()):
        raise ValueError(f"{out} is not empty and holds no run; choose an empty or new directory")
    parent = out if out.exists() else next((p for p in out.absolute().parents if p.exists()), Path("."))
    if not parent.is_dir():
        raise ValueError(f"output path {out} is not writable ({parent} is not a directory)")
    try:  # a real probe: permissions, read-only file systems and pseudo file systems all show here
        os.rmdir(tempfile.mkdtemp(prefix=".rnnscope-probe-", dir=parent))
    except OSError as err:
        raise ValueError(f"output path {out} is not writable ({err.strerror or err})") from None
    return out


def clear_run(out: Path) -> None:
    """Remove a previous run's files (only a directory that is_run)."""
    for p in out.iterdir():
        if p.name == ".lock":
            continue
        shutil.rmtree(p) if p.is_dir() else p.unlink()


class RunLock:
    """An exclusive flock on DIR/.lock; the kernel drops it when the holder dies (no stale locks)."""

    def __init__(self, out: Path):
        self.path = Path(out) / ".lock"
        self.fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            raise RunLockedError(f"{self.path.parent} is being written by another rnnscope process "
                                 "(its lock is held); wait for it or use another --out") from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def write_history(out: Path, history: list[dict]) -> None:
    rows = ({"format_version": FORMAT_VERSION, **r} for r in history)
    text = "".join(dumps(r).replace("\n", "") + "\n" for r in rows)
    atomic_write_bytes(out / "history.jsonl", text.encode())


def read_history(out: Path) -> list[dict]:
    """The rows of history.jsonl (without their format_version); RunFileError naming the line if corrupt."""
    path = Path(out) / "history.jsonl"
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise RunFileError(f"history {path} is missing") from None
    except UnicodeDecodeError:
        raise RunFileError(f"history {path} is corrupt (not UTF-8 text)") from None
    except OSError as err:
        reason = err.strerror or err.__class__.__name__
        raise RunFileError(f"history {path} cannot be read ({reason})") from None
    out_rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = loads(line)
        except ValueError:
            raise RunFileError(f"history {path} is corrupt at line {i}") from None
        if not isinstance(row, dict):
            raise RunFileError(f"history {path} is corrupt at line {i}")
        check_version(row, f"{path} line {i}", "history")
        row.pop("format_version")
        out_rows.append(row)
    return out_rows


STATUSES = ("running", "completed", "failed_nonfinite")


def write_status(out: Path, status: str, reason: str | None = None, **extra) -> None:
    write_json(out / "status.json", {"status": status, "reason": reason, **extra}, checksum=True)


def read_status(out: Path) -> dict:
    status = read_json(Path(out) / "status.json", "status file")
    if status.get("status") not in STATUSES:
        where = Path(out) / "status.json"
        raise RunFileError(f"status file {where} is corrupt (status {status.get('status')!r})")
    return status


FINAL_FILES = ("config.json", "history.jsonl", "metrics.json", "model.safetensors")


def file_hashes(out: Path) -> dict[str, str]:
    """SHA-256 of the files a finished run is read from (recorded in status.json when training ends)."""
    return {f: sha256(out / f) for f in FINAL_FILES if (out / f).exists()}


def rebuild_hint(out: Path) -> str:
    """What to do about a run directory's missing or corrupt files, from the state of its checkpoints:
    e.g. "checkpoint epoch-000012: state.json is missing; epoch-000011 is intact: resume from it with ..."."""
    from rnnscope.training.checkpoint import latest_checkpoint

    try:
        ckpt, problems = latest_checkpoint(Path(out) / "checkpoints")
    except RunFileError as err:
        return f"{err}: no intact checkpoint is left, so train the run again"
    said = "".join(f"{p}; " for p in problems)
    return f"{said}checkpoint {ckpt.name} is intact: resume from it with `rnnscope train --resume {out}`"


def verify_run(out: Path) -> dict:
    """Check a run directory's status.json and the SHA-256 of every file it lists; returns the status.

    Raises RunFileError naming the file and what to do.
    """
    out = Path(out)
    try:
        status = read_status(out)
    except NewerFormatError:
        raise
    except RunFileError as err:
        raise RunFileError(f"{err}; {rebuild_hint(out)}") from None
    verify_config(out, status)
    for name, digest in (status.get("files") or {}).items():
        path = out / name
        if not path.exists():
            raise RunFileError(f"{path} is missing; {rebuild_hint(out)}")
        if sha256(path) != digest:
            raise RunFileError(f"{path} is corrupt (its SHA-256 does not match status.json: truncated, "
                               f"edited or a flipped bit); {rebuild_hint(out)}")
    return status


CONFIG_HINT = ("config.json alone rebuilds the data and the model, so restore it from a copy of the run or "
               "train again")


def verify_config(out: Path, status: dict) -> None:
    """config.json against the SHA-256 in status.json (when listed): a resume cannot repair it."""
    digest = (status.get("files") or {}).get("config.json")
    if digest is not None and (out / "config.json").exists() and sha256(out / "config.json") != digest:
        raise RunFileError(f"{out / 'config.json'} is corrupt (its SHA-256 does not match status.json); "
                           f"{CONFIG_HINT}")


class HistoryWriter(Callback):
    """Keeps history.jsonl current after every epoch (what a crashed run leaves is still readable)."""

    def __init__(self, out: Path):
        self.out = out

    def on_epoch_end(self, trainer, record: dict) -> None:
        write_history(self.out, trainer.history)
