"""Ground truth from training: each built-in task elicits the unit roles it was designed for.

Small one-layer networks (16 units), a few epochs, fixed seeds; the whole file takes ~30 s on 2 cores.
Task parameters are eased where the default would need longer training (stated per case). The
counts asserted are well below what the seeds give (noted per case), so the tests are not on a knife edge.
"""

import numpy as np
import pytest
import torch

import rnnscope
from rnnscope.config import ModelConfig
from rnnscope.models import build_model
from rnnscope.recording import RecordSpec, record_to_disk
from rnnscope.unitreport import analyze_recording, task_evidence

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: a second intra-op thread only adds contention on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _roles(model, run, tmp_path):
    te = run.data.test
    rec = record_to_disk(
        model,
        te.x,
        tmp_path / "rec",
        te.lengths,
        te.y,
        RecordSpec(quantities=("inputs", "hidden", "labels")),
        overwrite=True,
    )
    evidence, names = task_evidence(run.task, te.x, rec.steps)
    report = analyze_recording(rec, evidence=evidence, evidence_names=names)
    return report.summary.role_counts["0"], report


def _train(task, kind, task_params, epochs):
    return rnnscope.train(
        task=task,
        task_params=task_params,
        model=kind,
        hidden=16,
        layers=1,
        n_train=400,
        n_test=128,
        epochs=epochs,
        lr=1e-2,
        seed=0,
        device="cpu",
    )


def test_evidence_accumulation_makes_integrators(tmp_path):
    run = _train("evidence", "rnn", {}, epochs=10)
    assert run.metrics["test_acc"] > 0.75  # chance 1/3, ceiling 0.97
    counts, report = _roles(run.model, run, tmp_path)
    assert report.summary.evidence == ["evidence_0", "evidence_1", "evidence_2"]
    assert counts["integrator"] >= 8  # seed 0: 16 of 16
    # the same initial weights before training have no integrator: training made them
    torch.manual_seed(0)  # what train() does before it builds the model
    untrained = build_model(ModelConfig(kind="rnn", hidden=16, layers=1), 3, 3)
    before, _ = _roles(untrained, run, tmp_path)
    assert before["integrator"] == 0 and counts["integrator"] >= before["integrator"] + 8
    t = report.table
    assert (
        np.median(t.tau[t.role == "integrator"]) > 10
        and np.median(t.integration[t.role == "integrator"]) > 0.5
    )


def test_frequency_task_makes_oscillatory_units(tmp_path):
    run = _train(
        "frequency", "gru", {"noise": 0.5}, epochs=12
    )  # noise 0.5 (default 1): learnable in 12 epochs
    assert run.metrics["test_acc"] > 0.6  # chance 1/3; seed 0 reaches 0.78
    counts, report = _roles(run.model, run, tmp_path)
    assert counts["oscillatory"] >= 6  # seed 0: 16 of 16
    t = report.table
    osc = t.role == "oscillatory"
    # their spectral peaks sit at the task's frequencies 1/15, 1/10, 1/6 (within one Welch bin of 1/60)
    targets = np.array([1 / 15, 1 / 10, 1 / 6])
    nearest = np.abs(t.peak_freq[osc][:, None] - targets[None, :]).min(axis=1)
    assert np.mean(nearest <= 1 / 60 + 1e-9) >= 0.75


def test_motif_task_makes_selective_and_transient_units(tmp_path):
    # seq_len 30 and amplitude 1.5 (defaults 60 and 1.0): learnable in 10 epochs
    run = _train("motif", "rnn", {"seq_len": 30, "amplitude": 1.5}, epochs=10)
    assert run.metrics["test_acc"] > 0.45  # chance 1/3; seed 0 reaches 0.59
    counts, report = _roles(run.model, run, tmp_path)
    assert counts["selective"] + counts["transient"] >= 4  # seed 0: 6 + 2
    assert counts["oscillatory"] <= 2
    t = report.table
    sel = t.role == "selective"
    assert (t.selectivity_p[sel] <= 0.01).all() and (t.selectivity[sel] >= 0.2).all()
