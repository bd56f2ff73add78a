"""Recording: what to record (a validated RecordSpec), the recorder, and the on-disk Recording.

    spec = RecordSpec(quantities=("hidden", "probs", "labels"), dtype="float16")
    arrays = record(model, x, lengths, labels, spec)              # in memory: {name: (S, ...) array}
    rec = record_to_disk(model, x, "rec", lengths, labels, spec)  # streamed, chunk by chunk
    rec.read("hidden.l0", slice(0, 100)), rec.mask()

Format and conventions: docs/recording.md.
"""

from rnnscope.lazy import lazy_names

# Imported on first use, so that reading the constants (e.g. for `--help`) does not import torch.
_LAZY = {
    "eval_mode": "rnnscope.recording.recorder",
    "record": "rnnscope.recording.recorder",
    "record_chunks": "rnnscope.recording.recorder",
    "record_to_disk": "rnnscope.recording.recorder",
    "ALWAYS": "rnnscope.recording.spec",
    "DTYPES": "rnnscope.recording.spec",
    "QUANTITIES": "rnnscope.recording.spec",
    "Plan": "rnnscope.recording.spec",
    "RecordSpec": "rnnscope.recording.spec",
    "Recording": "rnnscope.recording.store",
    "RecordingWriter": "rnnscope.recording.store",
}

__all__ = [
    "ALWAYS",
    "DTYPES",
    "QUANTITIES",
    "Plan",
    "RecordSpec",
    "Recording",
    "RecordingWriter",
    "eval_mode",
    "record",
    "record_chunks",
    "record_to_disk",
]

__getattr__, __dir__ = lazy_names(globals(), _LAZY)
