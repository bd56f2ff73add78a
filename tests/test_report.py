"""The HTML report without a browser: sections, missing data named with its command, bad directories."""

import base64
import re
import shutil

import numpy as np
import pytest

import rnnscope
from conftest import RUN_SECTIONS, run_cli
from rnnscope.io import RunFileError
from rnnscope.report import build_report, render_report
from rnnscope.report.explorer import MISSING, pick_sequences, quantize
from rnnscope.report.html import png_size
from rnnscope.report.sources import layer_index, read_table
from rnnscope.report.unit_sections import role_counts


@pytest.fixture(scope="module")
def bare_run(tmp_path_factory):
    """A trained run and nothing else (no recording, no analysis, no gradients)."""
    out = tmp_path_factory.mktemp("report") / "bare"
    rnnscope.train(
        out=out, task="mixture", task_params={"seq_len": 20}, hidden=8, epochs=2, n_train=96, n_test=48
    )
    return out


@pytest.fixture(scope="module")
def full_run(bare_run, tmp_path_factory):
    """The same run after record + analyze."""
    from rnnscope.stages.analyze import analyze_run

    out = tmp_path_factory.mktemp("report") / "full"
    shutil.copytree(bare_run, out)
    analyze_run(out, max_sequences=48)
    return out


def _copy(src, tmp_path, name="run"):
    dst = tmp_path / name
    shutil.copytree(src, dst)
    (dst / "report.html").unlink(missing_ok=True)
    return dst


def _section(html, sid):
    m = re.search(rf'<section id="{sid}"[^>]*>(.*?)</section>', html, re.DOTALL)
    assert m, f"section {sid} missing"
    return m.group(1)


# ---- building blocks --------------------------------------------------------------------------


def test_quantize_round_trips_to_three_decimals_and_marks_missing():
    a = np.array([[0.12345, -0.9996, np.nan], [1.0, -1.0, 0.0005]], dtype=np.float32)
    q = quantize(a)
    ints = np.frombuffer(base64.b64decode(q["b64"]), dtype="<i2").reshape(a.shape)
    assert q["scale"] == 1000.0 and q["shape"] == [2, 3]
    assert ints[0, 2] == MISSING
    back = ints / q["scale"]
    ok = np.isfinite(a)
    np.testing.assert_allclose(back[ok], a[ok], atol=5e-4 + 1e-7)
    big = quantize(np.array([100.0, -50.0]))  # beyond int16 at 3 decimals: a coarser scale, still exact-ish
    ints = np.frombuffer(base64.b64decode(big["b64"]), dtype="<i2")
    np.testing.assert_allclose(ints / big["scale"], [100.0, -50.0], rtol=1e-4)


def test_pick_sequences_takes_classes_in_turn():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 0, 2])
    idx = pick_sequences(labels, len(labels), 5)
    assert list(idx) == [0, 1, 4, 5, 6]  # 0, 4, 6 (one per class), then 1, 5 (second of each)
    assert list(pick_sequences(None, 3, 24)) == [0, 1, 2]


