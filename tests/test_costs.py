import math

import numpy as np
import pytest
import torch

from rnnscope.config import ModelConfig
from rnnscope.costs import (
    BenchSpec,
    describe_crossing,
    fitted_crossing,
    loglog_fit,
    measured_crossing,
    plan,
    read_cost_csv,
    runner,
    state_bytes,
    summarize,
)
from rnnscope.costs.summary import cost_csv_text, stopped_points
from rnnscope.models import build_model

T = np.array([64, 256, 1024, 4096, 16384])


def test_loglog_fit_recovers_known_exponents():
    rng = np.random.default_rng(0)
    for a, b in ((3e-4, 1.0), (2e-8, 2.0), (5.0, 0.0), (1e-3, 1.5)):
        y = a * T**b * np.exp(rng.normal(0, 0.01, T.shape))
        fit = loglog_fit(T, y)
        assert fit.slope == pytest.approx(b, abs=0.02)
        assert 10**fit.intercept == pytest.approx(a, rel=0.1)
        assert fit.r2 > 0.99 or b == 0.0
        np.testing.assert_allclose(fit.predict(T), a * T**b, rtol=0.05)


def test_tail_fit_sees_through_a_constant_overhead():
    y = 1e-3 + 1e-8 * T.astype(float) ** 2  # a fixed overhead hides the T² growth at short T
    assert loglog_fit(T, y).slope < 1.5
    assert loglog_fit(T, y, tail=2).slope == pytest.approx(2.0, abs=0.05)


def test_fit_ignores_missing_points_and_refuses_too_few():
    y = 1e-3 * T.astype(float)
    y[[1, 4]] = [math.nan, 0.0]
    fit = loglog_fit(T, y)
    assert fit.slope == pytest.approx(1.0) and fit.lengths == (64, 1024, 4096)
    with pytest.raises(ValueError, match="two distinct lengths"):
        loglog_fit([64, 256], [1.0, math.nan])
    with pytest.raises(ValueError, match="tail"):
        loglog_fit(T, y, tail=1)


def test_crossing_of_linear_and_quadratic_costs():
    rnn, tf = 2e-3 * T, 1e-6 * T.astype(float) ** 2  # equal at T = 2000
    fa, fb = loglog_fit(T, rnn), loglog_fit(T, tf)
    assert fitted_crossing(fa, fb) == pytest.approx(2000, rel=1e-6)
    assert measured_crossing(T, rnn, tf) == pytest.approx(2000, rel=1e-6)  # exact for power laws
    assert fitted_crossing(fa, fa) is None
    assert measured_crossing(T, rnn, rnn * 2) is None
    assert measured_crossing([1, 2, 4], [1, 2, 3], [3, 2, 1]) == 2.0
    assert measured_crossing([1, 2, 4], [1, 2, 3], [3, 2, 3]) is None  # touching is not crossing
    c = describe_crossing("inference time", "rnn", "transformer", T, rnn, tf, fa, fb)
    assert c["measured"] == [pytest.approx(2000, rel=1e-6)]
    assert c["text"] == "inference time: transformer is cheaper than rnn up to T ≈ 2,000, then rnn (measured)"
    short = T[:3]
    c = describe_crossing("inference time", "rnn", "transformer", short, rnn[:3], tf[:3], fa, fb)
    assert c["measured"] == []
    assert c["text"] == (
        "inference time: transformer is cheaper than rnn at every measured T (64-1,024); "
        "the fitted power laws cross at T ≈ 2,000 (extrapolated)"
    )


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "transformer"])
def test_state_bytes_match_the_model_state(kind):
    cfg = ModelConfig(kind=kind, hidden=8, layers=2)
    model = build_model(cfg, 3, 2).eval()
    state = model.init_state(1)
    with torch.no_grad():
        for _ in range(5):
            state = model.step(torch.randn(1, 3), state)
    if kind == "transformer":
        tensors = state["k"] + state["v"] + [state["h"]]
    else:
        tensors = list(state) if kind == "lstm" else [state]
    assert state_bytes(cfg, 5) == sum(t.numel() * t.element_size() for t in tensors)


def _rows(models, fn, status=None):
    out = []
    for m in models:
        for t in T:
            row = {
                "model": m,
                "length": int(t),
                "hidden": 8,
                "params": 100,
                "batch": 1,
                "device": "cpu",
                "threads": 1,
                "memory_method": "rss_hwm_reset",
                "status": "ok",
                "note": "",
            }
            for metric in runner.METRICS:
                row[metric] = fn(m, metric, float(t))
            out.append(row)
    return out


def test_summarize_fits_slopes_and_states_crossings():
    def cost(model, metric, t):
        return {"rnn": 2e-3 * t, "lstm": 8e-3 * t, "transformer": 1e-6 * t * t}[model]

    s = summarize(_rows(["rnn", "lstm", "transformer"], cost))
    assert s["fits"]["inference_seconds"]["rnn"]["slope"] == pytest.approx(1.0)
    assert s["fits"]["inference_seconds"]["transformer"]["slope"] == pytest.approx(2.0)
    assert s["fits"]["inference_seconds"]["rnn"]["line_t"] == [1024, 16384]
    cross = {(c["metric"], c["a"]): c for c in s["crossings"]}
    assert cross[("train_step_seconds", "rnn")]["measured"] == [pytest.approx(2000, rel=1e-6)]
    assert cross[("train_step_seconds", "lstm")]["measured"] == [pytest.approx(8000, rel=1e-6)]
    assert len(s["lines"]) == 2 * len(runner.METRICS)


