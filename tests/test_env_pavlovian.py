"""Oracle tests of plasticgym/Pavlovian-v0: the time line, the trial statistics, the protocols
(conditioning, blocking, extinction, ABA renewal, drug US) and the task's own checks.

Generic env behaviour (check_env, native vector == SyncVectorEnv, seeding, checkpoints,
invalid actions) is tested for every task in ``test_env_conformance.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import SyncVectorEnv
from hypothesis import given, settings
from hypothesis import strategies as st

import plasticgym.envs  # noqa: F401  (registers the tasks)
from plasticgym.envs._base import Phase
from plasticgym.envs.pavlovian import (
    INFO_KEYS,
    N_UNIFORMS,
    PavlovianConfig,
    PavlovianDynamics,
    PavlovianEnv,
    PavlovianVectorEnv,
    draw_trial,
    start_state,
    transition,
)

ENV_ID = "plasticgym/Pavlovian-v0"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MIXED = {
    "cs_us_interval": 3,
    "iti": (1, 5),
    "reward_prob": 0.7,
    "omission_prob": 0.2,
    "free_reward_prob": 0.3,
    "n_trials": 2,
}
THREE_PHASES = [
    {"name": "acquisition", "trials": 2},
    {"name": "extinction", "trials": 3, "reward_prob": 0.0},
    {"name": "free", "trials": 4, "free_reward_prob": 1.0, "reward": 2.5},
]
BLOCKING = [
    {"name": "A", "trials": 4, "cs": "A"},
    {"name": "AB", "trials": 4, "cs": "AB"},
    {"name": "test", "trials": 3, "cs": "B", "reward_prob": 0.0},
]
EXTINCTION = [
    {"name": "acquisition", "trials": 4},
    {"name": "extinction", "trials": 5, "reward_prob": 0.0},
]
ABA_RENEWAL = [
    {"name": "acquisition", "trials": 4, "context": 0},
    {"name": "extinction", "trials": 4, "reward_prob": 0.0, "context": 1},
    {"name": "test", "trials": 3, "reward_prob": 0.0, "context": 0},
]
PHASE_DEFAULTS = {
    "reward_prob": 1.0,
    "free_reward_prob": 0.0,
    "reward": 1.0,
    "cs": "A",
    "context": 0,
    "us": "food",
}


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------

Step = tuple[np.ndarray, float, bool, bool, dict[str, Any]]


def single_rollout(env: PavlovianEnv, seed: int, **reset_kwargs: Any) -> list[Step]:
    """Every (obs, reward, terminated, truncated, info) of one episode, reset included."""
    obs, info = env.reset(seed=seed, **reset_kwargs)
    steps: list[Step] = [(obs, 0.0, False, False, info)]
    terminated = False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(1)
        steps.append((obs, reward, terminated, truncated, info))
    return steps


def record(envs: PavlovianVectorEnv, seed: int, steps: int) -> dict[str, np.ndarray]:
    """Arrays [T, N, ...] of observations, rewards, terminations and info (reset included)."""
    obs, info = envs.reset(seed=seed)
    rows = [(obs, np.zeros(envs.num_envs), np.zeros(envs.num_envs, bool), info)]
    actions = np.zeros(envs.num_envs, dtype=np.int64)
    for _ in range(steps):
        obs, reward, terminated, _, info = envs.step(actions)
        rows.append((obs, reward, terminated, info))
    out = {
        "obs": np.stack([r[0] for r in rows]),
        "reward": np.stack([r[1] for r in rows]),
        "terminated": np.stack([r[2] for r in rows]),
    }
    for key in envs.dynamics.info_keys:
        out[key] = np.stack([r[3][key] for r in rows])
    return out


def trial_starts(t_in_trial: np.ndarray) -> np.ndarray:
    """[T, N] mask of the first step of each trial (negative t after a non-negative one)."""
    starts = t_in_trial < 0
    starts[1:] &= t_in_trial[:-1] >= 0
    return starts


def assert_close(observed: float, expected: float, se: float, what: str) -> None:
    """|observed - expected| within 4 standard errors."""
    assert abs(observed - expected) <= 4 * se, f"{what}: {observed} vs {expected} (SE {se})"


def proportion_se(p: float, n: int) -> float:
    """Standard error of a proportion estimated from n Bernoulli(p) samples."""
    return math.sqrt(p * (1 - p) / n)


def resolve(protocol: Sequence[Mapping[str, Any]], **defaults: Any) -> dict[str, dict[str, Any]]:
    """The oracle's view of a protocol: each phase's parameters, defaults filled in by hand."""
    base = {**PHASE_DEFAULTS, **defaults}
    return {p["name"]: {**base, **p} for p in protocol}


def expected_step(
    info: Mapping[str, Any], phases: Mapping[str, Mapping[str, Any]], kwargs: Mapping[str, Any]
) -> tuple[list[float], float, dict[str, Any]]:
    """What the spec says a step shows, from its phase, ``t_in_trial`` and the trial's cue.

    Valid for protocols whose cued trials are rewarded with probability 0 or 1. The observation
    has a drug-US channel when some phase of ``phases`` has a drug US.
    """
    phase = phases[info["phase"]]
    k, duration = kwargs.get("cs_us_interval", 6), kwargs.get("cs_duration", 1)
    cues, contexts = kwargs.get("cues", 1), kwargs.get("contexts", 0)
    drug_channel = any(p["us"] == "drug" for p in phases.values())
    t, cue = info["t_in_trial"], info["cue"]
    cued = cue != ""
    if cued:
        assert cue in phase["cs"].split(","), (cue, phase["cs"])
    due = t == (k if cued else 0)
    us = due and (not cued or phase["reward_prob"] == 1.0)
    drug = us and phase["us"] == "drug"
    obs = [float(cued and 0 <= t < duration and letter in cue) for letter in LETTERS[:cues]]
    obs += [float(us and not drug)] + ([float(drug)] if drug_channel else [])
    obs += [float(i == phase["context"]) for i in range(contexts)]
    events = {"cs": cued and t == 0, "us": us, "omitted": due and cued and not us}
    events["free"] = due and not cued
    events["infusion"] = drug
    events["context"] = phase["context"] if contexts else -1
    return obs, (phase["reward"] if us else 0.0), events


def check_protocol_run(
    kwargs: dict[str, Any], protocol: Sequence[Mapping[str, Any]], seeds: Sequence[int] = (0, 1)
) -> list[list[Step]]:
    """Run whole episodes of ``protocol`` and check every step against :func:`expected_step`,
    the phases' order and lengths and the single termination at the end."""
    env = PavlovianEnv(**kwargs, protocol=protocol)
    phases = resolve(protocol, **{k: v for k, v in kwargs.items() if k in PHASE_DEFAULTS})
    order = [p["name"] for p in protocol for _ in range(p["trials"])]
    runs = []
    for seed in seeds:
        steps = single_rollout(env, seed)
        for obs, reward, _, _, info in steps:
            want_obs, want_reward, events = expected_step(info, phases, kwargs)
            np.testing.assert_array_equal(obs, np.array(want_obs, np.float32), err_msg=str(info))
            assert reward == want_reward, info
            for key, value in events.items():
                assert info[key] == value, (key, info)
        assert {s[4]["trial"]: s[4]["phase"] for s in steps} == dict(enumerate(order))
        assert [s[2] for s in steps].count(True) == 1 and steps[-1][2]
        runs.append(steps)
    return runs


