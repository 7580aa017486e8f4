"""The skill experiment's memory variant (SkillLearning-v0 with ``history=0``): its populations'
agents, the premise of its control (no memory at all) and its verdicts on synthetic records
(each can pass and fail). The experiment's quick run is checked in test_experiments.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import plasticgym.envs  # noqa: F401  (registers the tasks)
from plasticgym.encoding import MicrostimulusEncoder
from plasticgym.envs.skill import SkillLearningVectorEnv
from plasticgym.experiments import skill

CONFIG = skill.Config.quick(n_agents=6, seed=4)


def test_populations_differ_only_in_their_memory():
    memory = skill.memory_hyperparameters(CONFIG, "srt_memory")
    memoryless = skill.memory_hyperparameters(CONFIG, "srt_memoryless")
    assert memory.pop("reward_resets_traces") is False
    assert memory.pop("stimulus_trace_decay") == CONFIG.memory_trace_decay
    assert memoryless.pop("reward_resets_traces") is True
    assert memory == memoryless
    low, high = CONFIG.actor_lr_range
    lr = np.array(memory["actor_lr"])
    assert lr.shape == (6,) and ((lr >= low) & (lr <= high)).all() and np.ptp(lr) > 0
    assert np.ptp(memory["trace_lambda"]) > 0  # a heterogeneous population
    assert skill.individual_differences(CONFIG) == skill.individual_differences(CONFIG)
    assert skill.individual_differences(CONFIG) != skill.individual_differences(
        skill.Config.quick(n_agents=6, seed=5)
    )
    assert CONFIG.memory_env_kwargs()["history"] == 0
    assert {k: v for k, v in CONFIG.memory_env_kwargs().items() if k != "history"} == {
        k: v for k, v in CONFIG.srt_env_kwargs().items() if k != "history"
    }


def test_memoryless_code_is_the_current_observation_alone():
    """The control's premise: every step of the session brings a nonzero reward, so traces
    that a reward resets hold only the current observation; with the memory population's
    traces the same observations leave a code of the earlier ones."""
    env = SkillLearningVectorEnv(num_envs=8, **CONFIG.memory_env_kwargs())
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    reset = MicrostimulusEncoder(4, 10, 0.1, 0.9, reward_resets_traces=True)
    kept = MicrostimulusEncoder(4, 10, 0.1, CONFIG.memory_trace_decay, reward_resets_traces=False)
    states = [reset.init(8, torch.device("cpu")), kept.init(8, torch.device("cpu"))]
    start = torch.zeros(8, dtype=torch.bool)
    differs = False
    for _ in range(60):
        obs, reward, *_ = env.step(rng.integers(0, 5, size=8))
        assert (reward != 0).all()
        channels, r = torch.as_tensor(obs), torch.as_tensor(reward)
        fresh, _ = reset.encode(reset.init(8, torch.device("cpu")), channels, r, ~start)
        features, states[0] = reset.encode(states[0], channels, r, start)
        torch.testing.assert_close(features, fresh, rtol=0, atol=0)
        memory, states[1] = kept.encode(states[1], channels, r, start)
        differs |= not torch.equal(memory, fresh)
    assert differs


def _records(gain: dict[str, float], n_agents: int = 12, seed: int = 0) -> pd.DataFrame:
    """Trial-end rows of a session (1 familiarisation, 2 training, random, recovery block of
    40 trials) whose accuracy in the sequence blocks exceeds the random block's by ``gain
    ["accuracy"]`` and whose latency is shorter by ``gain["latency"]`` (agent-level noise)."""
    rng = np.random.default_rng(seed)
    phases = ["familiarisation", "training", "training", "random", "recovery"]
    rows = []
    for agent in range(n_agents):
        shift = rng.normal(0.0, 0.02)
        for block, phase in enumerate(phases):
            sequence = phase in ("training", "recovery")
            p = 0.4 + shift + (gain["accuracy"] if sequence else 0.0)
            latency = 3.0 - (gain["latency"] if sequence else 0.0)
            correct = rng.random(40) < p
            rows.append(pd.DataFrame({"agent": agent, "block": block, "phase": phase,
                                      "correct": correct, "latency": latency}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def _verdicts(lookup: float, memory: float, memoryless: float) -> dict[str, bool]:
    accuracy, _, key, _ = skill.block_tables(_records({"accuracy": lookup, "latency": 1.0}))
    records = {
        "srt_memory": _records({"accuracy": memory, "latency": memory * 5}, seed=1),
        "srt_memoryless": _records({"accuracy": memoryless, "latency": 0.0}, seed=2),
    }
    verdicts, lines, rows, tables = skill.memory_analysis(records, (accuracy, key))
    assert set(verdicts) == set(lines) and set(tables) == {"srt", *skill.MEMORY_VARIANTS}
    assert all(line for line in lines.values()) and rows
    assert {skill.KIND[name] for name in verdicts} == {"finding"}
    return verdicts


def test_memory_verdicts_pass_and_fail_with_the_records():
    assert _verdicts(lookup=0.3, memory=0.2, memoryless=0.0) == {
        "memory_sequence_more_accurate": True,
        "memory_sequence_faster": True,
        "no_sequence_benefit_without_memory": True,
    }
    failing = _verdicts(lookup=0.3, memory=0.0, memoryless=0.2)
    assert not failing["memory_sequence_more_accurate"]
    assert not failing["memory_sequence_faster"]
    assert not failing["no_sequence_benefit_without_memory"]  # a benefit without memory


def test_control_needs_a_contrast_larger_than_its_margin():
    """With the previous targets shown but no sequence benefit there, equivalence without
    memory says nothing: the margin would not be smaller than the effect it rules out."""
    assert not _verdicts(lookup=0.0, memory=0.2, memoryless=0.0)[
        "no_sequence_benefit_without_memory"
    ]


def test_around_random_cancels_a_linear_drift():
    frame = pd.DataFrame({1: [0.5], 2: [0.2], 3: [0.3]})
    key = {"last": 1, "random": 2, "recovery": 3}
    assert skill.around_random(frame, key).iloc[0] == pytest.approx(0.2)
    drift = pd.DataFrame({1: [0.1], 2: [0.2], 3: [0.3]})  # practice alone, no sequence
    assert skill.around_random(drift, key).iloc[0] == pytest.approx(0.0)
