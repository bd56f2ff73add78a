"""The command line's promises: an argument error is one line with a --help hint (exit 2); names and paths
are checked before torch is imported; every --help shows defaults and marks what is required; model, task
and data set names are matched ignoring case; the light name lists agree with the real registries."""

import argparse
import importlib
import json
import pkgutil
import subprocess
import sys

import pytest

import rnnscope.cli
from rnnscope import names
from rnnscope.cli import COMMANDS, HelpFormatter, build_parser, main

ONE_LINE_ERRORS = [
    (
        ["train", "--out", "x", "--epochs", "0"],
        "train",
        "argument --epochs: expected a positive integer, got 0",
    ),
    (["train", "--epochs", "3"], "train", "one of the arguments --out --resume is required"),
    (
        ["train", "--out", "x", "--model", "lsmt"],
        "train",
        "argument --model: unknown model 'lsmt'; choose from rnn",
    ),
    (["train", "--out", "x", "--dropout", "1.5"], "train", "dropout must lie in [0, 1), got 1.5"),
    (["run", "--epochs", "2"], "run", "the following arguments are required: --out"),
    (
        ["record", "RUN", "--chunk-size", "big"],
        "record",
        "argument --chunk-size: expected a positive integer",
    ),
    (["gradients", "RUN", "--epsilon", "2"], "gradients", "epsilon must lie in (0, 1), got 2"),
    (["analyze", "RUN", "--split", "val"], "analyze", "argument --split: invalid choice: 'val'"),
    (["compare", "--out", "x", "--models", "rnn,cnn"], "compare", "unknown model 'cnn'"),
    (["bench", "--out", "x", "--max-memory", "-5"], "bench", "argument --max-memory"),
    (["stream", "RUN", "--input", "/nonexistent/rows.csv"], "stream", "/nonexistent/rows.csv: no such file"),
    (["tasks", "--fast"], None, "unrecognized arguments: --fast"),
    ([], None, "the following arguments are required: COMMAND"),
]


@pytest.mark.parametrize(
    "argv, command, needle", ONE_LINE_ERRORS, ids=[" ".join(r[0]) or "-" for r in ONE_LINE_ERRORS]
)
def test_an_argument_error_is_one_line_with_a_help_hint(tmp_path, monkeypatch, capsys, argv, command, needle):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    prog = "rnnscope" if command is None else f"rnnscope {command}"
    if argv[:1] == ["tasks"]:  # argparse reports unknown arguments from the top-level parser
        prog = "rnnscope"
    assert out == ""
    assert err.count("\n") == 1 and err.endswith(f"; see '{prog} --help'\n"), err
    assert err.startswith(f"{prog}: error: ") and needle in err, err
    assert not list(tmp_path.iterdir())  # nothing written


REFUSED_BEFORE_TORCH = [
    ["train", "--model", "lsmt", "--out", "OUT"],
    ["train", "--task", "mixtrue", "--out", "OUT"],
    ["train", "--dataset", "gunpnt", "--out", "OUT"],
    ["train", "--out", "OUT", "--dropout", "1.5"],
    ["train", "--out", "OUT", "--task-param", "seq_len=0"],
    ["train", "--out", "OUT", "--data", "OUT/missing.npz"],
    ["run", "--out", "OUT", "--companion", "cnn"],
    ["compare", "--out", "OUT", "--models", "rnn,cnn"],
    ["bench", "--out", "OUT", "--models", "mamba"],
    ["record", "OUT", "--quantities", "hidden,bogus"],
    ["fixedpoints", "OUT", "--starts", "0"],
    ["fixedpoints", "OUT", "--tol-q", "nan"],
    ["fixedpoints", "OUT", "--input", "median"],
]


def test_bad_arguments_are_refused_before_torch_is_imported(tmp_path):
    """In a fresh interpreter, each refused command leaves torch unimported (it costs seconds to import)."""
    script = (
        "import json, sys\n"
        "from rnnscope.cli import main\n"
        "codes = [main(a) for a in json.loads(sys.argv[1])]\n"
        "print(json.dumps({'codes': codes, 'torch': 'torch' in sys.modules}))\n"
    )
    argvs = [[a.replace("OUT", str(tmp_path / "out")) for a in argv] for argv in REFUSED_BEFORE_TORCH]
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(argvs)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result == {"codes": [2] * len(argvs), "torch": False}, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == len(argvs)
    assert not (tmp_path / "out").exists()


def _subparsers() -> dict:
    return build_parser()._subparsers._group_actions[0].choices


def _has_default(action) -> bool:
    d = action.default
    return d is not None and d is not argparse.SUPPRESS and d is not False and d != []


def test_every_option_with_a_default_shows_it_and_required_ones_say_so():
    missing = []
    for command, parser in _subparsers().items():
        formatter = HelpFormatter(prog=parser.prog)
        for action in parser._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction):
                continue
            text = formatter._get_help_string(action)
            if _has_default(action) and "default" not in text:
                missing.append(f"{command} {action.option_strings[0]}: no default in {text!r}")
            if action.required and "required" not in text:
                missing.append(f"{command} {action.option_strings[0]}: not marked required")
            if not text:
                missing.append(f"{command} {action.option_strings[0]}: no help")
    assert not missing, "\n".join(missing)


