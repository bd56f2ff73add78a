"""Snapshots through training (that change nothing) and `rnnscope gradients RUN_DIR`."""

import csv
import json
import shutil

import numpy as np
import pytest
import torch

import rnnscope
from rnnscope.cli import main
from rnnscope.gradients import GradientSnapshots, load_through_training
from rnnscope.io import dumps

TINY = {
    "task": "recall",
    "task_params": {"distance": 10},
    "hidden": 8,
    "layers": 2,
    "n_train": 120,
    "n_test": 60,
    "batch_size": 32,
    "device": "cpu",
}


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("grad") / "run"
    rnnscope.train(
        out=out, model="lstm", epochs=2, seed=3, callbacks=[GradientSnapshots(out, every=1, batch=16)], **TINY
    )
    return out


def test_snapshots_do_not_change_training(tmp_path):
    kw = dict(TINY, model="gru", dropout=0.3, epochs=3, seed=1)  # dropout: training consumes the RNG
    plain = rnnscope.train(**kw)
    snap = rnnscope.train(callbacks=[GradientSnapshots(tmp_path, every=2, batch=8)], **kw)

    def strip(history):  # as JSON text, so NaN (epoch 0's batch loss) compares equal to itself
        return dumps([{k: v for k, v in r.items() if k != "seconds"} for r in history])

    assert len(plain.history) == 4 and strip(plain.history) == strip(snap.history)
    for (k, a), b in zip(plain.model.state_dict().items(), snap.model.state_dict().values()):
        assert torch.equal(a, b), k
    tt = load_through_training(tmp_path)
    assert tt.epochs.tolist() == [0, 2, 3]  # initialisation, every 2 epochs, and the last one
    assert tt.mean["grad_h/1"].shape == (3, 12) and tt.meta["batch"] == 8 and tt.meta["kind"] == "gru"
    assert {"grad_h/0", "grad_x/0", "learn_w_ih/0", "learn_w_hh/1"} <= set(tt.mean)
    assert np.all(np.isfinite(tt.mean["grad_h/0"]))


@pytest.fixture(scope="module")
def report(lstm_run, tmp_path_factory):
    """`rnnscope gradients` run once on the LSTM run, with a planted context sweep for definition (b)."""
    sweep = tmp_path_factory.mktemp("sweep")
    rows = [
        ("lstm", 0, 5, 1.0),
        ("lstm", 1, 5, 0.96),
        ("lstm", 0, 20, 0.95),
        ("lstm", 1, 20, 0.93),
        ("lstm", 0, 50, 0.5),
        ("lstm", 1, 50, ""),
        ("rnn", 0, 5, 1.0),
        ("rnn", 0, 20, 0.0),
    ]
    with open(sweep / "context.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "seed", "distance", "test_acc", "chance", "chance_corrected", "status"])
        for m, seed, dist, cc in rows:
            w.writerow([m, seed, dist, "", 0.25, cc, "completed"])
    code = main(["gradients", str(lstm_run), "--batch", "16", "--context", str(sweep)])
    return code, lstm_run / "gradients"


def test_gradients_command_writes_profile_summary_and_figures(report):
    code, d = report
    assert code == 0
    for name in [
        "profile.csv",
        "profile_init.csv",
        "summary.json",
        "step_gradients.safetensors",
        "profile.png",
        "learning_by_step.png",
        "highways.png",
        "through_training.png",
        "through_training.svg",
    ]:
        assert (d / name).is_file(), name
    with open(d / "profile.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["step", "layer", "quantity", "mean", "std"]
        rows = list(reader)
    quantities = {r["quantity"] for r in rows}
    assert {
        "grad_h",
        "grad_c",
        "grad_x",
        "learn_w_ih",
        "learn_w_hh",
        "highway",
        "jacobian_norm",
        "jacobian_product",
    } <= quantities
    assert len([r for r in rows if r["quantity"] == "grad_h" and r["layer"] == "1"]) == 12  # T = distance + 2
    s = json.loads((d / "summary.json").read_text())
    assert s["kind"] == "lstm" and s["batch"] == 16 and s["epsilon"] == 1e-3
    layers = {(r["layer"], r["quantity"]) for r in s["per_layer"]}
    assert {(0, "grad_h"), (1, "grad_h"), (0, "grad_c"), (1, "grad_c"), (0, "grad_x")} <= layers
    for r in s["per_layer"]:
        assert 0 < r["decay_factor"] and r["effective_context"] is not None and r["effective_context"] <= 11
    assert s["through_training_epochs"] == [0, 1, 2]


def test_init_profile_equals_the_snapshot_at_epoch_zero(report, lstm_run):
    """The fresh initialisation the command rebuilds is the one training started from."""
    tt = load_through_training(lstm_run)
    init = {}
    with open(report[1] / "profile_init.csv", newline="") as f:
        for r in csv.DictReader(f):
            init.setdefault((r["quantity"], r["layer"]), []).append(float(r["mean"]))
    np.testing.assert_allclose(tt.mean["grad_h/0"][0], init[("grad_h", "0")], rtol=1e-5)
    np.testing.assert_allclose(tt.mean["grad_c/1"][0], init[("grad_c", "1")], rtol=1e-5)
    assert not np.allclose(tt.mean["grad_h/0"][-1], init[("grad_h", "0")], rtol=1e-3)  # training moved it


def test_behavioural_context_from_a_sweep(report):
    b = json.loads((report[1] / "summary.json").read_text())["behavioural"]
    assert b["effective_context"] == 20 and not b["censored"] and b["reference_distance"] == 5
    assert b["chance_corrected"] == pytest.approx([0.98, 0.94, 0.5])  # seed means, the missing value skipped


def test_transformer_run(tmp_path):
    out = tmp_path / "tf"
    rnnscope.train(out=out, model="transformer", epochs=1, seed=0, **dict(TINY, hidden=8, layers=1))
    assert main(["gradients", str(out), "--batch", "8", "--split", "train"]) == 0
    s = json.loads((out / "gradients" / "summary.json").read_text())
    assert {(r["layer"], r["quantity"]) for r in s["per_layer"]} == {
        (0, "grad_stream"),
        (1, "grad_stream"),
        (0, "grad_x"),
    }
    assert (out / "gradients" / "profile.png").is_file() and not (out / "gradients" / "highways.png").exists()


@pytest.mark.parametrize(
    "args,match",
    [
        (["--epsilon", "0"], "epsilon must lie in"),
        (["--epsilon", "1"], "epsilon must lie in"),
        (["--epsilon", "-0.5"], "epsilon must lie in"),
        (["--context", "/nonexistent/sweep"], "no context sweep"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(lstm_run, tmp_path, capsys, args, match):
    run = tmp_path / "copy"
    shutil.copytree(lstm_run, run, ignore=shutil.ignore_patterns("gradients"))
    assert main(["gradients", str(run), *args]) == 2  # bad input is refused before anything is computed
    err = capsys.readouterr().err.strip()
    assert match in err and len(err.splitlines()) == 1
    assert not (run / "gradients").exists()


def test_run_directory_without_model_exits_2(lstm_run, tmp_path, capsys):
    run = tmp_path / "nomodel"
    run.mkdir()
    shutil.copy(lstm_run / "config.json", run / "config.json")
    assert main(["gradients", str(run)]) == 2
    assert "model.safetensors" in capsys.readouterr().err
    assert main(["gradients", str(tmp_path / "missing")]) == 2
    assert not (run / "gradients").exists()
