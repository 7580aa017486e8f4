"""Tests of plasticgym/Reaching-v0: decoder golden values, oracle reaches, perturbation, trials."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import plasticgym.envs  # noqa: F401  (registers the tasks)
from plasticgym.envs.reaching import (
    WORKSPACE,
    ReachingEnv,
    ReachingVectorEnv,
    angular_error,
    decode_velocity,
    encode_cursor,
    preferred_directions,
    progress_reward,
    rates_for_velocity,
    rotate_directions,
    rotated_mask,
    target_positions,
)

ENV_ID = "plasticgym/Reaching-v0"
SQUARE = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def read_obs(obs: np.ndarray, n_targets: int) -> tuple[np.ndarray, np.ndarray]:
    """Target index ``[N]`` and cursor ``[N, 2]`` decoded from observations ``[N, K + 4]``."""
    target = np.argmax(obs[:, :n_targets], axis=1)
    code = obs[:, n_targets:].astype(np.float64) * WORKSPACE
    return target, np.stack([code[:, 0] - code[:, 1], code[:, 2] - code[:, 3]], axis=1)


def oracle(env: ReachingEnv | ReachingVectorEnv, obs: np.ndarray) -> np.ndarray:
    """Rates that decode, through the intact decoder, to a straight move toward the target at
    the largest speed the cosine code allows (``gain * 0.5``), not overshooting."""
    dyn = env.dynamics
    target, cursor = read_obs(obs, dyn.config.n_targets)
    to_goal = dyn.targets[target] - cursor
    distance = np.linalg.norm(to_goal, axis=1, keepdims=True)
    speed = np.minimum(dyn.config.gain * 0.5, distance)
    velocity = to_goal / np.maximum(distance, 1e-12) * speed
    rates = rates_for_velocity(
        velocity, dyn.preferred_directions, dyn.config.baseline, dyn.config.gain
    )
    return np.clip(rates, 0.0, 1.0).astype(np.float32)


def run(
    env: ReachingVectorEnv, policy: Any, steps: int, seed: int = 0, **reset: Any
) -> list[tuple[Any, ...]]:
    """``(obs_before, reward, terminated, info)`` of ``steps`` steps from a seeded reset."""
    obs, _ = env.reset(seed=seed, **reset)
    out = []
    for _ in range(steps):
        before = obs
        obs, reward, terminated, _, info = env.step(policy(env, obs))
        out.append((before, reward, terminated, info))
    return out


# ------------------------------------------------------------------------------------------
# decoder maths: golden values
# ------------------------------------------------------------------------------------------


def test_decode_velocity_golden_values():
    rates = np.array([[1.0, 0.5, 0.0, 0.5], [0.75, 1.0, 0.5, 0.25]])
    # v = (2 g / n) sum_i (r_i - b) d_i with n = 4, g = 1, b = 0.5
    expected = np.array([[0.5, 0.0], [0.125, 0.375]])
    np.testing.assert_allclose(decode_velocity(rates, SQUARE, 0.5, 1.0), expected, atol=1e-12)
    per_env = np.stack([SQUARE, SQUARE])
    np.testing.assert_allclose(decode_velocity(rates, per_env, 0.5, 1.0), expected, atol=1e-12)
    np.testing.assert_allclose(decode_velocity(rates, SQUARE, 0.5, 2.0), 2 * expected)


def test_cosine_population_decodes_to_gain_times_modulation():
    pd, _ = preferred_directions(12, "even", 0)
    theta = np.deg2rad(np.array([0.0, 37.0, 200.0]))
    angles = np.arctan2(pd[:, 1], pd[:, 0])
    rates = 0.5 + 0.3 * np.cos(angles[None, :] - theta[:, None])
    v = decode_velocity(rates, pd, 0.5, 0.5)
    expected = 0.5 * 0.3 * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    np.testing.assert_allclose(v, expected, atol=1e-12)


@pytest.mark.parametrize("layout", ["even", "random"])
def test_rates_for_velocity_inverts_the_decoder(layout):
    pd, _ = preferred_directions(9, layout, 4)
    v = np.array([[0.1, -0.2], [0.0, 0.05], [0.0, 0.0]])
    rates = rates_for_velocity(v, pd, 0.4, 0.7)
    np.testing.assert_allclose(decode_velocity(rates, pd, 0.4, 0.7), v, atol=1e-12)
    if layout == "even":  # minimum-norm solution = cosine tuning b + d_i . v / g
        np.testing.assert_allclose(rates, 0.4 + v @ pd.T / 0.7, atol=1e-12)


def test_preferred_directions_and_rotation_are_deterministic():
    pd, order = preferred_directions(8, "even", 3)
    np.testing.assert_allclose(np.linalg.norm(pd, axis=1), 1.0)
    np.testing.assert_allclose(pd[2], [0.0, 1.0], atol=1e-12)
    assert sorted(order.tolist()) == list(range(8))
    np.testing.assert_array_equal(order, preferred_directions(8, "even", 3)[1])
    assert not np.array_equal(order, preferred_directions(8, "even", 4)[1])
    random_a, _ = preferred_directions(8, "random", 3)
    np.testing.assert_array_equal(random_a, preferred_directions(8, "random", 3)[0])
    np.testing.assert_allclose(np.linalg.norm(random_a, axis=1), 1.0)

    quarter, half = rotated_mask(order, 0.25), rotated_mask(order, 0.5)
    assert quarter.sum() == 2 and half.sum() == 4 and rotated_mask(order, 0.0).sum() == 0
    assert not (quarter & ~half).any()  # nested subsets
    np.testing.assert_array_equal(np.flatnonzero(quarter), np.sort(order[:2]))
    rotated = rotate_directions(SQUARE, np.array([True, False, True, False]), 90.0)
    np.testing.assert_allclose(rotated, [[0, 1], [0, 1], [0, -1], [0, -1]], atol=1e-12)


def test_angular_error_encoding_reward_and_targets_golden_values():
    v = np.array([[1.0, 0.0], [1.0, 1.0], [-1.0, 0.0], [0.0, 0.0], [0.0, -2.0]])
    d = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, -1.0]])
    np.testing.assert_allclose(angular_error(v, d), [90.0, 45.0, 180.0, np.nan, 0.0])
    code = encode_cursor(np.array([[0.75, -1.5], [0.0, 0.3]]))
    np.testing.assert_allclose(code, [[0.5, 0.0, 0.0, 1.0], [0.0, 0.0, 0.2, 0.0]], atol=1e-7)
    np.testing.assert_allclose(progress_reward(np.array([1.0]), np.array([0.75]), 2.0), [0.5])
    np.testing.assert_allclose(target_positions(4), SQUARE, atol=1e-12)


# ------------------------------------------------------------------------------------------
# oracle behaviour
# ------------------------------------------------------------------------------------------


def test_oracle_hits_every_target_in_four_steps_with_zero_error_in_baseline():
    env = ReachingVectorEnv(num_envs=8, n_units=40, target_order="cycle")
    steps = run(env, oracle, 160)
    infos = [info for *_, info in steps]
    error = np.stack([i["angular_error"] for i in infos])
    # exact up to the float32 rounding of the rates (<= 2^-25 each): the velocity, of speed
    # 0.25 at every move, turns by at most 2 gain 2^-25 / 0.25 radians
    assert np.nanmax(error) <= math.degrees(2 * 0.5 * 2.0**-25 / 0.25)
    hit = np.stack([i["hit"] for i in infos])
    timeout = np.stack([i["timeout"] for i in infos])
    t = np.stack([i["t_in_trial"] for i in infos])
    assert not timeout.any()
    assert (t[hit] == 3).all()  # 0.25 per step: the fourth movement lands on the target
    assert hit.sum() == 8 * 40
    targets = np.stack([i["target"] for i in infos])[hit].reshape(-1, 8)
    assert set(np.unique(targets).tolist()) == set(range(8))
    reward = np.stack([r for _, r, *_ in steps])
    # progress rewards of a straight reach from the centre sum to the target distance (1)
    np.testing.assert_allclose(reward.sum(axis=0), 40.0, atol=1e-9)
    assert all(i["phase"][0] == "baseline" for i in infos)
    assert not np.stack([i["rotated_units"] for i in infos]).any()


def test_observation_shows_the_next_trial_after_a_hit():
    env = ReachingVectorEnv(num_envs=2, target_order="cycle")
    steps = run(env, oracle, 5)
    obs_after_hit = steps[4][0]
    target, cursor = read_obs(obs_after_hit, 8)
    np.testing.assert_array_equal(target, [1, 1])
    np.testing.assert_array_equal(cursor, 0.0)
    assert steps[3][3]["hit"].all() and (steps[3][3]["target"] == 0).all()
    np.testing.assert_allclose(steps[3][3]["cursor"], [[1.0, 0.0]] * 2, atol=1e-9)


def signed_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed angle in degrees from ``b [N, 2]`` to ``a [N, 2]`` (counter-clockwise > 0)."""
    cross = b[:, 0] * a[:, 1] - b[:, 1] * a[:, 0]
    return np.degrees(np.arctan2(cross, np.sum(a * b, axis=1)))


