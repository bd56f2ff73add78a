"""A recording on disk: a JSON manifest plus chunks of sequences in safetensors files (docs/recording.md).

    DIR/manifest.json                 format_version, kind "rnnscope-recording", n_sequences, steps,
                                      dtype, model, layers, quantities, source, arrays {name: {shape,
                                      dtype}}, chunks [{file, start, stop, bytes}]
    DIR/chunks/000000.safetensors     every array for sequences [start, stop), sequences first

`RecordingWriter` streams chunks into a temporary directory next to DIR and renames it into place on
`commit`; `Recording` reads the manifest lazily and returns whole arrays or any subset of sequences,
checking every chunk's size and shapes against the manifest. Only numpy and safetensors are needed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Self

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as save_numpy

from rnnscope.errors import BadArgument
from rnnscope.io import RunFileError, atomic_write_bytes, read_json, write_json

KIND = "rnnscope-recording"
MANIFEST = "manifest.json"
_ST_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64", "I64": "int64", "I32": "int32"}


def replace_directory(src: Path, dst: Path) -> None:
    """Move the finished directory src to dst (same file system), replacing whatever dst holds.

    Renames are atomic; a directory that exists is first renamed aside, then deleted, so dst always
    holds a complete old or a complete new directory (for an instant, neither)."""
    src, dst = Path(src), Path(dst)
    old = None
    if dst.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dst.name}.old-", dir=dst.parent))
        os.replace(dst, old / dst.name)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    fd = os.open(dst.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RecordingWriter:
    """Context manager that writes chunks of a new recording; nothing appears at `path` before `commit`.

    An exception inside the block (or leaving it without commit) removes the temporary directory."""

    def __init__(self, path: str | Path, overwrite: bool = False):
        self.path = Path(path)
        self.overwrite = overwrite
        self.tmp: Path | None = None
        self.chunks: list[dict] = []
        self.arrays: dict[str, tuple[str, tuple[int, ...]]] = {}
        self.n = 0

    def __enter__(self) -> Self:
        parent = self.path.parent
        if not parent.is_dir():
            raise BadArgument(f"cannot write recording {self.path}: {parent} is not a directory")
        if self.path.exists() and not self.overwrite:
            raise BadArgument(f"{self.path} already exists; pass overwrite=True to replace it")
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.tmp-", dir=parent))
        (self.tmp / "chunks").mkdir()
        return self

    def write(self, arrays: dict[str, np.ndarray]) -> None:
        """Append one chunk: every array has the chunk's sequences on axis 0."""
        if self.tmp is None:
            raise RuntimeError("RecordingWriter.write outside its `with` block")
        sizes = {a.shape[0] for a in arrays.values()}
        if len(sizes) != 1 or 0 in sizes:
            raise ValueError(
                f"every array of a chunk needs the same non-zero number of sequences, got {sizes}"
            )
        layout = {k: (str(v.dtype), tuple(v.shape[1:])) for k, v in arrays.items()}
        if not self.arrays:
            self.arrays = layout
        elif layout != self.arrays:
            raise ValueError(
                f"chunk {len(self.chunks)} does not match the first chunk's arrays, shapes or dtypes"
            )
        b = sizes.pop()
        name = f"chunks/{len(self.chunks):06d}.safetensors"
        data = save_numpy({k: np.ascontiguousarray(v) for k, v in arrays.items()})
        atomic_write_bytes(self.tmp / name, data)
        self.chunks.append({"file": name, "start": self.n, "stop": self.n + b, "bytes": len(data)})
        self.n += b

    def commit(self, meta: dict) -> Recording:
        """Write the manifest (meta plus layout) and move the directory into place; returns the reader."""
        if self.tmp is None:
            raise RuntimeError("RecordingWriter.commit outside its `with` block")
        if not self.chunks:
            raise ValueError("nothing was recorded (no chunk was written)")
        arrays = {k: {"shape": [self.n, *tail], "dtype": dt} for k, (dt, tail) in self.arrays.items()}
        write_json(
            self.tmp / MANIFEST,
            {"kind": KIND, **meta, "n_sequences": self.n, "arrays": arrays, "chunks": self.chunks},
        )
        if self.path.exists() and not self.overwrite:
            raise BadArgument(f"{self.path} appeared while recording; not replacing it")
        replace_directory(self.tmp, self.path)
        self.tmp = None
        return Recording(self.path)

    def __exit__(self, *exc) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


class Recording:
    """A recording directory. The manifest is read on first use; chunks only when their data are read.

    read(name, sequences) -> (S', ...) array; mask(sequences) -> (S', T') bool, True at valid steps."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @cached_property
    def manifest(self) -> dict:
        m = read_json(self.path / MANIFEST, "recording manifest")
        where = self.path / MANIFEST
        if m.get("kind") != KIND:
            raise RunFileError(f"{where} is not an rnnscope recording manifest")
        try:
            n = int(m["n_sequences"])
            arrays, chunks = m["arrays"], m["chunks"]
            for name, a in arrays.items():
                if not (isinstance(a["shape"], list) and a["shape"] and a["shape"][0] == n):
                    raise ValueError(f"array {name} has shape {a['shape']}, expected ({n}, ...)")
                if a["dtype"] not in _ST_DTYPES.values():
                    raise ValueError(f"array {name} has unknown dtype {a['dtype']!r}")
            edges = [0] + [c["stop"] for c in chunks]
            if (
                [c["start"] for c in chunks] != edges[:-1]
                or edges[-1] != n
                or any(c["stop"] <= c["start"] for c in chunks)
            ):
                raise ValueError(f"chunks do not cover sequences 0..{n - 1} in order")
            for key in ("lengths", "index"):
                if key not in arrays:
                    raise ValueError(f"array {key} is missing")
            steps = m["steps"]
            if not isinstance(steps, list) or not steps:
                raise ValueError("steps must be a non-empty list")
        except (KeyError, TypeError, ValueError) as err:
            raise RunFileError(f"recording manifest {where} is corrupt ({err})") from None
        return m

    # ---- layout ---------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self.manifest["arrays"])

    @property
    def n_sequences(self) -> int:
        return int(self.manifest["n_sequences"])

    @property
    def steps(self) -> np.ndarray:
        """(T',) the recorded step indices."""
        return np.asarray(self.manifest["steps"], dtype=np.int64)

    @property
    def model(self) -> dict:
        return self.manifest.get("model", {})

    @property
    def layers(self) -> list[int]:
        return list(self.manifest.get("layers", []))

    @property
    def source(self) -> dict:
        return self.manifest.get("source", {})

    def shape(self, name: str) -> tuple[int, ...]:
        self._check_name(name)
        return tuple(self.manifest["arrays"][name]["shape"])

    def __contains__(self, name: str) -> bool:
        return name in self.manifest["arrays"]

    def __repr__(self) -> str:
        return f"Recording({str(self.path)!r}, {self.n_sequences} sequences, {len(self.steps)} steps)"

    # ---- reading --------------------------------------------------------------------------
    def read(self, name: str, sequences=None, dtype=None) -> np.ndarray:
        """Array `name` for sequences (None: all; a slice; or an index array), shape (S', ...)."""
        self._check_name(name)
        idx = self._indices(sequences)
        spec = self.manifest["arrays"][name]
        out = np.empty((len(idx), *spec["shape"][1:]), dtype=dtype or spec["dtype"])
        for i, chunk in enumerate(self.manifest["chunks"]):
            start, stop = chunk["start"], chunk["stop"]
            pos = np.flatnonzero((idx >= start) & (idx < stop))
            if len(pos) == 0:
                continue
            lo, hi = int(idx[pos].min()), int(idx[pos].max()) + 1
            with self._open(i) as f:
                part = self._slice(f, i, name)[lo - start : hi - start]
            out[pos] = part[idx[pos] - lo]
        return out

    def __getitem__(self, name: str) -> np.ndarray:
        return self.read(name)

    def lengths(self, sequences=None) -> np.ndarray:
        return self.read("lengths", sequences)

    def mask(self, sequences=None) -> np.ndarray:
        """(S', T') bool: True where the recorded step lies before the sequence's length."""
        return self.steps[None, :] < self.lengths(sequences)[:, None]

    def iter_chunks(self, names: list[str] | None = None) -> Iterator[tuple[slice, dict[str, np.ndarray]]]:
        """(sequences of the chunk, {name: array}) one chunk at a time, in order."""
        names = self.names if names is None else list(names)
        for name in names:
            self._check_name(name)
        for i, chunk in enumerate(self.manifest["chunks"]):
            with self._open(i) as f:
                yield slice(chunk["start"], chunk["stop"]), {n: self._slice(f, i, n)[:] for n in names}

    def verify(self) -> Recording:
        """Check every chunk file (present, size, every array's shape and dtype); returns self."""
        for i in range(len(self.manifest["chunks"])):
            with self._open(i) as f:
                for name in self.names:
                    self._slice(f, i, name)
        return self

    # ---- internals ------------------------------------------------------------------------
    def _check_name(self, name: str) -> None:
        if name not in self.manifest["arrays"]:
            raise BadArgument(f"recording {self.path} has no array {name!r}; it has {', '.join(self.names)}")

    def _indices(self, sequences) -> np.ndarray:
        n = self.n_sequences
        if sequences is None:
            return np.arange(n)
        if isinstance(sequences, slice):
            return np.arange(n)[sequences]
        idx = np.asarray(sequences)
        if idx.ndim != 1 or not (np.issubdtype(idx.dtype, np.integer) or idx.size == 0):
            raise BadArgument(f"sequences must be a slice or a 1-D integer array, got shape {idx.shape}")
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise BadArgument(f"sequences must lie in [0, {n}), got {int(idx.min())}..{int(idx.max())}")
        return np.where(idx < 0, idx + n, idx).astype(np.int64)

    def _open(self, i: int):
        chunk = self.manifest["chunks"][i]
        path = self.path / chunk["file"]
        span = f"sequences {chunk['start']}..{chunk['stop'] - 1}"
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise RunFileError(
                f"recording {self.path}: chunk {chunk['file']} ({span}) is missing; "
                "record again (rnnscope record RUN_DIR)"
            ) from None
        if size != chunk["bytes"]:
            raise RunFileError(
                f"recording {self.path}: chunk {chunk['file']} ({span}) has {size} bytes, the "
                f"manifest says {chunk['bytes']} (truncated or replaced)"
            )
        try:
            return safe_open(str(path), framework="np")
        except (SafetensorError, OSError) as err:
            raise RunFileError(f"recording {self.path}: chunk {chunk['file']} is corrupt ({err})") from None

    def _slice(self, f, i: int, name: str):
        chunk = self.manifest["chunks"][i]
        spec = self.manifest["arrays"][name]
        if name not in f.keys():
            raise RunFileError(f"recording {self.path}: chunk {chunk['file']} has no array {name}")
        s = f.get_slice(name)
        expected = [chunk["stop"] - chunk["start"], *spec["shape"][1:]]
        if list(s.get_shape()) != expected or _ST_DTYPES.get(s.get_dtype()) != spec["dtype"]:
            raise RunFileError(
                f"recording {self.path}: array {name} in chunk {chunk['file']} has shape "
                f"{tuple(s.get_shape())} ({s.get_dtype()}), expected {tuple(expected)} "
                f"({spec['dtype']}) per the manifest"
            )
        return s
