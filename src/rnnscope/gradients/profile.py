"""From per-step gradients to profiles (mean and spread over a batch, by step or by distance) and fits.

A profile is keyed by (quantity, layer): quantity is the array's name in `StepGradients` ("grad_h",
"grad_c", "grad_x", "grad_stream", "learn_w_ih", "learn_w_hh"), plus "jacobian_norm",
"jacobian_product" and "highway" from `analyse`. grad_x (the model input) is filed under layer 0.

Key: B = batch, T = time, K = distance from each sequence's readout step.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rnnscope.analysis.gradients import (
    align_to_end,
    check_epsilon,
    fit_decay,
    gate_highway,
    gradient_context,
    jacobian_norms,
    jacobian_product_norms,
    profile_stats,
)
from rnnscope.errors import BadArgument
from rnnscope.gradients.capture import StepGradients, step_gradients
from rnnscope.gradients.jacobians import carry_gates, step_jacobians
from rnnscope.io import atomic_write_bytes
from rnnscope.models.protocol import TracedForward, is_recurrent, supports

JACOBIAN_BATCH = 8  # at most this many probe sequences get full Jacobians (B·T·S² float64 per layer) ...
JACOBIAN_BYTES = 256 << 20  # ... and fewer when one layer's Jacobians would pass this size
FIT_QUANTITIES = ("grad_h", "grad_c", "grad_stream", "grad_x")


def split_name(name: str) -> tuple[str, int]:
    quantity, _, layer = name.partition("/")
    return quantity, int(layer) if layer else 0


def probe_indices(n: int, size: int, seed: int) -> np.ndarray:
    """A fixed, seeded choice of min(size, n) sequences out of n (sorted). Uses its own generator."""
    if size < 1:
        raise BadArgument(f"the probe batch size must be positive, got {size}")
    if n < 1:
        raise BadArgument("the split holds no sequences")
    return np.sort(np.random.default_rng([seed, 0x67]).choice(n, size=min(size, n), replace=False))


def analyse(model, x, y, lengths=None, *, learning: bool = True, jacobians: bool = True) -> dict:
    """Everything the gradient report shows for one model and probe batch.

    Returns {"grads": StepGradients, "by_step": {(quantity, layer): (mean (T,), std (T,))},
    "by_distance": {(quantity, layer): mean (K,)}}. Recurrent models add Jacobian norms (on the first
    JACOBIAN_BATCH sequences, fewer when their Jacobians pass JACOBIAN_BYTES) and, for models with a
    carry gate (lstm/gru), highway products. The per-step weight-update norms need `TracedForward`.
    """
    grads = step_gradients(model, x, y, lengths, learning=learning and supports(model, TracedForward))
    by_step, by_distance = gradient_profiles(grads)
    result = {"grads": grads, "by_step": by_step, "by_distance": by_distance}
    if not is_recurrent(model):
        return result
    lens = grads.lengths.numpy()
    for layer, gate in enumerate(carry_gates(model, x, lengths)):
        hw = gate_highway(gate, lens)  # (B, T, H)
        by_step[("highway", layer)] = profile_stats(hw.transpose(0, 2, 1).reshape(-1, hw.shape[1]))
        by_distance[("highway", layer)] = np.nanmean(align_to_end(hw.mean(axis=2), lens), axis=0)
    if jacobians:
        state = max(model.layer_sizes) * len(model.state_names)  # the largest layer state S
        nb = max(1, min(JACOBIAN_BATCH, x.shape[0], JACOBIAN_BYTES // (8 * x.shape[1] * state * state)))
        sub_len = None if lengths is None else lengths[:nb]
        for layer, jac in enumerate(step_jacobians(model, x[:nb], sub_len)):
            by_step[("jacobian_norm", layer)] = profile_stats(jacobian_norms(jac, lens[:nb]))
            by_step[("jacobian_product", layer)] = profile_stats(jacobian_product_norms(jac, lens[:nb]))
    return result


def gradient_profiles(grads: StepGradients) -> tuple[dict, dict]:
    """(by_step, by_distance): {(quantity, layer): (mean (T,), std (T,))} and
    {(quantity, layer): mean (K,)}."""
    by_step, by_distance = {}, {}
    lens = grads.lengths.numpy()
    for name in grads.arrays:
        key = split_name(name)
        norms = grads.norms(name)
        by_step[key] = profile_stats(norms)
        by_distance[key] = profile_stats(align_to_end(norms, lens))[0]
    for name, v in grads.learning.items():
        by_step[split_name(name)] = (v.double().numpy(), np.full(v.shape, np.nan))
    return by_step, by_distance


QUANTITIES = (
    "grad_h",
    "grad_c",
    "grad_stream",
    "grad_x",
    "learn_w_ih",
    "learn_w_hh",
    "highway",
    "jacobian_norm",
    "jacobian_product",
)


def _key(item):
    (quantity, layer) = item[0]
    return (QUANTITIES.index(quantity) if quantity in QUANTITIES else len(QUANTITIES), layer)


def summarise(by_distance: dict, epsilon: float = 1e-3) -> list[dict]:
    """Per (quantity, layer) of the gradient norms: decay factor per step, R², half-life, context (a)."""
    eps = check_epsilon(epsilon)
    rows = []
    for (quantity, layer), g in sorted(by_distance.items(), key=_key):
        if quantity not in FIT_QUANTITIES:
            continue
        fit = fit_decay(g)
        ctx = gradient_context(g, eps)
        rows.append(
            {
                "layer": layer,
                "quantity": quantity,
                "decay_factor": fit.factor,
                "r2": fit.r2,
                "half_life": fit.half_life,
                "fit_points": fit.n_points,
                "effective_context": ctx.context,
                "context_censored": ctx.censored,
            }
        )
    return rows


def profile_rows(by_step: dict) -> list[dict]:
    """Tidy rows step, layer, quantity, mean, std (std NaN where there is no spread, e.g. learn_*)."""
    rows = []
    for (quantity, layer), (mean, std) in sorted(by_step.items(), key=_key):
        for t in range(len(mean)):
            rows.append(
                {
                    "step": t,
                    "layer": layer,
                    "quantity": quantity,
                    "mean": float(mean[t]),
                    "std": float(std[t]),
                }
            )
    return rows


def write_profile_csv(path, by_step: dict) -> None:
    """profile.csv with columns exactly step, layer, quantity, mean, std (empty where NaN), atomically."""

    def fmt(v: float) -> str:
        return "" if math.isnan(v) else repr(v)

    lines = ["step,layer,quantity,mean,std"]
    lines += [
        f"{r['step']},{r['layer']},{r['quantity']},{fmt(r['mean'])},{fmt(r['std'])}"
        for r in profile_rows(by_step)
    ]
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())


def probe_tensors(x, y, lengths, index: np.ndarray, device=None):
    """Rows `index` of numpy or torch arrays as tensors (x float32, y and lengths int64)."""
    idx = torch.as_tensor(index, dtype=torch.long)
    x, y, lengths = (torch.as_tensor(a) for a in (x, y, lengths))
    return (
        x[idx.to(x.device)].float().to(device),
        y[idx.to(y.device)].long().to(device),
        lengths[idx.to(lengths.device)].long().cpu(),
    )
