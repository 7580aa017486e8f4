"""A population of spiking actor-critic agents whose actor learns by reward-modulated STDP.

Each agent reads the observation through the project's encoders (stimulus channels, then the
microstimulus code ``x`` in [0, 1] of :class:`~plasticgym.encoding.MicrostimulusEncoder`), turns
the code into Poisson spike trains and lets a layer of spiking actor neurons, one group of
``neurons_per_action`` per discrete action, integrate them for ``substeps`` steps of 1 ms (one
env step lasts ``substeps`` ms). The action comes from the groups' spike counts; the actor's
synapses keep a spike-based eligibility (one of four rules) that dopamine turns into weight
changes. The critic is rate-based: a linear value of the code whose TD error is the dopamine
(Fremaux, Sprekeler & Gerstner 2013's spiking actor-critic, with a rate critic).

One env step of the population (``B`` agents; ``j`` input, ``i`` actor neuron; times in ms)::

    r_t, o_t   <- env.step(a_tm1)
    x_t        =  encoder(o_t)                    microstimuli, [B, F]; input u = [x_t, 1]
    delta_t    =  r_t + gamma V(x_t) - V(x_tm1)   V(x) = w_c . x (TD(lambda) critic)
    DA_t       =  delta_t  (dopamine="td", the RPE critic)  or  r_t  (dopamine="reward")
    actor:     W <- clip(W + lr DA_t E_tm1, 0, w_max)       E_tm1: eligibility of window tm1
    window t (k = 1 .. substeps, 1 ms each):
        s_j    ~  Poisson(rate_j),  rate_j = input_rate_hz u_j (tonic input: tonic_rate_hz)
        I_syn  <- exp(-1 / tau_syn) I_syn + W s                  (current-based synapses)
        I_i    =  background_current + I_syn_i + noise_current xi,  xi ~ N(0, 1)
        spikes of the actor neurons: lif_step or izhikevich_step (plasticgym.spiking)
        inc_ij =  the rule's increment (below);   e <- d e + inc  (d = exp(-1 / tau_e))
    counts_a   =  spikes of group a in the window;  pi = softmax(beta counts);  a_t ~ pi
    E_t        =  d^substeps E_tm1 + chosen_i e            (chosen_i: i in the group of a_t)

Only the chosen group's synapses are tagged by the window (the action-selection circuit's
lateral inhibition silences the losers; without it every group would share the credit).

Rules (``rule=``; traces jump at the step's spikes):

- ``"mstdp"`` (Florian 2007, eq. 4.7): ``inc = zeta_ij = P+_j f_i + P-_i f_j`` (eq. 4.6,
  ``P+`` from presynaptic spikes with ``A+ = 1``, ``P-`` from postsynaptic ones with
  ``A- = -1``, ``tau+ = tau- = 20`` ms); no trace across windows: the window's reward
  multiplies the window's summed ``zeta`` (``d = 1`` within it, nothing carried).
- ``"mstdpet"`` (Florian 2007, eqs. 4.9-4.10): ``inc = zeta / tau_z``, ``tau_e = tau_z = 25``
  ms, carried across windows.
- ``"izhikevich"`` (Izhikevich 2007): ``inc = STDP`` (:func:`~plasticgym.spiking.
  stdp_increment`, ``A+ = 0.1``, ``A- = 0.15``, ``tau = 20`` ms), ``tau_e = tau_c = 1000`` ms.
  The dopamine is a pulse at the window's end (no tonic dopamine, so no dopamine, no change).
- ``"calcium"`` (Graupner & Brunel 2012): ``c_ij = C_pre x_j + C_post y_i``
  (:func:`~plasticgym.spiking.spike_calcium`, ``tau_Ca = 20`` ms), ``inc = dt (gamma_p
  H(c - theta_p) - gamma_d H(c - theta_d))`` (:func:`~plasticgym.spiking.
  calcium_eligibility_increment`), ``tau_e = 25`` ms.

With no dopamine (``DA = 0``) no rule changes a weight.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from plasticgym.agents.base import PopulationAgent, StepResult
from plasticgym.agents.persistence import check_weight_bounds
from plasticgym.agents.plastic_actions import (
    batched_observation,
    episode_starts,
    predict_traces,
    sample,
)
from plasticgym.agents.tabular import _ConfigMixin  # (_per_agent, from_kwargs)
from plasticgym.config import check_bool, check_choice, check_number
from plasticgym.dopamine import DOPAMINE_MODELS, task_events
from plasticgym.encoding import EncoderState, MicrostimulusEncoder, ObservationReader
from plasticgym.plasticity import PlasticitySignals, chain, three_factor, weight_bounds
from plasticgym.rules import per_agent
from plasticgym.spiking import (
    REGULAR_SPIKING,
    FlorianTraces,
    calcium_eligibility_increment,
    decay_factor,
    florian_zeta,
    izhikevich_step,
    lif_step,
    poisson_spikes,
    spike_calcium,
    stdp_increment,
    trace_step,
)
from plasticgym.synapses import Projection, Synapses

NEURONS = ("lif", "izhikevich")
RULES = ("mstdp", "mstdpet", "izhikevich", "calcium")
RAW_REWARD = "reward"

RULE_DEFAULTS: Mapping[str, Mapping[str, float]] = {
    "mstdp": {"actor_lr": 12.0, "tau_eligibility_ms": math.inf},
    "mstdpet": {"actor_lr": 270.0, "tau_eligibility_ms": 25.0},
    "izhikevich": {"actor_lr": 0.46, "tau_eligibility_ms": 1000.0},
    "calcium": {"actor_lr": 3.2, "tau_eligibility_ms": 25.0},
}
"""Each rule's default learning rate and eligibility time constant (``tau_z`` of Florian 2007,
``tau_c`` of Izhikevich 2007; ``mstdp`` keeps no trace across windows). The learning rates are
the winners of one random search with the same budget per rule, rounded to two significant
figures (:mod:`plasticgym.experiments.spiking_tuning`, docs/spiking.md; ``izhikevich``'s is a
draw among configurations that all stayed at chance)."""

NEURON_DEFAULTS: Mapping[str, Mapping[str, float]] = {
    "lif": {"background_current": 12.0, "noise_current": 15.0},
    "izhikevich": {"background_current": 0.0, "noise_current": 7.0},
}
"""Each neuron model's default background and noise current (LIF: mV of ``R I``, threshold
15 mV above rest; Izhikevich: the model's current units, rheobase about 3.8)."""

