"""Streaming inference: single-stream latency, 4096-stream throughput against the GEMM floor, and the
per-step cost of the RNN vs the KV-cache Transformer as the context grows.

Everything is measured in this run, candidates alternating in rounds; each figure is the best round
(the least disturbed by other work on a shared machine). Printed:

1. latency of one step for one stream (µs): StreamPool.feed vs model.step (+ readout) vs the fused
   module with T=1, for rnn / lstm / gru / transformer (2 layers, H=128);
2. throughput with 4096 concurrent streams of a 2-layer H=128 tanh RNN (stream-steps/s): StreamPool
   one step per call, StreamPool in chunks of 16 (stepped and fused), the baseline of two plain
   nn.RNNCell (+ the same readout), and the GEMM floor: the time of the (4096 x C)(C x 128) and
   (4096 x 128)(128 x 128) matmuls of every layer, i.e. the arithmetic no implementation avoids;
3. one step at context 256 / 1024 / 4096: the RNN's cost and state stay flat, the Transformer's grow.

    python benchmarks/streaming.py [--rounds 7] [--streams 4096] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from rnnscope.config import ModelConfig
from rnnscope.models import build_model, count_params, hidden_for_params
from rnnscope.streaming import StreamPool

H, LAYERS, K = 128, 2, 4


def best_of(fns: dict, rounds: int, number: int) -> dict:
    """Seconds per call of each function: candidates alternate; the best round counts."""
    best = {k: float("inf") for k in fns}
    for f in fns.values():  # warm up
        f()
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = time.perf_counter()
            for _ in range(number):
                f()
            best[k] = min(best[k], (time.perf_counter() - t0) / number)
    return best


def load() -> str:
    try:
        return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "load average n/a"


def _step_candidates(kind: str, c: int) -> dict:
    """One step of one stream, three ways: StreamPool.feed, model.step + readout, fused module T=1."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind=kind, hidden=H, layers=LAYERS), c, K).eval()
    x = torch.randn(1, c)
    pool = StreamPool(model, capacity=1)
    slot = pool.open()
    st = {"s": model.init_state(1)}

    if kind == "transformer":  # the KV cache grows: time the first position of a fresh stream

        def via_pool():
            pool.close(slot)
            pool.open()
            return pool.feed([slot], x)

        def via_step():
            with torch.no_grad():
                return model.readout(model.step(x, model.init_state(1))).softmax(-1)

        return {"pool": via_pool, "step": via_step}

    def via_step():
        with torch.no_grad():
            st["s"] = model.step(x, st["s"])
            return model.readout(st["s"]).softmax(-1)

    def via_fused():
        with torch.no_grad():
            out, st["h"] = model.core(x[:, None], st.get("h"))
            return model.head(out[:, -1]).softmax(-1)

    return {"pool": lambda: pool.feed([slot], x), "step": via_step, "fused": via_fused}


def latency(rounds: int, c: int) -> None:
    print(f"\n1. single-stream latency per step (2 layers, H={H}, C={c}), µs")
    print(f"{'model':<12}{'StreamPool':>12}{'model.step':>12}{'fused T=1':>12}{'pool/step':>11}")
    for kind in ("rnn", "lstm", "gru", "transformer"):
        t = best_of(_step_candidates(kind, c), rounds, 200)
        fused = f"{t['fused'] * 1e6:>12.1f}" if "fused" in t else f"{'-':>12}"
        print(
            f"{kind:<12}{t['pool'] * 1e6:>12.1f}{t['step'] * 1e6:>12.1f}{fused}{t['pool'] / t['step']:>11.2f}"
        )


