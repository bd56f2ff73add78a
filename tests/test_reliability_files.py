"""Safe files: no file ever runs code; a damaged or newer file gives an error naming it and what to do.

A pickle payload (its __reduce__ opens a marker file) is put in every place rnnscope reads a file; truncated,
empty, bit-flipped and missing files are put in every file of a run directory and of a checkpoint.
"""

import json
import pickle
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import rnnscope
from rnnscope.data import load_directory
from rnnscope.io import FORMAT_VERSION, RunFileError, load_tensors, read_json, sha256, write_json
from rnnscope.recording import Recording, RecordSpec
from rnnscope.rundir import file_hashes, read_history, read_status, write_status
from rnnscope.stages.record import record_run
from rnnscope.training.callbacks import Callback
from rnnscope.training.checkpoint import FILES, load_checkpoint, load_latest

SMALL = {
    "task": "evidence",
    "task_params": {"seq_len": 10},
    "n_train": 96,
    "n_test": 32,
    "hidden": 8,
    "batch_size": 16,
    "device": "cpu",
    "seed": 4,
    "dropout": 0.2,
}
DAMAGES = ("truncated", "empty", "bitflip", "missing")
RUN_FILES = ("config.json", "status.json", "history.jsonl", "metrics.json", "model.safetensors")


