"""What fixed points and Lyapunov spectra take from data: trajectories, starts and constant inputs.

Key: B = sequences, T = steps, C = input channels, D = state size, M = recorded states, K = classes.
"""

from __future__ import annotations

import numpy as np

from rnnscope.dynamics.system import StepMap
from rnnscope.errors import BadArgument
from rnnscope.models.protocol import state_vector

INPUT_MODES = ("zero", "mean", "class-mean")


def as_inputs(x, model=None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise BadArgument(f"data x must have shape (B, T, C), got {x.shape}")
    if model is not None and x.shape[2] != model.input_size:
        raise BadArgument(f"data x has {x.shape[2]} input channels, the model takes {model.input_size}")
    return x


def valid_steps(x: np.ndarray, lengths) -> np.ndarray:
    """(B, T) bool: steps inside each sequence."""
    b, t = x.shape[:2]
    if lengths is None:
        return np.ones((b, t), dtype=bool)
    lengths = np.asarray(lengths)
    if lengths.shape != (b,):
        raise BadArgument(f"lengths must have shape ({b},), got {lengths.shape}")
    return np.arange(t)[None, :] < lengths[:, None]


def state_trajectories(model, x, lengths=None, initial=None) -> np.ndarray:
    """The model's whole state after every step: x (B, T, C) -> (B, T, D) float64, NaN past each length.

    Starts from `model.init_state` (or `initial` (B, D)); steps a float64 copy of the model.
    """
    fmap = StepMap(model)
    x = as_inputs(x, model)
    b, t, _ = x.shape
    valid = valid_steps(x, lengths)
    if initial is None:
        init = fmap.model.init_state(b, fmap.device, fmap.dtype)
        v = state_vector(fmap.model, init).to(fmap.dtype)
    else:
        v = fmap.tensor(initial)
    xt = fmap.tensor(x)
    out = np.empty((b, t, fmap.D))
    for s in range(t):
        v = fmap.step(v, xt[:, s])
        out[:, s] = v.cpu().numpy()
    out[~valid] = np.nan
    return out


def recorded_states(trajectories: np.ndarray) -> np.ndarray:
    """Every valid (finite) state of (B, T, D) trajectories as (M, D)."""
    flat = trajectories.reshape(-1, trajectories.shape[-1])
    return flat[np.isfinite(flat).all(axis=1)]


def sample_starts(states: np.ndarray, n: int, noise_std: float = 0.5, seed: int = 0) -> np.ndarray:
    """n starts (n, D): recorded states (M, D) drawn with replacement plus Gaussian noise (std noise_std)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise BadArgument(f"the number of starts must be a positive integer, got {n!r}")
    if not (np.isfinite(noise_std) and noise_std >= 0):
        raise BadArgument(f"the starts' noise std must be finite and >= 0, got {noise_std!r}")
    states = np.asarray(states, dtype=np.float64)
    if states.ndim != 2 or len(states) == 0:
        raise BadArgument(f"recorded states must have shape (M, D) with M >= 1, got {states.shape}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(len(states), size=n)
    return states[idx] + noise_std * rng.standard_normal((n, states.shape[1]))


def input_from_data(x, lengths=None, labels=None, mode: str = "mean") -> np.ndarray:
    """A constant input from data x (B, T, C): "zero" -> (C,) zeros; "mean" -> (C,) the mean input over
    every valid step; "class-mean" -> (K, C) each class's mean input (NaN rows for absent classes)."""
    x = as_inputs(x)
    if mode not in INPUT_MODES:
        raise BadArgument(
            f"unknown input mode {mode!r}; choose from {', '.join(INPUT_MODES)} "
            "or give a constant input array"
        )
    if mode == "zero":
        return np.zeros(x.shape[2])
    valid = valid_steps(x, lengths)
    if mode == "mean":
        return x[valid].mean(axis=0)
    if labels is None:
        raise BadArgument("input mode 'class-mean' needs the data's labels")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (x.shape[0],):
        raise BadArgument(f"labels must have shape ({x.shape[0]},), got {labels.shape}")
    k = int(labels.max()) + 1
    out = np.full((k, x.shape[2]), np.nan)
    for c in range(k):
        rows = labels == c
        if rows.any():
            out[c] = x[rows][valid[rows]].mean(axis=0)
    return out
