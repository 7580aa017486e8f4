"""Structural plasticity: synapses (dendritic spines) that appear and disappear.

Each postsynaptic neuron of a projection has a fixed pool of pre-allocated synapse slots, one
per presynaptic input (the projection's ``[B, n_post, n_pre]`` weights); a boolean ``exists``
mask says which slots hold a spine. A slot without a spine has weight 0 and learns nothing. At
every structural event (every ``interval`` seconds of task time; a step lasts ``dt`` seconds,
stated per task) spines are eliminated and formed:

**Elimination.** Each spine is removed with probability ``1 - exp(-lambda_e(w) dt_e)`` over the
event's duration ``dt_e`` (days), with a hazard that falls with the spine's weight::

    lambda_e(w) = elimination_rate * exp(-w / stable_weight)       weight_dependent=True
    lambda_e    = elimination_rate                                  weight_dependent=False

Weak synapses are pruned and potentiated ones are kept: spine size predicts persistence and
LTP enlarges and stabilises spines (Holtmaat et al. 2005; Matsuzaki et al. 2004; Holtmaat &
Svoboda 2009). Weight-dependent deletion of this kind drives the models of Deger, Helias,
Rotter & Diesmann 2012 and Fauth, Worgotter & Tetzlaff 2015 (review: Fauth & van Rossum 2019);
the exponential form is a choice made here (one parameter: the weight that makes a spine
``e`` times more stable).

**Formation (the budget).** Each neuron keeps at most ``K = round(density * n_pre)`` spines
(its budget, also its set point). Empty slots are refilled toward it: of the neuron's deficit
``D = K - N`` (after elimination) an expected ``D (1 - exp(-formation_rate dt_e))`` new spines
form per event, at empty slots chosen at random, with weights ``1 + activity_bias * a_j /
mean(a)`` favouring inputs ``j`` that were active since the last event (``a_j``: summed
presynaptic activity; Kwon & Sabatini 2011 found activity-induced spinogenesis); never more
than ``D``. This is homeostatic structural plasticity with a set point of the synapse count
(Dammasch et al. 1986; Butz & van Ooyen 2013; Deger et al. 2012 keep the count constant).
New spines start small, at ``new_weight`` (Holtmaat & Svoboda 2009; Knott et al. 2006): they
survive only if the synaptic learning rule potentiates them.

**Activity-driven formation** (option, ``activity_formation > 0``; default 0: off). Between
events each empty slot accumulates the potentiation a synapse there would have received,
``P_ij = sum_t [dw_ij(t)]_+`` (the chain's update at the empty slot, after the bounds: the
three-factor rule's dopamine x eligibility on the slot's presynaptic input and the neuron's
postsynaptic factor). At the event it forms a spine with probability::

    p_ij = 1 - exp(-activity_formation * P_ij)

on top of the budget's refill and not capped by the budget: spines form where learning
signals arrive, within hours of training (LTP-induced spinogenesis: Engert & Bonhoeffer 1999;
Kwon & Sabatini 2011; during motor learning, Xu et al. 2009; after experience, Hofer et al.
2009). Without synaptic activity (rest, :func:`pass_time`) ``P = 0``: nothing is switched on
by hand, the drive is the learning signal itself and falls as the reward prediction errors do.

**Competition for the budget** (option, ``competition_rate > 0``; default 0: off). A neuron
with more spines than its set point (``N > K``, after activity-driven formation) raises every
spine's elimination hazard by the relative excess::

    lambda_e(w) = (elimination_rate + competition_rate * max(N - K, 0) / K) * exp(-w / w_s)

(``exp(-w / w_s)`` dropped when not ``weight_dependent``): the pressure falls on the weakest
spines, which are the newest unless potentiated, and on weak pre-existing ones, and vanishes
once the density is back at the set point. A limited resource shared by a neuron's spines
(Deger et al. 2012; Fauth et al. 2015; Triesch et al. 2018), restoring the density as new
spines are stabilised and pre-existing ones are lost (Xu et al. 2009; Yang et al. 2009).

**Capture of new task-relevant spines** (option, ``capture_ratio > 0``; default 0: off). At
each event every spine that existed through the interval compares its growth ``g_ij =
w_ij(t) / w_ij(t_last)`` (``t_last``: the previous event) with the median growth of its
neuron's spines, ``m_i = median_j g_ij``; a spine that grew by at least ``capture_ratio``
times as much is consolidated, for the rest of its life::

    consolidated_ij |= g_ij >= capture_ratio * m_i

Dividing by the neuron's median removes what every spine of the neuron shares (multiplicative
synaptic scaling multiplies them all by one factor), so what sets the marker is the synapse's
own, dopamine-gated potentiation relative to its size: structural LTP enlarges small spines
most (Matsuzaki, Honkura, Ellis-Davies & Kasai 2004; Kasai et al. 2010), and a potentiated
synapse is stabilised once its tag captures plasticity-related proteins (Frey & Morris 1997;
Redondo & Morris 2011; late LTP needs dopamine, Frey et al. 1990). The competition for the
budget then falls on the spines without the marker, **whatever their size**::

    lambda_e(w) = elimination_rate * exp(-w / w_s)
                  + competition_rate * max(N - K, 0) / K * [not consolidated]

(the base hazard keeps its weight dependence; consolidated spines are exempt from the
competition): a neuron's resource goes to the synapses that captured it, and unconsolidated
spines, large or small, lose it (Fonseca et al. 2004: synapses compete for the proteins they
capture; Xu et al. 2009; Yang et al. 2009: training removes pre-existing spines). At rest no
spine grows (``g = 1 = m``): nothing is consolidated and nothing competes (the density is at
the set point).

**Stabilisation of consolidated spines** (option, ``consolidated_hazard < 1``; default 1: off;
needs ``capture_ratio``). The marker also lowers the spine's base hazard by a factor ``h``::

    lambda_e(w) = h^[consolidated] * elimination_rate * exp(-w / w_s)
                  + competition_rate * max(N - K, 0) / K * [not consolidated]

Spines that persist for weeks have a far lower turnover than transient ones (Trachtenberg et
al. 2002; Holtmaat et al. 2005), learning-induced spines that survive the first days stay for
months (Xu et al. 2009; Yang et al. 2009), and enlarged (potentiated) spines are the stable
ones (Kasai et al. 2003; Matsuzaki et al. 2004). A stabilised new spine keeps the neuron above
its set point, so the competition, which spares it, falls on the unconsolidated spines, most
of them pre-existing: new learning-marked spines displace old ones (Xu et al. 2009 Fig. 3;
Yang et al. 2009). At rest nothing is marked and the option changes nothing.

Random draws come from one CPU ``torch.Generator`` per agent whose state is kept as a
``uint8`` tensor ``[B, L]`` in :class:`StructureState` (checkpointed with the weights in
safetensors; the draws are the same on CPU and CUDA). Events are the only random steps; the
step in between only masks the absent slots and sums the presynaptic activity.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import Tensor

from plasticgym.config import check_bool
from plasticgym.parts import Part
from plasticgym.plasticity import PlasticitySignals, PlasticityTransform
from plasticgym.rules import Scalar

SECONDS_PER_DAY = 86400.0
_SPAWN_KEY = 0x5713E
"""Spawn key of the structural generators' seeds (:func:`structure_seeds`)."""


