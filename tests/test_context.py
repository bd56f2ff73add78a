"""`rnnscope context`: chance correction, the behavioural effective context (b), the command, bad input."""

import csv
import json
import math

import pytest

from rnnscope.cli import main
from rnnscope.sweep import InlineExecutor, runner
from rnnscope.sweep.context import (
    chance_corrected,
    check_distances,
    context_config,
    effective_context,
    median_context,
    plan_context,
    summarize,
)


@pytest.fixture
def inline(monkeypatch):
    monkeypatch.setattr(runner, "LocalProcessExecutor", lambda *args, **kwargs: InlineExecutor())


def test_chance_correction():
    assert chance_corrected(0.25, 0.25) == 0.0
    assert chance_corrected(1.0, 0.25) == 1.0
    assert chance_corrected(0.625, 0.25) == pytest.approx(0.5)
    assert chance_corrected(0.0, 0.5) == -1.0
    assert math.isnan(chance_corrected(math.nan, 0.25))


@pytest.mark.parametrize(
    "cc,expected",
    [
        ([1.0, 0.95, 0.91, 0.5, 0.1], (20, False)),  # 0.91 >= 0.9 * 1.0, 0.5 is not
        ([0.8, 0.75, 0.72, 0.71, 0.9], (20, False)),  # threshold 0.72 is inclusive; 0.71 stops it
        (
            [0.9, 0.2, 0.9, 0.9, 0.9],
            (5, False),
        ),  # must hold at every distance up to d: a recovery does not count
        ([1.0, 1.0, 1.0, 1.0, 0.95], (100, True)),  # every distance passes: at least the longest (censored)
        ([0.0, 0.0, 0.0, 0.0, 0.0], (None, False)),  # not above chance even at the shortest: undefined
        ([-0.1, 0.5, 0.5, 0.5, 0.5], (None, False)),
        ([1.0, math.nan, 0.95, 0.2, 0.1], (20, False)),  # a missing distance is skipped, not failed
    ],
)
def test_effective_context_definition_b(cc, expected):
    assert effective_context([5, 10, 20, 50, 100], cc) == expected


def test_summarize_uses_the_seed_mean_curve():
    rows = []
    accs = {
        "rnn": {0: [1.0, 1.0, 0.25], 1: [1.0, 0.55, 0.25]},
        "gru": {0: [1.0, 1.0, 1.0], 1: [1.0, 1.0, 0.85]},
    }
    for model, seeds in accs.items():
        for seed, curve in seeds.items():
            for d, acc in zip([5, 50, 200], curve):
                rows.append(
                    {
                        "model": model,
                        "seed": seed,
                        "distance": d,
                        "test_acc": acc,
                        "chance": 0.25,
                        "chance_corrected": chance_corrected(acc, 0.25),
                    }
                )
    s = summarize(rows)
    assert s["distances"] == [5, 50, 200] and s["chance"] == 0.25 and s["threshold"] == 0.9
    rnn, gru = s["models"]["rnn"], s["models"]["gru"]
    # rnn at 50: mean acc 0.775 -> cc 0.7 < 0.9; seed 0 alone reaches 50
    assert rnn["effective_context"] == 5 and not rnn["censored"] and rnn["per_seed"] == {"0": 50, "1": 5}
    assert rnn["mean_chance_corrected"]["50"] == pytest.approx(0.7)
    # gru at 200: mean acc 0.925 -> cc 0.9 = 0.9 * 1.0: passes (inclusive), censored
    assert gru["effective_context"] == 200 and gru["censored"] and gru["per_seed"] == {"0": 200, "1": 50}
    assert gru["mean_test_acc"]["200"] == pytest.approx(0.925)
    # the lower median of two seeds is the worse one
    assert (
        rnn["median_seed_context"] == 5
        and gru["median_seed_context"] == 50
        and not gru["median_seed_censored"]
    )


@pytest.mark.parametrize(
    "per_seed,expected",
    [
        ([50, 10, 50], 50),  # one seed's failure at a short distance does not set the median
        ([200, 200, 50], 200),
        ([None, 20, None], None),  # undefined ranks below every distance
        ([None, 20, 50, 100], 20),  # even count: the lower median
        ([], None),
    ],
)
def test_median_context(per_seed, expected):
    assert median_context(per_seed) == expected


def test_check_distances():
    assert check_distances([20, 5, 10]) == [5, 10, 20]
    with pytest.raises(ValueError, match="longer than the maximum 50 \\(--max-distance\\)"):
        check_distances([5, 60], max_distance=50)
    with pytest.raises(ValueError, match="recall task's limit"):
        check_distances([20000], max_distance=10**6)


def test_context_on_tiny_settings_writes_csv_and_json(tmp_path, inline, capsys):
    out = tmp_path / "ctx"
    args = [
        "context",
        "--models",
        "rnn,gru",
        "--distances",
        "2,4",
        "--seeds",
        "0",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--n-train",
        "48",
        "--n-test",
        "16",
        "--batch-size",
        "16",
        "--quiet",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    with open(out / "context.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:6] == ["model", "seed", "distance", "test_acc", "chance", "chance_corrected"]
    assert sorted((r["model"], int(r["distance"])) for r in rows) == [
        ("gru", 2),
        ("gru", 4),
        ("rnn", 2),
        ("rnn", 4),
    ]
    for r in rows:
        assert float(r["chance"]) == 0.25 and r["hidden"] == "8" and r["status"] == "completed"
        assert float(r["chance_corrected"]) == pytest.approx((float(r["test_acc"]) - 0.25) / 0.75)
    summary = json.loads((out / "context.json").read_text())
    assert summary["distances"] == [2, 4] and set(summary["models"]) == {"rnn", "gru"}
    for info in summary["models"].values():
        assert info["effective_context"] in (None, 2, 4)
    assert (out / "context.png").stat().st_size > 0
    text = capsys.readouterr().out
    assert "effective context" in text and "rnn" in text


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--models", "rnn,lstn"], "unknown model 'lstn'"),
        (["--distances", "0,5"], "distances must be positive, got 0"),
        (["--distances", "5,-3"], "distances must be positive, got -3"),
        (["--distances", "5,2000"], "distance 2000 is longer than the maximum 1000"),
        (["--distances", "5,80", "--max-distance", "50"], "distance 80 is longer than the maximum 50"),
        (["--distances", "5,5"], "distance 5 is given twice"),
        (["--seeds", "-1"], "seeds must be non-negative"),
        (
            ["--gate-init", "orthogonal"],
            "unknown gate initialisation 'orthogonal'; choose from chrono, constant",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "never"
    assert main(["context", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and err.startswith("rnnscope context: error:")
    assert not out.exists()


@pytest.mark.parametrize("gate_init,expected", [("chrono", 202), ("constant", None)])
def test_plan_gives_gated_cells_one_chrono_horizon_for_the_whole_sweep(tmp_path, gate_init, expected):
    """Chrono initialisation is for the sweep's longest sequence (200 + 2) at every distance, so each model
    is the same at every distance; the tanh RNN has no gates and keeps PyTorch's initialisation."""
    config = context_config(models=["rnn", "lstm", "gru"], distances=[5, 200], seeds=[0], gate_init=gate_init)
    assert config["gate_init"] == gate_init
    jobs = plan_context(config, tmp_path)
    assert len(jobs) == 6
    for job in jobs:
        gated = job["tags"]["model"] in ("lstm", "gru")
        assert job["model"]["chrono_tmax"] == (expected if gated else None)
        assert job["model"]["forget_bias"] == 1.0  # used only where chrono is off
