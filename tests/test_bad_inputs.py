"""The bad-input table: every command, refused with exit status 2, one line on stderr naming the problem, no
traceback, and no file created or changed. Plus property-based fuzzing of the data parsers and the CLI.

Each row runs in-process through `rnnscope.cli.main` (which returns argparse's status too); a few rows
run again as real subprocesses. Tests run as root, where file modes do not stop writes, so an unwritable
output location is a path under /proc (a pseudo file system nobody can create files in); a full disk is
simulated by making fsync fail with ENOSPC: that is the environment, not bad input, so one line and exit 1.
Bugs (any exception that is not a UserInputError) are not bad input either: they keep their traceback.
The categories and the count are in docs/reliability.md.
"""

import errno
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import rnnscope
from conftest import tiny_train_args
from rnnscope.cli import build_parser, main
from rnnscope.data.formats import DataFormatError, parse_npz, parse_ts, parse_tsv, parse_txt

TINY = tiny_train_args(epochs=1)


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """A tiny finished run (3 input channels) to be copied, and damaged, per row."""
    out = tmp_path_factory.mktemp("good") / "run"
    rnnscope.train(
        out=out,
        task="evidence",
        task_params={"seq_len": 8},
        n_train=48,
        n_test=24,
        hidden=6,
        epochs=1,
        device="cpu",
    )
    return out


# ---------------------------------------------------------------- the world a row runs in


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _npz(path: Path, **arrays) -> Path:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return _write(path, buf.getvalue())


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


TS_OK = "@problemName t\n@univariate true\n@classLabel true a b\n@data\n1,2,3:a\n2,3,4:b\n"


