"""The autonomous map x -> F(x, u) of a recurrent protocol model, on the whole stacked state vector.

Everything in `rnnscope.dynamics` goes through `StepMap`: the model's own `step`, read and written only
through `state_vector` / `vector_state` (every layer's parts, layer by layer: h_0, c_0, h_1, c_1, ...).
The map is evaluated on a private float64 copy of the model, so the caller's module is never touched
(no dtype, mode or requires_grad change); a model that cannot step in float64 is used as it is, in its
own dtype, without gradients tracked on its parameters.

F with ∂F/∂x together (what the Newton search evaluates) come from the model's `AutonomousMap` (the tanh
RNN: a few fused ops on the state vector, the input drive computed once) or `StepWithJacobian`.
Jacobians ∂F/∂x come from the model's `ClosedFormJacobian.step_jacobian` when it offers one, otherwise
from `torch.func.vmap(torch.func.jacrev(...))` through `step` (any protocol model); directional
derivatives J v (for the leading Lyapunov exponents of large states) from `torch.func.jvp`.

Key: N = points, D = state size (`protocol.state_size`), C = input channels, K = tangent vectors.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import Tensor, nn

from rnnscope.errors import BadArgument
from rnnscope.models.protocol import (
    AutonomousMap,
    ClosedFormJacobian,
    StepWithJacobian,
    is_recurrent,
    model_device,
    state_size,
    state_vector,
    supports,
    vector_state,
)

CHUNK_ENTRIES = 1 << 23  # Jacobian entries computed at once (float64: 64 MB)


def require_recurrent(model) -> None:
    """Refuse a model without a fixed-size recurrent state (the Transformer) with one clear line."""
    if not is_recurrent(model):
        name = type(model).__name__
        raise BadArgument(
            f"{name} has no recurrent state (it is not a recurrent protocol model), so it has "
            "no fixed points, linearisation or Lyapunov spectrum; use an rnn, gru or lstm"
        )


def _double_copy(model):
    """A float64 copy of the model with gradients off, or None when it cannot be made."""
    try:
        twin = copy.deepcopy(model)
    except Exception:
        return None
    if isinstance(twin, nn.Module):
        twin.double().eval().requires_grad_(False)
        return twin
    for name, value in list(getattr(twin, "__dict__", {}).items()):
        if isinstance(value, Tensor) and value.is_floating_point():
            setattr(twin, name, value.detach().double())
        elif isinstance(value, nn.Module):
            value.double().eval().requires_grad_(False)
    return twin


class StepMap:
    """F(x) = state_vector(step(u, vector_state(x))) for one constant input u (C,), x (N, D).

    Construct with the caller's model; the map works on a float64 copy when the model steps in float64
    (`dtype` says which), never on the model itself.
    """

    def __init__(self, model, u=None):
        require_recurrent(model)
        self.source = model
        self.D = state_size(model)
        self.C = int(model.input_size)
        device, _ = model_device(model)
        self.device = device
        twin = _double_copy(model)
        self.model, self.dtype = model, model_device(model)[1]
        if twin is not None and self._steps_in_float64(twin):
            self.model, self.dtype = twin, torch.float64
        self.closed_form = supports(self.model, ClosedFormJacobian)
        self.fused = supports(self.model, StepWithJacobian)
        self.set_input(np.zeros(self.C) if u is None else u)

    def _steps_in_float64(self, twin) -> bool:
        try:
            with torch.no_grad():
                x = torch.zeros(1, self.D, dtype=torch.float64, device=self.device)
                u = torch.zeros(1, self.C, dtype=torch.float64, device=self.device)
                out = state_vector(twin, twin.step(u, vector_state(twin, x)))
        except (RuntimeError, TypeError):
            return False
        return out.dtype == torch.float64 and out.shape == (1, self.D)

    def set_input(self, u) -> None:
        """The constant input u (C,) the map holds fixed."""
        u = torch.as_tensor(np.asarray(u, dtype=np.float64), dtype=self.dtype, device=self.device)
        if u.shape != (self.C,):
            raise BadArgument(
                f"the constant input must have shape ({self.C},) (the model's input size), "
                f"got {tuple(u.shape)}"
            )
        self.u = u
        with torch.no_grad():
            self._map = self.model.autonomous_map(u) if supports(self.model, AutonomousMap) else None

    def tensor(self, x) -> Tensor:
        """x as a (N, D) tensor on the map's device and dtype."""
        return torch.as_tensor(x, dtype=self.dtype, device=self.device)

    def step(self, x: Tensor, u: Tensor | None = None) -> Tensor:
        """F(x): x (N, D) -> (N, D). u: (N, C) per point, or None for the constant input."""
        u = self.u.expand(x.shape[0], self.C) if u is None else u
        with torch.no_grad():
            return state_vector(self.model, self.model.step(u, vector_state(self.model, x)))

    def step_grad(self, x: Tensor) -> Tensor:
        """F(x) with autograd tracking x (for the warm start): x (N, D) -> (N, D)."""
        u = self.u.expand(x.shape[0], self.C)
        return state_vector(self.model, self.model.step(u, vector_state(self.model, x)))

    def _f1(self, x: Tensor, u: Tensor) -> Tensor:
        """One point: x (D,), u (C,) -> F (D,) (for torch.func)."""
        return state_vector(self.model, self.model.step(u[None], vector_state(self.model, x[None])))[0]

    def jacobian(self, x: Tensor, u: Tensor | None = None) -> Tensor:
        """∂F/∂x at each point: x (N, D) -> (N, D, D). u: (N, C) per point, or None (constant input)."""
        if u is None and self._map is not None:
            return self.step_and_jacobian(x)[1]
        u = self.u.expand(x.shape[0], self.C) if u is None else u
        n, d = x.shape
        step = max(1, CHUNK_ENTRIES // (d * d))
        out = []
        for i in range(0, n, step):
            xs, us = x[i : i + step], u[i : i + step]
            if self.closed_form:
                with torch.no_grad():
                    out.append(self.model.step_jacobian(us, vector_state(self.model, xs)).to(self.dtype))
            else:
                out.append(torch.func.vmap(torch.func.jacrev(self._f1))(xs, us).detach())
        return torch.cat(out) if out else x.new_zeros(0, d, d)

    def step_and_jacobian(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """F(x) (N, D) and ∂F/∂x (N, D, D) at x (N, D) under the constant input: from the model's
        `autonomous_map` when it has one (the tanh RNN), else from one traced forward when it offers
        `step_with_jacobian`, otherwise `step` then `jacobian`."""
        if self._map is None and not self.fused:
            return self.step(x), self.jacobian(x)
        n, d = x.shape
        size = max(1, CHUNK_ENTRIES // (d * d))
        fs, js = [], []
        with torch.no_grad():
            for i in range(0, n, size):
                f, j = self._step_and_jacobian(x[i : i + size])
                fs.append(f)
                js.append(j)
        if len(fs) == 1:
            return fs[0], js[0]
        return torch.cat(fs), torch.cat(js)

    def _step_and_jacobian(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """One chunk of `step_and_jacobian`: x (n, D) -> ((n, D), (n, D, D))."""
        if self._map is not None:
            return self._map(x)
        u = self.u.expand(x.shape[0], self.C)
        new, jac = self.model.step_with_jacobian(u, vector_state(self.model, x))
        return state_vector(self.model, new).to(self.dtype), jac.to(self.dtype)

    def jvp(self, x: Tensor, v: Tensor, u: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """F(x) and J v for K tangents per point: x (N, D), v (N, D, K) -> ((N, D), (N, D, K))."""
        u = self.u.expand(x.shape[0], self.C) if u is None else u

        def one(xi, ui, vi):  # (D,), (C,), (D, K)
            tangent = torch.func.vmap(
                lambda t: torch.func.jvp(lambda s: self._f1(s, ui), (xi,), (t,))[1], in_dims=1, out_dims=1
            )(vi)
            return self._f1(xi, ui), tangent

        fx, jv = torch.func.vmap(one)(x, u, v)
        return fx.detach(), jv.detach()
