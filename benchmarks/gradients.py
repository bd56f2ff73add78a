"""Exact per-step gradients of every layer vs one plain fused forward+backward on the same batch.

For each 2-layer model (rnn, lstm, gru; H = 128, B = 64, T = 100 and 200) three things alternate in one
process and the medians are compared:

    plain     F.cross_entropy(model(x), y).backward(): the fused kernel (cuDNN on GPU), weight gradients
    exact     rnnscope.gradients.step_gradients: total ∂L/∂h_t of every layer (and ∂L/∂c_t, ∂L/∂x_t)
    naive     rnnscope.gradients.unrolled_gradients: the cells unrolled under autograd, retain_grad on every
              h_t (the reference implementation; --no-naive skips it)

    python benchmarks/gradients.py [--repeats 7] [--threads 1] [--device cpu|cuda] [--no-naive]
                                   [--keep-denormals]
                                   [--clock auto|cpu|wall]

Subnormal floats are flushed to zero by default: over 200 steps the vanishing gradients of a freshly
initialised network pass through the subnormal range, where x86 arithmetic is ~100x slower, and that
would time the CPU's denormal handling (equally slow for all three) instead of the methods.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from rnnscope.config import ModelConfig
from rnnscope.gradients import step_gradients, unrolled_gradients
from rnnscope.models import build_model


def timed(fn, device: torch.device, clock) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = clock()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return clock() - t0


def bench(kind: str, t_len: int, args, device: torch.device) -> dict[str, float]:
    torch.manual_seed(0)
    model = (
        build_model(ModelConfig(kind=kind, hidden=args.hidden, layers=2), args.channels, 4).to(device).eval()
    )
    x = torch.randn(args.batch, t_len, args.channels, device=device)
    y = torch.randint(0, 4, (args.batch,), device=device)

    def plain():
        loss = F.cross_entropy(model(x), y)
        model.zero_grad(set_to_none=True)
        loss.backward()

    fns = {"plain": plain, "exact": lambda: step_gradients(model, x, y)}
    if args.naive:
        fns["naive"] = lambda: unrolled_gradients(model, x, y)
    for fn in fns.values():  # warm-up (allocator, cuDNN plans, first-call overheads)
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(args.repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn, device, args.clock_fn))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--lengths", default="100,200")
    ap.add_argument("--models", default="rnn,lstm,gru")
    ap.add_argument("--no-naive", dest="naive", action="store_false")
    ap.add_argument("--keep-denormals", dest="flush", action="store_false")
    ap.add_argument(
        "--clock",
        choices=["auto", "cpu", "wall"],
        default="auto",
        help="cpu: this process's CPU time (robust on a shared machine; single thread only); "
        "auto: cpu for --device cpu --threads 1, else wall",
    )
    args = ap.parse_args()
    if args.clock == "auto":
        args.clock = "cpu" if args.device == "cpu" and args.threads == 1 else "wall"
    args.clock_fn = time.process_time if args.clock == "cpu" else time.perf_counter
    flushed = args.flush and torch.set_flush_denormal(True)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu, {torch.get_num_threads()} threads"
    )
    print(
        f"# torch {torch.__version__}, {name}; 2 layers, H={args.hidden}, B={args.batch}, C={args.channels}; "
        f"medians of {args.repeats} alternating repeats, {args.clock} time; "
        f"denormals {'flushed' if flushed else 'kept'}"
    )
    print(
        f"{'model':<6}{'T':>5}{'plain ms':>10}{'exact ms':>10}{'exact/plain':>13}"
        + (f"{'naive ms':>10}{'naive/plain':>13}" if args.naive else "")
    )
    for kind in args.models.split(","):
        for t_len in (int(t) for t in args.lengths.split(",")):
            m = bench(kind, t_len, args, device)
            line = (
                f"{kind:<6}{t_len:>5}{m['plain'] * 1e3:>10.1f}{m['exact'] * 1e3:>10.1f}"
                f"{m['exact'] / m['plain']:>12.2f}x"
            )
            if args.naive:
                line += f"{m['naive'] * 1e3:>10.1f}{m['naive'] / m['plain']:>12.2f}x"
            print(line, flush=True)


if __name__ == "__main__":
    main()
