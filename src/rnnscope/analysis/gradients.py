"""Gradient flow through time: pure functions on gradient norms, gates, Jacobians and accuracies.

Key: B = sequences, T = time steps, K = distances from the readout step (k = 0 is the step the
classifier reads), H = units, S = state size (H, or 2H for an LSTM's (h, c)), D = tested distances.
Distance k of step t in a sequence of length n is k = n - 1 - t. Everything is float64; NaN marks
steps past a sequence's end. Definitions: docs/gradients.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnscope.errors import BadArgument


def _lengths(lengths, b: int, t: int) -> np.ndarray:
    if lengths is None:
        return np.full(b, t, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.shape != (b,) or (b and (lengths.min() < 1 or lengths.max() > t)):
        raise BadArgument(f"lengths must have shape ({b},) with values in [1, {t}]")
    return lengths


def profile_stats(norms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (ddof 0) over sequences of norms (B, T), ignoring NaN -> (T,), (T,).

    Steps where no sequence is valid get NaN.
    """
    v = np.asarray(norms, dtype=np.float64)
    if v.ndim != 2:
        raise BadArgument(f"norms must have shape (sequences, time), got {v.shape}")
    n = np.sum(~np.isnan(v), axis=0)
    total = np.nansum(v, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        var = np.nansum((v - mean) ** 2, axis=0) / np.maximum(n, 1)
    return mean, np.where(n > 0, np.sqrt(var), np.nan)


def align_to_end(values: np.ndarray, lengths=None) -> np.ndarray:
    """values (B, T, ...) indexed by step -> (B, T, ...) indexed by distance k from each sequence's end.

    Column k holds step lengths - 1 - k; NaN where k >= the sequence's length.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim < 2:
        raise BadArgument(f"values must have shape (sequences, time, ...), got {v.shape}")
    b, t = v.shape[:2]
    lengths = _lengths(lengths, b, t)
    step = lengths[:, None] - 1 - np.arange(t)[None, :]  # (B, K)
    out = np.take_along_axis(v, np.clip(step, 0, t - 1).reshape(b, t, *([1] * (v.ndim - 2))), axis=1).copy()
    out[step < 0] = np.nan
    return out


@dataclass(frozen=True)
class DecayFit:
    """log g(k) = intercept + k log(factor), least squares over the finite positive points.

    factor: per-step decay factor (< 1 vanishing, > 1 exploding). r2: of the line on log g.
    half_life: steps for g to halve, ln 2 / -ln(factor); inf when factor >= 1. NaN fields when fewer
    than two usable points.
    """

    factor: float
    r2: float
    half_life: float
    intercept: float
    n_points: int


def fit_decay(profile: np.ndarray, distances: np.ndarray | None = None) -> DecayFit:
    """Fit the per-step decay factor of a gradient profile g (K,) against distance (default 0..K-1)."""
    g = np.asarray(profile, dtype=np.float64)
    if g.ndim != 1:
        raise BadArgument(f"profile must have shape (distances,), got {g.shape}")
    k = np.arange(len(g), dtype=np.float64) if distances is None else np.asarray(distances, dtype=np.float64)
    if k.shape != g.shape:
        raise BadArgument(f"distances must have shape {g.shape}, got {k.shape}")
    use = np.isfinite(g) & (g > 0) & np.isfinite(k)
    if use.sum() < 2 or np.ptp(k[use]) == 0:
        return DecayFit(math.nan, math.nan, math.nan, math.nan, int(use.sum()))
    x, y = k[use], np.log(g[use])
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    ss_res, ss_tot = float(resid @ resid), float(((y - y.mean()) ** 2).sum())
    r2 = (
        1.0 - ss_res / ss_tot if ss_tot > 1e-24 * max(1.0, float(y @ y)) else (1.0 if ss_res < 1e-18 else 0.0)
    )
    factor = float(np.exp(slope))
    half_life = math.log(2) / -slope if slope < 0 else math.inf
    return DecayFit(factor, float(r2), float(half_life), float(intercept), int(use.sum()))


def check_epsilon(epsilon: float) -> float:
    eps = float(epsilon)
    if not 0.0 < eps < 1.0:
        raise BadArgument(f"epsilon must lie in (0, 1), got {epsilon}")
    return eps


@dataclass(frozen=True)
class GradientContext:
    """Effective context (a): the largest distance k whose normalised gradient g(j)/g(0) stays >= epsilon
    for every j <= k. None when g(0) is not positive. censored: the profile never fell below epsilon
    within the measured distances (the context is at least `context`)."""

    context: int | None
    censored: bool
    epsilon: float
    normalised: np.ndarray  # (K,) g(k) / g(0)


def gradient_context(profile: np.ndarray, epsilon: float = 1e-3) -> GradientContext:
    """Effective context (a) from a gradient profile by distance g (K,), g[0] at the readout step."""
    eps = check_epsilon(epsilon)
    g = np.asarray(profile, dtype=np.float64)
    if g.ndim != 1 or len(g) == 0:
        raise BadArgument(f"profile must have shape (distances,) with at least one distance, got {g.shape}")
    if not (np.isfinite(g[0]) and g[0] > 0):
        return GradientContext(None, False, eps, np.full_like(g, np.nan))
    norm = g / g[0]
    for k in range(1, len(g)):
        if np.isnan(norm[k]):  # no sequence reaches this far: the measurement ends here
            return GradientContext(k - 1, True, eps, norm)
        if norm[k] < eps:
            return GradientContext(k - 1, False, eps, norm)
    return GradientContext(len(g) - 1, True, eps, norm)


@dataclass(frozen=True)
class BehaviouralContext:
    """Effective context (b): the largest tested distance d such that every tested distance <= d keeps a
    chance-corrected accuracy >= fraction x that at the shortest distance (inclusive). Distances without
    a finite value are skipped, not failed. None when the shortest distance is itself at or below chance.
    censored: every tested distance passed (the context is at least `context`)."""

    context: int | None
    censored: bool
    reference_distance: int | None  # the shortest distance with a finite value
    threshold: float  # fraction x chance-corrected accuracy at the reference distance
    distances: np.ndarray  # (D,) sorted
    corrected: np.ndarray  # (D,) chance-corrected accuracy, (acc - chance) / (1 - chance)


def _check_distances(distances) -> np.ndarray:
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 1 or len(d) == 0:
        raise BadArgument(f"distances must have shape (D,) with D >= 1, got {d.shape}")
    if not (np.all(np.isfinite(d)) and np.all(d >= 1) and np.all(d == np.round(d))):
        raise BadArgument("distances must be positive integers")
    if len(np.unique(d)) != len(d):
        raise BadArgument("distances must not repeat")
    return d.astype(np.int64)


def _curve(values, n: int, name: str) -> np.ndarray:
    """(D,) or (seeds, D) -> the NaN-mean over seeds (D,)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 2 and v.shape[1] == n:
        cols = ~np.all(np.isnan(v), axis=0)
        mean = np.full(n, np.nan)
        mean[cols] = np.nanmean(v[:, cols], axis=0)
        v = mean
    if v.shape != (n,):
        raise BadArgument(f"{name} must have shape ({n},) or (seeds, {n}), got {np.shape(values)}")
    return v


def context_from_corrected(
    distances, corrected, *, fraction: float = 0.9, min_solved: float = 0.1
) -> BehaviouralContext:
    """Effective context (b) from a chance-corrected accuracy curve: distances (D,), corrected (D,) or
    (seeds, D) (NaN-mean over seeds).

    The shortest distance must be solved (chance-corrected accuracy >= min_solved, i.e. clearly above
    chance, not by a sampling wobble); otherwise there is no context to report (None)."""
    d = _check_distances(distances)
    cc = _curve(corrected, len(d), "corrected")
    if not 0.0 < fraction <= 1.0:
        raise BadArgument(f"fraction must lie in (0, 1], got {fraction}")
    order = np.argsort(d)
    d, cc = d[order], cc[order]
    finite = np.flatnonzero(np.isfinite(cc))
    if len(finite) == 0 or not cc[finite[0]] >= max(min_solved, 1e-12):
        ref = int(d[finite[0]]) if len(finite) else None
        thr = fraction * cc[finite[0]] if len(finite) else math.nan
        return BehaviouralContext(None, False, ref, float(thr), d, cc)
    threshold = fraction * cc[finite[0]]
    floor = threshold - 1e-12  # inclusive, robust to rounding (0.9 * 0.8 > 0.72 in floats)
    best = int(d[finite[0]])
    for i in finite:
        if cc[i] < floor:
            return BehaviouralContext(best, False, int(d[finite[0]]), float(threshold), d, cc)
        best = int(d[i])
    return BehaviouralContext(best, True, int(d[finite[0]]), float(threshold), d, cc)


def behavioural_context(distances, accuracy, n_classes: int, *, fraction: float = 0.9) -> BehaviouralContext:
    """Effective context (b) from a sweep's accuracies: distances (D,), accuracy (D,) or (seeds, D) in
    [0, 1] (NaN = missing), chance = 1 / n_classes."""
    d = _check_distances(distances)
    acc = _curve(accuracy, len(d), "accuracy")
    if np.any((acc < 0) | (acc > 1)):
        raise BadArgument("accuracy must lie in [0, 1]")
    if int(n_classes) < 2:
        raise BadArgument(f"n_classes must be at least 2, got {n_classes}")
    chance = 1.0 / int(n_classes)
    return context_from_corrected(d, (acc - chance) / (1.0 - chance), fraction=fraction)


def gate_highway(gate: np.ndarray, lengths=None) -> np.ndarray:
    """Gate-only carry from step t to the readout: Π_{s=t+1}^{n-1} gate_s per unit.

    gate (B, T, H) -> (B, T, H).

    For an LSTM's forget gate f this is ∂c_{n-1}/∂c_t along the cell path alone; for PyTorch's GRU
    (h' = (1 - z) n + z h) the carry gate is z. 1 at the last step; NaN past each sequence's end.
    """
    g = np.asarray(gate, dtype=np.float64)
    if g.ndim != 3:
        raise BadArgument(f"gate must have shape (sequences, time, units), got {g.shape}")
    b, t, _ = g.shape
    lengths = _lengths(lengths, b, t)
    valid = np.arange(t)[None, :] < lengths[:, None]
    with np.errstate(divide="ignore"):
        logs = np.where(valid[..., None], np.log(g), 0.0)
    inclusive = np.cumsum(logs[:, ::-1], axis=1)[:, ::-1]  # Σ_{s >= t} log gate_s
    after = np.concatenate([inclusive[:, 1:], np.zeros_like(inclusive[:, :1])], axis=1)  # Σ_{s > t}
    out = np.exp(after)
    out[~valid] = np.nan
    return out


def jacobian_norms(jac: np.ndarray, lengths=None) -> np.ndarray:
    """Spectral norms ‖∂s_t/∂s_{t-1}‖₂ of per-step Jacobians jac (B, T, S, S) -> (B, T), NaN past the end."""
    j = np.asarray(jac, dtype=np.float64)
    if j.ndim != 4 or j.shape[2] != j.shape[3]:
        raise BadArgument(f"jac must have shape (sequences, time, state, state), got {j.shape}")
    b, t = j.shape[:2]
    lengths = _lengths(lengths, b, t)
    valid = np.arange(t)[None, :] < lengths[:, None]
    out = np.full((b, t), np.nan)
    out[valid] = spectral_norm(j[valid])
    return out


def spectral_norm(m: np.ndarray) -> np.ndarray:
    """Largest singular value of each matrix (..., S, S), as sqrt of the top eigenvalue of MᵀM (about twice
    as fast as an SVD; relative precision ~1e-15 for the largest singular value)."""
    m = np.asarray(m, dtype=np.float64)
    if m.size == 0:
        return np.zeros(m.shape[:-2])
    top = np.linalg.eigvalsh(np.swapaxes(m, -1, -2) @ m)[..., -1]
    return np.sqrt(np.clip(top, 0.0, None))


def jacobian_product_norms(jac: np.ndarray, lengths=None) -> np.ndarray:
    """‖∂s_{n-1}/∂s_t‖₂ = ‖J_{n-1} ⋯ J_{t+1}‖₂ for each step t, jac (B, T, S, S) -> (B, T).

    1 at the last step (the empty product); NaN past the end. The product is rescaled every step and
    its scale carried as a logarithm, so long vanishing or exploding products do not under/overflow
    before the final exp.
    """
    j = np.asarray(jac, dtype=np.float64)
    if j.ndim != 4 or j.shape[2] != j.shape[3]:
        raise BadArgument(f"jac must have shape (sequences, time, state, state), got {j.shape}")
    b, t, s, _ = j.shape
    lengths = _lengths(lengths, b, t)
    out = np.full((b, t), np.nan)
    prod = np.broadcast_to(np.eye(s), (b, s, s)).copy()
    log_scale = np.zeros(b)
    rows = np.arange(b)
    for k in range(t):  # distance k from each sequence's end
        step = lengths - 1 - k
        live = step >= 0
        if not live.any():
            break
        norms = spectral_norm(prod[live])
        with np.errstate(divide="ignore", over="ignore"):
            out[rows[live], step[live]] = np.exp(log_scale[live] + np.log(norms))
        nxt = live & (step >= 1)
        if nxt.any():
            p = prod[nxt] @ j[rows[nxt], step[nxt]]
            scale = np.linalg.norm(p, axis=(-2, -1))
            scale = np.where(scale > 0, scale, 1.0)
            prod[nxt] = p / scale[:, None, None]
            log_scale[nxt] += np.log(scale)
    return out
