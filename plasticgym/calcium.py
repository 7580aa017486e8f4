"""Calcium control of LTP and LTD, and the BCM sliding threshold.

Postsynaptic calcium decides the sign of plasticity: moderate calcium depresses a synapse,
high calcium potentiates it (Lisman 1989; Shouval, Bear & Cooper 2002; Graupner & Brunel
2012). Calcium enters through NMDA receptors, which need presynaptic glutamate *and*
postsynaptic depolarisation (the coincidence detector), and through voltage-gated channels
opened by the back-propagating action potential. This module has three versions of that idea,
as small pure functions batched over a leading population axis ``B`` (CPU or CUDA: every
result lives on the device of its inputs; randomness only from an explicit
``torch.Generator`` on that device).

**1. The Graupner & Brunel 2012 synapse (spikes).** A calcium trace ``c`` jumps by ``C_pre``
a delay ``D`` after each presynaptic spike and by ``C_post`` at each postsynaptic spike and
decays with ``tau_Ca``; the synaptic efficacy ``rho`` follows

    tau drho/dt = -rho (1 - rho) (rho* - rho) + gamma_p (1 - rho) H(c - theta_p)
                  - gamma_d rho H(c - theta_d)
                  + sigma sqrt(tau) sqrt(H(c - theta_p) + H(c - theta_d)) eta(t)

(Graupner & Brunel 2012, PNAS 109:3991-3996; the noise term as in the authors' correction,
PNAS 2013, doi:10.1073/pnas.1220044110). Without calcium, ``rho`` has two stable states,
DOWN (0) and UP (1), separated by the unstable ``rho*``; calcium above ``theta_d`` pulls it
down, above ``theta_p`` up, and noise acts only while calcium is above a threshold. After a
protocol, a synapse ends UP if ``rho > rho*``. With a fraction ``beta`` of the synapses
initially DOWN and the UP weight ``b`` times the DOWN weight, the change of the total synaptic
strength is

    w_after / w_before = [beta (1 - U) + (1 - beta) D + b (beta U + (1 - beta) (1 - D))]
                         / (beta + (1 - beta) b)

with ``U`` and ``D`` the probabilities of the DOWN -> UP and UP -> DOWN transitions
(:func:`synaptic_change`). :data:`DP` is the paper's "DP" set (Table S1, Fig. 2: depression
for post-before-pre pairs, potentiation for pre-before-post). :func:`efficacy_step` is the
Euler-Maruyama step of the equation; :func:`simulate_calcium_events` integrates it exactly
between calcium events (linear Ornstein-Uhlenbeck pieces, the bistable cubic by a
Runge-Kutta step), which is fast for protocols of many seconds;
:func:`analytic_transition_probabilities` is the paper's diffusion approximation.

**2. A rate-based calcium rule as the Hebbian term of a three-factor rule** (Shouval, Bear &
Cooper 2002, with rates in place of spikes). Calcium at synapse ``ij`` is
``Ca_ij = k_nmda post_i pre_j + C_pre pre_j + C_post post_i`` (:func:`rate_calcium`; the
NMDA-like coincidence term is the product), and ``Omega(Ca)`` (:func:`omega`) is 0 below
``theta_d``, ``-A_d`` between ``theta_d`` and ``theta_p`` and ``+A_p`` above ``theta_p``
(sharp, or smooth with sigmoids of steepness ``beta`` as in Shouval et al.'s Omega). In
:func:`calcium_three_factor` the calcium-set sign and size become the eligibility that dopamine
converts: ``e_t = decay e_tm1 + Omega(Ca_t)``, ``dw = lr DA e_t``; no dopamine, no change.

**3. BCM** (Bienenstock, Cooper & Munro 1982; Intrator & Cooper 1992): the postsynaptic
factor ``phi(y, theta_M) = y (y - theta_M)`` depresses below and potentiates above a threshold
that slides with the running average of ``y^2``, ``theta_M <- theta_M + (y^2 - theta_M) / tau``
(:func:`bcm_phi`, :func:`bcm_threshold_update`); :func:`bcm_three_factor` uses it as the
Hebbian term, ``e_t = decay e_tm1 + phi(post) (x) pre``, ``dw = lr DA e_t``.

Units: the Graupner-Brunel functions take times in seconds; the rate rules work per step of
the agent. Shapes: ``w: [B, n_post, n_pre]``, ``pre: [B, n_pre]``, ``post: [B, n_post]``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import torch
from torch import Tensor

from plasticgym.config import check_number
from plasticgym.plasticity import PlasticitySignals, PlasticityTransform
from plasticgym.rules import Scalar, per_agent, three_factor_dw

# --------------------------------------------------------------------------------------------
# 1. Graupner & Brunel 2012
# --------------------------------------------------------------------------------------------


def check_thresholds(theta_d: float, theta_p: float) -> None:
    """Raise ``ValueError`` unless ``theta_d < theta_p`` (depression needs less calcium than
    potentiation: the ordering behind "moderate calcium depresses, high calcium potentiates")."""
    if not theta_d < theta_p:
        raise ValueError(
            f"theta_d={theta_d!r}, theta_p={theta_p!r} are invalid: the depression threshold "
            "theta_d must be below the potentiation threshold theta_p"
        )


@dataclasses.dataclass(frozen=True)
class GraupnerBrunelParams:
    """Parameters of the calcium-based synapse (Graupner & Brunel 2012; times in seconds).

    The defaults are the "DP" set of the paper's Table S1 (:data:`DP`).

    Attributes:
        tau_ca: calcium decay time constant ``tau_Ca`` (s).
        c_pre: calcium jump after a presynaptic spike, ``C_pre``.
        c_post: calcium jump at a postsynaptic spike, ``C_post``.
        theta_d: depression threshold (must be below ``theta_p``).
        theta_p: potentiation threshold.
        gamma_d: depression rate ``gamma_d``.
        gamma_p: potentiation rate ``gamma_p``.
        sigma: noise amplitude.
        tau: time constant of the efficacy ``rho`` (s).
        rho_star: the unstable fixed point between DOWN (0) and UP (1).
        delay: delay ``D`` of the presynaptically evoked calcium (s).
        beta: fraction of synapses initially DOWN (in :func:`synaptic_change`).
        b: ratio of the UP to the DOWN weight, ``w_1 / w_0``.

    Raises:
        ValueError: a value outside its range (naming the field), or ``theta_d >= theta_p``.
    """

    tau_ca: float = 0.020
    c_pre: float = 1.0
    c_post: float = 2.0
    theta_d: float = 1.0
    theta_p: float = 1.3
    gamma_d: float = 200.0
    gamma_p: float = 321.808
    sigma: float = 2.8284
    tau: float = 150.0
    rho_star: float = 0.5
    delay: float = 0.0137
    beta: float = 0.5
    b: float = 5.0

    def __post_init__(self) -> None:
        for name in ("tau_ca", "theta_d", "theta_p", "gamma_d", "gamma_p", "tau", "b"):
            check_number(name, getattr(self, name), 0.0, low_open=True)
        for name in ("c_pre", "c_post", "sigma", "delay"):
            check_number(name, getattr(self, name), 0.0)
        check_number("rho_star", self.rho_star, 0.0, 1.0, low_open=True, high_open=True)
        check_number("beta", self.beta, 0.0, 1.0)
        check_thresholds(self.theta_d, self.theta_p)

    def replace(self, **changes: float) -> GraupnerBrunelParams:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


DP = GraupnerBrunelParams()
"""Graupner & Brunel 2012's "DP" set (Table S1; Fig. 2, panel DP): ``tau_Ca`` 20 ms,
``C_pre`` 1, ``C_post`` 2, ``theta_d`` 1, ``theta_p`` 1.3, ``gamma_d`` 200, ``gamma_p``
321.808, ``sigma`` 2.8284, ``tau`` 150 s, ``rho*`` 0.5, ``D`` 13.7 ms, ``beta`` 0.5, ``b`` 5."""


def calcium_step(
    c_tm1: Tensor, pre_t: Tensor, post_t: Tensor, dt: float, params: GraupnerBrunelParams = DP
) -> Tensor:
    """One time step of the calcium trace.

    ``c_t = c_tm1 exp(-dt / tau_Ca) + C_pre pre_t + C_post post_t`` (Graupner & Brunel 2012:
    the linear sum of exponentially decaying transients). ``pre_t`` counts the
    presynaptic spikes whose calcium arrives in this step (spikes emitted ``D`` earlier);
    ``post_t`` the postsynaptic spikes of the step.

    Shapes: all ``[B, ...]`` (broadcast); ``dt`` in seconds.
    """
    return c_tm1 * math.exp(-dt / params.tau_ca) + params.c_pre * pre_t + params.c_post * post_t


def efficacy_drift(rho: Tensor, c: Tensor, params: GraupnerBrunelParams = DP) -> Tensor:
    """Deterministic part of the efficacy's equation, ``drho/dt`` (per second).

    ``drho/dt = [-rho (1 - rho) (rho* - rho) + gamma_p (1 - rho) H(c - theta_p)
    - gamma_d rho H(c - theta_d)] / tau`` (Graupner & Brunel 2012; ``H(x) = 1`` for
    ``x > 0``, else 0).

    Shapes: ``rho``, ``c`` ``[B, ...]`` (broadcast).
    """
    h_p = (c > params.theta_p).to(rho.dtype)
    h_d = (c > params.theta_d).to(rho.dtype)
    bistable = -rho * (1.0 - rho) * (params.rho_star - rho)
    return (bistable + params.gamma_p * (1.0 - rho) * h_p - params.gamma_d * rho * h_d) / params.tau


def efficacy_step(
    rho_tm1: Tensor,
    c_t: Tensor,
    dt: float,
    generator: torch.Generator,
    params: GraupnerBrunelParams = DP,
) -> Tensor:
    """One Euler-Maruyama step of the efficacy.

    ``rho_t = rho_tm1 + drift(rho_tm1, c_t) dt + sigma / sqrt(tau) sqrt(H(c_t - theta_p) +
    H(c_t - theta_d)) sqrt(dt) xi``, ``xi ~ N(0, 1)`` drawn from ``generator`` (Graupner &
    Brunel 2012 with the noise of their 2013 correction: ``sigma sqrt(tau) eta`` in
    ``tau drho/dt`` is ``sigma / sqrt(tau)`` white noise in ``drho/dt``). See
    :func:`efficacy_drift`.

    Shapes: ``rho_tm1``, ``c_t`` ``[B, ...]``; ``dt`` in seconds; ``generator`` on their device.
    """
    active = (c_t > params.theta_p).to(rho_tm1.dtype) + (c_t > params.theta_d).to(rho_tm1.dtype)
    xi = torch.randn(rho_tm1.shape, generator=generator, device=rho_tm1.device,
                     dtype=rho_tm1.dtype)  # fmt: skip
    noise = params.sigma / math.sqrt(params.tau) * torch.sqrt(active) * math.sqrt(dt) * xi
    return rho_tm1 + efficacy_drift(rho_tm1, c_t, params) * dt + noise


def time_above(c_0: Tensor, threshold: float, duration: Tensor, tau_ca: float) -> Tensor:
    """How long a decaying calcium transient stays above a threshold within a window.

    ``c(t) = c_0 exp(-t / tau_Ca)`` exceeds ``theta`` for ``t < tau_Ca ln(c_0 / theta)``, so
    the time above it within ``[0, duration]`` is ``clip(tau_Ca ln(c_0 / theta), 0,
    duration)`` (0 when ``c_0 <= theta``).

    Shapes: ``c_0``, ``duration`` ``[B, ...]`` (broadcast); seconds.
    """
    ratio = (c_0 / threshold).clamp(min=1.0)
    return torch.minimum(tau_ca * torch.log(ratio), duration).clamp(min=0.0)


def ou_step(
    x: Tensor, duration: Tensor, rate: float, mean: float, variance: float, xi: Tensor
) -> Tensor:
    """Exact update of an Ornstein-Uhlenbeck process over ``duration``.

    For ``dx = -rate (x - mean) dt + s dW`` with stationary variance ``variance = s^2 / (2
    rate)``: ``x(t + T) = mean + (x - mean) e^{-rate T} + sqrt(variance (1 - e^{-2 rate T}))
    xi`` with ``xi ~ N(0, 1)`` (Gillespie 1996, Phys Rev E 54:2084).

    Shapes: ``x``, ``duration``, ``xi`` ``[B, ...]`` (broadcast).
    """
    decay = torch.exp(-rate * duration)
    spread = torch.sqrt((variance * (1.0 - decay * decay)).clamp(min=0.0))
    return mean + (x - mean) * decay + spread * xi


def bistable_relax(rho: Tensor, duration: Tensor, params: GraupnerBrunelParams = DP) -> Tensor:
    """Integrate the calcium-free part ``tau drho/dt = -rho (1 - rho) (rho* - rho)`` over
    ``duration`` by one classical Runge-Kutta (RK4) step.

    The cubic is slow (its rates are at most ``rho* / tau``, 1 / 300 s for :data:`DP`), so one
    step is accurate for the gaps between calcium events of any pairing protocol (error
    ``O((duration rho* / tau)^5)``).

    Shapes: ``rho``, ``duration`` ``[B, ...]`` (broadcast); seconds.
    """

    def f(r: Tensor) -> Tensor:
        return -r * (1.0 - r) * (params.rho_star - r) / params.tau

    k1 = f(rho)
    k2 = f(rho + 0.5 * duration * k1)
    k3 = f(rho + 0.5 * duration * k2)
    k4 = f(rho + duration * k3)
    return rho + duration / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


class CalciumEvents(NamedTuple):
    """Calcium jumps of a protocol, sorted in time per synapse.

    Attributes:
        times: when each jump happens (s), ``[B, E]``, non-decreasing along ``E``.
        jumps: its size (``C_pre`` for a presynaptic arrival, ``C_post`` for a postsynaptic
            spike), ``[B, E]``.
    """

    times: Tensor
    jumps: Tensor


def calcium_events(
    pre_times: Tensor, post_times: Tensor, params: GraupnerBrunelParams = DP
) -> CalciumEvents:
    """The calcium events of given spike trains: presynaptic spikes arrive ``D`` later with
    ``C_pre``, postsynaptic spikes at once with ``C_post`` (Graupner & Brunel 2012).

    Shapes: ``pre_times [B, n_pre_spikes]``, ``post_times [B, n_post_spikes]`` (seconds);
    returns :class:`CalciumEvents` with ``E = n_pre_spikes + n_post_spikes``.
    """
    times = torch.cat([pre_times + params.delay, post_times], dim=-1)
    jumps = torch.cat(
        [torch.full_like(pre_times, params.c_pre), torch.full_like(post_times, params.c_post)],
        dim=-1,
    )
    times, order = torch.sort(times, dim=-1, stable=True)
    return CalciumEvents(times, torch.gather(jumps, -1, order))


def pairing_protocol(
    delta_t: Tensor, frequency: Tensor, n_pairs: int, params: GraupnerBrunelParams = DP
) -> tuple[CalciumEvents, Tensor]:
    """Spike pairs repeated ``n_pairs`` times at ``frequency`` (Graupner & Brunel 2012, Fig. 2:
    60 pairs at 1 Hz): the ``k``-th presynaptic spike at ``k / f``, its postsynaptic partner
    ``delta_t`` later (``delta_t > 0``: pre before post), all shifted so that the first spike
    is at 0.

    Returns the calcium events (:func:`calcium_events`) and the end of the protocol,
    ``t_end = max(n_pairs / f, last event + 10 tau_Ca)``: the paper's duration ``n_pairs / f``,
    or longer where the calcium of the last event needs time to decay (at high rates).

    Shapes: ``delta_t``, ``frequency`` ``[B]`` (s, Hz); returns events ``[B, 2 n_pairs]`` and
    ``t_end [B]``.
    """
    k = torch.arange(n_pairs, dtype=delta_t.dtype, device=delta_t.device)
    shift = -torch.minimum(torch.zeros_like(delta_t), delta_t)
    pre = k / frequency.unsqueeze(-1) + shift.unsqueeze(-1)
    post = pre + delta_t.unsqueeze(-1)
    events = calcium_events(pre, post, params)
    t_end = torch.maximum(n_pairs / frequency, events.times[:, -1] + 10.0 * params.tau_ca)
    return events, t_end


class ProtocolResult(NamedTuple):
    """What :func:`simulate_calcium_events` returns.

    Attributes:
        rho: the efficacy at the end of the protocol, ``[B]``.
        calcium: the calcium at the end, ``[B]``.
        time_above_d: total time the calcium spent above ``theta_d`` (s), ``[B]``.
        time_above_p: total time above ``theta_p`` (s), ``[B]``.
    """

    rho: Tensor
    calcium: Tensor
    time_above_d: Tensor
    time_above_p: Tensor


def simulate_calcium_events(
    rho_0: Tensor,
    events: CalciumEvents,
    t_end: Tensor,
    generator: torch.Generator,
    params: GraupnerBrunelParams = DP,
) -> ProtocolResult:
    """Integrate the Graupner-Brunel synapse through a protocol, event by event.

    Calcium is zero before the first event. Between two events the calcium decays as
    ``c e^{-t / tau_Ca}`` and crosses ``theta_p`` and then ``theta_d`` at known times
    (:func:`time_above`), which cut the gap into three pieces: both thresholds exceeded, only
    ``theta_d`` exceeded, neither. On the first two pieces the calcium-driven part of the
    equation is linear in ``rho`` with constant coefficients, an Ornstein-Uhlenbeck process
    updated exactly (:func:`ou_step`):

    - above ``theta_p``: rate ``(gamma_p + gamma_d) / tau``, mean ``gamma_p / (gamma_p +
      gamma_d)``, stationary variance ``sigma^2 / (gamma_p + gamma_d)``;
    - between: rate ``gamma_d / tau``, mean 0, stationary variance ``sigma^2 / (2 gamma_d)``.

    The bistable cubic acts over the whole gap (:func:`bistable_relax`; Lie splitting, its
    error negligible since the cubic is ~1000 times slower than the calcium-driven terms).
    The result has the distribution of the Euler-Maruyama solution (:func:`efficacy_step`) in
    the limit ``dt -> 0``, at a cost of one step per event instead of one per 0.1 ms. Two
    normal draws per event and synapse come from ``generator``, whatever the protocol.

    Shapes: ``rho_0 [B]``, events ``[B, E]`` sorted in time, ``t_end [B]`` (>= the last
    event); ``generator`` on their device. Returns :class:`ProtocolResult`.
    """
    times, jumps = events.times, events.jumps
    n_events = times.shape[-1]
    dtype, device = rho_0.dtype, rho_0.device
    both_rate = (params.gamma_p + params.gamma_d) / params.tau
    both_mean = params.gamma_p / (params.gamma_p + params.gamma_d)
    both_var = params.sigma**2 / (params.gamma_p + params.gamma_d)
    dep_rate = params.gamma_d / params.tau
    dep_var = params.sigma**2 / (2.0 * params.gamma_d)
    rho = rho_0
    c = torch.zeros_like(rho_0)
    above_d = torch.zeros_like(rho_0)
    above_p = torch.zeros_like(rho_0)
    ends = torch.cat([times[:, 1:], t_end.unsqueeze(-1).to(times.dtype)], dim=-1)
    gaps = (ends - times).clamp(min=0.0).to(dtype)
    for e in range(n_events):
        c = c + jumps[:, e].to(dtype)
        gap = gaps[:, e]
        t_p = time_above(c, params.theta_p, gap, params.tau_ca)
        t_d = time_above(c, params.theta_d, gap, params.tau_ca)
        xi = torch.randn((2, *rho.shape), generator=generator, device=device, dtype=dtype)
        rho = ou_step(rho, t_p, both_rate, both_mean, both_var, xi[0])
        rho = ou_step(rho, t_d - t_p, dep_rate, 0.0, dep_var, xi[1])
        rho = bistable_relax(rho, gap, params)
        c = c * torch.exp(-gap / params.tau_ca)
        above_d = above_d + t_d
        above_p = above_p + t_p
    return ProtocolResult(rho, c, above_d, above_p)


def synaptic_change(up: Tensor | float, down: Tensor | float, beta: float = 0.5,
                    b: float = 5.0) -> Tensor | float:  # fmt: skip
    """Change of the total synaptic strength after a protocol (after / before).

    ``[beta (1 - U) + (1 - beta) D + b (beta U + (1 - beta) (1 - D))] / (beta + (1 - beta) b)``
    with ``U`` the probability of a DOWN -> UP transition, ``D`` of UP -> DOWN, a fraction
    ``beta`` of the synapses initially DOWN and ``b = w_1 / w_0`` (Graupner & Brunel 2012,
    Materials and Methods). 1: no change; ``U = 1, D = 0`` gives the maximum ``b / (beta +
    (1 - beta) b)``, ``U = 0, D = 1`` the minimum ``1 / (beta + (1 - beta) b)``.

    Shapes: ``up``, ``down`` floats or tensors ``[B]`` (broadcast).
    """
    after = beta * (1 - up) + (1 - beta) * down + b * (beta * up + (1 - beta) * (1 - down))
    return after / (beta + (1 - beta) * b)


def analytic_transition_probabilities(
    time_above_d: Tensor, time_above_p: Tensor, params: GraupnerBrunelParams = DP
) -> tuple[Tensor, Tensor]:
    """The paper's diffusion approximation of the transition probabilities ``(U, D)``.

    With ``alpha_{d,p}`` the fractions of the protocol's duration ``T`` that the calcium spends
    above ``theta_{d,p}``, the bistable term neglected and the calcium-driven terms averaged,
    ``rho`` is an Ornstein-Uhlenbeck process with ``Gamma_{p,d} = gamma_{p,d} alpha_{p,d}``,
    mean ``rho_bar = Gamma_p / (Gamma_p + Gamma_d)``, time constant ``tau_eff = tau /
    (Gamma_p + Gamma_d)`` and stationary variance ``sigma^2 (alpha_p + alpha_d) / (2 (Gamma_p
    + Gamma_d))``. From ``rho_0``, ``rho(T)`` is normal with mean ``rho_bar + (rho_0 -
    rho_bar) e^{-T / tau_eff}`` and that variance times ``1 - e^{-2T / tau_eff}``; ``U =
    P(rho(T) > rho* | rho_0 = 0)``, ``D = P(rho(T) < rho* | rho_0 = 1)`` (Graupner & Brunel
    2012, Materials and Methods and SI). ``T`` cancels: ``T / tau_eff = (gamma_p t_p +
    gamma_d t_d) / tau`` depends only on the times ``t_{d,p}`` spent above the thresholds.

    Shapes: ``time_above_d``, ``time_above_p`` ``[B]`` (s). Returns ``(U, D)``, each ``[B]``
    (0 where the calcium never exceeds ``theta_d``).
    """
    rate_p = params.gamma_p * time_above_p  # Gamma_p T
    rate_sum = rate_p + params.gamma_d * time_above_d  # (Gamma_p + Gamma_d) T
    quiet = rate_sum <= 0
    safe = torch.where(quiet, 1.0, rate_sum)
    rho_bar = rate_p / safe
    decay = torch.exp(-safe / params.tau)
    variance = params.sigma**2 * (time_above_p + time_above_d) / (2.0 * safe) * (1 - decay**2)
    sd = torch.sqrt(variance).clamp(min=1e-12)
    up = torch.special.ndtr((rho_bar * (1.0 - decay) - params.rho_star) / sd)
    down = torch.special.ndtr((params.rho_star - rho_bar - (1.0 - rho_bar) * decay) / sd)
    return torch.where(quiet, 0.0, up), torch.where(quiet, 0.0, down)


# --------------------------------------------------------------------------------------------
# 2. Rate-based calcium (Shouval, Bear & Cooper 2002) as a three-factor Hebbian term
# --------------------------------------------------------------------------------------------


SHOUVAL_THETA_D = 0.35
"""Depression threshold of :func:`omega`'s defaults (Shouval, Bear & Cooper 2002: alpha_1 =
0.35 uM)."""
SHOUVAL_THETA_P = 0.55
"""Potentiation threshold of :func:`omega`'s defaults (Shouval et al. 2002: alpha_2 = 0.55 uM)."""