def by_phase(steps: list[Step]) -> dict[str, list[Step]]:
    """The steps of each phase."""
    out: dict[str, list[Step]] = {}
    for step in steps:
        out.setdefault(step[4]["phase"], []).append(step)
    return out


# ------------------------------------------------------------------------------------------
# spaces, info keys, arguments
# ------------------------------------------------------------------------------------------


INFO_TYPES = {"trial": int, "phase": str, "t_in_trial": int, "cue": str, "context": int}
"""Python type of each info key of the single env (bool for the others)."""


def test_defaults_keep_the_two_channel_observation_and_every_info_key() -> None:
    spec = gym.spec(ENV_ID)
    assert spec.entry_point == "plasticgym.envs.pavlovian:PavlovianEnv"
    assert spec.vector_entry_point == "plasticgym.envs.pavlovian:PavlovianVectorEnv"
    env = PavlovianEnv(cs_us_interval=2, iti=(1, 3), n_trials=3)
    assert env.observation_space == gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
    assert env.action_space == gym.spaces.Discrete(2)
    for _, reward, terminated, truncated, info in single_rollout(env, seed=3):
        assert tuple(info) == INFO_KEYS
        for key in INFO_KEYS:
            assert type(info[key]) is INFO_TYPES.get(key, bool), key
        assert info["cue"] == "A" and info["context"] == -1 and info["infusion"] is False
        assert type(reward) is float and type(terminated) is bool and truncated is False
    envs = gym.make_vec(ENV_ID, num_envs=8, vectorization_mode="vector_entry_point")
    obs, info = envs.reset(seed=0)
    assert obs.shape == (8, 2) and obs.dtype == np.float32
    assert set(info) == set(INFO_KEYS) | {f"_{k}" for k in INFO_KEYS}


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [
        ({"cues": 3}, (4,)),
        ({"contexts": 2}, (4,)),
        ({"us": "drug"}, (3,)),
        ({"cues": 2, "contexts": 3, "cs": "A,AB"}, (6,)),
        ({"cues": 2, "contexts": 3, "us": "drug"}, (7,)),
    ],
)
def test_extensions_add_channels_and_keep_the_info_keys(
    kwargs: dict[str, Any], shape: tuple[int, ...]
) -> None:
    env = PavlovianEnv(cs_us_interval=2, iti=(1, 3), n_trials=4, free_reward_prob=0.3, **kwargs)
    assert env.observation_space.shape == shape
    for obs, *_, info in single_rollout(env, seed=5):
        assert env.observation_space.contains(obs)
        assert tuple(info) == INFO_KEYS
        for key in info:
            assert type(info[key]) is INFO_TYPES.get(key, bool), key
        assert info["context"] == (0 if kwargs.get("contexts") else -1)
    vector = PavlovianVectorEnv(3, cs_us_interval=2, iti=(1, 3), n_trials=4, **kwargs)
    _, info = vector.reset(seed=0)
    assert [k for k in info if not k.startswith("_")] == list(INFO_KEYS)


