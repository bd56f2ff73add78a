"""Save and load a results container: named batch-first numpy arrays in one safetensors file, with the
container's kind and its JSON metadata in the file's safetensors metadata (no pickle, written atomically).

Complex arrays are stored as two real arrays, NAME.real and NAME.imag.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from rnnscope.io import FORMAT_VERSION, RunFileError, dumps, load_tensors, loads, save_tensors


def save_arrays(path: str | Path, kind: str, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write `arrays` (name -> array) and `meta` (JSON-serialisable) to `path` as container `kind`."""
    tensors = {}
    for name, value in arrays.items():
        value = np.asarray(value)
        if np.iscomplexobj(value):
            tensors[f"{name}.real"] = torch.from_numpy(np.ascontiguousarray(value.real))
            tensors[f"{name}.imag"] = torch.from_numpy(np.ascontiguousarray(value.imag))
        else:
            tensors[name] = torch.from_numpy(np.ascontiguousarray(value))
    header = {"format_version": str(FORMAT_VERSION), "kind": kind, "meta": dumps(meta)}
    save_tensors(path, tensors, header)


def load_arrays(path: str | Path, kind: str) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and metadata `save_arrays` wrote; RunFileError when the file is not a `kind` container."""

    tensors = load_tensors(path, what=f"{kind} file")
    with safe_open(str(path), framework="pt") as f:
        header = f.metadata() or {}
    if header.get("kind") != kind:
        raise RunFileError(
            f"{kind} file {path} holds {header.get('kind') or 'no rnnscope container'}, not {kind}"
        )
    try:
        meta = loads(header["meta"])
    except (KeyError, json.JSONDecodeError):
        raise RunFileError(f"{kind} file {path} is corrupt (its metadata is not JSON)") from None
    arrays: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        base, _, part = name.rpartition(".")
        if part == "real" and f"{base}.imag" in tensors:
            arrays[base] = value.numpy() + 1j * tensors[f"{base}.imag"].numpy()
        elif not (part == "imag" and f"{base}.real" in tensors):
            arrays[name] = value.numpy()
    return arrays, meta
