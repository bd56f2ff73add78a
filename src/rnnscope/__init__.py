"""rnnscope: train recurrent sequence classifiers, then open them up.

The top-level names are imported lazily, so `import rnnscope` (and every CLI command that needs no
model) does not pay for importing torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "DataConfig": "rnnscope.config",
    "ModelConfig": "rnnscope.config",
    "TrainConfig": "rnnscope.config",
    "Run": "rnnscope.training.api",
    "train": "rnnscope.stages.train",
    "resume": "rnnscope.stages.train",
    "load_run": "rnnscope.training.api",
    "wrap": "rnnscope.models.wrapping",
    "import_model": "rnnscope.stages.imported",
    "analyze_activity": "rnnscope.stages.activity",
    "fixed_points": "rnnscope.dynamics",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnnscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
