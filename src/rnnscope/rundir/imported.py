"""Imported runs (a model trained elsewhere) and activity directories (a recording of neurons or units).

    IMPORTED_DIR/imported.json       ImportSummary: the model's kind and sizes, the data reference, the
                                     accuracies measured at import, provenance (trained elsewhere; source
                                     file and SHA-256), the SHA-256 of model.safetensors (and data)
    IMPORTED_DIR/model.safetensors   the weights, the built-in key names (core.*, head.*) for nn cores
    IMPORTED_DIR/data.safetensors    X_train, y_train, X_test, y_test (+ lengths_*) when data were arrays
    ACTIVITY_DIR/activity.json       ActivitySummary: where the activity came from, its sizes, dt

Neither has config.json or history.jsonl: nothing was trained here, so no history is written.
`dir_kind(path)` tells the kinds of directory apart. Both directories are built under a temporary name
and moved into place whole (`publish`), so bad input leaves nothing behind.
"""

from __future__ import annotations

import errno
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from safetensors.numpy import save as save_numpy

from rnnscope.errors import BadArgument
from rnnscope.io import RunFileError, atomic_write_bytes, read_json, sha256, temp_dir, write_json
from rnnscope.recording.store import replace_directory
from rnnscope.rundir.arrays import read_arrays
from rnnscope.rundir.layout import RunPaths
from rnnscope.rundir.validate import NUMBER, Fields

DIR_KINDS = ("run", "imported", "activity")
OPT_NUM = (int, float, type(None))


def dir_kind(path: str | Path) -> str | None:
    """ "run" (config.json), "imported" (imported.json), "activity" (activity.json), or None."""
    paths = RunPaths(path)
    if not paths.root.is_dir():
        return None
    if paths.config.exists():
        return "run"
    if paths.imported.exists():
        return "imported"
    if paths.activity.exists():
        return "activity"
    return None


# ---- imported.json -------------------------------------------------------------------------------
@dataclass
class ImportSummary:
    """IMPORTED_DIR/imported.json."""

    model: dict  # kind (rnn | lstm | gru | custom), nonlinearity, bias, input_size, hidden_size, layers,
    #              n_classes, module (class names), rebuild (True: rebuilt from these sizes + weights)
    data: dict  # the data reference: {task, task_params, n_train, n_test, seed} | {dataset} | {path} |
    #             {arrays: "data.safetensors"}
    sizes: dict  # n_train, n_test, seq_len, input_size, n_classes: the data as measured at import
    class_names: list
    accuracies: dict  # {"train": float, "test": float}: measured at import on each split
    source: dict  # {"trained": "elsewhere", "file": str | None, "sha256": str | None, "format": str}
    files: dict = field(default_factory=dict)  # {file name: SHA-256}
    versions: dict = field(default_factory=dict)
    created: str | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict, path: Path | str | None = None) -> ImportSummary:
        f = Fields(obj, "import summary", path)
        return cls(
            f.get("model", dict),
            f.get("data", dict),
            f.mapping("sizes", int),
            f.get("class_names", list),
            f.mapping("accuracies", NUMBER),
            f.get("source", dict),
            f.mapping("files", str, {}),
            f.get("versions", dict, {}),
            f.get("created", (str, type(None)), None),
        )

    def model_text(self) -> str:
        m = self.model
        if m.get("kind") == "custom":
            return f"custom cells ({m.get('module')}): layer sizes {m.get('layer_sizes')}"
        act = f", {m['nonlinearity']}" if m.get("kind") == "rnn" else ""
        bias = "" if m.get("bias", True) else ", no bias"
        return f"{m.get('kind')}{act}{bias}: {m.get('layers')} layers × {m.get('hidden_size')} units"

    def data_text(self) -> str:
        d = self.data
        if d.get("task"):
            params = ", ".join(f"{k}={v}" for k, v in (d.get("task_params") or {}).items())
            return f"{d['task']} (built-in task, seed {d.get('seed')})" + (f": {params}" if params else "")
        if d.get("dataset"):
            return f"{d['dataset']} (UCR/UEA data set)"
        if d.get("path"):
            return f"{d['path']} (the user's files)"
        return f"arrays given at import (stored in {d.get('arrays')})"

    def sizes_text(self) -> str:
        s = self.sizes
        return (
            f"{s.get('n_train')} training / {s.get('n_test')} test sequences of {s.get('seq_len')} steps, "
            f"{s.get('input_size')} input channels, {s.get('n_classes')} classes"
        )

    def provenance_text(self) -> str:
        src = self.source
        where = f"from {src['file']} (SHA-256 {src.get('sha256')})" if src.get("file") else "from Python"
        return f"trained elsewhere; imported {where} on {self.created}"

    def accuracy_text(self) -> str:
        acc = self.accuracies
        return ", ".join(f"{split} {100 * acc[split]:.1f} %" for split in ("train", "test") if split in acc)

    def cli_lines(self, out: Path) -> list[str]:
        """What `rnnscope import` prints."""
        return [
            f"imported {self.model_text()} ({self.provenance_text()})",
            f"data: {self.data_text()}; {self.sizes_text()}",
            f"accuracy measured now: {self.accuracy_text()}",
            f"imported run: {out} "
            + (
                f"(next: rnnscope analyze {out}; rnnscope report {out})"
                if self.model.get("rebuild")
                else f"(recorded and analysed now; rnnscope report {out})"
            ),
        ]


