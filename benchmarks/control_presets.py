"""How well PlasticAgent's presets learn Gymnasium's CartPole-v1 and CliffWalking-v1 (issue 16).

Run by hand (not a test; numbers in docs/agents.md)::

    python benchmarks/control_presets.py CartPole-v1 --seeds 0 1 2 --agents 32 \\
        --checkpoints 10000 20000 30000
    python benchmarks/control_presets.py CliffWalking-v1 --seeds 0 1 --agents 16 \\
        --checkpoints 20000

Protocol (fixed before the verdict runs): each seed trains ``--agents`` agents of the preset
together; at every checkpoint (steps per agent) the score of an agent is the mean return of
its last 10 *training* episodes (softmax exploration on, as the agent learns), and the line
printed gives the mean over agents with a 95% t-interval (``experiments.stats.mean_ci``), the
median and the number of agents above the target. After the last checkpoint each agent also
runs one *greedy* episode (``predict(deterministic=True)`` on a fresh env of the same task,
the agent's running normalisation and weights frozen, at most ``--greedy-steps`` steps).

Verdicts: CartPole-v1 passes "above 195" when, at 30,000 steps per agent, the lower end of the
95% interval of the training score is above 195 for every seed (a random policy scores 22).
CliffWalking-v1 passes "-17 or better" when, at 20,000 steps per agent, the lower end of the
95% interval of the training score is at least -17 for every seed (optimal -13); the greedy
score is reported beside it and said to be the greedy one. An agent that has finished no
episode by a checkpoint has no score (``n_no_episode``); any such agent fails the verdict.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import gymnasium as gym
import numpy as np

from plasticgym.agents import PlasticAgent, plastic_preset
from plasticgym.experiments.stats import mean_ci

TARGETS = {"CartPole-v1": 195.0, "CliffWalking-v1": -17.0}


def training_scores(
    env_id: str, n_agents: int, seed: int, checkpoints: list[int]
) -> tuple[PlasticAgent, dict[int, np.ndarray]]:
    """Train the preset's agents; the mean of each agent's last 10 episodes at each checkpoint
    (NaN for an agent that has finished no episode)."""
    returns: list[list[float]] = [[] for _ in range(n_agents)]

    def collect(agent: PlasticAgent) -> None:
        done = agent._progress.autoreset.numpy()
        for i in np.flatnonzero(done):
            returns[i].append(float(agent._progress.episode_return[i]))

    agent = PlasticAgent(env_id, n_agents=n_agents, seed=seed, **plastic_preset(env_id))
    scores, done_steps = {}, 0
    for checkpoint in checkpoints:
        agent.learn(checkpoint - done_steps, callback=collect)
        done_steps = checkpoint
        scores[checkpoint] = np.array([np.mean(r[-10:]) if r else np.nan for r in returns])
    return agent, scores


def greedy_scores(agent: PlasticAgent, env_id: str, seed: int, max_steps: int) -> np.ndarray:
    """One greedy episode per agent (its most preferred action every step), return each."""
    n_agents = agent.n_agents
    envs = [gym.make(env_id) for _ in range(n_agents)]
    obs = np.stack([env.reset(seed=seed * 10_000 + i)[0] for i, env in enumerate(envs)])
    total, alive = np.zeros(n_agents), np.ones(n_agents, dtype=bool)
    state = None
    start = np.ones(n_agents, dtype=bool)
    for _ in range(max_steps):
        actions, state = agent.predict(obs, state, episode_start=start, deterministic=True)
        start = np.zeros(n_agents, dtype=bool)
        for i in np.flatnonzero(alive):
            o, r, terminated, truncated, _ = envs[i].step(int(actions[i]))
            obs[i], total[i] = o, total[i] + r
            alive[i] = not (terminated or truncated)
        if not alive.any():
            break
    return total


def summary(values: np.ndarray, target: float) -> dict[str, Any]:
    mean, low, high = mean_ci(values)
    return {"mean": round(mean, 1), "ci": [round(low, 1), round(high, 1)],
            "median": round(float(np.median(values)), 1),
            "n_reaching_target": int((values >= target).sum()), "n": len(values),
            "n_no_episode": int(np.isnan(values).sum())}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("env_id", choices=sorted(TARGETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--agents", type=int, default=32)
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[10000, 20000, 30000])
    parser.add_argument("--greedy-steps", type=int, default=500)
    args = parser.parse_args()
    target = TARGETS[args.env_id]
    for seed in args.seeds:
        t0 = time.perf_counter()
        agent, scores = training_scores(args.env_id, args.agents, seed, args.checkpoints)
        seconds = round(time.perf_counter() - t0, 1)
        for checkpoint, values in scores.items():
            row = {"env": args.env_id, "seed": seed, "steps": checkpoint, "measure": "training",
                   **summary(values, target)}  # fmt: skip
            print(json.dumps(row), flush=True)
        greedy = greedy_scores(agent, args.env_id, seed, args.greedy_steps)
        row = {"env": args.env_id, "seed": seed, "steps": args.checkpoints[-1],
               "measure": "greedy", **summary(greedy, target),
               "train_seconds": seconds}  # fmt: skip
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
