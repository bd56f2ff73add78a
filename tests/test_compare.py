"""`rnnscope compare`: matched parameter counts, the tidy table, resumable repeats, bad input."""

import csv
import json

import pytest

from rnnscope.cli import main
from rnnscope.models import build_model, count_params
from rnnscope.sweep import InlineExecutor, runner
from rnnscope.sweep.compare import compare_config, gradient_profiles, plan_compare
from rnnscope.sweep.jobs import job_configs
from rnnscope.tasks import get_task

COLUMNS = [
    "model",
    "seed",
    "length",
    "params",
    "hidden",
    "layers",
    "train_acc",
    "val_acc",
    "test_acc",
    "at_chance",
    "converged_epoch",
    "epochs_run",
    "seconds",
    "status",
    "task_ceiling",
    "message",
    "run",
]


@pytest.fixture
def inline(monkeypatch):
    """Run the command's jobs in this process (the process pool is tested in test_sweep.py)."""
    monkeypatch.setattr(runner, "LocalProcessExecutor", lambda *args, **kwargs: InlineExecutor())


def tiny_args(out, *extra):
    return [
        "compare",
        "--task",
        "evidence",
        "--models",
        "rnn,gru",
        "--params",
        "900",
        "--seeds",
        "0",
        "--lengths",
        "6,9",
        "--epochs",
        "1",
        "--n-train",
        "48",
        "--n-test",
        "16",
        "--batch-size",
        "16",
        "--workers",
        "1",
        "--quiet",
        "--out",
        str(out),
        *extra,
    ]


@pytest.mark.parametrize("task,budget", [("mixture", 5000), ("evidence", 20000), ("recall", 12000)])
def test_parameter_counts_match_within_ten_percent(tmp_path, task, budget):
    cfg = compare_config(task=task, models=["rnn", "lstm", "gru", "transformer"], params=budget, seeds=[0])
    jobs = plan_compare(cfg, tmp_path)
    assert [j["tags"]["model"] for j in jobs] == ["rnn", "lstm", "gru", "transformer"]
    for job in jobs:
        data_cfg, model_cfg, _ = job_configs(job)
        t = get_task(data_cfg.task, **data_cfg.task_params)
        n = count_params(build_model(model_cfg, t.input_size, t.n_classes))
        assert abs(n - budget) <= 0.10 * budget, (job["name"], n)
    hidden = {j["tags"]["model"]: j["model"]["hidden"] for j in jobs}
    assert hidden["rnn"] > hidden["gru"] > hidden["lstm"]  # more gates, fewer units for the same budget


def test_axis_sets_the_task_parameter(tmp_path):
    cfg = compare_config(task="evidence", models=["rnn"], params=3000, seeds=[0, 1], lengths=[20, 40])
    jobs = plan_compare(cfg, tmp_path)
    assert [(j["name"], j["data"]["task_params"]["seq_len"], j["train"]["seed"]) for j in jobs] == [
        ("rnn-s0-l20", 20, 0),
        ("rnn-s1-l20", 20, 1),
        ("rnn-s0-l40", 40, 0),
        ("rnn-s1-l40", 40, 1),
    ]
    cfg = compare_config(task="recall", models=["gru"], params=3000, seeds=[0], distances=[5, 50])
    assert cfg["axis"] == "distance"
    assert [j["data"]["task_params"]["distance"] for j in plan_compare(cfg, tmp_path)] == [5, 50]
    assert compare_config(task="recall", models=["gru"], params=3000, seeds=[0])["values"] == [20]
    with pytest.raises(ValueError, match="no seq_len parameter"):
        compare_config(task="recall", models=["gru"], params=3000, seeds=[0], lengths=[10])
    with pytest.raises(ValueError, match="not both"):
        compare_config(task="evidence", models=["gru"], params=3000, seeds=[0], lengths=[10], distances=[5])


def test_compare_writes_results_and_a_repeat_does_not_retrain(tmp_path, inline, capsys):
    out = tmp_path / "cmp"
    assert main(tiny_args(out)) == 0
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == COLUMNS
    assert sorted((r["model"], r["length"]) for r in rows) == [
        ("gru", "6"),
        ("gru", "9"),
        ("rnn", "6"),
        ("rnn", "9"),
    ]
    for r in rows:
        assert r["status"] == "completed" and r["epochs_run"] == "1" and r["seed"] == "0"
        assert abs(int(r["params"]) - 900) <= 90
        assert 0.0 <= float(r["test_acc"]) <= 1.0 and float(r["task_ceiling"]) > 0.5
        assert (out / r["run"] / "metrics.json").exists()
    for fig in ("accuracy_vs_length", "training_curves", "gradient_profiles"):
        assert (out / f"{fig}.png").stat().st_size > 0
    saved = json.loads((out / "sweep.json").read_text())
    assert saved["command"] == "compare" and saved["config"]["values"] == [6, 9]
    model = out / rows[0]["run"] / "model.safetensors"
    before = model.stat().st_mtime_ns
    capsys.readouterr()

    assert main(tiny_args(out, "--workers", "2")) == 0  # --workers is not part of the configuration
    assert "4 of 4 runs were already finished" in capsys.readouterr().out
    assert model.stat().st_mtime_ns == before

    results_before = (out / "results.csv").read_bytes()
    assert main(tiny_args(out, "--epochs", "2")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another configuration" in err and "epochs 1 -> 2" in err
    assert (out / "results.csv").read_bytes() == results_before


def test_gradient_profiles_are_read_from_run_directories(tmp_path):
    cfg = compare_config(task="recall", models=["rnn", "gru"], params=3000, seeds=[0, 1], distances=[3, 8])
    jobs = plan_compare(cfg, tmp_path)
    # plant profiles for both rnn seeds at the longest distance: the top layer's seed mean is 2^-step
    for seed, scale in ((0, 0.5), (1, 1.5)):
        grad = tmp_path / "runs" / f"rnn-s{seed}-d8" / "gradients"
        grad.mkdir(parents=True)
        lines = ["step,layer,quantity,mean,std"]
        for t in range(10):
            lines += [f"{t},0,grad_h,99.0,0", f"{t},1,grad_h,{scale * 2.0**-t},0.1", f"{t},,grad_x,7,0"]
        (grad / "profile.csv").write_text("\n".join(lines) + "\n")
    profiles, missing = gradient_profiles(jobs, "distance")
    assert sorted(missing) == ["gru-s0-d8", "gru-s1-d8"]
    (p,) = profiles
    assert p["model"] == "rnn" and p["distance"] == 8 and p["runs"] == 2 and p["layer"] == 1
    assert p["quantity"] == "grad_h" and p["step"] == list(range(10))
    assert p["mean"] == pytest.approx([2.0**-t for t in range(10)])


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--models", "rnn,cnn"], "unknown model 'cnn'"),
        (["--lengths", "0,5"], "lengths must be positive"),
        (["--lengths", ""], "--lengths is empty"),
        (["--params", "3"], "no rnn width reaches 3 parameters"),
        (["--seeds", "0,x"], "--seeds expects comma-separated integers"),
        (["--task", "nope"], "unknown task 'nope'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "never"
    assert main(tiny_args(out, *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists()
