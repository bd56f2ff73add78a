"""Population geometry: PCA of trajectories, participation ratio, class-mean trajectories in PC space.

Key: S = sequences, T = time steps, U = units, k = components kept, K = classes.

PCA pools the valid steps of all sequences as points in unit space, centres them on their mean and
diagonalises their covariance (U, U), accumulated sequence chunk by sequence chunk. That is the SVD of
the centred (steps, U) matrix (its right singular vectors, squared singular values / N) without ever
holding that matrix, so recordings with millions of steps fit in memory. Variances use ddof=0.
participation ratio = (sum lambda)^2 / sum lambda^2 over all U eigenvalues: 1 when one direction holds
all variance, U when variance is spread evenly; a continuous count of the dimensions in use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope.analysis.stats import check_activity, check_labels, sequence_chunks
from rnnscope.errors import BadArgument


@dataclass(frozen=True)
class PCA:
    """mean (U,); components (k, U), rows are unit-length principal axes, largest variance first
    (sign fixed so the largest-magnitude loading is positive); explained_variance (k,);
    explained_variance_ratio (k,) of the total variance; participation_ratio over all U eigenvalues;
    n_samples, the number of valid steps pooled."""

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    participation_ratio: float
    n_samples: int


def pca(h: np.ndarray, mask: np.ndarray | None = None, *, n_components: int | None = None) -> PCA:
    """PCA of the valid steps of h (S, T, U); n_components: k, default all U (at most U)."""
    h, mask = check_activity(h, mask, min_steps=1)
    s, t, u = h.shape
    n = int(mask.sum())
    if n < 2:
        raise BadArgument(f"h needs at least 2 valid steps for PCA, got {n}")
    k = u if n_components is None else int(n_components)
    if not 1 <= k <= u:
        raise BadArgument(f"n_components must be in [1, {u}], got {n_components}")
    mean = h.sum(axis=(0, 1)) / n
    cov = np.zeros((u, u))
    for sl in sequence_chunks(s, t * u):
        x = h[sl][mask[sl]] - mean  # (n', U)
        cov += x.T @ x
    cov /= n
    lam, vec = np.linalg.eigh(cov)
    lam, vec = np.clip(lam[::-1], 0, None), vec[:, ::-1]
    signs = np.sign(vec[np.argmax(np.abs(vec), axis=0), np.arange(u)])
    vec = vec * np.where(signs == 0, 1, signs)
    total = lam.sum()
    ratio = lam / total if total > 0 else np.zeros(u)
    pr = float(total**2 / (lam**2).sum()) if total > 0 else 0.0
    return PCA(
        mean=mean,
        components=vec[:, :k].T.copy(),
        explained_variance=lam[:k],
        explained_variance_ratio=ratio[:k],
        participation_ratio=pr,
        n_samples=n,
    )


def project(h: np.ndarray, result: PCA, mask: np.ndarray | None = None) -> np.ndarray:
    """Coordinates (S, T, k) of h (S, T, U) on the principal axes; NaN at padded steps."""
    h, mask = check_activity(h, mask)
    if h.shape[2] != result.mean.shape[0]:
        raise BadArgument(f"h must have {result.mean.shape[0]} units to match the PCA, got shape {h.shape}")
    z = (h - result.mean) @ result.components.T
    return np.where(mask[:, :, None], z, np.nan)


def class_trajectories(
    z: np.ndarray, labels: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean trajectory per class of z (S, T, k) (e.g. from `project`): returns classes (K,) and means
    (K, T, k), averaged over the sequences of the class valid at each step (NaN where there are none)."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 3:
        raise BadArgument(f"z must have shape (sequences, time, components), got {z.shape}")
    s, _t, _ = z.shape
    if mask is None:
        mask = ~np.isnan(z).any(axis=2)
    z, mask = check_activity(z, mask)
    codes = check_labels(labels, s, min_per_class=1)
    classes = np.unique(np.asarray(labels))
    means = []
    for c in range(len(classes)):
        rows = codes == c
        count = mask[rows].sum(axis=0)[:, None]  # (T, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means.append(np.where(count > 0, z[rows].sum(axis=0) / count, np.nan))
    return classes, np.stack(means)
