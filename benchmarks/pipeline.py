"""Benchmark: `rnnscope run` on the defaults (train → record → analyse → gradients → report), and the
report build alone.

Prints the time of every stage, the pipeline's total against its own training stage (the baseline: the
ratio is what everything after training costs), the report build alone (a fresh `rnnscope report`
process, and the build inside a warm process), and what the report's bytes are made of. Targets: the
whole pipeline <= 90 s on 2 cores, the report alone <= 5 s. The machine may be shared: the load average
and the CPU time of the child processes are printed next to the wall-clock times.

    python benchmarks/pipeline.py [--keep DIR] [extra `rnnscope run` options, e.g. --epochs 5]
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnnscope.report import build_report

CLI = [sys.executable, "-c", "import sys; from rnnscope.cli import main; sys.exit(main())"]
TARGET_PIPELINE, TARGET_REPORT = 90.0, 5.0


def timed(argv: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of the child, result) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv[3:])} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc


def composition(html: str) -> list[tuple[str, int]]:
    parts = [
        ("figures (PNG data URLs)", r'src="data:image/png;base64,[^"]*"'),
        (
            "explorer data (JSON, int16 base64)",
            r'<script type="application/json" id="explorer-data">.*?</script>',
        ),
        ("downloads (CSV/JSON data URLs)", r'href="data:(?:text/csv|application/json)[^"]*"'),
        ("style + script", r"<style>.*?</style>|<script>.*?</script>"),
    ]
    out, rest = [], len(html.encode())
    for name, pattern in parts:
        n = sum(len(m.encode()) for m in re.findall(pattern, html, re.DOTALL))
        out.append((name, n))
        rest -= n
    return out + [("tables and text", rest)]


def main(argv: list[str]) -> int:
    keep = None
    if argv[:1] == ["--keep"]:
        keep, argv = Path(argv[1]), argv[2:]
    work = Path(tempfile.mkdtemp(prefix="rnnscope-bench-pipeline-"))
    out = work / "run"
    print(f"machine: {os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"command: rnnscope run --out DIR --quiet {' '.join(argv)}".rstrip())
    wall, cpu, _ = timed([*CLI, "run", "--out", str(out), "--quiet", *argv])
    stages = json.loads((out / "pipeline.json").read_text())["stages"]
    print(f"\n{'stage':<12}{'status':<9}{'wall s':>8}{'CPU s':>8}   note")
    for s in stages:
        print(
            f"{s['name']:<12}{s['status']:<9}{s['seconds']:>8.2f}{s.get('cpu_seconds') or 0:>8.2f}   "
            f"{s.get('note') or ''}"
        )
    train = next(s["seconds"] for s in stages if s["name"] == "train")
    print(
        f"{'total':<21}{wall:>8.2f}{cpu:>8.2f}   the whole command (interpreter start and imports included)"
    )
    print(
        f"\npipeline / its training stage: {wall / train:.2f}x  "
        f"(everything after training: {wall - train:.1f} s)"
    )

    cold = [timed([*CLI, "report", str(out)])[:2] for _ in range(3)]
    best = min(cold)

    warm = []
    for _ in range(3):
        t0 = time.perf_counter()
        path = build_report(out)
        warm.append(time.perf_counter() - t0)
    size = path.stat().st_size
    print(
        f"\nreport alone, fresh process (`rnnscope report DIR`, best of 3): {best[0]:.2f} s "
        f"(CPU {best[1]:.2f} s, most of it importing torch and scipy)"
    )
    print(f"report alone, build in a warm process (best of 3):              {min(warm):.2f} s")
    print(f"report / pipeline: {best[0] / wall:.3f}x")
    print(f"\nreport.html: {size / 1e6:.2f} MB")
    for name, n in composition(path.read_text()):
        print(f"  {name:<36}{n / 1e6:>6.2f} MB")
    ok_pipe, ok_report = wall <= TARGET_PIPELINE, best[0] <= TARGET_REPORT
    busy = os.getloadavg()[0] > (os.cpu_count() or 1)
    if busy:
        print(
            f"\nthe machine is shared (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs): the "
            f"CPU times are what an idle machine would take; pipeline CPU {cpu:.1f} s "
            f"({'within' if cpu <= TARGET_PIPELINE else 'OVER'} {TARGET_PIPELINE:.0f} s), report CPU "
            f"{best[1]:.2f} s ({'within' if best[1] <= TARGET_REPORT else 'OVER'} {TARGET_REPORT:.0f} s)"
        )
    print(
        f"\ntarget pipeline <= {TARGET_PIPELINE:.0f} s: {'met' if ok_pipe else 'MISSED'} ({wall:.1f} s); "
        f"target report <= {TARGET_REPORT:.0f} s: {'met' if ok_report else 'MISSED'} ({best[0]:.2f} s)"
    )
    if keep is not None:
        shutil.rmtree(keep, ignore_errors=True)
        shutil.move(str(out), keep)
        print(f"run kept in {keep}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