class StructureState(NamedTuple):
    """State of :func:`structural_plasticity` for ``B`` agents, ``P`` neurons, ``Q`` slots each.

    Attributes:
        exists: ``[B, P, Q]`` bool: the slot holds a spine.
        age: ``[B, P, Q]`` seconds of task time since the spine formed (0 where none; initial
            spines start at 0), advanced at events.
        activity: ``[B, Q]`` presynaptic activity summed since the last event.
        elapsed: ``[]`` float64 (CPU) seconds since the last event.
        clock: ``[]`` float64 (CPU) seconds of task time since the start.
        generator: ``[B, L]`` uint8: the state of each agent's CPU generator.
        formed, eliminated: ``[B]`` int64 spines formed and eliminated since the start.
        new_alive: ``[B]`` int64 spines formed since the start that still exist.
        original: ``[B, P, Q]`` bool: the spine has existed since the start.
        spines: ``[B]`` int64 spines now.
        potentiation: ``[B, P, Q]`` potentiation the empty slots would have received since the
            last event (accumulated only with ``activity_formation``; zeros otherwise).
        reference: ``[B, P, Q]`` the weights right after the last event (kept only with
            ``capture_ratio``; zeros otherwise).
        consolidated: ``[B, P, Q]`` bool: the spine has captured (``capture_ratio``; never
            set otherwise).
    """

    exists: Tensor
    age: Tensor
    activity: Tensor
    elapsed: Tensor
    clock: Tensor
    generator: Tensor
    formed: Tensor
    eliminated: Tensor
    new_alive: Tensor
    original: Tensor
    spines: Tensor
    potentiation: Tensor
    reference: Tensor
    consolidated: Tensor


