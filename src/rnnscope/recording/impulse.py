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
    if is_recurrent(m):
        sizes = list(m.layer_sizes)

        def units(state, _):
            return torch.cat([parts["h"] for parts in m.layer_states(state)], dim=1)
    elif supports(m, ResidualStreams):
        sizes = [m.hidden_size] * m.num_layers

        def units(_, streams):
            return torch.cat(streams, dim=1)
    else:
        raise TypeError(f"{type(model).__name__} has neither a recurrent state nor residual streams "
                        "(docs/models.md)")

    def step(x_t, state):
        with torch.no_grad():
            xt = torch.as_tensor(x_t, dtype=dtype, device=device)
            if is_recurrent(m):
                new, streams = m.step(xt, state), None
            else:
                new, streams = m.step_with_streams(xt, state)
            return new, units(new, streams).cpu().numpy()

    resp = impulse_response(step, x, m.init_state(x.shape[0], device, dtype), at=at, eps=eps)
    out, start = {}, 0
    for layer, size in enumerate(sizes):
        dev = resp.deviation[:, start: start + size]
        out[layer] = ImpulseResponse(dev, *memory_length(dev))
        start += size
    return out
