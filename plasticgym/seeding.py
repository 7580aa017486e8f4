"""One user seed fans out into independent streams for the env and the agent.

No global RNG anywhere: every random draw in plasticgym comes from a generator made here.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class SeedPlan(NamedTuple):
    """Seeds derived from one user seed through :class:`numpy.random.SeedSequence`.

    Attributes:
        entropy: the root entropy (the user's seed, or fresh OS entropy recorded for replay).
        env_seed: passed to ``env.reset(seed=...)`` on the first reset.
        learn_seed: seeds the torch generator that samples actions during ``learn``.
        predict_seed: seeds the torch generator of ``predict``, so that predicting between
            ``learn`` calls does not change what ``learn`` does.
        init_seed: seeds the generator that draws initial weights.
    """

    entropy: int
    env_seed: int
    learn_seed: int
    predict_seed: int
    init_seed: int


def seed_plan(seed: int | None) -> SeedPlan:
    """Fan a user seed out into the streams of :class:`SeedPlan`.

    ``seed=None`` draws fresh entropy from the OS; it is returned in ``entropy`` so the run can
    be replayed exactly.
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be a non-negative int or None, got {seed}")
    root = np.random.SeedSequence(seed)
    entropy = int(root.entropy)
    children = root.spawn(4)
    env, learn, predict, init = (int(c.generate_state(1, np.uint32)[0]) for c in children)
    return SeedPlan(entropy, env, learn, predict, init)


def torch_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator
