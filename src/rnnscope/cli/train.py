"""`rnnscope train`: train a model and write its run directory (or continue one with --resume)."""

from __future__ import annotations

import json
import math
import sys

from rnnscope.cli import (
    EXIT_FAILED,
    CLIError,
    augment_spec,
    dataset_name,
    downsample_value,
    existing_path,
    model_name,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    readout_name,
    task_name,
)
from rnnscope.names import MODEL_KINDS


def add_train_options(p) -> None:
    """Options shared by `train` and `run` (the whole pipeline)."""
    from rnnscope.config import DOWNSAMPLE_BY, DataConfig, ModelConfig, TrainConfig

    d, m, t = DataConfig(), ModelConfig(), TrainConfig()
    src = p.add_argument_group("data (give at most one; default: the default task)")
    src.add_argument(
        "--task", type=task_name, help=f"built-in task, any case (see `rnnscope tasks`; default {d.task})"
    )
    src.add_argument(
        "--dataset", type=dataset_name, help="built-in UCR/UEA data set, any case (see `rnnscope datasets`)"
    )
    src.add_argument(
        "--data",
        type=existing_path,
        metavar="PATH",
        help="your own files: a directory of <Name>_TRAIN/_TEST files or an .npz",
    )
    src.add_argument(
        "--label-column",
        metavar="COL",
        help=".csv files: the label's column, a 0-based index or a header name (default: the first)",
    )
    src.add_argument(
        "--task-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a task parameter (repeatable; VALUE is JSON, e.g. distance=50)",
    )
    src.add_argument(
        "--n-train", type=positive_int, default=d.n_train, help="training sequences drawn from a task"
    )
    src.add_argument("--n-test", type=positive_int, default=d.n_test, help="test sequences drawn from a task")
    src.add_argument(
        "--normalize",
        choices=["none", "series", "channel"],
        default=d.normalize,
        help="z-normalisation of real data (statistics from train only)",
    )
    src.add_argument("--truncate", type=positive_int, help="real data: keep the first N steps (default: all)")
    src.add_argument(
        "--downsample",
        type=downsample_value,
        metavar="K|auto",
        help="real data: shorten by k, or auto: k = ceil(longest training series / 50), at most 50 steps "
        "(100 with --downsample-by mean or every) (default for real data: auto; 1 keeps every step)",
    )
    src.add_argument(
        "--downsample-by",
        choices=list(DOWNSAMPLE_BY),
        help="real data: how --downsample shortens: frames (default): each block of k steps fed whole as "
        "one step of k x channels values; mean: the mean of each block; every: every k-th step kept",
    )
    g = p.add_argument_group("model")
    g.add_argument("--model", type=model_name, default=m.kind, help=" | ".join(MODEL_KINDS) + " (any case)")
    g.add_argument("--layers", type=positive_int, default=m.layers, help="stacked layers")
    g.add_argument(
        "--hidden", type=positive_int, default=m.hidden, help="hidden size (d_model for the transformer)"
    )
    g.add_argument("--dropout", type=non_negative_float, default=m.dropout, help="dropout between layers")
    g.add_argument("--heads", type=positive_int, default=m.heads, help="transformer attention heads")
    g.add_argument(
        "--readout",
        type=readout_name,
        default=m.readout,
        help="rnn/lstm/gru: read the top layer out at the last step (default), or pool its h over each "
        "sequence's valid steps: mean | max | attention (docs/models.md)",
    )
    g.add_argument(
        "--chrono-tmax",
        type=positive_int,
        metavar="T",
        help="lstm/gru: chrono gate initialisation for dependencies up to T steps (Tallec & Ollivier "
        "2018; default: carry-gate bias +1)",
    )
    g.add_argument(
        "--match-params",
        type=positive_int,
        metavar="N",
        help="choose the hidden size that brings the model within ±10%% of N parameters "
        "(default: off, --hidden is used)",
    )
    g = p.add_argument_group("training")
    g.add_argument(
        "--epochs",
        type=positive_int,
        help="maximum number of epochs (default: 60 for built-in tasks; real data: about 1200 optimizer "
        "updates, docs/training.md)",
    )
    g.add_argument(
        "--batch-size",
        type=positive_int,
        help="sequences per optimisation step (default: 32 for built-in tasks; real data: the power of "
        "two nearest N/8 in [8, 64])",
    )
    g.add_argument(
        "--warmup",
        type=non_negative_int,
        metavar="UPDATES",
        help="linear learning-rate warm-up over this many optimizer updates (default: 0 for built-in "
        "tasks; real data: 5%% of the updates)",
    )
    g.add_argument("--lr", type=positive_float, default=t.lr, help="Adam learning rate")
    g.add_argument(
        "--weight-decay", type=non_negative_float, default=t.weight_decay, help="Adam (L2) weight decay"
    )
    g.add_argument(
        "--schedule",
        choices=["cosine", "constant"],
        default=t.schedule,
        help="learning-rate schedule over the epochs",
    )
    g.add_argument(
        "--augment",
        type=augment_spec,
        metavar="none|jitter+scale+magwarp|...",
        help="augment each training batch with any of jitter (Gaussian noise, sd 0.03 per value), scale "
        "(one factor 1 + 0.1 N(0,1) per series and channel), magwarp (one smooth random curve per series, "
        "knots N(1, 0.2^2)) and mixup (series and loss mixed with a shuffled partner, Beta(0.2, 0.2)), "
        "joined by '+'; evaluation is never augmented (default: none for built-in tasks; real data: "
        "jitter+scale+magwarp)",
    )
    g.add_argument("--clip", type=positive_float, default=t.clip, help="max gradient norm")
    g.add_argument("--no-clip", action="store_true", help="disable gradient clipping")
    g.add_argument(
        "--patience",
        type=non_negative_int,
        default=t.patience,
        help="stop after this many epochs without a validation gain; 0: never (default: 10 for built-in "
        "tasks, off for real data: docs/training.md)",
    )
    g.add_argument(
        "--min-epochs",
        type=int,
        default=t.min_epochs,
        help=f"never stop early before this many epochs (default {t.min_epochs}; --epochs caps the run)",
    )
    g.add_argument(
        "--val-fraction",
        type=non_negative_float,
        help="share of the training sequences held out for validation, in [0, 1) (default: 0.1 for "
        "built-in tasks; real data: 0.1 where classes average >= 20 training series, else 0)",
    )
    g.add_argument("--seed", type=int, default=t.seed, help="seeds data, initialisation and data order")
    g.add_argument("--device", default=t.device, help="auto | cpu | cuda | cuda:N")
    g.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch CPU threads (default 1: the small per-step GEMMs of a recurrence run fastest "
        "on one thread; see docs/performance.md)",
    )
    g.add_argument(
        "--checkpoint-every", type=positive_int, default=1, metavar="K", help="checkpoint every K epochs"
    )
    p.add_argument(
        "--no-baselines",
        action="store_true",
        help="real data: skip the 1NN-Euclidean and 1NN-DTW baselines on the run's split",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model and write a run directory")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="DIR", help="run directory to create (this or --resume is required)")
    where.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue RUN_DIR from its newest intact checkpoint (this or --out is required)",
    )
    add_train_options(p)
    p.add_argument(
        "--checkpoint-every-batches",
        type=positive_int,
        metavar="N",
        help="also checkpoint every N batches inside an epoch (long epochs; default: epoch ends only)",
    )
    p.set_defaults(func=cmd_train, check=check_train)


