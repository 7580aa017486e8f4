"""Early and late phases of synaptic plasticity: tags, protein synthesis, capture; a cascade.

The synapse of :func:`tag_and_capture` is the tag-trigger-consolidation (TagTriC) synapse of
Clopath, Ziegler, Vasilaki, Busing & Gerstner 2008 (PLoS Comput Biol 4:e1000248), the model
of synaptic tagging and capture (Frey & Morris 1997, Nature 385:533). Time is in seconds; one
step lasts ``dt`` seconds. Each synapse ``ij`` (postsynaptic neuron ``i``, input ``j``) has

- an **early phase** in one of three states: neutral, up (``h = 1``: early LTP, which is also
  the synapse's LTP tag) or down (``l = 1``: early LTD and LTD tag). Induction moves a neutral
  synapse up with probability ``rho_H`` and down with probability ``rho_L``; an up synapse
  falls back to neutral at rate ``k_H = 1 / tau_H`` (``tau_H = 1 h``), a down synapse at
  ``k_L = 1 / tau_L`` (``tau_L = 1.5 h``). Up and down synapses are not induced again until
  they are neutral;
- a **late phase** ``z``, bistable around the unstable point ``kappa``, which a tagged synapse
  can move to the other stable state only while plasticity-related proteins are present::

      tau_z dz/dt = z (1 - z) (z - kappa) + gamma (h - l) p      (tau_z = 6 min, kappa = 0.5,
                                                                   gamma = 0.1)

  With ``p = 0`` (or no tag) ``z = 0`` and ``z = 1`` are fixed points: late weights keep
  their state;
- an effective weight ``w = w_0 + g_H h - g_L l + g_z z`` (``g_H = 1``, ``g_L = 0.5``,
  ``g_z = 2`` in units of the residual weight ``w_0``).

Each postsynaptic neuron has a **protein** level ``p`` whose synthesis is **triggered** when
the fraction of its tagged synapses exceeds a threshold ``theta`` (Clopath et al.: 60 of 200
synapses, ``theta = 0.3``), or, with ``dopamine_threshold`` set, when dopamine (a novelty or
reward signal) exceeds that threshold (the neuromodulatory trigger of Ziegler, Zenke, Kastner &
Gerstner 2015, J Neurosci 35:1319, and of behavioural tagging, Moncada & Viola 2007)::

      dp/dt = -p / tau_p_decay + T (1 - p) / tau_p_rise,    T = 1 if triggered else 0
      (tau_p_rise = 6 min, tau_p_decay = 1 h)

With ``trigger_event`` the step's task event of that name (e.g. ``novelty``: exploring a novel
environment, the behavioural-tagging trigger of Moncada & Viola 2007 and Wang, Redondo & Morris
2010) also switches synthesis on while it is True (:func:`protein_trigger`).

A **protein-synthesis blocker** (anisomycin) holds ``p`` at 0 while it is applied
(:func:`block_protein_synthesis`). The equations and constants are those of the paper's model
code (ModelDB 118199), which integrates them with Euler steps of 1 ms during stimulation and
1 s otherwise; here the early-phase transitions use the exact per-step probabilities
``1 - exp(-dt / tau)`` and the protein equation its exact solution for a constant trigger over
the step, so only ``z`` is integrated with Euler steps (``dt`` well below ``tau_z``).

**From a proposed change to induction.** Placed after a rule in a chain
(``chain(three_factor(...), tag_and_capture(dt))``), the transform reads the rule's proposed
change ``dw`` as the early-phase induction of the step: ``rho_H = clip(dw / g_H, 0, 1)``,
``rho_L = clip(-dw / g_L, 0, 1)``, so the expected early change of a neutral synapse is the
proposed ``dw`` (saturating at one full step ``g_H`` up or ``g_L`` down). It returns the change
of the effective weight, early plus late. Without a proposed change (no dopamine for a
three-factor rule) nothing is induced; a synapse that was never induced never changes.

**Three modes.** With ``sampled=True`` the early states are binary and sampled, as in the
paper, from a counter-based random stream kept *in the state* (:func:`counter_uniform`: a
per-agent key and a per-agent step counter, hashed with the PCG hash of Jarzynski & Olano
2020), so the draws need no generator object, are the same on every device, and a checkpoint
of the state continues them exactly. With a ``generator`` they are sampled too, one uniform draw
per synapse per step from that generator (no global RNG, but the generator's position is not
part of the state). With neither they are the expected values (probabilities of the up and down
states) and the step is deterministic; ``h`` and ``l`` then follow the exact mean of the sampled
chain, but ``z`` sees a graded tag, so a synapse needs an expected tag of about ``0.48 / p`` to
be captured where the sampled chain captures each tagged synapse (a mean-field approximation,
not the paper's model). With ``contacts = M`` (sampled modes only) each connection is ``M``
such synapses, induced alike and drawn apart; its weight is their mean and the trigger counts
them (a rate unit stands for a population of afferents; see :func:`tag_and_capture`).

:func:`cascade` is the alternative consolidation part: the linear chain of Benna & Fusi 2016
(Nat Neurosci 19:1697), in which a change written into a fast variable ``u_1`` flows into ever
slower variables and back, giving power-law rather than exponential forgetting::

      C_k du_k/dt = g_{k-1,k} (u_{k-1} - u_k) + g_{k,k+1} (u_{k+1} - u_k)

Every function is pure and batched over the leading population axis ``B``; hyperparameters
are floats shared by all agents or tensors ``[B]`` (one per agent).
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import torch
from torch import Tensor

from plasticgym.plasticity import PlasticitySignals, PlasticityTransform
from plasticgym.rules import Scalar, per_agent

# --------------------------------------------------------------------------------------------
# Tag-trigger-consolidation (Clopath et al. 2008): pure functions
# --------------------------------------------------------------------------------------------


def decay_probability(dt: float, time_constant: Scalar) -> Scalar:
    """Probability that a state of lifetime ``tau`` ends within one step of ``dt`` seconds.

    ``q = 1 - exp(-dt / tau)``: the exact per-step probability of a transition at constant rate
    ``1 / tau`` (Clopath et al. 2008 decay the tags at ``k_H = 1 / tau_H`` and
    ``k_L = 1 / tau_L``; ``q ~ dt / tau`` for ``dt << tau``).

    Shapes: ``time_constant`` float or ``[B]``; returns the same kind.
    """
    if isinstance(time_constant, Tensor):
        return -torch.expm1(-dt / time_constant)
    return -math.expm1(-dt / time_constant)


def induction_probabilities(
    dw: Tensor, early_gain: Scalar, depressed_gain: Scalar
) -> tuple[Tensor, Tensor]:
    """Early-phase induction probabilities of a proposed weight change.

    ``rho_H = clip(dw / g_H, 0, 1)`` (neutral -> up) and ``rho_L = clip(-dw / g_L, 0, 1)``
    (neutral -> down): the expected early change of a neutral synapse, ``g_H rho_H - g_L
    rho_L``, equals the proposed ``dw`` until it saturates at one full state. In Clopath et al.
    2008 the rates ``rho_H``, ``rho_L`` come from a voltage-based induction rule; here from
    whatever rule precedes the transform.

    Shapes: ``dw [B, n_post, n_pre]``; gains float or ``[B]``. Returns two ``[B, n_post, n_pre]``.
    """
    rho_h = (dw / per_agent(early_gain, dw)).clamp(0.0, 1.0)
    rho_l = (-dw / per_agent(depressed_gain, dw)).clamp(0.0, 1.0)
    return rho_h, rho_l


_MASK32 = 0xFFFFFFFF


def pcg_hash(x: Tensor) -> Tensor:
    """The PCG hash of 32-bit unsigned integers (Jarzynski & Olano 2020, "Hash functions for
    GPU rendering", J Comput Graph Tech 9(3):21; one step of O'Neill's PCG generator with its
    RXS-M-XS output)::

        s = x * 747796405 + 2891336453 (mod 2^32)
        w = ((s >> ((s >> 28) + 4)) ^ s) * 277803737 (mod 2^32)
        hash = (w >> 22) ^ w

    Computed in int64 on values in ``[0, 2^32)`` (no product exceeds 2^63), so it is exact and
    identical on every device. Shapes: any int64 tensor; returns the same shape, in
    ``[0, 2^32)``.
    """
    s = (x * 747796405 + 2891336453) & _MASK32
    w = ((torch.bitwise_right_shift(s, (s >> 28) + 4) ^ s) * 277803737) & _MASK32
    return (w >> 22) ^ w


def counter_uniform(key: Tensor, counter: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Uniform draws in ``[0, 1)`` for one step of each agent, a pure function of its key and
    step counter (a counter-based random stream: Salmon, Moraes, Dror & Shaw 2011)::

        u[b, k] = (pcg(pcg(key_b + pcg(counter_b)) + k) >> 8) / 2^24

    for the element ``k`` (row-major index) of ``shape``: 24 random bits, exact in float32.
    Different keys give independent streams; the same key and counter give the same draws.

    Shapes: ``key``, ``counter`` int64 ``[B]`` (any values; used mod 2^32); returns float32
    ``[B, *shape]``.
    """
    step = pcg_hash((key + pcg_hash(counter & _MASK32)) & _MASK32)
    index = torch.arange(math.prod(shape), dtype=torch.int64, device=key.device)
    bits = pcg_hash((step.unsqueeze(-1) + index) & _MASK32) >> 8
    return (bits.to(torch.float32) * 2.0**-24).reshape(key.shape + tuple(shape))


