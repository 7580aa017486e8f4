"""Golden values, computed by hand, for the calcium rules; the event-driven integration against
Euler-Maruyama; the calcium and BCM three-factor transforms (no dopamine, no change)."""

from __future__ import annotations

import math

import pytest
import torch

from plasticgym.calcium import (
    DP,
    GraupnerBrunelParams,
    analytic_transition_probabilities,
    bcm_phi,
    bcm_three_factor,
    bcm_threshold_update,
    bistable_relax,
    calcium_events,
    calcium_step,
    calcium_three_factor,
    efficacy_drift,
    efficacy_step,
    omega,
    ou_step,
    pairing_protocol,
    rate_calcium,
    simulate_calcium_events,
    synaptic_change,
    time_above,
)
from plasticgym.plasticity import PlasticitySignals, chain, weight_bounds

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
F64 = torch.float64


def _t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)


# --------------------------------------------------------------------------------------------
# Graupner & Brunel 2012: parameters and pure functions
# --------------------------------------------------------------------------------------------


def test_dp_set_is_the_papers_and_validates():
    assert (DP.tau_ca, DP.c_pre, DP.c_post, DP.theta_d, DP.theta_p) == (0.02, 1.0, 2.0, 1.0, 1.3)
    assert (DP.gamma_d, DP.gamma_p, DP.sigma, DP.tau) == (200.0, 321.808, 2.8284, 150.0)
    assert (DP.rho_star, DP.delay, DP.beta, DP.b) == (0.5, 0.0137, 0.5, 5.0)
    with pytest.raises(ValueError, match=r"theta_d=1.3, theta_p=1.0 are invalid: the depression"):
        GraupnerBrunelParams(theta_d=1.3, theta_p=1.0)
    with pytest.raises(ValueError, match=r"theta_d=1.0, theta_p=1.0"):
        DP.replace(theta_p=1.0)
    with pytest.raises(ValueError, match=r"tau_ca=0.0 is invalid"):
        DP.replace(tau_ca=0.0)
    with pytest.raises(ValueError, match=r"rho_star=1.0 is invalid"):
        DP.replace(rho_star=1.0)
    assert DP.replace(theta_p=3.1).theta_p == 3.1 and DP.theta_p == 1.3


def test_gamma_p_balances_a_lone_postsynaptic_spike():
    """gamma_p = 321.808 makes a lone post spike's potentiation (time above theta_p, tau_Ca ln
    (2 / 1.3)) equal its depression (time above theta_d, tau_Ca ln 2): 138.63 either way."""
    assert DP.gamma_p * math.log(2 / 1.3) == pytest.approx(DP.gamma_d * math.log(2), rel=1e-5)


def test_calcium_step_golden():
    # c_t = c_tm1 exp(-dt / tau_Ca) + C_pre pre + C_post post; dt = tau_Ca -> factor e^-1
    c = calcium_step(_t(1.0, 1.0, 1.0, 0.0), _t(0, 1, 0, 1), _t(0, 0, 1, 1), dt=0.02)
    e = math.exp(-1)
    torch.testing.assert_close(c, _t(e, e + 1, e + 2, 3.0))


def test_efficacy_drift_golden():
    # rho = 0.25: cubic -0.25 * 0.75 * 0.25 = -0.046875; gamma_p (1 - rho) = 241.356;
    # gamma_d rho = 50; all divided by tau = 150
    rho = _t(0.25, 0.25, 0.25)
    drift = efficacy_drift(rho, _t(1.5, 1.1, 0.5))
    expected = _t((-0.046875 + 241.356 - 50) / 150, (-0.046875 - 50) / 150, -0.046875 / 150)
    torch.testing.assert_close(drift, expected)
    # the three fixed points of the calcium-free dynamics
    torch.testing.assert_close(efficacy_drift(_t(0, 0.5, 1), torch.zeros(3, dtype=F64)),
                               torch.zeros(3, dtype=F64))  # fmt: skip


