"""Tag-trigger-consolidation (Clopath et al. 2008) and the Benna & Fusi 2016 cascade: golden
values computed by hand, the transform's contract, and the model's signatures."""

from __future__ import annotations

import math

import pytest
import torch

from plasticgym.consolidation import (
    TagCaptureState,
    block_protein_synthesis,
    cascade,
    cascade_constants,
    cascade_update,
    counter_uniform,
    decay_probability,
    early_phase_expected,
    early_phase_sample,
    induction_probabilities,
    late_phase_update,
    pcg_hash,
    protein_trigger,
    protein_update,
    seed_tag_sampling,
    tag_and_capture,
    tag_fraction,
    tagged_weight,
)
from plasticgym.plasticity import PlasticitySignals, chain, three_factor


def t(values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype)


def signals(b: int, n_post: int, n_pre: int, dopamine=None, active=None) -> PlasticitySignals:
    return PlasticitySignals(
        pre=torch.zeros(b, n_pre),
        post=torch.zeros(b, n_post),
        dopamine=torch.zeros(b) if dopamine is None else dopamine,
        rate=torch.zeros(b, n_post),
        active=torch.ones(b, dtype=torch.bool) if active is None else active,
    )


# --------------------------------------------------------------------------------------------
# Pure functions: golden values
# --------------------------------------------------------------------------------------------


def test_decay_probability_golden():
    # 1 - exp(-10 / 3600) = 1 - exp(-1/360); the series x - x^2/2 + x^3/6 with x = 1/360.
    x = 1 / 360
    assert decay_probability(10.0, 3600.0) == pytest.approx(x - x**2 / 2 + x**3 / 6, rel=1e-9)
    per_agent = decay_probability(3600.0, t([3600.0, 1800.0]))
    assert torch.allclose(per_agent, t([1 - math.exp(-1), 1 - math.exp(-2)]))


def test_induction_probabilities_golden():
    dw = t([[[0.3, -0.2, 1.5, -0.8]]])
    rho_h, rho_l = induction_probabilities(dw, 1.0, 0.5)
    assert torch.allclose(rho_h, t([[[0.3, 0.0, 1.0, 0.0]]]))
    assert torch.allclose(rho_l, t([[[0.0, 0.4, 0.0, 1.0]]]))  # -(-0.2) / 0.5


def test_early_phase_expected_golden():
    # neutral = 1 - 0.2 - 0.1 = 0.7; h = 0.9 * 0.2 + 0.5 * 0.7 = 0.53; l = 0.8 * 0.1 = 0.08
    high, low = early_phase_expected(t([0.2]), t([0.1]), t([0.5]), t([0.0]), 0.1, 0.2)
    assert high.item() == pytest.approx(0.53)
    assert low.item() == pytest.approx(0.08)


def test_early_phase_sample_golden():
    # states: up, up, neutral, neutral, neutral, down, down
    high = t([1, 1, 0, 0, 0, 0, 0.0])
    low = t([0, 0, 0, 0, 0, 1, 1.0])
    uniform = t([0.05, 0.5, 0.1, 0.4, 0.7, 0.01, 0.9])
    rho_h = torch.full((7,), 0.3, dtype=torch.float64)
    rho_l = torch.full((7,), 0.2, dtype=torch.float64)
    h_t, l_t = early_phase_sample(high, low, rho_h, rho_l, 0.1, 0.05, uniform)
    # up -> neutral (0.05 < q_H), stays up, -> up (0.1 < 0.3), -> down (0.3 <= 0.4 < 0.5),
    # stays neutral, down -> neutral (0.01 < q_L), stays down
    assert h_t.tolist() == [0, 1, 1, 0, 0, 0, 0]
    assert l_t.tolist() == [0, 0, 0, 1, 0, 0, 1]


def test_sampled_early_phase_has_the_expected_mean():
    generator = torch.Generator().manual_seed(0)
    n = 200_000
    high = (torch.rand(n, generator=generator) < 0.3).double()
    low = (1 - high) * (torch.rand(n, generator=generator) < 0.2).double()
    rho_h = torch.full((n,), 0.25, dtype=torch.float64)
    rho_l = torch.full((n,), 0.1, dtype=torch.float64)
    uniform = torch.rand(n, generator=generator, dtype=torch.float64)
    h_t, l_t = early_phase_sample(high, low, rho_h, rho_l, 0.2, 0.3, uniform)
    e_h, e_l = early_phase_expected(high.mean(), low.mean(), t(0.25), t(0.1), 0.2, 0.3)
    assert h_t.mean().item() == pytest.approx(e_h.item(), abs=0.004)  # ~4 standard errors
    assert l_t.mean().item() == pytest.approx(e_l.item(), abs=0.004)
    assert not bool(((h_t + l_t) > 1).any())  # a synapse is in one state


