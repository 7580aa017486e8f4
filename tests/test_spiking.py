"""Spiking neurons, spike traces, STDP and the reward-modulated rules of plasticgym.spiking:
golden values computed by hand, and the properties the equations imply."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from plasticgym.spiking import (
    FAST_SPIKING,
    REGULAR_SPIKING,
    FlorianTraces,
    calcium_eligibility_increment,
    decay_factor,
    dopamine_step,
    florian_traces_step,
    florian_zeta,
    izhikevich_eligibility_step,
    izhikevich_step,
    izhikevich_weight_update,
    lif_step,
    mstdp_update,
    mstdpet_step,
    poisson_spikes,
    random_synapses,
    spike_calcium,
    stdp_increment,
    stdp_increment_sparse,
    synaptic_input,
    trace_step,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _generator(seed: int, device: str = "cpu") -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


# --------------------------------------------------------------------------------------------
# Neurons
# --------------------------------------------------------------------------------------------


def test_izhikevich_step_golden():
    """v = -65, u = 0.2 v = -13, I = 0: f(v) = 0.04 v^2 + 5 v + 140 - u + I = 169 - 325 + 140 +
    13 = -3, so v = -66.5 after 0.5 ms; f(-66.5) = 176.89 - 332.5 + 153 = -2.61, v = -67.805;
    u = -13 + 0.02 (0.2 (-67.805) + 13) = -13.01122."""
    v, u, spiked = izhikevich_step(
        torch.tensor([[-65.0]], dtype=torch.float64),
        torch.tensor([[-13.0]], dtype=torch.float64),
        torch.zeros(1, 1, dtype=torch.float64),
        *REGULAR_SPIKING,
    )
    assert v.item() == pytest.approx(-67.805, abs=1e-12)
    assert u.item() == pytest.approx(-13.01122, abs=1e-12)
    assert not spiked.any()


def test_izhikevich_spike_resets_v_to_c_and_adds_d_to_u():
    v = torch.tensor([[29.0, -70.0]])
    u = torch.tensor([[-10.0, -14.0]])
    v, u_new, spiked = izhikevich_step(v, u, torch.tensor([[50.0, 0.0]]), *REGULAR_SPIKING)
    assert spiked.tolist() == [[True, False]]
    assert v[0, 0].item() == -65.0
    # u first integrates with the pre-reset v, then jumps by d = 8
    assert u_new[0, 0].item() > u[0, 0].item() + 7.0


def _spike_times(params, current: float, steps: int = 1000) -> list[int]:
    v = torch.full((1, 1), -65.0, dtype=torch.float64)
    u = params.b * v
    times = []
    for t in range(steps):
        v, u, spiked = izhikevich_step(v, u, torch.full_like(v, current), *params)
        if spiked.item():
            times.append(t)
    return times


def test_regular_spiking_adapts_and_fast_spiking_fires_faster():
    """Izhikevich 2003, Fig. 2: RS cells fire with spike-frequency adaptation (intervals grow),
    FS cells fire fast without it, under the same step current."""
    rs, fs = _spike_times(REGULAR_SPIKING, 10.0), _spike_times(FAST_SPIKING, 10.0)
    rs_isi = [b - a for a, b in itertools.pairwise(rs)]
    assert len(rs) >= 5 and rs_isi[-1] > rs_isi[0]
    assert len(fs) > 2 * len(rs)
    assert _spike_times(REGULAR_SPIKING, 0.0) == []  # at rest without input


def test_lif_step_exact_exponential_threshold_and_refractory_period():
    v0 = torch.tensor([[-65.0]], dtype=torch.float64)
    v, left, spiked = lif_step(v0, torch.tensor([[10.0]], dtype=torch.float64),
                               torch.zeros_like(v0))  # fmt: skip
    assert v.item() == pytest.approx(-55.0 + (-65.0 + 55.0) * math.exp(-1 / 20))
    assert not spiked.any() and left.item() == 0.0
    # strong input: spike, reset, then held at v_reset for 2 ms
    current = torch.tensor([[100.0]], dtype=torch.float64)
    v, left, spiked = lif_step(torch.tensor([[-51.0]], dtype=torch.float64), current,
                               torch.zeros_like(v0))  # fmt: skip
    assert spiked.item() and v.item() == -65.0 and left.item() == 2.0
    for expected_left in (1.0, 0.0):
        v, left, spiked = lif_step(v, current, left)
        assert not spiked.item() and v.item() == -65.0 and left.item() == expected_left
    v, left, spiked = lif_step(v, current, left)
    assert not spiked.item() and v.item() > -65.0  # integrating again


# --------------------------------------------------------------------------------------------
# Traces and STDP
# --------------------------------------------------------------------------------------------


def _pair_increment(delta_t: int, a_plus: float = 1.0, a_minus: float = 1.5) -> float:
    """Total STDP increment of one synapse for a pre spike at 20 and a post spike at 20 + dt,
    traces with tau = 20 ms, read before the step's own spikes are added."""
    decay = decay_factor(20.0)
    x_pre = torch.zeros(1, 1, dtype=torch.float64)
    x_post = torch.zeros(1, 1, dtype=torch.float64)
    total = 0.0
    for t in range(80):
        pre = torch.tensor([[t == 20]])
        post = torch.tensor([[t == 20 + delta_t]])
        x_pre, x_post = decay * x_pre, decay * x_post
        total += stdp_increment(x_pre, x_post, pre, post, a_plus, a_minus).item()
        x_pre, x_post = trace_step(x_pre, pre, 1.0), trace_step(x_post, post, 1.0)
    return total