def test_role_counts_per_layer(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(
        "layer,unit,role\n0,0,integrator\n0,1,integrator\n0,2,silent\n1,0,oscillatory\nl1,1,silent\n"
    )
    header, rows = role_counts(read_table(path, "units", ("layer", "unit", "role")))
    assert header == ["layer", "integrator", "oscillatory", "silent", "total"]
    assert rows == [["layer 0", 2, 0, 1, 3], ["layer 1", 0, 1, 1, 2]]
    assert [layer_index(v) for v in (0, "1", "l2", "layer 3", "x")] == [0, 1, 2, 3, None]


# ---- a run's report ---------------------------------------------------------------------------


def test_bare_run_names_the_missing_commands(bare_run, tmp_path, capsys):
    run = _copy(bare_run, tmp_path)
    code, out, err = run_cli(["report", str(run)], capsys)
    assert code == 0, err
    assert f"report: {run / 'report.html'}" in out
    html = (run / "report.html").read_text()
    for sid in RUN_SECTIONS:
        _section(html, sid)
    assert f"rnnscope record {run}" in _section(html, "explorer")
    for sid in ("heatmap", "roles", "pca"):
        assert f"rnnscope analyze {run}" in _section(html, sid)
    for sid in ("gradient-flow", "learning", "context"):
        assert f"rnnscope gradients {run}" in _section(html, sid)
    assert "no gates" in _section(html, "highways")  # a tanh RNN: a statement, not a missing file
    training = _section(html, "training")
    assert 'data-figure="training_curves"' in training and "(training_curves.png)" in training
    assert "89.2 %" in training  # the task ceiling of mixture at seq_len 20, from metrics.json


def test_full_run_report_has_every_part(full_run):
    html = render_report(full_run)
    for sid in RUN_SECTIONS:
        _section(html, sid)
    for key in ("training_curves", "heatmap", "pca", "examples", "tau"):
        assert f'data-figure="{key}"' in html, key
    # spectra only where a unit oscillates; otherwise a sentence instead of an empty figure
    rows = (full_run / "analysis" / "units.csv").read_text().splitlines()
    n_osc = sum(",oscillatory," in row for row in rows)
    assert ('data-figure="psd"' in html) == (n_osc > 0)
    assert ("No spectra: no unit of this run is oscillatory" in html) == (n_osc == 0)
    assert 'id="explorer-data"' in html and 'id="role-table"' in html and 'class="sortable"' in html
    assert "Not available" not in _section(html, "explorer") + _section(html, "roles")
    # every figure is an embedded PNG, every link to numbers a data URL or a relative file
    imgs = re.findall(r'<img src="([^"]+)"', html)
    assert len(imgs) >= 5 + (n_osc > 0) and all(src.startswith("data:image/png;base64,") for src in imgs)
    for src in imgs:
        w, h = png_size(base64.b64decode(src.split(",", 1)[1]))
        assert w > 0 and h > 0
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html
    # each figure has a caption and a download of its numbers
    figures = re.findall(r"<figure.*?</figure>", html, re.DOTALL)
    bad = [f[:400] for f in figures if "<figcaption>" not in f or 'download="' not in f]
    assert not bad, bad


def test_explorer_data_matches_the_recording(full_run):
    import json

    from rnnscope.recording import Recording

    html = render_report(full_run)
    text = re.search(
        r'<script type="application/json" id="explorer-data">(.*?)</script>', html, re.DOTALL
    ).group(1)
    data = json.loads(text)
    rec = Recording(full_run / "recording")
    idx = [s["index"] for s in data["seqs"]]
    pos = [int(np.flatnonzero(rec.read("index") == i)[0]) for i in idx]
    labels = rec.read("labels")
    assert np.bincount(labels, minlength=4).min() >= 6  # every class can fill its share
    assert len(idx) == 24 and list(np.bincount(labels[pos], minlength=4)) == [6, 6, 6, 6]  # classes in turn
    for layer in data["layers"]:
        key = layer["key"].replace("_", ".")
        got = (
            np.frombuffer(base64.b64decode(layer["b64"]), dtype="<i2").reshape(layer["shape"])
            / layer["scale"]
        )
        np.testing.assert_allclose(got, rec.read(key, np.array(pos)), atol=5e-4 + 1e-7)
        units = read_table(full_run / "analysis" / "units.csv", "units").dicts()
        roles = {(int(u["layer"]), u["unit"]): u["role"] for u in units}
        assert [u["role"] for u in layer["units"]] == [
            roles[(int(key[-1]), u["unit"])] for u in layer["units"]
        ]


def test_missing_figure_is_drawn_from_its_data(full_run, tmp_path):
    run = _copy(full_run, tmp_path)
    for stem in ("training_curves", "analysis/unit_heatmap"):
        (run / f"{stem}.png").unlink()
    html = render_report(run)
    for key in ("training_curves", "heatmap"):
        fig = re.search(rf'<figure class="fig" data-figure="{key}">.*?</figure>', html, re.DOTALL).group(0)
        assert "drawn for this report from the saved data" in fig
    assert not (run / "training_curves.png").exists()  # the report only reads the run directory


def test_pipeline_notes_reach_the_sections(bare_run, tmp_path):
    from rnnscope.io import write_json

    run = _copy(bare_run, tmp_path)
    write_json(
        run / "pipeline.json",
        {
            "stages": [
                {"name": "train", "status": "done", "seconds": 1.0, "note": None},
                {
                    "name": "analyze",
                    "status": "failed",
                    "seconds": 0.1,
                    "note": "ValueError: too few sequences",
                },
            ]
        },
    )
    html = render_report(run)
    assert "too few sequences" in _section(html, "roles")
    assert "Pipeline stages" in _section(html, "run")


# ---- bad directories ----------------------------------------------------------------------------


def _corrupt_config(run):
    (run / "config.json").write_text("{ not json")


def _corrupt_units(run):
    (run / "analysis" / "units.csv").write_bytes(b"layer,unit,role\n0,1\n\x00\x01")


def _corrupt_png(run):
    (run / "training_curves.png").write_bytes(b"GIF89a not a png")


def _corrupt_manifest(run):
    (run / "recording" / "manifest.json").write_text('{"format_version": 1, "kind": "nope"}')


def _corrupt_arrays(run):
    (run / "analysis" / "training_curves.png").unlink(missing_ok=True)
    (run / "analysis" / "unit_heatmap.png").unlink()
    (run / "analysis" / "arrays.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}")


def _foreign_layout(run):
    (run / "gradients").mkdir()
    (run / "gradients" / "summary.json").write_text('{"format_version": 1, "per_layer": [1, 2]}')


@pytest.mark.parametrize(
    "damage, needle",
    [
        (_corrupt_config, "config.json"),
        (_corrupt_units, "units.csv"),
        (_corrupt_png, "training_curves.png"),
        (_corrupt_manifest, "manifest.json"),
        (_corrupt_arrays, "arrays.safetensors"),
        (_foreign_layout, "expected layout"),
    ],
)
def test_corrupt_directory_one_line_exit_2_no_report(full_run, tmp_path, capsys, damage, needle):
    run = _copy(full_run, tmp_path)
    damage(run)
    code, _, err = run_cli(["report", str(run)], capsys)
    assert code == 2
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (run / "report.html").exists()
    assert not list(run.glob(".report.html*"))  # no temporary file left either


def test_not_a_run_directory(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "file.txt").write_text("x")
    for path, needle in (
        (empty, "neither a run directory"),
        (tmp_path / "nope", "does not exist"),
        (tmp_path / "file.txt", "not a directory"),
    ):
        code, _, err = run_cli(["report", str(path)], capsys)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not (empty / "report.html").exists()
    with pytest.raises(RunFileError):
        build_report(empty)


# ---- a comparison directory -------------------------------------------------------------------


def _comparison_dir(tmp_path):
    d = tmp_path / "cmp"
    d.mkdir()
    rows = ["model,seed,length,params,test_acc,status"]
    for model, acc in (("rnn", (0.9, 0.5)), ("gru", (0.95, 0.93))):
        for seed in (0, 1):
            for length, a in zip((20, 200), acc, strict=True):
                rows.append(f"{model},{seed},{length},1000,{a + 0.01 * seed},finished")
    (d / "results.csv").write_text("\n".join(rows) + "\n")
    cost = ["model,length,train_step_seconds,state_bytes,status"]
    for t in (64, 256, 1024):  # planted power laws: rnn ~ T, transformer ~ T^2; state constant vs linear
        cost.append(f"rnn,{t},{1e-5 * t},512,ok")
        cost.append(f"transformer,{t},{1e-7 * t * t},{64 * t},ok")
    (d / "cost.csv").write_text("\n".join(cost) + "\n")
    # what the bench stage writes next to cost.csv: the fitted slopes (the report fits nothing itself)
    from rnnscope.costs import read_cost_csv, stopped_points, summarize
    from rnnscope.rundir import BenchSummary, write_bench_summary

    measured = read_cost_csv(d / "cost.csv")
    write_bench_summary(d, BenchSummary({}, stopped_points(measured), **summarize(measured)))
    return d


def test_comparison_report(tmp_path, capsys):
    d = _comparison_dir(tmp_path)
    code, _, err = run_cli(["report", str(d)], capsys)
    assert code == 0, err
    html = (d / "report.html").read_text()
    for sid in ("comparison", "accuracy", "overlays", "cost", "streaming"):
        _section(html, sid)
    acc = _section(html, "accuracy")
    assert (
        "0.905" in acc and "0.935" in acc
    )  # seed means of the planted accuracies (gru at length 200: 0.93, 0.94)
    cost = _section(html, "cost")
    slopes = re.search(r"Fitted log-log slopes.*?</table>", cost, re.DOTALL).group(0)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", slopes)
    assert cells[0] == "rnn" and cells[3] == "transformer"
    np.testing.assert_allclose([float(c) for c in cells[1:3] + cells[4:6]], [1, 0, 2, 1], atol=1e-3)
    assert "rnnscope compare" in _section(html, "overlays")  # no figures: named with the command


def test_comparison_with_only_cost_names_compare(tmp_path):
    d = _comparison_dir(tmp_path)
    (d / "results.csv").unlink()
    html = render_report(d)
    assert "rnnscope compare" in _section(html, "accuracy") and "rnnscope context" in _section(
        html, "accuracy"
    )
    assert "Not available" not in _section(html, "cost")