def test_tag_fraction_and_trigger_golden():
    high = t([[[1, 0, 0, 1], [0, 0, 0, 0]]])
    low = t([[[0, 1, 0, 0], [1, 0, 0, 0]]])
    tags = tag_fraction(high, low)
    assert tags.tolist() == [[0.75, 0.25]]
    assert protein_trigger(tags, 0.3, t([0.0])).tolist() == [[True, False]]
    assert protein_trigger(tags, 0.3, t([1.0]), dopamine_threshold=0.5).tolist() == [[True, True]]
    assert protein_trigger(tags, 0.3, t([0.4]), dopamine_threshold=0.5).tolist() == [[True, False]]


def test_protein_update_golden():
    # on: rate = 1/3600 + 1/360 = 11/3600; p_inf = (1/360) / rate = 10/11;
    # after 360 s from 0: 10/11 (1 - exp(-1.1))
    on = protein_update(t([[0.0]]), torch.tensor([[True]]), 360.0, 360.0, 3600.0)
    assert on.item() == pytest.approx(10 / 11 * (1 - math.exp(-1.1)))
    off = protein_update(t([[0.5]]), torch.tensor([[False]]), 3600.0, 360.0, 3600.0)
    assert off.item() == pytest.approx(0.5 * math.exp(-1))
    blocked = protein_update(t([[0.5], [0.5]]), torch.tensor([[True], [True]]), 10.0, 360.0,
                             3600.0, blocked=torch.tensor([True, False]))  # fmt: skip
    assert blocked[0].item() == 0.0 and blocked[1].item() > 0.5


def test_late_phase_update_golden():
    # z = 0.2, tag up, p = 0.8: well 0.2 * 0.8 * (0.2 - 0.5) = -0.048, drive 0.1 * 0.8 = 0.08;
    # z + 36 / 360 * 0.032 = 0.2032
    z = late_phase_update(t([[[0.2]]]), t([[[1.0]]]), t([[[0.0]]]), t([[0.8]]), 36.0, 360.0, 0.1)
    assert z.item() == pytest.approx(0.2032)
    # z = 0.6, LTD tag, p = 1: well 0.6 * 0.4 * 0.1 = 0.024, drive -0.1 -> 0.6 - 0.0076
    z = late_phase_update(t([[[0.6]]]), t([[[0.0]]]), t([[[1.0]]]), t([[1.0]]), 36.0, 360.0, 0.1)
    assert z.item() == pytest.approx(0.5924)
    # the stable states do not move without a tag, whatever p
    still = late_phase_update(t([[[0.0, 1.0]]]), t([[[0.0, 0.0]]]), t([[[0.0, 0.0]]]),
                              t([[1.0]]), 36.0, 360.0, 0.1)  # fmt: skip
    assert still.tolist() == [[[0.0, 1.0]]]


def test_tagged_weight_golden():
    w = tagged_weight(t([1.0, 0.0, 0.0]), t([0.0, 1.0, 0.0]), t([1.0, 0.0, 1.0]), 1.0, 0.5, 2.0)
    assert w.tolist() == [3.0, -0.5, 2.0]


# --------------------------------------------------------------------------------------------
# The transform
# --------------------------------------------------------------------------------------------


def test_transform_first_step_golden():
    # one neuron, one synapse, expected values, proposal dw = 0.4 with g_H = 1:
    # h = 0.4 (> 0.3: synthesis on), p = 10/11 (1 - exp(-10 * 11/3600)),
    # z = 10 / 360 * 0.1 * 0.4 * p, returned change = 0.4 + 2 z
    rule = tag_and_capture(10.0)
    weights = torch.zeros(1, 1, 1, dtype=torch.float64)
    state = rule.init(weights)
    dw, state = rule.update(torch.full_like(weights, 0.4), state, weights, signals(1, 1, 1))
    p = 10 / 11 * (1 - math.exp(-10 * 11 / 3600))
    z = 10 / 360 * 0.1 * 0.4 * p
    assert state.high.item() == pytest.approx(0.4)
    assert state.p.item() == pytest.approx(p)
    assert state.z.item() == pytest.approx(z)
    assert dw.item() == pytest.approx(0.4 + 2 * z)


