"""Simulated seconds per wall-clock second of the Izhikevich (2007) network with
dopamine-modulated STDP (:mod:`plasticgym.spiking_network`), one network and a batch of
networks simulated together; optionally against Brian2 on the same model.

Run by hand (not a test):

    python benchmarks/spiking_throughput.py                          # B = 1 and 64, CPU
    python benchmarks/spiking_throughput.py --networks 1 64 --device cuda --seconds 5
    python benchmarks/spiking_throughput.py --brian2 runtime          # needs: pip install brian2
    python benchmarks/spiking_throughput.py --brian2 cpp_standalone --threads 2

The model: 800 regular spiking + 200 fast spiking neurons, 100 synapses each with a 1 ms delay,
random thalamic input, STDP into eligibility traces, dopamine, weights updated every 10 ms,
1 ms steps (the paper's). ``sim s / wall s`` for ``B`` networks counts simulated seconds of
*one* network; the batch's aggregate is ``B`` times that (the "network-seconds per second"
column). The first ``--warmup`` simulated seconds (default 1) are not timed.

Brian2 (a benchmark-only dependency, never imported by plasticgym): the same equations and
constants written in Brian2's language: ``v``, ``u`` by Brian2's Euler integrator at 1 ms
(plasticgym takes two 0.5 ms substeps of ``v``: slightly more work); the STDP traces as
event-driven synaptic variables, the eligibility ``c`` changed at spikes and, with the
weights and the dopamine, every 10 ms by a ``run_regularly`` operation, as in plasticgym.
It is one network; its figure compares with ``B = 1``.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from plasticgym.spiking_network import NetworkParams, build_network, network_step


def plasticgym_rate(
    n_networks: int, seconds: float, device: str, params: NetworkParams, warmup: float = 1.0
) -> float:
    """Simulated seconds per wall second for ``n_networks`` networks in one batch, after
    ``warmup`` simulated seconds that are not timed."""
    generator = torch.Generator(device=device)
    generator.manual_seed(0)
    network, state = build_network(params, n_networks, generator)
    decay_c = torch.full((n_networks, 1), 0.99, device=device)
    reward = torch.zeros(n_networks, device=device)
    start_t = round(warmup * 1000)
    for t in range(start_t):
        state = network_step(network, state, reward, t, params, decay_c, generator)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    steps = round(seconds * 1000)
    start = time.perf_counter()
    for t in range(start_t, start_t + steps):
        state = network_step(network, state, reward, t, params, decay_c, generator)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return seconds / (time.perf_counter() - start)


BRIAN2_NEURONS = """
dv/dt = (0.04*v**2 + 5*v + 140 - u + I_noise) / ms : 1
du/dt = a * (b*v - u) / ms : 1
I_noise : 1
a : 1
b : 1
c : 1
d : 1
"""

BRIAN2_PLASTIC = """
w : 1
c : 1
dopamine : 1 (shared)
dx_pre/dt = -x_pre / tau_stdp : 1 (event-driven)
dx_post/dt = -x_post / tau_stdp : 1 (event-driven)
"""


def brian2_rate(seconds: float, mode: str, threads: int, params: NetworkParams) -> float:
    """Simulated seconds per wall second of one network in Brian2 (``mode``: ``runtime`` or
    ``cpp_standalone``): the wall time of the ``run`` call in runtime mode (after a warm-up
    run that generates the code), the run time Brian2 reports in standalone mode (without
    code generation and compilation)."""
    import brian2 as b2  # benchmark-only dependency
    import numpy as np

    if mode == "cpp_standalone":
        b2.set_device("cpp_standalone", build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = threads
    b2.defaultclock.dt = 1 * b2.ms
    n, n_exc, m = params.n, params.n_exc, params.n_per_neuron
    neurons = b2.NeuronGroup(n, BRIAN2_NEURONS, threshold="v >= 30", reset="v = c; u += d",
                             method="euler")  # fmt: skip
    neurons.v = -65
    neurons.u = -13
    neurons.a = [0.02] * n_exc + [0.1] * params.n_inh
    neurons.b = 0.2
    neurons.c = -65
    neurons.d = [8.0] * n_exc + [2.0] * params.n_inh
    neurons.run_regularly(f"I_noise = {params.noise_amplitude} * (rand() - 0.5)", dt=1 * b2.ms)
    excitatory = b2.Synapses(
        neurons, neurons, BRIAN2_PLASTIC,
        on_pre=f"v_post += w; x_pre += 1; c += -{params.a_minus} * x_post",
        on_post=f"x_post += 1; c += {params.a_plus} * x_pre",
        delay=1 * b2.ms,
    )  # fmt: skip
    inhibitory = b2.Synapses(neurons, neurons, "w : 1", on_pre="v_post += w", delay=1 * b2.ms)
    rng = np.random.default_rng(0)
    excitatory.connect(i=np.repeat(np.arange(n_exc), m), j=rng.integers(0, n, n_exc * m))
    inhibitory.connect(i=np.repeat(np.arange(n_exc, n), m),
                       j=rng.integers(0, n_exc, params.n_inh * m))  # fmt: skip
    excitatory.w = params.w_exc
    inhibitory.w = params.w_inh
    decay_c = float(np.exp(-params.update_every / 1000.0))
    decay_d = float(np.exp(-params.update_every / params.tau_d))
    excitatory.run_regularly(
        f"w = clip(w + ({params.tonic_dopamine} + dopamine) * c, 0, {params.w_max})\n"
        f"c = c * {decay_c}\n"
        f"dopamine = dopamine * {decay_d}",
        dt=params.update_every * b2.ms,
    )
    net = b2.Network(neurons, excitatory, inhibitory)
    namespace = {"tau_stdp": params.tau_stdp * b2.ms}
    if mode == "cpp_standalone":
        net.run(seconds * b2.second, namespace=namespace)
        b2.device.build(run=True, compile=True)
        return seconds / float(b2.device._last_run_time)
    net.run(1 * b2.second, namespace=namespace)  # warm-up and code generation
    start = time.perf_counter()
    net.run(seconds * b2.second, namespace=namespace)
    return seconds / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--seconds", type=float, default=2.0, help="simulated seconds timed")
    parser.add_argument("--warmup", type=float, default=1.0, help="simulated s, not timed")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch / OpenMP threads")
    parser.add_argument("--brian2", choices=("runtime", "cpp_standalone"), default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = NetworkParams()
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"device {args.device}, {args.threads} thread(s), {params.n} neurons, "
          f"{params.n_synapses} synapses per network")  # fmt: skip
    print("| simulator | networks | sim s / wall s | network-seconds / s |")
    print("|---|---|---|---|")
    for n_networks in args.networks:
        rate = plasticgym_rate(n_networks, args.seconds, args.device, params, args.warmup)
        print(f"| plasticgym | {n_networks} | {rate:.3f} | {rate * n_networks:.2f} |", flush=True)
    if args.brian2:
        rate = brian2_rate(args.seconds, args.brian2, args.threads, params)
        print(f"| brian2 {args.brian2} | 1 | {rate:.3f} | {rate:.2f} |")


if __name__ == "__main__":
    main()
