"""How many torch threads a population learns with, chosen automatically unless the user chose.

A population's tensors are small (``[B, n_post, n_pre]`` with a few dozen synapses per agent)
until ``B`` is in the thousands, and on such tensors torch's intra-op threads cost more in
synchronisation than they bring: with torch's default (one thread per core) a small population
runs several times slower than with one thread, and far slower on a busy machine. So
``learn`` runs with one thread when the population is small, and with the threads it found
otherwise::

    with learning_threads(n_agents, device):   # what every agent's learn does
        ...                                    # torch's thread count is restored on exit

The crossover was measured with ``benchmarks/thread_crossover.py`` on the 2-core development
machine, shared with other work (torch 2.13, CPU; PlasticAgent on Pavlovian-v0, 300 steps,
best of 2; 40 steps, 1 run at 4096 and 16384), agent-steps per second:

======  ========  =========  =====
agents  1 thread  2 threads  ratio
======  ========  =========  =====
1            249        263   0.95
16         4,531        648   7.0
64        13,305      1,848   7.2
256       38,893      3,085  12.6
1024      76,327      3,495  21.8
4096     132,264      8,215  16.1
16384     47,045     19,314   2.4
======  ========  =========  =====

One thread wins at every size measured but a single agent (where the two are alike), by a
factor that falls toward 1 for the largest populations, so below :data:`SMALL_POPULATION`
agents one thread is chosen and at or above it torch's threads are left as they are (larger
populations belong on a GPU or on a machine with idle cores, where threads pay).
Stable-Baselines3 agents train one small network at a time, so
:class:`~plasticgym.agents.SB3Agent` uses one thread at every population size (PPO, 2 agents,
256 steps: 10 s with 1 thread vs 33 s with 2; DQN 2.5 s vs 19 s).

**An explicit choice is respected.** The automatic choice is made only when nobody chose:

- ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set in the environment, or
- ``PLASTICGYM_AUTO_THREADS=0`` is set (switches the automatic choice off), or
- torch's thread count differs from the one it had when plasticgym's agents were first
  imported (the user called ``torch.set_num_threads``), or
- the call runs inside :func:`explicit_threads` (what ``--threads N`` on the command line, the
  ``threads`` argument of :func:`plasticgym.experiments.report.run_experiment` and a trial
  spec's ``threads`` use),

then ``learn`` leaves torch's threads alone. One case cannot be told apart: calling
``torch.set_num_threads`` with torch's default count, or before importing plasticgym's agents;
use ``OMP_NUM_THREADS`` or ``PLASTICGYM_AUTO_THREADS=0`` then. Only CPU tensors are affected.

Numbers: PlasticAgent's records and weights are bit-identical with 1 thread and with 2
(``tests/test_threads.py``: 8 agents, 300 steps), and so were SB3 DQN's on a small case; SB3
PPO's are not (its minibatch gradients are summed in another order), so a PPO run depends on
the thread count, which the automatic choice fixes at 1 on every machine.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from plasticgym.guards import check_threads

SMALL_POPULATION = 32768
"""Populations with fewer agents than this learn with one torch thread (see the module
docstring for the measurement)."""

ENV_SWITCH = "PLASTICGYM_AUTO_THREADS"
"""Environment variable: ``0`` switches the automatic choice off."""

_EXPLICIT_MARK = "_PLASTICGYM_EXPLICIT_THREADS"
"""Set in the environment while :func:`explicit_threads` runs (inherited by worker processes)."""

_STARTUP_THREADS = torch.get_num_threads()
"""torch's thread count when this module was first imported: a count that differs from it was
set by the user. A constant of the process, never changed."""


def auto_threads(n_agents: int, device: str | torch.device = "cpu") -> int | None:
    """The torch threads a population of ``n_agents`` on ``device`` should learn with: 1 for
    small populations on the CPU, ``None`` (leave torch's count as it is) otherwise."""
    if torch.device(device).type != "cpu":
        return None
    return 1 if n_agents < SMALL_POPULATION else None


def user_chose_threads() -> bool:
    """Whether the thread count was chosen explicitly (see the module docstring)."""
    if os.environ.get(ENV_SWITCH, "").strip() == "0" or os.environ.get(_EXPLICIT_MARK):
        return True
    if os.environ.get("OMP_NUM_THREADS") or os.environ.get("MKL_NUM_THREADS"):
        return True
    return torch.get_num_threads() != _STARTUP_THREADS


@contextlib.contextmanager
def learning_threads(n_agents: int, device: str | torch.device = "cpu") -> Iterator[int]:
    """Run the block with :func:`auto_threads` threads unless the user chose (then as they
    are); restore torch's thread count on exit. Yields the count in use."""
    previous = torch.get_num_threads()
    chosen = None if user_chose_threads() else auto_threads(n_agents, device)
    if chosen is not None and chosen != previous:
        torch.set_num_threads(chosen)
    try:
        yield torch.get_num_threads()
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


@contextlib.contextmanager
def explicit_threads(threads: int | None) -> Iterator[None]:
    """Run the block with exactly ``threads`` torch threads, which ``learn`` then respects
    (``None``: leave the count and the automatic choice as they are); restore on exit.

    Raises:
        ValueError: ``threads`` is not an integer in ``[1, 4 x cores]``
            (:func:`plasticgym.guards.check_threads`).
    """
    if threads is None:
        yield
        return
    check_threads(threads)
    previous, mark = torch.get_num_threads(), os.environ.get(_EXPLICIT_MARK)
    torch.set_num_threads(threads)
    os.environ[_EXPLICIT_MARK] = str(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
        if mark is None:
            os.environ.pop(_EXPLICIT_MARK, None)
        else:
            os.environ[_EXPLICIT_MARK] = mark


__all__ = [
    "ENV_SWITCH",
    "SMALL_POPULATION",
    "auto_threads",
    "explicit_threads",
    "learning_threads",
    "user_chose_threads",
]
