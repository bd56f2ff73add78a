"""Ground truth on planted networks: weights built from known blocks (tests/planted_networks.py), roles
found from the network (free runs, impulse response) and its recorded data, for >= 95 % of the units."""

import numpy as np
import pytest
import torch

import rnnscope
from planted_networks import PlantedTanh, planted_inputs, planted_rnn
from rnnscope.analysis import classify_units
from rnnscope.recording import record
from rnnscope.recording.probes import probe_dynamics


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks: a second intra-op thread only adds contention on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _classify(model, x, labels, evidence, *, with_model=True):
    h = record(model, torch.tensor(x), labels=torch.tensor(labels))["hidden.l0"]
    dyn = probe_dynamics(model, x[:64]) if with_model else None
    extra = (
        {"free": dyn.free[0], "memory": dyn.impulse[0].memory, "memory_lags": dyn.settings["lags"]}
        if dyn is not None
        else {}
    )
    return classify_units(h, inputs=x, labels=labels, evidence=evidence, **extra)


@pytest.fixture(scope="module")
def data():
    return planted_inputs(128, 60, seed=0)


@pytest.fixture(scope="module")
def planted(data):
    model = PlantedTanh()
    return model, _classify(model, *data)


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_network_roles_from_the_network(seed, planted):
    if seed == 0:
        model, table = planted
    else:
        x, labels, evidence = planted_inputs(128, 60, seed=seed)
        model = PlantedTanh(seed=seed)
        table = _classify(model, x, labels, evidence)
    assert np.mean(table.role == model.truth) >= 0.95, list(zip(model.truth, table.role))
    assert set(table.dynamics) == {"model"}
    osc = model.truth == "oscillatory"
    assert np.allclose(table.free_period[osc], 12, atol=1)  # the rotation's own period, 2 pi / theta


def test_wrapped_nn_rnn_route(data):
    x, labels, evidence = data
    rnn, truth = planted_rnn()
    table = _classify(rnnscope.wrap(rnn), x, labels, evidence)
    assert np.mean(table.role == truth) >= 0.95, list(zip(truth, table.role))


def test_input_rhythm_is_not_intrinsic(planted):
    """Units driven by the rhythm show a spectral peak in their activity, yet their free run is silent:
    they are input-driven, with the activity's rhythm listed as a criterion only."""
    model, table = planted
    driven = model.truth == "input-driven"
    assert np.all(table.role[driven] == "input-driven")
    assert all("rhythm" in c for c in table.criteria[driven])
    assert np.all(table.free_tau[driven] < 1)


def test_latching_is_saturated_and_integrators_graded(planted):
    model, table = planted
    latch, integ = model.truth == "latching", model.truth == "integrator"
    assert np.all(table.free_saturation[latch] == 1) and np.all(table.free_saturation[integ] == 0)
    assert np.all(table.free_persistence[latch | integ] > 0.9)
    assert np.all(table.free_tau[integ] > 20) and np.all(table.free_tau[integ] < 40)  # true 1/-ln 0.97 = 33


def test_without_a_model_the_model_criteria_are_absent(data):
    x, labels, evidence = data
    model = PlantedTanh()
    table = _classify(model, x, labels, evidence, with_model=False)
    assert set(table.dynamics) == {"absent"}
    assert np.all(np.isnan(table.free_tau)) and np.all(np.isnan(table.memory))
    assert set(table.free_tau_censored) == {""} and "input-driven" not in set(table.role)
    # the rhythm-driven units have a spectral peak, but the inputs explain them (input_drive >= min_drive):
    # their rhythm is taken as the input's, and they read transient (no impulse response tells them
    # from input-driven); the rotation block, which rings by itself, still reads oscillatory
    driven = model.truth == "input-driven"
    assert np.all(table.role[driven] == "transient") and np.all(table.criteria[driven] == "transient+rhythm")
    assert np.all(table.role[model.truth == "oscillatory"] == "oscillatory")
