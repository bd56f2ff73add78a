"""`fixed_points(model, inputs, starts)`: fixed and slow points of a recurrent protocol model, linearised.

The autonomous map x -> F(x, u) with the input u held constant is the model's own `step` on its whole
stacked state (`system.StepMap`, float64 copy). From every start: batched Newton steps on F(x) - x = 0
with a per-point trust radius and a per-point Levenberg-Marquardt fallback, per-point stopping and
merging of points settled on one root (`solve.newton_lm`; an Adam warm start on q = 0.5 ||F(x) - x||² is
optional, `warm_iters`). Points with
q <= tol_q are fixed points, those with tol_q < q <= slow_tol slow points (kept apart, `slow`), the rest
are dropped; then outliers and duplicates go (`unique.py`), and each point is linearised
(`linearise.py`). docs/fixedpoints.md justifies every choice and default.

Key: N = starts / points, D = state size, C = input channels, M = recorded states, K = classes.
"""

from __future__ import annotations

import math
import time

import numpy as np

from rnnscope.dynamics.data import input_from_data, recorded_states, sample_starts, state_trajectories
from rnnscope.dynamics.linearise import linearise, mode_loadings, periods, slow_set_dimension, time_constants
from rnnscope.dynamics.points import FixedPoints
from rnnscope.dynamics.solve import newton_lm, polish, settled_cell, warm_start
from rnnscope.dynamics.system import StepMap, require_recurrent
from rnnscope.dynamics.unique import inliers, near_any, unique_points
from rnnscope.errors import BadArgument

MARGINAL = 0.01  # a fixed point with a mode within MARGINAL of |λ| = 1 (|τ| >= ~100 steps) joins the slow set


