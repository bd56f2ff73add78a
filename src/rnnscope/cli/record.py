"""`rnnscope record RUN_DIR`: record a split through the trained model into RUN_DIR/recording/."""

from __future__ import annotations

import argparse

from rnnscope.cli import name_list, positive_int


def quantity_list(text: str) -> list[str]:
    """--quantities: 'hidden,gates' -> ['hidden', 'gates'], each a known quantity, none repeated."""
    from rnnscope.recording.spec import ALWAYS, QUANTITIES

    items = name_list(text)
    for name in items:
        if name not in QUANTITIES:
            hint = " (always recorded)" if name in ALWAYS else ""
            choices = ", ".join(QUANTITIES)
            raise argparse.ArgumentTypeError(f"unknown quantity {name!r}{hint}; choose from {choices}")
    if len(set(items)) != len(items):
        raise argparse.ArgumentTypeError(f"quantities must not repeat, got {','.join(items)}")
    return items


def add_parser(sub) -> None:
    from rnnscope.recording.spec import DTYPES, QUANTITIES

    p = sub.add_parser(
        "record", help="record every layer's activity, gates and running belief to RUN_DIR/recording/"
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `rnnscope train`")
    p.add_argument(
        "--split", choices=["train", "test"], default="test", help="which split to record (default test)"
    )
    p.add_argument(
        "--max-sequences",
        type=positive_int,
        metavar="N",
        help="record only the first N sequences (default: all)",
    )
    p.add_argument("--dtype", choices=DTYPES, default="float32", help="storage type of the float arrays")
    p.add_argument(
        "--chunk-size", type=positive_int, default=256, metavar="N", help="sequences per chunk file"
    )
    p.add_argument(
        "--quantities",
        type=quantity_list,
        metavar="A,B",
        help=f"what to record (default: all the model has): {', '.join(QUANTITIES)}",
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch CPU threads (default 1: the per-step GEMMs of a recurrence run fastest on one)",
    )
    p.set_defaults(func=cmd_record)


def cmd_record(args) -> int:
    from rnnscope.cli.train import set_threads
    from rnnscope.recording import RecordSpec
    from rnnscope.stages.record import describe, record

    set_threads(args)
    spec = RecordSpec(
        quantities=tuple(args.quantities) if args.quantities else None,
        dtype=args.dtype,
        chunk_size=args.chunk_size,
    )
    rec = record(args.run_dir, split=args.split, max_sequences=args.max_sequences, spec=spec)
    print("\n".join(describe(rec, args.split, args.dtype)))
    return 0
