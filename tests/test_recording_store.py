"""The on-disk recording: golden round trip (float32 and float16), streaming, plain-numpy reading,
clear errors for broken recordings, and `rnnscope record`."""

import json
import struct

import numpy as np
import pytest
import torch
from safetensors.numpy import save as save_numpy

import rnnscope
from rnnscope.cli import main
from rnnscope.io import RunFileError
from rnnscope.models import RecurrentClassifier
from rnnscope.recording import Recording, RecordingWriter, RecordSpec, record, record_to_disk

B, T, C, H, K = 23, 9, 2, 6, 3


def _setup():
    torch.manual_seed(0)
    model = RecurrentClassifier("lstm", C, H, 2, K).eval()
    g = np.random.default_rng(0)
    x = g.standard_normal((B, T, C)).astype(np.float32)
    lengths = g.integers(3, T + 1, size=B)
    return model, x, lengths, g.integers(K, size=B)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_round_trip_equals_memory(tmp_path, dtype):
    model, x, lengths, y = _setup()
    spec = RecordSpec(dtype=dtype, chunk_size=5)
    mem = record(model, x, lengths, y, spec)
    rec = record_to_disk(model, x, tmp_path / "rec", lengths, y, spec, meta={"note": "test"})
    assert sorted(p.name for p in (tmp_path / "rec" / "chunks").iterdir()) == [
        f"{i:06d}.safetensors" for i in range(5)
    ]
    again = Recording(tmp_path / "rec").verify()
    assert again.n_sequences == B and again.names == list(mem) and again.source == {"note": "test"}
    assert again.steps.tolist() == list(range(T)) and again.model["kind"] == "lstm"
    for name, v in mem.items():
        got = again.read(name)
        assert got.dtype == v.dtype and got.shape == again.shape(name) == v.shape
        np.testing.assert_array_equal(got, v)
    np.testing.assert_array_equal(again.mask(), np.arange(T)[None, :] < lengths[:, None])
    # any subset of sequences, across chunk boundaries, in any order
    for sel in (slice(3, 17), slice(None, None, 4), np.array([22, 0, 4, 5, 9, 4]), np.array([], dtype=int)):
        np.testing.assert_array_equal(rec.read("hidden.l1", sel), mem["hidden.l1"][sel])
        np.testing.assert_array_equal(rec.mask(sel), again.mask()[sel])
    starts = [s.start for s, _ in rec.iter_chunks(["probs"])]
    assert starts == [0, 5, 10, 15, 20]
    assert np.concatenate([c["probs"] for _, c in rec.iter_chunks(["probs"])]).shape == (B, T, K)


def test_chunks_are_readable_with_plain_numpy(tmp_path):
    """docs/recording.md: an 8-byte header length, a JSON header, raw little-endian C-order data."""
    model, x, lengths, y = _setup()
    rec = record_to_disk(model, x, tmp_path / "rec", lengths, y, RecordSpec(dtype="float16", chunk_size=10))
    manifest = json.loads((tmp_path / "rec" / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["kind"] == "rnnscope-recording"
    parts = []
    for chunk in manifest["chunks"]:
        raw = (tmp_path / "rec" / chunk["file"]).read_bytes()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8 : 8 + n])
        info = header["hidden.l0"]
        a, b = info["data_offsets"]
        assert info["dtype"] == "F16"
        parts.append(np.frombuffer(raw[8 + n + a : 8 + n + b], dtype="<f2").reshape(info["shape"]))
    np.testing.assert_array_equal(np.concatenate(parts), rec.read("hidden.l0"))


class _CountingArray:
    """An array-like that checks, on every read, that all earlier chunks are already on disk."""

    def __init__(self, x, chunk_dir_glob, chunk):
        self.x, self.glob, self.chunk, self.reads = x, chunk_dir_glob, chunk, []
        self.shape = x.shape

    def __getitem__(self, idx):
        written = len(list(self.glob()))
        assert written == len(self.reads), "a chunk was held in memory instead of written"
        assert len(idx) <= self.chunk
        self.reads.append(np.asarray(idx).tolist())
        return self.x[idx]