def rate_calcium(
    pre: Tensor, post: Tensor, coincidence: Scalar = 1.0, c_pre: Scalar = 0.0,
    c_post: Scalar = 0.0,
) -> Tensor:  # fmt: skip
    """Synaptic calcium from pre- and postsynaptic rates.

    ``Ca_ij = k_nmda post_i pre_j + C_pre pre_j + C_post post_i``: the NMDA-receptor current
    needs glutamate (``pre``) and the relief of the Mg block by depolarisation (``post``), so
    its calcium is the product, the coincidence detector (Shouval, Bear & Cooper 2002, eqs.
    1-3, with rates for the glutamate binding and the depolarisation); ``C_pre`` and
    ``C_post`` add calcium from presynaptic activity alone and from the back-propagating
    action potential (voltage-gated channels). Meant for non-negative rates.

    Shapes: ``pre [B, n_pre]``, ``post [B, n_post]``; the coefficients floats or ``[B]``;
    returns ``[B, n_post, n_pre]``.
    """
    outer = post.unsqueeze(-1) * pre.unsqueeze(-2)
    calcium = per_agent(coincidence, outer) * outer
    calcium = calcium + per_agent(c_pre, outer) * pre.unsqueeze(-2)
    return calcium + per_agent(c_post, outer) * post.unsqueeze(-1)