def test_stdp_pair_golden_window():
    assert _pair_increment(10) == pytest.approx(1.0 * math.exp(-10 / 20), rel=1e-12)
    assert _pair_increment(-10) == pytest.approx(-1.5 * math.exp(-10 / 20), rel=1e-12)
    assert _pair_increment(1, a_plus=0.1) == pytest.approx(0.1 * math.exp(-1 / 20), rel=1e-12)
    assert _pair_increment(0) == 0.0


def test_trace_step_golden():
    trace = trace_step(torch.tensor([[0.5, 0.0]]), torch.tensor([[True, False]]), 0.9, 0.1)
    torch.testing.assert_close(trace, torch.tensor([[0.55, 0.0]]))


def test_sparse_stdp_and_synaptic_input_match_the_dense_form():
    generator = _generator(3)
    n_exc, n_inh, m, b = 6, 2, 3, 2
    pre_index, post_index = random_synapses(b, n_exc, n_inh, m, generator)
    n = n_exc + n_inh
    assert pre_index.shape == (n * m,) and post_index.shape == (b, n * m)
    assert (post_index[:, n_exc * m :] < n_exc).all()  # inhibitory cells target excitatory ones
    x_pre, x_post = torch.rand(b, n, generator=generator), torch.rand(b, n, generator=generator)
    spikes = torch.rand(b, n, generator=generator) < 0.5
    weights = torch.rand(b, n * m, generator=generator)
    sparse = stdp_increment_sparse(x_pre, x_post, spikes, pre_index, post_index, 0.1, 0.15)
    dense = stdp_increment(x_pre, x_post, spikes, spikes, 0.1, 0.15)  # [B, post, pre]
    rows = torch.arange(b)[:, None]
    torch.testing.assert_close(sparse, dense[rows, post_index, pre_index[None, :]])
    current = synaptic_input(spikes, weights, pre_index, post_index)
    expected = torch.zeros(b, n)
    for k in range(n * m):
        for batch in range(b):
            if spikes[batch, pre_index[k]]:
                expected[batch, post_index[batch, k]] += weights[batch, k]
    torch.testing.assert_close(current, expected)


def test_random_synapses_is_deterministic_and_validates():
    a = random_synapses(2, 8, 2, 4, _generator(0))[1]
    b = random_synapses(2, 8, 2, 4, _generator(0))[1]
    assert torch.equal(a, b) and not torch.equal(a[0], a[1])
    with pytest.raises(ValueError, match=r"n_per_neuron=0 is invalid: an integer >= 1"):
        random_synapses(1, 8, 2, 0, _generator(0))
    with pytest.raises(ValueError, match=r"n_inh=-1 is invalid"):
        random_synapses(1, 8, -1, 3, _generator(0))


# --------------------------------------------------------------------------------------------
# Izhikevich 2007: eligibility, dopamine, weights
# --------------------------------------------------------------------------------------------