@st.composite
def valid_kwargs(draw: st.DrawFn) -> dict[str, Any]:
    """Random valid constructor arguments with short episodes."""
    k = draw(st.integers(1, 6))
    low = draw(st.integers(1, 6))
    cues = draw(st.integers(1, 3))
    contexts = draw(st.integers(0, 2))
    compound = st.sets(st.sampled_from(LETTERS[:cues]), min_size=1).map("".join)
    probability = st.floats(0.0, 1.0)
    return {
        "cs_us_interval": k,
        "iti": (low, draw(st.integers(low, low + 6))),
        "reward_prob": draw(probability),
        "omission_prob": draw(probability),
        "free_reward_prob": draw(probability),
        "n_trials": draw(st.integers(1, 4)),
        "reward": draw(st.floats(-1e6, 1e6, allow_nan=False)),
        "cs_duration": draw(st.integers(1, k)),
        "cues": cues,
        "contexts": contexts,
        "cs": ",".join(draw(st.lists(compound, min_size=1, max_size=3))),
        "context": draw(st.integers(0, max(contexts - 1, 0))),
        "us": draw(st.sampled_from(["food", "drug"])),
    }


@settings(max_examples=40, deadline=None)
@given(kwargs=valid_kwargs(), seed=st.integers(0, 2**32 - 1))
def test_observations_rewards_and_events_are_consistent(kwargs: dict[str, Any], seed: int) -> None:
    env = PavlovianEnv(**kwargs)
    steps = single_rollout(env, seed)
    k, duration, cues = kwargs["cs_us_interval"], kwargs["cs_duration"], kwargs["cues"]
    alternatives = ["".join(sorted(c)) for c in kwargs["cs"].split(",")]
    for i, (obs, reward, terminated, truncated, info) in enumerate(steps):
        assert env.observation_space.contains(obs)
        t, cue = info["t_in_trial"], info["cue"]
        assert cue in [*alternatives, ""]
        cue_on = 0 <= t < duration and not info["free"]
        np.testing.assert_array_equal(obs[:cues], [cue_on and c in cue for c in LETTERS[:cues]])
        drug = kwargs["us"] == "drug"
        assert obs[cues] == float(info["us"] and not drug)  # food US
        if drug:
            assert obs[cues + 1] == float(info["us"])  # drug US
        np.testing.assert_array_equal(
            obs[cues + 1 + drug :], np.arange(kwargs["contexts"]) == kwargs["context"]
        )
        assert reward == (kwargs["reward"] if info["us"] else 0.0)
        assert terminated == (i == len(steps) - 1) and truncated is False
        assert not (info["us"] and info["omitted"])
        assert t <= (0 if info["free"] else k)
        assert info["infusion"] == (info["us"] and drug)
        assert info["context"] == (kwargs["context"] if kwargs["contexts"] else -1)
    assert steps[-1][4]["trial"] == kwargs["n_trials"] - 1


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"cs_us_interval": 0}, ["cs_us_interval", "0", ">= 1"]),
        ({"cs_us_interval": 2.5}, ["cs_us_interval", "2.5"]),
        ({"cs_us_interval": True}, ["cs_us_interval", "True"]),
        ({"iti": (0, 3)}, ["iti", "(0, 3)", "1 <= min <= max"]),
        ({"iti": (5, 3)}, ["iti", "(5, 3)"]),
        ({"iti": (1,)}, ["iti"]),
        ({"iti": "ab"}, ["iti"]),
        ({"iti": (1.0, 2)}, ["iti"]),
        ({"reward_prob": 1.5}, ["reward_prob", "1.5", "[0, 1]"]),
        ({"reward_prob": float("nan")}, ["reward_prob", "nan"]),
        ({"omission_prob": -0.1}, ["omission_prob", "-0.1"]),
        ({"free_reward_prob": "0.5"}, ["free_reward_prob", "'0.5'"]),
        ({"n_trials": 0}, ["n_trials", "0"]),
        ({"n_trials": 3, "protocol": THREE_PHASES}, ["n_trials", "protocol"]),
        ({"reward": float("inf")}, ["reward", "inf", "finite"]),
        ({"cs_duration": 0}, ["cs_duration", "0", "[1, 6]"]),
        ({"cs_duration": 7}, ["cs_duration", "7", "[1, 6]"]),
        ({"cues": 0}, ["cues", "0", "[1, 26]"]),
        ({"cues": 27}, ["cues", "27", "[1, 26]"]),
        ({"cues": 2.0}, ["cues", "2.0"]),
        ({"contexts": -1}, ["contexts", "-1", ">= 0"]),
        ({"cs": "B"}, ["cs", "'B'", "'A'"]),
        ({"cues": 2, "cs": "C"}, ["cs", "'C'", "'AB'"]),
        ({"cues": 2, "cs": "a"}, ["cs", "'a'"]),
        ({"cues": 2, "cs": "AA"}, ["cs", "'AA'"]),
        ({"cues": 2, "cs": "A,"}, ["cs", "'A,'"]),
        ({"cs": ""}, ["cs", "''"]),
        ({"cs": 1}, ["cs", "1"]),
        ({"context": 1}, ["context", "1", "contexts=0"]),
        ({"contexts": 2, "context": 2}, ["context", "2", "[0, 1]"]),
        ({"contexts": 2, "context": -1}, ["context", "-1"]),
        ({"us": "alcohol"}, ["us", "'alcohol'", "food", "drug"]),
        ({"protocol": []}, ["protocol"]),
        ({"protocol": "conditioning"}, ["protocol"]),
        ({"protocol": [{"name": "a", "trials": 1, "bogus": 2}]}, ["bogus", "reward_prob", "cs"]),
        ({"protocol": [{"name": "a", "trials": 1}, {"name": "a", "trials": 2}]}, ["unique", "a"]),
        ({"protocol": [{"name": "a"}]}, ["protocol[0]", "trials"]),
        ({"protocol": [{"name": "a", "trials": 0}]}, ["protocol[0]", "trials", "0"]),
        ({"protocol": [{"name": "a", "trials": 1, "reward_prob": 2}]}, ["reward_prob", "2"]),
        ({"protocol": [{"name": "", "trials": 1}]}, ["name"]),
        ({"protocol": [{"name": "a", "trials": 1, "cs": "AB"}]}, ["protocol[0]", "cs", "'AB'"]),
        ({"protocol": [{"name": "a", "trials": 1, "context": 1}]}, ["protocol[0]", "context"]),
        ({"protocol": [{"name": "a", "trials": 1, "us": "Drug"}]}, ["protocol[0]", "us"]),
        ({"protocol": [Phase("a", 1, {"cs": "B"})]}, ["protocol[0]", "cs", "'B'"]),
        ({"protocol": [Phase("a", 1, {"bogus": 2})]}, ["protocol[0]", "bogus", "reward_prob"]),
        ({"protocol": [Phase("a", 0)]}, ["protocol[0]", "trials", "0"]),
        ({"protocol": [Phase("a", 1, {"trials": 2})]}, ["protocol[0]", "trials"]),
        ({"n_trial": 3}, ["unknown argument", "'n_trial'", "'n_trials'", "'protocol'"]),
        ({"bogus": 1, "cues": 2}, ["unknown argument", "'bogus'", "'cues'"]),
        ({"render_mode": "human"}, ["render_mode", "human"]),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(
    kwargs: dict[str, Any], names: list[str]
) -> None:
    for factory in (PavlovianEnv, lambda **kw: PavlovianVectorEnv(2, **kw)):
        with pytest.raises(ValueError) as err:
            factory(**kwargs)
        for name in names:
            assert name in str(err.value), (name, str(err.value))
    with pytest.raises(ValueError, match="num_envs"):
        PavlovianVectorEnv(0)


