"""The agent registry behind the command line and sweeps."""

import sys

import pytest

from plasticgym.agents import (
    AGENTS,
    PlasticAgent,
    QLearningAgent,
    agent_class,
    check_agent_kwargs,
    make_agent,
)
from plasticgym.extras import MissingExtraError
from plasticgym.sweep import run_sweep

ENV = "plasticgym/ReversalBandit-v0"


def test_every_name_builds_its_agent():
    for name, entry in AGENTS.items():
        if entry.extra == "sb3":
            pytest.importorskip("stable_baselines3")
        agent = make_agent(name, ENV, n_agents=1, seed=0)
        assert type(agent) is agent_class(name)
        assert getattr(agent, "algo", None) == entry.fixed.get("algo")
        assert entry.description and "\n" not in entry.description
        agent.close()
    assert agent_class("plastic") is PlasticAgent and agent_class("q_learning") is QLearningAgent


def test_hyperparameters_reach_the_agent_and_are_checked():
    agent = make_agent("q_learning", ENV, n_agents=2, seed=0, learning_rate=0.05)
    assert agent.config.learning_rate == 0.05
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) \['lr'\] for Q"):
        check_agent_kwargs("q_learning", {"lr": 0.1})
    with pytest.raises(ValueError, match="actor_lr=-1 is invalid"):
        check_agent_kwargs("plastic", {"actor_lr": -1})
    check_agent_kwargs("plastic", {"actor_lr": 0.1, "homeostasis": False})


def test_unknown_names_and_fixed_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="unknown agent 'sarsa'; known agents: plastic, q_le"):
        make_agent("sarsa", ENV)
    with pytest.raises(ValueError, match=r"agent 'ppo' fixes \{'algo': 'PPO'\}"):
        make_agent("ppo", ENV, algo="A2C")


def test_missing_extras_say_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # as if it were not installed
    with pytest.raises(
        MissingExtraError, match=r"agent 'dqn' needs .*pip install 'plasticgym\[sb3\]'"
    ):
        make_agent("dqn", ENV)
    make_agent("q_learning", ENV).close()  # the other agents do not need it
    monkeypatch.setitem(sys.modules, "ray", None)
    config = {"env": ENV, "agent": "q_learning", "params": {"steps": 5}}
    with pytest.raises(MissingExtraError, match=r"pip install 'plasticgym\[ray\]'"):
        run_sweep(config, tmp_path / "out", backend="ray")
