"""Per-step state Jacobians ∂s_t/∂s_{t-1} of each layer and the gate highways.

The Jacobian of one layer's step with its input at t held fixed, s = the layer's state parts stacked
(h; or (h, c) for the lstm, S = 2H), in float64. Two ways, tested equal:
- "explicit": closed form from the traced forward's local derivatives (`models.jacobians`), for a model
  with the `TracedForward` and `ClosedFormJacobian` capabilities (the built-in cells; fast);
- "jacrev": `torch.func.jacrev` through the model's `step` on `state_vector`, vectorised over the batch
  with `torch.func.vmap` at every step (any recurrent protocol model; ~100x the arithmetic, and a
  Python loop over steps). Layer l's Jacobian is the (l, l) block of the whole state's Jacobian (with
  the other layers' previous states fixed, layer l's input at t does not move).
"auto" takes the first where it can. The pure analyses (norms, products, highway products) are in
`rnnscope.analysis.gradients`.

Key: B = batch, T = time, H = hidden, S = layer state size, D = whole state size.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import Tensor

from rnnscope.errors import BadArgument
from rnnscope.gradients.steps import check_lengths, eval_mode
from rnnscope.models.jacobians import trace_jacobian
from rnnscope.models.protocol import (
    ClosedFormJacobian,
    HasGates,
    TracedForward,
    float64_copy,
    model_device,
    state_vector,
    supports,
    vector_state,
)

CHUNK_ENTRIES = 1 << 24  # Jacobian entries computed at once (float64: 128 MB)
METHODS = ("auto", "explicit", "jacrev")


def _closed_form(model) -> bool:
    return supports(model, TracedForward) and supports(model, ClosedFormJacobian)


@torch.no_grad()
def step_jacobians(
    model, x: Tensor, lengths: Tensor | None = None, *, method: str = "auto"
) -> list[np.ndarray]:
    """Per layer, J[b, t] = ∂s_t/∂s_{t-1} (B, T, S, S) float64 for a recurrent protocol model; NaN past
    each end. method "auto", "explicit" or "jacrev" (module docstring). Memory is B·T·S² float64 per
    layer: use a small probe batch.
    """
    if method not in METHODS:
        raise BadArgument(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "explicit" and not _closed_form(model):
        raise BadArgument(
            f"{type(model).__name__} has no closed-form Jacobian; use method 'jacrev' or 'auto'"
        )
    lengths = check_lengths(x, lengths)
    if method == "jacrev" or not _closed_form(model):
        per_layer = _jacrev_jacobians(model, x)
    else:
        per_layer = [trace_jacobian(tr) for tr in model.layer_traces(x)]
    out = []
    for j in per_layer:  # (T, B, S, S)
        j = j.transpose(0, 1).cpu().numpy().copy()
        j[np.arange(j.shape[1])[None, :] >= lengths.numpy()[:, None]] = np.nan
        out.append(j)
    return out


def _jacrev_jacobians(model, x: Tensor) -> list[Tensor]:
    """Per layer (T, B, S, S) float64: the diagonal blocks of jacrev through `step` at every step."""
    m = float64_copy(model)
    device, dtype = model_device(m)
    xs = x.to(device=device, dtype=dtype)
    b, t_len = xs.shape[:2]
    sizes = [size * len(m.state_names) for size in m.layer_sizes]
    bounds = np.cumsum([0, *sizes])

    def f(v, x_t):
        return state_vector(m, m.step(x_t[None], vector_state(m, v[None])))[0]

    jac = torch.func.vmap(torch.func.jacrev(f))
    chunk = max(1, CHUNK_ENTRIES // (int(bounds[-1]) ** 2))
    blocks = [[] for _ in sizes]
    state = m.init_state(b, device, dtype)
    with eval_mode(m), torch.enable_grad():
        for t in range(t_len):
            v = state_vector(m, state).detach()
            j = torch.cat([jac(v[i : i + chunk], xs[i : i + chunk, t]) for i in range(0, b, chunk)])
            for layer, (lo, hi) in enumerate(itertools.pairwise(bounds)):
                blocks[layer].append(j[:, lo:hi, lo:hi].double())
            with torch.no_grad():
                state = m.step(xs[:, t], state)
    return [torch.stack(bl) for bl in blocks]


@torch.no_grad()
def carry_gates(model, x: Tensor, lengths: Tensor | None = None) -> list[np.ndarray]:
    """Per layer, the carry gate (B, T, H): the gate named by the model's `carry_gate` (lstm f_t, gru z_t,
    PyTorch's h' = (1 - z) n + z h); [] for a model without one (rnn, most user models).

    From the traced forward where the model has one, else stepping `step_with_gates`. NaN past each
    sequence's end. Feed to `rnnscope.analysis.gradients.gate_highway`.
    """
    name = getattr(model, "carry_gate", None)
    if name is None or not (supports(model, TracedForward) or supports(model, HasGates)):
        return []
    lengths = check_lengths(x, lengths)
    if supports(model, TracedForward):
        gates = [tr.carry.permute(2, 0, 1) for tr in model.layer_traces(x)]
    else:
        device, dtype = model_device(model)
        xs = x.to(device=device, dtype=dtype)
        state, per_step = model.init_state(xs.shape[0], device, dtype), []
        with eval_mode(model):
            for t in range(xs.shape[1]):
                state, g = model.step_with_gates(xs[:, t], state)
                per_step.append([layer[name] for layer in g])
        gates = [torch.stack(steps, dim=1) for steps in zip(*per_step)]
    out = []
    for g in gates:
        g = g.double().cpu().numpy().copy()
        g[np.arange(g.shape[1])[None, :] >= lengths.numpy()[:, None]] = np.nan
        out.append(g)
    return out
