"""`rnnscope compare`: train every architecture at a matched parameter count, per seed and length
(or recall distance), in parallel worker processes; write results.csv and figures. Repeating the
command skips finished runs and resumes interrupted ones."""

from __future__ import annotations

import argparse
import sys

from rnnscope.cli import EXIT_FAILED, CLIError, model_names, positive_float, positive_int, task_name


def parse_list(text: str | None, what: str, kind=int) -> list | None:
    """'5,10,20' -> [5, 10, 20] (one-line CLIError naming the option when an item is not a number)."""
    if text is None:
        return None
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise CLIError(f"{what} is empty")
    if kind is str:
        return items
    try:
        return [int(t) for t in items]
    except ValueError:
        bad = next(t for t in items if not t.lstrip("-").isdigit())
        raise CLIError(f"{what} expects comma-separated integers, got {bad!r}") from None


def add_training_options(p, defaults: dict) -> None:
    """Pass-through training options shared by `compare` and `context`."""
    g = p.add_argument_group("training (each run)")
    g.add_argument("--epochs", type=positive_int, default=defaults["epochs"], help="maximum epochs per run")
    g.add_argument("--lr", type=positive_float, default=defaults["lr"], help="Adam learning rate")
    g.add_argument(
        "--batch-size",
        type=positive_int,
        default=defaults["batch_size"],
        help="sequences per optimisation step",
    )
    g.add_argument(
        "--n-train", type=positive_int, default=defaults["n_train"], help="training sequences per run"
    )
    g.add_argument("--n-test", type=positive_int, default=defaults["n_test"], help="test sequences per run")
    g.add_argument("--device", default="auto", help="auto | cpu | cuda")
    s = p.add_argument_group("execution")
    s.add_argument("--workers", type=positive_int, help="parallel worker processes (default: the CPU count)")
    s.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch CPU threads per job (the small GEMMs of a recurrence run fastest on one)",
    )
    s.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where jobs run: local worker processes, or Ray tasks on a cluster (docs/scale.md)",
    )
    s.add_argument(
        "--ray-address",
        type=ray_address,
        metavar="auto|HOST:PORT",
        help="the Ray cluster for --executor ray (default: a new Ray on this machine; auto: the one "
        "`ray start` made here)",
    )
    s.add_argument(
        "--gpu-fraction",
        type=positive_float,
        help="share of a GPU each job reserves on Ray with --device cuda (default 0.25)",
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(check=check_execution)


def ray_address(text: str) -> str:
    """'auto' or HOST:PORT (the form only; reachability is checked when the sweep connects)."""
    host, sep, port = text.rpartition(":")
    if text == "auto" or (sep and host and port.isdigit() and 0 < int(port) < 65536):
        return text
    raise argparse.ArgumentTypeError(f"expected auto or HOST:PORT, got {text!r}")


def check_execution(args) -> None:
    """Options that only make sense together (before torch is imported)."""
    if args.executor != "ray":
        for option, value in (("--ray-address", args.ray_address), ("--gpu-fraction", args.gpu_fraction)):
            if value is not None:
                raise CLIError(f"{option} needs --executor ray")
    if args.gpu_fraction is not None and args.gpu_fraction > 1:
        raise CLIError(f"--gpu-fraction must lie in (0, 1], got {args.gpu_fraction}")


def add_parser(sub) -> None:
    from rnnscope.config import DEFAULT_TASK, DataConfig, TrainConfig
    from rnnscope.training.recipe import TASK_DEFAULTS

    d, t = DataConfig(), TrainConfig()
    p = sub.add_parser(
        "compare", help="compare architectures at matched parameter counts (parallel, resumable)"
    )
    p.add_argument("--task", type=task_name, default=DEFAULT_TASK, help="built-in task, any case")
    p.add_argument(
        "--task-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fix another task parameter (repeatable; VALUE is JSON)",
    )
    p.add_argument(
        "--models",
        type=model_names,
        default="rnn,lstm,gru,transformer",
        help="comma-separated architectures, any case",
    )
    p.add_argument(
        "--params", type=positive_int, default=20000, help="parameter budget per model (matched ±10%%)"
    )
    p.add_argument("--layers", type=positive_int, default=2, help="layers (blocks for the transformer)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (data, initialisation, order)")
    p.add_argument(
        "--lengths", help="comma-separated sequence lengths (the task's seq_len; default: the task's own)"
    )
    p.add_argument(
        "--distances", help="comma-separated dependency distances (the recall task's distance; default: none)"
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="sweep directory (repeat the command to resume it)"
    )
    add_training_options(
        p,
        {
            "epochs": TASK_DEFAULTS["epochs"],
            "lr": t.lr,
            "batch_size": TASK_DEFAULTS["batch_size"],
            "n_train": d.n_train,
            "n_test": d.n_test,
        },
    )
    p.set_defaults(func=cmd_compare)


def run_sweep_command(args, kind: str, config: dict, jobs: list[dict]) -> list[dict]:
    """Refuse a directory holding another configuration, connect the executor (an unreachable cluster is
    refused here, before anything is written), record the configuration, run the jobs with progress."""
    from rnnscope.rundir import check_sweep_dir
    from rnnscope.stages.sweeps import open_executor, prepare_sweep

    check_sweep_dir(args.out, kind, config)
    executor = open_executor(args.executor, args.threads, args.ray_address, args.device, args.gpu_fraction)
    try:
        prepare_sweep(args.out, kind, config)
        return run_with_progress(jobs, args.workers, kind, args.quiet, executor, args.threads)
    finally:
        if executor is not None:
            executor.shutdown()


def run_with_progress(
    jobs: list[dict],
    workers: int | None,
    desc: str,
    quiet: bool = False,
    executor=None,
    threads: int = 1,
) -> list[dict]:
    """The sweep stage's run_jobs with one tqdm bar over jobs (the CLI's display)."""
    from rnnscope.stages.sweeps import run_jobs

    bar = None
    if not quiet:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc=desc, unit="run", dynamic_ncols=True)

    def on_result(result: dict) -> None:
        if bar is not None:
            bar.set_postfix_str(f"{result['name']}: {result['action'] or result['status']}")
            bar.update(1)

    try:
        return run_jobs(jobs, on_result=on_result, workers=workers, executor=executor, threads=threads)
    finally:
        if bar is not None:
            bar.close()


