"""Where jobs run: anything with `submit(job) -> Future` and `shutdown(cancel=False)`.

The runner only talks to this protocol, so a distributed backend (a cluster queue, Ray, Dask, submitit)
plugs in as one more class whose `submit` ships the JSON job to a remote
`rnnscope.sweep.worker.run_job` and returns a `concurrent.futures.Future` of its JSON result; the
command line does not change. Built in:

    LocalProcessExecutor(workers)   worker processes on this machine (spawn context), each with
                                    max(1, cores // workers) torch threads
    InlineExecutor()                runs each job in the calling process at submit (debugging, tests)
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Protocol, runtime_checkable

from rnnscope.errors import BadArgument
from rnnscope.sweep.worker import init_worker, run_job


@runtime_checkable
class Executor(Protocol):
    """Runs jobs (JSON dicts) and hands back futures of results (JSON dicts)."""

    def submit(self, job: dict) -> Future: ...

    def shutdown(self, cancel: bool = False) -> None: ...


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Each worker's share of the cores (at least one torch thread)."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, workers))


class LocalProcessExecutor:
    """A pool of `workers` spawned processes on this machine.

    Spawn (not fork) so a worker starts clean: no copied torch thread pools or locks of the parent.
    """

    def __init__(self, workers: int | None = None, threads: int | None = None):
        self.workers = workers or default_workers()
        if self.workers < 1:
            raise BadArgument(f"workers must be positive, got {self.workers}")
        self.threads = threads or threads_per_worker(self.workers)
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=init_worker,
                initargs=(self.threads,),
            )
        return self._pool

    def submit(self, job: dict) -> Future:
        return self._ensure_pool().submit(run_job, job)

    def shutdown(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown(cancel=exc[0] is not None)


class InlineExecutor:
    """Runs each job synchronously inside `submit` (no processes); the torch thread count is left alone."""

    def submit(self, job: dict) -> Future:
        future: Future = Future()
        try:
            future.set_result(run_job(job))
        except BaseException as err:  # run_job never raises on a job failure; this is e.g. KeyboardInterrupt
            future.set_exception(err)
            if not isinstance(err, Exception):
                raise
        return future

    def shutdown(self, cancel: bool = False) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def make_executor(workers: int | None = None, backend: str = "local") -> Executor:
    """The executor for a backend name ("local" processes, "inline" in this process)."""
    if backend == "local":
        return LocalProcessExecutor(workers)
    if backend == "inline":
        return InlineExecutor()
    raise BadArgument(f"unknown sweep backend {backend!r}; choose from local, inline")
