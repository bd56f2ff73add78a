"""The model protocol: the built-in models conform, and the state accessors round-trip."""

import pytest
import torch

from rnnscope.models import CausalTransformerClassifier, RecurrentClassifier
from rnnscope.models.protocol import (
    HasGates,
    RecurrentModel,
    SequenceModel,
    is_recurrent,
    state_size,
    state_vector,
    supports,
    vector_state,
)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_classifier_is_a_recurrent_protocol_model(kind):
    m = RecurrentClassifier(kind, 3, 5, 2, 4)
    assert isinstance(m, RecurrentModel) and is_recurrent(m) and supports(m, HasGates)
    state = m.step(torch.randn(6, 3), m.init_state(6))
    v = state_vector(m, state)
    assert v.shape == (6, state_size(m)) == (6, 5 * 2 * (2 if kind == "lstm" else 1))
    back = vector_state(m, v)
    for a, b in zip(m.layer_states(state), m.layer_states(back)):
        for name in m.state_names:
            assert torch.equal(a[name], b[name])
    # layer by layer, each layer's parts in order: h_0 (then c_0), h_1 ...
    assert torch.equal(v[:, :5], m.layer_states(state)[0]["h"])


def test_transformer_steps_but_has_no_recurrent_state():
    m = CausalTransformerClassifier(3, 8, 1, 2, heads=2)
    assert isinstance(m, SequenceModel) and not is_recurrent(m)


def test_vector_of_the_wrong_size_is_refused():
    m = RecurrentClassifier("rnn", 3, 5, 1, 2)
    with pytest.raises(ValueError, match="5 entries"):
        vector_state(m, torch.zeros(2, 6))
