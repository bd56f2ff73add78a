"""`rnnscope analyze RUN_DIR`: unit roles, timescales, spectra and population geometry of a trained run."""

from __future__ import annotations

from rnnscope.cli import positive_int


def add_parser(sub) -> None:
    from rnnscope.config import ANALYSIS_MAX_SEQUENCES as MAX_SEQUENCES
    from rnnscope.config import ANALYSIS_VALUE_BUDGET as VALUE_BUDGET

    p = sub.add_parser("analyze", help="classify every hidden unit by temporal role; write RUN_DIR/analysis/")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `rnnscope train`")
    p.add_argument(
        "--split", choices=["train", "test"], default="test", help="which split to analyse (default test)"
    )
    p.add_argument(
        "--max-sequences",
        type=positive_int,
        metavar="N",
        help=f"analyse the first N sequences (default {MAX_SEQUENCES}, fewer where they would hold more "
        f"than {VALUE_BUDGET / 1e6:.1f} M values per layer)",
    )
    p.add_argument("--rerecord", action="store_true", help="record again even if RUN_DIR/recording matches")
    p.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch CPU threads (default 1: the per-step GEMMs of a recurrence run fastest on one)",
    )
    p.add_argument("--no-figures", action="store_true", help="write the tables and arrays only (faster)")
    p.set_defaults(func=cmd_analyze)


def cmd_analyze(args) -> int:
    from rnnscope.cli.train import set_threads
    from rnnscope.rundir import RunPaths
    from rnnscope.stages.analyze import analyze_run

    set_threads(args)
    report = analyze_run(
        args.run_dir,
        split=args.split,
        max_sequences=args.max_sequences,
        rerecord=args.rerecord,
        figures=not args.no_figures,
    )
    print("\n".join(report.summary.cli_lines(args.split)))
    print(f"analysis: {args.run_dir.rstrip('/')}/{RunPaths(args.run_dir).analysis.dir.name}")
    return 0