def early_phase_expected(
    high: Tensor, low: Tensor, rho_h: Tensor, rho_l: Tensor, q_h: Scalar, q_l: Scalar
) -> tuple[Tensor, Tensor]:
    """Expected early-phase states after one step (the mean of :func:`early_phase_sample`).

    With ``n = 1 - h - l`` the probability of the neutral state::

        h_t = (1 - q_H) h + rho_H n,      l_t = (1 - q_L) l + rho_L n

    (three-state chain of Clopath et al. 2008: induction only from the neutral state, decay of
    the up state with probability ``q_H`` and of the down state with ``q_L`` per step; see
    :func:`decay_probability`). Needs ``rho_H + rho_L <= 1``.

    Shapes: ``high`` (``h``), ``low`` (``l``), ``rho_h``, ``rho_l`` ``[B, n_post, n_pre]``;
    ``q_h``, ``q_l`` float or ``[B]``. Returns ``(h_t, l_t)``.
    """
    neutral = 1.0 - high - low
    high_t = (1.0 - per_agent(q_h, high)) * high + rho_h * neutral
    low_t = (1.0 - per_agent(q_l, low)) * low + rho_l * neutral
    return high_t, low_t


def early_phase_sample(
    high: Tensor,
    low: Tensor,
    rho_h: Tensor,
    rho_l: Tensor,
    q_h: Scalar,
    q_l: Scalar,
    uniform: Tensor,
) -> tuple[Tensor, Tensor]:
    """One step of the stochastic three-state early phase (Clopath et al. 2008), given one
    uniform draw ``u`` in ``[0, 1)`` per synapse.

    An up synapse (``h = 1``) becomes neutral if ``u < q_H``; a down synapse (``l = 1``) if
    ``u < q_L``; a neutral synapse becomes up if ``u < rho_H`` and down if
    ``rho_H <= u < rho_H + rho_L``. Its mean is :func:`early_phase_expected`. The randomness
    is an argument, so the function stays pure (draw ``u`` from an explicit generator).

    Shapes: ``high`` (``h``), ``low`` (``l``) (0/1 floats), ``rho_h``, ``rho_l``, ``uniform``
    ``[B, n_post, n_pre]``; ``q_h``, ``q_l`` float or ``[B]``. Returns ``(h_t, l_t)``, 0/1
    floats.
    """
    neutral = 1.0 - high - low
    stays_up = (uniform >= per_agent(q_h, high)).to(high.dtype)
    stays_down = (uniform >= per_agent(q_l, low)).to(low.dtype)
    goes_up = (uniform < rho_h).to(high.dtype)
    goes_down = ((uniform >= rho_h) & (uniform < rho_h + rho_l)).to(low.dtype)
    return high * stays_up + neutral * goes_up, low * stays_down + neutral * goes_down


