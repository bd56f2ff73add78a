"""kill -9 at random moments, resume, and get the same bits; run-directory locks.

Training processes are forked from the test process (the CLI's `main` runs in the child) after the test
process has imported everything a run needs, so a start costs milliseconds instead of a fresh interpreter's
import time (seconds on a loaded machine); they are real processes and die by SIGKILL, locks and half-written
files included. Every process, the reference run's included, trains on one torch thread.
RNNSCOPE_TEST_CHECKPOINT_DELAY (a test hook in checkpoint.py) slows one segment's checkpoint writes so that
a kill lands inside one. See docs/reliability.md.
"""

import json
import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnscope.io import dumps, load_tensors
from rnnscope.rundir import RunLock, RunLockedError, read_history, read_status
from rnnscope.training.callbacks import Callback
from rnnscope.training.checkpoint import DELAY_ENV, checkpoint_name

SEED = 20240611
EPOCHS = 6
ARGS = [
    "--task",
    "evidence",
    "--task-param",
    "seq_len=16",
    "--task-param",
    "drift=0.5",
    "--n-train",
    "160",
    "--n-test",
    "48",
    "--model",
    "gru",
    "--hidden",
    "16",
    "--layers",
    "2",
    "--dropout",
    "0.3",
    "--batch-size",
    "16",
    "--lr",
    "0.003",
    "--epochs",
    str(EPOCHS),
    "--seed",
    "5",
    "--device",
    "cpu",
    "--checkpoint-every-batches",
    "3",
    "--quiet",
]
BATCHES = 9  # 160 - 16 validation sequences = 144 -> 9 batches of 16: checkpoints after batches 3 and 6
TIMEOUT = 60.0


def _child(target, log: Path, env: dict | None = None) -> int:
    """Fork a process that runs target() and exits with its return value (3 on an exception)."""
    sys.stdout.flush(), sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 3
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.environ.update(env or {})
        torch.set_num_threads(1)
        code = target() or 0
    except BaseException as err:
        os.write(2, f"child failed: {err!r}\n".encode())
    finally:
        os._exit(code)


@pytest.fixture(scope="module", autouse=True)
def _warm():
    """Import what a run needs (CLI parser, optimizer, plots) once, before any fork; one torch thread."""
    from rnnscope.cli import build_parser
    from rnnscope.plots import training  # noqa: F401 - the training curves of every run

    build_parser()
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # imports torch._dynamo
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _cli(argv):
    from rnnscope.cli import main

    return lambda: main(argv)