def test_help_shows_defaults_and_required_out(capsys):
    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "usage: rnnscope train [-h] (--out DIR | --resume RUN_DIR)" in text
    assert (
        "--epochs EPOCHS maximum number of epochs (default: 60 for built-in tasks; real data: about 1200 "
        "optimizer updates, docs/training.md)" in text
    )
    assert "--lr LR Adam learning rate (default: 0.002)" in text
    assert "--model MODEL rnn | lstm | gru | transformer (any case) (default: rnn)" in text
    assert "this or --resume is required" in text
    for command in ("run", "compare", "context", "bench"):
        assert main([command, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert f"usage: rnnscope {command} [-h]" in text and " --out DIR " in text.split("options:")[0]
        assert "[--out" not in text  # not shown as optional
        assert "(required)" in text


@pytest.mark.parametrize(
    "argv, dest, canonical",
    [
        (["train", "--out", "x", "--model", "LSTM"], "model", "lstm"),
        (["train", "--out", "x", "--task", "Mixture"], "task", "mixture"),
        (["train", "--out", "x", "--dataset", "gunpoint"], "dataset", "GunPoint"),
        (["run", "--out", "x", "--model", "Gru", "--companion", "LSTM"], "companion", "lstm"),
        (["compare", "--out", "x", "--models", "RNN, Gru", "--task", "RECALL"], "models", "rnn,gru"),
        (["compare", "--out", "x", "--task", "RECALL"], "task", "recall"),
        (["context", "--out", "x", "--models", "Lstm"], "models", "lstm"),
        (["bench", "--out", "x", "--models", "Transformer"], "models", "transformer"),
    ],
)
def test_names_are_matched_ignoring_case_and_stored_canonical(argv, dest, canonical):
    assert getattr(build_parser().parse_args(argv), dest) == canonical


def test_the_library_matches_names_the_same_way():
    from rnnscope.config import DataConfig, ModelConfig
    from rnnscope.data.ucr import _resolve
    from rnnscope.tasks import get_task

    assert ModelConfig(kind="GRU").kind == "gru"
    assert DataConfig(task="Evidence").task == "evidence"
    assert DataConfig(task=None, dataset="italypowerdemand").dataset == "ItalyPowerDemand"
    assert get_task("MOTIF").name == "motif"
    assert _resolve("gunPoint") == "GunPoint"
    with pytest.raises(ValueError, match="unknown model 'lsmt'; choose from rnn, lstm, gru, transformer"):
        ModelConfig(kind="lsmt")


def test_the_name_lists_agree_with_the_registries():
    from rnnscope.config import MODEL_KINDS
    from rnnscope.data.ucr import DATASETS
    from rnnscope.stages.companion import CHOICES
    from rnnscope.tasks import TASKS

    assert names.MODEL_KINDS == MODEL_KINDS
    assert sorted(names.TASK_NAMES) == sorted(TASKS)
    assert names.DATASET_NAMES == tuple(DATASETS)
    assert names.COMPANION_CHOICES == CHOICES


def test_names_and_the_cli_import_no_heavy_module():
    script = (
        "import sys, rnnscope.names, rnnscope.cli\n"
        "rnnscope.cli.build_parser()\n"
        "print(sorted(m for m in ('torch', 'scipy', 'matplotlib') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.strip() == "[]", proc.stderr


def test_the_command_list_names_every_command_module():
    modules = {m.name for m in pkgutil.iter_modules(rnnscope.cli.__path__) if not m.name.startswith("_")}
    assert sorted(COMMANDS) == sorted(modules)
    assert all(hasattr(importlib.import_module(f"rnnscope.cli.{name}"), "add_parser") for name in COMMANDS)
    assert list(_subparsers()) == [
        "tasks",
        "datasets",
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
        "import",
        "activity",
    ]


def test_the_error_family():
    from rnnscope.cli import CLIError
    from rnnscope.data import DataFormatError
    from rnnscope.errors import BadArgument, BadFile, BadRunDirectory, MissingExtra, UserInputError
    from rnnscope.io import NewerFormatError, RunFileError
    from rnnscope.training.rundir import RunLockedError

    assert issubclass(UserInputError, ValueError)
    assert issubclass(CLIError, BadArgument) and issubclass(DataFormatError, BadFile)
    for cls in (RunFileError, NewerFormatError, RunLockedError):
        assert issubclass(cls, BadRunDirectory)
    assert issubclass(MissingExtra, ImportError) and not issubclass(MissingExtra, UserInputError)


def test_a_missing_extra_is_one_line_exit_1(monkeypatch, capsys):
    from rnnscope.data import ucr

    monkeypatch.setattr(ucr, "_AEON_PACKAGE", "aeon_is_not_installed_here")
    assert main(["datasets"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnscope datasets: error: ") and "rnnscope[ucr]" in err