def elimination_probability(
    weights: Tensor, rate: Scalar, stable_weight: Scalar, days: float, weight_dependent: bool
) -> Tensor:
    """``1 - exp(-lambda_e(w) * days)`` with ``lambda_e(w) = rate * exp(-w / stable_weight)``
    (or ``rate`` when not ``weight_dependent``): the chance that a spine of weight ``w`` is
    eliminated within ``days`` (a Poisson hazard; weight-dependent deletion as in Deger et al.
    2012, Fauth et al. 2015). ``rate`` and ``stable_weight``: floats or ``[B, 1, 1]``."""
    hazard = rate * torch.exp(-weights / stable_weight) if weight_dependent else rate
    hazard = torch.as_tensor(hazard, dtype=weights.dtype, device=weights.device)
    return -torch.expm1(-hazard * days).expand_as(weights)


def relative_growth(weights: Tensor, reference: Tensor, spines: Tensor) -> Tensor:
    """``g_ij / median_j g_ij`` with ``g_ij = w_ij / w_ij(t_last)``: each spine's growth since
    the last event relative to the median growth of its neuron's spines (``spines [B, P, Q]``
    bool: those that existed through the interval with ``w(t_last) > 0``; NaN elsewhere and
    for a neuron with none). Multiplicative scaling, one factor per neuron, cancels."""
    valid = spines & (reference > 0)
    growth = torch.where(valid, weights / reference.clamp(min=1e-30), torch.nan)
    median = growth.nanmedian(dim=-1, keepdim=True).values
    return growth / median


def captured(relative: Tensor, ratio: float) -> Tensor:
    """``relative >= ratio``: the spines consolidated at this event (NaN never captures)."""
    return relative >= ratio


def capture_elimination_probability(
    weights: Tensor,
    base_rate: Scalar,
    stable_weight: Scalar,
    competition: Tensor,
    consolidated: Tensor,
    days: float,
    weight_dependent: bool,
    consolidated_hazard: float = 1.0,
) -> Tensor:
    """``1 - exp(-(h^[consolidated] lambda_e(w) + c_i [not consolidated]) days)``: the base
    hazard of :func:`elimination_probability` (times ``h = consolidated_hazard`` on the
    consolidated spines: they are stabilised, Holtmaat et al. 2005, Kasai et al. 2003) plus
    the neuron's competition hazard ``c_i`` (``competition [B, P, 1]`` per day,
    :func:`competition_rate_per_neuron` with base 0), independent of weight, on the spines
    without the consolidation marker."""
    base = rate_times_weight(weights, base_rate, stable_weight, weight_dependent)
    if consolidated_hazard != 1.0:
        base = torch.where(consolidated, base * consolidated_hazard, base)
    hazard = base + torch.where(
        consolidated, torch.zeros_like(weights), competition.to(weights.dtype)
    )
    return -torch.expm1(-hazard * days)


def rate_times_weight(
    weights: Tensor, rate: Scalar, stable_weight: Scalar, weight_dependent: bool
) -> Tensor:
    """The base hazard ``rate * exp(-w / stable_weight)`` (``rate`` if not weight-dependent)
    per spine, ``[B, P, Q]``."""
    hazard = rate * torch.exp(-weights / stable_weight) if weight_dependent else rate
    return torch.as_tensor(hazard, dtype=weights.dtype, device=weights.device).expand_as(weights)


