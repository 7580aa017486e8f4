"""PlasticAgent as a composition of parts: each part chosen by one argument, the flat keywords
of earlier versions meaning the same parts, and a new dopamine model added in one file (the
worked example of docs/agents.md, run here as written)."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from plasticgym.agents import PlasticAgent, PlasticAgentConfig
from plasticgym.dopamine import DOPAMINE_MODELS, Homeostatic, average_reward, redish, td
from plasticgym.habits import GoalDirected, Habit
from plasticgym.latent_causes import CauseInference
from plasticgym.plasticity import SynapticScaling
from plasticgym.population import Uniform
from plasticgym.synapses import BCMRule, CalciumRule, TaggedSynapse, ThreeFactor

ROOT = Path(__file__).resolve().parents[1]
ADDICTION = "plasticgym/Addiction-v0"
HABITS = "plasticgym/HabitFormation-v0"


def _records(env, steps=120, **kwargs):
    agent = PlasticAgent(env, n_agents=4, seed=1, **kwargs)
    return agent.learn(steps, record=True).records


@pytest.mark.parametrize(
    ("nested", "flat"),
    [
        ({"dopamine": redish(surge=0.4)}, {"dopamine": "redish", "drug_surge": 0.4}),
        ({"dopamine": average_reward(rate=0.05)},
         {"dopamine": "average_reward", "average_reward_rate": 0.05}),
        ({"scaling": None}, {"homeostasis": False}),
        ({"scaling": SynapticScaling(target_rate=0.3)},
         {"synaptic_scaling": True, "target_rate": 0.3}),
        ({"habit": Habit(learning_rate=0.01, contingency_weight=0.5)},
         {"habit": True, "habit_lr": 0.01, "contingency_weight": 0.5}),
        ({"latent_causes": CauseInference(max_causes=3, split_threshold=0.05)},
         {"latent_causes": 3, "cause_split_threshold": 0.05}),
        ({"dopamine": redish(surge=Uniform(0.1, 0.5))},
         {"dopamine": "redish", "drug_surge": Uniform(0.1, 0.5)}),
    ],
)  # fmt: skip
def test_a_part_object_and_its_flat_keywords_are_the_same_agent(nested, flat):
    pd.testing.assert_frame_equal(_records(ADDICTION, **nested), _records(ADDICTION, **flat))


def test_goal_directed_part_and_flat_switch_are_the_same_agent():
    nested = _records(HABITS, goal_directed=GoalDirected(learning_rate=0.1))
    flat = _records(HABITS, goal_directed=True, outcome_lr=0.1)
    pd.testing.assert_frame_equal(nested, flat)


def test_the_config_round_trips_through_its_flat_form():
    config = PlasticAgentConfig.from_kwargs(
        dopamine=Homeostatic(setpoint=(1.0, 2.0), allostatic_gain=0.5), scaling=None,
        habit=Habit(contingency_context=0), latent_causes=CauseInference(channels=(0, 2)),
        gamma=(0.5, 0.9),
    )  # fmt: skip
    again = PlasticAgentConfig.from_kwargs(**config.to_flat())
    assert again == config
    assert config.to_flat()["synaptic_scaling"] is False
    assert config.to_flat()["homeostatic_setpoint"] == [1.0, 2.0]


def test_switching_a_part_off_removes_it_and_nothing_else():
    agent = PlasticAgent(HABITS, scaling=None, habit=None, goal_directed=None)
    assert agent.config.parts() == {"dopamine": td(), "synapse": ThreeFactor()}
    assert len(agent.actor.rule.init(agent.actor.weights)) == 2  # three_factor, bounds


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"habit": Habit(), "habit_lr": 0.1}, "habit_lr=0.1 disagrees with habit="),
        ({"homeostasis": False, "synaptic_scaling": True}, "synaptic_scaling=True disagrees"),
        ({"dopamine": redish(), "drug_surge": 0.1}, "drug_surge=0.1 disagrees with dopamine="),
        ({"dopamine": "dopa"}, r"dopamine='dopa' is invalid.*'redish'"),
        ({"latent_causes": 17}, r"latent_causes=17 is invalid"),
        ({"habit": "yes"}, "habit='yes' is invalid"),
        ({"drug_surge": -1.0}, "drug_surge=-1.0 is invalid"),  # a model not chosen: validated
        ({"scaling": "on"}, "scaling='on' is invalid: must be a SynapticScaling or None"),
        ({"habit_rate": 0.1}, r"unknown hyperparameter\(s\) \['habit_rate'\]"),
    ],
)
def test_invalid_parts_name_what_was_given(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PlasticAgentConfig.from_kwargs(**kwargs)


def test_a_part_checks_its_parameters_when_it_is_made():
    with pytest.raises(ValueError, match=r"Redish.surge: drug_surge=-1.0 is invalid"):
        redish(surge=-1.0)
    with pytest.raises(ValueError, match=r"Habit.learning_rate: habit_lr=2.0 .*\[0.0, 1.0\]"):
        Habit(learning_rate=2.0)
    with pytest.raises(ValueError, match=r"drug_surge\[1\]=-0.5 is invalid"):
        redish(surge=(0.1, -0.5))
    with pytest.raises(ValueError, match=r"drive_exponent_m=5\.0 is invalid"):
        Homeostatic(drive_exponent_m=5.0)


def _worked_example() -> str:
    """The code block of docs/agents.md's "Adding a dopamine model"."""
    text = (ROOT / "docs" / "agents.md").read_text()
    section = text.split("#### Adding a dopamine model", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_documented_new_dopamine_model_works_without_touching_the_agent(tmp_path):
    namespace: dict = {}
    exec(compile(_worked_example(), "docs/agents.md", "exec"), namespace)
    model = namespace["BoundedDips"]
    try:
        records = namespace["agent"].records
        floor = 0.05
        assert (records["rpe"] < -floor).any(), "no dip deep enough to be bounded"
        np.testing.assert_allclose(records["dopamine"], np.maximum(records["rpe"], -floor))
        omissions = {"env_kwargs": {"omission_prob": 0.3}}
        flat = _records("plasticgym/Pavlovian-v0", 300, dopamine="bounded_dips",
                        bounded_dips_floor=floor, **omissions)  # fmt: skip
        mine = _records("plasticgym/Pavlovian-v0", 300, dopamine=model(floor=floor), **omissions)
        pd.testing.assert_frame_equal(mine, flat)
        saved = PlasticAgent("plasticgym/Pavlovian-v0", n_agents=2, seed=0,
                             dopamine=model(floor=(0.1, 0.2))).learn(20)  # fmt: skip
        loaded = PlasticAgent.load(saved.save(tmp_path / "bounded"))
        assert loaded.config.dopamine == model(floor=(0.1, 0.2))
        assert torch.equal(loaded.critic_weights, saved.critic_weights)
    finally:
        DOPAMINE_MODELS.pop("bounded_dips")  # the example registered itself; leave no trace


# ---------------------------------------------------------------------------- synapse=


def test_the_default_synapse_is_the_three_factor_rule_and_calcium_has_flat_keywords():
    assert PlasticAgentConfig().synapse == ThreeFactor()
    nested = _records(ADDICTION, synapse=CalciumRule(theta_p=0.6, c_post=0.1))
    flat = _records(ADDICTION, synapse="calcium", calcium_theta_p=0.6, calcium_c_post=0.1)
    pd.testing.assert_frame_equal(nested, flat)
    with pytest.raises(ValueError, match=r"theta_d.*0\.6.*theta_p.*0\.5"):
        CalciumRule(theta_d=0.6, theta_p=0.5)


@pytest.mark.parametrize(
    "synapse",
    [ThreeFactor(), CalciumRule(), BCMRule(), TaggedSynapse(dt=30.0, dopamine_threshold=0.5),
     TaggedSynapse(dt=30.0, contacts=3, trigger_event="novelty")],
    ids=str,
)  # fmt: skip
def test_no_weight_changes_without_dopamine_whatever_the_synapse(synapse):
    """Every synapse model is dopamine-gated: with both gains 0 (and no tonic dopamine, no
    scaling) 400 steps of pre and post activity leave every synapse as it was; with dopamine
    the same agent's synapses change."""

    def agent(gain: float) -> PlasticAgent:
        return PlasticAgent("plasticgym/ReversalBandit-v0", n_agents=8, seed=2, scaling=None,
                            synapse=synapse, actor_lr=0.5, dopamine_gain_positive=gain,
                            dopamine_gain_negative=gain)  # fmt: skip

    silent, modulated = agent(0.0), agent(1.0)
    before = silent.actor_weights.clone(), silent.critic_weights.clone()
    silent.learn(400)
    modulated.learn(400)
    assert torch.equal(silent.actor_weights, before[0])
    assert torch.equal(silent.critic_weights, before[1])
    assert not torch.equal(modulated.actor_weights, before[0])


@pytest.mark.parametrize("synapse", [CalciumRule(), BCMRule()], ids=str)
def test_calcium_and_bcm_synapses_learn_the_bandit_above_chance(synapse):
    from plasticgym.agents import plastic_preset

    env = "plasticgym/ReversalBandit-v0"
    agent = PlasticAgent(env, n_agents=32, seed=3, synapse=synapse, **plastic_preset(env))
    records = agent.learn(1500, record=True).records
    late = records[records["step"] >= 750].groupby("agent")["reward"].mean()
    se = late.std(ddof=1) / np.sqrt(len(late))
    assert late.mean() > 0.5 + max(0.05, 4 * se), late.mean()  # chance: 0.5


# ---------------------------------------------------------------------------- synapse="tagged"


NOVELTY_PROTOCOL = [
    {"name": "training", "trials": 30, "p_high": 1.0, "p_low": 0.0, "reversal_rule": "none"},
    {"name": "open field", "trials": 20, "novelty": True},
]


def _novelty_agent(trigger_event, gain=1.0):
    synapse = TaggedSynapse(dt=30.0, contacts=3, trigger_event=trigger_event, tag_threshold=1.0)
    return PlasticAgent("plasticgym/ReversalBandit-v0", n_agents=4, seed=1, scaling=None,
                        synapse=synapse, env_kwargs={"protocol": NOVELTY_PROTOCOL},
                        dopamine_gain_positive=gain, dopamine_gain_negative=gain)  # fmt: skip


def _proteins(agent):
    return agent.actor.synapses.state[1].p


def test_a_tagged_synapse_reads_the_envs_novelty_phase_as_a_protein_synthesis_trigger():
    """``TaggedSynapse(trigger_event="novelty")`` reads the env's ``novelty`` event: proteins
    are made in the novelty phase and not before (the tag trigger is off: threshold 1);
    without the trigger event the same agent makes none; without dopamine the novelty phase
    changes no weight (proteins, but no tags to capture them)."""
    reading = _novelty_agent("novelty")
    reading.learn(30, record=True)
    assert bool((_proteins(reading) == 0).all())
    reading.learn(20, record=True)
    assert bool((_proteins(reading) > 0.5).all())
    records = reading.records
    novelty = records.groupby("phase")["novelty"].all().to_dict()
    assert novelty == {"open field": True, "training": False}
    blind = _novelty_agent(None)
    blind.learn(50)
    assert bool((_proteins(blind) == 0).all())
    silent = _novelty_agent("novelty", gain=0.0)
    before = silent.actor_weights.clone()
    silent.learn(50)
    assert torch.equal(silent.actor_weights, before) and bool((_proteins(silent) > 0.5).all())
    assert dict(TaggedSynapse(trigger_event="novelty").EVENTS) == {"novelty": torch.bool}
    assert TaggedSynapse().EVENTS == {} and ThreeFactor().EVENTS == {}


def test_a_synapse_event_the_task_does_not_provide_is_a_clear_error():
    agent = PlasticAgent(ADDICTION, n_agents=2, seed=0, scaling=None,
                         synapse=TaggedSynapse(trigger_event="novelty"))  # fmt: skip
    message = r"synapse='tagged' needs the env's info key 'novelty' \(provided by plasticgym/Rev"
    with pytest.raises(ValueError, match=message):
        agent.learn(1)
    with pytest.raises(ValueError, match="tagged_contacts=2 needs sampled=True"):
        TaggedSynapse(contacts=2, sampled=False)
    with pytest.raises(ValueError, match="tagged_contacts=0 is invalid"):
        TaggedSynapse(contacts=0)


def test_the_tagged_synapse_part_and_its_flat_keywords_are_the_same_agent():
    nested = _records(ADDICTION, synapse=TaggedSynapse(dt=30.0, gamma=0.3, tag_threshold=0.02),
                      scaling=None)  # fmt: skip
    flat = _records(ADDICTION, synapse="tagged", tagged_dt=30.0, tagged_gamma=0.3,
                    tagged_tag_threshold=0.02, synaptic_scaling=False)  # fmt: skip
    pd.testing.assert_frame_equal(nested, flat)
    agent = PlasticAgent(ADDICTION, n_agents=2, synapse="tagged", tagged_early_gain=(0.2, 0.3))
    assert agent.config.synapse == TaggedSynapse(early_gain=(0.2, 0.3))
    assert len(agent.actor.rule.init(agent.actor.weights)) == 4  # rule, tags, scaling, bounds


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dt": 0.0}, r"TaggedSynapse.dt: tagged_dt=0.0 is invalid"),
        ({"dt": 100.0}, r"tagged_dt=100.0 is invalid: .* at most tau_z / 4 = 90 s"),
        ({"kappa": 1.0}, r"TaggedSynapse.kappa: tagged_kappa=1.0 is invalid"),
        ({"tag_threshold": 1.5}, r"tagged_tag_threshold=1.5 is invalid"),
        (
            {"dopamine_threshold": -1.0},
            r"TaggedSynapse.dopamine_threshold: tagged_dopamine_threshold=-1.0 is invalid",
        ),
        ({"early_gain": (0.1, -0.1)}, r"tagged_early_gain\[1\]=-0.1 is invalid"),
        ({"protein_synthesis_blocked": 1}, r"tagged_protein_synthesis_blocked=1 is invalid"),
    ],
)
def test_the_tagged_synapse_checks_its_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TaggedSynapse(**kwargs)


