"""Probes of a network's own dynamics through the model protocol: free runs with the input removed.

`free_runs` steps a model over real sequences up to a start step, then on with the input clamped (to zero
by default: "the input removed"), and returns every layer's h over the free steps. What the network does
there is its own doing: a rhythm that goes on, a value that is held, a state that relaxes. The measures
are `rnnscope.analysis.freerun` (pure arrays); the role rule uses them (docs/analysis.md).

Only `init_state`, `step` and `layer_states` are used, in float64 on a copy of the model (the caller's model
is not touched), so any recurrent protocol model can be probed. A model without a fixed-size recurrent
state (the causal Transformer) has no free run in this sense: `free_runs` returns None and the criteria
that need it are reported absent.

Key: B = sequences, T = steps, C = channels, F = free steps, U_l = units of layer l.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rnnscope.analysis import FreeRunMeasures, ImpulseResponse, RoleThresholds, free_run_measures
from rnnscope.errors import BadArgument
from rnnscope.models.protocol import float64_copy, is_recurrent, model_device
from rnnscope.recording.impulse import model_impulse

__all__ = ["Dynamics", "free_runs", "probe_dynamics"]

FREE_STEPS = 60  # free steps per run: >= 3 x tau_long (10), and 2 cycles of rhythms up to 30 steps long


def free_runs(
    model, x: np.ndarray, *, start: int, steps: int = FREE_STEPS, clamp: np.ndarray | None = None
) -> dict[int, np.ndarray] | None:
    """{layer: h (B, steps + 1, U_l)} from free runs of `model`: x (B, T, C) drives steps 0..start-1, then
    `steps` more steps take the input `clamp` (C,) (default zeros). Lag 0 is the state after step start-1.
    Returns None for a model without a recurrent state (docs/models.md)."""
    if not is_recurrent(model):
        return None
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or 0 in x.shape:
        raise BadArgument(f"x must have shape (sequences, time, channels), got {x.shape}")
    b, t, c = x.shape
    if not 1 <= start <= t:
        raise BadArgument(f"start must be in [1, {t}], got {start}")
    if steps < 1:
        raise BadArgument(f"steps must be positive, got {steps}")
    level = np.zeros(c) if clamp is None else np.asarray(clamp, dtype=np.float64)
    if level.shape != (c,):
        raise BadArgument(f"clamp must have shape (channels,) = ({c},), got {level.shape}")
    m = float64_copy(model)
    device, dtype = model_device(m)
    xs = torch.as_tensor(x, dtype=dtype, device=device)
    held = torch.as_tensor(np.broadcast_to(level, (b, c)).copy(), dtype=dtype, device=device)
    out: list[list[np.ndarray]] = []
    with torch.no_grad():
        state = m.init_state(b, device=device, dtype=dtype)
        for k in range(start):
            state = m.step(xs[:, k], state)
        for k in range(steps + 1):
            if k:
                state = m.step(held, state)
            layers = [parts["h"].detach().cpu().numpy().astype(np.float64) for parts in m.layer_states(state)]
            out.append(layers)
    return {layer: np.stack([o[layer] for o in out], axis=1) for layer in range(len(out[0]))}


@dataclass(frozen=True)
class Dynamics:
    """What a model does by itself, per layer: free: {layer: FreeRunMeasures}; impulse: {layer:
    ImpulseResponse} (deviation (L, U_l)); settings: sequences, start (the free runs' start step),
    free_steps, at (the impulse's step), lags (L), clamp."""

    free: dict[int, FreeRunMeasures]
    impulse: dict[int, ImpulseResponse]
    settings: dict


def probe_dynamics(
    model, x: np.ndarray, *, free_steps: int = FREE_STEPS, thresholds: RoleThresholds | None = None
) -> Dynamics | None:
    """Free runs from step T // 2 and the impulse response to a nudge at step T // 4 of x (B, T, C)
    (sequences of one length: pass the first T valid steps of each); None for a model without a
    recurrent state. Needs T >= 8 and B >= 3."""
    if not is_recurrent(model):
        return None
    x = np.asarray(x, dtype=np.float64)
    b, t, _c = x.shape
    if t < 8 or b < 3:
        raise BadArgument(f"probing a model needs at least 3 sequences of 8 steps, got {x.shape[:2]}")
    th = RoleThresholds() if thresholds is None else thresholds
    runs = free_runs(model, x, start=t // 2, steps=free_steps)
    free = {
        layer: free_run_measures(
            h,
            bound=th.saturation_bound,
            silent_std=th.silent_std,
            min_trough=th.min_trough,
            min_rebound=th.min_rebound,
        )
        for layer, h in runs.items()
    }
    impulse = model_impulse(model, x, at=t // 4)
    settings = {
        "sequences": b,
        "start": t // 2,
        "free_steps": free_steps,
        "at": t // 4,
        "lags": t - t // 4,
        "clamp": "zero",
    }
    return Dynamics(free, impulse, settings)
