"""The `rnnscope` command: parses arguments and calls the library; nothing else.

Each sub-command lives in a small module of this package, listed in COMMANDS (the order of `rnnscope
--help`), with `add_parser(subparsers)` that registers it and sets `func(args) -> int` and, optionally,
`check(args)`: validation that runs before any command imports torch. Exit status: 0 success; 2 bad input
(a `rnnscope.errors.UserInputError`, or an argument argparse refuses): one line on stderr; 130 interrupted;
1 anything else: a failure the command reports itself, an error of the environment (an OSError such as a
full disk, or a missing optional dependency: one line), or a bug (its traceback). RNNSCOPE_DEBUG=1 shows
the traceback of every error. See docs/reliability.md, "Errors".
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys

from rnnscope import names
from rnnscope.errors import BadArgument, MissingExtra, UserInputError

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class CLIError(BadArgument):
    """An argument a command cannot use (found after parsing); one line, exit status 2."""


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


def _named(resolve):
    """An argparse type from a names.* resolver: case-insensitive, returns the canonical name."""

    def parse(text: str) -> str:
        try:
            return resolve(text)
        except BadArgument as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = resolve.__name__
    return parse


model_name = _named(names.model_kind)
task_name = _named(names.task_name)
dataset_name = _named(names.dataset_name)
companion_name = _named(names.companion)


def readout_name(text: str) -> str:
    from rnnscope.config import READOUTS

    if text.strip().lower() not in READOUTS:
        raise argparse.ArgumentTypeError(f"unknown readout {text!r}; choose from {', '.join(READOUTS)}")
    return text.strip().lower()


def augment_spec(text: str) -> str:
    """--augment: none, or augmentations joined by '+' (rnnscope.config.parse_augment)."""
    from rnnscope.config import parse_augment

    try:
        return parse_augment(text)
    except BadArgument as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def downsample_value(text: str):
    """--downsample: a positive integer or `auto`."""
    if text.strip().lower() == "auto":
        return "auto"
    return positive_int(text)


def readable_file(text: str) -> str:
    """A file that exists and can be read (checked now, so a typo costs no start-up)."""
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file")
    if not os.access(text, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text}: permission denied")
    return text


def existing_path(text: str) -> str:
    """A file or directory that exists."""
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"{text}: no such file or directory")
    return text


def model_names(text: str) -> str:
    """'RNN, lstm' -> 'rnn,lstm': each name checked and made canonical (kept a comma-separated string)."""
    return ",".join(model_name(t) for t in name_list(text))


# The sub-command modules, in the order `rnnscope --help` lists them.
COMMANDS = (
    "info",
    "train",
    "run",
    "record",
    "analyze",
    "compare",
    "gradients",
    "fixedpoints",
    "context",
    "bench",
    "stream",
    "report",
    "importing",
    "activity",
)


def command_modules() -> list:
    """The modules of COMMANDS, imported (each defines `add_parser`)."""
    return [importlib.import_module(f"{__name__}.{name}") for name in COMMANDS]


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, with every option's default (where it has one) and "required" in its help."""

    def _get_help_string(self, action) -> str:
        text = action.help or ""
        if action.required and action.option_strings and "required" not in text:
            text += " (required)"
        default = action.default
        shown = default is not None and default is not argparse.SUPPRESS and default is not False
        if shown and default != [] and action.option_strings and "default" not in text:
            text += " (default: %(default)s)"
        return text.strip()


class ArgumentParser(argparse.ArgumentParser):
    """An argument error is one line: `PROG: error: MESSAGE; see 'PROG --help'`, exit status 2."""

    def __init__(self, *args, formatter_class=HelpFormatter, **kwargs) -> None:
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {_one_line(message)}; see '{self.prog} --help'\n")


def build_parser() -> ArgumentParser:
    from rnnscope import __version__

    parser = ArgumentParser(
        prog="rnnscope", description="Train recurrent sequence classifiers, then open them up."
    )
    parser.add_argument("--version", action="version", version=f"rnnscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in command_modules():
        module.add_parser(sub)
    return parser


def _one_line(err) -> str:
    text = str(err).strip() or err.__class__.__name__
    return " ".join(text.split())


def _say(command: str, err) -> None:
    print(f"rnnscope {command}: error: {_one_line(err)}", file=sys.stderr)


def _run(args) -> int:
    """The command's checks (before anything imports torch), then the command."""
    check = getattr(args, "check", None)
    if check is not None:
        try:
            check(args)
        except BadArgument as err:  # an argument error found after parsing: the same hint as argparse's
            if os.environ.get("RNNSCOPE_DEBUG"):
                raise
            raise BadArgument(f"{_one_line(err)}; see 'rnnscope {args.command} --help'") from None
    return args.func(args) or 0


def main(argv: list[str] | None = None) -> int:
    """`rnnscope ARGV` -> exit status (argument errors, --help and --version too: never SystemExit)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # argparse has printed the error (status 2) or the help (0) already
        return done.code if isinstance(done.code, int) else 0 if done.code is None else EXIT_BAD_INPUT
    if os.environ.get("RNNSCOPE_DEBUG"):
        return _run(args)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("rnnscope: interrupted", file=sys.stderr)
        return 130
    except UserInputError as err:  # bad input: the message says what to change
        _say(args.command, err)
        return EXIT_BAD_INPUT
    except (OSError, MissingExtra) as err:  # the environment (a full disk, a missing extra): not input or bug
        _say(args.command, err)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
