"""Synapses of one projection: weights plus the state of their plasticity chain.

The weights are ``[B, n_post, n_pre]`` (population first). The plasticity state holds whatever
the chain's transforms keep — eligibility traces (:func:`plasticgym.plasticity.three_factor`),
rate estimates (:func:`plasticgym.plasticity.synaptic_scaling`) — and the bounds are the
chain's :func:`plasticgym.plasticity.weight_bounds` transform.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from plasticgym.calcium import (
    SHOUVAL_THETA_D,
    SHOUVAL_THETA_P,
    bcm_three_factor,
    calcium_three_factor,
    check_thresholds,
)
from plasticgym.config import check_number
from plasticgym.consolidation import (
    TagCaptureState,
    block_protein_synthesis,
    seed_tag_sampling,
    tag_and_capture,
)
from plasticgym.parts import Part
from plasticgym.plasticity import PlasticitySignals, PlasticityTransform, three_factor
from plasticgym.rules import Scalar


class Synapses(NamedTuple):
    """Weights ``[B, n_post, n_pre]`` and the state of the rule that changes them."""

    weights: Tensor
    state: Any


def uniform_weights(
    shape: tuple[int, ...],
    low: float,
    high: float,
    *,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Weights drawn uniformly in ``[low, high)`` from an explicit generator (no global RNG)."""
    if not low <= high:
        raise ValueError(f"uniform_weights: need low <= high, got low={low}, high={high}")
    return low + (high - low) * torch.rand(shape, generator=generator, device=device)


def init_synapses(rule: PlasticityTransform, weights: Tensor) -> Synapses:
    """Synapses with the given initial weights and the rule's initial state."""
    return Synapses(weights, rule.init(weights))


def update_synapses(
    rule: PlasticityTransform, synapses: Synapses, signals: PlasticitySignals
) -> tuple[Synapses, Tensor]:
    """One plasticity step: run the chain from ``dw = 0`` and apply its result.

    Returns the new synapses and the weight change ``dw`` that was applied. The starting
    ``dw = 0`` is one zero broadcast to the weights' shape (read-only: transforms return a new
    ``dw``, they do not write into the one they get).
    """
    weights = synapses.weights
    zero = torch.zeros((), dtype=weights.dtype, device=weights.device).expand(weights.shape)
    dw, state = rule.update(zero, synapses.state, weights, signals)
    return Synapses(weights + dw, state), dw


class Projection(NamedTuple):
    """One projection of an agent: its synapses and the plasticity chain that changes them.

    ``drive(pre)`` is the postsynaptic input ``W x`` ``[B, n_post]``; ``learn(signals)`` runs one
    plasticity step (:func:`update_synapses`) and returns the new projection and the ``dw`` that
    was applied.
    """

    rule: PlasticityTransform
    synapses: Synapses

    @classmethod
    def create(cls, rule: PlasticityTransform, weights: Tensor) -> Projection:
        """A projection with the given initial weights and the rule's initial state."""
        return cls(rule, init_synapses(rule, weights))

    @property
    def weights(self) -> Tensor:
        """``[B, n_post, n_pre]``."""
        return self.synapses.weights

    def drive(self, pre: Tensor) -> Tensor:
        """``W x`` for presynaptic activity ``pre [B, n_pre]``; returns ``[B, n_post]``."""
        weights = self.synapses.weights
        if weights.dim() == 3 and pre.dim() == 2 and pre.shape[0] == weights.shape[0]:
            return torch.bmm(weights, pre.unsqueeze(-1)).squeeze(-1)  # matmul's kernel, direct
        return torch.matmul(weights, pre.unsqueeze(-1)).squeeze(-1)

    def learn(self, signals: PlasticitySignals) -> tuple[Projection, Tensor]:
        synapses, dw = update_synapses(self.rule, self.synapses, signals)
        return self._replace(synapses=synapses), dw

    def with_weights(self, weights: Tensor) -> Projection:
        """The same projection with other weights (its plasticity state kept)."""
        return self._replace(synapses=self.synapses._replace(weights=weights))


# ---------------------------------------------------------------------------- synapse models

SYNAPSE_MODELS: dict[str, type[SynapseModel]] = {}
"""Every synapse model by ``KIND`` (filled by subclassing :class:`SynapseModel`)."""


