"""Running a sweep (`rnnscope compare` / `rnnscope context`) into its directory.

The directory must be new, empty, or hold this same sweep (a repeat skips finished runs and resumes
interrupted ones); sweep.json records the configuration. Each worker applies `run_and_draw` to its jobs:
it trains (rnnscope.sweep.worker.run_job, which draws nothing) and then draws the run's training curves,
in the worker, in parallel with the other jobs; whatever a worker could not draw (e.g. a run a previous
sweep finished) is drawn here afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rnnscope.rundir import RunPaths, chance_lines, check_sweep_dir, flagged_at_chance, write_sweep_file
from rnnscope.stages.train import write_curves
from rnnscope.sweep import Executor, make_executor, run_sweep
from rnnscope.sweep.store import aggregate
from rnnscope.sweep.worker import run_job


def prepare_sweep(out: str | Path, command: str, config: dict) -> bool:
    """Refuse a directory holding another configuration (or other files), record this one in sweep.json
    -> True when the directory already held this sweep (a repeat)."""
    repeat = check_sweep_dir(out, command, config)
    write_sweep_file(out, command, config)
    return repeat


def open_executor(
    backend: str = "local",
    threads: int = 1,
    ray_address: str | None = None,
    device: str = "cpu",
    gpu_fraction: float | None = None,
) -> Executor | None:
    """The executor a sweep runs on -> None for "local" (run_sweep then sizes a process pool to the jobs
    left); a RayExecutor, connected, for "ray" (BadArgument when the cluster cannot be reached: call this
    before anything is written)."""
    if backend == "local":
        make_executor(backend="local", threads=threads)  # validates threads; starts nothing
        return None
    return make_executor(
        backend=backend,
        threads=threads,
        ray_address=ray_address,
        device=device,
        gpu_fraction=gpu_fraction,
        fn=run_and_draw,
    )


def run_and_draw(job: dict) -> dict:
    """One job in a worker: `run_job`, then the run's training curves when it trained to the end and has
    none yet (a drawing failure is left to the driver's `draw_missing_curves`, which raises it)."""
    result = run_job(job)
    try:
        draw_missing_curves([result])
    except Exception:  # redrawn (and then raised) by the driver
        pass
    return result


def run_jobs(
    jobs: list[dict],
    on_result: Callable[[dict], None] | None = None,
    workers: int | None = None,
    executor: Executor | None = None,
    threads: int = 1,
) -> list[dict]:
    """Run the jobs (rnnscope.sweep.run_sweep) on `executor` (default: local worker processes with
    `threads` torch threads each), then draw the training curves they lack -> one result per job."""
    results = run_sweep(
        jobs, executor, on_result=on_result, workers=workers, threads=threads, fn=run_and_draw
    )
    draw_missing_curves(results)
    return results


def draw_missing_curves(results: list[dict]) -> None:
    """training_curves.png|svg of every run that trained to the end and has none yet."""
    for result in results:
        if result["status"] == "failed" or not result.get("metrics"):
            continue
        paths = RunPaths(result["out"])
        if not paths.training_curves.png.exists():
            write_curves(paths.root, metrics=result["metrics"])


def summary_lines(rows: list[dict], axis: str, key: str = "test_acc") -> list[str]:
    """The CLI's table of a sweep: seed means per model and axis value, the runs that stayed at chance
    counted per line, then one sentence naming them."""
    agg = aggregate(rows, axis, key)
    lines = [f"{'model':<12}{axis:>10}{'params':>9}  {key} mean ± std (n)"]
    params = {(r["model"], r[axis]): r["params"] for r in rows}
    flagged = [(r["model"], r[axis]) for r in flagged_at_chance(rows)]
    for a in agg:
        n = params.get((a["model"], a[axis]))
        stuck = flagged.count((a["model"], a[axis]))
        lines.append(
            f"{a['model']:<12}{a[axis]:>10}{n if n is not None else '':>9}  "
            f"{a['mean']:.3f} ± {a['std']:.3f} ({a['n']})"
            + (f"  at chance: {stuck} of {a['n']}" if stuck else "")
        )
    return lines + list(chance_lines(rows))
