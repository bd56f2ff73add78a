"""`rnnscope report DIR`: (re)build DIR/report.html from what a run or comparison directory holds."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report", help="build DIR/report.html, one self-contained HTML report of a run or comparison"
    )
    p.add_argument(
        "run_dir", metavar="DIR", help="a run directory, or the output of compare / context / bench"
    )
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from rnnscope.report import build_report

    path = build_report(args.run_dir)
    print(f"report: {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0
