"""Timescale tau of each unit from its autocorrelation, estimated across trials.

Key: S = sequences (trials), T = time steps, U = units, K = largest lag.

Estimator (after Murray et al. 2014, "A hierarchy of intrinsic timescales across primate cortex"):

1. Centre across trials: subtract from h[s, t] the mean over the sequences valid at step t. What is
   left is each trial's fluctuation around the trial-averaged time course.
2. Pooled autocorrelation: for each lag k, the correlation of all valid pairs (h[s, t], h[s, t + k]),
   rho(k) = sum x_t x_{t+k} / sqrt(sum x_t^2 * sum x_{t+k}^2), summed over s and t (computed by FFT).
3. Fit rho(k) = A exp(-k / tau) over lags k = 1, 2, ... up to the first lag where rho falls below
   `floor` (default 0.2; lower floors add lags where rho is mostly noise and widen the spread of tau):
   a weighted least-squares line through log rho(k), weights rho(k)^2 (the inverse variance of
   log rho when rho itself has roughly constant variance). A is free, so white measurement noise,
   which only lowers every rho(k >= 1) by one factor, does not bias tau. With fewer than two lags
   above the floor, tau = -1 / log rho(1) (0 if rho(1) <= 0).

Bias. Centring across trials scales the covariance at every lag by the same (1 - 1/S) for independent
trials, so the ratio rho(k) stays unbiased in expectation; it costs nothing when tau is comparable to
T. Centring each sequence on its own mean instead (the textbook single-series estimator) subtracts the
variance of the sequence mean, about 2 tau / T in units of rho, from every lag, which shortens tau by
tens of percent once tau > T / 20; that is why it is not used. The price of across-trial centring:
a component locked to the trial (the same time course in every sequence, e.g. the response to a cue at
a fixed step) is removed and its timescale is not measured, and a constant per-sequence offset counts
as an infinitely slow fluctuation. Remaining biases: log rho is slightly biased down (Jensen) where
rho is small and noisy, and stopping at the first lag below the floor makes tau slightly short when
the noise in rho is large (few trials or steps). A unit whose rho never decays over the fitted lags
gets a long tau (inf if the fitted slope is not negative): read tau > K as "longer than measurable".
Units whose activity never varies get NaN.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from rnnscope.analysis.stats import check_activity, sequence_chunks
from rnnscope.errors import BadArgument


def autocorrelation(
    h: np.ndarray, mask: np.ndarray | None = None, *, max_lag: int | None = None
) -> np.ndarray:
    """Across-trial autocorrelation of each unit of h (S, T, U): returns rho (K + 1, U), rho[0] = 1.

    max_lag: K, the largest lag; default T // 2. Needs S >= 2 sequences and T >= 2 steps.
    """
    h, mask = check_activity(h, mask, min_sequences=2, min_steps=2)
    s, t, u = h.shape
    k = t // 2 if max_lag is None else int(max_lag)
    if not 1 <= k < t:
        raise BadArgument(f"max_lag must be in [1, {t - 1}] for h with {t} steps, got {max_lag}")
    m = mask.astype(np.float64)
    counts = m.sum(axis=0)  # (T,)
    mean_t = h.sum(axis=0) / np.maximum(counts, 1)[:, None]  # (T, U); h is 0 at padding
    n = scipy.fft.next_fast_len(t + k)  # long enough that lags <= K do not wrap around
    num = np.zeros((k + 1, u))
    d1 = np.zeros((k + 1, u))
    d2 = np.zeros((k + 1, u))
    for sl in sequence_chunks(s, n * u * 4):
        x = (h[sl] - mean_t) * m[sl, :, None]  # (s', T, U), zero at padding
        fx = scipy.fft.rfft(x, n, axis=1)
        fx2 = scipy.fft.rfft(x * x, n, axis=1)
        fm = scipy.fft.rfft(m[sl], n, axis=1)[:, :, None]
        # corr(a, b)[k] = sum_t a_t b_{t+k} = irfft(conj(A) B)[k]; summing over sequences first is exact.
        num += scipy.fft.irfft((fx.conj() * fx).sum(axis=0), n, axis=0)[: k + 1]
        d1 += scipy.fft.irfft((fx2.conj() * fm).sum(axis=0), n, axis=0)[: k + 1]  # sum x_t^2 m_{t+k}
        d2 += scipy.fft.irfft((fm.conj() * fx2).sum(axis=0), n, axis=0)[: k + 1]  # sum m_t x_{t+k}^2
    den = np.sqrt(np.clip(d1, 0, None) * np.clip(d2, 0, None))
    scale = np.abs(num[0]) + 1e-300  # FFT round-off is relative to the lag-0 power
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(den > 1e-9 * scale, num / den, np.nan)
    rho[:, num[0] <= 1e-24 * max(1.0, float(np.max(num[0])))] = np.nan  # units that never vary
    return np.clip(rho, -1.0, 1.0)


def fit_timescale(acf: np.ndarray, *, floor: float = 0.2) -> np.ndarray:
    """tau (U,) in steps from autocorrelations acf (K + 1, U) (lag 0 first), by the fit described above."""
    acf = np.asarray(acf, dtype=np.float64)
    if acf.ndim != 2 or acf.shape[0] < 2:
        raise BadArgument(f"acf must have shape (lags, units) with at least 2 lags, got {acf.shape}")
    if not 0 < floor < 1:
        raise BadArgument(f"floor must be in (0, 1), got {floor}")
    rho = acf[1:]  # lags 1..K
    lags = np.arange(1, rho.shape[0] + 1, dtype=np.float64)[:, None]
    with np.errstate(invalid="ignore"):
        above = np.nan_to_num(rho, nan=-1.0) >= floor
    run = np.cumprod(above, axis=0).astype(bool)  # lags before the first drop below the floor
    n_fit = run.sum(axis=0)
    y = np.log(np.where(run, rho, 1.0))
    w = np.where(run, rho, 0.0) ** 2
    sw, sx, sy = w.sum(0), (w * lags).sum(0), (w * y).sum(0)
    sxx, sxy = (w * lags**2).sum(0), (w * lags * y).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (sw * sxy - sx * sy) / (sw * sxx - sx**2)
        tau_fit = np.where(slope < 0, -1.0 / slope, np.inf)
        r1 = np.clip(np.nan_to_num(rho[0], nan=0.0), 1e-300, 1 - 1e-15)
        tau_lag1 = np.where(rho[0] > 0, -1.0 / np.log(r1), 0.0)
    tau = np.where(n_fit >= 2, tau_fit, tau_lag1)
    return np.where(np.isnan(acf[0]) | np.isnan(rho[0]), np.nan, tau)


def timescales(
    h: np.ndarray, mask: np.ndarray | None = None, *, max_lag: int | None = None, floor: float = 0.2
) -> np.ndarray:
    """tau (U,) in steps for each unit of h (S, T, U): `autocorrelation` then `fit_timescale`."""
    return fit_timescale(autocorrelation(h, mask, max_lag=max_lag), floor=floor)