@pytest.mark.parametrize("mode", ["expected", "generator", "stream", "stream_contacts_novelty"])
def test_no_dopamine_no_weight_change(mode):
    """A dopamine-gated synapse (three-factor rule, then tagging and capture) never changes
    without dopamine, however active its pre- and postsynaptic neurons are: with expected
    tags, tags sampled from a generator, from the state's counter-based stream (the
    TaggedSynapse default), and from the stream with 3 contacts per connection and a novelty
    event on half of the steps (proteins are made, but nothing is tagged to capture them)."""
    generator = torch.Generator().manual_seed(1)
    options = {"expected": {}, "generator": {"generator": generator},
               "stream": {"sampled": True},
               "stream_contacts_novelty": {"sampled": True, "contacts": 3,
                                           "trigger_event": "novelty"}}[mode]  # fmt: skip
    rule = chain(three_factor(0.5, 0.9), tag_and_capture(10.0, **options))
    weights = torch.rand(4, 3, 5, generator=generator)
    state = rule.init(weights)
    if mode.startswith("stream"):
        state = (state[0], seed_tag_sampling(state[1], torch.tensor([5, 6, 7, 8])))
    for k in range(100):
        step = PlasticitySignals(
            pre=torch.rand(4, 5, generator=generator),
            post=torch.rand(4, 3, generator=generator),
            dopamine=torch.zeros(4),
            rate=torch.rand(4, 3, generator=generator),
            active=torch.ones(4, dtype=torch.bool),
            events={"novelty": torch.full((4,), k % 2 == 0)},
        )
        dw, state = rule.update(torch.zeros_like(weights), state, weights, step)
        assert bool((dw == 0).all())
    tags = state[1]
    assert bool((tags.high == 0).all()) and bool((tags.z == 0).all())
    assert bool((tags.p > 0.5).all()) if "novelty" in mode else bool((tags.p == 0).all())
    if mode.startswith("stream"):
        assert tags.stream[:, 0].tolist() == [5, 6, 7, 8] and int(tags.stream[0, 1]) == 100


def test_contacts_are_sampled_apart_and_the_weight_is_their_mean():
    """With ``contacts = M`` every connection has M binary contacts, induced alike, drawn
    apart; the returned change is the mean of theirs, and the trigger counts contacts."""
    rule = tag_and_capture(10.0, sampled=True, contacts=4, tag_threshold=0.3)
    weights = torch.zeros(2, 1, 3)
    state = seed_tag_sampling(rule.init(weights), torch.tensor([1, 2]))
    assert state.high.shape == (2, 1, 12) and state.p.shape == (2, 1)
    proposal = torch.tensor([0.5, 0.5, 0.0]).expand(2, 1, 3)  # rho_H = 0.5 on connections 0, 1
    dw, new = rule.update(proposal, state, weights, signals(2, 1, 3))
    contacts = new.high.view(2, 1, 3, 4)
    assert bool((contacts[..., 2, :] == 0).all())  # no proposal, no tag
    assert set(contacts.unique().tolist()) == {0.0, 1.0}
    assert 0 < float(contacts[..., :2, :].mean()) < 1  # drawn apart, not all alike
    expected = 1.0 * contacts.mean(-1) + 2.0 * new.z.view(2, 1, 3, 4).mean(-1)  # g_H h + g_z z
    torch.testing.assert_close(dw, expected)
    fraction = contacts.sum((-1, -2)) / 12
    assert torch.equal(new.p > 0, fraction > 0.3)
    # one contact is the synapse without contacts: the same draws, the same result
    one = tag_and_capture(10.0, sampled=True, contacts=1)
    plain = tag_and_capture(10.0, sampled=True)
    a = one.update(proposal, seed_tag_sampling(one.init(weights), torch.tensor([1, 2])),
                   weights, signals(2, 1, 3))  # fmt: skip
    b = plain.update(proposal, seed_tag_sampling(plain.init(weights), torch.tensor([1, 2])),
                     weights, signals(2, 1, 3))  # fmt: skip
    assert torch.equal(a[0], b[0])
    assert all(torch.equal(x, y) for x, y in zip(a[1], b[1], strict=True))


