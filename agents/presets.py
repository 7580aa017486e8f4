"""Hyperparameters of :class:`~plasticgym.agents.PlasticAgent` tuned for each task of the suite.

The defaults of :class:`~plasticgym.agents.PlasticAgentConfig` suit Pavlovian conditioning (a
cue that predicts a reward several steps later). Operant tasks differ in what the agent must
bridge: in a bandit each trial is an independent one-step decision (``gamma = 0``: with
``gamma > 0`` the state value of the repeated choice state grows toward ``r / (1 - gamma)`` and
an eligibility trace spreads the credit of one trial's reward over the previous choices);
free-operant pressing is paid on the step of the press (a short trace); the two-step task
needs a trace that carries the second stage's reward back to the first choice. The values below
are the ones the test suite checks each task with (``tests/test_agent_learning.py``; Gymnasium's
``CartPole-v1`` and ``CliffWalking-v1`` in ``tests/test_agent_any_env.py``)::

    from plasticgym.agents import PlasticAgent, plastic_preset

    agent = PlasticAgent("plasticgym/ReversalBandit-v0", n_agents=64, seed=0,
                         **plastic_preset("plasticgym/ReversalBandit-v0"))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

_DEGREE = math.pi / 180.0
CARTPOLE_BOXES: tuple[tuple[float, ...], ...] = (
    (-0.8, 0.8),
    (-0.5, 0.5),
    (-6.0 * _DEGREE, -1.0 * _DEGREE, 0.0, 1.0 * _DEGREE, 6.0 * _DEGREE),
    (-50.0 * _DEGREE, 50.0 * _DEGREE),
)
"""The box edges of CartPole's cart position, cart velocity, pole angle and angular velocity
(Barto, Sutton & Anderson 1983, p. 841: 3 x 3 x 6 x 3 = 162 boxes; the outer bounds, 2.4 m
and 12 degrees, end the episode)."""

PLASTIC_PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "plasticgym/Pavlovian-v0": {},
        "plasticgym/ReversalBandit-v0": {
            "gamma": 0.0,
            "actor_lr": 0.2,
            "actor_weight_max": 0.5,
        },
        "plasticgym/TwoStep-v0": {
            "gamma": 0.9,
            "trace_lambda": 0.9,
            "actor_lr": 0.2,
            "actor_weight_max": 0.5,
            "reward_resets_traces": False,
        },
        "plasticgym/HabitFormation-v0": {
            "trace_lambda": 0.0,
            "actor_lr": 0.2,
        },
        "plasticgym/Addiction-v0": {
            "gamma": 0.0,
            "actor_lr": 0.2,
        },
        "plasticgym/SkillLearning-v0": {
            "gamma": 0.9,
            "trace_lambda": 0.5,
            "actor_lr": 0.2,
            "actor_weight_max": 1.0,
            "n_microstimuli": 10,
            "microstimulus_width": 0.1,
        },
        # one decision per trial; a trace that follows the current tone and a place code of
        # its frequency (the task's one channel) from the microstimuli
        "plasticgym/ToneDiscrimination-v0": {
            "gamma": 0.0,
            "actor_lr": 0.2,
            "n_microstimuli": 13,
            "microstimulus_width": 0.1,
            "stimulus_trace_decay": 0.01,
        },
        "plasticgym/Reaching-v0": {
            "gamma": 0.5,
            "actor_lr": 0.5,
            "exploration_noise": 0.1,
            "target_rate": 0.5,
            "n_microstimuli": 10,
            "microstimulus_width": 0.1,
        },
        # Gymnasium's CartPole: Barto, Sutton & Anderson's (1983) boxes of the four variables
        # (x: +-0.8 m; x': +-0.5 m/s; theta: 0, +-1, +-6 degrees; theta': +-50 degrees/s; 162
        # boxes), each box one feature (one microstimulus, a trace that does not outlast the
        # step), no tonic input (no policy shared across boxes), the policy-gradient post
        # factor, no scaling. The additive on/off code plateaued near 100 (docs/agents.md).
        "CartPole-v1": {
            "box_edges": CARTPOLE_BOXES,
            "gamma": 0.9,
            "trace_lambda": 0.8,
            "critic_lr": 0.5,
            "critic_weight_bound": 20.0,
            "actor_lr": 0.05,
            "actor_post": "centered",
            "synaptic_scaling": False,
            "tonic_input": 0.0,
            "n_microstimuli": 1,
            "stimulus_trace_decay": 0.01,
            "reward_resets_traces": False,
        },
        # Gymnasium's CliffWalking (-1 a step, -100 and back to the start at the cliff): the
        # current cell only (one microstimulus, a trace that does not outlast the step), the
        # policy-gradient post factor, no tonic input (no policy shared across cells), a critic
        # bounded at 12 < 1 / (1 - gamma) = 20: with a wide bound (500), a region the agent roams
        # settles at V = -1 / (1 - gamma), where the TD error of every move inside it is 0 and
        # the agent loops for thousands of steps; bounded at B, those moves keep the error
        # -1 + (1 - gamma) B = -0.4 and the actor leaves them. B = 12 rather than 10 holds the
        # values of the safe path two rows up (17 steps, V = -11.6 at the start) inside the
        # bound, so the critic tells that path from roaming all the way from the start (at 10
        # the first cells of the path were clipped like a roamed region). beta rises from 5
        # to 10 between each agent's 200th and 500th episode (inverse_temperature_schedule):
        # early exploration finds the goal, then the policy settles on its path (at 10 a
        # weight gap of 1 leaves 3 other actions e^-10 each) instead of losing 1-2 steps an
        # episode to exploration; annealing by episodes keeps beta low for agents still
        # roaming. Measured: docs/agents.md.
        "CliffWalking-v1": {
            "gamma": 0.95,
            "trace_lambda": 0.5,
            "critic_lr": 0.5,
            "critic_weight_bound": 12.0,
            "actor_lr": 0.05,
            "actor_weight_max": 1.0,
            "inverse_temperature": 5.0,
            "inverse_temperature_schedule": (10.0, 200, 500),
            "actor_post": "centered",
            "synaptic_scaling": False,
            "tonic_input": 0.0,
            "n_microstimuli": 1,
            "stimulus_trace_decay": 0.01,
            "reward_resets_traces": False,
        },
    }
)
"""Task id -> PlasticAgent hyperparameters tuned for it (see the module docstring)."""


def plastic_preset(env_id: str) -> dict[str, Any]:
    """The tuned PlasticAgent hyperparameters of a registered task, as a new dict.

    Raises:
        ValueError: ``env_id`` has no preset (the message lists those that have one).
    """
    if env_id not in PLASTIC_PRESETS:
        raise ValueError(
            f"no PlasticAgent preset for {env_id!r}; presets exist for {sorted(PLASTIC_PRESETS)}"
        )
    return dict(PLASTIC_PRESETS[env_id])


__all__ = ["CARTPOLE_BOXES", "PLASTIC_PRESETS", "plastic_preset"]
