"""1NN baselines on a real-data run's own split, written into its metrics.json when training ends.

`add_baselines(out, metrics)` loads the run's data again at full rate (its normalisation and truncation,
no downsampling: the series as loaded, so that on the UCR/UEA sets the archive's published 1NN-ED and
1NN-DTW accuracies are reproduced), computes both baselines (rnnscope.analysis.nearest) and adds to metrics:
`baseline_1nn_ed`, `baseline_1nn_dtw` (test accuracy, or None when skipped) and `baselines` (seconds and
the reason for each skip). Built-in tasks get none (they have a ceiling instead).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rnnscope import rundir
from rnnscope.analysis.nearest import DTW_BUDGET, one_nn_baselines
from rnnscope.config import DataConfig, from_dict
from rnnscope.training.api import load_data

KEYS = ("baseline_1nn_ed", "baseline_1nn_dtw")


def compute_baselines(data_cfg: DataConfig, dtw_budget: float = DTW_BUDGET) -> dict:
    """{"baseline_1nn_ed": acc | None, "baseline_1nn_dtw": acc | None, "baselines": {name: details}}."""
    full = dataclasses.replace(data_cfg, downsample=None)
    data, _ = load_data(full, 0)
    found = one_nn_baselines(data.train, data.test, dtw_budget)
    return {**{k: found[k]["accuracy"] for k in KEYS}, "baselines": found}


def skipped_baselines(reason: str) -> dict:
    return {
        **{k: None for k in KEYS},
        "baselines": {k: {"accuracy": None, "seconds": 0.0, "skipped": reason} for k in KEYS},
    }


def add_baselines(out: str | Path, metrics: dict, enabled: bool = True) -> dict:
    """Add the baselines of a real-data run to `metrics` (in place) and rewrite its metrics.json."""
    config = rundir.read_config(out)
    data_cfg = from_dict(DataConfig, config["data"])
    if data_cfg.task is not None:
        return metrics
    metrics.update(compute_baselines(data_cfg) if enabled else skipped_baselines("--no-baselines was given"))
    rundir.write_metrics(out, metrics)
    return metrics
