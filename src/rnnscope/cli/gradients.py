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
    p.add_argument("--epsilon", type=_epsilon, default=1e-3,
                   help="effective context (a): largest distance whose normalised gradient stays >= epsilon, "
                        "in (0, 1) (default 1e-3)")
    p.add_argument("--batch", type=positive_int, default=64, help="probe batch size (default 64)")
    p.add_argument("--split", choices=["train", "val", "test"], default="test",
                   help="split the probe batch is drawn from (default test)")
    p.add_argument("--context", type=_sweep, metavar="SWEEP",
                   help="an `rnnscope context` directory (or its context.csv): adds the behavioural "
                        "effective context (b) of this run's architecture to summary.json (default: none)")
    p.set_defaults(func=cmd_gradients)


def cmd_gradients(args) -> int:
    from rnnscope.gradients.report import GRADIENTS_DIR, gradient_report

    s = gradient_report(args.run_dir, epsilon=args.epsilon, batch=args.batch, split=args.split,
                        context=args.context)
    print(f"{s['kind']}: {s['batch']} {s['split']} sequences x {s['seq_len']} steps, loss {s['loss']:.3f} "
          f"(init {s['loss_init']:.3f})")
    print(f"{'layer':<6}{'quantity':<13}{'decay/step':>11}{'half-life':>11}{'R2':>7}{'context (a)':>13}")
    for r in s["per_layer"]:
        ctx = "-" if r["effective_context"] is None else (
            f">={r['effective_context']}" if r["context_censored"] else str(r["effective_context"]))
        print(f"{r['layer']:<6}{r['quantity']:<13}{r['decay_factor']:>11.4f}{r['half_life']:>11.1f}"
              f"{r['r2']:>7.3f}{ctx:>13}")
    b = s["behavioural"]
    if b is not None:
        ctx = "undefined" if b["effective_context"] is None else (
            f">= {b['effective_context']}" if b["censored"] else str(b["effective_context"]))
        print(f"behavioural context (b): {ctx}")
    print(f"gradients: {args.run_dir.rstrip('/')}/{GRADIENTS_DIR}")
    return 0
