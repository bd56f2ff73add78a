"""Numerical failures: a non-finite loss, gradient or update stops training at that step, says where and
what to do, marks the run failed_nonfinite, keeps the last good checkpoint, and keeps NaN in the history."""

import math

import numpy as np
import pytest
import torch

import rnnscope
from rnnscope.cli import main
from rnnscope.data.dataset import DataBundle, Split
from rnnscope.rundir import read_history, read_status
from rnnscope.training import api
from rnnscope.training.checkpoint import load_latest
from rnnscope.training.loop import split_validation

SMALL = {
    "task": "evidence",
    "task_params": {"seq_len": 10},
    "n_train": 96,
    "n_test": 32,
    "hidden": 8,
    "batch_size": 16,
    "device": "cpu",
    "seed": 6,
}
CLI = [
    "--task",
    "evidence",
    "--task-param",
    "seq_len=10",
    "--n-train",
    "96",
    "--n-test",
    "32",
    "--hidden",
    "8",
    "--batch-size",
    "16",
    "--device",
    "cpu",
    "--seed",
    "6",
    "--epochs",
    "3",
    "--quiet",
]


def _epoch1_batches(y: np.ndarray) -> dict[int, int]:
    """Training index -> its batch in epoch 1 (the seeded, stratified validation split, then the seeded
    order), for labels y; sequences carried to validation are absent."""
    x = np.arange(len(y), dtype=np.float32)[:, None, None]  # each sequence holds its own index
    train, _ = split_validation(Split.full_length(x, y), 0.1, SMALL["seed"])
    perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(SMALL["seed"]))
    return {int(train.x[row, 0, 0]): pos // SMALL["batch_size"] for pos, row in enumerate(perm.tolist())}


@pytest.fixture
def nan_data(monkeypatch):
    """The task's data with one NaN in a training sequence that epoch 1 meets in its third batch or later (at
    the tensor level: a data file with NaN would have its missing value filled, or be refused as bad input).
    Returns that batch."""
    real = api.load_data
    cfg = rnnscope.DataConfig(task="evidence", task_params={"seq_len": 10}, n_train=96, n_test=32)
    where = _epoch1_batches(real(cfg, SMALL["seed"])[0].train.y)
    poisoned = min(i for i, b in where.items() if b >= 2)

    def load(cfg, seed):
        bundle, task = real(cfg, seed)
        x = bundle.train.x.copy()
        x[poisoned, 3, 1] = np.nan
        train = Split(x, bundle.train.y, bundle.train.lengths)
        return DataBundle(train, bundle.test, bundle.n_classes, bundle.class_names, bundle.source), task

    monkeypatch.setattr(api, "load_data", load)
    return where[poisoned]


def test_nan_in_the_data_stops_at_its_batch_keeps_nan_and_the_last_good_checkpoint(nan_data, tmp_path):
    batch = nan_data
    assert batch >= 1  # so that checkpoints exist before it
    out = tmp_path / "run"
    run = rnnscope.train(out=out, epochs=3, checkpoint_every_batches=1, **SMALL)
    status = read_status(out)
    assert status["status"] == "failed_nonfinite" and run.metrics["status"] == "failed_nonfinite"
    f = status["failure"]
    assert (f["epoch"], f["batch"], f["what"], f["nonfinite_inputs"]) == (1, batch, "loss", True)
    assert math.isnan(f["loss"])  # written as "NaN", read back as NaN: never null, never dropped
    assert f"non-finite loss at epoch 1, batch {batch} (of 6, counted from 0)" in status["reason"]
    assert "the batch's inputs hold NaN or inf values: clean the data" in status["reason"]
    # the last good checkpoint is the one right before the failing step, and it verifies and loads
    assert status["last_checkpoint"] == f"epoch-000000-batch-{batch:06d}"
    assert f"the last good checkpoint, epoch-000000-batch-{batch:06d}, is intact" in status["reason"]
    ckpt, tensors, _, problems = load_latest(out / "checkpoints")
    assert ckpt.name == status["last_checkpoint"] and not problems
    assert all(torch.isfinite(v).all() for k, v in tensors.items() if k.startswith("model/"))
    # NaN stays in the history: epoch 0 evaluated the training split, NaN sequence included
    history = read_history(out)
    assert [r["epoch"] for r in history] == [0]
    assert math.isnan(history[0]["train_loss"]) and math.isfinite(history[0]["test_loss"])
    assert '"train_loss": "NaN"' in (out / "history.jsonl").read_text()
    loaded = rnnscope.load_run(out)  # a failed run still loads, with its finite weights
    assert loaded.metrics["status"] == "failed_nonfinite"
    with pytest.raises(ValueError, match="non-finite loss and a resume would repeat it exactly"):
        rnnscope.resume(out)


def test_nan_data_through_the_cli_exits_1_with_the_remedy(nan_data, tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "run"), *CLI]) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"rnnscope train: non-finite loss at epoch 1, batch {nan_data} ")
    assert "clean the data" in err and "run directory:" in out


@pytest.mark.parametrize(
    "lr, what, remedy",
    [
        (
            "1e20",
            "gradient norm",
            "turn gradient clipping on (--clip 1.0) or lower the learning rate (--lr 1e+19)",
        ),
        ("1e38", "update (the optimizer step overflowed float32)", "lower the learning rate (--lr 1e+37)"),
    ],
)
def test_absurd_learning_rate_fails_with_status_1_and_remedies(tmp_path, capsys, lr, what, remedy):
    out = tmp_path / "run"
    assert (
        main(["train", "--out", str(out), *CLI, "--lr", lr, "--no-clip", "--checkpoint-every-batches", "2"])
        == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    status = read_status(out)
    f = status["failure"]
    assert f"non-finite {what} at epoch {f['epoch']}, batch {f['batch']} (of 6" in err and remedy in err
    assert status["status"] == "failed_nonfinite" and f["what"] == what.split(" (")[0]
    assert f["nonfinite_inputs"] is False
    history = read_history(out)  # the epochs before the failing one; epoch 0 has no gradient: NaN, kept
    assert [r["epoch"] for r in history] == list(range(f["epoch"])) and math.isnan(history[0]["grad_norm"])
    if (f["epoch"], f["batch"]) >= (1, 2):  # a checkpoint every 2 batches: the newest one before the failure
        good = load_latest(out / "checkpoints")[0].name
        assert status["last_checkpoint"] == good and f"the last good checkpoint, {good}, is intact" in err
