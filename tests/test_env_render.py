"""Every plasticgym task renders ``rgb_array`` and ``ansi`` frames (single and vector env)."""

import importlib

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from plasticgym.docs import task_ids
from plasticgym.envs._render import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    GAIN_COLOUR,
    LOSS_COLOUR,
    REWARD_ROWS,
    draw_frame,
    space_activity,
)

IDS = task_ids()


def _kwargs(env_id):
    module = importlib.import_module(gym.registry[env_id].entry_point.split(":")[0])
    return dict(module.TEST_KWARGS)


@pytest.mark.parametrize("env_id", IDS)
def test_every_task_renders_both_modes(env_id):
    for mode in ("rgb_array", "ansi"):
        env = gym.make(env_id, render_mode=mode, **_kwargs(env_id))
        assert env.metadata["render_modes"] == ["rgb_array", "ansi"]
        assert env.metadata["render_fps"] > 0
        env.reset(seed=0)
        env.action_space.seed(0)
        frames = [env.render()]
        for _ in range(20):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            frames.append(env.render())
            if terminated or truncated:
                env.reset()
        for frame in frames:
            if mode == "rgb_array":
                assert frame.shape == (FRAME_HEIGHT, FRAME_WIDTH, 3)
                assert frame.dtype == np.uint8
            else:
                assert isinstance(frame, str) and frame.startswith("trial ")
        if mode == "rgb_array":  # the frames show the changing state, not a constant picture
            assert len({frame.tobytes() for frame in frames}) > 1


@pytest.mark.parametrize("env_id", IDS)
def test_check_env_with_render_checks(env_id):
    """gymnasium's checker, render checks included (it makes the env in every declared mode)."""
    env = gym.make(env_id, render_mode="rgb_array", **_kwargs(env_id))
    check_env(env.unwrapped)


@pytest.mark.parametrize("env_id", IDS)
def test_vector_env_renders_one_frame_per_env(env_id):
    kwargs = _kwargs(env_id)
    native = gym.make_vec(
        env_id, num_envs=3, vectorization_mode="vector_entry_point", render_mode="ansi", **kwargs
    )
    single = gym.make(env_id, render_mode="ansi", **kwargs).unwrapped
    assert native.render() == ("(not reset)",) * 3
    native.reset(seed=[5, 6, 7])
    single.reset(seed=6)
    actions = gym.vector.utils.batch_space(native.single_action_space, 3)
    actions.seed(1)
    for _ in range(30):
        action = actions.sample()
        native.step(action)
        _, _, terminated, truncated, _ = single.step(action[1])
        assert native.render()[1] == single.render()
        if terminated or truncated:
            break


def test_render_mode_none_renders_nothing_and_bad_mode_is_named():
    env = gym.make("plasticgym/ReversalBandit-v0")
    env.reset(seed=0)
    assert env.render() is None
    with pytest.raises(ValueError, match=r"render_mode must be None or one of.*'rgb'"):
        gym.make("plasticgym/ReversalBandit-v0", render_mode="rgb")


def test_frame_shows_reward_sign_and_chosen_lever():
    space = gym.spaces.Discrete(3)
    assert space_activity(2, space).tolist() == [0.0, 0.0, 1.0]
    assert space_activity(None, space).tolist() == [0.0, 0.0, 0.0]
    box = gym.spaces.Box(-1.0, 1.0, shape=(2,))
    np.testing.assert_allclose(space_activity([0.0, 1.0], box), [0.5, 1.0])
    row = (REWARD_ROWS[0] + REWARD_ROWS[1]) // 2
    gain = draw_frame(np.ones(1), space_activity(1, space), 1.0, 0, 1)
    loss = draw_frame(np.ones(1), space_activity(1, space), -1.0, 0, 1)
    assert (gain[row] == GAIN_COLOUR.astype(np.uint8)).all(axis=1).sum() > 50
    assert not (gain[row] == LOSS_COLOUR.astype(np.uint8)).all(axis=1).any()
    assert (loss[row] == LOSS_COLOUR.astype(np.uint8)).all(axis=1).sum() > 50
    assert not (loss[row] == GAIN_COLOUR.astype(np.uint8)).all(axis=1).any()


def test_sb3_ppo_from_the_task_id(tmp_path):
    """SB3 makes a string env with render_mode="rgb_array"; it constructs and learns."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import Logger

    model = PPO("MlpPolicy", "plasticgym/ReversalBandit-v0", n_steps=32, batch_size=32, seed=0)
    model.set_logger(Logger(folder=None, output_formats=[]))  # SB3's default makes a temp folder
    model.learn(64)
    frame = model.get_env().render()
    assert frame.shape[-1] == 3 and frame.dtype == np.uint8