def _setup(tmp: Path, good_run: Path) -> dict:
    """Files the rows refer to as {name}; all are snapshot before a row runs."""
    run = tmp / "run"
    shutil.copytree(good_run, run)
    w = {"tmp": tmp, "run": run, "new": tmp / "new", "empty": tmp / "emptydir"}
    w["empty"].mkdir()
    for name, damage in (
        ("flipped", lambda r: _flip(r / "model.safetensors")),
        ("nostatus", lambda r: (r / "status.json").unlink()),
        ("badconfig", lambda r: _write(r / "config.json", '{"data": ')),
        ("nomodel", lambda r: (r / "model.safetensors").unlink()),
        (
            "newer",
            lambda r: _write(
                r / "config.json",
                (r / "config.json").read_text().replace('"format_version": 1', '"format_version": 99'),
            ),
        ),
        ("badckpt", lambda r: [_flip(c / "state.json") for c in (r / "checkpoints").iterdir()]),
    ):
        shutil.copytree(good_run, tmp / name)
        damage(tmp / name)
        w[name] = tmp / name
    # a run that was stopped (status running) and whose every checkpoint is corrupt
    (w["badckpt"] / "model.safetensors").unlink()
    status = w["badckpt"] / "status.json"
    from rnnscope.rundir import write_status

    status.unlink()
    write_status(w["badckpt"], "running")
    d = tmp / "data"
    w["ts_nodata"] = _write(d / "a" / "X_TRAIN.ts", "@problemName x\n1,2,3:a\n")
    _write(d / "a" / "X_TEST.ts", TS_OK)
    w["ts_dims"] = _write(d / "b" / "X_TRAIN.ts", "@dimensions 2\n@classLabel true a b\n@data\n1,2:a\n")
    _write(d / "b" / "X_TEST.ts", TS_OK)
    w["ts_label"] = _write(d / "c" / "X_TRAIN.ts", "@classLabel true a b\n@data\n1,2,3:z\n")
    _write(d / "c" / "X_TEST.ts", TS_OK)
    w["tsv_ragged"] = _write(d / "d" / "X_TRAIN.tsv", "1\t0.1\t0.2\n2\t0.3\n")
    _write(d / "d" / "X_TEST.tsv", "1\t0.1\t0.2\n")
    w["tsv_inf"] = _write(d / "e" / "X_TRAIN.tsv", "1\t0.1\tinf\n2\t0.3\t0.4\n")
    _write(d / "e" / "X_TEST.tsv", "1\t0.1\t0.2\n")
    w["txt_text"] = _write(d / "f" / "X_TRAIN.txt", "1,0.1,abc\n2,0.3,0.4\n")
    _write(d / "f" / "X_TEST.txt", "1,0.1,0.2\n")
    w["txt_oneclass"] = _write(d / "g" / "X_TRAIN.txt", "1 0.1 0.2\n1 0.3 0.4\n")
    _write(d / "g" / "X_TEST.txt", "1 0.1 0.2\n")
    w["txt_notest"] = _write(d / "h" / "X_TRAIN.txt", "1 0.1 0.2\n2 0.3 0.4\n")
    w["npz_noy"] = _npz(
        d / "noy.npz", X_train=np.zeros((4, 5)), X_test=np.zeros((2, 5)), y_train=np.arange(4)
    )
    w["npz_obj"] = _npz(
        d / "obj.npz",
        X_train=np.array([[1, "a"]], dtype=object),
        y_train=np.arange(1),
        X_test=np.zeros((1, 2)),
        y_test=np.arange(1),
    )
    w["npz_inf"] = _npz(
        d / "inf.npz",
        X_train=np.full((4, 5), np.inf),
        y_train=np.arange(4) % 2,
        X_test=np.zeros((2, 5)),
        y_test=np.arange(2),
    )
    w["npz_zip"] = _write(d / "junk.npz", b"PK\x03\x04 this is not really a zip")
    w["npz_shape"] = _npz(
        d / "shape.npz",
        X_train=np.zeros((4, 5)),
        y_train=np.arange(3),
        X_test=np.zeros((2, 5)),
        y_test=np.arange(2),
    )
    w["two_sets"] = d / "two"
    _write(d / "two" / "A_TRAIN.txt", "1 0.1\n2 0.2\n"), _write(d / "two" / "A_TEST.txt", "1 0.1\n")
    _write(d / "two" / "B_TRAIN.txt", "1 0.1\n2 0.2\n"), _write(d / "two" / "B_TEST.txt", "1 0.1\n")
    rows = tmp / "rows"
    w["rows_short"] = _write(rows / "short.csv", "0.1,0.2\n")
    w["rows_text"] = _write(rows / "text.csv", "0.1,abc,0.3\n")
    w["rows_nan"] = _write(rows / "nan.csv", "0.1,nan,0.3\n")
    w["rows_long"] = _write(rows / "long.csv", "0.1,0.2,0.3,0.4\n")
    w["rows_empty_field"] = _write(rows / "hole.csv", "0.1,,0.3\n")
    w["file"] = _write(tmp / "a_file", "keep me")
    return w


# ---------------------------------------------------------------- the table
# (id, argv with {placeholders}, what stderr must say). Categories: type, sign, size, contradiction,
# data-file (per format), run-directory, stream-row, analysis-range, output-location.