@pytest.mark.parametrize(
    ("fraction", "rotation"), [(0.25, 90.0), (0.5, 60.0), (0.25, -45.0), (0.75, 135.0)]
)
def test_rotating_a_balanced_subset_biases_the_direction_by_the_fraction_weighted_rotation(
    fraction, rotation
):
    # Units i with i mod 4 < 4 f: a union of evenly spaced subsets, so that
    # sum_R d_i d_i^T = (k / 2) I exactly and the decoder of a cosine population becomes
    # v' = ((1 - f) I + f R(phi)) v: direction biased by atan2(f sin phi, 1 - f + f cos phi),
    # speed scaled by |1 - f + f e^(i phi)| (the formula of the docstring's Phenomenon).
    n, gain, baseline = 400, 0.5, 0.5
    pd, _ = preferred_directions(n, "even", 0)
    mask = np.arange(n) % 4 < round(4 * fraction)
    rotated = rotate_directions(pd, mask, rotation)
    theta = 2 * np.pi * np.arange(16) / 16 + 0.1
    v = 0.25 * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    rates = rates_for_velocity(v, pd, baseline, gain)
    decoded = decode_velocity(rates, rotated, baseline, gain)
    phi = math.radians(rotation)
    bias = math.degrees(
        math.atan2(fraction * math.sin(phi), 1 - fraction + fraction * math.cos(phi))
    )
    scale = abs(1 - fraction + fraction * complex(math.cos(phi), math.sin(phi)))
    # float64 sums of 400 terms of size <= 1: errors ~1e-13, far below these tolerances
    np.testing.assert_allclose(signed_angle(decoded, v), bias, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(decoded, axis=1), 0.25 * scale, rtol=1e-12)


