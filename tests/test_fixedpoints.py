"""Fixed points, slow points and linearisation against ground truth on tiny systems (docs/fixedpoints.md)."""

import copy
import math

import numpy as np
import pytest
import torch
from scipy import optimize

import rnnscope
from rnnscope.dynamics import (
    FixedPoints,
    StepMap,
    fixed_points,
    fixed_points_by_class,
    input_from_data,
    slow_set_dimension,
    state_trajectories,
)
from rnnscope.dynamics.solve import merge_settled, settled_cell
from rnnscope.dynamics.unique import identical_rows, unique_points
from rnnscope.errors import BadArgument
from rnnscope.io import RunFileError, read_json, write_json
from rnnscope.models import CausalTransformerClassifier, RecurrentClassifier
from rnnscope.models.protocol import state_vector, vector_state


class MapCell:
    """h' = act(W h + U x + b): a plain object implementing only the recurrent protocol (float64)."""

    gate_names = ()
    state_names = ("h",)
    num_layers = 1
    n_classes = None

    def __init__(self, w, b=None, act="tanh", u=None):
        self.w = torch.as_tensor(np.asarray(w, dtype=np.float64))
        d = len(self.w)
        self.b = torch.zeros(d, dtype=torch.float64) if b is None else torch.as_tensor(np.asarray(b, float))
        self.u = (
            torch.zeros(d, 1, dtype=torch.float64) if u is None else torch.as_tensor(np.asarray(u, float))
        )
        self.act = act
        self.input_size = self.u.shape[1]
        self.layer_sizes = (d,)

    def init_state(self, batch, device=None, dtype=None):
        return torch.zeros(batch, len(self.w), dtype=dtype or torch.float64)

    def step(self, x_t, state):
        z = state @ self.w.T + x_t @ self.u.T + self.b
        return torch.tanh(z) if self.act == "tanh" else z

    def readout(self, state):
        raise TypeError("no readout")

    def layer_states(self, state):
        return [{"h": state}]

    def make_state(self, layers):
        return layers[0]["h"]


def rotation(theta, r=1.0):
    return r * np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])


def test_linear_rnn_has_exactly_one_fixed_point_with_the_eigenvalues_of_w():
    rng = np.random.default_rng(0)
    w = 0.3 * rng.standard_normal((6, 6))
    b = rng.standard_normal(6)
    fp = fixed_points(MapCell(w, b, act="linear"), "zero", 3 * rng.standard_normal((64, 6)))
    assert len(fp) == 1 and not fp.slow[0] and fp.count[0] == 64
    np.testing.assert_allclose(fp.x[0], np.linalg.solve(np.eye(6) - w, b), atol=1e-12)
    expected = np.linalg.eigvals(w)
    expected = expected[np.lexsort((-expected.imag, -np.abs(expected)))]
    np.testing.assert_allclose(fp.eigenvalues[0], expected, atol=1e-12)
    assert fp.stable[0] == (np.abs(expected).max() < 1) and fp.n_unstable[0] == (np.abs(expected) > 1).sum()


def test_one_tanh_unit_with_gain_two_has_three_points():
    fp = fixed_points(MapCell([[2.0]]), "zero", np.linspace(-2, 2, 41)[:, None])
    x_star = optimize.brentq(lambda v: math.tanh(2 * v) - v, 0.5, 1.0, xtol=1e-15)
    order = np.argsort(fp.x[:, 0])
    np.testing.assert_allclose(fp.x[order, 0], [-x_star, 0.0, x_star], atol=1e-10)
    assert fp.stable[order].tolist() == [True, False, True]
    assert fp.n_unstable[order].tolist() == [0, 1, 0]
    slope = 2 * (1 - x_star**2)
    np.testing.assert_allclose(fp.eigenvalues[order, 0].real, [slope, 2.0, slope], atol=1e-10)
    assert fp.counts() == {"fixed": 3, "stable": 2, "unstable": 1, "slow": 0}
    assert fp.q.max() < 1e-24  # polished past tol_q to machine precision


