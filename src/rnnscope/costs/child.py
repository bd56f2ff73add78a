"""The measuring process of `rnnscope bench`: `python -m rnnscope.costs.child JOB_JSON`.

One fresh interpreter per point keeps memory measurements honest (no allocator cache from earlier
points) and an out-of-memory failure local to that point.
"""

from __future__ import annotations

import ctypes
import gc
import json
import resource
import sys

from rnnscope.costs.measure import measure_point, status_kb


def _trim() -> None:
    """Give freed heap memory back to the OS, so the next phase's resident-set baseline is honest."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _limit_data(extra_bytes: int) -> None:
    """Cap this process's data segment at its current size + extra_bytes: an allocation past it fails
    (torch raises) instead of the kernel killing processes on a shared machine."""
    now = status_kb("VmData")
    if now is None:
        return
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(resource.RLIMIT_DATA, (now * 1024 + extra_bytes, hard))
    except (ValueError, OSError):
        pass


def main(argv: list[str] | None = None) -> int:
    """argv[0] is JSON {"point": measure_point kwargs without phase, "phases": [...],
    "limit_bytes": int | None}; prints one JSON line {phase: result} or {"error", "oom"}."""
    job = json.loads((argv if argv is not None else sys.argv[1:])[0])
    if job.get("limit_bytes"):
        _limit_data(job["limit_bytes"])
    out, phase = {}, "warm-up"
    try:
        for p in job["phases"]:  # lazy initialisation (libraries, kernels) is paid here, not measured
            measure_point(**{**job["point"], "length": min(job["point"]["length"], 8), "repeats": 0}, phase=p)
        _trim()
        for phase in job["phases"]:
            out[phase] = measure_point(**job["point"], phase=phase)
            _trim()
    except (MemoryError, RuntimeError) as err:
        text = (str(err).strip().splitlines() or [err.__class__.__name__])[0]
        oom = isinstance(err, MemoryError) or "alloc" in text.lower() or "memory" in text.lower()
        out = {"error": f"{phase}: {text}", "oom": oom}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