def test_protocol_is_exposed_as_frozen_phases_with_every_parameter_resolved() -> None:
    env = PavlovianEnv(reward_prob=0.5, cues=3, cs="BA, C", us="drug", protocol=THREE_PHASES)
    resolved = {"omission_prob": 0.0, "cs": "AB,C", "context": 0, "us": "drug"}
    assert env.protocol == (
        Phase("acquisition", 2, {**resolved, "reward_prob": 0.5, "free_reward_prob": 0.0,
                                 "reward": 1.0}),
        Phase("extinction", 3, {**resolved, "reward_prob": 0.0, "free_reward_prob": 0.0,
                                "reward": 1.0}),
        Phase("free", 4, {**resolved, "reward_prob": 0.5, "free_reward_prob": 1.0,
                          "reward": 2.5}),
    )  # fmt: skip
    assert env.protocol[1].length == 3 and env.protocol[0].cs == "AB,C"
    with pytest.raises(AttributeError):
        env.protocol = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        env.protocol[0].length = 5  # type: ignore[misc]
    default = PavlovianEnv().protocol
    assert [(p.name, p.length, p.cs, p.us) for p in default] == [("conditioning", 100, "A", "food")]
    again = PavlovianEnv(cues=3, protocol=env.protocol)
    assert again.protocol == env.protocol
    assert PavlovianVectorEnv(2, cues=3, protocol=env.protocol).protocol == env.protocol


# ------------------------------------------------------------------------------------------
# dynamics: randomness, time line, statistics
# ------------------------------------------------------------------------------------------


def test_draw_trial_golden_values() -> None:
    config = PavlovianConfig(iti=(20, 40), reward_prob=0.5, omission_prob=0.25, cues=3, cs="A,BC,C")
    params = PavlovianDynamics(config).params
    u = np.array(
        [
            [0.0, 0.5, 0.1, 0.9, 0.0],  # L = 20, cued, rewarded, compound 0 = "A"
            [0.999999, 0.5, 0.1, 0.1, 0.5],  # L = 40, omitted (u3 < 0.25), floor(1.5) = "BC"
            [0.5, 0.5, 0.6, 0.9, 0.999],  # L = 20 + floor(10.5) = 30, not rewarded, "C"
        ]
    )
    drawn = draw_trial(u, np.zeros(3, np.int64), params)
    np.testing.assert_array_equal(drawn.t_in_trial, [-20, -40, -30])
    np.testing.assert_array_equal(drawn.free, [False, False, False])
    np.testing.assert_array_equal(drawn.rewarded, [True, False, False])
    np.testing.assert_array_equal(drawn.compound, [0, 1, 2])
    np.testing.assert_array_equal(params.compound_names[0], ["A", "BC", "C"])


