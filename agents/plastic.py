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
    DA_t              =  g+ [delta_t]+ + g- [delta_t]- + tonic   dopamine delivered
    critic:  e <- gamma lambda e + 1 (x) x_tm1;             w += lr_c DA_t e
    actor:   e <- gamma lambda e + post_tm1 (x) [x_tm1, 1];  w += lr_a DA_t e
             (-> synaptic scaling -> bounds [0, w_max])
    rates_t  =  relu(W_actor [x_t, 1])
    Discrete actions: pi_t = softmax(beta * rates_t); a_t ~ pi_t; post_t = onehot(a_t)
                      (or onehot(a_t) - pi_t with actor_post="centered")
    Box actions (node perturbation): a_t = clip(rates_t + sigma xi); post_t = a_t - rates_t

The dopamine model (``dopamine=``) can add what a drug does to dopamine (see
:mod:`plasticgym.dopamine`); ``delta_t`` is then the model's own prediction error.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from plasticgym.agents.base import PopulationAgent, StepResult
from plasticgym.config import check_bool, check_choice, check_number, check_per_agent
from plasticgym.dopamine import (
    DOPAMINE_MODELS,
    allostatic_setpoint,
    average_reward_delta,
    dezfouli_dopamine,
    drive_reduction_reward,
    homeostatic_drive,
    redish_dopamine,
    running_average,
)
from plasticgym.encoding import EncoderState, MicrostimulusEncoder, ObservationReader
from plasticgym.habits import (
    RateCorrelation,
    action_outcome_contingency,
    goal_values,
    habit_arbitration,
    habit_spread,
    habit_update,
    outcome_update,
    rate_correlation_init,
    rate_correlation_update,
    reward_model_update,
)
from plasticgym.latent_causes import (
    LatentCauses,
    cause_log_likelihood,
    cause_posterior,
    cause_statistics_update,
    form_cause,
    gate_by_cause,
    latent_causes_init,
    new_cause_weights,
    split_due,
)
from plasticgym.plasticity import (
    PlasticitySignals,
    PlasticityTransform,
    chain,
    synaptic_scaling,
    three_factor,
    weight_bounds,
)
from plasticgym.rules import dopamine_from_rpe, td_error
from plasticgym.synapses import Synapses, init_synapses, uniform_weights, update_synapses
from plasticgym.traces import microstimuli