def test_efficacy_step_golden_with_the_generators_draws():
    rho, c, dt = _t(0.25, 0.25, 0.25), _t(1.5, 1.1, 0.5), 1e-4
    xi = torch.randn(3, generator=torch.Generator().manual_seed(3), dtype=F64)
    stepped = efficacy_step(rho, c, dt, torch.Generator().manual_seed(3))
    # noise sigma / sqrt(tau) sqrt(H_p + H_d) sqrt(dt) xi: sqrt(2), 1, 0
    scale = DP.sigma / math.sqrt(DP.tau) * math.sqrt(dt) * _t(math.sqrt(2), 1.0, 0.0)
    torch.testing.assert_close(stepped, rho + efficacy_drift(rho, c) * dt + scale * xi)
    quiet = DP.replace(sigma=0.0)
    torch.testing.assert_close(efficacy_step(rho, c, dt, torch.Generator(), quiet),
                               rho + efficacy_drift(rho, c) * dt)  # fmt: skip


def test_time_above_golden():
    # 2 e^{-t / 0.02} > 1 for t < 0.02 ln 2 = 13.86 ms; clipped to the window; 0 below
    got = time_above(_t(2.0, 2.0, 0.5, 1.0), 1.0, _t(1.0, 0.01, 1.0, 1.0), 0.02)
    torch.testing.assert_close(got, _t(0.02 * math.log(2), 0.01, 0.0, 0.0))


def test_ou_step_golden():
    # mean 0.25 + 0.75 e^{-1}; spread sqrt(0.1 (1 - e^{-2}))
    x = ou_step(_t(1.0, 1.0, 1.0), _t(0.5, 0.5, 0.0), 2.0, 0.25, 0.1, _t(0.0, 1.0, 5.0))
    mean = 0.25 + 0.75 * math.exp(-1)
    torch.testing.assert_close(x, _t(mean, mean + math.sqrt(0.1 * (1 - math.exp(-2))), 1.0))


def test_bistable_relax_solves_the_cubic():
    """Separating variables (rho* = 1/2): int drho / (rho (1 - rho) (rho - 1/2)) = 2 ln((rho -
    1/2)^2 / (rho (1 - rho))), so G(rho(T)) - G(rho_0) = T / tau exactly."""

    def g(r: float) -> float:
        return 2 * math.log((r - 0.5) ** 2 / (r * (1 - r)))

    for rho_0 in (0.3, 0.7, 0.05):
        rho_t = float(bistable_relax(_t(rho_0), _t(10.0))[0])
        assert g(rho_t) - g(rho_0) == pytest.approx(10.0 / DP.tau, rel=1e-6)
        assert abs(rho_t - 0.5) > abs(rho_0 - 0.5)  # away from the unstable point
    torch.testing.assert_close(bistable_relax(_t(0.0, 0.5, 1.0), _t(30.0, 30.0, 30.0)),
                               _t(0.0, 0.5, 1.0))  # fmt: skip


def test_synaptic_change_golden():
    # (beta (1 - U) + (1 - beta) D + b (beta U + (1 - beta) (1 - D))) / (beta + (1 - beta) b)
    assert synaptic_change(1.0, 0.0) == pytest.approx(5 / 3)
    assert synaptic_change(0.0, 1.0) == pytest.approx(1 / 3)
    assert synaptic_change(0.3, 0.3) == pytest.approx(1.0)
    # (0.2 + 0.15 + 5 (0.3 + 0.35)) / 3 = 1.2
    assert synaptic_change(0.6, 0.3) == pytest.approx(1.2)
    # beta = 0.8 DOWN, b = 2: (0.8 * 0.5 + 0.2 * 0.5 + 2 (0.8 * 0.5 + 0.2 * 0.5)) / 1.2 = 1.25
    torch.testing.assert_close(synaptic_change(_t(0.5), _t(0.5), 0.8, 2.0), _t(1.25))


