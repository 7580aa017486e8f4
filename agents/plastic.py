"""A population of rate-based actor-critic agents whose synapses learn by three-factor rules.

Each agent has a critic (one value neuron) and an actor (one neuron per action) reading the same
presynaptic temporal code of the observations. Both projections keep Hebbian eligibility traces
that turn into weight changes only when dopamine arrives, and the dopamine is the critic's own
reward-prediction error (Barto, Sutton & Anderson 1983; Schultz, Dayan & Montague 1997;
Fremaux & Gerstner 2016). The agent is a composition of parts (:mod:`plasticgym.parts`), each
chosen by one argument: the dopamine model, synaptic scaling of the actor, a habit pathway,
goal-directed evaluation and latent causes (see :class:`PlasticAgentConfig`).

One step of the population (``B`` agents on a vector env, ``x`` the presynaptic code)::

    r_t, o_t          <- env.step(a_tm1)
    x_t               =  encoder(o_t)                      microstimuli of every channel
                         with a topographic map: [microstimuli of the other channels, y_t],
                         y_t the map's response to its channel (plasticgym.maps)
                         (x) p_t  with latent causes: the code of each cause, x belief
    delta_t, DA_t     =  dopamine.update(V(x_tm1), r_t, gamma, V(x_t), events)   V(x) = w_c . x
                         TD: delta_t = r_t + gamma V(x_t) - V(x_tm1);  DA_t = delta_t
    DA_t              <- g+ [DA_t]+ + g- [DA_t]- + tonic                the agent's gains
    critic:  e <- gamma lambda e + 1 (x) x_tm1;              w += lr_c DA_t e   (bounds)
    actor:   e <- gamma lambda e + post_tm1 (x) [x_tm1, 1];  w += lr_a DA_t e
             (-> synaptic scaling -> bounds [0, w_max] -> structure: absent slots held at 0;
             every interval spines eliminated and formed, plasticgym.structure)
    habit:   H += alpha_H (a_tm1 - H [x_tm1, 1]) (x) [x_tm1, 1]          no dopamine
    map:     W += eta m_t y_j (x^ - W_j) + rho (W0 - W)    m_t: stimulation pulse or [DA_t]+
    goal:    M_a += eta [a_tm1 = a] (c_t - M_a x_tm1) (x) x_tm1
    rates_t  =  relu(W_actor [x_t, 1])
    Discrete: D_t = rates_t (+ goal_weight G_t);  D_t <- (1 - w_H) D_t + w_H habit_weight H x_t
              pi_t = softmax(beta D_t); a_t ~ pi_t; post_t = onehot(a_t)
              (or onehot(a_t) - pi_t with actor_post="centered", onehot(a_t) rates_t
              with actor_post="rate": a rate-based Hebbian term)
    Box (node perturbation): a_t = clip(rates_t + sigma xi); post_t = a_t - rates_t
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import Tensor

from plasticgym.agents.base import PopulationAgent, StepResult
from plasticgym.agents.persistence import check_weight_bounds
from plasticgym.agents.plastic_actions import (
    ActionReadout,
    annealed_inverse_temperature,
    batched_observation,
    episode_starts,
    predict_traces,
)
from plasticgym.agents.plastic_config import PlasticAgentConfig, flat_kwargs
from plasticgym.agents.plastic_readouts import PlasticReadouts
from plasticgym.config import check_number
from plasticgym.dopamine import task_events
from plasticgym.encoding import EncoderState, MicrostimulusEncoder, ObservationReader
from plasticgym.habits import GoalDirected, HabitState
from plasticgym.latent_causes import gate_by_cause
from plasticgym.maps import STIMULATION_KEY, MapState, neighbourhood
from plasticgym.plasticity import PlasticitySignals, chain, three_factor, weight_bounds
from plasticgym.rules import dopamine_from_rpe
from plasticgym.structure import (
    StructureState,
    TurnoverStatistics,
    find_structure,
    pass_time,
    structure_seeds,
    turnover_statistics,
)
from plasticgym.synapses import (
    Projection,
    Synapses,
    TaggedSynapse,
    rest,
    set_protein_synthesis_blocked,
    uniform_weights,
)


class Rollout(NamedTuple):
    """The model's side of the population between two steps."""

    encoder: EncoderState
    features: Tensor  # [B, n_features] presynaptic code of the current observation (gated by
    # the belief in each latent cause when there are several)
    actor_input: Tensor  # [B, n_features + 1] the code plus the tonic input
    rates: Tensor  # [B, n_actions] actor rates for the current observation
    post: Tensor  # [B, n_actions] the actor's Hebbian post factor for the action taken
    chosen: Tensor  # [B, n_actions] one-hot of the action taken (zeros for Box actions)
    channels: Tensor  # [B, n_channels] stimulus channels of the current observation

    @classmethod
    def zeros(
        cls, encoder: EncoderState, n_features: int, n_actions: int, n_channels: int
    ) -> Rollout:
        """A rollout of zeros with the right shapes (a template for loading one)."""
        trace = encoder.trace
        B = trace.shape[0]
        zeros = functools.partial(torch.zeros, device=trace.device)
        return cls(encoder, zeros(B, n_features), zeros(B, n_features + 1),
                   zeros(B, n_actions), zeros(B, n_actions), zeros(B, n_actions),
                   zeros(B, n_channels))  # fmt: skip


