"""The event-driven Izhikevich step (network_step_event_driven) against the dense
network_step: equal up to float rounding step by step (mechanism check: the lazy update is
the dense one summed in closed form), statistically equal once rounding has parted the spike
trains (rates and mean weights over networks with independent noise, paired TOST),
deterministic, and refusing
what it cannot do exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from plasticgym.experiments.stats import tost
from plasticgym.spiking_network import (
    NetworkParams,
    build_network,
    epoch_length,
    materialize,
    network_step,
    network_step_event_driven,
    to_event_driven,
)

PAPER = NetworkParams()


def _both(params: NetworkParams, n_networks: int, seed: int, decay: torch.Tensor):
    generator = torch.Generator()
    generator.manual_seed(seed)
    network, dense = build_network(params, n_networks, generator)
    twin = torch.Generator()
    twin.set_state(generator.get_state())
    copy = dense._replace(weights=dense.weights.clone(), eligibility=dense.eligibility.clone())
    return network, dense, to_event_driven(copy, decay, params), generator, twin


def test_epoch_length():
    assert epoch_length(torch.tensor([[0.99]])) == 1000  # tau_c 1 s: capped at 10 s
    assert epoch_length(torch.tensor([[0.99], [math.exp(-0.5)]])) == 27  # tau_c 20 ms
    assert epoch_length(torch.tensor([[1.0]])) == 1000
    assert epoch_length(torch.tensor([[0.0]])) == 1


def test_fresh_state_materializes_to_the_dense_state():
    _, dense, event, _, _ = _both(PAPER, 2, 0, torch.full((2, 1), 0.99))
    weights, eligibility = materialize(event, PAPER)
    assert torch.equal(weights, dense.weights) and torch.equal(eligibility, dense.eligibility)


def test_event_driven_equals_dense_up_to_rounding():
    """600 ms of three paper-size networks (tau_c 1 s, 20 ms: two epoch flushes; the third
    network's large rewards drive thousands of weights to 0 and to the cap, so the closed-form
    clipping is exercised): the same spikes at every step, weights and eligibilities within
    1e-5 at every update. Rounding could flip a spike for another seed; for this one none."""
    decay = torch.tensor([[0.99], [math.exp(-0.5)], [0.99]])
    network, dense, event, g_dense, g_event = _both(PAPER, 3, 5, decay)
    flushes = 0
    for t in range(600):
        reward = torch.tensor([float(t % 97 == 0), float(t % 89 == 0), 5.0 * (t % 53 == 0)])
        dense = network_step(network, dense, reward, t, PAPER, decay, g_dense)
        event = network_step_event_driven(network, event, reward, t, PAPER, g_event)
        assert torch.equal(dense.spikes, event.spikes), t
        if (t + 1) % PAPER.update_every == 0:
            flushes += event.updates == 0
            weights, eligibility = materialize(event, PAPER)
            assert torch.allclose(weights, dense.weights, rtol=0, atol=1e-5), t
            assert torch.allclose(eligibility, dense.eligibility, rtol=0, atol=1e-5), t
    assert flushes == 2
    plastic = dense.weights[2, : PAPER.n_exc_synapses]
    assert int((plastic == 0).sum()) > 1000 and int((plastic == PAPER.w_max).sum()) > 1000


def test_event_driven_matches_dense_statistically():
    """With the same noise the two paths keep the same spikes for seconds (rounding rarely
    flips one), so compare them with *independent* noise: 64 small networks (100 neurons, 10
    synapses each; same wiring in both, paired by network) for 3 s with a reward every 0.5 s.
    Per-network firing rate: paired TOST within 0.05 Hz (5 % of the ~1 Hz). The final mean
    excitatory weight is not compared here: the first version of this test asked for a TOST
    within a quarter of the dense path's change from 1 mV (0.0021 mV) and failed, +0.0015
    [90% -0.0024, +0.0054] mV, underpowered (different noise moves a network's mean weight by
    ~0.015 mV in 3 s); the weights' agreement is the same-noise test's (1e-5)."""
    params = NetworkParams(n_exc=80, n_inh=20, n_per_neuron=10)
    n_networks = 64
    decay = torch.full((n_networks, 1), 0.99)
    network, dense, event, g_dense, g_event = _both(params, n_networks, 3, decay)
    g_event.manual_seed(4)  # independent noise
    counts = {"dense": torch.zeros(n_networks), "event": torch.zeros(n_networks)}
    for t in range(3000):
        reward = ((torch.arange(n_networks) * 37 + t) % 500 == 0).float()
        dense = network_step(network, dense, reward, t, params, decay, g_dense)
        event = network_step_event_driven(network, event, reward, t, params, g_event)
        counts["dense"] += dense.spikes.sum(1)
        counts["event"] += event.spikes.sum(1)
    rates = {k: (v / params.n / 3.0).numpy() for k, v in counts.items()}
    assert 0.5 < float(np.mean(rates["dense"])) < 3.0
    assert not np.array_equal(rates["event"], rates["dense"])  # the noise differs
    assert tost(rates["event"] - rates["dense"], None, 0.05).equivalent


def test_event_driven_is_deterministic():
    runs = []
    for _ in range(2):
        network, _, event, _, generator = _both(PAPER, 2, 1, torch.full((2, 1), 0.99))
        for t in range(100):
            event = network_step_event_driven(network, event, torch.zeros(2), t, PAPER, generator)
        runs.append(event)
    for a, b in zip(runs[0], runs[1], strict=True):
        assert torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b


def test_negative_dopamine_is_refused():
    network, _, event, _, generator = _both(PAPER, 1, 0, torch.full((1, 1), 0.99))
    with pytest.raises(ValueError, match="negative reward"):
        for t in range(10):
            event = network_step_event_driven(network, event, torch.tensor([-1.0]), t, PAPER,
                                              generator)  # fmt: skip


def test_bad_conversion_is_refused():
    generator = torch.Generator()
    generator.manual_seed(0)
    _, dense = build_network(PAPER, 2, generator)
    with pytest.raises(ValueError, match="decay_c_per_update"):
        to_event_driven(dense, torch.full((2, 1), 1.5), PAPER)
    with pytest.raises(ValueError, match="decay_c_per_update"):
        to_event_driven(dense, torch.full((3, 1), 0.99), PAPER)
    bad = dense._replace(weights=dense.weights.clone().fill_(5.0))
    with pytest.raises(ValueError, match="w_max"):
        to_event_driven(bad, torch.full((2, 1), 0.99), PAPER)


def test_distal_reward_runs_event_driven():
    """The experiment's option: 3 simulated s of the quick networks give the same rewards and
    (to rounding) the same weights as the dense step."""
    from plasticgym.experiments import distal_reward

    records = {}
    for event_driven in (False, True):
        config = distal_reward.Config.quick(duration_s=3.0, record_every_s=1.0,
                                            event_driven=event_driven)  # fmt: skip
        records[event_driven] = distal_reward.run(config, out_dir=".")
    dense, event = records[False], records[True]
    assert dense["rewards"][["network", "pairing_ms", "delivery_ms"]].equals(
        event["rewards"][["network", "pairing_ms", "delivery_ms"]]
    )
    for column in ("chosen", "twins", "mean_exc", "max_exc"):
        assert np.allclose(dense["timecourse"][column], event["timecourse"][column], atol=1e-5)
    with pytest.raises(ValueError, match="event_driven"):
        distal_reward.Config.quick(event_driven=1)
