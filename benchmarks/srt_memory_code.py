"""What the presynaptic code of the skill experiment's memory variant holds (a diagnostic).

Run by hand (not a test):

    python benchmarks/srt_memory_code.py

SkillLearning-v0 with ``history=0`` (the cue alone), random blocks, ``--envs`` sessions driven
by an evidence accumulator (it sums the cue channels and answers the largest sum after
``--wait`` steps). The observations go through the microstimulus encoder of the experiment's
populations (10 microstimuli of width 0.1 per channel): ``srt_memory`` (traces that outlast the
step, decay 0.9) and ``srt_memoryless`` (traces cleared by the reward of every step). At the
first step of each trial a linear decoder (least squares on one-hot labels, fitted on the first
half of the trials, tested on the second) reads the previous trial's target and the current
target from the code. In random blocks the previous target is uniform over the three positions
other than the current one, so a code of the current cue alone decodes it at about 1/3.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from plasticgym.encoding import MicrostimulusEncoder
from plasticgym.envs.skill import SkillLearningVectorEnv

CODES = {"srt_memory": (0.9, False), "srt_memoryless": (0.9, True)}
"""Population -> (stimulus trace decay, reward resets traces)."""


def first_step_codes(
    decay: float, resets: bool, n_envs: int, steps: int, wait: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The code at each trial's first step ``[n, 40]``, the previous and the current target."""
    protocol = [{"name": "r", "blocks": 40, "block_type": "random"}]
    env = SkillLearningVectorEnv(
        num_envs=n_envs, history=0, block_trials=100, reward_error=-1.0, protocol=protocol
    )
    encoder = MicrostimulusEncoder(4, 10, 0.1, decay, reward_resets_traces=resets)
    obs, _ = env.reset(seed=seed)
    state = encoder.init(n_envs, torch.device("cpu"))
    start = torch.ones(n_envs, dtype=torch.bool)
    code, state = encoder.encode(state, torch.as_tensor(obs), torch.zeros(n_envs), start)
    total, t = np.zeros((n_envs, 4)), np.zeros(n_envs, dtype=int)
    previous = np.full(n_envs, -1)
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for step in range(steps):
        keep = (t == 0) & (previous >= 0)
        if step > 50:
            rows.append((code.numpy()[keep], previous[keep], env.target[keep]))
        total[t == 0] = 0.0
        total += obs
        actions = np.where(t + 1 >= wait, total.argmax(axis=1) + 1, 0)
        target = env.target.copy()
        obs, reward, terminated, _, info = env.step(actions)
        ended = info["latency"] > 0
        previous, t = np.where(ended, target, previous), np.where(ended, 0, t + 1)
        code, state = encoder.encode(state, torch.as_tensor(obs),
                                     torch.as_tensor(reward, dtype=torch.float32),
                                     torch.as_tensor(terminated))  # fmt: skip
    codes, before, current = (np.concatenate(column) for column in zip(*rows, strict=True))
    return codes, before, current


def decoded(codes: np.ndarray, labels: np.ndarray) -> float:
    """Held-out accuracy of a least-squares linear decoder of ``labels`` (0..3)."""
    x = np.hstack([codes, np.ones((len(codes), 1))])
    half = len(x) // 2
    weights = np.linalg.lstsq(x[:half], np.eye(4)[labels[:half]], rcond=None)[0]
    return float((np.argmax(x[half:] @ weights, axis=1) == labels[half:]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--wait", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name, (decay, resets) in CODES.items():
        codes, before, current = first_step_codes(decay, resets, args.envs, args.steps,
                                                  args.wait, args.seed)  # fmt: skip
        held_out = len(codes) - len(codes) // 2
        print(
            f"{name:15s} trials {held_out:6d} (held out): previous target "
            f"{decoded(codes, before):.3f}, current target {decoded(codes, current):.3f}"
        )


if __name__ == "__main__":
    main()