@pytest.mark.parametrize(("fraction", "rotation"), [(0.25, 90.0), (0.5, 60.0), (0.25, -45.0)])
def test_perturbation_error_of_the_intact_oracle_equals_the_exposed_models_prediction(
    fraction, rotation
):
    protocol = [
        {"name": "baseline", "trials": 10},
        {"name": "perturbation", "trials": 50, "rotation": rotation, "rotated_fraction": fraction},
    ]
    env = ReachingVectorEnv(num_envs=8, n_units=400, target_order="cycle", protocol=protocol)
    dyn = env.dynamics
    steps = run(env, oracle, 40, options={"phase": "perturbation"})
    first = [info for *_, info in steps if info["t_in_trial"][0] == 0]
    assert len(first) >= 8 and all((i["t_in_trial"] == 0).all() for i in first)
    error = np.stack([i["angular_error"] for i in first])  # [trials, envs]
    target = np.stack([i["target"] for i in first])
    # The oracle's first move is the cosine code of v = 0.25 u (u the target direction); the
    # perturbed decoder maps it to M v with M = (2 / n) sum_i d'_i d_i^T (d' the rotated
    # directions), so the error is the angle between M u and u, target by target.
    m = (2 / 400) * dyn.decoder_directions[1].T @ dyn.preferred_directions
    u = dyn.targets[target.ravel()]
    predicted = np.abs(signed_angle(u @ m.T, u)).reshape(error.shape)
    # Actions are float32: each rate in [0, 1] is rounded by at most half an ulp, <= 2^-25,
    # so the decoded velocity moves by <= (2 gain / n) * n * 2^-25 and its direction by at
    # most that over |M v| radians (float64 rounding elsewhere is ~1e-16, negligible).
    gain = dyn.config.gain
    speed = 0.25 * np.linalg.norm(u @ m.T, axis=1).min()
    bound = math.degrees(2 * gain * 2.0**-25 / speed)
    assert bound < 1e-5
    np.testing.assert_allclose(error, predicted, rtol=0, atol=bound)
    assert (predicted > 0).all()
    rotated = first[0]["rotated_units"]
    assert rotated.shape == (8, 400) and (rotated.sum(axis=1) == round(fraction * 400)).all()
    # the oracle still gets there, more slowly, by closed-loop correction
    assert np.concatenate([i["hit"] for *_, i in steps]).any()