def test_uniforms_are_used_only_when_a_trial_begins() -> None:
    dynamics = PavlovianDynamics(
        PavlovianConfig(
            cs_us_interval=2, iti=(1, 4), reward_prob=0.5, free_reward_prob=0.3, cues=2, cs="A,B,AB"
        )
    )
    rng = np.random.default_rng(0)
    n = 64
    state, _ = dynamics.start(np.zeros(n, np.int64), rng.random((n, N_UNIFORMS)))
    started = start_state(np.zeros(n, np.int64), rng.random((n, N_UNIFORMS)), dynamics.params)
    assert (started.trial == 0).all() and (started.t_in_trial < 0).all()
    n_begins = 0
    for _ in range(100):
        u, other = rng.random((n, N_UNIFORMS)), rng.random((n, N_UNIFORMS))
        end = np.where(state.free, 0, 2)
        begins = state.t_in_trial == end
        other[begins] = u[begins]  # the same numbers only where a trial begins
        copy = type(state)(*(f.copy() for f in state))
        new, out = dynamics.step(state, np.zeros(n, np.int64), u)
        again, out_again = dynamics.step(state, np.ones(n, np.int64), other)
        for a, b, c in zip(state, copy, new, strict=True):
            np.testing.assert_array_equal(a, b)  # the input is untouched
            assert c is not a
        for a, b in zip(new, again, strict=True):
            np.testing.assert_array_equal(a, b)  # actions and unused numbers change nothing
        np.testing.assert_array_equal(out.obs, out_again.obs)
        np.testing.assert_array_equal(new.t_in_trial[~begins], state.t_in_trial[~begins] + 1)
        np.testing.assert_array_equal(
            new, transition(state, u, dynamics.params)
        )  # step is transition
        n_begins += int(begins.sum())
        state = new
    assert n_begins > 500


def test_time_line_and_events_follow_the_spec() -> None:
    k, duration, iti = 3, 2, (2, 6)
    kwargs = {"cs_us_interval": k, "cs_duration": duration, "iti": iti}
    kwargs |= {"reward_prob": 0.7, "free_reward_prob": 0.3, "reward": 0.5, "n_trials": 10_000}
    rec = record(PavlovianVectorEnv(64, **kwargs), seed=2, steps=300)
    t, cs, us, free, omitted = (rec[k_] for k_ in ("t_in_trial", "cs", "us", "free", "omitted"))
    # within a trial t increases by one; after its last step the next trial starts at -L
    end = np.where(free, 0, k)[:-1]
    same_trial = (t[1:] == t[:-1] + 1) & (rec["trial"][1:] == rec["trial"][:-1])
    new_trial = (
        (t[:-1] == end)
        & (t[1:] <= -iti[0])
        & (t[1:] >= -iti[1])
        & (rec["trial"][1:] == rec["trial"][:-1] + 1)
    )
    assert (same_trial ^ new_trial).all()
    assert (t[0] <= -iti[0]).all() and (t[0] >= -iti[1]).all() and (rec["trial"][0] == 0).all()
    # events happen only at their times; observation channels follow them
    assert (t[cs] == 0).all() and (t[free] == 0).all() and (t[omitted] == k).all()
    assert np.isin(t[us], [0, k]).all() and not (us & omitted).any()
    cue = (t >= 0) & (t < duration) & ~free
    np.testing.assert_array_equal(rec["obs"][..., 0], cue.astype(np.float32))
    np.testing.assert_array_equal(rec["obs"][..., 1], us.astype(np.float32))
    np.testing.assert_array_equal(rec["reward"], np.where(us, 0.5, 0.0))
    # a cued reward comes exactly K steps after cue onset, in the same trial
    steps, envs = np.nonzero(us & ~free)
    assert steps.size > 100 and (steps >= k).all()
    assert cs[steps - k, envs].all()
    np.testing.assert_array_equal(rec["trial"][steps - k, envs], rec["trial"][steps, envs])
    # every cue is followed K steps later by a reward or an omission
    steps, envs = np.nonzero(cs[: -k or None])
    assert (us | omitted)[steps + k, envs].all()


