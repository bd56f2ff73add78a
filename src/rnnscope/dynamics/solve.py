"""Batched root finding for G(x) = F(x) - x = 0 with per-point stopping (docs/fixedpoints.md).

Two phases, both batched over every still-active point and independent per point:

1. warm start: `warm_iters` Adam steps on q(x) = 0.5 ||G(x)||^2 (one forward and one backward pass each,
   no Jacobian), which moves starts far from any root towards a basin cheaply;
2. Levenberg-Marquardt on G with the full Jacobian A = J - I: solve (AᵀA + μ I) δ = -Aᵀ G by Cholesky,
   accept the step when q falls, and adapt μ per point (Nielsen's rule: μ shrinks towards a Newton step
   on success, grows towards a short gradient step on failure). Quadratic convergence near a regular
   root; still descends where A is singular (saddle-node ghosts, line attractors).

A point stops when q <= tol_q (then `polish` more LM steps take it to machine precision), when it stalls
(its step vanishes, or q has not fallen tenfold in PROGRESS_WINDOW iterations — HOPELESS_WINDOW while q is
above the slow tolerance —: slow convergence towards
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
HOPELESS_WINDOW = 5  # ... or in this many, while q is still above the slow tolerance (it will be dropped)
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
    """`iters` per-point Adam steps on q (betas 0.9, 0.999, eps 1e-8, PyTorch's update): x (N, D) -> (N, D).

    Adam is written out (a handful of in-place tensor ops instead of torch.optim's per-step overhead)."""
    if iters <= 0:
        return x
    x = x.detach().clone()
    m, v = torch.zeros_like(x), torch.zeros_like(x)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, iters + 1):
        grad = _q_gradient(fmap, x)
        m.mul_(b1).add_(grad, alpha=1 - b1)
        v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        denom = (v.sqrt() / (1 - b2**t) ** 0.5).add_(eps)
        x.addcdiv_(m, denom, value=-lr / (1 - b1**t))
    return x


def _q_gradient(fmap: StepMap, x: Tensor) -> Tensor:
    """∇q(x) = (J - I)ᵀ (F(x) - x) by one backward pass through `step`: x (N, D) -> (N, D)."""
    xg = x.clone().requires_grad_(True)
    g = fmap.step_grad(xg) - xg
    # autograd.grad (not backward) leaves the model's parameters' .grad alone when the model itself is used
    (grad,) = torch.autograd.grad(0.5 * g.square().sum(), xg)
    return grad


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


def duplicates(x: Tensor, tol: float) -> tuple[Tensor, Tensor]:
    """Rows of x (M, D) that share a grid cell of side `tol` with a lower-indexed row: (dup (M,) bool,
    first (M,) index of the first row in each row's cell).

    Cells are found by hashing the integer cell coordinates to one int64 (a 1-D `unique`, far cheaper
    than a row-wise one) and confirmed coordinate by coordinate, so a hash collision never merges."""
    rows = torch.arange(x.shape[0], device=x.device)
    cells = torch.round(x / tol).to(torch.int64)  # (M, D)
    weights = torch.arange(1, cells.shape[1] + 1, device=x.device, dtype=torch.int64) * 0x9E3779B1
    _, inverse = torch.unique((cells * weights).sum(1), return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), x.shape[0], dtype=torch.int64, device=x.device)
    first = first.scatter_reduce(0, inverse, rows, "amin")
    pos = first[inverse]
    return (pos != rows) & (cells == cells[pos]).all(1), pos


