"""`train(...)`, `resume(...)` and `load_run(...)`: the Python API that mirrors the CLI.

A run is data config + model config + training config. `run_training` validates everything and loads
the data before it writes a single file, so bad input leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch

from rnnscope.config import DataConfig, ModelConfig, TrainConfig, from_dict, to_dict
from rnnscope.data.dataset import DataBundle
from rnnscope.io import RunFileError, load_tensors, read_json, save_tensors, write_json
from rnnscope.models import build_model, count_params, hidden_for_params
from rnnscope.training import rundir
from rnnscope.training.checkpoint import Checkpointer, latest_checkpoint, load_checkpoint, restore_trainer
from rnnscope.training.loop import Trainer, converged_epoch


def make_task(cfg: DataConfig):
    from rnnscope.tasks import get_task

    return get_task(cfg.task, **cfg.task_params)


def load_data(cfg: DataConfig, seed: int) -> tuple[DataBundle, object | None]:
    """The data a config names -> (DataBundle, the Task or None for real data)."""
    if cfg.task is not None:
        task = make_task(cfg)
        return task.make(cfg.n_train, cfg.n_test, seed), task
    from rnnscope.data import load_dataset, load_directory

    kw = {"normalize": cfg.normalize, "truncate": cfg.truncate, "downsample": cfg.downsample}
    bundle = load_dataset(cfg.dataset, **kw) if cfg.dataset is not None else load_directory(cfg.path, **kw)
    return bundle, None


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

    @cached_property
    def data(self) -> DataBundle:
        """The run's data, rebuilt from its config (deterministic)."""
        return self._data if self._data is not None else load_data(self.data_cfg, self.train_cfg.seed)[0]

    @cached_property
    def task(self):
        return make_task(self.data_cfg) if self.data_cfg.task is not None else None


def _versions() -> dict:
    from rnnscope import __version__

    return {"rnnscope": __version__, "torch": torch.__version__, "python": platform.python_version()}


def compute_metrics(trainer: Trainer, params: int, ceiling: float | None) -> dict:
    h = trainer.history
    last = h[-1]
    return {
        "train_acc": last["train_acc"], "val_acc": last["val_acc"], "test_acc": last["test_acc"],
        "train_loss": last["train_loss"], "test_loss": last["test_loss"],
        "best_val_acc": max((r["val_acc"] for r in h), default=float("nan")),
        "converged_epoch": converged_epoch(h), "epochs_run": trainer.epoch, "params": params,
        "train_seconds": sum(r["seconds"] for r in h), "task_ceiling": ceiling, "status": trainer.status,
        "stop_reason": trainer.stop_reason,
    }


