import os
import random

import numpy as np
import pytest
import torch

# Ray's single-machine mode for the whole session (read when `ray` is first imported): the Ray head the
# tests start binds 127.0.0.1 only (tests/test_sweep_ray.py, docs/scale.md).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

# One intra-op thread for the whole suite, as `rnnscope train` uses by default: the models are tiny, and on
# two busy cores a second thread made a 20-epoch flip-flop training ~8x slower (3.5 s -> 27 s, measured
# with two other jobs running; docs/training.md, "Why one thread").
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """`rnnscope ARGV` in-process -> (exit status, stdout, stderr); argparse's SystemExit included."""
    from rnnscope.cli import main

    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def tiny_train_args(epochs: int = 1) -> list[str]:
    """`rnnscope train` options for a run of a few seconds (evidence task, 8 steps, 6 units)."""
    return [
        "--task",
        "evidence",
        "--task-param",
        "seq_len=8",
        "--n-train",
        "48",
        "--n-test",
        "24",
        "--hidden",
        "6",
        "--epochs",
        str(epochs),
        "--quiet",
    ]


# The sections every run report has, in order (tests/test_report*.py).
RUN_SECTIONS = [
    "run",
    "training",
    "explorer",
    "heatmap",
    "roles",
    "pca",
    "gradient-flow",
    "gradient-evolution",
    "learning",
    "context",
    "highways",
    "fixed-points",
]
