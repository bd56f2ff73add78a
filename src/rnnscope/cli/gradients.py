"""`rnnscope gradients RUN_DIR`: gradient flow through time of a trained run; writes RUN_DIR/gradients/."""

from __future__ import annotations

ORDER = 42  # position in `rnnscope --help`

from rnnscope.cli import positive_int


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def add_parser(sub) -> None:
    p = sub.add_parser("gradients", help="per-step gradient profile, decay, effective context, gate highways")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `rnnscope train`")
    p.add_argument("--epsilon", type=_float, default=1e-3,
                   help="effective context (a): largest distance whose normalised gradient stays >= epsilon, "
                        "in (0, 1) (default 1e-3)")
    p.add_argument("--batch", type=positive_int, default=64, help="probe batch size (default 64)")
    p.add_argument("--split", choices=["train", "val", "test"], default="test",
                   help="split the probe batch is drawn from (default test)")
    p.add_argument("--context", metavar="SWEEP", help="an `rnnscope context` directory (or its context.csv): "
                   "adds the behavioural effective context (b) of this run's architecture to summary.json")
    p.set_defaults(func=cmd_gradients)


def cmd_gradients(args) -> int:
    from rnnscope.rundir import RunPaths
    from rnnscope.stages.gradients import gradient_report

    s = gradient_report(args.run_dir, epsilon=args.epsilon, batch=args.batch, split=args.split,
                        context=args.context)
    print("\n".join(s.cli_lines()))
    print(f"gradients: {args.run_dir.rstrip('/')}/{RunPaths(args.run_dir).gradients.dir.name}")
    return 0