TABLE = [
    # -- CLI values of the wrong type, sign or size
    ("type/train-epochs", ["train", "--out", "{new}", *TINY, "--epochs", "ten"], "--epochs"),
    ("type/train-batch-float", ["train", "--out", "{new}", *TINY, "--batch-size", "1e3"], "--batch-size"),
    ("type/train-lr-text", ["train", "--out", "{new}", *TINY, "--lr", "fast"], "--lr"),
    ("type/train-task-param", ["train", "--out", "{new}", *TINY, "--task-param", "seq_len"], "KEY=VALUE"),
    ("type/record-chunk", ["record", "{run}", "--chunk-size", "big"], "--chunk-size"),
    ("type/compare-seeds", ["compare", "--out", "{new}", "--seeds", "a,b"], "--seeds"),
    ("type/bench-lengths", ["bench", "--out", "{new}", "--lengths", "64,x"], "--lengths"),
    ("sign/train-hidden", ["train", "--out", "{new}", *TINY, "--hidden", "-4"], "--hidden"),
    ("sign/train-lr", ["train", "--out", "{new}", *TINY, "--lr", "-0.1"], "--lr"),
    ("sign/train-lr-nan", ["train", "--out", "{new}", *TINY, "--lr", "nan"], "--lr"),
    ("sign/train-threads", ["train", "--out", "{new}", *TINY, "--threads", "0"], "--threads"),
    (
        "sign/train-ckpt-batches",
        ["train", "--out", "{new}", *TINY, "--checkpoint-every-batches", "0"],
        "--checkpoint-every-batches",
    ),
    ("sign/run-sequences", ["run", "--out", "{new}", *TINY, "--sequences", "0"], "--sequences"),
    ("sign/record-max", ["record", "{run}", "--max-sequences", "-1"], "--max-sequences"),
    ("sign/compare-params", ["compare", "--out", "{new}", "--params", "0"], "--params"),
    ("sign/compare-workers", ["compare", "--out", "{new}", "--workers", "0"], "--workers"),
    ("sign/compare-threads", ["compare", "--out", "{new}", "--threads", "0"], "--threads"),
    ("sign/context-threads", ["context", "--out", "{new}", "--threads", "-1"], "--threads"),
    ("sign/bench-threads", ["bench", "--out", "{new}", "--threads", "0"], "--threads"),
    ("name/compare-executor", ["compare", "--out", "{new}", "--executor", "dask"], "--executor"),
    ("name/context-executor", ["context", "--out", "{new}", "--executor", "slurm"], "--executor"),
    (
        "type/compare-ray-address",
        ["compare", "--out", "{new}", "--executor", "ray", "--ray-address", "headnode"],
        "--ray-address",
    ),
    (
        "contradiction/compare-ray-address-local",
        ["compare", "--out", "{new}", "--ray-address", "auto"],
        "needs --executor ray",
    ),
    ("sign/bench-memory", ["bench", "--out", "{new}", "--max-memory", "-5"], "--max-memory"),
    ("sign/stream-block", ["stream", "{run}", "--block", "0"], "--block"),
    ("sign/fixedpoints-starts", ["fixedpoints", "{run}", "--starts", "0"], "--starts"),
    ("sign/fixedpoints-tol-q-nan", ["fixedpoints", "{run}", "--tol-q", "nan"], "--tol-q"),
    ("size/train-dropout", ["train", "--out", "{new}", *TINY, "--dropout", "1.5"], "dropout"),
    (
        "size/train-chrono",
        ["train", "--out", "{new}", *TINY, "--model", "lstm", "--chrono-tmax", "2"],
        "at least 3",
    ),
    (
        "contradiction/train-chrono-rnn",
        ["train", "--out", "{new}", *TINY, "--chrono-tmax", "50"],
        "gated cells",
    ),
    ("size/train-val-fraction", ["train", "--out", "{new}", *TINY, "--val-fraction", "1"], "val_fraction"),
    ("size/train-match-params", ["train", "--out", "{new}", *TINY, "--match-params", "10"], "no rnn width"),
    ("size/train-task-param", ["train", "--out", "{new}", *TINY, "--task-param", "seq_len=0"], "seq_len"),
    ("size/context-classes", ["context", "--out", "{new}", "--n-classes", "1"], "n_classes"),
    ("size/bench-lengths", ["bench", "--out", "{new}", "--lengths", "0"], "--lengths"),
    # -- unknown names and contradictory options
    ("name/train-task", ["train", "--out", "{new}", *TINY, "--task", "nope"], "choose from"),
    ("name/train-model", ["train", "--out", "{new}", *TINY, "--model", "cnn"], "choose from"),
    ("name/train-device", ["train", "--out", "{new}", *TINY, "--device", "tpu"], "device"),
    ("name/record-quantity", ["record", "{run}", "--quantities", "hidden,bogus"], "bogus"),
    ("name/compare-model", ["compare", "--out", "{new}", "--models", "rnn,cnn"], "cnn"),
    ("name/run-companion", ["run", "--out", "{new}", *TINY, "--companion", "cnn"], "unknown companion"),
    (
        "contradiction/run-companion-same",
        ["run", "--out", "{new}", *TINY, "--model", "gru", "--companion", "gru"],
        "must differ",
    ),
    ("name/context-gate-init", ["context", "--out", "{new}", "--gate-init", "xavier"], "xavier"),
    ("name/analyze-split", ["analyze", "{run}", "--split", "val"], "--split"),
    ("name/tasks-extra", ["tasks", "--fast"], "unrecognized arguments"),
    (
        "contradiction/train-sources",
        ["train", "--out", "{new}", *TINY, "--dataset", "GunPoint"],
        "only one of",
    ),
    (
        "contradiction/train-resume-out",
        ["train", "--resume", "{run}", "--out", "{new}"],
        "argument --out: not allowed with argument --resume",
    ),
    ("contradiction/train-no-out", ["train", *TINY], "one of the arguments --out --resume is required"),
    ("contradiction/run-no-out", ["run", *TINY], "--out"),
    (
        "contradiction/context-max-distance",
        ["context", "--out", "{new}", "--distances", "50", "--max-distance", "10"],
        "10",
    ),
    ("contradiction/train-existing-run", ["train", "--out", "{run}", *TINY], "already holds a run"),
    ("contradiction/train-non-run-dir", ["train", "--out", "{rows}", *TINY, "--overwrite"], "holds no run"),
    ("contradiction/resume-completed", ["train", "--resume", "{run}"], "already completed"),
    # -- malformed data files, every format
    ("data/ts-no-data-line", ["train", "--out", "{new}", *TINY[4:], "--data", "{ts_nodata}"], "X_TRAIN.ts"),
    ("data/ts-dimensions", ["train", "--out", "{new}", *TINY[4:], "--data", "{ts_dims}"], "dimensions"),
    (
        "data/ts-undeclared-label",
        ["train", "--out", "{new}", *TINY[4:], "--data", "{ts_label}"],
        "not listed",
    ),
    ("data/tsv-ragged", ["train", "--out", "{new}", *TINY[4:], "--data", "{tsv_ragged}"], "ragged row"),
    ("data/tsv-infinite", ["train", "--out", "{new}", *TINY[4:], "--data", "{tsv_inf}"], "infinite value"),
    ("data/txt-non-numeric", ["train", "--out", "{new}", *TINY[4:], "--data", "{txt_text}"], "non-numeric"),
    (
        "data/txt-one-class",
        ["train", "--out", "{new}", *TINY[4:], "--data", "{txt_oneclass}"],
        "only one class",
    ),
    (
        "data/txt-no-test-file",
        ["train", "--out", "{new}", *TINY[4:], "--data", "{txt_notest}"],
        "missing TEST",
    ),
    ("data/npz-missing-labels", ["train", "--out", "{new}", *TINY[4:], "--data", "{npz_noy}"], "y_test"),
    ("data/npz-pickled-objects", ["train", "--out", "{new}", *TINY[4:], "--data", "{npz_obj}"], "pickled"),
    ("data/npz-infinite", ["train", "--out", "{new}", *TINY[4:], "--data", "{npz_inf}"], "infinite value"),
    ("data/npz-not-a-zip", ["train", "--out", "{new}", *TINY[4:], "--data", "{npz_zip}"], "junk.npz"),
    ("data/npz-label-shape", ["train", "--out", "{new}", *TINY[4:], "--data", "{npz_shape}"], "y_train"),
    (
        "data/missing-path",
        ["train", "--out", "{new}", *TINY[4:], "--data", "{tmp}/nothing.npz"],
        "nothing.npz",
    ),
    (
        "data/two-data-sets",
        ["train", "--out", "{new}", *TINY[4:], "--data", "{two_sets}"],
        "several data sets",
    ),
    ("data/run-pipeline", ["run", "--out", "{new}", *TINY[4:], "--data", "{tsv_ragged}"], "ragged row"),
    # -- corrupted run directories, every command that reads one
    ("rundir/record-flipped-model", ["record", "{flipped}"], "model.safetensors is corrupt"),
    ("rundir/analyze-no-status", ["analyze", "{nostatus}"], "status.json is missing"),
    ("rundir/gradients-bad-config", ["gradients", "{badconfig}"], "config.json is corrupt"),
    ("rundir/stream-no-model", ["stream", "{nomodel}", "--input", "{rows_short}"], "no model.safetensors"),
    ("rundir/report-bad-config", ["report", "{badconfig}"], "config.json is corrupt"),
    ("rundir/fixedpoints-no-model", ["fixedpoints", "{nomodel}"], "no model.safetensors"),
    ("rundir/fixedpoints-bad-config", ["fixedpoints", "{badconfig}"], "config.json is corrupt"),
    ("rundir/resume-newer-format", ["train", "--resume", "{newer}"], "newer than this rnnscope"),
    ("rundir/resume-no-intact-checkpoint", ["train", "--resume", "{badckpt}"], "no intact checkpoint"),
    ("rundir/resume-not-a-run", ["train", "--resume", "{empty}"], "no run to resume"),
    ("rundir/analyze-not-a-run", ["analyze", "{empty}"], "not a run directory"),
    ("rundir/record-missing", ["record", "{tmp}/nowhere"], "nowhere"),
    # -- malformed stream rows
    ("stream/too-few-values", ["stream", "{run}", "--input", "{rows_short}"], "line 1"),
    ("stream/too-many-values", ["stream", "{run}", "--input", "{rows_long}"], "line 1"),
    ("stream/non-numeric", ["stream", "{run}", "--input", "{rows_text}"], "abc"),
    ("stream/nan", ["stream", "{run}", "--input", "{rows_nan}"], "line 1"),
    ("stream/empty-field", ["stream", "{run}", "--input", "{rows_empty_field}"], "line 1"),
    ("stream/id-column", ["stream", "{run}", "--input", "{rows_short}", "--id-column", "9"], "9"),
    ("stream/missing-input", ["stream", "{run}", "--input", "{tmp}/none.csv"], "none.csv"),
    # -- out-of-range analysis parameters
    ("range/analyze-max-sequences", ["analyze", "{run}", "--max-sequences", "0"], "--max-sequences"),
    ("range/gradients-epsilon-high", ["gradients", "{run}", "--epsilon", "1.5"], "epsilon"),
    ("range/gradients-epsilon-zero", ["gradients", "{run}", "--epsilon", "0"], "epsilon"),
    ("range/gradients-batch", ["gradients", "{run}", "--batch", "0"], "--batch"),
    ("name/fixedpoints-input", ["fixedpoints", "{run}", "--input", "median"], "choose from"),
    ("range/gradients-context", ["gradients", "{run}", "--context", "{tmp}/nosweep"], "nosweep"),
    (
        "range/context-distance",
        ["context", "--out", "{new}", "--distances", "0"],
        "distances must be positive",
    ),
    ("range/compare-lengths", ["compare", "--out", "{new}", "--lengths", "5,0"], "lengths must be positive"),
    # -- unwritable or full output locations
    ("output/train-proc", ["train", "--out", "/proc/rnnscope-run", *TINY], "not writable"),
    ("output/train-under-a-file", ["train", "--out", "{file}/run", *TINY], "a_file"),
    ("output/train-is-a-file", ["train", "--out", "{file}", *TINY], "not a directory"),
    ("output/run-proc", ["run", "--out", "/proc/rnnscope-run", *TINY], "rnnscope-run"),
    ("output/compare-proc", ["compare", "--out", "/proc/rnnscope-cmp", "--models", "rnn"], "rnnscope-cmp"),
    ("output/context-proc", ["context", "--out", "/proc/rnnscope-ctx", "--models", "rnn"], "rnnscope-ctx"),
    ("output/bench-proc", ["bench", "--out", "/proc/rnnscope-bench", "--models", "rnn"], "rnnscope-bench"),
    # -- import and activity (tests/test_import_model.py and tests/test_activity.py hold the rest)
    (
        "name/import-kind",
        ["import", "{file}", "--kind", "transformer", "--task", "evidence", "--out", "{new}"],
        "--kind",
    ),
    (
        "contradiction/import-two-sources",
        [
            "import",
            "{file}",
            "--kind",
            "lstm",
            "--task",
            "evidence",
            "--dataset",
            "GunPoint",
            "--out",
            "{new}",
        ],
        "exactly one of",
    ),
    (
        "data/import-not-weights",
        ["import", "{file}", "--kind", "lstm", "--task", "mixture", "--out", "{new}"],
        "unknown format",
    ),
    ("data/activity-no-activity", ["activity", "{npz_inf}", "--out", "{new}"], "has no array 'activity'"),
    ("data/activity-not-a-zip", ["activity", "{npz_zip}", "--out", "{new}"], "junk.npz"),
    ("sign/activity-dt", ["activity", "{npz_inf}", "--out", "{new}", "--dt", "-1"], "--dt"),
]


