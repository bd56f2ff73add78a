"""`rnnscope train`: train (or resume) a run, then draw its training curves into the run directory.

    run = train(out="runs/demo", task="evidence", epochs=40)      # rnnscope.train
    run = resume("runs/demo")                                       # rnnscope.resume

Training itself (rnnscope.training) writes config, status, history, metrics, model and checkpoints and
draws nothing; this stage adds RUN_DIR/training_curves.png|svg once training ends (before status.json
commits the run, as it always has).
"""

from __future__ import annotations

from pathlib import Path

from rnnscope.config import DEFAULT_TASK, DataConfig, ModelConfig, TrainConfig
from rnnscope.plots import save_figure
from rnnscope.plots.training import plot_training_curves
from rnnscope.rundir import RunPaths, read_config, read_history, read_metrics
from rnnscope.rundir.runfacts import REFERENCE, auto_limit, is_demo, shortening
from rnnscope.stages.baselines import add_baselines
from rnnscope.training import api
from rnnscope.training.api import Run


def write_curves(
    out: str | Path, history: list[dict] | None = None, metrics: dict | None = None
) -> list[Path]:
    """RUN_DIR/training_curves.png|svg from the run's history and metrics (read from the directory when
    not given)."""

    history = read_history(out) if history is None else history
    metrics = read_metrics(out) if metrics is None else metrics
    ref = REFERENCE if is_demo(read_config(out)) else None  # the demo's band only on the demo
    fig = plot_training_curves(history, metrics.get("converged_epoch"), metrics.get("task_ceiling"), ref)
    return save_figure(fig, RunPaths(out).training_curves.stem)


def finisher(baselines: bool = True):
    """What runs once training ends: the training curves, and the 1NN baselines of real data
    (rnnscope.stages.baselines; baselines=False records them as skipped)."""

    def finish(out, history, metrics):
        add_baselines(out, metrics, enabled=baselines)
        return write_curves(out, history, metrics)

    return finish


def run_training(
    data_cfg: DataConfig,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    out: str | Path | None,
    baselines: bool = True,
    **kwargs,
) -> Run:
    """rnnscope.training.api.run_training (same arguments), drawing the training curves and adding the
    1NN baselines (real data; baselines=False: skipped) as it finishes."""
    return api.run_training(data_cfg, model_cfg, train_cfg, out, on_finished=finisher(baselines), **kwargs)


def resume(out: str | Path, callbacks=(), restore_rng: bool = True, device: str | None = None) -> Run:
    """rnnscope.training.api.resume (same arguments), drawing the training curves as it finishes."""
    return api.resume(
        out, callbacks=callbacks, restore_rng=restore_rng, device=device, on_finished=finisher()
    )


def train(
    *,
    out: str | Path | None = None,
    task: str | None = None,
    dataset: str | None = None,
    data: str | None = None,
    task_params: dict | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    normalize: str = "channel",
    truncate: int | None = None,
    downsample: int | str | None = None,
    downsample_by: str | None = None,
    model: str = "rnn",
    hidden: int = 64,
    layers: int = 2,
    dropout: float = 0.0,
    heads: int = 4,
    chrono_tmax: int | None = None,
    match_params: int | None = None,
    overwrite: bool = False,
    callbacks=(),
    checkpoint_every: int = 1,
    checkpoint_every_batches: int | None = None,
    baselines: bool = True,
    readout: str = "last",
    label_column: int | str | None = None,
    **train_kwargs,
) -> Run:
    """Train a model, the Python twin of `rnnscope train`. Returns the Run.

    Give at most one of task (built-in task name), dataset (UCR/UEA name), data (a path); with none,
    the default task. Other keyword arguments are TrainConfig fields (epochs, lr, batch_size, seed, ...).
    """

    defaults = DataConfig()
    if task is None and dataset is None and data is None:
        task = DEFAULT_TASK
    data_cfg = DataConfig(
        task=task,
        task_params=dict(task_params or {}),
        dataset=dataset,
        path=data,
        n_train=n_train or defaults.n_train,
        n_test=n_test or defaults.n_test,
        normalize=normalize,
        truncate=truncate,
        downsample=downsample,
        downsample_by=downsample_by,
        label_column=label_column,
    )
    model_cfg = ModelConfig(
        kind=model,
        hidden=hidden,
        layers=layers,
        dropout=dropout,
        heads=heads,
        chrono_tmax=chrono_tmax,
        readout=readout,
    )
    return run_training(
        data_cfg,
        model_cfg,
        TrainConfig(**train_kwargs),
        out,
        overwrite=overwrite,
        match_params=match_params,
        callbacks=callbacks,
        checkpoint_every=checkpoint_every,
        checkpoint_every_batches=checkpoint_every_batches,
        baselines=baselines,
    )


def baseline_rows(m: dict) -> list[tuple[str, str, str]]:
    """CLI table rows of the 1NN baselines (test accuracy on the same split), skipped ones with why."""
    rows = []
    for key, name in (("baseline_1nn_ed", "1NN Euclidean"), ("baseline_1nn_dtw", "1NN DTW (full)")):
        if key not in m:
            continue
        details = (m.get("baselines") or {}).get(key, {})
        if m[key] is None:
            rows.append((name, "skipped", details.get("skipped") or ""))
        else:
            cost = f"test accuracy, same split ({details.get('seconds', 0):.1f} s)"
            rows.append((name, f"{m[key]:.3f}", cost))
    return rows


def recipe_lines(run) -> list[str]:
    """What the recipe chose and how the series were shortened, as sentences (real data)."""
    c = run.config or {}
    lines = []
    chosen = c.get("recipe") or {}
    if chosen and c.get("task_ceiling") is None:
        t = run.train_cfg
        lines.append(
            f"recipe for real data (docs/training.md): batch {t.batch_size}, {t.epochs} epochs, "
            f"validation {t.val_fraction:.0%}, warm-up {t.warmup} update{'' if t.warmup == 1 else 's'}, "
            f"augment {t.augment} (chosen: {', '.join(sorted(chosen))})"
        )
    src = c.get("data_source") or {}
    k = src.get("downsample")
    if k and k > 1:
        auto = f"downsample auto (at most {auto_limit(src)} steps)"
        how = auto if src.get("downsample_auto") else f"--downsample {k}"
        longest = src.get("longest_train_series")
        after = (src.get("lengths") or {}).get("train", [None, None])[1]
        kept = shortening(k, src.get("downsample_by"))
        lines.append(
            f"{how}: {kept} (longest training series {longest} -> {after} steps); "
            "`rnnscope stream` applies the same"
        )
    return lines
