"""What two processes on this machine's cores can give at best: one single-threaded torch loop alone, then
two copies at once. Their throughput ratio is the ceiling for any 2-worker sweep here (benchmarks/sweep.py
measures the runner against it; docs/scale.md).

    python benchmarks/parallel_ceiling.py [--steps 60000]
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


def run(copies: int, steps: int) -> list[float]:
    code = LOOP.format(steps=steps)
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(copies)
    ]
    return [float(p.communicate()[0]) for p in procs]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60000)
    args = ap.parse_args()
    alone = run(1, args.steps)[0]
    pair = run(2, args.steps)
    speedup = 2 * alone / max(pair)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"one loop alone      {alone:6.2f} s")
    print(f"two loops at once   {pair[0]:6.2f} s, {pair[1]:6.2f} s")
    print(f"2-process throughput / 1-process: {speedup:.2f}x (the best a 2-worker sweep can do here)")


if __name__ == "__main__":
    main()