def omega(
    calcium: Tensor,
    theta_d: float = SHOUVAL_THETA_D,
    theta_p: float = SHOUVAL_THETA_P,
    depression: float = 0.25,
    potentiation: float = 0.75,
    steepness: float | None = None,
) -> Tensor:
    """The calcium-control function: sign and size of plasticity set by calcium.

    Sharp (``steepness=None``): ``Omega(Ca) = 0`` for ``Ca <= theta_d``, ``-A_d`` for
    ``theta_d < Ca <= theta_p``, ``+A_p`` for ``Ca > theta_p`` (the thresholds of Graupner &
    Brunel 2012). Smooth: ``Omega(Ca) = A_p s(Ca - theta_p) - A_d [s(Ca - theta_d) - s(Ca -
    theta_p)]`` with ``s(x) = 1 / (1 + e^{-beta x})`` (Shouval, Bear & Cooper 2002's Omega,
    measured from its resting level 0.25: the defaults ``A_d = 0.25``, ``A_p = 0.75``,
    ``theta_d = 0.35``, ``theta_p = 0.55``; their ``beta = 80``).

    Shapes: ``calcium [...]``; returns the same shape.

    Raises:
        ValueError: ``theta_d >= theta_p``, a negative amplitude or a non-positive steepness.
    """
    _check_omega(theta_d, theta_p, depression, potentiation, steepness)
    if steepness is None:
        on_p = (calcium > theta_p).to(calcium.dtype)
        on_d = (calcium > theta_d).to(calcium.dtype)
    else:
        on_p = torch.sigmoid(steepness * (calcium - theta_p))
        on_d = torch.sigmoid(steepness * (calcium - theta_d))
    return potentiation * on_p - depression * (on_d - on_p)