def throughput(rounds: int, streams: int, c: int, chunk: int = 16) -> dict:
    """Stream-steps/s of 2-layer H=128 tanh RNNs at `streams` concurrent streams. Every candidate reads
    fresh input each step (cycling through `chunk` different arrays), as a live pipeline would."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="rnn", hidden=H, layers=LAYERS), c, K).eval()
    pools = {m: StreamPool(model, capacity=streams, chunk_method=m) for m in ("stepped", "fused")}
    for p in pools.values():
        p.open_many(streams)
    slots = range(streams)
    xc = torch.randn(streams, chunk, c)
    xs = [xc[:, t].contiguous() for t in range(chunk)]
    cell0, cell1 = torch.nn.RNNCell(c, H), torch.nn.RNNCell(H, H)
    hs = [torch.zeros(streams, H), torch.zeros(streams, H)]

    def cells():
        with torch.no_grad():
            for x in xs:
                hs[0] = cell0(x, hs[0])
                hs[1] = cell1(hs[0], hs[1])
                model.head(hs[1]).softmax(-1)

    def steps():
        for x in xs:
            pools["stepped"].feed(slots, x)

    a_in, w_in = torch.randn(streams, c), torch.randn(c, H)
    a, w, o = torch.randn(streams, H), torch.randn(H, H), torch.empty(streams, H)

    def gemm():
        for _ in range(chunk):
            torch.mm(a_in, w_in, out=o)
            torch.mm(a, w, out=o)
            for _ in range(LAYERS - 1):
                torch.mm(a, w, out=o)
                torch.mm(a, w, out=o)

    t = best_of(
        {
            "gemm": gemm,
            "pool": steps,
            "cells": cells,
            "stepped": lambda: pools["stepped"].feed(slots, xc),
            "fused": lambda: pools["fused"].feed(slots, xc),
        },
        rounds,
        1,
    )
    t = {k: v / chunk for k, v in t.items()}
    per = {
        "GEMM floor": t["gemm"],
        "StreamPool, 1 step per call": t["pool"],
        f"StreamPool, chunks of {chunk} (stepped)": t["stepped"],
        f"StreamPool, chunks of {chunk} (fused nn.RNN)": t["fused"],
        "baseline: 2 x nn.RNNCell + head": t["cells"],
    }
    print(
        f"\n2. throughput, {streams} streams, 2-layer H={H} tanh RNN, C={c} "
        f"({count_params(model):,} parameters), stream-steps/s"
    )
    for name, sec in per.items():
        print(
            f"   {name:<42}{streams / sec / 1e6:>7.2f} M/s   {sec * 1e3:>7.3f} ms/step   "
            f"{t['gemm'] / sec:>5.0%} of floor   {t['cells'] / sec:>5.2f}x baseline"
        )
    return {name: streams / sec for name, sec in per.items()}


def chunked_latency(rounds: int, c: int, chunk: int = 16) -> None:
    """One stream, rows arriving `chunk` at a time: µs per step, stepped vs fused, vs single steps."""
    print(f"\n1b. one stream, rows in chunks of {chunk}: µs per step (single steps for comparison)")
    print(f"{'model':<12}{'1 per call':>12}{'stepped':>12}{'fused':>12}")
    for kind in ("rnn", "lstm", "gru"):
        torch.manual_seed(0)
        model = build_model(ModelConfig(kind=kind, hidden=H, layers=LAYERS), c, K).eval()
        pools = {m: StreamPool(model, capacity=1, chunk_method=m) for m in ("stepped", "fused")}
        slot = {m: p.open() for m, p in pools.items()}
        xc = torch.randn(1, chunk, c)
        xs = [xc[:, t] for t in range(chunk)]

        def single(p=pools["stepped"], s=slot["stepped"], xs=xs):
            for x in xs:
                p.feed([s], x)

        t = best_of(
            {
                "single": single,
                **{m: (lambda p=p, s=slot[m], xc=xc: p.feed([s], xc)) for m, p in pools.items()},
            },
            rounds,
            20,
        )
        print(f"{kind:<12}" + "".join(f"{t[k] / chunk * 1e6:>12.1f}" for k in ("single", "stepped", "fused")))


def _one_step(model, x, state):
    with torch.no_grad():
        return model.readout(model.step(x, state)).softmax(-1)


def context_cost(rounds: int, c: int) -> None:
    """One step (model.step + readout) of one stream whose state holds `context` steps; the state is
    reused unchanged for every timed call, so the context is exact."""
    torch.manual_seed(0)
    rnn = build_model(ModelConfig(kind="rnn", hidden=H, layers=LAYERS), c, K).eval()
    cfg = hidden_for_params(ModelConfig(kind="transformer", layers=LAYERS), c, K, count_params(rnn))
    tf = build_model(cfg, c, K).eval()
    print(
        f"\n3. one step of one stream at a given context, µs (rnn H={H}: {count_params(rnn):,} parameters; "
        f"transformer D={cfg.hidden}: {count_params(tf):,})"
    )
    print(f"{'context':>8}{'rnn':>10}{'transformer':>14}{'ratio':>8}{'rnn state':>12}{'KV cache':>12}")
    models = {"rnn": rnn, "transformer": tf}
    pools = {k: StreamPool(m, capacity=1) for k, m in models.items()}
    slots = {k: p.open() for k, p in pools.items()}
    x = torch.randn(1, c)
    for context in (256, 1024, 4096):
        for k, p in pools.items():  # grow the stream to `context` steps
            p.feed([slots[k]], torch.randn(1, context - p.steps(slots[k]), c))
        states = {k: p.state(slots[k]) for k, p in pools.items()}

        t = best_of(
            {k: (lambda m=m, st=states[k]: _one_step(m, x, st)) for k, m in models.items()}, rounds, 20
        )
        sb = {k: p.state_bytes(slots[k]) for k, p in pools.items()}
        print(
            f"{context:>8}{t['rnn'] * 1e6:>10.1f}{t['transformer'] * 1e6:>14.1f}"
            f"{t['transformer'] / t['rnn']:>8.1f}{sb['rnn'] / 1024:>10.1f} K"
            f"{sb['transformer'] / 2**20:>10.2f} M"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--streams", type=int, default=4096)
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--input-sizes", default="128,4", help="C values for the throughput table")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, {load()}")
    latency(args.rounds, 4)
    chunked_latency(args.rounds, 4)
    for c in (int(v) for v in args.input_sizes.split(",")):
        throughput(args.rounds, args.streams, c)
    context_cost(args.rounds, 4)
    print(f"\n{load()}")


if __name__ == "__main__":
    main()
