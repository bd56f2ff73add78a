"""rnnscope: train recurrent sequence classifiers, then open them up.

The top-level names are imported lazily, so `import rnnscope` (and every CLI command that needs no
model) does not pay for importing torch.
"""

from __future__ import annotations

from rnnscope.lazy import lazy_names

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

__getattr__, __dir__ = lazy_names(globals(), _LAZY)
