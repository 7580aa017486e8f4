"""PlasticAgent: API, validation, determinism, checkpoints, TensorBoard, homeostasis switch."""

import numpy as np
import pandas as pd
import pytest
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

ENV = "plasticgym/Pavlovian-v0"
SHORT = {"n_trials": 3, "iti": (2, 5), "cs_us_interval": 3}


def _agent(**kwargs):
    defaults = {"n_agents": 4, "seed": 7, "env_kwargs": SHORT}
    return PlasticAgent(ENV, **{**defaults, **kwargs})


def test_learn_records_columns_and_rows():
    agent = _agent().learn(200, record=True)
    records = agent.records
    expected = ["agent", "step", "episode", "trial", "phase", "t_in_trial", "action", "reward",
                "rpe", "dopamine", "value", "cs", "us", "omitted", "free", "cue", "context",
                "infusion"]  # fmt: skip
    assert list(records.columns) == expected
    # one row per agent per step, except the autoreset steps that follow an episode's end
    per_agent = records.groupby("agent").size()
    autoresets = records.groupby("agent")["episode"].max()
    # an episode that ended on the very last step has its autoreset step still to come
    ended_last = (
        records[records["step"] == 199]
        .groupby("agent")
        .size()
        .reindex(per_agent.index, fill_value=0)
        == 0
    )
    assert (per_agent + autoresets + ended_last == 200).all()
    assert (records["us"] == (records["reward"] > 0)).all()
    assert agent.num_timesteps == 200


def test_rpe_is_the_td_error_of_the_row_transition():
    # Before the first reward nothing is learned (V = 0), so every rpe is 0 and the first
    # reward's rpe is the reward itself.
    agent = _agent(n_agents=3).learn(60, record=True)
    for _, rows in agent.records.groupby("agent"):
        first = rows.index[rows["us"]][0]
        assert (rows.loc[: first - 1, "rpe"] == 0).all()
        assert rows.loc[first, "rpe"] == pytest.approx(1.0)
        assert rows.loc[first, "dopamine"] == pytest.approx(1.0)


def test_dopamine_gains_shape_dopamine_not_rpe():
    agent = _agent(dopamine_gain_positive=0.5).learn(60, record=True)
    rows = agent.records
    positive = rows["rpe"] > 0
    expected = 0.5 * rows.loc[positive, "rpe"]
    np.testing.assert_allclose(rows.loc[positive, "dopamine"], expected, rtol=1e-6)


def test_same_seed_bit_identical_and_other_seed_differs():
    a = _agent().learn(300, record=True)
    b = _agent().learn(300, record=True)
    c = _agent(seed=8).learn(300, record=True)
    pd.testing.assert_frame_equal(a.records, b.records)
    assert torch.equal(a.critic_weights, b.critic_weights)
    assert torch.equal(a.actor_weights, b.actor_weights)
    assert not a.records["action"].equals(c.records["action"])


def test_learning_in_chunks_equals_one_call():
    a = _agent().learn(250, record=True)
    b = _agent()
    b.learn(100, record=True)
    b.learn(150, record=True)
    pd.testing.assert_frame_equal(a.records, b.records)
    assert torch.equal(a.actor_weights, b.actor_weights)


def _stop_when_an_episode_ends(agent):
    # right after an episode ended, its autoreset is still pending
    return not bool((agent.episodes_completed > 0).any())


@pytest.mark.parametrize("homeostasis", [True, False])
def test_save_load_continue_equals_uninterrupted(tmp_path, homeostasis):
    reference = _agent(homeostasis=homeostasis, n_agents=6)
    interrupted = _agent(homeostasis=homeostasis, n_agents=6)
    # stop right after some agent's episode ended, so an autoreset is pending in the checkpoint
    interrupted.learn(1000, record=True, callback=_stop_when_an_episode_ends)
    split = interrupted.num_timesteps
    assert split < 1000
    path = interrupted.save(tmp_path / "agent")
    interrupted.predict(np.zeros(2, dtype=np.float32))  # predicting does not disturb learning
    restored = PlasticAgent.load(path)
    restored.learn(400, record=True)
    reference.learn(split, record=True)
    reference.learn(400, record=True)
    tail = reference.records[reference.records["step"] >= split].reset_index(drop=True)
    pd.testing.assert_frame_equal(restored.records, tail)
    assert torch.equal(restored.critic_weights, reference.critic_weights)
    assert torch.equal(restored.actor_weights, reference.actor_weights)
    assert restored.num_timesteps == reference.num_timesteps


def test_load_with_a_new_env_starts_fresh_but_keeps_synapses(tmp_path):
    import gymnasium as gym

    agent = _agent(n_agents=2).learn(100)
    path = agent.save(tmp_path / "a.safetensors")
    env = gym.make_vec(ENV, num_envs=2, vectorization_mode="vector_entry_point", **SHORT)
    loaded = PlasticAgent.load(path, env=env)
    assert torch.equal(loaded.critic_weights, agent.critic_weights)
    loaded.learn(10)
    assert loaded.num_timesteps == 110


