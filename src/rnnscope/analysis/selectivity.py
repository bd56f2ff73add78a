"""How a unit depends on its input: class selectivity, integration of evidence, drive by recent inputs.

Key: S = sequences, T = time steps, U = units, C = input channels, K = classes, E = evidence signals,
P = label shuffles.

selectivity: one-way ANOVA of a per-sequence response of each unit across classes (or any grouping of
    sequences by input pattern), with a label-shuffle null. Three responses are tried, the mean over
    the valid steps (sustained coding) and the maximum and minimum over them (a transient bump up or
    down, at whatever step it comes); the statistic is the largest F of the three, and the shuffle null
    takes the same maximum, so trying several costs no false positives. Reported: F; eta^2 =
    between-class over total sum of squares (the fraction of the response variance explained by the
    class, 0..1, comparable across data sizes); p = (1 + #null F >= F) / (1 + P); z = (F - null mean)
    / null std.
integration: the correlation of a unit with cumulative evidence (S, T), pooled over valid steps after
    centring both across trials at each step (so a time course shared by all sequences, e.g. a ramp
    with the clock, does not count), compared with the correlation with the momentary evidence (its
    increments): an integrator correlates more with the sum than with the increments, an input
    follower the other way round.
input_drive: the fraction of a unit's variance explained by a linear function of the last `lags` steps
    of input (ridge regression pooled over valid steps, adjusted R^2; its in-sample bias is removed
    to first order by the adjustment, (1 - R^2)(N - 1) / (N - p - 1)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope.analysis.stats import check_activity, check_aligned, check_labels, sequence_chunks
from rnnscope.errors import BadArgument


@dataclass(frozen=True)
class Selectivity:
    """Per unit (U,): f (ANOVA F), eta2 (0..1), p (shuffle p-value), z (vs the shuffle null),
    response ("mean", "max" or "min": the response that gave the largest F)."""

    f: np.ndarray
    eta2: np.ndarray
    p: np.ndarray
    z: np.ndarray
    response: np.ndarray


@dataclass(frozen=True)
class Integration:
    """Per unit (U,): cumulative and instantaneous |correlation| (0..1) and which evidence signal (0..E-1)
    gave the largest cumulative correlation."""

    cumulative: np.ndarray
    instantaneous: np.ndarray
    signal: np.ndarray


RESPONSES = ("mean", "max", "min")


def selectivity(
    h: np.ndarray,
    labels: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    responses: tuple[str, ...] = RESPONSES,
    n_shuffles: int = 200,
    seed: int = 0,
) -> Selectivity:
    """Class selectivity of each unit of h (S, T, U) given labels (S,) (any hashable class values).

    Needs at least 2 classes with at least 2 sequences each and more sequences than classes.
    """
    h, mask = check_activity(h, mask)
    s, _, u = h.shape
    codes = check_labels(labels, s)
    k = int(codes.max()) + 1
    if s <= k:
        raise BadArgument(f"labels: need more sequences than classes, got {s} sequences and {k} classes")
    if not responses or any(r not in RESPONSES for r in responses):
        raise BadArgument(f"responses must be a non-empty subset of {RESPONSES}, got {responses}")
    if n_shuffles < 1:
        raise BadArgument(f"n_shuffles must be at least 1, got {n_shuffles}")
    r = np.stack([_response(h, mask, name) for name in responses])  # (R, S, U)
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    total = r.sum(axis=1)  # (R, U)
    sst = ((r - total[:, None] / s) ** 2).sum(axis=1)  # (R, U), unchanged by shuffling

    def f_stat(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sums = _class_sums(r, c, k)  # (R, U, K)
        ssb = (sums**2 / counts).sum(axis=-1) - total**2 / s  # (R, U)
        ssb = np.clip(ssb, 0, sst)
        with np.errstate(invalid="ignore", divide="ignore"):
            f = (ssb / (k - 1)) / ((sst - ssb) / (s - k))
        f = np.where(sst > 0, np.nan_to_num(f, nan=0.0, posinf=np.finfo(float).max), 0.0)
        return f, np.where(sst > 0, ssb / np.where(sst > 0, sst, 1), 0.0)

    f_all, eta_all = f_stat(codes)
    best = np.argmax(f_all, axis=0)  # (U,)
    f = f_all.max(axis=0)
    rng = np.random.default_rng(seed)
    null = np.stack([f_stat(rng.permutation(codes))[0].max(axis=0) for _ in range(n_shuffles)])  # (P, U)
    p = (1 + (null >= f).sum(axis=0)) / (1 + n_shuffles)
    sd = null.std(axis=0)
    z = np.where(sd > 0, (f - null.mean(axis=0)) / np.where(sd > 0, sd, 1), 0.0)
    return Selectivity(f=f, eta2=eta_all[best, np.arange(u)], p=p, z=z, response=np.asarray(responses)[best])


def integration(
    h: np.ndarray,
    evidence: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    instantaneous: np.ndarray | None = None,
) -> Integration:
    """Correlation of each unit of h (S, T, U) with cumulative evidence (S, T) or (S, T, E).

    instantaneous: the momentary evidence, same shape; default the increments of evidence
    (evidence[t] - evidence[t - 1], evidence[0] at t = 0). With several evidence signals, each unit
    reports the one it correlates with most.
    """
    h, mask = check_activity(h, mask, min_sequences=2)
    ev = check_aligned(evidence, "evidence", mask, "signals")
    if instantaneous is None:
        inst = np.diff(ev, axis=1, prepend=0.0) * mask[:, :, None]
    else:
        inst = check_aligned(instantaneous, "instantaneous", mask, "signals")
        if inst.shape != ev.shape:
            raise BadArgument(f"instantaneous must have the shape of evidence {ev.shape}, got {inst.shape}")
    hc = _centre_across_trials(h, mask)
    r_cum = _pooled_corr(hc, _centre_across_trials(ev, mask))  # (U, E)
    r_inst = _pooled_corr(hc, _centre_across_trials(inst, mask))
    best = np.argmax(np.nan_to_num(r_cum, nan=-1.0), axis=1)
    rows = np.arange(h.shape[2])
    return Integration(cumulative=r_cum[rows, best], instantaneous=r_inst[rows, best], signal=best)


def input_drive(
    h: np.ndarray, inputs: np.ndarray, mask: np.ndarray | None = None, *, lags: int = 10, ridge: float = 1e-6
) -> np.ndarray:
    """Adjusted R^2 (U,) of each unit of h (S, T, U) regressed on inputs (S, T, C) at lags 0..lags-1.

    Inputs before the first step or at padded steps count as 0. ridge: added to the diagonal of the
    normal equations, relative to their mean diagonal, for numerical safety only.
    """
    h, mask = check_activity(h, mask)
    x = check_aligned(inputs, "inputs", mask, "channels")
    if lags < 1:
        raise BadArgument(f"lags must be at least 1, got {lags}")
    s, t, u = h.shape
    c = x.shape[2]
    p = c * lags
    n = int(mask.sum())
    if n <= p + 1:
        raise BadArgument(f"inputs: need more valid steps than lagged features ({p}), got {n}")
    xtx = np.zeros((p + 1, p + 1))
    xty = np.zeros((p + 1, u))
    sum_y = np.zeros(u)
    sum_yy = np.zeros(u)
    for sl in sequence_chunks(s, t * (p + u)):
        xs = x[sl]
        feats = [np.pad(xs, ((0, 0), (lag, 0), (0, 0)))[:, :t] for lag in range(lags)]
        phi = np.concatenate(feats + [np.ones(xs.shape[:2] + (1,))], axis=2)[mask[sl]]  # (n', p + 1)
        y = h[sl][mask[sl]]  # (n', U)
        xtx += phi.T @ phi
        xty += phi.T @ y
        sum_y += y.sum(axis=0)
        sum_yy += (y * y).sum(axis=0)
    reg = ridge * np.trace(xtx) / (p + 1) * np.eye(p + 1)
    beta = np.linalg.solve(xtx + reg, xty)
    sst = sum_yy - sum_y**2 / n
    sse = sum_yy - 2 * (beta * xty).sum(axis=0) + (beta * (xtx @ beta)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = 1 - np.clip(sse, 0, None) / sst
        adj = 1 - (1 - r2) * (n - 1) / (n - p - 1)
    return np.where(sst > 1e-12 * np.maximum(sum_yy, 1e-300), np.clip(adj, -np.inf, 1.0), np.nan)


def _response(h: np.ndarray, mask: np.ndarray, name: str) -> np.ndarray:
    """Per-sequence response (S, U): the mean, maximum or minimum of h over the valid steps."""
    if name == "mean":
        return h.sum(axis=1) / mask.sum(axis=1)[:, None]
    if name == "max":
        return np.where(mask[:, :, None], h, -np.inf).max(axis=1)
    return np.where(mask[:, :, None], h, np.inf).min(axis=1)


def _class_sums(r: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Sum of responses r (R, S, U) per class: (R, U, K)."""
    onehot = np.zeros((len(codes), k))
    onehot[np.arange(len(codes)), codes] = 1.0
    return np.einsum("rsu,sk->ruk", r, onehot)


def _centre_across_trials(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """x (S, T, K) minus its mean over the sequences valid at each step; zero at padding."""
    mean_t = x.sum(axis=0) / np.maximum(mask.sum(axis=0), 1)[:, None]  # x is 0 at padding
    return x - mean_t if mask.all() else np.where(mask[:, :, None], x - mean_t, 0.0)


def _pooled_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|correlation| (A, B) between the last axes of a (S, T, A) and b (S, T, B), pooled over S and T."""
    a2, b2 = a.reshape(-1, a.shape[2]), b.reshape(-1, b.shape[2])
    num = a2.T @ b2
    den = np.sqrt(np.einsum("na,na->a", a2, a2)[:, None] * np.einsum("nb,nb->b", b2, b2)[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, np.abs(num) / np.where(den > 0, den, 1), np.nan)