@dataclasses.dataclass(frozen=True)
class SynapseModel(Part):
    """What a projection's Hebbian term is and how dopamine turns it into a weight change, as
    an agent part (``PlasticAgent(env, synapse=CalciumRule(...))``): the transforms that open
    the projection's plasticity chain (scaling and bounds follow them). Every model is
    dopamine-gated: without dopamine there is no weight change.

    ``EVENTS`` maps each info key the model reads to its dtype, as for dopamine models
    (:class:`plasticgym.dopamine.DopamineModel`): the agent checks that the task provides
    them and passes them, as tensors ``[B]``, in ``PlasticitySignals.events``."""

    EVENTS: ClassVar[Mapping[str, torch.dtype]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.KIND:
            SYNAPSE_MODELS[cls.KIND] = cls

    def transforms(
        self, learning_rate: Scalar, trace_decay: Scalar
    ) -> tuple[PlasticityTransform, ...]:
        raise NotImplementedError

    def seeded(self, projection: Projection, generator: torch.Generator) -> Projection:
        """The projection with whatever randomness the model's state keeps drawn from
        ``generator`` (the agent's initialisation generator); most models keep none and
        return it unchanged (drawing nothing)."""
        del generator
        return projection


@dataclasses.dataclass(frozen=True)
class ThreeFactor(SynapseModel):
    """The default: eligibility ``e <- decay e + post (x) pre`` and ``dw = lr DA e``
    (:func:`plasticgym.plasticity.three_factor`)."""

    KIND: ClassVar[str] = "three_factor"

    def transforms(
        self, learning_rate: Scalar, trace_decay: Scalar
    ) -> tuple[PlasticityTransform, ...]:
        return (three_factor(learning_rate, trace_decay),)


@dataclasses.dataclass(frozen=True)
class CalciumRule(SynapseModel):
    """Calcium-controlled Hebbian term (Shouval, Bear & Cooper 2002; thresholds as in Graupner
    & Brunel 2012): ``Ca = k post pre + C_pre pre + C_post post``, ``e <- decay e + Omega(Ca)``
    (depression between ``theta_d`` and ``theta_p``, potentiation above), ``dw = lr DA e``
    (:func:`plasticgym.calcium.calcium_three_factor`). Flat names ``calcium_<field>``.

    Args:
        theta_d, theta_p: depression and potentiation thresholds, ``theta_d < theta_p``.
        coincidence: ``k``, the NMDA-like pre x post calcium, >= 0.
        c_pre, c_post: calcium from presynaptic and postsynaptic activity alone, >= 0.
        depression, potentiation: ``A_d``, ``A_p`` of ``Omega``, >= 0.
    """

    KIND: ClassVar[str] = "calcium"
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        name: {"low": 0.0} for name in
        ("theta_d", "theta_p", "coincidence", "c_pre", "c_post", "depression", "potentiation")
    }  # fmt: skip
    theta_d: float = SHOUVAL_THETA_D
    theta_p: float = SHOUVAL_THETA_P
    coincidence: float = 1.0
    c_pre: float = 0.0
    c_post: float = 0.0
    depression: float = 0.25
    potentiation: float = 0.75

    def check(self) -> None:
        check_thresholds(self.theta_d, self.theta_p)

    def transforms(
        self, learning_rate: Scalar, trace_decay: Scalar
    ) -> tuple[PlasticityTransform, ...]:
        return (calcium_three_factor(
            learning_rate, trace_decay, theta_d=self.theta_d, theta_p=self.theta_p,
            coincidence=self.coincidence, c_pre=self.c_pre, c_post=self.c_post,
            depression=self.depression, potentiation=self.potentiation,
        ),)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class BCMRule(SynapseModel):
    """BCM's sliding threshold as the Hebbian term (Bienenstock, Cooper & Munro 1982):
    ``e <- decay e + post (post - theta_M) (x) pre`` with ``theta_M`` a running average of
    ``post^2``, ``dw = lr DA e`` (:func:`plasticgym.calcium.bcm_three_factor`). Flat names
    ``bcm_<field>``.

    Args:
        threshold_time_constant: steps of the running average ``theta_M``, >= 1.
        initial_threshold: ``theta_M`` before any activity, >= 0.
    """

    KIND: ClassVar[str] = "bcm"
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "threshold_time_constant": {"low": 1.0},
        "initial_threshold": {"low": 0.0},
    }
    threshold_time_constant: float = 100.0
    initial_threshold: float = 0.25

    def transforms(
        self, learning_rate: Scalar, trace_decay: Scalar
    ) -> tuple[PlasticityTransform, ...]:
        return (bcm_three_factor(
            learning_rate, trace_decay, self.threshold_time_constant, self.initial_threshold
        ),)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class TaggedSynapse(SynapseModel):
    """An early/late synapse: the three-factor rule's proposed change ``lr DA e`` induces the
    early phase of the tag-trigger-consolidation synapse of Clopath, Ziegler, Vasilaki, Busing
    & Gerstner 2008 (:func:`plasticgym.consolidation.tag_and_capture`), which decays over
    hours unless proteins, made after many tags or a dopamine surge, capture it into the
    bistable late phase. Flat names ``tagged_<field>``.

    ``dt`` is the task time one env step lasts, in seconds: the tasks have no clock of their
    own, so the step duration is stated by whoever runs them (e.g. 30 s per bandit trial in
    ``experiments/consolidation_behaviour.py``); every other time constant is in seconds.

    **Weight bounds.** The transform returns the change of ``g_H h - g_L l + g_z z``; the
    actor's chain then clips the weight to ``[0, actor_weight_max]``. A clipped change is lost
    to the weight but not to the states, so the weight and the states part ways (after the
    states decay the weight is left off ``w_0``). Keep ``actor_init_scale + early_gain +
    late_gain <= actor_weight_max`` (the defaults fit the default ``actor_weight_max = 2``);
    early LTD below 0 (``w_0 < depressed_gain``) is clipped and leaves such a weight raised by
    the clipped part when the LTD state decays.

    **Sampled tags** (``sampled=True``, the default): each synapse's early state is binary
    (neutral, up or down) and its transitions are sampled, as in Clopath et al.'s model, from a
    counter-based random stream kept in the synapse state (one key per agent, drawn from the
    agent's initialisation generator, and a step counter;
    :func:`plasticgym.consolidation.counter_uniform`): same seed, same tags, on any device, and
    a checkpoint continues the stream exactly. A tagged synapse is captured once ``gamma p``
    exceeds the late phase's well depth 0.048 (``p > 0.48`` at ``gamma = 0.1``).
    ``sampled=False``: the expected values (probabilities of the up and down states), a
    deterministic mean field in which a synapse needs an expected tag of about ``0.048 /
    (gamma p)`` to be captured (see :mod:`plasticgym.consolidation`).

    **Contacts.** A rate unit stands for a population of afferents, so a connection stands
    for many synapses: with ``contacts = M`` each connection has ``M`` sampled synapses of its
    own (tags and late states), induced alike, and its weight is their mean; protein synthesis
    counts the tagged contacts of the neuron, as Clopath et al.'s trigger counts the tagged
    synapses of the neuron. A cue that drives a few connections then still drives many
    synapses, so whether its training triggers synthesis depends on how much it tagged, not
    on whether a handful of binary draws all came up at once. (Equivalent to ``M`` copies of
    every presynaptic unit with ``1/M`` of the gains and of the learning rate.)

    **Novelty.** ``trigger_event="novelty"``: the task's info event ``novelty`` (bool) also
    triggers protein synthesis while it is on (:func:`plasticgym.consolidation.protein_trigger`;
    behavioural tagging, Moncada & Viola 2007; Wang, Redondo & Morris 2010), e.g. the
    ``novelty`` phase of ``plasticgym/ReversalBandit-v0``. The event makes proteins only: it
    induces nothing, so without dopamine no weight changes.

    **Protein-synthesis blocker.** ``protein_synthesis_blocked`` is the blocker at the start;
    to apply or wash it out during an experiment use
    :meth:`plasticgym.agents.PlasticAgent.block_protein_synthesis` (or
    :func:`set_protein_synthesis_blocked` on a projection).

    Args:
        dt: seconds of task time per env step, > 0 and at most ``tau_z / 4``.
        tau_h, tau_l: lifetimes of the early LTP and LTD states (tags), seconds.
        tau_p_rise, tau_p_decay: protein synthesis and degradation time constants, seconds.
        tau_z: consolidation time constant, seconds.
        tag_threshold: fraction of a neuron's synapses (all of them, tonic input included)
            whose tags trigger protein synthesis, in [0, 1].
        dopamine_threshold: dopamine above which synthesis is also triggered (novelty,
            Ziegler et al. 2015), a finite number > 0; None: never (JSON has no ``inf``).
        gamma: capture strength, >= 0 (0: nothing is ever consolidated).
        kappa: unstable point of the late phase, in (0, 1).
        early_gain, depressed_gain, late_gain: ``g_H``, ``g_L``, ``g_z`` in weight units, > 0.
        protein_synthesis_blocked: a blocker is applied from the start.
        sampled: binary, sampled early states (True) or their expected values (False).
        contacts: sampled synapses per connection, an int >= 1 (> 1 needs ``sampled``).
        trigger_event: an info key (a bool task event) that triggers protein synthesis, or
            None.
    """

    KIND: ClassVar[str] = "tagged"
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        **{name: {"low": 0.0, "low_open": True} for name in
           ("dt", "tau_h", "tau_l", "tau_p_rise", "tau_p_decay", "tau_z", "early_gain",
            "depressed_gain", "late_gain")},
        "tag_threshold": {"low": 0.0, "high": 1.0},
        "gamma": {"low": 0.0},
        "kappa": {"low": 0.0, "high": 1.0, "low_open": True, "high_open": True},
    }  # fmt: skip
    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "tau_h", "tau_l", "tau_p_rise", "tau_p_decay", "tau_z", "tag_threshold", "gamma",
        "kappa", "early_gain", "depressed_gain", "late_gain",
    )  # fmt: skip
    dt: float = 10.0
    tau_h: Any = 3600.0
    tau_l: Any = 5400.0
    tau_p_rise: Any = 360.0
    tau_p_decay: Any = 3600.0
    tau_z: Any = 360.0
    tag_threshold: Any = 0.3
    dopamine_threshold: float | None = None
    gamma: Any = 0.1
    kappa: Any = 0.5
    early_gain: Any = 0.5
    depressed_gain: Any = 0.25
    late_gain: Any = 1.0
    protein_synthesis_blocked: bool = False
    sampled: bool = True
    contacts: int = 1
    trigger_event: str | None = None

    @property
    def EVENTS(self) -> Mapping[str, torch.dtype]:  # type: ignore[override]  # noqa: N802
        """``{trigger_event: torch.bool}``, or nothing without a trigger event."""
        return {} if self.trigger_event is None else {self.trigger_event: torch.bool}

    def check(self) -> None:
        threshold = self.dopamine_threshold
        if threshold is not None:
            try:
                check_number("tagged_dopamine_threshold", threshold, 0.0, low_open=True)
            except ValueError as error:
                raise ValueError(f"TaggedSynapse.dopamine_threshold: {error}") from None
        for name in ("protein_synthesis_blocked", "sampled"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"TaggedSynapse.{name}: tagged_{name}={getattr(self, name)!r} is invalid: "
                    "must be True or False"
                )
        contacts = self.contacts
        if isinstance(contacts, bool) or not isinstance(contacts, int) or contacts < 1:
            raise ValueError(
                f"TaggedSynapse.contacts: tagged_contacts={contacts!r} is invalid: must be an "
                "integer >= 1"
            )
        if contacts > 1 and not self.sampled:
            raise ValueError(
                f"TaggedSynapse.contacts: tagged_contacts={contacts!r} needs sampled=True (with "
                "expected-value tags every contact is the same)"
            )
        event = self.trigger_event
        if event is not None and (not isinstance(event, str) or not event):
            raise ValueError(
                f"TaggedSynapse.trigger_event: tagged_trigger_event={event!r} is invalid: must "
                "be an info key (a non-empty str) or None"
            )
        tau_z = self.tau_z
        smallest = min(tau_z) if isinstance(tau_z, tuple) else tau_z
        if isinstance(smallest, int | float) and self.dt > smallest / 4:
            raise ValueError(
                f"TaggedSynapse.dt: tagged_dt={self.dt!r} is invalid: the late phase is "
                f"integrated with Euler steps, so dt must be at most tau_z / 4 = "
                f"{smallest / 4:g} s"
            )

    def transforms(
        self, learning_rate: Scalar, trace_decay: Scalar
    ) -> tuple[PlasticityTransform, ...]:
        return (three_factor(learning_rate, trace_decay), tag_and_capture(
            self.dt, tau_h=self.tau_h, tau_l=self.tau_l, tau_p_rise=self.tau_p_rise,
            tau_p_decay=self.tau_p_decay, tau_z=self.tau_z, tag_threshold=self.tag_threshold,
            dopamine_threshold=math.inf if self.dopamine_threshold is None
            else self.dopamine_threshold, gamma=self.gamma, kappa=self.kappa,
            early_gain=self.early_gain, depressed_gain=self.depressed_gain,
            late_gain=self.late_gain, protein_synthesis_blocked=self.protein_synthesis_blocked,
            sampled=self.sampled, contacts=self.contacts, trigger_event=self.trigger_event,
        ))  # fmt: skip

    def seeded(self, projection: Projection, generator: torch.Generator) -> Projection:
        """With ``sampled``: one key per agent for the tags' random stream, drawn from
        ``generator`` (:func:`seed_tag_sampling_keys`); otherwise unchanged."""
        if not self.sampled:
            return projection
        n_agents = projection.weights.shape[0]
        keys = torch.randint(0, 2**32, (n_agents,), generator=generator, dtype=torch.int64,
                             device=projection.weights.device)  # fmt: skip
        return seed_tag_sampling_keys(projection, keys)


