"""Power spectrum of each unit (Welch), its dominant frequency and how prominent that peak is.

Key: S = sequences, T = time steps, U = units, F = frequency bins (nperseg // 2 + 1).
Frequencies are in cycles per step (0 to 0.5); one bin is 1 / nperseg wide.

Estimator. Each run of consecutive valid steps of each sequence is cut into Hann-windowed segments
of `nperseg` steps overlapping by half (scipy.signal.welch, each segment's mean removed); the PSD of
a unit is the mean over all segments of all sequences. Runs shorter than nperseg are skipped. The
spectrum is not centred across trials, so oscillations locked to the trial count as much as ones with
a random phase.

Peak. On log10 PSD without the 0 bin, the peak is the local maximum with the largest prominence
(scipy.signal.peak_prominences: its height above the higher of the two lowest points that separate it
from higher ground), so prominence is in decades: 0.5 means the peak stands 3.2 times above the dip
that separates it from the rest of the spectrum. A monotone spectrum (white, AR(1) or random-walk
noise) has no local maximum: prominence 0 and peak_freq is the frequency of largest power. The lowest
non-zero bin cannot be a peak (it is indistinguishable from slow drift), the Nyquist bin can (the
spectrum is mirrored there). Bias: Welch averaging leaves relative noise of about 1 / sqrt(segments)
on each bin, so noise alone makes small spurious peaks; their prominence shrinks as sequences are added.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from rnnscope.analysis.stats import check_activity, sequence_chunks
from rnnscope.errors import BadArgument

# Fewest steps per segment for a spectrum with room for a peak.
MIN_NPERSEG = 8


def power_spectrum(
    h: np.ndarray, mask: np.ndarray | None = None, *, nperseg: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD of each unit of h (S, T, U): returns freqs (F,) in cycles/step and psd (F, U).

    nperseg: segment length; default min(64, longest run of valid steps). Needs a run of at least
    nperseg >= 8 valid steps.
    """
    h, mask = check_activity(h, mask, min_steps=MIN_NPERSEG)
    _s, _t, u = h.shape
    seq, start, length = _valid_runs(mask)
    if nperseg is None:
        nperseg = min(64, int(length.max()))
    nperseg = int(nperseg)
    if nperseg < MIN_NPERSEG:
        raise BadArgument(f"nperseg must be at least {MIN_NPERSEG}, got {nperseg}")
    if length.max() < nperseg:
        raise BadArgument(
            f"h needs a run of at least nperseg = {nperseg} valid steps, got {int(length.max())}"
        )
    step = nperseg - nperseg // 2
    total = 0.0
    psd_sum = 0.0
    for n in np.unique(length[length >= nperseg]):
        rows = np.flatnonzero(length == n)
        n_segments = 1 + (n - nperseg) // step
        for sl in sequence_chunks(len(rows), int(n) * u):
            r = rows[sl]
            x = h[seq[r][:, None], start[r][:, None] + np.arange(n)]  # (runs, n, U)
            freqs, p = scipy.signal.welch(x, fs=1.0, window="hann", nperseg=nperseg, axis=1)
            psd_sum = psd_sum + n_segments * p.sum(axis=0)
            total += n_segments * len(r)
    return freqs, psd_sum / total


def spectral_peaks(freqs: np.ndarray, psd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dominant frequency and its prominence (decades) per unit, from freqs (F,) and psd (F, U).

    Returns peak_freq (U,) (NaN for a unit with no power) and prominence (U,) (0 without a local maximum).
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    psd = np.asarray(psd, dtype=np.float64)
    if freqs.ndim != 1 or psd.ndim != 2 or psd.shape[0] != len(freqs) or len(freqs) < 3:
        raise BadArgument(f"psd must have shape (frequencies, units) with >= 3 frequencies, got {psd.shape}")
    f = freqs[1:]
    p = psd[1:]
    u = psd.shape[1]
    peak_freq = np.full(u, np.nan)
    prominence = np.zeros(u)
    for j in range(u):
        col = p[:, j]
        if not np.any(col > 0):
            continue
        logp = np.log10(np.maximum(col, col[col > 0].min()))
        mirrored = np.concatenate([logp, logp[-2:-1]])  # lets the Nyquist bin be a local maximum
        peaks, _ = scipy.signal.find_peaks(mirrored)
        peaks = peaks[peaks < len(logp)]
        if len(peaks) == 0:
            peak_freq[j] = f[np.argmax(logp)]
            continue
        prom = scipy.signal.peak_prominences(mirrored, peaks)[0]
        best = int(np.argmax(prom))
        peak_freq[j] = f[peaks[best]]
        prominence[j] = prom[best]
    return peak_freq, prominence


def dominant_frequency(
    h: np.ndarray, mask: np.ndarray | None = None, *, nperseg: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """peak_freq (U,) in cycles/step and prominence (U,) in decades: power_spectrum, spectral_peaks."""
    return spectral_peaks(*power_spectrum(h, mask, nperseg=nperseg))


def _valid_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of consecutive valid steps: (sequence, start, length) arrays, one entry per run."""
    edges = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    seq, start = np.nonzero(edges == 1)
    _, stop = np.nonzero(edges == -1)  # row-major order pairs each start with its stop
    return seq, start, stop - start
