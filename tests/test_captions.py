"""Captions and headlines are computed from the run's own results: one test per caption family, with
contrived results where the usual claim would be false."""

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import rnnscope
from rnnscope.data.prepare import reduce_steps
from rnnscope.report import render_report
from rnnscope.report.companion_part import companion_highway_caption
from rnnscope.report.explorer import _unit_roles
from rnnscope.report.gradient_sections import HIGHWAY, RNN_HIGHWAY, _decay_table, no_decay_sentence
from rnnscope.report.html import Bound, table
from rnnscope.report.unit_captions import examples_caption, heatmap_caption, psd_absent, psd_caption
from rnnscope.report.unit_sections import _bounded
from rnnscope.rundir.fixedpoint_summary import FixedPointSummary
from rnnscope.rundir.runfacts import (
    data_sizes,
    input_description,
    input_names,
    is_demo,
    preprocessing,
    reference_cells,
    training_caption,
)
from rnnscope.rundir.summaries import DecayRow
from rnnscope.rundir.tables import Table
from rnnscope.stages.record import record_run

DEMO = {
    "data": {"task": "mixture", "task_params": {}, "n_train": 1500, "n_test": 1000},
    "model": {"kind": "rnn", "hidden": 64, "layers": 2},
    "train": {"val_fraction": 0.1},
    "data_source": {"kind": "task", "params": {"seq_len": 60}},
    "task_ceiling": 0.97,
}
GUNPOINT = {
    "data": {"task": None, "dataset": "GunPoint", "n_train": 1500, "n_test": 1000, "normalize": "channel"},
    "model": {"kind": "rnn", "hidden": 64, "layers": 2},
    "train": {"val_fraction": 0.1},
    "data_source": {
        "normalize": "channel",
        "downsample": 2,
        "truncate": None,
        "lengths": {"train": [75, 75], "test": [75, 75]},
    },
    "data_sizes": {"train": 50, "test": 150},
    "task_ceiling": None,
}


def test_sizes_are_the_ones_used_not_the_task_defaults():
    assert (
        data_sizes(GUNPOINT)
        == "50 training (10% of them held out for validation) / 150 test sequences of 75 steps"
    )
    assert "1500" not in data_sizes(GUNPOINT)
    assert data_sizes(DEMO).startswith("1500 training") and "of 60 steps" in data_sizes(DEMO)
    old = {k: v for k, v in GUNPOINT.items() if k != "data_sizes"}  # a run from before sizes were stored
    assert data_sizes(old).startswith("sequence sizes not recorded")


def test_preprocessing_is_stated_for_real_data_only():
    assert preprocessing(GUNPOINT) == (
        "z-normalised per channel (training-set mean and std); every 2nd step kept (downsampled by 2)"
    )
    truncated = {**GUNPOINT, "data_source": {**GUNPOINT["data_source"], "downsample": None, "truncate": 40}}
    assert preprocessing(truncated).endswith("truncated to the first 40 steps")
    assert preprocessing(DEMO) is None


def test_reference_band_only_for_the_demo():
    assert is_demo(DEMO) and not is_demo(GUNPOINT)
    assert reference_cells(DEMO) == {"train_acc": "~95%", "test_acc": "~93%", "converged_epoch": "30-50"}
    assert set(reference_cells(GUNPOINT).values()) == {""}
    small = {**DEMO, "model": {"kind": "rnn", "hidden": 8, "layers": 2}}
    assert not is_demo(small)
    assert "30-50" in training_caption(DEMO) and "ceiling" in training_caption(DEMO)
    assert "30-50" not in training_caption(GUNPOINT) and "ceiling" not in training_caption(GUNPOINT)


def test_heatmap_caption_names_only_the_roles_the_run_has():
    no_transients = {"integrator": 5, "latching": 3, "transient": 0, "selective": 4}
    text = heatmap_caption(no_transients)
    assert "transient" not in text and "oscillate" not in text
    assert "integrators): 5" in text and "latching units): 3" in text
    none = heatmap_caption({"selective": 2, "unclassified": 6})
    assert "no unit of this run has a dynamical or input-following role" in none and "ramps" not in none


