"""A run directory as files in memory: how a job trained on another machine reaches the sweep directory.

A sweep on a cluster (rnnscope.sweep.ray_executor) trains each job in a scratch directory of the worker
that runs it, so no file system needs to be shared: the worker sends the run directory back as
`{relative POSIX path: bytes}` and the driver writes it into SWEEP_DIR/runs/NAME/ here.

    read_run_files(root)          every file of a run directory but its lock and half-written checkpoints
    write_run_files(root, files)  replace what `root` holds with `files`, under the run's lock; status.json
                                  is written last, so an interrupted write leaves an unfinished run (which
                                  the next sweep resumes or restarts), never a run that looks finished
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from rnnscope.io import RunFileError, atomic_write_bytes
from rnnscope.rundir.layout import RunPaths
from rnnscope.rundir.run import RunLock

_TEMPORARY = ".tmp-"  # a checkpoint being written (rnnscope.training.checkpoint): never complete


def read_run_files(root: str | Path) -> dict[str, bytes]:
    """{path relative to root (POSIX): bytes} of every file under `root`, but the lock and `.tmp-*` dirs."""
    root = Path(root)
    lock = RunPaths(root).lock
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path == lock or not path.is_file() or any(p.startswith(_TEMPORARY) for p in rel.parts):
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def _checked(root: Path, name: str) -> Path:
    """root / name, refusing absolute names and names that climb out of root."""
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise RunFileError(f"a run sent back the file name {name!r}, which lies outside its run directory")
    return root.joinpath(*rel.parts)


def write_run_files(root: str | Path, files: dict[str, bytes]) -> None:
    """Make `root` hold exactly `files` (its lock kept), status.json last. RunLockedError (touching
    nothing) when another process writes the run."""
    root = Path(root)
    paths = RunPaths(root)
    targets = {name: _checked(root, name) for name in files}
    with RunLock(root):
        for p in root.iterdir():
            if p != paths.lock:
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        order = sorted(targets, key=lambda n: (targets[n] == paths.status, n))
        for name in order:
            targets[name].parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(targets[name], files[name])
