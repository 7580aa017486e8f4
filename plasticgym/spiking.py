"""Spiking neurons and reward-modulated spike-timing-dependent plasticity, batched.

Pure functions of tensors with a leading population axis ``B`` (independent networks: seeds or
parameter variants), in milliseconds and millivolts. Every function takes its device and dtype
from its inputs, so the same code runs on CPU and CUDA; the only randomness is an explicit
``torch.Generator`` argument.

**Neurons.**

- Izhikevich (2003) model: ``dv/dt = 0.04 v^2 + 5 v + 140 - u + I``, ``du/dt = a (b v - u)``;
  when ``v >= 30 mV``: ``v <- c``, ``u <- u + d`` (:func:`izhikevich_step`). Regular spiking
  excitatory cells ``(a, b, c, d) = (0.02, 0.2, -65, 8)``, fast spiking inhibitory cells
  ``(0.1, 0.2, -65, 2)`` (:data:`REGULAR_SPIKING`, :data:`FAST_SPIKING`; Izhikevich 2003,
  Fig. 2).
- Leaky integrate-and-fire: ``tau_m dv/dt = -(v - v_rest) + R I``, a spike and reset to
  ``v_reset`` when ``v >= v_threshold``, then a refractory period (:func:`lif_step`; Gerstner
  et al. 2014, ch. 1.3), integrated exactly for a current constant over the step.

**Spike traces and STDP.** A trace jumps at each spike and decays with ``tau``
(:func:`trace_step`); the pair-based STDP increment of synapse ``pre -> post`` is
``A+ x_pre`` at each postsynaptic spike and ``-A- x_post`` at each presynaptic spike, the
traces read before the step's own spikes are added, which gives the window
``STDP(dt) = A+ exp(-dt / tau+)`` for ``dt = t_post - t_pre > 0`` and
``-A- exp(dt / tau-)`` for ``dt < 0`` (:func:`stdp_increment`; Song, Miller & Abbott 2000;
Morrison, Diesmann & Gerstner 2008).

**Reward-modulated rules.**

- Izhikevich (2007): an eligibility trace ``c`` per synapse, ``dc/dt = -c / tau_c + STDP``,
  ``tau_c = 1 s``; dopamine ``dd/dt = -d / tau_d + 0.5 sum_k delta(t - t_reward_k)``,
  ``tau_d = 0.2 s``; the weight ``ds/dt = (d_tonic + d) c`` with ``d_tonic = 0.002``, applied
  every 10 ms and clipped to ``[0, 4]`` mV (:func:`izhikevich_eligibility_step`,
  :func:`dopamine_step`, :func:`izhikevich_weight_update`).
- Florian (2007): MSTDP, ``w <- w + gamma r zeta`` with the STDP term ``zeta``; MSTDPET, the
  same through an eligibility trace ``z`` with time constant ``tau_z``
  (:func:`florian_traces_step`, :func:`florian_zeta`, :func:`mstdp_update`,
  :func:`mstdpet_step`).

- Graupner & Brunel (2012) calcium from spikes: every synapse's calcium is the sum of a
  presynaptic and a postsynaptic transient, ``c_ij = C_pre x_j + C_post y_i`` with traces that
  jump by 1 at a spike and decay with ``tau_Ca`` (:func:`spike_calcium`); calcium above
  ``theta_d`` depresses, above ``theta_p`` potentiates, ``dt (gamma_p H(c - theta_p) -
  gamma_d H(c - theta_d))`` (:func:`calcium_eligibility_increment`), accumulated into an
  eligibility that dopamine converts (``plasticgym.agents.SpikingAgent``, ``rule="calcium"``).

**Encoders.** Rates to Poisson spike trains (:func:`poisson_spikes`).

**Sparse connectivity.** Random synapses stored as index tensors (:func:`random_synapses`),
synaptic input by a scatter-add (:func:`synaptic_input`), the STDP increment per synapse by
gathers (:func:`stdp_increment_sparse`).

References: Izhikevich EM (2003) Simple model of spiking neurons. IEEE Trans Neural Netw 14:
1569-1572. Izhikevich EM (2007) Solving the distal reward problem through linkage of STDP and
dopamine signaling. Cereb Cortex 17: 2443-2452. Florian RV (2007) Reinforcement learning
through modulation of spike-timing-dependent synaptic plasticity. Neural Comput 19: 1468-1502.
Graupner M, Brunel N (2012) Calcium-based plasticity model explains sensitivity of
synaptic changes to spike pattern, rate, and dendritic location. PNAS 109: 3991-3996.
Song S, Miller KD, Abbott LF (2000) Competitive Hebbian learning through spike-timing-dependent
synaptic plasticity. Nat Neurosci 3: 919-926. Fremaux N, Sprekeler H, Gerstner W (2010)
Functional requirements for reward-modulated spike-timing-dependent plasticity. J Neurosci 30:
13326-13337.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

Scalar = float | Tensor

SPIKE_PEAK_MV = 30.0
"""Izhikevich's spike cut-off: ``v >= 30 mV`` is a spike (Izhikevich 2003)."""