def test_analytic_transition_probabilities_golden():
    # depression only for t_d = tau ln 2 / gamma_d: e^{-T / tau_eff} = 1/2, rho_bar = 0; from
    # UP the mean is 1/2 = rho*, so D = 1/2 exactly; from DOWN the mean stays 0 and the
    # variance is sigma^2 / (2 gamma_d) (1 - 1/4), so U = Phi(-0.5 / sqrt(that))
    t_d = DP.tau * math.log(2) / DP.gamma_d
    up, down = analytic_transition_probabilities(_t(t_d), _t(0.0))
    sd = math.sqrt(DP.sigma**2 / (2 * DP.gamma_d) * 0.75)
    torch.testing.assert_close(down, _t(0.5))
    torch.testing.assert_close(up, _t(0.5 * math.erfc(0.5 / sd / math.sqrt(2))))
    # 60 lone post spikes: rho_bar = rho* by the gamma_p balance, so U = D and no change
    t_p, t_d = 60 * 0.02 * math.log(2 / 1.3), 60 * 0.02 * math.log(2)
    up, down = analytic_transition_probabilities(_t(t_d), _t(t_p))
    assert float(synaptic_change(up, down)[0]) == pytest.approx(1.0, abs=1e-4)
    # no calcium above threshold: no transitions
    up, down = analytic_transition_probabilities(_t(0.0), _t(0.0))
    assert float(up[0]) == 0.0 and float(down[0]) == 0.0


def test_pairing_protocol_golden():
    # dt = +10 ms at 1 Hz, 2 pairs: pre at 0 and 1 s, its calcium 13.7 ms later; post at 10 ms
    events, t_end = pairing_protocol(_t(0.01), _t(1.0), 2)
    torch.testing.assert_close(events.times, _t(0.01, 0.0137, 1.01, 1.0137).unsqueeze(0))
    torch.testing.assert_close(events.jumps, _t(2.0, 1.0, 2.0, 1.0).unsqueeze(0))
    torch.testing.assert_close(t_end, _t(2.0))
    # dt = -20 ms: shifted so the first (post) spike is at 0; at 100 Hz the end waits for the
    # last event's calcium to decay (10 tau_Ca)
    events, t_end = pairing_protocol(_t(-0.02), _t(100.0), 2)
    torch.testing.assert_close(events.times, _t(0.0, 0.01, 0.0337, 0.0437).unsqueeze(0))
    torch.testing.assert_close(t_end, _t(0.0437 + 0.2))


def test_calcium_events_sort_per_synapse():
    pre = _t(0.0, 0.5).reshape(1, 2).repeat(2, 1)
    post = torch.tensor([[0.001], [0.02]], dtype=F64)
    events = calcium_events(pre, post)
    torch.testing.assert_close(
        events.times, torch.tensor([[0.001, 0.0137, 0.5137], [0.0137, 0.02, 0.5137]], dtype=F64)
    )
    torch.testing.assert_close(events.jumps, torch.tensor([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0]],
                                                          dtype=F64))  # fmt: skip


# --------------------------------------------------------------------------------------------
# Event-driven integration against Euler-Maruyama
# --------------------------------------------------------------------------------------------


def _euler(rho_0, delta_t, rate, n_pairs, dt, generator, params):
    """Euler-Maruyama (:func:`efficacy_step`) on a grid of ``dt``, the spikes moved to the
    grid; one protocol per entry of ``delta_t`` and ``rate`` (or one for every synapse)."""
    events, t_end = pairing_protocol(delta_t, rate, n_pairs, params)
    n_steps = round(float(t_end.max()) / dt)
    index = torch.round(events.times / dt).long()
    rows = torch.arange(index.shape[0]).unsqueeze(-1).expand_as(index)
    arrivals = torch.zeros(n_steps + 1, index.shape[0], dtype=F64)
    arrivals.index_put_((index, rows), events.jumps, accumulate=True)
    rho, c = rho_0.clone(), torch.zeros(index.shape[0], dtype=F64)
    above_d, above_p = torch.zeros_like(c), torch.zeros_like(c)
    for step in range(n_steps):
        c = c * math.exp(-dt / params.tau_ca) + arrivals[step]
        rho = efficacy_step(rho, c.expand_as(rho), dt, generator, params)
        above_d += (c > params.theta_d) * dt
        above_p += (c > params.theta_p) * dt
    return rho, above_d, above_p


