"""Sweeps on a real Ray cluster: a local head with 2 CPUs started by this module (no mocks).

Ray binds every process of the head to 127.0.0.1 here: its single-machine mode
(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, set before ray is imported), so nothing listens on another address.
"""

import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only; must precede `import ray`

import csv
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
import ray
import torch
from ray._private import ray_constants

from rnnscope.cli import main
from rnnscope.io import load_tensors
from rnnscope.rundir import RunPaths, read_history, read_sweep_file
from rnnscope.stages import sweeps as sweeps_stage
from rnnscope.sweep import InlineExecutor, run_sweep, runner
from rnnscope.sweep.compare import plan_compare
from rnnscope.sweep.ray_executor import SCRATCH_ENV, RayExecutor, scratch_dir
from rnnscope.training.checkpoint import DELAY_ENV


def cli_args(out, *extra):
    """Two tiny runs: a compare sweep of rnn and gru at one length, one seed, two epochs."""
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
        "6",
        "--epochs",
        "2",
        "--n-train",
        "48",
        "--n-test",
        "16",
        "--batch-size",
        "16",
        "--quiet",
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Ray head in this process with 2 CPUs. Its workers inherit the environment of `ray.init`: the
    scratch directory, and the test hook that makes each checkpoint file take 0.1 s to write in them (so a
    kill can land inside a job; this process trains without it)."""
    assert ray_constants.ENABLE_RAY_CLUSTER is False, "ray was imported before the loopback setting"
    scratch = tmp_path_factory.mktemp("ray-scratch")
    os.environ[SCRATCH_ENV] = str(scratch)
    os.environ[DELAY_ENV] = "0.1"
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    finally:
        del os.environ[DELAY_ENV]
    yield scratch
    ray.shutdown()
    del os.environ[SCRATCH_ENV]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same sweep trained in this process, one torch thread (the local executor's result)."""
    out = tmp_path_factory.mktemp("local") / "sweep"
    mp = pytest.MonkeyPatch()
    mp.setattr(runner, "LocalProcessExecutor", lambda *args, **kwargs: InlineExecutor())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(cli_args(out, "--executor", "local", "--workers", "1")) == 0
    finally:
        torch.set_num_threads(threads)
        mp.undo()
    return out


def table(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def assert_same_run(a: Path, b: Path) -> None:
    """Bit-identical weights and the same history (timing apart)."""
    wa, wb = load_tensors(RunPaths(a).model), load_tensors(RunPaths(b).model)
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]
    assert strip(read_history(a)) == strip(read_history(b))


def jobs_in(out: Path, reference: Path) -> list[dict]:
    """The reference sweep's jobs (its sweep.json), with their run directories under `out`."""
    return plan_compare(read_sweep_file(reference).config, out)


def test_unreachable_ray_address_is_one_line_within_seconds(tmp_path, capsys):
    with socket.socket() as s:  # a port that was free a moment ago, and is closed now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    code = main(cli_args(tmp_path / "sweep", "--executor", "ray", "--ray-address", f"127.0.0.1:{port}"))
    err = capsys.readouterr().err
    # a generous bound that still tells a refusal from a hang (Ray alone waits 30-60 s for a GCS)
    assert code == 2 and time.perf_counter() - t0 < 20
    assert err.count("\n") == 1 and f"cannot reach a Ray cluster at 127.0.0.1:{port}" in err
    assert not (tmp_path / "sweep").exists()


def test_ray_sweep_gives_the_local_results(cluster, reference, tmp_path, capsys, monkeypatch):
    def driver_draws(*args, **kwargs):
        raise AssertionError("the driver drew a run's curves: its Ray worker should have")

    monkeypatch.setattr(sweeps_stage, "write_curves", driver_draws)  # the Ray workers import their own
    out = tmp_path / "sweep"
    assert main(cli_args(out, "--executor", "ray")) == 0
    assert table(out) == table(reference)
    for job in jobs_in(out, reference):
        assert_same_run(Path(job["out"]), reference / "runs" / job["name"])
        assert (Path(job["out"]) / "training_curves.png").stat().st_size > 1000  # drawn on the worker
    assert not any(cluster.rglob("*.safetensors"))  # scratch copies are gone once delivered
    assert main(cli_args(out, "--executor", "ray")) == 0  # a repeat skips both runs
    assert "2 of 2 runs were already finished (skipped)" in capsys.readouterr().out


