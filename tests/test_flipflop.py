"""The N-bit flip-flop task: the worked example, sampling, the exact ceiling, latents, training."""

import numpy as np
import pytest

import rnnscope
from rnnscope.tasks import TASKS, FlipFlop, get_task


def test_worked_example_from_the_docstring():
    task = FlipFlop(n_bits=3, seq_len=6)
    x = np.zeros((1, 6, 3), dtype=np.float32)
    x[0, [0, 3, 5], 0] = [1, -1, 1]
    x[0, 0, 1] = -1
    x[0, [0, 1], 2] = [-1, 1]
    assert task.oracle(x).tolist() == [5] and task.class_names[5] == "+-+"
    lat = task.latents(x)
    assert lat["bit_0"][0].tolist() == [1, 1, 1, -1, -1, 1] and lat["bit_2"][0].tolist() == [
        -1,
        1,
        1,
        1,
        1,
        1,
    ]


def test_sampling_every_channel_set_at_step_zero_then_sparse_pulses():
    task = FlipFlop(n_bits=3, seq_len=40, p_pulse=0.1)
    x, y = task.sample(4000, np.random.default_rng(0))
    assert x.shape == (4000, 40, 3) and x.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(x)) == {-1.0, 0.0, 1.0} and (x[:, 0] != 0).all()
    assert abs((x[:, 1:] != 0).mean() - 0.1) < 0.005
    assert np.array_equal(y, task.oracle(x)) and np.bincount(y, minlength=8).min() > 400  # about 500 each
    last = np.stack([task.latents(x)[f"bit_{i}"][:, -1] for i in range(3)], axis=1) > 0
    assert np.array_equal((last * [1, 2, 4]).sum(1), y)


def test_exact_ceiling_registry_and_parameters():
    task = get_task("flipflop", n_bits=2)
    assert TASKS["flipflop"] is FlipFlop and task.n_classes == 4 and task.input_size == 2
    assert task.ceiling() == 1.0 and task.class_names == ["--", "+-", "-+", "++"]
    for bad in ({"n_bits": 0}, {"n_bits": 11}, {"seq_len": 0}, {"p_pulse": 1.5}):
        with pytest.raises(ValueError):
            FlipFlop(**bad)
    assert FlipFlop(**task.params()) == task


def test_a_small_tanh_rnn_learns_it():
    run = rnnscope.train(
        task="flipflop",
        task_params={"n_bits": 2, "seq_len": 12},
        n_train=400,
        n_test=100,
        model="rnn",
        hidden=12,
        layers=1,
        epochs=12,
        lr=1e-2,
        seed=0,
        device="cpu",
    )
    assert run.metrics["task_ceiling"] == 1.0
    assert run.metrics["test_acc"] > 0.8  # chance 0.25