class _Crash(Callback):
    def on_batch_end(self, trainer, batch, loss):
        if trainer.epoch == 2 and batch == 1:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished 3-epoch run with a recording, and the same run interrupted in epoch 3 (checkpoints 1, 2)."""
    root = tmp_path_factory.mktemp("runs")
    finished = rnnscope.train(out=root / "finished", epochs=3, **SMALL)
    record_run(root / "finished", max_sequences=12, spec=RecordSpec(chunk_size=4, quantities=("hidden",)))
    with pytest.raises(KeyboardInterrupt):
        rnnscope.train(out=root / "interrupted", epochs=3, callbacks=[_Crash()], **SMALL)
    return {
        "finished": root / "finished",
        "interrupted": root / "interrupted",
        "weights": {k: v.clone() for k, v in finished.model.state_dict().items()},
    }


def _copy(runs, name, tmp_path) -> Path:
    dst = tmp_path / name
    shutil.copytree(runs[name], dst)
    return dst


def _damage(path: Path, how: str, seed: int = 0) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "bitflip":
        rng = random.Random(f"{path.name}{seed}")
        i = rng.randrange(len(data))
        path.write_bytes(data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :])
    else:
        path.unlink()


def _rehash_run(run: Path) -> None:
    """Make status.json vouch for the files as they are now (so the file's own reader is what is tested)."""
    status = read_status(run)
    status.pop("content_sha256")
    status.pop("format_version")
    write_status(run, status.pop("status"), status.pop("reason"), **{**status, "files": file_hashes(run)})


def _rehash_checkpoint(ckpt: Path) -> None:
    manifest = read_json(ckpt / "MANIFEST.json")
    manifest["files"] = {f: sha256(ckpt / f) for f in FILES}
    write_json(
        ckpt / "MANIFEST.json",
        {k: v for k, v in manifest.items() if k not in ("format_version", "content_sha256")},
        checksum=True,
    )


def _one_line_naming(err: Exception, name: str) -> str:
    msg = str(err)
    assert "\n" not in msg and name in msg, msg
    return msg


# ---------------------------------------------------------------- pickle payloads


class _Payload:
    """Unpickling this opens (creates) the marker file: proof that a file ran code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_the_payload_is_live(tmp_path):
    """Control: a loader that unpickled would create the marker, so the tests below can fail."""
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(_Payload(marker))).close()
    assert marker.exists()
    marker.unlink()
    torch.save({"w": _Payload(marker)}, tmp_path / "m.pt")
    torch.load(tmp_path / "m.pt", weights_only=False).get("w").close()
    assert marker.exists()


def _poison_run(run: Path, name: str, payload: bytes, rehash: bool) -> Path:
    (run / name).write_bytes(payload)
    if rehash and name != "status.json":
        _rehash_run(run)
    return run / name


def _poison_checkpoints(run: Path, name: str, payload: bytes, rehash: bool) -> Path:
    for ckpt in sorted((run / "checkpoints").glob("epoch-*")):
        (ckpt / name).write_bytes(payload)
        if rehash and name != "MANIFEST.json":
            _rehash_checkpoint(ckpt)
    return run / "checkpoints"


PLACES = [(f, r) for f in RUN_FILES for r in (False, True)] + [
    ("model.safetensors:torch.save", True),
    ("checkpoint:state.safetensors", True),
    ("checkpoint:state.json", True),
    ("checkpoint:MANIFEST.json", False),
    ("checkpoint:state.safetensors", False),
    ("recording:chunk", True),
    ("recording:manifest.json", False),
    ("npz:object-array", False),
    ("npz:pickle-file", False),
    ("npz:pickled-npy", False),
]


@pytest.mark.parametrize("place, rehash", PLACES, ids=[f"{p}{'+hash' if r else ''}" for p, r in PLACES])
def test_pickle_payload_never_runs(runs, tmp_path, place, rehash):
    marker = tmp_path / "marker"
    payload = pickle.dumps(_Payload(marker))
    kind, _, name = place.partition(":")
    if place == "model.safetensors:torch.save":
        run = _copy(runs, "finished", tmp_path)
        torch.save({"w": _Payload(marker)}, run / "model.safetensors")
        _rehash_run(run)
        target, load = run / "model.safetensors", lambda: rnnscope.load_run(run)
    elif kind in RUN_FILES:
        run = _copy(runs, "finished", tmp_path)
        target = _poison_run(run, kind, payload, rehash)
        load = lambda: rnnscope.load_run(run)
    elif kind == "checkpoint":
        run = _copy(runs, "interrupted", tmp_path)
        target = _poison_checkpoints(run, name, payload, rehash)
        load = lambda: rnnscope.resume(run)
    elif kind == "recording":
        run = _copy(runs, "finished", tmp_path)
        rec = run / "recording"
        if name == "chunk":
            target = rec / "chunks" / "000001.safetensors"
            target.write_bytes(payload)
            manifest = read_json(rec / "manifest.json")
            manifest["chunks"][1]["bytes"] = len(payload)
            write_json(rec / "manifest.json", {k: v for k, v in manifest.items() if k != "format_version"})
        else:
            target = rec / "manifest.json"
            target.write_bytes(payload)
        load = lambda: Recording(rec).read("hidden.l0")
    else:
        target = tmp_path / "data.npz"
        y = np.array([0, 1, 0, 1])
        if name == "object-array":
            x = np.empty((4, 5), dtype=object)
            x[0, 0] = _Payload(marker)
            np.savez(target, X_train=x, y_train=y, X_test=np.zeros((4, 5)), y_test=y)
        elif name == "pickle-file":
            target.write_bytes(payload)
        else:
            np.save(tmp_path / "x.npy", np.array([_Payload(marker)], dtype=object), allow_pickle=True)
            (tmp_path / "x.npy").rename(target)
        load = lambda: load_directory(target)
    with pytest.raises(ValueError) as info:
        load()
    assert not marker.exists(), "a file ran code"
    msg = _one_line_naming(info.value, target.name)
    assert "Traceback" not in msg


# ---------------------------------------------------------------- damaged files


@pytest.mark.parametrize("name", RUN_FILES)
@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_run_file_is_named_with_what_to_do(runs, tmp_path, name, how):
    run = _copy(runs, "finished", tmp_path)
    _damage(run / name, how)
    with pytest.raises(RunFileError) as info:
        rnnscope.load_run(run)
    msg = _one_line_naming(info.value, name if name != "status.json" or how != "missing" else "status")
    if name == "config.json":
        if how == "missing":
            assert "not a run directory (no config.json)" in msg
        else:
            assert "restore it from a copy of the run" in msg
        return
    assert f"checkpoint epoch-000003 is intact: resume from it with `rnnscope train --resume {run}`" in msg
    if (name, how) in {
        ("model.safetensors", "bitflip"),
        ("history.jsonl", "truncated"),
        ("status.json", "empty"),
        ("metrics.json", "missing"),
    }:  # the remedy works, and restores the same bits
        rnnscope.resume(run)
        fixed = rnnscope.load_run(run)
        assert all(torch.equal(fixed.model.state_dict()[k], v) for k, v in runs["weights"].items())
        assert read_history(run) == read_history(runs["finished"])


@pytest.mark.parametrize("name", [*FILES, "MANIFEST.json"])
@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_newest_checkpoint_is_skipped_and_named(runs, tmp_path, name, how):
    run = _copy(runs, "interrupted", tmp_path)
    _damage(run / "checkpoints" / "epoch-000002" / name, how)
    ckpt, _, meta, problems = load_latest(run / "checkpoints")
    assert ckpt.name == "epoch-000001" and meta["epoch"] == 1
    assert len(problems) == 1 and problems[0].startswith("checkpoint epoch-000002:") and name in problems[0]
    with pytest.raises(
        RunFileError
    ) as info:  # an interrupted run: what to do says which checkpoint is intact
        rnnscope.load_run(run)
    msg = _one_line_naming(info.value, "epoch-000002")
    assert f"checkpoint epoch-000001 is intact: resume from it with `rnnscope train --resume {run}`" in msg


def test_resume_skips_a_corrupt_checkpoint_says_so_and_stays_exact(runs, tmp_path, capsys):
    from rnnscope.cli import main

    run = _copy(runs, "interrupted", tmp_path)
    _damage(run / "checkpoints" / "epoch-000002" / "state.safetensors", "bitflip")
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert (
        "checkpoint epoch-000002: state.safetensors does not match its SHA-256 (corrupt); resumed from "
        "epoch-000001, the newest intact checkpoint"
    ) in err
    assert read_status(run)["resumes"][-1]["from"] == "epoch-000001"
    loaded = rnnscope.load_run(run)
    assert all(torch.equal(loaded.model.state_dict()[k], v) for k, v in runs["weights"].items())
    assert [r["train_loss"] for r in loaded.history] == [
        r["train_loss"] for r in read_history(runs["finished"])
    ]


def test_no_intact_checkpoint_says_how_to_start_again(runs, tmp_path):
    run = _copy(runs, "interrupted", tmp_path)
    for ckpt in (run / "checkpoints").glob("epoch-*"):
        _damage(ckpt / "state.json", "truncated")
    with pytest.raises(RunFileError) as info:
        rnnscope.resume(run)
    msg = _one_line_naming(info.value, "epoch-000001")
    assert "epoch-000002" in msg and f"delete {run / 'checkpoints'} to train this run again" in msg
    shutil.rmtree(run / "checkpoints")  # the remedy: the run starts again from its config, exactly
    rnnscope.resume(run)
    assert read_status(run)["resumes"][-1]["from"] == "start"
    assert all(
        torch.equal(rnnscope.load_run(run).model.state_dict()[k], v) for k, v in runs["weights"].items()
    )


def test_completed_run_with_intact_files_is_not_resumed(runs, tmp_path):
    run = _copy(runs, "finished", tmp_path)
    with pytest.raises(ValueError, match="already completed; nothing to resume"):
        rnnscope.resume(run)


# ---------------------------------------------------------------- format versions


def _metadata_files(run: Path):
    return sorted(p for p in run.rglob("*.json"))


def test_every_metadata_file_carries_a_format_version(runs):
    run = runs["finished"]
    files = _metadata_files(run)
    names = {p.name for p in files}
    assert {
        "config.json",
        "status.json",
        "metrics.json",
        "MANIFEST.json",
        "state.json",
        "manifest.json",
    } <= names
    for p in files:
        assert json.loads(p.read_text())["format_version"] == FORMAT_VERSION, p
    for line in (run / "history.jsonl").read_text().splitlines():
        assert json.loads(line)["format_version"] == FORMAT_VERSION
    from safetensors import safe_open

    for p in [run / "model.safetensors", *run.glob("checkpoints/*/state.safetensors")]:
        with safe_open(str(p), "pt") as f:
            assert f.metadata()["format_version"] == str(FORMAT_VERSION), p


def _newer_json(path: Path, checksum: bool = False) -> None:
    obj = read_json(path)
    obj.pop("content_sha256", None)
    write_json(path, {**obj, "format_version": FORMAT_VERSION + 1}, versioned=False, checksum=checksum)


def _newer_tensors(path: Path) -> None:
    save_file(load_tensors(path), str(path), metadata={"format_version": str(FORMAT_VERSION + 1)})


NEWER = [
    "config.json",
    "status.json",
    "metrics.json",
    "history.jsonl",
    "model.safetensors",
    "checkpoint:state.json",
    "checkpoint:MANIFEST.json",
    "checkpoint:state.safetensors",
    "recording:manifest.json",
]


@pytest.mark.parametrize("place", NEWER)
def test_a_newer_format_version_is_refused_clearly(runs, tmp_path, place):
    run = _copy(runs, "finished", tmp_path)
    kind, _, name = place.partition(":")
    if kind == "checkpoint":
        ckpt = run / "checkpoints" / "epoch-000003"
        if name == "state.safetensors":
            _newer_tensors(ckpt / name)
        else:
            _newer_json(ckpt / name, checksum=name == "MANIFEST.json")
        if name != "MANIFEST.json":
            _rehash_checkpoint(ckpt)
        load, target = (lambda: load_checkpoint(ckpt)), name
    elif kind == "recording":
        _newer_json(run / "recording" / "manifest.json")
        load, target = (lambda: Recording(run / "recording").read("hidden.l0")), "manifest.json"
    else:
        if kind == "history.jsonl":
            rows = (run / kind).read_text().splitlines()
            rows[1] = json.dumps({**json.loads(rows[1]), "format_version": FORMAT_VERSION + 1})
            (run / kind).write_text("\n".join(rows) + "\n")
        elif kind == "model.safetensors":
            _newer_tensors(run / kind)
        else:
            _newer_json(run / kind, checksum=kind == "status.json")
        if kind != "status.json":
            _rehash_run(run)
        load, target = (lambda: rnnscope.load_run(run)), kind
    with pytest.raises(RunFileError) as info:
        load()
    msg = _one_line_naming(info.value, target)
    assert (
        f"format version {FORMAT_VERSION + 1}, newer than this rnnscope reads ({FORMAT_VERSION}); upgrade"
        in msg
    )
