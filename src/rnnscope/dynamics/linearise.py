"""Linearised dynamics around points of a discrete-time map x_{t+1} = F(x_t), from its Jacobians.

Near a fixed point x*, δ_{t+1} ≈ J δ_t: each eigenvalue λ of J is a mode that shrinks (|λ| < 1) or grows
(|λ| > 1) by |λ| per step and turns by arg λ per step. Quantities per mode:
    time constant  τ = -1 / ln|λ|   steps to change by a factor e (inf at |λ| = 1; negative: growth time)
    period         P = 2π / |arg λ|  steps per turn (inf for real λ > 0; 2 for real λ < 0: alternation)
    loadings       |v_i| / ||v||     how much state entry (unit) i takes part in the mode (v: eigenvector)
Modes are sorted by |λ|, largest first, so the slowest (or unstable) modes lead.

A continuous attractor shows up as many slow or marginal points spread along a manifold:
`slow_set_dimension` counts the principal components its spread needs (a line attractor: 1).

Key: N = points, D = state size, M = modes kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Linearisation:
    """eigenvalues (N, D) complex, sorted by |λ| descending; eigenvectors (N, D, D) complex, column k is
    the right eigenvector of eigenvalue k, unit norm."""

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    @property
    def time_constants(self) -> np.ndarray:
        return time_constants(self.eigenvalues)

    @property
    def periods(self) -> np.ndarray:
        return periods(self.eigenvalues)

    def loadings(self, n_modes: int) -> np.ndarray:
        return mode_loadings(self.eigenvectors, n_modes)


def linearise(jacobians: np.ndarray) -> Linearisation:
    """Eigen-decomposition of each Jacobian: (N, D, D) real -> Linearisation, modes by |λ| descending."""
    jacobians = np.asarray(jacobians, dtype=np.float64)
    if jacobians.shape[0] == 0:
        d = jacobians.shape[-1]
        return Linearisation(np.zeros((0, d), complex), np.zeros((0, d, d), complex))
    # torch's LAPACK (MKL in the CPU wheels) is ~10x faster than numpy's here (docs/fixedpoints.md)
    values, vectors = (t.numpy() for t in torch.linalg.eig(torch.from_numpy(jacobians)))
    # |λ| descending; ties (a complex pair) by imaginary part descending, so +ω comes before -ω
    order = np.lexsort((-values.imag, -np.round(np.abs(values), 12)), axis=-1)
    values = np.take_along_axis(values, order, axis=-1)
    vectors = np.take_along_axis(vectors, order[:, None, :], axis=-1)
    return Linearisation(values.astype(np.complex128), vectors.astype(np.complex128))


def time_constants(eigenvalues: np.ndarray) -> np.ndarray:
    """τ = -1/ln|λ| in steps (same shape): 0 at λ = 0, inf at |λ| = 1, negative for growing modes."""
    mag = np.abs(eigenvalues)
    with np.errstate(divide="ignore"):
        log = np.log(mag)
        return np.where(log == 0, np.inf, -1.0 / np.where(log == 0, 1.0, log))


def periods(eigenvalues: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """P = 2π / |arg λ| in steps (same shape): inf where λ is real and positive (|arg λ| <= tol)."""
    angle = np.abs(np.angle(eigenvalues))
    return np.where(angle <= tol, np.inf, 2 * np.pi / np.where(angle <= tol, 1.0, angle))


def mode_loadings(eigenvectors: np.ndarray, n_modes: int) -> np.ndarray:
    """|v_i| / ||v|| of the first `n_modes` modes: (N, D, D) -> (N, n_modes, D), each row unit norm."""
    v = np.abs(eigenvectors[..., :n_modes])  # (N, D, M)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return np.swapaxes(v / np.where(norm == 0, 1.0, norm), 1, 2)


def slow_set_dimension(
    points: np.ndarray, var_threshold: float = 0.95, min_spread: float = 1e-3
) -> tuple[int, np.ndarray]:
    """The dimension of a set of slow / marginal points (M, D) and its explained-variance ratios (r,).

    The number of principal components needed to explain `var_threshold` of the points' variance; 0 when
    there are fewer than two points or their RMS spread is under `min_spread` (one point, numerically).
    """
    points = np.asarray(points, dtype=np.float64)
    if len(points) < 2:
        return 0, np.zeros(0)
    centred = points - points.mean(axis=0)
    sing = np.linalg.svd(centred, compute_uv=False)
    var = sing**2
    total = var.sum()
    if np.sqrt(total / len(points)) < min_spread:
        return 0, np.zeros(0)
    ratio = var / total
    return int(np.searchsorted(np.cumsum(ratio), var_threshold - 1e-12) + 1), ratio
