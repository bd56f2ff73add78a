"""What the report reads from a directory, beyond rnnscope.rundir's readers: which kind of directory it
is, and the layer index of a units.csv row.

A missing file is normal (its stage has not run) and rundir's readers return None; a file that is
present but unreadable raises RunFileError naming it, because a report built over a corrupt file would
silently tell the reader something false.
"""

from __future__ import annotations

from pathlib import Path

from rnnscope.io import RunFileError
from rnnscope.rundir import RunPaths, SweepPaths, Table, dir_kind, read_table

__all__ = ["Table", "kind_of", "layer_index", "read_table"]


def kind_of(path: Path) -> str:
    """ "run", "imported", "activity" or "comparison"; RunFileError (one line) for anything else."""
    if not path.exists():
        raise RunFileError(f"{path} does not exist")
    if not path.is_dir():
        raise RunFileError(f"{path} is not a directory")
    run = RunPaths(path)
    if run.config.exists():
        return "run"
    if dir_kind(path) in ("imported", "activity"):
        return dir_kind(path)
    sweep = SweepPaths(path)
    if sweep.is_comparison():
        return "comparison"
    raise RunFileError(
        f"{path} is neither a run directory (no {run.config.name}; create one with `rnnscope run` or "
        f"`rnnscope train`), an imported run (no {run.imported.name}; `rnnscope import`), an activity "
        f"directory (no {run.activity.name}; `rnnscope activity`) nor a comparison output (no "
        f"{', '.join(sweep.COMPARISON_FILES)})"
    )


def layer_index(value) -> int | None:
    """0 from 0, "0", "l0", "layer0", "layer 0"; None otherwise."""
    if isinstance(value, int):
        return value
    text = str(value).strip().lower()
    for prefix in ("layer", "l"):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
            break
    return int(text) if text.isdigit() else None
