import math

import numpy as np
import pytest
import torch

import rnnscope
from rnnscope.io import load_tensors
from rnnscope.training.callbacks import Callback
from rnnscope.training.loop import converged_epoch, convergence_key

SMALL = dict(
    task="evidence",
    task_params={"seq_len": 15, "drift": 0.6},
    n_train=160,
    n_test=80,
    hidden=12,
    batch_size=32,
    lr=3e-3,
)
TIMING = ("seconds",)


def _strip(history):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in history]


def _same(a, b):
    return all(
        (x == y) or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
        for ra, rb in zip(a, b)
        for x, y in zip(ra.values(), rb.values())
    ) and len(a) == len(b)


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru", "transformer"])
def test_same_seed_same_history_and_weights(model):
    a = rnnscope.train(model=model, epochs=2, seed=3, device="cpu", **SMALL)
    b = rnnscope.train(model=model, epochs=2, seed=3, device="cpu", **SMALL)
    assert _same(_strip(a.history), _strip(b.history))
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    c = rnnscope.train(model=model, epochs=2, seed=4, device="cpu", **SMALL)
    assert not torch.equal(next(iter(a.model.parameters())), next(iter(c.model.parameters())))


def test_history_records_every_epoch_and_learns():
    run = rnnscope.train(epochs=6, seed=0, device="cpu", **SMALL)
    h = run.history
    assert [r["epoch"] for r in h] == list(range(7))
    for key in (
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "test_loss",
        "test_acc",
        "grad_norm",
        "seconds",
    ):
        assert key in h[-1]
    assert math.isnan(h[0]["grad_norm"])  # epoch 0 is the untrained model
    assert h[-1]["train_loss"] < h[0]["train_loss"]
    assert h[-1]["test_acc"] > 0.6  # chance is 1/3
    assert run.metrics["epochs_run"] == 6 and run.metrics["task_ceiling"] > 0.9


def test_run_directory_round_trip(tmp_path):
    out = tmp_path / "run"
    run = rnnscope.train(out=out, epochs=2, seed=1, device="cpu", **SMALL)
    for f in (
        "config.json",
        "history.jsonl",
        "metrics.json",
        "model.safetensors",
        "status.json",
        "training_curves.png",
        "training_curves.svg",
    ):
        assert (out / f).exists(), f
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch-000001", "epoch-000002"]
    loaded = rnnscope.load_run(out)
    assert loaded.metrics["params"] == run.metrics["params"]
    for key in (
        "train_acc",
        "val_acc",
        "test_acc",
        "converged_epoch",
        "epochs_run",
        "params",
        "train_seconds",
        "task_ceiling",
    ):
        assert key in loaded.metrics
    assert _same(_strip(loaded.history), _strip(run.history))
    data = loaded.data  # rebuilt from config.json alone
    np.testing.assert_array_equal(data.test.x, run.data.test.x)
    x = torch.as_tensor(data.test.x[:8])
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), run.model.eval()(x))
    state = load_tensors(out / "model.safetensors")
    assert set(state) == set(run.model.state_dict())


def test_existing_run_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "run"
    rnnscope.train(out=out, epochs=1, device="cpu", **SMALL)
    with pytest.raises(ValueError, match="already holds a run"):
        rnnscope.train(out=out, epochs=1, device="cpu", **SMALL)
    rnnscope.train(out=out, epochs=1, device="cpu", overwrite=True, **SMALL)


class _Crash(Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, trainer, record):
        if trainer.epoch == self.at:
            raise KeyboardInterrupt  # after the checkpoint callback has run for this epoch


def test_resume_continues_exactly(tmp_path):
    ref = rnnscope.train(out=tmp_path / "ref", epochs=4, seed=2, device="cpu", dropout=0.2, **SMALL)
    with pytest.raises(KeyboardInterrupt):
        rnnscope.train(
            out=tmp_path / "crash",
            epochs=4,
            seed=2,
            device="cpu",
            dropout=0.2,
            callbacks=[_Crash(2)],
            **SMALL,
        )
    resumed = rnnscope.resume(tmp_path / "crash")
    assert resumed.metrics["epochs_run"] == 4
    assert _same(_strip(resumed.history), _strip(ref.history))
    for a, b in zip(ref.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)


def test_nonfinite_loss_stops_with_status(tmp_path):
    run = rnnscope.train(
        out=tmp_path / "run",
        epochs=3,
        lr=1e20,
        clip=None,
        device="cpu",
        **{k: v for k, v in SMALL.items() if k != "lr"},
    )
    if run.metrics["status"] != "failed_nonfinite":  # an absurd lr must blow up; if not, NaN data will
        pytest.fail(f"expected failed_nonfinite, got {run.metrics['status']}")
    assert "epoch" in run.metrics["stop_reason"] and "batch" in run.metrics["stop_reason"]
    from rnnscope.rundir import read_status

    assert read_status(tmp_path / "run")["status"] == "failed_nonfinite"


def test_converged_epoch_definition():
    h = [{"epoch": i, "val_acc": v} for i, v in enumerate([0.2, 0.5, 0.8, 0.905, 0.91, 0.9])]
    assert converged_epoch(h) == 3  # first epoch within 1 point of the best (0.91)
    assert converged_epoch([{"epoch": 0, "val_acc": float("nan"), "test_acc": 0.5}]) == 0


def test_convergence_is_not_judged_on_a_carve_of_a_few_series():
    # GunPoint's recipe carve: 5 validation series, one lucky epoch at 1.0 while the model is at chance
    h = [
        {"epoch": e, "val_acc": v, "test_acc": t}
        for e, (v, t) in enumerate([(0.4, 0.50), (1.0, 0.51), (0.6, 0.52), (0.4, 0.58), (0.6, 0.61)])
    ]
    assert convergence_key(5, 150) == "test_acc" and converged_epoch(h, "test_acc") == 4
    assert converged_epoch(h) == 1  # what judging on the carve would say
    assert convergence_key(150, 1000) == "val_acc" and convergence_key(30, 1029) == "val_acc"
    assert convergence_key(29, 1029) == "test_acc" and convergence_key(0, 40) == "test_acc"
    assert convergence_key(12, 10) == "val_acc"  # a test split smaller still: the larger one
