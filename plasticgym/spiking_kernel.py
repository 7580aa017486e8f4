"""An opt-in compiled backend (numba) for the Izhikevich (2007) network of
:mod:`plasticgym.spiking_network`: the same model, step for step, in one loop over networks x
neurons instead of ~65 small torch operations per step.

Two entry points, both for CPU tensors from :func:`plasticgym.spiking_network.build_network`:

- :func:`network_step_numba`: a drop-in for :func:`plasticgym.spiking_network.network_step`
  (same arguments, same :class:`~plasticgym.spiking_network.NetworkState`; ``weights`` and
  ``eligibility`` updated in place, new tensors for the rest);
- :func:`network_run_numba`: ``T`` steps in one call with the rewards given in advance
  (``rewards [T, B]``), each network simulated for a block of steps before the next one so that
  its synapses stay in cache; spike counts per neuron are accumulated on request.

**Same arithmetic.** Every float32 operation of ``network_step`` is done in the same order
with the same float32 constants (the noise ``(x - 0.5) 13``; the synaptic input summed over
the fired neurons in ascending order and their synapses in order; two 0.5 ms Euler steps of
``v`` then ``u``; the trace decay; LTD of all fired neurons' outgoing synapses, then LTP of
their incoming ones; the dopamine; every 10 ms ``w <- clip(w + (0.002 + d) c, 0, 4)`` and
``c <- lambda c``), nothing reassociated (no fast-math), so the results are bit-identical to
``network_step`` (``tests/test_spiking_kernel.py``: every state tensor at every one of 600
steps of three paper-size networks). Two details make that so:

- torch's ``addcmul_`` (the weight update) rounds ``w + g c`` once on AVX2 / AVX-512 CPUs (a
  fused multiply-add) and twice with its default kernel; :func:`_addcmul_fuses` probes which,
  and the loop does the same (``llvm.fma`` or a multiply and an add);
- the uniform noise is torch's own stream: :func:`draw_uniform` re-implements its CPU
  generator (MT19937, Matsumoto & Nishimura 1998, and the 24-bit float draws) from
  ``generator.get_state()`` and writes the advanced state back, so it gives ``torch.rand``'s
  numbers and leaves the generator where ``torch.rand`` would (drawing ``[T, B, N]`` at once
  gives the same numbers as ``T`` draws of ``[B, N]``), about 2.7x faster; a probe at first
  use checks it against ``torch.rand`` and falls back to ``torch.rand`` if this torch's state
  layout differs.

numba is an optional extra (``pip install "plasticgym[fast]"``); without it the functions
raise an ``ImportError`` that names it, and nothing else in plasticgym needs it.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

from plasticgym.spiking import SPIKE_PEAK_MV, decay_factor
from plasticgym.spiking_network import Network, NetworkParams, NetworkState

try:  # an optional extra: plasticgym[fast]
    import numba
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None

NUMBA_MISSING = (
    "the numba backend of the Izhikevich network needs the package 'numba', which is not "
    "installed: pip install 'plasticgym[fast]' (or 'numba>=0.60'); the default torch backend "
    "(plasticgym.spiking_network.network_step) needs nothing more"
)

MAX_BLOCK_VALUES = 1 << 24
"""The most noise values (float32, a 64 MiB buffer) :func:`network_run_numba` draws at once:
the number of steps each network is simulated before the next (262 for 64 paper-size
networks; measured 145 -> 170-177 network-s per CPU s against 1 << 22's 65 steps)."""


def numba_available() -> bool:
    """Whether the numba backend can run here."""
    return numba is not None


def require_numba() -> None:
    """Raise an ``ImportError`` naming the missing package and the extra if numba is absent."""
    if numba is None:
        raise ImportError(NUMBA_MISSING)


if numba is not None:
    from numba.extending import intrinsic

    @intrinsic
    def _fused_multiply_add(typingctx, x, y, z):
        """``x y + z`` rounded once (LLVM's ``llvm.fma``: one instruction where the CPU has
        FMA), as torch's vectorised ``addcmul_`` computes it on AVX2 / AVX-512 CPUs."""
        if not (x == y == z and isinstance(x, numba.types.Float)):
            return None

        def codegen(context, builder, signature, args):
            return builder.fma(*args)

        return x(x, y, z), codegen
else:  # pragma: no cover

    def _fused_multiply_add(x, y, z):
        return x * y + z


def _jit(function, parallel: bool = False):
    """``numba.njit`` (no fast-math: IEEE float32 operations in source order) where numba is
    installed; the plain function otherwise (never called then: :func:`require_numba`)."""
    if numba is None:
        return function
    options = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}
    return numba.njit(parallel=parallel, **options)(function)