def _wait_exit(pid: int, timeout: float = TIMEOUT) -> int:
    """Exit status of a child (negative: killed by that signal)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"child {pid} did not finish within {timeout} s")


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    assert _wait_exit(pid) == -signal.SIGKILL


def _wait_for(cond, pid: int, what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while not cond():
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            pytest.fail(f"the training process exited ({status}) before {what}")
        if time.monotonic() > end:
            _kill(pid)
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def _newest(run: Path) -> str:
    names = (
        sorted(p.name for p in (run / "checkpoints").glob("epoch-*"))
        if (run / "checkpoints").exists()
        else []
    )
    return names[-1] if names else ""


def _final(run: Path):
    """(weights, history without timing, metrics without timing) of a finished run directory."""
    weights = load_tensors(run / "model.safetensors")
    history = [{k: v for k, v in r.items() if k != "seconds"} for r in read_history(run)]
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.pop("train_seconds")
    return weights, dumps(history), metrics


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_kill9_at_random_moments_then_resume_is_bit_identical(tmp_path):
    rng = random.Random(SEED)
    ref, run, neg = tmp_path / "ref", tmp_path / "run", tmp_path / "neg"
    assert _cli(["train", "--out", str(ref), *ARGS])() == 0  # the uninterrupted reference, in this process

    # every checkpoint of the run, in training order; the kills wait for seeded random ones among them
    order = [checkpoint_name(e, b) for e in range(EPOCHS) for b in (3, 6)] + [
        checkpoint_name(e) for e in range(1, EPOCHS)
    ]
    order.sort()
    targets = sorted(rng.sample(order[:-2], 3))
    plan = [("random", targets[0]), ("during-write", None), ("random", targets[1]), ("random", targets[2])]
    argv = ["train", "--out", str(run), *ARGS]
    kills = []
    for i, (kind, target) in enumerate(plan):
        env = {DELAY_ENV: "0.3"} if kind == "during-write" else {}
        pid = _child(_cli(argv), tmp_path / f"seg{i}.log", env)
        if kind == "during-write":  # the first checkpoint this process writes: 3 files x 0.3 s to land in

            def tmp(pid=pid):
                return [p for p in (run / "checkpoints").glob(f".tmp-*-{pid}") if p.is_dir()]

            _wait_for(tmp, pid, "a checkpoint write")
            time.sleep(rng.uniform(0.0, 0.3))
            _kill(pid)
            assert tmp(), "the kill missed the checkpoint write"
            kills.append((kind, tmp()[0].name, sorted(p.name for p in tmp()[0].iterdir())))
        else:  # a seeded random moment after a seeded random checkpoint
            _wait_for(lambda target=target: _newest(run) >= target, pid, f"checkpoint {target}")
            time.sleep(rng.uniform(0.0, 0.15))
            _kill(pid)
            kills.append((kind, _newest(run)))
        assert read_status(run)["status"] == "running"
        if i == 0:  # the negative control starts from the same snapshot as the real resume
            shutil.copytree(run, neg)
        argv = ["train", "--resume", str(run), "--quiet"]
    assert _wait_exit(_child(_cli(argv), tmp_path / "last.log")) == 0, (tmp_path / "last.log").read_text()

    # a resume really happened after every kill, each from a checkpoint (never from the start)
    status = read_status(run)
    assert status["status"] == "completed"
    assert len(status["resumes"]) == len(plan), (kills, status["resumes"])
    assert all(r["from"].startswith("epoch-") and r["restore_rng"] for r in status["resumes"])
    assert not list((run / "checkpoints").glob(".tmp-*"))  # the interrupted write was cleaned away

    w_ref, h_ref, m_ref = _final(ref)
    w_run, h_run, m_run = _final(run)
    assert _same_weights(w_ref, w_run), kills
    assert h_run == h_ref and m_run == m_ref
    assert json.loads(h_ref)[-1]["epoch"] == EPOCHS

    # negative control: the same snapshot resumed without restoring the RNG states must differ
    def no_rng():
        from rnnscope import resume

        resume(neg, restore_rng=False)

    assert _wait_exit(_child(no_rng, tmp_path / "neg.log")) == 0, (tmp_path / "neg.log").read_text()
    assert read_status(neg)["resumes"][-1]["restore_rng"] is False
    w_neg, h_neg, _ = _final(neg)
    assert not _same_weights(w_ref, w_neg)
    assert h_neg != h_ref


def _hold_lock(run: Path, ready: Path):
    def target():
        with RunLock(run):
            ready.write_text("locked")
            time.sleep(TIMEOUT)

    return target


def test_second_writer_refused_and_dead_holder_does_not_block(tmp_path, capsys):
    from rnnscope.cli import main

    run = tmp_path / "run"
    assert (
        _wait_exit(_child(_cli(["train", "--out", str(run), *ARGS, "--epochs", "1"]), tmp_path / "a.log"))
        == 0
    )
    os.remove(run / "status.json")  # damaged: a resume would rebuild it, if it could take the lock
    ready = tmp_path / "ready"
    pid = _child(_hold_lock(run, ready), tmp_path / "hold.log")
    _wait_for(ready.exists, pid, "the lock")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in run.rglob("*"))
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "being written by another rnnscope process" in err and str(run) in err
    assert main(["train", "--out", str(run), *ARGS, "--epochs", "1", "--overwrite"]) == 2
    assert "being written by another rnnscope process" in capsys.readouterr().err
    with pytest.raises(RunLockedError):
        RunLock(run).__enter__()
    assert sorted((p.name, p.stat().st_mtime_ns) for p in run.rglob("*")) == before  # nothing touched

    _kill(pid)  # the holder dies without releasing: the kernel drops its flock
    assert (run / ".lock").read_text().strip() == str(pid)  # the stale lock file is still there
    with RunLock(run):
        pass
    assert main(["train", "--resume", str(run), "--quiet"]) == 0  # rebuilds status.json from the checkpoint
    assert read_status(run)["status"] == "completed"


class _Crash(Callback):
    def __init__(self, epoch: int, batch: int):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, trainer, batch, loss):
        if trainer.epoch == self.epoch and batch == self.batch:
            raise KeyboardInterrupt  # after the mid-epoch checkpoint of this batch, if there is one


def test_resume_inside_an_epoch_is_exact(tmp_path):
    """Deterministic twin of the kill test: crash 5 batches into epoch 2; the newest checkpoint then sits 4
    batches in (every 2 batches), and the resume skips those 4 batches of the regenerated order (with
    dropout and training-batch augmentation, whose random draws must repeat too)."""
    import rnnscope

    kw = {
        "task": "evidence",
        "task_params": {"seq_len": 12},
        "n_train": 120,
        "n_test": 40,
        "model": "lstm",
        "hidden": 10,
        "dropout": 0.25,
        "batch_size": 16,
        "epochs": 3,
        "seed": 9,
        "device": "cpu",
        "checkpoint_every_batches": 2,
        # its noise too is drawn again exactly (seeded by seed, epoch, batch)
        "augment": "jitter+scale+magwarp+mixup",
    }
    ref = rnnscope.train(out=tmp_path / "ref", **kw)
    with pytest.raises(KeyboardInterrupt):
        rnnscope.train(out=tmp_path / "run", callbacks=[_Crash(1, 4)], **kw)
    assert _newest(tmp_path / "run") == "epoch-000001-batch-000004"
    run = rnnscope.resume(tmp_path / "run")
    assert read_status(tmp_path / "run")["resumes"][0]["position_in_epoch"] == 4
    assert _same_weights(ref.model.state_dict(), run.model.state_dict())
    assert _final(tmp_path / "run")[1:] == _final(tmp_path / "ref")[1:]
