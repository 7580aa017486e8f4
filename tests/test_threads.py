"""Torch threads chosen automatically for small populations, unless the user chose."""

import os

import pandas as pd
import pytest
import torch

from plasticgym import threads
from plasticgym.agents import PlasticAgent, QLearningAgent
from plasticgym.threads import (
    SMALL_POPULATION,
    auto_threads,
    explicit_threads,
    learning_threads,
    user_chose_threads,
)


@pytest.fixture
def nobody_chose(monkeypatch):
    """Torch at 2 threads, as if that were its default: the automatic choice applies."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    monkeypatch.setattr(threads, "_STARTUP_THREADS", 2)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", threads.ENV_SWITCH, threads._EXPLICIT_MARK):
        monkeypatch.delenv(name, raising=False)
    yield
    torch.set_num_threads(previous)


def test_auto_threads_is_one_for_small_populations_on_the_cpu():
    assert auto_threads(1) == auto_threads(SMALL_POPULATION - 1) == 1
    assert auto_threads(SMALL_POPULATION) is None
    assert auto_threads(4, "meta") is None  # not a CPU device: left alone


def test_learn_uses_one_thread_for_a_small_population_and_restores(nobody_chose):
    assert not user_chose_threads()
    seen = []
    agent = QLearningAgent("plasticgym/ReversalBandit-v0", n_agents=4, seed=0)
    agent.learn(3, callback=lambda a: seen.append(torch.get_num_threads()))
    assert seen == [1, 1, 1]
    assert torch.get_num_threads() == 2
    with learning_threads(SMALL_POPULATION) as count:
        assert count == 2  # a large population keeps torch's threads


@pytest.mark.parametrize("how", ["set_num_threads", "env_switch", "omp", "explicit"])
def test_an_explicit_choice_is_respected(nobody_chose, monkeypatch, how):
    wanted = 2
    if how == "set_num_threads":
        monkeypatch.setattr(threads, "_STARTUP_THREADS", 3)  # torch's default was another count
    elif how == "env_switch":
        monkeypatch.setenv(threads.ENV_SWITCH, "0")
    elif how == "omp":
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
    seen = []
    agent = QLearningAgent("plasticgym/ReversalBandit-v0", n_agents=4, seed=0)
    if how == "explicit":  # what --threads 2 does, even when 2 is torch's default
        with explicit_threads(wanted):
            agent.learn(2, callback=lambda a: seen.append(torch.get_num_threads()))
        assert threads._EXPLICIT_MARK not in os.environ
    else:
        agent.learn(2, callback=lambda a: seen.append(torch.get_num_threads()))
    assert seen == [wanted, wanted]


def test_explicit_threads_checks_its_value():
    with pytest.raises(ValueError, match="threads=0 is invalid"), explicit_threads(0):
        pass


def _records(count: int) -> pd.DataFrame:
    with explicit_threads(count):
        agent = PlasticAgent("plasticgym/Pavlovian-v0", n_agents=8, seed=3)
        agent.learn(300, record=True)
        weights = agent.get_parameters()
    return agent.records, weights


def test_records_and_weights_are_bit_identical_with_one_or_two_threads():
    records_1, weights_1 = _records(1)
    records_2, weights_2 = _records(2)
    pd.testing.assert_frame_equal(records_1, records_2, check_exact=True)
    assert weights_1.keys() == weights_2.keys()
    for name in weights_1:
        assert torch.equal(weights_1[name], weights_2[name]), name