def test_a_task_event_triggers_synthesis_only_while_it_is_on():
    rule = tag_and_capture(10.0, trigger_event="novelty")
    weights = torch.zeros(3, 2, 4)
    state = rule.init(weights)
    on = PlasticitySignals(*signals(3, 2, 4)[:5], events={"novelty": torch.tensor([1, 0, 1])})
    for _ in range(36):  # 6 min
        _, state = rule.update(torch.zeros_like(weights), state, weights, on)
    assert bool((state.p[[0, 2]] > 0.5).all()) and bool((state.p[1] == 0).all())
    assert bool((state.z == 0).all())  # proteins, but no tag to capture them
    rest = signals(3, 2, 4)  # no events at all (a rest): no trigger, proteins decay
    _, after = rule.update(torch.zeros_like(weights), state, weights, rest)
    assert bool((after.p[[0, 2]] < state.p[[0, 2]]).all()) and bool((after.p[1] == 0).all())
    with pytest.raises(ValueError, match=r"trigger_event='novelty'.*'novelty'.*\['cue'\]"):
        rule.update(torch.zeros_like(weights), state, weights,
                    rest._replace(events={"cue": torch.zeros(3)}))  # fmt: skip
    trigger = protein_trigger(torch.zeros(2, 1), 0.3, torch.zeros(2), math.inf,
                              torch.tensor([True, False]))  # fmt: skip
    assert trigger.tolist() == [[True], [False]]


def test_with_dopamine_the_rule_tags_and_changes_weights():
    rule = chain(three_factor(0.5, 0.9), tag_and_capture(10.0))
    weights = torch.zeros(2, 1, 3)
    state = rule.init(weights)
    step = PlasticitySignals(torch.ones(2, 3), torch.ones(2, 1), torch.tensor([1.0, 0.0]),
                             torch.zeros(2, 1), torch.ones(2, dtype=torch.bool))  # fmt: skip
    _, state = rule.update(torch.zeros_like(weights), state, weights, step)  # writes the trace
    dw, state = rule.update(torch.zeros_like(weights), state, weights, step)
    assert bool((dw[0] > 0).all()) and bool((dw[1] == 0).all())


def test_inactive_agents_keep_their_state():
    rule = tag_and_capture(10.0)
    weights = torch.zeros(2, 1, 2)
    state = rule.init(weights)
    proposal = torch.full_like(weights, 0.5)
    active = torch.tensor([True, False])
    dw, new = rule.update(proposal, state, weights, signals(2, 1, 2, active=active))
    assert bool((dw[1] == 0).all()) and bool((new.high[1] == 0).all())
    assert bool((dw[0] > 0).all())


def full_tag_state(z: float = 0.0, p: float = 0.0) -> TagCaptureState:
    """Two neurons of 10 synapses, all tagged for LTP (h = 1)."""
    ones = torch.ones(2, 1, 10)
    return TagCaptureState(
        high=ones,
        low=torch.zeros_like(ones),
        z=torch.full_like(ones, z),
        p=torch.full((2, 1), p),
        blocked=torch.zeros(2, dtype=torch.bool),
        stream=torch.zeros(2, 2, dtype=torch.int64),
    )


def run_hours(rule, state, hours, dt=10.0, dopamine=None):
    weights = torch.zeros_like(state.high)
    step = signals(*state.high.shape, dopamine=dopamine)
    for _ in range(round(hours * 3600 / dt)):
        _, state = rule.update(torch.zeros_like(weights), state, weights, step)
    return state


def test_tagged_synapses_capture_proteins_unless_blocked_or_without_capture():
    """Clopath et al. 2008: with enough tags the neuron makes proteins and the tagged
    synapses' late phase switches up; a blocker or gamma = 0 prevents it."""
    tau_h = 1e9  # keep the tags, to test capture alone
    captured = run_hours(tag_and_capture(10.0, tau_h=tau_h), full_tag_state(), 2.0)
    assert captured.p.min().item() > 0.85 and captured.z.min().item() > 0.99
    blocked = block_protein_synthesis(full_tag_state(), True)
    blocked = run_hours(tag_and_capture(10.0, tau_h=tau_h), blocked, 2.0)
    assert blocked.p.max().item() == 0.0 and blocked.z.max().item() == 0.0
    washed = block_protein_synthesis(blocked, False)
    washed = run_hours(tag_and_capture(10.0, tau_h=tau_h), washed, 2.0)
    assert washed.z.min().item() > 0.99  # tags still there: capture after the wash-out
    uncaptured = run_hours(tag_and_capture(10.0, tau_h=tau_h, gamma=0.0), full_tag_state(), 2.0)
    assert uncaptured.z.max().item() == 0.0


