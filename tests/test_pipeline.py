"""`rnnscope run`: train → record → analyse → gradients → report, and what happens when a stage cannot run."""

import json
import shutil

import pytest

from conftest import run_cli
from rnnscope.cli import main
from rnnscope.report import build_report
from rnnscope.stages import pipeline

TINY = [
    "--task",
    "mixture",
    "--task-param",
    "seq_len=20",
    "--n-train",
    "96",
    "--n-test",
    "48",
    "--hidden",
    "8",
    "--epochs",
    "2",
    "--quiet",
]


@pytest.fixture(scope="module")
def piped(tmp_path_factory):
    """One `rnnscope run` of a tiny model: (run dir, exit code, stdout, stderr)."""
    out = tmp_path_factory.mktemp("pipeline") / "run"
    import contextlib
    import io

    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        code = main(["run", "--out", str(out), "--sequences", "48", *TINY])
    return out, code, o.getvalue(), e.getvalue()


def test_run_does_every_stage_and_prints_the_report_path(piped):
    out, code, stdout, stderr = piped
    assert code == 0, stderr
    assert "test accuracy" in stdout  # the results table
    assert "reference" not in stdout  # hidden 8 is not the demo: its reference band does not apply
    assert stdout.strip().splitlines()[-1] == f"report: {out / 'report.html'}"
    log = json.loads((out / "pipeline.json").read_text())
    assert [s["name"] for s in log["stages"]] == list(pipeline.STAGES)
    status = {s["name"]: s["status"] for s in log["stages"]}
    assert status["train"] == status["record"] == status["analyze"] == status["report"] == "done"
    assert status["gradients"] in ("done", "skipped")
    assert all(s["seconds"] >= 0 for s in log["stages"])
    assert (out / "recording" / "manifest.json").exists() and (out / "analysis" / "units.csv").exists()
    html = (out / "report.html").read_text()
    assert 'id="explorer-data"' in html and "Pipeline stages" in html
    assert log["sequences"] == 48


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--epochs", "0"], "--epochs"),
        (["--task", "nope"], "choose from"),
        (["--sequences", "0"], "--sequences"),
        (["--model", "cnn"], "choose from"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(tmp_path, capsys, argv, needle):
    out = tmp_path / "run"
    code, _, err = run_cli(["run", "--out", str(out), *TINY, *argv], capsys)
    assert code == 2 and needle in err and "Traceback" not in err
    assert not out.exists()


def test_out_is_required(capsys):
    code, _, err = run_cli(["run", *TINY], capsys)
    assert code == 2 and "--out" in err


def test_existing_run_needs_overwrite(piped, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(piped[0], out)
    before = sorted(p.name for p in out.iterdir())
    code, _, err = run_cli(["run", "--out", str(out), *TINY], capsys)
    assert code == 2 and "--overwrite" in err
    assert sorted(p.name for p in out.iterdir()) == before


def test_failing_stage_is_reported_and_the_report_still_built(piped, tmp_path, monkeypatch):
    out = tmp_path / "run"
    shutil.copytree(piped[0], out)
    for name in ("analysis", "recording"):
        shutil.rmtree(out / name)

    def broken(run_dir, sequences):
        raise ValueError("planted failure\nsecond line")

    monkeypatch.setattr(pipeline, "_analyze", broken)
    stages = pipeline.run_stages(out, sequences=48)
    by_name = {s.name: s for s in stages}
    assert by_name["record"].status == "done"
    assert (
        by_name["analyze"].status == "failed"
        and by_name["analyze"].note == "ValueError: planted failure second line"
    )
    html = build_report(out).read_text()
    roles = html[html.index('<section id="roles"') :]
    roles = roles[: roles.index("</section>")]
    assert "planted failure" in roles and f"rnnscope analyze {out}" in roles


def test_missing_library_skips_its_stage(piped, tmp_path, monkeypatch):
    out = tmp_path / "run"
    shutil.copytree(piped[0], out)
    monkeypatch.setattr(pipeline, "_library", lambda module, name: None)
    stages = {s.name: s for s in pipeline.run_stages(out, sequences=48)}
    assert stages["analyze"].status == "skipped" and "rnnscope.stages.analyze" in stages["analyze"].note
    assert stages["gradients"].status == "skipped"


def test_cli_exit_1_when_a_stage_failed(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(
        pipeline, "_record", lambda run_dir, sequences: (_ for _ in ()).throw(OSError("disk gone"))
    )
    out = tmp_path / "run"
    code, stdout, err = run_cli(["run", "--out", str(out), *TINY, "--companion", "none"], capsys)
    assert code == 1
    assert "record stage failed: OSError: disk gone" in err
    assert (out / "report.html").exists() and f"report: {out / 'report.html'}" in stdout