STDP_AMPLITUDES: Mapping[str, tuple[float, float]] = {
    "mstdp": (1.0, -1.0), "mstdpet": (1.0, -1.0), "izhikevich": (0.1, 0.15),
}  # fmt: skip
"""``(A+, A-)`` of each STDP rule: Florian's ``A+ = 1``, ``A- = -1`` (signed, on the traces)
and Izhikevich's ``A+ = 0.1``, ``A- = 0.15`` (on the pair term, LTD 1.5 x LTP)."""


@dataclasses.dataclass(frozen=True)
class SpikingAgentConfig(_ConfigMixin):
    """Hyperparameters of :class:`SpikingAgent`; validated on construction (a bad value raises
    ``ValueError`` naming the field, the value and what is allowed). Times in ms.

    Attributes:
        neuron: actor neuron model, ``"lif"`` or ``"izhikevich"`` (regular spiking).
        rule: actor plasticity, ``"calcium"`` (default: it learned best in the tuning study
            with the same budget per rule; at the default input rates presynaptic calcium
            alone crosses both thresholds, a lower ``c_pre`` learns less: docs/spiking.md),
            ``"mstdp"``, ``"mstdpet"`` or ``"izhikevich"``.
        dopamine: ``"td"`` (default: the critic's TD error, the RPE), another registered
            dopamine model (``plasticgym.dopamine.DOPAMINE_MODELS``, default parameters), or
            ``"reward"`` (raw reward: the control of Fremaux, Sprekeler & Gerstner 2010).
        substeps: ms of simulated time per env step (1 ms steps), an integer in [1, 1000].
        neurons_per_action: actor neurons per discrete action, an integer in [1, 1000].
        input_rate_hz: Poisson rate of an input neuron whose code is 1, > 0 (Hz).
        tonic_rate_hz: Poisson rate of the tonic (bias) input neuron, >= 0 (Hz).
        background_current, noise_current: constant and Gaussian (std, per ms) input current
            of every actor neuron; None: the neuron model's default (:data:`NEURON_DEFAULTS`).
        tau_syn_ms: decay time constant of the synaptic current, > 0.
        gamma: discount per env step, in [0, 1) (per agent).
        trace_lambda: critic eligibility ``lambda``, in [0, 1] (per agent).
        critic_lr: critic learning rate, >= 0 (per agent).
        actor_lr: actor learning rate, >= 0 (per agent); None: the rule's default
            (:data:`RULE_DEFAULTS`).
        inverse_temperature: ``beta`` of the softmax over spike counts, >= 0 (per agent).
        weight_max: actor weights lie in ``[0, weight_max]`` (current per input spike), > 0.
        init_scale: initial actor weights uniform in ``[0, init_scale]``, in [0, weight_max].
        tau_eligibility_ms: the eligibility time constant ``tau_e``, > 0 (``inf``: none across
            windows is only allowed for ``"mstdp"``); None: the rule's default.
        tau_plus_ms, tau_minus_ms: STDP trace time constants, > 0.
        tau_ca_ms, c_pre, c_post, theta_d, theta_p, gamma_d, gamma_p: the calcium rule's
            Graupner & Brunel 2012 "DP" parameters (``theta_d < theta_p``; GB2012's
            ``1 / tau`` is left to ``actor_lr``).
        n_microstimuli, microstimulus_width, stimulus_trace_decay, reward_resets_traces: the
            encoder (:class:`~plasticgym.encoding.MicrostimulusEncoder`).
        critic_weight_bound: critic weights lie in ``[-bound, bound]``, > 0.
        log_interval: steps between TensorBoard writes, >= 1.

    The fields in ``PER_AGENT`` may be given once per agent, as ``n_agents`` numbers.
    """

    AGENT: ClassVar[str] = "SpikingAgent"
    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "gamma", "trace_lambda", "critic_lr", "actor_lr", "inverse_temperature",
    )  # fmt: skip

    neuron: str = "lif"
    rule: str = "calcium"
    dopamine: str = "td"
    substeps: int = 20
    neurons_per_action: int = 10
    input_rate_hz: float = 100.0
    tonic_rate_hz: float = 50.0
    background_current: float | None = None
    noise_current: float | None = None
    tau_syn_ms: float = 5.0
    gamma: Any = 0.95
    trace_lambda: Any = 0.9
    critic_lr: Any = 0.1
    actor_lr: Any = None
    inverse_temperature: Any = 0.5
    weight_max: float = 20.0
    init_scale: float = 5.0
    tau_eligibility_ms: float | None = None
    tau_plus_ms: float = 20.0
    tau_minus_ms: float = 20.0
    tau_ca_ms: float = 20.0
    c_pre: float = 1.0
    c_post: float = 2.0
    theta_d: float = 1.0
    theta_p: float = 1.3
    gamma_d: float = 200.0
    gamma_p: float = 321.808
    n_microstimuli: int = 8
    microstimulus_width: float = 0.1
    stimulus_trace_decay: float = 0.9
    reward_resets_traces: bool = True
    critic_weight_bound: float = 10.0
    log_interval: int = 100

    def __post_init__(self) -> None:
        check_choice("neuron", self.neuron, NEURONS)
        check_choice("rule", self.rule, RULES)
        kinds = sorted({*DOPAMINE_MODELS, RAW_REWARD})
        if not isinstance(self.dopamine, str) or self.dopamine not in kinds:
            raise ValueError(f"dopamine={self.dopamine!r} is invalid: must be one of {kinds}")
        check_number("substeps", self.substeps, 1, 1000, integer=True)
        check_number("neurons_per_action", self.neurons_per_action, 1, 1000, integer=True)
        check_number("input_rate_hz", self.input_rate_hz, 0.0, 1000.0, low_open=True)
        check_number("tonic_rate_hz", self.tonic_rate_hz, 0.0, 1000.0)
        for name, value in NEURON_DEFAULTS[self.neuron].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        check_number("background_current", self.background_current, -1e3, 1e3)
        check_number("noise_current", self.noise_current, 0.0, 1e3)
        rule = RULE_DEFAULTS[self.rule]
        if self.actor_lr is None:
            object.__setattr__(self, "actor_lr", rule["actor_lr"])
        if self.tau_eligibility_ms is None:
            object.__setattr__(self, "tau_eligibility_ms", rule["tau_eligibility_ms"])
        if self.rule == "mstdp":
            if self.tau_eligibility_ms != math.inf:
                raise ValueError(
                    f"tau_eligibility_ms={self.tau_eligibility_ms!r} is invalid for rule='mstdp'"
                    " (MSTDP has no eligibility trace): leave it None"
                )
        else:
            check_number("tau_eligibility_ms", self.tau_eligibility_ms, 0.0, 1e6, low_open=True)
        for name in ("tau_syn_ms", "tau_plus_ms", "tau_minus_ms", "tau_ca_ms"):
            check_number(name, getattr(self, name), 0.0, 1e6, low_open=True)
        for name in ("c_pre", "c_post", "gamma_d", "gamma_p"):
            check_number(name, getattr(self, name), 0.0, 1e6)
        check_number("theta_d", self.theta_d, 0.0, low_open=True)
        check_number("theta_p", self.theta_p, 0.0, low_open=True)
        if not self.theta_d < self.theta_p:
            raise ValueError(
                f"theta_d={self.theta_d!r}, theta_p={self.theta_p!r} are invalid: the depression "
                "threshold theta_d must be below the potentiation threshold theta_p"
            )
        self._per_agent("gamma", 0.0, 1.0, high_open=True)
        self._per_agent("trace_lambda", 0.0, 1.0)
        self._per_agent("critic_lr", 0.0)
        self._per_agent("actor_lr", 0.0)
        self._per_agent("inverse_temperature", 0.0)
        check_number("weight_max", self.weight_max, 0.0, 1e6, low_open=True)
        check_number("init_scale", self.init_scale, 0.0, self.weight_max)
        check_number("n_microstimuli", self.n_microstimuli, 1, 1000, integer=True)
        check_number("microstimulus_width", self.microstimulus_width, 0.0, low_open=True)
        check_number("stimulus_trace_decay", self.stimulus_trace_decay, 0.0, 1.0)
        check_bool("reward_resets_traces", self.reward_resets_traces)
        check_number("critic_weight_bound", self.critic_weight_bound, 0.0, low_open=True)
        check_number("log_interval", self.log_interval, 1, integer=True)

    def to_flat(self) -> dict[str, Any]:
        """The config as JSON (``tau_eligibility_ms`` of ``mstdp``, infinite, as None)."""
        flat = dataclasses.asdict(self)
        if flat["tau_eligibility_ms"] == math.inf:
            flat["tau_eligibility_ms"] = None
        return {k: list(v) if isinstance(v, tuple) else v for k, v in flat.items()}


