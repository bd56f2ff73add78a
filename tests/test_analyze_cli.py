"""`rnnscope analyze RUN_DIR`: records if needed, writes units.csv, summary.json, arrays and figures;
bad input ends with one line and exit status 2 and leaves the run directory as it was."""

import csv
import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

import rnnscope
from rnnscope import rundir
from rnnscope.analysis import ROLES
from rnnscope.cli import main
from rnnscope.io import load_tensors, save_tensors
from rnnscope.recording import Recording, RecordingWriter
from rnnscope.unitreport import CSV_COLUMNS, analyze_recording

FIGURES = ("unit_traces", "unit_heatmap", "pca_trajectories", "oscillatory_psd", "tau_histogram")


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: a second intra-op thread only adds contention on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _train(out, model, seq_len=20, **kw):
    torch.manual_seed(0)
    rnnscope.train(
        out=out,
        task="evidence",
        task_params={"seq_len": seq_len},
        n_train=64,
        n_test=40,
        hidden=8,
        layers=2,
        model=model,
        epochs=1,
        seed=0,
        device="cpu",
        heads=2,
        **kw,
    )
    return out


@pytest.fixture(scope="module")
def rnn_run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("a") / "rnn", "rnn")


def _listing(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if ".lock" not in p.name)


def test_analyze_writes_every_output(rnn_run, capsys):
    assert main(["analyze", str(rnn_run)]) == 0
    out = capsys.readouterr().out
    assert "40 test sequences x 20 steps; evidence: evidence_0, evidence_1, evidence_2" in out
    assert out.count("\n") == 6  # header line, network dynamics, table header, 2 layers, path
    assert "network dynamics: free runs of 60 steps with the input removed" in out
    a = rnn_run / "analysis"
    has_osc = ",oscillatory," in (a / "units.csv").read_text()
    for stem in FIGURES:
        if stem == "oscillatory_psd" and not has_osc:  # no empty figure
            assert not (a / f"{stem}.png").exists()
            continue
        assert (a / f"{stem}.png").stat().st_size > 1000 and (a / f"{stem}.svg").exists()
    with open(a / "units.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS and CSV_COLUMNS[:7] == (
        "layer",
        "unit",
        "role",
        "tau",
        "peak_freq",
        "selectivity",
        "saturation",
    )
    assert [(r["layer"], int(r["unit"])) for r in rows] == [(str(k), u) for k in range(2) for u in range(8)]
    assert {r["role"] for r in rows} <= set(ROLES)
    assert all(0 <= float(r["saturation"]) <= 1 and 0 <= float(r["selectivity"]) <= 1 for r in rows)
    assert all(float(r["memory"]) >= 0 for r in rows)  # the impulse was probed
    s = json.loads((a / "summary.json").read_text())
    assert s["format_version"] == 1 and s["split"] == "test" and s["sequences_analyzed"] == 40
    for layer in ("0", "1"):
        assert sum(s["role_counts"][layer].values()) == 8 and set(s["role_counts"][layer]) == set(ROLES)
        evr = s["pca_explained_variance_ratio"][layer]
        assert len(evr) == 8 and abs(sum(evr) - 1) < 1e-6 and evr == sorted(evr, reverse=True)
        assert 1 <= s["participation_ratio"][layer] <= 8
    arrays = load_file(str(a / "arrays.safetensors"))
    assert arrays["activity.l1"].shape == (4, 20, 8)  # the first sequence of each class, then the first
    assert sorted(arrays["example_labels"][:3].tolist()) == [0, 1, 2]
    assert arrays["pca.class_means.l0"].shape == (3, 20, 3) and arrays["pca.proj.l0"].shape == (32, 20, 3)
    osc = {int(r["unit"]) for r in rows if r["layer"] == "1" and r["role"] == "oscillatory"}
    assert arrays["psd.l1"].shape == (len(arrays["psd.freqs"]), min(8, len(osc)))
    assert set(arrays["psd_units.l1"].tolist()) <= osc and arrays["impulse.l0"].shape[1] == 8
    assert sorted(arrays["order.l0"].tolist()) == list(range(8))
    rec = Recording(rnn_run / "recording").verify()
    assert rec.n_sequences == 40 and rec.source["split"] == "test"
    assert not list(rnn_run.glob(".analyze-*"))


def test_analyze_reuses_a_matching_recording_and_rerecords_on_request(rnn_run):
    manifest = rnn_run / "recording" / "manifest.json"
    stamp = manifest.stat().st_mtime_ns, manifest.stat().st_ino
    assert main(["analyze", str(rnn_run), "--max-sequences", "20", "--no-figures"]) == 0
    assert (manifest.stat().st_mtime_ns, manifest.stat().st_ino) == stamp  # reused
    assert json.loads((rnn_run / "analysis" / "summary.json").read_text())["sequences_analyzed"] == 20
    assert not list((rnn_run / "analysis").glob("*.png"))
    assert main(["analyze", str(rnn_run), "--max-sequences", "20", "--rerecord", "--no-figures"]) == 0
    assert manifest.stat().st_ino != stamp[1]
    assert main(["record", str(rnn_run), "--quantities", "hidden"]) == 0  # lacks inputs and labels
    assert main(["analyze", str(rnn_run), "--split", "train", "--max-sequences", "25", "--no-figures"]) == 0
    rec = Recording(rnn_run / "recording")
    assert rec.source["split"] == "train" and "inputs" in rec and rec.n_sequences == 25


