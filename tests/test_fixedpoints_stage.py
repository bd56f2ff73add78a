"""`rnnscope fixedpoints RUN_DIR`: the stage's files, the summary's sentences, the report section, and bad
input refused with one line, exit 2 and nothing written."""

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import rnnscope
from conftest import run_cli
from rnnscope.cli import main
from rnnscope.cli.fixedpoints import INPUT_MODES as CLI_MODES
from rnnscope.dynamics import FixedPoints, fixed_points
from rnnscope.dynamics.data import INPUT_MODES
from rnnscope.io import RunFileError, read_json, write_json
from rnnscope.report import render_report
from rnnscope.rundir import FixedPointSummary, RunPaths, read_arrays, read_fixed_point_summary
from rnnscope.stages.fixedpoints import fixed_point_report


@pytest.fixture(scope="module")
def flipflop_run(tmp_path_factory):
    """A trained 3-bit flip-flop (16-unit tanh RNN, one layer), its fixed points found by the CLI."""
    out = tmp_path_factory.mktemp("fixedpoints") / "run"
    rnnscope.train(
        out=out,
        task="flipflop",
        task_params={"n_bits": 3},
        n_train=1000,
        n_test=200,
        hidden=16,
        layers=1,
        epochs=20,
        lr=1e-2,
        seed=0,
        device="cpu",
    )
    return out


@pytest.fixture(scope="module")
def found(flipflop_run, tmp_path_factory):
    """(run dir, exit code, stdout, stderr) of `rnnscope fixedpoints RUN --starts 256`."""
    out = tmp_path_factory.mktemp("fixedpoints") / "run"
    shutil.copytree(flipflop_run, out)
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        code = main(["fixedpoints", str(out), "--starts", "256", "--seed", "1"])
    return out, code, o.getvalue(), e.getvalue()


def _section(html, sid):
    m = re.search(rf'<section id="{sid}"[^>]*>(.*?)</section>', html, re.DOTALL)
    assert m, f"section {sid} missing"
    return m.group(1)


@pytest.mark.slow
def test_the_command_writes_points_summary_and_figures(found):
    out, code, stdout, stderr = found
    assert code == 0, stderr
    paths = RunPaths(out).fixedpoints
    fp = FixedPoints.load(paths.points())
    s = read_fixed_point_summary(paths.summary)
    # the classic result: 8 stable points at the cube's corners, saddles between them
    assert s.counts()["stable"] == 8 == fp.counts()["stable"]
    assert s.counts() == {k: v for k, v in fp.counts().items()} and s.counts()["unstable"] >= 6
    assert (fp.q[fp.fixed] <= 1e-12).all() and s.systems[0].max_q == pytest.approx(fp.meta["max_q"])
    assert len(s.systems[0].points) == len(fp) and s.starts == 256 and s.seed == 1
    assert s.lyapunov["full"] and len(s.lyapunov["exponents"]) == 16 and s.lyapunov["largest"] < 0
    assert stdout.splitlines()[0].startswith("zero input: 8 stable and ")
    assert "largest Lyapunov exponent" in stdout and stdout.strip().endswith(str(paths.dir))
    for key in ("points", "eigenvalues", "lyapunov"):
        assert paths.figure(key).png.exists() and paths.figure(key).svg.exists()
    arrays = read_arrays(paths.arrays, "fixed point arrays")
    assert arrays["points"].shape == (len(fp), 2) and arrays["eigenvalues_real"].shape == (len(fp), 16)
    assert (arrays["point_kind"] == 0).sum() == 8


@pytest.mark.slow
def test_the_summary_keeps_its_json_and_names_a_malformed_file(found, tmp_path):
    obj = read_json(RunPaths(found[0]).fixedpoints.summary, "fixed point summary")
    s = FixedPointSummary.from_json(obj)
    assert s.to_json() == {k: v for k, v in obj.items() if k != "format_version"}
    assert s.top_line().startswith("8 stable, ") and "largest Lyapunov exponent" in s.top_line()
    broken = tmp_path / "summary.json"
    write_json(broken, {**obj, "systems": [{**obj["systems"][0], "max_q": "small"}]})
    with pytest.raises(RunFileError, match="max_q"):
        read_fixed_point_summary(broken)


