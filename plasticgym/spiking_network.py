"""A batched network of Izhikevich neurons with dopamine-modulated STDP (Izhikevich 2007).

``B`` independent networks (seeds) are simulated together in 1 ms steps; each has ``n_exc``
regular spiking excitatory and ``n_inh`` fast spiking inhibitory neurons
(:data:`plasticgym.spiking.REGULAR_SPIKING`, :data:`plasticgym.spiking.FAST_SPIKING`), and every
neuron makes ``n_per_neuron`` synapses with a 1 ms delay onto random targets (inhibitory ones
onto excitatory neurons only), stored as index tensors (:func:`plasticgym.spiking.
random_synapses`). Excitatory synapses start at 1 mV and learn, inhibitory ones are fixed at
-1 mV. Each neuron receives a random "thalamic" current uniform in ``[-6.5, 6.5]`` every ms,
which keeps the network firing at about 1 Hz.

One step (``t`` in ms):

1. ``I = noise + sum of the weights of the synapses whose presynaptic neuron fired at t - 1``;
2. the neurons integrate (:func:`plasticgym.spiking.izhikevich_step`);
3. STDP, event-driven: each presynaptic spike adds ``-A- x_post`` to the eligibility ``c`` of
   its outgoing synapses, each postsynaptic spike adds ``A+ x_pre`` to that of its incoming
   excitatory synapses (``x``: per-neuron spike traces, ``tau`` = 20 ms, read before this
   step's spikes are added; ``A+ = 0.1``, ``A- = 0.15`` as in the paper's code);
4. dopamine ``d <- exp(-1 / tau_d) d + 0.5 r_t``;
5. every 10 ms: ``s <- clip(s + (0.002 + d) c, 0, 4)`` for excitatory synapses and
   ``c <- exp(-10 / tau_c) c`` (the paper's code: ``0.99``, ``tau_c`` ~ 1 s); the same
   equations as :func:`plasticgym.spiking.izhikevich_weight_update` and
   :func:`plasticgym.spiking.izhikevich_eligibility_step`, done in place for speed.

Deviations from the paper's code, all small: the traces are additive exponentials with
``exp(-1/20)`` per ms (the code sets the trace to 0.1 at a spike and multiplies it by 0.95 per
ms); STDP uses spike emission times (the code uses arrival times, 1 ms later, for both sides,
which shifts the window by 1 ms); ``tau_c`` can differ per network (for the control).

Only the per-neuron state is dense; synaptic events touch only the synapses of the neurons
that fired, so a step costs ``O(B N + spikes x synapses per neuron)`` plus ``O(B S)`` every
10 ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from plasticgym.spiking import (
    FAST_SPIKING,
    REGULAR_SPIKING,
    decay_factor,
    izhikevich_step,
    random_synapses,
)


@dataclass(frozen=True)
class NetworkParams:
    """Sizes and constants of the Izhikevich (2007) network (the paper's values by default;
    times in ms, weights in mV)."""

    n_exc: int = 800
    n_inh: int = 200
    n_per_neuron: int = 100
    w_exc: float = 1.0
    w_inh: float = -1.0
    w_max: float = 4.0
    noise_amplitude: float = 13.0
    a_plus: float = 0.1
    a_minus: float = 0.15
    tau_stdp: float = 20.0
    tau_d: float = 200.0
    dopamine_per_reward: float = 0.5
    tonic_dopamine: float = 0.002
    update_every: int = 10

    def __post_init__(self) -> None:
        for name in ("n_exc", "n_per_neuron", "update_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} is invalid: an integer >= 1")
        if isinstance(self.n_inh, bool) or not isinstance(self.n_inh, int) or self.n_inh < 0:
            raise ValueError(f"n_inh={self.n_inh!r} is invalid: an integer >= 0")
        for name in ("w_max", "tau_stdp", "tau_d", "noise_amplitude"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid: must be > 0")

    @property
    def n(self) -> int:
        return self.n_exc + self.n_inh

    @property
    def n_synapses(self) -> int:
        return self.n * self.n_per_neuron

    @property
    def n_exc_synapses(self) -> int:
        return self.n_exc * self.n_per_neuron


class Network(NamedTuple):
    """The fixed wiring of ``B`` networks: ``pre [S]`` (shared), ``post [B, S]``, the incoming
    excitatory synapses of each neuron ``incoming [B, N, K]`` (padded with ``S``, a dummy
    synapse), per-neuron ``a, b, c, d [N]`` and the plastic mask ``plastic [S]``."""

    pre: Tensor
    post: Tensor
    incoming: Tensor
    a: Tensor
    b: Tensor
    c: Tensor
    d: Tensor
    plastic: Tensor


class NetworkState(NamedTuple):
    """What changes, per network: ``v, u, trace [B, N]``, ``spikes [B, N]`` (bool, this step),
    ``weights [B, S]``, ``eligibility [B, S + 1]`` (its last column is the dummy synapse),
    ``dopamine [B]``. :func:`network_step` updates ``weights`` and ``eligibility`` in place
    (every 10 ms, the only dense work over the synapses) and returns new tensors for the
    rest."""

    v: Tensor
    u: Tensor
    trace: Tensor
    spikes: Tensor
    weights: Tensor
    eligibility: Tensor
    dopamine: Tensor


def incoming_table(post: Tensor, n: int, n_plastic: int) -> Tensor:
    """For every network and neuron, the ids of its incoming synapses among the first
    ``n_plastic`` (the excitatory ones), padded to a common width with ``S = post.shape[1]``.
    Returns ``[B, N, K]``, ``K`` the largest in-degree."""
    n_networks, n_synapses = post.shape
    targets = post[:, :n_plastic]
    order = torch.argsort(targets, dim=1, stable=True)
    sorted_targets = targets.gather(1, order)
    counts = torch.zeros(n_networks, n, dtype=torch.long, device=post.device)
    counts.scatter_add_(1, targets, torch.ones_like(targets))
    starts = torch.cumsum(counts, dim=1) - counts
    rank = torch.arange(n_plastic, device=post.device) - starts.gather(1, sorted_targets)
    width = max(int(counts.max()), 1)
    table = torch.full((n_networks, n, width), n_synapses, dtype=torch.long, device=post.device)
    rows = torch.arange(n_networks, device=post.device)[:, None].expand_as(order)
    table[rows, sorted_targets, rank] = order
    return table


def build_network(
    params: NetworkParams, n_networks: int, generator: torch.Generator
) -> tuple[Network, NetworkState]:
    """Wire ``n_networks`` random networks and their initial state (``v = -65``,
    ``u = 0.2 v``, weights ``w_exc`` / ``w_inh``, no eligibility, no dopamine), on the
    generator's device."""
    device = generator.device
    pre, post = random_synapses(n_networks, params.n_exc, params.n_inh, params.n_per_neuron,
                                generator, device=device)  # fmt: skip
    exc = torch.arange(params.n, device=device) < params.n_exc

    def per_neuron(field: str) -> Tensor:
        values = (getattr(REGULAR_SPIKING, field), getattr(FAST_SPIKING, field))
        return torch.where(exc, values[0], values[1]).float()

    plastic = torch.arange(params.n_synapses, device=device) < params.n_exc_synapses
    network = Network(pre, post, incoming_table(post, params.n, params.n_exc_synapses),
                      per_neuron("a"), per_neuron("b"), per_neuron("c"), per_neuron("d"),
                      plastic)  # fmt: skip
    v = torch.full((n_networks, params.n), -65.0, device=device)
    weights = torch.where(plastic, params.w_exc, params.w_inh).float().expand(n_networks, -1)
    state = NetworkState(v, 0.2 * v, torch.zeros_like(v), torch.zeros_like(v, dtype=torch.bool),
                         weights.contiguous(), torch.zeros(n_networks, params.n_synapses + 1,
                                                           device=device),
                         torch.zeros(n_networks, device=device))  # fmt: skip
    return network, state


