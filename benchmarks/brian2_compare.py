"""The Izhikevich (2007) network in Brian2 and in plasticgym, same model, same run: simulated
seconds per wall second, and a check that the two simulate the same model (firing rates and
mean weight).

Run by hand (not a test; Brian2 is a benchmark-only dependency: ``pip install -e .[bench]``):

    python benchmarks/brian2_compare.py                       # 10 simulated s, threads 1 and 2
    python benchmarks/brian2_compare.py --seconds 2 --networks 8 --threads 1   # a quick look

Configurations, each timed over ``--seconds`` simulated seconds after ``--warmup`` simulated
seconds that are not timed:

- ``brian2 runtime``: Brian2's runtime mode with its Cython target (single-threaded); the
  timed ``run`` call after a warm-up ``run`` that generates and compiles the code;
- ``brian2 cpp_standalone``: ``set_device('cpp_standalone')`` with ``openmp_threads`` =
  ``T``; build (code generation + compilation) timed separately, run time as Brian2's binary
  reports it for the timed ``run`` (its main loop only) and the binary's whole wall time;
- ``plasticgym``, 1 network and ``--networks`` networks in one batch
  (:mod:`plasticgym.spiking_network`), ``torch.set_num_threads(T)``.

The model, identical in both (float32, 1 ms steps): 800 regular spiking + 200 fast spiking
Izhikevich neurons, ``v`` by two 0.5 ms Euler steps then ``u`` by one 1 ms step (the paper's
code), spike at ``v >= 30``; random thalamic current uniform in ``[-6.5, 6.5]`` each ms per
neuron; 100 synapses per neuron (the plasticgym wiring of network 0 is given to Brian2, so it
has the same connectivity), 1 ms delay as a current added to the next step's input;
per-neuron STDP traces (``tau`` = 20 ms, read before the step's spikes are added), eligibility
``c`` changed at each pre (``-0.15 x_post``) and post (``+0.1 x_pre``) spike, dopamine
decaying with ``tau_d`` = 200 ms each ms and ``+0.5`` at a reward (one every simulated second,
at the same times in both), and every 10 ms ``w <- clip(w + (0.002 + d) c, 0, 4)``,
``c <- 0.99 c``. Brian2 does the neuron update as a ``run_regularly`` operation (its
integrators have no half-step scheme); the order within a step is that of plasticgym.

Differences that remain: random numbers (each simulator's own), the weight update at ms 0, 10,
... in Brian2 and at ms 9, 19, ... in plasticgym. The two are compared by statistics:
mean firing rate of the excitatory and inhibitory cells and the mean excitatory weight at the
end (tolerance in :func:`agreement`).

Each run also reports CPU seconds (``time.process_time`` for plasticgym and Brian2's runtime
mode; for the standalone binary its whole process, warm-up and set-up included, from
``getrusage``), the number that a shared machine's load changes least. ``--event-driven``
adds plasticgym's event-driven step (``network_step_event_driven``) for 1 and ``--networks``;
``--numba`` the opt-in numba backend (the extra ``fast``; :mod:`plasticgym.spiking_kernel`),
its multi-step ``network_run_numba`` and its per-ms ``network_step_numba``, for 1 and
``--networks``.

Writes ``--out`` (JSON) and a markdown table next to it (``.md``). ``--brian2-from EARLIER.json``
reuses the Brian2 results of an earlier run (to re-measure only plasticgym after a change).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from plasticgym.spiking_network import (
    NetworkParams,
    build_network,
    materialize,
    network_step_event_driven,
    network_stepper,
    to_event_driven,
)

REWARD_EVERY_MS = 1000
DECAY_C_PER_UPDATE = 0.99  # the paper's code; tau_c ~ 1 s


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages (``uptime``)."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


# --------------------------------------------------------------------------------------------
# plasticgym
# --------------------------------------------------------------------------------------------


def plasticgym_run(
    n_networks: int,
    seconds: float,
    warmup: float,
    threads: int,
    params: NetworkParams,
    event_driven: bool = False,
    backend: str = "torch",
) -> dict[str, Any]:
    """Simulate ``n_networks`` networks (seed 0) for ``warmup + seconds`` simulated seconds,
    timing the last ``seconds`` (wall and this process's CPU time); spikes are counted over
    the whole run. ``event_driven``: ``network_step_event_driven`` instead of
    ``network_step``. ``backend``: ``"numba run"`` (:func:`plasticgym.spiking_kernel.
    network_run_numba`, the warm-up and the timed part one call each, the reward schedule
    given in advance) or ``"numba step"`` (``network_step_numba``, one call per ms) instead
    of torch (``"numba run"`` spreads the networks over ``threads`` numba threads); the numba
    kernel is compiled (or loaded from its cache) in the warm-up."""
    torch.set_num_threads(threads)
    generator = torch.Generator()
    generator.manual_seed(0)
    network, state = build_network(params, n_networks, generator)
    decay_c = torch.full((n_networks, 1), DECAY_C_PER_UPDATE)
    no_reward, reward = torch.zeros(n_networks), torch.ones(n_networks)
    counts = torch.zeros(n_networks, params.n, dtype=torch.int32)
    warmup_ms, total_ms = round(warmup * 1000), round((warmup + seconds) * 1000)
    if event_driven:
        state = to_event_driven(state, decay_c, params)
    load_before = load()
    start = cpu_start = 0.0
    if backend == "numba run":
        from plasticgym.spiking_kernel import network_run_numba

        rewards = (torch.arange(total_ms) % REWARD_EVERY_MS == 0).float()[:, None]
        rewards = rewards.expand(total_ms, n_networks).contiguous()
        counts64 = torch.zeros(n_networks, params.n, dtype=torch.int64)
        state = network_run_numba(network, state, rewards[:warmup_ms], 0, params, decay_c,
                                  generator, counts64, threads=threads)  # fmt: skip
        start, cpu_start = time.perf_counter(), time.process_time()
        state = network_run_numba(network, state, rewards[warmup_ms:], warmup_ms, params,
                                  decay_c, generator, counts64, threads=threads)  # fmt: skip
        counts += counts64.int()
        total_ms = 0  # done: skip the loop below
    step = network_stepper("numba" if backend == "numba step" else "torch")
    for t in range(total_ms):
        if t == warmup_ms:
            start, cpu_start = time.perf_counter(), time.process_time()
        r = reward if t % REWARD_EVERY_MS == 0 else no_reward
        if event_driven:
            state = network_step_event_driven(network, state, r, t, params, generator)
        else:
            state = step(network, state, r, t, params, decay_c, generator)
        counts += state.spikes
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    duration = warmup + seconds
    rates = counts.double() / duration
    weights = materialize(state, params)[0] if event_driven else state.weights
    exc_w = weights[:, : params.n_exc_synapses]
    mode = "torch CPU" if backend == "torch" else backend
    return {
        "simulator": "plasticgym",
        "mode": mode,
        "networks": n_networks,
        "threads": threads,
        "timed_sim_s": seconds,
        "wall_s": wall,
        "sim_s_per_wall_s": seconds / wall,
        "network_s_per_wall_s": n_networks * seconds / wall,
        "cpu_s": cpu,
        "network_s_per_cpu_s": n_networks * seconds / cpu,
        "rate_exc_hz": rates[:, : params.n_exc].mean(1).tolist(),
        "rate_inh_hz": rates[:, params.n_exc :].mean(1).tolist(),
        "mean_exc_weight": exc_w.mean(1).tolist(),
        "load_before": load_before,
        "load_after": load(),
    }


# --------------------------------------------------------------------------------------------
# Brian2
# --------------------------------------------------------------------------------------------

BRIAN2_NEURONS = """
v : 1
u : 1
I : 1
x : 1
a : 1 (constant)
b : 1 (constant)
c : 1 (constant)
d : 1 (constant)
n_spikes : integer
"""

# plasticgym.spiking.izhikevich_step, and the trace decay of spiking_network.network_step
BRIAN2_NEURON_UPDATE = """
v += 0.5 * ((0.04 * v + 5.0) * v + 140.0 - u + I)
v += 0.5 * ((0.04 * v + 5.0) * v + 140.0 - u + I)
u += a * (b * v - u)
x *= trace_decay
"""


def brian2_network(b2: Any, params: NetworkParams, wiring: np.ndarray) -> Any:
    """The model in Brian2 (one network, the plasticgym wiring ``post [S]`` of network 0).

    Schedule of one step: ``groups``: the neuron update; ``thresholds``: ``I`` <- noise (the
    next step's input), spike detection; ``synapses``: each spike adds its weight to its
    targets' ``I`` (so it acts in the next step: the 1 ms delay), LTD and LTP read the traces
    (not yet holding this step's spikes); ``resets``: ``v <- c``, ``u += d``, ``x += 1``;
    ``end``: every 10 ms the weight and eligibility update."""
    n, n_exc, m = params.n, params.n_exc, params.n_per_neuron
    reset = "v = c\nu += d\nx += 1\nn_spikes += 1"
    neurons = b2.NeuronGroup(n, BRIAN2_NEURONS, threshold="v >= 30", reset=reset, name="neurons")
    neurons.v = -65.0
    neurons.u = 0.2 * -65.0
    neurons.a = np.where(np.arange(n) < n_exc, 0.02, 0.1)
    neurons.b = 0.2
    neurons.c = -65.0
    neurons.d = np.where(np.arange(n) < n_exc, 8.0, 2.0)
    neurons.run_regularly(BRIAN2_NEURON_UPDATE, when="groups", name="neuron_update")
    neurons.run_regularly("I = noise_amplitude * (rand() - 0.5)", when="thresholds", order=-1,
                          name="thalamic_input")  # fmt: skip
    excitatory = b2.Synapses(
        neurons, neurons,
        "w : 1\nc_elig : 1\ndopamine : 1 (shared)",
        on_pre="I_post += w\nc_elig += -a_minus * x_post",
        on_post="c_elig += a_plus * x_pre",
        name="excitatory",
    )  # fmt: skip
    inhibitory = b2.Synapses(neurons, neurons, on_pre="I_post += w_inh", name="inhibitory")
    pre = np.repeat(np.arange(n), m)
    n_plastic = params.n_exc_synapses
    excitatory.connect(i=pre[:n_plastic], j=wiring[:n_plastic])
    inhibitory.connect(i=pre[n_plastic:], j=wiring[n_plastic:])
    excitatory.w = params.w_exc
    excitatory.run_regularly("dopamine = dopamine * decay_d", dt=1 * b2.ms, when="start",
                             name="dopamine_decay")  # fmt: skip
    excitatory.run_regularly("dopamine = dopamine + dopamine_per_reward",
                             dt=REWARD_EVERY_MS * b2.ms, when="start", order=1,
                             name="reward")  # fmt: skip
    excitatory.run_regularly(
        "w = clip(w + (tonic + dopamine) * c_elig, 0, w_max)\nc_elig = c_elig * decay_c",
        dt=params.update_every * b2.ms, when="end", name="weight_update",
    )  # fmt: skip
    return b2.Network(neurons, excitatory, inhibitory)


def brian2_namespace(params: NetworkParams) -> dict[str, float]:
    return {
        "trace_decay": math.exp(-1.0 / params.tau_stdp),
        "noise_amplitude": params.noise_amplitude,
        "a_plus": params.a_plus,
        "a_minus": params.a_minus,
        "w_inh": params.w_inh,
        "w_max": params.w_max,
        "tonic": params.tonic_dopamine,
        "decay_d": math.exp(-1.0 / params.tau_d),
        "dopamine_per_reward": params.dopamine_per_reward,
        "decay_c": DECAY_C_PER_UPDATE,
    }


def brian2_statistics(net: Any, params: NetworkParams, duration: float) -> dict[str, Any]:
    counts = np.asarray(net["neurons"].n_spikes[:], dtype=float)
    return {
        "rate_exc_hz": [float(counts[: params.n_exc].mean() / duration)],
        "rate_inh_hz": [float(counts[params.n_exc :].mean() / duration)],
        "mean_exc_weight": [float(np.mean(net["excitatory"].w[:]))],
    }


def brian2_runtime(
    seconds: float, warmup: float, params: NetworkParams, wiring: np.ndarray
) -> dict[str, Any]:
    """Runtime mode, Cython target: the warm-up ``run`` generates and compiles the code."""
    import brian2 as b2  # benchmark-only dependency

    b2.prefs.codegen.target = "cython"
    b2.prefs.core.default_float_dtype = np.float32
    b2.defaultclock.dt = 1 * b2.ms
    b2.seed(0)
    net = brian2_network(b2, params, wiring)
    namespace = brian2_namespace(params)
    started = time.perf_counter()
    net.run(warmup * b2.second, namespace=namespace)
    warmup_wall = time.perf_counter() - started
    load_before = load()
    started, cpu_started = time.perf_counter(), time.process_time()
    net.run(seconds * b2.second, namespace=namespace)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "simulator": "brian2",
        "mode": "runtime (cython)",
        "networks": 1,
        "threads": 1,
        "timed_sim_s": seconds,
        "warmup_wall_s_incl_codegen": warmup_wall,
        "wall_s": wall,
        "sim_s_per_wall_s": seconds / wall,
        "network_s_per_wall_s": seconds / wall,
        "cpu_s": cpu,
        "network_s_per_cpu_s": seconds / cpu,
        **brian2_statistics(net, params, warmup + seconds),
        "load_before": load_before,
        "load_after": load(),
    }


def brian2_standalone(
    seconds: float,
    warmup: float,
    threads: int,
    params: NetworkParams,
    wiring: np.ndarray,
    first: bool,
) -> dict[str, Any]:
    """C++ standalone with ``threads`` OpenMP threads: code generation + compilation timed
    apart from the binary's run; the run time is Brian2's own timer of the timed ``run``."""
    import brian2 as b2  # benchmark-only dependency

    if first:
        b2.set_device("cpp_standalone", build_on_run=False)
    else:
        b2.device.reinit()
        b2.device.activate(build_on_run=False)
    b2.prefs.core.default_float_dtype = np.float32
    b2.prefs.devices.cpp_standalone.openmp_threads = threads
    b2.defaultclock.dt = 1 * b2.ms
    b2.seed(0)
    net = brian2_network(b2, params, wiring)
    namespace = brian2_namespace(params)
    net.run(warmup * b2.second, namespace=namespace)
    net.run(seconds * b2.second, namespace=namespace)
    directory = tempfile.mkdtemp(prefix=f"brian2-standalone-{threads}-")
    started = time.perf_counter()
    b2.device.build(directory=directory, compile=True, run=False)
    build_wall = time.perf_counter() - started
    load_before = load()
    started = time.perf_counter()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    b2.device.run(directory=directory, with_output=False)
    binary_wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the whole binary (warm-up, set-up and output included): a lower bound of its speed
    binary_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    run_time = float(b2.device._last_run_time)
    return {
        "simulator": "brian2",
        "mode": "cpp_standalone",
        "networks": 1,
        "threads": threads,
        "timed_sim_s": seconds,
        "build_wall_s": build_wall,
        "binary_wall_s_incl_warmup_and_io": binary_wall,
        "wall_s": run_time,
        "sim_s_per_wall_s": seconds / run_time,
        "network_s_per_wall_s": seconds / run_time,
        "cpu_s": binary_cpu,
        "network_s_per_cpu_s": (warmup + seconds) / binary_cpu,
        **brian2_statistics(net, params, warmup + seconds),
        "load_before": load_before,
        "load_after": load(),
    }


# --------------------------------------------------------------------------------------------
# Agreement and report
# --------------------------------------------------------------------------------------------

RATE_TOLERANCE = 0.15
"""Brian2's rate must be within 15 % of the mean of the plasticgym batch, and inside the
batch's range (min..max over its networks); the same for the mean excitatory weight (its
change from 1 mV within 15 %)."""


def agreement(brian: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    """Per statistic: Brian2's value, the plasticgym batch's mean, min and max, the relative
    difference and whether it agrees (see :data:`RATE_TOLERANCE`)."""
    out: dict[str, Any] = {}
    for key in ("rate_exc_hz", "rate_inh_hz", "mean_exc_weight"):
        values = np.asarray(batch[key])
        ref = 1.0 if key == "mean_exc_weight" else 0.0  # compare the weight's change from 1 mV
        value = brian[key][0]
        relative = abs((value - ref) - (values.mean() - ref)) / abs(values.mean() - ref)
        inside = bool(values.min() <= value <= values.max())
        out[key] = {
            "brian2": value,
            "plasticgym_mean": float(values.mean()),
            "plasticgym_sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "plasticgym_min": float(values.min()),
            "plasticgym_max": float(values.max()),
            "relative_difference": float(relative),
            "agrees": bool(relative <= RATE_TOLERANCE and inside),
        }
    return out


def markdown(results: list[dict[str, Any]], checks: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"# Brian2 vs plasticgym, Izhikevich (2007) network ({meta['timed_sim_s']} simulated s "
        f"timed after {meta['warmup_s']} s warm-up)",
        "",
        f"{meta['machine']}; torch {meta['torch']}, Brian2 {meta['brian2']}, numpy "
        f"{meta['numpy']}; nice {meta['nice']}. Load average (1 min) before/after each run "
        "in the last column: the machine is shared, so these are lower bounds.",
        "",
        "| simulator | mode | threads | networks | sim s / wall s | network-s / wall s "
        "| network-s / CPU s | build s | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        build = f"{r['build_wall_s']:.0f}" if "build_wall_s" in r else ""
        lines.append(
            f"| {r['simulator']} | {r['mode']} | {r['threads']} | {r['networks']} "
            f"| {r['sim_s_per_wall_s']:.3f} | {r['network_s_per_wall_s']:.2f} "
            f"| {r.get('network_s_per_cpu_s', math.nan):.2f} | {build} "
            f"| {r['load_before'][0]:.1f}/{r['load_after'][0]:.1f} |"
        )
    lines += ["", "Agreement (Brian2 vs the plasticgym batch; within "
              f"{RATE_TOLERANCE:.0%} of the batch mean and inside its range):", "",
              "| Brian2 run | statistic | Brian2 | plasticgym mean (sd) [min, max] | rel. diff "
              "| agrees |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, check in checks.items():
        for key, c in check.items():
            lines.append(
                f"| {name} | {key} | {c['brian2']:.4f} | {c['plasticgym_mean']:.4f} "
                f"({c['plasticgym_sd']:.4f}) [{c['plasticgym_min']:.4f}, "
                f"{c['plasticgym_max']:.4f}] | {c['relative_difference']:.1%} "
                f"| {'yes' if c['agrees'] else 'NO'} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated s, timed")
    parser.add_argument("--warmup", type=float, default=1.0, help="simulated s, not timed")
    parser.add_argument("--networks", type=int, default=64, help="the plasticgym batch")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=("runtime", "standalone", "plasticgym1", "batch"))  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/brian2_compare.json"))
    parser.add_argument("--event-driven", action="store_true",
                        help="also time plasticgym's event-driven step")  # fmt: skip
    parser.add_argument("--numba", action="store_true",
                        help="also time the numba backend: run and step")  # fmt: skip
    parser.add_argument("--brian2-from", type=Path, default=None, help="earlier JSON")
    args = parser.parse_args()
    import brian2 as b2  # benchmark-only dependency

    params = NetworkParams()
    generator = torch.Generator()
    generator.manual_seed(0)
    network, _ = build_network(params, 1, generator)
    wiring = network.post[0].numpy().astype(np.int32)

    results: list[dict[str, Any]] = []

    def record(result: dict[str, Any]) -> None:
        results.append(result)
        print(json.dumps({k: v for k, v in result.items() if not isinstance(v, list)
                          or len(v) < 4}), flush=True)  # fmt: skip

    for threads in args.threads:
        if "plasticgym1" not in args.skip:
            record(plasticgym_run(1, args.seconds, args.warmup, threads, params))
        if "batch" not in args.skip:
            record(plasticgym_run(args.networks, args.seconds, args.warmup, threads, params))
        for n_networks in [1, args.networks] if args.event_driven else []:
            record(plasticgym_run(n_networks, args.seconds, args.warmup, threads, params, True))
        for backend in ("numba run", "numba step") if args.numba else ():
            for n_networks in (1, args.networks):
                record(plasticgym_run(n_networks, args.seconds, args.warmup, threads, params,
                                      backend=backend))  # fmt: skip
    if args.brian2_from is not None:
        earlier = json.loads(args.brian2_from.read_text())
        for r in earlier["results"]:
            if r["simulator"] == "brian2":
                record({**r, "from": str(args.brian2_from)})
        args.skip += ["runtime", "standalone"]
    if "runtime" not in args.skip:
        record(brian2_runtime(args.seconds, args.warmup, params, wiring))
    if "standalone" not in args.skip:
        for k, threads in enumerate(args.threads):
            record(brian2_standalone(args.seconds, args.warmup, threads, params, wiring, k == 0))

    batch = next((r for r in results if r["mode"] == "torch CPU"
                  and r["networks"] == args.networks), None)  # fmt: skip
    checks = {}
    if batch is not None:
        for r in results:
            if r["simulator"] == "brian2":
                checks[f"{r['mode']} {r['threads']} thread(s)"] = agreement(r, batch)
    meta = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "torch": torch.__version__,
        "brian2": b2.__version__,
        "numpy": np.__version__,
        "nice": os.nice(0),
        "timed_sim_s": args.seconds,
        "warmup_s": args.warmup,
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results, "agreement": checks},
                                   indent=1) + "\n")  # fmt: skip
    table = markdown(results, checks, meta)
    args.out.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
