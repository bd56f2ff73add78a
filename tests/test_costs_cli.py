import csv
import json
import math

import pytest

from rnnscope.cli import main
from rnnscope.costs import COLUMNS


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """One real (tiny) bench: two architectures, two lengths, a fresh process per point."""
    out = tmp_path_factory.mktemp("bench") / "out"
    code = main(
        [
            "bench",
            "--models",
            "rnn,transformer",
            "--lengths",
            "16,8",
            "--out",
            str(out),
            "--params",
            "2000",
            "--batch",
            "2",
            "--repeats",
            "1",
            "--threads",
            "1",
        ]
    )
    return code, out


def test_bench_writes_cost_csv_summary_and_figures(bench):
    code, out = bench
    assert code == 0
    with open(out / "cost.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == COLUMNS
    assert [(r["model"], int(r["length"])) for r in rows] == [
        ("rnn", 8),
        ("rnn", 16),
        ("transformer", 8),
        ("transformer", 16),
    ]
    for r in rows:
        assert r["status"] == "ok", r["note"]
        assert abs(int(r["params"]) - 2000) <= 200
        assert float(r["train_step_seconds"]) > 0 and float(r["inference_seconds"]) > 0
        assert int(r["train_peak_bytes"]) >= 0 and r["memory_method"].startswith("rss_hwm")
    kv = {int(r["length"]): int(r["state_bytes"]) for r in rows if r["model"] == "transformer"}
    assert kv[16] - kv[8] == kv[8] - 4 * int(
        rows[2]["hidden"]
    )  # the KV cache grows by a fixed amount per step
    assert rows[0]["state_bytes"] == rows[1]["state_bytes"]  # the recurrent state does not grow
    summary = json.loads((out / "summary.json").read_text())
    assert summary["format_version"] == 1
    assert summary["fits"]["state_bytes"]["transformer"]["slope"] == pytest.approx(math.log2(kv[16] / kv[8]))
    assert summary["lines"] and all(isinstance(line, str) for line in summary["lines"])
    for stem in ("cost_time", "cost_memory"):
        assert (out / f"{stem}.png").stat().st_size > 0 and (out / f"{stem}.svg").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--models", "rnn,mamba"], "unknown model 'mamba'"),
        (["--models", ","], "--models: expected a comma-separated list of names, got nothing"),
        (["--lengths", ""], "--lengths: expected a comma-separated list of positive integers, got nothing"),
        (["--lengths", "64,0"], "--lengths: expected a positive integer, got 0"),
        (["--lengths", "64,-5"], "--lengths: expected a positive integer, got -5"),
        (["--lengths", "64,abc"], "--lengths: expected a positive integer, got 'abc'"),
        (["--params", "5"], "--params 5: no rnn width reaches 5 parameters"),
        (["--device", "tpu"], "device must be cpu or cuda"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert main(["bench", "--out", str(out), *args]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rnnscope bench: error: ") and message in err[0]
    assert captured.out == "" and not out.exists()
