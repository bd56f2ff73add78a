"""Cost curves: every model at every length, each point measured in a fresh process, within budgets.

Models are matched in size (`hidden_for_params`, ±10 %). A series (one model, lengths ascending)
stops cleanly when the next point would break the memory or time budget — predicted from the
log-log trend of the points so far — or when a point runs out of memory (the child process has a hard
data-size limit, so it fails alone instead of starving the machine) or out of time. The stopped
lengths are kept as rows whose status says why.

Key: T = sequence length, B = batch.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from rnnscope.config import ModelConfig
from rnnscope.costs.measure import state_bytes
from rnnscope.errors import BadArgument
from rnnscope.models import MODEL_KINDS, hidden_for_params

COLUMNS = [
    "model",
    "length",
    "hidden",
    "params",
    "batch",
    "device",
    "threads",
    "train_step_seconds",
    "inference_seconds",
    "train_peak_bytes",
    "inference_peak_bytes",
    "state_bytes",
    "memory_method",
    "status",
    "note",
]
METRICS = [
    "train_step_seconds",
    "inference_seconds",
    "train_peak_bytes",
    "inference_peak_bytes",
    "state_bytes",
]
_SLACK = 512 * 2**20  # data-size headroom of a child over the memory budget (its own setup)
_SRC = str(Path(__file__).resolve().parents[2])  # so the child imports this very rnnscope


@dataclass(frozen=True)
class BenchSpec:
    """What `rnnscope bench` measures. Validated at construction."""

    models: tuple[str, ...] = MODEL_KINDS  # architectures to compare
    lengths: tuple[int, ...] = (64, 256, 1024, 4096, 16384)  # sequence lengths T, measured ascending
    params: int = 20_000  # parameter budget every model is matched to (±10 %)
    batch: int = 8  # sequences per call
    layers: int = 2  # recurrent layers / transformer blocks
    input_size: int = 3  # input channels C
    n_classes: int = 4  # classes K
    max_memory_bytes: int = 4 * 2**30  # a point must stay below this peak (predicted and enforced)
    max_seconds: float = 30.0  # a single call must stay below this (predicted; also ends repeats)
    repeats: int = 3  # calls per point; the best is kept
    device: str = "cpu"  # "cpu" | "cuda" | "cuda:N"
    threads: int | None = None  # torch threads in each measuring process (None: torch's default)

    def __post_init__(self) -> None:
        if not self.models:
            raise BadArgument("give at least one model")
        unknown = [m for m in self.models if m not in MODEL_KINDS]
        if unknown:
            raise BadArgument(f"unknown model {unknown[0]!r}; choose from {', '.join(MODEL_KINDS)}")
        if len(set(self.models)) != len(self.models):
            raise BadArgument("a model is named twice")
        if not self.lengths:
            raise BadArgument("give at least one length")
        bad = [t for t in self.lengths if isinstance(t, bool) or not isinstance(t, int) or t < 1]
        if bad:
            raise BadArgument(f"lengths must be positive integers, got {bad[0]!r}")
        for name in ("params", "batch", "layers", "input_size", "n_classes", "repeats", "max_memory_bytes"):
            if getattr(self, name) < 1:
                raise BadArgument(f"{name} must be positive, got {getattr(self, name)}")
        if not self.max_seconds > 0:
            raise BadArgument(f"max_seconds must be positive, got {self.max_seconds}")
        if self.device != "cpu" and not self.device.startswith("cuda"):
            raise BadArgument(f"device must be cpu or cuda, got {self.device!r}")


def default_memory_budget() -> int:
    """Half the memory available now, at most 4 GiB (4 GiB where it cannot be read)."""
    try:
        with open("/proc/meminfo") as f:
            avail = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return 4 * 2**30
    return min(4 * 2**30, avail // 2)


def plan(spec: BenchSpec) -> dict[str, ModelConfig]:
    """The matched-size ModelConfig of every model; ValueError naming the first that cannot match."""
    configs = {}
    for kind in spec.models:
        base = ModelConfig(kind=kind, layers=spec.layers)
        try:
            configs[kind] = hidden_for_params(base, spec.input_size, spec.n_classes, spec.params)
        except ValueError as err:
            raise BadArgument(f"--params {spec.params}: {err}") from None
    return configs


def measure_row(spec: BenchSpec, cfg: ModelConfig, length: int) -> dict:
    """Both phases of one point in a fresh Python process.

    Returns {"inference": result, "train": result} (see `measure_point`), or {"failure": status, "note"}
    with status out_of_memory | timeout | failed.
    """
    job = {
        "point": {
            "cfg": asdict(cfg),
            "input_size": spec.input_size,
            "n_classes": spec.n_classes,
            "length": length,
            "batch": spec.batch,
            "device": spec.device,
            "repeats": spec.repeats,
            "max_seconds": spec.max_seconds,
            "threads": spec.threads,
        },
        "phases": ["inference", "train"],
        "limit_bytes": spec.max_memory_bytes + _SLACK if spec.device == "cpu" else None,
    }
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(p for p in [_SRC, os.environ.get("PYTHONPATH", "")] if p)
    )
    deadline = 2 * (3 * spec.max_seconds + 30)  # first calls may run past max_seconds; a hung one may not
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnscope.costs.child", json.dumps(job)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        out, err = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"failure": "timeout", "note": f"no result within {deadline:.0f} s"}
    lines = out.strip().splitlines()
    if proc.returncode == -signal.SIGKILL:  # not sent by us: the kernel's out-of-memory killer
        return {"failure": "out_of_memory", "note": "the measuring process was killed"}
    if proc.returncode != 0 or not lines:
        last = (err.strip().splitlines() or ["no output"])[-1]
        return {"failure": "failed", "note": f"the measuring process failed (exit {proc.returncode}): {last}"}
    result = json.loads(lines[-1])
    if "error" in result:
        return {"failure": "out_of_memory" if result["oom"] else "failed", "note": result["error"]}
    return result


def _predict(done: list[tuple[int, float]], length: int) -> float | None:
    """Extrapolate a cost to `length` from (T, y) points so far: the last two points' log-log slope,
    or slope 2 (quadratic, the cautious guess) from a single point."""
    pts = [(t, y) for t, y in done if y and y > 0 and math.isfinite(y)]
    if not pts:
        return None
    if len(pts) == 1:
        (t0, y0), slope = pts[0], 2.0
    else:
        (t1, y1), (t0, y0) = pts[-2], pts[-1]
        slope = max(math.log(y0 / y1) / math.log(t0 / t1), 0.0) if t0 != t1 else 2.0
    return y0 * (length / t0) ** slope


def run_series(spec: BenchSpec, kind: str, cfg: ModelConfig, progress=None) -> list[dict]:
    """Rows of cost.csv for one model, lengths ascending, stopping at the first budget."""
    rows, stop, times, peaks, threads = [], None, [], [], spec.threads or _threads()
    for length in sorted(spec.lengths):
        row = {
            "model": kind,
            "length": length,
            "hidden": cfg.hidden,
            "params": None,
            "batch": spec.batch,
            "device": spec.device,
            "threads": threads,
            "state_bytes": state_bytes(cfg, length),
            "memory_method": "",
            "status": "ok",
            "note": "",
        }
        for m in METRICS[:4]:
            row[m] = math.nan
        if stop is None:
            t_pred, m_pred = _predict(times, length), _predict(peaks, length)
            if t_pred is not None and t_pred > spec.max_seconds:
                row["status"] = "skipped_time"
                row["note"] = f"predicted training step {t_pred:.3g} s > budget {spec.max_seconds:g} s"
            elif m_pred is not None and m_pred > spec.max_memory_bytes:
                row["status"] = "skipped_memory"
                row["note"] = (
                    f"predicted peak {m_pred / 2**20:.0f} MiB > budget "
                    f"{spec.max_memory_bytes / 2**20:.0f} MiB"
                )
            else:
                _measure_row(spec, cfg, length, row)
            if row["status"] == "ok":
                times.append((length, row["train_step_seconds"]))
                peaks.append((length, max(row["train_peak_bytes"], row["inference_peak_bytes"])))
            else:
                stop = (
                    row["status"] if row["status"].startswith("skipped") else "not_run",
                    f"series stopped at T={length} ({row['status']})",
                )
        else:
            row["status"], row["note"] = stop
        rows.append(row)
        if progress is not None:
            progress(row)
    return rows


def _threads() -> int:
    return torch.get_num_threads()


def _measure_row(spec: BenchSpec, cfg: ModelConfig, length: int, row: dict) -> None:
    """Measure both phases into `row`; a status other than "ok" stops the series after this row."""
    res = measure_row(spec, cfg, length)
    if "failure" in res:
        row["status"], row["note"] = res["failure"], res["note"]
        return
    for phase, t_col, m_col in (
        ("inference", "inference_seconds", "inference_peak_bytes"),
        ("train", "train_step_seconds", "train_peak_bytes"),
    ):
        r = res[phase]
        row[t_col], row[m_col] = r["seconds"], r["peak_bytes"]
        row["params"], row["memory_method"] = r["params"], r["memory_method"]
        if r["over_time"]:
            row["status"], row["note"] = "over_time", f"{phase}: one call took {r['seconds']:.3g} s"
        if r["peak_bytes"] > spec.max_memory_bytes:
            row["status"], row["note"] = "over_memory", f"{phase}: peak {r['peak_bytes'] / 2**20:.0f} MiB"


def run_bench(spec: BenchSpec, progress=None) -> list[dict]:
    """Every model's series; rows in COLUMNS order (NaN where a value was not measured)."""
    configs = plan(spec)
    rows = []
    for kind, cfg in configs.items():
        rows += run_series(spec, kind, cfg, progress)
    return [{c: r.get(c) for c in COLUMNS} for r in rows]
