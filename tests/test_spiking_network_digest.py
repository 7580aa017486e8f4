"""network_step stays bit-identical to its first (unoptimised) version: the reference below is
that version, verbatim but for names; the optimised step (flat gathers, in-place temporaries)
must give equal tensors, bit for bit, step by step, and the same SHA-256 digest of the final
state as recorded with the reference (x86-64 CPU, torch 2.13)."""

from __future__ import annotations

import hashlib

import pytest
import torch
from torch import Tensor

from plasticgym.spiking import decay_factor
from plasticgym.spiking_network import (
    Network,
    NetworkParams,
    NetworkState,
    build_network,
    network_step,
)


def _reference_izhikevich_step(v, u, current, a, b, c, d, dt=1.0, v_substeps=2):
    h = dt / v_substeps
    for _ in range(v_substeps):
        v = v + h * ((0.04 * v + 5.0) * v + 140.0 - u + current)
    u = u + dt * a * (b * v - u)
    spiked = v >= 30.0
    v = torch.where(spiked, torch.as_tensor(c, dtype=v.dtype, device=v.device), v)
    u = torch.where(spiked, u + d, u)
    return v, u, spiked


def _reference_step(
    network: Network,
    state: NetworkState,
    reward: Tensor,
    t: int,
    params: NetworkParams,
    decay_c_per_update: Tensor,
    generator: torch.Generator,
) -> NetworkState:
    n = state.v.shape[1]
    s_plus_1 = state.eligibility.shape[1]
    device = state.v.device
    noise = torch.rand(state.v.shape, generator=generator, device=device)
    current = params.noise_amplitude * (noise - 0.5)
    fired_b, fired_i = state.spikes.nonzero(as_tuple=True)
    offsets = torch.arange(params.n_per_neuron, device=device)
    if fired_b.numel():
        out_ids = fired_i[:, None] * params.n_per_neuron + offsets
        targets = network.post[fired_b[:, None], out_ids]
        flat = (fired_b[:, None] * n + targets).reshape(-1)
        current.view(-1).index_add_(0, flat, state.weights[fired_b[:, None], out_ids].reshape(-1))
    v, u, spikes = _reference_izhikevich_step(state.v, state.u, current, network.a, network.b,
                                              network.c, network.d)  # fmt: skip
    trace = state.trace * decay_factor(params.tau_stdp)
    eligibility = state.eligibility
    fired_b, fired_i = spikes.nonzero(as_tuple=True)
    if fired_b.numel():
        flat_c = eligibility.view(-1)
        out_ids = fired_i[:, None] * params.n_per_neuron + offsets
        targets = network.post[fired_b[:, None], out_ids]
        ltd = params.a_minus * trace[fired_b[:, None], targets]
        flat_c.index_add_(0, (fired_b[:, None] * s_plus_1 + out_ids).reshape(-1), -ltd.reshape(-1))
        in_ids = network.incoming[fired_b, fired_i]
        sources = network.pre[in_ids.clamp(max=network.pre.shape[0] - 1)]
        ltp = params.a_plus * trace[fired_b[:, None], sources] * (in_ids < s_plus_1 - 1)
        flat_c.index_add_(0, (fired_b[:, None] * s_plus_1 + in_ids).reshape(-1), ltp.reshape(-1))
    trace = trace + spikes.float()
    dopamine = state.dopamine * decay_factor(params.tau_d) + params.dopamine_per_reward * reward
    weights = state.weights
    if (t + 1) % params.update_every == 0:
        n_plastic = params.n_exc_synapses
        plastic_w = weights[:, :n_plastic]
        plastic_w.addcmul_((params.tonic_dopamine + dopamine)[:, None],
                           eligibility[:, :n_plastic]).clamp_(0.0, params.w_max)  # fmt: skip
        eligibility.mul_(decay_c_per_update)
    return NetworkState(v, u, trace, spikes, weights, eligibility, dopamine)


def _digest(state: NetworkState) -> str:
    sha = hashlib.sha256()
    for tensor in state:
        sha.update(tensor.contiguous().numpy().tobytes())
    return sha.hexdigest()


def _run(step, n_networks: int, steps: int, params: NetworkParams, check=None) -> NetworkState:
    generator = torch.Generator()
    generator.manual_seed(11)
    network, state = build_network(params, n_networks, generator)
    decay_c = torch.linspace(0.98, 0.995, n_networks)[:, None]
    for t in range(steps):
        reward = torch.tensor([float((t + b) % 97 == 0) for b in range(n_networks)])
        state = step(network, state, reward, t, params, decay_c, generator)
        if check is not None:
            check(t, state)
    return state


# the paper's network, 2 networks, 400 ms (thousands of spikes, rewards, 40 weight updates)
PAPER = NetworkParams()
STEPS = 400
REFERENCE_DIGEST = "9d4d91db81d291aafcb545eb647e387d4a03701d18504014433b40d3617d5ef1"


@pytest.mark.parametrize("n_networks", [1, 2])
def test_network_step_is_bit_identical_to_the_reference_step(n_networks):
    """One network takes a shortcut (no network offsets); two take the general path."""
    reference = []
    _run(_reference_step, n_networks, STEPS, PAPER,
         lambda t, s: reference.append(tuple(x.clone() for x in s)))  # fmt: skip

    def same(t: int, state: NetworkState) -> None:
        for name, got, want in zip(NetworkState._fields, state, reference[t], strict=True):
            assert torch.equal(got, want), (t, name)

    final = _run(network_step, n_networks, STEPS, PAPER, same)
    assert int(sum(s[3].sum() for s in reference)) > 250 * n_networks  # the networks did fire
    if n_networks == 2:
        assert _digest(final) == REFERENCE_DIGEST