def tag_fraction(high: Tensor, low: Tensor) -> Tensor:
    """Fraction of each postsynaptic neuron's synapses that carry a tag (up or down).

    ``N_i = (1 / n_pre) sum_j (h_ij + l_ij)`` (Clopath et al. 2008 count the tagged synapses
    of the neuron, ``sum_j (h_j - l_j)`` with their ``l`` in ``{0, -1}``).

    Shapes: ``high`` (``h``), ``low`` (``l``) ``[B, n_post, n_pre]``; returns ``[B, n_post]``.
    """
    return (high + low).mean(dim=-1)


def protein_trigger(
    tags: Tensor,
    threshold: Scalar,
    dopamine: Tensor,
    dopamine_threshold: float = math.inf,
    event: Tensor | None = None,
) -> Tensor:
    """Whether protein synthesis is switched on in each postsynaptic neuron.

    ``T_i = [N_i > theta] or [DA > theta_DA] or E``: enough tagged synapses (Clopath et al.
    2008: more than 60 of 200, ``theta = 0.3``), or a dopamine signal above ``theta_DA`` (the
    neuromodulatory trigger of Ziegler et al. 2015; ``theta_DA = inf`` switches that route
    off), or a task event ``E`` such as the exploration of a novel environment (behavioural
    tagging: novelty triggers hippocampal protein synthesis through D1/D5 receptors, Moncada &
    Viola 2007, Wang, Redondo & Morris 2010, with dopamine from the locus coeruleus, Takeuchi
    et al. 2016; None: no such event).

    Shapes: ``tags [B, n_post]`` (see :func:`tag_fraction`), ``dopamine [B]``, ``event`` bool
    ``[B]`` or None; ``threshold`` float or ``[B]``. Returns a bool ``[B, n_post]``.
    """
    by_tags = tags > per_agent(threshold, tags)
    by_dopamine = (dopamine > dopamine_threshold).unsqueeze(-1)
    if event is None:
        return by_tags | by_dopamine
    return by_tags | by_dopamine | event.to(torch.bool).unsqueeze(-1)