def test_homeostasis_switch_changes_nothing_else():
    """The critic does not depend on the actor in Pavlovian conditioning, and switching scaling
    off removes only the actor's scaling transform: the dopamine records are identical."""
    on = _agent(homeostasis=True).learn(400, record=True)
    off = _agent(homeostasis=False).learn(400, record=True)
    for column in ("rpe", "dopamine", "value", "reward"):
        pd.testing.assert_series_equal(on.records[column], off.records[column])
    assert torch.equal(on.critic_weights, off.critic_weights)
    assert not torch.equal(on.actor_weights, off.actor_weights)


@pytest.mark.parametrize("tonic_input", [0.5, 2.0])
def test_agent_rates_return_to_target_only_with_homeostasis(tonic_input):
    target = 0.2
    mean_rates = {}
    for homeostasis in (True, False):
        agent = _agent(
            n_agents=8, homeostasis=homeostasis, tonic_input=tonic_input, target_rate=target,
            actor_init_scale=0.4, actor_lr=0.0, scaling_rate=0.005, rate_time_constant=50.0,
        )  # fmt: skip
        agent.learn(2000)
        samples: list[torch.Tensor] = []

        def sample_rates(a, samples=samples):
            samples.append(a.rates.mean(dim=1))

        agent.learn(500, callback=sample_rates)
        mean_rates[homeostasis] = torch.stack(samples).mean(dim=0)  # [B]
    # initial mean rate ~ tonic * 0.2 (weights U(0, 0.4)), i.e. 0.1 or 0.4, off target by 2x
    assert torch.all((mean_rates[True] - target).abs() < 0.15 * target)
    assert torch.all((mean_rates[False] - target).abs() > 0.3 * target)


def test_invalid_hyperparameters_name_field_value_and_range():
    with pytest.raises(ValueError, match=r"gamma=1.5 .*\[0.0, 1.0\)"):
        _agent(gamma=1.5)
    with pytest.raises(ValueError, match="critic_lr=nan"):
        _agent(critic_lr=float("nan"))
    with pytest.raises(ValueError, match=r"n_microstimuli=2.5 .*integer"):
        _agent(n_microstimuli=2.5)
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) \['learning_rate'\]"):
        _agent(learning_rate=0.1)
    with pytest.raises(ValueError, match="n_agents=0"):
        _agent(n_agents=0)
    with pytest.raises(ValueError, match="homeostasis='yes'"):
        _agent(homeostasis="yes")
    with pytest.raises(ValueError, match="unknown env id"):
        PlasticAgent("plasticgym/Nope-v0")


def test_env_mismatches_are_clear():
    import gymnasium as gym

    vec = gym.make_vec(ENV, num_envs=3, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match="num_envs=3 but n_agents=2"):
        PlasticAgent(vec, n_agents=2)

    class TextObservations(gym.Env):  # (signed Boxes are read: tests/test_agent_any_env.py)
        observation_space = gym.spaces.Text(4)
        action_space = gym.spaces.Discrete(2)

    with pytest.raises(ValueError, match=r"observation space .* is not supported"):
        PlasticAgent(TextObservations())

    class MultiDiscreteActions(gym.Env):
        observation_space = gym.spaces.Discrete(2)
        action_space = gym.spaces.MultiDiscrete([2, 2])

    with pytest.raises(ValueError, match="Discrete or a 1-d Box action space"):
        PlasticAgent(MultiDiscreteActions())


def test_non_finite_reward_raises():
    import gymnasium as gym

    class NanReward(gym.Wrapper):
        def step(self, action):
            obs, _, terminated, truncated, info = self.env.step(action)
            return obs, float("nan"), terminated, truncated, info

    env = NanReward(gym.make(ENV))
    agent = PlasticAgent(env, seed=0)
    with pytest.raises(ValueError, match="non-finite reward"):
        agent.learn(5)


def test_single_env_instance_works():
    import gymnasium as gym

    agent = PlasticAgent(gym.make(ENV, **SHORT), seed=0).learn(50, record=True)
    assert len(agent.records) > 0
    with pytest.raises(ValueError, match="n_agents=2"):
        PlasticAgent(gym.make(ENV), n_agents=2)


def test_predict_shapes_state_and_errors():
    agent = _agent(n_agents=3).learn(50)
    actions, state = agent.predict(np.array([1.0, 0.0], dtype=np.float32))
    assert actions.shape == (3,) and state.shape == (3, 2)
    actions, state2 = agent.predict(np.zeros((3, 2), dtype=np.float32), state=state)
    assert np.all(state2[:, 0] == pytest.approx(agent.config.stimulus_trace_decay))
    deterministic, _ = agent.predict(np.zeros((3, 2), np.float32), deterministic=True)
    assert set(np.unique(deterministic)) <= {0, 1}
    _, cleared = agent.predict(np.zeros((3, 2), np.float32), state=state, episode_start=np.ones(3))
    assert np.all(cleared == 0)
    with pytest.raises(ValueError, match="expected"):
        agent.predict(np.zeros((5, 2), np.float32))
    single = _agent(n_agents=1)
    action, _ = single.predict(np.zeros(2, np.float32))
    assert action.shape == ()


