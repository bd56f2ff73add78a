"""Networks whose weights are built from known blocks, for ground truth on the unit roles.

One tanh layer, h' = tanh(W h + U x + b (+ noise)), inputs C = 3:
  0: clicks, +-1 at random steps (probability 0.3), mostly + for class 1 and mostly - for class 0
  1: a rhythm, 0.8 sin(2 pi t / 8 + phase), random phase per sequence
  2: a kick at step 0 only (N(0, 4)), nothing after: it starts the rotation block at a random phase

Blocks (unit ranges in BLOCKS, the role each must get in ROLE_OF):
  rotation    2 pairs, W = 1.3 R(2 pi / 12): a limit cycle that oscillates by itself
  slow        eigenvalue 0.97 (tau 33 steps), fed by the clicks (weight 0.15): a graded leaky integrator
  bistable    self-excitation 3 (stable states +-0.995), clicks of weight 3.5 flip it: latching
  driven      self 0.1, rhythm weight 1.5: follows the rhythmic input at short lag (input-driven)
  transient   self 0.75, clicks weight 1.0: a click leaves a response decaying over ~3.5 steps
  noise       self 0.3 and internal noise of std 0.8 (not an input): no role (unclassified)
  silent      no weights at all
"""

from __future__ import annotations

import numpy as np
import torch

SIZES = {"rotation": 4, "slow": 4, "bistable": 3, "driven": 4, "transient": 4, "noise": 4, "silent": 2}
ROLE_OF = {
    "rotation": "oscillatory",
    "slow": "integrator",
    "bistable": "latching",
    "driven": "input-driven",
    "transient": "transient",
    "noise": "unclassified",
    "silent": "silent",
}


def blocks(names=tuple(SIZES)) -> dict[str, range]:
    out, start = {}, 0
    for name in names:
        out[name] = range(start, start + SIZES[name])
        start += SIZES[name]
    return out


def planted_weights(names=tuple(SIZES)):
    """W (H, H), U (H, 3), noise scale (H,) of the planted layer, and the truth (H,) of roles."""
    b = blocks(names)
    h = sum(SIZES[n] for n in names)
    w, u, noise = np.zeros((h, h)), np.zeros((h, 3)), np.zeros(h)
    kick = np.array([1.5, -1.0, 0.7, 1.2])
    for name, r in b.items():
        idx = np.array(r)
        if name == "rotation":
            th = 2 * np.pi / 12
            rot = 1.3 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
            for p in range(0, len(idx), 2):
                w[np.ix_(idx[p : p + 2], idx[p : p + 2])] = rot
            u[idx, 2] = kick[: len(idx)]
        elif name == "slow":
            w[idx, idx] = 0.97
            u[idx, 0] = np.linspace(0.1, 0.2, len(idx))
        elif name == "bistable":
            w[idx, idx] = 3.0
            u[idx, 0] = 3.5
        elif name == "driven":
            w[idx, idx] = 0.1
            u[idx, 1] = np.linspace(1.2, 1.8, len(idx))
        elif name == "transient":
            w[idx, idx] = 0.75
            u[idx, 0] = 1.0
        elif name == "noise":
            w[idx, idx] = 0.3
            noise[idx] = 0.8
    truth = np.array([ROLE_OF[n] for n in names for _ in range(SIZES[n])])
    return w, u, noise, truth


def planted_inputs(n: int, t: int, seed: int):
    """x (n, t, 3) float64, labels (n,), evidence (n, t): the running sum of the clicks."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    p_plus = np.where(labels == 1, 0.75, 0.25)[:, None]
    click = rng.random((n, t)) < 0.3
    sign = np.where(rng.random((n, t)) < p_plus, 1.0, -1.0)
    clicks = click * sign
    rhythm = 0.8 * np.sin(2 * np.pi * np.arange(t)[None] / 8 + rng.uniform(0, 2 * np.pi, (n, 1)))
    kick = np.zeros((n, t))
    kick[:, 0] = 2.0 * rng.standard_normal(n)
    x = np.stack([clicks, rhythm, kick], axis=2)
    return x, labels, np.cumsum(clicks, axis=1)


class PlantedTanh:
    """The planted layer as a plain protocol model (float64). State (h (B, H), t): the step counter picks
    this step's internal noise from a fixed table, so runs repeated from the same state are identical."""

    num_layers, state_names, gate_names, input_size, n_classes = 1, ("h",), (), 3, 2

    def __init__(self, names=tuple(SIZES), seed: int = 0, max_steps: int = 512, max_batch: int = 1024):
        w, u, noise, self.truth = planted_weights(names)
        self.W, self.U = torch.tensor(w), torch.tensor(u)
        self.layer_sizes = (len(w),)
        rng = np.random.default_rng(seed + 1000)
        self.noise = torch.tensor(rng.standard_normal((max_steps, max_batch, len(w))) * noise)
        self.V = torch.zeros(2, len(w), dtype=torch.float64)

    def init_state(self, batch, device=None, dtype=None):
        return (torch.zeros(batch, self.layer_sizes[0], dtype=torch.float64), 0)

    def step(self, x_t, state):
        h, t = state
        pre = h @ self.W.T + x_t.to(torch.float64) @ self.U.T + self.noise[t, : h.shape[0]]
        return (torch.tanh(pre), t + 1)

    def readout(self, state):
        return state[0] @ self.V.T

    def layer_states(self, state):
        return [{"h": state[0]}]

    def make_state(self, layers):
        return (layers[0]["h"], 0)


def planted_rnn(names=tuple(b for b in SIZES if b != "noise")):
    """The same blocks (without internal noise, which nn.RNN has not) in a torch nn.RNN (tanh, float64)."""
    w, u, _noise, truth = planted_weights(names)
    rnn = torch.nn.RNN(3, len(w), batch_first=True, bias=False).double()
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.tensor(w))
        rnn.weight_ih_l0.copy_(torch.tensor(u))
    return rnn, truth
