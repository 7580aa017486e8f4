"""PlasticAgent learns every task of the suite well above chance (issue 4, "must show").

Each test trains a batched population with the task's preset (``plasticgym.agents.presets``) and
judges the task's signature per agent, with a margin over the standard error across agents, so
a lucky seed cannot pass it.
"""

import math

import pandas as pd
import pytest

from plasticgym.agents import PlasticAgent
from plasticgym.agents.presets import PLASTIC_PRESETS, plastic_preset
from plasticgym.docs import task_ids


def _train(env_id: str, n_agents: int, steps: int, seed: int, **env_kwargs) -> pd.DataFrame:
    agent = PlasticAgent(env_id, n_agents=n_agents, seed=seed, env_kwargs=env_kwargs,
                         **plastic_preset(env_id))  # fmt: skip
    return agent.learn(steps, record=True).records


def _se(values: pd.Series) -> float:
    return float(values.std() / math.sqrt(len(values)))


def test_every_registered_task_has_a_preset():
    assert set(task_ids()) <= set(PLASTIC_PRESETS)  # (plus Gymnasium's CartPole-v1)
    with pytest.raises(ValueError, match="no PlasticAgent preset for 'Pendulum-v1'"):
        plastic_preset("Pendulum-v1")


def test_reversal_bandit_tracks_reversals():
    steps = 320  # 8 blocks of 40 trials, p_high 0.8 / p_low 0.2
    records = _train("plasticgym/ReversalBandit-v0", 32, steps, seed=3)
    late = records[records["step"] >= steps // 2].groupby("agent")["reward"].mean()
    assert late.mean() > 0.5 + max(0.1, 4 * _se(late)), late.mean()  # chance: 0.5
    position, after = records["trial"] % 40, records["trial"] >= 40
    early = records[after & (position < 5)].groupby("agent")["correct"].mean()
    settled = records[after & (position >= 30)].groupby("agent")["correct"].mean()
    gap = settled - early  # perseveres right after a reversal, has switched by the block's end
    assert settled.mean() > 0.8 and gap.mean() > max(0.4, 4 * _se(gap)), (settled, early)


def test_two_step_reward_main_effect_on_staying():
    from test_agent_tabular import stay_probabilities

    records = _train("plasticgym/TwoStep-v0", 64, 800, seed=11)
    table = stay_probabilities(records)
    assert table["reward"].mean() > max(0.1, 5 * _se(table["reward"])), table.mean()
    # a model-free learner: the reward effect does not depend on the transition
    assert abs(table["interaction"].mean()) < 0.5 * table["reward"].mean(), table.mean()


def test_habit_formation_acquires_lever_pressing():
    records = _train("plasticgym/HabitFormation-v0", 32, 900, seed=5, training_reinforcers=150)
    training = records[(records["phase"] == "training") & (records["episode"] == 0)]
    pressing = training.groupby("agent")["action"].apply(lambda a: (a.iloc[-100:] != 0).mean())
    chance = 2 / 3  # two levers and "do nothing", uniformly
    assert pressing.mean() > chance + max(0.15, 4 * _se(pressing)), pressing.mean()


def test_addiction_acquires_self_administration():
    acquisition = [{"name": "acquisition", "sessions": 10}]
    records = _train("plasticgym/Addiction-v0", 32, 300, seed=5, protocol=acquisition)
    per_session = records.groupby(["agent", "trial"])["infusion"].sum().unstack()
    first, last = per_session[0], per_session.iloc[:, -3:].mean(axis=1)
    gain = last - first
    assert gain.mean() > max(2.0, 4 * _se(gain)), (first.mean(), last.mean())
    assert last.mean() > 8.0  # of at most 10 per 30-step session (FR1, timeout 2)


def test_skill_learning_faster_and_more_accurate_in_sequence_blocks():
    protocol = [
        {"name": "training", "blocks": 6},
        {"name": "random", "blocks": 1, "block_type": "random"},
    ]
    records = _train("plasticgym/SkillLearning-v0", 32, 900, seed=5, block_trials=100,
                     history=3, protocol=protocol)  # fmt: skip
    ends = records[(records["latency"] > 0) & (records["episode"] == 0)]
    sequence = ends[(ends["phase"] == "training") & (ends["block"] == 5)].groupby("agent")
    random = ends[ends["phase"] == "random"].groupby("agent")
    accuracy = sequence["correct"].mean() - random["correct"].mean()
    latency = random["latency"].mean() - sequence["latency"].mean()
    assert accuracy.mean() > max(0.1, 4 * _se(accuracy)), accuracy.mean()
    assert latency.mean() > 4 * _se(latency), latency.mean()


def test_reaching_error_falls_and_recovers_after_the_perturbation():
    protocol = [
        {"name": "baseline", "trials": 100},
        {"name": "perturbation", "trials": 150, "rotation": 90.0, "rotated_fraction": 0.5},
    ]
    records = _train("plasticgym/Reaching-v0", 12, 4000, seed=3, n_targets=4, n_units=16,
                     protocol=protocol)  # fmt: skip
    records = records[records["episode"] == 0]

    def error(phase: str, first: bool, n: int) -> pd.Series:
        """Per agent: mean angular error over its first or last ``n`` trials of ``phase``."""
        rows = records[records["phase"] == phase]
        by_trial = rows.groupby(["agent", "trial"])["angular_error"].mean()
        pick = (lambda e: e.iloc[:n]) if first else (lambda e: e.iloc[-n:])
        return by_trial.groupby(level="agent").apply(lambda e: pick(e).mean())

    baseline_end = error("baseline", first=False, n=20)
    perturbed_start = error("perturbation", first=True, n=10)
    perturbed_end = error("perturbation", first=False, n=20)
    effects = {
        "learned": error("baseline", first=True, n=20) - baseline_end,
        "hit by the rotation": perturbed_start - baseline_end,
        "recovered": perturbed_start - perturbed_end,
    }
    for name, effect in effects.items():
        assert effect.mean() > max(10.0, 4 * _se(effect)), (name, effect.mean())  # degrees
    assert perturbed_end.mean() < 25.0, perturbed_end  # back near the baseline's ~10-15 deg


def test_tone_discrimination_goes_to_the_target_only():
    records = _train("plasticgym/ToneDiscrimination-v0", 16, 1000, seed=3)
    late = records[records["step"] >= 500]
    target = late["is_target"].astype(bool)
    go = late["action"] == 1
    hits = (go & target).groupby(late["agent"]).sum() / target.groupby(late["agent"]).sum()
    alarms = (go & ~target).groupby(late["agent"]).sum() / (~target).groupby(late["agent"]).sum()
    discrimination = hits - alarms  # chance 0 (going or withholding regardless of the tone)
    assert discrimination.mean() > max(0.5, 4 * _se(discrimination)), discrimination