def protein_update(
    p: Tensor,
    trigger: Tensor,
    dt: float,
    rise_time: Scalar,
    decay_time: Scalar,
    blocked: Tensor | None = None,
) -> Tensor:
    """Plasticity-related protein level after one step (Clopath et al. 2008).

    ``dp/dt = -p / tau_d + T (1 - p) / tau_r``, solved exactly for the trigger ``T`` held over
    the step: with ``r = 1 / tau_d + T / tau_r`` and ``p_inf = (T / tau_r) / r``,
    ``p_t = p_inf + (p - p_inf) exp(-r dt)``. Switched on, ``p`` rises toward
    ``tau_d / (tau_d + tau_r)`` (0.91 for 6 min and 1 h) with time constant ``1 / r``; switched
    off, it decays with ``tau_d``. Where ``blocked`` (a protein-synthesis blocker), ``p = 0``.

    Shapes: ``p [B, n_post]``, ``trigger`` bool ``[B, n_post]``, ``blocked`` bool ``[B]`` or
    None; times float or ``[B]``. Returns ``[B, n_post]``.
    """
    on = trigger.to(p.dtype)
    rise = on / per_agent(rise_time, p)
    rate = 1.0 / per_agent(decay_time, p) + rise
    p_inf = rise / rate
    p_t = p_inf + (p - p_inf) * torch.exp(-rate * dt)
    if blocked is not None:
        p_t = torch.where(blocked.unsqueeze(-1), torch.zeros_like(p_t), p_t)
    return p_t


def late_phase_update(
    z: Tensor,
    high: Tensor,
    low: Tensor,
    p: Tensor,
    dt: float,
    time_constant: Scalar,
    gamma: Scalar,
    kappa: Scalar = 0.5,
) -> Tensor:
    """Late-phase (consolidated) weight after one Euler step (Clopath et al. 2008).

    ``tau_z dz/dt = z (1 - z) (z - kappa) + gamma (h - l) p``: a double-well with stable states
    0 and 1 and the barrier at ``kappa``; a tag (``h`` up, ``l`` down) tilts it while the
    neuron's proteins ``p`` are present. With ``gamma = 0.1`` and ``kappa = 0.5`` the tilt
    ``gamma p`` must exceed the well's depth 0.048 (``p > 0.48`` for a full tag) to move the
    synapse: capture.

    Shapes: ``z``, ``high`` (``h``), ``low`` (``l``) ``[B, n_post, n_pre]``, ``p [B, n_post]``;
    parameters float or ``[B]``. Returns ``[B, n_post, n_pre]``.
    """
    well = z * (1.0 - z) * (z - per_agent(kappa, z))
    drive = per_agent(gamma, z) * (high - low) * p.unsqueeze(-1)
    return z + dt / per_agent(time_constant, z) * (well + drive)


def tagged_weight(
    high: Tensor,
    low: Tensor,
    z: Tensor,
    early_gain: Scalar,
    depressed_gain: Scalar,
    late_gain: Scalar,
) -> Tensor:
    """The part of the weight held by the early and late phases.

    ``w - w_0 = g_H h - g_L l + g_z z`` (Clopath et al. 2008: ``g_H = 1``, ``g_L = 0.5``,
    ``g_z = 2`` in units of the residual weight ``w_0``).

    Shapes: ``high`` (``h``), ``low`` (``l``), ``z`` ``[B, n_post, n_pre]``; gains float or
    ``[B]``.
    """
    early = per_agent(early_gain, high) * high - per_agent(depressed_gain, low) * low
    return early + per_agent(late_gain, z) * z


# --------------------------------------------------------------------------------------------
# Tag-trigger-consolidation: the plasticity transform
# --------------------------------------------------------------------------------------------


class TagCaptureState(NamedTuple):
    """State of :func:`tag_and_capture`.

    Attributes:
        high: ``h``, the up (early LTP, LTP tag) state of each synapse, ``[B, n_post, n_pre]``
            (0/1 when sampled, its probability otherwise).
        low: ``l``, the down (early LTD, LTD tag) state, ``[B, n_post, n_pre]``.
        z: late-phase weight, ``[B, n_post, n_pre]``, bistable at 0 and 1.
        p: plasticity-related protein level of each postsynaptic neuron, ``[B, n_post]``.
        blocked: ``[B]`` bool, a protein-synthesis blocker is applied (``p`` held at 0).
        stream: ``[B, 2]`` int64, each agent's random stream for sampled tags: its key and
            the number of steps it has taken (see :func:`counter_uniform`; unused unless
            ``sampled=True``). Keys default to the agent's index; :func:`seed_tag_sampling`
            sets others.
    """

    high: Tensor
    low: Tensor
    z: Tensor
    p: Tensor
    blocked: Tensor
    stream: Tensor


