"""Dopamine models: how a reward-prediction error becomes the signal that reaches synapses.

:func:`td` (Schultz, Dayan & Montague 1997) delivers the TD error itself. The addiction models
add what a drug does to dopamine: a non-compensable surge (:func:`redish`; Redish 2004), a
surge whose long-run effect is absorbed by a rising basal reward level (:func:`average_reward`;
after Dezfouli et al. 2009), or reward defined as the reduction of a homeostatic drive over the
internal drug level (:func:`homeostatic`; Keramati & Gutkin 2014).

A model is a :class:`DopamineModel`: a frozen spec of its parameters (a
:class:`plasticgym.parts.Part`) with three methods over an explicit state, batched over agents
(shapes ``[B]``)::

    state = model.init(n_agents, device)
    state = model.begin(state, events)                      # the first observations
    rpe, dopamine, state = model.update(state, v_tm1, r_t, discount_t, v_t, events, active)

``rpe`` is the model's own prediction error (what the critic learns from, recorded as ``rpe``);
``dopamine`` is the phasic signal before the agent's gains and tonic level. ``events`` maps the
task events the model declares in ``EVENTS`` (info keys such as ``infusion``) and
``"terminated"`` to tensors ``[B]``. Defining a subclass with a new ``KIND`` registers it
(:data:`DOPAMINE_MODELS`): ``PlasticAgent(env, dopamine=MyModel(...))`` and
``dopamine="my_kind"`` then work with no change to the agent (see docs/agents.md).

The maths are the pure functions below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import Tensor

from plasticgym.config import check_number
from plasticgym.parts import Part
from plasticgym.rules import Scalar, per_agent, td_error

Events = Mapping[str, Tensor]
"""Task events of one step by name, ``[B]`` each (see :class:`DopamineModel`)."""


def redish_dopamine(delta: Tensor, surge: Scalar, drug: Tensor) -> Tensor:
    """Non-compensable drug surge (Redish 2004, eq. 2).

    ``DA = max(delta + D, D)`` at a drug delivery, ``delta`` otherwise. Because ``DA >= D > 0``
    on every drug step, no learned prediction can cancel it and the value of drug-taking grows
    without bound.

    Shapes: ``delta [B]``, ``drug [B]`` bool; ``surge`` float or ``[B]``.
    """
    surge_t = per_agent(surge, delta) * drug
    return (delta + surge_t).where(~drug, (delta + surge_t).maximum(surge_t))


def average_reward_delta(
    v_tm1: Tensor, r_t: Tensor, v_t: Tensor, not_terminal_t: Tensor, rho: Tensor
) -> Tensor:
    """Average-reward TD error (Tsitsiklis & Van Roy 1999; Daw & Touretzky 2002).

    ``delta = r_t - rho + V(s_t) - V(s_tm1)``: no discounting; ``rho`` is the running average
    reward. ``not_terminal_t`` (0 at the end of an episode) drops ``V(s_t)``.
    """
    return r_t - rho + not_terminal_t * v_t - v_tm1


def dezfouli_dopamine(delta: Tensor, surge: Scalar, drug: Tensor, kappa: Tensor) -> Tensor:
    """Drug surge against an elevated basal reward level (after Dezfouli et al. 2009).

    ``DA = max(delta + D, D) - kappa`` at a drug delivery and ``delta - kappa`` otherwise, where
    ``kappa`` is the drug-induced elevation of the basal reward level (see
    :func:`basal_level_update`). The surge still cannot be predicted away, but as ``kappa``
    rises with drug exposure it offsets it, so values stay bounded, and natural rewards are
    devalued. (Simplified: one drug, one adaptation variable.)
    """
    return redish_dopamine(delta, surge, drug) - kappa


def running_average(average: Tensor, value: Tensor, rate: Scalar) -> Tensor:
    """Exponential running average: ``a <- a + rate * (x - a)``.

    Used for the average reward ``rho`` (Daw & Touretzky 2002) and the basal-level elevation
    ``kappa <- kappa + rate * (D * drug - kappa)`` (Dezfouli et al. 2009).
    """
    return average + per_agent(rate, average) * (value - average)


def homeostatic_drive(level: Tensor, setpoint: Scalar, n: float, m: float) -> Tensor:
    """Homeostatic drive over one internal variable (Keramati & Gutkin 2014, eq. 1).

    ``D(h) = (|h* - h|^n)^(1/m)`` with ``n > m > 1``: the distance of the internal state from
    its setpoint, convex so that large deviations weigh more.
    """
    return ((per_agent(setpoint, level) - level).abs() ** n) ** (1.0 / m)


def allostatic_setpoint(setpoint: Scalar, allostasis: Tensor, gain: Scalar) -> Tensor:
    """Setpoint displaced by drug exposure: ``h*_t = h*_0 + g * A_t``.

    ``A`` is a slow running average of the internal drug level (:func:`running_average`,
    ``A <- A + eta (h - A)``), so the setpoint rises with the time spent under the drug and
    returns to ``h*_0`` in abstinence: the allostatic shift of the hedonic set point that
    Ahmed & Koob (1998) proposed for the escalation of intake with long access (Koob & Le Moal
    2001). In the homeostatic model (:func:`homeostatic_drive`) a higher setpoint makes more
    drug needed to reduce the drive. ``g = 0`` keeps the setpoint fixed.

    Shapes: ``allostasis [B]``; ``setpoint``, ``gain`` float or ``[B]``. Returns ``[B]``.
    """
    return per_agent(setpoint, allostasis) + per_agent(gain, allostasis) * allostasis


def drive_reduction_reward(drive_tm1: Tensor, drive_t: Tensor, gain: Scalar) -> Tensor:
    """Reward as drive reduction (Keramati & Gutkin 2014, eq. 2): ``r = g * (D(h_tm1) - D(h_t))``.

    Approaching the setpoint is rewarding and overshooting it is punishing, so the value of
    taking a drug stays bounded and depends on the internal state.
    """
    return per_agent(gain, drive_t) * (drive_tm1 - drive_t)


# ---------------------------------------------------------------------------- models


class NoState(NamedTuple):
    """State of a model that keeps none."""


DOPAMINE_MODELS: dict[str, type[DopamineModel]] = {}
"""Every dopamine model by ``KIND`` (filled by subclassing :class:`DopamineModel`)."""


@dataclasses.dataclass(frozen=True)
class DopamineModel(Part):
    """Base of the dopamine models (see the module docstring).

    ``EVENTS`` maps each info key the model reads to its dtype; the agent checks that the task
    provides them and passes them as tensors.
    """

    EVENTS: ClassVar[Mapping[str, torch.dtype]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.KIND:
            DOPAMINE_MODELS[cls.KIND] = cls

    def init(self, n_agents: int, device: torch.device) -> Any:
        """The model's state before any step."""
        del n_agents, device
        return NoState()

    def begin(self, state: Any, events: Events) -> Any:
        """The state on the first observations (their ``events``; no ``"terminated"``)."""
        del events
        return state

    def update(
        self,
        state: Any,
        v_tm1: Tensor,
        r_t: Tensor,
        discount_t: Tensor,
        v_t: Tensor,
        events: Events,
        active: Tensor,
    ) -> tuple[Tensor, Tensor, Any]:
        """``(rpe, dopamine, state)`` of one transition; 0 where ``active`` is False."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class TD(DopamineModel):
    """Dopamine is the TD error ``delta = r_t + discount_t V(s_t) - V(s_tm1)`` (Schultz, Dayan &
    Montague 1997)."""

    KIND: ClassVar[str] = "td"

    def update(
        self,
        state: NoState,
        v_tm1: Tensor,
        r_t: Tensor,
        discount_t: Tensor,
        v_t: Tensor,
        events: Events,
        active: Tensor,
    ) -> tuple[Tensor, Tensor, NoState]:
        rpe = td_error(v_tm1, r_t, discount_t, v_t) * active
        return rpe, rpe, state


@dataclasses.dataclass(frozen=True)
class Redish(DopamineModel):
    """The TD error plus a non-compensable drug surge at every drug delivery (Redish 2004):
    ``DA = max(delta + D, D)`` (:func:`redish_dopamine`). Reads the info key ``infusion``.

    Args:
        surge: ``D`` (flat name ``drug_surge``), >= 0, per agent.
    """

    KIND: ClassVar[str] = "redish"
    EVENTS: ClassVar[Mapping[str, torch.dtype]] = {"infusion": torch.bool}
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {"surge": {"low": 0.0}}
    PER_AGENT: ClassVar[tuple[str, ...]] = ("surge",)
    FLAT: ClassVar[Mapping[str, str]] = {"surge": "drug_surge"}
    surge: Any = 0.3

    def update(
        self,
        state: NoState,
        v_tm1: Tensor,
        r_t: Tensor,
        discount_t: Tensor,
        v_t: Tensor,
        events: Events,
        active: Tensor,
    ) -> tuple[Tensor, Tensor, NoState]:
        rpe = td_error(v_tm1, r_t, discount_t, v_t) * active
        drug = events["infusion"] & active
        return rpe, redish_dopamine(rpe, self.surge, drug), state


class AverageRewardState(NamedTuple):
    """The running average reward ``rho`` and the drug-raised basal level ``kappa``, ``[B]``."""

    rho: Tensor
    kappa: Tensor


@dataclasses.dataclass(frozen=True)
class AverageReward(DopamineModel):
    """Average-reward TD (:func:`average_reward_delta`) with a drug surge offset by a basal
    reward level that drug exposure raises (:func:`dezfouli_dopamine`; after Dezfouli et al.
    2009). Reads the info key ``infusion``.

    Args:
        surge: ``D`` (flat name ``drug_surge``), >= 0, per agent.
        rate: rate of the running average reward ``rho`` (``average_reward_rate``), in [0, 1].
        basal_adaptation_rate: rate at which drug exposure raises ``kappa``, in [0, 1].
    """

    KIND: ClassVar[str] = "average_reward"
    EVENTS: ClassVar[Mapping[str, torch.dtype]] = {"infusion": torch.bool}
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "surge": {"low": 0.0},
        "rate": {"low": 0.0, "high": 1.0},
        "basal_adaptation_rate": {"low": 0.0, "high": 1.0},
    }
    PER_AGENT: ClassVar[tuple[str, ...]] = ("surge", "rate", "basal_adaptation_rate")
    FLAT: ClassVar[Mapping[str, str]] = {
        "surge": "drug_surge", "rate": "average_reward_rate",
        "basal_adaptation_rate": "basal_adaptation_rate",
    }  # fmt: skip
    surge: Any = 0.3
    rate: Any = 0.01
    basal_adaptation_rate: Any = 0.001

    def init(self, n_agents: int, device: torch.device) -> AverageRewardState:
        zeros = torch.zeros(n_agents, device=device)
        return AverageRewardState(zeros, zeros.clone())

    def update(
        self,
        state: AverageRewardState,
        v_tm1: Tensor,
        r_t: Tensor,
        discount_t: Tensor,
        v_t: Tensor,
        events: Events,
        active: Tensor,
    ) -> tuple[Tensor, Tensor, AverageRewardState]:
        not_terminal = (~events["terminated"]).to(v_t.dtype)
        rpe = average_reward_delta(v_tm1, r_t, v_t, not_terminal, state.rho) * active
        drug = events["infusion"] & active
        signal = dezfouli_dopamine(rpe, self.surge, drug, state.kappa) * active
        rho = torch.where(active, running_average(state.rho, r_t, self.rate), state.rho)
        surge = drug.to(v_t.dtype) * self.surge
        kappa = running_average(state.kappa, surge, self.basal_adaptation_rate)
        return rpe, signal, AverageRewardState(rho, torch.where(active, kappa, state.kappa))


class HomeostaticState(NamedTuple):
    """The last homeostatic ``drive`` and the slow average ``allostasis`` of the drug level
    that displaces the setpoint, ``[B]``."""

    drive: Tensor
    allostasis: Tensor


@dataclasses.dataclass(frozen=True)
class Homeostatic(DopamineModel):
    """Reward is the reduction of a homeostatic drive over the internal drug level (Keramati &
    Gutkin 2014; :func:`homeostatic_drive`, :func:`drive_reduction_reward`), around a setpoint
    that drug exposure can displace (:func:`allostatic_setpoint`; Ahmed & Koob 1998); dopamine
    is the TD error of that reward. Reads the info key ``drug_level``.

    Args:
        setpoint: ``h*_0`` (flat name ``homeostatic_setpoint``), >= 0, per agent.
        allostatic_gain: ``g`` of ``h* = h*_0 + g A``, >= 0, per agent; 0: fixed setpoint.
        allostatic_rate: rate ``eta`` of ``A <- A + eta (h - A)``, in [0, 1], per agent.
        drive_exponent_n: ``n`` of the drive ``(|h* - h|^n)^(1/m)``, > 1.
        drive_exponent_m: ``m``, in (1, n).
        drive_gain: reward per unit of drive reduction, >= 0, per agent.
    """

    KIND: ClassVar[str] = "homeostatic"
    EVENTS: ClassVar[Mapping[str, torch.dtype]] = {"drug_level": torch.float32}
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "setpoint": {"low": 0.0},
        "allostatic_gain": {"low": 0.0},
        "allostatic_rate": {"low": 0.0, "high": 1.0},
        "drive_exponent_n": {"low": 1.0, "low_open": True},
        "drive_gain": {"low": 0.0},
    }
    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "setpoint", "allostatic_gain", "allostatic_rate", "drive_gain",
    )  # fmt: skip
    FLAT: ClassVar[Mapping[str, str]] = {
        "setpoint": "homeostatic_setpoint", "allostatic_gain": "allostatic_gain",
        "allostatic_rate": "allostatic_rate", "drive_exponent_n": "drive_exponent_n",
        "drive_exponent_m": "drive_exponent_m", "drive_gain": "drive_gain",
    }  # fmt: skip
    setpoint: Any = 1.0
    allostatic_gain: Any = 0.0
    allostatic_rate: Any = 0.005
    drive_exponent_n: float = 4.0
    drive_exponent_m: float = 3.0
    drive_gain: Any = 1.0

    def check(self) -> None:
        check_number("drive_exponent_m", self.drive_exponent_m, 1.0, self.drive_exponent_n,
                     low_open=True, high_open=True)  # fmt: skip

    def init(self, n_agents: int, device: torch.device) -> HomeostaticState:
        zeros = torch.zeros(n_agents, device=device)
        return HomeostaticState(zeros, zeros.clone())

    def setpoint_now(self, state: HomeostaticState) -> Tensor:
        """The setpoint of every agent now, ``h*_0 + g A`` (:func:`allostatic_setpoint`)."""
        return allostatic_setpoint(self.setpoint, state.allostasis, self.allostatic_gain)

    def drive(self, level: Tensor, state: HomeostaticState) -> Tensor:
        """The drive of the drug level ``[B]`` around the current setpoint."""
        setpoint = self.setpoint_now(state)
        return homeostatic_drive(level, setpoint, self.drive_exponent_n, self.drive_exponent_m)

    def begin(self, state: HomeostaticState, events: Events) -> HomeostaticState:
        return state._replace(drive=self.drive(events["drug_level"], state))

    def update(
        self,
        state: HomeostaticState,
        v_tm1: Tensor,
        r_t: Tensor,
        discount_t: Tensor,
        v_t: Tensor,
        events: Events,
        active: Tensor,
    ) -> tuple[Tensor, Tensor, HomeostaticState]:
        level = events["drug_level"].to(v_t.dtype)
        averaged = running_average(state.allostasis, level, self.allostatic_rate)
        state = state._replace(allostasis=torch.where(active, averaged, state.allostasis))
        drive = self.drive(level, state)
        relief = drive_reduction_reward(state.drive, drive, self.drive_gain)
        rpe = td_error(v_tm1, r_t + relief * active, discount_t, v_t) * active
        return rpe, rpe, state._replace(drive=drive)


EVENT_PROVIDERS = {
    "infusion": "plasticgym/Addiction-v0 and plasticgym/Pavlovian-v0",
    "drug_level": "plasticgym/Addiction-v0",
    "novelty": "plasticgym/ReversalBandit-v0 (in a protocol phase with novelty=True)",
}
"""Which tasks provide the info keys the built-in models read (for error messages)."""


def task_events(
    model: Any,
    info: Mapping[str, Any],
    device: torch.device,
    terminated: Tensor | None = None,
    role: str = "dopamine",
) -> dict[str, Tensor]:
    """The events ``model`` reads (its ``EVENTS``: a dopamine model's, or a synapse model's,
    :class:`plasticgym.synapses.SynapseModel`) from a vector env's ``info``, as tensors
    ``[B]``, plus ``"terminated"`` when given; a missing key raises ``ValueError`` naming it
    and the agent argument (``role``) that asked for it."""
    events = {}
    for key, dtype in model.EVENTS.items():
        if key not in info:
            raise ValueError(
                f"{role}={model.KIND!r} needs the env's info key {key!r} (provided by "
                f"{EVENT_PROVIDERS.get(key, 'no plasticgym task')}); this env has "
                f"{sorted(k for k in info if not k.startswith('_'))}"
            )
        events[key] = torch.as_tensor(np.asarray(info[key]), device=device).to(dtype)
    if terminated is not None:
        events["terminated"] = terminated
    return events


td = TD
"""``td()``: dopamine is the TD error (:class:`TD`)."""
redish = Redish
"""``redish(surge=0.3)``: the non-compensable drug surge of Redish 2004 (:class:`Redish`)."""
average_reward = AverageReward
"""``average_reward(surge=0.3, rate=0.01, basal_adaptation_rate=0.001)``: average-reward TD
with a drug-raised basal level (:class:`AverageReward`)."""
homeostatic = Homeostatic
"""``homeostatic(setpoint=1.0, ...)``: drive-reduction reward (:class:`Homeostatic`)."""
