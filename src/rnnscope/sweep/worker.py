"""What a worker does with one job: skip it, resume it, or train it; never raise.

`run_job(job) -> result` is a plain top-level function of JSON in, JSON out, so any backend can call
it in any process (`rnnscope.sweep.worker.run_job`). The result:

    {"name", "out", "tags",                      copied from the job
     "action": "skipped" | "resumed" | "restarted" | "trained" | None (failed before acting),
     "status": "completed" | "failed_nonfinite" | "failed",
     "message": None or one line (why it failed / stopped),
     "metrics": the run's metrics.json (None when failed),
     "seconds": wall time of this call}
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from rnnscope.io import RunFileError
from rnnscope.sweep.jobs import job_configs, read_metrics, run_state
from rnnscope.training.api import resume, run_training


def init_worker(threads: int | None) -> None:
    """Process initializer: give this worker `threads` torch threads (its share of the cores)."""

    if threads:
        torch.set_num_threads(int(threads))


def one_line(err: BaseException) -> str:
    text = str(err).strip() or err.__class__.__name__
    return " ".join(text.split())


def failed_result(job: dict, message: str, action: str | None = None, seconds: float = 0.0) -> dict:
    return {
        "name": job.get("name"),
        "out": job.get("out"),
        "tags": job.get("tags", {}),
        "action": action,
        "status": "failed",
        "message": message,
        "metrics": None,
        "seconds": seconds,
    }


def _train(job: dict, restart: bool):
    data_cfg, model_cfg, train_cfg = job_configs(job)
    return run_training(
        data_cfg,
        model_cfg,
        train_cfg,
        job["out"],
        overwrite=restart,
        checkpoint_every=job.get("checkpoint_every", 1),
    )


def _act(job: dict) -> tuple[str, dict]:
    """Bring the job's run directory to a finished state -> (action, metrics)."""

    state = run_state(job)
    if state == "finished":
        metrics = read_metrics(job)
        if metrics is not None:
            return "skipped", metrics
        state = "unfinished"
    if state == "foreign":
        raise ValueError(
            f"{job['out']} holds a different run than this job; remove it or use another output directory"
        )
    if state == "unfinished":
        try:
            return "resumed", resume(job["out"]).metrics
        except (RunFileError, ValueError):  # no intact checkpoint, or a completed run without metrics
            return "restarted", _train(job, restart=True).metrics
    return "trained", _train(job, restart=False).metrics


def run_job(job: dict) -> dict:
    """Run one job to a finished state and describe what happened (never raises on job failure)."""
    t0 = time.perf_counter()
    try:
        action, metrics = _act(job)
    except Exception as err:
        return failed_result(
            job, f"{err.__class__.__name__}: {one_line(err)}", seconds=time.perf_counter() - t0
        )
    status = metrics.get("status", "completed")
    message = metrics.get("stop_reason") if status != "completed" else None
    return {
        "name": job["name"],
        "out": str(Path(job["out"])),
        "tags": job.get("tags", {}),
        "action": action,
        "status": status,
        "message": message,
        "metrics": metrics,
        "seconds": time.perf_counter() - t0,
    }
