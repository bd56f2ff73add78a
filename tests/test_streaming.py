import pytest
import torch

from rnnscope.config import ModelConfig
from rnnscope.costs import state_bytes
from rnnscope.models import build_model
from rnnscope.streaming import StreamPool

KINDS = ["rnn", "lstm", "gru", "transformer"]
C, K = 3, 4


def _model(kind, hidden=16, layers=2):
    return build_model(ModelConfig(kind=kind, hidden=hidden, layers=layers), C, K).eval()


def _reference(model, x):
    """Probabilities after every step of one full-sequence forward: x (T, C) -> (T, K)."""
    with torch.no_grad():
        if model.kind == "transformer":
            top = model.encode(x[None])[0][-1][0]
            return model.head(model.norm(top)).softmax(-1)
        out, _ = model.core(x[None])
        return model.head(out[0]).softmax(-1)


def _play(pool, seqs, starts, chunk):
    """Streams open at their start tick, get `chunk` rows per tick (fewer at their end), close when done."""
    got = {i: [] for i in range(len(seqs))}
    slot_of, pos, tick = {}, {i: 0 for i in range(len(seqs))}, 0
    while any(pos[i] < len(s) for i, s in enumerate(seqs)):
        for i, _s in enumerate(seqs):
            if starts[i] == tick:
                slot_of[i] = pool.open()
        feed = {}
        for i, slot in slot_of.items():
            if pos[i] < len(seqs[i]):
                n = min(chunk, len(seqs[i]) - pos[i])
                feed[slot] = seqs[i][pos[i] : pos[i] + n]
                pos[i] += n
        if feed:
            out = pool.feed_ragged(feed)
            for i, slot in slot_of.items():
                if slot in out:
                    got[i].append(out[slot])
        for i, slot in list(slot_of.items()):
            if pos[i] == len(seqs[i]):
                assert pool.steps(slot) == len(seqs[i])
                pool.close(slot)
                del slot_of[i]
        tick += 1
    return {i: torch.cat(v) for i, v in got.items()}


# chunk_method applies to recurrent models; the Transformer has one path (its KV cache)
CASES = [(k, m) for k in KINDS for m in ("stepped", "fused") if not (k == "transformer" and m == "fused")]


@pytest.mark.parametrize("kind,method", CASES)
@pytest.mark.parametrize("chunk", [1, 7, 10_000])
def test_streaming_equals_full_forward(kind, method, chunk):
    model = _model(kind)
    lengths, starts = [23, 9, 16, 1, 12], [0, 3, 3, 5, 6]
    seqs = [torch.randn(n, C) for n in lengths]
    pool = StreamPool(model, capacity=2, chunk_method=method)  # grows while streams overlap
    got = _play(pool, seqs, starts, chunk)
    for i, s in enumerate(seqs):
        assert got[i].shape == (len(s), K)
        torch.testing.assert_close(got[i], _reference(model, s), atol=1e-5, rtol=0)
        torch.testing.assert_close(got[i][-1], model(s[None]).softmax(-1)[0].detach(), atol=1e-5, rtol=0)
    assert pool.open_slots == []