def block_protein_synthesis(state: TagCaptureState, blocked: bool | Tensor) -> TagCaptureState:
    """Apply (True) or wash out (False) a protein-synthesis blocker such as anisomycin, for all
    agents (a bool) or per agent (a bool ``[B]``); while applied ``p`` is held at 0."""
    blocked = torch.as_tensor(blocked, device=state.blocked.device).expand_as(state.blocked)
    p = torch.where(blocked.unsqueeze(-1), torch.zeros_like(state.p), state.p)
    return state._replace(blocked=blocked.clone(), p=p)


def seed_tag_sampling(state: TagCaptureState, keys: Tensor) -> TagCaptureState:
    """The state with each agent's sampling key set to ``keys`` (int64 ``[B]``) and its step
    counter restarted at 0: the random stream of ``sampled=True`` tags (:func:`counter_uniform`).
    """
    keys = torch.as_tensor(keys, dtype=torch.int64, device=state.stream.device)
    if keys.shape != state.stream.shape[:1]:
        raise ValueError(
            f"seed_tag_sampling: need one key per agent, shape {tuple(state.stream.shape[:1])}, "
            f"got {tuple(keys.shape)}"
        )
    return state._replace(stream=torch.stack([keys, torch.zeros_like(keys)], dim=1))


def _select(active: Tensor, value: Tensor, otherwise: Tensor) -> Tensor:
    """``value`` for active agents and ``otherwise`` for the others (``active [B]``)."""
    mask = active.view(active.shape + (1,) * (value.dim() - active.dim()))
    return torch.where(mask, value, otherwise)


def _check_positive(name: str, value: Scalar) -> None:
    if isinstance(value, Tensor):
        if not bool((value > 0).all()):
            raise ValueError(f"{name} must be > 0 for every agent, got {value.tolist()}")
    elif not (isinstance(value, int | float) and not isinstance(value, bool) and value > 0):
        raise ValueError(f"{name}={value!r} is invalid: must be a number > 0")


def _smallest(value: Scalar) -> float:
    return float(value.min()) if isinstance(value, Tensor) else float(value)


class _TagCaptureConstants(NamedTuple):
    """The arguments of :func:`tag_and_capture` that its update reads (times in seconds)."""

    dt: float
    tau_h: Scalar
    tau_l: Scalar
    tau_p_rise: Scalar
    tau_p_decay: Scalar
    tau_z: Scalar
    tag_threshold: Scalar
    dopamine_threshold: float
    gamma: Scalar
    kappa: Scalar
    early_gain: Scalar
    depressed_gain: Scalar
    late_gain: Scalar
    contacts: int = 1
    trigger_event: str | None = None


def _check_tag_capture(c: _TagCaptureConstants) -> None:
    """Time constants, gains and ``dt`` must be > 0, and ``dt`` at most ``tau_z / 4``."""
    for name in ("tau_h", "tau_l", "tau_p_rise", "tau_p_decay", "tau_z", "early_gain",
                 "depressed_gain", "late_gain", "dt"):  # fmt: skip
        _check_positive(name, getattr(c, name))
    if c.dt > _smallest(c.tau_z) / 4:
        raise ValueError(
            f"dt={c.dt!r} is invalid: the late phase is integrated with Euler steps, so dt must "
            f"be at most tau_z / 4 = {_smallest(c.tau_z) / 4:g} s"
        )


def _tag_capture_init(
    weights: Tensor, blocked: bool, generator: torch.Generator | None, contacts: int = 1
) -> TagCaptureState:
    """The state of :func:`tag_and_capture` before any step: every synapse (contact) neutral
    with ``z = 0``, no proteins, the blocker as given; per-synapse tensors
    ``[B, n_post, n_pre * contacts]``."""
    if generator is not None and generator.device.type != weights.device.type:
        raise ValueError(
            f"tag_and_capture: the generator is on {generator.device}, the weights on "
            f"{weights.device}; make the generator on the weights' device"
        )
    if contacts == 1:
        zeros = torch.zeros_like(weights)
    else:
        B, n_post, n_pre = weights.shape
        zeros = weights.new_zeros(B, n_post, n_pre * contacts)
    applied = torch.full(weights.shape[:1], bool(blocked), device=weights.device)
    p = torch.zeros(weights.shape[:2], dtype=weights.dtype, device=weights.device)
    keys = torch.arange(weights.shape[0], dtype=torch.int64, device=weights.device)
    stream = torch.stack([keys, torch.zeros_like(keys)], dim=1)
    return TagCaptureState(zeros, zeros.clone(), zeros.clone(), p, applied, stream)


def _uniform(
    state: TagCaptureState, generator: torch.Generator | None, sampled: bool
) -> Tensor | None:
    """One uniform draw in ``[0, 1)`` per synapse: from the state's stream when ``sampled``,
    else from ``generator``; None with neither (the expected early phase)."""
    like = state.high
    if sampled:
        key, counter = state.stream[:, 0], state.stream[:, 1]
        return counter_uniform(key, counter, tuple(like.shape[1:])).to(like.dtype)
    if generator is None:
        return None
    return torch.rand(like.shape, generator=generator, dtype=like.dtype, device=like.device)


