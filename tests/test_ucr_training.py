"""Real data end to end: the shipped UCR/UEA data sets and the user's own files train from the CLI and the API
into the same run directory as a built-in task, and padding never changes a prediction.

The shipped data sets come from the aeon wheel that `make test` installs (the `ucr` extra).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

import rnnscope
from rnnscope.cli import main
from rnnscope.config import ModelConfig
from rnnscope.data import load_dataset, load_directory
from rnnscope.models import MODEL_KINDS, build_model

TINY = ["--epochs", "2", "--hidden", "8", "--quiet"]
TASK = ["--task", "evidence", "--task-param", "seq_len=8", "--n-train", "64", "--n-test", "32"]

# name: (n_train, n_test); the official UCR/UEA splits (../shared/reference/published.md).
SIZES = {
    "GunPoint": (50, 150),
    "ItalyPowerDemand": (67, 1029),
    "ArrowHead": (36, 175),
    "OSULeaf": (200, 242),
    "ACSF1": (100, 100),
    "PickupGestureWiimoteZ": (50, 50),
    "BasicMotions": (40, 40),
    "JapaneseVowels": (270, 370),
}


def _cli(argv, capsys) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _layout(run_dir) -> list[str]:
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*"))


def _json(path) -> dict:
    return json.loads(path.read_text())


def _assert_like_a_task_run(run_dir, task_dir) -> None:
    """Same files, same config/metrics keys (real data adds its 1NN baselines); no task ceiling."""
    assert _layout(run_dir) == _layout(task_dir)
    baselines = ["baseline_1nn_dtw", "baseline_1nn_ed", "baselines"]
    for name in ("config.json", "metrics.json", "status.json"):
        extra = baselines if name == "metrics.json" else []
        assert sorted(_json(run_dir / name)) == sorted([*_json(task_dir / name), *extra]), name
    assert _json(run_dir / "metrics.json")["task_ceiling"] is None
    assert _json(run_dir / "config.json")["task_ceiling"] is None
    assert _json(run_dir / "status.json")["status"] == "completed"


def _assert_rebuilt_identically(run_dir, reference) -> None:
    """load_run rebuilds the data the run trained on (`reference`) from config.json alone, array for array,
    and its reloaded model scores exactly the test accuracy in metrics.json."""
    loaded = rnnscope.load_run(run_dir)
    assert loaded.task is None
    a, b = reference, loaded.data
    for split in ("train", "test"):
        for key in ("x", "y", "lengths"):
            np.testing.assert_array_equal(getattr(getattr(a, split), key), getattr(getattr(b, split), key))
    assert (a.n_classes, a.class_names, a.source) == (b.n_classes, b.class_names, b.source)
    test = b.test
    with torch.no_grad():
        logits = loaded.model(torch.from_numpy(test.x), torch.from_numpy(test.lengths))
    assert float((logits.argmax(1).numpy() == test.y).mean()) == loaded.metrics["test_acc"]


# ---------------------------------------------------------------- the shipped data sets


def test_datasets_lists_all_eight_with_sizes(capsys):
    out = _cli(["datasets"], capsys)
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert list(rows) == list(SIZES)
    for name, (n_train, n_test) in SIZES.items():
        assert rows[name][1:3] == [str(n_train), str(n_test)], name
    assert rows["PickupGestureWiimoteZ"][3] == "29-361" and rows["JapaneseVowels"][3:5] == ["7-29", "12"]


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory):
    """A tiny run of a built-in task: the run-directory layout real data must reproduce."""
    out = tmp_path_factory.mktemp("builtin") / "task"
    assert main(["train", *TASK, *TINY, "--out", str(out)]) == 0
    return out


def test_cli_trains_a_shipped_dataset_into_a_task_like_run(tmp_path, capsys, task_dir):
    out = _cli(["train", "--dataset", "GunPoint", *TINY, "--out", str(tmp_path / "gp")], capsys)
    assert re.search(r"task ceiling\s+n/a\s+Bayes/oracle accuracy: unknown for real data", out)
    _assert_like_a_task_run(tmp_path / "gp", task_dir)
    config = _json(tmp_path / "gp" / "config.json")
    assert config["data"]["dataset"] == "GunPoint" and config["data"]["task"] is None
    source = config["data_source"]
    assert source["kind"] == "ucr" and source["name"] == "GunPoint" and source["normalize"] == "channel"
    assert source["label_mapping"] == {"1": 0, "2": 1} and config["class_names"] == ["1", "2"]
    assert (config["input_size"], config["n_classes"]) == (3, 2)  # frames of 3 steps of 1 channel
    full = load_dataset("GunPoint")
    assert (len(full.train), len(full.test), full.train.seq_len) == (50, 150, 150)
    # the real-data default: downsample auto, 50 frames of 3 of the 150 steps (docs/training.md)
    assert config["data"]["downsample"] == "auto" and source["downsample"] == 3
    assert config["data"]["downsample_by"] == "frames" and source["downsample_by"] == "frames"
    assert source["downsample_max_steps"] == 50
    reference = load_dataset("GunPoint", downsample="auto", downsample_by="frames")
    assert (reference.train.seq_len, reference.input_size) == (50, 3)
    # block means and every k-th step keep the 100-step limit: k = 2, 75 steps
    assert load_dataset("GunPoint", downsample="auto", downsample_by="mean").train.seq_len == 75
    _assert_rebuilt_identically(tmp_path / "gp", reference)


def test_api_trains_variable_length_multichannel_data(tmp_path):
    run = rnnscope.train(out=tmp_path / "jv", dataset="JapaneseVowels", model="gru", hidden=8, epochs=2)
    d = run.data
    assert (d.input_size, d.n_classes, len(d.train), len(d.test)) == (12, 9, 270, 370)
    assert d.train.variable_length and d.train.seq_len == 29
    lengths = np.concatenate([d.train.lengths, d.test.lengths])
    assert (lengths.min(), lengths.max()) == (7, 29)
    assert run.config["data_source"]["label_mapping"] == {str(k): k - 1 for k in range(1, 10)}
    assert run.metrics["task_ceiling"] is None and run.metrics["epochs_run"] == 2
    _assert_rebuilt_identically(run.path, d)  # run.data is the bundle it trained on


# ---------------------------------------------------------------- the user's own files

# Values are multiples of 1/8, exact in text and binary, so every format holds the very same numbers.
LABELS = ("down", "flat", "up")


def _toy(rng, n: int) -> tuple[list[np.ndarray], list[str]]:
    """n univariate series of lengths 6-11 (planted: the slope gives the class), labels as text."""
    series, labels = [], []
    for i in range(n):
        k = i % 3
        t = np.arange(int(rng.integers(6, 12)))
        series.append(np.round(8 * ((k - 1) * t / 4 + rng.normal(0, 0.5, len(t)))) / 8)
        labels.append(LABELS[k])
    return series, labels


def _rows(series, labels, sep: str) -> str:
    t = max(len(s) for s in series)
    return "".join(
        sep.join([y, *map(repr, s.tolist()), *["NaN"] * (t - len(s))]) + "\n" for s, y in zip(series, labels)
    )


def _write(folder, fmt: str, train, test) -> None:
    folder.mkdir()
    if fmt == "npz":
        arrays = {}
        for split, (series, labels) in (("train", train), ("test", test)):
            x = np.full((len(series), max(len(s) for s in series)), np.nan)
            for i, s in enumerate(series):
                x[i, : len(s)] = s
            arrays[f"X_{split}"], arrays[f"y_{split}"] = x, np.array(labels)
        np.savez(folder / "Toy.npz", **arrays)
        return
    for split, (series, labels) in (("TRAIN", train), ("TEST", test)):
        if fmt == "ts":
            head = [
                "@problemName Toy",
                "@timeStamps false",
                "@missing false",
                "@univariate true",
                "@equalLength false",
                f"@classLabel true {' '.join(LABELS)}",
                "@data",
            ]
            text = "\n".join(
                head + [",".join(map(repr, s.tolist())) + f":{y}" for s, y in zip(series, labels)]
            )
        else:
            text = _rows(series, labels, "\t" if fmt == "tsv" else ",")
        (folder / f"Toy_{split}.{fmt}").write_text(text + "\n")


def test_user_files_in_every_format_train_the_same_task_like_run(tmp_path, capsys, task_dir):
    rng = np.random.default_rng(0)
    train, test = _toy(rng, 30), _toy(rng, 12)
    runs = {}
    for fmt in ("ts", "tsv", "txt", "npz"):
        folder = tmp_path / f"data_{fmt}"
        _write(folder, fmt, train, test)
        _cli(["train", "--data", str(folder), *TINY, "--out", str(tmp_path / fmt)], capsys)
        _assert_like_a_task_run(tmp_path / fmt, task_dir)
        source = _json(tmp_path / fmt / "config.json")["data_source"]
        assert source["kind"] == "files" and source["format"] == fmt and source["name"] == "Toy"
        assert source["label_mapping"] == {"down": 0, "flat": 1, "up": 2}
        assert source["lengths"] == {"train": [6, 11], "test": [6, 11]}
        _assert_rebuilt_identically(
            tmp_path / fmt, load_directory(folder, downsample="auto", downsample_by="frames")
        )
        runs[fmt] = rnnscope.load_run(tmp_path / fmt)
    # Four formats, one data set: the same arrays, hence bit-identical training.
    ref = runs["ts"]
    for fmt, run in runs.items():
        np.testing.assert_array_equal(run.data.train.x, ref.data.train.x)
        np.testing.assert_array_equal(run.data.test.lengths, ref.data.test.lengths)
        strip = [{k: v for k, v in r.items() if k != "seconds"} for r in run.history]
        assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in ref.history], fmt
        for name, tensor in ref.model.state_dict().items():
            assert torch.equal(run.model.state_dict()[name], tensor), (fmt, name)


# ---------------------------------------------------------------- padding never changes a prediction


def _spread(lengths: np.ndarray, n: int) -> np.ndarray:
    """n row indices whose lengths span the range: the shortest, the longest and evenly between."""
    order = np.argsort(lengths, kind="stable")
    return order[np.unique(np.linspace(0, len(order) - 1, n).round().astype(int))]


@pytest.fixture(scope="module")
def ragged():
    """Real variable-length series: {name: (x (N, T, C) zero-padded, lengths (N,))}, lengths spanning the
    set."""
    out = {}
    for name, n in (("JapaneseVowels", 24), ("PickupGestureWiimoteZ", 12)):
        b = load_dataset(name)
        x, lengths = np.concatenate([b.train.x, b.test.x]), np.concatenate([b.train.lengths, b.test.lengths])
        idx = _spread(lengths, n)
        out[name] = (x[idx], lengths[idx])
    return out


@pytest.mark.parametrize("name", ["JapaneseVowels", "PickupGestureWiimoteZ"])
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_padding_never_changes_a_prediction(ragged, name, kind):
    x, lengths = ragged[name]  # (B, T, C), (B,)
    assert lengths.min() < lengths.max() == x.shape[1]  # really ragged, and the batch is padded
    model = build_model(ModelConfig(kind=kind, hidden=16, layers=2), x.shape[2], 9).eval()
    with torch.no_grad():
        alone = torch.cat(
            [model(torch.from_numpy(x[i : i + 1, : lengths[i]])) for i in range(len(x))]
        )  # (B, K)
        batch = model(torch.from_numpy(x), torch.from_numpy(lengths))
        noisy = x.copy()  # whatever lies past a series' end must not matter either
        past_end = np.arange(x.shape[1])[None, :] >= lengths[:, None]  # (B, T)
        noisy[past_end] = np.random.default_rng(1).normal(0, 5, size=noisy[past_end].shape)
        garbage = model(torch.from_numpy(noisy), torch.from_numpy(lengths))
        stepped = (
            model.readout(model.unroll(torch.from_numpy(noisy), torch.from_numpy(lengths)))
            if kind != "transformer"
            else batch
        )
    assert (alone - alone.mean(0)).abs().max() > 1e-3  # logits differ by series: the checks below can fail
    for other in (batch, garbage, stepped):
        torch.testing.assert_close(other, alone, atol=1e-5, rtol=0)
        top2 = alone.topk(2, dim=1).values
        clear = (top2[:, 0] - top2[:, 1]) > 1e-4  # a near-tie may go either way within rounding
        assert torch.equal(other.argmax(1)[clear], alone.argmax(1)[clear]) and bool(clear.any())
