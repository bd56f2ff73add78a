"""rnnscope: train recurrent sequence classifiers, then open them up."""

from __future__ import annotations

__version__ = "0.1.0"

from rnnscope.config import DataConfig, ModelConfig, TrainConfig  # noqa: E402
from rnnscope.training.api import Run, load_run, resume, train  # noqa: E402

__all__ = ["__version__", "DataConfig", "ModelConfig", "TrainConfig", "Run", "train", "resume", "load_run"]