def _argv(row_argv: list[str], world: dict) -> list[str]:
    return [a.format(**world) for a in row_argv]


def _snapshot(root: Path) -> dict:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.is_dir())
        for p in root.rglob("*")
    }


def _problem_lines(err: str) -> list[str]:
    """stderr without argparse's usage block (its first line starts with 'usage:', the rest is indented)."""
    return [
        ln for ln in err.splitlines() if ln.strip() and not ln.startswith("usage:") and not ln.startswith(" ")
    ]


def _check(code, err: str, needle: str, before: dict, after: dict, status: int = 2) -> None:
    assert code == status, (code, err)
    assert "Traceback" not in err, err
    lines = _problem_lines(err)
    assert len(lines) == 1, err
    assert needle in lines[0], lines[0]
    assert after == before, {
        k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)
    }


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("row_id, argv, needle", TABLE, ids=[r[0] for r in TABLE])
def test_bad_input(tmp_path, good_run, capsys, monkeypatch, row_id, argv, needle):
    world = _setup(tmp_path, good_run)
    world["rows"] = tmp_path / "rows"
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    before = _snapshot(tmp_path)
    code = main(_argv(argv, world))  # argparse's status too: main() never raises SystemExit
    _, err = capsys.readouterr()
    _check(code, err, needle, before, _snapshot(tmp_path))


