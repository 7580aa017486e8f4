"""Runnable studies that reproduce classic findings (imported as ``plasticgym.experiments``).

Each experiment is a module that trains populations of agents, judges the finding's signature
from the records with statistics over agents, and draws its figures. Run one with
``plasticgym experiment NAME [--quick]`` or :func:`plasticgym.experiments.report.run_experiment`,
which writes ``report.md``, the records, the config, the result and the figures into a folder.
:data:`EXPERIMENTS` names them; :func:`load_experiment` imports one.

The interface every experiment module follows:

- ``NAME: str`` (its key in :data:`EXPERIMENTS`) and ``DESCRIPTION: str`` (one line).
- ``Config``: a frozen dataclass with at least ``seed: int``, ``n_agents: int`` (the
  population size: each agent is an independent seed of a batched population; the statistics
  are over agents) and ``device: str = "cpu"``; its classmethod ``quick(**overrides)`` returns
  the short version (well under 2 minutes on 2 CPU cores) that still computes every verdict.
- ``run(config, out_dir: Path, progress_bar: bool = False) -> dict[str, pandas.DataFrame]``:
  trains and returns named record tables; the agents of this library it trains log to
  TensorBoard under ``out_dir / "tensorboard"`` (:func:`~plasticgym.experiments.report.
  tensorboard_folder`), one run per population named by its group
  (:func:`~plasticgym.experiments.report.run_name`); ``out_dir=None``: no logs.
- ``analyse(records, config) -> dict`` with at least ``"verdicts"`` (``{signature: bool}``,
  computed from the records), ``"table"`` (a DataFrame of the result numbers: means and 95%
  CIs over agents ...) and ``"lines"`` (``{signature: one-line explanation with the
  numbers}``); it may add anything ``plot`` needs.
- ``plot(records, result, out_dir: Path) -> list[Path]``: PNG figures (matplotlib, Agg).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from types import ModuleType

EXPERIMENTS: dict[str, str] = {
    "rpe_transfer": "plasticgym.experiments.rpe_transfer",
    "habit_devaluation": "plasticgym.experiments.habit_devaluation",
    "two_step": "plasticgym.experiments.two_step",
    "addiction": "plasticgym.experiments.addiction",
    "skill": "plasticgym.experiments.skill",
    "homeostasis": "plasticgym.experiments.homeostasis",
    "compare": "plasticgym.experiments.compare",
    "tag_capture": "plasticgym.experiments.tag_capture",
    "stdp_window": "plasticgym.experiments.stdp_window",
    "consolidation_behaviour": "plasticgym.experiments.consolidation_behaviour",
    "map_plasticity": "plasticgym.experiments.map_plasticity",
    "systems_consolidation": "plasticgym.experiments.systems_consolidation",
    "aging": "plasticgym.experiments.aging",
    "spine_turnover": "plasticgym.experiments.spine_turnover",
    "distal_reward": "plasticgym.experiments.distal_reward",
    "spiking_tasks": "plasticgym.experiments.spiking_tasks",
    "tuned_compare": "plasticgym.experiments.tuned_compare",
}
"""Experiment name -> module (the command line's ``plasticgym experiment NAME``)."""

REQUIRED = ("NAME", "DESCRIPTION", "Config", "run", "analyse", "plot")
"""What an experiment module must define (see the module docstring)."""


def load_experiment(name: str) -> ModuleType:
    """Import the experiment ``name`` of :data:`EXPERIMENTS`.

    Raises:
        ValueError: ``name`` is unknown (the message lists the known names), its module is not
            written yet, or it lacks part of the interface.
    """
    if name not in EXPERIMENTS:
        known = ", ".join(EXPERIMENTS)
        raise ValueError(f"unknown experiment {name!r}; known experiments: {known}")
    path = EXPERIMENTS[name]
    try:
        module = importlib.import_module(path)
    except ModuleNotFoundError as error:
        if error.name != path:  # a dependency of the module is missing: not ours to hide
            raise
        available = ", ".join(available_experiments())
        raise ValueError(
            f"experiment {name!r} is not available yet (module {path} is not written); "
            f"available: {available}"
        ) from None
    missing = [attribute for attribute in REQUIRED if not hasattr(module, attribute)]
    if missing:
        raise ValueError(f"experiment module {path} lacks {missing} of the experiment interface")
    return module


def available_experiments() -> dict[str, str]:
    """Name -> one-line description of every experiment whose module exists."""
    out = {}
    for name, path in EXPERIMENTS.items():
        if importlib.util.find_spec(path) is not None:
            out[name] = importlib.import_module(path).DESCRIPTION
    return out


def summary(module: ModuleType) -> str:
    """The module docstring of an experiment, dedented."""
    return inspect.cleandoc(module.__doc__ or "")


__all__ = ["EXPERIMENTS", "REQUIRED", "available_experiments", "load_experiment", "summary"]
