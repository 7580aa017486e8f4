"""The rate-based actor post factor (``actor_post="rate"``): golden values, the agent option,
checkpoints, Hebbian runaway without scaling and its arrest with scaling, and the Turrigiano
protocol's multiplicative signature."""

import numpy as np
import pandas as pd
import pytest
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.agents.plastic_actions import POST_FACTORS, hebbian_post
from plasticgym.agents.presets import plastic_preset
from plasticgym.experiments import homeostasis
from plasticgym.plasticity import (
    PlasticitySignals,
    SynapticScaling,
    chain,
    synaptic_scaling,
    three_factor,
    weight_bounds,
)

TONE = "plasticgym/ToneDiscrimination-v0"


def test_hebbian_post_golden():
    chosen = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    probs = torch.tensor([[0.3, 0.7], [0.6, 0.4]])
    rates = torch.tensor([[0.5, 2.0], [0.25, 3.0]])
    torch.testing.assert_close(hebbian_post("chosen", chosen, probs, rates), chosen)
    torch.testing.assert_close(
        hebbian_post("centered", chosen, probs, rates), torch.tensor([[-0.3, 0.3], [0.4, -0.4]])
    )
    # f_i = [a = i] r_i: the chosen neuron's rate, the others silent
    torch.testing.assert_close(
        hebbian_post("rate", chosen, probs, rates), torch.tensor([[0.0, 2.0], [0.25, 0.0]])
    )
    assert POST_FACTORS == ("chosen", "centered", "rate")
    with pytest.raises(ValueError, match="actor_post='spike' is invalid"):
        hebbian_post("spike", chosen, probs, rates)


def test_agent_rate_post_is_the_chosen_neurons_rate():
    agent = PlasticAgent(TONE, n_agents=4, seed=0, actor_post="rate").learn(50)
    rollout = agent._rollout
    torch.testing.assert_close(rollout.post, rollout.chosen * rollout.rates)
    assert bool((rollout.post.sum(dim=1) > 0).all())  # rates of the chosen neurons are > 0
    assert agent.config.to_flat()["actor_post"] == "rate"


def test_rate_post_changes_learning_and_chosen_stays_the_default():
    kwargs = {"n_agents": 4, "seed": 3}
    default = PlasticAgent(TONE, **kwargs).learn(300)
    chosen = PlasticAgent(TONE, actor_post="chosen", **kwargs).learn(300)
    rate = PlasticAgent(TONE, actor_post="rate", **kwargs).learn(300)
    assert default.config.actor_post == "chosen"
    assert torch.equal(default.actor_weights, chosen.actor_weights)
    assert not torch.equal(rate.actor_weights, chosen.actor_weights)


def test_rate_post_validation():
    with pytest.raises(ValueError, match="actor_post='rates' is invalid"):
        PlasticAgent(TONE, n_agents=2, actor_post="rates")
    with pytest.raises(ValueError, match="actor_post='rate' needs a Discrete action space"):
        PlasticAgent("plasticgym/Reaching-v0", n_agents=2, actor_post="rate")


def test_rate_post_save_load_continue_equals_uninterrupted(tmp_path):
    kwargs = {"n_agents": 3, "seed": 5, "actor_post": "rate"}
    reference = PlasticAgent(TONE, **kwargs).learn(150)
    interrupted = PlasticAgent(TONE, **kwargs).learn(70)
    path = interrupted.save(tmp_path / "agent")
    restored = PlasticAgent.load(path)
    assert restored.config.actor_post == "rate"
    restored.learn(80)
    assert torch.equal(restored.actor_weights, reference.actor_weights)
    assert torch.equal(restored.critic_weights, reference.critic_weights)


def _neuron(post: str, scaling: SynapticScaling | None, steps: int = 400) -> np.ndarray:
    """One neuron, constant input ``x``, constant dopamine ``+0.1``: the three-factor rule with
    the post factor ``r = w . x`` (rate) or 1 (chosen), optionally scaled; its rate per step."""
    x = torch.tensor([[1.0, 0.5, 0.25]])
    weights = torch.full((1, 1, 3), 0.1)
    transforms = [three_factor(0.01, 0.0)]
    if scaling is not None:
        transforms.append(synaptic_scaling(scaling.target_rate, scaling.rate_time_constant,
                                           scaling.scaling_rate))  # fmt: skip
    rule = chain(*transforms, weight_bounds(0.0, 100.0))
    state, active, rates = rule.init(weights), torch.ones(1, dtype=torch.bool), []
    for _ in range(steps):
        rate = torch.relu(torch.einsum("bpi,bi->bp", weights, x))
        factor = rate if post == "rate" else torch.ones_like(rate)
        signals = PlasticitySignals(x, factor, torch.full((1,), 0.1), rate, active)
        dw, state = rule.update(torch.zeros_like(weights), state, weights, signals)
        weights = weights + dw
        rates.append(float(rate))
    return np.array(rates)


def test_rate_post_grows_exponentially_chosen_linearly():
    rate, chosen = _neuron("rate", None), _neuron("chosen", None)
    # rate post: dr = lr DA |x|^2 r, a constant growth factor per step (positive feedback)
    growth = rate[1:] / rate[:-1]
    np.testing.assert_allclose(growth, 1 + 0.01 * 0.1 * 1.3125, rtol=1e-4)
    # chosen post: dr = lr DA |x|^2, constant increments (no feedback)
    np.testing.assert_allclose(np.diff(chosen), 0.01 * 0.1 * 1.3125, rtol=1e-3)
    increments = np.diff(rate)
    assert increments[-1] > 1.5 * increments[0]  # accelerating, where chosen's stay constant


