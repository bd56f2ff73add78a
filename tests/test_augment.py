"""Training-batch augmentation (rnnscope.training.augment): spelling, statistics, padding, determinism."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import run_cli
from rnnscope.config import TrainConfig, parse_augment
from rnnscope.errors import BadArgument
from rnnscope.training.augment import (
    JITTER_SD,
    MAGWARP_KNOTS,
    MAGWARP_SD,
    MIXUP_ALPHA,
    SCALE_SD,
    augment_batch,
    batch_generator,
    magwarp_curve,
    mixup_batch,
)


def test_augment_is_spelled_one_way_and_bad_names_are_refused():
    assert parse_augment("Scale+JITTER") == "jitter+scale" and parse_augment("none") == "none"
    assert parse_augment("magwarp+scale+jitter") == "jitter+scale+magwarp"
    assert TrainConfig(augment="scale").augment == "scale" and TrainConfig().augment is None  # the recipe
    for bad in ("noise", "jitter+jitter", "jitter,scale"):
        with pytest.raises(BadArgument, match="none or jitter, scale, magwarp, mixup joined by"):
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


def test_magnitude_warping_is_one_smooth_curve_through_knots_of_the_stated_size():
    n, steps = MAGWARP_KNOTS + 2, 51  # knots at steps 0, 10, 20, 30, 40, 50
    curve = magwarp_curve(4000, steps, batch_generator(0, 0, 0))
    knots = curve[:, :: (steps - 1) // (n - 1)]
    assert knots.shape == (4000, n)
    assert abs(float(knots.std()) - MAGWARP_SD) < 0.005 and abs(float(knots.mean()) - 1) < 0.005
    # between two knots the curve runs monotonically from one to the other, flat at both ends
    seg = curve[:, 10:21]
    lo, hi = torch.minimum(seg[:, :1], seg[:, -1:]), torch.maximum(seg[:, :1], seg[:, -1:])
    assert ((seg >= lo - 1e-6) & (seg <= hi + 1e-6)).all()
    d = seg.diff(dim=1)
    assert ((d >= -1e-6).all(dim=1) | (d <= 1e-6).all(dim=1)).all()
    assert (d[:, 0].abs() < d[:, 4].abs() + 1e-6).all()  # slope 0 at the knot, steepest midway
    # smooth: no step moves the curve by more than pi/2 * (largest knot gap) / 10 steps
    gaps = knots.diff(dim=1).abs().max(dim=1).values
    assert (curve.diff(dim=1).abs().max(dim=1).values <= gaps * torch.pi / 20 + 1e-6).all()
    # applied as one factor per series and step, the same for every channel
    x = torch.ones(3, 7, 4)
    out = augment_batch(x, "magwarp", batch_generator(1, 1, 1))
    assert torch.equal(out, magwarp_curve(3, 7, batch_generator(1, 1, 1))[:, :, None].expand(3, 7, 4))
    assert magwarp_curve(2, 1, batch_generator(0, 0, 0)).shape == (2, 1)  # a one-step series


def test_mixup_mixes_each_series_with_a_partner_by_one_beta_weight_per_batch():
    x = torch.randn(6, 5, 2, generator=torch.Generator().manual_seed(0))
    mixed, lam, perm = mixup_batch(x, batch_generator(3, 1, 2))
    assert 0 <= lam <= 1 and sorted(perm.tolist()) == list(range(6))
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[perm])
    again = mixup_batch(x, batch_generator(3, 1, 2))
    assert again[1] == lam and torch.equal(again[2], perm)  # a resumed epoch mixes alike
    lams = torch.tensor([mixup_batch(x, batch_generator(0, 0, b))[1] for b in range(4000)])
    var = 1 / (4 * (2 * MIXUP_ALPHA + 1))  # Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1))
    assert abs(float(lams.mean()) - 0.5) < 0.02 and abs(float(lams.var()) - var) < 0.01
    assert float(((lams < 0.1) | (lams > 0.9)).float().mean()) > 0.5  # alpha 0.2: mostly mild mixes


def test_the_training_loss_mixes_as_the_inputs_do(monkeypatch):
    """With a partner that is the series itself, mixup must leave training exactly as it was: the inputs
    are unchanged and the loss weights lam and 1 - lam add up to one on the same labels."""
    import rnnscope
    import rnnscope.training.loop as loop

    kw = dict(task="mixture", n_train=64, n_test=16, hidden=6, epochs=2, batch_size=16, device="cpu")
    plain = rnnscope.train(augment="jitter", **kw).history
    monkeypatch.setattr(loop, "mixup_batch", lambda x, g: (x, 0.3, torch.arange(x.shape[0])))
    same = rnnscope.train(augment="jitter+mixup", **kw).history
    assert [h["train_loss"] for h in same] == [h["train_loss"] for h in plain]
    monkeypatch.undo()
    mixed = rnnscope.train(augment="jitter+mixup", **kw).history
    assert mixed[-1]["train_loss"] != plain[-1]["train_loss"]


def test_padding_is_left_alone_and_the_noise_depends_only_on_seed_epoch_batch():
    x = torch.zeros(3, 6, 2)
    lengths = torch.tensor([6, 4, 1])
    out = augment_batch(x, "jitter+scale+magwarp", batch_generator(1, 2, 3), lengths)
    assert (out[1, 4:] == 0).all() and (out[2, 1:] == 0).all() and (out[0] != 0).all()
    again = augment_batch(x, "jitter+scale+magwarp", batch_generator(1, 2, 3), lengths)
    assert torch.equal(out, again)  # a resumed epoch draws the same noise
    other = augment_batch(x, "jitter+scale+magwarp", batch_generator(1, 2, 4), lengths)
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
    assert code == 2 and "augment must be none or jitter, scale, magwarp, mixup joined by '+'" in err
    assert "Traceback" not in err and not (tmp_path / "c").exists()