def test_event_integration_matches_euler_without_noise():
    """sigma = 0: both integrate the same deterministic ODE; Euler's error is O(dt)."""
    params = DP.replace(sigma=0.0)
    rho_0 = _t(0.0, 1.0, 0.3, 0.0)
    delta_t, rate = _t(0.01, 0.01, -0.02, 0.005), _t(20.0, 20.0, 20.0, 50.0)
    events, t_end = pairing_protocol(delta_t, rate, 5, params)
    exact = simulate_calcium_events(rho_0, events, t_end, torch.Generator(), params)
    rho, above_d, above_p = _euler(rho_0, delta_t, rate, 5, 5e-5, torch.Generator(), params)
    torch.testing.assert_close(exact.rho, rho, atol=2e-3, rtol=0)
    torch.testing.assert_close(exact.time_above_d, above_d, atol=5e-4, rtol=0)
    torch.testing.assert_close(exact.time_above_p, above_p, atol=5e-4, rtol=0)
    assert float((exact.rho - rho_0).abs().min()) > 0.05  # the protocol did something


def test_event_integration_matches_euler_in_distribution():
    """With noise: mean and variance of rho at the end over 4000 synapses agree within their
    sampling errors (5 pairs at 20 Hz, dt = +10 ms, from DOWN and from UP)."""
    n = 4000
    rho_0 = torch.cat([torch.zeros(n), torch.ones(n)]).to(F64)
    delta_t, rate = torch.full((2 * n,), 0.01, dtype=F64), torch.full((2 * n,), 20.0, dtype=F64)
    events, t_end = pairing_protocol(delta_t, rate, 5)
    exact = simulate_calcium_events(rho_0, events, t_end, torch.Generator().manual_seed(1))
    one = torch.tensor([0.01], dtype=F64), torch.tensor([20.0], dtype=F64)
    rho, _, _ = _euler(rho_0, *one, 5, 1e-4, torch.Generator().manual_seed(2), DP)
    for half in (slice(0, n), slice(n, 2 * n)):
        a, b = exact.rho[half], rho[half]
        se = math.sqrt(float(a.var() + b.var()) / n)
        assert abs(float(a.mean() - b.mean())) < 4 * se + 2e-3
        assert float(a.var() / b.var()) == pytest.approx(1.0, abs=0.12)
        assert float(a.std()) > 0.05  # the noise acted


def test_event_integration_is_reproducible_and_uses_only_its_generator():
    rho_0 = torch.zeros(64, dtype=F64)
    events, t_end = pairing_protocol(torch.full((64,), 0.01, dtype=F64),
                                     torch.ones(64, dtype=F64), 10)  # fmt: skip
    torch.manual_seed(0)
    a = simulate_calcium_events(rho_0, events, t_end, torch.Generator().manual_seed(5))
    torch.manual_seed(1)
    b = simulate_calcium_events(rho_0, events, t_end, torch.Generator().manual_seed(5))
    c = simulate_calcium_events(rho_0, events, t_end, torch.Generator().manual_seed(6))
    assert torch.equal(a.rho, b.rho) and not torch.equal(a.rho, c.rho)


@pytest.mark.parametrize("device", DEVICES)
def test_event_integration_runs_on_the_inputs_device(device):
    n = 256
    delta_t = torch.full((n,), 0.01, dtype=F64, device=device)
    events, t_end = pairing_protocol(delta_t, torch.ones_like(delta_t), 60)
    generator = torch.Generator(device=device).manual_seed(0)
    result = simulate_calcium_events(torch.zeros_like(delta_t), events, t_end, generator)
    assert result.rho.device.type == device and result.rho.shape == (n,)
    # every synapse saw the same calcium: 60 pairs at +10 ms, 18.0 ms above theta_p per pair
    per_pair = float(result.time_above_p[0]) / 60
    assert per_pair == pytest.approx(0.0180, abs=2e-4)
    assert 0.4 < float((result.rho > 0.5).to(F64).mean()) < 0.9  # DP: +10 ms potentiates


# --------------------------------------------------------------------------------------------
# Rate-based calcium (Shouval, Bear & Cooper 2002) and BCM as three-factor Hebbian terms
# --------------------------------------------------------------------------------------------


