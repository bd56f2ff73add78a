"""`rnnscope activity FILE --out DIR`: unit roles, timescales, spectra and the report of recorded activity."""

from __future__ import annotations

import argparse

from rnnscope.cli import CLIError, name_list, positive_float, readable_file


def _window(text: str) -> tuple[float, float]:
    """--window: 'START,STOP' seconds around the alignment time, START < STOP."""
    parts = [p.strip() for p in text.split(",")]
    try:
        start, stop = (float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START,STOP in seconds, got {text!r}") from None
    if not start < stop:
        raise argparse.ArgumentTypeError(f"the window must start before it stops, got {text}")
    return start, stop


def add_parser(sub) -> None:
    p = sub.add_parser(
        "activity",
        help="the unit analysis and report of recorded activity (.npz, .npy, .safetensors or .nwb)",
        description="FILE is .npz or .safetensors with `activity` (trials, steps, units) (or (steps, units) "
        "for one trial) and optional `labels` (trials,), `inputs` (trials, steps, channels), `evidence`, "
        "`lengths` or `mask`; a .npy with the activity alone; or an NWB file (extra rnnscope[nwb]): the "
        "spike times of its Units table binned into the intervals of its trials table. Writes "
        "DIR/analysis/ (units.csv as a run's, layer 0), DIR/activity.json and DIR/report.html.",
    )
    p.add_argument("file", metavar="FILE", type=readable_file, help=".npz, .npy, .safetensors or .nwb")
    p.add_argument("--out", required=True, metavar="DIR", help="the activity directory to write")
    p.add_argument(
        "--dt",
        type=positive_float,
        metavar="SECONDS",
        help="seconds per step: timescales and frequencies also in s and Hz (NWB: the bin width)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an activity directory at --out")
    nwb = p.add_argument_group("NWB files")
    nwb.add_argument("--bin-ms", type=positive_float, help="bin width for spike counts, ms (default 10)")
    nwb.add_argument("--align", metavar="COLUMN", help="trials column to align on (default start_time)")
    nwb.add_argument(
        "--window",
        type=_window,
        metavar="START,STOP",
        help="seconds around the alignment time (default: 0 to the shortest trial's duration)",
    )
    nwb.add_argument("--label-column", metavar="COLUMN", help="trials column holding each trial's label")
    nwb.add_argument(
        "--events",
        type=name_list,
        metavar="COL,COL",
        help="trials columns of event times (s), each an input channel: 1 in the bin of the event",
    )
    p.set_defaults(func=cmd_activity, check=check_activity)


NWB_OPTIONS = ("bin_ms", "align", "window", "label_column", "events")


def check_activity(args) -> None:
    given = [f"--{o.replace('_', '-')}" for o in NWB_OPTIONS if getattr(args, o) is not None]
    if given and not args.file.lower().endswith(".nwb"):
        raise CLIError(f"{', '.join(given)} apply to NWB files only")


def cmd_activity(args) -> int:
    from pathlib import Path

    from rnnscope.rundir import RunPaths
    from rnnscope.rundir.imported import read_activity_summary
    from rnnscope.stages.activity import activity_file

    options = {o: getattr(args, o) for o in NWB_OPTIONS if getattr(args, o) is not None}
    report = activity_file(args.file, args.out, dt=args.dt, overwrite=args.overwrite, **options)
    out = Path(args.out)
    print("\n".join(read_activity_summary(out).cli_lines(out)))
    print("\n".join(report.summary.cli_lines("recorded")))
    print(f"report: {RunPaths(out).report}")
    return 0