def expected_formations(deficit: Tensor, rate: Scalar, days: float) -> Tensor:
    """``D (1 - exp(-rate * days))``: new spines expected per neuron within ``days`` when a
    deficit ``D`` (``[B, P]``) of the budget is refilled at ``rate`` per day (each missing spine
    is replaced after an exponential waiting time of mean ``1 / rate``)."""
    return deficit * -torch.expm1(-torch.as_tensor(rate, dtype=deficit.dtype) * days)


def formation_probability(
    empty: Tensor, activity: Tensor, expected: Tensor, activity_bias: Scalar
) -> Tensor:
    """Per empty slot the chance to form a spine this event: ``expected`` (``[B, P]``) spread
    over the neuron's empty slots (``empty [B, P, Q]``) in proportion to ``1 + activity_bias *
    a_j / mean(a)`` (``activity [B, Q]``, 0 everywhere: uniform), clipped to [0, 1]."""
    mean = activity.mean(dim=-1, keepdim=True)
    relative = torch.where(mean > 0, activity / mean.clamp(min=1e-12), torch.zeros_like(activity))
    preference = (1.0 + activity_bias * relative).unsqueeze(1) * empty
    total = preference.sum(dim=-1, keepdim=True)
    share = torch.where(total > 0, preference / total.clamp(min=1e-12), torch.zeros_like(total))
    return (expected.unsqueeze(-1) * share).clamp(0.0, 1.0)


def capped_formations(candidates: Tensor, priority: Tensor, deficit: Tensor) -> Tensor:
    """The candidate slots (``[B, P, Q]`` bool) kept within each neuron's deficit (``[B, P]``):
    those with the smallest ``priority`` first (the budget is a hard cap)."""
    score = torch.where(candidates, priority, torch.full_like(priority, math.inf))
    rank = score.argsort(dim=-1).argsort(dim=-1)
    return candidates & (rank < deficit.unsqueeze(-1))


def activity_formation_probability(potentiation: Tensor, gain: Scalar) -> Tensor:
    """``1 - exp(-gain * P)``: the chance that an empty slot whose synapse would have been
    potentiated by ``P`` (``[B, P, Q]``, weight units, >= 0) since the last event forms a spine
    (a hazard proportional to the potentiation; LTP-induced spinogenesis, Engert & Bonhoeffer
    1999, Kwon & Sabatini 2011). ``gain``: per unit of weight, float or ``[B, 1, 1]``."""
    return -torch.expm1(-torch.as_tensor(gain, dtype=potentiation.dtype) * potentiation)


def competition_rate_per_neuron(
    spines: Tensor, limit: int, base_rate: Scalar, competition_rate: Scalar
) -> Tensor:
    """``base_rate + competition_rate * max(N - K, 0) / K`` per neuron, ``[B, P, 1]``: the
    weight-0 elimination hazard (per day) of a neuron with ``N`` spines (``spines [B, P]``) and
    set point ``K = limit``; the excess over the set point competes for the neuron's resource
    (Deger et al. 2012; Fauth et al. 2015). Rates: floats or ``[B, 1, 1]``."""
    excess = (spines.to(torch.float64) - limit).clamp(min=0.0) / limit
    excess = excess.unsqueeze(-1)
    rate = torch.as_tensor(base_rate, dtype=torch.float64, device=spines.device)
    pressure = torch.as_tensor(competition_rate, dtype=torch.float64, device=spines.device)
    return rate + pressure * excess


def budget(density: float, n_slots: int) -> int:
    """Spines a neuron may keep: ``round(density * n_slots)``, at least 1."""
    return max(1, round(density * n_slots))


def structure_seeds(init_seed: int, n_agents: int) -> list[int]:
    """One seed per agent for the structural generators, from the agent's ``init_seed``
    (``numpy.random.SeedSequence`` spawn keys; independent of every other stream)."""
    return [
        int(np.random.SeedSequence(init_seed, spawn_key=(_SPAWN_KEY, b)).generate_state(1)[0])
        for b in range(n_agents)
    ]


