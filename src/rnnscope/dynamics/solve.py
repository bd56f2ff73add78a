"""Batched root finding for G(x) = F(x) - x = 0 with per-point stopping (docs/fixedpoints.md).

`newton_lm`: every point takes Newton steps δ = -A⁻¹G (A = J - I, one batched LU solve), each at most a
per-point trust radius long (MAX_STEP √D at first, doubled after every shortened step that lowered q),
accepted where q = 0.5 ||G||² falls. A point whose Newton step fails turns to Levenberg-Marquardt for
good: (AᵀA + μ I) δ = -Aᵀ G by Cholesky, μ adapted per point (Nielsen's rule) — a short gradient step
where A is singular (saddle-node ghosts, line attractors), Newton's step where it is not. Quadratic
convergence near a regular root; descent everywhere.

A point stops when q <= tol_q (the float64 polish comes later, on the unique points only: `polish`),
when it stalls (its step vanishes, or q has not fallen tenfold in PROGRESS_WINDOW iterations —
HOPELESS_WINDOW while q is above the slow tolerance —: slow convergence towards a local minimum of q that
is not a root or along a near-continuous set of near-roots, i.e. a slow point candidate), or at
`max_iters`. Points settled on the same root (a short Newton step, one grid cell) are merged before they
cost another evaluation.

`warm_start` (optional, off by default): per-point Adam steps on q before the search.

Key: N = points, D = state size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from rnnscope.dynamics.system import StepMap

PROGRESS_WINDOW = 10  # a point whose q has not fallen by PROGRESS_FACTOR in this many iterations
PROGRESS_FACTOR = 0.1  # ... has stalled: LM near a regular root gains far more than that
HOPELESS_WINDOW = 5  # ... or in this many, while q is still above the slow tolerance (it will be dropped)
SETTLED_CELLS = 1.0  # a Newton step at most this many merge cells long: the point is settled on its root
MAX_STEP = 0.25  # a point's first Newton step is at most MAX_STEP * sqrt(D) long (1.0 for D = 16); the
#                  limit doubles after each shortened step that lowered q
POLISHED = 1e-12  # a point with q <= tol_q * min(tol_q, POLISHED) is polished (1e-24 at tol_q 1e-12)
MU0 = 1e-3  # Levenberg-Marquardt's first μ (a point turning to it from Newton)


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


def settled_cell(d: int, tol_unique: float) -> float:
    """The side of the merge grid's cells for states of size d: a cell's diagonal is tol_unique / 4."""
    return 0.25 * tol_unique / math.sqrt(d)


@torch.inference_mode()
def newton_lm(
    fmap: StepMap,
    x: Tensor,
    *,
    tol_q: float,
    max_iters: int,
    stall: float = 1e-14,
    merge_cell: float | None = None,
    slow_tol: float | None = None,
) -> Solution:
    """Batched Newton steps with a per-point Levenberg-Marquardt fallback and per-point stopping:
    x (N, D) -> Solution.

    Every point starts in Newton mode: δ = -A⁻¹ g by one batched LU solve (no normal equations), accepted
    when q falls. A point whose Newton step fails (q does not fall, A singular, or a non-finite step) turns
    to Levenberg-Marquardt: (AᵀA + μ I) δ = -Aᵀg by Cholesky, μ adapted per point by Nielsen's rule,
    starting from MU0, and stays with it (a point that returned to Newton after a good step jumped back and
    forth across the minimum of q near a saddle-node ghost). Only the points in each mode pay for its
    linear algebra, so the common case — every start converging quadratically — costs one LU solve and
    one evaluation per point and iteration.

    The working set holds only the active points (compacted when some stop), each with F and A = J - I at
    its current x; F and J come from one evaluation at the trial point, so an accepted step already
    carries the next iteration's Jacobian.
    merge_cell: before each evaluation, Newton-mode points whose step is at most `SETTLED_CELLS` cells
    long and that share a grid cell of this side are settled on one root (each is about one Newton step
    from it): all but the lowest-indexed stop and take its result at the end. With `settled_cell` their
    roots lie within tol_unique / 4 (the cell's diagonal) + 2 steps <= tol_unique of each other.
    slow_tol: a point still above it stalls after HOPELESS_WINDOW iterations without a tenfold fall of q
    (PROGRESS_WINDOW otherwise, so slow points settle where q is least before they stop).
    Runs in inference mode (no autograd bookkeeping on its ~200 small tensor operations per iteration;
    torch.func Jacobians still work): the Solution's tensors are inference tensors, for reading only.
    """
    n, d = x.shape
    dev = x.device
    leader = torch.arange(n, device=dev)
    out_x, out_q = x.clone(), x.new_full((n,), float("inf"))
    iterations = torch.zeros(n, dtype=torch.int64, device=dev)
    f, a = fmap.step_and_jacobian(x)
    g = f - x
    a.diagonal(dim1=-2, dim2=-1).sub_(1.0)
    q = 0.5 * g.square().sum(-1)
    p = {  # per active point; every active point has taken the same number of iterations (`its` below)
        "idx": torch.arange(n, device=dev),  # its row in the full arrays
        "x": x.clone(),
        "g": g,
        "q": q,
        "a": a,
        "mu": torch.zeros_like(q),  # 0: Newton mode; > 0: Levenberg-Marquardt's μ
        "nu": torch.full_like(q, 2.0),
        "q_mark": q.clone(),
        "q_short": q.clone(),
        "radius": torch.full_like(q, MAX_STEP * math.sqrt(d)),  # the longest Newton step allowed
    }
    keep = (q > 0) & q.isfinite()
    tiny = torch.finfo(x.dtype).tiny
    reach = None if merge_cell is None else SETTLED_CELLS * merge_cell
    its = 0
    if dev.type == "cpu":
        recycle_pages(4 * n * d * d * x.element_size())
    while True:
        if not bool(keep.all()):  # write the stopped points out, compact the working set
            gone, rows = (~keep).nonzero()[:, 0], keep.nonzero()[:, 0]
            out_rows = p["idx"][gone]
            out_x[out_rows], out_q[out_rows], iterations[out_rows] = p["x"][gone], p["q"][gone], its
            p = {k: v[rows] for k, v in p.items()}
        if p["idx"].numel() == 0 or its == max_iters:
            break
        delta, predicted, length = _directions(p)
        if reach is not None and delta.shape[0] > 1:
            follow = merge_settled(p, delta, reach, merge_cell, leader, iterations, out_q, length, its)
            if follow is not None:
                rows = (~follow).nonzero()[:, 0]
                p = {k: v[rows] for k, v in p.items()}
                delta, predicted, length = delta[rows], predicted[rows], length[rows]
        xi, q, mu = p["x"], p["q"], p["mu"]
        xn = xi + delta
        fn, an = fmap.step_and_jacobian(xn)
        gn = fn - xn
        qn = 0.5 * gn.square().sum(-1)
        ok = qn < q  # False for a NaN qn
        lm = mu > 0
        if bool(lm.any()):
            nu = p["nu"]
            rho = (q - qn) / predicted.clamp_min(tiny)
            factor = torch.clamp(1 - (2 * rho - 1) ** 3, min=1 / 3)
            p["nu"] = torch.where(lm & ~ok, nu * 2, torch.full_like(nu, 2.0))
            mu = torch.where(lm, torch.where(ok, mu * factor, mu * nu), mu)
        newton_failed = ~(lm | ok)
        if bool(newton_failed.any()):  # a Newton step that did not lower q: Levenberg-Marquardt next
            mu = mu.masked_fill(newton_failed, MU0)
        p["mu"] = mu
        capped = ok & ~lm & (length >= p["radius"] * (1 - 1e-9))
        p["radius"] = torch.where(capped, 2 * p["radius"], p["radius"])  # a shortened step that paid: longer
        an.diagonal(dim1=-2, dim2=-1).sub_(1.0)
        rej = (~ok).nonzero()[:, 0]
        if rej.numel() < len(ok):  # the trial arrays become the state; rejected points keep their old rows
            if rej.numel():
                an[rej], xn[rej], gn[rej], qn[rej] = p["a"][rej], xi[rej], p["g"][rej], q[rej]
            p["a"], p["x"], p["g"], p["q"] = an, xn, gn, qn
        xi, q = p["x"], p["q"]
        its += 1
        done = q <= tol_q
        stop = done | (length <= stall * (1 + xi.norm(dim=-1)))
        stop |= ~ok & (mu > 1e12)  # no descent left: a local minimum of q (or its floating floor)
        if its % PROGRESS_WINDOW == 0:
            stop |= ~done & (q > PROGRESS_FACTOR * p["q_mark"])
            p["q_mark"] = q
        if slow_tol is not None and its % HOPELESS_WINDOW == 0:
            stop |= (q > slow_tol) & (q > PROGRESS_FACTOR * p["q_short"])
            p["q_short"] = q
        if its >= max_iters:
            stop |= ~done
        keep = ~stop
    while bool((leader[leader] != leader).any()):  # a leader that later followed another
        leader = leader[leader]
    x, q = out_x[leader], out_q[leader]
    return Solution(x, q, iterations[leader], q <= tol_q)


RECYCLE_MAX = 32 << 20  # glibc raises its dynamic mmap threshold to at most 32 MB (64-bit)


def recycle_pages(nbytes: int) -> None:
    """Allocate and free one untouched block of min(nbytes, RECYCLE_MAX) bytes (no page is touched, so
    it costs nothing), so that the search's per-iteration arrays are recycled from the heap.

    glibc's malloc maps blocks above its mmap threshold (128 KB at first) with their own pages and, when
    such a block is freed, raises the threshold to its size and the heap's trim threshold to twice that
    (mallopt(3), "M_MMAP_THRESHOLD"). A search over 1024 points of D = 16 holds several fresh 2 MB
    arrays per iteration (Jacobians, factors); with the thresholds where a 2 MB block leaves them, the heap
    is trimmed and re-grown every iteration, and every page comes back as a page fault (~2,500 per
    flip-flop search, a fifth of its time). Other allocators ignore the hint: it is one alloc and free."""
    torch.empty(min(nbytes, RECYCLE_MAX), dtype=torch.uint8)


def polish(fmap: StepMap, x: np.ndarray, q: np.ndarray, tol_q: float, steps: int = 2):
    """Up to `steps` more steps on converged points x (K, D) with q (K,), until q <= tol_q * min(tol_q,
    POLISHED) (float64 precision at the default tol_q) -> (x, q) improved copies. Run once on the unique
    fixed points rather than on every start inside the search: one plain Newton step for all, then
    `newton_lm` (Levenberg-Marquardt where A is singular, e.g. on a line attractor) for any still above."""
    if len(x) == 0:
        return x, q
    target = tol_q * min(tol_q, POLISHED)
    with torch.inference_mode():
        xt = fmap.tensor(x)
        f, a = fmap.step_and_jacobian(xt)
        a.diagonal(dim1=-2, dim2=-1).sub_(1.0)
        xn = xt + newton_solve(a, f - xt)[0]
        qn = 0.5 * (fmap.step(xn) - xn).square().sum(-1)
    x, q = _better(x, q, xn, qn)
    rest = q > target
    if rest.any():
        sol = newton_lm(fmap, fmap.tensor(x[rest]), tol_q=target, max_iters=steps)
        x[rest], q[rest] = _better(x[rest], q[rest], sol.x, sol.q)
    return x, q


def _better(x: np.ndarray, q: np.ndarray, xn: Tensor, qn: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Where qn (K,) < q (K,) (never for a NaN), xn (K, D) and qn replace x and q: new arrays."""
    xn, qn = xn.cpu().numpy().astype(np.float64), qn.cpu().numpy().astype(np.float64)
    better = qn < q
    return np.where(better[:, None], xn, x), np.where(better, qn, q)


def newton_solve(a: Tensor, g: Tensor) -> tuple[Tensor, Tensor]:
    """δ (M, D) from A δ = -g for A (M, D, D), g (M, D), and LAPACK's info (M,) (> 0: A singular).

    The LU factors Aᵀ, which is A's own memory read column-major (LAPACK's layout), and solves with its
    adjoint: no transposing copy of the M matrices, ~13 % less time than `solve_ex` on 1024 16 x 16."""
    lu, pivots, info = torch.linalg.lu_factor_ex(a.mT)
    return torch.linalg.lu_solve(lu, pivots, g.neg()[..., None], adjoint=True)[..., 0], info


def _directions(p: dict) -> tuple[Tensor, Tensor, Tensor]:
    """Each active point's step δ (M, D) — Newton's (within its trust radius) for Newton-mode points,
    Levenberg-Marquardt's for the others —, the decrease of q the linear model predicts (M,) (NaN for
    Newton steps) and |δ| (M,). A Newton-mode point whose A is singular turns to Levenberg-Marquardt here
    (p["mu"] is updated in place). While most points are in Newton mode every point gets one LU solve
    (a gather of the others would cost more than their wasted solves)."""
    a, g, mu = p["a"], p["g"], p["mu"]
    predicted = torch.full_like(p["q"], float("nan"))
    lm = mu > 0
    n_lm = int(lm.sum())
    if n_lm < len(g):
        if 2 * n_lm <= len(g):
            delta, info = newton_solve(a, g)
        else:
            rows = (~lm).nonzero()[:, 0]
            delta, info = torch.zeros_like(g), torch.zeros(len(g), dtype=torch.int32, device=g.device)
            delta[rows], info[rows] = newton_solve(a[rows], g[rows])
        norm = delta.norm(dim=-1)
        failed = ~lm & ((info != 0) | ~norm.isfinite())
        scale = (p["radius"] / norm).clamp_(max=1.0)  # long steps shortened
        delta.mul_(scale[:, None])
        length = norm.mul_(scale)
        if bool(failed.any()):
            mu[failed] = MU0
            lm |= failed
            n_lm = int(lm.sum())
    else:
        delta, length = torch.empty_like(g), torch.empty_like(p["q"])
    if n_lm:
        rows = lm.nonzero()[:, 0]
        ar = a[rows]
        art = ar.transpose(-1, -2)
        delta[rows], predicted[rows] = lm_step(art @ ar, (art @ g[rows][..., None])[..., 0], mu[rows])
        length[rows] = delta[rows].norm(dim=-1)
    return delta, predicted, length


def merge_settled(p, delta, reach, cell, leader, iterations, out_q, length=None, its=0):
    """Merge Newton-mode points whose step is at most `reach` long and whose next iterates share a grid
    cell of side `cell`: returns the followers (M,) bool (None when none), recording their leaders and
    results (`its`: the iterations every active point has taken). length: |δ| (M,) when already known."""
    length = delta.norm(dim=-1) if length is None else length
    settled = ((p["mu"] == 0) & (length <= reach)).nonzero()[:, 0]
    if settled.numel() < 2:
        return None
    dup, pos = duplicates(p["x"][settled] + delta[settled], cell)
    if not bool(dup.any()):
        return None
    rows, lead = settled[dup], settled[pos[dup]]
    idx = p["idx"]
    leader[idx[rows]] = idx[lead]
    iterations[idx[rows]] = its
    out_q[idx[rows]] = p["q"][rows]
    follow = torch.zeros(len(idx), dtype=torch.bool, device=idx.device)
    follow[rows] = True
    return follow
