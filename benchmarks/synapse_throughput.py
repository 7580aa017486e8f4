"""Synapse updates per second of the plasticity chains, against a memory-bandwidth roofline
measured in the same run.

Run by hand (not a test):

    python benchmarks/synapse_throughput.py                       # 1e6 and 1e7 synapses, CPU
    python benchmarks/synapse_throughput.py --synapses 1e6 4e6 1e7 --device cuda

One plasticity step of a projection reads and writes a few tensors of the size of its weights
(weights, eligibility trace, the proposed change, the states of tags and late weights...), so
at 1e6-1e7 synapses it is bound by memory bandwidth, not by arithmetic. The roofline is a
STREAM-triad-like torch op, ``a = b + s * c`` (three float32 arrays of the same size: 12 bytes
per element moved), timed on the same device in the same run (every figure is the fastest
of ``--repeats`` calls, the least disturbed by other work); a chain that moves ``k`` bytes per
synapse can at best reach ``bandwidth / k`` synapse updates per second. The table reports each
chain's updates/s, the bytes per synapse it would move if it were bandwidth-bound
(``bandwidth / (updates/s)``, an effective traffic figure), and its fraction of the triad's
element rate.

The chains (``B = 8`` agents, ``n_post = 16``, ``n_pre = synapses / (B n_post)``):

- ``three_factor``: ``three_factor`` then ``weight_bounds`` (PlasticAgent's critic);
- ``three_factor+scaling``: with ``synaptic_scaling`` (PlasticAgent's default actor);
- ``calcium``: ``calcium_three_factor`` (Shouval, Bear & Cooper 2002) then bounds;
- ``bcm``: ``bcm_three_factor`` then bounds;
- ``tag_and_capture``: ``three_factor`` then Clopath et al. 2008's ``tag_and_capture``
  (expected-value mode, dt = 1 s);
- ``tag_and_capture+sampled``: the same with binary tags sampled from the state's counter-based
  stream (``sampled=True``, TaggedSynapse's default: one PCG hash chain per synapse per step).
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import torch

from plasticgym.calcium import bcm_three_factor, calcium_three_factor
from plasticgym.consolidation import tag_and_capture
from plasticgym.plasticity import (
    PlasticitySignals,
    PlasticityTransform,
    chain,
    synaptic_scaling,
    three_factor,
    weight_bounds,
)
from plasticgym.synapses import init_synapses, update_synapses

B, N_POST = 8, 16
CHAINS: dict[str, Callable[[], PlasticityTransform]] = {
    "three_factor": lambda: chain(three_factor(0.1, 0.9), weight_bounds(-10.0, 10.0)),
    "three_factor+scaling": lambda: chain(
        three_factor(0.1, 0.9), synaptic_scaling(0.2, 200.0, 1e-3), weight_bounds(0.0, 2.0)
    ),
    "calcium": lambda: chain(calcium_three_factor(0.1, 0.9), weight_bounds(0.0, 2.0)),
    "bcm": lambda: chain(bcm_three_factor(0.1, 0.9), weight_bounds(0.0, 2.0)),
    "tag_and_capture": lambda: chain(three_factor(0.1, 0.9), tag_and_capture(1.0)),
    "tag_and_capture+sampled": lambda: chain(
        three_factor(0.1, 0.9), tag_and_capture(1.0, sampled=True)
    ),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(step: Callable[[], None], repeats: int, device: torch.device) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``step``, after two warm-up calls (the
    fastest call is the least disturbed by other work on the machine)."""
    for _ in range(2):
        step()
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        started = time.perf_counter()
        step()
        _sync(device)
        best = min(best, time.perf_counter() - started)
    return best


def triad_bandwidth(n: int, repeats: int, device: torch.device) -> float:
    """Bytes per second of ``a = b + s * c`` over float32 arrays of ``n`` elements."""
    b, c = torch.rand(n, device=device), torch.rand(n, device=device)
    a = torch.empty_like(b)

    def step() -> None:
        torch.add(b, c, alpha=3.0, out=a)

    return 12 * n / _timed(step, repeats, device)


def chain_rate(name: str, n_synapses: int, repeats: int, device: torch.device) -> float:
    """Synapse updates per second of one plasticity step of chain ``name``."""
    generator = torch.Generator(device=device).manual_seed(0)
    n_pre = max(1, n_synapses // (B * N_POST))
    rule = CHAINS[name]()
    weights = torch.rand(B, N_POST, n_pre, generator=generator, device=device)
    state = {"synapses": init_synapses(rule, weights)}
    signals = PlasticitySignals(
        pre=torch.rand(B, n_pre, generator=generator, device=device),
        post=torch.rand(B, N_POST, generator=generator, device=device),
        dopamine=torch.randn(B, generator=generator, device=device),
        rate=torch.rand(B, N_POST, generator=generator, device=device),
        active=torch.ones(B, dtype=torch.bool, device=device),
    )

    def step() -> None:
        state["synapses"], _ = update_synapses(rule, state["synapses"], signals)

    return B * N_POST * n_pre / _timed(step, repeats, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synapses", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--chains", nargs="+", default=list(CHAINS), choices=list(CHAINS))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{device}, {torch.get_num_threads()} threads")  # fmt: skip
    print(f"{'synapses':>10} {'chain':>24} {'updates/s':>12} {'B/synapse':>10} {'of triad':>9}")
    for size in args.synapses:
        n = int(size)
        bandwidth = triad_bandwidth(n, args.repeats, device)
        print(f"{n:>10.0e} {'triad (roofline)':>24} {bandwidth / 12:>12.3e} {12:>10.1f} "
              f"{1.0:>9.2f}   {bandwidth / 1e9:.1f} GB/s")  # fmt: skip
        for name in args.chains:
            rate = chain_rate(name, n, args.repeats, device)
            print(f"{n:>10.0e} {name:>24} {rate:>12.3e} {bandwidth / rate:>10.1f} "
                  f"{rate / (bandwidth / 12):>9.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