def test_the_table_covers_every_command_and_category():
    commands = {r[1][0] for r in TABLE}
    every = set(build_parser()._subparsers._group_actions[0].choices)
    assert every - commands <= {"datasets"}, every - commands  # `datasets` takes no input at all
    categories = {r[0].split("/")[0] for r in TABLE}
    assert categories == {
        "type",
        "sign",
        "size",
        "name",
        "contradiction",
        "data",
        "rundir",
        "stream",
        "range",
        "output",
    }
    assert len(TABLE) >= 40


SUBPROCESS_ROWS = ["sign/train-hidden", "data/npz-pickled-objects", "stream/non-numeric"]


def test_bad_input_in_real_processes(tmp_path, good_run):
    """The same promise from a fresh interpreter (the console script's path), a few rows at once."""
    rows = {r[0]: r for r in TABLE}
    worlds, procs = {}, {}
    for row_id in SUBPROCESS_ROWS:
        world = _setup(tmp_path / row_id.replace("/", "_"), good_run)
        worlds[row_id] = (world, _snapshot(world["tmp"]))
        procs[row_id] = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from rnnscope.cli import main; sys.exit(main())",
                *_argv(rows[row_id][1], world),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    for row_id, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        world, before = worlds[row_id]
        _check(proc.returncode, err, rows[row_id][2], before, _snapshot(world["tmp"]))


