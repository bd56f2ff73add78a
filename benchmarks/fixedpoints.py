"""Fixed points: rnnscope vs FixedPointFinder's published algorithm, on the same network and starts.

The baseline follows FixedPointFinder (mattgolub/fixed-point-finder, PyTorch version) and its defaults:
Adam on the mean over points of q = 0.5 ||F(x) - x||² for all starts jointly, lr 1.0,
ReduceLROnPlateau(factor 0.95, patience 2), stop when every point has q < tol_q = 1e-12 or
|Δq| < tol_dq · lr with tol_dq = 1e-20, at most 5000 iterations, in the model's dtype (float32); then
uniqueness at tol 1e-3 (first occurrence kept), outliers beyond 10x the starts' mean distance to their
centroid dropped, Jacobians by batched autograd, eigenvalues by np.linalg.eig. rnnscope:
`rnnscope.dynamics.fixed_points` with the same tol_q, uniqueness and outlier rules (float64).

(a) The 3-bit flip-flop (16-unit tanh RNN, trained here with `rnnscope.train`), 1024 starts: recorded
    hidden states plus Gaussian noise (std 0.5), zero input — FixedPointFinder's own example.
(b) Scaling: a 256-unit GRU and a 2-layer LSTM (64 units per layer, D = 256), trained briefly (3 epochs)
    on the same task, 64 starts each (the baseline's 5000 Adam steps on D = 256 take a while on 1 thread).
Prints per case: CPU and wall seconds (the flip-flop: rnnscope best of 3 x `--repeats`, the baseline best
of 3, the two interleaved so that the shared machine's changes of speed hit both; the scaling cases: one
run each), their ratios, unique / stable / converged / slow points, the largest q of each and the fewest
minor page faults of one call of each. CPU time is the primary figure on a shared machine.

    python benchmarks/fixedpoints.py [--threads 1] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

try:
    import resource
except ImportError:  # not on Windows
    resource = None

import numpy as np
import torch

import rnnscope
from rnnscope.dynamics import fixed_points, recorded_states, sample_starts, state_trajectories
from rnnscope.models.protocol import state_vector, vector_state


def baseline(
    model,
    starts: np.ndarray,
    u: np.ndarray,
    *,
    max_iters: int = 5000,
    tol_q: float = 1e-12,
    tol_dq: float = 1e-20,
    tol_unique: float = 1e-3,
    outlier_scale: float = 10.0,
) -> dict:
    """FixedPointFinder's joint Adam optimisation and post-processing, in the model's float32."""
    n = len(starts)
    x = torch.nn.Parameter(torch.as_tensor(starts, dtype=torch.float32))
    uu = torch.as_tensor(u, dtype=torch.float32).expand(n, -1)
    opt = torch.optim.Adam([x], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.95, patience=2, cooldown=0)
    q_prev = torch.full((n,), float("nan"))
    params = [p for p in model.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:  # FixedPointFinder sets requires_grad=False on the model (and never restores it)
        p.requires_grad_(False)
    try:
        for it in range(max_iters):
            opt.zero_grad()
            fx = state_vector(model, model.step(uu, vector_state(model, x)))
            q = 0.5 * (fx - x).square().sum(1)
            q.mean().backward()
            opt.step()
            sched.step(q.mean().item())
            lr = opt.param_groups[0]["lr"]
            dq = (q.detach() - q_prev).abs()
            if it > 1 and bool(((dq < tol_dq * lr) | (q.detach() < tol_q)).all()):
                break
            q_prev = q.detach()
        iters = it + 1
        xs = x.detach()
        with torch.no_grad():
            qs = 0.5 * (state_vector(model, model.step(uu, vector_state(model, xs))) - xs).square().sum(1)
        xs, qs = xs.numpy(), qs.numpy()
        keep = []  # uniqueness: first occurrence kept
        for i in range(n):
            if not keep or np.linalg.norm(xs[keep] - xs[i], axis=1).min() > tol_unique:
                keep.append(i)
        xs, qs = xs[keep], qs[keep]
        centroid = starts.mean(0)
        scale = np.linalg.norm(starts - centroid, axis=1).mean()
        inside = np.linalg.norm(xs - centroid, axis=1) <= outlier_scale * scale
        xs, qs = xs[inside], qs[inside]
        xt = torch.as_tensor(xs)
        uk = uu[: len(xs)]

        def f_sum(v):
            return state_vector(model, model.step(uk, vector_state(model, v))).sum(0)

        jac = torch.autograd.functional.jacobian(f_sum, xt, vectorize=True).permute(1, 0, 2).numpy()
        eig = np.linalg.eigvals(jac.astype(np.float64))
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)
    stable = np.abs(eig).max(axis=1) < 1
    return {
        "points": len(xs),
        "stable": int(stable.sum()),
        "max_q": float(qs.max()),
        "iters": iters,
        "under_tol": int((qs <= tol_q).sum()),
    }


def ours(model, starts, u) -> dict:
    fp = fixed_points(model, u, starts, tol_q=1e-12, tol_unique=1e-3, outlier_scale=10.0)
    c = fp.counts()
    return {
        "points": len(fp),
        "stable": c["stable"],
        "max_q": float(fp.q.max()) if len(fp) else 0.0,
        "iters": fp.meta["lm_iterations_max"],
        "under_tol": c["fixed"],
        "slow": c["slow"],
        "jacobian": fp.meta["jacobian"],
    }


def timed(fn, repeats: int):
    """Best (wall, CPU) seconds of `repeats` calls, the last result and the fewest minor page faults of a
    call (`resource.getrusage`; 0 where the platform has no such count)."""
    wall, cpu, out, faults = float("inf"), float("inf"), None, None
    for _ in range(repeats):
        f0 = _minor_faults()
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
        faults = _minor_faults() - f0 if faults is None else min(faults, _minor_faults() - f0)
    return wall, cpu, out, faults


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource is not None else 0


def case(name: str, kind: str, size: tuple[int, int], epochs: int, n_starts: int, repeats: tuple[int, int]):
    """size: (hidden, layers); repeats: (rnnscope calls per round, interleaved rounds)."""
    (hidden, layers), (repeats, base_repeats) = size, repeats
    t0 = time.perf_counter()
    run = rnnscope.train(
        task="flipflop",
        task_params={"n_bits": 3},
        n_train=1000,
        n_test=200,
        model=kind,
        hidden=hidden,
        layers=layers,
        epochs=epochs,
        lr=1e-2,
        seed=0,
        device="cpu",
    )
    model = run.model.eval()
    states = recorded_states(state_trajectories(model, run.data.test.x))
    starts = sample_starts(states, n_starts, noise_std=0.5, seed=0)
    u = np.zeros(model.input_size)
    print(
        f"\n== {name}: {kind}, {layers} layer(s) x {hidden} units, D = {starts.shape[1]}, {n_starts} starts, "
        f"zero input; trained {epochs} epochs, test accuracy {run.metrics['test_acc']:.3f} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    ours(model, starts[:8], u)  # warm-up (imports, first torch.func call, torch.optim's first step)
    baseline(model, starts[:8], u, max_iters=3)
    w_ours = c_ours = w_base = c_base = float("inf")
    f_ours = f_base = None
    for _ in range(base_repeats):  # interleaved, so a change in the machine's speed hits both
        w, c, r_ours, f = timed(lambda: ours(model, starts, u), repeats)
        w_ours, c_ours, f_ours = min(w_ours, w), min(c_ours, c), f if f_ours is None else min(f_ours, f)
        w, c, r_base, f = timed(lambda: baseline(model, starts, u), 1)
        w_base, c_base, f_base = min(w_base, w), min(c_base, c), f if f_base is None else min(f_base, f)
    print(
        f"{'':28s}{'CPU s':>8s}{'wall s':>8s}{'unique':>8s}{'stable':>8s}{'q<=1e-12':>10s}{'slow':>6s}"
        f"{'max q':>10s}{'iters':>7s}"
    )
    for label, c, w, r in (
        ("FixedPointFinder algorithm", c_base, w_base, r_base),
        ("rnnscope", c_ours, w_ours, r_ours),
    ):
        print(
            f"{label:28s}{c:8.3f}{w:8.3f}{r['points']:8d}{r['stable']:8d}{r['under_tol']:10d}"
            f"{r.get('slow', 0):6d}{r['max_q']:10.1e}{r['iters']:7d}"
        )
    print(
        f"ratio FixedPointFinder / rnnscope: CPU {c_base / c_ours:.1f}x, wall {w_base / w_ours:.1f}x   "
        f"(rnnscope Jacobians: {r_ours['jacobian']}; iters: Adam steps vs the most LM steps of any point)"
    )
    print(f"minor page faults per call (fewest): FixedPointFinder algorithm {f_base}, rnnscope {f_ours}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small scaling cases")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"# torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} CPUs, "
        f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    case("3-bit flip-flop (FixedPointFinder's example)", "rnn", (16, 1), 20, 1024, (args.repeats, 3))
    n = 16 if args.quick else 64
    case("scaling: GRU", "gru", (256, 1), 3, n, (1, 1))
    case("scaling: stacked LSTM", "lstm", (64, 2), 3, n, (1, 1))


if __name__ == "__main__":
    main()
