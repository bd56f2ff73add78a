"""Per-unit activity statistics, and the input checks every analysis module shares.

Key: S = sequences, T = time steps (padded), U = units, C = input channels.
Arrays: h (S, T, U) activity; mask (S, T) bool, True where a step is valid (padding is False).

Every statistic pools all valid steps of all sequences. Values at padded steps are never read, so
they may hold anything, NaN included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope.errors import BadArgument

# How many float64 values one chunk of an (S, T, U) computation may hold (about 64 MB).
CHUNK_VALUES = 1 << 23


@dataclass(frozen=True)
class ActivityStats:
    """Per-unit statistics over valid steps; every array is (U,).

    mean: mean of h.  std: standard deviation of h (ddof=0).
    saturation: fraction of valid steps with |h| > bound.  silent: std < silent_std.
    """

    mean: np.ndarray
    std: np.ndarray
    saturation: np.ndarray
    silent: np.ndarray


def activity_stats(
    h: np.ndarray, mask: np.ndarray | None = None, *, bound: float = 0.95, silent_std: float = 1e-3
) -> ActivityStats:
    """Mean, std, saturation and silence of each unit of h (S, T, U), pooled over valid steps.

    bound: |h| above it counts as saturated (0.95 suits tanh units, whose bound is 1).
    silent_std: a unit whose std is below it is silent (in the units of h).
    """
    if not bound > 0:
        raise BadArgument(f"bound must be positive, got {bound}")
    if not silent_std >= 0:
        raise BadArgument(f"silent_std must be non-negative, got {silent_std}")
    h, mask = check_activity(h, mask)
    n = mask.sum()
    mean = h.sum(axis=(0, 1)) / n
    var = np.zeros_like(mean)
    for sl in sequence_chunks(h.shape[0], h.shape[1] * h.shape[2]):
        d = np.where(mask[sl, :, None], h[sl] - mean, 0.0)
        var += np.einsum("stu,stu->u", d, d)
    var /= n
    std = np.sqrt(var)
    saturation = ((np.abs(h) > bound) & mask[:, :, None]).sum(axis=(0, 1)) / n
    return ActivityStats(mean=mean, std=std, saturation=saturation, silent=std < silent_std)


def check_activity(
    h: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    min_sequences: int = 1,
    min_steps: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate activity h (S, T, U) and its mask (S, T); return float64 h, zero at padded steps, and mask.

    Raises ValueError naming the array: wrong shape, NaN or inf at a valid step, a sequence without
    valid steps, fewer than min_sequences sequences or fewer than min_steps valid steps in the longest
    sequence.
    """
    h = np.asarray(h)
    if h.ndim != 3:
        raise BadArgument(f"h must have shape (sequences, time, units), got {h.shape}")
    if not (np.issubdtype(h.dtype, np.floating) or np.issubdtype(h.dtype, np.integer)):
        raise BadArgument(f"h must hold real numbers, got dtype {h.dtype}")
    s, t, u = h.shape
    if u == 0:
        raise BadArgument(f"h must have at least one unit, got shape {h.shape}")
    if mask is None:
        mask = np.ones((s, t), dtype=bool)
    else:
        mask = np.asarray(mask)
        if mask.shape != (s, t):
            raise BadArgument(
                f"mask must have shape (sequences, time) = {(s, t)} to match h, got {mask.shape}"
            )
        if mask.dtype != bool:
            if not np.isin(mask, (0, 1)).all():
                raise BadArgument("mask must be boolean (True = valid step)")
            mask = mask.astype(bool)
    if s < min_sequences:
        raise BadArgument(f"h needs at least {min_sequences} sequences for this estimator, got {s}")
    lengths = mask.sum(axis=1)
    if s and lengths.min() == 0:
        raise BadArgument(
            f"mask has sequences with no valid step: {np.flatnonzero(lengths == 0)[:5].tolist()}"
        )
    if s == 0 or lengths.max() < min_steps:
        longest = int(lengths.max()) if s else 0
        raise BadArgument(f"h needs at least {min_steps} valid steps for this estimator, got {longest}")
    if not mask.all():
        h = np.where(mask[:, :, None], h, 0)
    h = h.astype(np.float64, copy=False)
    _check_finite(h, "h")
    return h, mask


def check_aligned(x: np.ndarray, name: str, mask: np.ndarray, what: str) -> np.ndarray:
    """Validate x (S, T) or (S, T, K) aligned with mask (S, T); return float64 (S, T, K), zero at padding.

    what: the name of the last axis in error messages, e.g. "channels".
    """
    x = np.asarray(x)
    s, t = mask.shape
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or x.shape[:2] != (s, t) or x.shape[2] == 0:
        raise BadArgument(
            f"{name} must have shape (sequences, time, {what}) with (S, T) = {(s, t)}, got {x.shape}"
        )
    x = np.where(mask[:, :, None], x, 0.0).astype(np.float64, copy=False)
    _check_finite(x, name)
    return x


def check_labels(labels: np.ndarray, n_sequences: int, *, min_per_class: int = 2) -> np.ndarray:
    """Validate class labels (S,); return them as consecutive integers 0..K-1 (K >= 2)."""
    labels = np.asarray(labels)
    if labels.shape != (n_sequences,):
        raise BadArgument(f"labels must have shape (sequences,) = ({n_sequences},), got {labels.shape}")
    classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(classes) < 2:
        raise BadArgument(f"labels must contain at least 2 classes, got {len(classes)}")
    if counts.min() < min_per_class:
        raise BadArgument(
            f"labels need at least {min_per_class} sequences per class, got counts {counts.tolist()}"
        )
    return codes.reshape(n_sequences)


def sequence_chunks(n_sequences: int, values_per_sequence: int):
    """Slices over sequences so that one chunk holds about CHUNK_VALUES values."""
    step = max(1, CHUNK_VALUES // max(1, values_per_sequence))
    return [slice(i, min(i + step, n_sequences)) for i in range(0, n_sequences, step)]


def _check_finite(x: np.ndarray, name: str) -> None:
    if np.isfinite(np.sum(x)):
        return
    if np.isnan(x).any():
        raise BadArgument(f"{name} contains NaN at valid steps")
    raise BadArgument(f"{name} contains inf at valid steps (or values too large to sum)")
