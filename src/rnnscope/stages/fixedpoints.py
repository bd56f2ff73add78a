"""`rnnscope fixedpoints RUN_DIR`: fixed and slow points, their linearisation and the Lyapunov spectrum
of a trained recurrent run, written to RUN_DIR/fixedpoints/ (layout: rnnscope.rundir.FixedPointPaths).

    points.safetensors          FixedPoints under the zero or mean input (class-mean: one
                                points_class<K>.safetensors per class, K = class index)
    summary.json                FixedPointSummary: counts, per-point q / unstable modes / time constants /
                                periods, the Lyapunov exponents, the PCA's explained variance
    arrays.safetensors          what the figures draw (projected trajectories and points, eigenvalues,
                                the Lyapunov estimate), so the report can redraw them
    fixed_points_pca, eigenvalues, lyapunov_spectrum (.png|svg)   drawn by rnnscope.plots.fixedpoints

The data are the first `sequences` sequences of the run's test split (rebuilt from its config): their
trajectories give the starts (visited states plus noise), the PCA and the Lyapunov spectrum. Every
argument is checked and everything computed before the first file is written; the directory is then
replaced as a whole (a complete old or a complete new RUN_DIR/fixedpoints/).
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import numpy as np

from rnnscope.analysis.geometry import pca, project
from rnnscope.dynamics import (
    FixedPoints,
    fixed_points,
    fixed_points_by_class,
    lyapunov_spectrum,
    recorded_states,
    state_trajectories,
)
from rnnscope.dynamics.data import INPUT_MODES
from rnnscope.dynamics.system import require_recurrent
from rnnscope.errors import BadArgument
from rnnscope.plots import save_figure
from rnnscope.plots.fixedpoints import fixed_point_figures
from rnnscope.recording.store import replace_directory
from rnnscope.rundir import (
    FixedPointPaths,
    FixedPointSummary,
    PointSystem,
    RunPaths,
    write_arrays,
    write_fixed_point_summary,
)
from rnnscope.training.api import load_run

SEQUENCES = 256  # test sequences whose trajectories give starts, PCA and Lyapunov spectrum
LYAPUNOV_SEQUENCES = 64  # of those, the ones the Lyapunov spectrum follows
SHOWN = 40  # trajectories drawn under the points
SLOW_TOL = 1e-4  # q of a slow point (rnnscope.dynamics.fixed_points' default)


def validate(input_mode: str, starts, tol_q, seed, sequences) -> None:
    """Refuse bad arguments with one clear line (BadArgument) before anything is loaded or written."""
    if input_mode not in INPUT_MODES:
        raise BadArgument(f"unknown input mode {input_mode!r}; choose from {', '.join(INPUT_MODES)}")
    for name, value in (("starts", starts), ("sequences", sequences)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise BadArgument(f"{name} must be a positive integer, got {value!r}")
    if (
        isinstance(tol_q, bool)
        or not isinstance(tol_q, (int, float))
        or not math.isfinite(tol_q)
        or tol_q <= 0
    ):
        raise BadArgument(f"tol_q must be a finite number greater than zero, got {tol_q!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise BadArgument(f"seed must be a non-negative integer, got {seed!r}")


def fixed_point_report(
    run_dir: str | Path,
    *,
    input_mode: str = "zero",
    starts: int = 1024,
    tol_q: float = 1e-12,
    seed: int = 0,
    sequences: int = SEQUENCES,
    lyapunov_sequences: int = LYAPUNOV_SEQUENCES,
) -> FixedPointSummary:
    """Find the run's fixed points, linearise them, estimate its Lyapunov spectrum along the first
    `lyapunov_sequences` of the `sequences` test sequences; write RUN_DIR/fixedpoints/. Returns the
    summary."""
    validate(input_mode, starts, tol_q, seed, sequences)
    validate(input_mode, starts, tol_q, seed, lyapunov_sequences)
    run = load_run(run_dir)
    model = run.model.eval()
    require_recurrent(model)
    split = run.data.test
    x, lengths, labels = split.x[:sequences], split.lengths[:sequences], split.y[:sequences]
    traj = state_trajectories(model, x, lengths)  # (B, T, D)
    states = recorded_states(traj)
    slow_tol = max(SLOW_TOL, tol_q)
    kw = {"states": states, "tol_q": tol_q, "slow_tol": slow_tol, "seed": seed}
    if input_mode == "class-mean":
        found = fixed_points_by_class(model, x, lengths, labels, starts, **kw)
        names = list(run.data.class_names)
        systems = {
            k: (f"class {k} ({names[k]}) mean input" if k < len(names) else f"class {k} mean input", fp)
            for k, fp in found.items()
        }
    else:
        fp = fixed_points(model, input_mode, starts, data_x=x, lengths=lengths, **kw)
        systems = {None: (f"{input_mode} input", fp)}
    t0 = time.perf_counter()
    n_ly = min(lyapunov_sequences, len(x))
    ly = lyapunov_spectrum(model, x[:n_ly], lengths[:n_ly], burn_in=min(10, x.shape[1] // 4), seed=seed)
    ly_seconds = time.perf_counter() - t0
    valid = np.isfinite(traj).all(axis=2)
    axes = pca(traj, valid, n_components=min(2, traj.shape[2]))
    arrays = figure_arrays(traj[:SHOWN], valid[:SHOWN], axes, [fp for _, fp in systems.values()], ly)
    paths = RunPaths(run.path).fixedpoints
    summary = FixedPointSummary(
        kind=str(run.model_cfg.kind),
        state_size=int(traj.shape[2]),
        state_names=list(model.state_names),
        split="test",
        sequences=len(x),
        input_mode=input_mode,
        starts=int(starts),
        tol_q=float(tol_q),
        slow_tol=float(slow_tol),
        seed=int(seed),
        systems=[point_system(label, k, fp, paths.points(k).name) for k, (label, fp) in systems.items()],
        lyapunov={
            "exponents": [float(v) for v in ly.exponents],
            "k": int(ly.meta["k"]),
            "full": bool(ly.meta["full"]),
            "burn_in": int(ly.meta["burn_in"]),
            "sequences": int(ly.meta["sequences"]),
            "largest": ly.largest,
            "convergence": ly.convergence(),
            "seconds": ly_seconds,
        },
        pca_explained_variance_ratio=[float(v) for v in axes.explained_variance_ratio],
    )
    write_results(paths, systems, arrays, summary)
    return summary


def point_system(label: str, k: int | None, fp: FixedPoints, file: str) -> PointSystem:
    s = fp.summary()
    return PointSystem(
        label=label,
        class_index=k,
        inputs=[float(v) for v in fp.inputs],
        file=file,
        counts=fp.counts(),
        n_starts=int(fp.meta["n_starts"]),
        n_unconverged=int(fp.meta["n_unconverged"]),
        n_outliers=int(fp.meta["n_outliers"]),
        max_q=float(fp.meta["max_q"]),
        slow_set_dimension=int(fp.meta["slow_set_dimension"]),
        seconds=float(fp.meta["seconds"]),
        points=s["points"],
    )


def figure_arrays(traj, valid, axes, found: list[FixedPoints], ly) -> dict[str, np.ndarray]:
    """What the figures draw: trajectories (B, T, 2) and points (N, 2) on the PCA axes, the points'
    kinds (N,) (0 stable, 1 unstable, 2 slow), eigenvalues (N, D) as real and imaginary parts, the
    Lyapunov exponents (k,) and running estimate (T, k)."""
    pts = np.concatenate([fp.x for fp in found]) if found else np.zeros((0, traj.shape[2]))
    kind = np.concatenate([np.where(fp.slow, 2, np.where(fp.stable, 0, 1)) for fp in found]) if found else []
    eig = np.concatenate([fp.eigenvalues for fp in found]) if found else np.zeros((0, traj.shape[2]), complex)
    return {
        "trajectories": project(traj, axes, valid),
        "points": (pts - axes.mean) @ axes.components.T,
        "point_kind": np.asarray(kind, dtype=np.int64),
        "eigenvalues_real": eig.real,
        "eigenvalues_imag": eig.imag,
        "lyapunov_exponents": ly.exponents,
        "lyapunov_running": ly.running,
    }


def write_results(paths: FixedPointPaths, systems: dict, arrays: dict, summary: FixedPointSummary) -> None:
    """Write every file into a staging directory, then put it in place of RUN_DIR/fixedpoints/."""
    root = paths.dir.parent
    with tempfile.TemporaryDirectory(dir=root, prefix=".fixedpoints-") as tmp:
        staged = FixedPointPaths(Path(tmp) / paths.dir.name)
        staged.dir.mkdir()
        for k, (_, fp) in systems.items():
            fp.save(staged.points(k))
        write_arrays(staged.arrays, arrays)
        write_fixed_point_summary(staged.summary, summary)
        figs = fixed_point_figures(arrays, summary.pca_explained_variance_ratio)
        for key, fig in figs.items():
            save_figure(fig, staged.figure(key).stem)
        replace_directory(staged.dir, paths.dir)