@pytest.mark.parametrize(
    ("reward_prob", "omission_prob", "free_reward_prob"),
    [(0.6, 0.0, 0.0), (1.0, 0.3, 0.0), (0.6, 0.25, 0.2)],
)
def test_trial_statistics_match_the_parameters(
    reward_prob: float, omission_prob: float, free_reward_prob: float
) -> None:
    iti = (2, 9)
    kwargs = {"cs_us_interval": 3, "iti": iti, "n_trials": 10_000}
    kwargs |= {"reward_prob": reward_prob, "omission_prob": omission_prob}
    kwargs |= {"free_reward_prob": free_reward_prob}
    rec = record(PavlovianVectorEnv(256, **kwargs), seed=17, steps=400)
    # ITI lengths: uniform on [min, max]
    lengths = -rec["t_in_trial"][trial_starts(rec["t_in_trial"])]
    m = iti[1] - iti[0] + 1
    assert lengths.size > 10_000
    assert set(np.unique(lengths)) == set(range(iti[0], iti[1] + 1))
    sd = math.sqrt((m**2 - 1) / 12)
    assert_close(lengths.mean(), (iti[0] + iti[1]) / 2, sd / math.sqrt(lengths.size), "ITI mean")
    for value in range(iti[0], iti[1] + 1):
        frequency = np.mean(lengths == value)
        assert_close(frequency, 1 / m, proportion_se(1 / m, lengths.size), f"P(L={value})")
    # trial types
    n_free, n_cs = int(rec["free"].sum()), int(rec["cs"].sum())
    p_free = n_free / (n_free + n_cs)
    assert_close(p_free, free_reward_prob, proportion_se(free_reward_prob, n_free + n_cs), "free")
    n_rewarded = int((rec["us"] & ~rec["free"]).sum())
    n_omitted = int(rec["omitted"].sum())
    n_due = n_rewarded + n_omitted
    p_rewarded = reward_prob * (1 - omission_prob)
    se = proportion_se(p_rewarded, n_due)
    assert_close(n_rewarded / n_due, p_rewarded, se, "rewarded cued trials")
    if reward_prob == 1.0:
        assert_close(n_omitted / n_due, omission_prob, se, "omitted cued trials")


@pytest.mark.parametrize(
    ("cs", "expected"),
    [
        ("A,B", {"A": 1 / 2, "B": 1 / 2}),
        ("AB,B,C", {"AB": 1 / 3, "B": 1 / 3, "C": 1 / 3}),
        ("A,A,B", {"A": 2 / 3, "B": 1 / 3}),
    ],
)
def test_cue_alternatives_are_drawn_uniformly(cs: str, expected: dict[str, float]) -> None:
    kwargs = {"cs_us_interval": 2, "iti": (2, 5), "n_trials": 10_000, "cues": 3, "cs": cs}
    rec = record(PavlovianVectorEnv(128, **kwargs), seed=4, steps=300)
    onset_cues = rec["cue"][rec["cs"]]
    n = onset_cues.size
    assert n > 5_000
    assert set(onset_cues) == set(expected)
    for letters, p in expected.items():
        assert_close(np.mean(onset_cues == letters), p, proportion_se(p, n), f"P({letters})")
    # the cue channels at onset show exactly the drawn compound
    onset_obs = rec["obs"][rec["cs"]][:, :3]
    shown = np.array([[c in letters for c in "ABC"] for letters in onset_cues], np.float32)
    np.testing.assert_array_equal(onset_obs, shown)


# ------------------------------------------------------------------------------------------
# protocols
# ------------------------------------------------------------------------------------------


def test_phases_run_in_order_with_their_parameters() -> None:
    kwargs = {"cs_us_interval": 2, "iti": (1, 3)}
    env = PavlovianEnv(**kwargs, protocol=THREE_PHASES)
    for seed in range(5):
        steps = single_rollout(env, seed)
        infos = [s[4] for s in steps]
        trial_phase = {info["trial"]: info["phase"] for info in infos}
        assert trial_phase == dict(
            enumerate(["acquisition"] * 2 + ["extinction"] * 3 + ["free"] * 4)
        )
        assert [s[2] for s in steps].count(True) == 1 and steps[-1][2]
        assert infos[-1]["trial"] == 8 and infos[-1]["us"] and infos[-1]["t_in_trial"] == 0
        phases = by_phase(steps)
        acquisition, extinction, free = (phases[n] for n in ("acquisition", "extinction", "free"))
        assert sum(s[4]["us"] for s in acquisition) == 2 == sum(s[4]["cs"] for s in acquisition)
        assert {s[1] for s in acquisition if s[4]["us"]} == {1.0}
        assert not any(s[4]["us"] for s in extinction)
        assert sum(s[4]["omitted"] for s in extinction) == 3
        assert sum(s[4]["free"] for s in free) == 4 and not any(s[4]["cs"] for s in free)
        assert {s[1] for s in free if s[4]["us"]} == {2.5}


def test_default_protocol_ends_after_n_trials() -> None:
    steps = single_rollout(PavlovianEnv(cs_us_interval=1, iti=(1, 2), n_trials=5), seed=0)
    assert steps[-1][4]["trial"] == 4 and steps[-1][2]
    assert sum(s[4]["us"] for s in steps) == 5
    # 100 trials of 1 ITI step + cue step + reward step
    assert len(single_rollout(PavlovianEnv(cs_us_interval=1, iti=(1, 1)), seed=0)) == 300


