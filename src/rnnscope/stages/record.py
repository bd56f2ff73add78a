"""`rnnscope record RUN_DIR`: record a split through the trained model into RUN_DIR/recording/.

The manifest's `source` names the split, the model file's SHA-256 and the spec, so `analyze` can tell a
recording that still matches the model from a stale one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rnnscope.errors import BadArgument
from rnnscope.io import RunFileError, sha256
from rnnscope.recording.recorder import plan_for, record_to_disk
from rnnscope.recording.spec import RecordSpec
from rnnscope.recording.store import Recording
from rnnscope.rundir import RunPaths
from rnnscope.training.api import load_run

SPLITS = ("train", "test")


def recording_dir(run_dir: str | Path) -> Path:
    return RunPaths(run_dir).recording


def record_run(
    run_dir: str | Path,
    *,
    split: str = "test",
    max_sequences: int | None = None,
    spec: RecordSpec | None = None,
    run=None,
    out: str | Path | None = None,
) -> Recording:
    """Record `split` of a run's data through its model into RUN_DIR/recording/ (replacing an old one).

    max_sequences: record only the first N sequences of the split (overrides spec.max_sequences).
    run: an already loaded Run for run_dir (saves loading it twice).
    out: write the recording there instead of RUN_DIR/recording (e.g. a temporary directory).
    """

    if split not in SPLITS:
        raise BadArgument(f"split must be train or test, got {split!r}")
    run_dir = Path(run_dir)
    run = load_run(run_dir) if run is None else run
    spec = RecordSpec() if spec is None else spec
    if max_sequences is not None:
        spec = dataclasses.replace(spec, max_sequences=max_sequences)
    data = getattr(run.data, split)
    plan_for(run.model, data.x, data.lengths, data.y, spec)  # everything is validated before writing
    meta = {
        "split": split,
        "model_sha256": model_hash(run_dir),
        "task": run.data_cfg.task,
        "class_names": list(run.data.class_names),
        "spec": {"max_sequences": spec.max_sequences, "sequences": spec.sequences},
    }
    out = recording_dir(run_dir) if out is None else Path(out)
    return record_to_disk(run.model, data.x, out, data.lengths, data.y, spec, meta, overwrite=True)


def model_hash(run_dir: str | Path) -> str:
    path = RunPaths(run_dir).model
    if not path.exists():
        raise RunFileError(f"{run_dir} has no {path.name}; train it first (rnnscope train)")
    return sha256(path)


def matching_recording(
    run_dir: str | Path, split: str, names: list[str], n_sequences: int
) -> Recording | None:
    """RUN_DIR/recording if it was made from the current model and `split`, holds every array in `names`
    and every step, and holds the first n_sequences sequences of the split; else None (record again).

    A recording whose manifest is unreadable raises RunFileError rather than being replaced silently."""
    paths = RunPaths(run_dir)
    if not paths.recording_manifest.exists():
        return None
    rec = Recording(paths.recording)
    src = rec.source
    if src.get("split") != split or src.get("model_sha256") != model_hash(run_dir):
        return None
    if any(n not in rec for n in names) or len(rec.steps) != rec.manifest.get("seq_len"):
        return None
    if src.get("spec", {}).get("sequences") is not None or rec.n_sequences < n_sequences:
        return None
    return rec


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
