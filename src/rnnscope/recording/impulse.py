"""The impulse probe of a model: how long each unit remembers a nudge of the input, through the protocol.

`model_impulse` nudges the input at one step and follows every layer's units in float64 on a copy of
the model: a recurrent protocol model through `step` and `layer_states` (each layer's h), a model with
residual streams (the Transformer) through `step_with_streams` (each block's output stream). The
arithmetic of the response is `rnnscope.analysis.impulse`.

Key: B = sequences, T = steps, C = channels, U_l = units of layer l (H_l, or the Transformer's width D).
"""

from __future__ import annotations

import numpy as np
import torch

from rnnscope.analysis import ImpulseResponse, impulse_response, memory_length
from rnnscope.models.protocol import ResidualStreams, float64_copy, is_recurrent, model_device, supports

__all__ = ["model_impulse"]


def model_impulse(model, x: np.ndarray, *, at: int, eps: float = 1e-3) -> dict[int, ImpulseResponse]:
    """Impulse response of every layer's units to a nudge of x (B, T, C) at step `at`, in float64 on a
    copy of the model (the caller's model is not touched). Returns {layer: ImpulseResponse}."""
    m = float64_copy(model)
    device, dtype = model_device(m)
    recurrent = is_recurrent(m)
    if not (recurrent or supports(m, ResidualStreams)):
        raise TypeError(
            f"{type(model).__name__} has neither a recurrent state nor residual streams (docs/models.md)"
        )
    sizes: list[int] = []  # units per layer, read off the first step

    def step(x_t, state):
        with torch.no_grad():
            xt = torch.as_tensor(x_t, dtype=dtype, device=device)
            if recurrent:
                new = m.step(xt, state)
                layers = [parts["h"] for parts in m.layer_states(new)]
            else:
                new, layers = m.step_with_streams(xt, state)
            sizes[:] = [v.shape[1] for v in layers]
            return new, torch.cat(layers, dim=1).cpu().numpy()

    resp = impulse_response(step, x, m.init_state(x.shape[0], device, dtype), at=at, eps=eps)
    out, start = {}, 0
    for layer, size in enumerate(sizes):
        dev = resp.deviation[:, start : start + size]
        out[layer] = ImpulseResponse(dev, *memory_length(dev))
        start += size
    return out