def _positive(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise BadArgument(f"{name} must be a finite number greater than zero, got {value!r}")


def _count(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise BadArgument(f"{name} must be an integer >= {minimum}, got {value!r}")


def resolve_input(model, inputs, data_x=None, lengths=None) -> tuple[np.ndarray, str]:
    """The constant input (C,) and a name for it: "zero", "mean" (needs data_x) or a given array."""
    if isinstance(inputs, str):
        if inputs == "class-mean":
            raise BadArgument(
                "input mode 'class-mean' gives one input per class: use "
                "fixed_points_by_class (or input_from_data(..., mode='class-mean'))"
            )
        if inputs == "zero":
            return np.zeros(model.input_size), "zero"
        if inputs == "mean":
            if data_x is None:
                raise BadArgument("input mode 'mean' needs the data: pass data_x (B, T, C)")
            return input_from_data(data_x, lengths, mode="mean"), "mean"
        raise BadArgument(
            f"unknown input mode {inputs!r}; choose from zero, mean, class-mean "
            "or give a constant input array"
        )
    u = np.asarray(inputs, dtype=np.float64)
    if u.shape != (model.input_size,) or not np.isfinite(u).all():
        raise BadArgument(
            f"a constant input must be {model.input_size} finite numbers (the model's input "
            f"size), got shape {u.shape}"
        )
    return u, "constant"


def resolve_starts(fmap: StepMap, starts, states, data_x, lengths, noise_std, seed) -> np.ndarray:
    """An (N, D) array of starts: given, or `starts` recorded states (given or from data_x) plus noise."""
    if isinstance(starts, (bool, int, np.integer)):
        _count("starts", starts, 1)
        if states is None:
            if data_x is None:
                raise BadArgument(
                    "a count of starts needs recorded states (states=) or data (data_x=) to sample them from"
                )
            states = recorded_states(state_trajectories(fmap.source, data_x, lengths))
        states = np.asarray(states, dtype=np.float64)
        if states.ndim != 2 or states.shape[1] != fmap.D:
            raise BadArgument(f"recorded states must have shape (M, {fmap.D}), got {states.shape}")
        return sample_starts(states, int(starts), noise_std, seed)
    x0 = np.asarray(starts, dtype=np.float64)
    if x0.ndim != 2 or x0.shape[1] != fmap.D or len(x0) == 0:
        raise BadArgument(
            f"starts must be a positive count or an (N, {fmap.D}) array of states with N >= 1, "
            f"got shape {x0.shape}"
        )
    if not np.isfinite(x0).all():
        raise BadArgument("starts must be finite")
    return x0


def fixed_points(
    model,
    inputs="zero",
    starts=1024,
    *,
    states=None,
    data_x=None,
    lengths=None,
    noise_std: float = 0.5,
    tol_q: float = 1e-12,
    slow_tol: float = 1e-4,
    tol_unique: float = 1e-3,
    outlier_scale: float | None = 10.0,
    max_iters: int = 100,
    warm_iters: int = 0,
    warm_lr: float = 0.05,
    n_modes: int = 3,
    seed: int = 0,
) -> FixedPoints:
    """Fixed and slow points of `model` under a constant input, with their linearisation.

    inputs: "zero", "mean" (the mean input of data_x (B, T, C) over valid steps) or a constant (C,).
    starts: an (N, D) array of states, or a count N sampled (seeded) from `states` (M, D) — or from the
        states the model visits on data_x when states is None — plus Gaussian noise of std `noise_std`.
    tol_q: fixed-point tolerance on q = 0.5 ||F(x) - x||²; slow_tol: points with tol_q < q <= slow_tol
        are slow points. tol_unique: points closer than this (Euclidean) are one point.
    outlier_scale: drop points farther than this times the starts' mean distance from their centroid
        (None keeps all). max_iters: Newton / Levenberg-Marquardt iterations per point; warm_iters,
        warm_lr: an optional Adam warm start (off by default). n_modes: modes whose unit loadings are
        kept. The model is never changed.
    """
    t0 = time.perf_counter()
    require_recurrent(model)
    for name, value in (
        ("tol_q", tol_q),
        ("slow_tol", slow_tol),
        ("tol_unique", tol_unique),
        ("warm_lr", warm_lr),
    ):
        _positive(name, value)
    _positive("outlier_scale", outlier_scale, allow_none=True)
    if not (isinstance(noise_std, (int, float)) and math.isfinite(noise_std) and noise_std >= 0):
        raise BadArgument(f"noise_std must be a finite number >= 0, got {noise_std!r}")
    if slow_tol < tol_q:
        raise BadArgument(f"slow_tol ({slow_tol}) must be at least tol_q ({tol_q})")
    _count("max_iters", max_iters, 1)
    _count("warm_iters", warm_iters, 0)
    _count("n_modes", n_modes, 0)
    u, input_mode = resolve_input(model, inputs, data_x, lengths)
    fmap = StepMap(model, u)
    x0 = resolve_starts(fmap, starts, states, data_x, lengths, noise_std, seed)

    x = warm_start(fmap, fmap.tensor(x0), warm_iters, warm_lr)
    sol = newton_lm(
        fmap,
        x,
        tol_q=tol_q,
        max_iters=max_iters,
        merge_cell=settled_cell(fmap.D, tol_unique),
        slow_tol=slow_tol,
    )
    xs, qs = sol.x.cpu().numpy().astype(np.float64), sol.q.cpu().numpy().astype(np.float64)
    finite = np.isfinite(qs) & np.isfinite(xs).all(axis=1)
    is_fixed = finite & (qs <= tol_q)
    is_slow = finite & (qs > tol_q) & (qs <= slow_tol)
    keep = inliers(xs, x0, outlier_scale)
    n_outliers = int(((is_fixed | is_slow) & ~keep).sum())
    is_fixed &= keep
    is_slow &= keep

    fi, fcount = unique_points(xs[is_fixed], qs[is_fixed], tol_unique)
    fixed_x, fixed_q = polish(fmap, xs[is_fixed][fi], qs[is_fixed][fi], tol_q)
    slow_x_all, slow_q_all = xs[is_slow], qs[is_slow]
    apart = ~near_any(slow_x_all, fixed_x, tol_unique)  # a slow point at a fixed point is that point
    si, scount = unique_points(slow_x_all[apart], slow_q_all[apart], tol_unique)
    px = np.concatenate([fixed_x, slow_x_all[apart][si]])
    pq = np.concatenate([fixed_q, slow_q_all[apart][si]])
    slow = np.concatenate([np.zeros(len(fi), bool), np.ones(len(si), bool)])
    count = np.concatenate([fcount, scount]).astype(np.int64)

    jac = (
        fmap.jacobian(fmap.tensor(px)).cpu().numpy().astype(np.float64)
        if len(px)
        else np.zeros((0, fmap.D, fmap.D))
    )
    lin = linearise(jac)
    mag = np.abs(lin.eigenvalues)
    n_unstable = (mag > 1.0).sum(axis=1).astype(np.int64)
    slow_set = px[slow | (np.abs(mag - 1) <= MARGINAL).any(axis=1)]  # slow points, marginal fixed points
    dim, explained = slow_set_dimension(slow_set, min_spread=tol_unique)
    meta = {
        "input_mode": input_mode,
        "tol_q": tol_q,
        "slow_tol": slow_tol,
        "tol_unique": tol_unique,
        "outlier_scale": outlier_scale,
        "max_iters": max_iters,
        "warm_iters": warm_iters,
        "warm_lr": warm_lr,
        "noise_std": noise_std,
        "seed": seed,
        "n_starts": len(x0),
        "n_converged": int((finite & (qs <= tol_q)).sum()),
        "n_slow_candidates": int((finite & (qs > tol_q) & (qs <= slow_tol)).sum()),
        "n_unconverged": int((~finite | (qs > slow_tol)).sum()),
        "n_outliers": n_outliers,
        "max_q": float(pq.max()) if len(pq) else 0.0,
        "lm_iterations_max": int(sol.iterations.max()),
        "lm_iterations_mean": float(sol.iterations.double().mean()),
        "dtype": str(fmap.dtype).replace("torch.", ""),
        "jacobian": "closed-form" if fmap.closed_form else "torch.func.jacrev",
        "state_size": fmap.D,
        "layer_sizes": list(model.layer_sizes),
        "state_names": list(model.state_names),
        "slow_set_size": len(slow_set),
        "slow_set_dimension": dim,
        "slow_set_explained_variance": [float(v) for v in explained[:5]],
        "marginal": MARGINAL,
        "seconds": time.perf_counter() - t0,
    }
    return FixedPoints(
        x=px,
        q=pq,
        slow=slow,
        stable=n_unstable == 0,
        n_unstable=n_unstable,
        eigenvalues=lin.eigenvalues,
        time_constants=time_constants(lin.eigenvalues),
        periods=periods(lin.eigenvalues),
        loadings=mode_loadings(lin.eigenvectors, n_modes),
        count=count,
        inputs=u,
        meta=meta,
    )


def fixed_points_by_class(model, x, lengths, labels, starts=1024, **kwargs) -> dict[int, FixedPoints]:
    """`fixed_points` once per class, the input held at that class's mean input over data x (B, T, C).
    Starts are sampled from the states the model visits on x (unless `states` or an array is given)."""
    require_recurrent(model)
    means = input_from_data(x, lengths, labels, mode="class-mean")
    if isinstance(starts, (bool, int, np.integer)) and kwargs.get("states") is None:
        kwargs["states"] = recorded_states(state_trajectories(model, x, lengths))
    return {
        k: fixed_points(model, means[k], starts, **kwargs)
        for k in range(len(means))
        if np.isfinite(means[k]).all()
    }