_prange = range if numba is None else numba.prange


# --------------------------------------------------------------------------------------------
# The noise: torch's CPU generator (MT19937), reproduced
# --------------------------------------------------------------------------------------------

MT_N, MT_M = 624, 397
"""The Mersenne Twister's state size and shift (Matsumoto & Nishimura 1998)."""

# torch's CPUGeneratorImpl state (get_state): int64 seed, int32 left, int32 seeded,
# uint64 next, uint64 state[624], then the cached normal samples (left untouched here).
_STATE_BYTES = 5056
_LEFT_AT, _NEXT_AT, _MT_AT = 8, 16, 24


@_jit
def _mt19937_twist(mt):
    """The Mersenne Twister's state transition, in place (Matsumoto & Nishimura 1998; the
    reference code's three loops, without modulo so that they vectorise)."""
    upper, lower, matrix = np.uint32(0x80000000), np.uint32(0x7FFFFFFF), np.uint32(0x9908B0DF)
    one, zero = np.uint32(1), np.uint32(0)
    for i in range(MT_N - MT_M):
        y = (mt[i] & upper) | (mt[i + 1] & lower)
        mt[i] = mt[i + MT_M] ^ (y >> one) ^ (matrix if y & one else zero)
    for i in range(MT_N - MT_M, MT_N - 1):
        y = (mt[i] & upper) | (mt[i + 1] & lower)
        mt[i] = mt[i + MT_M - MT_N] ^ (y >> one) ^ (matrix if y & one else zero)
    y = (mt[MT_N - 1] & upper) | (mt[0] & lower)
    mt[MT_N - 1] = mt[MT_M - 1] ^ (y >> one) ^ (matrix if y & one else zero)


@_jit
def _mt19937_uniform(mt, left, position, out):
    """Fill ``out`` (float32, flat) with torch's ``torch.rand`` draws from the MT19937 state
    ``mt`` (uint32 [624], updated in place) at torch's ``left`` / ``next`` counters; returns
    the new counters. torch's engine, per draw: ``left -= 1``, if 0 twist (``left = 624``,
    ``next = 0``), then ``y = temper(mt[next++])``; the draw is ``(y & (2^24 - 1)) 2^-24``
    (its ``uniform_real_distribution<float>``). Done here a run of draws between two twists
    at a time."""
    mask24, scale = np.uint32(0xFFFFFF), np.float32(1.0 / (1 << 24))
    done = 0
    while done < out.size:
        if left == 1:  # the next draw twists: as if left = 625 before it
            _mt19937_twist(mt)
            left = MT_N + 1
            position = 0
        count = min(left - 1, out.size - done)
        for k in range(count):
            y = mt[position + k]
            y ^= y >> np.uint32(11)
            y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
            y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
            y ^= y >> np.uint32(18)
            out[done + k] = np.float32(np.int32(y & mask24)) * scale
        done += count
        position += count
        left -= count
    return left, position


