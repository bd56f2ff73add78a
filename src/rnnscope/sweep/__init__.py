"""Parallel, resumable sweeps of training runs, and the architecture studies built on them.

A sweep is a list of jobs (plain JSON dicts, each a fully specified run with its own run directory,
see jobs.py), run by an `Executor` (anything with `submit(job) -> Future` and `shutdown()`): worker
processes on this machine, or Ray tasks on a cluster (ray_executor.py), without changing the commands.
Finished jobs are skipped when a sweep is repeated; interrupted ones resume from their checkpoints.

    jobs.py       the job format, run-directory state (absent / finished / unfinished / foreign)
    worker.py     run_job(job) -> result: what one worker does (JSON in, JSON out; never raises)
    executors.py  the Executor protocol, LocalProcessExecutor, InlineExecutor, make_executor
    ray_executor.py  RayExecutor: one Ray task per job, run directories shipped back as files (`ray` extra)
    runner.py     run_sweep(jobs, executor, on_result): skip, submit, collect, isolate failures
    store.py      sweep.json (refuses a different configuration), tidy CSV, seed aggregates
    compare.py    `rnnscope compare`: matched-parameter architecture comparison
    context.py    `rnnscope context`: the behavioural effective context on delayed recall
"""

from rnnscope.lazy import lazy_names

# Imported on first use, so that the light modules (compare/context configurations) load without torch.
_LAZY = {
    "Executor": "rnnscope.sweep.executors",
    "InlineExecutor": "rnnscope.sweep.executors",
    "LocalProcessExecutor": "rnnscope.sweep.executors",
    "make_executor": "rnnscope.sweep.executors",
    "job_name": "rnnscope.sweep.jobs",
    "make_job": "rnnscope.sweep.jobs",
    "run_state": "rnnscope.sweep.jobs",
    "run_sweep": "rnnscope.sweep.runner",
    "run_job": "rnnscope.sweep.worker",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(globals(), _LAZY)