def test_blocker_per_agent_and_as_a_start_option():
    state = block_protein_synthesis(full_tag_state(p=0.5), torch.tensor([True, False]))
    assert state.p[:, 0].tolist() == [0.0, 0.5] and state.blocked.tolist() == [True, False]
    rule = tag_and_capture(10.0, protein_synthesis_blocked=True)
    assert bool(rule.init(torch.zeros(3, 2, 4)).blocked.all())


def test_dopamine_triggers_synthesis_without_tags():
    rule = tag_and_capture(10.0, dopamine_threshold=0.5)
    state = rule.init(torch.zeros(2, 1, 10))
    state = run_hours(rule, state, 0.5, dopamine=torch.tensor([1.0, 0.0]))
    assert state.p[0].item() > 0.8 and state.p[1].item() == 0.0
    assert bool((state.z == 0).all())  # proteins alone, without tags, change no weight


def test_untagged_synapses_are_not_captured_and_tags_decay_with_tau_h():
    rule = tag_and_capture(10.0, tag_threshold=2.0)  # synthesis never triggered
    state = run_hours(rule, full_tag_state(), 1.0)
    assert state.high.mean().item() == pytest.approx(math.exp(-1), rel=1e-4)
    assert state.z.max().item() == 0.0


def test_per_agent_parameters_match_separate_runs():
    weights = torch.zeros(2, 1, 4)
    proposal = torch.full_like(weights, 0.6)
    both = tag_and_capture(10.0, tau_h=torch.tensor([1800.0, 7200.0]),
                           gamma=torch.tensor([0.1, 0.0]))  # fmt: skip
    state = both.init(weights)
    for _ in range(50):
        _, state = both.update(proposal, state, weights, signals(2, 1, 4))
    for b, (tau_h, gamma) in enumerate(((1800.0, 0.1), (7200.0, 0.0))):
        one = tag_and_capture(10.0, tau_h=tau_h, gamma=gamma)
        alone = one.init(weights[b : b + 1])
        for _ in range(50):
            _, alone = one.update(proposal[b : b + 1], alone, weights[b : b + 1],
                                  signals(1, 1, 4))  # fmt: skip
        for name in ("high", "low", "z", "p", "blocked"):
            assert torch.allclose(getattr(state, name)[b : b + 1], getattr(alone, name))
        assert state.stream[b, 1] == alone.stream[0, 1] == 50  # steps taken (keys differ)


def test_sampling_is_reproducible_from_the_generator():
    def run(seed):
        rule = tag_and_capture(10.0, generator=torch.Generator().manual_seed(seed))
        weights = torch.zeros(3, 2, 50)
        state = rule.init(weights)
        total = torch.zeros_like(weights)
        for _ in range(20):
            dw, state = rule.update(torch.full_like(weights, 0.05), state, weights,
                                    signals(3, 2, 50))  # fmt: skip
            total += dw
        return total

    assert torch.equal(run(3), run(3)) and not torch.equal(run(3), run(4))


def test_pcg_hash_golden():
    """Values of the C reference (Jarzynski & Olano 2020) computed with numpy uint32."""
    inputs = torch.tensor([0, 1, 2, 12345, 2**32 - 1, 2**31, 987654321])
    expected = [129708002, 2831084092, 2055130248, 4099845390, 3861530882, 566699590,
                2520997377]  # fmt: skip
    assert pcg_hash(inputs).tolist() == expected


def test_counter_uniform_is_a_pure_function_of_key_and_counter_and_looks_uniform():
    key, counter = torch.tensor([5, 6]), torch.tensor([0, 9])
    u = counter_uniform(key, counter, (3, 4))
    assert u.shape == (2, 3, 4) and u.dtype == torch.float32
    assert torch.equal(u, counter_uniform(key, counter, (3, 4)))
    assert torch.equal(u[1], counter_uniform(key[1:], counter[1:], (3, 4))[0])
    assert not torch.equal(u[0], counter_uniform(key[:1], counter[:1] + 1, (3, 4))[0])
    many = counter_uniform(torch.arange(4000), torch.zeros(4000, dtype=torch.int64), (25,))
    assert float(many.min()) >= 0.0 and float(many.max()) < 1.0
    assert float(many.mean()) == pytest.approx(0.5, abs=0.005)
    assert float(many.var()) == pytest.approx(1 / 12, abs=0.002)
    pairs = torch.corrcoef(torch.stack([many[:, 0], many[:, 1]]))[0, 1]
    assert abs(float(pairs)) < 0.05  # neighbouring synapses of one agent are uncorrelated