@pytest.mark.slow
def test_the_report_section_shows_three_figures_with_computed_captions(found, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(found[0], out)
    s = read_fixed_point_summary(RunPaths(out).fixedpoints.summary)
    html = _section(render_report(out), "fixed-points")
    for key in ("fixed_points", "eigenvalues", "lyapunov_spectrum"):
        assert f'data-figure="{key}"' in html
    c = s.counts()
    assert f"The {c['fixed']} fixed point{'' if c['fixed'] == 1 else 's'} ({c['stable']} stable" in html
    assert f"the largest is {s.lyapunov['largest']:+.3g}" in html
    # a missing figure is redrawn from arrays.safetensors
    RunPaths(out).fixedpoints.figure("eigenvalues").png.unlink()
    html = _section(render_report(out), "fixed-points")
    assert 'data-figure="eigenvalues"' in html and "drawn for this report" in html


@pytest.mark.slow
def test_a_run_without_fixed_points_names_the_command(flipflop_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(flipflop_run, out)
    shutil.rmtree(RunPaths(out).fixedpoints.dir, ignore_errors=True)
    html = _section(render_report(out), "fixed-points")
    assert f"rnnscope fixedpoints {out}" in html and "data-figure" not in html


@pytest.mark.slow
def test_class_mean_inputs_give_one_points_file_per_class(flipflop_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(flipflop_run, out)
    s = fixed_point_report(out, input_mode="class-mean", starts=64, sequences=64)
    paths = RunPaths(out).fixedpoints
    assert len(s.systems) >= 2 and all(p.class_index is not None for p in s.systems)
    for system in s.systems:
        fp = FixedPoints.load(paths.dir / system.file)
        assert system.counts == fp.counts()
        np.testing.assert_allclose(fp.inputs, system.inputs)
    assert not paths.points().exists()


def test_the_cli_offers_the_library_input_modes():
    assert CLI_MODES == INPUT_MODES


def test_fixed_points_is_exported_lazily():
    assert rnnscope.fixed_points is fixed_points and "fixed_points" in dir(rnnscope)


# ---- bad input: one line, exit 2, nothing written ---------------------------------------------------
@pytest.fixture(scope="module")
def transformer_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fixedpoints") / "tf"
    rnnscope.train(
        out=out, model="transformer", task="flipflop", hidden=8, layers=1, epochs=1, n_train=48, n_test=24
    )
    return out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--starts", "0"], "--starts"),
        (["--starts", "-3"], "--starts"),
        (["--tol-q", "0"], "--tol-q"),
        (["--tol-q", "-1e-12"], "--tol-q"),
        (["--tol-q", "nan"], "--tol-q"),
        (["--tol-q", "inf"], "--tol-q"),
        (["--input", "median"], "choose from"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(flipflop_run, tmp_path, capsys, argv, needle):
    out = tmp_path / "run"
    shutil.copytree(flipflop_run, out)
    shutil.rmtree(RunPaths(out).fixedpoints.dir, ignore_errors=True)
    before = sorted(p.name for p in out.iterdir())
    code, _, err = run_cli(["fixedpoints", str(out), *argv], capsys)
    assert code == 2 and needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_transformer_run_is_refused(transformer_run, capsys):
    before = sorted(p.name for p in transformer_run.iterdir())
    code, _, err = run_cli(["fixedpoints", str(transformer_run)], capsys)
    assert code == 2 and "no recurrent state" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in transformer_run.iterdir()) == before
    with pytest.raises(ValueError, match="no recurrent state"):
        fixed_point_report(transformer_run)
    assert sorted(p.name for p in transformer_run.iterdir()) == before


def test_a_run_without_a_model_is_refused(flipflop_run, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(flipflop_run, out)
    shutil.rmtree(RunPaths(out).fixedpoints.dir, ignore_errors=True)
    RunPaths(out).model.unlink()
    before = sorted(p.name for p in out.iterdir())
    code, _, err = run_cli(["fixedpoints", str(out)], capsys)
    assert code == 2 and "model.safetensors" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == before
    code, _, err = run_cli(["fixedpoints", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"starts": 0}, "starts"),
        ({"tol_q": float("nan")}, "tol_q"),
        ({"tol_q": -1.0}, "tol_q"),
        ({"input_mode": "median"}, "input mode"),
        ({"sequences": 0}, "sequences"),
    ],
)
def test_the_stage_validates_before_loading(tmp_path, kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        fixed_point_report(tmp_path / "not-a-run", **kwargs)
    assert not (tmp_path / "not-a-run").exists()


def test_a_transformer_config_is_refused_before_torch_is_imported(tmp_path):
    run = tmp_path / "tf"
    run.mkdir()
    write_json(RunPaths(run).config, {"model": {"kind": "transformer"}, "data": {"task": "flipflop"}})
    script = (
        "import json, sys\n"
        "from rnnscope.cli import main\n"
        "code = main(['fixedpoints', sys.argv[1]])\n"
        "print(json.dumps({'code': code, 'torch': 'torch' in sys.modules}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(run)], check=False, capture_output=True, text=True, timeout=60
    )
    assert json.loads(proc.stdout) == {"code": 2, "torch": False}, proc.stderr
    assert "no recurrent state" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in run.iterdir()) == ["config.json"]