@pytest.mark.parametrize("kind", KINDS)
def test_feed_paths_agree(kind):
    """Uniform feeds through every row layout (all slots, a sub-range, a scattered subset) are exact."""
    model = _model(kind)
    x = torch.randn(4, 11, C)
    ref = torch.stack([_reference(model, x[i]) for i in range(4)])
    pool = StreamPool(model, capacity=4)
    slots = pool.open_many(4)
    assert slots == [0, 1, 2, 3]
    got = torch.zeros(4, 11, K)
    got[:, 0] = pool.feed(range(4), x[:, 0])  # every slot: state buffers swap
    got[:, 1:4] = pool.feed([0, 1, 2, 3], x[:, 1:4])  # a chunk
    got[1:3, 4] = pool.feed([1, 2], x[1:3, 4])  # a sub-range of the buffers
    got[[3, 0], 4] = pool.feed([3, 0], x[[3, 0], 4])  # scattered, out of order
    got[:, 5:] = pool.feed(torch.tensor([2, 0, 3, 1]), x[[2, 0, 3, 1], 5:])[[1, 3, 0, 2]]
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_state_is_pytorch_hx(kind):
    model = _model(kind)
    x = torch.randn(1, 9, C)
    pool = StreamPool(model)
    slot = pool.open()
    pool.feed([slot], x)
    with torch.no_grad():
        _, hn = model.core(x)
    st = pool.state(slot)
    for a, b in zip(st if kind == "lstm" else (st,), hn if kind == "lstm" else (hn,)):
        assert a.shape == (2, 1, 16)
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_closed_slot_is_reused_from_a_fresh_state():
    model = _model("gru")
    pool = StreamPool(model, capacity=3)
    a, b, c = pool.open(), pool.open(), pool.open()
    x = torch.randn(3, 5, C)
    pool.feed([a, b, c], x)
    before = pool.state(c).clone()
    pool.close(b)
    assert not pool.is_open(b) and pool.open_slots == [a, c]
    d = pool.open()
    assert d == b and pool.steps(d) == 0 and pool.capacity == 3
    y = torch.randn(6, C)
    got = pool.feed([d], y[None])[0]
    torch.testing.assert_close(got, _reference(model, y), atol=1e-5, rtol=0)
    torch.testing.assert_close(pool.state(c), before)  # feeding d left c alone
    e = pool.open()  # full: the pool doubles and keeps every state
    assert e == 3 and pool.capacity == 6
    torch.testing.assert_close(pool.state(c), before)


def test_kv_cache_grows_and_recurrent_state_does_not():
    for kind in KINDS:
        model = _model(kind)
        pool = StreamPool(model)
        slot = pool.open()
        sizes = []
        for t in (1, 8, 32):
            pool.feed([slot], torch.randn(1, t - pool.steps(slot), C))
            sizes.append(pool.state_bytes(slot))
            cfg = ModelConfig(kind=kind, hidden=16, layers=2)
            assert sizes[-1] == state_bytes(cfg, t)
        if kind == "transformer":
            assert sizes == [(2 * 2 * t * 16 + 16) * 4 for t in (1, 8, 32)]
        else:
            assert len(set(sizes)) == 1


def test_streaming_leaves_the_model_alone():
    model = _model("lstm")
    model.train()
    params = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    pool = StreamPool(model)
    pool.feed([pool.open()], torch.randn(1, 5, C))
    assert model.training
    assert [p.requires_grad for p in model.parameters()] == flags
    for k, v in model.state_dict().items():
        assert torch.equal(v, params[k])


def test_bad_calls_raise_one_clear_error():
    pool = StreamPool(_model("rnn"))
    a = pool.open()
    with pytest.raises(ValueError, match="slot 5 is not an open stream"):
        pool.feed([5], torch.randn(1, C))
    with pytest.raises(ValueError, match="more than once"):
        b = pool.open()
        pool.feed([a, b, a], torch.randn(3, C))
    with pytest.raises(ValueError, match=r"expected x of shape \(1, 3\)"):
        pool.feed([a], torch.randn(1, C + 1))
    with pytest.raises(ValueError, match="at least one step"):
        pool.feed([a], torch.randn(1, 0, C))
    pool.close(a)
    with pytest.raises(ValueError, match="slot 0 is not an open stream"):
        pool.close(a)
    with pytest.raises(ValueError, match="capacity"):
        StreamPool(_model("rnn"), capacity=0)


def test_feeding_inside_and_outside_inference_mode():
    model = _model("lstm")
    x = torch.randn(10, C)
    pool = StreamPool(model, capacity=1)
    slot = pool.open()
    with torch.inference_mode():
        first = pool.feed([slot], x[None, :4])[0]
    rest = pool.feed([slot], x[None, 4:])[0]
    pool.close(slot)
    pool.open()  # resetting buffers written under inference_mode works too
    torch.testing.assert_close(torch.cat([first, rest]), _reference(model, x), atol=1e-5, rtol=0)


def test_auto_chunks_take_the_fused_module_for_few_streams_only():
    pool = StreamPool(_model("rnn"))
    assert pool.engine.method(1) == "fused" and pool.engine.method(4096) == "stepped"
    assert StreamPool(_model("gru"), chunk_method="stepped").engine.method(1) == "stepped"
    with pytest.raises(ValueError, match="chunk_method"):
        StreamPool(_model("gru"), chunk_method="fast")
