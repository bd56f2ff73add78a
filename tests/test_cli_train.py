import os

import pytest

from conftest import run_cli

TINY = [
    "--task",
    "evidence",
    "--task-param",
    "seq_len=8",
    "--n-train",
    "64",
    "--n-test",
    "32",
    "--hidden",
    "8",
    "--epochs",
    "1",
    "--quiet",
]


def _tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else None


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--task", "nope"], "choose from"),
        (["--model", "cnn"], "choose from"),
        (["--epochs", "0"], "--epochs"),
        (["--hidden", "-4"], "--hidden"),
        (["--layers", "0"], "--layers"),
        (["--lr", "0"], "--lr"),
        (["--lr", "abc"], "--lr"),
        (["--batch-size", "0"], "--batch-size"),
        (["--n-train", "0"], "--n-train"),
        (["--val-fraction", "1.5"], "val_fraction"),
        (["--task", "evidence", "--dataset", "GunPoint"], "only one of"),
        (["--task-param", "bogus=1"], "parameters"),
        (["--task-param", "seq_len=0"], "seq_len"),
        (["--device", "tpu"], "device"),
        (["--match-params", "10"], "no rnn width"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, argv, needle):
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "--out", str(out), *TINY, *argv], capsys)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("rnnscope train: error: "), err  # one line, no usage block
    assert not out.exists()


def test_existing_run_refused_then_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "--out", str(out), *TINY], capsys)
    assert code == 0, err
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    code, _, err = run_cli(["train", "--out", str(out), *TINY], capsys)
    assert code == 2 and "already holds a run" in err and "--overwrite" in err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # nothing touched
    code, stdout, _ = run_cli(["train", "--out", str(out), *TINY, "--overwrite"], capsys)
    assert code == 0 and "test accuracy" in stdout and f"run directory: {out}" in stdout


@pytest.mark.parametrize("where", ["ro", "/proc/rnnscope-run"])
def test_unwritable_output_directory(tmp_path, capsys, where):
    if where == "ro":  # a read-only directory (root ignores modes, so the /proc case covers root)
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        target = ro / "run"
    else:
        target = where
    code, _, err = run_cli(["train", "--out", str(target), *TINY], capsys)
    if os.geteuid() == 0 and where == "ro":
        assert code == 0  # root may write there: the run succeeds
    else:
        assert code == 2 and "not writable" in err, err


def test_output_path_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("keep me")
    code, _, err = run_cli(["train", "--out", str(f / "run"), *TINY], capsys)
    assert code == 2 and "Traceback" not in err
    code, _, err = run_cli(["train", "--out", str(f), *TINY], capsys)
    assert code == 2 and "not a directory" in err
    assert f.read_text() == "keep me"


def test_non_run_directory_is_never_cleared(tmp_path, capsys):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("precious")
    code, _, err = run_cli(["train", "--out", str(d), *TINY, "--overwrite"], capsys)
    assert code == 2 and "holds no run" in err
    assert (d / "notes.txt").read_text() == "precious"


def test_tasks_lists_every_task(capsys):
    from rnnscope.tasks import TASKS

    code, out, _ = run_cli(["tasks"], capsys)
    assert code == 0
    for name in TASKS:
        assert name in out


def test_task_parameters_giving_non_finite_inputs_are_bad_input(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "--out", str(out), *TINY, "--task-param", "noise=1e39"], capsys)
    assert code == 2 and "non-finite inputs" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