def merge_duplicates(x: Tensor, active: Tensor, leader: Tensor, tol: float) -> None:
    """Stop active points that share a grid cell of side `tol` with a lower-indexed active point (they are
    on their way to the same root); `leader` records whom each follows. In place."""
    idx = active.nonzero()[:, 0]
    if idx.numel() < 2:
        return
    dup, pos = duplicates(x[idx], tol)
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
    slow_tol: float | None = None,
) -> Solution:
    """Batched LM with per-point stopping: x (N, D) -> Solution.

    The working set holds only the active points (compacted when some stop), each with F, A = J - I, AᵀA
    and Aᵀg at its current x: F and J come from one evaluation at the trial point, so an accepted step
    already carries the next iteration's Jacobian and a rejected one reuses the cached AᵀA.
    merge_tol: active points closer than this (same grid cell) are merged, the follower taking its leader's
    result at the end: starts that fall into one root's basin stop costing work once they coincide.
    slow_tol: a point still above it stalls after HOPELESS_WINDOW iterations without a tenfold fall of q
    (PROGRESS_WINDOW otherwise, so slow points settle where q is least before they stop).
    """
    n, d = x.shape
    dev = x.device
    leader = torch.arange(n, device=dev)
    out_x, out_q = x.clone(), x.new_full((n,), float("inf"))
    iterations = torch.zeros(n, dtype=torch.int64, device=dev)
    idx = torch.arange(n, device=dev)  # the working set's rows in the full arrays
    xi = x.clone()
    f, a = fmap.step_and_jacobian(xi)
    g = f - xi
    q = 0.5 * g.square().sum(-1)
    a.diagonal(dim1=-2, dim2=-1).sub_(1.0)
    at = a.transpose(-1, -2)
    ata, atg = at @ a, (at @ g[..., None])[..., 0]
    mu = torch.full((n,), 1e-3, dtype=x.dtype, device=dev)
    nu = torch.full_like(mu, 2.0)
    q_mark = q.clone()
    q_mark_short = q.clone()
    extra = torch.full((n,), polish, dtype=torch.int64, device=dev)  # polish steps left once converged
    its = torch.zeros(n, dtype=torch.int64, device=dev)
    keep = (q > 0) & (q.isfinite())
    for step in range(max_iters + polish + 1):
        if not bool(keep.all()):  # write the stopped points out, compact the working set
            stop = ~keep
            out_x[idx[stop]], out_q[idx[stop]], iterations[idx[stop]] = xi[stop], q[stop], its[stop]
            idx, xi, g, q, ata, atg = idx[keep], xi[keep], g[keep], q[keep], ata[keep], atg[keep]
            mu, nu, q_mark, extra, its = mu[keep], nu[keep], q_mark[keep], extra[keep], its[keep]
            q_mark_short = q_mark_short[keep]
        if idx.numel() == 0 or step == max_iters + polish:
            break
        delta, predicted = lm_step(ata, atg, mu)
        xn = xi + delta
        fn, an = fmap.step_and_jacobian(xn)
        gn = fn - xn
        qn = 0.5 * gn.square().sum(-1)
        ok = torch.isfinite(qn) & (qn < q)
        rho = (q - qn) / predicted.clamp_min(torch.finfo(x.dtype).tiny)
        factor = torch.clamp(1 - (2 * rho - 1) ** 3, min=1 / 3)
        mu = torch.where(ok, mu * factor, mu * nu)
        nu = torch.where(ok, torch.full_like(nu, 2.0), nu * 2)
        if bool(ok.any()):
            acc = ok.nonzero()[:, 0]
            aa = an[acc]
            aa.diagonal(dim1=-2, dim2=-1).sub_(1.0)
            aat = aa.transpose(-1, -2)
            ata[acc], atg[acc] = aat @ aa, (aat @ gn[acc][..., None])[..., 0]
            xi[acc], g[acc], q[acc] = xn[acc], gn[acc], qn[acc]
        its += 1
        done = q <= tol_q
        extra -= done.long()
        small = delta.norm(dim=-1) <= stall * (1 + xi.norm(dim=-1))
        stuck = ~ok & (mu > 1e12)  # no descent left: a local minimum of q (or its floating floor)
        check = its % PROGRESS_WINDOW == 0
        stuck |= check & ~done & (q > PROGRESS_FACTOR * q_mark)
        q_mark = torch.where(check, q, q_mark)
        if slow_tol is not None:
            short = its % HOPELESS_WINDOW == 0
            stuck |= short & (q > slow_tol) & (q > PROGRESS_FACTOR * q_mark_short)
            q_mark_short = torch.where(short, q, q_mark_short)
        keep = ~((done & (extra <= 0)) | small | stuck | (q == 0))
        keep &= ~(~done & (its >= max_iters))
        if merge_tol and idx.numel() > 1:
            dup, pos = duplicates(xi, merge_tol)
            dup &= keep[pos]  # follow a leader that goes on (or stops now with its result written out)
            if bool(dup.any()):
                leader[idx[dup]] = idx[pos[dup]]
                iterations[idx[dup]] = its[dup]
                out_q[idx[dup]] = q[dup]
                keep &= ~dup
    while bool((leader[leader] != leader).any()):  # a leader that later followed another
        leader = leader[leader]
    x, q = out_x[leader], out_q[leader]
    return Solution(x, q, iterations[leader], q <= tol_q)