def report_failures(results: list[dict], command: str) -> int:
    failed = [r for r in results if r["status"] == "failed"]
    for r in failed:
        print(f"rnnscope {command}: run {r['name']} failed: {r['message']}", file=sys.stderr)
    return EXIT_FAILED if failed else 0


def print_summary(rows: list[dict], axis: str, key: str = "test_acc") -> None:
    """Seed means per model and axis value; the runs that stayed at chance counted per line and named."""
    from rnnscope.stages.sweeps import summary_lines

    for line in summary_lines(rows, axis, key):
        print(line)


def cmd_compare(args) -> int:
    from rnnscope.cli.train import parse_task_params
    from rnnscope.rundir import SweepPaths
    from rnnscope.stages.compare import write_compare
    from rnnscope.sweep.compare import compare_config, plan_compare

    config = compare_config(
        task=args.task,
        task_params=parse_task_params(args.task_param),
        models=parse_list(args.models, "--models", str),
        params=args.params,
        seeds=parse_list(args.seeds, "--seeds"),
        lengths=parse_list(args.lengths, "--lengths"),
        distances=parse_list(args.distances, "--distances"),
        layers=args.layers,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        n_train=args.n_train,
        n_test=args.n_test,
        device=args.device,
    )
    jobs = plan_compare(config, args.out)
    results = run_sweep_command(args, "compare", config, jobs)
    rows = write_compare(args.out, config, jobs, results)
    print_summary(rows, config["axis"])
    done = sum(r["action"] == "skipped" for r in results)
    if done:
        print(f"{done} of {len(results)} runs were already finished (skipped)")
    print(f"results: {SweepPaths(args.out).results_csv}")
    return report_failures(results, "compare")
