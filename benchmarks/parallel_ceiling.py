"""What two processes on this machine's cores can give at best: one single-threaded workload alone, then
two copies at once. Their throughput ratio is the ceiling for any 2-worker sweep here (benchmarks/sweep.py
measures the runner against it; docs/scale.md). Two workloads:

    loop    a tanh(a @ w) loop (64 x 128 @ 128 x 128): arithmetic in the cores' caches
    train   the sweep's own work: `rnnscope.train` of a GRU (6000 parameters) on the evidence task,
            T = 40, 600 sequences, 10 epochs, timed inside the process (training only, no start-up):
            training also streams activations, gradients and optimizer state through memory, which two
            processes on a shared virtual machine's cores share less well than arithmetic

    python benchmarks/parallel_ceiling.py [--steps 60000] [--workload loop|train]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import torch

LOOP = """
import time, torch
torch.set_num_threads(1)
a, w = torch.randn(64, 128), torch.randn(128, 128)
t = time.perf_counter()
for _ in range({steps}):
    a = torch.tanh(a @ w * 0.05)
print(time.perf_counter() - t)
"""


TRAIN = """
import time, torch, rnnscope
torch.set_num_threads(1)
kw = dict(task="evidence", task_params={{"seq_len": 40}}, n_train=600, n_test=200, model="gru",
          match_params=6000, epochs={epochs}, seed=0, device="cpu")
rnnscope.train(**{{**kw, "epochs": 1}})  # warm-up: imports, first optimizer step
print(rnnscope.train(**kw).metrics["train_seconds"])
"""


def run(copies: int, steps: int, workload: str = "loop") -> list[float]:
    code = LOOP.format(steps=steps) if workload == "loop" else TRAIN.format(epochs=max(1, steps // 6000))
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(copies)
    ]
    return [float(p.communicate()[0]) for p in procs]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60000, help="loop steps (train: epochs = steps / 6000)")
    ap.add_argument("--workload", choices=("loop", "train"), default="loop")
    args = ap.parse_args()
    alone = run(1, args.steps, args.workload)[0]
    pair = run(2, args.steps, args.workload)
    speedup = 2 * alone / max(pair)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"workload: {args.workload}")
    print(f"one alone           {alone:6.2f} s")
    print(f"two at once         {pair[0]:6.2f} s, {pair[1]:6.2f} s")
    print(f"2-process throughput / 1-process: {speedup:.2f}x (the best a 2-worker sweep can do here)")


if __name__ == "__main__":
    main()