def check_train(args) -> None:
    """Validate a new run's options (BadArgument) before anything imports torch; a resume reads its own."""
    if not getattr(args, "resume", None):
        configs_from_args(args)


def parse_task_params(items: list[str]) -> dict:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CLIError(f"--task-param expects KEY=VALUE, got {item!r}")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def configs_from_args(args):
    """(DataConfig, ModelConfig, TrainConfig) from parsed options; ValueError on contradictions."""
    from rnnscope.config import DEFAULT_TASK, DataConfig, ModelConfig, TrainConfig

    sources = [o for o in ("task", "dataset", "data") if getattr(args, o) is not None]
    if len(sources) > 1:
        raise CLIError(
            f"give only one of --task, --dataset, --data (got {', '.join('--' + s for s in sources)})"
        )
    task = args.task if args.task is not None or sources else DEFAULT_TASK
    if task is not None:
        from rnnscope.tasks import get_task

        get_task(task, **parse_task_params(args.task_param))  # validates name and parameters early
    elif args.task_param:
        raise CLIError("--task-param applies to built-in tasks only")
    data_cfg = DataConfig(
        task=task,
        task_params=parse_task_params(args.task_param),
        dataset=args.dataset,
        path=args.data,
        n_train=args.n_train,
        n_test=args.n_test,
        normalize=args.normalize,
        truncate=args.truncate,
        downsample=args.downsample,
        downsample_by=args.downsample_by,
        label_column=args.label_column,
    )
    model_cfg = ModelConfig(
        kind=args.model,
        hidden=args.hidden,
        layers=args.layers,
        dropout=args.dropout,
        heads=args.heads,
        chrono_tmax=args.chrono_tmax,
        readout=args.readout,
    )
    train_cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        clip=None if args.no_clip else args.clip,
        patience=args.patience,
        min_epochs=args.min_epochs,
        val_fraction=args.val_fraction,
        warmup=args.warmup,
        seed=args.seed,
        device=args.device,
        augment=args.augment,
    )
    return data_cfg, model_cfg, train_cfg