class NeuronState(NamedTuple):
    """The actor layer between 1 ms steps, ``[B, n_neurons]`` (inputs ``[B, n_inputs]``)."""

    v: Tensor  # membrane potential (mV)
    recovery: Tensor  # Izhikevich u, or the LIF's refractory time left (ms)
    current: Tensor  # synaptic current
    pre_trace: Tensor  # [B, n_inputs] STDP (tau+) or calcium (tau_Ca) trace of the inputs
    post_trace: Tensor  # STDP (tau-) or calcium (tau_Ca) trace of the actor neurons


class Rollout(NamedTuple):
    """The model's side of the population between two env steps."""

    encoder: EncoderState
    features: Tensor  # [B, F] the code of the current observation
    neurons: NeuronState
    eligibility: Tensor  # [B, n_neurons, F + 1] E of the window just run
    counts: Tensor  # [B, n_actions] spikes of each group in that window


class SpikingAgent(PopulationAgent):
    """A population of spiking actor-critic agents (see the module docstring).

    Args:
        env: a registered env id, a vector env with ``num_envs == n_agents``, or a single env,
            with a ``Discrete`` action space.
        n_agents: independent agents that learn together in one batched program.
        seed: one seed for everything (Poisson inputs, noise, actions, initial weights);
            ``None`` draws fresh entropy (kept in ``agent.seeds``).
        env_kwargs, tensorboard_log, tb_log_name, verbose, device: see
            :class:`~plasticgym.agents.base.PopulationAgent`.
        **hyperparameters: fields of :class:`SpikingAgentConfig`.
    """

    config_class: ClassVar[type] = SpikingAgentConfig

    # ------------------------------------------------------------------ model

    def _build(self) -> None:
        cfg, h, B, device = self.config, self._hyper, self.n_agents, self.device
        space = self.env.single_action_space
        if not isinstance(space, gym.spaces.Discrete):
            raise ValueError(f"SpikingAgent needs a Discrete action space, got {space}")
        self.n_actions = int(space.n)
        self.n_neurons = self.n_actions * cfg.neurons_per_action
        self.read_observation = ObservationReader(self.env.single_observation_space, device)
        self.observation_stats = self.read_observation.init(B, device)
        self.encoder = MicrostimulusEncoder(
            self.read_observation.n_channels, cfg.n_microstimuli, cfg.microstimulus_width,
            cfg.stimulus_trace_decay, cfg.reward_resets_traces,
        )  # fmt: skip
        self.n_features = self.encoder.n_features
        self.n_inputs = self.n_features + 1
        if cfg.dopamine == RAW_REWARD:
            self.dopamine = DOPAMINE_MODELS["td"]()  # the critic still learns its TD error
        else:
            self.dopamine = DOPAMINE_MODELS[cfg.dopamine]()
        bound = cfg.critic_weight_bound
        critic_rule = chain(
            three_factor(h["critic_lr"], h["gamma"] * h["trace_lambda"]),
            weight_bounds(-bound, bound),
        )
        self.critic = Projection.create(
            critic_rule, torch.zeros(B, 1, self.n_features, device=device)
        )
        self.weights = torch.zeros(B, self.n_neurons, self.n_inputs, device=device)
        self.dopamine_state = self.dopamine.init(B, device)
        group = torch.arange(self.n_neurons, device=device) // cfg.neurons_per_action
        self._group = group
        self._rates_scale = torch.full((self.n_inputs,), cfg.input_rate_hz, device=device)
        self._rates_scale[-1] = 0.0
        self._tonic = torch.zeros(self.n_inputs, device=device)
        self._tonic[-1] = cfg.tonic_rate_hz
        tau_e = cfg.tau_eligibility_ms
        self._decay_e = 1.0 if tau_e == math.inf else decay_factor(tau_e)
        self._carry_e = 0.0 if tau_e == math.inf else self._decay_e**cfg.substeps
        self._no_summary = torch.full((), math.nan, device=device)
        self._rollout: Rollout | None = None

    def _initialise(self, generator: torch.Generator) -> None:
        draws = torch.rand(self.weights.shape, generator=generator, device=self.device)
        self.weights = draws * self.config.init_scale

    def _rest_neurons(self) -> NeuronState:
        """Every actor neuron at rest, traces empty."""
        B, N, device = self.n_agents, self.n_neurons, self.device
        cfg = self.config
        if cfg.neuron == "izhikevich":
            v = torch.full((B, N), REGULAR_SPIKING.c, device=device)
            recovery = REGULAR_SPIKING.b * v
        else:
            v = torch.full((B, N), -65.0, device=device)
            recovery = torch.zeros(B, N, device=device)
        zeros = torch.zeros(B, N, device=device)
        return NeuronState(v, recovery, zeros, torch.zeros(B, self.n_inputs, device=device),
                           zeros.clone())  # fmt: skip

    # ------------------------------------------------------------------ the spiking window

    def _neuron_step(self, neurons: NeuronState, current: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        if self.config.neuron == "izhikevich":
            return izhikevich_step(neurons.v, neurons.recovery, current, *REGULAR_SPIKING)
        return lif_step(neurons.v, current, neurons.recovery)

    def _window(
        self,
        neurons: NeuronState,
        features: Tensor,
        generator: torch.Generator,
        learning: bool,
    ) -> tuple[NeuronState, Tensor, Tensor]:
        """Run ``substeps`` ms of the actor on the code ``features [B, F]``; returns the neuron
        state, the window's eligibility increment ``e [B, N, F + 1]`` (zeros unless
        ``learning``) and the spike counts of every neuron ``[B, N]``."""
        cfg = self.config
        rates = torch.cat([features, torch.zeros_like(features[:, :1])], dim=1)
        rates = rates * self._rates_scale + self._tonic
        decay_syn = decay_factor(cfg.tau_syn_ms)
        rule = cfg.rule
        calcium = rule == "calcium"
        decay_pre = decay_factor(cfg.tau_ca_ms if calcium else cfg.tau_plus_ms)
        decay_post = decay_factor(cfg.tau_ca_ms if calcium else cfg.tau_minus_ms)
        a_plus, a_minus = STDP_AMPLITUDES.get(rule, (1.0, 1.0))
        e = torch.zeros_like(self.weights) if learning else None
        counts = torch.zeros_like(neurons.v)
        v, recovery, current, x_pre, y_post = neurons
        for _ in range(cfg.substeps):
            pre = poisson_spikes(rates, generator)
            synaptic = torch.matmul(self.weights, pre.to(current.dtype).unsqueeze(-1))
            current = decay_syn * current + synaptic.squeeze(-1)
            noise = torch.randn(current.shape, generator=generator, device=current.device)
            drive = cfg.background_current + current + cfg.noise_current * noise
            v, recovery, post = self._neuron_step(NeuronState(v, recovery, current, x_pre,
                                                              y_post), drive)  # fmt: skip
            counts = counts + post
            if rule == "izhikevich":  # pair term on the traces before this step's spikes
                inc = stdp_increment(x_pre, y_post, pre, post, a_plus, a_minus)
                x_pre = trace_step(x_pre, pre, decay_pre)
                y_post = trace_step(y_post, post, decay_post)
            else:  # Florian's traces and the calcium include this step's spikes
                x_pre = trace_step(x_pre, pre, decay_pre, a_plus if not calcium else 1.0)
                y_post = trace_step(y_post, post, decay_post, a_minus if not calcium else 1.0)
                inc = self._increment(x_pre, y_post, pre, post) if learning else None
            if learning:
                e = self._decay_e * e + inc
        return NeuronState(v, recovery, current, x_pre, y_post), e, counts

    def _increment(self, x_pre: Tensor, y_post: Tensor, pre: Tensor, post: Tensor) -> Tensor:
        """The rule's eligibility increment of one ms (Florian's ``zeta`` or calcium)."""
        cfg = self.config
        if cfg.rule == "calcium":
            calcium = spike_calcium(x_pre, y_post, cfg.c_pre, cfg.c_post)
            return calcium_eligibility_increment(
                calcium, cfg.theta_d, cfg.theta_p, cfg.gamma_d, cfg.gamma_p
            )
        traces = FlorianTraces(
            x_pre.unsqueeze(-2).expand_as(self.weights),
            y_post.unsqueeze(-1).expand_as(self.weights),
        )
        zeta = florian_zeta(traces, pre, post)
        return zeta / cfg.tau_eligibility_ms if cfg.rule == "mstdpet" else zeta

    def _act(
        self,
        rollout_encoder: EncoderState,
        features: Tensor,
        neurons: NeuronState,
        eligibility: Tensor,
        generator: torch.Generator,
    ) -> tuple[Rollout, Tensor]:
        """Run the window, choose the actions and tag the chosen groups' synapses."""
        neurons, e, spikes = self._window(neurons, features, generator, learning=True)
        counts = self._group_counts(spikes)
        actions = sample(self._policy(counts), generator)
        chosen = (self._group.unsqueeze(0) == actions.unsqueeze(1)).to(e.dtype)
        eligibility = self._carry_e * eligibility + chosen.unsqueeze(-1) * e
        return Rollout(rollout_encoder, features, neurons, eligibility, counts), actions

    def _group_counts(self, spikes: Tensor) -> Tensor:
        """Spikes of each action's group ``[B, n_actions]`` from those of every neuron."""
        B = spikes.shape[0]
        return spikes.view(B, self.n_actions, self.config.neurons_per_action).sum(dim=2)

    def _policy(self, counts: Tensor) -> Tensor:
        """``softmax(beta counts)`` over the actions."""
        beta = self._column(self._hyper["inverse_temperature"])
        return torch.softmax(beta * counts, dim=1)

    # ------------------------------------------------------------------ learning

    def value(self, features: Tensor) -> Tensor:
        """Critic output ``V(x) = w . x`` for features ``[B, F]``; returns ``[B]``."""
        return self.critic.drive(features).view(-1)

    def _begin(self, obs: np.ndarray) -> Tensor:
        B = self.n_agents
        channels, self.observation_stats = self._read(obs)
        start = torch.ones(B, dtype=torch.bool, device=self.device)
        zeros = torch.zeros(B, device=self.device)
        features, encoder = self.encoder.encode(
            self.encoder.init(B, self.device), channels, zeros, start
        )
        events = task_events(self.dopamine, self._step_info, self.device)
        self.dopamine_state = self.dopamine.begin(self.dopamine_state, events)
        self._rollout, actions = self._act(
            encoder, features, self._rest_neurons(), torch.zeros_like(self.weights),
            self._learn_generator,
        )  # fmt: skip
        return actions

    def _read(self, obs: Any) -> tuple[Tensor, Any]:
        return self.read_observation(obs, self.observation_stats, update=True)

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
        h = self._hyper
        channels, self.observation_stats = self._read(obs)
        x_t, encoder = self.encoder.encode(ro.encoder, channels, reward, ~active)
        v_tm1, v_t = self.value(ro.features), self.value(x_t)
        discount = h["gamma"] * (~terminated).to(v_t.dtype)
        events = task_events(self.dopamine, self._step_info, self.device, terminated)
        rpe, signal, self.dopamine_state = self.dopamine.update(
            self.dopamine_state, v_tm1, reward, discount, v_t, events, active
        )
        dopamine = (reward if self.config.dopamine == RAW_REWARD else signal) * active
        self.critic, dw_critic = self.critic.learn(PlasticitySignals(
            pre=ro.features, post=torch.ones_like(v_tm1).unsqueeze(1), dopamine=rpe,
            rate=v_tm1.unsqueeze(1), active=active,
        ))  # fmt: skip
        dw_actor = actor_update(self.weights, ro.eligibility, dopamine, h["actor_lr"],
                                self.config.weight_max)  # fmt: skip
        self.weights = self.weights + dw_actor
        # an episode's end: the next window starts from rest with no eligibility
        keep = active.view(-1, 1)
        neurons = NeuronState(*(torch.where(keep, a, b) for a, b in
                                zip(ro.neurons, self._rest_neurons(), strict=True)))  # fmt: skip
        eligibility = ro.eligibility * active.view(-1, 1, 1)
        self._rollout, actions = self._act(encoder, x_t, neurons, eligibility, generator)
        return StepResult(
            actions=actions, rpe=rpe, dopamine=dopamine, value=v_t,
            **self._summary(dw_critic, dw_actor),
        )  # fmt: skip

    def _summary(self, dw_critic: Tensor, dw_actor: Tensor) -> dict[str, Tensor]:
        """TensorBoard's step summaries: mean |dw| and the actor's mean rate (Hz)."""
        if self._logger is None:
            return {"mean_abs_dw": self._no_summary, "mean_rate": self._no_summary}
        assert self._rollout is not None
        counts = self._rollout.counts
        rate = counts.mean() / (self.config.neurons_per_action * self.config.substeps) * 1000.0
        return {"mean_abs_dw": 0.5 * (dw_critic.abs().mean() + dw_actor.abs().mean()),
                "mean_rate": rate}  # fmt: skip

    def _record_columns(
        self,
        actions: Tensor,
        reward: Tensor,
        result: StepResult,
        episode: Tensor,
        info: Mapping[str, Any],
    ) -> dict[str, np.ndarray]:
        """The base columns plus ``spikes``: the actor's spikes in the window that chose the
        next action (all groups)."""
        columns = super()._record_columns(actions, reward, result, episode, info)
        assert self._rollout is not None
        columns["spikes"] = self._rollout.counts.sum(dim=1).cpu().numpy()
        return columns

    # ------------------------------------------------------------------ acting

    def predict(
        self,
        observation: np.ndarray,
        state: np.ndarray | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Actions for observations, with the encoder's traces as recurrent ``state``.

        Each call runs one window of ``substeps`` ms from rest, with the predict generator
        (Poisson inputs and noise), so predicting does not change what ``learn`` does; nothing
        is learned. ``deterministic`` takes the group with the most spikes (the first on ties)
        instead of sampling the softmax; the spikes themselves stay stochastic.

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
            zeros = torch.zeros(B, device=self.device)
            features, encoder_state = self.encoder.encode(encoder_state, channels, zeros, start)
            _, _, spikes = self._window(
                self._rest_neurons(), features, self._predict_generator, learning=False
            )
            counts = self._group_counts(spikes)
            if deterministic:
                actions = counts.argmax(dim=1)
            else:
                actions = sample(self._policy(counts), self._predict_generator)
        actions_np = actions.cpu().numpy()
        if single and B == 1:
            actions_np = actions_np[0]
        return actions_np, encoder_state.trace.cpu().numpy()

    # ------------------------------------------------------------------ checkpoint hooks

    def _model_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "critic.weights": self.critic.weights,
            "critic.state": self.critic.synapses.state,
            "actor.weights": self.weights,
            "dopamine.state": self.dopamine_state,
        }
        if self.observation_stats is not None:
            state["observation.stats"] = self.observation_stats
        if self._rollout is not None:
            state["rollout"] = self._rollout
        return state

    def _empty_rollout_state(self) -> dict[str, Any]:
        B, device = self.n_agents, self.device
        rollout = Rollout(
            self.encoder.init(B, device), torch.zeros(B, self.n_features, device=device),
            self._rest_neurons(), torch.zeros_like(self.weights),
            torch.zeros(B, self.n_actions, device=device),
        )  # fmt: skip
        return {"rollout": rollout}

    def _check_loaded_state(self, state: dict[str, Any], path: Any) -> None:
        """Weights must lie within the bounds that learning keeps them in."""
        cfg = self.config
        bounds = {
            "critic.weights": (-cfg.critic_weight_bound, cfg.critic_weight_bound),
            "actor.weights": (0.0, cfg.weight_max),
        }
        check_weight_bounds(state, bounds, path)

    def _load_model_state(self, state: dict[str, Any], has_rollout: bool) -> None:
        self.critic = self.critic._replace(
            synapses=Synapses(state["critic.weights"], state["critic.state"])
        )
        self.weights = state["actor.weights"]
        self.dopamine_state = state["dopamine.state"]
        if self.observation_stats is not None:
            self.observation_stats = state["observation.stats"]
        self._rollout = state["rollout"] if has_rollout else None


def actor_update(
    weights: Tensor, eligibility: Tensor, dopamine: Tensor, learning_rate: Any, w_max: float
) -> Tensor:
    """The actor's weight change: ``dW = clip(W + lr DA E, 0, w_max) - W`` (the three-factor
    conversion of the spike-based eligibility ``E``; Izhikevich 2007, Florian 2007, Fremaux et
    al. 2010). With ``DA = 0`` it is exactly 0 for weights inside the bounds.

    Shapes: ``weights``, ``eligibility`` ``[B, N, n_pre]``; ``dopamine [B]``; ``learning_rate``
    float or ``[B]``."""
    step = per_agent(learning_rate, weights) * dopamine.view(-1, 1, 1) * eligibility
    return (weights + step).clamp(0.0, w_max) - weights


__all__ = ["RULE_DEFAULTS", "SpikingAgent", "SpikingAgentConfig", "actor_update"]
