"""Complementary learning systems (plasticgym.systems): golden values of the fast rule, the
replay rule and the store; the part inside PlasticAgent (off by default, lesion, rest with
replay, checkpoints, errors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.systems import (
    ComplementaryLearning,
    fast_update,
    reinstated_pattern,
    replay_update,
    sample_situations,
    store_situation,
)

BANDIT = "plasticgym/ReversalBandit-v0"
SURE = {"reversal_rule": "none", "p_high": 1.0, "p_low": 0.0, "initial_arm": 0}


def test_fast_update_golden_values():
    w = torch.tensor([[[0.5, 1.0], [0.2, 0.0]]])
    e = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])
    pre, post = torch.tensor([[1.0, 0.5]]), torch.tensor([[1.0, 0.0]])
    w_t, e_t = fast_update(w, e, pre, post, torch.tensor([2.0]), learning_rate=0.1,
                           trace_decay=0.5, decay=0.1, w_max=1.0)  # fmt: skip
    # e = 0.5 e + post (x) pre = [[1.5, 0.5], [0, 1]]; w = 0.9 w + 0.2 e, clipped to [0, 1]
    torch.testing.assert_close(e_t, torch.tensor([[[1.5, 0.5], [0.0, 1.0]]]))
    torch.testing.assert_close(w_t, torch.tensor([[[0.75, 1.0], [0.18, 0.2]]]))


def test_replay_update_learns_the_fast_preference_and_nothing_from_an_equal_drive():
    w_fast = torch.tensor([[[1.0, 0.0], [0.2, 0.0]]])
    pre = torch.tensor([[1.0, 0.0]])
    torch.testing.assert_close(reinstated_pattern(w_fast, pre), torch.tensor([[0.4, -0.4]]))
    w_slow = torch.full((1, 2, 2), 0.5)
    updated = replay_update(w_slow, w_fast, pre, rate=0.5, w_max=1.0)
    torch.testing.assert_close(updated, torch.tensor([[[0.7, 0.5], [0.3, 0.5]]]))
    equal = torch.ones(1, 2, 2)
    torch.testing.assert_close(replay_update(w_slow, equal, pre, 0.5, 1.0), w_slow)


def test_the_store_keeps_the_most_recent_situations_and_samples_only_those():
    memory = torch.zeros(2, 3, 1)
    written = torch.zeros(2, dtype=torch.long)
    for step in range(5):
        active = torch.tensor([True, step < 1])
        memory = store_situation(memory, written, torch.full((2, 1), float(step + 1)), active)
        written = written + active.long()
    assert memory[0, :, 0].tolist() == [4.0, 5.0, 3.0]  # ring buffer: 4 and 5 overwrote 1, 2
    assert memory[1, :, 0].tolist() == [1.0, 0.0, 0.0]
    generator = torch.Generator().manual_seed(0)
    draws = [sample_situations(memory, written, generator)[0] for _ in range(50)]
    assert {float(d[0, 0]) for d in draws} == {3.0, 4.0, 5.0}
    assert {float(d[1, 0]) for d in draws} == {1.0}
    _, held = sample_situations(memory, torch.tensor([3, 0]), generator)
    assert held.tolist() == [True, False]


def _agent(**kwargs):
    return PlasticAgent(BANDIT, n_agents=4, seed=3, env_kwargs=SURE, scaling=None, gamma=0.0,
                        **kwargs)  # fmt: skip


def test_off_by_default_and_absent_from_the_flat_config():
    agent = _agent()
    assert agent.config.systems is None and agent.fast_store is None
    assert "systems" not in agent.config.to_flat()
    assert not agent.fast_learner_lesioned.any()
    with pytest.raises(ValueError, match="lesion_fast_learner needs systems"):
        agent.lesion_fast_learner()


def test_the_fast_learner_learns_faster_and_the_part_round_trips_as_flat_keywords():
    part = ComplementaryLearning(fast_lr=(0.2, 0.3, 0.2, 0.3), replay_rate=0.01)
    agent = _agent(systems=part, actor_lr=0.005)
    agent.learn(20)
    fast = agent.fast_store.weights[:, 0].sum(-1)
    slow = agent.actor.weights[:, 0].sum(-1)
    assert bool((fast > slow).all())
    flat = agent.config.to_flat()
    assert flat["systems"] is True and flat["cls_fast_lr"] == [0.2, 0.3, 0.2, 0.3]
    again = PlasticAgent(BANDIT, n_agents=4, seed=3, env_kwargs=SURE, **flat)
    assert again.config == agent.config


def test_rest_replays_into_the_actor_and_not_without_replay_rate():
    consolidating = _agent(systems=ComplementaryLearning(replay_rate=0.05), actor_lr=0.005)
    control = _agent(systems=ComplementaryLearning(replay_rate=0.0), actor_lr=0.005)
    plain = _agent(actor_lr=0.005)
    preference = {}
    for name, agent in (("replay", consolidating), ("control", control), ("plain", plain)):
        agent.learn(20)
        before = agent.actor.weights.clone()
        agent.rest(200)
        preference[name] = (agent.actor.weights - before)[:, 0].sum(-1)
        if name == "control":
            fast_before = agent.fast_store.weights
    assert bool((preference["replay"] > 0.01).all())
    torch.testing.assert_close(preference["control"], preference["plain"])
    assert float(control.fast_store.weights.sum()) < float(fast_before.sum()) * 1.0001


def test_a_lesion_clears_the_fast_learner_for_good_and_only_where_asked():
    agent = _agent(systems=ComplementaryLearning(), actor_lr=0.005)
    agent.learn(20)
    which = torch.tensor([True, False, True, False])
    agent.lesion_fast_learner(which)
    assert agent.fast_learner_lesioned.tolist() == which.tolist()
    agent.learn(20)
    agent.rest(10)
    weights, written = agent.fast_store.weights, agent.fast_store.written
    assert float(weights[which].abs().sum()) == 0.0 and written[which].tolist() == [0, 0]
    assert bool((weights[~which].sum((1, 2)) > 0).all())


def test_same_seed_same_result_and_a_checkpoint_continues_the_rest_exactly(tmp_path):
    def trained():
        agent = _agent(systems=ComplementaryLearning(replay_rate=0.05, replays=2),
                       actor_lr=0.005)  # fmt: skip
        agent.learn(15)
        agent.rest(10)
        return agent

    first, second = trained(), trained()
    torch.testing.assert_close(first.actor.weights, second.actor.weights, rtol=0, atol=0)
    first.lesion_fast_learner(torch.tensor([False, True, False, False]))
    path = first.save(tmp_path / "cls.safetensors")
    loaded = PlasticAgent.load(path)
    for agent in (first, loaded):
        agent.rest(10)
        agent.learn(5)
    torch.testing.assert_close(first.actor.weights, loaded.actor.weights, rtol=0, atol=0)
    torch.testing.assert_close(first.fast_store.memory, loaded.fast_store.memory, rtol=0, atol=0)
    assert loaded.fast_learner_lesioned.tolist() == [False, True, False, False]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"systems": ComplementaryLearning(), "env": "plasticgym/Reaching-v0"}, "Discrete"),
        ({"systems": ComplementaryLearning(), "latent_causes": 2}, "needs systems=None"),
        ({"systems": True, "cls_fast_decay": 1.5}, "fast_decay"),
        ({"systems": True, "cls_replays": -1}, "cls_replays"),
        ({"systems": True, "cls_capacity": 0}, "cls_capacity"),
        ({"cls_fast_lr": -1.0}, "fast_lr"),
    ],
)
def test_bad_values_are_clear_errors(kwargs, message):
    env = kwargs.pop("env", BANDIT)
    with pytest.raises(ValueError, match=message):
        PlasticAgent(env, n_agents=2, seed=0, **kwargs)


def test_the_fast_pathway_adds_to_the_policy_drive():
    agent = _agent(systems=ComplementaryLearning(fast_lr=0.5), actor_lr=0.0)
    agent.learn(30)
    obs = np.ones((4, 1), dtype=np.float32)
    start = np.ones(4, dtype=bool)
    intact = np.mean([agent.predict(obs, episode_start=start)[0] == 0 for _ in range(40)])
    agent.lesion_fast_learner()
    lesioned = np.mean([agent.predict(obs, episode_start=start)[0] == 0 for _ in range(40)])
    assert intact > 0.9 and lesioned < 0.8