class _Params(NamedTuple):
    """The transform's values, per agent shaped ``[B, 1, 1]`` where given per agent."""

    dt: float
    interval: float
    density: float
    elimination_rate: Scalar
    stable_weight: Scalar
    weight_dependent: bool
    formation_rate: Scalar
    new_weight: float
    activity_bias: Scalar
    activity_formation: Scalar = 0.0
    competition_rate: Scalar = 0.0
    capture_ratio: float = 0.0
    consolidated_hazard: float = 1.0


def _is_on(value: Scalar) -> bool:
    """A per-agent rate is switched on unless it is the plain number 0."""
    return isinstance(value, Tensor) or float(value) != 0.0


def _per_agent(value: Scalar, device: torch.device) -> Scalar:
    return value.to(device).view(-1, 1, 1) if isinstance(value, Tensor) else value


def structural_event(
    weights: Tensor, state: StructureState, uniforms: Tensor, params: _Params, seconds: float
) -> tuple[Tensor, StructureState]:
    """One structural event of ``seconds`` of task time: age, eliminate, form (see the module
    docstring). ``uniforms`` ``[B, 2, P, Q]`` in [0, 1): elimination draws, formation draws
    (``[B, 3, P, Q]`` with ``activity_formation``: then the third are its draws). Returns the
    new weights (0 at eliminated slots, ``new_weight`` at new ones) and state."""
    days = seconds / SECONDS_PER_DAY
    device = weights.device
    exists, age = state.exists, state.age
    age = torch.where(exists, age + seconds, torch.zeros_like(age))
    limit = budget(params.density, exists.shape[-1])
    rate = _per_agent(params.elimination_rate, device)
    capture = params.capture_ratio > 0
    consolidated = state.consolidated
    if capture:
        relative = relative_growth(weights, state.reference, exists)
        consolidated = (consolidated | captured(relative, params.capture_ratio)) & exists
        competition = competition_rate_per_neuron(
            exists.sum(dim=-1), limit, 0.0, _per_agent(params.competition_rate, device)
        )
        p_elim = capture_elimination_probability(
            weights, rate, _per_agent(params.stable_weight, device), competition, consolidated,
            days, params.weight_dependent, params.consolidated_hazard,
        )  # fmt: skip
    elif _is_on(params.competition_rate):
        rate = competition_rate_per_neuron(
            exists.sum(dim=-1), limit, rate, _per_agent(params.competition_rate, device)
        ).to(weights.dtype)
    if not capture:
        p_elim = elimination_probability(
            weights, rate, _per_agent(params.stable_weight, device), days,
            params.weight_dependent,
        )  # fmt: skip
    eliminated = exists & (uniforms[:, 0] < p_elim)
    exists = exists & ~eliminated
    driven = torch.zeros_like(exists)
    if _is_on(params.activity_formation):
        gain = _per_agent(params.activity_formation, device)
        p_driven = activity_formation_probability(state.potentiation, gain)
        driven = ~exists & (uniforms[:, 2] < p_driven)
        exists = exists | driven
    deficit = (limit - exists.sum(dim=-1)).clamp(min=0).to(weights.dtype)
    rate = params.formation_rate
    rate = rate.to(device).view(-1, 1) if isinstance(rate, Tensor) else rate
    expected = expected_formations(deficit, rate, days)
    bias = params.activity_bias
    bias = bias.to(device).view(-1, 1) if isinstance(bias, Tensor) else bias
    p_form = formation_probability((~exists).to(weights.dtype), state.activity, expected, bias)
    u_form = uniforms[:, 1]
    candidates = ~exists & (u_form < p_form)
    formed = capped_formations(candidates, u_form / p_form.clamp(min=1e-12), deficit) | driven
    exists = exists | formed
    age = torch.where(formed, torch.zeros_like(age), age)
    weights = torch.where(exists, weights, torch.zeros_like(weights))
    weights = torch.where(formed, torch.full_like(weights, params.new_weight), weights)
    original = state.original & exists
    if capture:
        consolidated = consolidated & exists & ~formed
        reference = weights.clone()
    else:
        reference = state.reference
    n_formed, n_eliminated = formed.sum(dim=(1, 2)), eliminated.sum(dim=(1, 2))
    return weights, state._replace(
        exists=exists, age=age, activity=torch.zeros_like(state.activity),
        elapsed=torch.zeros_like(state.elapsed), clock=state.clock + seconds,
        formed=state.formed + n_formed, eliminated=state.eliminated + n_eliminated,
        new_alive=(exists & ~original).sum(dim=(1, 2)), original=original,
        spines=exists.sum(dim=(1, 2)), potentiation=torch.zeros_like(state.potentiation),
        reference=reference, consolidated=consolidated,
    )  # fmt: skip


