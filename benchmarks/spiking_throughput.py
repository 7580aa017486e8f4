"""Simulated seconds per wall-clock second of the Izhikevich (2007) network with
dopamine-modulated STDP (:mod:`plasticgym.spiking_network`), one network and a batch of
networks simulated together. The comparison with Brian2 on the same model is
``benchmarks/brian2_compare.py``.

Run by hand (not a test):

    python benchmarks/spiking_throughput.py                          # B = 1 and 64, CPU
    python benchmarks/spiking_throughput.py --networks 1 64 --device cuda --seconds 5

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--seconds", type=float, default=2.0, help="simulated seconds timed")
    parser.add_argument("--warmup", type=float, default=1.0, help="simulated s, not timed")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch / OpenMP threads")
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


if __name__ == "__main__":
    main()