def test_analyze_a_transformer(tmp_path):
    run = _train(tmp_path / "tf", "transformer")
    assert main(["analyze", str(run), "--no-figures"]) == 0
    s = json.loads((run / "analysis" / "summary.json").read_text())
    assert s["layers"]["1"]["activity"] == "residual.l1" and s["layers"]["0"]["units"] == 8
    with open(run / "analysis" / "units.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 16 and all(np.isfinite(float(r["memory"])) for r in rows)


def _fails(argv, capsys, run_dir, message):
    before = _listing(run_dir)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert _listing(run_dir) == before  # nothing written, no temporary directory left
    return err


def test_bad_run_directories(tmp_path, rnn_run, capsys):
    (tmp_path / "empty").mkdir()
    _fails(
        ["analyze", str(tmp_path / "empty")],
        capsys,
        tmp_path / "empty",
        "is not a run directory (no config.json)",
    )
    shutil.copytree(rnn_run, tmp_path / "untrained", ignore=shutil.ignore_patterns("model.safetensors"))
    _fails(["analyze", str(tmp_path / "untrained")], capsys, tmp_path / "untrained", "model.safetensors")


def test_recording_with_mismatched_shapes(tmp_path, rnn_run, capsys):
    run = tmp_path / "run"
    shutil.copytree(rnn_run, run)
    assert main(["record", str(run), "--chunk-size", "16"]) == 0
    shutil.rmtree(run / "analysis", ignore_errors=True)
    rec = Recording(run / "recording")
    arrays = {k: rec.read(k, slice(16, 32)) for k in rec.names}
    arrays["hidden.l1"] = arrays["hidden.l1"][:, :, :5]
    from safetensors.numpy import save

    data = save(arrays)
    (run / "recording" / "chunks" / "000001.safetensors").write_bytes(data)
    manifest = json.loads((run / "recording" / "manifest.json").read_text())
    manifest["chunks"][1]["bytes"] = len(data)
    (run / "recording" / "manifest.json").write_text(json.dumps(manifest))
    _fails(
        ["analyze", str(run)],
        capsys,
        run,
        "array hidden.l1 in chunk chunks/000001.safetensors has shape (16, 20, 5) (F32), "
        "expected (16, 20, 8) (float32) per the manifest",
    )
    with pytest.raises(ValueError, match=r"hidden.l1 .* expected \(16, 20, 8\)"):
        analyze_recording(Recording(run / "recording"))
    assert main(["analyze", str(run), "--rerecord", "--no-figures"]) == 0  # the way out


def test_nan_activity_and_too_little_data(tmp_path, rnn_run, capsys):
    run = tmp_path / "nan"
    shutil.copytree(rnn_run, run)
    shutil.rmtree(run / "analysis", ignore_errors=True)
    weights = load_tensors(run / "model.safetensors")
    weights["core.weight_hh_l0"][0, 0] = float("nan")  # a model whose activity is NaN
    save_tensors(run / "model.safetensors", weights, {"format_version": "1"})
    st = rundir.read_status(run)  # commit the edit the way training does, so the run's own check passes
    keep = {
        k: v
        for k, v in st.items()
        if k not in ("format_version", "content_sha256", "status", "reason", "files")
    }
    rundir.write_status(run, st["status"], st["reason"], **keep, files=rundir.file_hashes(run))
    _fails(["analyze", str(run)], capsys, run, "hidden.l0: h contains NaN at valid steps")
    _fails(
        ["analyze", str(rnn_run), "--max-sequences", "1"],
        capsys,
        rnn_run,
        "hidden.l0: h needs at least 2 sequences for this estimator, got 1",
    )
    short = _train(tmp_path / "short", "gru", seq_len=6)
    _fails(
        ["analyze", str(short)],
        capsys,
        short,
        "hidden.l0: h needs at least 8 valid steps for this estimator, got 6",
    )


def test_analyze_recording_finds_planted_units(tmp_path):
    """Any recording (here synthetic activity, no model) goes through the same pipeline."""
    g = np.random.default_rng(0)
    s, t, u = 64, 120, 12
    h = 0.3 * g.standard_normal((s, t, u))
    phase = g.uniform(0, 2 * np.pi, size=(s, 1))
    h[:, :, :4] += np.sin(2 * np.pi * np.arange(t) / 8 + phase)[:, :, None]  # units 0-3 oscillate at 1/8
    h[:, :, 11] = 0.0  # silent
    labels = g.integers(2, size=s)
    with RecordingWriter(tmp_path / "rec") as w:
        for i in range(0, s, 16):
            w.write(
                {
                    "hidden.l0": h[i : i + 16].astype(np.float32),
                    "labels": labels[i : i + 16],
                    "lengths": np.full(16, t),
                    "index": np.arange(i, i + 16),
                }
            )
        rec = w.commit({"model": {"kind": "rnn"}, "layers": [0], "steps": list(range(t)), "seq_len": t})
    report = analyze_recording(rec)
    roles = report.table.role
    assert (
        (roles[:4] == "oscillatory").all()
        and roles[11] == "silent"
        and not (roles[4:11] == "oscillatory").any()
    )
    assert sorted(report.arrays["psd_units.l0"].tolist()) == [0, 1, 2, 3]
    freqs, psd = report.arrays["psd.freqs"], report.arrays["psd.l0"]
    assert np.allclose(freqs[1:][np.argmax(psd[1:], axis=0)], 1 / 8)
    assert report.summary.sequences_analyzed == 64 and report.summary.evidence is None
    assert np.isnan(report.memory).all() and not report.summary.impulse_probed
    assert report.summary.pca_explained_variance_ratio["0"][0] > 0.15
    with pytest.raises(
        ValueError, match=r"hidden.l0: h needs at least 2 sequences for this estimator, got 1"
    ):
        analyze_recording(rec, np.arange(1))