def _tag_capture_step(
    dw: Tensor,
    state: TagCaptureState,
    signals: PlasticitySignals,
    c: _TagCaptureConstants,
    uniform: Tensor | None,
) -> tuple[Tensor, TagCaptureState]:
    """One step of :func:`tag_and_capture`: induction, early phase (sampled with ``uniform``,
    one draw per synapse, or expected values with None), proteins, late phase; inactive
    agents keep their state. Returns the change of the effective weight and the new state."""
    contacts = state.high.shape[-1] // dw.shape[-1]
    if contacts > 1:  # every contact of a connection is induced alike
        dw = dw.repeat_interleave(contacts, dim=-1)
    rho_h, rho_l = induction_probabilities(dw, c.early_gain, c.depressed_gain)
    q_h, q_l = decay_probability(c.dt, c.tau_h), decay_probability(c.dt, c.tau_l)
    if uniform is None:
        high, low = early_phase_expected(state.high, state.low, rho_h, rho_l, q_h, q_l)
    else:
        high, low = early_phase_sample(state.high, state.low, rho_h, rho_l, q_h, q_l, uniform)
    event = None
    if c.trigger_event is not None:
        event = _trigger_event(signals, c.trigger_event)
    trigger = protein_trigger(
        tag_fraction(high, low), c.tag_threshold, signals.dopamine, c.dopamine_threshold, event
    )
    p = protein_update(state.p, trigger, c.dt, c.tau_p_rise, c.tau_p_decay, state.blocked)
    z = late_phase_update(state.z, high, low, p, c.dt, c.tau_z, c.gamma, c.kappa)
    counted = state.stream + torch.tensor([0, 1], dtype=torch.int64, device=dw.device)
    stepped = TagCaptureState(high, low, z, p, state.blocked, counted)
    new = TagCaptureState(
        *(_select(signals.active, s, o) for s, o in zip(stepped, state, strict=True))
    )
    gains = (c.early_gain, c.depressed_gain, c.late_gain)
    change = tagged_weight(new.high, new.low, new.z, *gains)
    change = change - tagged_weight(state.high, state.low, state.z, *gains)
    if contacts > 1:  # a connection's weight is the mean of its contacts'
        change = change.unflatten(-1, (-1, contacts)).mean(dim=-1)
    return change, new


def _trigger_event(signals: PlasticitySignals, name: str) -> Tensor | None:
    """The task event ``name`` (bool ``[B]``) of the step's signals; None for a step with no
    task events at all (``signals.events`` None: a rest, :func:`plasticgym.synapses.rest`);
    a clear error when the step has events but not this one."""
    events = signals.events
    if events is None:
        return None
    if name not in events:
        raise ValueError(
            f"tag_and_capture(trigger_event={name!r}) needs the step's task event {name!r} in "
            f"signals.events (the agent passes it from the env's info), got {sorted(events)}"
        )
    return events[name]