# ---------------------------------------------------------------- not bad input: the environment, and bugs


def test_a_full_disk_is_one_line_exit_1_and_nothing_written(tmp_path, good_run, capsys, monkeypatch):
    """An OSError of the environment (here ENOSPC from fsync) is neither bad input (2) nor a bug: one line,
    exit 1, no traceback, and the run directory being created is removed again."""
    world = _setup(tmp_path, good_run)
    monkeypatch.setattr(os, "fsync", _enospc)
    before = _snapshot(tmp_path)
    code = main(_argv(["train", "--out", "{new}", *TINY], world))
    _check(code, capsys.readouterr().err, "No space left on device", before, _snapshot(tmp_path), status=1)


def _raise(exc):
    def broken(*args, **kwargs):
        raise exc

    return broken


BUGS = [ValueError("an internal value error"), KeyError("an internal key"), TypeError("an internal type")]


@pytest.mark.parametrize("exc", BUGS, ids=[type(e).__name__ for e in BUGS])
def test_a_bug_is_not_reported_as_bad_input(monkeypatch, capsys, exc):
    """A stage that fails with anything but a UserInputError is a bug: main() lets it through (the
    interpreter prints its traceback and exits 1), however much it looks like a bad value."""
    import rnnscope.data

    monkeypatch.setattr(rnnscope.data, "list_datasets", _raise(exc))
    with pytest.raises(type(exc)):
        main(["datasets"])
    assert capsys.readouterr().err == ""


