"""Gymnasium tasks of plasticgym, registered under the ``plasticgym/`` namespace.

Importing this package registers every task once (re-importing or reloading does not
re-register)::

    import gymnasium as gym
    import plasticgym.envs

    env = gym.make("plasticgym/Pavlovian-v0")
    envs = gym.make_vec("plasticgym/Pavlovian-v0", num_envs=8,
                        vectorization_mode="vector_entry_point")
"""

import gymnasium

from plasticgym.envs.pavlovian import PavlovianEnv, PavlovianVectorEnv

__all__ = ["PavlovianEnv", "PavlovianVectorEnv"]

_ENVS = (
    {
        "id": "plasticgym/Pavlovian-v0",
        "entry_point": "plasticgym.envs.pavlovian:PavlovianEnv",
        "vector_entry_point": "plasticgym.envs.pavlovian:PavlovianVectorEnv",
    },
)


def _register_all() -> None:
    """Register each task unless an env with its id is already in gymnasium's registry."""
    for kwargs in _ENVS:
        if kwargs["id"] not in gymnasium.registry:
            gymnasium.register(**kwargs)


_register_all()