ACTOR_POST = ("chosen", "centered")


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
        dopamine: the dopamine model, one of ``"td"`` (the TD error; Schultz, Dayan & Montague
            1997), ``"redish"`` (non-compensable drug surge; Redish 2004), ``"average_reward"``
            (average-reward TD with a drug-raised basal reward level; after Dezfouli et al.
            2009) or ``"homeostatic"`` (reward = reduction of a drive over the internal drug
            level; Keramati & Gutkin 2014). The drug models read the task's info keys
            ``infusion`` (drug delivered this step) and, for ``"homeostatic"``, ``drug_level``.
        drug_surge: the surge ``D`` a drug delivery adds to dopamine, >= 0.
        average_reward_rate: rate of the running average reward ``rho``, in [0, 1].
        basal_adaptation_rate: rate at which drug exposure raises the basal reward level
            ``kappa``, in [0, 1].
        homeostatic_setpoint: setpoint ``h*_0`` of the internal drug level, >= 0.
        allostatic_gain: how far drug exposure raises the homeostatic setpoint,
            ``h* = h*_0 + g A`` with ``A`` the slow average of the drug level (see
            :func:`allostatic_setpoint`; Ahmed & Koob 1998), >= 0; 0 (default): fixed setpoint.
        allostatic_rate: rate ``eta`` of that average, ``A <- A + eta (h - A)``, in [0, 1].
        drive_exponent_n: ``n`` of the drive ``(|h* - h|^n)^(1/m)``, > 1.
        drive_exponent_m: ``m`` of the drive, in (1, n).
        drive_gain: reward per unit of drive reduction, >= 0.
        dopamine_tonic: tonic dopamine added to every phasic signal (a dysregulation knob), any
            finite number.
        exploration_noise: ``sigma`` of the exploratory noise of the actor's output rates for
            Box action spaces (node perturbation), >= 0.
        actor_post: the actor's Hebbian postsynaptic factor for Discrete actions: ``"chosen"``
            (default): 1 for the neuron whose action was taken, 0 for the others, so dopamine
            strengthens or weakens the synapses of the action taken (Barto 1995; Suri & Schultz
            1999); ``"centered"``: ``onehot(a) - pi``, the softmax policy gradient (Williams
            1992), which stops learning once the policy saturates and then reverses slowly.
        habit: the value-free habit pathway on or off (Discrete actions): a stimulus-response
            strength ``H x`` per action that grows with the repetition of the action in the
            situation ``x``, whatever the reward (Miller, Shenhav & Ludvig 2019); see
            :func:`habit_update` and :func:`habit_arbitration`.
        habit_lr: rate ``alpha_H`` at which habit strengths track the actions taken, in [0, 1].
        habit_weight: inverse temperature of the habit pathway relative to ``beta``, >= 0.
        arbiter_threshold: habit spread at which the arbiter hands half of the control to the
            habit pathway, >= 0.
        arbiter_gain: steepness of the arbiter's sigmoid, >= 0.
        contingency_weight: how much the experienced response-outcome rate correlation keeps
            control away from habits in the arbiter (``k`` of :func:`habit_arbitration`;
            Dickinson 1985), >= 0; 0 (default): the arbiter reads habit strength alone.
        contingency_window: steps over which response and outcome rates are measured, >= 1.
        contingency_memory: steps over which their correlation is remembered, >= 1 (see
            :func:`rate_correlation_update`).
        contingency_context: index of a stimulus channel that marks the situation in which the
            agent's responses can act (e.g. HabitFormation-v0's instrumental context, 0): the
            rate-correlation statistics learn only from actions taken while it is on, so
            outcomes delivered where no response is possible (a devaluation context) do not
            count against the contingency; None (default): every step counts.
        goal_directed: the goal-directed evaluation on or off (Discrete actions): each action
            is valued by the stimuli it has been followed by (a Hebbian action -> outcome
            association) and the value the dopamine-trained critic and a reward model give
            those stimuli now (see :func:`goal_values`), so a devalued outcome lowers the value
            of the action that earns it without that action being taken again.
        outcome_lr: learning rate of the action -> outcome and stimulus -> reward models,
            in [0, 1].
        goal_weight: weight of the goal-directed values in the dopamine-gated pathway's drive,
            >= 0.
        latent_causes: the most causes an agent can infer (Redish et al. 2007; Gershman, Blei
            & Niv 2010; see :mod:`plasticgym.latent_causes`), an integer in [1, 16]; 1
            (default): none, the agent's synapses see one world. With ``K > 1`` every cause has
            its own critic, actor and habit synapses, gated by the posterior belief in it; a new
            cause forms, as a copy of the synapses believed in until then, when the running
            average TD error falls below ``-cause_split_threshold``, and an old one returns when
            the observations look like its own again. ``K = 2`` separates acquisition from
            extinction; with more causes a long extinction may form several in a row (each copy
            still predicts what the last one did).
        cause_split_threshold: how far below 0 the running average TD error must fall for a
            new cause to form, > 0.
        cause_error_rate: rate of that running average, in (0, 1].
        cause_summary_rate: rate of the running average of the observation channels the
            causes model, in (0, 1].
        cause_learning_rate: rate at which each cause's model (mean and variance of that
            summary) learns, weighted by the belief in it, in (0, 1].
        cause_min_variance: floor of a cause's variance per channel, > 0: how sharply a
            cause that has always seen the same value rules out others.
        cause_channels: indices of the stimulus channels the causes model (distinct, each
            below the task's channel count), or None (default): every channel. E.g. the
            states that persist (a drug level, a context) rather than brief consequences of
            the agent's own responses.

    The fields in ``PER_AGENT`` may also be given once per agent, as a sequence of
    ``n_agents`` numbers (individual differences in a population); every element is validated.
    """

    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "gamma", "trace_lambda", "critic_lr", "actor_lr", "inverse_temperature",
        "dopamine_gain_positive", "dopamine_gain_negative", "tonic_input", "target_rate",
        "rate_time_constant", "scaling_rate", "drug_surge", "average_reward_rate",
        "basal_adaptation_rate", "homeostatic_setpoint", "allostatic_gain", "allostatic_rate",
        "drive_gain", "dopamine_tonic",
        "exploration_noise", "habit_lr", "habit_weight", "arbiter_threshold", "arbiter_gain",
        "contingency_weight", "contingency_window", "contingency_memory", "outcome_lr",
        "goal_weight",
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
    dopamine: str = "td"
    drug_surge: float = 0.3
    average_reward_rate: float = 0.01
    basal_adaptation_rate: float = 0.001
    homeostatic_setpoint: float = 1.0
    allostatic_gain: float = 0.0
    allostatic_rate: float = 0.005
    drive_exponent_n: float = 4.0
    drive_exponent_m: float = 3.0
    drive_gain: float = 1.0
    dopamine_tonic: float = 0.0
    exploration_noise: float = 0.1
    actor_post: str = "chosen"
    habit: bool = False
    habit_lr: float = 0.001
    habit_weight: float = 1.0
    arbiter_threshold: float = 0.15
    arbiter_gain: float = 20.0
    contingency_weight: float = 0.0
    contingency_window: float = 10.0
    contingency_memory: float = 200.0
    contingency_context: int | None = None
    goal_directed: bool = False
    outcome_lr: float = 0.05
    goal_weight: float = 1.0
    latent_causes: int = 1
    cause_split_threshold: float = 0.03
    cause_error_rate: float = 0.05
    cause_summary_rate: float = 0.2
    cause_learning_rate: float = 0.05
    cause_min_variance: float = 1e-3
    cause_channels: tuple[int, ...] | None = None

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
        check_choice("dopamine", self.dopamine, DOPAMINE_MODELS)
        per_agent("drug_surge", 0.0)
        per_agent("average_reward_rate", 0.0, 1.0)
        per_agent("basal_adaptation_rate", 0.0, 1.0)
        per_agent("homeostatic_setpoint", 0.0)
        per_agent("allostatic_gain", 0.0)
        per_agent("allostatic_rate", 0.0, 1.0)
        check_number("drive_exponent_n", self.drive_exponent_n, 1.0, low_open=True)
        check_number("drive_exponent_m", self.drive_exponent_m, 1.0, self.drive_exponent_n,
                     low_open=True, high_open=True)  # fmt: skip
        per_agent("drive_gain", 0.0)
        per_agent("dopamine_tonic", -math.inf)
        per_agent("exploration_noise", 0.0)
        check_choice("actor_post", self.actor_post, ACTOR_POST)
        check_bool("habit", self.habit)
        per_agent("habit_lr", 0.0, 1.0)
        per_agent("habit_weight", 0.0)
        per_agent("arbiter_threshold", 0.0)
        per_agent("arbiter_gain", 0.0)
        per_agent("contingency_weight", 0.0)
        per_agent("contingency_window", 1.0)
        per_agent("contingency_memory", 1.0)
        if self.contingency_context is not None:
            check_number("contingency_context", self.contingency_context, 0, integer=True)
        check_bool("goal_directed", self.goal_directed)
        per_agent("outcome_lr", 0.0, 1.0)
        per_agent("goal_weight", 0.0)
        check_number("latent_causes", self.latent_causes, 1, 16, integer=True)
        check_number("cause_split_threshold", self.cause_split_threshold, 0.0, low_open=True)
        for rate in ("cause_error_rate", "cause_summary_rate", "cause_learning_rate"):
            check_number(rate, getattr(self, rate), 0.0, 1.0, low_open=True)
        check_number("cause_min_variance", self.cause_min_variance, 0.0, low_open=True)
        if self.cause_channels is not None:
            channels = self.cause_channels
            if isinstance(channels, str | bytes) or not isinstance(channels, Sequence):
                raise ValueError(
                    f"cause_channels={channels!r} is invalid: None or a sequence of distinct "
                    "channel indices"
                )
            for index in channels:
                check_number("cause_channels element", index, 0, integer=True)
            if not channels or len(set(channels)) != len(channels):
                raise ValueError(
                    f"cause_channels={channels!r} is invalid: at least one index, all distinct"
                )
            object.__setattr__(self, "cause_channels", tuple(int(i) for i in channels))
        if self.latent_causes > 1 and self.goal_directed:
            raise ValueError(
                f"latent_causes={self.latent_causes} needs goal_directed=False: the "
                "goal-directed values read the critic's synapses of each stimulus channel, "
                "which latent causes split by cause; use latent_causes=1 or goal_directed=False"
            )

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
    """The model's side of the population between two steps."""

    encoder: EncoderState
    features: Tensor  # [B, n_features] presynaptic code of the current observation (gated by
    # the belief in each latent cause when there are several)
    actor_input: Tensor  # [B, n_features + 1] the code plus the tonic input
    rates: Tensor  # [B, n_actions] actor rates for the current observation
    post: Tensor  # [B, n_actions] the actor's Hebbian post factor for the action taken
    chosen: Tensor  # [B, n_actions] one-hot of the action taken (zeros for Box actions)
    channels: Tensor  # [B, n_channels] stimulus channels of the current observation


EVENT_PROVIDERS = {
    "infusion": "plasticgym/Addiction-v0 and plasticgym/Pavlovian-v0",
    "drug_level": "plasticgym/Addiction-v0",
}


class DopamineState(NamedTuple):
    """State of the dopamine model, ``[B]`` each: the running average reward ``rho``, the
    drug-induced basal-level elevation ``kappa``, the last homeostatic ``drive`` and the slow
    average of the drug level ``allostasis`` that displaces the homeostatic setpoint."""

    rho: Tensor
    kappa: Tensor
    drive: Tensor
    allostasis: Tensor


class PlasticAgent(PopulationAgent):
    """A population of three-factor actor-critic agents (see the module docstring).

    Args:
        env: a registered env id, a vector env with ``num_envs == n_agents``, or a single env.
        n_agents: independent agents that learn together in one batched program.
        seed: one seed for everything; ``None`` draws fresh entropy (kept in ``agent.seeds``).
        homeostasis: synaptic scaling of the actor's synapses on or off.
        env_kwargs, tensorboard_log, verbose, device: see :class:`PopulationAgent`.
        **hyperparameters: fields of :class:`PlasticAgentConfig`.
    """

    config_class: ClassVar[type] = PlasticAgentConfig

    def __init__(
        self,
        env: Any,
        *,
        n_agents: int = 1,
        seed: int | None = None,
        homeostasis: bool = True,
        env_kwargs: Any = None,
        tensorboard_log: Any = None,
        verbose: int = 0,
        device: str | torch.device = "cpu",
        **hyperparameters: Any,
    ) -> None:
        super().__init__(
            env, n_agents=n_agents, seed=seed, env_kwargs=env_kwargs,
            tensorboard_log=tensorboard_log, verbose=verbose, device=device,
            homeostasis=homeostasis, **hyperparameters,
        )  # fmt: skip

    # ------------------------------------------------------------------ model

    def _build(self) -> None:
        """Encoder, plasticity chains and zero-initialised synapses from ``self.config``."""
        cfg = self.config
        action_space = self.env.single_action_space
        self.continuous = isinstance(action_space, gym.spaces.Box)
        if self.continuous:
            if (
                len(action_space.shape) != 1
                or not np.all(np.isfinite(action_space.low))
                or not (np.all(np.isfinite(action_space.high)))
            ):
                raise ValueError(
                    f"PlasticAgent needs a 1-d bounded Box of rates, got {action_space}"
                )
            self.n_actions = int(action_space.shape[0])
            bounds = {"dtype": torch.float32, "device": self.device}
            self._action_low = torch.as_tensor(action_space.low, **bounds)
            self._action_high = torch.as_tensor(action_space.high, **bounds)
        elif isinstance(action_space, gym.spaces.Discrete):
            self.n_actions = int(action_space.n)
        else:
            raise ValueError(
                f"PlasticAgent needs a Discrete or a 1-d Box action space, got {action_space}"
            )
        self.read_observation = ObservationReader(self.env.single_observation_space, self.device)
        self.encoder = MicrostimulusEncoder(
            self.read_observation.n_channels,
            cfg.n_microstimuli,
            cfg.microstimulus_width,
            cfg.stimulus_trace_decay,
            cfg.reward_resets_traces,
        )
        self.n_features = n_features = self.encoder.n_features * cfg.latent_causes
        h = self._hyper
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
        zeros = torch.zeros(B, device=self.device)
        self.dopamine_state = DopamineState(zeros, zeros.clone(), zeros.clone(), zeros.clone())
        tonic = self._column(h["tonic_input"])
        self._tonic_column = torch.ones(B, 1, device=self.device) * tonic  # the actor's bias
        self._no_summary = torch.full((), math.nan, device=self.device)
        if self.continuous and (cfg.habit or cfg.goal_directed):
            raise ValueError(
                "habit=True and goal_directed=True need a Discrete action space (they value "
                f"discrete actions), got {action_space}"
            )
        n_channels = self.encoder.n_channels
        habit_shape = (B, self.n_actions, n_features + 1) if cfg.habit else (B, 0, 0)
        self.habit_strength = torch.zeros(habit_shape, device=self.device)
        self.contingency: RateCorrelation = rate_correlation_init(
            B, *((self.n_actions, n_channels) if cfg.habit else (0, 0)), device=self.device
        )
        weight = torch.as_tensor(h["contingency_weight"])
        self._arbiter_reads_contingency = cfg.habit and bool((weight > 0).any())
        outcome_shape = (
            (B, self.n_actions, n_channels, n_features) if cfg.goal_directed else (B, 0, 0, 0)
        )
        self.outcome_model = torch.zeros(outcome_shape, device=self.device)
        reward_shape = (B, n_channels) if cfg.goal_directed else (B, 0)
        self.reward_model = torch.zeros(reward_shape, device=self.device)
        watched = range(n_channels) if cfg.cause_channels is None else cfg.cause_channels
        if max(watched) >= n_channels:
            raise ValueError(
                f"cause_channels={cfg.cause_channels} is invalid for this task: its observation "
                f"has {n_channels} stimulus channels (indices 0..{n_channels - 1})"
            )
        self._cause_channels = torch.tensor(list(watched), device=self.device)
        if cfg.contingency_context is not None and cfg.contingency_context >= n_channels:
            raise ValueError(
                f"contingency_context={cfg.contingency_context} is invalid for this task: its "
                f"observation has {n_channels} stimulus channels (indices 0..{n_channels - 1})"
            )
        self.causes: LatentCauses = latent_causes_init(
            B, cfg.latent_causes, len(watched), self.device
        )
        self._rollout: Rollout | None = None

    def _initialise(self, generator: torch.Generator) -> None:
        actor_weights = uniform_weights(
            tuple(self.actor.weights.shape), 0.0, self.config.actor_init_scale,
            generator=generator, device=self.device,
        )  # fmt: skip
        self.actor = init_synapses(self.actor_rule, actor_weights)

    @property
    def critic_weights(self) -> Tensor:
        """Critic synapses ``[n_agents, 1, n_features]`` (``n_features`` counts every latent
        cause's block of the code, cause-major)."""
        return self.critic.weights

    @property
    def actor_weights(self) -> Tensor:
        """Actor synapses ``[n_agents, n_actions, n_features + 1]`` (last column: tonic input)."""
        return self.actor.weights

    def cause_posterior(self) -> Tensor:
        """Each agent's belief in each latent cause for the current observation,
        ``[n_agents, latent_causes]`` (0 for causes not formed yet; ``[:, 0] == 1`` with
        ``latent_causes=1``)."""
        return self.causes.posterior.clone()

    def _code(self, features: Tensor) -> Tensor:
        """The presynaptic code of the synapses: the encoder's features, gated by the belief in
        each latent cause when there are several (:func:`gate_by_cause`)."""
        if self.config.latent_causes == 1:
            return features
        return gate_by_cause(features, self.causes.posterior)

    def _infer_causes(self, channels: Tensor, active: Tensor) -> None:
        """The observation summary moves to the new channels and the belief in each formed
        cause follows it (:func:`cause_posterior`); inactive agents keep theirs."""
        if self.config.latent_causes == 1:
            return
        cfg, causes, keep = self.config, self.causes, active.unsqueeze(1)
        watched = channels[:, self._cause_channels]
        summary = running_average(causes.summary, watched, cfg.cause_summary_rate)
        summary = torch.where(keep, summary, causes.summary)
        likelihood = cause_log_likelihood(summary, causes.mean, causes.variance)
        posterior = torch.where(keep, cause_posterior(likelihood, causes.used), causes.posterior)
        self.causes = causes._replace(summary=summary, posterior=posterior)

    def _learn_causes(self, code: Tensor, features: Tensor, rpe: Tensor, active: Tensor) -> Tensor:
        """Each cause's model learns in proportion to the belief in it, the TD error enters its
        running average, and agents whose average fell below ``-cause_split_threshold`` form a
        new cause (:func:`form_cause`) whose synapses are the belief-weighted mixture of those
        used until now (Redish et al.'s state split: predictions and behaviour carry over and
        are unlearned in the new cause, while the old one keeps them). ``code`` is the
        encoder's code of the current observation and ``features`` its gating by the belief
        before this update; returns the gated code under the updated belief."""
        cfg, causes = self.config, self.causes
        mean, variance = cause_statistics_update(
            causes.mean, causes.variance, causes.summary, causes.posterior,
            cfg.cause_learning_rate, cfg.cause_min_variance,
        )  # fmt: skip
        keep = active.view(-1, 1, 1)
        error = running_average(causes.error, rpe, cfg.cause_error_rate)
        causes = causes._replace(
            mean=torch.where(keep, mean, causes.mean),
            variance=torch.where(keep, variance, causes.variance),
            error=torch.where(active, error, causes.error),
        )
        due = split_due(causes.error, causes.used, cfg.cause_split_threshold) & active
        self.causes = causes
        if not bool(due.any()):  # causes form rarely: skip copying every synapse
            return features
        before = causes.posterior
        self.causes, formed = form_cause(causes, due)
        n = self.encoder.n_features
        critic = new_cause_weights(self.critic.weights, n, before, formed)
        actor = new_cause_weights(self.actor.weights, n, before, formed)
        self.critic = self.critic._replace(weights=critic)
        self.actor = self.actor._replace(weights=actor)
        if cfg.habit:
            self.habit_strength = new_cause_weights(self.habit_strength, n, before, formed)
        return gate_by_cause(code, self.causes.posterior)

    @property
    def rates(self) -> Tensor | None:
        """The actor's firing rates for the current observation, ``[B, n_actions]`` (None
        before the first ``learn``)."""
        return None if self._rollout is None else self._rollout.rates.clone()

    def value(self, features: Tensor) -> Tensor:
        """Critic output ``V(x) = w . x`` for features ``[B, n_features]``; returns ``[B]``."""
        return torch.matmul(self.critic.weights, features.unsqueeze(-1)).view(-1)

    def _actor_input(self, features: Tensor) -> Tensor:
        return torch.cat([features, self._tonic_column], dim=1)

    def _policy(self, actor_input: Tensor) -> tuple[Tensor, Tensor]:
        """Actor rates ``relu(W x)`` ``[B, n_actions]`` and the softmax policy.

        The policy is ``softmax(beta * D)``. Without the optional pathways the drive ``D`` is the
        actor's rates. With ``goal_directed`` the dopamine-gated drive becomes
        ``rates + goal_weight * G`` (:meth:`goal_directed_values`); with ``habit`` the arbiter
        mixes it with the habit drive, ``D = (1 - w_H) * dopamine_drive + w_H * habit_weight *
        H x`` (:func:`habit_arbitration`).
        """
        h = self._hyper
        drive = torch.matmul(self.actor.weights, actor_input.unsqueeze(-1)).squeeze(-1)
        rates = torch.relu(drive)
        drive = rates
        if self.config.goal_directed:
            goal = self.goal_directed_values(actor_input[:, :-1])
            drive = drive + self._column(h["goal_weight"]) * goal
        if self.config.habit:
            habits = self.habits(actor_input)
            share = self._habit_share(habits).unsqueeze(1)
            drive = (1.0 - share) * drive + share * self._column(h["habit_weight"]) * habits
        beta = self._column(h["inverse_temperature"])
        return rates, torch.softmax(beta * drive, dim=1)

    def habits(self, actor_input: Tensor) -> Tensor:
        """Habit strengths ``H x`` of every action, ``[B, n_actions]``, for the actor input
        ``[B, n_features + 1]`` (the code plus the tonic input)."""
        return torch.matmul(self.habit_strength, actor_input.unsqueeze(-1)).squeeze(-1)

    def habit_share(self) -> Tensor | None:
        """The arbiter's share of control given to habits, ``[B]``, for the current observation
        (None before the first ``learn`` or with ``habit=False``)."""
        if self._rollout is None or not self.config.habit:
            return None
        return self._habit_share(self.habits(self._rollout.actor_input))

    def _habit_share(self, habits: Tensor) -> Tensor:
        h = self._hyper
        contingency = (
            action_outcome_contingency(self.contingency)
            if self._arbiter_reads_contingency
            else None
        )
        return habit_arbitration(
            habit_spread(habits), h["arbiter_threshold"], h["arbiter_gain"], contingency,
            h["contingency_weight"],
        )  # fmt: skip

    def outcome_values(self) -> Tensor:
        """What each stimulus channel is worth now, ``U_c = R_c + gamma * V_c``,
        ``[B, n_channels]``: the reward it predicts when it appears (:func:`reward_model_update`)
        plus the discounted value the critic gives its onset code alone (what is expected to
        follow it)."""
        centers = self.encoder.centers(self.device)
        onset = microstimuli(torch.ones((), device=self.device), centers, self.encoder.width)
        weights = self.critic.weights.view(self.n_agents, self.encoder.n_channels, -1)
        onset_value = torch.matmul(weights, onset)
        return self.reward_model + self._column(self._hyper["gamma"]) * onset_value

    def goal_directed_values(self, features: Tensor) -> Tensor:
        """Goal-directed action values ``G = (M x) U`` (:func:`goal_values`), ``[B, n_actions]``,
        for the presynaptic code ``x`` ``[B, n_features]`` (no tonic input: an action is
        associated with outcomes in the situations the stimuli describe, nowhere else)."""
        return goal_values(self.outcome_model, features, self.outcome_values())

    @staticmethod
    def _sample(probs: Tensor, generator: torch.Generator) -> Tensor:
        """Inverse-CDF sampling, one uniform draw per agent."""
        u = torch.rand(probs.shape[0], 1, generator=generator, device=probs.device)
        index = (torch.cumsum(probs, dim=1) < u).sum(dim=1)
        return index.clamp(max=probs.shape[1] - 1)

    def _act(
        self,
        encoder: EncoderState,
        features: Tensor,
        channels: Tensor,
        generator: torch.Generator,
    ) -> tuple[Rollout, Tensor]:
        """Choose actions and the actor's Hebbian post factor for them.

        Discrete: ``a ~ softmax(beta * rates)`` (see :meth:`_policy`), ``post = onehot(a)`` or,
        with ``actor_post="centered"``, ``onehot(a) - pi`` (Barto, Sutton & Anderson 1983).
        Box (node perturbation: Fiete & Seung 2006; Legenstein et al. 2010; a Gaussian policy
        as in Williams 1992): the output rates are the neurons' rates plus exploratory noise,
        ``a = clip(rates + sigma * xi, low, high)``, and the post factor is the perturbation
        ``a - rates``, so ``dw = lr * DA * (a - rates) (x) x``.
        """
        actor_input = self._actor_input(features)
        rates, probs = self._policy(actor_input)
        if self.continuous:
            actions = self._perturb(rates, generator)
            post = actions - rates
            chosen = torch.zeros_like(rates)
        else:
            actions = self._sample(probs, generator)
            chosen = torch.nn.functional.one_hot(actions, self.n_actions).to(probs.dtype)
            post = chosen - probs if self.config.actor_post == "centered" else chosen
        return Rollout(encoder, features, actor_input, rates, post, chosen, channels), actions

    def _perturb(self, rates: Tensor, generator: torch.Generator) -> Tensor:
        """Exploratory output for Box actions: ``clip(rates + sigma * xi, low, high)``."""
        noise = torch.randn(rates.shape, generator=generator, device=rates.device)
        sigma = self._column(self._hyper["exploration_noise"])
        return torch.clamp(rates + sigma * noise, self._action_low, self._action_high)

    def _begin(self, obs: np.ndarray) -> Tensor:
        B = self.n_agents
        channels = self.read_observation(obs)
        start = torch.ones(B, dtype=torch.bool, device=self.device)
        zeros = torch.zeros(B, device=self.device)
        features, encoder = self.encoder.encode(self.encoder.init(B, self.device), channels,
                                                zeros, start)  # fmt: skip
        self.causes = self.causes._replace(summary=channels[:, self._cause_channels])
        features = self._code(features)
        if self.config.dopamine == "homeostatic":  # the drive of the first internal state
            self.dopamine_state = self.dopamine_state._replace(
                drive=self._drive(self._event("drug_level", torch.float32))
            )
        self._rollout, actions = self._act(encoder, features, channels, self._learn_generator)
        return actions

    def _drive(self, level: Tensor) -> Tensor:
        """Homeostatic drive of the internal drug level (see :func:`homeostatic_drive`) around
        the current, allostatically displaced setpoint (:meth:`setpoint`)."""
        return homeostatic_drive(
            level, self.setpoint(), self.config.drive_exponent_n, self.config.drive_exponent_m
        )

    def setpoint(self) -> Tensor:
        """The homeostatic setpoint of every agent now, ``h*_0 + allostatic_gain * A``
        (:func:`allostatic_setpoint`), ``[B]``."""
        h = self._hyper
        return allostatic_setpoint(
            h["homeostatic_setpoint"], self.dopamine_state.allostasis, h["allostatic_gain"]
        )

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
        channels = self.read_observation(obs)
        code, encoder = self.encoder.encode(ro.encoder, channels, reward, ~active)
        self._infer_causes(channels, active)
        features = self._code(code)
        v_tm1 = self.value(ro.features)
        v_t = self.value(features)
        rpe, signal = self._prediction_error(v_tm1, reward, terminated, v_t, active)
        h = self._hyper
        dopamine = dopamine_from_rpe(
            signal, h["dopamine_gain_positive"], h["dopamine_gain_negative"]
        )
        dopamine = (dopamine + h["dopamine_tonic"]) * active
        critic_signals = PlasticitySignals(
            pre=ro.features, post=torch.ones_like(v_tm1).unsqueeze(1), dopamine=dopamine,
            rate=v_tm1.unsqueeze(1), active=active,
        )  # fmt: skip
        self.critic, dw_critic = update_synapses(self.critic_rule, self.critic, critic_signals)
        actor_signals = PlasticitySignals(
            pre=ro.actor_input, post=ro.post, dopamine=dopamine, rate=ro.rates, active=active
        )
        self.actor, dw_actor = update_synapses(self.actor_rule, self.actor, actor_signals)
        self._update_habits_and_outcomes(ro, channels, reward, active)
        if self.config.latent_causes > 1:
            features = self._learn_causes(code, features, rpe, active)
        self._rollout, actions = self._act(encoder, features, channels, generator)
        return StepResult(
            actions=actions, rpe=rpe, dopamine=dopamine, value=v_t,
            **self._summary(dw_critic, dw_actor),
        )  # fmt: skip

    def _summary(self, dw_critic: Tensor, dw_actor: Tensor) -> dict[str, Tensor]:
        """TensorBoard's step summaries, computed only when something logs them."""
        if self._logger is None:
            return {"mean_abs_dw": self._no_summary, "mean_rate": self._no_summary}
        assert self._rollout is not None
        return {
            "mean_abs_dw": 0.5 * (dw_critic.abs().mean() + dw_actor.abs().mean()),
            "mean_rate": self._rollout.rates.mean(),
        }

    def _update_habits_and_outcomes(
        self, ro: Rollout, channels: Tensor, reward: Tensor, active: Tensor
    ) -> None:
        """Value-free habit learning on the action just taken, and the goal-directed models:
        which stimuli appeared after the action (onsets, ``[c_t - c_tm1]+``: a context that was
        already there is no outcome of it), and which reward came with the stimuli."""
        if not (self.config.habit or self.config.goal_directed):
            return
        h, keep = self._hyper, active.view(-1, 1, 1)
        onsets = torch.relu(channels - ro.channels)
        if self.config.habit:
            updated = habit_update(self.habit_strength, ro.chosen, ro.actor_input, h["habit_lr"])
            self.habit_strength = torch.where(keep, updated, self.habit_strength)
            stats = rate_correlation_update(
                self.contingency, ro.chosen, onsets, h["contingency_window"],
                h["contingency_memory"],
            )  # fmt: skip
            counted = active
            if self.config.contingency_context is not None:
                counted = active & (ro.channels[:, self.config.contingency_context] > 0)
            self.contingency = RateCorrelation(*(
                torch.where(counted.view((-1,) + (1,) * (new.dim() - 1)), new, old)
                for new, old in zip(stats, self.contingency, strict=True)
            ))  # fmt: skip
        if self.config.goal_directed:
            updated = outcome_update(
                self.outcome_model, ro.chosen, ro.features, onsets, h["outcome_lr"]
            )
            self.outcome_model = torch.where(keep.unsqueeze(-1), updated, self.outcome_model)
            updated = reward_model_update(self.reward_model, channels, reward, h["outcome_lr"])
            self.reward_model = torch.where(keep[:, 0], updated, self.reward_model)

    def _event(self, key: str, dtype: torch.dtype) -> Tensor:
        """A task event from this step's info (e.g. ``infusion``) as a tensor ``[B]``."""
        info = self._step_info
        if key not in info:
            raise ValueError(
                f"dopamine={self.config.dopamine!r} needs the env's info key {key!r} (provided "
                f"by {EVENT_PROVIDERS.get(key, 'no plasticgym task')}); this env has "
                f"{sorted(k for k in info if not k.startswith('_'))}"
            )
        return torch.as_tensor(np.asarray(info[key]), device=self.device).to(dtype)

    def _prediction_error(
        self, v_tm1: Tensor, reward: Tensor, terminated: Tensor, v_t: Tensor, active: Tensor
    ) -> tuple[Tensor, Tensor]:
        """The model's own prediction error ``rpe`` and the dopamine signal before gains.

        ``rpe`` is what the critic computes without pharmacology (the TD error; average-reward
        TD for ``"average_reward"``; with drive-reduction reward for ``"homeostatic"``); the
        signal adds the drug's effect (surge, basal level) for the drug models.
        """
        h, mode, state = self._hyper, self.config.dopamine, self.dopamine_state
        not_terminal = (~terminated).to(v_t.dtype)
        if mode == "average_reward":
            rpe = average_reward_delta(v_tm1, reward, v_t, not_terminal, state.rho) * active
        else:
            effective = reward
            drive = state.drive
            if mode == "homeostatic":
                level = self._event("drug_level", v_t.dtype)
                averaged = running_average(state.allostasis, level, h["allostatic_rate"])
                state = state._replace(allostasis=torch.where(active, averaged, state.allostasis))
                self.dopamine_state = state
                new_drive = self._drive(level)
                relief = drive_reduction_reward(state.drive, new_drive, h["drive_gain"])
                effective = reward + relief * active
                drive = new_drive
            rpe = td_error(v_tm1, effective, h["gamma"] * not_terminal, v_t) * active
            self.dopamine_state = state._replace(drive=drive)
        if mode == "td" or mode == "homeostatic":
            return rpe, rpe
        drug = self._event("infusion", torch.bool) & active
        if mode == "redish":
            return rpe, redish_dopamine(rpe, h["drug_surge"], drug)
        signal = dezfouli_dopamine(rpe, h["drug_surge"], drug, state.kappa) * active
        rho = torch.where(active, running_average(state.rho, reward, h["average_reward_rate"]),
                          state.rho)  # fmt: skip
        surge = drug.to(v_t.dtype) * h["drug_surge"]
        kappa = torch.where(
            active, running_average(state.kappa, surge, h["basal_adaptation_rate"]), state.kappa
        )
        self.dopamine_state = state._replace(rho=rho, kappa=kappa)
        return rpe, signal

    def _record_columns(
        self,
        actions: Tensor,
        reward: Tensor,
        result: StepResult,
        episode: Tensor,
        info: Mapping[str, Any],
    ) -> dict[str, np.ndarray]:
        """The base columns, plus ``cause`` (the most believed latent cause of the observation
        each step led to) with ``latent_causes > 1``."""
        columns = super()._record_columns(actions, reward, result, episode, info)
        if self.config.latent_causes > 1:
            columns["cause"] = self.causes.posterior.argmax(dim=1).cpu().numpy()
        return columns

    # ------------------------------------------------------------------ checkpoint hooks

    def _model_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "critic.weights": self.critic.weights,
            "actor.weights": self.actor.weights,
            "critic.state": self.critic.state,
            "actor.state": self.actor.state,
            "dopamine.state": self.dopamine_state,
            "habit.strength": self.habit_strength,
            "habit.contingency": self.contingency,
            "goal.outcome_model": self.outcome_model,
            "goal.reward_model": self.reward_model,
            "causes": self.causes,
        }
        if self._rollout is not None:
            state["rollout"] = self._rollout
        return state

    def _empty_rollout_state(self) -> dict[str, Any]:
        B, n_features = self.n_agents, self.n_features
        zeros = torch.zeros
        return {
            "rollout": Rollout(
                encoder=self.encoder.init(B, self.device),
                features=zeros(B, n_features, device=self.device),
                actor_input=zeros(B, n_features + 1, device=self.device),
                rates=zeros(B, self.n_actions, device=self.device),
                post=zeros(B, self.n_actions, device=self.device),
                chosen=zeros(B, self.n_actions, device=self.device),
                channels=zeros(B, self.encoder.n_channels, device=self.device),
            )
        }

    def _load_model_state(self, state: dict[str, Any], has_rollout: bool) -> None:
        self.critic = Synapses(state["critic.weights"], state["critic.state"])
        self.actor = Synapses(state["actor.weights"], state["actor.state"])
        self.dopamine_state = state["dopamine.state"]
        self.habit_strength = state["habit.strength"]
        self.contingency = state["habit.contingency"]
        self.outcome_model = state["goal.outcome_model"]
        self.reward_model = state["goal.reward_model"]
        self.causes = state["causes"]
        self._rollout = state["rollout"] if has_rollout else None

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
        ``reward_resets_traces`` does not apply. With latent causes the code is gated by each
        agent's current belief (:meth:`cause_posterior`, from its last learning step), which
        predicting does not change.

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
            rates, probs = self._policy(self._actor_input(self._code(features)))
            if self.continuous and deterministic:
                actions = torch.clamp(rates, self._action_low, self._action_high)
            elif self.continuous:
                actions = self._perturb(rates, self._predict_generator)
            elif deterministic:
                actions = probs.argmax(dim=1)
            else:
                actions = self._sample(probs, self._predict_generator)
        actions_np = actions.cpu().numpy()
        if single and B == 1:
            actions_np = actions_np[0]
        return actions_np, encoder_state.trace.cpu().numpy()


__all__ = ["PlasticAgent", "PlasticAgentConfig"]