def test_a_user_input_error_from_a_stage_is_bad_input(monkeypatch, capsys):
    import rnnscope.data
    from rnnscope.errors import BadFile

    monkeypatch.setattr(rnnscope.data, "list_datasets", _raise(BadFile("x.ts: line 3: not a number")))
    assert main(["datasets"]) == 2
    assert capsys.readouterr().err == "rnnscope datasets: error: x.ts: line 3: not a number\n"


def test_a_bug_in_a_real_process_keeps_its_traceback_and_exits_1():
    script = (
        "import sys, rnnscope.data\n"
        "def broken(): raise KeyError('internal')\n"
        "rnnscope.data.list_datasets = broken\n"
        "from rnnscope.cli import main\n"
        "sys.exit(main(['datasets']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr and "KeyError: 'internal'" in proc.stderr
    assert "rnnscope datasets: error" not in proc.stderr


# ---------------------------------------------------------------- fuzzing

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_token = st.one_of(
    st.sampled_from(
        [
            "1",
            "-1",
            "0",
            "0.5",
            "nan",
            "inf",
            "?",
            "NaN",
            "1e400",
            "a",
            "",
            " ",
            "@data",
            "@dimensions",
            "@classLabel",
            "true",
            "@univariate",
            ":",
            ",",
        ]
    ),
    st.text(max_size=6),
)
_line = st.lists(_token, max_size=8).map(lambda ts: ",".join(ts))
_sep_line = st.tuples(st.lists(_token, max_size=6), st.sampled_from([",", "\t", " ", ":"])).map(
    lambda t: t[1].join(t[0])
)
_text = st.one_of(st.text(max_size=200), st.lists(st.one_of(_line, _sep_line), max_size=10).map("\n".join))


@FUZZ
@given(text=_text)
def test_fuzz_text_parsers_raise_only_data_format_errors(text):
    for parser in (parse_ts, parse_tsv, parse_txt):
        try:
            parser(text, "fuzz")
        except DataFormatError as err:
            assert "\n" not in str(err)


@FUZZ
@given(
    text=st.lists(_sep_line, min_size=1, max_size=8).map(
        lambda ls: "@classLabel true a b\n@data\n" + "\n".join(ls)
    )
)
def test_fuzz_ts_bodies(text):
    try:
        parse_ts(text, "fuzz")
    except DataFormatError as err:
        assert "\n" not in str(err)


_row = st.tuples(
    st.sampled_from(["1", "2", "a", "1.5", "", "nan"]),
    st.lists(st.sampled_from(["0.1", "-2", "nan", "NaN", "?", "", "3e5", "x"]), max_size=5),
).map(lambda t: " ".join([t[0], *t[1]]))


@FUZZ
@given(
    train=st.lists(_row, max_size=6).map("\n".join),
    test=st.lists(_row, max_size=4).map("\n".join),
    normalize=st.sampled_from(["none", "series", "channel"]),
    missing=st.sampled_from(["interpolate", "error"]),
    truncate=st.sampled_from([None, 1, 2]),
    downsample=st.sampled_from([None, 1, 3]),
)
def test_fuzz_parse_then_prepare_raises_only_data_format_errors(
    train, test, normalize, missing, truncate, downsample
):
    from rnnscope.data.prepare import prepare

    try:
        bundle = prepare(
            parse_txt(train, "TRAIN.txt"),
            parse_txt(test, "TEST.txt"),
            normalize=normalize,
            missing=missing,
            truncate=truncate,
            downsample=downsample,
        )
    except DataFormatError as err:
        assert "\n" not in str(err)
        return
    assert np.isfinite(bundle.train.x).all() and np.isfinite(bundle.test.x).all()


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


_arrays = st.sampled_from(
    [
        np.zeros((3, 4)),
        np.ones((2, 3, 2)),
        np.arange(3),
        np.array(["a", "b", "a"]),
        np.array([1.5, 2.0]),
        np.zeros((0, 4)),
        np.full((2, 2), np.nan),
        np.zeros(()),
        np.array([True, False]),
    ]
)
_npz_members = st.dictionaries(st.sampled_from(["X_train", "y_train", "X_test", "y_test", "other"]), _arrays)


@FUZZ
@given(members=_npz_members, cut=st.integers(0, 400), junk=st.binary(max_size=40))
def test_fuzz_npz_parser_raises_only_data_format_errors(members, cut, junk):
    data = _npz_bytes(members)
    for blob in (data, data[:cut], junk, data[:cut] + junk):
        try:
            parse_npz(io.BytesIO(blob), "fuzz.npz")
        except DataFormatError as err:
            assert "\n" not in str(err)


_value = st.one_of(
    st.sampled_from(
        [
            "1",
            "2",
            "3",
            "8",
            "0.5",
            "0.01",
            "0",
            "-1",
            "1e9",
            "nan",
            "inf",
            "x",
            "",
            "1,2",
            "rnn,gru",
            "seq_len=4",
            "drift=-1",
            "bogus=1",
            "cpu",
            "tpu",
        ]
    ),
    st.sampled_from(["1", "2", "4", "0.5"]),
    st.text(max_size=5),
)


def _option(data, action) -> list[str]:
    """One option with a value drawn for it: a choice (mostly) or anything from _value."""
    flag = next(o for o in action.option_strings if o.startswith("--"))
    if action.nargs == 0:
        return [flag]
    choices = list(action.choices or [])
    value = data.draw(st.one_of(st.sampled_from(choices), _value) if choices else _value)
    return [flag, value]


@FUZZ
@given(data=st.data())
def test_fuzz_cli_arguments_give_exit_2_or_a_valid_config(data, tmp_path, capsys):
    """Random options and values for every command are parsed; train's are validated into configs, and a
    command given a run directory that does not exist is run. The only outcomes: exit 2 with one line, or a
    valid config (never another exception). Nothing is trained or written."""
    from rnnscope.cli.train import configs_from_args
    from rnnscope.errors import UserInputError

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    command = data.draw(st.sampled_from(sorted(commands) + ["train"] * 6))  # train has the most options
    actions = [a for a in commands[command]._actions if a.option_strings and a.dest not in ("help", "out")]
    positional = any(not a.option_strings for a in commands[command]._actions)
    argv = [command] + ([str(tmp_path / "nowhere")] if positional else [])
    if any("--out" in a.option_strings for a in commands[command]._actions):
        argv += ["--out", str(tmp_path / "out")]
    for _ in range(data.draw(st.integers(0, 4))):
        if actions:
            argv += _option(data, data.draw(st.sampled_from(actions)))
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        assert e.code == 2
        capsys.readouterr()
        event("refused by argparse")
        return
    if command == "train" and not args.resume:
        try:
            configs_from_args(args)
            event("train: valid configs")
        except UserInputError as err:  # main reports it as one line, exit 2 (anything else is a bug)
            assert "\n" not in str(err).strip()
            event("train: refused by validation")
    elif positional:  # the run directory does not exist: refused before any work
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(_problem_lines(err)) == 1 and "Traceback" not in err
        event(f"{command}: refused by main")
    else:
        event(f"{command}: parsed")
    assert not (tmp_path / "out").exists() and not (tmp_path / "nowhere").exists()
