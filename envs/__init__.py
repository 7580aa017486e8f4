"""Gymnasium tasks of plasticgym, registered under the ``plasticgym/`` namespace.

Importing this package registers every task once (re-importing or reloading does not
re-register)::

    import gymnasium as gym
    import plasticgym.envs

    env = gym.make("plasticgym/Pavlovian-v0")
    envs = gym.make_vec("plasticgym/Pavlovian-v0", num_envs=8,
                        vectorization_mode="vector_entry_point")

Each task module defines ``<Name>Env`` (single) and ``<Name>VectorEnv`` (native batched),
both running the task's one :class:`~plasticgym.envs._base.TaskDynamics`.
"""

import importlib.util

import gymnasium

TASKS = {
    # id suffix: module
    "Pavlovian-v0": "pavlovian",
    "HabitFormation-v0": "habit",
    "TwoStep-v0": "two_step",
    "SkillLearning-v0": "skill",
    "Reaching-v0": "reaching",
    "Addiction-v0": "addiction",
    "ReversalBandit-v0": "reversal",
    "ToneDiscrimination-v0": "tone",
}


def _class_prefix(env_id: str) -> str:
    return env_id.split("-v")[0]


def _register_all() -> None:
    """Register each task whose module is present, unless its id is already registered."""
    for suffix, module in TASKS.items():
        env_id = f"plasticgym/{suffix}"
        if env_id in gymnasium.registry:
            continue
        if importlib.util.find_spec(f"plasticgym.envs.{module}") is None:
            continue
        prefix = _class_prefix(suffix)
        gymnasium.register(
            id=env_id,
            entry_point=f"plasticgym.envs.{module}:{prefix}Env",
            vector_entry_point=f"plasticgym.envs.{module}:{prefix}VectorEnv",
        )


_register_all()

from plasticgym.envs.pavlovian import PavlovianEnv, PavlovianVectorEnv  # noqa: E402

__all__ = ["TASKS", "PavlovianEnv", "PavlovianVectorEnv"]
