"""`rnnscope gradients RUN_DIR`: gradient flow through time of a trained run; writes RUN_DIR/gradients/."""

from __future__ import annotations

import argparse
import os

from rnnscope.cli import positive_int


def _epsilon(text: str) -> float:
    """--epsilon: a number strictly between 0 and 1."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"epsilon must lie in (0, 1), got {text}")
    return v


def _sweep(text: str) -> str:
    """--context: an existing `rnnscope context` directory or context.csv."""
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"no context sweep results at {text} (run `rnnscope context` first)")
    return text


def add_parser(sub) -> None:
    p = sub.add_parser("gradients", help="per-step gradient profile, decay, effective context, gate highways")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `rnnscope train`")
    p.add_argument(
        "--epsilon",
        type=_epsilon,
        default=1e-3,
        help="effective context (a): largest distance whose normalised gradient stays >= epsilon, "
        "in (0, 1) (default 1e-3)",
    )
    p.add_argument("--batch", type=positive_int, default=64, help="probe batch size (default 64)")
    p.add_argument(
        "--split",
        choices=["train", "val", "test"],
        default="test",
        help="split the probe batch is drawn from (default test)",
    )
    p.add_argument(
        "--context",
        type=_sweep,
        metavar="SWEEP",
        help="an `rnnscope context` directory (or its context.csv): adds the behavioural "
        "effective context (b) of this run's architecture to summary.json (default: none)",
    )
    p.set_defaults(func=cmd_gradients)


def cmd_gradients(args) -> int:
    from rnnscope.rundir import RunPaths
    from rnnscope.stages.gradients import gradient_report

    s = gradient_report(
        args.run_dir, epsilon=args.epsilon, batch=args.batch, split=args.split, context=args.context
    )
    print("\n".join(s.cli_lines()))
    print(f"gradients: {args.run_dir.rstrip('/')}/{RunPaths(args.run_dir).gradients.dir.name}")
    return 0
