"""Training-batch augmentation (rnnscope.training.augment): spelling, statistics, padding, determinism."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import run_cli
from rnnscope.config import TrainConfig, parse_augment
from rnnscope.errors import BadArgument
from rnnscope.training.augment import JITTER_SD, SCALE_SD, augment_batch, batch_generator


def test_augment_is_spelled_one_way_and_bad_names_are_refused():
    assert parse_augment("Scale+JITTER") == "jitter+scale" and parse_augment("none") == "none"
    assert TrainConfig(augment="scale").augment == "scale" and TrainConfig().augment is None  # the recipe
    for bad in ("noise", "jitter+jitter", "jitter,scale"):
        with pytest.raises(BadArgument, match="augment must be none or jitter, scale joined by"):
            parse_augment(bad)


def test_jitter_and_scale_have_their_stated_sizes():
    x = torch.ones(2000, 50, 3)
    jit = augment_batch(x, "jitter", batch_generator(0, 0, 0)) - x
    assert abs(float(jit.std()) - JITTER_SD) < 0.001 and abs(float(jit.mean())) < 0.001
    scaled = augment_batch(x, "scale", batch_generator(0, 0, 0))
    factor = scaled[:, :1, :]  # x = 1: the factor itself, one per series and channel
    assert torch.equal(scaled, factor.expand_as(scaled))  # constant over time
    assert abs(float(factor.std()) - SCALE_SD) < 0.005 and abs(float(factor.mean()) - 1) < 0.005
    assert augment_batch(x, "none", batch_generator(0, 0, 0)) is x


def test_padding_is_left_alone_and_the_noise_depends_only_on_seed_epoch_batch():
    x = torch.zeros(3, 6, 2)
    lengths = torch.tensor([6, 4, 1])
    out = augment_batch(x, "jitter+scale", batch_generator(1, 2, 3), lengths)
    assert (out[1, 4:] == 0).all() and (out[2, 1:] == 0).all() and (out[0] != 0).all()
    again = augment_batch(x, "jitter+scale", batch_generator(1, 2, 3), lengths)
    assert torch.equal(out, again)  # a resumed epoch draws the same noise
    other = augment_batch(x, "jitter+scale", batch_generator(1, 2, 4), lengths)
    assert not torch.equal(out, other)
    batch_generator(2**40, 10_000, 10_000)  # any seed a user gives makes a valid generator seed


@pytest.mark.slow
def test_an_augmented_run_trains_differently_and_records_it(tmp_path, capsys):
    argv = ["train", "--task", "mixture", "--epochs", "2", "--hidden", "8", "--quiet", "--device", "cpu"]
    code, _, err = run_cli([*argv, "--augment", "jitter", "--out", str(tmp_path / "a")], capsys)
    assert code == 0, err
    code, _, err = run_cli([*argv, "--out", str(tmp_path / "b")], capsys)
    assert code == 0, err
    a, b = (json.loads((tmp_path / r / "config.json").read_text())["train"] for r in "ab")
    assert a["augment"] == "jitter" and b["augment"] == "none"
    ha, hb = (
        [
            json.loads(line).get("train_loss")
            for line in (tmp_path / r / "history.jsonl").read_text().splitlines()
        ]
        for r in "ab"
    )
    assert ha[0] == hb[0] and ha[-1] != hb[-1]  # the same start; the noise changed the updates
    code, _, err = run_cli([*argv, "--augment", "noise", "--out", str(tmp_path / "c")], capsys)
    assert code == 2 and "augment must be none or jitter, scale joined by '+'" in err
    assert "Traceback" not in err and not (tmp_path / "c").exists()
