"""The `rnnscope` command: parses arguments and calls the library; nothing else.

Each sub-command lives in a small module of this package with `add_parser(subparsers)` that registers
it and sets `func(args) -> int`; modules are found automatically and listed by their `ORDER` number. Bad input of any kind ends with one line on stderr and exit status 2;
set RNNSCOPE_DEBUG=1 to see the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class CLIError(Exception):
    """Bad input detected by a command; the message is printed as one line, exit status 2."""


def _number(text: str, cast, ok, what: str):
    """Parse `text` with `cast`; argparse error naming `what` unless ok(value)."""
    try:
        v = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}") from None
    if not ok(v):
        raise argparse.ArgumentTypeError(f"expected a {what}, got {text}")
    return v


def positive_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 1, "positive integer")


def non_negative_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 0, "non-negative integer")


def positive_float(text: str) -> float:
    return _number(text, float, lambda v: 0 < v < math.inf, "positive finite number")


def non_negative_float(text: str) -> float:
    return _number(text, float, lambda v: 0 <= v < math.inf, "non-negative finite number")


def int_list(text: str) -> list[int]:
    """'5,10,20' -> [5, 10, 20] (positive integers)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list of positive integers, got nothing")
    return [positive_int(t) for t in items]


def name_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names, got nothing")
    return items


def command_modules() -> list:
    """The modules of this package that define `add_parser`, by their ORDER (then name)."""
    import pkgutil

    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    mods = [importlib.import_module(f"{__name__}.{name}") for name in names]
    mods = [m for m in mods if hasattr(m, "add_parser")]
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def build_parser() -> argparse.ArgumentParser:
    from rnnscope import __version__

    parser = argparse.ArgumentParser(
        prog="rnnscope", description="Train recurrent sequence classifiers, then open them up.")
    parser.add_argument("--version", action="version", version=f"rnnscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in command_modules():
        module.add_parser(sub)
    return parser


def _one_line(err: BaseException) -> str:
    text = str(err).strip() or err.__class__.__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if os.environ.get("RNNSCOPE_DEBUG"):
        return args.func(args) or 0
    from rnnscope.io import RunFileError
    from rnnscope.training.rundir import RunLockedError

    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print("rnnscope: interrupted", file=sys.stderr)
        return 130
    except (CLIError, ValueError, RunFileError, RunLockedError, FileNotFoundError, PermissionError,
            IsADirectoryError, NotADirectoryError) as err:
        print(f"rnnscope {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:  # e.g. disk full, read-only file system
        print(f"rnnscope {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
