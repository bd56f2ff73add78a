"""`rnnscope stream RUN_DIR`: rows of feature values in (CSV, one step per row), running predictions out."""

from __future__ import annotations

import contextlib
import csv
import sys

from rnnscope.cli import EXIT_BAD_INPUT, positive_int, readable_file


def add_parser(sub) -> None:
    p = sub.add_parser(
        "stream",
        help="feed CSV rows (one step each) to a trained model; print running predictions",
        description="Reads rows of feature values (CSV) from stdin or --input, one time step per row, and "
        "prints, per step: stream, step, prediction, p_<class>... A blank line ends a stream "
        "(or give --id-column: rows of many streams may interleave; a row with only the id ends "
        "that stream). A malformed row is reported on stderr (one line naming it) and skipped "
        "without touching any stream's state; the exit status is then 2.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by `rnnscope train`")
    p.add_argument("--input", type=readable_file, metavar="FILE", help="read rows from FILE (default: stdin)")
    p.add_argument(
        "--id-column",
        metavar="COL",
        help="the column naming each row's stream: a 0-based index, or a name from the header "
        "(default: none, blank lines separate streams)",
    )
    p.add_argument("--header", action="store_true", help="the first line names the columns (skipped)")
    p.add_argument(
        "--block",
        type=positive_int,
        help="rows gathered per model call (default: 1 for stdin — each row answered as it "
        "arrives — and 1024 for --input; the answers are the same)",
    )
    p.add_argument(
        "--stop-on-error",
        action="store_true",
        help="stop at the first malformed row (rows before it are answered) instead of skipping it",
    )
    p.add_argument(
        "--raw",
        action="store_true",
        help="feed values as given (default: apply the run's preprocessing: its channel normalisation "
        "and its downsampling, if it had them)",
    )
    p.set_defaults(func=cmd_stream)


def cmd_stream(args) -> int:
    from rnnscope import load_run
    from rnnscope.stages.stream import input_every, input_transform

    run = load_run(args.run_dir)
    transform = input_transform(run, args.raw)
    every, note = input_every(run, args.raw)
    if note:
        print(f"rnnscope stream: {note}", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(open(args.input, newline="")) if args.input else sys.stdin
        return _stream(args, run, transform, source, every)


def _stream(args, run, transform, source, every: int = 1) -> int:
    from rnnscope.stages.stream import streamer as make_streamer

    writer = csv.writer(sys.stdout, lineterminator="\n")
    streamer = make_streamer(
        run,
        writer.writerow,
        lambda msg: print(f"rnnscope stream: error: {msg}", file=sys.stderr, flush=True),
        id_column=args.id_column,
        header=args.header,
        transform=transform,
        block=args.block or (1024 if args.input else 1),
        stop_on_error=args.stop_on_error,
        flush=sys.stdout.flush,
        every=every,
    )
    try:
        stats = streamer.run(source)
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        sys.stdout = None
        return 0
    return EXIT_BAD_INPUT if stats.bad_rows else 0
