"""`run_training(...)`, `resume(...)` and `load_run(...)`: training runs and reading them back.

`rnnscope.train(...)` (rnnscope.stages.train) is the Python twin of `rnnscope train`: this training and,
once it ends, the training-curves figure.

A run is data config + model config + training config. `run_training` validates everything and loads
the data before it writes a single file, so bad input leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch

from rnnscope import __version__, rundir
from rnnscope.config import DataConfig, ModelConfig, TrainConfig, from_dict, to_dict
from rnnscope.data import load_dataset, load_directory
from rnnscope.data.dataset import DataBundle
from rnnscope.errors import BadArgument
from rnnscope.io import NewerFormatError, RunFileError
from rnnscope.models import build_model, count_params, hidden_for_params
from rnnscope.rundir import RunPaths, read_config, read_metrics
from rnnscope.tasks import get_task
from rnnscope.training.checkpoint import (
    Checkpointer,
    intact_checkpoint,
    latest_checkpoint,
    load_latest,
    restore_trainer,
)
from rnnscope.training.imported import load_imported
from rnnscope.training.loop import Trainer
from rnnscope.training.metrics import compute_metrics
from rnnscope.training.recipe import resolve_data, resolve_train
from rnnscope.training.rundir import HistoryWriter, rebuild_hint, verify_run

Finisher = Callable[[Path, list[dict], dict], object]  # (out, history, metrics) -> anything


def make_task(cfg: DataConfig):
    return get_task(cfg.task, **cfg.task_params)


def load_data(cfg: DataConfig, seed: int) -> tuple[DataBundle, object | None]:
    """The data a config names -> (DataBundle, the Task or None for real data)."""
    if cfg.task is not None:
        task = make_task(cfg)
        return task.make(cfg.n_train, cfg.n_test, seed), task

    kw = {"normalize": cfg.normalize, "truncate": cfg.truncate, "downsample": cfg.downsample}
    kw["downsample_max_steps"] = cfg.downsample_max_steps
    kw["downsample_by"] = cfg.downsample_by or "every"  # None: a config.json from before block means
    if cfg.dataset is not None:
        return load_dataset(cfg.dataset, **kw), None
    return load_directory(cfg.path, label_column=cfg.label_column, **kw), None


@dataclass
class Run:
    """A finished (or loaded) run: its directory, configs, model, history and metrics."""

    path: Path | None
    data_cfg: DataConfig
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    model: torch.nn.Module
    history: list[dict]
    metrics: dict
    config: dict = field(default_factory=dict)
    _data: DataBundle | None = None
    notes: list[str] = field(default_factory=list)  # what a resume had to skip (corrupt checkpoints)
    initial: Callable[[], torch.nn.Module] | None = None  # imported runs: the architecture freshly made

    @cached_property
    def data(self) -> DataBundle:
        """The run's data, rebuilt from its config (deterministic)."""
        return self._data if self._data is not None else load_data(self.data_cfg, self.train_cfg.seed)[0]

    @cached_property
    def task(self):
        return make_task(self.data_cfg) if self.data_cfg.task is not None else None


def _versions() -> dict:
    return {"rnnscope": __version__, "torch": torch.__version__, "python": platform.python_version()}