def test_recording_streams_chunk_by_chunk(tmp_path):
    model, x, lengths, y = _setup()
    arr = _CountingArray(x, lambda: tmp_path.glob(".rec.tmp-*/chunks/*.safetensors"), 4)
    rec = record_to_disk(model, arr, tmp_path / "rec", lengths, y, RecordSpec(chunk_size=4))
    assert len(arr.reads) == 6 and arr.reads[-1] == [20, 21, 22]
    # batches of 4 and of 23 sequences: equal up to BLAS rounding (issue 12, item 7), never bit for bit
    np.testing.assert_allclose(
        rec.read("cell.l1"), record(model, x, lengths, y)["cell.l1"], rtol=1e-5, atol=1e-6
    )
    assert not list(tmp_path.glob(".rec.*"))  # the temporary directory became rec/


def test_failure_midway_leaves_old_recording_and_no_temporary_files(tmp_path):
    model, x, lengths, y = _setup()
    old = record_to_disk(model, x, tmp_path / "rec", lengths, y, RecordSpec(chunk_size=8))
    bad = x.copy()
    bad[20, 0, 0] = np.inf  # in the third chunk
    with pytest.raises(ValueError, match=r"sequence 20, step 0"):
        record_to_disk(
            model,
            bad,
            tmp_path / "rec",
            lengths,
            y,
            RecordSpec(chunk_size=8, dtype="float16"),
            overwrite=True,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec"]
    assert Recording(tmp_path / "rec").verify().manifest["dtype"] == "float32"
    with pytest.raises(ValueError, match="already exists; pass overwrite=True"):
        record_to_disk(model, x, tmp_path / "rec", lengths, y)
    new = record_to_disk(model, x[:5], tmp_path / "rec", lengths[:5], y[:5], overwrite=True)
    assert new.n_sequences == 5 and old.path == new.path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec"]


def _broken(tmp_path, chunk_size=5):
    model, x, lengths, y = _setup()
    record_to_disk(model, x, tmp_path / "rec", lengths, y, RecordSpec(chunk_size=chunk_size))
    return tmp_path / "rec"


def test_missing_truncated_and_mismatched_chunks_are_named(tmp_path):
    path = _broken(tmp_path)
    (path / "chunks" / "000002.safetensors").unlink()
    rec = Recording(path)
    rec.read("hidden.l0", slice(0, 10))  # chunks 0 and 1 are intact
    with pytest.raises(
        RunFileError, match=r"chunk chunks/000002.safetensors \(sequences 10..14\) is missing"
    ):
        rec.read("hidden.l0")
    with pytest.raises(RunFileError, match="is missing"):
        rec.verify()
    # a chunk whose array has the wrong shape (and a manifest updated to its size)
    f = path / "chunks" / "000001.safetensors"
    good = Recording(path)
    arrays = {k: good.read(k, slice(5, 10)) for k in good.names}
    arrays["hidden.l0"] = np.zeros((5, T, H + 1), np.float32)
    data = save_numpy(arrays)
    f.write_bytes(data)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["chunks"][1]["bytes"] = len(data)
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        ValueError,
        match=r"array hidden.l0 in chunk chunks/000001.safetensors has shape "
        r"\(5, 9, 7\) \(F32\), expected \(5, 9, 6\) \(float32\) per the manifest",
    ):
        Recording(path).read("hidden.l0", slice(4, 8))
    Recording(path).read("hidden.l1", slice(4, 8))  # the other arrays of that chunk are fine


