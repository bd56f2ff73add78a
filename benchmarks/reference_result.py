"""The reference result across seeds: the default `rnnscope train` for seeds 0-4.

Each seed runs in its own process (one torch thread each, `--workers` at a time) exactly as
`rnnscope train --out DIR --seed S` would, and the script prints one row per seed plus mean ± std, next
to the reference (train >= 0.95, test >= 0.93, converged within 50 epochs, under 2 minutes).

    python benchmarks/reference_result.py [--seeds 0,1,2,3,4] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def run_seed(seed: int, root: Path) -> dict:
    out = root / f"seed{seed}"
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rnnscope.cli", "train", "--out", str(out), "--seed", str(seed), "--quiet"],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - t0
    m = json.loads((out / "metrics.json").read_text())
    return {"seed": seed, "wall": wall, **m}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--workers", type=int, default=1, help="parallel seeds (1 gives honest wall times)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.workers) as ex:
        rows = list(ex.map(lambda s: run_seed(s, Path(tmp)), seeds))
    print(
        f"{'seed':>4} {'train':>6} {'val':>6} {'test':>6} {'ceiling':>7} {'converged':>9} {'epochs':>6} "
        f"{'train s':>7} {'wall s':>6}  meets reference"
    )
    for r in rows:
        ok = (
            r["train_acc"] >= 0.95
            and r["test_acc"] >= 0.93
            and r["converged_epoch"] <= 50
            and r["wall"] < 120
        )
        print(
            f"{r['seed']:>4} {r['train_acc']:>6.3f} {r['val_acc']:>6.3f} {r['test_acc']:>6.3f} "
            f"{r['task_ceiling']:>7.3f} {r['converged_epoch']:>9} {r['epochs_run']:>6} "
            f"{r['train_seconds']:>7.1f} "
            f"{r['wall']:>6.1f}  {'yes' if ok else 'NO'}"
        )
    for key in ("train_acc", "test_acc", "converged_epoch", "wall"):
        vals = [float(r[key]) for r in rows]
        sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
        print(
            f"{key:>15}: mean {statistics.mean(vals):.3f} ± {sd:.3f} "
            f"(min {min(vals):.3f}, max {max(vals):.3f})"
        )
    gap = [r["train_acc"] - r["test_acc"] for r in rows]
    print(f"{'train-test gap':>15}: mean {statistics.mean(gap):+.3f}")
    print(
        "reference: train >= 0.95, test >= 0.93, converged within 50 epochs (30-50), under 120 s on 2 cores"
    )


if __name__ == "__main__":
    main()