def run_training(
    data_cfg: DataConfig,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    out: str | Path | None,
    *,
    overwrite: bool = False,
    match_params: int | None = None,
    callbacks=(),
    checkpoint_every: int = 1,
    checkpoint_every_batches: int | None = None,
    on_finished: Finisher | None = None,
) -> Run:
    """Validate, load data, build the model, train, and (when `out`) write the run directory.

    on_finished(out, history, metrics): called once the run's files are written and before status.json
    commits them (the train stage draws the training curves there; training itself draws nothing).
    checkpoint_every: checkpoint every K epochs; checkpoint_every_batches: also every N batches inside an
    epoch (for long epochs; None: only at epoch ends). See docs/reliability.md.
    """
    for name, value in (
        ("checkpoint_every", checkpoint_every),
        ("checkpoint_every_batches", checkpoint_every_batches),
    ):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise BadArgument(f"{name} must be a positive integer, got {value!r}")
    if data_cfg.path is not None:  # config.json must rebuild the data from any working directory
        data_cfg = dataclasses.replace(data_cfg, path=str(Path(data_cfg.path).resolve()))
    requested = {"data": to_dict(data_cfg), "train": to_dict(train_cfg)}  # before the recipe fills in
    data_cfg = resolve_data(data_cfg)  # real data: the recipe's length rule (downsample auto, frames)
    out = rundir.prepare_output(out, overwrite) if out is not None else None
    data, task = load_data(data_cfg, train_cfg.seed)
    train_cfg, chosen = resolve_train(train_cfg, len(data.train), data.n_classes, real=task is None)
    if match_params is not None:
        model_cfg = hidden_for_params(model_cfg, data.input_size, data.n_classes, match_params)
    torch.manual_seed(train_cfg.seed)
    model = build_model(model_cfg, data.input_size, data.n_classes)
    ceiling = task.ceiling() if task is not None else None
    trainer = Trainer(model, data, train_cfg, list(callbacks))  # validates device and the val split
    config = {
        "data": to_dict(data_cfg),
        "model": to_dict(model_cfg),
        "train": to_dict(train_cfg),
        "input_size": data.input_size,
        "n_classes": data.n_classes,
        "class_names": data.class_names,
        "data_source": data.source,
        "data_sizes": {"train": len(data.train), "test": len(data.test)},  # as used (not the defaults)
        "params": count_params(model),
        "task_ceiling": ceiling,
        "recipe": chosen,
        "requested": requested,
        "checkpoint_every": checkpoint_every,
        "checkpoint_every_batches": checkpoint_every_batches,
        "versions": _versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if out is None:
        trainer.fit()
        return Run(
            None,
            data_cfg,
            model_cfg,
            train_cfg,
            trainer.model,
            trainer.history,
            compute_metrics(trainer, config["params"], ceiling),
            config,
            data,
        )
    created = not out.exists()
    with rundir.RunLock(out):
        if rundir.is_run(out):
            if not overwrite:  # a run finished between prepare_output and taking the lock
                raise BadArgument(
                    f"{out} already holds a run; pass --overwrite to replace it or choose another --out"
                )
            rundir.clear_run(out)
        try:
            rundir.write_config(out, config)
            rundir.write_status(out, "running")
        except OSError:  # e.g. a full disk before anything was trained: leave nothing behind
            if created:
                shutil.rmtree(out, ignore_errors=True)
            raise
        return _fit_and_finish(
            trainer, out, config, data_cfg, model_cfg, train_cfg, data, on_finished=on_finished
        )


def _fit_and_finish(
    trainer,
    out,
    config,
    data_cfg,
    model_cfg,
    train_cfg,
    data,
    resumes=(),
    on_finished: Finisher | None = None,
) -> Run:
    """Train with the run directory's callbacks, then write model, history, metrics and, last,
    status.json with the SHA-256 of the files (the commit point of a finished run). The training-curves
    figure is drawn by the train stage (rnnscope.stages.train), not here."""
    paths = RunPaths(out)
    trainer.callbacks.insert(0, HistoryWriter(out))
    trainer.callbacks.append(
        Checkpointer(
            paths.checkpoints,
            config.get("checkpoint_every", 1),
            every_batches=config.get("checkpoint_every_batches"),
        )
    )
    trainer.fit()
    last_good = intact_checkpoint(paths.checkpoints)
    if trainer.status == "failed_nonfinite":
        trainer.stop_reason += (
            f"; the last good checkpoint, {last_good}, is intact"
            if last_good
            else "; no checkpoint was written before it"
        )
    metrics = compute_metrics(trainer, config["params"], config["task_ceiling"])
    rundir.save_model(out, trainer.model.state_dict())
    rundir.write_history(out, trainer.history)
    rundir.write_metrics(out, metrics)
    if on_finished is not None:
        on_finished(out, trainer.history, metrics)
    rundir.write_status(
        out,
        trainer.status,
        trainer.stop_reason,
        failure=trainer.failure,
        resumes=list(resumes),
        last_checkpoint=last_good,
        warnings=metrics["warnings"],
        files=rundir.file_hashes(out),
    )
    notes = [n for r in resumes[-1:] for n in r.get("notes", [])]
    return Run(
        out, data_cfg, model_cfg, train_cfg, trainer.model, trainer.history, metrics, config, data, notes
    )


def _configs(config: dict, path: Path) -> tuple[DataConfig, ModelConfig, TrainConfig]:
    try:
        train = {"warmup": 0, **config["train"]}  # runs from before warm-up existed had none
        return (
            from_dict(DataConfig, config["data"]),
            from_dict(ModelConfig, config["model"]),
            from_dict(TrainConfig, train),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise RunFileError(f"config {RunPaths(path).config} is corrupt ({err})") from None


def _previous_status(out: Path) -> dict:
    """status.json, or {} when it is missing or corrupt (a resume rebuilds it); a newer format is refused."""
    try:
        return rundir.read_status(out)
    except NewerFormatError:
        raise
    except RunFileError:
        return {}


def _check_resumable(out: Path, previous: dict) -> None:
    if previous.get("status") == "completed":
        try:
            verify_run(out)
        except RunFileError:
            return  # a file of the finished run is damaged: the resume rebuilds it from the last checkpoint
        raise BadArgument(f"{out} has already completed; nothing to resume")
    if previous.get("status") == "failed_nonfinite":
        raise BadArgument(
            f"{out} stopped on a non-finite loss and a resume would repeat it exactly "
            f"({previous.get('reason')}); start a new run with those changes"
        )
    rundir.verify_config(out, previous)


def _no_intact_checkpoint(out: Path, err: RunFileError) -> RunFileError:
    return RunFileError(
        f"{err}; delete {RunPaths(out).checkpoints} to train this run again from its config with "
        f"`rnnscope train --resume {out}`"
    )


def _restore_latest(trainer, out: Path, restore_rng: bool) -> dict:
    """Restore the newest intact checkpoint into `trainer` (none at all: start from epoch 0) -> a note."""
    root = RunPaths(out).checkpoints
    if not any(root.glob("epoch-*")):
        return {
            "from": "start",
            "notes": ["no checkpoint had been written: training starts again from epoch 0"],
        }
    try:
        ckpt, tensors, meta, problems = load_latest(root)
    except RunFileError as err:
        raise _no_intact_checkpoint(out, err) from None
    try:
        restore_trainer(trainer, tensors, meta, restore_rng=restore_rng)
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as err:
        first = (str(err).splitlines() or [err.__class__.__name__])[0][:120]
        raise RunFileError(f"checkpoint {ckpt.name} in {root} does not fit config.json ({first})") from None
    notes = [f"{p}; resumed from {ckpt.name}, the newest intact checkpoint" for p in problems]
    return {"from": ckpt.name, "epoch": trainer.epoch, "position_in_epoch": trainer.position, "notes": notes}


def resume(
    out: str | Path,
    callbacks=(),
    restore_rng: bool = True,
    device: str | None = None,
    on_finished: Finisher | None = None,
) -> Run:
    """Continue a run from its newest intact checkpoint (exact on CPU: same weights and history).

    A corrupt newer checkpoint is skipped (and named in the returned Run's `notes` and in status.json's
    `resumes`); a run killed before its first checkpoint starts again from epoch 0; a completed run whose
    final files are damaged is rebuilt from its last checkpoint. restore_rng=False exists only for the
    negative control of the kill -9 test.
    """
    out = Path(out)
    paths = RunPaths(out)
    if not out.is_dir():
        raise RunFileError(f"{out} is not a directory; nothing to resume")
    if not paths.config.exists():
        raise RunFileError(f"{out} holds no run to resume (no {paths.config.name})")
    config = read_config(out)  # everything that can be refused is checked before the lock: bad input
    data_cfg, model_cfg, train_cfg = _configs(config, out)  # leaves every file as it was
    if device is not None:
        train_cfg = dataclasses.replace(train_cfg, device=device)
    _check_resumable(out, _previous_status(out))
    if any(paths.checkpoints.glob("epoch-*")):
        try:
            latest_checkpoint(paths.checkpoints)
        except RunFileError as err:
            raise _no_intact_checkpoint(out, err) from None
    with rundir.RunLock(out):
        previous = _previous_status(out)
        _check_resumable(out, previous)  # again, now that no other process can write the run
        data, _ = load_data(data_cfg, train_cfg.seed)
        torch.manual_seed(train_cfg.seed)
        model = build_model(model_cfg, data.input_size, data.n_classes)
        trainer = Trainer(model, data, train_cfg, list(callbacks))
        note = {
            **_restore_latest(trainer, out, restore_rng),
            "restore_rng": restore_rng,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        resumes = [*previous.get("resumes", []), note]
        rundir.write_status(out, "running", f"resumed from {note['from']}", resumes=resumes)
        return _fit_and_finish(
            trainer, out, config, data_cfg, model_cfg, train_cfg, data, resumes, on_finished
        )


def load_run(path: str | Path, device: str = "cpu", model=None) -> Run:
    """Rebuild a run's model (with its final weights) and configs from its directory.

    An imported directory (`rnnscope.import_model`, `rnnscope import`) loads too (training/imported.py);
    model: for an imported custom cell, the caller's module, which gets the stored weights (in a copy)."""
    path = Path(path)
    paths = RunPaths(path)
    if not path.is_dir():
        raise RunFileError(f"{path} is not a directory")
    if rundir.dir_kind(path) == "imported":
        return Run(**load_imported(path, device, model))
    if model is not None:
        raise BadArgument(f"model= is for imported custom models; {path} is a run trained by rnnscope")
    if not paths.config.exists():
        raise RunFileError(
            f"{path} is not a run directory (no {paths.config.name}); create one with `rnnscope train`"
        )
    config = read_config(path)
    data_cfg, model_cfg, train_cfg = _configs(config, path)
    if not paths.model.exists():
        raise RunFileError(
            f"{path} has no {paths.model.name} (training did not finish or the file was lost); "
            f"{rebuild_hint(path)}"
        )
    status = verify_run(path)  # status.json and the SHA-256 of every file it lists
    if status["status"] == "running":
        raise RunFileError(
            f"{path} is still training or was stopped (status running), so its {paths.model.name} "
            f"is not final; {rebuild_hint(path)}"
        )
    try:
        model = build_model(model_cfg, config["input_size"], config["n_classes"])
    except (KeyError, TypeError, ValueError) as err:
        raise RunFileError(f"config {paths.config} is corrupt ({err})") from None
    try:
        state = rundir.load_model_state(path)
        try:
            model.load_state_dict(state)
        except RuntimeError:
            raise RunFileError(f"model {paths.model} does not match {paths.config.name}") from None
        history = rundir.read_history(path)
        metrics = read_metrics(path)
    except NewerFormatError:
        raise
    except RunFileError as err:  # status.json vouched for the file, yet it does not read: say what to do
        raise RunFileError(f"{err}; {rebuild_hint(path)}") from None
    model.to(device).eval()
    return Run(path, data_cfg, model_cfg, train_cfg, model, history, metrics, config)
