"""Built-in tasks: shapes, determinism, label balance, ceilings against Monte Carlo, oracles, validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rnnscope.tasks import TASKS, DelayedRecall, Evidence, Frequency, Motif, get_task

ALL = [Evidence(), Motif(), Frequency(), DelayedRecall()]
NOISY = [t for t in ALL if not isinstance(t, DelayedRecall)]


def ids(task):
    return task.name


@pytest.mark.parametrize("task", ALL, ids=ids)
def test_shapes_and_dtypes(task):
    x, y = task.sample(7, np.random.default_rng(0))
    assert x.shape == (7, task.seq_len, task.input_size) and x.dtype == np.float32
    assert y.shape == (7,) and y.dtype == np.int64
    assert task.oracle(x).shape == (7,) and task.oracle(x).dtype == np.int64
    assert len(task.class_names) == task.n_classes
    for name, z in task.latents(x).items():
        assert z.shape == (7, task.seq_len), name


@pytest.mark.parametrize("task", ALL, ids=ids)
def test_make_is_deterministic(task):
    a, b, c = task.make(50, 20, seed=3), task.make(50, 20, seed=3), task.make(50, 20, seed=4)
    np.testing.assert_array_equal(a.train.x, b.train.x)
    np.testing.assert_array_equal(a.test.y, b.test.y)
    assert not np.array_equal(a.train.x, c.train.x)
    assert not np.array_equal(a.train.x[:20], a.test.x)  # train and test are different streams
    assert a.input_size == task.input_size and a.n_classes == task.n_classes
    assert a.source["task"] == task.name and type(task)(**a.source["params"]) == task


@pytest.mark.parametrize("task", ALL, ids=ids)
def test_labels_balanced(task):
    _, y = task.sample(3000, np.random.default_rng(1))
    counts = np.bincount(y, minlength=task.n_classes)
    assert len(counts) == task.n_classes and counts.min() > 0
    np.testing.assert_allclose(counts / 3000, 1 / task.n_classes, atol=0.04)


@pytest.mark.parametrize("task", NOISY, ids=ids)
def test_ceiling_between_chance_and_one(task):
    c = task.ceiling(n=4000)
    assert 1 / task.n_classes + 0.3 < c < 0.995


def test_evidence_exact_ceiling_matches_monte_carlo():
    for task in (Evidence(), Evidence(n_classes=2, seq_len=20, drift=0.3), Evidence(n_classes=5)):
        x, y = task.sample(20000, np.random.default_rng(5))
        mc = np.mean(task.oracle(x) == y)
        assert abs(task.ceiling() - mc) < 3 * np.sqrt(mc * (1 - mc) / 20000) + 1e-3
    assert abs(Evidence().ceiling() - 0.9737) < 1e-3
    t = Evidence(n_classes=2, seq_len=25, drift=0.2)  # K = 2: Phi(d / sqrt 2), d = 1
    assert abs(t.ceiling() - 0.760250) < 1e-5


@pytest.mark.parametrize("task", NOISY, ids=ids)
def test_oracle_beats_wrong_rules(task):
    x, y = task.sample(4000, np.random.default_rng(6))
    oracle = np.mean(task.oracle(x) == y)
    shifted = np.mean((task.oracle(x) + 1) % task.n_classes == y)  # a deliberately wrong rule
    assert oracle > shifted + 0.5
    blind = x.copy()
    blind[:, : task.seq_len // 2] = 0  # a rule that ignores the first half of every sequence
    assert oracle > np.mean(task.oracle(blind) == y) + 0.03


def test_evidence_latents_are_running_sums():
    x, _ = Evidence().sample(5, np.random.default_rng(2))
    lat = Evidence().latents(x)
    assert sorted(lat) == ["evidence_0", "evidence_1", "evidence_2"]
    np.testing.assert_allclose(lat["evidence_1"][:, -1], x[:, :, 1].sum(1), rtol=1e-5)


def test_motifs_are_fixed_orthogonal_and_equal_energy():
    m = Motif().motifs()
    assert m.shape == (3, 5, 4)
    np.testing.assert_allclose(m.reshape(3, -1) @ m.reshape(3, -1).T, np.eye(3) * 20, atol=1e-9)
    np.testing.assert_array_equal(m, Motif().motifs())
    assert not np.allclose(m, Motif(motif_seed=1).motifs())


def test_motif_oracle_is_the_exact_bayes_rule():
    task = Motif(amplitude=0.6, noise=1.2, seq_len=30)  # low SNR, where Bayes and the peak rule differ
    x, _ = task.sample(400, np.random.default_rng(7))
    x64, n_pos = x.astype(np.float64), task.seq_len - task.motif_len + 1
    loglik = np.empty((400, task.n_classes, n_pos))  # Gaussian log-likelihood of every (class, position)
    for k in range(task.n_classes):
        for p in range(n_pos):
            mean = np.zeros((task.seq_len, task.channels))
            mean[p : p + task.motif_len] = task.motifs()[k]
            loglik[:, k, p] = -((x64 - mean) ** 2).sum(axis=(1, 2)) / (2 * task.noise**2)
    reference = np.argmax(np.log(np.exp(loglik - loglik.max()).sum(axis=2)), axis=1)
    np.testing.assert_array_equal(task.oracle(x), reference)
    peak = np.argmax(task._match(x).max(axis=1), axis=1)
    assert 0 < np.sum(peak != reference) < 60


def test_motif_ceiling():
    x, y = Motif().sample(10000, np.random.default_rng(8))
    assert 0.955 < np.mean(Motif().oracle(x) == y) < 0.98


def test_motif_is_planted_where_the_latent_peaks():
    task = Motif(noise=0.0)
    x, y = task.sample(50, np.random.default_rng(8))
    assert np.mean(task.oracle(x) == y) == 1.0
    lat = task.latents(x)
    for i, k in enumerate(y):
        own = lat[f"match_{k}"][i]  # (T,)
        end = int(own.argmax())  # the step where the motif completes
        np.testing.assert_allclose(own[end], 20.0, rtol=1e-5)  # motif energy L * C * amplitude^2
        np.testing.assert_allclose(x[i, end - 4 : end + 1], task.motifs()[k], atol=1e-6)
        np.testing.assert_allclose((x[i] ** 2).sum(), 20.0, rtol=1e-5)  # nothing outside the motif


def test_frequency_peak_of_clean_signal_is_the_planted_period():
    task = Frequency(noise=0.0, seq_len=120, periods=(5.0, 8.0, 13.0))
    x, y = task.sample(30, np.random.default_rng(9))
    freqs = np.fft.rfftfreq(4096)
    power = np.abs(np.fft.rfft(x[:, :, 0], n=4096, axis=1)) ** 2  # zero-padded periodogram
    peak = freqs[np.argmax(power, axis=1)]
    np.testing.assert_allclose(peak, 1 / np.array(task.periods)[y], atol=1 / task.seq_len / 4)
    assert np.all(task.oracle(x) == y)


def test_frequency_oracle_is_dft_magnitude_for_whole_cycles():
    task = Frequency()  # 10, 6 and 4 cycles in 60 steps: equal energy, so Bayes = largest |X(f_k)|
    x, y = task.sample(5000, np.random.default_rng(10))
    t = np.arange(task.seq_len)[:, None]
    mag = np.abs(np.einsum("nt,tk->nk", x[:, :, 0], np.exp(-2j * np.pi * t / np.array(task.periods))))
    np.testing.assert_array_equal(task.oracle(x), np.argmax(mag, axis=1))
    assert 0.96 < np.mean(task.oracle(x) == y) < 0.99
    assert task.class_names == ["period 6", "period 10", "period 15"]


def test_recall_cue_only_at_step_zero():
    task = DelayedRecall(n_classes=3, distance=6, n_distractors=2)
    x, y = task.sample(200, np.random.default_rng(11))
    assert task.seq_len == 8 and task.input_size == 6
    np.testing.assert_array_equal(x[:, 0, :3], np.eye(3)[y])
    assert np.all(x[:, 1:, :3] == 0) and np.all(x[:, 0, 3:] == 0)
    np.testing.assert_array_equal(x[:, 1:-1, 3:5].sum(-1), 1.0)  # one distractor symbol per delay step
    np.testing.assert_array_equal(x[:, :, -1], np.eye(8)[[7] * 200])  # go only at the last step
    assert np.all(task.oracle(x) == y) and task.ceiling() == 1.0
    silent, _ = DelayedRecall(distance=3, n_distractors=0).sample(4, np.random.default_rng(0))
    assert silent.shape == (4, 5, 5) and silent[:, 1:4].sum() == 0


def test_registry():
    assert {"evidence", "motif", "frequency", "recall"} <= set(TASKS)
    assert all(cls.name == key for key, cls in TASKS.items())
    assert get_task("recall", distance=50).seq_len == 52
    assert get_task("frequency", periods=[4, 9]).periods == (4.0, 9.0)
    unknown = "unknown task 'nope'; choose from evidence, flipflop, frequency, .*recall"
    with pytest.raises(ValueError, match=unknown):
        get_task("nope")
    with pytest.raises(ValueError, match="does not take those parameters"):
        get_task("evidence", drfit=0.3)


@pytest.mark.parametrize(
    "cls, params, message",
    [
        (Evidence, {"seq_len": 0}, "seq_len must be positive, got 0"),
        (Evidence, {"n_classes": 1}, "n_classes must be at least 2, got 1"),
        (Evidence, {"drift": 0.0}, "drift must be positive, got 0.0"),
        (Evidence, {"noise": -1.0}, "noise must be non-negative, got -1.0"),
        (Motif, {"motif_len": 0}, "motif_len must be positive, got 0"),
        (Motif, {"motif_len": 70}, "motif_len must be at most seq_len=60, got 70"),
        (Motif, {"n_classes": 21}, r"n_classes must be at most motif_len \* channels = 20"),
        (Motif, {"amplitude": -1.0}, "amplitude must be positive, got -1.0"),
        (Frequency, {"periods": (6.0,)}, "periods must list at least 2 values, got 1"),
        (Frequency, {"periods": (6.0, 6.0)}, "periods must be distinct"),
        (Frequency, {"periods": (1.5, 6.0)}, "every period must be at least 2 steps"),
        (DelayedRecall, {"distance": 0}, r"distance must lie in \[1, 10000\], got 0"),
        (DelayedRecall, {"distance": 10001}, r"distance must lie in \[1, 10000\], got 10001"),
        (DelayedRecall, {"n_distractors": -1}, "n_distractors must be non-negative, got -1"),
    ],
)
def test_validation(cls, params, message):
    with pytest.raises(ValueError, match=message):
        cls(**params)


def test_tasks_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Evidence().seq_len = 5  # type: ignore[misc]