def test_examples_caption_lists_present_roles():
    assert examples_caption({"transient": 0, "silent": 2, "oscillatory": 1}) == (
        "Example units of each role this run has over time: silent (2), oscillatory (1)."
    )


def test_no_spectrum_without_oscillatory_units():
    assert psd_caption({"transient": 9, "oscillatory": 0}) is None
    assert "free runs with the input removed show no rhythm" in psd_absent(True)
    assert "activity spectrum" in psd_absent(False)
    assert "(3 in all" in psd_caption({"oscillatory": 3})


def _rows(*specs):
    return [DecayRow(layer, "grad_h", f, r2, 1.0, 9, ctx, cens) for layer, f, r2, ctx, cens in specs]


def test_companion_caption_says_vanished_only_where_it_did():
    # layer 0 flat over the whole sequence (fit 1.001, R^2 0.0006, never below epsilon), layer 1 decays
    mixed = SimpleNamespace(per_layer=_rows((0, 1.001, 0.0006, 59, True), (1, 0.8, 0.95, 15, False)))
    text = companion_highway_caption(mixed)
    assert "has vanished (layer 1)" in text and "in layer 0 it did not vanish" in text
    flat = SimpleNamespace(per_layer=_rows((0, 1.001, 0.0006, 59, True), (1, 0.99, 0.2, 59, True)))
    assert "vanished (" not in companion_highway_caption(flat)
    assert "did not vanish within the sequence in any layer" in companion_highway_caption(flat)


def test_the_decay_table_quotes_no_factor_where_the_fit_is_no_exponential_decay():
    rows = _rows((0, 0.97, 0.35, 41, True), (1, 0.86, 0.96, 41, True))
    assert no_decay_sentence(rows) == (
        " A fit explaining less than half the variance (R² < 0.5) is no exponential decay and no factor or "
        "half-life is quoted for it: layer 0 ∂L/∂h (R² 0.35); the figure above shows the profile."
    )
    assert no_decay_sentence(rows[1:]) == "" and no_decay_sentence([]) == ""
    init = _rows((0, 0.8, 0.9, 10, False))[0]
    summary = SimpleNamespace(pairs=lambda: [(rows[0], init), (rows[1], None)], per_layer=rows)
    html = _decay_table(summary)
    first, second = re.findall(r"<tr><td>layer.*?</tr>", html)
    # layer 0: no factor or half-life quoted for the trained fit, the initial fit (R² 0.9) is
    assert first.count(">no exponential decay<") == 2 and 'data-key="0.8"' in first and "0.97" not in first
    assert 'data-key="0.86"' in second and ">no exponential decay<" not in second


def test_tanh_rnn_highway_caption_describes_what_is_drawn():
    assert "gate product" in HIGHWAY.caption and "gate product" not in RNN_HIGHWAY.caption
    assert "no gates" in RNN_HIGHWAY.caption and RNN_HIGHWAY.key == HIGHWAY.key


def test_real_data_report_states_sizes_and_preprocessing(tmp_path):
    """A run on the user's own files (GunPoint-like: 50 / 150 series of 150 steps, frames of 2 steps)
    reports 50 / 150 sequences of 75 steps, the preprocessing, and no demo reference."""
    rng = np.random.default_rng(0)
    path = tmp_path / "gun.npz"
    np.savez(
        path,
        X_train=rng.standard_normal((50, 150)),
        y_train=np.arange(50) % 2,
        X_test=rng.standard_normal((150, 150)),
        y_test=np.arange(150) % 2,
    )
    run = rnnscope.train(out=tmp_path / "run", data=str(path), downsample=2, hidden=4, epochs=1, device="cpu")
    html = render_report(run.path)
    assert "50 training (10% of them held out for validation) / 150 test sequences of 75 steps" in html
    # one preprocessing row, saying the shortening once
    assert "z-normalised per channel (training-set mean and std); each block of 2 steps fed whole" in html
    assert "75 steps, 2 input values per step (1 channel × frames of 2 steps), 2 classes" in html
    assert html.count("each block of 2 steps") == 1 and html.count("<dt>preprocessing</dt>") == 1
    assert "z-normalised per channel" in html and "values filled" not in html  # none was filled
    assert "training batches augmented (jitter+scale+magwarp)" in html  # the real-data recipe's augmentation
    assert "1500 training" not in html and "30-50" not in html and "~95%" not in html
    # the baselines beside the run, in a table of one value column (no demo reference, no task ceiling)
    training = re.search(r'data-section="training".*?</table>', html, re.DOTALL).group(0)
    assert "<td>1NN Euclidean, test accuracy (same split)</td>" in training
    assert "<td>1NN DTW (full window), test accuracy (same split)</td>" in training
    assert training.count("<th ") == 2 and "<td>n/a (real data)</td></tr>" in training
    # recorded: the explorer's input legend names a frame's values, not channels
    record_run(run.path, max_sequences=8)
    html = render_report(run.path)
    assert '"channels":["value 1 of 2","value 2 of 2"]' in html and '"channel 1"' not in html