def _draw(
    state: StructureState, shape: tuple[int, ...], device: torch.device
) -> tuple[Tensor, Tensor]:
    """Uniforms ``[B, *shape]`` from each agent's generator, and the generators' new states."""
    scratch = torch.Generator()
    draws, states = [], []
    for saved in state.generator:
        scratch.set_state(saved.cpu().contiguous().clone())
        draws.append(torch.rand(shape, generator=scratch))
        states.append(scratch.get_state())
    return torch.stack(draws).to(device), torch.stack(states).to(state.generator.device)


def initial_state(weights: Tensor, seeds: Sequence[int], density: float) -> StructureState:
    """Each neuron starts with its budget of spines at random slots (drawn from each agent's
    generator seeded with ``seeds[b]``), all of age 0."""
    B, P, Q = weights.shape
    if len(seeds) != B:
        raise ValueError(f"initial_state: need {B} seeds (one per agent), got {len(seeds)}")
    scratch = torch.Generator()
    masks, states = [], []
    for seed in seeds:
        scratch.manual_seed(int(seed))
        keys = torch.rand((P, Q), generator=scratch)
        masks.append(keys.argsort(dim=-1).argsort(dim=-1) < budget(density, Q))
        states.append(scratch.get_state())
    exists = torch.stack(masks).to(weights.device)
    zeros = torch.zeros((), dtype=torch.float64)
    count = torch.zeros(B, dtype=torch.int64, device=weights.device)
    return StructureState(
        exists=exists, age=torch.zeros_like(weights),
        activity=torch.zeros(B, Q, dtype=weights.dtype, device=weights.device),
        elapsed=zeros.clone(), clock=zeros.clone(), generator=torch.stack(states),
        formed=count.clone(), eliminated=count.clone(), new_alive=count.clone(),
        original=exists.clone(), spines=exists.sum(dim=(1, 2)),
        potentiation=torch.zeros_like(weights), reference=torch.zeros_like(weights),
        consolidated=torch.zeros_like(exists),
    )  # fmt: skip


def structural_plasticity(params: _Params, seeds: Sequence[int]) -> PlasticityTransform:
    """The transform of :class:`StructuralPlasticity` (put it last in a chain, after the
    bounds): absent slots are held at 0; every ``interval`` seconds a :func:`structural_event`
    changes which slots hold spines. With ``activity_formation`` the empty slots accumulate the
    potentiation they would have received (the chain's ``dw`` there, after the bounds)."""
    driven = _is_on(params.activity_formation)

    def init(weights: Tensor) -> StructureState:
        state = initial_state(weights, seeds, params.density)
        if params.capture_ratio > 0:
            state = state._replace(reference=weights.clone())
        return state

    def update(
        dw: Tensor, state: StructureState, weights: Tensor, signals: PlasticitySignals
    ) -> tuple[Tensor, StructureState]:
        new = torch.where(state.exists, weights + dw, torch.zeros_like(weights))
        state = state._replace(activity=state.activity + signals.pre, elapsed=state.elapsed
                               + params.dt)  # fmt: skip
        if driven:
            gained = torch.where(state.exists, torch.zeros_like(dw), dw.clamp(min=0.0))
            state = state._replace(potentiation=state.potentiation + gained)
        if state.elapsed.item() >= params.interval:
            new, state = _event(new, state, params, state.elapsed.item())
        return new - weights, state

    return PlasticityTransform(init, update)


