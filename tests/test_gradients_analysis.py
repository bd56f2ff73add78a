"""Pure gradient analyses on planted numbers: decay fit, context (a) and (b), highways, Jacobian products."""

import math

import numpy as np
import pytest

from rnnscope.analysis.gradients import (
    align_to_end,
    behavioural_context,
    check_epsilon,
    context_from_corrected,
    fit_decay,
    gate_highway,
    gradient_context,
    jacobian_norms,
    jacobian_product_norms,
    profile_stats,
)


def test_fit_decay_recovers_a_planted_factor():
    k = np.arange(40)
    fit = fit_decay(3.0 * 0.8**k)
    assert fit.factor == pytest.approx(0.8, abs=1e-12) and fit.r2 == pytest.approx(1.0)
    assert fit.half_life == pytest.approx(math.log(2) / -math.log(0.8)) and fit.n_points == 40
    assert fit.intercept == pytest.approx(math.log(3.0))
    rng = np.random.default_rng(0)
    noisy = fit_decay(0.9**k * np.exp(rng.normal(0, 0.05, 40)))
    assert abs(noisy.factor - 0.9) < 0.005 and 0.9 < noisy.r2 < 1.0
    grow = fit_decay(1.2**k)
    assert grow.factor == pytest.approx(1.2) and grow.half_life == math.inf
    flat = fit_decay(np.ones(10))
    assert flat.factor == 1.0 and flat.r2 == 1.0 and flat.half_life == math.inf
    # zeros (underflow) and NaN (no sequence that long) are left out of the fit
    g = 0.5 ** k.astype(float)
    g[30:] = 0.0
    g[25] = np.nan
    assert fit_decay(g).factor == pytest.approx(0.5) and fit_decay(g).n_points == 29
    assert math.isnan(fit_decay(np.array([1.0, 0.0, np.nan])).factor)
    with pytest.raises(ValueError, match="profile must have shape"):
        fit_decay(np.ones((3, 3)))


def test_gradient_context_definition_a():
    g = 0.5 ** np.arange(20.0)
    ctx = gradient_context(g, 1e-3)  # 0.5^9 = 1.95e-3 >= 1e-3 > 0.5^10
    assert ctx.context == 9 and not ctx.censored and ctx.normalised[10] == pytest.approx(0.5**10)
    assert gradient_context(g * 7, 0.25).context == 2  # normalised by the readout step
    bump = np.array([1.0, 0.5, 1e-4, 0.9, 0.9])  # must stay above: a later recovery does not count
    assert gradient_context(bump, 1e-3).context == 1
    short = np.array([1.0, 0.5, 0.4, np.nan, np.nan])  # sequences end: censored at the last measured distance
    c = gradient_context(short)
    assert c.context == 2 and c.censored
    assert gradient_context(np.ones(5)).context == 4 and gradient_context(np.ones(5)).censored
    assert gradient_context(np.array([0.0, 1.0])).context is None


@pytest.mark.parametrize("eps", [0.0, 1.0, -0.1, 2.0, float("nan")])
def test_epsilon_outside_the_open_unit_interval_is_refused(eps):
    with pytest.raises(ValueError, match="epsilon must lie in"):
        check_epsilon(eps)
    with pytest.raises(ValueError, match="epsilon must lie in"):
        gradient_context(np.ones(3), eps)


@pytest.mark.parametrize(
    "cc,expected",
    [
        ([1.0, 0.95, 0.91, 0.5, 0.1], (20, False)),  # 0.91 >= 0.9 * 1.0, 0.5 is not
        ([0.8, 0.75, 0.72, 0.71, 0.9], (20, False)),  # the threshold 0.72 is inclusive
        ([0.9, 0.2, 0.9, 0.9, 0.9], (5, False)),  # every distance up to d must pass
        ([1.0, 1.0, 1.0, 1.0, 0.95], (100, True)),  # all pass: at least the longest (censored)
        ([0.0, 0.0, 0.0, 0.0, 0.0], (None, False)),  # at chance even at the shortest: undefined
        ([-0.1, 0.5, 0.5, 0.5, 0.5], (None, False)),
        ([1.0, math.nan, 0.95, 0.2, 0.1], (20, False)),  # a missing distance is skipped, not failed
    ],
)
def test_behavioural_context_on_corrected_curves(cc, expected):
    ctx = context_from_corrected([5, 10, 20, 50, 100], cc)
    assert (ctx.context, ctx.censored) == expected


