"""Checks and timings on a CUDA device, run by hand on a machine with a GPU.

    python benchmarks/cuda_check.py

1. The Schultz signature (rpe_transfer verdicts) with the synapses on the GPU.
2. Same seed => bit-identical records on the GPU; save -> load -> continue equals
   uninterrupted learning on the GPU.
3. Agent-steps per second on CPU and GPU for several population sizes.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.experiments import rpe_transfer

ENV = "plasticgym/Pavlovian-v0"
SHORT = {"n_trials": 3, "iti": (2, 5), "cs_us_interval": 3}


def check_signature(device: str) -> None:
    config = rpe_transfer.RpeTransferConfig(n_agents=32, seed=0, device=device)
    _, records = rpe_transfer.run(config)
    result = rpe_transfer.analyse(records, config)
    print(f"[{device}] rpe_transfer:\n{rpe_transfer.format_summary(result)}")
    assert all(result["verdicts"].values()), result["verdicts"]


def check_determinism_and_resume(device: str) -> None:
    def make():
        return PlasticAgent(ENV, n_agents=16, seed=5, env_kwargs=SHORT, device=device)

    a, b = make().learn(500, record=True), make().learn(500, record=True)
    pd.testing.assert_frame_equal(a.records, b.records)
    assert torch.equal(a.actor_weights, b.actor_weights)
    with tempfile.TemporaryDirectory() as tmp:
        reference, interrupted = make(), make()
        interrupted.learn(300, record=True)
        restored = PlasticAgent.load(interrupted.save(Path(tmp) / "agent"), device=device)
        restored.learn(200, record=True)
        reference.learn(500, record=True)
        tail = reference.records[reference.records["step"] >= 300].reset_index(drop=True)
        pd.testing.assert_frame_equal(restored.records, tail)
        assert torch.equal(restored.critic_weights, reference.critic_weights)
    print(f"[{device}] determinism and save/load/continue: bit-identical")


def throughput(device: str, n_agents: int, steps: int = 1000) -> float:
    agent = PlasticAgent(ENV, n_agents=n_agents, seed=0, device=device)
    agent.learn(100)
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    agent.learn(steps)
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * n_agents / (time.perf_counter() - started)


def main() -> None:
    print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}")
    if torch.cuda.is_available():
        print(torch.cuda.get_device_name(0))
    check_signature("cuda")
    check_determinism_and_resume("cuda")
    print(f"{'n_agents':>9s} {'cpu agent-steps/s':>18s} {'cuda agent-steps/s':>19s}")
    for n in (1, 64, 1024, 16384):
        cpu, gpu = throughput("cpu", n), throughput("cuda", n)
        print(f"{n:9d} {cpu:18,.0f} {gpu:19,.0f}")


if __name__ == "__main__":
    main()