def _check_omega(
    theta_d: float, theta_p: float, depression: float, potentiation: float,
    steepness: float | None,
) -> None:  # fmt: skip
    check_number("theta_d", theta_d)
    check_number("theta_p", theta_p)
    check_thresholds(theta_d, theta_p)
    check_number("depression", depression, 0.0)
    check_number("potentiation", potentiation, 0.0)
    if steepness is not None:
        check_number("steepness", steepness, 0.0, low_open=True)


class CalciumEligibilityState(NamedTuple):
    """State of :func:`calcium_three_factor`: the eligibility trace ``[B, n_post, n_pre]``."""

    trace: Tensor


def _where_active(active: Tensor, value: Tensor, otherwise: Tensor | float) -> Tensor:
    """``value`` for the agents with ``active [B]`` True, ``otherwise`` for the others."""
    mask = active.view(active.shape + (1,) * (value.dim() - active.dim()))
    return torch.where(mask, value, otherwise)


def _check_decay(trace_decay: Scalar) -> None:
    if not isinstance(trace_decay, Tensor):
        check_number("trace_decay", trace_decay, 0.0, 1.0)


def calcium_three_factor(
    learning_rate: Scalar,
    trace_decay: Scalar,
    *,
    theta_d: float = SHOUVAL_THETA_D,
    theta_p: float = SHOUVAL_THETA_P,
    coincidence: Scalar = 1.0,
    c_pre: Scalar = 0.0,
    c_post: Scalar = 0.0,
    depression: float = 0.25,
    potentiation: float = 0.75,
    steepness: float | None = None,
) -> PlasticityTransform:
    """Three-factor rule whose Hebbian term is set by calcium (Shouval, Bear & Cooper 2002).

    Each step: ``Ca_t = rate_calcium(pre_t, post_t)`` (:func:`rate_calcium`), the eligibility
    ``e_t = decay e_tm1 + Omega(Ca_t)`` (:func:`omega`: depression between ``theta_d`` and
    ``theta_p``, potentiation above), and ``dw = lr DA_t e_t``
    (:func:`plasticgym.rules.three_factor_dw`). Calcium decides which synapses are eligible and
    in which direction; dopamine decides whether, and with which sign, the eligibility becomes
    a weight change (Fremaux & Gerstner 2016; Gerstner et al. 2018): with ``DA = 0`` the change
    is exactly 0. Inactive agents (``signals.active`` False) get ``dw = 0`` and a cleared
    trace.

    Shapes: weights ``[B, n_post, n_pre]``, ``signals.pre [B, n_pre]``, ``signals.post [B,
    n_post]`` (rates, >= 0), ``signals.dopamine [B]``; ``learning_rate``, ``trace_decay``
    floats or ``[B]``.

    Raises:
        ValueError: ``theta_d >= theta_p``, ``trace_decay`` outside ``[0, 1]``, a negative
            amplitude or a non-positive steepness.
    """
    _check_omega(theta_d, theta_p, depression, potentiation, steepness)
    _check_decay(trace_decay)

    def init(weights: Tensor) -> CalciumEligibilityState:
        return CalciumEligibilityState(trace=torch.zeros_like(weights))

    def update(
        dw: Tensor, state: CalciumEligibilityState, weights: Tensor, signals: PlasticitySignals
    ) -> tuple[Tensor, CalciumEligibilityState]:
        del weights
        calcium = rate_calcium(signals.pre, signals.post, coincidence, c_pre, c_post)
        hebbian = omega(calcium, theta_d, theta_p, depression, potentiation, steepness)
        trace = per_agent(trace_decay, state.trace) * state.trace + hebbian
        trace = _where_active(signals.active, trace, 0.0)
        return dw + three_factor_dw(
            trace, signals.dopamine, learning_rate
        ), CalciumEligibilityState(trace)

    return PlasticityTransform(init, update)