def test_behavioural_context_from_accuracies():
    d = [200, 5, 10, 20, 50, 100]  # any order
    acc = np.array([0.25, 1.0, 0.99, 0.95, 0.6, 0.3])  # 4 classes: chance 0.25
    ctx = behavioural_context(d, acc, 4)
    assert ctx.context == 20 and not ctx.censored and ctx.reference_distance == 5
    np.testing.assert_allclose(ctx.corrected, [1.0, 0.98666667, 0.93333333, 0.46666667, 0.06666667, 0.0])
    assert ctx.threshold == pytest.approx(0.9)
    seeds = np.array([[1.0, 0.99, 0.97, 0.95, 0.5, 0.25], [1.0, 0.97, 0.9, 0.85, 0.5, 0.25]])  # by sorted d
    ctx = behavioural_context([5, 10, 20, 50, 100, 200], seeds, 4)  # mean corrected at 50: 0.8667 < 0.9
    assert ctx.context == 20
    assert behavioural_context([5, 10], [0.5, 0.49], 2).context is None  # at chance
    assert behavioural_context([5, 10], [1.0, 0.95], 2, fraction=0.95).context == 5
    for bad, match in [
        (([5, 5], [1, 1], 4), "repeat"),
        (([0, 5], [1, 1], 4), "positive"),
        (([5, 10], [1.0], 4), "shape"),
        (([5, 10], [1.2, 1], 4), r"\[0, 1\]"),
        (([5, 10], [1, 1], 1), "n_classes"),
    ]:
        with pytest.raises(ValueError, match=match):
            behavioural_context(*bad)


def test_profile_stats_and_alignment():
    norms = np.array([[1.0, 2.0, 3.0], [3.0, np.nan, np.nan]])
    mean, std = profile_stats(norms)
    np.testing.assert_allclose(mean, [2.0, 2.0, 3.0])
    np.testing.assert_allclose(std, [1.0, 0.0, 0.0])
    assert np.isnan(profile_stats(np.full((2, 2), np.nan))[0]).all()
    aligned = align_to_end(np.arange(12.0).reshape(2, 6), [6, 3])
    np.testing.assert_array_equal(aligned[0], [5, 4, 3, 2, 1, 0])
    np.testing.assert_array_equal(aligned[1, :3], [8, 7, 6])
    assert np.isnan(aligned[1, 3:]).all()
    with pytest.raises(ValueError, match="lengths"):
        align_to_end(np.ones((2, 3)), [4, 1])


def test_gate_highway_is_the_product_to_the_readout():
    gate = np.full((2, 6, 3), 0.9)
    gate[1, 4:] = np.nan  # padding past length 4 is never read
    hw = gate_highway(gate, [6, 4])
    np.testing.assert_allclose(hw[0, :, 0], 0.9 ** np.arange(5, -1, -1))
    np.testing.assert_allclose(hw[1, :4, 2], 0.9 ** np.arange(3, -1, -1))
    assert np.isnan(hw[1, 4:]).all()
    assert gate_highway(np.zeros((1, 3, 1)))[0, :, 0].tolist() == [0.0, 0.0, 1.0]


def test_jacobian_norms_and_products_on_planted_matrices():
    b, t, s = 2, 5, 3
    jac = np.zeros((b, t, s, s))
    jac[..., 0, 0], jac[..., 1, 1], jac[..., 2, 2] = 0.5, 2.0, 1.0  # diag(0.5, 2, 1): norm 2
    np.testing.assert_allclose(jacobian_norms(jac), 2.0)
    prod = jacobian_product_norms(jac, [5, 3])
    np.testing.assert_allclose(prod[0], 2.0 ** np.arange(4, -1, -1))  # ‖J^k‖ = 2^k
    np.testing.assert_allclose(prod[1, :3], [4.0, 2.0, 1.0])
    assert np.isnan(prod[1, 3:]).all()
    rot = np.array([[0.0, -1.0], [1.0, 0.0]]) * 0.5  # products of a scaled rotation: 0.5^k, no overflow
    long = np.broadcast_to(rot, (1, 2000, 2, 2))
    p = jacobian_product_norms(long)
    assert p[0, -1] == 1.0 and p[0, -11] == pytest.approx(0.5**10) and p[0, 0] == 0.0  # 0.5^1999 underflows
    nilpotent = np.broadcast_to(np.array([[0.0, 1.0], [0.0, 0.0]]), (1, 4, 2, 2))
    assert jacobian_product_norms(nilpotent)[0].tolist() == [0.0, 0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="jac must have shape"):
        jacobian_norms(np.ones((2, 3, 4)))
