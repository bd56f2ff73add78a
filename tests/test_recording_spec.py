"""RecordSpec: validated when built, then against a model; each message says exactly what is wrong."""

import dataclasses

import numpy as np
import pytest

from rnnscope.models import CausalTransformerClassifier, RecurrentClassifier
from rnnscope.recording import QUANTITIES, RecordSpec


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"quantities": ()}, r"^Empty quantities -- nothing will be recorded\.$"),
        ({"steps": ()}, r"^Empty steps -- nothing will be saved\.$"),
        ({"sequences": []}, r"^Empty sequences -- nothing will be recorded\.$"),
        ({"layers": ()}, r"^Empty layers"),
        ({"quantities": ("hidden", "spikes")}, r"unknown quantity 'spikes'; choose from inputs, hidden"),
        ({"quantities": ("lengths",)}, r"unknown quantity 'lengths' \(always recorded\)"),
        ({"quantities": ("hidden", "hidden")}, "quantities must not repeat"),
        ({"layers": (0, -1)}, "layers must be non-negative"),
        ({"layers": (1, 1)}, "layers must not repeat"),
        ({"layers": (0.5,)}, "layers must hold integers, got 0.5"),
        ({"layers": "01"}, "layers must be a sequence of integers or None"),
        ({"sequences": (3, -1)}, "sequences must be non-negative indices"),
        ({"sequences": (3, 3)}, "sequences must not repeat"),
        ({"steps": (0, 5, 5)}, "steps must be strictly increasing"),
        ({"steps": (4, 2)}, "steps must be strictly increasing"),
        ({"steps": (-1, 2)}, "steps must be non-negative, got -1"),
        ({"dtype": "float64"}, "dtype must be float32 or float16, got 'float64'"),
        ({"chunk_size": 0}, "chunk_size must be a positive integer, got 0"),
        ({"chunk_size": True}, "chunk_size must be a positive integer"),
        ({"max_sequences": 0}, "max_sequences must be a positive integer or None, got 0"),
    ],
)
def test_bad_specs_fail_when_built(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RecordSpec(**kwargs)


def test_spec_is_frozen_and_normalised():
    spec = RecordSpec(quantities="hidden", layers=[2, 0], steps=range(0, 10, 3), sequences=np.arange(3))
    assert spec.quantities == ("hidden",) and spec.layers == (0, 2)
    assert spec.steps == (0, 3, 6, 9) and spec.sequences == (0, 1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.dtype = "float16"


def test_defaults_resolve_to_everything_the_model_has():
    lstm = RecurrentClassifier("lstm", 2, 4, 3, 5)
    plan = RecordSpec().check(lstm, 10, 8)
    assert plan.quantities == ("inputs", "hidden", "cell", "gates", "probs", "labels", "predictions")
    assert (
        plan.layers == (0, 1, 2)
        and plan.steps.tolist() == list(range(8))
        and plan.index.tolist() == list(range(10))
    )
    assert "gate.f.l2" in plan.array_names() and plan.array_names()[-2:] == ["lengths", "index"]
    rnn = RecordSpec().check(RecurrentClassifier("rnn", 2, 4, 1, 5), 10, 8)
    assert "cell" not in rnn.quantities and "gates" not in rnn.quantities
    tf = RecordSpec().check(CausalTransformerClassifier(2, 8, 2, 3, heads=2), 10, 8)
    assert tf.quantities == ("inputs", "residual", "attention", "probs", "labels", "predictions")
    assert set(QUANTITIES) == set(plan.quantities) | {"residual", "attention"}


def test_checks_against_the_model_and_data():
    gru = RecurrentClassifier("gru", 2, 4, 2, 3)
    tf = CausalTransformerClassifier(2, 8, 2, 3, heads=2)
    with pytest.raises(ValueError, match="quantity 'cell' exists only for lstm models; this model is gru"):
        RecordSpec(quantities=("cell",)).check(gru, 5, 6)
    with pytest.raises(
        ValueError,
        match=r"quantity 'hidden' exists only for rnn/lstm/gru models; this "
        r"model is transformer \(record 'residual' for the transformer\)",
    ):
        RecordSpec(quantities=("hidden",)).check(tf, 5, 6)
    with pytest.raises(
        ValueError, match=r"quantity 'gates' exists only for lstm/gru models; this model is rnn"
    ):
        RecordSpec(quantities=("gates",)).check(RecurrentClassifier("rnn", 2, 4, 2, 3), 5, 6)
    with pytest.raises(ValueError, match=r"layers must be < 2 \(the model has 2 layers\), got 2"):
        RecordSpec(layers=(0, 2)).check(gru, 5, 6)
    with pytest.raises(ValueError, match=r"steps must be < 6 \(the sequence length\), got 6"):
        RecordSpec(steps=(0, 6)).check(gru, 5, 6)
    with pytest.raises(ValueError, match=r"sequences must be < 5 \(the data's size\), got 7"):
        RecordSpec(sequences=(0, 7)).check(gru, 5, 6)
    plan = RecordSpec(sequences=(4, 1, 2), max_sequences=2, layers=(1,)).check(gru, 5, 6)
    assert plan.index.tolist() == [4, 1] and plan.layers == (1,)
    assert plan.array_names() == [
        "inputs",
        "hidden.l1",
        "gate.r.l1",
        "gate.z.l1",
        "gate.n.l1",
        "probs",
        "labels",
        "predictions",
        "lengths",
        "index",
    ]