class IzhikevichParams(NamedTuple):
    """The four parameters of the Izhikevich (2003) neuron: recovery rate ``a`` (1/ms),
    sensitivity ``b`` of ``u`` to ``v``, reset potential ``c`` (mV), reset jump ``d`` of ``u``."""

    a: float
    b: float
    c: float
    d: float


REGULAR_SPIKING = IzhikevichParams(a=0.02, b=0.2, c=-65.0, d=8.0)
"""Regular spiking excitatory cortical cell (Izhikevich 2003, Fig. 2; Izhikevich 2007)."""
FAST_SPIKING = IzhikevichParams(a=0.1, b=0.2, c=-65.0, d=2.0)
"""Fast spiking inhibitory interneuron (Izhikevich 2003, Fig. 2; Izhikevich 2007)."""


def izhikevich_step(
    v: Tensor,
    u: Tensor,
    current: Tensor,
    a: Scalar,
    b: Scalar,
    c: Scalar,
    d: Scalar,
    dt: float = 1.0,
    v_substeps: int = 2,
) -> tuple[Tensor, Tensor, Tensor]:
    """One step of the Izhikevich (2003) neuron; returns ``(v, u, spiked)``.

    ``v <- v + (dt / k) (0.04 v^2 + 5 v + 140 - u + I)`` repeated ``k = v_substeps`` times
    (Izhikevich's two 0.5 ms steps "for numerical stability"), then
    ``u <- u + dt a (b v - u)``; a neuron with ``v >= 30`` mV spikes: ``v <- c``,
    ``u <- u + d``. ``dt`` in ms, ``I`` in the model's units (mV/ms).

    Shapes: ``v``, ``u``, ``current`` ``[B, N]``; ``a, b, c, d`` floats or broadcastable to
    ``[B, N]`` (e.g. ``[N]`` for excitatory and inhibitory cells). ``spiked`` is boolean.
    """
    h = dt / v_substeps
    if (
        v.shape == u.shape == current.shape
        and v.dtype == u.dtype == current.dtype
        and _fits_in_place(v, a, b)
    ):
        # The same arithmetic, operation by operation (bit-identical), on two temporaries
        # updated in place: at B x N = 64 x 1000 each fresh tensor is a costly allocation.
        for k in range(v_substeps):
            dv = v * 0.04
            dv.add_(5.0).mul_(v).add_(140.0).sub_(u).add_(current).mul_(h)
            v = v + dv if k == 0 else v.add_(dv)
        du = v * b
        du.sub_(u).mul_(a if dt == 1.0 else dt * a)  # 1.0 * a is a, bit for bit
        u = u + du
    else:
        for _ in range(v_substeps):
            v = v + h * ((0.04 * v + 5.0) * v + 140.0 - u + current)
        u = u + dt * a * (b * v - u)
    spiked = v >= SPIKE_PEAK_MV
    v = torch.where(spiked, torch.as_tensor(c, dtype=v.dtype, device=v.device), v)
    u = torch.where(spiked, u + d, u)
    return v, u, spiked


def _fits_in_place(like: Tensor, *values: Scalar) -> bool:
    """Whether every tensor among ``values`` has the dtype of ``like`` and broadcasts to its
    shape without enlarging it (so an in-place op with it equals the out-of-place one)."""
    for x in values:
        if not isinstance(x, Tensor):
            continue
        if x.dtype != like.dtype or x.dim() > like.dim():
            return False
        trailing = like.shape[like.dim() - x.dim() :]
        if any(s not in (t, 1) for s, t in zip(x.shape, trailing, strict=True)):
            return False
    return True


