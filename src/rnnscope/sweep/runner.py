"""Run a list of jobs through an executor: finished jobs are skipped, the rest run in parallel.

`run_sweep(jobs, executor, on_result)` is silent; progress goes to `on_result(result)`, called once per
job as it finishes (skipped jobs first). A job that fails — an exception in training, a worker process
that dies — becomes a result with status "failed" and a one-line message; the others go on.
Repeating a sweep is cheap: a job whose run directory is finished is answered from its metrics.json
without being submitted; an interrupted one is resumed from its newest checkpoint by its worker.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import as_completed

from rnnscope.sweep.executors import Executor, LocalProcessExecutor, default_workers
from rnnscope.sweep.jobs import read_metrics, run_state
from rnnscope.sweep.worker import failed_result, one_line, run_job


def check_jobs(jobs: list[dict]) -> None:
    """Names and run directories must be unique (two jobs writing one directory would collide)."""
    for key in ("name", "out"):
        seen: set = set()
        for job in jobs:
            if job[key] in seen:
                raise ValueError(f"two jobs share the {key} {job[key]!r}")
            seen.add(job[key])


def skipped_result(job: dict) -> dict | None:
    """The result of a job that is already finished (None when it has to run)."""
    if run_state(job) != "finished":
        return None
    metrics = read_metrics(job)
    if metrics is None:
        return None
    status = metrics.get("status", "completed")
    return {
        "name": job["name"],
        "out": job["out"],
        "tags": job.get("tags", {}),
        "action": "skipped",
        "status": status,
        "message": metrics.get("stop_reason") if status != "completed" else None,
        "metrics": metrics,
        "seconds": 0.0,
    }


def run_sweep(
    jobs: list[dict],
    executor: Executor | None = None,
    on_result: Callable[[dict], None] | None = None,
    workers: int | None = None,
    threads: int = 1,
    fn: Callable[[dict], dict] = run_job,
) -> list[dict]:
    """Run every job to a finished state; returns one result per job, in the order of `jobs`.

    executor: any `Executor`, left open (default: LocalProcessExecutor with min(workers, jobs to run)
    processes of `threads` torch threads each, applying `fn` (run_job) to each job, shut down at the end).
    """
    check_jobs(jobs)
    results: dict[str, dict] = {}
    notify = on_result or (lambda result: None)
    todo = []
    for job in jobs:
        done = skipped_result(job)
        if done is None:
            todo.append(job)
        else:
            results[job["name"]] = done
            notify(done)
    if not todo:
        return [results[j["name"]] for j in jobs]
    own = executor is None
    if executor is None:
        executor = LocalProcessExecutor(min(workers or default_workers(), len(todo)), threads, fn=fn)
    try:
        # longest first (a job's optional "cost" hint), so the slowest runs do not start last
        futures = {
            executor.submit(job): job for job in sorted(todo, key=lambda j: -float(j.get("cost") or 0))
        }
        for future in as_completed(futures):
            job = futures[future]
            try:
                result = future.result()
            except Exception as err:
                result = failed_result(job, f"worker failed: {err.__class__.__name__}: {one_line(err)}")
            results[job["name"]] = result
            notify(result)
    except BaseException:
        executor.shutdown(cancel=True)
        raise
    else:
        if own:  # every job is done: the workers exit while the caller writes its results
            executor.shutdown(wait=False)
    return [results[j["name"]] for j in jobs]