def test_truncated_chunk_and_corrupt_manifest(tmp_path):
    path = _broken(tmp_path)
    f = path / "chunks" / "000000.safetensors"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(
        RunFileError,
        match=r"chunk chunks/000000.safetensors \(sequences 0..4\) has 100 bytes, the "
        r"manifest says \d+ \(truncated or replaced\)",
    ):
        Recording(path).read("probs")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["arrays"]["probs"]["shape"][0] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        RunFileError, match=r"is corrupt \(array probs has shape \[99, 9, 3\], expected \(23, ...\)\)"
    ):
        _ = Recording(path).names
    manifest["arrays"]["probs"]["shape"][0] = B
    manifest["chunks"].pop(2)
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunFileError, match=r"chunks do not cover sequences 0..22 in order"):
        _ = Recording(path).n_sequences
    (path / "manifest.json").unlink()
    with pytest.raises(RunFileError, match="recording manifest .*manifest.json is missing"):
        _ = Recording(path).names
    (tmp_path / "again").mkdir()
    with pytest.raises(ValueError, match="has no array 'spikes'; it has inputs, hidden.l0"):
        Recording(_broken(tmp_path / "again")).read("spikes")


def test_writer_refuses_inconsistent_chunks(tmp_path):
    with RecordingWriter(tmp_path / "w") as w:
        w.write({"a": np.zeros((2, 3), np.float32), "lengths": np.ones(2, np.int64)})
        with pytest.raises(ValueError, match="chunk 1 does not match the first chunk"):
            w.write({"a": np.zeros((2, 4), np.float32), "lengths": np.ones(2, np.int64)})
        with pytest.raises(ValueError, match="same non-zero number of sequences"):
            w.write({"a": np.zeros((3, 3), np.float32), "lengths": np.ones(2, np.int64)})
    assert not (tmp_path / "w").exists() and not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="nothing was recorded"), RecordingWriter(tmp_path / "w") as w:
        w.commit({})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    torch.manual_seed(0)
    rnnscope.train(
        out=out,
        task="evidence",
        task_params={"seq_len": 12},
        n_train=64,
        n_test=40,
        hidden=8,
        layers=2,
        model="gru",
        epochs=1,
        seed=0,
        device="cpu",
    )
    return out


def test_record_cli_writes_the_recording(run_dir, capsys):
    assert (
        main(["record", str(run_dir), "--max-sequences", "30", "--dtype", "float16", "--chunk-size", "16"])
        == 0
    )
    out = capsys.readouterr().out
    assert "recorded 30 test sequences x 12 steps" in out and "2 chunks" in out
    rec = Recording(run_dir / "recording").verify()
    assert rec.n_sequences == 30 and rec.source["split"] == "test" and rec.manifest["dtype"] == "float16"
    run = rnnscope.load_run(run_dir)
    mem = record(
        run.model,
        run.data.test.x[:30],
        run.data.test.lengths[:30],
        run.data.test.y[:30],
        RecordSpec(dtype="float16"),
    )
    for name in rec.names:  # chunks of 16 vs one batch of 30: equal to float16 rounding, not bit for bit
        np.testing.assert_allclose(
            rec.read(name).astype(np.float32), mem[name].astype(np.float32), rtol=2e-3, atol=2e-3
        )
    assert main(["record", str(run_dir), "--split", "train", "--quantities", "hidden,probs"]) == 0
    rec = Recording(run_dir / "recording")
    assert rec.n_sequences == len(run.data.train) and rec.names == [
        "hidden.l0",
        "hidden.l1",
        "probs",
        "lengths",
        "index",
    ]
    assert not list(run_dir.glob(".recording*"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--quantities", "hidden,attention"],
            "quantity 'attention' exists only for transformer models; this model is gru",
        ),
        (["--quantities", "voltage"], "unknown quantity 'voltage'"),
    ],
)
def test_record_cli_bad_input_is_one_line_and_writes_nothing(run_dir, capsys, argv, message, tmp_path):
    before = sorted(p.name for p in run_dir.iterdir())
    assert main(["record", str(run_dir), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in run_dir.iterdir()) == before


def test_record_cli_without_a_model(run_dir, tmp_path, capsys):
    assert main(["record", str(tmp_path / "nothing")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_bytes((run_dir / "config.json").read_bytes())
    assert main(["record", str(tmp_path / "run")]) == 2
    assert "has no model.safetensors" in capsys.readouterr().err