def test_one_tanh_unit_with_gain_half_has_one_stable_point():
    fp = fixed_points(MapCell([[0.5]]), "zero", np.linspace(-3, 3, 25)[:, None])
    assert len(fp) == 1 and fp.stable[0] and abs(fp.x[0, 0]) < 1e-12
    np.testing.assert_allclose(fp.time_constants[0, 0], -1 / math.log(0.5))


def test_rotation_block_is_an_oscillatory_mode_with_its_period():
    theta, r = 2 * math.pi / 12.5, 0.95
    w = np.zeros((4, 4))
    w[:2, :2] = rotation(theta, r)
    w[2, 2], w[3, 3] = 0.5, 0.2
    fp = fixed_points(MapCell(w, [0.1, -0.2, 0.3, 0.0], act="linear"), "zero", np.eye(4))
    assert len(fp) == 1 and fp.stable[0]
    np.testing.assert_allclose(fp.periods[0, :2], [12.5, 12.5], rtol=1e-10)
    np.testing.assert_allclose(fp.time_constants[0, :2], -1 / math.log(r), rtol=1e-10)
    assert np.isinf(fp.periods[0, 2:]).all()
    assert fp.eigenvalues[0, 0].imag > 0 > fp.eigenvalues[0, 1].imag
    # the mode lives on units 0 and 1 only
    np.testing.assert_allclose(fp.loadings[0, 0, :2], [math.sqrt(0.5)] * 2, atol=1e-10)
    np.testing.assert_allclose(fp.loadings[0, 0, 2:], 0.0, atol=1e-10)


def test_line_attractor_is_reported_as_one_dimensional():
    fp = fixed_points(
        MapCell(np.diag([1.0, 0.5, 0.3]), act="linear"),
        "zero",
        np.random.default_rng(1).standard_normal((40, 3)),
    )
    assert len(fp) > 10 and not fp.slow.any() and fp.stable.all()
    np.testing.assert_allclose(fp.x[:, 1:], 0.0, atol=1e-9)  # every point on the line
    assert fp.meta["slow_set_dimension"] == 1
    assert slow_set_dimension(np.zeros((5, 3)))[0] == 0  # one place is no manifold