def _event(
    weights: Tensor, state: StructureState, params: _Params, seconds: float
) -> tuple[Tensor, StructureState]:
    draws = 3 if _is_on(params.activity_formation) else 2
    uniforms, generators = _draw(state, (draws, *weights.shape[1:]), weights.device)
    weights, state = structural_event(weights, state, uniforms, params, seconds)
    return weights, state._replace(generator=generators)


def pass_time(
    weights: Tensor, state: StructureState, params: _Params, seconds: float
) -> tuple[Tensor, StructureState]:
    """``seconds`` of task time with no synaptic activity: structural events every
    ``interval`` (the time already elapsed since the last event counts), weights changed only
    by elimination and formation. Returns the new weights and state."""
    remaining = float(seconds)
    while remaining > 0:
        step = min(params.interval - state.elapsed.item(), remaining)
        remaining -= step
        state = state._replace(elapsed=state.elapsed + step)
        if state.elapsed.item() >= params.interval - 1e-9:
            weights, state = _event(weights, state, params, state.elapsed.item())
    return weights, state


@dataclasses.dataclass(frozen=True)
class StructuralPlasticity(Part):
    """Structural plasticity of the actor's synapses as an agent part:
    ``PlasticAgent(env, structure=StructuralPlasticity(dt=2.0))`` (default None: every slot
    holds a synapse, nothing changes). See :mod:`plasticgym.structure` for the equations. Flat
    names ``structure_<field>``.

    Args:
        dt: seconds of task time one env step lasts, > 0 (the tasks have no clock: say it).
        interval: seconds between structural events, >= dt.
        density: the budget and set point: fraction of each neuron's slots that hold a spine,
            in (0, 1]; the neuron starts with it.
        elimination_rate: hazard of a spine of weight 0, per day, >= 0; per agent.
        stable_weight: weight that makes a spine ``e`` times more stable, > 0; per agent.
        weight_dependent: the hazard falls with weight (False: the same for every spine, the
            control that removes selection by strength).
        formation_rate: rate per day at which the deficit of the budget is refilled, >= 0;
            per agent.
        new_weight: weight of a newly formed spine, >= 0 (keep it inside the weight bounds).
        activity_bias: preference of formation for recently active inputs, >= 0 (0: at
            random); per agent.
        activity_formation: activity-driven formation, per unit of the potentiation an empty
            slot would have received since the last event (1 / weight), >= 0 (0: off, formation
            only refills the budget); not capped by the budget; per agent.
        competition_rate: elimination hazard added per day per unit of relative excess of the
            spines over the budget, ``(N - K) / K``, >= 0 (0: off); weighted by
            ``exp(-w / stable_weight)`` like the base hazard; per agent.
        capture_ratio: capture of potentiated spines, 0 (off) or > 1: a spine whose growth
            since the last event is at least this many times its neuron's median growth is
            consolidated for the rest of its life; consolidated spines are exempt from the
            competition, which then falls on the others independently of their weight.
        consolidated_hazard: factor on the base elimination hazard of consolidated spines,
            in [0, 1] (1: off, the marker only exempts from the competition; 0: a
            consolidated spine is never eliminated); needs ``capture_ratio > 0``.
    """

    KIND: ClassVar[str] = "structure"
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "dt": {"low": 0.0, "low_open": True},
        "interval": {"low": 0.0, "low_open": True},
        "density": {"low": 0.0, "high": 1.0, "low_open": True},
        "elimination_rate": {"low": 0.0},
        "stable_weight": {"low": 0.0, "low_open": True},
        "formation_rate": {"low": 0.0},
        "new_weight": {"low": 0.0},
        "activity_bias": {"low": 0.0},
        "activity_formation": {"low": 0.0},
        "competition_rate": {"low": 0.0},
        "capture_ratio": {"low": 0.0},
        "consolidated_hazard": {"low": 0.0, "high": 1.0},
    }
    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "elimination_rate", "stable_weight", "formation_rate", "activity_bias",
        "activity_formation", "competition_rate",
    )  # fmt: skip
    dt: float = 1.0
    interval: float = 3600.0
    density: float = 0.5
    elimination_rate: Any = 0.5
    stable_weight: Any = 0.1
    weight_dependent: bool = True
    formation_rate: Any = 24.0
    new_weight: float = 0.02
    activity_bias: Any = 0.0
    activity_formation: Any = 0.0
    competition_rate: Any = 0.0
    capture_ratio: float = 0.0
    consolidated_hazard: float = 1.0

    def check(self) -> None:
        try:
            check_bool("structure_weight_dependent", self.weight_dependent)
        except ValueError as error:
            raise ValueError(f"StructuralPlasticity.weight_dependent: {error}") from None
        if 0.0 < self.capture_ratio <= 1.0:
            raise ValueError(
                f"StructuralPlasticity.capture_ratio: structure_capture_ratio="
                f"{self.capture_ratio!r} is invalid: must be 0 (off) or > 1 (a growth of at "
                "least the median captures every spine, even at rest)"
            )
        if self.consolidated_hazard != 1.0 and self.capture_ratio == 0.0:
            raise ValueError(
                f"StructuralPlasticity.consolidated_hazard: structure_consolidated_hazard="
                f"{self.consolidated_hazard!r} needs capture (structure_capture_ratio > 1): "
                "without it no spine is ever consolidated; leave it at 1 (off)"
            )
        if self.interval < self.dt:
            raise ValueError(
                f"StructuralPlasticity.interval: structure_interval={self.interval!r} is "
                f"invalid: must be at least one step, structure_dt={self.dt!r} s"
            )

    def params(self) -> _Params:
        """The (bound) values the transform runs with."""
        return _Params(
            self.dt, self.interval, self.density, self.elimination_rate, self.stable_weight,
            self.weight_dependent, self.formation_rate, self.new_weight, self.activity_bias,
            self.activity_formation, self.competition_rate, float(self.capture_ratio),
            float(self.consolidated_hazard),
        )  # fmt: skip

    def transform(self, seeds: Sequence[int]) -> PlasticityTransform:
        """The transform with this part's (bound) values; ``seeds``: one per agent."""
        return structural_plasticity(self.params(), seeds)


