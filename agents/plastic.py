"""A population of rate-based actor-critic agents whose synapses learn by three-factor rules.

Each agent has a critic (one value neuron) and an actor (one neuron per action) reading the same
presynaptic temporal code of the observations. Both projections keep Hebbian eligibility traces
that turn into weight changes only when dopamine arrives, and the dopamine is the critic's own
reward-prediction error (Barto, Sutton & Anderson 1983; Schultz, Dayan & Montague 1997;
Fremaux & Gerstner 2016). The actor's excitatory synapses can also be homeostatically scaled
toward a target firing rate (Turrigiano et al. 1998).

One step of the population (``B`` agents on a vector env, ``x`` the presynaptic code)::

    r_t, o_t          <- env.step(a_tm1)
    x_t               =  encoder(o_t)                     microstimuli of every stimulus channel
    delta_t           =  r_t + gamma * V(x_t) - V(x_tm1)  TD error; V(x) = w_critic . x
    DA_t              =  g+ [delta_t]+ + g- [delta_t]-    dopamine delivered to synapses
    critic:  e <- gamma lambda e + 1 (x) x_tm1;             w += lr_c DA_t e
    actor:   e <- gamma lambda e + (onehot(a_tm1) - pi_tm1) (x) [x_tm1, 1];  w += lr_a DA_t e
             (-> synaptic scaling -> bounds [0, w_max])
    rates_t  =  relu(W_actor [x_t, 1]);  pi_t = softmax(beta * rates_t);  a_t ~ pi_t
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from plasticgym.checkpoint import (
    CheckpointError,
    flatten_state,
    load_checkpoint,
    save_checkpoint,
    take_tensor,
    unflatten_state,
)
from plasticgym.config import check_bool, check_number, check_per_agent
from plasticgym.encoding import (
    EncoderState,
    MicrostimulusEncoder,
    ObservationReader,
)
from plasticgym.plasticity import (
    PlasticitySignals,
    PlasticityTransform,
    chain,
    synaptic_scaling,
    three_factor,
    weight_bounds,
)
from plasticgym.records import RecordBuffer
from plasticgym.rules import dopamine_from_rpe, td_error
from plasticgym.seeding import SeedPlan, seed_plan, torch_generator
from plasticgym.synapses import Synapses, init_synapses, uniform_weights, update_synapses
from plasticgym.tblog import (
    EPISODIC_RETURN,
    MEAN_ABS_DW,
    MEAN_ABS_RPE,
    MEAN_RATE,
    RPE,
    TensorBoardLogger,
    is_run_dir,
    next_run_dir,
)

Callback = Callable[["PlasticAgent"], bool | None]


@dataclass(frozen=True)
class PlasticAgentConfig:
    """Hyperparameters of :class:`PlasticAgent`; validated on construction.

    Attributes:
        gamma: discount factor of the TD error, in [0, 1).
        trace_lambda: eligibility trace parameter; traces decay by ``gamma * trace_lambda`` per
            step, in [0, 1].
        critic_lr: learning rate of the critic's synapses, > 0.
        actor_lr: learning rate of the actor's synapses, >= 0.
        inverse_temperature: ``beta`` of the softmax over the actor's rates, >= 0.
        dopamine_gain_positive: gain on positive RPEs (bursts), >= 0.
        dopamine_gain_negative: gain on negative RPEs (dips), >= 0.
        n_microstimuli: presynaptic units per stimulus channel, >= 1.
        microstimulus_width: tuning width of each unit in trace height, > 0.
        stimulus_trace_decay: per-step decay of each stimulus's memory trace, in (0, 1).
        reward_resets_traces: a delivered reward ends the memory of preceding stimuli.
        critic_weight_bound: critic weights stay in [-bound, bound], > 0.
        actor_weight_max: actor (excitatory) weights stay in [0, max], > 0.
        actor_init_scale: actor weights start uniform in [0, scale], in [0, actor_weight_max].
        tonic_input: constant presynaptic input of the actor, giving its neurons a baseline
            rate, >= 0.
        homeostasis: synaptic scaling of the actor's synapses on or off.
        target_rate: homeostatic target rate of the actor's neurons, > 0.
        rate_time_constant: steps of the running rate estimate, >= 1.
        scaling_rate: fraction by which scaling moves the weights per step at a rate error equal
            to the target, in [0, 1).
        log_interval: steps between TensorBoard writes, >= 1.

    The fields in ``PER_AGENT`` may also be given once per agent, as a sequence of
    ``n_agents`` numbers (individual differences in a population); every element is validated.
    """

    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "gamma", "trace_lambda", "critic_lr", "actor_lr", "inverse_temperature",
        "dopamine_gain_positive", "dopamine_gain_negative", "tonic_input", "target_rate",
        "rate_time_constant", "scaling_rate",
    )  # fmt: skip

    gamma: float = 0.95
    trace_lambda: float = 0.9
    critic_lr: float = 0.1
    actor_lr: float = 0.05
    inverse_temperature: float = 5.0
    dopamine_gain_positive: float = 1.0
    dopamine_gain_negative: float = 1.0
    n_microstimuli: int = 40
    microstimulus_width: float = 0.02
    stimulus_trace_decay: float = 0.9
    reward_resets_traces: bool = True
    critic_weight_bound: float = 10.0
    actor_weight_max: float = 2.0
    actor_init_scale: float = 0.1
    tonic_input: float = 1.0
    homeostasis: bool = True
    target_rate: float = 0.2
    rate_time_constant: float = 200.0
    scaling_rate: float = 1e-3
    log_interval: int = 100

    def __post_init__(self) -> None:
        def per_agent(field: str, low: float, high: float = math.inf, **kwargs: Any) -> None:
            value = check_per_agent(field, getattr(self, field), check_number, low=low,
                                    high=high, **kwargs)  # fmt: skip
            object.__setattr__(self, field, value)

        per_agent("gamma", 0.0, 1.0, high_open=True)
        per_agent("trace_lambda", 0.0, 1.0)
        per_agent("critic_lr", 0.0, low_open=True)
        per_agent("actor_lr", 0.0)
        per_agent("inverse_temperature", 0.0)
        per_agent("dopamine_gain_positive", 0.0)
        per_agent("dopamine_gain_negative", 0.0)
        check_number("n_microstimuli", self.n_microstimuli, 1, 1000, integer=True)
        check_number("microstimulus_width", self.microstimulus_width, 0.0, low_open=True)
        check_number(
            "stimulus_trace_decay",
            self.stimulus_trace_decay,
            0.0,
            1.0,
            low_open=True,
            high_open=True,
        )
        check_bool("reward_resets_traces", self.reward_resets_traces)
        check_number("critic_weight_bound", self.critic_weight_bound, 0.0, low_open=True)
        check_number("actor_weight_max", self.actor_weight_max, 0.0, low_open=True)
        check_number("actor_init_scale", self.actor_init_scale, 0.0, self.actor_weight_max)
        per_agent("tonic_input", 0.0)
        check_bool("homeostasis", self.homeostasis)
        per_agent("target_rate", 0.0, low_open=True)
        per_agent("rate_time_constant", 1.0)
        per_agent("scaling_rate", 0.0, 1.0, high_open=True)
        check_number("log_interval", self.log_interval, 1, integer=True)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> PlasticAgentConfig:
        """Build a config, rejecting unknown names with the list of known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(
                f"unknown hyperparameter(s) {unknown} for PlasticAgent; known: {sorted(known)}"
            )
        return cls(**kwargs)