def test_perturbation_acts_only_through_the_rotated_units():
    protocol = [
        {"name": "baseline", "trials": 5},
        {"name": "perturbation", "trials": 5, "rotation": 90.0, "rotated_fraction": 0.25},
    ]
    env = ReachingEnv(n_units=40, protocol=protocol)
    dyn = env.dynamics
    base, pert = dyn.decoder_directions
    mask = dyn.rotated_units[1]
    assert not dyn.rotated_units[0].any() and mask.sum() == 10
    np.testing.assert_array_equal(base[~mask], pert[~mask])
    cosine = np.sum(base[mask] * pert[mask], axis=1)
    cross = base[mask, 0] * pert[mask, 1] - base[mask, 1] * pert[mask, 0]
    np.testing.assert_allclose(np.degrees(np.arctan2(cross, cosine)), 90.0)

    rng = np.random.default_rng(0)
    rates = rng.random((16, 40))
    cfg = dyn.config
    v_base = decode_velocity(rates, base, cfg.baseline, cfg.gain)
    v_pert = decode_velocity(rates, pert, cfg.baseline, cfg.gain)
    delta = (2 * cfg.gain / 40) * (rates[:, mask] - cfg.baseline) @ (pert[mask] - base[mask])
    np.testing.assert_allclose(v_pert - v_base, delta, atol=1e-12)
    silent = rates.copy()
    silent[:, mask] = cfg.baseline  # rotated units at baseline: the perturbation is invisible
    np.testing.assert_allclose(
        decode_velocity(silent, pert, cfg.baseline, cfg.gain),
        decode_velocity(silent, base, cfg.baseline, cfg.gain),
        atol=1e-12,
    )

    # in the env: the same rates give the same step in both phases iff rotated units are silent
    def first_step(rates: np.ndarray, phase: str) -> dict[str, Any]:
        env.reset(seed=1, options={"phase": phase})
        return env.step(rates.astype(np.float32))[4]

    r = rates[0].astype(np.float32)
    s = silent[0].astype(np.float32)
    assert (
        first_step(s, "baseline")["angular_error"] == first_step(s, "perturbation")["angular_error"]
    )
    assert (
        first_step(r, "baseline")["angular_error"] != first_step(r, "perturbation")["angular_error"]
    )


# ------------------------------------------------------------------------------------------
# trial structure
# ------------------------------------------------------------------------------------------


