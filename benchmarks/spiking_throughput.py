"""Simulated seconds per wall-clock second of the Izhikevich (2007) network with
dopamine-modulated STDP (:mod:`plasticgym.spiking_network`), one network and a batch of
networks simulated together. The comparison with Brian2 on the same model is
``benchmarks/brian2_compare.py``.

Run by hand (not a test):

    python benchmarks/spiking_throughput.py                          # B = 1 and 64, CPU
    python benchmarks/spiking_throughput.py --networks 1 64 --device cuda --seconds 5
    python benchmarks/spiking_throughput.py --networks 1 24 64 --event-driven  # both steps

The model: 800 regular spiking + 200 fast spiking neurons, 100 synapses each with a 1 ms delay,
random thalamic input, STDP into eligibility traces, dopamine, weights updated every 10 ms,
1 ms steps (the paper's). ``sim s / wall s`` for ``B`` networks counts simulated seconds of
*one* network; the batch's aggregate is ``B`` times that (the "network-seconds per second"
column). The first ``--warmup`` simulated seconds (default 1) are not timed.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from plasticgym.spiking_network import (
    NetworkParams,
    build_network,
    network_step,
    network_step_event_driven,
    to_event_driven,
)


def plasticgym_rate(
    n_networks: int,
    seconds: float,
    device: str,
    params: NetworkParams,
    warmup: float = 1.0,
    event_driven: bool = False,
) -> tuple[float, float]:
    """Simulated seconds per wall second and per CPU second (``time.process_time``) for
    ``n_networks`` networks in one batch, after ``warmup`` simulated seconds that are not
    timed; ``event_driven``: ``network_step_event_driven`` instead of ``network_step``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(0)
    network, state = build_network(params, n_networks, generator)
    decay_c = torch.full((n_networks, 1), 0.99, device=device)
    reward = torch.zeros(n_networks, device=device)
    if event_driven:
        state = to_event_driven(state, decay_c, params)

    def step(t: int, state):
        if event_driven:
            return network_step_event_driven(network, state, reward, t, params, generator)
        return network_step(network, state, reward, t, params, decay_c, generator)

    start_t = round(warmup * 1000)
    for t in range(start_t):
        state = step(t, state)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    steps = round(seconds * 1000)
    start, cpu_start = time.perf_counter(), time.process_time()
    for t in range(start_t, start_t + steps):
        state = step(t, state)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return seconds / wall, seconds / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--seconds", type=float, default=2.0, help="simulated seconds timed")
    parser.add_argument("--warmup", type=float, default=1.0, help="simulated s, not timed")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch / OpenMP threads")
    parser.add_argument("--event-driven", action="store_true",
                        help="time network_step_event_driven as well")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = NetworkParams()
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"device {args.device}, {args.threads} thread(s), {params.n} neurons, "
          f"{params.n_synapses} synapses per network")  # fmt: skip
    print("| step | networks | sim s / wall s | network-seconds / s | network-seconds / CPU s |")
    print("|---|---|---|---|---|")
    for n_networks in args.networks:
        for event_driven in (False, True) if args.event_driven else (False,):
            rate, per_cpu = plasticgym_rate(n_networks, args.seconds, args.device, params,
                                            args.warmup, event_driven)  # fmt: skip
            name = "event-driven" if event_driven else "dense"
            print(f"| {name} | {n_networks} | {rate:.3f} | {rate * n_networks:.2f} "
                  f"| {per_cpu * n_networks:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
