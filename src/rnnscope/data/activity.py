"""Recorded activity (trials x time x units) from arrays or files, validated: what `rnnscope activity` reads.

    data = activity_arrays(activity, labels=labels, mask=mask)     # arrays, checked
    data = read_activity_file("session.npz")                       # .npz, .npy, .safetensors

A file holds `activity` (S, T, U), or (T, U) for one trial, and optionally `labels` (S,), `inputs`
(S, T, C), `evidence` (S, T) or (S, T, E), and `lengths` (S,) or `mask` (S, T) (True at valid steps: the
first lengths[s] steps of each trial). A `.npy` holds the activity alone. Files are read without running
code (`np.load(allow_pickle=False)`, safetensors). NWB files: rnnscope.data.nwb.

Values at steps past a trial's length are ignored (set to 0); a NaN or infinite value at a valid step is
refused, naming where it is (give `mask` or `lengths` to mark it invalid). Bad input raises BadArgument
(arrays) or BadFile (files), one line each.

Key: S = trials (sequences), T = steps, U = units, C = input channels, E = evidence signals.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file

from rnnscope.errors import BadArgument, BadFile

ARRAY_KEYS = ("activity", "labels", "inputs", "evidence", "lengths", "mask")
SUFFIXES = (".npz", ".npy", ".safetensors", ".nwb")


@dataclass
class ActivityData:
    """activity (S, T, U) float32, 0 past each trial's length; lengths (S,) int64; labels (S,) int64 class
    indices into class_names, or None; inputs (S, T, C), evidence (S, T, E) float32 or None; source:
    where it came from (for activity.json)."""

    activity: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray | None = None
    class_names: list[str] | None = None
    inputs: np.ndarray | None = None
    evidence: np.ndarray | None = None
    given: list[str] = field(default_factory=list)
    source: dict = field(default_factory=dict)

    @property
    def mask(self) -> np.ndarray:
        """(S, T) bool, True at valid steps."""
        return np.arange(self.activity.shape[1])[None, :] < self.lengths[:, None]


def _numeric(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
        raise BadArgument(f"{name} must hold numbers, got dtype {a.dtype}")
    return a


def _lengths(s: int, t: int, mask, lengths) -> np.ndarray:
    if mask is not None and lengths is not None:
        raise BadArgument("give mask or lengths, not both")
    if lengths is not None:
        n = _numeric(lengths, "lengths")
        if n.shape != (s,) or not np.all(n == np.round(n)):
            raise BadArgument(f"lengths must be {s} whole numbers (one per trial), got shape {n.shape}")
        n = n.astype(np.int64)
        if n.min() < 1 or n.max() > t:
            raise BadArgument(f"lengths must lie in [1, {t}], got {int(n.min())}..{int(n.max())}")
        return n
    if mask is None:
        return np.full(s, t, dtype=np.int64)
    m = _numeric(mask, "mask")
    if m.shape != (s, t):
        raise BadArgument(f"mask must have shape (trials, steps) = {(s, t)}, got {m.shape}")
    if not np.isin(m, (0, 1)).all():
        raise BadArgument("mask must hold booleans (or 0 / 1)")
    m = m.astype(bool)
    n = m.sum(axis=1).astype(np.int64)
    if (n == 0).any():
        raise BadArgument(f"mask marks no valid step in trial {int(np.flatnonzero(n == 0)[0])}")
    if not np.array_equal(m, np.arange(t)[None, :] < n[:, None]):
        bad = int(np.flatnonzero((m != (np.arange(t)[None, :] < n[:, None])).any(axis=1))[0])
        raise BadArgument(
            f"mask must mark the first steps of each trial valid and the rest invalid (trials of different "
            f"lengths); trial {bad} has a gap"
        )
    return n


def _finite_where_valid(a: np.ndarray, name: str, valid: np.ndarray) -> np.ndarray:
    """a (S, T, ...) as float32 with 0 at invalid steps; BadArgument for NaN / inf at a valid step."""
    a = a.astype(np.float64)
    bad = ~np.isfinite(a) & valid.reshape(valid.shape + (1,) * (a.ndim - 2))
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        what = "NaN" if np.isnan(a[where]) else "an infinite value"
        raise BadArgument(
            f"{name} holds {what} at a valid step ({int(bad.sum())} values; first at trial {where[0]}, "
            f"step {where[1]}" + (f", column {where[2]}" if len(where) > 2 else "") + "): mark such steps "
            "invalid with mask or lengths"
        )
    a[~np.broadcast_to(valid.reshape(valid.shape + (1,) * (a.ndim - 2)), a.shape)] = 0.0
    return a.astype(np.float32)


def activity_arrays(
    activity,
    *,
    labels=None,
    inputs=None,
    evidence=None,
    mask=None,
    lengths=None,
    class_names: list[str] | None = None,
) -> ActivityData:
    """Validate recorded activity and its companions (see the module docstring) -> ActivityData."""
    a = _numeric(activity, "activity")
    if a.ndim == 2:  # one trial: its companions come without the trial axis too
        a = a[None]
        mask, inputs, evidence = (
            None if v is None else np.asarray(v)[None] for v in (mask, inputs, evidence)
        )
    if a.ndim != 3 or 0 in a.shape:
        raise BadArgument(f"activity must have shape (trials, steps, units) or (steps, units), got {a.shape}")
    s, t, _ = a.shape
    n = _lengths(s, t, mask, lengths)
    valid = np.arange(t)[None, :] < n[:, None]
    data = ActivityData(_finite_where_valid(a, "activity", valid), n)
    data.given = [k for k, v in (("mask", mask), ("lengths", lengths)) if v is not None]
    if labels is not None:
        lab = np.asarray(labels)
        if lab.ndim != 1 or len(lab) != s:
            raise BadArgument(f"labels must have one entry per trial: {s} trials, got shape {lab.shape}")
        if lab.dtype.kind not in "iuUSb" and not (lab.dtype.kind == "f" and np.all(lab == np.round(lab))):
            raise BadArgument(f"labels must be class indices or names, got dtype {lab.dtype}")
        values, data.labels = np.unique(lab, return_inverse=True)
        data.labels = data.labels.astype(np.int64)
        data.class_names = list(class_names) if class_names is not None else [str(v) for v in values]
        if class_names is not None and len(class_names) < len(values):
            raise BadArgument(f"class_names names {len(class_names)} classes; the labels hold {len(values)}")
        data.given.append("labels")
    for name, value in (("inputs", inputs), ("evidence", evidence)):
        if value is None:
            continue
        v = _numeric(value, name)
        v = v[:, :, None] if v.ndim == 2 else v
        if v.ndim != 3 or v.shape[:2] != (s, t):
            raise BadArgument(f"{name} must have shape (trials, steps, ...) = ({s}, {t}, ...), got {v.shape}")
        setattr(data, name, _finite_where_valid(v, name, valid))
        data.given.append(name)
    return data


def read_activity_file(path: str | Path) -> ActivityData:
    """ActivityData from a `.npz`, `.npy` or `.safetensors` file (NWB: rnnscope.data.nwb.read_nwb)."""
    path = Path(path)
    if not path.is_file():
        raise BadFile(f"activity file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES[:3]:
        raise BadFile(
            f"activity file {path}: unknown format {suffix or '(no suffix)'}; give one of {SUFFIXES}"
        )
    try:
        if suffix == ".npy":
            arrays = {"activity": np.load(path, allow_pickle=False)}
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files if k in ARRAY_KEYS}
                found = list(z.files)
        else:
            try:
                full = load_file(str(path))
            except SafetensorError as err:
                raise ValueError(str(err)) from None
            arrays = {k: v for k, v in full.items() if k in ARRAY_KEYS}
            found = list(full)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0][:160]
        raise BadFile(f"activity file {path} cannot be read ({first})") from None
    if "activity" not in arrays:
        raise BadFile(f"activity file {path} has no array 'activity' (it has: {', '.join(found) or 'none'})")
    try:
        data = activity_arrays(**arrays)
    except BadArgument as err:
        raise BadFile(f"activity file {path}: {err}") from None
    data.source = {"format": suffix.lstrip(".")}
    return data