def test_rate_calcium_golden():
    # Ca_ij = post_i pre_j + 0.1 pre_j + 0.2 post_i
    pre, post = torch.tensor([[0.5, 1.0]]), torch.tensor([[1.0, 0.2]])
    got = rate_calcium(pre, post, 1.0, c_pre=0.1, c_post=0.2)
    torch.testing.assert_close(got, torch.tensor([[[0.75, 1.3], [0.19, 0.34]]]))
    per_agent = rate_calcium(pre.repeat(2, 1), post.repeat(2, 1), torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(per_agent[1], 2 * per_agent[0])


def test_omega_golden():
    c = torch.tensor([0.2, 0.35, 0.4, 0.55, 0.6])
    # sharp: 0 up to theta_d, -A_d up to theta_p, +A_p above (strict inequalities)
    torch.testing.assert_close(omega(c), torch.tensor([0.0, 0.0, -0.25, -0.25, 0.75]))
    # smooth at theta_d: s(0) = 1/2, s(-0.2 * 80) = 1 / (1 + e^16)
    s = 1 / (1 + math.exp(16))
    got = omega(torch.tensor([0.35]), steepness=80.0)
    torch.testing.assert_close(got, torch.tensor([0.75 * s - 0.25 * (0.5 - s)]))
    with pytest.raises(ValueError, match=r"theta_d=0.6, theta_p=0.5 are invalid"):
        omega(c, theta_d=0.6, theta_p=0.5)
    with pytest.raises(ValueError, match=r"steepness=0.0 is invalid"):
        omega(c, steepness=0.0)


def _signals(pre, post, dopamine, active=None):
    active = torch.ones(pre.shape[0], dtype=torch.bool) if active is None else active
    return PlasticitySignals(pre=pre, post=post, dopamine=dopamine, rate=post, active=active)


def test_calcium_three_factor_golden_two_steps():
    # one agent, 1 post x 2 pre; Ca = post * pre = [0.45, 0.9]: Omega = [-0.25, +0.75]
    rule = calcium_three_factor(learning_rate=0.1, trace_decay=0.5)
    w = torch.zeros(1, 1, 2)
    state = rule.init(w)
    sig = _signals(torch.tensor([[0.5, 1.0]]), torch.tensor([[0.9]]), torch.tensor([2.0]))
    dw, state = rule.update(torch.zeros_like(w), state, w, sig)
    torch.testing.assert_close(state.trace, torch.tensor([[[-0.25, 0.75]]]))
    torch.testing.assert_close(dw, torch.tensor([[[-0.05, 0.15]]]))  # 0.1 * 2 * e
    # silent step: the trace halves; dopamine -1 turns it into the opposite change
    silent = _signals(torch.zeros(1, 2), torch.zeros(1, 1), torch.tensor([-1.0]))
    dw, state = rule.update(torch.zeros_like(w), state, w, silent)
    torch.testing.assert_close(state.trace, torch.tensor([[[-0.125, 0.375]]]))
    torch.testing.assert_close(dw, torch.tensor([[[0.0125, -0.0375]]]))


def test_calcium_three_factor_validates():
    with pytest.raises(ValueError, match=r"theta_d=0.6, theta_p=0.3 are invalid"):
        calcium_three_factor(0.1, 0.9, theta_d=0.6, theta_p=0.3)
    with pytest.raises(ValueError, match=r"trace_decay=1.5 is invalid"):
        calcium_three_factor(0.1, 1.5)


@pytest.mark.parametrize("make", [
    lambda: calcium_three_factor(0.5, 0.9, c_post=0.1, steepness=80.0),
    lambda: calcium_three_factor(torch.tensor([0.1, 1.0, 2.0, 5.0]), torch.full((4,), 0.7)),
    lambda: bcm_three_factor(0.5, 0.9, threshold_time_constant=5.0),
])  # fmt: skip
def test_no_weight_change_without_dopamine(make):
    """Dopamine 0 => dw exactly 0 at every one of 300 random steps (random rates, episodes
    ending at random), with eligibility building up all along; the first dopamine after them
    changes the weights."""
    generator = torch.Generator().manual_seed(0)
    rule = chain(make(), weight_bounds(0.0, 1.0))
    weights = torch.rand(4, 3, 5, generator=generator)
    state = rule.init(weights)
    for _ in range(300):
        pre = torch.rand(4, 5, generator=generator) * 1.5
        post = torch.rand(4, 3, generator=generator) * 1.5
        active = torch.rand(4, generator=generator) > 0.1
        dw, state = rule.update(torch.zeros_like(weights), state, weights,
                                _signals(pre, post, torch.zeros(4), active))  # fmt: skip
        assert torch.equal(dw, torch.zeros_like(weights))
    assert float(state[0].trace.abs().sum()) > 0
    dw, _ = rule.update(torch.zeros_like(weights), state, weights,
                        _signals(pre, post, torch.ones(4)))  # fmt: skip
    assert float(dw.abs().sum()) > 0


def test_inactive_agents_clear_their_trace_and_keep_their_threshold():
    rule = bcm_three_factor(0.1, 0.9, threshold_time_constant=2.0, initial_threshold=0.25)
    w = torch.zeros(2, 1, 1)
    state = rule.init(w)
    sig = _signals(torch.ones(2, 1), torch.ones(2, 1), torch.ones(2), torch.tensor([True, False]))
    dw, state = rule.update(torch.zeros_like(w), state, w, sig)
    # agent 0: phi(1, 0.25) = 0.75, theta 0.25 + (1 - 0.25) / 2; agent 1: nothing
    torch.testing.assert_close(state.trace, torch.tensor([[[0.75]], [[0.0]]]))
    torch.testing.assert_close(state.theta, torch.tensor([[0.625], [0.25]]))
    torch.testing.assert_close(dw, torch.tensor([[[0.075]], [[0.0]]]))
    rule = calcium_three_factor(0.1, 0.9)
    state = rule.init(w)
    dw, state = rule.update(torch.zeros_like(w), state, w, sig)
    torch.testing.assert_close(state.trace, torch.tensor([[[0.75]], [[0.0]]]))


def test_bcm_golden():
    # phi = y (y - theta)
    torch.testing.assert_close(bcm_phi(torch.tensor([[0.5, 2.0]]), torch.tensor([[0.25, 1.0]])),
                               torch.tensor([[0.125, 2.0]]))  # fmt: skip
    # theta <- theta + (y^2 - theta) / tau
    got = bcm_threshold_update(torch.tensor([[0.25, 0.25]]), torch.tensor([[0.5, 2.0]]), 10.0)
    torch.testing.assert_close(got, torch.tensor([[0.25, 0.625]]))


def test_bcm_threshold_slides_to_the_mean_square_activity():
    """A constant rate y drives theta_M to y^2: the sign of phi flips from potentiation to
    depression as the threshold catches up (y > theta_M at first when y < 1)."""
    theta = torch.tensor([[0.0]])
    y = torch.tensor([[0.6]])
    assert float(bcm_phi(y, theta)) > 0
    for _ in range(200):
        theta = bcm_threshold_update(theta, y, 10.0)
    torch.testing.assert_close(theta, torch.tensor([[0.36]]), atol=1e-6, rtol=0)
    assert float(bcm_phi(y, theta)) == pytest.approx(0.6 * (0.6 - 0.36), abs=1e-6)
    assert float(bcm_phi(torch.tensor([[0.3]]), theta)) < 0  # below theta_M: depression


@pytest.mark.parametrize("device", DEVICES)
def test_transforms_run_on_the_inputs_device(device):
    for rule in (calcium_three_factor(0.1, 0.9), bcm_three_factor(0.1, 0.9)):
        w = torch.zeros(3, 2, 4, device=device)
        state = rule.init(w)
        sig = PlasticitySignals(pre=torch.ones(3, 4, device=device),
                                post=torch.ones(3, 2, device=device),
                                dopamine=torch.ones(3, device=device),
                                rate=torch.ones(3, 2, device=device),
                                active=torch.ones(3, dtype=torch.bool, device=device))  # fmt: skip
        dw, state = rule.update(torch.zeros_like(w), state, w, sig)
        assert dw.device.type == device and dw.shape == w.shape
        assert state.trace.device.type == device
