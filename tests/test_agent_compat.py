"""Checkpoints written before PlasticAgent was composed of parts still load and continue
exactly: ``tests/data`` holds two agents saved by plasticgym 0.1.0 (flat config, a state
tensor for every pathway whether on or off) and the records that version wrote when it
continued them for 40 steps."""

from pathlib import Path

import pandas as pd
import pytest

from plasticgym.agents import PlasticAgent
from plasticgym.dopamine import Redish
from plasticgym.habits import GoalDirected, Habit
from plasticgym.latent_causes import CauseInference

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["addiction_redish_habit_causes", "habit_goal_homeostatic"])
def test_a_checkpoint_of_the_flat_version_loads_and_continues_as_it_did(name):
    agent = PlasticAgent.load(DATA / f"{name}.safetensors")
    agent.learn(40, record=True)
    expected = pd.read_parquet(DATA / f"{name}.continued.parquet")
    pd.testing.assert_frame_equal(agent.records[expected.columns], expected)


def test_the_flat_keywords_of_a_checkpoint_become_parts():
    redish_agent = PlasticAgent.load(DATA / "addiction_redish_habit_causes.safetensors")
    config = redish_agent.config
    assert config.dopamine == Redish(surge=(0.2, 0.4))
    assert config.habit == Habit(learning_rate=0.01)
    assert config.latent_causes == CauseInference(split_threshold=0.05, channels=(0, 7, 8))
    assert config.goal_directed is None and config.scaling is not None
    goal = PlasticAgent.load(DATA / "habit_goal_homeostatic.safetensors").config
    assert goal.scaling is None and goal.goal_directed == GoalDirected()


def test_a_tagged_synapse_saved_before_sampled_tags_keeps_its_expected_value_tags():
    """``bandit_tagged_v0_2`` was saved by dee4a6e (``synapse="tagged"``, whose tags were then
    expected values) with no random stream in its tag state: it loads as ``sampled=False`` and
    continues exactly as that version did."""
    agent = PlasticAgent.load(DATA / "bandit_tagged_v0_2.safetensors")
    assert agent.config.synapse.sampled is False
    agent.learn(40, record=True)
    expected = pd.read_parquet(DATA / "bandit_tagged_v0_2.continued.parquet")
    pd.testing.assert_frame_equal(agent.records[expected.columns], expected)
