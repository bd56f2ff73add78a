"""`rnnscope bench`: measured cost curves (time, peak memory, state size vs sequence length)."""

from __future__ import annotations

import argparse
import math

from rnnscope.cli import CLIError, int_list, model_names, name_list, positive_float, positive_int

DEFAULT_MODELS = "rnn,lstm,gru,transformer"
DEFAULT_LENGTHS = "64,256,1024,4096,16384"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="measure time and memory vs sequence length per architecture",
        description="Per architecture (matched in size) and sequence length: training step "
        "time, inference time, peak memory, state/KV-cache bytes. Writes "
        "DIR/cost.csv, DIR/summary.json and log-log figures with fitted slopes.",
    )
    p.add_argument(
        "--models",
        type=model_names,
        default=DEFAULT_MODELS,
        help=f"comma-separated, any case (default {DEFAULT_MODELS})",
    )
    p.add_argument(
        "--lengths", default=DEFAULT_LENGTHS, help=f"comma-separated T (default {DEFAULT_LENGTHS})"
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="directory for cost.csv, summary.json, figures"
    )
    p.add_argument(
        "--params", type=positive_int, default=20_000, help="parameter budget, ±10%% (default 20000)"
    )
    p.add_argument("--batch", type=positive_int, default=8, help="sequences per call (default 8)")
    p.add_argument("--layers", type=positive_int, default=2, help="layers / blocks (default 2)")
    p.add_argument("--input-size", type=positive_int, help="input channels C (default: the default task's)")
    p.add_argument("--n-classes", type=positive_int, help="classes K (default: the default task's)")
    p.add_argument(
        "--max-memory",
        type=positive_float,
        metavar="MIB",
        help="memory budget per point in MiB (default: half the available memory, at most 4096)",
    )
    p.add_argument(
        "--max-seconds",
        type=positive_float,
        default=30.0,
        help="time budget of one call in seconds (default 30)",
    )
    p.add_argument(
        "--repeats", type=positive_int, default=3, help="timed calls per point; the best is kept (default 3)"
    )
    p.add_argument("--device", default="cpu", help="cpu | cuda (default cpu)")
    p.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch threads per measuring process (one, as in training: docs/training.md)",
    )
    p.set_defaults(func=cmd_bench)


def _list(parse, text: str, what: str):
    try:
        return parse(text)
    except argparse.ArgumentTypeError as err:
        raise CLIError(f"--{what}: {err}") from None


def spec_from_args(args):
    """A validated BenchSpec and its matched model configs; one-line errors for bad input."""
    from rnnscope.config import DEFAULT_TASK
    from rnnscope.costs.runner import BenchSpec, default_memory_budget, plan
    from rnnscope.tasks import get_task

    models = tuple(_list(name_list, args.models, "models"))
    lengths = tuple(_list(int_list, args.lengths, "lengths"))
    task = get_task(DEFAULT_TASK)
    memory = int(args.max_memory * 2**20) if args.max_memory else default_memory_budget()
    spec = BenchSpec(
        models=models,
        lengths=tuple(sorted(set(lengths))),
        params=args.params,
        batch=args.batch,
        layers=args.layers,
        input_size=args.input_size or task.input_size,
        n_classes=args.n_classes or task.n_classes,
        max_memory_bytes=memory,
        max_seconds=args.max_seconds,
        repeats=args.repeats,
        device=args.device,
        threads=args.threads,
    )
    return spec, plan(spec)


def _fmt(v, unit: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if unit == "s":
        return f"{v * 1e3:.3g} ms" if v < 1 else f"{v:.3g} s"
    return f"{v / 2**20:.3g} MiB" if v >= 2**20 else f"{v / 1024:.3g} KiB"


def cmd_bench(args) -> int:
    from rnnscope.io import make_output_dir
    from rnnscope.stages.bench import bench

    spec, configs = spec_from_args(args)
    out = make_output_dir(args.out, "--out")
    print(
        f"matched at {spec.params:,} parameters: "
        + ", ".join(f"{k} H={c.hidden}" for k, c in configs.items()),
        flush=True,
    )

    def progress(r: dict) -> None:
        print(
            f"{r['model']:<12} T={r['length']:>6}  train {_fmt(r['train_step_seconds'], 's'):>10}  "
            f"infer {_fmt(r['inference_seconds'], 's'):>10}  peak {_fmt(r['train_peak_bytes'], 'b'):>10}  "
            f"state {_fmt(r['state_bytes'], 'b'):>10}  {r['status']}{'  ' + r['note'] if r['note'] else ''}",
            flush=True,
        )

    summary, paths = bench(spec, out, progress)
    for line in summary.slope_lines():
        print(line)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