def test_worker_killed_mid_job_is_retried_and_resumes(cluster, reference, tmp_path):
    """SIGKILL to the Ray worker training a job, after its first checkpoint: Ray retries the task, the
    retry resumes from the checkpoint in the node's scratch directory, and the run is the local one."""
    job = jobs_in(tmp_path / "sweep", reference)[1]  # gru
    ckpt = scratch_dir(job) / "checkpoints" / "epoch-000001"
    killed = []

    def kill_after_first_checkpoint():
        deadline = time.monotonic() + 60
        while not ckpt.is_dir() and time.monotonic() < deadline:
            time.sleep(0.01)
        pid = int((scratch_dir(job) / ".lock").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_after_first_checkpoint)
    killer.start()
    with RayExecutor() as ex:
        [result] = run_sweep([job], ex)
    killer.join()
    assert killed and result["status"] == "completed" and result["action"] == "resumed"
    assert_same_run(Path(job["out"]), reference / "runs" / job["name"])


def test_sweep_interrupted_at_the_driver_skips_what_finished(cluster, reference, tmp_path):
    """Ctrl-C at the driver after the first job arrives; the repeat skips it and finishes the rest, and a
    broken job added to the repeat is recorded as failed while the others complete."""
    jobs = jobs_in(tmp_path / "sweep", reference)
    first = []

    def interrupt(result):
        first.append(result["name"])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), RayExecutor() as ex:
        run_sweep(jobs, ex, on_result=interrupt)
    broken = {**jobs[0], "name": "broken", "out": str(tmp_path / "sweep" / "runs" / "broken")}
    broken["model"] = {**broken["model"], "hidden": 0}
    with RayExecutor() as ex:
        *results, failed = run_sweep([*jobs, broken], ex)
    actions = {r["name"]: r["action"] for r in results}
    assert actions[first[0]] == "skipped"
    assert all(r["status"] == "completed" for r in results)
    assert failed["status"] == "failed" and "hidden must be positive, got 0" in failed["message"]
    for job in jobs:
        assert_same_run(Path(job["out"]), reference / "runs" / job["name"])


def test_a_directory_holding_another_run_is_refused_on_the_driver(cluster, reference):
    rnn, gru = jobs_in(reference, reference)  # gru's job pointed at rnn's finished run directory
    foreign = {**gru, "out": rnn["out"]}
    with RayExecutor() as ex:
        [result] = run_sweep([foreign], ex)
    assert result["status"] == "failed" and f"{rnn['out']} holds a different run" in result["message"]
    assert_same_run(Path(rnn["out"]), reference / "runs" / rnn["name"])  # untouched


def test_a_run_interrupted_under_the_local_executor_is_resumed_on_ray(cluster, reference, tmp_path):
    """The driver's unfinished run (its last checkpoint and final files gone) travels to the task, which
    resumes it from epoch 1: the run is the uninterrupted one."""
    job = jobs_in(tmp_path / "sweep", reference)[0]
    shutil.copytree(reference / "runs" / job["name"], job["out"])
    paths = RunPaths(job["out"])
    for f in (paths.status, paths.metrics, paths.model):
        f.unlink()
    shutil.rmtree(paths.checkpoints / "epoch-000002")
    with RayExecutor() as ex:
        [result] = run_sweep([job], ex)
    assert result["action"] == "resumed" and result["status"] == "completed"
    assert_same_run(Path(job["out"]), reference / "runs" / job["name"])
