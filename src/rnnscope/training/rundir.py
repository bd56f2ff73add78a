"""The run directory: a contract that every later command reads.

    DIR/config.json          everything needed to rebuild data and model (format_version, versions)
    DIR/status.json          running | completed | failed_nonfinite, with the reason
    DIR/history.jsonl        one JSON object per epoch (epoch 0 = before training)
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
from pathlib import Path

from rnnscope.io import RunFileError, atomic_write_bytes, dumps, loads, read_json, write_json
from rnnscope.training.callbacks import Callback

RUN_MARKERS = ("config.json", "history.jsonl", "model.safetensors", "status.json")


class RunLockedError(RuntimeError):
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
    parent = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"output path {out} is not writable")
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

    def __enter__(self) -> "RunLock":
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
    atomic_write_bytes(out / "history.jsonl", "".join(dumps(r).replace("\n", "") + "\n" for r in history).encode())


def read_history(out: Path) -> list[dict]:
    import json

    path = Path(out) / "history.jsonl"
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise RunFileError(f"history {path} is missing") from None
    out_rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = loads(line)
        except json.JSONDecodeError:
            raise RunFileError(f"history {path} is corrupt at line {i}") from None
        if not isinstance(row, dict):
            raise RunFileError(f"history {path} is corrupt at line {i}")
        out_rows.append(row)
    return out_rows


def write_status(out: Path, status: str, reason: str | None = None, **extra) -> None:
    write_json(out / "status.json", {"status": status, "reason": reason, **extra})


def read_status(out: Path) -> dict:
    return read_json(Path(out) / "status.json", "status file")


class HistoryWriter(Callback):
    """Keeps history.jsonl current after every epoch (what a crashed run leaves is still readable)."""

    def __init__(self, out: Path):
        self.out = out

    def on_epoch_end(self, trainer, record: dict) -> None:
        write_history(self.out, trainer.history)
