"""Spectra: a planted frequency is recovered within one PSD bin; noise stays under the prominence
threshold; padding and variable lengths are handled.

Key: S = sequences, T = time steps, U = units, F = frequency bins.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnscope.analysis import RoleThresholds, dominant_frequency, power_spectrum, spectral_peaks


def sinusoids(rng, s, t, freqs, amp=1.0, noise=1.0):
    """(S, T, U) sinusoids with a random phase per sequence, plus white noise."""
    steps = np.arange(t)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, (s, 1, len(freqs)))
    return amp * np.sin(2 * np.pi * np.asarray(freqs) * steps + phase) + noise * rng.standard_normal(
        (s, t, len(freqs))
    )


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    freq=st.floats(0.03, 0.45),
    amp=st.floats(0.5, 3.0),
    nperseg=st.sampled_from([16, 32, 64]),
    seed=st.integers(0, 2**16),
)
def test_planted_frequency_within_one_bin(freq, amp, nperseg, seed):
    freq = max(freq, 2 / nperseg)  # bin 1 cannot be a peak: periods > nperseg / 2 need a longer nperseg
    h = sinusoids(np.random.default_rng(seed), 32, 256, [freq], amp=amp)
    peak, prominence = dominant_frequency(h, nperseg=nperseg)
    assert abs(peak[0] - freq) <= 1 / nperseg
    if nperseg == 64 and amp >= 1.0 and freq >= 3 / nperseg:
        assert prominence[0] > 0.5  # clear of the noise null (see below) at the default segment length


def test_psd_matches_scipy_welch_averaged_over_sequences():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((5, 128, 3))
    freqs, psd = power_spectrum(h, nperseg=32)
    f_ref, p_ref = scipy.signal.welch(h, nperseg=32, axis=1)
    np.testing.assert_allclose(freqs, f_ref)
    np.testing.assert_allclose(psd, p_ref.mean(axis=0), rtol=1e-12)
    assert psd.shape == (17, 3)


def test_noise_null_stays_below_the_default_prominence_threshold():
    """White, AR(1) and random-walk noise, 8 sequences of 256 steps (few segments: the worst case)."""
    rng = np.random.default_rng(1)
    s, t, u = 8, 256, 100
    white = rng.standard_normal((s, t, u))
    a = rng.uniform(0.3, 0.97, u)
    ar1 = np.stack(
        [scipy.signal.lfilter([1.0], [1.0, -a[j]], white[:, :, j], axis=1) for j in range(u)], axis=2
    )
    walk = np.cumsum(rng.standard_normal((s, t, u)), axis=1)
    threshold = RoleThresholds().min_prominence
    for noise in (white, ar1, walk):
        _, prominence = dominant_frequency(noise)
        assert prominence.max() < threshold


def test_monotone_spectrum_has_no_peak_and_silent_unit_no_frequency():
    freqs = np.linspace(0, 0.5, 33)
    psd = np.stack([1 / (1 + (freqs / 0.05) ** 2), np.zeros(33)], axis=1)
    peak, prominence = spectral_peaks(freqs, psd)
    assert peak[0] == freqs[1] and prominence[0] == 0.0
    assert np.isnan(peak[1]) and prominence[1] == 0.0


def test_prominence_is_in_decades_and_nyquist_can_peak():
    freqs = np.linspace(0, 0.5, 9)
    psd = np.ones((9, 2))
    psd[4, 0] = 100.0  # a peak two decades above a flat floor
    psd[8, 1] = 10.0  # at the Nyquist bin
    peak, prominence = spectral_peaks(freqs, psd)
    np.testing.assert_allclose(prominence, [2.0, 1.0])
    np.testing.assert_allclose(peak, [0.25, 0.5])


def test_variable_length_runs_and_padding():
    rng = np.random.default_rng(2)
    h = sinusoids(rng, 40, 300, [0.1, 0.27])
    lengths = rng.integers(40, 301, 40)
    mask = np.arange(300) < lengths[:, None]
    mask[0, 10:20] = False  # a gap: two runs in one sequence
    padded = np.where(mask[:, :, None], h, np.nan)
    peak, _ = dominant_frequency(padded, mask, nperseg=32)
    assert np.all(np.abs(peak - [0.1, 0.27]) <= 1 / 32)


def test_errors():
    with pytest.raises(ValueError, match="at least 8 valid steps"):
        power_spectrum(np.zeros((3, 5, 2)))
    with pytest.raises(ValueError, match="nperseg"):
        power_spectrum(np.zeros((3, 50, 2)), nperseg=4)
    with pytest.raises(ValueError, match="run of at least nperseg = 64"):
        power_spectrum(np.zeros((3, 50, 2)), nperseg=64)
    with pytest.raises(ValueError, match="h contains NaN"):
        power_spectrum(np.full((3, 50, 2), np.nan))
