"""One cost measurement: a model at one sequence length, one phase (training step or inference).

Run it in a fresh process per point (`python -m rnnscope.costs.child JSON`, see `runner.py`): peak
memory is the process's resident-set
high-water mark during the first call minus the resident set just before it (Linux: VmHWM, reset via
/proc/self/clear_refs), which sees every allocation torch makes — tracemalloc would not. On CUDA it is
`torch.cuda.max_memory_allocated` minus the allocation before the call. Time is the best of
`repeats` calls (the least disturbed by other work on the machine).

Key: B = batch, T = sequence length, C = input channels, K = classes.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F

from rnnscope.config import ModelConfig
from rnnscope.errors import BadArgument
from rnnscope.models import build_model, count_params
from rnnscope.models.protocol import is_recurrent, state_size

_STATUS = Path("/proc/self/status")


def status_kb(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def state_bytes(cfg: ModelConfig, length: int, itemsize: int = 4) -> int:
    """Bytes of inference state one sequence carries after `length` steps, read off the model protocol
    (the model is built on the meta device: nothing is allocated).

    Recurrent: the state vector, D = Σ_l H_l x parts (h; h and c for the LSTM) — fixed. Otherwise the
    model's `cache_bytes` (the Transformer: keys and values of every layer at every position,
    L * 2 * T * D, plus the top residual stream D).
    """
    with torch.device("meta"):
        model = build_model(cfg, 1, 2)
    if is_recurrent(model):
        return state_size(model) * itemsize
    return model.cache_bytes(length, itemsize)


def measure_point(
    cfg: dict,
    input_size: int,
    n_classes: int,
    length: int,
    batch: int,
    phase: str,
    device: str = "cpu",
    repeats: int = 3,
    max_seconds: float = 30.0,
    threads: int | None = None,
) -> dict:
    """Time and peak memory of one phase ("train": forward + loss + backward + Adam step; "inference":
    forward under inference_mode) on random input x (B, T, C).

    Returns {"seconds": best time, "peak_bytes", "calls", "memory_method", "params", "over_time"}.
    The first call measures memory; up to `repeats` more are timed, stopping once `max_seconds` have
    been spent (when the first call alone used the budget, its time is reported).
    """
    if phase not in ("train", "inference"):
        raise BadArgument(f"phase must be train or inference, got {phase!r}")
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model_cfg = ModelConfig(**cfg)
    model = build_model(model_cfg, input_size, n_classes).to(device)
    x = torch.randn(batch, length, input_size, device=device)
    y = torch.randint(0, n_classes, (batch,), device=device)
    cuda = device.startswith("cuda")
    if phase == "train":
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def call():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
    else:
        model.eval()

        def call():
            with torch.inference_mode():
                model(x)

    # the first call: peak memory
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        method = "cuda_max_memory_allocated"
    else:
        method = "rss_hwm_reset" if _reset_hwm() else "rss_hwm"
        base = (status_kb("VmRSS") or 0) * 1024
    t0 = time.perf_counter()
    call()
    if cuda:
        torch.cuda.synchronize(device)
    first = time.perf_counter() - t0
    peak = (torch.cuda.max_memory_allocated(device) if cuda else (status_kb("VmHWM") or 0) * 1024) - base
    # then the timed calls (the first one paid for lazy initialisation), within the time budget
    times, spent = [], first
    while len(times) < repeats and spent < max_seconds:
        t0 = time.perf_counter()
        call()
        if cuda:
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
        spent += times[-1]
    times = times or [first]
    return {
        "seconds": min(times),
        "peak_bytes": max(int(peak), 0),
        "calls": len(times),
        "memory_method": method,
        "params": count_params(model),
        "over_time": first > max_seconds,
    }
