"""Digests of PlasticAgent's behaviour over many configurations, to check that a speed-up
changes nothing.

Run by hand (not a test): write the digests of one commit, then check another against them::

    python benchmarks/digest.py --write /tmp/digest.json     # on the reference commit
    python benchmarks/digest.py --check /tmp/digest.json     # after a change

Each configuration learns twice (records on, then off, then on again, so a step path with
and without records is covered), and its digest is a SHA-256 over the records (every
column's values and dtype), every model-state tensor (:meth:`_model_state`, flattened), the
step bookkeeping, the generators' states, and ``predict`` (stochastic and deterministic, with
and without traces). Bit-identical means equal digests; the digests hold for one machine and
torch build (float results can differ across CPUs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from plasticgym.agents import PlasticAgent, plastic_preset
from plasticgym.checkpoint import flatten_state
from plasticgym.synapses import TaggedSynapse

BANDIT = "plasticgym/ReversalBandit-v0"

CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": (BANDIT, {}),
    "bandit_preset": (BANDIT, plastic_preset(BANDIT)),
    "scaling_off": (BANDIT, {"synaptic_scaling": False}),
    "per_agent_values": (BANDIT, {"actor_lr": [0.01 * (i + 1) for i in range(8)]}),
    "centered_post": (BANDIT, {"actor_post": "centered", "dopamine_tonic": 0.05}),
    "pavlovian": ("plasticgym/Pavlovian-v0", {}),
    "redish": ("plasticgym/Addiction-v0", {"dopamine": "redish", "drug_surge": 0.3}),
    "average_reward": ("plasticgym/Addiction-v0", {"dopamine": "average_reward"}),
    "homeostatic": ("plasticgym/Addiction-v0", {"dopamine": "homeostatic"}),
    "habit": ("plasticgym/HabitFormation-v0", {"habit": True, "habit_lr": 0.01}),
    "goal_directed": ("plasticgym/TwoStep-v0", {"goal_directed": True, "habit": True}),
    "latent_causes": (BANDIT, {"latent_causes": 3, "cause_split_threshold": 0.05}),
    "tagged": (BANDIT, {"synapse": TaggedSynapse()}),
    "tagged_expected": (BANDIT, {"synapse": TaggedSynapse(sampled=False)}),
    "calcium": (BANDIT, {"synapse": "calcium"}),
    "bcm": (BANDIT, {"synapse": "bcm"}),
    "reaching_box": ("plasticgym/Reaching-v0", plastic_preset("plasticgym/Reaching-v0")),
    "two_step": ("plasticgym/TwoStep-v0", plastic_preset("plasticgym/TwoStep-v0")),
    "skill": ("plasticgym/SkillLearning-v0", plastic_preset("plasticgym/SkillLearning-v0")),
    "tone_map": ("plasticgym/ToneDiscrimination-v0", {"topographic_map": True}),
    "systems": (BANDIT, {"systems": True}),
    "structure": (BANDIT, {"structure": True}),
    "cartpole": ("CartPole-v1", plastic_preset("CartPole-v1")),
    "cliff": ("CliffWalking-v1", plastic_preset("CliffWalking-v1")),
    "acrobot": ("Acrobot-v1", {}),
    "frozen_lake": ("FrozenLake-v1", {}),
}
"""Name -> (env id, PlasticAgent keywords)."""

N_AGENTS = 8
STEPS = (120, 60, 120)  # records on, off, on


def _update_array(digest: Any, name: str, value: Any) -> None:
    array = np.ascontiguousarray(np.asarray(value))
    if array.dtype == object:
        array = np.asarray([repr(v) for v in array.ravel()])
    digest.update(f"{name}:{array.dtype}:{array.shape};".encode())
    digest.update(array.tobytes())


def agent_digest(env_id: str, kwargs: dict[str, Any], log_dir: str | None = None) -> str:
    """SHA-256 of one configuration's records, state, bookkeeping and predictions."""
    digest = hashlib.sha256()
    agent = PlasticAgent(env_id, n_agents=N_AGENTS, seed=7, tensorboard_log=log_dir, **kwargs)
    for i, steps in enumerate(STEPS):
        agent.learn(steps, record=i != 1)
    records = agent.records
    for column in records.columns:
        _update_array(digest, f"records.{column}", records[column].to_numpy())
    flat: dict[str, torch.Tensor] = {}
    for name, value in agent._model_state().items():
        flat.update(flatten_state(f"model.{name}", value))
    for name in sorted(flat):
        _update_array(digest, name, flat[name].cpu().numpy())
    for name, value in agent._progress._asdict().items():
        _update_array(digest, f"progress.{name}", value.cpu().numpy())
    _update_array(digest, "episodes_completed", agent.episodes_completed)
    _update_array(digest, "num_timesteps", agent.num_timesteps)
    for name in ("_learn_generator", "_predict_generator"):
        _update_array(digest, name, getattr(agent, name).get_state().numpy())
    space = agent.env.single_observation_space
    space.seed(3)
    obs = np.stack([space.sample() for _ in range(N_AGENTS)])
    state = None
    for deterministic in (False, True, False):
        actions, state = agent.predict(obs, state=state, deterministic=deterministic)
        _update_array(digest, f"predict.{deterministic}", actions)
        _update_array(digest, f"predict.state.{deterministic}", state)
    agent.close()
    if log_dir is not None:
        _update_scalars(digest, log_dir)
    return digest.hexdigest()


def _update_scalars(digest: Any, log_dir: str) -> None:
    """Every TensorBoard scalar (tag, step, value) written under ``log_dir``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for run in sorted(Path(log_dir).iterdir()):
        events = EventAccumulator(str(run), size_guidance={"scalars": 0})
        events.Reload()
        for tag in sorted(events.Tags()["scalars"]):
            rows = [(e.step, e.value) for e in events.Scalars(tag)]
            _update_array(digest, f"tb.{tag}", np.asarray(rows, dtype=np.float64))


def all_digests(names: list[str], log: Callable[[str], None] = print) -> dict[str, str]:
    """Digest of every named configuration (and of the default agent logging to
    TensorBoard, whose step summaries take another path)."""
    torch.set_num_threads(1)
    out = {}
    for name in names:
        env_id, kwargs = CONFIGS[name]
        out[name] = agent_digest(env_id, kwargs)
        log(f"{name:18s} {out[name][:16]}")
    with tempfile.TemporaryDirectory() as tmp:
        out["default_tensorboard"] = agent_digest(BANDIT, {}, log_dir=tmp)
    log(f"{'default_tensorboard':18s} {out['default_tensorboard'][:16]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="write the digests to this JSON file")
    group.add_argument("--check", type=Path, help="compare with the digests in this file")
    parser.add_argument("--only", nargs="+", choices=sorted(CONFIGS), default=sorted(CONFIGS))
    args = parser.parse_args()
    digests = all_digests(args.only)
    if args.write:
        args.write.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(digests)} digests to {args.write}")
        return
    expected = json.loads(args.check.read_text())
    differ = [name for name, value in digests.items() if expected.get(name) != value]
    if differ:
        print(f"DIFFERENT: {differ}")
        sys.exit(1)
    print(f"all {len(digests)} digests identical")


if __name__ == "__main__":
    main()