def test_tensorboard_scalars_and_resume(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    agent = _agent(tensorboard_log=tmp_path / "tb", log_interval=20)
    agent.learn(200)
    path = agent.save(tmp_path / "ckpt")
    run_dir = agent.run_dir
    assert run_dir.parent == tmp_path / "tb"
    restored = PlasticAgent.load(path)
    restored.save(tmp_path / "again")  # the same step: its histograms are the first run's
    restored.learn(100)
    restored.save(tmp_path / "end")
    restored.close()
    agent.close()
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"charts/episodic_return", "plasticity/rpe", "plasticity/mean_abs_dw",
            "homeostasis/mean_rate"} <= tags  # fmt: skip
    steps = [e.step for e in events.Scalars("plasticity/rpe")]
    assert steps == list(range(20, 301, 20))  # one grid, strictly increasing, continued
    for tag in ("weights/actor", "weights/critic"):  # once per save, never twice at a step
        assert [e.step for e in events.Histograms(tag)] == [200, 300], tag
    assert set(events.Tags()["histograms"]) >= {"weights/actor", "weights/critic"}


def test_tb_log_name_names_the_run(tmp_path):
    first = _agent(tensorboard_log=tmp_path / "tb", tb_log_name="transfer_session")
    second = _agent(tensorboard_log=tmp_path / "tb", tb_log_name="transfer_session")
    assert first.run_dir == tmp_path / "tb" / "transfer_session_1"
    assert second.run_dir == tmp_path / "tb" / "transfer_session_2"
    assert _agent(tensorboard_log=tmp_path / "tb").run_dir.name == "PlasticAgent_1"
    for bad in ("../escape", ".hidden", "", "a/b", 3):
        with pytest.raises(ValueError, match="tb_log_name"):
            _agent(tensorboard_log=tmp_path / "tb", tb_log_name=bad)
    first.close()
    second.close()


def test_corrupt_and_hostile_checkpoints(tmp_path):
    agent = _agent().learn(30)
    path = agent.save(tmp_path / "good")
    tensors, meta = load_checkpoint(path)
    bad_config = dict(meta, config={**meta["config"], "gamma": 7.0})
    save_checkpoint(tmp_path / "badcfg", tensors, _strip(bad_config))
    with pytest.raises(ValueError, match=r"gamma=7\.0"):
        PlasticAgent.load(tmp_path / "badcfg")
    wrong_shape = dict(tensors, **{"model.critic.weights": torch.zeros(1, 1, 1)})
    save_checkpoint(tmp_path / "shape", wrong_shape, _strip(meta))
    with pytest.raises(CheckpointError, match=r"critic\.weights"):
        PlasticAgent.load(tmp_path / "shape")
    missing = {k: v for k, v in tensors.items() if k != "model.actor.weights"}
    save_checkpoint(tmp_path / "missing", missing, _strip(meta))
    with pytest.raises(CheckpointError, match=r"actor\.weights"):
        PlasticAgent.load(tmp_path / "missing")
    other = dict(meta, agent="SomethingElse")
    save_checkpoint(tmp_path / "other", tensors, _strip(other))
    with pytest.raises(CheckpointError, match="SomethingElse"):
        PlasticAgent.load(tmp_path / "other")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        PlasticAgent.load(tmp_path / "junk.safetensors")
    with pytest.raises(CheckpointError, match="not found"):
        PlasticAgent.load(tmp_path / "absent")


def _strip(meta):
    return {k: v for k, v in meta.items() if k not in ("format", "version")}


def test_node_perturbation_learns_reaching():
    """Box actions: the actor's output rates are perturbed by exploratory noise and the
    perturbation x presynaptic activity is the eligibility that dopamine (the TD error of the
    progress reward) turns into plasticity (Fiete & Seung 2006; Legenstein et al. 2010)."""
    from plasticgym.experiments.rpe_transfer import mean_ci

    agent = PlasticAgent("plasticgym/Reaching-v0", n_agents=12, seed=3, actor_lr=0.2,
                         exploration_noise=0.1, target_rate=0.5, n_microstimuli=10,
                         microstimulus_width=0.1)  # fmt: skip
    agent.learn(4000, record=True)
    records = agent.records
    baseline = records[records["phase"] == "baseline"]
    error = baseline.groupby(["agent", "trial"])["angular_error"].mean().unstack()
    first, last = error.iloc[:, :20].mean(axis=1), error.iloc[:, -20:].mean(axis=1)
    mean, low, _ = mean_ci((first - last).to_numpy())
    assert low > 10.0, (mean, low)  # degrees of angular error lost with practice
    actions, _ = agent.predict(np.full(12, 0.5, np.float32), deterministic=True)
    assert actions.shape == (12, 40) and np.all((actions >= 0) & (actions <= 1))