class Rollout(NamedTuple):
    """Where the population stands between two steps (everything the next step needs)."""

    encoder: EncoderState
    features: Tensor  # [B, n_features] presynaptic code of the current observation
    actor_input: Tensor  # [B, n_features + 1] the code plus the tonic input
    rates: Tensor  # [B, n_actions] actor rates for the current observation
    post: Tensor  # [B, n_actions] onehot(action) - pi, the actor's Hebbian post factor
    actions: Tensor  # [B] actions chosen for the current observation
    autoreset: Tensor  # [B] bool: the env will reset this agent at the next step
    episode: Tensor  # [B] episode index
    episode_return: Tensor  # [B]
    episode_length: Tensor  # [B]


class PlasticAgent:
    """A population of three-factor actor-critic agents (see the module docstring).

    Args:
        env: a registered env id (made as a native vector env with ``n_agents`` copies), a
            :class:`gymnasium.vector.VectorEnv` with ``num_envs == n_agents``, or a single
            :class:`gymnasium.Env` (then ``n_agents`` must be 1).
        n_agents: independent agents that learn together in one batched program.
        seed: one seed for everything (env, initial weights, action sampling); ``None`` draws
            fresh entropy, recorded in ``agent.seeds`` for replay.
        homeostasis: synaptic scaling of the actor's synapses on or off.
        env_kwargs: keyword arguments for making ``env`` from its id.
        tensorboard_log: folder for TensorBoard runs; None disables logging.
        verbose: 0 silent, 1 a summary line after each ``learn``.
        device: torch device of the synapses ("cpu", "cuda", ...).
        **hyperparameters: fields of :class:`PlasticAgentConfig`.

    Results depend on ``(seed, n_agents)``: the population shares one action-sampling stream.
    """

    def __init__(
        self,
        env: str | gym.Env | gym.vector.VectorEnv,
        *,
        n_agents: int = 1,
        seed: int | None = None,
        homeostasis: bool = True,
        env_kwargs: Mapping[str, Any] | None = None,
        tensorboard_log: str | os.PathLike | None = None,
        verbose: int = 0,
        device: str | torch.device = "cpu",
        **hyperparameters: Any,
    ) -> None:
        check_number("n_agents", n_agents, 1, integer=True)
        check_number("verbose", verbose, 0, 2, integer=True)
        self.config = PlasticAgentConfig.from_kwargs(homeostasis=homeostasis, **hyperparameters)
        self.seeds: SeedPlan = seed_plan(seed)
        self.n_agents = n_agents
        self.verbose = verbose
        self.device = torch.device(device)
        self.env, self.env_id, self.env_kwargs = _population_env(env, n_agents, env_kwargs)
        self._setup_model()
        init_generator = torch_generator(self.seeds.init_seed, self.device)
        actor_weights = uniform_weights(
            tuple(self.actor.weights.shape), 0.0, self.config.actor_init_scale,
            generator=init_generator, device=self.device,
        )  # fmt: skip
        self.actor = init_synapses(self.actor_rule, actor_weights)
        self.run_dir = next_run_dir(tensorboard_log, "PlasticAgent") if tensorboard_log else None
        self._logger = (
            TensorBoardLogger(self.run_dir, self.config.log_interval) if self.run_dir else None
        )

    # ------------------------------------------------------------------ construction helpers

    def _setup_model(self) -> None:
        """Encoder, plasticity chains and zero-initialised synapses from ``self.config``."""
        cfg = self.config
        obs_space = self.env.single_observation_space
        action_space = self.env.single_action_space
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ValueError(
                f"PlasticAgent needs a Discrete action space, got {action_space}; continuous "
                "actions are not supported yet"
            )
        self.n_actions = int(action_space.n)
        self.read_observation = ObservationReader(obs_space, self.device)
        self.encoder = MicrostimulusEncoder(
            self.read_observation.n_channels,
            cfg.n_microstimuli,
            cfg.microstimulus_width,
            cfg.stimulus_trace_decay,
            cfg.reward_resets_traces,
        )
        n_features = self.encoder.n_features
        h = self._hyper = self._per_agent_values()
        trace_decay = h["gamma"] * h["trace_lambda"]
        self.critic_rule: PlasticityTransform = chain(
            three_factor(h["critic_lr"], trace_decay),
            weight_bounds(-cfg.critic_weight_bound, cfg.critic_weight_bound),
        )
        actor_chain = [three_factor(h["actor_lr"], trace_decay)]
        if cfg.homeostasis:
            actor_chain.append(
                synaptic_scaling(h["target_rate"], h["rate_time_constant"], h["scaling_rate"])
            )
        actor_chain.append(weight_bounds(0.0, cfg.actor_weight_max))
        self.actor_rule: PlasticityTransform = chain(*actor_chain)
        B = self.n_agents
        critic_weights = torch.zeros(B, 1, n_features, device=self.device)
        actor_weights = torch.zeros(B, self.n_actions, n_features + 1, device=self.device)
        self.critic = init_synapses(self.critic_rule, critic_weights)
        self.actor = init_synapses(self.actor_rule, actor_weights)
        self._learn_generator = torch_generator(self.seeds.learn_seed, self.device)
        self._predict_generator = torch_generator(self.seeds.predict_seed, self.device)
        self._rollout: Rollout | None = None
        self._env_seeded = False
        self.num_timesteps = 0
        self._record_buffers: list[RecordBuffer] = []
        self._records_cache: pd.DataFrame | None = None

    def _per_agent_values(self) -> dict[str, float | Tensor]:
        """Each per-agent hyperparameter as a float (shared) or a tensor ``[n_agents]``."""
        values: dict[str, float | Tensor] = {}
        for name in PlasticAgentConfig.PER_AGENT:
            value = getattr(self.config, name)
            if isinstance(value, tuple):
                if len(value) != self.n_agents:
                    raise ValueError(
                        f"{name} has {len(value)} values but n_agents={self.n_agents}; give one "
                        "number for all agents or exactly one per agent"
                    )
                values[name] = torch.tensor(value, dtype=torch.float32, device=self.device)
            else:
                values[name] = float(value)
        return values

    @property
    def individual_parameters(self) -> pd.DataFrame:
        """The per-agent hyperparameters in use: one row per agent (join on ``agent``)."""
        columns = {}
        for name, value in self._hyper.items():
            if isinstance(value, Tensor):
                columns[name] = value.cpu().numpy().astype(float)
            else:
                columns[name] = np.full(self.n_agents, value)
        return pd.DataFrame(columns, index=pd.Index(np.arange(self.n_agents), name="agent"))

    @staticmethod
    def _column(value: float | Tensor) -> float | Tensor:
        """A per-agent value shaped to scale rows of a ``[B, n]`` tensor."""
        return value.unsqueeze(1) if isinstance(value, Tensor) else value

    @property
    def critic_weights(self) -> Tensor:
        """Critic synapses ``[n_agents, 1, n_features]``."""
        return self.critic.weights

    @property
    def actor_weights(self) -> Tensor:
        """Actor synapses ``[n_agents, n_actions, n_features + 1]`` (last column: tonic input)."""
        return self.actor.weights

    # ------------------------------------------------------------------ the network

    def value(self, features: Tensor) -> Tensor:
        """Critic output ``V(x) = w . x`` for features ``[B, n_features]``; returns ``[B]``."""
        return torch.matmul(self.critic_weights, features.unsqueeze(-1)).view(-1)

    def _actor_input(self, features: Tensor) -> Tensor:
        tonic = torch.ones_like(features[:, :1]) * self._column(self._hyper["tonic_input"])
        return torch.cat([features, tonic], dim=1)

    def _policy(self, actor_input: Tensor) -> tuple[Tensor, Tensor]:
        """Actor rates ``relu(W x)`` ``[B, n_actions]`` and softmax policy over them."""
        rates = torch.relu(torch.matmul(self.actor_weights, actor_input.unsqueeze(-1)).squeeze(-1))
        beta = self._column(self._hyper["inverse_temperature"])
        return rates, torch.softmax(beta * rates, dim=1)

    @staticmethod
    def _sample(probs: Tensor, generator: torch.Generator) -> Tensor:
        """Inverse-CDF sampling, one uniform draw per agent."""
        u = torch.rand(probs.shape[0], 1, generator=generator, device=probs.device)
        index = (torch.cumsum(probs, dim=1) < u).sum(dim=1)
        return index.clamp(max=probs.shape[1] - 1)

    def _act(self, features: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        actor_input = self._actor_input(features)
        rates, probs = self._policy(actor_input)
        actions = self._sample(probs, self._learn_generator)
        post = torch.nn.functional.one_hot(actions, self.n_actions).to(probs.dtype) - probs
        return actor_input, rates, post, actions

    # ------------------------------------------------------------------ learning

    def _empty_rollout(self) -> Rollout:
        """A rollout of zeros with the right shapes and dtypes (a template for loading)."""
        B, n_features = self.n_agents, self.encoder.n_features
        floats = {"device": self.device}
        longs = {"device": self.device, "dtype": torch.long}
        return Rollout(
            encoder=self.encoder.init(B, self.device),
            features=torch.zeros(B, n_features, **floats),
            actor_input=torch.zeros(B, n_features + 1, **floats),
            rates=torch.zeros(B, self.n_actions, **floats),
            post=torch.zeros(B, self.n_actions, **floats),
            actions=torch.zeros(B, **longs),
            autoreset=torch.zeros(B, dtype=torch.bool, device=self.device),
            episode=torch.zeros(B, **longs),
            episode_return=torch.zeros(B, **floats),
            episode_length=torch.zeros(B, **longs),
        )

    def _start(self) -> Rollout:
        seed = None if self._env_seeded else self.seeds.env_seed
        obs, _ = self.env.reset(seed=seed)
        self._env_seeded = True
        B = self.n_agents
        zeros = torch.zeros(B, device=self.device)
        encoder_state = self.encoder.init(B, self.device)
        channels = self.read_observation(obs)
        start = torch.ones(B, dtype=torch.bool, device=self.device)
        features, encoder_state = self.encoder.encode(encoder_state, channels, zeros, start)
        actor_input, rates, post, actions = self._act(features)
        return Rollout(
            encoder_state, features, actor_input, rates, post, actions,
            autoreset=torch.zeros(B, dtype=torch.bool, device=self.device),
            episode=torch.zeros(B, dtype=torch.long, device=self.device),
            episode_return=zeros.clone(),
            episode_length=torch.zeros(B, dtype=torch.long, device=self.device),
        )  # fmt: skip

    def learn(
        self,
        total_timesteps: int,
        *,
        callback: Callback | None = None,
        progress_bar: bool = False,
        record: bool = False,
    ) -> PlasticAgent:
        """Run ``total_timesteps`` steps of every agent, learning as it goes.

        Args:
            total_timesteps: environment steps per agent.
            callback: called as ``callback(agent)`` after every step; returning False stops.
            progress_bar: show a tqdm progress bar.
            record: append one row per agent per step to :attr:`records`.
        """
        check_number("total_timesteps", total_timesteps, 0, integer=True)
        if self._rollout is None:
            self._rollout = self._start()
        buffer = RecordBuffer(self.n_agents) if record else None
        if buffer is not None:
            self._record_buffers.append(buffer)
            self._records_cache = None
        bar = None
        if progress_bar:
            from tqdm.auto import tqdm

            bar = tqdm(total=total_timesteps, unit="step", desc="PlasticAgent")
        started = time.perf_counter()
        abs_rpe_sum = torch.zeros((), device=self.device)
        steps_done = 0
        try:
            with torch.no_grad():
                for _ in range(total_timesteps):
                    rpe = self._step(buffer)
                    steps_done += 1
                    abs_rpe_sum += rpe.abs().mean()
                    if bar is not None:
                        bar.update(1)
                    if callback is not None and callback(self) is False:
                        break
        finally:
            if bar is not None:
                bar.close()
        if self._logger is not None:
            self._logger.write_means(self.num_timesteps)
            self._logger.flush()
        if self.verbose and steps_done:
            elapsed = time.perf_counter() - started
            print(
                f"PlasticAgent: {steps_done} steps x {self.n_agents} agents in {elapsed:.1f} s "
                f"({steps_done * self.n_agents / elapsed:,.0f} agent-steps/s), "
                f"mean |rpe| {float(abs_rpe_sum) / steps_done:.4f}"
            )
        return self

    def _step(self, buffer: RecordBuffer | None) -> Tensor:
        """One step of the population; returns the TD errors ``[B]``."""
        ro = self._rollout
        assert ro is not None
        obs, reward, terminated, truncated, info = self.env.step(ro.actions.cpu().numpy())
        reward_t = torch.as_tensor(np.asarray(reward, dtype=np.float32), device=self.device)
        if not torch.isfinite(reward_t).all():
            raise ValueError(
                f"the environment returned a non-finite reward at step {self.num_timesteps}: "
                f"{np.asarray(reward)[~np.isfinite(reward)][:5]}; rewards must be finite"
            )
        active = ~ro.autoreset
        terminated_t = torch.as_tensor(np.asarray(terminated), device=self.device)
        done = terminated_t | torch.as_tensor(np.asarray(truncated), device=self.device)
        channels = self.read_observation(obs)
        features, encoder_state = self.encoder.encode(ro.encoder, channels, reward_t, ro.autoreset)

        v_tm1 = self.value(ro.features)
        v_t = self.value(features)
        h = self._hyper
        discount = h["gamma"] * (~terminated_t).to(v_t.dtype)
        rpe = td_error(v_tm1, reward_t, discount, v_t) * active
        dopamine = (
            dopamine_from_rpe(rpe, h["dopamine_gain_positive"], h["dopamine_gain_negative"])
            * active
        )

        critic_signals = PlasticitySignals(
            pre=ro.features, post=torch.ones_like(v_tm1).unsqueeze(1), dopamine=dopamine,
            rate=v_tm1.unsqueeze(1), active=active,
        )  # fmt: skip
        self.critic, dw_critic = update_synapses(self.critic_rule, self.critic, critic_signals)
        actor_signals = PlasticitySignals(
            pre=ro.actor_input, post=ro.post, dopamine=dopamine, rate=ro.rates, active=active
        )
        self.actor, dw_actor = update_synapses(self.actor_rule, self.actor, actor_signals)

        actor_input, rates, post, actions = self._act(features)
        episode = ro.episode + (~active).long()
        episode_return = torch.where(active, ro.episode_return + reward_t, reward_t * 0)
        episode_length = torch.where(active, ro.episode_length + 1, ro.episode_length * 0)

        if buffer is not None:
            buffer.append(
                self._record_columns(ro.actions, reward_t, rpe, dopamine, v_t, episode, info),
                active.cpu().numpy(),
            )
        if self._logger is not None:
            self._log_step(rpe, active, dw_critic, dw_actor, rates, done & active, episode_return)
        self._rollout = Rollout(
            encoder_state, features, actor_input, rates, post, actions,
            autoreset=done, episode=episode, episode_return=episode_return,
            episode_length=episode_length,
        )  # fmt: skip
        self.num_timesteps += 1
        return rpe

    def _record_columns(
        self,
        actions: Tensor,
        reward: Tensor,
        rpe: Tensor,
        dopamine: Tensor,
        value: Tensor,
        episode: Tensor,
        info: Mapping[str, Any],
    ) -> dict[str, np.ndarray]:
        B = self.n_agents
        columns = {
            "agent": np.arange(B),
            "step": np.full(B, self.num_timesteps),
            "episode": episode.cpu().numpy(),
            "trial": np.full(B, -1),
            "phase": np.full(B, "", dtype=object),
            "t_in_trial": np.full(B, 0),
            "action": actions.cpu().numpy(),
            "reward": reward.cpu().numpy(),
            "rpe": rpe.cpu().numpy(),
            "dopamine": dopamine.cpu().numpy(),
            "value": value.cpu().numpy(),
        }
        for key, values in info.items():
            if key.startswith("_") or key in ("final_obs", "final_info", "episode"):
                continue
            array = np.asarray(values)
            if array.shape == (B,):
                columns[key] = array
        return columns

    def _log_step(
        self,
        rpe: Tensor,
        active: Tensor,
        dw_critic: Tensor,
        dw_actor: Tensor,
        rates: Tensor,
        finished: Tensor,
        episode_return: Tensor,
    ) -> None:
        """Means over the agents for which this step was a transition."""
        assert self._logger is not None
        step = self.num_timesteps + 1
        n_active = active.sum().clamp(min=1)
        self._logger.accumulate(
            step,
            **{
                RPE: rpe.sum() / n_active,
                MEAN_ABS_RPE: rpe.abs().sum() / n_active,
                MEAN_ABS_DW: 0.5 * (dw_critic.abs().mean() + dw_actor.abs().mean()),
                MEAN_RATE: rates.mean(),
            },
        )
        if bool(finished.any()):
            self._logger.scalar(EPISODIC_RETURN, float(episode_return[finished].mean()), step)

    @property
    def episodes_completed(self) -> np.ndarray:
        """Episodes each agent has finished so far, ``[n_agents]`` int."""
        if self._rollout is None:
            return np.zeros(self.n_agents, dtype=np.int64)
        finished = self._rollout.episode + self._rollout.autoreset.long()
        return finished.cpu().numpy()

    @property
    def rates(self) -> Tensor | None:
        """The actor's firing rates for the current observation, ``[B, n_actions]`` (None
        before the first ``learn``)."""
        return None if self._rollout is None else self._rollout.rates.clone()

    # ------------------------------------------------------------------ records

    @property
    def records(self) -> pd.DataFrame:
        """Rows recorded by every ``learn(record=True)`` of this agent object, in step order.

        One row per agent per step that was a transition (the vector env's autoreset step is
        none): ``agent, step, episode, trial, phase, t_in_trial, action, reward, rpe, dopamine,
        value`` and the task's info events. Row t's ``action`` and ``reward`` are the action
        sent at step t and the reward it brought; ``rpe`` is the TD error of that transition;
        ``dopamine`` is what reached the synapses; ``value`` is ``V`` of the observation it led
        to.
        """
        if self._records_cache is None:
            frames = [b.to_frame() for b in self._record_buffers if len(b)]
            if not frames:
                self._records_cache = RecordBuffer(self.n_agents).to_frame()
            else:
                frame = pd.concat(frames, ignore_index=True)
                if "phase" in frame:
                    frame["phase"] = frame["phase"].astype("category")
                self._records_cache = frame
        return self._records_cache

    # ------------------------------------------------------------------ acting

    def predict(
        self,
        observation: np.ndarray,
        state: np.ndarray | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Actions for observations, with the presynaptic traces as recurrent ``state``.

        Follows Stable-Baselines3's signature for recurrent policies. ``observation`` is one
        observation (every agent answers it) or a batch ``[n_agents, ...]``; ``state`` is the
        traces returned by the previous call (None: no memory); ``episode_start`` ``[n_agents]``
        clears the traces of agents starting an episode. Rewards are not seen here, so
        ``reward_resets_traces`` does not apply.

        Returns:
            ``(actions, state)``: actions ``[n_agents]`` (shape ``()`` for a single agent given a
            single observation) and the new traces ``[n_agents, n_channels]``.
        """
        space = self.env.single_observation_space
        obs = np.asarray(observation)
        shape = tuple(space.shape or ())
        single = obs.shape == shape
        if single:
            obs = np.repeat(obs[None], self.n_agents, axis=0)
        elif obs.shape != (self.n_agents, *shape):
            raise ValueError(
                f"observation has shape {obs.shape}; expected {shape} (one observation) or "
                f"{(self.n_agents, *shape)} (one per agent)"
            )
        B = self.n_agents
        if state is None:
            encoder_state = self.encoder.init(B, self.device)
        else:
            trace = torch.as_tensor(np.asarray(state, dtype=np.float32), device=self.device)
            if trace.shape != (B, self.encoder.n_channels):
                raise ValueError(
                    f"state has shape {tuple(trace.shape)}; "
                    f"expected ({B}, {self.encoder.n_channels})"
                )
            encoder_state = EncoderState(trace)
        start = torch.zeros(B, dtype=torch.bool, device=self.device)
        if episode_start is not None:
            flags = np.asarray(episode_start)
            if flags.size not in (1, B) or flags.dtype.kind not in "biuf":
                raise ValueError(
                    f"episode_start must be a bool or {B} bools (one per agent), got {flags!r}"
                )
            start = torch.as_tensor(flags.astype(bool).reshape(-1), device=self.device)
            start = start.expand(B)
        with torch.no_grad():
            channels = self.read_observation(obs)
            zeros = torch.zeros(B, device=self.device)
            features, encoder_state = self.encoder.encode(encoder_state, channels, zeros, start)
            _, probs = self._policy(self._actor_input(features))
            if deterministic:
                actions = probs.argmax(dim=1)
            else:
                actions = self._sample(probs, self._predict_generator)
        actions_np = actions.cpu().numpy()
        if single and B == 1:
            actions_np = actions_np.reshape(())
        return actions_np, encoder_state.trace.cpu().numpy()

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike) -> Path:
        """Save synapses, rule states, RNG states, counters and (when possible) the env's state
        to one ``.safetensors`` file, atomically; flushes TensorBoard. Returns the path."""
        tensors: dict[str, Tensor] = {
            "critic.weights": self.critic_weights,
            "actor.weights": self.actor_weights,
            "generator.learn": self._learn_generator.get_state(),
            "generator.predict": self._predict_generator.get_state(),
        }
        tensors.update(flatten_state("critic.state", self.critic.state))
        tensors.update(flatten_state("actor.state", self.actor.state))
        if self._rollout is not None:
            tensors.update(flatten_state("rollout", self._rollout))
        env_meta = None
        env = self.env.unwrapped
        if self._rollout is not None and not hasattr(env, "get_state"):
            warnings.warn(
                f"{type(env).__name__} cannot save its state (no get_state()), so a loaded agent "
                "will restart the env from its first episode instead of continuing exactly",
                stacklevel=2,
            )
        if self._rollout is not None and hasattr(env, "get_state"):
            env_state = env.get_state()
            for name, array in env_state["arrays"].items():
                tensors[f"env.{name}"] = torch.from_numpy(np.ascontiguousarray(array))
            env_meta = {k: v for k, v in env_state.items() if k != "arrays"}
            env_meta["array_names"] = sorted(env_state["arrays"])
        meta = {
            "agent": type(self).__name__,
            "config": dataclasses.asdict(self.config),
            "n_agents": self.n_agents,
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "seeds": self.seeds._asdict(),
            "num_timesteps": self.num_timesteps,
            "env_seeded": self._env_seeded,
            "has_rollout": self._rollout is not None,
            "env_state": env_meta,
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "verbose": self.verbose,
            "device": self.device.type,
        }
        _check_json(meta)
        written = save_checkpoint(path, tensors, meta)
        if self._logger is not None:
            self._logger.histogram("weights/actor", self.actor_weights, self.num_timesteps)
            self._logger.histogram("weights/critic", self.critic_weights, self.num_timesteps)
            self._logger.flush()
        return written

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        env: str | gym.Env | gym.vector.VectorEnv | None = None,
        *,
        device: str | torch.device = "cpu",
    ) -> PlasticAgent:
        """Load an agent saved by :meth:`save`.

        With ``env=None`` the env is remade from its saved id and arguments and restored to its
        saved state, so learning continues exactly where it stopped. A given ``env`` is used
        as it is and reset at the next ``learn``.
        """
        tensors, meta = load_checkpoint(path)
        if meta.get("agent") != cls.__name__:
            raise CheckpointError(f"{path} holds a {meta.get('agent')!r}, not a {cls.__name__}")
        try:
            config = PlasticAgentConfig.from_kwargs(**meta["config"])
            seeds = SeedPlan(**meta["seeds"])
            n_agents = meta["n_agents"]
            env_id = meta["env_id"]
            env_kwargs = meta["env_kwargs"]
            num_timesteps = meta["num_timesteps"]
            for name, value in (*seeds._asdict().items(), ("num_timesteps", num_timesteps)):
                check_number(name, value, 0, integer=True)
            check_number("n_agents", n_agents, 1, integer=True)
            if env_id is not None and not isinstance(env_id, str):
                raise ValueError(f"env_id={env_id!r} must be a string")
            if not isinstance(env_kwargs, dict):
                raise ValueError(f"env_kwargs={env_kwargs!r} must be a mapping")
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"{path} has invalid metadata: {error}") from None
        if env is None:
            if env_id is None:
                raise CheckpointError(
                    f"{path} was saved with an env that has no registered id; pass env= to load"
                )
            env = env_id
        agent = cls.__new__(cls)
        agent.config = config
        agent.seeds = seeds
        agent.n_agents = n_agents
        agent.verbose = int(meta.get("verbose", 0))
        agent.device = torch.device(device)
        restoring_env = isinstance(env, str)
        agent.env, agent.env_id, agent.env_kwargs = _population_env(
            env, n_agents, env_kwargs if restoring_env else None
        )
        agent._setup_model()
        agent.critic = Synapses(
            take_tensor(tensors, "critic.weights", agent.critic.weights),
            unflatten_state("critic.state", agent.critic.state, tensors),
        )
        agent.actor = Synapses(
            take_tensor(tensors, "actor.weights", agent.actor.weights),
            unflatten_state("actor.state", agent.actor.state, tensors),
        )
        saved_device = meta.get("device", "cpu")
        if saved_device == agent.device.type:
            for name, generator in (
                ("generator.learn", agent._learn_generator),
                ("generator.predict", agent._predict_generator),
            ):
                generator.set_state(take_tensor(tensors, name, generator.get_state()).cpu())
        else:
            # torch's CPU and CUDA generators have different states: draw fresh streams,
            # deterministically, from the seed and the step count.
            warnings.warn(
                f"{path} was saved on {saved_device!r} and is loaded on {agent.device.type!r}: "
                "the action-sampling streams restart, so learning will not continue bit-for-bit",
                stacklevel=2,
            )
            agent._learn_generator.manual_seed(seeds.learn_seed + num_timesteps)
            agent._predict_generator.manual_seed(seeds.predict_seed + num_timesteps)
        agent.num_timesteps = num_timesteps
        # A restored env continues its own stream; a user's env is seeded afresh at next learn.
        agent._env_seeded = restoring_env and bool(meta.get("env_seeded", False))
        env_meta = meta.get("env_state")
        if restoring_env and meta.get("has_rollout") and env_meta is not None:
            agent._rollout = unflatten_state("rollout", agent._empty_rollout(), tensors)
            arrays = {}
            for name in env_meta.get("array_names", []):
                if f"env.{name}" not in tensors:
                    raise CheckpointError(f"{path} lacks env array {name!r}")
                arrays[name] = tensors[f"env.{name}"].numpy()
            env_state = {k: v for k, v in env_meta.items() if k != "array_names"}
            env_state["arrays"] = arrays
            try:
                agent.env.unwrapped.set_state(env_state)
            except ValueError as error:
                raise CheckpointError(f"{path} has an invalid env state: {error}") from None
        if agent._rollout is None:
            agent._env_seeded = False
        run_dir = meta.get("run_dir")
        agent.run_dir = None
        if isinstance(run_dir, str) and is_run_dir(Path(run_dir)):
            agent.run_dir = Path(run_dir)
        elif run_dir:
            # Only continue logging into a folder that is already a TensorBoard run: a checkpoint
            # must not choose where files are written.
            warnings.warn(
                f"TensorBoard logging of the loaded agent is off: its run folder {run_dir!r} is "
                "not an existing TensorBoard run",
                stacklevel=2,
            )
        agent._logger = (
            TensorBoardLogger(agent.run_dir, config.log_interval) if agent.run_dir else None
        )
        return agent

    def close(self) -> None:
        """Close the env and the TensorBoard writer."""
        if self._logger is not None:
            self._logger.close()
        self.env.close()


def _check_json(meta: dict) -> None:
    try:
        json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot save: metadata is not JSON-serialisable ({error})") from None


def _population_env(
    env: str | gym.Env | gym.vector.VectorEnv,
    n_agents: int,
    env_kwargs: Mapping[str, Any] | None,
) -> tuple[gym.vector.VectorEnv, str | None, dict[str, Any]]:
    """A vector env with one copy of the task per agent, its id and its arguments."""
    if isinstance(env, str):
        kwargs = dict(env_kwargs or {})
        if env not in gym.registry:
            raise ValueError(
                f"unknown env id {env!r}; registered plasticgym tasks: "
                f"{sorted(k for k in gym.registry if k.startswith('plasticgym/'))}"
            )
        mode = "vector_entry_point" if gym.registry[env].vector_entry_point else "sync"
        vector_env = gym.make_vec(env, num_envs=n_agents, vectorization_mode=mode, **kwargs)
        return vector_env, env, _json_kwargs(kwargs)
    if env_kwargs:
        raise ValueError("env_kwargs can only be given with an env id, not with an env instance")
    if isinstance(env, gym.vector.VectorEnv):
        if env.num_envs != n_agents:
            raise ValueError(
                f"the vector env has num_envs={env.num_envs} but n_agents={n_agents}; "
                "they must match"
            )
        vector_env = env
    elif isinstance(env, gym.Env):
        if n_agents != 1:
            raise ValueError(
                f"a single env serves one agent, got n_agents={n_agents}; pass an env id or a "
                "vector env for a population"
            )
        vector_env = gym.vector.SyncVectorEnv([lambda: env])
        env_spec = env.spec
        vector_env_id = env_spec.id if env_spec is not None else None
        kwargs = _json_kwargs(dict(env_spec.kwargs)) if env_spec is not None else {}
        return vector_env, vector_env_id, kwargs
    else:
        raise ValueError(
            f"env must be an env id, a gymnasium.Env or a gymnasium.vector.VectorEnv, got {env!r}"
        )
    spec = getattr(vector_env, "spec", None)
    env_id = spec.id if spec is not None else None
    kwargs = {}
    if spec is not None:
        skip = ("num_envs", "vectorization_mode", "max_episode_steps")
        kwargs = _json_kwargs({k: v for k, v in spec.kwargs.items() if k not in skip})
    return vector_env, env_id, kwargs


def _json_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Env arguments as JSON would give them back (tuples become lists)."""
    try:
        return json.loads(json.dumps(kwargs, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"env arguments must be JSON-serialisable to be checkpointed: {error}"
        ) from None


__all__ = ["PlasticAgent", "PlasticAgentConfig"]
