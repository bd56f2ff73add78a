"""Sweeps that use the cores they have and say when they learned nothing: threads per worker, the chance
flag (results.csv, CLI summary, report), run directories shipped as files, Ray missing. The Ray executor
itself runs against a real cluster in test_sweep_ray.py."""

import math
import sys

import pytest

from rnnscope.cli import main
from rnnscope.cli.compare import print_summary
from rnnscope.errors import BadArgument, MissingExtra
from rnnscope.io import RunFileError
from rnnscope.report.compare_report import comparison_sections
from rnnscope.rundir import (
    SweepPaths,
    chance_lines,
    read_run_files,
    write_csv,
    write_run_files,
)
from rnnscope.sweep import LocalProcessExecutor, make_executor
from rnnscope.sweep.compare import columns
from rnnscope.sweep.store import at_chance


def test_one_torch_thread_per_worker_unless_asked():
    assert LocalProcessExecutor(workers=2).threads == 1
    assert LocalProcessExecutor(workers=1, threads=3).threads == 3
    for bad in (0, -1, 1.5, True):
        with pytest.raises(BadArgument, match="threads must be a positive integer"):
            make_executor(backend="local", threads=bad)
    with pytest.raises(BadArgument, match="unknown sweep executor 'dask'; choose from local, inline, ray"):
        make_executor(backend="dask")


def test_at_chance_is_three_standard_errors_above_one_over_classes():
    # 2 classes, 100 sequences: chance 0.5, standard error 0.05, threshold 0.65
    assert at_chance(0.5, 2, 100) is True
    assert at_chance(0.65, 2, 100) is True
    assert at_chance(0.66, 2, 100) is False
    # 4 classes, 1000 sequences: 0.25 + 3 * sqrt(0.1875 / 1000) = 0.29108
    assert at_chance(0.2910, 4, 1000) is True
    assert at_chance(0.2912, 4, 1000) is False
    assert at_chance(math.nan, 4, 1000) is None and at_chance(None, 4, 1000) is None


def _rows():
    base = {"seed": 0, "length": 6, "params": 931, "hidden": 16, "layers": 2, "status": "completed"}
    return [
        {
            **base,
            "model": "rnn",
            "train_acc": 0.44,
            "test_acc": 0.625,
            "at_chance": True,
            "run": "runs/rnn-s0-l6",
        },
        {
            **base,
            "model": "gru",
            "train_acc": 0.95,
            "test_acc": 0.9,
            "at_chance": False,
            "run": "runs/gru-s0-l6",
        },
    ]


def test_cli_summary_flags_runs_at_chance(capsys):
    print_summary(_rows(), "length")
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == [
        "rnn",
        "6",
        "931",
        "0.625",
        "±",
        "0.000",
        "(1)",
        "at",
        "chance:",
        "1",
        "of",
        "1",
    ]
    assert lines[2].split() == ["gru", "6", "931", "0.900", "±", "0.000", "(1)"]
    assert lines[3].startswith("1 of 2 runs learned nothing: their training accuracy stayed at chance")
    assert "rnn-s0-l6." in lines[3] and "gru-s0-l6" not in lines[3]
    assert chance_lines([r for r in _rows() if r["model"] == "gru"]) == []


def test_results_csv_column_and_report_note(tmp_path):
    paths = SweepPaths(tmp_path)
    write_csv(paths.results_csv, _rows(), columns("length"))
    header = paths.results_csv.read_text().splitlines()
    assert "at_chance" in header[0].split(",")
    assert header[1].split(",")[header[0].split(",").index("at_chance")] == "True"
    html = "".join(part for s in comparison_sections(tmp_path) for part in s.body)
    assert "1 of 2 runs learned nothing" in html and "rnn-s0-l6" in html


def test_run_files_round_trip_and_refuse_paths_outside(tmp_path):
    src = tmp_path / "a"
    (src / "checkpoints" / "epoch-000001").mkdir(parents=True)
    (src / "checkpoints" / ".tmp-epoch-000002-7").mkdir()
    (src / "checkpoints" / ".tmp-epoch-000002-7" / "state.json").write_text("half")
    (src / "checkpoints" / "epoch-000001" / "state.json").write_text("{}")
    (src / "config.json").write_text("{}")
    (src / "status.json").write_text('{"status": "completed"}')
    (src / ".lock").write_text("123\n")
    files = read_run_files(src)
    assert sorted(files) == ["checkpoints/epoch-000001/state.json", "config.json", "status.json"]
    dst = tmp_path / "b"
    dst.mkdir()
    (dst / "stale.txt").write_text("old")
    write_run_files(dst, files)
    assert read_run_files(dst) == files and not (dst / "stale.txt").exists()
    for bad in ("../escape.json", "/etc/x", ""):
        with pytest.raises(RunFileError, match="outside its run directory"):
            write_run_files(dst, {bad: b"x"})
    assert read_run_files(dst) == files


def test_executor_ray_without_ray_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    monkeypatch.delitem(sys.modules, "rnnscope.sweep.ray_executor", raising=False)
    with pytest.raises(MissingExtra, match=r"pip install 'rnnscope\[ray\]'"):
        make_executor(backend="ray")
    out = tmp_path / "sweep"
    argv = ["compare", "--models", "rnn", "--seeds", "0", "--executor", "ray", "--quiet", "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'rnnscope[ray]'" in err
    assert not out.exists()