def find_structure(state: Any) -> int:
    """Index of the :class:`StructureState` in a chain's state tuple; ``ValueError`` if none."""
    if isinstance(state, tuple) and not isinstance(state, StructureState):
        for index, part in enumerate(state):
            if isinstance(part, StructureState):
                return index
    raise ValueError(
        "these synapses have no structural plasticity: use structure=StructuralPlasticity(...)"
    )


class TurnoverStatistics(NamedTuple):
    """Per agent ``[B]``: spines now, density (spines / slots), formed and eliminated since
    the start, and the fraction of the spines formed since the start that still exist (NaN
    before any formed)."""

    spines: np.ndarray
    density: np.ndarray
    formed: np.ndarray
    eliminated: np.ndarray
    new_surviving: np.ndarray


def turnover_statistics(state: StructureState) -> TurnoverStatistics:
    """The :class:`TurnoverStatistics` of a structural state."""
    spines = state.spines.cpu().numpy()
    formed = state.formed.cpu().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        surviving = np.where(formed > 0, state.new_alive.cpu().numpy() / formed, np.nan)
    slots = state.exists[0].numel()
    return TurnoverStatistics(spines, spines / slots, formed, state.eliminated.cpu().numpy(),
                              surviving)  # fmt: skip


__all__ = [
    "SECONDS_PER_DAY",
    "StructuralPlasticity",
    "StructureState",
    "TurnoverStatistics",
    "activity_formation_probability",
    "budget",
    "capped_formations",
    "capture_elimination_probability",
    "captured",
    "competition_rate_per_neuron",
    "elimination_probability",
    "expected_formations",
    "find_structure",
    "formation_probability",
    "initial_state",
    "pass_time",
    "rate_times_weight",
    "relative_growth",
    "structural_event",
    "structural_plasticity",
    "structure_seeds",
    "turnover_statistics",
]
