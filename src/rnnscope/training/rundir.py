"""Training's part of the run directory: keeping history.jsonl current, and verifying a finished run.

The layout, readers and writers are `rnnscope.rundir`; what is training's own knowledge stays here:
which checkpoint a damaged run can be rebuilt from (`rebuild_hint`) and `verify_run`, which checks
status.json and the SHA-256 of every file it lists and says what to do.
"""

from __future__ import annotations

from pathlib import Path

from rnnscope.io import NewerFormatError, RunFileError
from rnnscope.rundir import (
    CONFIG_HINT,
    RunLock,
    RunLockedError,
    RunPaths,
    check_files,
    file_hashes,
    is_run,
    read_history,
    read_status,
    verify_config,
    write_history,
    write_status,
)
from rnnscope.training.callbacks import Callback
from rnnscope.training.checkpoint import latest_checkpoint

__all__ = [
    "CONFIG_HINT",
    "HistoryWriter",
    "RunLock",
    "RunLockedError",
    "file_hashes",
    "is_run",
    "read_history",
    "read_status",
    "rebuild_hint",
    "verify_config",
    "verify_run",
    "write_history",
    "write_status",
]


def rebuild_hint(out: Path) -> str:
    """What to do about a run directory's missing or corrupt files, from the state of its checkpoints:
    e.g. "checkpoint epoch-000012: state.json is missing; epoch-000011 is intact: resume from it with ..."."""

    try:
        ckpt, problems = latest_checkpoint(RunPaths(out).checkpoints)
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
    check_files(out, status, lambda: rebuild_hint(out))
    return status


class HistoryWriter(Callback):
    """Keeps history.jsonl current after every epoch (what a crashed run leaves is still readable)."""

    def __init__(self, out: Path):
        self.out = out

    def on_epoch_end(self, trainer, record: dict) -> None:
        write_history(self.out, trainer.history)