def _parse_state(raw: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """``(mt uint32 [624], left, next)`` from a ``get_state()`` byte array, or ``None`` if it
    is not the layout this module knows."""
    if raw.dtype != np.uint8 or raw.size != _STATE_BYTES:
        return None
    left = int(raw[_LEFT_AT : _LEFT_AT + 4].view(np.int32)[0])
    position = int(raw[_NEXT_AT : _NEXT_AT + 8].view(np.uint64)[0])
    mt = raw[_MT_AT : _MT_AT + 8 * MT_N].view(np.uint64)
    if not (1 <= left <= MT_N and 0 <= position <= MT_N and int(mt.max()) < 1 << 32):
        return None
    return mt.astype(np.uint32), left, position


def _draw_fast(generator: torch.Generator, out: np.ndarray) -> bool:
    """``torch.rand`` into ``out`` by :func:`_mt19937_uniform`, advancing ``generator`` as
    torch would (its state written back with ``set_state``); ``False`` (nothing drawn) if
    the state is not in the known layout."""
    raw = generator.get_state().numpy()
    parsed = _parse_state(raw)
    if parsed is None:
        return False
    mt, left, position = parsed
    left, position = _mt19937_uniform(mt, left, position, out.reshape(-1))
    raw = raw.copy()
    raw[_LEFT_AT : _LEFT_AT + 4] = np.array([left], dtype=np.int32).view(np.uint8)
    raw[_NEXT_AT : _NEXT_AT + 8] = np.array([position], dtype=np.uint64).view(np.uint8)
    raw[_MT_AT : _MT_AT + 8 * MT_N] = mt.astype(np.uint64).view(np.uint8)
    generator.set_state(torch.from_numpy(raw))
    return True


@functools.cache
def _fast_noise_matches_torch() -> bool:
    """Whether :func:`_draw_fast` gives this torch's ``torch.rand`` draws and generator
    state, bit for bit (probed once: 5000 draws, eight twists, from a seeded generator); if
    not (another torch layout), :func:`draw_uniform` uses ``torch.rand`` itself."""
    ours, theirs = torch.Generator(), torch.Generator()
    ours.manual_seed(2007)
    theirs.manual_seed(2007)
    torch.rand(7, generator=ours), torch.rand(7, generator=theirs)
    got = np.empty(5000, dtype=np.float32)
    if not _draw_fast(ours, got):
        return False
    want = torch.rand(5000, generator=theirs).numpy()
    return np.array_equal(got, want) and torch.equal(ours.get_state(), theirs.get_state())


FAST_NOISE_MIN_VALUES = 1 << 14
"""Below this many draws ``torch.rand`` is cheaper than reading and writing the generator's
5 kB state (:func:`_draw_fast`)."""


def draw_uniform(generator: torch.Generator, out: np.ndarray) -> np.ndarray:
    """Fill ``out`` (float32, C-contiguous) as ``torch.rand(out.shape, generator=generator)``
    would: the same numbers and the same generator state after, several times faster
    (:func:`_mt19937_uniform`) where the generator's layout is the probed one
    (:func:`_fast_noise_matches_torch`) and ``out`` has at least :data:`FAST_NOISE_MIN_VALUES`
    values, by ``torch.rand`` itself otherwise. Returns ``out``."""
    require_numba()
    if generator.device.type != "cpu":
        raise ValueError(f"generator is on {generator.device}: the numba backend needs a CPU one")
    if out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out has dtype {out.dtype}: need a C-contiguous float32 array")
    fast = out.size >= FAST_NOISE_MIN_VALUES and _fast_noise_matches_torch()
    if not (fast and _draw_fast(generator, out)):
        torch.rand(out.shape, generator=generator, out=torch.from_numpy(out))
    return out


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


@_jit
def _simulate_network(
    net,  # which network
    v, u, trace, spikes, weights, eligibility, dopamine,  # state, [B, N] .. [B]; in place
    post, incoming, a, b, c, d,  # wiring [B, S], [B, N, K]; neuron parameters [N]
    noise, rewards, t0, decay_c, counts,  # [T, B, N] uniform, [T, B], int, [B], [B, N]
    n_per_neuron, n_plastic, update_every, constants, fused,  # ints; float32 [15]; bool
):  # fmt: skip
    """Simulate network ``net`` for ``T = noise.shape[0]`` 1 ms steps from step ``t0`` (the
    equations of :func:`plasticgym.spiking_network.network_step`); it touches only row
    ``net`` of the state, so networks can run in any order or in parallel.
    ``constants``: noise amplitude, 0.5 (noise centre), h (Euler half step), 0.04, 5, 140,
    spike peak, trace decay, A+, A-, dopamine decay, dopamine per reward, tonic dopamine,
    w_max, 1 (in that order, float32). ``counts [B, N]`` is incremented by each spike
    (``counts [0, N]``: not counted). ``fused``: the weight update's ``w + g c`` rounded once
    (:func:`_addcmul_fuses`)."""
    n = v.shape[1]
    n_steps = noise.shape[0]
    n_synapses = weights.shape[1]
    width = incoming.shape[2]
    m = n_per_neuron
    amplitude, centre, h, quadratic, linear, offset = constants[:6]
    peak, trace_decay, a_plus, a_minus = constants[6:10]
    dopamine_decay, per_reward, tonic, w_max, one = constants[10:15]
    zero = w_max - w_max
    current = np.empty(n, dtype=v.dtype)
    fired = np.empty(n, dtype=np.int64)
    n_fired = 0
    for i in range(n):
        if spikes[net, i]:
            fired[n_fired] = i
            n_fired += 1
    for step in range(n_steps):
        # the thalamic noise and the input of last step's spikes (1 ms delay)
        for i in range(n):
            current[i] = (noise[step, net, i] - centre) * amplitude
        for q in range(n_fired):
            first = fired[q] * m
            for k in range(first, first + m):
                current[post[net, k]] += weights[net, k]
        # the neurons (izhikevich_step's in-place order) and the trace decay, written
        # without branches so that the loop vectorises; then the fired list
        for i in range(n):
            v0 = v[net, i]
            u0 = u[net, i]
            dv = ((((v0 * quadratic + linear) * v0 + offset) - u0) + current[i]) * h
            v1 = v0 + dv
            dv = ((((v1 * quadratic + linear) * v1 + offset) - u0) + current[i]) * h
            v1 = v1 + dv
            u1 = u0 + (v1 * b[i] - u0) * a[i]
            trace[net, i] = trace[net, i] * trace_decay
            spiked = v1 >= peak
            spikes[net, i] = spiked
            v[net, i] = c[i] if spiked else v1
            u[net, i] = u1 + d[i] if spiked else u1
        n_fired = 0
        for i in range(n):
            if spikes[net, i]:
                fired[n_fired] = i
                n_fired += 1
        # LTD: each fired neuron's outgoing synapses see their targets' traces
        for q in range(n_fired):
            first = fired[q] * m
            for k in range(first, first + m):
                eligibility[net, k] -= trace[net, post[net, k]] * a_minus
        # LTP: each fired neuron's incoming excitatory synapses see their sources' traces
        for q in range(n_fired):
            row = fired[q]
            for j in range(width):
                synapse = incoming[net, row, j]
                if synapse >= n_synapses:  # the padding (the dummy synapse S)
                    continue
                eligibility[net, synapse] += trace[net, synapse // m] * a_plus
        for q in range(n_fired):
            trace[net, fired[q]] += one
        if counts.shape[0]:
            for q in range(n_fired):
                counts[net, fired[q]] += 1
        dopamine[net] = dopamine[net] * dopamine_decay + per_reward * rewards[step, net]
        if (t0 + step + 1) % update_every == 0:
            gain = tonic + dopamine[net]
            for k in range(n_plastic):
                if fused:
                    w = _fused_multiply_add(gain, eligibility[net, k], weights[net, k])
                else:
                    w = weights[net, k] + gain * eligibility[net, k]
                weights[net, k] = min(max(w, zero), w_max)
            lam = decay_c[net]
            for k in range(eligibility.shape[1]):
                eligibility[net, k] = eligibility[net, k] * lam


def _simulate_all(
    v, u, trace, spikes, weights, eligibility, dopamine, post, incoming, a, b, c, d, noise,
    rewards, t0, decay_c, counts, n_per_neuron, n_plastic, update_every, constants, fused,
):  # fmt: skip
    """:func:`_simulate_network` for every network, one after the other."""
    for net in range(v.shape[0]):
        _simulate_network(
            net, v, u, trace, spikes, weights, eligibility, dopamine, post, incoming, a, b, c,
            d, noise, rewards, t0, decay_c, counts, n_per_neuron, n_plastic, update_every,
            constants, fused,
        )  # fmt: skip


def _simulate_all_parallel(
    v, u, trace, spikes, weights, eligibility, dopamine, post, incoming, a, b, c, d, noise,
    rewards, t0, decay_c, counts, n_per_neuron, n_plastic, update_every, constants, fused,
):  # fmt: skip
    """:func:`_simulate_network` for every network, the networks spread over numba's threads
    (independent rows: the same results as :func:`_simulate_all`)."""
    for net in _prange(v.shape[0]):
        _simulate_network(
            net, v, u, trace, spikes, weights, eligibility, dopamine, post, incoming, a, b, c,
            d, noise, rewards, t0, decay_c, counts, n_per_neuron, n_plastic, update_every,
            constants, fused,
        )  # fmt: skip


_simulate = _jit(_simulate_all)
_simulate_parallel = _jit(_simulate_all_parallel, parallel=True)


@functools.cache
def _addcmul_fuses() -> bool:
    """Whether this torch's float32 ``addcmul_`` (network_step's weight update) rounds
    ``w + g c`` once (a fused multiply-add: its AVX2 and AVX-512 kernels) or twice (its
    default kernel), probed on values where the two differ. Raises if it does neither."""
    rng = np.random.default_rng(0)
    w = rng.uniform(0, 4, 256).astype(np.float32)
    c = rng.uniform(-1.5, 1.5, 256).astype(np.float32)
    g = np.float32(0.502)
    got = torch.from_numpy(w).clone().addcmul_(torch.tensor(g), torch.from_numpy(c)).numpy()
    rounded_once = (w.astype(np.float64) + np.float64(g) * c.astype(np.float64)).astype(np.float32)
    rounded_twice = w + g * c
    if np.array_equal(got, rounded_once):
        return True
    if np.array_equal(got, rounded_twice):
        return False
    raise RuntimeError(  # pragma: no cover - a torch build neither of these
        "torch's addcmul_ rounds neither like a fused multiply-add nor like a multiply then "
        "an add: the numba backend cannot reproduce network_step's weight update here"
    )


def _constants(params: NetworkParams) -> np.ndarray:
    """The float32 constants of :func:`_simulate`, as torch casts network_step's Python
    floats to the tensors' float32."""
    values = (params.noise_amplitude, 0.5, 0.5, 0.04, 5.0, 140.0, SPIKE_PEAK_MV,
              decay_factor(params.tau_stdp), params.a_plus, params.a_minus,
              decay_factor(params.tau_d), params.dopamine_per_reward, params.tonic_dopamine,
              params.w_max, 1.0)  # fmt: skip
    return np.asarray(values, dtype=np.float32)


def _check(network: Network, state: NetworkState, params: NetworkParams) -> None:
    """What the kernel assumes, with an error naming what is wrong."""
    for name, tensor in zip(NetworkState._fields, state, strict=True):
        if tensor.device.type != "cpu":
            raise ValueError(
                f"state.{name} is on {tensor.device}: the numba backend runs on CPU tensors "
                "only (use network_step on other devices)"
            )
        want = torch.bool if name == "spikes" else torch.float32
        if tensor.dtype != want:
            raise ValueError(
                f"state.{name} has dtype {tensor.dtype}: the numba backend needs {want}"
            )
    n_networks, n = state.v.shape
    if n != params.n or state.weights.shape != (n_networks, params.n_synapses):
        raise ValueError(
            f"state has {n} neurons and weights {tuple(state.weights.shape)}: params need "
            f"{params.n} neurons and weights ({n_networks}, {params.n_synapses})"
        )
    if state.eligibility.shape != (n_networks, params.n_synapses + 1):
        raise ValueError(
            f"state.eligibility has shape {tuple(state.eligibility.shape)}: need "
            f"({n_networks}, {params.n_synapses + 1})"
        )
    if network.incoming.shape[:2] != (n_networks, n) or network.incoming.device.type != "cpu":
        raise ValueError(
            f"network.incoming has shape {tuple(network.incoming.shape)} on "
            f"{network.incoming.device}: need ({n_networks}, {n}, K) on CPU, from build_network"
        )
    if network.post.shape != (n_networks, params.n_synapses) or network.post.device.type != "cpu":
        raise ValueError(
            f"network.post has shape {tuple(network.post.shape)} on {network.post.device}: "
            f"need ({n_networks}, {params.n_synapses}) on CPU, from build_network"
        )
    for name in ("a", "b", "c", "d"):
        tensor = getattr(network, name)
        if tensor.shape != (n,) or tensor.dtype != torch.float32:
            raise ValueError(
                f"network.{name} has shape {tuple(tensor.shape)}, dtype {tensor.dtype}: "
                f"need ({n},) float32"
            )


def _per_network(values: Tensor | float, n_networks: int, name: str) -> np.ndarray:
    """A float32 value per network from a float or a tensor of 1 or ``B`` values."""
    tensor = torch.as_tensor(values, dtype=torch.float32 if isinstance(values, float) else None)
    if tensor.dtype != torch.float32 or tensor.device.type != "cpu":
        raise ValueError(
            f"{name} has dtype {tensor.dtype} on {tensor.device}: the numba backend needs "
            "float32 on CPU (as network_step computes in the state's float32)"
        )
    if tensor.numel() not in (1, n_networks):
        raise ValueError(
            f"{name} has {tensor.numel()} values: need 1 or one per network ({n_networks})"
        )
    return np.ascontiguousarray(tensor.reshape(-1).expand(n_networks).numpy())


def _writable(tensor: Tensor, name: str) -> np.ndarray:
    if not tensor.is_contiguous():
        raise ValueError(f"state.{name} is not contiguous: the numba backend updates it in place")
    return tensor.numpy()


def _advance(
    network: Network,
    state: NetworkState,
    rewards: Tensor,
    t0: int,
    params: NetworkParams,
    decay_c_per_update: Tensor | float,
    generator: torch.Generator,
    counts: np.ndarray,
    threads: int = 1,
) -> NetworkState:
    """``rewards.shape[0]`` steps from ``t0``; the noise drawn in blocks of at most
    :data:`MAX_BLOCK_VALUES`; ``threads > 1``: the networks spread over that many threads."""
    n_networks, n = state.v.shape
    lam = _per_network(decay_c_per_update, n_networks, "decay_c_per_update")
    fresh = (state.v, state.u, state.trace, state.spikes, state.dopamine)
    v, u, trace, spikes, dopamine = (x.clone() for x in fresh)
    weights = _writable(state.weights, "weights")
    eligibility = _writable(state.eligibility, "eligibility")
    post = network.post.contiguous().numpy()
    incoming = network.incoming.contiguous().numpy()
    neuron = [getattr(network, x).contiguous().numpy() for x in ("a", "b", "c", "d")]
    arrays = [x.numpy() for x in (v, u, trace, spikes)]
    constants = _constants(params)
    rewards_np = rewards.numpy()
    n_steps = rewards.shape[0]
    block = min(n_steps, max(1, MAX_BLOCK_VALUES // (n_networks * n)))
    buffer = np.empty((block, n_networks, n), dtype=np.float32)
    simulate = _simulate if threads == 1 else _simulate_parallel
    previous = numba.get_num_threads() if threads > 1 else 1
    if threads > 1:  # the serial path leaves numba's threads alone
        numba.set_num_threads(threads)
    try:
        for start in range(0, n_steps, block):
            stop = min(n_steps, start + block)
            noise = draw_uniform(generator, buffer[: stop - start])
            simulate(*arrays, weights, eligibility, dopamine.numpy(), post, incoming, *neuron,
                     noise, rewards_np[start:stop], t0 + start, lam, counts,
                     params.n_per_neuron, params.n_exc_synapses, params.update_every,
                     constants, _addcmul_fuses())  # fmt: skip
    finally:
        if threads > 1:
            numba.set_num_threads(previous)
    return NetworkState(v, u, trace, spikes, state.weights, state.eligibility, dopamine)


def _rewards(rewards: Tensor, n_steps_shape: tuple[int, ...], name: str) -> Tensor:
    if rewards.dtype != torch.float32 or rewards.device.type != "cpu":
        raise ValueError(
            f"{name} has dtype {rewards.dtype} on {rewards.device}: the numba backend needs "
            "float32 on CPU"
        )
    if tuple(rewards.shape) != n_steps_shape:
        raise ValueError(f"{name} has shape {tuple(rewards.shape)}: need {n_steps_shape}")
    return rewards.contiguous()


def network_step_numba(
    network: Network,
    state: NetworkState,
    reward: Tensor,
    t: int,
    params: NetworkParams,
    decay_c_per_update: Tensor | float,
    generator: torch.Generator,
) -> NetworkState:
    """One 1 ms step of every network, compiled: :func:`plasticgym.spiking_network.
    network_step`'s arguments and results (``reward [B]`` float32, ``decay_c_per_update``
    a float or 1 or ``B`` float32 values), CPU only. ``weights`` and ``eligibility`` are
    updated in place (they must be contiguous), the rest are new tensors."""
    require_numba()
    _check(network, state, params)
    n_networks = state.v.shape[0]
    rewards = _rewards(reward, (n_networks,), "reward").reshape(1, n_networks)
    counts = np.zeros((0, state.v.shape[1]), dtype=np.int64)  # not counted
    return _advance(network, state, rewards, t, params, decay_c_per_update, generator, counts)


def network_run_numba(
    network: Network,
    state: NetworkState,
    rewards: Tensor,
    t0: int,
    params: NetworkParams,
    decay_c_per_update: Tensor | float,
    generator: torch.Generator,
    spike_counts: Tensor | None = None,
    threads: int = 1,
) -> NetworkState:
    """``T = rewards.shape[0]`` steps from step ``t0`` in one call: the state that ``T`` calls
    of :func:`network_step_numba` (or of ``network_step``) with ``rewards[k]`` at step
    ``t0 + k`` give, and the same draws from ``generator``. ``rewards [T, B]`` float32;
    ``spike_counts [B, N]`` int64 (optional) is incremented in place by every spike.
    ``threads``: numba threads over which the networks are spread (the same results for any
    number: each network's work is its own), at most ``numba.config.NUMBA_NUM_THREADS``."""
    require_numba()
    _check(network, state, params)
    limit = numba.config.NUMBA_NUM_THREADS
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= limit:
        raise ValueError(f"threads={threads!r} is invalid: an integer in [1, {limit}]")
    n_networks, n = state.v.shape
    if rewards.dim() != 2:
        raise ValueError(f"rewards has shape {tuple(rewards.shape)}: need [T, {n_networks}]")
    rewards = _rewards(rewards, (rewards.shape[0], n_networks), "rewards")
    if spike_counts is None:
        counts = np.zeros((n_networks, n), dtype=np.int64)
    else:
        fits = spike_counts.shape == (n_networks, n) and spike_counts.dtype == torch.int64
        if not (fits and spike_counts.device.type == "cpu" and spike_counts.is_contiguous()):
            raise ValueError(
                f"spike_counts has shape {tuple(spike_counts.shape)}, dtype "
                f"{spike_counts.dtype} on {spike_counts.device}: need a contiguous "
                f"({n_networks}, {n}) int64 CPU tensor"
            )
        counts = spike_counts.numpy()
    return _advance(network, state, rewards, t0, params, decay_c_per_update, generator, counts,
                    threads)  # fmt: skip


__all__ = ["MAX_BLOCK_VALUES", "NUMBA_MISSING", "draw_uniform", "network_run_numba",
           "network_step_numba", "numba_available", "require_numba"]  # fmt: skip
