"""`rnnscope run [train options] --out DIR`: train → record → analyse units → gradients → fixed points →
gated companion → report."""

from __future__ import annotations

import sys

from rnnscope.cli import EXIT_FAILED, companion_name, positive_int


def add_parser(sub) -> None:
    from rnnscope.cli.train import add_train_options, check_train
    from rnnscope.names import PIPELINE_SEQUENCES as SEQUENCES

    p = sub.add_parser(
        "run",
        help="the whole pipeline: train, record, analyse units, gradients, fixed points, a gated companion, "
        "HTML report",
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="run directory to create (the report is DIR/report.html)"
    )
    p.add_argument(
        "--sequences",
        type=positive_int,
        default=SEQUENCES,
        metavar="N",
        help=f"test sequences recorded and analysed (default {SEQUENCES})",
    )
    p.add_argument(
        "--companion",
        type=companion_name,
        default="auto",
        metavar="MODEL",
        help="a parameter-matched gated model trained alongside, to show the gates that keep the gradient: "
        "auto (an LSTM for a tanh RNN, none otherwise; default) | lstm | gru | none",
    )
    add_train_options(p)
    p.set_defaults(func=cmd_run, check=check_train)


def cmd_run(args) -> int:
    from rnnscope.cli.train import configs_from_args, print_results, set_threads
    from rnnscope.stages.pipeline import run_pipeline
    from rnnscope.stages.train import recipe_lines

    set_threads(args)
    data_cfg, model_cfg, train_cfg = configs_from_args(args)
    result = run_pipeline(
        data_cfg,
        model_cfg,
        train_cfg,
        args.out,
        overwrite=args.overwrite,
        match_params=args.match_params,
        checkpoint_every=args.checkpoint_every,
        sequences=args.sequences,
        progress=not args.quiet,
        companion=args.companion,
        baselines=not args.no_baselines,
    )
    for line in recipe_lines(result.run):
        print(f"rnnscope run: {line}")
    print_results(result.run)
    for warning in result.run.metrics.get("warnings", []):
        print(f"rnnscope run: warning: {warning}", file=sys.stderr)
    print()
    for s in result.stages:
        print(s.line())
    print(f"run directory: {result.run.path}")
    print(f"report: {result.report}")
    failed = [s for s in result.stages if s.status == "failed"]
    for s in failed:
        print(f"rnnscope run: the {s.name} stage failed: {s.note}", file=sys.stderr)
    return EXIT_FAILED if failed else 0
