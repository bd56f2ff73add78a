"""Batched root finding for G(x) = F(x) - x = 0 with per-point stopping (docs/fixedpoints.md).

Two phases, both batched over every still-active point and independent per point:

1. warm start: `warm_iters` Adam steps on q(x) = 0.5 ||G(x)||^2 (one forward and one backward pass each,
   no Jacobian), which moves starts far from any root towards a basin cheaply;
2. Levenberg-Marquardt on G with the full Jacobian A = J - I: solve (AᵀA + μ I) δ = -Aᵀ G by Cholesky,
   accept the step when q falls, and adapt μ per point (Nielsen's rule: μ shrinks towards a Newton step
   on success, grows towards a short gradient step on failure). Quadratic convergence near a regular
   root; still descends where A is singular (saddle-node ghosts, line attractors).

A point stops when q <= tol_q (then `polish` more LM steps take it to machine precision), when it stalls
(its step vanishes, or q has not fallen tenfold in PROGRESS_WINDOW iterations: slow convergence towards
a local minimum of q that is not a root or along a near-continuous set of near-roots, i.e. a slow point
candidate), or at `max_iters`.

Key: N = points, D = state size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rnnscope.dynamics.system import StepMap

PROGRESS_WINDOW = 10  # a point whose q has not fallen by PROGRESS_FACTOR in this many iterations
PROGRESS_FACTOR = 0.1  # ... has stalled: LM near a regular root gains far more than that
CACHE_ENTRIES = 1 << 25  # AᵀA of every point is kept between iterations up to this size (float64: 256 MB)


@dataclass
class Solution:
    """x (N, D) final points, q (N,) their 0.5 ||F(x) - x||², iterations (N,) LM iterations each used,
    converged (N,) bool q <= tol_q."""

    x: Tensor
    q: Tensor
    iterations: Tensor
    converged: Tensor


def warm_start(fmap: StepMap, x: Tensor, iters: int, lr: float) -> Tensor:
    """`iters` per-point Adam steps on q (betas 0.9, 0.999): x (N, D) -> (N, D)."""
    if iters <= 0:
        return x
    x = x.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    for _ in range(iters):
        g = fmap.step_grad(x) - x
        # the sum of independent per-point q gives per-point gradients; autograd.grad (not backward) leaves
        # the model's parameters' .grad alone when the model itself is used (no float64 copy)
        (x.grad,) = torch.autograd.grad(0.5 * g.square().sum(), x)
        opt.step()
    return x.detach()


def normal_equations(fmap: StepMap, x: Tensor, g: Tensor) -> tuple[Tensor, Tensor]:
    """AᵀA (N, D, D) and Aᵀg (N, D) with A = J - I, the Jacobian of G(x) = F(x) - x at x (N, D)."""
    a = fmap.jacobian(x)
    a.diagonal(dim1=-2, dim2=-1).sub_(1.0)
    at = a.transpose(-1, -2)
    return at @ a, (at @ g[..., None])[..., 0]


def lm_step(ata: Tensor, atg: Tensor, mu: Tensor) -> tuple[Tensor, Tensor]:
    """δ (N, D) from (AᵀA + μ I) δ = -Aᵀg, and the decrease of q the linear model predicts (N,)."""
    m = ata.clone()
    m.diagonal(dim1=-2, dim2=-1).add_(mu[:, None])
    chol, info = torch.linalg.cholesky_ex(m)
    delta = -torch.cholesky_solve(atg[..., None], chol)[..., 0]
    bad = info != 0
    if bool(bad.any()):  # not positive definite in floating point: a short gradient step instead
        delta[bad] = -atg[bad] / mu[bad, None]
    return delta, 0.5 * (delta * (mu[:, None] * delta - atg)).sum(-1)


def merge_duplicates(x: Tensor, active: Tensor, leader: Tensor, tol: float) -> None:
    """Stop active points that share a grid cell of side `tol` with a lower-indexed active point (they are
    on their way to the same root); `leader` records whom each follows. In place.

    Cells are found by hashing the integer cell coordinates to one int64 (a 1-D `unique`, far cheaper
    than a row-wise one) and confirmed coordinate by coordinate, so a hash collision never merges."""
    idx = active.nonzero()[:, 0]
    if idx.numel() < 2:
        return
    cells = torch.round(x[idx] / tol).to(torch.int64)  # (M, D)
    weights = torch.arange(1, cells.shape[1] + 1, device=x.device, dtype=torch.int64) * 0x9E3779B1
    _, inverse = torch.unique((cells * weights).sum(1), return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), idx.numel(), dtype=torch.int64, device=x.device)
    first = first.scatter_reduce(0, inverse, torch.arange(idx.numel(), device=x.device), "amin")
    pos = first[inverse]
    dup = (pos != torch.arange(idx.numel(), device=x.device)) & (cells == cells[pos]).all(1)
    leader[idx[dup]] = idx[pos[dup]]
    active[idx[dup]] = False


def levenberg_marquardt(
    fmap: StepMap,
    x: Tensor,
    *,
    tol_q: float,
    max_iters: int,
    polish: int = 3,
    stall: float = 1e-14,
    merge_tol: float | None = None,
) -> Solution:
    """Batched LM with per-point stopping: x (N, D) -> Solution.

    merge_tol: active points closer than this (same grid cell) are merged, the follower taking its leader's
    result at the end: starts that fall into one root's basin stop costing work once they coincide.
    """
    n = x.shape[0]
    leader = torch.arange(n, device=x.device)
    x = x.clone()
    g = fmap.step(x) - x
    q = 0.5 * g.square().sum(-1)
    iterations = torch.zeros(n, dtype=torch.int64, device=x.device)
    mu = torch.full((n,), 1e-3, dtype=x.dtype, device=x.device)
    nu = torch.full_like(mu, 2.0)
    q_mark = q.clone()
    extra = torch.full((n,), polish, dtype=torch.int64, device=x.device)  # polish steps left once converged
    active = (q > 0) & ((q > tol_q) | (extra > 0))
    # AᵀA and Aᵀg per point, reused after a rejected step (x unchanged, only μ grows)
    d = x.shape[1]
    cached = n * d * d <= CACHE_ENTRIES
    ata_all = x.new_zeros((n, d, d) if cached else (0, d, d))
    atg_all = x.new_zeros((n, d) if cached else (0, d))
    fresh = torch.zeros(n, dtype=torch.bool, device=x.device)
    for _ in range(max_iters + polish):
        idx = active.nonzero()[:, 0]
        if idx.numel() == 0:
            break
        xi, gi, qi, mi = x[idx], g[idx], q[idx], mu[idx]
        if cached:
            stale = idx[~fresh[idx]]
            if stale.numel():
                ata_all[stale], atg_all[stale] = normal_equations(fmap, x[stale], g[stale])
            ata, atg = ata_all[idx], atg_all[idx]
        else:
            ata, atg = normal_equations(fmap, xi, gi)
        delta, predicted = lm_step(ata, atg, mi)
        xn = xi + delta
        gn = fmap.step(xn) - xn
        qn = 0.5 * gn.square().sum(-1)
        ok = torch.isfinite(qn) & (qn < qi)
        rho = (qi - qn) / predicted.clamp_min(torch.finfo(x.dtype).tiny)
        factor = torch.clamp(1 - (2 * rho - 1) ** 3, min=1 / 3)
        mu[idx] = torch.where(ok, mi * factor, mi * nu[idx])
        nu[idx] = torch.where(ok, torch.full_like(mi, 2.0), nu[idx] * 2)
        x[idx] = torch.where(ok[:, None], xn, xi)
        fresh[idx] = ~ok
        g[idx] = torch.where(ok[:, None], gn, gi)
        q[idx] = torch.where(ok, qn, qi)
        iterations[idx] += 1
        done = q[idx] <= tol_q
        extra[idx] -= done.long()
        small = delta.norm(dim=-1) <= stall * (1 + xi.norm(dim=-1))
        stuck = ~ok & (mu[idx] > 1e12)  # no descent left: a local minimum of q (or its floating floor)
        check = iterations[idx] % PROGRESS_WINDOW == 0
        stuck |= check & ~done & (q[idx] > PROGRESS_FACTOR * q_mark[idx])
        q_mark[idx] = torch.where(check, q[idx], q_mark[idx])
        keep = ~((done & (extra[idx] <= 0)) | small | stuck | (q[idx] == 0))
        keep &= ~(~done & (iterations[idx] >= max_iters))
        active[idx] = keep
        if merge_tol:
            merge_duplicates(x, active, leader, merge_tol)
    while bool((leader[leader] != leader).any()):  # a leader that later followed another
        leader = leader[leader]
    x, q = x[leader], q[leader]
    return Solution(x, q, iterations[leader], q <= tol_q)
