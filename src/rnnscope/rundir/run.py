"""The training files of a run directory: lock, config, status, history, metrics, model (layout.py).

Every file is written atomically (rnnscope.io) and validated where it is read: a missing, corrupt or
wrongly shaped file raises RunFileError naming it. What to do about a damaged run (which checkpoint to
resume from) is training's knowledge: `rnnscope.training.rundir.verify_run` / `rebuild_hint`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Self

from rnnscope.errors import BadArgument, BadRunDirectory
from rnnscope.io import (
    FORMAT_VERSION,
    NewerFormatError,
    RunFileError,
    atomic_write_bytes,
    check_version,
    dumps,
    load_tensors,
    loads,
    read_json,
    save_tensors,
    sha256,
    write_json,
)
from rnnscope.rundir.layout import RunPaths

STATUSES = ("running", "completed", "failed_nonfinite")
CONFIG_HINT = (
    "config.json alone rebuilds the data and the model, so restore it from a copy of the run or train again"
)


class RunLockedError(BadRunDirectory):
    """Another live process is writing this run directory."""


def is_run(path: str | Path) -> bool:
    return RunPaths(path).is_run()


def prepare_output(out: str | Path, overwrite: bool) -> Path:
    """Check that `out` can receive a new run, without writing anything yet.

    Refuses a directory that already holds a run (unless overwrite) or other files, and paths that
    cannot be written. Raises BadArgument (a ValueError) with one clear line.
    """
    out = Path(out)
    lock = RunPaths(out).lock.name
    if out.exists() and not out.is_dir():
        raise BadArgument(f"output path {out} exists and is not a directory")
    if is_run(out) and not overwrite:
        raise BadArgument(
            f"{out} already holds a run; pass --overwrite to replace it or choose another --out"
        )
    if out.is_dir() and not is_run(out) and any(p.name != lock for p in out.iterdir()):
        raise BadArgument(f"{out} is not empty and holds no run; choose an empty or new directory")
    parent = out if out.exists() else next((p for p in out.absolute().parents if p.exists()), Path("."))
    if not parent.is_dir():
        raise BadArgument(f"output path {out} is not writable ({parent} is not a directory)")
    try:  # a real probe: permissions, read-only file systems and pseudo file systems all show here
        os.rmdir(tempfile.mkdtemp(prefix=".rnnscope-probe-", dir=parent))
    except OSError as err:
        raise BadArgument(f"output path {out} is not writable ({err.strerror or err})") from None
    return out


def clear_run(out: Path) -> None:
    """Remove a previous run's files (only a directory that is_run), keeping the lock."""
    lock = RunPaths(out).lock
    for p in Path(out).iterdir():
        if p == lock:
            continue
        shutil.rmtree(p) if p.is_dir() else p.unlink()


class RunLock:
    """An exclusive flock on RUN_DIR/.lock; the kernel drops it when the holder dies (no stale locks)."""

    def __init__(self, out: str | Path):
        self.path = RunPaths(out).lock
        self.fd: int | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)  # the umask applies, as for open()
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            raise RunLockedError(
                f"{self.path.parent} is being written by another rnnscope process "
                "(its lock is held); wait for it or use another --out"
            ) from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


# ---- config.json, metrics.json, model.safetensors ---------------------------------------------
def write_config(out: str | Path, config: dict) -> None:
    write_json(RunPaths(out).config, config)


def read_config(out: str | Path) -> dict:
    """config.json with a `model` and a `data` section; RunFileError (with what to do) otherwise."""
    path = RunPaths(out).config
    try:
        config = read_json(path, "config")
    except NewerFormatError:
        raise
    except RunFileError as err:
        raise RunFileError(f"{err}; {CONFIG_HINT}") from None
    if not isinstance(config.get("model"), dict) or not isinstance(config.get("data"), dict):
        raise RunFileError(f"config {path} is corrupt (no model or data section)")
    return config


def write_metrics(out: str | Path, metrics: dict) -> None:
    write_json(RunPaths(out).metrics, metrics)


def read_metrics(out: str | Path, what: str = "metrics") -> dict:
    """metrics.json without its format_version."""
    metrics = read_json(RunPaths(out).metrics, what)
    metrics.pop("format_version", None)
    return metrics


def save_model(out: str | Path, state_dict: dict) -> None:
    save_tensors(RunPaths(out).model, state_dict, {"format_version": str(FORMAT_VERSION)})


def load_model_state(out: str | Path) -> dict:
    return load_tensors(RunPaths(out).model, "model")


# ---- history.jsonl ----------------------------------------------------------------------------
def write_history(out: str | Path, history: list[dict]) -> None:
    rows = ({"format_version": FORMAT_VERSION, **r} for r in history)
    text = "".join(dumps(r).replace("\n", "") + "\n" for r in rows)
    atomic_write_bytes(RunPaths(out).history, text.encode())


def read_history(out: str | Path) -> list[dict]:
    """The rows of history.jsonl (without their format_version); RunFileError naming the line if corrupt."""
    path = RunPaths(out).history
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


# ---- status.json ------------------------------------------------------------------------------
def write_status(out: str | Path, status: str, reason: str | None = None, **extra) -> None:
    write_json(RunPaths(out).status, {"status": status, "reason": reason, **extra}, checksum=True)


def read_status(out: str | Path) -> dict:
    path = RunPaths(out).status
    status = read_json(path, "status file")
    if status.get("status") not in STATUSES:
        raise RunFileError(f"status file {path} is corrupt (status {status.get('status')!r})")
    files = status.get("files")
    if files is not None and not (
        isinstance(files, dict) and all(isinstance(v, str) for v in files.values())
    ):
        raise RunFileError(f"status file {path} is corrupt (files is not a map of SHA-256 digests)")
    return status


def file_hashes(out: str | Path) -> dict[str, str]:
    """SHA-256 of the files a finished run is read from (recorded in status.json when training ends)."""
    paths = RunPaths(out)
    return {f: sha256(paths.final_file(f)) for f in paths.FINAL if paths.final_file(f).exists()}


def verify_config(out: str | Path, status: dict) -> None:
    """config.json against the SHA-256 in status.json (when listed): a resume cannot repair it."""
    path = RunPaths(out).config
    digest = (status.get("files") or {}).get(path.name)
    if digest is not None and path.exists() and sha256(path) != digest:
        raise RunFileError(f"{path} is corrupt (its SHA-256 does not match status.json); {CONFIG_HINT}")


def check_files(out: str | Path, status: dict, hint: Callable[[], str]) -> None:
    """Every file status.json lists exists and matches its SHA-256; RunFileError ending with `hint()`."""
    paths = RunPaths(out)
    for name, digest in (status.get("files") or {}).items():
        try:
            path = paths.final_file(name)
        except ValueError:
            raise RunFileError(f"status file {paths.status} is corrupt (it lists {name!r})") from None
        if not path.exists():
            raise RunFileError(f"{path} is missing; {hint()}")
        if sha256(path) != digest:
            raise RunFileError(
                f"{path} is corrupt (its SHA-256 does not match status.json: truncated, "
                f"edited or a flipped bit); {hint()}"
            )
