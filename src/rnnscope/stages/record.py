"""`rnnscope record RUN_DIR`: record a split through the trained model into RUN_DIR/recording/."""

from __future__ import annotations

from pathlib import Path

from rnnscope.recording.runs import record_run
from rnnscope.recording.spec import RecordSpec


def record(
    run_dir: str | Path,
    *,
    split: str = "test",
    max_sequences: int | None = None,
    spec: RecordSpec | None = None,
):
    """Record `split` of the run's data (the first `max_sequences`) -> the Recording written."""
    return record_run(run_dir, split=split, max_sequences=max_sequences, spec=spec)


def describe(rec, split: str, dtype: str) -> list[str]:
    """What `rnnscope record` prints about a recording of `split` stored as `dtype`."""
    size = sum(c["bytes"] for c in rec.manifest["chunks"])
    return [
        (
            f"recorded {rec.n_sequences} {split} sequences x {len(rec.steps)} steps: "
            f"{len(rec.names)} arrays, {len(rec.manifest['chunks'])} chunks, {size / 1e6:.1f} MB ({dtype})"
        ),
        f"recording: {rec.path}",
    ]
