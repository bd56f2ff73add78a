"""Where jobs run: anything with `submit(job) -> Future` and `shutdown(cancel=False)`.

The runner only talks to this protocol, so a distributed backend (a cluster queue, Ray, Dask, submitit)
plugs in as one more class whose `submit` ships the JSON job to a remote
`rnnscope.sweep.worker.run_job` and returns a `concurrent.futures.Future` of its JSON result; the
command line does not change. Built in:

    LocalProcessExecutor(workers, threads=1)   worker processes on this machine (spawn context), each
                                    with `threads` torch threads (one by default: the small GEMMs of a
                                    recurrence run fastest on one, docs/training.md)
    InlineExecutor()                runs each job in the calling process at submit (debugging, tests)

Every executor takes `fn`, the function a worker applies to a job: `run_job` by default; any top-level
function with run_job's contract (JSON in, JSON out, never raises on a job failure), e.g. the sweep
stage's `run_and_draw`, which also draws the run's training curves in the worker.
    RayExecutor(...)                Ray core tasks on a cluster (rnnscope.sweep.ray_executor, the `ray`
                                    extra; made by `make_executor(backend="ray")`)
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Protocol, runtime_checkable

from rnnscope.errors import BadArgument, MissingExtra
from rnnscope.sweep.worker import init_worker, run_job


@runtime_checkable
class Executor(Protocol):
    """Runs jobs (JSON dicts) and hands back futures of results (JSON dicts)."""

    def submit(self, job: dict) -> Future: ...

    def shutdown(self, cancel: bool = False) -> None: ...


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Each worker's share of the cores (at least one torch thread): an upper bound worth trying for
    `threads` with few workers and large models; the default stays 1."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, workers))


def check_threads(threads: int) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise BadArgument(f"threads must be a positive integer, got {threads!r}")
    return threads


class LocalProcessExecutor:
    """A pool of `workers` spawned processes on this machine.

    Spawn (not fork) so a worker starts clean: no copied torch thread pools or locks of the parent.
    """

    def __init__(self, workers: int | None = None, threads: int = 1, fn: Callable[[dict], dict] = run_job):
        self.fn = fn
        self.workers = workers or default_workers()
        if self.workers < 1:
            raise BadArgument(f"workers must be positive, got {self.workers}")
        self.threads = check_threads(threads)
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=init_worker,
                initargs=(self.threads,),
            )
        return self._pool

    def submit(self, job: dict) -> Future:
        return self._ensure_pool().submit(self.fn, job)

    def shutdown(self, cancel: bool = False, wait: bool = True) -> None:
        """Stop the workers. wait=False returns at once and lets them exit while the caller goes on
        (their interpreters take ~1.5 s to finish here); Python joins them before it exits."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown(cancel=exc[0] is not None)


class InlineExecutor:
    """Runs each job synchronously inside `submit` (no processes); the torch thread count is left alone."""

    def __init__(self, fn: Callable[[dict], dict] = run_job):
        self.fn = fn

    def submit(self, job: dict) -> Future:
        future: Future = Future()
        try:
            future.set_result(self.fn(job))
        except BaseException as err:  # run_job never raises on a job failure; this is e.g. KeyboardInterrupt
            future.set_exception(err)
            if not isinstance(err, Exception):
                raise
        return future

    def shutdown(self, cancel: bool = False, wait: bool = True) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


BACKENDS = ("local", "inline", "ray")


def make_executor(
    workers: int | None = None,
    backend: str = "local",
    threads: int = 1,
    ray_address: str | None = None,
    device: str = "cpu",
    gpu_fraction: float | None = None,
    fn: Callable[[dict], dict] = run_job,
) -> Executor:
    """The executor for a backend name: "local" processes (`workers` of them, `threads` torch threads
    each), "inline" in this process, or "ray" tasks on the cluster at `ray_address` (None: this process's
    Ray if it is connected, else a new local one; "auto": the cluster `ray start` made on this machine;
    HOST:PORT). `fn`: what a worker does with a job (run_job). Connects now: an unreachable cluster is a
    BadArgument before anything is written; MissingExtra when ray is not installed."""
    check_threads(threads)
    if backend == "local":
        return LocalProcessExecutor(workers, threads, fn=fn)
    if backend == "inline":
        return InlineExecutor(fn=fn)
    if backend == "ray":
        try:
            # the optional `ray` extra: imported only when asked for
            from rnnscope.sweep.ray_executor import RayExecutor  # noqa: PLC0415
        except ImportError as err:
            if (err.name or "").split(".")[0] != "ray":
                raise
            raise MissingExtra(
                "--executor ray needs Ray: pip install 'rnnscope[ray]' (or pip install ray)"
            ) from None
        return RayExecutor(
            address=ray_address, threads=threads, device=device, gpu_fraction=gpu_fraction, fn=fn
        )
    raise BadArgument(f"unknown sweep executor {backend!r}; choose from {', '.join(BACKENDS)}")
