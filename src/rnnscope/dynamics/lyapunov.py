"""Lyapunov spectrum of a recurrent protocol model along the data's own trajectories.

The standard QR method (Benettin et al. 1980; Eckmann & Ruelle 1985): carry k orthonormal tangent vectors
Q (D, k) along each trajectory, push them through the step's Jacobian and re-orthonormalise every step,
J_t Q_{t-1} = Q_t R_t; exponent i is the average over steps of ln|R_t[i, i]| (per step, natural log).
Up to `full_max` state dimensions the full Jacobian is formed (closed form or torch.func.jacrev) and the
full spectrum (k = D) is computed; beyond it only the k leading exponents, from k forward-mode products
J v per step (torch.func.jvp), never the D x D matrix. Averages pool every sequence's valid steps after
`burn_in`; `running` holds the estimate after each step, so its convergence can be shown.

Key: B = sequences, T = steps, C = input channels, D = state size, k = exponents.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from rnnscope.dynamics.data import as_inputs, valid_steps
from rnnscope.dynamics.store import load_arrays, save_arrays
from rnnscope.dynamics.system import StepMap
from rnnscope.errors import BadArgument
from rnnscope.models.protocol import state_vector

KIND = "rnnscope.LyapunovSpectrum"
FULL_MAX = 256  # full spectrum up to this many state dimensions
LEADING = 16  # exponents computed beyond FULL_MAX by default


@dataclass
class LyapunovSpectrum:
    """Lyapunov exponents (per step, natural log) estimated along trajectories."""

    exponents: np.ndarray  # (k,) float64, in QR column order: descending once the estimate has converged
    running: np.ndarray  # (T, k) float64, the estimate using steps up to t (NaN before the first one)
    steps: np.ndarray  # (T,) int64, sequence-steps pooled into running[t]
    meta: dict = field(default_factory=dict)  # D, k, full, method, burn_in, sequences

    @property
    def largest(self) -> float:
        """The largest exponent (> 0: chaos, nearby trajectories diverge)."""
        return float(np.max(self.exponents))

    def convergence(self, window: int = 10) -> float:
        """max |running[-1] - running[-window]| over exponents: how much the estimate still moves."""
        r = self.running[np.isfinite(self.running).all(axis=1)]
        if len(r) < 2:
            return float("nan")
        return float(np.abs(r[-1] - r[-min(window, len(r))]).max())

    def save(self, path: str | Path) -> None:
        save_arrays(
            path, KIND, {f.name: getattr(self, f.name) for f in fields(self) if f.name != "meta"}, self.meta
        )

    @classmethod
    def load(cls, path: str | Path) -> LyapunovSpectrum:
        arrays, meta = load_arrays(path, KIND)
        return cls(arrays["exponents"], arrays["running"], arrays["steps"], meta)


def _initial_frame(b: int, d: int, k: int, seed: int) -> torch.Tensor:
    """Random orthonormal tangent vectors (B, D, k); the first k columns of the k = D frame, so the
    leading-k and full spectra start alike."""
    cols = np.stack([np.random.default_rng([seed, i]).standard_normal((k, d)).T for i in range(b)])
    return torch.linalg.qr(torch.from_numpy(cols))[0]


def lyapunov_spectrum(
    model,
    x,
    lengths=None,
    *,
    k: int | None = None,
    full_max: int = FULL_MAX,
    burn_in: int = 0,
    initial=None,
    seed: int = 0,
) -> LyapunovSpectrum:
    """Lyapunov spectrum along the trajectories of data x (B, T, C) (steps past `lengths` (B,) ignored).

    k: exponents to compute (default D when D <= full_max, else LEADING). burn_in: steps skipped before
    averaging (the tangent vectors align first). initial: start states (B, D), default `init_state`.
    seed: the random orthonormal tangent vectors at the start. The model is never changed.
    """
    fmap = StepMap(model)
    xs = as_inputs(x, model)
    b, t, _ = xs.shape
    d = fmap.D
    k = (d if d <= full_max else min(LEADING, d)) if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= d:
        raise BadArgument(f"k (exponents) must be an integer in [1, {d}] (the state size), got {k!r}")
    if isinstance(burn_in, bool) or not isinstance(burn_in, (int, np.integer)) or not 0 <= burn_in < t:
        raise BadArgument(f"burn_in must be an integer in [0, {t - 1}] (steps per sequence), got {burn_in!r}")
    valid = torch.as_tensor(valid_steps(xs, lengths), device=fmap.device)
    full = d <= full_max
    if initial is None:
        v = state_vector(fmap.model, fmap.model.init_state(b, fmap.device, fmap.dtype)).to(fmap.dtype)
    else:
        v = fmap.tensor(np.asarray(initial, dtype=np.float64))
        if v.shape != (b, d):
            raise BadArgument(f"initial states must have shape ({b}, {d}), got {tuple(v.shape)}")
    q = _initial_frame(b, d, k, seed).to(fmap.device, fmap.dtype)
    u = fmap.tensor(xs)
    total = torch.zeros(k, dtype=torch.float64)
    n = 0
    running = np.full((t, k), np.nan)
    steps = np.zeros(t, dtype=np.int64)
    for s in range(t):
        if full:
            jq = fmap.jacobian(v, u[:, s]) @ q
            nv = fmap.step(v, u[:, s])
        else:
            nv, jq = fmap.jvp(v, q, u[:, s])
        qn, r = torch.linalg.qr(jq)
        live = valid[:, s]
        v = torch.where(live[:, None], nv, v)
        q = torch.where(live[:, None, None], qn, q)
        if s >= burn_in and bool(live.any()):
            logs = torch.log(torch.diagonal(r, dim1=-2, dim2=-1).abs())[live]  # (B_live, k)
            total += logs.double().sum(0).cpu()
            n += int(live.sum())
        if n:
            running[s] = (total / n).numpy()
        steps[s] = n
    meta = {
        "state_size": d,
        "k": int(k),
        "full": bool(k == d),
        "method": "jacobian" if full else "jvp",
        "burn_in": int(burn_in),
        "sequences": int(b),
        "dtype": str(fmap.dtype).replace("torch.", ""),
    }
    return LyapunovSpectrum(running[-1].copy(), running, steps, meta)