def test_reset_option_phase_starts_that_phase() -> None:
    env = PavlovianEnv(cs_us_interval=2, iti=(1, 3), protocol=THREE_PHASES)
    steps = single_rollout(env, seed=4, options={"phase": "extinction"})
    infos = [s[4] for s in steps]
    assert infos[0]["phase"] == "extinction" and infos[0]["trial"] == 0
    trial_phase = {info["trial"]: info["phase"] for info in infos}
    assert trial_phase == dict(enumerate(["extinction"] * 3 + ["free"] * 4))
    # vector: all envs start at the phase; autoresets start at the first phase (as gymnasium's)
    envs = PavlovianVectorEnv(4, cs_us_interval=2, iti=(1, 3), protocol=THREE_PHASES)
    _, info = envs.reset(seed=0, options={"phase": "free"})
    assert (info["phase"] == "free").all()
    seen_after_reset = set()
    for _ in range(60):
        _, _, _, _, info = envs.step(np.zeros(4, int))
        seen_after_reset |= set(info["phase"][info["trial"] == 0])
    assert seen_after_reset == {"free", "acquisition"}


def test_blocking_protocol_presents_a_then_ab_then_b_alone() -> None:
    kwargs = {"cs_us_interval": 3, "iti": (2, 5), "cues": 2, "cs_duration": 2}
    for steps in check_protocol_run(kwargs, BLOCKING):
        phases = by_phase(steps)
        cue_steps = {name: np.array([s[0][:2] for s in rows]) for name, rows in phases.items()}
        # phase A: only cue A, 2 steps per trial; phase AB: A and B together; test: B alone
        assert cue_steps["A"].sum(0).tolist() == [8.0, 0.0]
        assert cue_steps["AB"].sum(0).tolist() == [8.0, 8.0]
        assert (cue_steps["AB"][:, 0] == cue_steps["AB"][:, 1]).all()
        assert cue_steps["test"].sum(0).tolist() == [0.0, 6.0]
        assert {s[4]["cue"] for s in phases["AB"]} == {"AB"}
        assert [sum(s[4]["us"] for s in phases[n]) for n in ("A", "AB", "test")] == [4, 4, 0]
        assert sum(s[4]["omitted"] for s in phases["test"]) == 3
        assert sum(s[1] for s in steps) == 8.0


def test_extinction_protocol_withholds_every_reward_after_acquisition() -> None:
    kwargs = {"cs_us_interval": 4, "iti": (3, 6), "reward": 0.5}
    for steps in check_protocol_run(kwargs, EXTINCTION, seeds=(0, 1, 2)):
        assert tuple(steps[0][4]) == INFO_KEYS and steps[0][0].shape == (2,)  # [cue, us]
        phases = by_phase(steps)
        assert sum(s[4]["cs"] for s in phases["extinction"]) == 5
        assert sum(s[4]["omitted"] for s in phases["extinction"]) == 5
        assert not any(s[4]["us"] or s[1] for s in phases["extinction"])
        assert [s[1] for s in phases["acquisition"] if s[4]["us"]] == [0.5] * 4


def test_aba_renewal_switches_the_context_channels_with_the_phase() -> None:
    kwargs = {"cs_us_interval": 3, "iti": (2, 4), "contexts": 2}
    for steps in check_protocol_run(kwargs, ABA_RENEWAL):
        for obs, *_, info in steps:
            context = {"acquisition": 0, "extinction": 1, "test": 0}[info["phase"]]
            assert info["context"] == context
            np.testing.assert_array_equal(obs[2:], np.eye(2)[context])  # ITI included
        phases = by_phase(steps)
        assert [sum(s[4]["us"] for s in phases[n]) for n in phases] == [4, 0, 0]
        assert [sum(s[4]["cs"] for s in phases[n]) for n in phases] == [4, 4, 3]


def test_drug_us_has_its_own_channel_marks_infusion_and_rewards_like_food() -> None:
    protocol = [
        {"name": "food", "trials": 3},
        {"name": "drug", "trials": 3, "us": "drug", "reward": 0.5},
        {"name": "priming", "trials": 3, "us": "drug", "free_reward_prob": 1.0},
    ]
    kwargs = {"cs_us_interval": 2, "iti": (1, 3)}
    assert PavlovianEnv(**kwargs, protocol=protocol).observation_space.shape == (3,)
    for steps in check_protocol_run(kwargs, protocol):
        phases = by_phase(steps)
        # [cue, food US, drug US]: the two USs are told apart by the observation alone
        us_obs = {
            name: np.array([s[0][1:] for s in rows if s[4]["us"]]) for name, rows in phases.items()
        }
        np.testing.assert_array_equal(us_obs["food"], np.tile([1.0, 0.0], (3, 1)))
        np.testing.assert_array_equal(us_obs["drug"], np.tile([0.0, 1.0], (3, 1)))
        np.testing.assert_array_equal(us_obs["priming"], np.tile([0.0, 1.0], (3, 1)))
        assert not any(s[0][1:].any() for s in steps if not s[4]["us"])
        assert not any(s[4]["infusion"] for s in phases["food"])
        drug = [(s[1], s[4]) for s in phases["drug"] if s[4]["us"]]
        assert len(drug) == 3 and all(r == 0.5 and i["infusion"] for r, i in drug)
        primes = [s[4] for s in phases["priming"] if s[4]["us"]]
        assert len(primes) == 3 and all(i["free"] and i["infusion"] for i in primes)
        assert {s[4]["cue"] for s in phases["priming"]} == {""}  # free trials have no cue
        assert {s[4]["cue"] for s in phases["food"] + phases["drug"]} == {"A"}


