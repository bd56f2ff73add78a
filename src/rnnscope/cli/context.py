"""`rnnscope context`: the behavioural effective context window — each architecture trained on delayed
recall at every distance and seed (parallel, resumable); writes context.csv, context.json, context.png."""

from __future__ import annotations

from rnnscope.cli import model_names, positive_int
from rnnscope.cli.compare import (
    add_training_options,
    parse_list,
    print_summary,
    report_failures,
    run_sweep_command,
)

DEFAULTS = {"epochs": 30, "lr": 3e-3, "batch_size": 32, "n_train": 1000, "n_test": 500}


def add_parser(sub) -> None:
    from rnnscope.names import DEFAULT_MAX_DISTANCE

    p = sub.add_parser("context", help="measure the behavioural effective context on delayed recall")
    p.add_argument(
        "--models", type=model_names, default="rnn,lstm,gru", help="comma-separated architectures, any case"
    )
    p.add_argument(
        "--distances", default="5,10,20,50,100,200", help="comma-separated cue-to-answer distances"
    )
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    p.add_argument("--max-distance", type=int, default=DEFAULT_MAX_DISTANCE, help="refuse longer distances")
    p.add_argument(
        "--out", required=True, metavar="DIR", help="sweep directory (repeat the command to resume it)"
    )
    m = p.add_argument_group("model and task")
    m.add_argument("--hidden", type=positive_int, default=64, help="hidden size of every model")
    m.add_argument("--layers", type=positive_int, default=1, help="recurrent layers")
    m.add_argument(
        "--params",
        type=positive_int,
        help="match parameter counts (±10%%) instead of --hidden (default: off)",
    )
    m.add_argument("--n-classes", type=positive_int, default=4, help="cue symbols (chance = 1 / n)")
    m.add_argument("--n-distractors", type=int, default=4, help="distractor symbols during the delay")
    m.add_argument(
        "--gate-init",
        default="chrono",
        help="lstm/gru carry gates: chrono (Tallec & Ollivier 2018, for the longest distance; default) "
        "| constant (bias +1)",
    )
    add_training_options(p, DEFAULTS)
    p.set_defaults(func=cmd_context)


def cmd_context(args) -> int:
    from rnnscope.rundir import SweepPaths
    from rnnscope.stages.context import write_context
    from rnnscope.sweep.context import context_config, plan_context

    config = context_config(
        models=parse_list(args.models, "--models", str),
        distances=parse_list(args.distances, "--distances"),
        seeds=parse_list(args.seeds, "--seeds"),
        max_distance=args.max_distance,
        hidden=args.hidden,
        layers=args.layers,
        params=args.params,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        n_train=args.n_train,
        n_test=args.n_test,
        n_classes=args.n_classes,
        n_distractors=args.n_distractors,
        gate_init=args.gate_init,
        device=args.device,
    )
    jobs = plan_context(config, args.out)
    results = run_sweep_command(args, "context", config, jobs)
    rows, summary = write_context(args.out, jobs, results)
    print_summary(rows, "distance")
    print("\n".join(summary.cli_lines()))
    paths = SweepPaths(args.out)
    print(f"results: {paths.context_csv}, {paths.context_json}")
    return report_failures(results, "context")
