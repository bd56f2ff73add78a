"""Ground truth for the role classifier: planted units whose role, tau and frequency are known.

Key: S = sequences, T = time steps, U = units, K = classes.

The planted population (see `planted`): inputs are K class-pulse channels (one pulse per sequence, in
the channel of its class, at a random step), a noisy-drift evidence channel and a white-noise channel.
  transient        exponential filter (tau 1..4 steps) of the noise channel plus private noise
  integrator       running sum of the drift channel (the evidence) plus private white noise
  oscillatory      sinusoid (0.05..0.4 cycles/step, random phase per sequence) plus white noise
  selective        alpha-function bump after the pulse of the unit's preferred class, plus white noise
  unclassified     pure noise: private exponentially filtered noise, tau 0.5..30 steps
  silent           a constant plus 1e-5 noise
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnscope.analysis import ROLES, RoleThresholds, UnitTable, classify_units

NPERSEG = 64  # the default segment length for T >= 64: one PSD bin is 1/64 cycles/step


def filtered(x: np.ndarray, tau: float) -> np.ndarray:
    """Stationary exponential filter along axis 1 of white x (S, T): y_t = a y_{t-1} + sqrt(1 - a^2) x_t."""
    a = np.exp(-1.0 / tau)
    b = np.sqrt(1 - a**2)
    return scipy.signal.lfilter([b], [1.0, -a], x, axis=1, zi=(1 - b) * x[:, :1])[0]


def alpha_bump(k: np.ndarray, width: float) -> np.ndarray:
    """(k / width) exp(1 - k / width) for k >= 0, else 0: peaks at 1 when k = width."""
    kk = np.maximum(k, 0) / width
    return np.where(k >= 0, kk * np.exp(1 - kk), 0.0)


def planted(seed: int, *, s: int = 128, t: int = 200, n: int = 20, k: int = 3, params: dict | None = None):
    """n planted units per role; returns h (S, T, 6n), inputs (S, T, K + 2), labels, evidence (S, T),
    and the truth per unit: role, tau (NaN where not defined), freq (NaN for non-oscillators).
    params: fixed values instead of random draws (tau_transient, freq, osc_amp, bump_amp, noise)."""
    rng = np.random.default_rng(seed)
    params = params or {}
    labels = rng.integers(0, k, s)
    pulse_at = rng.integers(t // 10, t // 2, s)
    pulses = np.zeros((s, t, k))
    pulses[np.arange(s), pulse_at, labels] = 1.0
    drift = rng.normal(0, 0.15, (s, 1)) + rng.standard_normal((s, t))
    noise_in = rng.standard_normal((s, t))
    inputs = np.concatenate([pulses, drift[..., None], noise_in[..., None]], axis=2)
    evidence = np.cumsum(drift, axis=1)
    steps = np.arange(t)
    units, role, tau, freq = [], [], [], []

    def draw(name, lo, hi):
        return params.get(name, rng.uniform(lo, hi))

    def white():
        return rng.standard_normal((s, t))

    for _ in range(n):
        tt = draw("tau_transient", 1, 4)
        units.append(0.3 * filtered(noise_in + draw("noise", 0.1, 0.5) * white(), tt))
        role.append("transient"), tau.append(tt), freq.append(np.nan)
    for _ in range(n):
        units.append(0.3 * (evidence / evidence.std() + draw("noise", 0.1, 0.5) * white()))
        role.append("integrator"), tau.append(np.nan), freq.append(np.nan)
    for _ in range(n):
        f, amp = draw("freq", 0.05, 0.3), draw("osc_amp", 0.8, 2.0)
        phase = rng.uniform(0, 2 * np.pi, (s, 1))
        units.append(0.3 * (amp * np.sin(2 * np.pi * f * steps + phase) + white()))
        role.append("oscillatory"), tau.append(np.nan), freq.append(f)
    for _ in range(n):
        pref, width, amp = rng.integers(k), rng.uniform(1, 3), draw("bump_amp", 3.0, 6.0)
        bump = alpha_bump(steps[None, :] - pulse_at[:, None], width) * (labels == pref)[:, None]
        units.append(0.3 * (amp * bump + white()))
        role.append("selective"), tau.append(np.nan), freq.append(np.nan)
    for _ in range(n):
        tt = rng.uniform(0.5, 30)
        units.append(0.3 * filtered(white(), tt))
        role.append("unclassified"), tau.append(tt), freq.append(np.nan)
    for _ in range(n):
        units.append(rng.uniform(-1, 1) + 1e-5 * white())
        role.append("silent"), tau.append(np.nan), freq.append(np.nan)
    return {
        "h": np.stack(units, axis=2),
        "inputs": inputs,
        "labels": labels,
        "evidence": evidence,
        "role": np.array(role),
        "tau": np.array(tau),
        "freq": np.array(freq),
    }


@pytest.fixture(scope="module")
def population():
    d = planted(0)
    table = classify_units(d["h"], inputs=d["inputs"], labels=d["labels"], evidence=d["evidence"], layer="L0")
    return d, table


def recovery(truth: np.ndarray, found: np.ndarray) -> dict[str, float]:
    return {r: float(np.mean(found[truth == r] == r)) for r in np.unique(truth)}


def test_every_planted_role_is_recovered(population):
    d, table = population
    rates = recovery(d["role"], table.role)
    # input-driven needs a model's impulse response, latching and mixed are planted in networks
    # (tests/test_planted_networks.py): every other role is planted here
    assert set(rates) == set(ROLES) - {"input-driven", "latching", "mixed"}
    assert min(rates.values()) >= 0.95, rates


def test_planted_tau_within_ten_percent_and_frequency_within_one_bin(population):
    d, table = population
    transient = d["role"] == "transient"
    assert np.all(np.abs(table.tau[transient] / d["tau"][transient] - 1) < 0.10)
    osc = d["role"] == "oscillatory"
    assert np.all(np.abs(table.peak_freq[osc] - d["freq"][osc]) <= 1 / NPERSEG)


def test_measures_separate_the_planted_roles(population):
    """The margins behind the thresholds: each role's defining measure against everyone else's."""
    d, table = population
    role = d["role"]
    live = role != "silent"
    others = live & (role != "oscillatory")
    assert table.prominence[role == "oscillatory"].min() > 0.8 and table.prominence[others].max() < 0.2
    others = live & (role != "integrator")
    assert table.integration[role == "integrator"].min() > 0.85 and table.integration[others].max() < 0.1
    # longer than the largest lag (100): censored, the bound given with its flag
    assert np.all(table.tau_censored[role == "integrator"] == "above")
    assert np.all(table.tau[role == "integrator"] == 100)
    assert table.input_drive[role == "transient"].min() > 0.7
    assert table.selectivity[role == "selective"].min() > 0.35
    assert np.all(table.selectivity_p[role == "selective"] <= 0.01)
    assert np.all(table.std[role == "silent"] < 1e-4)


def test_table_columns_layer_and_counts(population):
    d, table = population
    assert len(table) == d["h"].shape[2]
    assert {"layer", "unit", "role", "tau", "peak_freq", "selectivity", "saturation"} <= set(table.columns)
    assert set(table.layer) == {"L0"}
    np.testing.assert_array_equal(table.unit, np.arange(len(table)))
    counts = table.role_counts()
    assert list(counts) == list(ROLES) and sum(counts.values()) == len(table)


def test_classification_is_deterministic(population):
    d, table = population
    again = classify_units(d["h"], inputs=d["inputs"], labels=d["labels"], evidence=d["evidence"], layer="L0")
    for c in table.columns:
        np.testing.assert_array_equal(getattr(again, c), getattr(table, c))


def test_evidence_defaults_to_running_sums_of_inputs():
    d = planted(1, n=10)
    table = classify_units(d["h"], inputs=d["inputs"], labels=d["labels"])
    rates = recovery(d["role"], table.role)
    assert min(rates.values()) >= 0.9, rates


def test_padded_variable_length_sequences_give_the_same_roles():
    d = planted(2, n=10)
    s, t, _ = d["h"].shape
    lengths = np.random.default_rng(0).integers(150, t + 1, s)
    mask = np.arange(t) < lengths[:, None]
    h = np.where(mask[:, :, None], d["h"], np.nan)  # padding may hold anything
    table = classify_units(h, inputs=d["inputs"], labels=d["labels"], evidence=d["evidence"], mask=mask)
    rates = recovery(d["role"], table.role)
    assert min(rates.values()) >= 0.9, rates


def test_without_inputs_labels_or_evidence_only_spectral_and_silent_roles_are_firm():
    d = planted(3, n=10)
    table = classify_units(d["h"])
    for role in ("oscillatory", "silent"):
        assert np.all(table.role[d["role"] == role] == role)
    assert np.all(np.isnan(table.selectivity)) and np.all(np.isnan(table.integration))
    assert np.all(table.role[d["role"] == "integrator"] == "integrator")  # long tau alone


def test_csv_round_trip(population, tmp_path):
    _, table = population
    path = tmp_path / "units.csv"
    table.to_csv(path)
    header = path.read_text().splitlines()[0].split(",")
    assert header[:3] == ["layer", "unit", "role"]
    back = UnitTable.from_csv(path)
    for c in ("layer", "unit", "role", "criteria"):
        np.testing.assert_array_equal(getattr(back, c), getattr(table, c))
    for c in ("tau", "peak_freq", "selectivity", "saturation", "integration"):
        np.testing.assert_allclose(getattr(back, c), getattr(table, c), rtol=1e-6, equal_nan=True)
    rows = table.to_rows()
    assert rows[0]["layer"] == "L0" and rows[0]["unit"] == 0 and isinstance(rows[0]["tau"], float)
    both = UnitTable.concat([table, back])
    assert len(both) == 2 * len(table)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    tau=st.floats(1.0, 4.0),
    freq=st.floats(0.05, 0.3),
    osc_amp=st.floats(0.8, 2.0),
    bump_amp=st.floats(3.0, 6.0),
    noise=st.floats(0.1, 0.5),
    seed=st.integers(0, 2**16),
)
def test_roles_recovered_over_random_planted_parameters(tau, freq, osc_amp, bump_amp, noise, seed):
    params = {"tau_transient": tau, "freq": freq, "osc_amp": osc_amp, "bump_amp": bump_amp, "noise": noise}
    d = planted(seed, s=160, t=250, n=3, params=params)
    table = classify_units(d["h"], inputs=d["inputs"], labels=d["labels"], evidence=d["evidence"])
    wrong = table.role != d["role"]
    assert wrong.sum() <= 1, list(zip(d["role"][wrong], table.criteria[wrong]))
    transient = d["role"] == "transient"
    assert np.all(np.abs(table.tau[transient] / tau - 1) < 0.10)
    assert np.all(np.abs(table.peak_freq[d["role"] == "oscillatory"] - freq) <= 1 / NPERSEG)


def test_thresholds_are_validated():
    with pytest.raises(ValueError, match="max_p"):
        RoleThresholds(max_p=2.0)
    with pytest.raises(ValueError, match="tau_long"):
        RoleThresholds(tau_long=0)


def test_slow_drift_and_alternating_transients_are_not_oscillations():
    """A random walk (all power in the lowest bins) and a sign-alternating response to sparse clicks
    (power near Nyquist) both have prominent spectral peaks, but neither is a rhythm."""
    rng = np.random.default_rng(0)
    s, t = 64, 128
    walk = np.cumsum(rng.standard_normal((s, t)), axis=1) / 10
    clicks = (rng.random((s, t)) < 0.1).astype(float)
    resp = np.stack([np.convolve(c, [1.0, -1.0])[:t] for c in clicks]) + 0.01 * rng.standard_normal((s, t))
    rhythm = np.sin(
        2 * np.pi * 0.125 * np.arange(t) + rng.uniform(0, 6.3, (s, 1))
    ) + 0.1 * rng.standard_normal((s, t))
    h = np.tanh(np.stack([walk, resp, rhythm], axis=2))
    inputs = clicks[:, :, None]
    table = classify_units(h, inputs=inputs)
    assert table.role[0] != "oscillatory" and table.role[1] != "oscillatory"
    assert table.role[2] == "oscillatory"
    assert table.role[1] == "transient"