def test_cost_csv_round_trip(tmp_path):
    rows = _rows(["gru"], lambda m, metric, t: 1e-3 * t)
    rows[-1].update(status="skipped_time", note="predicted", train_step_seconds=math.nan)
    text = cost_csv_text(rows)
    assert text.splitlines()[0] == ",".join(runner.COLUMNS)
    assert text.splitlines()[-1].startswith("gru,16384,8,100,1,cpu,1,,16.384,")
    (tmp_path / "cost.csv").write_text(text)
    back = read_cost_csv(tmp_path / "cost.csv")
    assert [r["length"] for r in back] == list(T) and math.isnan(back[-1]["train_step_seconds"])
    assert back[0]["inference_seconds"] == pytest.approx(0.064)
    assert stopped_points(back) == [
        {"model": "gru", "length": 16384, "status": "skipped_time", "note": "predicted"}
    ]


def test_a_series_stops_cleanly_at_the_time_budget(monkeypatch):
    calls = []

    def fake(spec, cfg, length):  # a training step of 1e-5 * T**2 seconds, memory 1 kB * T
        calls.append(length)
        point = {
            "seconds": 1e-5 * length**2,
            "peak_bytes": 1000 * length,
            "params": 99,
            "memory_method": "fake",
            "over_time": False,
        }
        return {"inference": dict(point, seconds=point["seconds"] / 3), "train": point}

    monkeypatch.setattr(runner, "measure_row", fake)
    spec = BenchSpec(models=("transformer",), lengths=(64, 256, 1024, 4096), max_seconds=20.0, threads=1)
    rows = runner.run_series(spec, "transformer", ModelConfig(kind="transformer", hidden=8), None)
    assert calls == [64, 256, 1024]  # 4096 would take ~168 s: predicted from the quadratic trend
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "skipped_time"]
    assert "predicted training step 168 s > budget 20 s" in rows[-1]["note"]
    assert math.isnan(rows[-1]["train_step_seconds"]) and rows[-1]["state_bytes"] == state_bytes(
        ModelConfig(kind="transformer", hidden=8), 4096
    )

    calls.clear()
    spec = BenchSpec(
        models=("rnn",),
        lengths=(64, 256, 1024, 4096, 16384),
        max_memory_bytes=2_000_000,
        max_seconds=1e6,
        threads=1,
    )
    rows = runner.run_series(spec, "rnn", ModelConfig(kind="rnn", hidden=8), None)
    assert calls == [64, 256, 1024]  # 4096 would need ~4.1 MB at 1 kB per step
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "skipped_memory", "skipped_memory"]
    assert rows[-1]["note"] == "series stopped at T=4096 (skipped_memory)"


def test_a_failed_point_stops_its_series(monkeypatch):
    monkeypatch.setattr(
        runner,
        "measure_row",
        lambda spec, cfg, length: (
            {"failure": "out_of_memory", "note": "train: can't allocate memory"}
            if length >= 256
            else {
                p: {"seconds": 0.01, "peak_bytes": 10, "params": 1, "memory_method": "m", "over_time": False}
                for p in ("inference", "train")
            }
        ),
    )
    spec = BenchSpec(models=("gru",), lengths=(64, 256, 1024), threads=1)
    rows = runner.run_series(spec, "gru", ModelConfig(kind="gru", hidden=8), None)
    assert [r["status"] for r in rows] == ["ok", "out_of_memory", "not_run"]
    assert rows[2]["note"] == "series stopped at T=256 (out_of_memory)"


def test_spec_and_plan_reject_bad_input():
    with pytest.raises(ValueError, match="unknown model 'mamba'"):
        BenchSpec(models=("rnn", "mamba"))
    with pytest.raises(ValueError, match="at least one length"):
        BenchSpec(lengths=())
    with pytest.raises(ValueError, match="positive integers, got 0"):
        BenchSpec(lengths=(64, 0))
    with pytest.raises(ValueError, match="--params 5: no rnn width"):
        plan(BenchSpec(params=5))
    configs = plan(BenchSpec(params=20_000))
    assert set(configs) == {"rnn", "lstm", "gru", "transformer"}
    for kind, cfg in configs.items():
        n = sum(p.numel() for p in build_model(cfg, 3, 4).parameters())
        assert abs(n - 20_000) <= 2_000, kind


def test_curves_that_cross_twice_are_described_in_order():
    t = [64, 256, 1024, 4096]
    rnn, tf = [10, 200, 500, 1900], [20, 60, 400, 3900]  # measured shape of a loaded CPU
    c = describe_crossing("training step time", "rnn", "transformer", t, rnn, tf, None, None)
    first, second = c["measured"]
    assert 64 < first < 256 and 1024 < second < 4096
    assert c["text"].startswith("training step time: rnn is cheaper than transformer up to T ≈ ")
    assert ", transformer up to T ≈ " in c["text"] and c["text"].endswith(", then rnn (measured)")


def test_nearly_parallel_fits_state_no_absurd_crossing():
    a, b = 1e-3 * T.astype(float), 2e-3 * T.astype(float) ** 0.99
    fa, fb = loglog_fit(T, a), loglog_fit(T, b)
    assert fitted_crossing(fa, fb) > 1e20
    c = describe_crossing("inference time", "rnn", "gru", T, a, b, fa, fb)
    assert c["text"] == "inference time: rnn is cheaper than gru at every measured T (64-16,384)"
