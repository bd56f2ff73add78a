"""Ray core tasks behind the `Executor` protocol: a sweep on a Ray cluster (the optional `ray` extra).

One job is one Ray task, `run_remote(job, files, threads)`, which runs the ordinary
`rnnscope.sweep.worker.run_job` on the worker Ray picks. Nothing assumes a shared file system:

- the task trains in a scratch directory of its node, `$RNNSCOPE_RAY_SCRATCH` (default
  `<tmp>/rnnscope-ray`) / <16 hex digits of the SHA-256 of the driver's run directory> / NAME, and sends the
  finished run directory back as `{relative path: bytes}` with its result; the driver writes it into
  SWEEP_DIR/runs/NAME/ (rnnscope.rundir.write_run_files), then the task's scratch copy is gone;
- a job whose run directory on the driver is unfinished (a sweep interrupted under the local executor)
  ships those files to the task, which resumes from their newest checkpoint;
- a task whose worker process dies mid-job (killed, out of memory, a lost node) is retried by Ray
  (`max_retries`, system failures only: `run_job` never raises on a job failure, so
  `retry_exceptions=False`); on the same node the retry finds the scratch directory and resumes exactly
  from its newest checkpoint, on another node it trains again from the seed (the same run, slower);
- a sweep interrupted at the driver cancels its tasks (`ray.cancel(force=True)`); the next run of the
  command skips the jobs that reached the driver and resumes the others from their scratch checkpoints.

Resources: `num_cpus` = the job's torch threads; `num_gpus` = `gpu_fraction` (default 0.25, four small
jobs per GPU) for jobs with device "cuda", else 0 (Ray then hides the GPUs, so "auto" trains on CPU).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import ray

from rnnscope.errors import BadArgument
from rnnscope.rundir import RunPaths, read_run_files, write_run_files
from rnnscope.sweep.jobs import run_state
from rnnscope.sweep.worker import init_worker, run_job

SCRATCH_ENV = "RNNSCOPE_RAY_SCRATCH"
MAX_RETRIES = 3  # retries of a task whose worker died (Ray's default for tasks, made explicit)
CONNECT_TIMEOUT = 3.0  # seconds to wait for a TCP connection to HOST:PORT before calling it unreachable
DEFAULT_GPU_FRACTION = 0.25


def scratch_dir(job: dict) -> Path:
    """Where a job trains on a Ray worker (a function of the driver's run directory and the job's name)."""
    root = Path(os.environ.get(SCRATCH_ENV) or Path(tempfile.gettempdir()) / "rnnscope-ray")
    key = hashlib.sha256(str(job["out"]).encode()).hexdigest()[:16]
    return root / key / job["name"]


def run_remote(
    job: dict, files: dict[str, bytes] | None, threads: int, fn: Callable[[dict], dict] = run_job
) -> dict:
    """The Ray task: train `job` (`fn`, run_job by default) in this node's scratch directory -> its result
    plus "files", the run directory's files ({} when nothing was written)."""
    init_worker(threads)
    scratch = scratch_dir(job)
    local = {**job, "out": str(scratch)}
    if run_state(local) == "foreign":  # left by another sweep that used the same driver path
        shutil.rmtree(scratch)
    if files and not RunPaths(scratch).is_run():
        scratch.mkdir(parents=True, exist_ok=True)
        write_run_files(scratch, files)
    result = fn(local)
    result["files"] = read_run_files(scratch) if scratch.is_dir() else {}
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        scratch.parent.rmdir()  # the sweep's folder, once its last job has gone
    except OSError:
        pass
    return result


_REMOTE = ray.remote(run_remote)


def parse_address(address: str) -> tuple[str, int]:
    """'HOST:PORT' -> (host, port); BadArgument otherwise."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadArgument(f"--ray-address expects auto or HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """A TCP connection to HOST:PORT within `timeout` seconds, or a BadArgument saying so."""
    host, port = parse_address(address)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        reason = "timed out" if isinstance(err, TimeoutError) else err.strerror or str(err)
        raise BadArgument(
            f"cannot reach a Ray cluster at {address} ({reason}); start one with "
            f"`ray start --head --port {port}` or check --ray-address"
        ) from None


def connect(address: str | None) -> bool:
    """Connect this process to Ray -> True when this call started the connection (and owns it).

    None: this process's connection if it has one, else a new local Ray; "auto": the cluster `ray start`
    left on this machine; HOST:PORT: that cluster's head, checked reachable first (a hang otherwise)."""
    if address not in (None, "auto"):
        check_reachable(address)
    if ray.is_initialized():
        return False
    kwargs = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address is None:
        kwargs["include_dashboard"] = False
    try:
        ray.init(address=address, **kwargs)
    except ConnectionError as err:
        raise BadArgument(
            f"no Ray cluster at --ray-address {address} ({' '.join(str(err).split())[:200]}); start one "
            "with `ray start --head` or give HOST:PORT"
        ) from None
    return True


class RayExecutor:
    """Jobs as Ray tasks; `submit` returns a Future that completes once the run is in the sweep directory."""

    def __init__(
        self,
        address: str | None = None,
        threads: int = 1,
        device: str = "cpu",
        gpu_fraction: float | None = None,
        runtime_env: dict | None = None,
        fn: Callable[[dict], dict] = run_job,
    ):
        if gpu_fraction is not None and not 0 < gpu_fraction <= 1:
            raise BadArgument(f"--gpu-fraction must lie in (0, 1], got {gpu_fraction}")
        self.fn = fn
        self.threads = threads
        self.device = device
        self.gpu_fraction = gpu_fraction or DEFAULT_GPU_FRACTION
        self.runtime_env = runtime_env
        self._owned = connect(address)
        self._refs: dict[ray.ObjectRef, Future] = {}

    def options(self, job: dict) -> dict:
        """The task's resources and retry policy."""
        gpus = self.gpu_fraction if job["train"].get("device") == "cuda" else 0
        opts = {"num_cpus": self.threads, "num_gpus": gpus, "max_retries": MAX_RETRIES}
        opts["retry_exceptions"] = False
        if self.runtime_env is not None:
            opts["runtime_env"] = self.runtime_env
        return opts

    def submit(self, job: dict) -> Future:
        future: Future = Future()
        if run_state(job) == "foreign":  # refused here, naming the driver's directory; nothing is shipped
            future.set_result(self.fn(job))
            return future
        paths = RunPaths(job["out"])
        files = read_run_files(paths.root) if paths.is_run() else None  # an unfinished run to resume
        ref = _REMOTE.options(**self.options(job)).remote(job, files, self.threads, self.fn)
        self._refs[ref] = future
        ref.future().add_done_callback(lambda done: _deliver(job, done, future))
        return future

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            for ref, future in self._refs.items():
                if not future.done():
                    ray.cancel(ref, force=True)
        self._refs = {}
        if self._owned and ray.is_initialized():
            ray.shutdown()
        self._owned = False

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown(cancel=exc[0] is not None)


def _deliver(job: dict, done: Future, future: Future) -> None:
    """Write the task's files into the job's run directory, then complete `future` with its result."""
    try:
        result = dict(done.result())
        files = result.pop("files", None)
        if files:
            Path(job["out"]).mkdir(parents=True, exist_ok=True)
            write_run_files(job["out"], files)
        result["out"] = job["out"]
    except BaseException as err:  # a task error, a cancelled task, or a file the driver could not write
        future.set_exception(err)
        return
    future.set_result(result)