def test_points_without_a_root_nearby_are_slow_points_kept_apart():
    # x' = x + 0.01 + x^2... in 1-D: F(x) = x - 0.002 + 0.1 x² has no root: a ghost at x = 0 with q = 2e-6
    class Ghost(MapCell):
        def step(self, x_t, state):
            return state + 0.1 * state**2 + 0.002

    fp = fixed_points(Ghost([[1.0]]), "zero", np.linspace(-0.5, 0.5, 21)[:, None], slow_tol=1e-5)
    assert len(fp) == 1 and fp.slow[0] and fp.counts()["slow"] == 1 and fp.counts()["fixed"] == 0
    np.testing.assert_allclose(fp.x[0, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(fp.q[0], 0.5 * 0.002**2, rtol=1e-6)
    none = fixed_points(Ghost([[1.0]]), "zero", np.linspace(-0.5, 0.5, 21)[:, None], slow_tol=1e-7)
    assert len(none) == 0 and none.meta["n_unconverged"] == 21


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_points_of_stacked_builtin_models_satisfy_f_of_x_equal_x(kind):
    model = RecurrentClassifier(kind, 3, 6, 2, 4)
    fp = fixed_points(
        model,
        np.array([0.2, -0.1, 0.3]),
        64,
        data_x=np.random.default_rng(0).standard_normal((8, 10, 3)),
        noise_std=0.2,
    )
    d = 2 * 6 * (2 if kind == "lstm" else 1)
    assert len(fp) >= 1 and fp.x.shape == (len(fp), d) and fp.meta["state_size"] == d
    assert fp.counts()["fixed"] >= 1 and (fp.q[fp.fixed] <= 1e-12).all()
    twin = copy.deepcopy(model).double()  # check with the model's own step, independently of StepMap
    x = torch.as_tensor(fp.x[fp.fixed])
    u = torch.tensor([[0.2, -0.1, 0.3]], dtype=torch.float64).expand(len(x), 3)
    with torch.no_grad():
        fx = state_vector(twin, twin.step(u, vector_state(twin, x)))
    assert float((fx - x).abs().max()) < 1e-9


def test_points_settled_on_one_root_are_merged_into_the_first():
    # rows 0, 1, 4: one cell, short Newton steps; row 3 is in it too but in Levenberg-Marquardt mode
    # (its step says nothing about its distance to a root); row 2 is elsewhere; row 5 steps too far
    x = torch.tensor(
        [[0.5, 0.5], [0.5 + 1e-9, 0.5], [1.0, 1.0], [0.5, 0.5], [0.5, 0.5 - 1e-10], [0.5, 0.5]],
        dtype=torch.float64,
    )
    delta = torch.full_like(x, 1e-8)
    delta[5] = 0.1
    p = {
        "x": x,
        "mu": torch.tensor([0.0, 0.0, 0.0, 1e-3, 0.0, 0.0], dtype=torch.float64),
        "idx": torch.tensor([10, 11, 12, 13, 14, 15]),
        "q": torch.full((6,), 1e-20, dtype=torch.float64),
    }
    leader, iterations = torch.arange(16), torch.zeros(16, dtype=torch.int64)
    out_q = torch.zeros(16, dtype=torch.float64)
    cell = settled_cell(2, 1e-3)
    follow = merge_settled(p, delta.double(), cell, cell, leader, iterations, out_q, its=4)
    assert follow.tolist() == [False, True, False, False, True, False]
    assert leader[10:].tolist() == [10, 10, 12, 13, 10, 15] and iterations[[11, 14]].tolist() == [4, 4]


def test_generic_jacobian_matches_finite_differences():
    model = RecurrentClassifier("lstm", 2, 3, 2, 2)
    fmap = StepMap(model, [0.3, -0.2])
    x = torch.randn(3, 12, dtype=torch.float64) * 0.5
    jac = fmap.jacobian(x)
    eps = 1e-6
    for j in range(12):
        e = torch.zeros(12, dtype=torch.float64)
        e[j] = eps
        fd = (fmap.step(x + e) - fmap.step(x - e)) / (2 * eps)
        torch.testing.assert_close(jac[:, :, j], fd, atol=1e-8, rtol=0)


def test_the_model_is_never_changed():
    model = RecurrentClassifier("gru", 3, 5, 2, 4)
    model.train()
    model.head.weight.requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {k: p.requires_grad for k, p in model.named_parameters()}
    fixed_points(model, "zero", 16, data_x=np.random.default_rng(0).standard_normal((4, 6, 3)))
    assert model.training and {k: p.requires_grad for k, p in model.named_parameters()} == flags
    for k, v in model.state_dict().items():
        assert v.dtype == torch.float32 and torch.equal(v, before[k]), k
    assert all(p.grad is None for p in model.parameters())


class Float32Cell(torch.nn.Module):
    """A protocol model that only steps in float32 (its step casts): used as it is, never changed."""

    gate_names, state_names, num_layers, n_classes, input_size, layer_sizes = (), ("h",), 1, None, 1, (3,)

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 3)

    def init_state(self, batch, device=None, dtype=None):
        return torch.zeros(batch, 3)

    def step(self, x_t, state):
        return torch.tanh(self.lin(state.float()))

    def readout(self, state):
        raise TypeError("no readout")

    def layer_states(self, state):
        return [{"h": state}]

    def make_state(self, layers):
        return layers[0]["h"]


def test_a_model_that_cannot_step_in_float64_is_used_as_it_is_and_not_changed():
    cell = Float32Cell()
    before = {k: v.clone() for k, v in cell.state_dict().items()}
    fp = fixed_points(cell, "zero", np.random.default_rng(0).standard_normal((8, 3)), tol_q=1e-10)
    assert fp.meta["dtype"] == "float32" and fp.counts() == {
        "fixed": 1,
        "stable": 1,
        "unstable": 0,
        "slow": 0,
    }
    with torch.no_grad():
        x = torch.as_tensor(fp.x, dtype=torch.float32)
        assert float((cell.step(None, x) - x).abs().max()) < 1e-5
    assert all(p.grad is None and p.requires_grad for p in cell.parameters())
    for k, v in cell.state_dict().items():
        assert v.dtype == torch.float32 and torch.equal(v, before[k])


def test_starts_from_data_are_seeded_and_inputs_from_data():
    model = RecurrentClassifier("rnn", 2, 4, 1, 3)
    x = np.random.default_rng(0).standard_normal((6, 5, 2))
    a = fixed_points(model, "mean", 20, data_x=x, seed=3)
    b = fixed_points(model, "mean", 20, data_x=x, seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_allclose(a.inputs, x.reshape(-1, 2).mean(0))
    assert a.meta["input_mode"] == "mean" and a.meta["n_starts"] == 20
    lengths = np.array([5, 5, 5, 2, 2, 2])
    means = input_from_data(x, lengths, np.array([0, 0, 1, 1, 2, 2]), mode="class-mean")
    np.testing.assert_allclose(means[2], x[4:, :2].reshape(-1, 2).mean(0))
    traj = state_trajectories(model, x, lengths)
    assert traj.shape == (6, 5, 4) and np.isnan(traj[3:, 2:]).all() and np.isfinite(traj[:3]).all()
    per_class = fixed_points_by_class(model, x, lengths, np.array([0, 0, 1, 1, 2, 2]), 10)
    assert sorted(per_class) == [0, 1, 2]
    np.testing.assert_allclose(per_class[1].inputs, means[1])


def test_save_load_round_trip(tmp_path):
    fp = fixed_points(MapCell([[2.0]]), "zero", np.linspace(-2, 2, 9)[:, None])
    fp.save(tmp_path / "points.safetensors")
    back = FixedPoints.load(tmp_path / "points.safetensors")
    for name in (
        "x",
        "q",
        "slow",
        "stable",
        "n_unstable",
        "eigenvalues",
        "time_constants",
        "periods",
        "loadings",
        "count",
        "inputs",
    ):
        a, b = getattr(fp, name), getattr(back, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        np.testing.assert_array_equal(a, b)
    assert back.meta == fp.meta and back.summary()["counts"] == fp.counts()
    write_json(tmp_path / "summary.json", fp.summary())  # JSON-ready, inf periods included
    summary = read_json(tmp_path / "summary.json")
    assert summary["counts"] == {"fixed": 3, "stable": 2, "unstable": 1, "slow": 0}
    assert summary["points"][0]["periods"] == [math.inf] and summary["tol_q"] == 1e-12
    (tmp_path / "bad.safetensors").write_bytes(b"not a file")
    with pytest.raises(RunFileError, match="corrupt"):
        FixedPoints.load(tmp_path / "bad.safetensors")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"starts": 0}, "starts must be"),
        ({"starts": -3}, "starts must be"),
        ({"starts": True}, "starts must be"),
        ({"tol_q": 0.0}, "tol_q must be"),
        ({"tol_q": -1e-9}, "tol_q must be"),
        ({"tol_q": float("nan")}, "tol_q"),
        ({"slow_tol": float("inf")}, "slow_tol must be"),
        ({"tol_unique": 0}, "tol_unique must be"),
        ({"inputs": "median"}, "unknown input mode 'median'"),
        ({"inputs": "class-mean"}, "fixed_points_by_class"),
        ({"inputs": "mean"}, "needs the data"),
        ({"inputs": [1.0, 2.0]}, "3 finite numbers"),
        ({"starts": np.zeros((4, 7))}, r"\(N, 5\)"),
        ({"starts": 5}, "needs recorded states"),
        ({"max_iters": 0}, "max_iters"),
        ({"noise_std": -1.0}, "noise_std"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(kwargs, match):
    model = RecurrentClassifier("rnn", 3, 5, 1, 2)
    kwargs = {"inputs": "zero", "starts": np.zeros((4, 5)), **kwargs}
    with pytest.raises(BadArgument, match=match):
        fixed_points(model, kwargs.pop("inputs"), kwargs.pop("starts"), **kwargs)


def test_a_transformer_has_no_recurrent_state():
    with pytest.raises(BadArgument, match="has no recurrent state"):
        fixed_points(CausalTransformerClassifier(3, 8, 1, 2, heads=2), "zero", 4)


@pytest.mark.slow
def test_trained_three_bit_flipflop_has_eight_stable_points_at_the_corners():
    run = rnnscope.train(
        task="flipflop",
        task_params={"n_bits": 3},
        n_train=1000,
        n_test=200,
        model="rnn",
        hidden=16,
        layers=1,
        epochs=20,
        lr=1e-2,
        seed=0,
        device="cpu",
    )
    assert run.metrics["test_acc"] > 0.99
    fp = fixed_points(run.model, "zero", 1024, data_x=run.data.test.x, noise_std=0.5)
    stable = fp.fixed & fp.stable
    assert stable.sum() == 8 and fp.q[fp.fixed].max() <= 1e-12
    with torch.no_grad():  # each stable point is read out as a different bit pattern: the 8 corners
        classes = run.model.readout(torch.as_tensor(fp.x[stable], dtype=torch.float32)[None]).argmax(-1)
    assert sorted(classes.tolist()) == list(range(8))
    corners = fp.x[stable]
    assert np.linalg.norm(corners[:, None] - corners[None], axis=-1)[~np.eye(8, dtype=bool)].min() > 0.5
    assert (fp.n_unstable[fp.fixed & ~fp.stable] >= 1).all() and (~fp.stable).sum() >= 6  # saddles between


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_step_and_jacobian_from_one_traced_forward_equal_step_and_jacobian(kind):
    torch.manual_seed(0)
    for model in (
        RecurrentClassifier(kind, 3, 5, 2, 4),
        rnnscope.wrap(getattr(torch.nn, kind.upper())(3, 5, num_layers=2, batch_first=True)),
    ):
        fmap = StepMap(model, [0.3, -0.2, 0.1])
        assert fmap.fused
        x = torch.randn(7, fmap.D, dtype=torch.float64)
        f, jac = fmap.step_and_jacobian(x)
        torch.testing.assert_close(f, fmap.step(x), atol=1e-14, rtol=0)
        # u given explicitly: the closed-form step_jacobian, not the fast map of the rnn
        torch.testing.assert_close(jac, fmap.jacobian(x, fmap.u.expand(7, -1)), atol=1e-14, rtol=0)
        torch.testing.assert_close(fmap.jacobian(x), jac, atol=1e-14, rtol=0)


def test_identical_rows_group_like_numpy_unique_and_uniqueness_counts_every_start():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((7, 5))
    pick = rng.integers(0, 7, size=40)
    x = base[pick]
    rows, first, inverse = identical_rows(x)
    np.testing.assert_array_equal(rows[inverse], x)  # every row is its group's row, bit for bit
    assert len(rows) == len(np.unique(x, axis=0)) == len(np.unique(pick))
    assert (first == np.array([np.flatnonzero(pick == pick[f])[0] for f in first])).all()
    # a row 1e-9 away is its own group but one point at tol 1e-3; q decides the representative
    y = np.concatenate([x, x[:1] + 1e-9])
    q = np.arange(len(y), dtype=float)[::-1].copy()
    kept, counts = unique_points(y, q, 1e-3)
    assert counts.sum() == len(y) and len(kept) == len(np.unique(pick))
    assert kept[0] == len(y) - 1 and counts[0] == (pick == pick[0]).sum() + 1


def test_unique_points_follow_the_greedy_rule_exactly_at_the_tolerance():
    """The screened rounds keep what the plain rule keeps: lowest q first, every point within tol joins."""

    def plain(x, q, tol):  # FixedPointFinder's rule, distance by distance
        free, kept, counts = np.ones(len(x), bool), [], []
        for i in np.lexsort((np.arange(len(x)), q)):
            if free[i]:
                near = free & (np.linalg.norm(x - x[i], axis=1) <= tol)
                kept.append(i)
                counts.append(int(near.sum()))
                free &= ~near
        return kept, counts

    rng = np.random.default_rng(5)
    for scale in (1e-2, 1.0, 100.0):
        centres = rng.standard_normal((6, 8)) * scale
        x = centres[rng.integers(0, 6, 300)] + rng.standard_normal((300, 8)) * 4e-4
        x[:20] = x[20:40] + 1e-3 * np.eye(8)[rng.integers(0, 8, 20)]  # pairs exactly one tol apart
        q = rng.random(300)
        kept, counts = unique_points(x, q, 1e-3)
        want_kept, want_counts = plain(x, q, 1e-3)
        assert kept.tolist() == want_kept and counts.tolist() == want_counts
        assert counts.sum() == 300 and len(kept) > 6
