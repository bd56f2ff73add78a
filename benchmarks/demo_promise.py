"""Does the demo keep its promise? The default `rnnscope train` + `rnnscope analyze` for seeds 0-4.

Each seed runs in its own process (one torch thread), exactly the defaults (`rnnscope train --out DIR
--seed S`, then `rnnscope analyze DIR`), and the script prints a Markdown table: accuracy, convergence
epoch, epochs run, training seconds and the unit roles (both layers together) per seed, then the spread
(min-max) over seeds next to the promise: train >= 0.95, test >= 0.93, converged <= 50 epochs, and at
least PROMISE units each of transient, integrator and oscillatory (intrinsic: the free runs ring).
The README and docs/analysis.md quote this output.

    nice -n 10 python benchmarks/demo_promise.py [--seeds 0,1,2,3,4] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROMISE = {"transient": 5, "integrator": 5, "oscillatory": 5}
ROLES = ("integrator", "latching", "oscillatory", "transient", "input-driven", "selective", "mixed",
         "unclassified", "silent")  # fmt: skip


def run_seed(seed: int, root: Path) -> dict:
    out = root / f"seed{seed}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cli = [sys.executable, "-m", "rnnscope.cli"]
    t0 = time.perf_counter()
    subprocess.run([*cli, "train", "--out", str(out), "--seed", str(seed), "--threads", "1", "--quiet"],
                   check=True, capture_output=True, env=env)  # fmt: skip
    wall = time.perf_counter() - t0
    subprocess.run([*cli, "analyze", str(out)], check=True, capture_output=True, env=env)
    m = json.loads((out / "metrics.json").read_text())
    with open(out / "analysis" / "units.csv", newline="") as fh:
        roles = [row["role"] for row in csv.DictReader(fh)]
    counts = {r: roles.count(r) for r in ROLES}
    return {"seed": seed, "train_wall": wall, **m, "roles": counts}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--out", default=None, help="keep the runs here (default: a temporary directory)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        rows = [run_seed(s, root) for s in seeds]
    head = ["seed", "train", "test", "converged", "epochs run", "train s", *ROLES]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [r["seed"], f"{r['train_acc']:.3f}", f"{r['test_acc']:.3f}", r["converged_epoch"],
                 r["epochs_run"], f"{r['train_seconds']:.0f}", *[r["roles"][k] for k in ROLES]]  # fmt: skip
        print("| " + " | ".join(map(str, cells)) + " |")

    def spread(values) -> str:
        return f"{min(values)}-{max(values)}" if min(values) != max(values) else f"{min(values)}"

    print()
    acc = {k: [round(r[k], 3) for r in rows] for k in ("train_acc", "test_acc")}
    print(f"train accuracy {spread(acc['train_acc'])} (promise >= 0.95), test {spread(acc['test_acc'])} "
          f"(>= 0.93), converged epoch {spread([r['converged_epoch'] for r in rows])} (<= 50), epochs run "
          f"{spread([r['epochs_run'] for r in rows])}")  # fmt: skip
    print(
        "units per role over seeds: "
        + ", ".join(f"{k} {spread([r['roles'][k] for r in rows])}" for k in ROLES)
    )
    kept = all(
        r["train_acc"] >= 0.95
        and r["test_acc"] >= 0.93
        and r["converged_epoch"] <= 50
        and all(r["roles"][k] >= n for k, n in PROMISE.items())
        for r in rows
    )
    print(f"promise kept for every seed: {'yes' if kept else 'NO'}")


if __name__ == "__main__":
    main()
