"""A sweep job: one fully specified run as a plain, JSON-serialisable dict.

    {"name": "rnn-s0-d50",                      unique within the sweep; also the run directory's name
     "out": "/abs/DIR/runs/rnn-s0-d50",          the run directory (absolute, so any worker can find it)
     "data": {...}, "model": {...}, "train": {...},   DataConfig / ModelConfig / TrainConfig as dicts
     "checkpoint_every": 1,                      epochs between checkpoints (what a resume restarts from)
     "cost": 6.1e6,                              optional relative cost estimate: longer jobs start first
     "tags": {"model": "rnn", "seed": 0, "distance": 50}}   the sweep coordinates, copied into results

A job never holds objects, only JSON, so any backend (a process pool here, a cluster queue later) can
ship it to a worker and get a JSON result back. The run directory is the job's only shared state:
its status.json says whether the job is finished (see `run_state`).
"""

from __future__ import annotations

import json
from pathlib import Path

from rnnscope import rundir
from rnnscope.config import DataConfig, ModelConfig, TrainConfig, from_dict, to_dict
from rnnscope.io import RunFileError, read_json
from rnnscope.rundir import read_metrics as read_run_metrics

FINISHED = ("completed", "failed_nonfinite")  # terminal run statuses: repeating the job gives the same run
_CONFIGS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def job_name(tags: dict, order: tuple[str, ...] | None = None) -> str:
    """'rnn-s0-d50' from {"model": "rnn", "seed": 0, "distance": 50}: model, then s<seed>, then the
    first letter of every other tag with its value (in `order`, default: the dict's order)."""
    parts = [str(tags["model"])] if "model" in tags else []
    for key in order or tags:
        if key == "model":
            continue
        prefix = "s" if key == "seed" else key[0]
        parts.append(f"{prefix}{tags[key]}")
    return "-".join(parts)


def make_job(
    name: str,
    out: str | Path,
    data: DataConfig,
    model: ModelConfig,
    train: TrainConfig,
    tags: dict | None = None,
    checkpoint_every: int = 1,
    seq_len: int | None = None,
) -> dict:
    """A job dict from validated configs (the configs' own checks have already run). With `seq_len`,
    the job's cost hint is sequences × steps × epochs × hidden."""
    job = {
        "name": name,
        "out": str(Path(out).absolute()),
        "data": to_dict(data),
        "model": to_dict(model),
        "train": to_dict(train),
        "checkpoint_every": int(checkpoint_every),
        "tags": dict(tags or {}),
    }
    if seq_len is not None:
        job["cost"] = float(data.n_train + data.n_test) * seq_len * train.epochs * model.hidden
    json.dumps(job)  # a job must be JSON: fail here, not in a worker
    return job


def job_configs(job: dict) -> tuple[DataConfig, ModelConfig, TrainConfig]:
    """The job's configs rebuilt (and thereby validated)."""
    return tuple(from_dict(cls, job[key]) for key, cls in _CONFIGS.items())  # type: ignore[return-value]


def _normal(cfg_dict: dict, cls) -> dict:
    """A config dict as the dataclass writes it (JSON lists vs tuples, defaults filled in)."""
    return json.loads(json.dumps(to_dict(from_dict(cls, cfg_dict))))


def same_configs(job: dict, config: dict) -> bool:
    """Does a run's config.json describe exactly the job's run? (Compared with what the run was asked
    for, `requested`, where the recipe filled in fields the job left unset.)"""
    asked = {**config, **config.get("requested", {})}
    try:
        return all(_normal(job[k], cls) == _normal(asked[k], cls) for k, cls in _CONFIGS.items())
    except (KeyError, TypeError, ValueError):
        return False


def run_state(job: dict) -> str:
    """What the job's run directory holds: "absent" (nothing), "finished" (a terminal status and
    metrics.json), "unfinished" (a run that was interrupted) or "foreign" (a different run).

    Never raises: an unreadable directory counts as "unfinished" (it will be restarted)."""

    paths = rundir.RunPaths(job["out"])
    if not paths.is_run():
        return "absent"
    try:
        config = read_json(paths.config, "config")
    except RunFileError:
        return "unfinished"
    if not same_configs(job, config):
        return "foreign"
    try:
        status = rundir.read_status(paths.root).get("status")
    except RunFileError:
        return "unfinished"
    return "finished" if status in FINISHED and paths.metrics.exists() else "unfinished"


def read_metrics(job: dict) -> dict | None:
    """The job's metrics.json without format_version, or None when missing or unreadable."""

    try:
        return read_run_metrics(job["out"])
    except RunFileError:
        return None
