"""The opt-in numba backend of the Izhikevich network (plasticgym.spiking_kernel) against the
torch network_step: the same arithmetic in the same order, so bit-identical states at every
step (mechanism check), the noise drawn exactly as torch.rand draws it, the multi-step run
equal to the single steps, a clear error without numba and for inputs it cannot take. The
tests that run the kernel skip where numba is not installed (the extra ``fast``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from plasticgym import spiking_kernel
from plasticgym.experiments import distal_reward
from plasticgym.spiking_network import (
    NetworkParams,
    build_network,
    network_step,
    network_stepper,
)

PAPER = NetworkParams()
SMALL = NetworkParams(n_exc=80, n_inh=20, n_per_neuron=10)
needs_numba = pytest.mark.skipif(not spiking_kernel.numba_available(), reason="needs numba")


def _twins(params: NetworkParams, n_networks: int, seed: int):
    """A network, two copies of its state and two generators in the same state."""
    generator = torch.Generator()
    generator.manual_seed(seed)
    network, state = build_network(params, n_networks, generator)
    twin = torch.Generator()
    twin.set_state(generator.get_state())
    copy = state._replace(weights=state.weights.clone(), eligibility=state.eligibility.clone())
    return network, state, copy, generator, twin


def _rewards(t: int) -> torch.Tensor:
    return torch.tensor([float(t % 97 == 0), float(t % 89 == 0), 5.0 * (t % 53 == 0)])


def test_missing_numba_names_the_package_and_the_extra(monkeypatch):
    monkeypatch.setattr(spiking_kernel, "numba", None)
    network, state, _, generator, _ = _twins(SMALL, 1, 0)
    with pytest.raises(ImportError, match=r"numba.*plasticgym\[fast\]"):
        spiking_kernel.network_step_numba(network, state, torch.zeros(1), 0, SMALL, 0.99,
                                          generator)  # fmt: skip
    with pytest.raises(ImportError, match="numba"):
        network_stepper("numba")
    assert network_stepper("torch") is network_step  # the default needs nothing
    with pytest.raises(ValueError, match="backend='cuda' is invalid"):
        network_stepper("cuda")


@needs_numba
def test_step_is_bit_identical_to_network_step():
    """600 ms of three paper-size networks (tau_c 1 s and 20 ms; the third network's large
    rewards clip thousands of weights at 0 and at the cap): every state tensor equal, bit for
    bit, at every step (so the same spikes)."""
    decay = torch.tensor([[0.99], [math.exp(-0.5)], [0.99]])
    network, dense, compiled, g_dense, g_compiled = _twins(PAPER, 3, 5)
    n_spikes = 0
    for t in range(600):
        dense = network_step(network, dense, _rewards(t), t, PAPER, decay, g_dense)
        compiled = spiking_kernel.network_step_numba(network, compiled, _rewards(t), t, PAPER,
                                                     decay, g_compiled)  # fmt: skip
        for name, want, got in zip(dense._fields, dense, compiled, strict=True):
            assert torch.equal(want, got), (t, name)
        n_spikes += int(dense.spikes.sum())
    assert torch.equal(g_dense.get_state(), g_compiled.get_state())
    plastic = dense.weights[2, : PAPER.n_exc_synapses]
    assert int((plastic == 0).sum()) > 1000 and int((plastic == PAPER.w_max).sum()) > 1000
    assert n_spikes > 1000


@needs_numba
def test_run_equals_the_single_steps(monkeypatch):
    """network_run_numba over 600 ms in noise blocks of 7 steps (forced small) gives the state,
    the generator state and the spike counts of 600 calls of network_step."""
    monkeypatch.setattr(spiking_kernel, "MAX_BLOCK_VALUES", 7 * 3 * PAPER.n)
    decay = torch.tensor([[0.99], [math.exp(-0.5)], [0.99]])
    network, dense, compiled, g_dense, g_compiled = _twins(PAPER, 3, 6)
    counts = torch.zeros(3, PAPER.n, dtype=torch.int64)
    for t in range(600):
        dense = network_step(network, dense, _rewards(t), t, PAPER, decay, g_dense)
        counts += dense.spikes
    rewards = torch.stack([_rewards(t) for t in range(600)])
    got = torch.zeros_like(counts)
    compiled = spiking_kernel.network_run_numba(network, compiled, rewards, 0, PAPER, decay,
                                                g_compiled, spike_counts=got)  # fmt: skip
    for name, want, have in zip(dense._fields, dense, compiled, strict=True):
        assert torch.equal(want, have), name
    assert torch.equal(g_dense.get_state(), g_compiled.get_state())
    assert torch.equal(counts, got) and int(counts.sum()) > 1000


@needs_numba
@pytest.mark.parametrize("shape", [(1,), (623,), (624,), (1249,), (5, 3, 1000), (40, 1, 1000)])
def test_draw_uniform_is_torch_rand(shape):
    """The same numbers and the same generator state after, across the 624-draw twists and
    from a generator that has already drawn (an odd position in its state)."""
    ours, theirs = torch.Generator(), torch.Generator()
    ours.manual_seed(3)
    theirs.manual_seed(3)
    torch.rand(101, generator=ours), torch.rand(101, generator=theirs)
    got = spiking_kernel.draw_uniform(ours, np.empty(shape, dtype=np.float32))
    assert np.array_equal(got, torch.rand(shape, generator=theirs).numpy())
    assert torch.equal(ours.get_state(), theirs.get_state())
    assert torch.equal(torch.randn(9, generator=ours), torch.randn(9, generator=theirs))


@needs_numba
def test_draw_uniform_falls_back_to_torch(monkeypatch):
    monkeypatch.setattr(spiking_kernel, "_fast_noise_matches_torch", lambda: False)
    ours, theirs = torch.Generator(), torch.Generator()
    got = spiking_kernel.draw_uniform(ours, np.empty(40000, dtype=np.float32))
    assert np.array_equal(got, torch.rand(40000, generator=theirs).numpy())


@needs_numba
def test_compiled_step_is_deterministic():
    finals = []
    for _ in range(2):
        network, state, _, generator, _ = _twins(SMALL, 4, 9)
        rewards = (torch.arange(300)[:, None] % 50 == 0).float().expand(300, 4).contiguous()
        finals.append(spiking_kernel.network_run_numba(network, state, rewards, 0, SMALL, 0.99,
                                                       generator))  # fmt: skip
    for a, b in zip(*finals, strict=True):
        assert torch.equal(a, b)


@needs_numba
def test_threads_give_the_same_results():
    """The networks spread over 2 numba threads: the same state, bit for bit."""
    finals = []
    for threads in (1, 2):
        network, state, _, generator, _ = _twins(SMALL, 5, 4)
        rewards = (torch.arange(200)[:, None] % 40 == 0).float().expand(200, 5).contiguous()
        finals.append(spiking_kernel.network_run_numba(network, state, rewards, 0, SMALL, 0.99,
                                                       generator, threads=threads))  # fmt: skip
    for a, b in zip(*finals, strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="threads=0 is invalid"):
        spiking_kernel.network_run_numba(network, state, rewards, 0, SMALL, 0.99, generator,
                                         threads=0)  # fmt: skip


@needs_numba
def test_bad_input_is_refused():
    network, state, _, generator, _ = _twins(SMALL, 2, 0)
    step = spiking_kernel.network_step_numba
    with pytest.raises(ValueError, match=r"reward\ has\ dtype\ torch\.float64"):
        step(network, state, torch.zeros(2, dtype=torch.float64), 0, SMALL, 0.99, generator)
    with pytest.raises(ValueError, match="reward has shape"):
        step(network, state, torch.zeros(3), 0, SMALL, 0.99, generator)
    with pytest.raises(ValueError, match=r"decay_c_per_update\ has\ dtype\ torch\.float64"):
        step(network, state, torch.zeros(2), 0, SMALL, torch.full((2, 1), 0.99).double(),
             generator)  # fmt: skip
    with pytest.raises(ValueError, match="decay_c_per_update has 3 values"):
        step(network, state, torch.zeros(2), 0, SMALL, torch.full((3, 1), 0.99), generator)
    with pytest.raises(ValueError, match=r"state\.v\ has\ dtype\ torch\.float64"):
        step(network, state._replace(v=state.v.double()), torch.zeros(2), 0, SMALL, 0.99,
             generator)  # fmt: skip
    with pytest.raises(ValueError, match=r"state\.weights\ is\ not\ contiguous"):
        weights = torch.empty(state.weights.shape[::-1]).t().copy_(state.weights)
        step(network, state._replace(weights=weights), torch.zeros(2), 0, SMALL, 0.99,
             generator)  # fmt: skip
    with pytest.raises(ValueError, match="params need"):
        step(network, state, torch.zeros(2), 0, PAPER, 0.99, generator)
    with pytest.raises(ValueError, match="rewards has shape"):
        spiking_kernel.network_run_numba(network, state, torch.zeros(5), 0, SMALL, 0.99,
                                         generator)  # fmt: skip
    with pytest.raises(ValueError, match="spike_counts"):
        spiking_kernel.network_run_numba(network, state, torch.zeros(5, 2), 0, SMALL, 0.99,
                                         generator, torch.zeros(2, SMALL.n))  # fmt: skip


def test_distal_reward_refuses_an_unknown_backend():
    with pytest.raises(ValueError, match="backend='jax' is invalid"):
        distal_reward.Config.quick(backend="jax")
    with pytest.raises(ValueError, match="event-driven"):
        distal_reward.Config.quick(backend="numba", event_driven=True)


@needs_numba
def test_distal_reward_is_the_same_with_the_numba_backend():
    """The quick experiment shortened to 2 s: identical records (the same spikes, pairings,
    rewards and weights)."""
    records = [distal_reward.run(distal_reward.Config.quick(duration_s=2.0, record_every_s=1.0,
                                                            backend=backend), out_dir=".")
               for backend in ("torch", "numba")]  # fmt: skip
    for key in ("timecourse", "rewards"):
        assert records[0][key].equals(records[1][key]), key
    assert len(records[0]["timecourse"]) > 0