def tag_and_capture(
    dt: float,
    *,
    tau_h: Scalar = 3600.0,
    tau_l: Scalar = 5400.0,
    tau_p_rise: Scalar = 360.0,
    tau_p_decay: Scalar = 3600.0,
    tau_z: Scalar = 360.0,
    tag_threshold: Scalar = 0.3,
    dopamine_threshold: float = math.inf,
    gamma: Scalar = 0.1,
    kappa: Scalar = 0.5,
    early_gain: Scalar = 1.0,
    depressed_gain: Scalar = 0.5,
    late_gain: Scalar = 2.0,
    protein_synthesis_blocked: bool = False,
    generator: torch.Generator | None = None,
    sampled: bool = False,
    contacts: int = 1,
    trigger_event: str | None = None,
) -> PlasticityTransform:
    """Early/late synapse with tagging, a protein-synthesis trigger and capture (Clopath,
    Ziegler, Vasilaki, Busing & Gerstner 2008), as a plasticity transform (see the module
    docstring for the equations).

    Reads the proposed ``dw`` of the transforms before it as the step's early-phase induction
    (:func:`induction_probabilities`), advances the early phase (sampled with ``generator``,
    expected values without), the neurons' protein levels (:func:`protein_trigger`,
    :func:`protein_update`) and the late phase (:func:`late_phase_update`) by ``dt`` seconds,
    and returns the change of the effective weight ``g_H h - g_L l + g_z z`` (the proposal
    itself is consumed). Inactive agents (``signals.active`` False) keep their state and get
    ``dw = 0``. Put :func:`plasticgym.plasticity.weight_bounds` after it only with bounds
    that hold ``w_0 - g_L`` to ``w_0 + g_H + g_z``: clipping the returned change would
    decouple the weight from the states.

    Args:
        dt: step duration in seconds (at most ``tau_z / 4``: ``z`` is integrated with Euler).
        tau_h, tau_l: lifetimes of the up and down early states (tags), seconds.
        tau_p_rise, tau_p_decay: protein synthesis and degradation time constants, seconds.
        tau_z: consolidation time constant, seconds.
        tag_threshold: fraction of a neuron's synapses that must be tagged to trigger protein
            synthesis (Clopath et al.: 60 of 200).
        dopamine_threshold: dopamine above which synthesis is also triggered (default: never).
        gamma, kappa: capture strength and unstable point of the late phase.
        early_gain, depressed_gain, late_gain: ``g_H``, ``g_L``, ``g_z`` in weight units.
        protein_synthesis_blocked: start with the blocker applied (see
            :func:`block_protein_synthesis`).
        generator: a torch generator on the weights' device: sample binary early states
            (the paper's model) from it; None: see ``sampled``.
        sampled: sample binary early states from the random stream kept in the state
            (:func:`counter_uniform`, keys set by :func:`seed_tag_sampling`): exact across
            checkpoints and devices. Without it and without a generator: deterministic
            expected values. Not both.
        contacts: ``M``, synapses (contacts) per connection ``ij``, each with its own binary
            early state and late state, induced alike; the connection's weight is the mean
            of its contacts', ``w_ij - w_0 = (1/M) sum_m (g_H h - g_L l + g_z z)_ijm``, and
            the trigger counts tagged contacts (:func:`tag_fraction` over all ``n_pre M``).
            A rate unit stands for a population of afferents, so a connection stands for
            many synapses; with ``M`` contacts the sampled tag count of a neuron has the
            relative spread of ``M`` times more synapses. Only with sampled tags (expected
            values are the same for every contact, so ``M`` would change nothing); int >= 1.
        trigger_event: the name of a task event (bool ``[B]`` in ``signals.events``) that
            also triggers protein synthesis while it is on (:func:`protein_trigger`, e.g.
            ``"novelty"``); None: none.
    """
    if sampled and generator is not None:
        raise ValueError(
            "tag_and_capture: give sampled=True (the state's random stream) or a generator, "
            "not both"
        )
    if isinstance(contacts, bool) or not isinstance(contacts, int) or contacts < 1:
        raise ValueError(f"tag_and_capture: contacts={contacts!r} is invalid: must be an int >= 1")
    if contacts > 1 and not sampled and generator is None:
        raise ValueError(
            f"tag_and_capture: contacts={contacts} needs sampled tags (sampled=True or a "
            "generator): with expected values every contact is the same"
        )
    if trigger_event is not None and (not isinstance(trigger_event, str) or not trigger_event):
        raise ValueError(
            f"tag_and_capture: trigger_event={trigger_event!r} is invalid: must be an event "
            "name (a non-empty str) or None"
        )
    constants = _TagCaptureConstants(dt, tau_h, tau_l, tau_p_rise, tau_p_decay, tau_z,
                                     tag_threshold, dopamine_threshold, gamma, kappa,
                                     early_gain, depressed_gain, late_gain, contacts,
                                     trigger_event)  # fmt: skip
    _check_tag_capture(constants)
    init = partial(_tag_capture_init, blocked=protein_synthesis_blocked, generator=generator,
                   contacts=contacts)  # fmt: skip

    def update(
        dw: Tensor, state: TagCaptureState, weights: Tensor, signals: PlasticitySignals
    ) -> tuple[Tensor, TagCaptureState]:
        del weights
        uniform = _uniform(state, generator, sampled)
        return _tag_capture_step(dw, state, signals, constants, uniform)

    return PlasticityTransform(init, update)


# --------------------------------------------------------------------------------------------
# Benna & Fusi 2016 cascade
# --------------------------------------------------------------------------------------------


class CascadeState(NamedTuple):
    """State of :func:`cascade`: the chain's variables ``u [B, n_post, n_pre, m]``; the
    weight's share is ``u[..., 0]``."""

    u: Tensor


def cascade_constants(
    n_variables: int, tau_1: float, ratio: float = 2.0, terminal_leak: bool = True
) -> tuple[Tensor, Tensor]:
    """Capacities ``C_k`` and couplings ``g_{k,k+1}`` of a geometric chain.

    ``C_k = ratio^(k-1)`` and ``g_{k,k+1} = ratio^-(k-1) / tau_1`` for ``k = 1 .. m``, so that
    the time scale ``C_k / g_{k,k+1} = ratio^(2(k-1)) tau_1`` grows geometrically (4-fold per
    variable for the default ratio 2). Benna & Fusi 2016 build their chains from geometric
    sequences of capacities and couplings of this kind; the exact ratio is a parameter here.
    ``g_{m,m+1}`` is the last variable's leak to 0 (0 without ``terminal_leak``).

    Returns two float64 tensors ``[m]``: capacities, couplings (``couplings[k-1]`` links
    ``u_k`` and ``u_{k+1}``).
    """
    if isinstance(n_variables, bool) or not isinstance(n_variables, int) or n_variables < 1:
        raise ValueError(f"n_variables={n_variables!r} is invalid: must be an integer >= 1")
    _check_positive("tau_1", tau_1)
    _check_positive("ratio", ratio)
    k = torch.arange(n_variables, dtype=torch.float64)
    capacities = ratio**k
    couplings = ratio ** (-k) / tau_1
    if not terminal_leak:
        couplings[-1] = 0.0
    return capacities, couplings