def _network_of(fired: Tensor, n: int) -> Tensor | None:
    """The network ``b`` of each flat neuron id ``b N + i``, as a column ``[F, 1]``; ``None``
    when there is one network (every ``b`` is 0)."""
    if fired.numel() and int(fired[-1]) < n:
        return None
    return torch.div(fired, n, rounding_mode="floor")[:, None]


def _in_network(index: Tensor, network_of: Tensor | None, stride: int) -> Tensor:
    """``b stride + index``: a per-network index made flat (``index`` itself for network 0)."""
    return index if network_of is None else network_of * stride + index


def network_step(
    network: Network,
    state: NetworkState,
    reward: Tensor,
    t: int,
    params: NetworkParams,
    decay_c_per_update: Tensor,
    generator: torch.Generator,
) -> NetworkState:
    """One 1 ms step of every network (see the module docstring); ``t`` the step's index in
    ms (the weights update when ``(t + 1) % update_every == 0``), ``reward [B]`` the rewards
    delivered in this step, ``decay_c_per_update [B, 1]`` = ``exp(-update_every / tau_c)``."""
    n = state.v.shape[1]
    m = params.n_per_neuron
    s_plus_1 = state.eligibility.shape[1]
    device = state.v.device
    # Gathers and scatters use flat indices (torch.take, index_add_ on flat views): the same
    # elements in the same order as 2-D advanced indexing, several times faster on CPU. A
    # fired neuron's flat id f = b N + i owns synapses f m .. f m + m - 1 of the flat [B, S]
    # tensors (S = N m); the eligibility [B, S + 1] adds one column per network.
    current = torch.rand(state.v.shape, generator=generator, device=device)
    current.sub_(0.5).mul_(params.noise_amplitude)
    offsets = torch.arange(m, device=device)
    fired = state.spikes.reshape(-1).nonzero().squeeze(1)
    if fired.numel():  # synaptic input of last step's spikes (1 ms delay)
        out_flat = fired[:, None] * m + offsets
        targets = torch.take(network.post, out_flat)
        flat = _in_network(targets, _network_of(fired, n), n).view(-1)
        current.view(-1).index_add_(0, flat, torch.take(state.weights, out_flat).view(-1))
    v, u, spikes = izhikevich_step(state.v, state.u, current, network.a, network.b, network.c,
                                   network.d)  # fmt: skip

    trace = state.trace * decay_factor(params.tau_stdp)
    eligibility = state.eligibility
    fired = spikes.reshape(-1).nonzero().squeeze(1)
    if fired.numel():
        flat_c = eligibility.view(-1)
        fired_b = _network_of(fired, n)
        # LTD: the presynaptic neuron fired; its outgoing synapses see the targets' traces
        out_flat = fired[:, None] * m + offsets
        targets = torch.take(network.post, out_flat)
        ltd = torch.take(trace, _in_network(targets, fired_b, n)).mul_(params.a_minus)
        flat_c.index_add_(0, _in_network(out_flat, fired_b, 1).view(-1), ltd.neg_().view(-1))
        # LTP: the postsynaptic neuron fired; its incoming synapses see the sources' traces
        in_ids = network.incoming.reshape(-1, network.incoming.shape[2]).index_select(0, fired)
        sources = torch.take(network.pre, in_ids.clamp(max=network.pre.shape[0] - 1))
        ltp = torch.take(trace, _in_network(sources, fired_b, n)).mul_(params.a_plus)
        ltp.mul_(in_ids < s_plus_1 - 1)
        flat_c.index_add_(0, _in_network(in_ids, fired_b, s_plus_1).view(-1), ltp.view(-1))
    trace.add_(spikes)
    dopamine = state.dopamine * decay_factor(params.tau_d) + params.dopamine_per_reward * reward
    weights = state.weights
    if (t + 1) % params.update_every == 0:
        # In place, for speed: the only dense O(B S) work of the simulation.
        n_plastic = params.n_exc_synapses
        plastic_w = weights[:, :n_plastic]
        plastic_w.addcmul_((params.tonic_dopamine + dopamine)[:, None],
                           eligibility[:, :n_plastic]).clamp_(0.0, params.w_max)  # fmt: skip
        eligibility.mul_(decay_c_per_update)
    return NetworkState(v, u, trace, spikes, weights, eligibility, dopamine)


__all__ = ["Network", "NetworkParams", "NetworkState", "build_network", "incoming_table",
           "network_step"]  # fmt: skip