def write_import_summary(path: str | Path, summary: ImportSummary) -> None:
    write_json(RunPaths(path).imported, summary.to_json())


def read_import_summary(path: str | Path) -> ImportSummary:
    """IMPORTED_DIR/imported.json, and every file it vouches for against its SHA-256."""
    paths = RunPaths(path)
    summary = ImportSummary.from_json(read_json(paths.imported, "import summary"), paths.imported)
    for name, digest in summary.files.items():
        if name not in (paths.model.name, paths.imported_data.name):
            raise RunFileError(f"import summary {paths.imported} is corrupt (it lists {name!r})")
        target = paths.root / name
        if not target.exists():
            raise RunFileError(f"{target} is missing; import the model again (rnnscope import)")
        if sha256(target) != digest:
            raise RunFileError(
                f"{target} is corrupt (its SHA-256 does not match {paths.imported.name}); "
                "import the model again (rnnscope import)"
            )
    return summary


def write_data_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """IMPORTED_DIR/data.safetensors: X_train (N, T, C) float32, y_train (N,) int64, lengths_train (N,),
    and the same for test."""
    data = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    atomic_write_bytes(RunPaths(path).imported_data, save_numpy(data, metadata={"format_version": "1"}))


def read_data_arrays(path: str | Path) -> dict[str, np.ndarray]:
    return read_arrays(RunPaths(path).imported_data, "imported data")


# ---- activity.json -------------------------------------------------------------------------------
@dataclass
class ActivitySummary:
    """ACTIVITY_DIR/activity.json."""

    source: dict  # {"file": str | None, "sha256": str | None, "format": npz | npy | safetensors | nwb |
    #               arrays, and for NWB: bin_ms, align, window, label_column, units, trials}
    sequences: int
    steps: int
    units: int
    given: list  # which optional arrays were given: labels, inputs, evidence, mask / lengths
    dt: float | None = None  # seconds per step, or None (then timescales are in steps only)
    class_names: list | None = None
    versions: dict = field(default_factory=dict)
    created: str | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict, path: Path | str | None = None) -> ActivitySummary:
        f = Fields(obj, "activity summary", path)
        return cls(
            f.get("source", dict),
            f.get("sequences", int),
            f.get("steps", int),
            f.get("units", int),
            f.get("given", list),
            f.get("dt", OPT_NUM, None),
            f.get("class_names", (list, type(None)), None),
            f.get("versions", dict, {}),
            f.get("created", (str, type(None)), None),
        )

    def source_text(self) -> str:
        src = self.source
        where = (
            f"{src['file']} (SHA-256 {src.get('sha256')})" if src.get("file") else "arrays given in Python"
        )
        if src.get("format") == "nwb":
            where += (
                f": spikes of {src.get('units')} units binned at {src.get('bin_ms')} ms in "
                f"{src.get('trials')} trials, window {src.get('window')} s around {src.get('align')}"
            )
        return where

    def sizes_text(self) -> str:
        dt = f", dt {self.dt:g} s" if self.dt is not None else ""
        given = ", ".join(self.given) or "activity only"
        return f"{self.sequences} trials × {self.steps} steps × {self.units} units{dt}; given: {given}"

    def cli_lines(self, out: Path) -> list[str]:
        """What `rnnscope activity` prints (before the role table)."""
        return [f"activity: {self.source_text()}", self.sizes_text(), f"activity directory: {out}"]


def write_activity_summary(path: str | Path, summary: ActivitySummary) -> None:
    write_json(RunPaths(path).activity, summary.to_json())


def read_activity_summary(path: str | Path) -> ActivitySummary:
    paths = RunPaths(path)
    return ActivitySummary.from_json(read_json(paths.activity, "activity summary"), paths.activity)


# ---- building a directory whole --------------------------------------------------------------------
def check_new_dir(out: str | Path, overwrite: bool, kind: str) -> Path:
    """`out` can receive a new `kind` directory (nothing written): new, empty, or (with overwrite) a
    directory of that kind. BadArgument otherwise."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BadArgument(f"output path {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        found = dir_kind(out)
        if found != kind:
            what = f"holds a {found} directory" if found else "is not empty"
            raise BadArgument(f"{out} {what}; choose an empty or new directory")
        if not overwrite:
            raise BadArgument(f"{out} already holds an {kind} directory; pass --overwrite to replace it")
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise BadArgument(f"output path {out} is not writable ({parent} is not a directory)")
    return out


def staging_dir(out: str | Path, prefix: str) -> Path:
    """A temporary directory next to `out` (its parents made) to build the new directory in."""
    out = Path(out)
    parent = out.absolute().parent
    made = not parent.exists()
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return temp_dir(parent, f".{out.name}.{prefix}-")
    except PermissionError as err:
        raise BadArgument(f"output path {out} is not writable ({err.strerror or err})") from None
    except OSError as err:
        if made:
            shutil.rmtree(parent, ignore_errors=True)
        if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise BadArgument(f"output path {out} is not writable ({err.strerror or err})") from None
        raise


def publish(staged: Path, out: str | Path) -> Path:
    """Move the finished `staged` directory to `out`, replacing what `out` held."""
    out = Path(out)
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    replace_directory(staged, out)
    return out