def cascade_update(
    u: Tensor, dw: Tensor, dt: float, capacities: Tensor, couplings: Tensor
) -> Tensor:
    """One step of the Benna & Fusi 2016 chain: the change ``dw`` is written into ``u_1``,
    then the chain flows for ``dt`` (explicit Euler)::

        C_k du_k/dt = g_{k-1,k} (u_{k-1} - u_k) + g_{k,k+1} (u_{k+1} - u_k),   u_{m+1} = 0

    Shapes: ``u [B, n_post, n_pre, m]``, ``dw [B, n_post, n_pre]``; ``capacities``,
    ``couplings`` ``[m]`` (see :func:`cascade_constants`). Returns ``[B, n_post, n_pre, m]``.
    """
    capacities = capacities.to(u)
    couplings = couplings.to(u)
    u = torch.cat([u[..., :1] + dw.unsqueeze(-1), u[..., 1:]], dim=-1)
    below = torch.cat([u[..., 1:], torch.zeros_like(u[..., :1])], dim=-1)
    flow_down = couplings * (u - below)  # from u_k to u_{k+1} (the last: the leak)
    flow_in = torch.cat([torch.zeros_like(flow_down[..., :1]), flow_down[..., :-1]], dim=-1)
    return u + dt * (flow_in - flow_down) / capacities


def cascade(
    dt: float,
    *,
    n_variables: int = 8,
    tau_1: float = 60.0,
    ratio: float = 2.0,
    terminal_leak: bool = True,
) -> PlasticityTransform:
    """Multi-timescale consolidation of Benna & Fusi 2016 as a plasticity transform.

    Each synapse carries a chain ``u_1 .. u_m`` (:func:`cascade_constants`,
    :func:`cascade_update`); the proposed ``dw`` of the transforms before it is written into
    ``u_1``, which is the synapse's share of the weight, and the transform returns the change
    of ``u_1`` over the step (``dw`` plus the flow). A change then decays roughly as a power
    law, ``~ t^(-1/2)`` between ``tau_1`` and the slowest time scale, instead of
    exponentially. Inactive agents keep their state and get ``dw = 0``.

    Args:
        dt: step duration in seconds; must satisfy ``dt * max_k (g_{k-1,k} + g_{k,k+1}) / C_k
            <= 1`` (Euler stability), i.e. about ``dt <= tau_1``.
        n_variables: ``m``, the number of variables in the chain.
        tau_1: time scale of the first link ``C_1 / g_{12}``, seconds.
        ratio: geometric ratio of the capacities (and inverse of the couplings').
        terminal_leak: whether the last variable leaks to 0.
    """
    _check_positive("dt", dt)
    capacities, couplings = cascade_constants(n_variables, tau_1, ratio, terminal_leak)
    inflow = torch.cat([torch.zeros(1, dtype=couplings.dtype), couplings[:-1]])
    fastest = float(((inflow + couplings) / capacities).max())
    if dt * fastest > 1.0:
        raise ValueError(
            f"dt={dt!r} is invalid: the chain's Euler step needs dt <= {1.0 / fastest:g} s"
        )

    def init(weights: Tensor) -> CascadeState:
        shape = (*weights.shape, n_variables)
        return CascadeState(torch.zeros(shape, dtype=weights.dtype, device=weights.device))

    def update(
        dw: Tensor, state: CascadeState, weights: Tensor, signals: PlasticitySignals
    ) -> tuple[Tensor, CascadeState]:
        del weights
        u = cascade_update(state.u, dw, dt, capacities, couplings)
        u = _select(signals.active, u, state.u)
        return u[..., 0] - state.u[..., 0], CascadeState(u)

    return PlasticityTransform(init, update)


__all__ = [
    "CascadeState",
    "TagCaptureState",
    "block_protein_synthesis",
    "cascade",
    "cascade_constants",
    "cascade_update",
    "counter_uniform",
    "decay_probability",
    "early_phase_expected",
    "early_phase_sample",
    "induction_probabilities",
    "late_phase_update",
    "pcg_hash",
    "protein_trigger",
    "protein_update",
    "seed_tag_sampling",
    "tag_and_capture",
    "tag_fraction",
    "tagged_weight",
]
