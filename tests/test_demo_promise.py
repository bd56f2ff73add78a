"""The demo keeps its promise on seed 0: the default task and settings (early stop included) reach the
reference result and show the roles the README names, under the roles of docs/analysis.md.
benchmarks/demo_promise.py runs the same for seeds 0-4 and gives the numbers the README quotes."""

import numpy as np
import pytest
import torch

import rnnscope
from rnnscope.stages.analyze import analyze_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One default demo run (seed 0) and its unit analysis, shared by the tests of this module."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("demo") / "run"
        run = rnnscope.train(out=out, seed=0, device="cpu")
        report = analyze_run(out, figures=False)
    finally:
        torch.set_num_threads(n)
    return run, report


def test_reference_result_with_early_stop(demo):
    run, _ = demo
    m = run.metrics
    assert m["train_acc"] >= 0.95 and m["test_acc"] >= 0.93 and m["converged_epoch"] <= 50
    assert m["epochs_run"] < 60  # stopped once converged, not after a fixed 60 epochs


def test_promised_roles(demo):
    _, report = demo
    counts = report.table.role_counts()
    for role in ("transient", "integrator", "oscillatory"):
        assert counts[role] >= 5, counts
    t = report.table
    # the oscillators ring by themselves with the input removed; the integrators hold graded values
    assert np.all(np.isfinite(t.free_period[t.role == "oscillatory"]))
    assert np.all(t.free_saturation[t.role == "integrator"] < 0.5)
    assert set(t.dynamics) == {"model"}