def test_timeouts_end_trials_and_zero_velocity_has_undefined_error():
    env = ReachingVectorEnv(num_envs=3, max_steps=5, protocol=[{"name": "a", "trials": 4}])

    def still(env: ReachingVectorEnv, obs: np.ndarray) -> np.ndarray:
        return np.full((3, env.dynamics.config.n_units), 0.5, dtype=np.float32)

    steps = run(env, still, 20)
    infos = [info for *_, info in steps]
    timeout = np.stack([i["timeout"] for i in infos])
    expected = np.zeros((20, 3), dtype=bool)
    expected[4::5] = True
    np.testing.assert_array_equal(timeout, expected)
    np.testing.assert_array_equal(np.stack([i["trial"] for i in infos])[:, 0], np.arange(20) // 5)
    np.testing.assert_array_equal(
        np.stack([i["t_in_trial"] for i in infos])[:, 0], np.arange(20) % 5
    )
    assert np.isnan(np.stack([i["angular_error"] for i in infos])).all()
    assert not np.stack([i["hit"] for i in infos]).any()
    rewards = np.stack([r for _, r, *_ in steps])
    np.testing.assert_array_equal(rewards, 0.0)
    terminated = np.stack([t for _, _, t, _ in steps])
    np.testing.assert_array_equal(terminated[:, 0], np.arange(20) == 19)


def test_phases_follow_the_protocol_and_the_episode_ends_after_all_trials():
    protocol = [
        {"name": "baseline", "trials": 3},
        {"name": "perturbation", "trials": 4, "rotation": 30.0, "rotated_fraction": 0.5},
        {"name": "washout", "trials": 2},
    ]
    env = ReachingEnv(target_order="cycle", hit_reward=2.0, protocol=protocol)
    obs, info = env.reset(seed=0)
    assert info["trial"] == 0 and info["phase"] == "baseline" and np.isnan(info["angular_error"])
    phases, hits, rewards, done = [], 0, 0.0, False
    while not done:
        obs, reward, done, truncated, info = env.step(oracle_single(env, obs))
        assert not truncated
        if info["hit"] or info["timeout"]:
            phases.append(info["phase"])
            hits += info["hit"]
        rewards += reward
    assert phases == ["baseline"] * 3 + ["perturbation"] * 4 + ["washout"] * 2
    assert info["trial"] == 8 and hits == 9
    assert rewards > 9 * 2.0
    _, info = env.reset(options={"phase": "washout"})
    assert info["phase"] == "washout" and info["trial"] == 0


def oracle_single(env: ReachingEnv, obs: np.ndarray) -> np.ndarray:
    """The vector oracle for one env."""
    return oracle(env, obs[None])[0]


def test_random_targets_cover_all_targets_evenly():
    env = ReachingVectorEnv(num_envs=16, max_steps=1, protocol=[{"name": "a", "trials": 500}])
    steps = run(env, lambda e, o: np.full((16, 40), 0.5, dtype=np.float32), 250, seed=3)
    targets = np.concatenate([i["target"] for *_, i in steps])
    counts = np.bincount(targets, minlength=8)
    expected = targets.size / 8
    assert np.all(np.abs(counts - expected) < 5 * math.sqrt(expected))


def test_cursor_stays_in_the_workspace_and_observations_in_space():
    env = ReachingVectorEnv(num_envs=2, max_steps=50, target_radius=0.01)
    dyn = env.dynamics
    away = rates_for_velocity(np.array([[-0.25, -0.25]] * 2), dyn.preferred_directions, 0.5, 0.5)
    steps = run(env, lambda e, o: np.clip(away, 0, 1).astype(np.float32), 30)
    for obs, *_ in steps:
        assert env.observation_space.contains(obs)
    assert np.all(np.abs(steps[-1][3]["cursor"]) <= WORKSPACE)
    np.testing.assert_allclose(steps[-1][3]["cursor"], -WORKSPACE)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_units": 2}, "n_units"),
        ({"gain": 0.0}, "gain"),
        ({"baseline": 1.5}, "baseline"),
        ({"target_radius": 0.0}, "target_radius"),
        ({"max_steps": 0}, "max_steps"),
        ({"target_order": "shuffled"}, "target_order"),
        ({"preferred_directions": "grid"}, "preferred_directions"),
        ({"rotation": 270.0}, "rotation"),
        ({"rotated_fraction": 1.5}, "rotated_fraction"),
        ({"protocol": [{"name": "a", "trials": 2, "gain": 1.0}]}, "gain"),
        ({"protocol": [{"name": "a", "trials": 0}]}, "trials"),
        ({"protocol": [{"name": "a", "trials": 2, "rotation": "x"}]}, "rotation"),
    ],
)
def test_invalid_arguments_raise_value_errors_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ReachingEnv(**kwargs)