def test_scaling_holds_the_rate_post_runaway_on_a_small_case():
    # growth 0.0013 per step; a scaling of 0.01 per step holds the rate at
    # target (1 + 0.0013 / 0.01) ~ 1.13 target; without it the rate grows ~e^(0.0013 t)
    fast = SynapticScaling(target_rate=0.2, rate_time_constant=20.0, scaling_rate=0.01)
    held = _neuron("rate", fast, steps=3000)
    free = _neuron("rate", None, steps=3000)
    assert free[-1] > 20 * 0.2
    assert abs(held[-500:].mean() / 0.2 - 1.13) < 0.05


@pytest.fixture(scope="module")
def small_culture():
    """A few rate-post agents with the default scaling trained briefly, then the three
    cultures of the experiment's part 4."""
    config = homeostasis.Config.quick(learning_steps=400, culture_inputs=100, culture_steps=4000)
    kwargs = {**plastic_preset(TONE), "actor_lr": 0.05}
    agent = PlasticAgent(TONE, n_agents=4, seed=1, actor_post="rate", **kwargs)
    inputs = []
    agent.learn(400, callback=lambda a: inputs.append(a.actor_input) if a.num_timesteps > 300
                else None)  # fmt: skip
    out = homeostasis.run_culture(config, agent, torch.stack(inputs))
    return config, out


def test_turrigiano_cultures_scale_multiplicatively_up_with_ttx_down_with_bicuculline(
    small_culture,
):
    config, out = small_culture
    factors = homeostasis.culture_factors(out["culture_weights"])
    assert (factors["slope"] - 1).abs().max() < 1e-3  # log w_T = log w_C + log factor
    assert factors["spearman"].min() > 0.999  # rank order kept
    ttx = factors[factors["treatment"] == "ttx"]["factor"]
    bicuculline = factors[factors["treatment"] == "bicuculline"]["factor"]
    assert (ttx > 1).all() and (bicuculline < 1).all()
    ratios = homeostasis.culture_rate_ratios(out["culture"], config)
    np.testing.assert_allclose(ratios.to_numpy(), 1.0, atol=0.1)  # rates restored


def test_culture_multiplicative_check_fails_for_an_additive_change(small_culture):
    _, out = small_culture
    weights = out["culture_weights"].copy()
    weights["ttx"] = weights["control"] + 0.05
    factors = homeostasis.culture_factors(weights)
    slopes = factors[factors["treatment"] == "ttx"]["slope"]
    assert (slopes - 1).abs().max() > homeostasis.SLOPE_TOLERANCE


def test_learning_time_and_discrimination_from_trials():
    trial = np.arange(300)
    is_target = trial % 3 == 0
    # block 1: go to every tone (hits 1, false alarms 1); then go to the target only
    response = np.where(trial < 100, True, is_target)
    trials = pd.DataFrame({"agent": 0, "post": "rate", "scaling": True, "trial": trial,
                           "is_target": is_target, "response": response})  # fmt: skip
    curves = homeostasis.discrimination_curves(trials, 100)
    np.testing.assert_allclose(curves["discrimination"], [0.0, 1.0, 1.0])
    assert homeostasis.learning_times(curves, 300)[0] == 200.0


def _late_rate_over_target(scaling: bool, steps: int = 3000) -> torch.Tensor:
    """Per agent, the mean actor rate over the last quarter of ``steps`` trials of the tone
    task (rate post, ``actor_lr`` 0.05), over the default target."""
    kwargs = {**plastic_preset(TONE), "actor_lr": 0.05}
    agent = PlasticAgent(TONE, n_agents=6, seed=0, actor_post="rate", synaptic_scaling=scaling,
                         **kwargs)  # fmt: skip
    rates = []
    agent.learn(steps, callback=lambda a: rates.append(a.rates.mean(dim=1)))
    return torch.stack(rates[-steps // 4 :]).mean(dim=0) / SynapticScaling().target_rate


def test_agent_rate_post_runs_away_without_scaling_and_is_held_with_the_default():
    """Without scaling the mean rate climbs far above the default target; the default scaling
    keeps it well below that (measured: 5.5 and 2.2 times the target, means of 6 agents)."""
    free, held = _late_rate_over_target(False), _late_rate_over_target(True)
    assert float(free.mean()) > 3.0
    assert float(held.mean()) < 0.7 * float(free.mean())
    assert float(held.max()) < 3.0


def test_feedback_index_golden():
    config = homeostasis.Config.quick(learning_steps=800)  # fork at 200, sisters learn 200
    at, steps = config.fork_steps()
    assert (at, steps) == (200, 200)
    learning = pd.DataFrame({
        "agent": [0, 0, 1, 1], "post": "rate", "scaling": False, "step": [at, at + steps] * 2,
        "mean_weight": [0.5, 0.6, 1.0, 1.1],
    })  # fmt: skip
    fork = pd.DataFrame({"agent": [0, 1], "post": "rate", "weight_at_fork": [0.5, 1.0],
                         "sister_growth": [0.2, 0.1]})  # fmt: skip
    # (growth of the sister - growth of the population) / w_fork
    index = homeostasis.feedback_indices(learning, fork, config)["rate"]
    np.testing.assert_allclose(index, [(0.2 - 0.1) / 0.5, (0.1 - 0.1) / 1.0], atol=1e-12)
