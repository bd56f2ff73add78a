"""Recording and unit analysis: speed against the fused forward, memory when recording to disk.

(a) Recording every state and gate (in memory, stepped path) vs a plain fused forward on the same data,
    per architecture: the ratio of their median CPU times (process time, robust to a busy machine; the
    wall-time ratio is printed too).
(b) Recording >= 10 M sequence-steps x 256 units to disk (float16) in a subprocess whose peak RSS
    (VmHWM) is read from /proc: it must stay <= 1 GB, because chunks are written as they are produced.
    The inputs are generated per chunk, so nothing of size N x T exists anywhere.
(c) `analyze_recording` of that recording (its default subsample: 262 sequences of 250 steps x 256
    units, at most 16.8 M values per layer; every estimator), in a subprocess: time (<= 60 s), peak RSS.

    python benchmarks/recording.py [--sequences 40000] [--steps 250] [--hidden 256] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from rnnscope.models import CausalTransformerClassifier, RecurrentClassifier
from rnnscope.recording import Recording, RecordSpec, record, record_to_disk
from rnnscope.unitreport import analyze_recording


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class SyntheticInputs:
    """An (N, T, C) array-like whose rows are generated on demand (seeded by the first row index)."""

    def __init__(self, n: int, t: int, c: int):
        self.shape = (n, t, c)

    def __getitem__(self, idx):
        idx = np.asarray(idx)
        rng = np.random.default_rng(int(idx[0]))
        return rng.standard_normal((len(idx), *self.shape[1:]), dtype=np.float32)


def bench_ratio(kind: str, n: int, t: int, hidden: int, repeats: int) -> tuple[float, ...]:
    """Median (wall, CPU) seconds of the fused forward, then of the recording."""

    torch.manual_seed(0)
    c, k = 3, 4
    if kind == "transformer":
        model = CausalTransformerClassifier(c, hidden, 2, k, heads=4).eval()
    else:
        model = RecurrentClassifier(kind, c, hidden, 2, k).eval()
    x = torch.randn(n, t, c)
    xn, y = x.numpy(), np.zeros(n, dtype=np.int64)
    spec = RecordSpec(chunk_size=n)  # everything the model has, one batch like the forward pass

    def fused():
        with torch.no_grad():
            model(x)

    def recorded():
        record(model, xn, None, y, spec)

    fused(), recorded()
    tf, tr = [], []
    for _ in range(repeats):  # alternate, so both see the same machine load
        for fn, times in ((fused, tf), (recorded, tr)):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times.append((time.perf_counter() - t0, time.process_time() - c0))
    return tuple(statistics.median(t[i] for t in times) for times in (tf, tr) for i in (0, 1))


def child_record(out: str, n: int, t: int, hidden: int, chunk: int) -> None:
    torch.manual_seed(0)
    model = RecurrentClassifier("rnn", 4, hidden, 1, 4).eval()
    x = SyntheticInputs(n, t, 4)
    y = np.random.default_rng(0).integers(4, size=n)
    spec = RecordSpec(quantities=("inputs", "hidden", "labels"), dtype="float16", chunk_size=chunk)
    t0, c0 = time.perf_counter(), time.process_time()
    rec = record_to_disk(model, x, out, None, y, spec)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    size = sum(c["bytes"] for c in rec.manifest["chunks"])
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "bytes": size,
                "peak_rss_mb": peak_rss_mb(),
                "chunks": len(rec.manifest["chunks"]),
            }
        )
    )


def child_analyze(path: str) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    rec = Recording(path).verify()
    report = analyze_recording(rec)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "peak_rss_mb": peak_rss_mb(),
                "sequences": report.summary["sequences_analyzed"],
                "steps": report.summary["steps"],
                "units": len(report.table),
                "roles": report.summary["role_counts_total"],
            }
        )
    )


def run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=int, default=40000)
    ap.add_argument("--steps", type=int, default=250)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--chunk-size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads in every process")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test, not the figures)")
    ap.add_argument(
        "--child-record", nargs=5, metavar=("OUT", "N", "T", "H", "CHUNK"), help=argparse.SUPPRESS
    )
    ap.add_argument("--child-analyze", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.child_record:
        out, *nums = args.child_record
        child_record(out, *map(int, nums))
        return
    if args.child_analyze:
        child_analyze(args.child_analyze)
        return
    if args.quick:
        args.sequences, args.steps, args.repeats = 2000, 100, 2

    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at start (wall times stretch with load; CPU times much less)"
    )
    print(
        "\n(a) recording every state + gate (stepped, in memory) vs the fused forward; 1024 x 100 steps, "
        "H = 64, 2 layers"
    )
    print(f"{'model':<12}{'fused CPU':>11}{'recorded CPU':>14}{'ratio':>7}{'ratio (wall)':>14}")
    for kind in ("rnn", "gru", "lstm", "transformer"):
        fw, fc, rw, rc = bench_ratio(kind, 1024, 100, 64, args.repeats)
        print(f"{kind:<12}{fc * 1e3:>9.0f}ms{rc * 1e3:>12.0f}ms{rc / fc:>6.1f}x{rw / fw:>13.1f}x")

    n, t, h = args.sequences, args.steps, args.hidden
    tmp = Path(tempfile.mkdtemp(prefix="rnnscope-bench-"))
    try:
        rec_dir = tmp / "rec"
        r = run_child(
            [
                "--threads",
                str(args.threads),
                "--child-record",
                str(rec_dir),
                str(n),
                str(t),
                str(h),
                str(args.chunk_size),
            ]
        )
        steps = n * t
        print(
            f"\n(b) recording {n:,} sequences x {t} steps = {steps / 1e6:.1f} M sequence-steps x {h} units "
            f"(tanh RNN; inputs, h, labels; float16) to disk"
        )
        print(
            f"    {r['seconds']:.1f} s wall, {r['cpu']:.1f} s CPU "
            f"({steps / r['seconds'] / 1e6:.2f} M steps/s wall), "
            f"{r['bytes'] / 1e9:.2f} GB in "
            f"{r['chunks']} chunks, peak RSS {r['peak_rss_mb']:.0f} MB "
            f"({'<=' if r['peak_rss_mb'] <= 1024 else '>'} 1024 MB: "
            f"{'PASS' if r['peak_rss_mb'] <= 1024 else 'FAIL'})"
        )
        a = run_child(["--threads", str(args.threads), "--child-analyze", str(rec_dir)])
        print(
            f"\n(c) unit analysis of that recording (analyze_recording: first {a['sequences']} sequences x "
            f"{a['steps']} steps x {a['units']} units, every estimator)"
        )
        print(
            f"    {a['seconds']:.1f} s wall, {a['cpu']:.1f} s CPU "
            f"({'<=' if a['seconds'] <= 60 else '>'} 60 s wall: {'PASS' if a['seconds'] <= 60 else 'FAIL'}), "
            f"peak RSS {a['peak_rss_mb']:.0f} MB; roles {a['roles']}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
