"""The sweep runner: jobs as JSON, skip/resume/restart, failure isolation, pluggable executors."""

import json
from concurrent.futures import Future

import pytest

from rnnscope import rundir
from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.stages.sweeps import run_and_draw
from rnnscope.sweep import InlineExecutor, LocalProcessExecutor, job_name, make_job, run_state, run_sweep
from rnnscope.sweep.executors import Executor, threads_per_worker


def tiny_job(root, name="rnn-s0", kind="rnn", seed=0, epochs=2, distance=3, **data_kw):
    data = DataConfig(task="recall", task_params={"distance": distance, **data_kw}, n_train=48, n_test=16)
    return make_job(
        name,
        root / "runs" / name,
        data,
        ModelConfig(kind=kind, hidden=6, layers=1),
        TrainConfig(epochs=epochs, batch_size=16, seed=seed, device="cpu"),
        tags={"model": kind, "seed": seed, "distance": distance},
    )


class CountingExecutor:
    """A user-supplied backend: anything with submit(job) -> Future and shutdown()."""

    def __init__(self):
        self.inner = InlineExecutor()
        self.submitted = []

    def submit(self, job):
        self.submitted.append(json.loads(json.dumps(job)))  # jobs travel as JSON
        return self.inner.submit(job)

    def shutdown(self, cancel=False):
        pass


def test_job_name_and_json_round_trip(tmp_path):
    assert job_name({"model": "rnn", "seed": 0, "distance": 50}) == "rnn-s0-d50"
    assert job_name({"model": "gru", "seed": 2, "length": 64}) == "gru-s2-l64"
    job = tiny_job(tmp_path)
    assert json.loads(json.dumps(job)) == job
    assert job["out"].endswith("runs/rnn-s0") and job["model"]["hidden"] == 6
    assert run_state(job) == "absent"


def test_threads_per_worker():
    assert threads_per_worker(2, cores=2) == 1
    assert threads_per_worker(1, cores=16) == 16
    assert threads_per_worker(4, cores=16) == 4
    assert threads_per_worker(32, cores=16) == 1  # never zero


def test_second_invocation_skips_finished_runs(tmp_path):
    jobs = [tiny_job(tmp_path, "rnn-s0"), tiny_job(tmp_path, "gru-s0", kind="gru")]
    first = CountingExecutor()
    seen = []
    results = run_sweep(jobs, executor=first, on_result=seen.append)
    assert [r["action"] for r in results] == ["trained", "trained"]
    assert [r["status"] for r in results] == ["completed", "completed"]
    assert len(first.submitted) == 2 and len(seen) == 2
    json.dumps(results)  # results are plain JSON
    mtimes = {
        j["name"]: (tmp_path / "runs" / j["name"] / "model.safetensors").stat().st_mtime_ns for j in jobs
    }

    again = CountingExecutor()
    results2 = run_sweep(jobs, executor=again)
    assert again.submitted == []  # nothing retrained
    assert [r["action"] for r in results2] == ["skipped", "skipped"]
    assert [r["metrics"]["test_acc"] for r in results2] == [r["metrics"]["test_acc"] for r in results]
    for j in jobs:
        assert (tmp_path / "runs" / j["name"] / "model.safetensors").stat().st_mtime_ns == mtimes[j["name"]]


def test_unfinished_run_is_resumed_and_one_without_checkpoint_restarted(tmp_path):
    job = tiny_job(tmp_path, epochs=3)
    done = run_sweep([job], executor=InlineExecutor())[0]
    out = tmp_path / "runs" / "rnn-s0"
    # simulate a crash after the last checkpoint: no metrics, status still running
    (out / "metrics.json").unlink()
    rundir.write_status(out, "running")
    assert run_state(job) == "unfinished"
    resumed = run_sweep([job], executor=InlineExecutor())[0]
    assert resumed["action"] == "resumed" and resumed["status"] == "completed"
    assert resumed["metrics"]["test_acc"] == pytest.approx(done["metrics"]["test_acc"])
    assert run_state(job) == "finished"
    # no intact checkpoint left: the run is trained again from scratch
    (out / "metrics.json").unlink()
    rundir.write_status(out, "running")
    for ckpt in (out / "checkpoints").iterdir():
        (ckpt / "MANIFEST.json").unlink()
    restarted = run_sweep([job], executor=InlineExecutor())[0]
    assert restarted["action"] == "restarted" and restarted["status"] == "completed"
    assert restarted["metrics"]["test_acc"] == pytest.approx(done["metrics"]["test_acc"])  # seeded: same run


def test_a_different_run_in_the_job_directory_is_not_overwritten(tmp_path):
    run_sweep([tiny_job(tmp_path, epochs=1)], executor=InlineExecutor())
    other = tiny_job(tmp_path, epochs=2)  # same directory, another configuration
    assert run_state(other) == "foreign"
    result = run_sweep([other], executor=InlineExecutor())[0]
    assert result["status"] == "failed" and "holds a different run" in result["message"]
    assert len(rundir.read_history(tmp_path / "runs" / "rnn-s0")) == 2  # epoch 0 and 1: untouched


def test_failed_job_is_recorded_and_others_finish_in_worker_processes(tmp_path):
    good = tiny_job(tmp_path, "rnn-s0")
    bad = tiny_job(tmp_path, "rnn-s1", seed=1)
    bad["data"]["task_params"]["distance"] = 10**9  # fails inside the worker, not at planning
    with LocalProcessExecutor(workers=2) as ex:
        assert isinstance(ex, Executor) and ex.threads >= 1
        results = run_sweep([bad, good], executor=ex)
    assert [r["name"] for r in results] == ["rnn-s1", "rnn-s0"]
    assert results[0]["status"] == "failed" and results[0]["action"] is None
    assert "distance must lie in" in results[0]["message"] and "\n" not in results[0]["message"]
    assert results[1]["status"] == "completed" and results[1]["metrics"]["epochs_run"] == 2


def test_a_dying_worker_becomes_a_failed_result(tmp_path):
    class Broken:
        def submit(self, job):
            f = Future()
            f.set_exception(RuntimeError("process pool broke\nwith two lines"))
            return f

        def shutdown(self, cancel=False):
            pass

    results = run_sweep([tiny_job(tmp_path)], executor=Broken())
    assert results[0]["status"] == "failed"
    assert results[0]["message"] == "worker failed: RuntimeError: process pool broke with two lines"


def test_duplicate_jobs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="share the name"):
        run_sweep([tiny_job(tmp_path), tiny_job(tmp_path)], executor=InlineExecutor())


def test_workers_draw_each_runs_curves_and_a_failed_job_draws_nothing(tmp_path):
    # run_and_draw is the stage's job function, applied by the workers (here in this process)
    good = tiny_job(tmp_path, "rnn-s0")
    bad = tiny_job(tmp_path, "rnn-s1", seed=1)
    bad["data"]["task_params"]["distance"] = 10**9
    ok, failed = run_sweep([good, bad], executor=InlineExecutor(fn=run_and_draw))
    assert ok["status"] == "completed" and failed["status"] == "failed"
    assert rundir.RunPaths(ok["out"]).training_curves.png.stat().st_size > 1000
    assert rundir.RunPaths(ok["out"]).training_curves.svg.exists()
    assert not rundir.RunPaths(failed["out"]).training_curves.png.exists()