def test_sampled_tags_are_binary_their_mean_follows_the_expected_chain_and_the_state_resumes():
    weights = torch.zeros(400, 1, 10)
    proposal = torch.full_like(weights, 0.02)
    sampled = tag_and_capture(10.0, sampled=True)
    expected = tag_and_capture(10.0)
    s, e = sampled.init(weights), expected.init(weights)
    for step in range(60):
        _, s = sampled.update(proposal, s, weights, signals(400, 1, 10))
        _, e = expected.update(proposal, e, weights, signals(400, 1, 10))
        if step == 29:
            halfway = s
    assert set(s.high.unique().tolist()) <= {0.0, 1.0}
    assert float(s.high.mean()) == pytest.approx(float(e.high.mean()), abs=0.02)
    assert s.stream[:, 1].eq(60).all() and torch.equal(s.stream[:, 0], torch.arange(400))
    resumed = halfway  # the stream is part of the state: continuing from a copy is exact
    for _ in range(30):
        _, resumed = sampled.update(proposal, resumed, weights, signals(400, 1, 10))
    for a, b in zip(resumed, s, strict=True):
        assert torch.equal(a, b)
    other = seed_tag_sampling(sampled.init(weights), torch.arange(400) + 1000)
    for _ in range(60):
        _, other = sampled.update(proposal, other, weights, signals(400, 1, 10))
    assert not torch.equal(other.high, s.high)
    with pytest.raises(ValueError, match="one key per agent"):
        seed_tag_sampling(s, torch.arange(3))
    with pytest.raises(ValueError, match="not both"):
        tag_and_capture(10.0, sampled=True, generator=torch.Generator())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"dt": 100.0}, "dt=100.0 is invalid: .* tau_z / 4 = 90"),
     ({"dt": 10.0, "tau_h": -1.0}, "tau_h=-1.0 is invalid"),
     ({"dt": 10.0, "tau_p_rise": torch.tensor([360.0, 0.0])}, "tau_p_rise must be > 0"),
     ({"dt": 0.0}, "dt=0.0 is invalid"),
     ({"dt": 10.0, "sampled": True, "contacts": 0}, "contacts=0 is invalid: must be an int"),
     ({"dt": 10.0, "contacts": 3}, "contacts=3 needs sampled tags"),
     ({"dt": 10.0, "trigger_event": ""}, "trigger_event='' is invalid")],
)  # fmt: skip
def test_invalid_parameters_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tag_and_capture(**kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_transform_runs_on_cuda_like_on_cpu():
    weights = torch.zeros(4, 2, 8)
    proposal = torch.linspace(-0.5, 0.8, 8).expand(4, 2, 8).contiguous()
    out = {}
    for device in ("cpu", "cuda"):
        rule = tag_and_capture(10.0, tau_h=torch.full((4,), 3600.0, device=device))
        w, dw = weights.to(device), proposal.to(device)
        state = rule.init(w)
        for _ in range(30):
            _, state = rule.update(dw, state, w, signals(4, 2, 8)._replace(
                dopamine=torch.zeros(4, device=device),
                active=torch.ones(4, dtype=torch.bool, device=device)))  # fmt: skip
        out[device] = state
    for a, b in zip(out["cpu"], out["cuda"], strict=True):
        assert torch.allclose(a, b.cpu(), atol=1e-5)
    sampled = tag_and_capture(10.0, generator=torch.Generator(device="cuda").manual_seed(0))
    state = sampled.init(weights.cuda())
    dw, state = sampled.update(proposal.cuda(), state, weights.cuda(), signals(4, 2, 8)._replace(
        dopamine=torch.zeros(4, device="cuda"),
        active=torch.ones(4, dtype=torch.bool, device="cuda")))  # fmt: skip
    assert dw.device.type == "cuda"
    with pytest.raises(ValueError, match="generator is on cpu"):
        tag_and_capture(10.0, generator=torch.Generator()).init(weights.cuda())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_sampled_tags_are_the_same_on_cuda_and_cpu():
    rule = tag_and_capture(10.0, sampled=True)
    proposal = torch.linspace(-0.1, 0.3, 8).expand(4, 2, 8).contiguous()
    states = {}
    for device in ("cpu", "cuda"):
        w = torch.zeros(4, 2, 8, device=device)
        state = rule.init(w)
        step = signals(4, 2, 8)._replace(
            dopamine=torch.zeros(4, device=device),
            active=torch.ones(4, dtype=torch.bool, device=device),
        )
        for _ in range(30):
            _, state = rule.update(proposal.to(device), state, w, step)
        states[device] = state
    assert torch.equal(states["cpu"].high, states["cuda"].high.cpu())
    assert torch.equal(states["cpu"].stream, states["cuda"].stream.cpu())


# --------------------------------------------------------------------------------------------
# Benna & Fusi 2016 cascade
# --------------------------------------------------------------------------------------------


def test_cascade_constants_golden():
    capacities, couplings = cascade_constants(3, 10.0, 2.0)
    assert capacities.tolist() == [1.0, 2.0, 4.0]
    assert couplings.tolist() == [0.1, 0.05, 0.025]
    assert cascade_constants(3, 10.0, terminal_leak=False)[1].tolist() == [0.1, 0.05, 0.0]


def test_cascade_update_golden():
    capacities, couplings = cascade_constants(3, 10.0, 2.0)
    # u = (1, 0, 0) plus dw = 0.5 into u_1: flow u_1 -> u_2 = 0.1 * 1.5 = 0.15;
    # u_1 = 1.5 - 0.15 / 1 = 1.35, u_2 = 0.15 / 2 = 0.075, u_3 = 0
    u = cascade_update(t([[[[1.0, 0.0, 0.0]]]]), t([[[0.5]]]), 1.0, capacities, couplings)
    assert u[0, 0, 0].tolist() == pytest.approx([1.35, 0.075, 0.0])
    # u_3 = 1 flows back to u_2 (0.05 * 1) and leaks (0.025 * 1):
    # u_2 = 0.05 / 2, u_3 = 1 - (0.05 + 0.025) / 4
    u = cascade_update(t([[[[0.0, 0.0, 1.0]]]]), t([[[0.0]]]), 1.0, capacities, couplings)
    assert u[0, 0, 0].tolist() == pytest.approx([0.0, 0.05 / 2, 1 - 0.075 / 4])


def test_cascade_conserves_without_leak_and_forgets_as_a_power_law():
    capacities, couplings = cascade_constants(10, 1.0, 2.0, terminal_leak=False)
    u = cascade_update(torch.zeros(1, 1, 1, 10, dtype=torch.float64), t([[[1.0]]]), 0.5,
                       capacities, couplings)  # fmt: skip
    zero = torch.zeros(1, 1, 1, dtype=torch.float64)
    readings = {}
    for step in range(1, 2001):
        u = cascade_update(u, zero, 0.5, capacities, couplings)
        if step in (20, 200, 2000):
            readings[step * 0.5] = u[0, 0, 0, 0].item()
    assert (u[0, 0, 0] * capacities).sum().item() == pytest.approx(1.0)
    # u_1 ~ t^(-1/2) between tau_1 = 1 s and the slow end (4^9 s), not exponential
    for a, b in ((10.0, 100.0), (100.0, 1000.0)):
        slope = math.log(readings[b] / readings[a]) / math.log(b / a)
        assert -0.6 < slope < -0.4, slope


def test_cascade_transform_returns_the_change_of_u1():
    rule = cascade(1.0, n_variables=3, tau_1=10.0)
    weights = torch.zeros(2, 1, 1, dtype=torch.float64)
    state = rule.init(weights)
    assert state.u.shape == (2, 1, 1, 3)
    proposal = t([[[0.5]], [[0.5]]])
    step = signals(2, 1, 1, active=torch.tensor([True, False]))
    dw, state = rule.update(proposal, state, weights, step)
    # u_1 = 0.5 - 0.1 * 0.5 = 0.45 for the active agent; nothing for the inactive one
    assert dw[:, 0, 0].tolist() == pytest.approx([0.45, 0.0])
    with pytest.raises(ValueError, match=r"dt=20\.0 is invalid"):
        cascade(20.0, n_variables=3, tau_1=10.0)
