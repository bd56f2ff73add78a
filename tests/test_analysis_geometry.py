"""PCA of trajectories against a direct SVD, participation ratio on known spectra, class trajectories.

Key: S = sequences, T = time steps, U = units, k = components, K = classes.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnscope.analysis import class_trajectories, pca, project


def test_pca_matches_svd_of_pooled_centred_steps_with_padding():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((12, 30, 6)) @ rng.standard_normal((6, 6))
    mask = np.arange(30) < rng.integers(5, 31, 12)[:, None]
    res = pca(np.where(mask[:, :, None], h, np.nan), mask, n_components=3)
    x = h[mask]
    x = x - x.mean(axis=0)
    _, sv, vt = np.linalg.svd(x, full_matrices=False)
    lam = sv**2 / len(x)
    np.testing.assert_allclose(res.explained_variance, lam[:3], rtol=1e-9)
    np.testing.assert_allclose(res.explained_variance_ratio, lam[:3] / lam.sum(), rtol=1e-9)
    np.testing.assert_allclose(np.abs(res.components @ vt[:3].T), np.eye(3), atol=1e-8)
    np.testing.assert_allclose(res.participation_ratio, lam.sum() ** 2 / (lam**2).sum(), rtol=1e-9)
    assert res.n_samples == mask.sum()
    z = project(h, res, mask)
    assert z.shape == (12, 30, 3) and np.isnan(z[~mask]).all()
    np.testing.assert_allclose(np.var(z[mask], axis=0), lam[:3], rtol=1e-9)


def test_participation_ratio_counts_equal_dimensions():
    rng = np.random.default_rng(1)
    latent = rng.standard_normal((200, 50, 3))
    basis = np.linalg.qr(rng.standard_normal((10, 3)))[0].T  # 3 orthonormal directions in 10 units
    res = pca(latent @ basis)
    np.testing.assert_allclose(res.participation_ratio, 3.0, rtol=0.02)
    np.testing.assert_allclose(res.explained_variance_ratio[:3].sum(), 1.0, rtol=1e-9)


def test_class_trajectories_are_per_class_means_in_pc_space():
    rng = np.random.default_rng(2)
    labels = np.array(["a", "b"] * 10)
    t = np.arange(25)
    direction = np.where(labels == "a", 1.0, -1.0)[:, None, None]
    h = direction * np.stack([np.sin(t / 4), np.cos(t / 4), 0 * t], axis=1)[
        None
    ] + 0.01 * rng.standard_normal((20, 25, 3))
    res = pca(h, n_components=2)
    z = project(h, res)
    classes, means = class_trajectories(z, labels)
    assert list(classes) == ["a", "b"] and means.shape == (2, 25, 2)
    np.testing.assert_allclose(means[0], z[labels == "a"].mean(axis=0))
    np.testing.assert_allclose(means[0], -means[1], atol=0.02)  # mirror-image trajectories


def test_errors():
    with pytest.raises(ValueError, match=r"h must have shape \(sequences, time, units\)"):
        pca(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="n_components"):
        pca(np.zeros((5, 4, 3)), n_components=4)
    with pytest.raises(ValueError, match="at least 2 valid steps"):
        pca(np.zeros((1, 1, 3)))
    res = pca(np.random.default_rng(0).standard_normal((5, 4, 3)))
    with pytest.raises(ValueError, match="h must have 3 units"):
        project(np.zeros((5, 4, 2)), res)