def lif_step(
    v: Tensor,
    current: Tensor,
    refractory_left: Tensor,
    *,
    tau_m: Scalar = 20.0,
    v_rest: Scalar = -65.0,
    v_reset: Scalar = -65.0,
    v_threshold: Scalar = -50.0,
    resistance: Scalar = 1.0,
    refractory: float = 2.0,
    dt: float = 1.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """One step of the leaky integrate-and-fire neuron; returns ``(v, refractory_left, spiked)``.

    ``tau_m dv/dt = -(v - v_rest) + R I`` integrated exactly for ``I`` constant over the step:
    ``v <- v_inf + (v - v_inf) exp(-dt / tau_m)``, ``v_inf = v_rest + R I``; ``v >= v_threshold``
    is a spike, ``v <- v_reset``, and ``v`` is held at ``v_reset`` for ``refractory`` ms
    (Gerstner, Kistler, Naud & Paninski 2014, ch. 1.3). Times in ms, potentials in mV.

    Shapes: ``v``, ``current``, ``refractory_left`` (ms still refractory) ``[B, N]``;
    parameters floats or broadcastable to ``[B, N]``.
    """
    decay = torch.exp(-dt / torch.as_tensor(tau_m, dtype=v.dtype, device=v.device))
    v_inf = v_rest + resistance * current
    integrated = v_inf + (v - v_inf) * decay
    resting = refractory_left > 0
    v = torch.where(resting, torch.as_tensor(v_reset, dtype=v.dtype, device=v.device), integrated)
    spiked = (v >= v_threshold) & ~resting
    v = torch.where(spiked, torch.as_tensor(v_reset, dtype=v.dtype, device=v.device), v)
    refractory_left = torch.where(
        spiked,
        torch.full_like(refractory_left, refractory),
        (refractory_left - dt).clamp(min=0.0),
    )
    return v, refractory_left, spiked


def decay_factor(tau: Scalar, dt: float = 1.0) -> Scalar:
    """``exp(-dt / tau)``: the factor by which an exponential trace decays in one step."""
    if isinstance(tau, Tensor):
        return torch.exp(-dt / tau)
    return math.exp(-dt / tau)


def trace_step(trace: Tensor, spikes: Tensor, decay: Scalar, amplitude: Scalar = 1.0) -> Tensor:
    """A spike trace: ``x <- decay x + A s`` (all-to-all pairing; Morrison et al. 2008).

    Shapes: ``trace [B, N]``, ``spikes [B, N]`` (boolean or 0/1); ``decay``
    (``exp(-dt / tau)``) and ``A`` floats or broadcastable.
    """
    return decay * trace + amplitude * spikes.to(trace.dtype)


def stdp_increment(
    pre_trace: Tensor,
    post_trace: Tensor,
    pre_spikes: Tensor,
    post_spikes: Tensor,
    a_plus: Scalar,
    a_minus: Scalar,
) -> Tensor:
    """Pair-based STDP increment of every synapse ``pre -> post`` in one step (dense).

    ``STDP_ij = A+ s_post_i x_pre_j - A- x_post_i s_pre_j`` with the traces read *before* this
    step's spikes are added (decayed to this step), so a pair with ``dt = t_post - t_pre > 0``
    gives ``A+ exp(-dt / tau+)``, one with ``dt < 0`` gives ``-A- exp(dt / tau-)`` and
    coincident spikes give nothing (Song, Miller & Abbott 2000; Izhikevich 2007, Fig. 1a).

    Shapes: traces and spikes ``[B, n_pre]`` / ``[B, n_post]``; returns ``[B, n_post, n_pre]``.
    """
    s_post = post_spikes.to(pre_trace.dtype).unsqueeze(-1)
    s_pre = pre_spikes.to(pre_trace.dtype).unsqueeze(-2)
    return a_plus * s_post * pre_trace.unsqueeze(-2) - a_minus * post_trace.unsqueeze(-1) * s_pre


def random_synapses(
    n_networks: int,
    n_exc: int,
    n_inh: int,
    n_per_neuron: int,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor]:
    """Sparse random connectivity of Izhikevich (2007): each of the ``n_exc`` excitatory
    neurons makes ``n_per_neuron`` synapses onto random neurons (any), each inhibitory neuron
    onto random excitatory neurons; targets drawn with replacement, self-connections allowed
    (as in the paper's code). Neurons ``0 .. n_exc - 1`` are excitatory.

    Returns ``(pre_index [S], post_index [B, S])`` with ``S = (n_exc + n_inh) n_per_neuron``,
    synapses ordered by presynaptic neuron (``n_per_neuron`` consecutive synapses each); the
    presynaptic index is shared by the networks, the targets are each network's own.
    """
    n = n_exc + n_inh
    for name, value in (("n_networks", n_networks), ("n_exc", n_exc),
                        ("n_per_neuron", n_per_neuron)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} is invalid: an integer >= 1")
    if isinstance(n_inh, bool) or not isinstance(n_inh, int) or n_inh < 0:
        raise ValueError(f"n_inh={n_inh!r} is invalid: an integer >= 0")
    exc = torch.randint(0, n, (n_networks, n_exc, n_per_neuron), generator=generator,
                        device=generator.device)  # fmt: skip
    inh = torch.randint(0, n_exc, (n_networks, n_inh, n_per_neuron), generator=generator,
                        device=generator.device)  # fmt: skip
    post = torch.cat([exc, inh], dim=1).reshape(n_networks, -1).to(device)
    pre = torch.arange(n, device=device).repeat_interleave(n_per_neuron)
    return pre, post


def synaptic_input(
    spikes: Tensor, weights: Tensor, pre_index: Tensor, post_index: Tensor
) -> Tensor:
    """The current each neuron receives from this step's presynaptic spikes:
    ``I_i = sum_{k: post_k = i} w_k s_{pre_k}`` (a scatter-add over the synapses).

    Shapes: ``spikes [B, N]``, ``weights [B, S]``, ``pre_index [S]``, ``post_index [B, S]``;
    returns ``[B, N]``.
    """
    contribution = weights * spikes.to(weights.dtype)[:, pre_index]
    return torch.zeros_like(spikes, dtype=weights.dtype).scatter_add_(1, post_index, contribution)


def stdp_increment_sparse(
    pre_trace: Tensor,
    post_trace: Tensor,
    spikes: Tensor,
    pre_index: Tensor,
    post_index: Tensor,
    a_plus: Scalar,
    a_minus: Scalar,
) -> Tensor:
    """:func:`stdp_increment` for synapses stored as index tensors, within one population:
    ``STDP_k = A+ s_{post_k} x_pre_{pre_k} - A- x_post_{post_k} s_{pre_k}``.

    Shapes: ``pre_trace``, ``post_trace``, ``spikes`` ``[B, N]``; ``pre_index [S]``,
    ``post_index [B, S]``; returns ``[B, S]``.
    """
    s = spikes.to(pre_trace.dtype)
    ltp = s.gather(1, post_index) * pre_trace[:, pre_index]
    ltd = post_trace.gather(1, post_index) * s[:, pre_index]
    return a_plus * ltp - a_minus * ltd


def izhikevich_eligibility_step(c: Tensor, stdp: Tensor, decay_c: Scalar) -> Tensor:
    """The synaptic tag of Izhikevich (2007): ``dc/dt = -c / tau_c + STDP(tau) delta(t -
    t_pre/post)``, one step ``c <- exp(-dt / tau_c) c + STDP`` (``decay_c``; ``tau_c`` = 1 s
    in the paper). Shapes: ``c``, ``stdp`` ``[B, S]``; ``decay_c`` float or ``[B, 1]``."""
    return decay_c * c + stdp


def dopamine_step(
    dopamine: Tensor, reward: Tensor, decay_d: Scalar, per_reward: Scalar = 0.5
) -> Tensor:
    """Extracellular dopamine above its tonic level (Izhikevich 2007): ``dd/dt = -d / tau_d +
    DA(t)``, each reward adding ``0.5`` (``tau_d`` = 0.2 s): ``d <- exp(-dt / tau_d) d + 0.5 r``.
    Shapes: ``dopamine``, ``reward`` ``[B]`` (or broadcastable to the synapses)."""
    return decay_d * dopamine + per_reward * reward.to(dopamine.dtype)


def izhikevich_weight_update(
    weights: Tensor,
    c: Tensor,
    dopamine: Tensor,
    tonic: float = 0.002,
    w_min: float = 0.0,
    w_max: float = 4.0,
    plastic: Tensor | None = None,
) -> Tensor:
    """The weight change of Izhikevich (2007): ``ds/dt = (d_tonic + d) c``, applied every
    ``interval`` ms as ``s <- clip(s + (d_tonic + d) c, w_min, w_max)`` (the paper's code adds
    the per-ms rate once per 10 ms with ``d_tonic`` = 0.002 and caps at 4 mV). ``interval`` is
    not a factor: the paper's constants already are per update. Without dopamine and tonic
    dopamine the weights do not move.

    Shapes: ``weights``, ``c`` ``[B, S]``; ``dopamine [B]``; ``plastic`` an optional boolean
    ``[S]`` (or ``[B, S]``) mask of the synapses that learn (the excitatory ones).
    """
    updated = (weights + (tonic + dopamine.unsqueeze(-1)) * c).clamp(w_min, w_max)
    if plastic is None:
        return updated
    return torch.where(plastic, updated, weights)


class FlorianTraces(NamedTuple):
    """Florian's (2007) synapse traces, ``[B, n_post, n_pre]`` each: ``p_plus`` (from
    presynaptic spikes) and ``p_minus`` (from postsynaptic spikes)."""

    p_plus: Tensor
    p_minus: Tensor


def florian_traces_step(
    traces: FlorianTraces,
    pre_spikes: Tensor,
    post_spikes: Tensor,
    decay_plus: Scalar,
    decay_minus: Scalar,
    a_plus: Scalar = 1.0,
    a_minus: Scalar = -1.0,
) -> FlorianTraces:
    """Florian (2007), eqs. 4.4-4.5 (discrete time):
    ``P+_ij(t) = P+_ij(t - dt) exp(-dt / tau+) + A+ f_j(t)``,
    ``P-_ij(t) = P-_ij(t - dt) exp(-dt / tau-) + A- f_i(t)``, with ``f_j`` the presynaptic and
    ``f_i`` the postsynaptic spike indicator (``A- < 0``; the paper's ``A+ = 1``,
    ``A- = -1``, ``tau+ = tau- = 20 ms``).

    Shapes: ``pre_spikes [B, n_pre]``, ``post_spikes [B, n_post]``.
    """
    dtype = traces.p_plus.dtype
    pre = pre_spikes.to(dtype).unsqueeze(-2)
    post = post_spikes.to(dtype).unsqueeze(-1)
    return FlorianTraces(
        decay_plus * traces.p_plus + a_plus * pre,
        decay_minus * traces.p_minus + a_minus * post,
    )


def florian_zeta(traces: FlorianTraces, pre_spikes: Tensor, post_spikes: Tensor) -> Tensor:
    """Florian (2007), eq. 4.6: ``zeta_ij(t) = P+_ij(t) f_i(t) + P-_ij(t) f_j(t)`` (the traces
    already include this step's spikes, so a coincident pair gives ``A+ + A-``). Returns
    ``[B, n_post, n_pre]``."""
    dtype = traces.p_plus.dtype
    pre = pre_spikes.to(dtype).unsqueeze(-2)
    post = post_spikes.to(dtype).unsqueeze(-1)
    return traces.p_plus * post + traces.p_minus * pre


def _per_network(value: Scalar, like: Tensor) -> Scalar:
    """A float, or a ``[B]`` tensor reshaped to broadcast against ``like [B, ...]``."""
    if isinstance(value, Tensor) and value.ndim == 1:
        return value.reshape(-1, *([1] * (like.ndim - 1)))
    return value


def mstdp_update(weights: Tensor, zeta: Tensor, reward: Tensor, gamma: Scalar) -> Tensor:
    """MSTDP (Florian 2007, eq. 4.7): ``w_ij(t + dt) = w_ij(t) + gamma r(t + dt) zeta_ij(t)``.

    Shapes: ``weights``, ``zeta`` ``[B, n_post, n_pre]``; ``reward [B]``; ``gamma`` float or
    ``[B]``."""
    return weights + _per_network(gamma, weights) * _per_network(reward, weights) * zeta


def mstdpet_step(
    weights: Tensor,
    z: Tensor,
    zeta: Tensor,
    reward: Tensor,
    gamma: Scalar,
    decay_z: Scalar,
    tau_z: float,
    dt: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """MSTDPET (Florian 2007, eqs. 4.9-4.10): ``z_ij(t + dt) = z_ij(t) exp(-dt / tau_z) +
    zeta_ij(t) / tau_z`` and ``w_ij(t + dt) = w_ij(t) + gamma dt r(t + dt) z_ij(t + dt)``;
    returns ``(weights, z)``. The paper's ``tau_z`` = 25 ms.

    Shapes: ``weights``, ``z``, ``zeta`` ``[B, n_post, n_pre]``; ``reward [B]``."""
    z = decay_z * z + zeta / tau_z
    weights = weights + _per_network(gamma, weights) * dt * _per_network(reward, weights) * z
    return weights, z


def spike_calcium(pre_trace: Tensor, post_trace: Tensor, c_pre: Scalar, c_post: Scalar) -> Tensor:
    """Calcium at every synapse ``pre -> post`` from spikes (Graupner & Brunel 2012):
    ``c_ij(t) = C_pre x_j(t) + C_post y_i(t)``, the linear sum of the transients of the
    presynaptic (``x_j``) and postsynaptic (``y_i``) spikes; each trace jumps by 1 at a spike
    and decays with ``tau_Ca`` (:func:`trace_step` with ``decay = exp(-dt / tau_Ca)``, the
    step's spikes included). GB2012's "DP" set: ``tau_Ca`` = 20 ms, ``C_pre`` = 1,
    ``C_post`` = 2 (its presynaptic delay ``D`` is not modelled here).

    Shapes: ``pre_trace [B, n_pre]``, ``post_trace [B, n_post]``; returns
    ``[B, n_post, n_pre]``.
    """
    return c_pre * pre_trace.unsqueeze(-2) + c_post * post_trace.unsqueeze(-1)


def calcium_eligibility_increment(
    calcium: Tensor,
    theta_d: float,
    theta_p: float,
    gamma_d: float,
    gamma_p: float,
    dt: float = 1.0,
) -> Tensor:
    """Sign and size of plasticity set by calcium in one step of ``dt`` ms (Graupner & Brunel
    2012): ``dt / 1000 (gamma_p H(c - theta_p) - gamma_d H(c - theta_d))``, ``H`` the step
    function. Depression acts while ``c > theta_d``, potentiation while ``c > theta_p``, both
    above ``theta_p`` (GB2012's drift of the efficacy without its bistable term, noise and soft
    bounds, which here are the agent's weight bounds). DP set: ``theta_d`` = 1, ``theta_p`` =
    1.3, ``gamma_d`` = 200, ``gamma_p`` = 321.808. In GB2012 the ``gamma`` are dimensionless and
    the drift is ``dt / tau`` times this with ``tau`` = 150 s (:mod:`plasticgym.calcium`); here
    the increment is taken per second of calcium above threshold and the ``1 / tau`` scale is
    left to the learning rate that converts the eligibility.

    Shapes: ``calcium`` any; returns its shape.

    Raises:
        ValueError: ``theta_d >= theta_p`` or a negative rate.
    """
    if not theta_d < theta_p:
        raise ValueError(
            f"theta_d={theta_d!r}, theta_p={theta_p!r} are invalid: the depression threshold "
            "theta_d must be below the potentiation threshold theta_p"
        )
    if gamma_d < 0 or gamma_p < 0:
        raise ValueError(f"gamma_d={gamma_d!r}, gamma_p={gamma_p!r} are invalid: rates >= 0")
    on_p = (calcium > theta_p).to(calcium.dtype)
    on_d = (calcium > theta_d).to(calcium.dtype)
    return (dt / 1000.0) * (gamma_p * on_p - gamma_d * on_d)


def poisson_spikes(rates_hz: Tensor, generator: torch.Generator, dt: float = 1.0) -> Tensor:
    """Rate -> spike encoder: independent Poisson spike trains sampled per step of ``dt`` ms,
    ``P(spike in the step) = 1 - exp(-rate dt)`` (the probability of at least one event of a
    Poisson process of that rate; ``~ rate dt`` for small rates; Dayan & Abbott 2001, ch. 1.4).

    ``rates_hz`` any shape, >= 0 (Hz); the generator must live on the rates' device. Returns a
    boolean tensor of the rates' shape.

    Raises:
        ValueError: a rate is negative or not finite.
    """
    if not bool(torch.isfinite(rates_hz).all()) or bool((rates_hz < 0).any()):
        raise ValueError("poisson_spikes: rates_hz must be finite and >= 0 (Hz)")
    p = -torch.expm1(-rates_hz * (dt / 1000.0))
    dtype = rates_hz.dtype if rates_hz.is_floating_point() else torch.float32
    draws = torch.rand(rates_hz.shape, generator=generator, device=rates_hz.device, dtype=dtype)
    return draws < p


__all__ = [
    "FAST_SPIKING",
    "REGULAR_SPIKING",
    "FlorianTraces",
    "IzhikevichParams",
    "calcium_eligibility_increment",
    "decay_factor",
    "dopamine_step",
    "florian_traces_step",
    "florian_zeta",
    "izhikevich_eligibility_step",
    "izhikevich_step",
    "izhikevich_weight_update",
    "lif_step",
    "mstdp_update",
    "mstdpet_step",
    "poisson_spikes",
    "random_synapses",
    "spike_calcium",
    "stdp_increment",
    "stdp_increment_sparse",
    "synaptic_input",
    "trace_step",
]