def print_results(run, file=None) -> None:
    """The results table next to the reference result."""
    from rnnscope.rundir import runfacts

    file = file or sys.stdout
    m = run.metrics
    ceiling = m.get("task_ceiling")
    conv = m.get("converged_epoch")
    demo = _is_demo_cfg(run)
    val = m.get("val_acc")
    has_val = isinstance(val, (int, float)) and math.isfinite(val)
    rows = [
        ("train accuracy", f"{m['train_acc']:.3f}", ">= 0.95 (reference ~0.95)" if demo else ""),
        ("test accuracy", f"{m['test_acc']:.3f}", ">= 0.93 (reference ~0.93)" if demo else ""),
        ("validation accuracy", f"{val:.3f}" if has_val else "n/a", "" if has_val else "no validation split"),
        (
            "converged epoch",
            str(conv) if conv is not None else "none",
            "30-50 (reference)" if demo else runfacts.convergence_basis(m),
        ),
        ("epochs run", str(m["epochs_run"]), ""),
        (
            "task ceiling",
            f"{ceiling:.3f}" if ceiling is not None else "n/a",
            "Bayes/oracle accuracy" + ("" if ceiling is not None else ": unknown for real data"),
        ),
        ("parameters", f"{m['params']:,}", ""),
        ("training time", f"{m['train_seconds']:.1f} s", ""),
    ]
    if ceiling is None:  # real data: the 1NN baselines on the same split
        from rnnscope.stages.train import baseline_rows

        rows += baseline_rows(m)
    print(f"{'':<22}{'this run':>12}   " + ("reference (the demo's)" if demo else ""), file=file)
    for name, value, ref in rows:
        print(f"{name:<22}{value:>12}   {ref}", file=file)


def _is_demo_cfg(run) -> bool:
    """The demo (default task, parameters and model): the reference column belongs to it alone."""
    import dataclasses

    from rnnscope.rundir.runfacts import is_demo

    return is_demo({"data": dataclasses.asdict(run.data_cfg), "model": dataclasses.asdict(run.model_cfg)})


def set_threads(args) -> None:
    import torch

    torch.set_num_threads(args.threads)


def cmd_train(args) -> int:
    from rnnscope.stages.train import resume, run_training
    from rnnscope.training.callbacks import ProgressBar

    set_threads(args)
    callbacks = [] if args.quiet else [ProgressBar("train")]
    if args.resume:
        if args.out:
            raise CLIError("give either --resume RUN_DIR or --out DIR, not both")
        run = resume(args.resume, callbacks=callbacks)
    else:
        if not args.out:
            raise CLIError("--out DIR is required (the run directory to create)")
        data_cfg, model_cfg, train_cfg = configs_from_args(args)
        run = run_training(
            data_cfg,
            model_cfg,
            train_cfg,
            args.out,
            overwrite=args.overwrite,
            match_params=args.match_params,
            callbacks=callbacks,
            checkpoint_every=args.checkpoint_every,
            checkpoint_every_batches=args.checkpoint_every_batches,
            baselines=not args.no_baselines,
        )
    return report_run(run)


def report_run(run) -> int:
    from rnnscope.stages.train import recipe_lines

    for note in getattr(run, "notes", []):  # what a resume skipped (a corrupt checkpoint)
        print(f"rnnscope train: {note}", file=sys.stderr)
    for line in recipe_lines(run):
        print(f"rnnscope train: {line}")
    print_results(run)
    for warning in run.metrics.get("warnings", []):
        print(f"rnnscope train: warning: {warning}", file=sys.stderr)
    print(f"run directory: {run.path}")
    if run.metrics["status"] == "failed_nonfinite":
        print(f"rnnscope train: {run.metrics['stop_reason']}", file=sys.stderr)
        return EXIT_FAILED
    return 0