def test_no_weight_change_without_dopamine():
    w = torch.tensor([[1.0, 2.0, 0.5]])
    c = torch.tensor([[0.3, -0.2, 0.05]])
    out = izhikevich_weight_update(w, c, torch.zeros(1), tonic=0.0)
    assert torch.equal(out, w)
    # tonic dopamine alone: (0.002 + 0) c
    out = izhikevich_weight_update(w, c, torch.zeros(1))
    torch.testing.assert_close(out, w + 0.002 * c)


def test_weight_cap_and_floor_and_plastic_mask():
    w = torch.tensor([[3.9, 0.1, -1.0]])
    c = torch.tensor([[1.0, -1.0, 1.0]])
    out = izhikevich_weight_update(w, c, torch.tensor([0.5]),
                                   plastic=torch.tensor([True, True, False]))  # fmt: skip
    assert out.tolist() == [[4.0, 0.0, -1.0]]  # capped at 4, floored at 0, inhibitory fixed


def test_eligibility_and_dopamine_golden():
    """c: 0.1 from a pair, decays exp(-10/1000) per 10 ms; d: +0.5 per reward, decays
    exp(-1/200) per ms; after a reward the 10-ms updates add 0.5 sum_k exp(-10 k / 200) c."""
    c = izhikevich_eligibility_step(torch.tensor([[0.0]]), torch.tensor([[0.1]]), 0.99)
    c = izhikevich_eligibility_step(c, torch.tensor([[0.0]]), 0.99)
    assert c.item() == pytest.approx(0.099)
    d = dopamine_step(torch.tensor([0.2]), torch.tensor([1.0]), decay_factor(200.0))
    assert d.item() == pytest.approx(0.2 * math.exp(-1 / 200) + 0.5)
    d = dopamine_step(torch.tensor([0.2]), torch.tensor([False]), 0.5)
    assert d.item() == pytest.approx(0.1)


# --------------------------------------------------------------------------------------------
# Florian 2007: MSTDP and MSTDPET
# --------------------------------------------------------------------------------------------


def _florian_run(pre_at: int, post_at: int, steps: int = 30):
    """One synapse; traces with tau = 20 ms, A+ = 1, A- = -1. Yields zeta at each step."""
    decay = decay_factor(20.0)
    traces = FlorianTraces(torch.zeros(1, 1, 1, dtype=torch.float64),
                           torch.zeros(1, 1, 1, dtype=torch.float64))  # fmt: skip
    for t in range(steps):
        pre, post = torch.tensor([[t == pre_at]]), torch.tensor([[t == post_at]])
        traces = florian_traces_step(traces, pre, post, decay, decay)
        yield florian_zeta(traces, pre, post)


def test_mstdp_golden():
    """Pre at 0, post at 5: zeta(5) = P+ f_i = exp(-5/20), zero at every other step; MSTDP with
    gamma = 0.2 and r = 1 then gives dw = 0.2 exp(-1/4). Post before pre gives -exp(-1/4);
    coincident spikes give A+ + A- = 0."""
    zetas = [z.item() for z in _florian_run(0, 5)]
    assert zetas[5] == pytest.approx(math.exp(-0.25)) and sum(zetas) == pytest.approx(zetas[5])
    assert sum(z.item() for z in _florian_run(5, 0)) == pytest.approx(-math.exp(-0.25))
    assert sum(z.item() for z in _florian_run(3, 3)) == 0.0
    w = torch.ones(1, 1, 1, dtype=torch.float64)
    for z in _florian_run(0, 5):
        w = mstdp_update(w, z, torch.tensor([1.0], dtype=torch.float64), 0.2)
    assert w.item() == pytest.approx(1.0 + 0.2 * math.exp(-0.25))
    w = torch.ones(1, 1, 1, dtype=torch.float64)
    for z in _florian_run(0, 5):
        w = mstdp_update(w, z, torch.tensor([0.0], dtype=torch.float64), 0.2)
    assert w.item() == 1.0  # no reward, no change


def test_mstdpet_golden():
    """zeta = exp(-1/4) at step 5 enters z as zeta / tau_z (tau_z = 25 ms) and decays with
    exp(-1/25) per ms; with r = 1 from step 5 on, w gains gamma dt sum_k z_k =
    0.2 (e^-1/4 / 25) sum_{k=0}^{24} e^(-k/25)."""
    tau_z, gamma, decay_z = 25.0, 0.2, decay_factor(25.0)
    w = torch.zeros(1, 1, 1, dtype=torch.float64)
    z = torch.zeros_like(w)
    for t, zeta in enumerate(_florian_run(0, 5)):
        reward = torch.tensor([1.0 if t >= 5 else 0.0], dtype=torch.float64)
        w, z = mstdpet_step(w, z, zeta, reward, gamma, decay_z, tau_z)
    expected = gamma * math.exp(-0.25) / tau_z * sum(math.exp(-k / 25) for k in range(25))
    assert w.item() == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------------------------