def _map_tag_states(projection: Projection, change: Any, missing: str) -> Projection:
    """The projection with ``change`` applied to every tag-and-capture state of its chain.
    Raises ``ValueError`` (saying it has no ``missing``) if its chain has none."""
    state = projection.synapses.state
    parts = state if isinstance(state, tuple) and not isinstance(state, TagCaptureState) else ()
    found = [isinstance(part, TagCaptureState) for part in parts]
    if isinstance(state, TagCaptureState):
        new_state: Any = change(state)
    elif any(found):
        new_state = tuple(change(part) if tagged else part
                          for part, tagged in zip(parts, found, strict=True))  # fmt: skip
    else:
        raise ValueError(
            f"this projection's synapses have no {missing}: use synapse=TaggedSynapse(...) "
            "(synapse='tagged')"
        )
    return projection._replace(synapses=projection.synapses._replace(state=new_state))


def seed_tag_sampling_keys(projection: Projection, keys: Tensor) -> Projection:
    """The projection with its agents' sampling keys set to ``keys`` (int64 ``[B]``) in every
    tag-and-capture state of its chain (:func:`plasticgym.consolidation.seed_tag_sampling`).
    Raises ``ValueError`` if its chain has none."""
    return _map_tag_states(projection, functools.partial(seed_tag_sampling, keys=keys),
                           "sampled tags to seed")  # fmt: skip


