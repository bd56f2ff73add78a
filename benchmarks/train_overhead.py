"""Training overhead: one epoch of rnnscope's loop vs a bare hand-written PyTorch loop.

Same fused module, same data, same batch order, same process; the two alternate and the medians are
compared. Also prints the achieved GFLOP/s of training next to a measured sgemm peak.

    python benchmarks/train_overhead.py [--repeats 7] [--model rnn]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from rnnscope.config import ModelConfig, TrainConfig
from rnnscope.models import build_model
from rnnscope.tasks import get_task
from rnnscope.training.loop import Trainer
from rnnscope.training.recipe import resolve_train


def bare_epoch(model, opt, x, y, perm, batch_size, clip):
    """The loop a person would write by hand."""
    model.train()
    for start in range(0, len(perm), batch_size):
        idx = perm[start : start + batch_size]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()


def training_flops(model, n: int, t: int, c: int) -> float:
    """Forward multiply-adds of the recurrent layers and head, x2 for FLOPs, x3 for forward+backward."""
    h, layers = model.hidden_size, model.num_layers
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[model.kind]
    per_step = gates * (c * h + h * h) + (layers - 1) * gates * 2 * h * h
    return 3 * 2 * n * t * per_step


def sgemm_peak(size: int = 1024, repeats: int = 10) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    return 2 * size**3 / min(times) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--model", default="rnn")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the CLI's default is 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    task = get_task("mixture")
    data = task.make(1500, 200, seed=0)
    # the built-in task's defaults (batch 32, ...), as `rnnscope train` resolves them (training.recipe)
    cfg, _ = resolve_train(TrainConfig(epochs=10, seed=0, device="cpu"), 1500, task.n_classes, real=False)
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind=args.model, hidden=args.hidden), task.input_size, task.n_classes)
    trainer = Trainer(model, data, cfg)
    tr = trainer.splits["train"]
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(1)
    ours, bare, full = [], [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        trainer.optimise_epoch()
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bare_epoch(model, opt, tr.x, tr.y, torch.randperm(tr.n, generator=gen), cfg.batch_size, cfg.clip)
        bare.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        trainer.train_epoch()
        full.append(time.perf_counter() - t0)
    m_ours, m_bare, m_full = statistics.median(ours), statistics.median(bare), statistics.median(full)
    flops = training_flops(model, tr.n, tr.x.shape[1], tr.x.shape[2])
    peak = sgemm_peak()
    print(
        f"model={args.model} hidden={args.hidden} sequences={tr.n} T={tr.x.shape[1]} batch={cfg.batch_size} "
        f"threads={torch.get_num_threads()} repeats={args.repeats}"
    )
    print(f"bare PyTorch loop, one epoch   : {m_bare * 1e3:8.1f} ms (median)")
    print(f"rnnscope optimise_epoch        : {m_ours * 1e3:8.1f} ms (median)")
    print(f"ratio rnnscope / bare          : {m_ours / m_bare:8.3f}   (target <= 1.05)")
    print(f"rnnscope epoch incl. evaluation: {m_full * 1e3:8.1f} ms (train, val, test passes; informational)")
    print(f"achieved training GFLOP/s      : {flops / m_ours / 1e9:8.2f}")
    print(
        f"sgemm peak GFLOP/s (1024^3)    : {peak:8.2f}   -> {flops / m_ours / 1e9 / peak:.1%} of peak "
        "(small per-step GEMMs of a recurrence are latency-bound)"
    )


if __name__ == "__main__":
    main()