# Encoder; devices
# --------------------------------------------------------------------------------------------


def test_poisson_spikes_rate_determinism_and_errors():
    rates = torch.tensor([0.0, 10.0, 100.0]).expand(20_000, 3)
    spikes = poisson_spikes(rates, _generator(1))
    observed = spikes.float().mean(0)
    p = 1 - torch.exp(-torch.tensor([0.0, 0.01, 0.1]))
    assert observed[0].item() == 0.0
    assert torch.all((observed - p).abs()[1:] < 4 * torch.sqrt(p * (1 - p) / 20_000)[1:])
    assert torch.equal(spikes, poisson_spikes(rates, _generator(1)))
    with pytest.raises(ValueError, match=r"rates_hz must be finite and >= 0"):
        poisson_spikes(torch.tensor([-1.0]), _generator(1))


@pytest.mark.parametrize("device", DEVICES)
def test_functions_follow_the_device_of_their_inputs(device):
    generator = _generator(0, device)
    pre, post = random_synapses(2, 8, 2, 3, generator, device=device)
    v = torch.full((2, 10), -65.0, device=device)
    v, u, spiked = izhikevich_step(v, 0.2 * v, torch.full_like(v, 20.0), *REGULAR_SPIKING)
    rates = torch.full((2, 10), 50.0, device=device)
    spikes = poisson_spikes(rates, generator)
    current = synaptic_input(spikes, torch.ones(2, 30, device=device), pre, post)
    stdp = stdp_increment_sparse(v, v, spikes, pre, post, 0.1, 0.15)
    w = izhikevich_weight_update(torch.ones_like(stdp), stdp, torch.zeros(2, device=device))
    for tensor in (v, u, spiked, spikes, current, stdp, w):
        assert tensor.device.type == device


# --------------------------------------------------------------------------------------------
# The batched network (plasticgym.spiking_network)
# --------------------------------------------------------------------------------------------


def test_incoming_table_lists_each_neurons_excitatory_inputs():
    from plasticgym.spiking_network import incoming_table

    post = torch.tensor([[2, 0, 2, 1, 2, 0], [1, 1, 1, 1, 0, 0]])
    table = incoming_table(post, n=3, n_plastic=4)  # synapses 4, 5 are not plastic
    assert table.shape == (2, 3, 4)
    assert table[0].tolist() == [[1, 6, 6, 6], [3, 6, 6, 6], [0, 2, 6, 6]]
    assert table[1].tolist() == [[6, 6, 6, 6], [0, 1, 2, 3], [6, 6, 6, 6]]


def test_network_step_event_driven_stdp_equals_the_dense_formula():
    """Force a spike pattern, step once, and compare the eligibility of the excitatory
    synapses with stdp_increment_sparse on the decayed traces."""
    from plasticgym.spiking_network import NetworkParams, build_network, network_step

    params = NetworkParams(n_exc=16, n_inh=4, n_per_neuron=5)
    generator = _generator(5)
    network, state = build_network(params, 3, generator)
    trace = torch.rand(3, params.n, generator=generator)
    v = state.v.clone()
    v[:, ::3] = 35.0  # these neurons spike in this step
    state = state._replace(v=v, trace=trace)
    decay_c = torch.ones(3, 1)
    new = network_step(network, state, torch.zeros(3), 0, params, decay_c, generator)
    decayed = trace * decay_factor(params.tau_stdp)
    expected = stdp_increment_sparse(decayed, decayed, new.spikes, network.pre, network.post,
                                     params.a_plus, params.a_minus)  # fmt: skip
    n_plastic = params.n_exc_synapses
    assert new.spikes[:, ::3].all()
    torch.testing.assert_close(new.eligibility[:, :n_plastic], expected[:, :n_plastic])
    torch.testing.assert_close(new.trace, decayed + new.spikes.float())
    # no reward, no update in this step (t = 0): weights unchanged
    assert torch.equal(new.weights, state.weights)