def test_censored_numbers_are_shown_as_bounds():
    cols = ["layer", "unit", "role", "tau", "tau_censored", "memory", "memory_censored"]
    rows = [[0, 0, "integrator", 30.0, "above", 45.0, "above"], [0, 1, "transient", 1.0, "below", 2.5, ""]]
    units = Table(Path("units.csv"), cols, rows, b"")
    shown = _bounded(units)
    assert shown[0][3] == Bound(30.0, "> 30") and shown[0][5] == Bound(45.0, "> 45")
    assert shown[1][3] == Bound(1.0, "< 1") and shown[1][5] == 2.5  # shown as bounds, sorted by them
    html = table(cols, shown, sortable=True, numeric={3, 5})
    assert '<td class="num" data-key="30.0">&gt; 30</td>' in html and ">30.0<" not in html
    assert _unit_roles(units)[(0, 0)] == ("integrator", "> 30")


def test_input_names_follow_the_frame_layout():
    """Names of a framed step's values match data.prepare.reduce_steps: feature j * C + c is channel c of
    the frame's step j."""
    x = np.array([[10 * t + c for c in range(2)] for t in range(4)], dtype=float)  # value = 10 t + c
    framed = reduce_steps(x, 2, "frames")  # (2 steps, 4 values)
    config = {"data_source": {"downsample": 2, "downsample_by": "frames"}, "input_size": 4}
    names = input_names(config, 4)
    assert names == [
        "channel 0, value 1 of 2",
        "channel 1, value 1 of 2",
        "channel 0, value 2 of 2",
        "channel 1, value 2 of 2",
    ]
    for f, name in enumerate(names):  # step 0 of the frame is t = 0, step 1 is t = 1
        c, j = int(name.split(",")[0][-1]), int(name.split("value ")[1][0]) - 1
        assert framed[0, f] == 10 * j + c
    assert input_description(config) == "4 input values per step (2 channels × frames of 2 steps)"
    config["data_source"]["downsample_by"] = "mean"  # not frames: channels as they are
    assert (
        input_names(config, 2) == ["channel 0", "channel 1"]
        and input_description({"input_size": 2}) == "2 input channels"
    )


def _points_summary(*n_unstable, slow: int = 0):
    points = [{"n_unstable": n, "slow": False} for n in n_unstable] + [{"n_unstable": 0, "slow": True}] * slow
    system = SimpleNamespace(points=points, slowest_time_constant=lambda: None)
    return SimpleNamespace(systems=[system])


def test_the_eigenvalue_caption_counts_unstable_modes_in_words():
    def caption(*n, slow=0):
        return FixedPointSummary.eigen_caption(_points_summary(*n, slow=slow))

    assert "direction); no fixed point has an unstable mode: look" in caption(0, 0)
    assert "direction); up to 1 unstable mode at one fixed point: look" in caption(0, 1)
    assert "direction); up to 2 unstable modes at one fixed point: look" in caption(2, 1)
    assert "direction); no fixed point was found: look" in caption(slow=3)