# --------------------------------------------------------------------------------------------
# 3. BCM sliding threshold
# --------------------------------------------------------------------------------------------


def bcm_phi(post: Tensor, theta: Tensor) -> Tensor:
    """BCM's postsynaptic modification function.

    ``phi(y, theta_M) = y (y - theta_M)``: depression for ``0 < y < theta_M``, potentiation for
    ``y > theta_M`` (Bienenstock, Cooper & Munro 1982; the quadratic form of Intrator & Cooper
    1992).

    Shapes: ``post``, ``theta`` ``[B, n_post]``.
    """
    return post * (post - theta)


def bcm_threshold_update(theta_tm1: Tensor, post: Tensor, time_constant: Scalar) -> Tensor:
    """The sliding threshold: a running average of the squared postsynaptic activity.

    ``theta_t = theta_tm1 + (y_t^2 - theta_tm1) / tau`` (``theta_M = <y^2>``; Intrator & Cooper
    1992; Cooper & Bear 2012). More activity raises the threshold and makes potentiation
    harder, the stabilising negative feedback of BCM.

    Shapes: ``theta_tm1``, ``post`` ``[B, n_post]``; ``time_constant`` (steps, >= 1) float or
    ``[B]``.
    """
    return theta_tm1 + (post * post - theta_tm1) / per_agent(time_constant, theta_tm1)