def set_protein_synthesis_blocked(projection: Projection, blocked: bool | Tensor) -> Projection:
    """The projection with a protein-synthesis blocker applied (True) or washed out (False),
    for all agents or per agent (bool ``[B]``), in every tag-and-capture state of its chain
    (:func:`plasticgym.consolidation.block_protein_synthesis`). Raises ``ValueError`` if its
    chain has none."""
    return _map_tag_states(projection, functools.partial(block_protein_synthesis, blocked=blocked),
                           "protein synthesis to block")  # fmt: skip


def rest(projection: Projection, n_steps: int, dopamine: float | Tensor = 0.0) -> Projection:
    """``n_steps`` steps of the projection's plasticity chain with no pre- or postsynaptic
    activity (nothing induced): its synapses' clocks run on, early phases decay, proteins and
    consolidation evolve. ``dopamine`` (a float or ``[B]``) is delivered on every step, e.g. a
    novelty signal that triggers protein synthesis above ``dopamine_threshold``. Every
    transform of the chain runs (synaptic scaling would see a silent neuron: use it with
    ``scaling=None`` or mind that); eligibility traces decay on, and with dopamine a trace
    left from earlier steps would still convert into a change."""
    weights = projection.weights
    B, n_post, n_pre = weights.shape
    zeros = functools.partial(torch.zeros, dtype=weights.dtype, device=weights.device)
    da = torch.as_tensor(dopamine, dtype=weights.dtype, device=weights.device).expand(B)
    signals = PlasticitySignals(
        pre=zeros(B, n_pre),
        post=zeros(B, n_post),
        dopamine=da.clone(),
        rate=zeros(B, n_post),
        active=torch.ones(B, dtype=torch.bool, device=weights.device),
    )
    for _ in range(n_steps):
        projection, _ = projection.learn(signals)
    return projection
