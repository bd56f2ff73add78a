"""Binary files of a run directory: the analysis arrays, the gradient snapshots, the recording, figures.

Readers validate what they return and raise RunFileError naming the file. Key: E = snapshots,
T = steps.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file
from safetensors.numpy import save as save_numpy

from rnnscope.io import RunFileError, atomic_write_bytes, load_tensors, read_json
from rnnscope.recording.store import Recording
from rnnscope.rundir.layout import Figure, GradientPaths, RunPaths

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """A numpy safetensors file (floats as float32, integers as int64), format_version 1, atomically."""

    arrays = {
        k: np.ascontiguousarray(v, dtype=np.float32 if np.asarray(v).dtype.kind == "f" else np.int64)
        for k, v in arrays.items()
    }
    atomic_write_bytes(path, save_numpy(arrays, metadata={"format_version": "1"}))


def read_arrays(path: Path, what: str = "analysis arrays") -> dict[str, np.ndarray]:
    """{name: array} of a numpy safetensors file; RunFileError when missing or corrupt."""

    if not Path(path).exists():
        raise RunFileError(f"{what} {path} are missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise RunFileError(f"{what} {path} are corrupt ({err.__class__.__name__})") from None


@dataclass
class Snapshots:
    """The gradient profile at snapshots during training: epochs (E,), mean and std
    {"<quantity>/<layer>": (E, T)} (written by rnnscope.gradients.GradientSnapshots)."""

    epochs: np.ndarray
    mean: dict[str, np.ndarray]
    std: dict[str, np.ndarray]
    meta: dict


def read_snapshots(paths: GradientPaths) -> Snapshots | None:
    """RUN_DIR/gradients/through_training.*, or None when the run took no snapshots."""

    if not paths.snapshots_meta.exists():
        return None
    meta = read_json(paths.snapshots_meta, "gradient snapshots")
    names = meta.get("names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RunFileError(
            f"gradient snapshots {paths.snapshots_meta} are corrupt (names is not a list of names)"
        )
    t = load_tensors(paths.snapshots, "gradient snapshots")
    lacking = [k for k in ("epochs", *(f"{s}/{n}" for n in names for s in ("mean", "std"))) if k not in t]
    if lacking:
        raise RunFileError(f"gradient snapshots {paths.snapshots} are corrupt (no array {lacking[0]})")
    return Snapshots(
        t["epochs"].numpy(),
        {n: t[f"mean/{n}"].numpy() for n in names},
        {n: t[f"std/{n}"].numpy() for n in names},
        meta,
    )


def open_recording(paths: RunPaths):
    """RUN_DIR/recording as a validated rnnscope.recording.store.Recording, or None when there is none.

    The recording's own format (manifest + chunks) is defined by rnnscope.recording.store, which needs
    only numpy and safetensors."""
    if not paths.recording_manifest.exists():
        return None

    rec = Recording(paths.recording)
    rec.manifest  # noqa: B018  (validates now: a corrupt manifest fails here, not later)
    return rec


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of PNG bytes; ValueError when they are not a PNG."""
    if len(data) < 24 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", data[16:24])


def read_png(path: Path) -> bytes:
    """The bytes of a PNG file, checked to be a PNG; RunFileError naming it otherwise."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise RunFileError(f"figure {path} cannot be read ({err.__class__.__name__})") from None
    try:
        png_size(data)
    except ValueError:
        raise RunFileError(f"figure {path} is corrupt (not a PNG image)") from None
    return data


def figure_png(fig: Figure) -> Path | None:
    """The PNG of a figure, or None when it was not written."""
    return fig.png if fig.png.exists() else None
