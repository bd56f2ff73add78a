"""The real-data recipe (batch, epochs from an update budget, validation carve, warm-up, downsample auto),
the chance warning, CSV user files and the stream following a run's preprocessing."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from conftest import run_cli
from rnnscope import load_run
from rnnscope.config import DataConfig, TrainConfig, from_dict, to_dict
from rnnscope.data import DataFormatError, load_dataset
from rnnscope.data.csvfiles import parse_csv
from rnnscope.data.prepare import AUTO_MAX_STEPS, auto_downsample, reduce_steps
from rnnscope.errors import BadArgument, BadRunDirectory
from rnnscope.report.run_report import preprocessing_row, preprocessing_sentence
from rnnscope.rundir.runfacts import shortening
from rnnscope.stages.stream import input_every, input_transform
from rnnscope.streaming.csvrows import CSVStreamer
from rnnscope.training.api import load_data
from rnnscope.training.chance import chance_warning, majority_rate
from rnnscope.training.loop import lr_factor
from rnnscope.training.recipe import TASK_DEFAULTS, recipe_batch_size, resolve_data, resolve_train


@pytest.mark.parametrize(
    "n, classes, want",
    [
        (
            36,
            3,
            {"batch_size": 8, "val_fraction": 0.0, "epochs": 240, "warmup": 60, "patience": 0},
        ),  # ArrowHead
        (
            50,
            2,
            {"batch_size": 8, "val_fraction": 0.1, "epochs": 200, "warmup": 60, "patience": 0},
        ),  # GunPoint
        (
            270,
            9,
            {"batch_size": 32, "val_fraction": 0.1, "epochs": 150, "warmup": 60, "patience": 0},
        ),  # JapaneseVowels
        (
            5000,
            2,
            {"batch_size": 64, "val_fraction": 0.1, "epochs": 30, "warmup": 106, "patience": 0},
        ),  # large: min epochs
    ],
)
def test_recipe_sizes_itself_to_the_training_set(n, classes, want):
    want = {**want, "augment": "jitter+scale+magwarp"}  # the same for every size
    cfg, chosen = resolve_train(TrainConfig(), n, classes, real=True)
    assert chosen == want
    assert all(getattr(cfg, k) == v for k, v in want.items())


def test_recipe_keeps_what_the_user_set_and_tasks_keep_their_defaults():
    cfg, chosen = resolve_train(TrainConfig(epochs=7, batch_size=4), 50, 2, real=True)
    assert (cfg.epochs, cfg.batch_size) == (7, 4)
    assert set(chosen) == {"val_fraction", "warmup", "patience", "augment"}
    cfg, chosen = resolve_train(TrainConfig(), 1500, 3, real=False)
    assert chosen == TASK_DEFAULTS and cfg.epochs == 60 and cfg.batch_size == 32 and cfg.warmup == 0
    assert cfg.augment == "none"  # built-in tasks keep their reference result
    assert resolve_train(TrainConfig(augment="scale"), 50, 2, real=True)[0].augment == "scale"
    # a config.json from before augmentation rebuilds without it, as it was trained
    old = {k: v for k, v in to_dict(TrainConfig(seed=3)).items() if k != "augment"}
    assert from_dict(TrainConfig, old).augment == "none"
    assert cfg.patience == 10  # the demo stops once converged; real data trains its update budget
    assert resolve_train(cfg, 1500, 3, real=True) == (cfg, {})  # a resolved config is left alone
    assert [recipe_batch_size(n) for n in (10, 100, 200, 2000)] == [8, 16, 32, 64]


def test_warmup_then_cosine():
    f = [lr_factor(u, 10, 110, "cosine") for u in range(110)]
    np.testing.assert_allclose(f[:10], np.arange(1, 11) / 10)
    assert f[10] == 1.0 and f[60] == pytest.approx(0.5) and f[-1] < 1e-3
    assert lr_factor(50, 10, 110, "constant") == 1.0


def test_chance_warning_and_null_convergence():
    hist = [{"train_acc": a} for a in (0.5, 0.52, 0.53, 0.51)]
    w = chance_warning(
        hist, majority_rate(np.array([0, 1, 0, 1])), TrainConfig(epochs=3, batch_size=16), "rnn"
    )
    assert "stayed near chance (best 0.530, majority class 0.500)" in w
    assert "--epochs 6" in w and "--batch-size 8" in w and "--model gru" in w and "--readout mean" in w
    # the transformer reads out its last step only: a readout it would refuse is not suggested
    w = chance_warning(hist, 0.5, TrainConfig(epochs=3, batch_size=16), "transformer")
    assert "--readout" not in w and "--model gru" in w
    assert chance_warning([{"train_acc": 0.5}, {"train_acc": 0.9}], 0.5, None, "gru") is None


def test_downsample_auto_is_for_real_data_only():
    with pytest.raises(BadArgument, match="real data only: a built-in task's length is set by"):
        DataConfig(task="mixture", downsample="auto")
    with pytest.raises(BadArgument, match="positive integer or auto"):
        DataConfig(task=None, dataset="GunPoint", downsample="half")
    with pytest.raises(BadArgument, match="label column applies to your own .csv files"):
        DataConfig(task=None, dataset="GunPoint", label_column=3)


def _toy_csv(folder, header=True, label_last=True, length=240, n=(24, 16)):
    """Two classes of noisy sines of different frequency, <Toy>_TRAIN/_TEST.csv."""
    rng = np.random.default_rng(0)
    folder.mkdir(exist_ok=True)
    t = np.linspace(0, 1, length)
    for split, count in zip(("TRAIN", "TEST"), n):
        y = np.arange(count) % 2
        x = np.sin(2 * np.pi * (2 + 4 * y[:, None]) * t[None]) + 0.2 * rng.standard_normal((count, length))
        lines = [",".join([f"t{i}" for i in range(length)] + ["cls"])] if header else []
        for xi, yi in zip(x, y):
            values = [f"{v:.4f}" for v in xi]
            label = "ab"[yi]
            lines.append(",".join(values + [label] if label_last else [label] + values))
        (folder / f"Toy_{split}.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.slow
def test_csv_run_recipe_baselines_downsampling_and_stream(tmp_path, capsys):
    data = _toy_csv(tmp_path / "toy")
    out = tmp_path / "run"
    argv = ["train", "--data", str(data), "--label-column", "cls", "--model", "gru", "--hidden", "8"]
    code, stdout, err = run_cli([*argv, "--epochs", "3", "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    assert "recipe for real data (docs/training.md): batch 8, 3 epochs, validation 0%" in stdout
    chosen = "(chosen: augment, batch_size, patience, val_fraction, warmup)"
    assert f"augment jitter+scale+magwarp {chosen}" in stdout
    assert (
        "downsample auto (at most 50 steps): each block of 5 steps fed whole, as a frame of 5 values per "
        "channel (longest training series 240 -> 48 steps)" in stdout
    )
    assert "1NN Euclidean                1.000" in stdout and "1NN DTW (full)" in stdout
    assert "validation accuracy            n/a   no validation split" in stdout  # no carve: no number
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["converged_on"] == "test_acc"  # no carve: convergence is judged on the test split
    if metrics["converged_epoch"] is not None:
        assert "on test accuracy (no or a small validation split)" in stdout
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["downsample"] == "auto" and config["data_source"]["downsample"] == 5
    assert config["data"]["downsample_by"] == "frames" and config["data_source"]["downsample_by"] == "frames"
    assert config["input_size"] == 5  # frames of 5 steps of one channel
    # 12 per class: no carve; real data trains its whole update budget (no early stopping)
    assert config["recipe"] == {
        "batch_size": 8,
        "val_fraction": 0.0,
        "warmup": 1,
        "patience": 0,
        "augment": "jitter+scale+magwarp",
    }
    assert config["requested"]["train"]["batch_size"] is None
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["baseline_1nn_ed"] == 1.0 and metrics["baseline_1nn_dtw"] == 1.0
    # the stream feeds rows 1-5, 6-10, ... of each stream as frames, answered at rows 5, 10, ...: the
    # last answer is the model's on the series
    run = load_run(out)
    x = run.data.test.x[:2]
    raw = np.loadtxt(data / "Toy_TEST.csv", delimiter=",", skiprows=1, usecols=range(240))[:2]
    rows = "\n\n".join("\n".join(f"{v:.4f}" for v in series) for series in raw) + "\n"
    (tmp_path / "rows.csv").write_text(rows)
    code, stdout, err = run_cli(["stream", str(out), "--input", str(tmp_path / "rows.csv")], capsys)
    assert code == 0 and "trained on frames of 5 steps (downsample 5, by frames)" in err
    lines = stdout.strip().splitlines()
    assert len(lines) == 1 + 2 * 48 and lines[2].split(",")[1] == "10" and lines[48].split(",")[1] == "240"
    with torch.no_grad():
        want = torch.softmax(run.model(torch.as_tensor(x)), -1).numpy()
    last = [np.array(line.split(",")[3:], dtype=float) for line in (lines[48], lines[96])]
    np.testing.assert_allclose(np.stack(last), want, atol=2e-5)
    # --no-baselines records why they are missing
    code, stdout, _ = run_cli(
        [*argv, "--epochs", "1", "--out", str(tmp_path / "r2"), "--quiet", "--no-baselines"], capsys
    )
    assert code == 0 and "1NN DTW (full)" in stdout and "--no-baselines was given" in stdout


@pytest.mark.parametrize(
    "make, argv, needle",
    [
        ("ragged", [], "line 4: ragged row: 3 fields but line 1 has 4"),
        ("ok", ["--label-column", "9"], "label column 9 is out of range: rows have 4 columns"),
        ("ok", ["--label-column", "nope"], "no column named 'nope' in the header"),
        ("ok", ["--label-column", "labl"], "did you mean 'label'? columns: label, a, b, c"),
        ("ok", ["--readout", "median"], "unknown readout 'median'"),
        ("ok", ["--downsample", "auto", "--task", "mixture"], "a built-in task's length is set by its"),
        (
            "ok",
            ["--downsample-by", "median"],
            "invalid choice: 'median' (choose from 'mean', 'every', 'frames')",
        ),
        ("ok", ["--downsample-by", "mean", "--task", "mixture"], "downsample_by applies to real data only"),
        ("tsvheader", [], "looks like a header naming the columns"),
    ],
)
def test_bad_real_data_input_one_line_exit_2(tmp_path, capsys, make, argv, needle):
    data = tmp_path / "d"
    data.mkdir()
    if make == "tsvheader":
        for split in ("TRAIN", "TEST"):
            (data / f"X_{split}.tsv").write_text("label\tt0\tt1\n1\t0.5\t0.1\n2\t0.2\t0.3\n")
    else:
        for split in ("TRAIN", "TEST"):
            body = "label,a,b,c\nx,1,2,3\ny,4,5,6\n" + ("z,7,8\n" if make == "ragged" else "")
            (data / f"X_{split}.csv").write_text(body)
    src = [] if "--task" in argv else ["--data", str(data)]
    code, _, err = run_cli(["train", "--out", str(tmp_path / "run"), *src, *argv, "--quiet"], capsys)
    assert code == 2 and needle in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_a_missing_label_column_names_few_of_many_header_columns():
    header = "label," + ",".join(f"t{i}" for i in range(250))
    with pytest.raises(DataFormatError) as err:
        parse_csv(header + "\na," + ",".join(["0.5"] * 250) + "\n", "x.csv", label_column="class")
    message = str(err.value)
    assert message.endswith("columns: label, t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, ... (251 in all)")
    assert "did you mean" not in message and len(message) < 200


def test_csv_header_detection_and_label_column():
    with_header = parse_csv("t0,t1,cls\n0.5,1.5,a\n2,3,b\n", "x.csv", label_column="cls")
    assert with_header.meta == {"format": "csv", "header": True, "label_column": 2}
    assert with_header.labels == ["a", "b"] and with_header.series[1][:, 0].tolist() == [2.0, 3.0]
    plain = parse_csv("1,0.5,\n2,2,3\n", "x.csv")  # no header, label first, an empty (padding) cell
    assert plain.meta["header"] is False and plain.labels == ["1", "2"]
    np.testing.assert_array_equal(plain.series[0][:, 0], [0.5, np.nan])


def test_report_states_the_downsampling():
    config = {
        "data_source": {
            "downsample": 2,
            "downsample_auto": True,
            "longest_train_series": 150,
            "lengths": {"train": [75, 75]},
        }
    }
    assert preprocessing_sentence(config) == (
        "every 2nd step kept by the length rule (downsample auto: at most 100 steps): the longest training "
        "series, 150 steps, became 75; the network saw this coarser series, the 1NN baselines the full one."
    )
    assert preprocessing_sentence({"data_source": {"downsample": None}}) is None
    config["data_source"]["downsample_by"] = "mean"
    assert preprocessing_sentence(config).startswith(
        "each block of 2 steps averaged by the length rule (downsample auto: at most 100 steps):"
    )
    config["data_source"]["downsample_by"] = "frames"
    assert preprocessing_sentence(config).startswith(
        "each block of 2 steps fed whole, as a frame of 2 values per channel by the length rule"
    )
    # the limit the run was shortened to, as recorded (a run from before the record: 100)
    config["data_source"].update(downsample=3, downsample_max_steps=50, lengths={"train": [50, 50]})
    assert preprocessing_sentence(config).startswith(
        "each block of 3 steps fed whole, as a frame of 3 values per channel by the length rule "
        "(downsample auto: at most 50 steps): the longest training series, 150 steps, became 50;"
    )


@pytest.mark.parametrize(
    "longest, by, k",
    [
        (251, "frames", 6),
        (251, "mean", 3),
        (251, "every", 3),
        (100, "frames", 2),
        (100, "mean", None),
        (50, "frames", None),
        (1460, "frames", 30),
        (1460, "mean", 15),
    ],
)
def test_the_length_rule_limit_is_50_steps_for_frames_and_100_otherwise(longest, by, k):
    assert auto_downsample(longest, by) == k
    if k:  # the shortened series fits the limit, and k - 1 would not
        assert math.ceil(longest / k) <= AUTO_MAX_STEPS[by] < math.ceil(longest / (k - 1))


def test_downsample_by_block_means_and_what_it_refuses():
    x = np.arange(7, dtype=float)[:, None] * [1.0, 10.0]  # (7, 2)
    np.testing.assert_array_equal(reduce_steps(x, 3, "every")[:, 0], [0, 3, 6])
    np.testing.assert_array_equal(reduce_steps(x, 3, "mean"), [[1, 10], [4, 40], [6, 60]])  # last: 1 step
    assert reduce_steps(x, None, "mean") is x and reduce_steps(x, 1, "mean") is x
    with pytest.raises(BadArgument, match="downsample_by must be one of mean, every, frames, got 'median'"):
        DataConfig(task=None, dataset="GunPoint", downsample_by="median")
    with pytest.raises(BadArgument, match="downsample_by applies to real data only"):
        DataConfig(task="mixture", downsample_by="mean")


def test_real_data_length_rule_fills_only_what_is_unset():
    got = resolve_data(DataConfig(task=None, dataset="GunPoint"))
    assert (got.downsample, got.downsample_by, got.downsample_max_steps) == ("auto", "frames", 50)
    asked = resolve_data(DataConfig(task=None, dataset="GunPoint", downsample=3, downsample_by="every"))
    assert (asked.downsample, asked.downsample_by, asked.downsample_max_steps) == (3, "every", None)
    mean = resolve_data(DataConfig(task=None, dataset="GunPoint", downsample_by="mean"))
    assert mean.downsample_max_steps == 100
    with pytest.raises(BadArgument, match="downsample_max_steps must be a positive integer, got 0"):
        DataConfig(task=None, dataset="GunPoint", downsample_max_steps=0)
    task = DataConfig(task="mixture")
    assert resolve_data(task) is task


def test_a_config_without_downsample_by_rebuilds_every_kth_step():
    """config.json written before block means has no downsample_by: its data rebuilds as it was trained."""
    old = load_data(DataConfig(task=None, dataset="GunPoint", downsample=2), seed=0)[0]
    np.testing.assert_array_equal(old.train.x, load_dataset("GunPoint", downsample=2).train.x)
    assert old.source["downsample_by"] == "every" and old.train.seq_len == 75
    new = load_data(DataConfig(task=None, dataset="GunPoint", downsample=2, downsample_by="mean"), seed=0)[0]
    assert new.source["downsample_by"] == "mean" and new.train.seq_len == 75
    assert not np.allclose(new.train.x, old.train.x)


def test_a_frames_run_from_before_the_50_step_limit_rebuilds_at_100_steps():
    """config.json of an auto run written before the limit was recorded: the limit then, 100 steps."""
    data = {"task": None, "dataset": "GunPoint", "downsample": "auto", "downsample_by": "frames"}
    old = from_dict(DataConfig, data)
    assert old.downsample_max_steps == 100
    bundle = load_data(old, seed=0)[0]
    assert bundle.train.x.shape[1:] == (75, 2) and bundle.source["downsample_max_steps"] == 100
    written = to_dict(resolve_data(DataConfig(task=None, dataset="GunPoint")))  # as config.json holds it
    new = resolve_data(from_dict(DataConfig, written))
    assert new.downsample_max_steps == 50 and load_data(new, seed=0)[0].train.x.shape[1:] == (50, 3)
    # another limit, asked for: 150 steps to at most 30 -> k = 5
    asked = load_dataset("GunPoint", downsample="auto", downsample_by="frames", downsample_max_steps=30)
    assert asked.train.x.shape[1:] == (30, 5) and asked.source["downsample_max_steps"] == 30
    with pytest.raises(BadArgument, match="downsample_max_steps must be None or a positive integer, got 0"):
        load_dataset("GunPoint", downsample="auto", downsample_max_steps=0)


class EchoPool:
    """A StreamPool stand-in that records what it is fed and answers each step with its first 2 values
    (as 2 "probabilities")."""

    def __init__(self, input_size: int):
        self.input_size, self.fed = input_size, []

    def open(self):
        return len(self.fed)

    def close(self, slot):
        pass

    def feed_ragged(self, chunks):
        self.fed.extend(chunks.values())
        return {slot: torch.as_tensor(x[:, :2]) for slot, x in chunks.items()}


def test_stream_averages_blocks_as_the_run_was_trained():
    pool, out = EchoPool(2), []
    fed = pool.fed
    streamer = CSVStreamer(pool, ["a", "b"], out.append, print, every=3, by="mean", block=2)
    rows = [f"{t},{10 * t}" for t in range(7)]  # one stream of 7 rows, then one of 2 (shorter than k)
    streamer.run(rows + [""] + ["1,1", "3,3"])
    got = [(r[0], r[1], float(r[3]), float(r[4])) for r in out[1:]]
    assert got == [("0", 3, 1.0, 10.0), ("0", 6, 4.0, 40.0), ("0", 7, 6.0, 60.0), ("1", 2, 2.0, 2.0)]
    # the same rows prepared for training: the stream fed exactly the training steps
    np.testing.assert_allclose(
        np.concatenate(fed)[:3], reduce_steps(np.array([[t, 10 * t] for t in range(7)], float), 3, "mean")
    )


def test_frames_keep_every_value_and_the_stream_feeds_the_same_frames():
    x = np.arange(14, dtype=float).reshape(7, 2)  # 7 steps, 2 channels; k = 3: the last block is short
    frames = reduce_steps(x, 3, "frames")
    assert frames.shape == (3, 6)
    np.testing.assert_array_equal(frames[:2].reshape(6, 2), x[:6])  # lossless, step after step
    np.testing.assert_array_equal(frames[2], [12, 13, 12, 13, 12, 13])  # completed by its last step
    pool, out = EchoPool(6), []
    fed = pool.fed
    streamer = CSVStreamer(pool, ["a", "b"], out.append, print, every=3, by="frames", block=2)
    assert streamer.n_features == 2  # rows hold C values; the model takes k * C
    streamer.run([f"{a:g},{b:g}" for a, b in x] + ["", "1,1", "3,3"])
    assert [(r[0], r[1]) for r in out[1:]] == [("0", 3), ("0", 6), ("0", 7), ("1", 2)]
    np.testing.assert_array_equal(np.concatenate(fed)[:3], frames)
    np.testing.assert_array_equal(np.concatenate(fed)[3], [1, 1, 3, 3, 3, 3])
    with pytest.raises(BadRunDirectory, match="not a whole number of frames of 4 rows"):
        CSVStreamer(EchoPool(6), ["a", "b"], out.append, print, every=4, by="frames")


def test_a_run_on_frames_takes_k_values_per_channel_and_says_so():
    bundle = load_data(
        resolve_data(DataConfig(task=None, dataset="GunPoint", downsample_by="frames")), seed=0
    )[0]
    assert bundle.train.x.shape[1:] == (50, 3) and bundle.source["downsample_by"] == "frames"
    run = SimpleNamespace(
        config={"data_source": bundle.source}, data_cfg=DataConfig(task=None, dataset="GunPoint")
    )
    k, note = input_every(run, raw=False)
    assert k == 3 and "frames of 3 steps" in note
    assert shortening(2, "frames").startswith("each block of 2 steps fed whole")


def test_stream_refuses_what_it_cannot_reproduce():
    run = SimpleNamespace(
        config={"data": {"normalize": "series"}, "data_source": {"downsample": 4}},
        data_cfg=DataConfig(task=None, dataset="GunPoint", normalize="series"),
    )
    with pytest.raises(BadArgument, match="per-series z-normalised data, which a stream cannot compute"):
        input_transform(run, raw=False)
    assert input_transform(run, raw=True) is None
    assert input_every(run, raw=True) == (1, None) and input_every(run, raw=False)[0] == 4


def test_the_report_says_the_preprocessing_in_one_row_and_the_shortening_once():
    config = {
        "data": {"task": None, "dataset": "X", "normalize": "channel"},
        "data_source": {
            "normalize": "channel",
            "downsample": 6,
            "downsample_by": "frames",
            "downsample_auto": True,
            "downsample_max_steps": 50,
            "longest_train_series": 251,
            "lengths": {"train": [42, 42]},
        },
    }
    assert preprocessing_row(config) == (
        "z-normalised per channel (training-set mean and std); each block of 6 steps fed whole, as a frame "
        "of 6 values per channel by the length rule (downsample auto: at most 50 steps): the longest "
        "training series, 251 steps, became 42; the network saw this coarser series, the 1NN baselines the "
        "full one."
    )
    config["data_source"]["downsample"] = None  # nothing shortened: the normalisation alone
    assert preprocessing_row(config) == "z-normalised per channel (training-set mean and std)"
    assert preprocessing_row({"data": {"task": "mixture"}}) is None