def run_training(data_cfg: DataConfig, model_cfg: ModelConfig, train_cfg: TrainConfig, out: str | Path | None,
                 *, overwrite: bool = False, match_params: int | None = None, callbacks=(),
                 checkpoint_every: int = 1) -> Run:
    """Validate, load data, build the model, train, and (when `out`) write the run directory."""
    out = rundir.prepare_output(out, overwrite) if out is not None else None
    data, task = load_data(data_cfg, train_cfg.seed)
    if match_params is not None:
        model_cfg = hidden_for_params(model_cfg, data.input_size, data.n_classes, match_params)
    torch.manual_seed(train_cfg.seed)
    model = build_model(model_cfg, data.input_size, data.n_classes)
    ceiling = task.ceiling() if task is not None else None
    trainer = Trainer(model, data, train_cfg, list(callbacks))  # validates device and the val split
    config = {
        "data": to_dict(data_cfg), "model": to_dict(model_cfg), "train": to_dict(train_cfg),
        "input_size": data.input_size, "n_classes": data.n_classes, "class_names": data.class_names,
        "data_source": data.source, "params": count_params(model), "task_ceiling": ceiling,
        "checkpoint_every": checkpoint_every, "versions": _versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if out is None:
        trainer.fit()
        return Run(None, data_cfg, model_cfg, train_cfg, trainer.model, trainer.history,
                   compute_metrics(trainer, config["params"], ceiling), config, data)
    with rundir.RunLock(out):
        if rundir.is_run(out):
            rundir.clear_run(out)
        write_json(out / "config.json", config)
        rundir.write_status(out, "running")
        return _fit_and_finish(trainer, out, config, checkpoint_every, data_cfg, model_cfg, train_cfg, data)


def _fit_and_finish(trainer, out, config, checkpoint_every, data_cfg, model_cfg, train_cfg, data) -> Run:
    trainer.callbacks[:0] = [rundir.HistoryWriter(out), Checkpointer(out / "checkpoints", checkpoint_every)]
    trainer.fit()
    metrics = compute_metrics(trainer, config["params"], config["task_ceiling"])
    save_tensors(out / "model.safetensors", trainer.model.state_dict(), {"format_version": "1"})
    rundir.write_history(out, trainer.history)
    write_json(out / "metrics.json", metrics)
    _write_curves(out, trainer.history, metrics)
    rundir.write_status(out, trainer.status, trainer.stop_reason, failure=trainer.failure)
    return Run(out, data_cfg, model_cfg, train_cfg, trainer.model, trainer.history, metrics, config, data)


def _write_curves(out: Path, history: list[dict], metrics: dict) -> None:
    from rnnscope.plots import save_figure
    from rnnscope.plots.training import plot_training_curves

    fig = plot_training_curves(history, metrics["converged_epoch"], metrics["task_ceiling"])
    save_figure(fig, out / "training_curves")


def _configs(config: dict, path: Path) -> tuple[DataConfig, ModelConfig, TrainConfig]:
    try:
        return (from_dict(DataConfig, config["data"]), from_dict(ModelConfig, config["model"]),
                from_dict(TrainConfig, config["train"]))
    except (KeyError, TypeError, ValueError) as err:
        raise RunFileError(f"config {path / 'config.json'} is corrupt ({err})") from None


def resume(out: str | Path, callbacks=(), restore_rng: bool = True, device: str | None = None) -> Run:
    """Continue a run from its newest intact checkpoint (exact on CPU: same weights and history)."""
    out = Path(out)
    if not rundir.is_run(out):
        raise RunFileError(f"{out} holds no run to resume")
    with rundir.RunLock(out):
        config = read_json(out / "config.json", "config")
        data_cfg, model_cfg, train_cfg = _configs(config, out)
        if device is not None:
            train_cfg = dataclasses.replace(train_cfg, device=device)
        status = rundir.read_status(out).get("status")
        if status == "completed":
            raise ValueError(f"{out} has already completed; nothing to resume")
        data, _ = load_data(data_cfg, train_cfg.seed)
        torch.manual_seed(train_cfg.seed)
        model = build_model(model_cfg, data.input_size, data.n_classes)
        trainer = Trainer(model, data, train_cfg, list(callbacks))
        ckpt, _problems = latest_checkpoint(out / "checkpoints")
        tensors, meta = load_checkpoint(ckpt)
        restore_trainer(trainer, tensors, meta, restore_rng=restore_rng)
        rundir.write_status(out, "running", f"resumed from {ckpt.name}")
        return _fit_and_finish(trainer, out, config, config.get("checkpoint_every", 1), data_cfg, model_cfg,
                               train_cfg, data)


def load_run(path: str | Path, device: str = "cpu") -> Run:
    """Rebuild a run's model (with its final weights) and configs from its directory."""
    path = Path(path)
    if not path.is_dir():
        raise RunFileError(f"{path} is not a directory")
    if not (path / "config.json").exists():
        raise RunFileError(f"{path} is not a run directory (no config.json); create one with `rnnscope train`")
    config = read_json(path / "config.json", "config")
    data_cfg, model_cfg, train_cfg = _configs(config, path)
    if not (path / "model.safetensors").exists():
        raise RunFileError(f"{path} has no model.safetensors (training did not finish); "
                           f"resume it with `rnnscope train --resume {path}`")
    model = build_model(model_cfg, config["input_size"], config["n_classes"])
    state = load_tensors(path / "model.safetensors", "model")
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise RunFileError(f"model {path / 'model.safetensors'} does not match config.json") from None
    model.to(device).eval()
    history = rundir.read_history(path)
    metrics = read_json(path / "metrics.json", "metrics")
    metrics.pop("format_version", None)
    return Run(path, data_cfg, model_cfg, train_cfg, model, history, metrics, config)


def train(*, out: str | Path | None = None, task: str | None = None, dataset: str | None = None,
          data: str | None = None, task_params: dict | None = None, n_train: int | None = None,
          n_test: int | None = None, normalize: str = "channel", truncate: int | None = None,
          downsample: int | None = None, model: str = "rnn", hidden: int = 64, layers: int = 2,
          dropout: float = 0.0, heads: int = 4, match_params: int | None = None, overwrite: bool = False,
          callbacks=(), checkpoint_every: int = 1, **train_kwargs) -> Run:
    """Train a model, the Python twin of `rnnscope train`. Returns the Run.

    Give at most one of task (built-in task name), dataset (UCR/UEA name), data (a path); with none,
    the default task. Other keyword arguments are TrainConfig fields (epochs, lr, batch_size, seed, ...).
    """
    from rnnscope.config import DEFAULT_TASK

    defaults = DataConfig()
    if task is None and dataset is None and data is None:
        task = DEFAULT_TASK
    data_cfg = DataConfig(task=task, task_params=dict(task_params or {}), dataset=dataset, path=data,
                          n_train=n_train or defaults.n_train, n_test=n_test or defaults.n_test,
                          normalize=normalize, truncate=truncate, downsample=downsample)
    model_cfg = ModelConfig(kind=model, hidden=hidden, layers=layers, dropout=dropout, heads=heads)
    return run_training(data_cfg, model_cfg, TrainConfig(**train_kwargs), out, overwrite=overwrite,
                        match_params=match_params, callbacks=callbacks, checkpoint_every=checkpoint_every)