def test_rotation_arguments_set_the_default_perturbation_and_keep_baseline_and_washout_intact():
    env = ReachingEnv(n_units=12, rotation=-60.0, rotated_fraction=0.5)
    got = [(p.name, p.length, p.rotation, p.rotated_fraction) for p in env.protocol]
    assert got == [
        ("baseline", 200, 0.0, 0.0),
        ("perturbation", 200, -60.0, 0.5),
        ("washout", 100, 0.0, 0.0),
    ]
    assert env.dynamics.rotated_units.sum(axis=1).tolist() == [0, 6, 0]
    assert env.dynamics.config.rotation == -60.0
    only_rotation = ReachingEnv(rotation=30.0).protocol[1]
    assert (only_rotation.rotation, only_rotation.rotated_fraction) == (30.0, 0.25)
    only_fraction = ReachingEnv(rotated_fraction=1.0).protocol[1]
    assert (only_fraction.rotation, only_fraction.rotated_fraction) == (90.0, 1.0)


@pytest.mark.parametrize("given", [{"rotation": 60.0}, {"rotated_fraction": 0.5}])
def test_rotation_arguments_with_a_protocol_raise_instead_of_being_ignored(given):
    protocol = [{"name": "baseline", "trials": 2}, {"name": "perturbation", "trials": 2}]
    name = next(iter(given))
    for make in (
        lambda: ReachingEnv(protocol=protocol, **given),
        lambda: ReachingVectorEnv(num_envs=2, protocol=protocol, **given),
        lambda: gym.make(ENV_ID, protocol=protocol, **given),
    ):
        with pytest.raises(ValueError, match=rf"{name}=.*protocol.*set them in the protocol"):
            make()
    # phases of a given protocol default to an intact decoder
    env = ReachingEnv(protocol=protocol)
    assert [(p.rotation, p.rotated_fraction) for p in env.protocol] == [(0.0, 0.0)] * 2
    assert env.dynamics.config.rotation is None and not env.dynamics.rotated_units.any()


def test_unknown_arguments_raise_value_errors_listing_the_allowed_ones():
    for make, owner in (
        (lambda: ReachingEnv(n_unit=10), "ReachingEnv"),
        (lambda: ReachingVectorEnv(num_envs=2, n_unit=10), "ReachingVectorEnv"),
        (lambda: gym.make(ENV_ID, n_unit=10), "ReachingEnv"),
        (
            lambda: gym.make_vec(
                ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", n_unit=10
            ),
            "ReachingVectorEnv",
        ),
    ):
        with pytest.raises(ValueError, match="unknown argument 'n_unit'") as err:
            make()
        message = str(err.value)
        assert owner in message
        for allowed in ("'n_units'", "'rotation'", "'protocol'", "'render_mode'"):
            assert allowed in message
        assert "__init__" not in message
    with pytest.raises(ValueError, match="'num_envs'"):
        ReachingVectorEnv(num_envs=2, bogus=1)


def test_arguments_are_keyword_only_but_num_envs():
    env = ReachingEnv(n_units=12, n_targets=4)
    assert env.dynamics.config.n_units == 12 and env.action_space.shape == (12,)
    assert env.observation_space.shape == (4 + 4,)
    envs = ReachingVectorEnv(3, n_units=12)
    assert envs.num_envs == 3 and envs.single_action_space.shape == (12,)
    with pytest.raises(TypeError, match="positional"):
        ReachingEnv(12)  # type: ignore[misc]
    with pytest.raises(TypeError, match="positional"):
        ReachingVectorEnv(3, 12)  # type: ignore[misc]


def test_registered_with_vector_entry_point_and_default_protocol():
    env = gym.make(ENV_ID)
    dyn = env.unwrapped.dynamics
    assert [(p.name, p.length) for p in dyn.protocol] == [
        ("baseline", 200),
        ("perturbation", 200),
        ("washout", 100),
    ]
    assert dyn.protocol[1].rotation == 90.0 and dyn.protocol[1].rotated_fraction == 0.25
    for intact in (dyn.protocol[0], dyn.protocol[2]):
        assert intact.rotation == 0.0 and intact.rotated_fraction == 0.0
    envs = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    assert isinstance(envs, ReachingVectorEnv)
    obs, info = envs.reset(seed=0)
    assert obs.shape == (3, 12) and info["rotated_units"].shape == (3, 40)
    assert info["angular_error"].dtype == np.float64 and info["target"].dtype == np.int64