def test_network_weights_move_only_by_tonic_dopamine_without_reward():
    from plasticgym.spiking_network import NetworkParams, build_network, network_step

    params = NetworkParams(n_exc=16, n_inh=4, n_per_neuron=5, tonic_dopamine=0.0)
    generator = _generator(6)
    network, state = build_network(params, 2, generator)
    start = state.weights.clone()
    decay_c = torch.full((2, 1), 0.99)
    for t in range(200):
        state = network_step(network, state, torch.zeros(2), t, params, decay_c, generator)
    assert state.eligibility.abs().sum() > 0  # STDP happened
    assert torch.equal(state.weights, start)  # but no dopamine, no change


# --------------------------------------------------------------------------------------------
# Graupner & Brunel calcium from spikes
# --------------------------------------------------------------------------------------------


def test_spike_calcium_golden():
    """c_ij = C_pre x_j + C_post y_i: x = (0.5, 0), y = (0.25, 1), C_pre = 1, C_post = 2 give
    [[1.0, 0.5], [2.5, 2.0]]."""
    c = spike_calcium(torch.tensor([[0.5, 0.0]]), torch.tensor([[0.25, 1.0]]), 1.0, 2.0)
    torch.testing.assert_close(c, torch.tensor([[[1.0, 0.5], [2.5, 2.0]]]))


def test_calcium_eligibility_increment_golden():
    """DP thresholds 1 and 1.3, rates 200 and 321.808 per second, dt = 1 ms: below theta_d
    nothing; between, -0.2; above theta_p, 0.321808 - 0.2 = 0.121808; exactly at a threshold
    is not above it."""
    c = torch.tensor([0.9, 1.0, 1.1, 1.3, 1.5], dtype=torch.float64)
    inc = calcium_eligibility_increment(c, 1.0, 1.3, 200.0, 321.808)
    expected = torch.tensor([0.0, 0.0, -0.2, -0.2, 0.121808], dtype=torch.float64)
    torch.testing.assert_close(inc, expected)
    torch.testing.assert_close(calcium_eligibility_increment(c, 1.0, 1.3, 200.0, 321.808, dt=2.0),
                               2 * expected)  # fmt: skip


def test_calcium_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match=r"theta_d=1.3, theta_p=1.0 are invalid"):
        calcium_eligibility_increment(torch.zeros(1), 1.3, 1.0, 200.0, 321.808)
    with pytest.raises(ValueError, match=r"theta_d=1.0, theta_p=1.0"):
        calcium_eligibility_increment(torch.zeros(1), 1.0, 1.0, 200.0, 321.808)
    with pytest.raises(ValueError, match="gamma_d=-1"):
        calcium_eligibility_increment(torch.zeros(1), 1.0, 1.3, -1.0, 321.808)


def test_calcium_pairings_golden_and_window_shape():
    """Spikes on 1 ms steps, traces decaying with tau_Ca = 20 ms, the DP set, summed over
    150 ms. A pre spike alone (calcium 1, never above theta_d = 1): 0. A post spike alone
    (2 exp(-k / 20)): above theta_p for k = 0..8 (9 ms), above theta_d for k = 0..13 (14 ms),
    so 0.321808 * 9 - 0.2 * 14 = 0.096272 (the DP set nearly balances). Pairs: near
    coincidence potentiates, post 20-60 ms before pre depresses (calcium between the
    thresholds); without GB2012's presynaptic delay D the potentiation lobe is centred on 0."""

    def pairing(pre_at: int, post_at: int) -> float:
        decay = decay_factor(20.0)
        x, y, total = torch.zeros(1, 1), torch.zeros(1, 1), 0.0
        for t in range(150):
            x = trace_step(x, torch.tensor([[t == pre_at]]), decay)
            y = trace_step(y, torch.tensor([[t == post_at]]), decay)
            c = spike_calcium(x, y, 1.0, 2.0)
            total += float(calcium_eligibility_increment(c, 1.0, 1.3, 200.0, 321.808).sum())
        return total

    assert pairing(10, -1) == 0.0
    alone = pairing(-1, 10)
    assert alone == pytest.approx(0.321808 * 9 - 0.2 * 14, abs=1e-5)
    for lag in (-10, 10):  # pre 10 ms before / after post
        assert pairing(10, 10 - lag) > alone + 0.3
    for lag in (20, 40, 60):  # post before pre
        assert pairing(lag, 0) < alone - 0.3
