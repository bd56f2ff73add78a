"""Impulse response: nudge the input at one step and measure how long each unit's deviation lasts.

Key: B = sequences, T = time steps, C = input channels, U = units, L = T - at (lags 0..L-1 after the nudge).

The system is given only through its step function, so any model (or any simulator) can be probed:

    step(x_t, state) -> (state, h_t)      x_t (B, C) numpy array, h_t (B, U) array-like

`state` is opaque here: it is passed back unchanged in structure and never inspected, so it may be a
torch tensor, a tuple (h, c), or anything else. Wrap a torch cell as
`lambda x, s: (lambda n: (n, n.numpy()))(cell(torch.as_tensor(x), s))` or similar; this module needs
no torch.

The run is done twice from state0: once on x, once on x with eps * direction added at step `at`. The
deviation of unit u at lag k is mean over sequences of |h'[at + k] - h[at + k]| / eps (a gain: for
small eps it is the absolute linear response). Memory length is the lag, counted from the nudge,
where the deviation falls below `frac` of its peak for the first time after the peak, interpolated
log-linearly between the two steps around the crossing: for h_t = a h_{t-1} + x_t it is
ln(1/frac) / (-ln a) exactly, i.e. -1 / ln a for frac = 1/e. It is inf if the deviation never falls
that low within the sequence and 0 for a unit the nudge does not reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnscope.errors import BadArgument

StepFn = Callable[[np.ndarray, Any], tuple[Any, Any]]


@dataclass(frozen=True)
class ImpulseResponse:
    """deviation (L, U): mean |h' - h| / eps at lags 0..L-1 after the nudge; peak (U,): its maximum;
    peak_lag (U,): the lag of the maximum; memory (U,): memory length in steps (see module docstring)."""

    deviation: np.ndarray
    peak: np.ndarray
    peak_lag: np.ndarray
    memory: np.ndarray


def impulse_response(
    step: StepFn,
    x: np.ndarray,
    state0: Any,
    *,
    at: int,
    eps: float = 1e-3,
    direction: np.ndarray | None = None,
    frac: float = float(np.exp(-1.0)),
) -> ImpulseResponse:
    """Response of every unit to a nudge of the input x (B, T, C) at step `at`.

    direction: (C,) the direction of the nudge (normalised to unit length); default all channels
    equally, ones(C) / sqrt(C). frac: the fraction of the peak that ends the memory (default 1/e).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or 0 in x.shape:
        raise BadArgument(f"x must have shape (sequences, time, channels), got {x.shape}")
    _b, t, c = x.shape
    if not 0 <= at < t:
        raise BadArgument(f"at must be a step of x, in [0, {t - 1}], got {at}")
    if not eps > 0:
        raise BadArgument(f"eps must be positive, got {eps}")
    if not 0 < frac < 1:
        raise BadArgument(f"frac must be in (0, 1), got {frac}")
    if not np.isfinite(x).all():
        raise BadArgument("x contains NaN or inf")
    d = np.ones(c) if direction is None else np.asarray(direction, dtype=np.float64)
    if d.shape != (c,) or not np.linalg.norm(d) > 0:
        raise BadArgument(f"direction must be a non-zero vector of shape (channels,) = ({c},), got {d.shape}")
    nudged = x.copy()
    nudged[:, at] += eps * d / np.linalg.norm(d)
    h = _run(step, x, state0, at)
    h_nudged = _run(step, nudged, state0, at)
    deviation = np.abs(h_nudged - h).mean(axis=0) / eps  # (L, U)
    return ImpulseResponse(deviation, *memory_length(deviation, frac=frac))


def memory_length(deviation: np.ndarray, *, frac: float = float(np.exp(-1.0))) -> tuple[np.ndarray, ...]:
    """From deviation (L, U) (lag 0 = the nudged step): peak (U,), peak_lag (U,), memory (U,) in steps."""
    dev = np.asarray(deviation, dtype=np.float64)
    if dev.ndim != 2 or dev.shape[0] == 0:
        raise BadArgument(f"deviation must have shape (lags, units), got {dev.shape}")
    _n_lags, u = dev.shape
    peak_lag = np.argmax(dev, axis=0)
    peak = dev[peak_lag, np.arange(u)]
    memory = np.zeros(u)
    for j in range(u):
        if not peak[j] > 0:
            continue
        level = frac * peak[j]
        after = np.flatnonzero(dev[peak_lag[j] :, j] < level)
        if len(after) == 0:
            memory[j] = np.inf
            continue
        k = peak_lag[j] + after[0]  # first lag below the level; k - 1 is still at or above it
        hi, lo = dev[k - 1, j], dev[k, j]
        if lo > 0:
            memory[j] = k - 1 + np.log(hi / level) / np.log(hi / lo)
        else:
            memory[j] = k - 1 + (hi - level) / hi  # the deviation vanished: interpolate linearly
    return peak, peak_lag, memory


def _run(step: StepFn, x: np.ndarray, state: Any, at: int) -> np.ndarray:
    """h (B, T - at, U) from stepping through x (B, T, C), kept from step `at` on."""
    out = []
    for t in range(x.shape[1]):
        state, h_t = step(x[:, t], state)
        if t >= at:
            h_t = np.asarray(h_t, dtype=np.float64)
            if h_t.ndim != 2 or h_t.shape[0] != x.shape[0]:
                raise BadArgument(f"step must return h_t of shape (sequences, units), got {h_t.shape}")
            out.append(h_t)
    return np.stack(out, axis=1)
