"""Recorded activity: `rnnscope activity` and `rnnscope.analyze_activity` on planted units, from arrays,
.npz / .npy / .safetensors files and an NWB file written here with pynwb from planted rates.

Ground truth: planted ramping (integrator), oscillating (oscillatory) and transient units are recovered;
with dt, tau_s = tau x dt and peak_freq_hz = peak_freq / dt. Bad input (NaN at a valid step, labels of the
wrong length, a mask with a gap, an NWB file without a trials table, a pickled object) is one line, exit 2
(CLI) or a ValueError naming the problem (API), and nothing is written.
"""

from __future__ import annotations

import csv
import datetime
import pickle
import sys

import numpy as np
import pytest
from safetensors.numpy import save_file

import rnnscope
from conftest import run_cli
from rnnscope.data.activity import read_activity_file
from rnnscope.errors import BadArgument
from rnnscope.rundir import RunPaths, dir_kind, read_activity_summary

S, T = 48, 96
FREQ = 0.125  # cycles per step of the planted oscillators


def planted(seed: int = 0):
    """activity (S, T, 9): 3 random-walk integrators, 3 oscillators, 3 silent units; labels (S,)."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.standard_normal((S, T, 3)), axis=1) * 0.1
    phase = rng.uniform(0, 2 * np.pi, (S, 1, 3))
    osc = np.sin(2 * np.pi * FREQ * np.arange(T)[None, :, None] + phase) + 0.2 * rng.standard_normal(
        (S, T, 3)
    )
    silent = np.full((S, T, 3), 0.5)
    labels = rng.integers(0, 2, S)
    return np.concatenate([walk, osc, silent], axis=2).astype(np.float32), labels


TRUTH = ["integrator"] * 3 + ["oscillatory"] * 3 + ["silent"] * 3


def _units(out) -> list[dict]:
    with open(RunPaths(out).analysis.units_csv) as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_analyze_activity_recovers_planted_roles_with_seconds(tmp_path):
    activity, labels = planted()
    out = tmp_path / "act"
    report = rnnscope.analyze_activity(activity, labels=labels, dt=0.01, out=out)
    assert list(report.table.role) == TRUTH
    rows = _units(out)
    assert [r["role"] for r in rows] == TRUTH and {r["layer"] for r in rows} == {"0"}
    osc = rows[3]
    assert float(osc["peak_freq"]) == pytest.approx(FREQ, abs=1 / 64)
    assert float(osc["peak_freq_hz"]) == pytest.approx(float(osc["peak_freq"]) / 0.01, rel=1e-6)
    assert float(rows[0]["tau_s"]) == pytest.approx(float(rows[0]["tau"]) * 0.01, rel=1e-6)
    assert dir_kind(out) == "activity" and not RunPaths(out).config.exists()
    summary = read_activity_summary(out)
    assert (summary.sequences, summary.steps, summary.units, summary.dt) == (S, T, 9, 0.01)
    html = RunPaths(out).report.read_text()
    assert "need a model" in html and 'id="explorer-data"' in html and "Unit roles" in html


def test_analyze_activity_without_out_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    activity, _ = planted()
    report = rnnscope.analyze_activity(activity[:, :, :6])
    assert list(report.table.role) == TRUTH[:6]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["npz", "safetensors", "npy"])
def test_activity_files_read_the_same_arrays(tmp_path, fmt):
    activity, labels = planted()
    path = tmp_path / f"rec.{fmt}"
    if fmt == "npz":
        np.savez(path, activity=activity, labels=labels)
    elif fmt == "safetensors":
        save_file({"activity": activity, "labels": labels.astype(np.int64)}, str(path))
    else:
        np.save(path, activity)
    data = read_activity_file(path)
    assert np.array_equal(data.activity, activity) and data.source == {"format": fmt}
    assert data.labels is None if fmt == "npy" else np.array_equal(data.labels, labels)
    one = tmp_path / "one.npy"
    np.save(one, activity[0])
    assert read_activity_file(one).activity.shape == (1, T, 9)


@pytest.mark.slow
def test_activity_through_the_cli_then_report(tmp_path, capsys):
    activity, labels = planted()
    path = tmp_path / "rec.npz"
    np.savez(path, activity=activity, labels=labels)
    out = tmp_path / "out"
    code, stdout, err = run_cli(["activity", str(path), "--out", str(out)], capsys)
    assert code == 0, err
    assert [r["role"] for r in _units(out)] == TRUTH and "tau_s" not in _units(out)[0]
    assert "48 trials × 96 steps × 9 units" in stdout
    assert read_activity_summary(out).source["sha256"] == rnnscope.io.sha256(path)
    # the report, built in a staging directory, names the directory where it lives (not the staging one)
    written = (out / "report.html").read_text()
    assert "<title>rnnscope activity: out</title>" in written and f"<dd>{out}</dd>" in written
    assert ".activity-" not in written
    code, _, err = run_cli(["activity", str(path), "--out", str(out)], capsys)
    assert code == 2 and "--overwrite" in err
    code, _, err = run_cli(["report", str(out)], capsys)
    assert code == 0, err
    rebuilt = (out / "report.html").read_text()
    assert rebuilt.split("Built by")[0] == written.split("Built by")[0]  # the same report, rebuilt in place


def test_one_trial_and_nan_past_the_lengths_are_accepted(tmp_path):
    activity, labels = planted()
    padded = activity.copy()
    lengths = np.full(S, T)
    lengths[::2] = T - 10
    padded[::2, T - 10 :] = np.nan  # past each trial's length: ignored
    report = rnnscope.analyze_activity(padded, labels=labels, lengths=lengths)
    assert list(report.table.role) == TRUTH
    mask = np.arange(T)[None, :] < lengths[:, None]
    again = rnnscope.analyze_activity(padded, labels=labels, mask=mask)
    assert np.array_equal(again.table.tau, report.table.tau, equal_nan=True)


def _one_line(err: str) -> None:
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


@pytest.mark.parametrize(
    "case, words",
    [
        ("nan", "activity holds NaN at a valid step (1 values; first at trial 2, step 5, column 1)"),
        ("labels", "labels must have one entry per trial: 48 trials, got shape (47,)"),
        ("gap", "trial 0 has a gap"),
        ("missing", "has no array 'activity' (it has: rates)"),
        ("object", "cannot be read"),
    ],
)
def test_bad_activity_is_one_line_and_nothing_written(tmp_path, capsys, case, words):
    activity, labels = planted()
    arrays = {"activity": activity, "labels": labels}
    if case == "nan":
        activity[2, 5, 1] = np.nan
    elif case == "labels":
        arrays["labels"] = labels[:-1]
    elif case == "gap":
        mask = np.ones((S, T), bool)
        mask[0, 10] = False
        arrays["mask"] = mask
    elif case == "missing":
        arrays = {"rates": activity}
    path = tmp_path / "bad.npz"
    if case == "object":
        np.savez(path, activity=np.array([pickle.dumps(1), None], dtype=object))
    else:
        np.savez(path, **arrays)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run_cli(["activity", str(path), "--out", str(tmp_path / "out")], capsys)
    assert code == 2, err
    _one_line(err)
    assert words in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if case in ("nan", "labels"):
        with pytest.raises(
            ValueError, match="NaN at a valid step" if case == "nan" else "one entry per trial"
        ):
            rnnscope.analyze_activity(activity, labels=arrays["labels"], out=tmp_path / "api")
        assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_bad_arguments_name_the_problem():
    activity, labels = planted()
    with pytest.raises(BadArgument, match="shape"):
        rnnscope.analyze_activity(activity[0, 0])
    with pytest.raises(BadArgument, match="mask or lengths, not both"):
        rnnscope.analyze_activity(activity, mask=np.ones((S, T), bool), lengths=np.full(S, T))
    with pytest.raises(BadArgument, match="dt must be a positive number"):
        rnnscope.analyze_activity(activity, dt=-1.0)


# ---- NWB --------------------------------------------------------------------------------------------
pynwb = pytest.importorskip("pynwb")

TRIALS, DUR, GAP = 64, 2.0, 0.5


def write_nwb(path, with_trials: bool = True):
    """Poisson spikes from planted rates: 4 ramping units (slope drawn per trial), 4 oscillating (4 Hz,
    phase per trial), 4 transient (a burst decaying in 40 ms after a stimulus at a random time)."""
    rng = np.random.default_rng(0)
    f = pynwb.NWBFile(
        session_description="planted rates",
        identifier="planted",
        session_start_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    starts = np.arange(TRIALS) * (DUR + GAP)
    stim = rng.uniform(0.2, 1.6, TRIALS)
    cond = rng.integers(0, 2, TRIALS)
    if with_trials:
        f.add_trial_column(name="cond", description="class")
        f.add_trial_column(name="stim_time", description="stimulus onset (s)")
        for i in range(TRIALS):
            f.add_trial(
                start_time=starts[i],
                stop_time=starts[i] + DUR,
                cond=["left", "right"][cond[i]],
                stim_time=starts[i] + stim[i],
            )
    t = np.arange(0, DUR, 0.001)
    slopes = rng.uniform(-1, 1, TRIALS)

    def spikes(rate):
        out = [starts[i] + t[rng.random(len(t)) < np.clip(rate(i), 0, None) * 0.001] for i in range(TRIALS)]
        return np.concatenate(out)

    for _ in range(4):
        f.add_unit(spike_times=spikes(lambda i: 200 + 180 * slopes[i] * t))
    for _ in range(4):
        phase = rng.uniform(0, 2 * np.pi, TRIALS)
        f.add_unit(spike_times=spikes(lambda i, p=phase: 40 + 35 * np.sin(2 * np.pi * 4 * t + p[i])))
    for _ in range(4):
        burst = lambda i: 5 + 200 * np.where(t >= stim[i], np.exp(-(t - stim[i]) / 0.04), 0)
        f.add_unit(spike_times=spikes(burst))
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(f)
    return path


@pytest.fixture(scope="module")
def nwb_file(tmp_path_factory):
    return write_nwb(tmp_path_factory.mktemp("nwb") / "session.nwb")


@pytest.mark.slow
def test_nwb_planted_roles_recovered(nwb_file, tmp_path, capsys):
    out = tmp_path / "plain"
    argv = ["activity", str(nwb_file), "--bin-ms", "20", "--label-column", "cond"]
    code, stdout, err = run_cli([*argv, "--out", str(out)], capsys)
    assert code == 0, err
    roles = [r["role"] for r in _units(out)]
    assert roles[:8] == ["integrator"] * 4 + ["oscillatory"] * 4  # no inputs: the transient role needs them
    assert float(_units(out)[4]["peak_freq_hz"]) == pytest.approx(4.0, abs=1 / (64 * 0.02))
    summary = read_activity_summary(out)
    assert (
        summary.dt == 0.02 and summary.source["trials"] == TRIALS and summary.class_names == ["left", "right"]
    )
    with_events = tmp_path / "events"
    code, _, err = run_cli([*argv, "--events", "stim_time", "--out", str(with_events)], capsys)
    assert code == 0, err
    roles = [r["role"] for r in _units(with_events)]
    assert roles[4:] == ["oscillatory"] * 4 + ["transient"] * 4
    assert "window [0.0, 2.0] s around start_time" in RunPaths(with_events).report.read_text()


def test_nwb_without_trials_is_one_line(tmp_path, capsys):
    path = write_nwb(tmp_path / "no_trials.nwb", with_trials=False)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run_cli(["activity", str(path), "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    _one_line(err)
    assert "has no trials table" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_nwb_options_need_an_nwb_file(tmp_path, capsys):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros((10, 2)))
    code, _, err = run_cli(["activity", str(path), "--out", str(tmp_path / "o"), "--bin-ms", "5"], capsys)
    assert code == 2 and "apply to NWB files only" in err


def test_nwb_without_pynwb_says_what_to_install(nwb_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynwb", None)  # importing it now raises ImportError
    code, _, err = run_cli(["activity", str(nwb_file), "--out", str(tmp_path / "out")], capsys)
    assert code == 1 and 'pip install "rnnscope[nwb]"' in err
    _one_line(err)
    assert not (tmp_path / "out").exists()