class PlasticAgent(PlasticReadouts, PopulationAgent):
    """A population of three-factor actor-critic agents (see the module docstring).

    Args:
        env: a registered env id, a vector env with ``num_envs == n_agents``, or a single env.
        n_agents: independent agents that learn together in one batched program.
        seed: one seed for everything; ``None`` draws fresh entropy (kept in ``agent.seeds``).
        env_kwargs, tensorboard_log, verbose, device: see :class:`PopulationAgent`.
        **hyperparameters: core fields and parts of :class:`PlasticAgentConfig` (part objects
            or their flat keywords).
    """

    config_class: ClassVar[type] = PlasticAgentConfig

    def __init__(self, env: Any, **kwargs: Any) -> None:
        super().__init__(env, **flat_kwargs(kwargs))

    # ------------------------------------------------------------------ model

    def _build(self) -> None:
        """Encoder, parts, projections and their initial state from ``self.config``."""
        cfg, h, B, device = self.config, self._hyper, self.n_agents, self.device
        self.readout = ActionReadout.for_space(self.env.single_action_space, cfg.actor_post, device)
        self.continuous, self.n_actions = self.readout.continuous, self.readout.n_actions
        self.read_observation = ObservationReader(
            self.env.single_observation_space, device, box_edges=cfg.box_edges
        )
        self.observation_stats = self.read_observation.init(B, device)  # signed Box: moments
        parts = {name: part.bound(h) for name, part in cfg.parts().items()}
        n_channels = self.read_observation.n_channels
        self.sensory_map = parts.get("topographic_map")
        n_encoded = self._build_map(n_channels)
        self.encoder = encoder = MicrostimulusEncoder(
            n_encoded, cfg.n_microstimuli, cfg.microstimulus_width,
            cfg.stimulus_trace_decay, cfg.reward_resets_traces,
        )  # fmt: skip
        self.dopamine = parts["dopamine"]
        self.habit, self.goal = parts.get("habit"), parts.get("goal_directed")
        self.cause_model = parts.get("latent_causes")
        self.systems = parts.get("systems")
        if self.continuous and cfg.inverse_temperature_schedule is not None:
            raise ValueError(
                "inverse_temperature_schedule needs a Discrete action space (it anneals the "
                f"softmax over actions), got {self.env.single_action_space}"
            )
        if self.continuous and (self.habit or self.goal or self.systems):
            raise ValueError(
                "habit=True, goal_directed=True and systems=True need a Discrete action space "
                f"(they value discrete actions), got {self.env.single_action_space}"
            )
        n_causes = self.cause_model.max_causes if self.cause_model else 1
        n_map_units = self.sensory_map.n_units if self.sensory_map else 0
        self.n_features = n_features = (encoder.n_features + n_map_units) * n_causes
        trace_decay = h["gamma"] * h["trace_lambda"]
        bound = cfg.critic_weight_bound
        critic_rule = chain(three_factor(h["critic_lr"], trace_decay), weight_bounds(-bound, bound))
        scaling = [parts["scaling"].transform()] if "scaling" in parts else []
        hebbian = parts["synapse"].transforms(h["actor_lr"], trace_decay)
        self.structure = parts.get("structure")
        structure = []
        if self.structure is not None:
            structure = [self.structure.transform(structure_seeds(self.seeds.init_seed, B))]
        actor_rule = chain(*hebbian, *scaling, weight_bounds(0.0, cfg.actor_weight_max), *structure)
        zeros = torch.zeros
        self.critic = Projection.create(critic_rule, zeros(B, 1, n_features, device=device))
        actor_weights = zeros(B, self.n_actions, n_features + 1, device=device)
        self.actor = Projection.create(actor_rule, actor_weights)
        self.dopamine_state = self.dopamine.init(B, device)
        self._tonic_column = torch.ones(B, 1, device=device) * self._column(h["tonic_input"])
        self._no_summary = torch.full((), math.nan, device=device)
        self._critic_post = torch.ones(B, 1, device=device)  # the critic's Hebbian post factor
        self._build_pathways(n_channels)
        self._rollout: Rollout | None = None

    def _build_map(self, n_channels: int) -> int:
        """The topographic map's state, kernel and set point (None without a map); returns how
        many channels the microstimulus encoder codes (all but the map's)."""
        topo, B, device = self.sensory_map, self.n_agents, self.device
        self.map_state: MapState | None = None
        if topo is None:
            return n_channels
        if topo.channel >= n_channels:
            raise ValueError(
                f"map_channel={topo.channel} is invalid: the observation space "
                f"{self.env.single_observation_space} has {n_channels} stimulus channel(s), "
                f"choose one in [0, {n_channels - 1}]"
            )
        self.map_state = topo.init(B, device)
        self._map_kernel = neighbourhood(topo.n_units, topo.neighbourhood, device)
        self._map_set_point = topo.set_point(device)
        kept = [c for c in range(n_channels) if c != topo.channel]
        self._encoded_channels = torch.tensor(kept, dtype=torch.long, device=device)
        return n_channels - 1

    def _build_pathways(self, n_channels: int) -> None:
        """Initial state of the habit, goal-directed and latent-cause parts (None if off)."""
        B, A, F, device = self.n_agents, self.n_actions, self.n_features, self.device
        habit, goal, causes = self.habit, self.goal, self.cause_model
        self.habit_state = habit.init(B, A, F + 1, n_channels, device) if habit else None
        self.goal_state = GoalDirected.init(B, A, n_channels, F, device) if goal else None
        self.fast_store = self.systems.init(B, A, F + 1, device) if self.systems else None
        self.causes = None
        if causes is not None:
            watched = causes.watched(n_channels)
            self._cause_channels = torch.tensor(watched, device=device)
            self.causes = causes.init(B, len(watched), device)

    def _initialise(self, generator: torch.Generator) -> None:
        actor_weights = uniform_weights(
            tuple(self.actor.weights.shape), 0.0, self.config.actor_init_scale,
            generator=generator, device=self.device,
        )  # fmt: skip
        actor = Projection.create(self.actor.rule, actor_weights)
        if self.structure is not None:  # slots without a spine hold no synapse
            exists = self.structure_state.exists
            actor = actor.with_weights(torch.where(exists, actor_weights, 0.0))
        self.actor = self.config.synapse.seeded(actor, generator)

    # ------------------------------------------------------------------ learning

    def learn(self, total_timesteps: int, **kwargs: Any) -> PlasticAgent:
        """:meth:`PopulationAgent.learn`; refuses an annealed ``beta`` on the compiled step,
        which reads ``inverse_temperature`` only (:mod:`plasticgym.agents.plastic_compiled`)."""
        if self.config.inverse_temperature_schedule is not None:
            from plasticgym.agents.plastic_compiled import is_compiled

            if is_compiled(self):
                raise ValueError(
                    "inverse_temperature_schedule is not applied by the compiled step "
                    "(compile_step); learn with the eager step (a new agent without "
                    "compile_step) or without the schedule"
                )
        return super().learn(total_timesteps, **kwargs)

    def _learn_step(
        self,
        obs: np.ndarray,
        reward: Tensor,
        terminated: Tensor,
        active: Tensor,
        generator: torch.Generator,
    ) -> StepResult:
        ro = self._rollout
        assert ro is not None
        channels, self.observation_stats = self._read(obs)
        code, encoder, activity = self._sense(ro.encoder, channels, reward, ~active)
        if self.cause_model is not None:
            watched = channels[:, self._cause_channels]
            self.causes = self.cause_model.infer(self.causes, watched, active)
        x_t = self._code(code)
        v_tm1, v_t = self.value(ro.features), self.value(x_t)
        rpe, dopamine = self._dopamine(v_tm1, reward, terminated, v_t, active)
        if activity is not None:
            self._learn_map(activity, dopamine, active)
        all_active = bool(active.all()) if active.device.type == "cpu" else None
        self.critic, dw_critic = self.critic.learn(PlasticitySignals(
            pre=ro.features, post=self._critic_post, dopamine=dopamine,
            rate=v_tm1.unsqueeze(1), active=active, all_active=all_active,
        ))  # fmt: skip
        self.actor, dw_actor = self.actor.learn(PlasticitySignals(
            pre=ro.actor_input, post=ro.post, dopamine=dopamine, rate=ro.rates, active=active,
            events=self._synapse_events(),
            all_active=all_active,
        ))  # fmt: skip
        self._learn_pathways(ro, channels, reward, active)
        if self.systems is not None:
            self.fast_store = self.systems.update(
                self.fast_store, ro.actor_input, ro.post, dopamine, active,
                self._hyper["gamma"] * self._hyper["trace_lambda"], self.config.actor_weight_max,
            )  # fmt: skip
        if self.cause_model is not None:
            x_t = self._learn_causes(code, x_t, rpe, active)
        self._rollout, actions = self._act(encoder, x_t, channels, generator)
        return StepResult(
            actions=actions, rpe=rpe, dopamine=dopamine, value=v_t,
            **self._summary(dw_critic, dw_actor),
        )  # fmt: skip

    def _sense(
        self, encoder_state: EncoderState, channels: Tensor, reward: Tensor, reset: Tensor
    ) -> tuple[Tensor, EncoderState, Any]:
        """The stimulus code: microstimuli of every channel but the map's, then the map's
        responses (with a topographic map); returns ``(code, encoder_state, activity)``,
        ``activity`` the map's ``(response, thalamus)`` or None without a map."""
        if self.sensory_map is None:
            code, encoder_state = self.encoder.encode(encoder_state, channels, reward, reset)
            return code, encoder_state, None
        encoded = channels[:, self._encoded_channels]
        code, encoder_state = self.encoder.encode(encoder_state, encoded, reward, reset)
        response, thalamus = self.sensory_map.respond(self.map_state, channels, self._map_kernel)
        return torch.cat([code, response], dim=1), encoder_state, (response, thalamus)

    def _synapse_events(self) -> dict[str, Tensor] | None:
        """The task events the actor's synapse model reads (its ``EVENTS``, e.g. ``novelty``
        for ``TaggedSynapse(trigger_event="novelty")``) from this step's info; None if none."""
        synapse = self.config.synapse
        if not synapse.EVENTS:
            return None
        return task_events(synapse, self._step_info, self.device, role="synapse")

    def _learn_map(self, activity: tuple[Tensor, Tensor], dopamine: Tensor, active: Tensor) -> None:
        """Neuromodulated plasticity of the map (:meth:`TopographicMap.learn`): the task's
        nucleus-basalis pulse with this stimulus, or the positive dopamine of this step."""
        topo = self.sensory_map
        if topo.modulator == "dopamine":
            modulator = torch.relu(dopamine)
        else:
            info = self._step_info
            if STIMULATION_KEY not in info:
                raise ValueError(
                    f"map_modulator='stimulation' needs the env's info key {STIMULATION_KEY!r} "
                    "(provided by plasticgym/ToneDiscrimination-v0); this env has "
                    f"{sorted(k for k in info if not k.startswith('_'))}"
                )
            pulse = np.asarray(info[STIMULATION_KEY], dtype=np.float32)
            modulator = torch.as_tensor(pulse, device=self.device)
        self.map_state = topo.learn(
            self.map_state, *activity, modulator, self._map_set_point, active
        )

    def _dopamine(
        self, v_tm1: Tensor, reward: Tensor, terminated: Tensor, v_t: Tensor, active: Tensor
    ) -> tuple[Tensor, Tensor]:
        """The model's prediction error and the dopamine delivered: the model's signal through
        the agent's gains (:func:`dopamine_from_rpe`) plus its tonic level."""
        h = self._hyper
        discount = h["gamma"] * (~terminated).to(v_t.dtype)
        events = task_events(self.dopamine, self._step_info, self.device, terminated)
        rpe, signal, self.dopamine_state = self.dopamine.update(
            self.dopamine_state, v_tm1, reward, discount, v_t, events, active
        )
        dopamine = dopamine_from_rpe(
            signal, h["dopamine_gain_positive"], h["dopamine_gain_negative"]
        )
        return rpe, (dopamine + h["dopamine_tonic"]) * active

    def _learn_pathways(
        self, ro: Rollout, channels: Tensor, reward: Tensor, active: Tensor
    ) -> None:
        """Habit learning on the action just taken, and the goal-directed models of which
        stimuli appeared after it (onsets, ``[c_t - c_tm1]+``: a context that was already there
        is no outcome of it) and which reward came with the stimuli."""
        if self.habit is None and self.goal is None:
            return
        onsets = torch.relu(channels - ro.channels)
        if self.habit is not None:
            self.habit_state = self.habit.update(
                self.habit_state, ro.chosen, ro.actor_input, onsets, ro.channels, active
            )
        if self.goal is not None:
            self.goal_state = self.goal.update(
                self.goal_state, ro.chosen, ro.features, onsets, channels, reward, active,
                channels_tm1=ro.channels, dopamine_gains=(
                    self._hyper["dopamine_gain_positive"], self._hyper["dopamine_gain_negative"]
                ),
            )  # fmt: skip

    def _learn_causes(self, code: Tensor, features: Tensor, rpe: Tensor, active: Tensor) -> Tensor:
        """Cause models learn (:meth:`CauseInference.learn`); agents due form a new cause whose
        synapses, in every projection, copy those believed in until now
        (:meth:`CauseInference.split`). ``features`` is the code gated by the belief before
        this update; returns it under the updated belief."""
        self.causes, due = self.cause_model.learn(self.causes, rpe, active)
        if not bool(due.any()):  # causes form rarely: skip copying every synapse
            return features
        habits = () if self.habit_state is None else (self.habit_state.strength,)
        weights = (self.critic.weights, self.actor.weights, *habits)
        self.causes, (critic, actor, *habits) = self.cause_model.split(
            self.causes, due, weights, self.encoder.n_features
        )
        self.critic, self.actor = self.critic.with_weights(critic), self.actor.with_weights(actor)
        if habits:
            self.habit_state = self.habit_state._replace(strength=habits[0])
        return gate_by_cause(code, self.causes.posterior)

    def _summary(self, dw_critic: Tensor, dw_actor: Tensor) -> dict[str, Tensor]:
        """TensorBoard's step summaries, computed only when something logs them."""
        if self._logger is None:
            return {"mean_abs_dw": self._no_summary, "mean_rate": self._no_summary}
        assert self._rollout is not None
        return {
            "mean_abs_dw": 0.5 * (dw_critic.abs().mean() + dw_actor.abs().mean()),
            "mean_rate": self._rollout.rates.mean(),
        }

    def _record_columns(
        self,
        actions: Tensor,
        reward: Tensor,
        result: StepResult,
        episode: Tensor,
        info: Mapping[str, Any],
    ) -> dict[str, np.ndarray]:
        """The base columns, plus ``cause`` (the most believed latent cause of the observation
        each step led to) with latent causes."""
        columns = super()._record_columns(actions, reward, result, episode, info)
        if self.causes is not None:
            columns["cause"] = self.causes.posterior.argmax(dim=1).cpu().numpy()
        if self.structure is not None:
            stats = self.spine_statistics()
            columns["spine_density"] = stats.density
            columns["spines_formed"] = stats.formed
            columns["spines_eliminated"] = stats.eliminated
            columns["new_spines_surviving"] = stats.new_surviving
        return columns

    # ------------------------------------------------------------------ acting

    def _begin(self, obs: np.ndarray) -> Tensor:
        B = self.n_agents
        channels, self.observation_stats = self._read(obs)
        start = torch.ones(B, dtype=torch.bool, device=self.device)
        zeros = torch.zeros(B, device=self.device)
        features, encoder, activity = self._sense(
            self.encoder.init(B, self.device), channels, zeros, start
        )
        if activity is not None:  # the first stimulus: remembered, not learned from
            self.map_state = self.map_state._replace(response=activity[0], thalamus=activity[1])
        if self.causes is not None:
            self.causes = self.causes._replace(summary=channels[:, self._cause_channels])
        events = task_events(self.dopamine, self._step_info, self.device)
        self.dopamine_state = self.dopamine.begin(self.dopamine_state, events)
        self._synapse_events()  # (a task without the synapse's events fails here, clearly)
        self._rollout, actions = self._act(
            encoder, self._code(features), channels, self._learn_generator
        )
        return actions

    def _read(self, obs: Any) -> tuple[Tensor, Any]:
        """Stimulus channels of observations seen while learning (they update the running
        normalisation of signed Box elements, :mod:`plasticgym.encoding`)."""
        return self.read_observation(obs, self.observation_stats, update=True)

    def _code(self, features: Tensor) -> Tensor:
        """The presynaptic code of the synapses: the encoder's features, gated by the belief in
        each latent cause when there are several (:func:`gate_by_cause`)."""
        if self.causes is None:
            return features
        return gate_by_cause(features, self.causes.posterior)

    def value(self, features: Tensor) -> Tensor:
        """Critic output ``V(x) = w . x`` for features ``[B, n_features]``; returns ``[B]``."""
        return self.critic.drive(features).view(-1)

    def _policy(self, actor_input: Tensor) -> tuple[Tensor, Tensor]:
        """Actor rates ``relu(W x)`` ``[B, n_actions]`` and the softmax policy over the drive
        ``D`` (see the module docstring): the rates, plus ``goal_weight * G`` with
        goal-directed evaluation, mixed with the habit drive by the arbiter with habits."""
        rates = torch.relu(self.actor.drive(actor_input))
        drive = rates
        if self.systems is not None:
            drive = self.systems.drive(drive, self.fast_store, actor_input)
        if self.goal is not None:
            drive = self.goal.drive(drive, self.goal_directed_values(actor_input[:, :-1]))
        if self.habit is not None:
            drive = self.habit.control(drive, self.habit_state, actor_input)
        return rates, torch.softmax(self._beta() * drive, dim=1)

    def _beta(self) -> float | Tensor:
        """The softmax's inverse temperature, per agent after the episodes each has completed
        with ``inverse_temperature_schedule`` (:func:`annealed_inverse_temperature`)."""
        beta = self._hyper["inverse_temperature"]
        schedule = self.config.inverse_temperature_schedule
        if schedule is None:
            return self._column(beta)
        beta_final, first, last = schedule
        episodes = torch.zeros(self.n_agents, dtype=torch.long, device=self.device)
        if self._progress is not None:
            episodes = self._progress.episode
        return annealed_inverse_temperature(beta, beta_final, episodes, first, last).unsqueeze(1)

    def _act(
        self,
        encoder: EncoderState,
        features: Tensor,
        channels: Tensor,
        generator: torch.Generator,
    ) -> tuple[Rollout, Tensor]:
        """Choose actions and the actor's Hebbian post factor for them
        (:meth:`ActionReadout.select`: a softmax choice, or node perturbation for Box
        actions)."""
        actor_input = torch.cat([features, self._tonic_column], dim=1)
        rates, probs = self._policy(actor_input)
        actions, post, chosen = self.readout.select(
            rates, probs, self._hyper["exploration_noise"], generator
        )
        return Rollout(encoder, features, actor_input, rates, post, chosen, channels), actions

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
        ``reward_resets_traces`` does not apply. With latent causes the code is gated by each
        agent's current belief (:meth:`cause_posterior`, from its last learning step), which
        predicting does not change.

        Returns:
            ``(actions, state)``: actions ``[n_agents]`` (shape ``()`` for a single agent given a
            single observation) and the new traces ``[n_agents, n_channels]``.
        """
        space, B = self.env.single_observation_space, self.n_agents
        obs, single = batched_observation(observation, space, B)
        encoder_state = predict_traces(state, self.encoder, B, self.device)
        start = episode_starts(episode_start, B, self.device)
        with torch.no_grad():
            channels, _ = self.read_observation(obs, self.observation_stats)
            zeros = torch.zeros(self.n_agents, device=self.device)
            features, encoder_state, _ = self._sense(encoder_state, channels, zeros, start)
            actor_input = torch.cat([self._code(features), self._tonic_column], dim=1)
            rates, probs = self._policy(actor_input)
            actions = self.readout.act(rates, probs, self._hyper["exploration_noise"],
                                       deterministic, self._predict_generator)  # fmt: skip
        actions_np = actions.cpu().numpy()
        if single and self.n_agents == 1:
            actions_np = actions_np[0]
        return actions_np, encoder_state.trace.cpu().numpy()

    # ------------------------------------------------------------------ checkpoint hooks

    def _model_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "critic.weights": self.critic.weights,
            "actor.weights": self.actor.weights,
            "critic.state": self.critic.synapses.state,
            "actor.state": self.actor.synapses.state,
            "dopamine.state": self.dopamine_state,
        }
        if self.habit_state is not None:
            state["habit.strength"] = self.habit_state.strength
            state["habit.contingency"] = self.habit_state.contingency
        if self.goal_state is not None:
            state["goal.outcome_model"] = self.goal_state.outcome_model
            state["goal.reward_model"] = self.goal_state.reward_model
        if self.causes is not None:
            state["causes"] = self.causes
        if self.fast_store is not None:
            state["systems.fast_store"] = self.fast_store
        if self.observation_stats is not None:
            state["observation.stats"] = self.observation_stats
        if self.map_state is not None:
            state["map.state"] = self.map_state
        if self._rollout is not None:
            state["rollout"] = self._rollout
        return state

    def _empty_rollout_state(self) -> dict[str, Any]:
        encoder = self.encoder.init(self.n_agents, self.device)
        n_channels = self.read_observation.n_channels
        return {"rollout": Rollout.zeros(encoder, self.n_features, self.n_actions, n_channels)}

    @classmethod
    def _upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Tagged synapses saved before ``sampled`` existed had expected-value tags."""
        if config.get("synapse") == "tagged" and "tagged_sampled" not in config:
            return {**config, "tagged_sampled": False}
        return config

    def _legacy_tensors(self, expected: dict[str, Tensor], tensors: dict[str, Tensor]) -> dict:
        """Expected-value tags draw nothing, so their random stream (which earlier versions
        did not save) is zeros; structural states saved before activity-driven formation
        existed accumulated no potentiation (zeros), and those saved before capture existed
        kept no reference weights and consolidated nothing (zeros)."""
        legacy = {name: torch.zeros_like(value) for name, value in expected.items()
                  if name.endswith((".potentiation", ".reference", ".consolidated"))
                  and name not in tensors
                  and name.rsplit(".", 1)[0] + ".exists" in tensors}  # fmt: skip
        synapse = self.config.synapse
        if not isinstance(synapse, TaggedSynapse) or synapse.sampled:
            return legacy
        return legacy | {name: torch.zeros_like(value) for name, value in expected.items()
                         if name.endswith(".stream") and name not in tensors}  # fmt: skip

    LEGACY_TENSOR_PREFIXES = (
        "model.causes.", "model.goal.", "model.habit.", "model.dopamine.state.",
        "model.actor.state.", "model.critic.state.",
    )  # fmt: skip
    """plasticgym 0.1.0 saved a state for every pathway, switched on or off."""

    def _check_loaded_state(self, state: dict[str, Any], path: Any) -> None:
        """Weights must lie within the bounds that learning keeps them in (critic in
        ``[-critic_weight_bound, critic_weight_bound]``, actor in ``[0, actor_weight_max]``)."""
        cfg = self.config
        bounds = {
            "critic.weights": (-cfg.critic_weight_bound, cfg.critic_weight_bound),
            "actor.weights": (0.0, cfg.actor_weight_max),
        }
        check_weight_bounds(state, bounds, path)

    def _load_model_state(self, state: dict[str, Any], has_rollout: bool) -> None:
        self.critic = self.critic._replace(
            synapses=Synapses(state["critic.weights"], state["critic.state"])
        )
        self.actor = self.actor._replace(
            synapses=Synapses(state["actor.weights"], state["actor.state"])
        )
        self.dopamine_state = state["dopamine.state"]
        if self.habit_state is not None:
            self.habit_state = HabitState(state["habit.strength"], state["habit.contingency"])
        if self.goal_state is not None:
            self.goal_state = self.goal_state._replace(
                outcome_model=state["goal.outcome_model"], reward_model=state["goal.reward_model"]
            )
        if self.causes is not None:
            self.causes = state["causes"]
        if self.fast_store is not None:
            self.fast_store = state["systems.fast_store"]
        if self.observation_stats is not None:
            self.observation_stats = state["observation.stats"]
        if self.map_state is not None:
            self.map_state = state["map.state"]
        self._rollout = state["rollout"] if has_rollout else None

    # ------------------------------------------------------------------ consolidation

    def block_protein_synthesis(self, blocked: bool | Tensor = True) -> None:
        """Apply (True) or wash out (False) a protein-synthesis blocker in the actor's
        synapses, for every agent or per agent (bool ``[n_agents]``); needs
        ``synapse=TaggedSynapse(...)`` (:func:`plasticgym.synapses.set_protein_synthesis_blocked`).
        Saved with the agent's state."""
        blocked = torch.as_tensor(blocked, dtype=torch.bool, device=self.device)
        self.actor = set_protein_synthesis_blocked(self.actor, blocked)

    def rest(self, n_steps: int, dopamine: float | Tensor = 0.0) -> None:
        """Let the actor's synapses run on for ``n_steps`` steps without behaviour (no pre- or
        postsynaptic activity, ``dopamine`` delivered each step; :func:`plasticgym.synapses.rest`):
        the delay between training and test of a consolidation experiment. The critic, the
        env and the step counters do not move.

        With ``systems=ComplementaryLearning(...)`` each step also replays stored situations
        from the fast learner into the actor and lets the fast weights decay
        (:meth:`ComplementaryLearning.rest`; the replays draw from the learning generator)."""
        check_number("n_steps", n_steps, 0, integer=True)
        if self.systems is None:
            self.actor = rest(self.actor, n_steps, dopamine)
            return
        w_max = self.config.actor_weight_max
        for _ in range(n_steps):
            self.actor = rest(self.actor, 1, dopamine)
            self.fast_store, weights = self.systems.rest(
                self.fast_store, self.actor.weights, self._learn_generator, w_max
            )
            self.actor = self.actor.with_weights(weights)

    def lesion_fast_learner(self, which: bool | Tensor = True) -> None:
        """Lesion the fast learner of every agent (True) or of some (bool ``[n_agents]``): its
        weights and stored situations are cleared and it learns no more, so behaviour and
        later rests rely on the actor alone (a hippocampal lesion; needs
        ``systems=ComplementaryLearning(...)``). Saved with the agent's state."""
        if self.systems is None:
            raise ValueError(
                "lesion_fast_learner needs systems=ComplementaryLearning(...) (this agent has "
                "no fast learner)"
            )
        which = torch.as_tensor(which, dtype=torch.bool, device=self.device).expand(self.n_agents)
        self.fast_store = self.systems.lesion(self.fast_store, which)

    @property
    def fast_learner_lesioned(self) -> np.ndarray:
        """Which agents' fast learner is lesioned, ``[n_agents]`` bool (all False without
        ``systems``)."""
        if self.fast_store is None:
            return np.zeros(self.n_agents, dtype=bool)
        return self.fast_store.lesioned.cpu().numpy()

    # ------------------------------------------------------------------ structural plasticity

    @property
    def structure_state(self) -> StructureState:
        """The actor's :class:`~plasticgym.structure.StructureState` (which slots hold a
        spine, their ages, the generators, the counts); needs ``structure=``."""
        state = self.actor.synapses.state
        return state[find_structure(state)]

    def spine_statistics(self) -> TurnoverStatistics:
        """Per agent: spines, density, formed and eliminated since the start and the fraction
        of new spines still there (:func:`plasticgym.structure.turnover_statistics`)."""
        return turnover_statistics(self.structure_state)

    def pass_time(self, seconds: float) -> None:
        """Let ``seconds`` of task time pass without behaviour for the actor's spines
        (:func:`plasticgym.structure.pass_time`): structural events every ``interval``, no
        synaptic activity, so weights change only by elimination and formation (days between
        sessions in a few dozen events rather than ``seconds / dt`` steps). Eligibility traces,
        the critic, the env and the step counters do not move."""
        if self.structure is None:
            find_structure(self.actor.synapses.state)  # raises the clear error
        check_number("seconds", seconds, 0.0)
        state = self.actor.synapses.state
        index = find_structure(state)
        weights, new = pass_time(self.actor.weights, state[index], self.structure.params(),
                                 seconds)  # fmt: skip
        state = (*state[:index], new, *state[index + 1 :])
        self.actor = self.actor._replace(synapses=Synapses(weights, state))


__all__ = ["PlasticAgent", "PlasticAgentConfig"]
