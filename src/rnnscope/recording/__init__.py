"""Recording: what to record (a validated RecordSpec), the recorder, and the on-disk Recording.

    spec = RecordSpec(quantities=("hidden", "probs", "labels"), dtype="float16")
    arrays = record(model, x, lengths, labels, spec)              # in memory: {name: (S, ...) array}
    rec = record_to_disk(model, x, "rec", lengths, labels, spec)  # streamed, chunk by chunk
    rec.read("hidden.l0", slice(0, 100)), rec.mask()

Format and conventions: docs/recording.md.
"""

from rnnscope.recording.recorder import eval_mode, record, record_chunks, record_to_disk
from rnnscope.recording.runs import matching_recording, record_run, recording_dir
from rnnscope.recording.spec import ALWAYS, DTYPES, QUANTITIES, Plan, RecordSpec
from rnnscope.recording.store import Recording, RecordingWriter

__all__ = [
    "ALWAYS",
    "DTYPES",
    "QUANTITIES",
    "Plan",
    "RecordSpec",
    "Recording",
    "RecordingWriter",
    "eval_mode",
    "matching_recording",
    "record",
    "record_chunks",
    "record_run",
    "record_to_disk",
    "recording_dir",
]