class BcmState(NamedTuple):
    """State of :func:`bcm_three_factor`: the eligibility trace ``[B, n_post, n_pre]`` and the
    sliding threshold ``[B, n_post]``."""

    trace: Tensor
    theta: Tensor


def bcm_three_factor(
    learning_rate: Scalar,
    trace_decay: Scalar,
    threshold_time_constant: Scalar = 100.0,
    initial_threshold: float = 0.25,
) -> PlasticityTransform:
    """Three-factor rule with BCM's sliding threshold as the Hebbian term.

    Each step: ``e_t = decay e_tm1 + phi(post_t, theta_tm1) (x) pre_t`` (:func:`bcm_phi`, with
    the threshold of the steps before), then ``theta_t`` from :func:`bcm_threshold_update`, and
    ``dw = lr DA_t e_t``: no dopamine, no change. Inactive agents get ``dw = 0``, a cleared
    trace and an unchanged threshold.

    Shapes: weights ``[B, n_post, n_pre]``, signals as in :func:`calcium_three_factor`.

    Raises:
        ValueError: ``trace_decay`` outside ``[0, 1]``, ``threshold_time_constant < 1`` or a
            negative ``initial_threshold``.
    """
    _check_decay(trace_decay)
    if not isinstance(threshold_time_constant, Tensor):
        check_number("threshold_time_constant", threshold_time_constant, 1.0)
    check_number("initial_threshold", initial_threshold, 0.0)

    def init(weights: Tensor) -> BcmState:
        n_agents, n_post, _ = weights.shape
        theta = torch.full((n_agents, n_post), float(initial_threshold), dtype=weights.dtype,
                           device=weights.device)  # fmt: skip
        return BcmState(trace=torch.zeros_like(weights), theta=theta)

    def update(
        dw: Tensor, state: BcmState, weights: Tensor, signals: PlasticitySignals
    ) -> tuple[Tensor, BcmState]:
        del weights
        phi = bcm_phi(signals.post, state.theta)
        hebbian = phi.unsqueeze(-1) * signals.pre.unsqueeze(-2)
        trace = per_agent(trace_decay, state.trace) * state.trace + hebbian
        trace = _where_active(signals.active, trace, 0.0)
        theta = bcm_threshold_update(state.theta, signals.post, threshold_time_constant)
        theta = _where_active(signals.active, theta, state.theta)
        return dw + three_factor_dw(trace, signals.dopamine, learning_rate), BcmState(trace, theta)

    return PlasticityTransform(init, update)


__all__ = [
    "DP",
    "BcmState",
    "CalciumEligibilityState",
    "CalciumEvents",
    "GraupnerBrunelParams",
    "ProtocolResult",
    "analytic_transition_probabilities",
    "bcm_phi",
    "bcm_three_factor",
    "bcm_threshold_update",
    "bistable_relax",
    "calcium_events",
    "calcium_step",
    "calcium_three_factor",
    "check_thresholds",
    "efficacy_drift",
    "efficacy_step",
    "omega",
    "ou_step",
    "pairing_protocol",
    "rate_calcium",
    "simulate_calcium_events",
    "synaptic_change",
    "time_above",
]
