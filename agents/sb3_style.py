"""What Stable-Baselines3 users reach for on a model, for every population agent: its spaces,
its env, its logger and its parameters."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from torch import Tensor

from plasticgym.agents.vector_env import population_env
from plasticgym.checkpoint import flatten_state
from plasticgym.tblog import TensorBoardLogger


class SB3Style:
    """``observation_space``, ``action_space``, ``logger``, ``get_env``, ``set_env`` and
    ``get_parameters`` of a :class:`~plasticgym.agents.base.PopulationAgent` (a mixin: it reads
    the agent's env, logger and model hooks)."""

    @property
    def observation_space(self) -> gym.Space:
        """One agent's observation space (the vector env's ``single_observation_space``)."""
        return self.env.single_observation_space

    @property
    def action_space(self) -> gym.Space:
        """One agent's action space (the vector env's ``single_action_space``)."""
        return self.env.single_action_space

    @property
    def logger(self) -> TensorBoardLogger | None:
        """The TensorBoard logger (``tensorboard_log=`` given), else None."""
        return self._logger

    def get_env(self) -> gym.vector.VectorEnv:
        """The population's vector env (``num_envs == n_agents``)."""
        return self.env

    def set_env(self, env: str | gym.Env | gym.vector.VectorEnv, **env_kwargs: Any) -> None:
        """Learn on ``env`` from now on (an env id with ``env_kwargs``, a vector env with
        ``num_envs == n_agents``, or a single env when ``n_agents == 1``), keeping the learned
        model. The next ``learn`` starts a new rollout: it resets ``env`` with the agent's env
        seed, so the same calls give the same results. The old env is not closed.

        Raises:
            ValueError: ``env`` has another observation or action space, or another number of
                copies than ``n_agents``; the agent keeps its env then.
        """
        new_env, env_id, kwargs = population_env(env, self.n_agents, env_kwargs or None)
        for name, space in (
            ("observation", new_env.single_observation_space),
            ("action", new_env.single_action_space),
        ):
            if space != getattr(self, f"{name}_space"):
                if new_env is not env:
                    new_env.close()  # made here from an id: nobody else holds it
                raise ValueError(
                    f"set_env: the new env's {name} space {space} differs from the agent's "
                    f"{getattr(self, f'{name}_space')}; the model is built for the latter"
                )
        self.env, self.env_id, self.env_kwargs = new_env, env_id, kwargs
        self._progress = None
        self._env_seeded = False

    def get_parameters(self) -> dict[str, Tensor]:
        """The model's tensors by name, as checkpointed (``"actor.weights"``, ...): copies, so
        changing them changes nothing in the agent."""
        parameters: dict[str, Tensor] = {}
        for name, value in self._model_state().items():
            parameters.update(flatten_state(name, value))
        return {name: tensor.detach().clone() for name, tensor in parameters.items()}
