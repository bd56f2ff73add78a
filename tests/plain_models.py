"""Plain objects that implement only the required part of the model protocol (docs/models.md), written
by hand (no nn.RNN/LSTM): what a user of rnnscope brings. Shared by tests/test_protocol_generic.py."""

import itertools

import torch
import torch.nn.functional as F


class TanhCell:
    """h' = tanh(W h + U x + b), logits = V h + c. State: h (B, H). float64, not an nn.Module."""

    num_layers = 1
    state_names = ("h",)
    gate_names = ()

    def __init__(self, input_size=3, hidden=6, n_classes=4, seed=0):
        g = torch.Generator().manual_seed(seed)
        r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64) * 0.6
        self.input_size, self.n_classes, self.layer_sizes = input_size, n_classes, (hidden,)
        self.W, self.U, self.b = r(hidden, hidden), r(hidden, input_size), r(hidden)
        self.V, self.c = r(n_classes, hidden), r(n_classes)

    def init_state(self, batch, device=None, dtype=None):
        return torch.zeros(batch, self.layer_sizes[0], device=device, dtype=dtype or torch.float64)

    def step(self, x_t, h):
        return torch.tanh(h @ self.W.T + x_t @ self.U.T + self.b)

    def readout(self, h):
        return h @ self.V.T + self.c

    def layer_states(self, h):
        return [{"h": h}]

    def make_state(self, layers):
        return layers[0]["h"]

    # the reference: a manual loop
    def unroll(self, x):
        """x (B, T, C) -> every h_t (B, T, H), one tensor per step kept in a list too (for autograd)."""
        h, hs = self.init_state(x.shape[0]), []
        for t in range(x.shape[1]):
            h = self.step(x[:, t], h)
            hs.append(h)
        return hs


class TwoLayerLSTM:
    """Two hand-written LSTM layers (gates i, f, g, o) with state [{"h", "c"}, {"h", "c"}] and a linear
    readout of the top h. Only the required protocol; not an nn.Module."""

    num_layers = 2
    state_names = ("h", "c")
    gate_names = ()

    def __init__(self, input_size=3, hidden=(5, 4), n_classes=3, seed=1):
        g = torch.Generator().manual_seed(seed)
        r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64) * 0.5
        self.input_size, self.n_classes, self.layer_sizes = input_size, n_classes, tuple(hidden)
        sizes = (input_size, *hidden)
        self.w = [(r(4 * h, c), r(4 * h, h), r(4 * h)) for c, h in itertools.pairwise(sizes)]
        self.V, self.c = r(n_classes, hidden[-1]), r(n_classes)

    def init_state(self, batch, device=None, dtype=None):
        dtype = dtype or torch.float64
        return [
            {
                "h": torch.zeros(batch, h, dtype=dtype, device=device),
                "c": torch.zeros(batch, h, dtype=dtype, device=device),
            }
            for h in self.layer_sizes
        ]

    def cell(self, layer, inp, parts):
        w_x, w_h, b = self.w[layer]
        i, f, gg, o = (inp @ w_x.T + parts["h"] @ w_h.T + b).chunk(4, dim=1)
        c = torch.sigmoid(f) * parts["c"] + torch.sigmoid(i) * torch.tanh(gg)
        return {"h": torch.sigmoid(o) * torch.tanh(c), "c": c}

    def step(self, x_t, state):
        new, inp = [], x_t
        for layer, parts in enumerate(state):
            new.append(self.cell(layer, inp, parts))
            inp = new[-1]["h"]
        return new

    def readout(self, state):
        return state[-1]["h"] @ self.V.T + self.c

    def layer_states(self, state):
        return state

    def make_state(self, layers):
        return list(layers)


class Layered(TwoLayerLSTM):
    """The same model, also offering `step_layer` (the LayeredStep capability)."""

    def step_layer(self, layer, inp, parts):
        return self.cell(layer, inp, parts)


class RequiredOnly:
    """Any protocol model seen through its required members only (no capability, no parameters())."""

    def __init__(self, model):
        self.m = model
        for name in ("input_size", "n_classes", "num_layers", "layer_sizes", "state_names", "gate_names"):
            setattr(self, name, getattr(model, name))

    def init_state(self, batch, device=None, dtype=None):
        return self.m.init_state(batch, device, dtype)

    def step(self, x_t, state):
        return self.m.step(x_t, state)

    def readout(self, state):
        return self.m.readout(state)

    def layer_states(self, state):
        return self.m.layer_states(state)

    def make_state(self, layers):
        return self.m.make_state(layers)


class Gated(RequiredOnly):
    """A model seen through its required members plus `step_with_gates` and `carry_gate`."""

    def __init__(self, model):
        super().__init__(model)
        self.carry_gate = model.carry_gate

    def step_with_gates(self, x_t, state):
        return self.m.step_with_gates(x_t, state)


def unrolled_reference(model, x, y, lengths):
    """Autograd on a manual unroll, layer by layer with the model's own cell (TwoLayerLSTM) or step
    (TanhCell): {"grad_h/<l>", "grad_c/<l>": (B, T, H_l), "grad_x": (B, T, C)}, NaN past each end."""
    b, t_len = x.shape[:2]
    xin = x.detach().clone().requires_grad_()
    state, keep, logits = model.init_state(b), [], torch.zeros(b, model.n_classes, dtype=x.dtype)
    for t in range(t_len):
        if hasattr(model, "cell"):
            new, inp = [], xin[:, t]
            for layer, parts in enumerate(state):
                new.append(model.cell(layer, inp, parts))
                inp = new[-1]["h"]
            state = new
            keep.append([(layer, name, v) for layer, parts in enumerate(new) for name, v in parts.items()])
        else:
            state = model.step(xin[:, t], state)
            keep.append([(0, "h", state)])
        logits = torch.where((lengths - 1 == t)[:, None], model.readout(state), logits)
    loss = F.cross_entropy(logits, y, reduction="sum")
    flat = [v for step in keep for *_, v in step]
    grads = iter(torch.autograd.grad(loss, [xin, *flat]))
    out = {"grad_x": next(grads)}
    for t, step in enumerate(keep):
        for layer, name, v in step:
            out.setdefault(
                f"grad_{name}/{layer}", torch.full((b, t_len, v.shape[1]), float("nan"), dtype=x.dtype)
            )[:, t] = next(grads)
    valid = torch.arange(t_len)[None, :] < lengths[:, None]
    return {k: v.masked_fill(~valid[..., None], float("nan")) for k, v in out.items()}
