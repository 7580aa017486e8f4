"""Env-steps per second of every plasticgym task: native vector env vs a loop of single envs.

Run by hand (not a test):  python benchmarks/env_throughput.py [--steps 300] [--ids ...]
                           python benchmarks/env_throughput.py --gym [--gym-ids ...]

For each task: the native vector env at num_envs = 1 and 1024, and 1024 single envs stepped
one by one in a Python loop (what a user without a native vector env would do). Actions are
sampled beforehand so only the env is timed. Reports env-steps/s and the speed-up of the
native 1024-env version over the loop, per env-step.

``--gym``: Gymnasium tasks without a native vector env, as PlasticAgent steps them (one copy
per agent): ``gymnasium.vector.SyncVectorEnv`` vs plasticgym's
:class:`~plasticgym.agents.vector_env.LoopVectorEnv` (the same sub-envs and results, a leaner
step), 1024 copies, CPU time per env-step (best of 3, less sensitive to other processes).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

from plasticgym.docs import task_ids


def sampled_actions(space: gym.Space, n: int, steps: int, seed: int = 0) -> list[np.ndarray]:
    batched = gym.vector.utils.batch_space(space, n)
    batched.seed(seed)
    return [batched.sample() for _ in range(steps)]


def native_rate(env_id: str, num_envs: int, steps: int) -> float:
    env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    actions = sampled_actions(env.single_action_space, num_envs, steps)
    env.step(actions[0])
    started = time.perf_counter()
    for action in actions:
        env.step(action)
    return steps * num_envs / (time.perf_counter() - started)


def loop_rate(env_id: str, num_envs: int, steps: int) -> float:
    envs = [gym.make(env_id).unwrapped for _ in range(num_envs)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    actions = sampled_actions(envs[0].action_space, num_envs, steps)
    started = time.perf_counter()
    for action in actions:
        for env, a in zip(envs, action, strict=True):
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()
    return steps * num_envs / (time.perf_counter() - started)


GYM_IDS = ("CartPole-v1", "MountainCar-v0", "Acrobot-v1", "FrozenLake-v1", "CliffWalking-v1")


def sync_rate(env_id: str, num_envs: int, steps: int, loop: bool) -> float:
    """Env-steps per CPU second of SyncVectorEnv (``loop=False``) or LoopVectorEnv."""
    from plasticgym.agents.vector_env import LoopVectorEnv

    env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync")
    if loop:
        env = LoopVectorEnv.adopt(env)
    env.reset(seed=0)
    actions = sampled_actions(env.single_action_space, num_envs, steps)
    env.step(actions[0])
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for action in actions:
            env.step(action)
        best = min(best, time.process_time() - started)
    env.close()
    return steps * num_envs / best


def gym_table(ids: list[str], num_envs: int, steps: int) -> None:
    print(f"{'task':18s} {'SyncVectorEnv':>14s} {'LoopVectorEnv':>14s} {'speed-up':>9s}  "
          f"(env-steps per CPU second, {num_envs} copies)")  # fmt: skip
    for env_id in ids:
        sync = sync_rate(env_id, num_envs, steps, loop=False)
        lean = sync_rate(env_id, num_envs, steps, loop=True)
        print(f"{env_id:18s} {sync:14,.0f} {lean:14,.0f} {lean / sync:8.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--ids", nargs="*", default=None)
    parser.add_argument("--gym", action="store_true", help="Gymnasium tasks without a native "
                        "vector env: SyncVectorEnv vs LoopVectorEnv")  # fmt: skip
    parser.add_argument("--gym-ids", nargs="*", default=list(GYM_IDS))
    parser.add_argument("--num-envs", type=int, default=1024)
    args = parser.parse_args()
    if args.gym:
        gym_table(args.gym_ids, args.num_envs, max(args.steps // 10, 10))
        return
    ids = args.ids or task_ids()
    columns = ("native x1", "native x1024", "loop x1024", "speed-up")
    print(f"{'task':28s} {columns[0]:>12s} {columns[1]:>14s} {columns[2]:>12s} {columns[3]:>9s}")
    for env_id in ids:
        one = native_rate(env_id, 1, args.steps)
        many = native_rate(env_id, 1024, args.steps)
        loop = loop_rate(env_id, 1024, max(args.steps // 10, 10))
        print(f"{env_id:28s} {one:12,.0f} {many:14,.0f} {loop:12,.0f} {many / loop:8.0f}x")


if __name__ == "__main__":
    main()
