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

:func:`network_step_event_driven` (opt-in, with :func:`to_event_driven` and
:func:`materialize`) drops the ``O(B S)`` term: the 10 ms update and the eligibility decay
are summed in closed form per synapse when its neuron fires (exact in real arithmetic, not bit
for bit). It is measured slower on CPU at the paper's sizes (docs/spiking.md).
"""

from __future__ import annotations

import math
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


# --------------------------------------------------------------------------------------------
# The event-driven path: no dense work over the synapses every 10 ms
# --------------------------------------------------------------------------------------------

EPOCH_MAX_UPDATES = 1000
"""The longest epoch of :class:`EventDrivenState`, in weight updates (10 s at 10 ms)."""

MAX_DECAY_RATIO = 1e6
"""The largest ``lambda^-E`` an epoch may span: bounds the float64 cancellation error of
``(P_k - P_k0) / lambda^k0`` to about ``1e6 x 1e-16`` relative."""


class EventDrivenState(NamedTuple):
    """The state of :func:`network_step_event_driven`. Each synapse's weight and eligibility
    are stored as of its last *sync* (its last STDP event or the last epoch flush) together
    with the number of weight updates of the epoch done by then, packed per synapse in
    ``synapses [B, S + 1, 3]`` float32 (weight, eligibility, updates: one random access per synapse
    instead of three; the last synapse is the dummy); :func:`materialize` gives the current values.
    ``v, u, trace, spikes, dopamine`` as in :class:`NetworkState`; per network
    ``gain_sum [B, E + 1]`` float64, ``P_j = sum_{i < j} (tonic + d_i) lambda^i``, and
    ``decay_powers [B, E + 1]`` float64, ``lambda^j`` (``lambda = exp(-update_every /
    tau_c)``); ``updates`` the updates done in the current epoch of ``E``."""

    v: Tensor
    u: Tensor
    trace: Tensor
    spikes: Tensor
    synapses: Tensor
    dopamine: Tensor
    gain_sum: Tensor
    decay_powers: Tensor
    updates: int


def epoch_length(decay_c_per_update: Tensor) -> int:
    """Updates per epoch: the most, up to :data:`EPOCH_MAX_UPDATES`, for which the fastest
    decaying network's ``lambda^-E`` stays within :data:`MAX_DECAY_RATIO` (``tau_c`` = 1 s:
    1000, the cap; ``tau_c`` = 20 ms: 27)."""
    lam = float(decay_c_per_update.min())
    if lam >= 1.0:
        return EPOCH_MAX_UPDATES
    if lam <= 0.0:
        return 1
    return max(1, min(EPOCH_MAX_UPDATES, int(math.log(MAX_DECAY_RATIO) / -math.log(lam))))


def to_event_driven(
    state: NetworkState, decay_c_per_update: Tensor, params: NetworkParams
) -> EventDrivenState:
    """The dense ``state`` as an :class:`EventDrivenState` (every synapse synced at update 0
    of a new epoch), for :func:`network_step_event_driven` with per-network
    ``decay_c_per_update [B, 1]`` = ``exp(-update_every / tau_c)`` in ``[0, 1]``."""
    n_networks = state.v.shape[0]
    decay = torch.as_tensor(decay_c_per_update, device=state.v.device)
    if decay.numel() not in (1, n_networks) or not bool(((decay >= 0) & (decay <= 1)).all()):
        raise ValueError(
            f"decay_c_per_update={decay_c_per_update!r} is invalid: one value or one per "
            f"network ({n_networks}), each exp(-update_every / tau_c) in [0, 1]"
        )
    plastic_w = state.weights[:, : params.n_exc_synapses]
    if not bool(((plastic_w >= 0) & (plastic_w <= params.w_max)).all()):
        raise ValueError(
            "state.weights is invalid for the event-driven path: every excitatory weight must "
            f"lie in [0, w_max={params.w_max}] (the path clips only when a synapse is synced)"
        )
    epoch = epoch_length(decay)
    lam = decay.reshape(-1, 1).expand(n_networks, 1).to(torch.float64)
    powers = lam ** torch.arange(epoch + 1, dtype=torch.float64, device=lam.device)
    synapses = torch.zeros(n_networks, state.eligibility.shape[1], 3, device=state.v.device)
    synapses[:, :-1, 0] = state.weights
    synapses[:, :, 1] = state.eligibility
    return EventDrivenState(state.v, state.u, state.trace, state.spikes, synapses,
                            state.dopamine, torch.zeros_like(powers), powers, 0)  # fmt: skip


def _current(
    state: EventDrivenState,
    ids: Tensor,
    network_of: Tensor | None,
    plastic: Tensor | None,
    w_max: float,
) -> tuple[Tensor, Tensor]:
    """The current weights and eligibilities of the synapses ``ids`` (flat ids into
    ``[B (S + 1)]``, any shape), ``plastic`` a mask broadcastable to ``ids`` (``None``: all).

    Between two syncs a synapse's ``c`` only decays, ``c_i = c_k0 lambda^(i - k0)`` at update
    ``i``, so every update ``w <- clip(w + g_i c_i, 0, w_max)`` moves ``w`` the same way when
    the gains ``g_i = tonic + d_i`` are >= 0; clipping at each update then equals clipping the
    sum once (``w_k0`` in bounds):
    ``w_k = clip(w_k0 + c_k0 (P_k - P_k0) / lambda^k0, 0, w_max)``,
    ``c_k = c_k0 lambda^(k - k0)`` (Izhikevich 2007's update, summed in closed form)."""
    rows = state.synapses.view(-1, 3).index_select(0, ids.reshape(-1))
    w0, c0, synced = rows.view(*ids.shape, 3).unbind(-1)
    width = state.gain_sum.shape[1]
    at_sync = _in_network(synced.long(), network_of, width).reshape(-1)
    inverse = state.decay_powers.view(-1).index_select(0, at_sync).reciprocal_()
    k = state.updates
    now = state.gain_sum[:, k], state.decay_powers[:, k]
    # network_of None: every id is in network 0 (_network_of)
    now = (
        (now[0][:1], now[1][:1]) if network_of is None else (now[0][network_of], now[1][network_of])
    )
    gain = state.gain_sum.view(-1).index_select(0, at_sync).view(ids.shape).neg_()
    gain = gain.add_(now[0]).mul_(inverse.view(ids.shape)).float()
    w = torch.addcmul(w0, c0, gain).clamp_(0.0, w_max)
    if plastic is not None:
        w = torch.where(plastic, w, w0)
    return w, inverse.view(ids.shape).mul_(now[1]).float().mul_(c0)


def _sync_add(
    state: EventDrivenState,
    ids: Tensor,
    network_of: Tensor | None,
    plastic: Tensor | None,
    increment: Tensor,
    w_max: float,
) -> None:
    """Sync the synapses ``ids`` (store their current weight and eligibility, as of now) and
    add ``increment`` to their eligibility, in place. ``ids`` may repeat: every copy stores
    the same current values, and the increments of all copies add up."""
    w, c = _current(state, ids, network_of, plastic, w_max)
    rows = torch.stack([w, c, torch.full_like(w, state.updates)], dim=-1)
    flat = ids.reshape(-1)
    packed = state.synapses.view(-1, 3)
    packed.index_copy_(0, flat, rows.view(-1, 3))
    packed.select(1, 1).index_add_(0, flat, increment.reshape(-1))


def materialize(state: EventDrivenState, params: NetworkParams) -> tuple[Tensor, Tensor]:
    """The current weights ``[B, S]`` and eligibilities ``[B, S + 1]`` of every synapse (new
    tensors; what :class:`NetworkState` would hold)."""
    n_networks, s_plus_1, _ = state.synapses.shape
    device = state.v.device
    ids = torch.arange(n_networks * s_plus_1, device=device).view(n_networks, -1)
    network_of = torch.arange(n_networks, device=device)[:, None] if n_networks > 1 else None
    plastic = torch.arange(s_plus_1, device=device) < params.n_exc_synapses
    w, c = _current(state, ids, network_of, plastic, params.w_max)
    return w[:, :-1], c


def network_step_event_driven(
    network: Network,
    state: EventDrivenState,
    reward: Tensor,
    t: int,
    params: NetworkParams,
    generator: torch.Generator,
) -> EventDrivenState:
    """:func:`network_step`'s model, event-driven: synapses are touched only when their
    presynaptic neuron fires (its input to the targets and LTD) or their postsynaptic neuron
    fires (LTP); the 10 ms weight update and eligibility decay are done lazily, exactly in real
    arithmetic (:func:`_current`), and every ``E`` updates (:func:`epoch_length`) all synapses
    are synced at once. Needs ``tonic + dopamine >= 0`` (rewards >= 0). The same noise draws
    as :func:`network_step`; the results equal it up to float rounding, not bit for bit (so
    spike trains part after a threshold crossing that rounding flips). ``synapses`` and
    ``gain_sum`` are updated in place."""
    n = state.v.shape[1]
    m = params.n_per_neuron
    s_plus_1 = state.synapses.shape[1]
    device = state.v.device
    current = torch.rand(state.v.shape, generator=generator, device=device)
    current.sub_(0.5).mul_(params.noise_amplitude)
    offsets = torch.arange(m, device=device)
    fired = state.spikes.reshape(-1).nonzero().squeeze(1)
    if fired.numel():  # synaptic input of last step's spikes (1 ms delay)
        fired_b = _network_of(fired, n)
        out_flat = fired[:, None] * m + offsets
        targets = network.post.view(-1).index_select(0, out_flat.view(-1))
        ids = _in_network(out_flat, fired_b, 1)
        if t % params.update_every:
            # these synapses were synced last step (LTD) and no update has happened since
            w = state.synapses.view(-1, 3).select(1, 0).index_select(0, ids.view(-1))
        else:
            from_exc = (fired % n < params.n_exc)[:, None]
            w, _ = _current(state, ids, fired_b, from_exc, params.w_max)
        flat = _in_network(targets.view(out_flat.shape), fired_b, n).view(-1)
        current.view(-1).index_add_(0, flat, w.reshape(-1))
    v, u, spikes = izhikevich_step(state.v, state.u, current, network.a, network.b, network.c,
                                   network.d)  # fmt: skip
    trace = state.trace * decay_factor(params.tau_stdp)
    fired = spikes.reshape(-1).nonzero().squeeze(1)
    if fired.numel():
        fired_b = _network_of(fired, n)
        flat_trace = trace.view(-1)
        # LTD: the presynaptic neuron fired; its outgoing synapses see the targets' traces
        out_flat = fired[:, None] * m + offsets
        targets = network.post.view(-1).index_select(0, out_flat.view(-1)).view(out_flat.shape)
        ltd = flat_trace.index_select(0, _in_network(targets, fired_b, n).view(-1))
        # LTP: the postsynaptic neuron fired; its incoming synapses see the sources' traces
        in_ids = network.incoming.reshape(-1, network.incoming.shape[2]).index_select(0, fired)
        sources = network.pre.index_select(0, in_ids.clamp(max=network.pre.shape[0] - 1).view(-1))
        ltp = flat_trace.index_select(
            0, _in_network(sources.view(in_ids.shape), fired_b, n).view(-1)
        )
        ltp = ltp.view(in_ids.shape).mul_(params.a_plus).mul_(in_ids < s_plus_1 - 1)
        # one sync of both sets (a synapse whose two neurons fired is in both)
        ids = torch.cat(
            [_in_network(out_flat, fired_b, 1), _in_network(in_ids, fired_b, s_plus_1)], 1
        )
        plastic = torch.cat([(fired % n < params.n_exc)[:, None].expand_as(out_flat),
                             torch.ones_like(in_ids, dtype=torch.bool)], 1)  # fmt: skip
        increment = torch.cat([ltd.mul_(-params.a_minus).view(out_flat.shape), ltp], 1)
        _sync_add(state, ids, fired_b, plastic, increment, params.w_max)
    trace.add_(spikes)
    dopamine = state.dopamine * decay_factor(params.tau_d) + params.dopamine_per_reward * reward
    updates = state.updates
    if (t + 1) % params.update_every == 0:
        gain = (params.tonic_dopamine + dopamine).double()
        if bool((gain < 0).any()):
            raise ValueError(
                "tonic_dopamine + dopamine < 0 (a negative reward): the event-driven path "
                "needs every weight update to move a synapse in one direction; use network_step"
            )
        k = updates
        state.gain_sum[:, k + 1] = state.gain_sum[:, k] + gain * state.decay_powers[:, k]
        updates = k + 1
    new = EventDrivenState(v, u, trace, spikes, state.synapses, dopamine, state.gain_sum,
                           state.decay_powers, updates)  # fmt: skip
    if updates == state.gain_sum.shape[1] - 1:  # the epoch's end: sync every synapse
        w, c = materialize(new, params)
        new.synapses[:, :-1, 0] = w
        new.synapses[:, :, 1] = c
        new.synapses[:, :, 2] = 0.0
        new.gain_sum.zero_()
        new = new._replace(updates=0)
    return new


BACKENDS = ("torch", "numba")
"""The implementations of :func:`network_step`: see :func:`network_stepper`."""


def network_stepper(backend: str = "torch"):
    """The dense step function of ``backend``, all with :func:`network_step`'s arguments and
    results: ``"torch"`` (:func:`network_step`, the default, any device) or ``"numba"``
    (:func:`plasticgym.spiking_kernel.network_step_numba`: opt-in, CPU, compiled, the same
    numbers bit for bit; needs the extra ``fast``, an ``ImportError`` names it if absent)."""
    if backend == "torch":
        return network_step
    if backend == "numba":
        from plasticgym.spiking_kernel import network_step_numba, require_numba

        require_numba()
        return network_step_numba
    raise ValueError(f"backend={backend!r} is invalid: one of {BACKENDS}")


__all__ = ["BACKENDS", "EventDrivenState", "Network", "NetworkParams", "NetworkState",
           "build_network", "epoch_length", "incoming_table", "materialize", "network_step",
           "network_step_event_driven", "network_stepper", "to_event_driven"]  # fmt: skip