def test_constructor_cue_and_us_arguments_are_the_phase_defaults() -> None:
    env = PavlovianEnv(cs_us_interval=1, iti=(1, 2), n_trials=3, cues=2, cs="B", us="drug")
    steps = single_rollout(env, seed=0)
    assert {s[4]["cue"] for s in steps} == {"B"}
    assert env.observation_space.shape == (4,)  # [A, B, food US, drug US]
    totals = np.sum([s[0] for s in steps], axis=0)
    np.testing.assert_array_equal(totals, [0.0, 3.0, 0.0, 3.0])
    assert sum(s[4]["infusion"] for s in steps) == 3


# ------------------------------------------------------------------------------------------
# vector env and checkpoints of this task
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs", [MIXED, {"cs_us_interval": 2, "iti": (1, 3), "protocol": THREE_PHASES}]
)
def test_vector_env_equals_sync_vector_env_on_the_plain_task(kwargs: dict[str, Any]) -> None:
    n = 5
    native = PavlovianVectorEnv(n, **kwargs)
    sync = SyncVectorEnv([lambda: PavlovianEnv(**kwargs)] * n)
    native.reset(seed=[4, 7, 9, 1, 0])
    sync.reset(seed=[4, 7, 9, 1, 0])
    rng, ended = np.random.default_rng(0), 0
    for _ in range(200):
        action = rng.integers(0, 2, size=n)
        a, b = native.step(action), sync.step(action)
        for x, y in zip(a[:4], b[:4], strict=True):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
        assert sorted(a[4]) == sorted(b[4])
        for key in a[4]:
            np.testing.assert_array_equal(a[4][key], b[4][key])
        ended += int(a[2].sum())
    assert ended > 5


CHECKPOINT_KWARGS = {"cs_us_interval": 2, "iti": (1, 3), "cues": 2, "contexts": 2}
CHECKPOINT_PROTOCOL = [
    {"name": "A", "trials": 2, "cs": "A,B"},
    {"name": "AB", "trials": 3, "cs": "AB", "context": 1, "us": "drug"},
]


def checkpoint_env(n: int = 6) -> PavlovianVectorEnv:
    """The vector env used by the checkpoint tests."""
    return PavlovianVectorEnv(n, **CHECKPOINT_KWARGS, protocol=CHECKPOINT_PROTOCOL)


def json_round_trip(state: dict[str, Any]) -> dict[str, Any]:
    """The state as it comes back from a JSON file plus a separate array store."""
    rest = json.loads(json.dumps({k: v for k, v in state.items() if k != "arrays"}))
    return {**rest, "arrays": {k: v.copy() for k, v in state["arrays"].items()}}


def test_checkpoint_survives_json_and_continues_identically() -> None:
    source = checkpoint_env()
    source.reset(seed=21)
    while not source.step(np.zeros(6, int))[2].any():
        pass
    state = source.get_state()
    assert state["config"]["cues"] == 2 and state["config"]["protocol"][1]["us"] == "drug"
    assert state["arrays"]["autoreset"].any()
    target = checkpoint_env()
    target.reset(seed=999)
    target.set_state(json_round_trip(state))
    rng = np.random.default_rng(1)
    for _ in range(100):
        action = rng.integers(0, 2, size=6)
        a, b = source.step(action), target.step(action)
        for x, y in zip(a[:4], b[:4], strict=True):
            np.testing.assert_array_equal(x, y)
        for key in ("cue", "context", "infusion", "phase"):
            np.testing.assert_array_equal(a[4][key], b[4][key])
    other = PavlovianVectorEnv(6, **{**CHECKPOINT_KWARGS, "cues": 3}, protocol=CHECKPOINT_PROTOCOL)
    with pytest.raises(ValueError, match="config"):
        other.set_state(json_round_trip(state))


def _with(name: str, values: Sequence[int]) -> Callable[[dict[str, Any]], None]:
    def mutate(arrays: dict[str, Any]) -> None:
        arrays[f"state.{name}"] = np.array(values, dtype=arrays[f"state.{name}"].dtype)

    return mutate


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_with("phase", [2] * 6), "state.phase"),
        (_with("trial_in_phase", [3] * 6), "state.trial_in_phase"),
        (_with("t_in_trial", [-4] * 6), "state.t_in_trial"),
        (_with("t_in_trial", [3] * 6), "state.t_in_trial"),
        (_with("compound", [2] * 6), "state.compound"),
        (_with("compound", [-1] * 6), "state.compound"),
        (_with("trial", [-1] * 6), "state.trial"),
    ],
)
def test_set_state_rejects_unreachable_task_states(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    envs = checkpoint_env()
    envs.reset(seed=0)
    before = envs.get_state()
    broken = json_round_trip(before)
    mutate(broken["arrays"])
    with pytest.raises(ValueError, match=message):
        envs.set_state(broken)
    after = envs.get_state()  # nothing was changed
    assert after["rng_states"] == before["rng_states"]
    for key, value in before["arrays"].items():
        np.testing.assert_array_equal(after["arrays"][key], value)
