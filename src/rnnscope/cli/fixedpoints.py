"""`rnnscope fixedpoints RUN_DIR`: fixed and slow points, linearisation and Lyapunov spectrum of a trained
recurrent run; writes RUN_DIR/fixedpoints/."""

from __future__ import annotations

from rnnscope.cli import CLIError, non_negative_int, positive_float, positive_int

INPUT_MODES = ("zero", "mean", "class-mean")  # rnnscope.dynamics.data.INPUT_MODES (tested equal)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fixedpoints",
        help="fixed and slow points, their eigenvalues, and the Lyapunov spectrum of a recurrent run",
    )
    p.add_argument(
        "run_dir", metavar="RUN_DIR", help="a run directory written by `rnnscope train` (rnn, gru, lstm)"
    )
    p.add_argument(
        "--input",
        choices=INPUT_MODES,
        default="zero",
        help="the constant input held during the search: zero, the test data's mean input, or each "
        "class's mean input (one search per class)",
    )
    p.add_argument(
        "--starts",
        type=positive_int,
        default=1024,
        metavar="N",
        help="starting states: visited test-set states plus Gaussian noise (std 0.5)",
    )
    p.add_argument(
        "--tol-q",
        type=positive_float,
        default=1e-12,
        metavar="Q",
        help="a fixed point has q = ½‖F(x) − x‖² <= Q; slow points lie between Q and max(Q, 1e-4)",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the starts and tangent vectors")
    p.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch CPU threads (default 1: the small batched solves run fastest on one thread)",
    )
    p.set_defaults(func=cmd_fixedpoints, check=check)


def check(args) -> None:
    """Refuse a Transformer run from its config, before torch is imported (other run errors: the stage)."""
    from rnnscope.rundir import RunPaths, read_config

    if RunPaths(args.run_dir).config.exists():
        kind = read_config(args.run_dir)["model"].get("kind")
        if kind == "transformer":
            raise CLIError(
                f"{args.run_dir} holds a transformer, which has no recurrent state (no fixed points, "
                "linearisation or Lyapunov spectrum); use a run of an rnn, gru or lstm"
            )


def cmd_fixedpoints(args) -> int:
    from rnnscope.cli.train import set_threads
    from rnnscope.rundir import RunPaths
    from rnnscope.stages.fixedpoints import fixed_point_report

    set_threads(args)
    s = fixed_point_report(
        args.run_dir, input_mode=args.input, starts=args.starts, tol_q=args.tol_q, seed=args.seed
    )
    print("\n".join(s.cli_lines()))
    print(f"fixed points: {RunPaths(args.run_dir).fixedpoints.dir}")
    return 0
