"""What a unit does when the input is taken away: measures of free runs of a network.

Key: S = start states (sequences), F = free steps, U = units.

A free run starts from a state the network reached on real data and steps the network on with the input
removed (clamped to zero); `rnnscope.recording.probes.free_runs` computes them through the model
protocol. This module only measures the arrays, so free runs of any simulator can be analysed:

    h (S, F + 1, U)   lag 0 = the start state, lags 1..F = the free steps

Per unit:

  spread(k)    standard deviation across starts at lag k: how much the starts still differ.
  tau          decay time of the spread, F / ln(spread(0) / spread(F)) (steps). A spread that does not
               shrink over the F steps gives tau > F, reported as the bound F with `tau_censored` True.
  persistence  correlation across starts between lag 0 and lag F: the unit keeps *which* value it had
               (an integrator or a latch), not merely some spread (a unit driven by internal noise keeps
               its spread but forgets the value: persistence ~ 0).
  saturation   fraction of starts with |h| > bound at lag F: where the held values lie.
  period       the network's own rhythm: the across-start autocorrelation of the free run (centred
               across starts at each lag, `rnnscope.analysis.timescales.autocorrelation`, lags up to F // 2)
               falls to a trough <= -min_trough and rises again to a peak >= min_rebound; the lag of that
               peak is the period (NaN where there is none). The pooled autocorrelation normalises every
               lag by the power at that lag, so it is blind to damping; `oscillates` therefore also asks
               that the spread lasts at least one period (tau >= period) and that the period is >= 3 steps.

All in float64; NaN for units whose spread at the start is below `silent_std` (nothing to follow).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope.analysis.timescales import autocorrelation
from rnnscope.errors import BadArgument


@dataclass(frozen=True)
class FreeRunMeasures:
    """Every field (U,): tau (steps, the bound F where censored), tau_censored (bool), persistence,
    saturation, period (steps, NaN: no rhythm), oscillates (bool), steps: F (int)."""

    tau: np.ndarray
    tau_censored: np.ndarray
    persistence: np.ndarray
    saturation: np.ndarray
    period: np.ndarray
    oscillates: np.ndarray
    steps: int


def free_run_measures(
    h: np.ndarray,
    *,
    bound: float = 0.95,
    silent_std: float = 1e-3,
    min_trough: float = 0.3,
    min_rebound: float = 0.3,
    min_period: float = 3.0,
) -> FreeRunMeasures:
    """Measure free runs h (S, F + 1, U) (see the module docstring). Needs S >= 3 and F >= 6."""
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 3:
        raise BadArgument(f"free runs must have shape (starts, steps + 1, units), got {h.shape}")
    s, f1, u = h.shape
    if s < 3 or f1 < 7:
        raise BadArgument(f"free runs need at least 3 starts and 6 free steps, got shape {h.shape}")
    if not np.isfinite(h).all():
        raise BadArgument("free runs contain NaN or inf")
    f = f1 - 1
    spread = h.std(axis=0)  # (F + 1, U)
    live = spread[0] >= silent_std
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = spread[f] / spread[0]
        tau = np.where(ratio < 1, f / np.log(1 / ratio), np.inf)
        a, b = h[:, 0] - h[:, 0].mean(0), h[:, f] - h[:, f].mean(0)
        persistence = (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))
    censored = live & ~(tau <= f)
    tau = np.where(censored, float(f), tau)
    saturation = (np.abs(h[:, f]) > bound).mean(axis=0)
    period = _periods(h, live, min_trough, min_rebound)
    with np.errstate(invalid="ignore"):
        oscillates = live & (period >= min_period) & (tau >= period)
    nan = np.where(live, 0.0, np.nan)
    return FreeRunMeasures(
        tau + nan,
        censored,
        np.nan_to_num(persistence, nan=0.0) + nan,
        saturation + nan,
        period,
        oscillates,
        f,
    )


def _periods(h: np.ndarray, live: np.ndarray, min_trough: float, min_rebound: float) -> np.ndarray:
    """Lag of the first autocorrelation peak >= min_rebound after a trough <= -min_trough (NaN: none)."""
    period = np.full(h.shape[2], np.nan)
    if not live.any():
        return period
    rho = autocorrelation(h[:, :, live], max_lag=(h.shape[1] - 1) // 2)  # (K + 1, U_live)
    out = np.full(rho.shape[1], np.nan)
    for j in range(rho.shape[1]):
        r = np.nan_to_num(rho[:, j], nan=0.0)
        trough = np.flatnonzero(r <= -min_trough)
        if len(trough) == 0:
            continue
        k0 = trough[0]
        up = np.flatnonzero(r[k0:] > -min_trough)
        end = k0 + (up[0] if len(up) else len(r) - k0)
        k_min = k0 + int(np.argmin(r[k0:end]))  # the bottom of the first trough
        after = r[k_min:]
        peaks = [k for k in range(1, len(after) - 1) if after[k] >= after[k - 1] and after[k] >= after[k + 1]]
        peaks = [k for k in peaks if after[k] >= min_rebound]
        if peaks:
            out[j] = k_min + peaks[0]
    period[live] = out
    return period