def test_the_blocker_and_rest_act_on_the_tagged_state_and_checkpoints_continue_exactly(tmp_path):
    from plasticgym.agents import plastic_preset

    env = "plasticgym/ReversalBandit-v0"
    kwargs = dict(n_agents=4, seed=5, synapse=TaggedSynapse(dt=30.0, tag_threshold=0.01),
                  **plastic_preset(env))  # fmt: skip
    agent = PlasticAgent(env, **kwargs).learn(60)
    tags = agent.actor.synapses.state[1]
    assert float(tags.high.max()) > 0 and float(tags.p.max()) > 0
    agent.block_protein_synthesis(torch.tensor([True, False, True, False]))
    blocked = agent.actor.synapses.state[1]
    assert blocked.blocked.tolist() == [True, False, True, False]
    assert float(blocked.p[[0, 2]].abs().max()) == 0 and float(blocked.p[[1, 3]].max()) > 0
    loaded = PlasticAgent.load(agent.save(tmp_path / "tagged"))
    for a, b in zip(loaded.actor.synapses.state[1], blocked, strict=True):
        assert torch.equal(a, b)
    agent.learn(40)
    loaded.learn(40)
    assert torch.equal(agent.actor_weights, loaded.actor_weights)
    for a, b in zip(loaded.actor.synapses.state[1], agent.actor.synapses.state[1], strict=True):
        assert torch.equal(a, b)
    before = agent.actor.synapses.state[1].high.sum()
    agent.rest(240)  # two hours: the early phase decays
    assert float(agent.actor.synapses.state[1].high.sum()) < 0.2 * float(before)
    with pytest.raises(ValueError, match="no protein synthesis to block"):
        PlasticAgent(env, n_agents=2).block_protein_synthesis()


def test_sampled_tags_take_one_key_per_agent_from_the_seed_and_the_mean_field_is_kept():
    env = "plasticgym/ReversalBandit-v0"
    kwargs = dict(n_agents=3, synapse=TaggedSynapse(dt=30.0), scaling=None)
    keys = [PlasticAgent(env, seed=s, **kwargs).actor.synapses.state[1].stream[:, 0]
            for s in (0, 0, 1)]  # fmt: skip
    assert torch.equal(keys[0], keys[1]) and not torch.equal(keys[0], keys[2])
    assert keys[0].unique().numel() == 3
    sampled = PlasticAgent(env, seed=0, **kwargs).learn(40).actor.synapses.state[1]
    assert set(sampled.high.unique().tolist()) <= {0.0, 1.0}
    mean_field = PlasticAgent(
        env, seed=0, n_agents=3, scaling=None, synapse=TaggedSynapse(dt=30.0, sampled=False)
    ).learn(40)
    high = mean_field.actor.synapses.state[1].high
    assert float(high.max()) > 0 and not set(high.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="tagged_sampled=1 is invalid"):
        TaggedSynapse(sampled=1)
