"""Sweeps: every combination of task x agent x hyperparameters x seed, each trial run once.

A sweep config (TOML, JSON, or YAML when PyYAML is installed) names what to combine::

    env = "plasticgym/ReversalBandit-v0"         # one id or a list
    agent = ["q_learning", "sarsa_lambda"]       # names of plasticgym.agents.AGENTS
    seeds = 3                                    # 3 means [0, 1, 2]; or a list of seeds
    trial = "plasticgym.experiments.trial:run_trial"   # optional: the trial function

    [params]                                     # the same for every trial
    steps = 2000                                 # required: env steps per agent
    n_agents = 8                                 # population size (default 1)
    env_kwargs = {}                              # arguments of the task
    hyperparameters = {gamma = 0.0}              # fixed hyperparameters
    device = "cpu"
    threads = 1                                  # torch threads per trial

    [grid]                                       # hyperparameter -> values (cartesian product)
    learning_rate = [0.05, 0.2]

or, instead of ``[grid]``, a seeded random search (:func:`sample_configs`)::

    [search]
    n_configs = 8                                # configurations drawn
    seed = 0                                     # the sampler's seed
    [search.space]                               # hyperparameter -> distribution
    learning_rate = {log_uniform = [0.01, 1.0]}
    trace_lambda = {uniform = [0.0, 0.95]}
    n_sweeps = {int_uniform = [1, 10]}
    policy = {choice = ["softmax", "epsilon_greedy"]}

Every trial is a plain dict, its *spec* (``env, agent, seed, steps, n_agents, env_kwargs,
hyperparameters, device, threads``), and its id is a short hash of the spec and the trial
function (:func:`trial_id`): it does not depend on the order of the config or on the other
trials, so adding seeds to a sweep and running it again into the same folder runs only the new
trials.

:func:`run_sweep` runs the trials that have no result yet. The trial function is given by
import path (``"module:function"``) and called as ``function(spec, folder) -> metrics``; if
its module defines ``check_spec(spec)``, every spec is checked with it before anything runs.
Output folder::

    sweep.json            the config (normalised) and every trial's id and spec
    trials/<id>/          what the trial function wrote, plus spec.json, attempts,
                          error.json (last failure) and result.json (written last, atomically)
    failures.json         trials that failed every attempt in the last run (id, spec, error)
    results.parquet, .csv one row per trial: id, status, env, agent, seed, steps, n_agents,
                          hyperparameters, metrics, error

A trial is done when its ``result.json`` exists: a folder without one (the sweep was killed)
is cleaned and the trial run again. A trial that raises is run again up to ``max_retries``
times and is then reported in ``failures.json`` while the other trials go on.

Determinism: a trial's outcome depends on its spec only (the agents are seeded from the spec's
seed, torch uses the spec's number of threads), so results are the same whether trials run
in-process, in worker processes or on Ray Tune, in any order.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib
import itertools
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import shutil
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from plasticgym.checkpoint import write_json
from plasticgym.config import check_choice, check_number
from plasticgym.extras import require_extra
from plasticgym.guards import check_threads
from plasticgym.records import save_records

DEFAULT_TRIAL = "plasticgym.experiments.trial:run_trial"
TOP_LEVEL_KEYS = ("env", "agent", "seeds", "grid", "search", "params", "trial")
PARAM_DEFAULTS: dict[str, Any] = {
    "n_agents": 1,
    "env_kwargs": {},
    "hyperparameters": {},
    "device": "cpu",
    "threads": 1,
}
PARAM_KEYS = ("steps", *PARAM_DEFAULTS)
BACKENDS = ("local", "ray")
RESULT = "result.json"
ERROR = "error.json"
ATTEMPTS = "attempts"
DIED = "the worker process died while running this trial (crash, out of memory or killed)"


class SweepConfigError(ValueError):
    """A sweep config is invalid; the message names the file, the key, the value and what is
    allowed."""


# ------------------------------------------------------------------------------ trial specs


def trial_spec(
    *,
    env: str,
    agent: str,
    seed: int,
    steps: int,
    n_agents: int = 1,
    env_kwargs: Mapping[str, Any] | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    device: str = "cpu",
    threads: int | None = 1,
) -> dict[str, Any]:
    """A validated trial spec (what a trial function receives). ``threads=None`` leaves torch's
    number of threads as it is. Raises ``ValueError`` naming the key."""
    for key, value in (("env", env), ("agent", agent), ("device", device)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{key}={value!r} is invalid: must be a non-empty string")
    check_number("seed", seed, 0, integer=True)
    check_number("steps", steps, 1, integer=True)
    check_number("n_agents", n_agents, 1, integer=True)
    if threads is not None:
        check_threads(threads)
    return {
        "env": env,
        "agent": agent,
        "seed": seed,
        "steps": steps,
        "n_agents": n_agents,
        "env_kwargs": _json_table("env_kwargs", env_kwargs or {}),
        "hyperparameters": _json_table("hyperparameters", hyperparameters or {}),
        "device": device,
        "threads": threads,
    }


def _json_table(key: str, value: Any) -> dict[str, Any]:
    """``value`` as a JSON object (string keys, JSON values), or ``ValueError``."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}={value!r} is invalid: must be a table (mapping) of names")
    try:
        return json.loads(canonical_json(dict(value)))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{key}={value!r} is invalid: must be JSON-serialisable ({error})"
        ) from None


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: equal data, equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def trial_id(spec: Mapping[str, Any], trial: str = DEFAULT_TRIAL) -> str:
    """12 hex digits of the SHA-256 of the spec and the trial function (canonical JSON)."""
    text = canonical_json({"spec": spec, "trial": trial})
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Trial(NamedTuple):
    """One trial of a sweep: its id, its spec and, in a random search, the index of its
    configuration among the drawn ones (``point``; None for a grid)."""

    id: str
    spec: dict[str, Any]
    point: int | None = None


# ------------------------------------------------------------------------------ random search

DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform", "int_log_uniform", "choice")
"""The distributions of a search space: ``{"uniform": [low, high]}`` (real), ``log_uniform``
(real, ``0 < low``), ``int_uniform`` / ``int_log_uniform`` (integers, bounds included) and
``{"choice": [value, ...]}`` (one of the JSON values, each equally likely)."""


def check_space(space: Any, where: str = "search.space") -> dict[str, dict[str, Any]]:
    """A validated search space (hyperparameter -> ``{distribution: arguments}``, see
    :data:`DISTRIBUTIONS`); ``ValueError`` naming the hyperparameter otherwise."""
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"{where}={space!r} is invalid: must be a non-empty table "
                         "hyperparameter -> distribution")  # fmt: skip
    checked = {}
    for name, spec in space.items():
        key = f"{where}.{name}"
        if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
            raise ValueError(
                f"{key}={spec!r} is invalid: must be one distribution, {{kind = arguments}} with "
                f"kind one of {list(DISTRIBUTIONS)}"
            )
        kind, arguments = next(iter(spec.items()))
        if kind == "choice":
            if not isinstance(arguments, list) or not arguments:
                raise ValueError(f"{key}.choice={arguments!r} is invalid: a non-empty list")
            if len({canonical_json(v) for v in arguments}) != len(arguments):
                raise ValueError(f"{key}.choice={arguments!r} is invalid: values must not repeat")
        else:
            integer = kind.startswith("int_")
            if not isinstance(arguments, list) or len(arguments) != 2:
                raise ValueError(f"{key}.{kind}={arguments!r} is invalid: must be [low, high]")
            low, high = arguments
            lowest = 0 if kind.endswith("log_uniform") else -math.inf
            check_number(f"{key}.{kind}[0]", low, lowest, integer=integer,
                         low_open=kind.endswith("log_uniform"))  # fmt: skip
            check_number(f"{key}.{kind}[1]", high, low, integer=integer)
        checked[str(name)] = {kind: copy.deepcopy(arguments)}
    _json_table(where, checked)
    return checked


def _stream(seed: int, name: str) -> np.random.Generator:
    """The sampler's generator of hyperparameter ``name``: ``SeedSequence([seed, crc32(name)])``,
    so that each hyperparameter's values do not depend on the others in the space."""
    import zlib

    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))


def sample_configs(space: Mapping[str, Any], n_configs: int, seed: int) -> list[dict[str, Any]]:
    """``n_configs`` configurations drawn independently from ``space`` (random search;
    Bergstra & Bengio 2012, JMLR 13:281): each hyperparameter draws its ``n_configs`` values
    from its own generator (:func:`_stream`). Deterministic given ``seed``; the first ``k``
    configurations are the same for every ``n_configs >= k`` (a larger budget only adds
    configurations), and adding a hyperparameter does not change the others' values.

    ``log_uniform [a, b]``: ``exp(U(log a, log b))``; ``int_log_uniform``: the same rounded
    down, ``floor(exp(U(log a, log(b + 1))))`` clipped to ``b``; ``int_uniform``: each
    integer of ``[a, b]`` equally likely."""
    space = check_space(space)
    check_number("n_configs", n_configs, 1, integer=True)
    check_number("seed", seed, 0, integer=True)
    columns: dict[str, list[Any]] = {}
    for name, spec in space.items():
        kind, arguments = next(iter(spec.items()))
        rng = _stream(seed, name)
        if kind == "choice":
            picks = rng.integers(0, len(arguments), size=n_configs)
            columns[name] = [copy.deepcopy(arguments[int(i)]) for i in picks]
            continue
        low, high = arguments
        if kind == "uniform":
            values = [float(v) for v in rng.uniform(low, high, size=n_configs)]
        elif kind == "log_uniform":
            values = [float(v) for v in np.exp(rng.uniform(math.log(low), math.log(high),
                                                           size=n_configs))]  # fmt: skip
        elif kind == "int_uniform":
            values = [int(v) for v in rng.integers(low, high, size=n_configs, endpoint=True)]
        else:  # int_log_uniform
            drawn = np.exp(rng.uniform(math.log(low), math.log(high + 1), size=n_configs))
            values = [int(min(high, max(low, math.floor(v)))) for v in drawn]
        columns[name] = values
    configs = [{name: columns[name][i] for name in space} for i in range(n_configs)]
    first: dict[str, int] = {}
    for i, config in enumerate(configs):
        j = first.setdefault(repr(sorted(config.items())), i)
        if j != i:
            raise ValueError(
                f"search: configurations {j} and {i} of n_configs={n_configs} are the same "
                f"draw {config}: search.space has too few distinct points (choice and small "
                "integer ranges) for this many independent draws; lower search.n_configs, "
                "widen search.space or list the points as a grid"
            )
    return configs


SEARCH_KEYS = ("n_configs", "seed", "space")


def _search(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"search={value!r} is invalid: must be a table with keys {SEARCH_KEYS}")
    unknown = sorted(set(value) - set(SEARCH_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in search; allowed: {list(SEARCH_KEYS)}")
    for key in ("n_configs", "space"):
        if key not in value:
            raise ValueError(f"search.{key} is required")
    check_number("search.n_configs", value["n_configs"], 1, integer=True)
    seed = value.get("seed", 0)
    check_number("search.seed", seed, 0, integer=True)
    return {"n_configs": value["n_configs"], "seed": seed, "space": check_space(value["space"])}


# ------------------------------------------------------------------------------ configs


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep: see the module docstring for the keys. Build it with
    :meth:`from_dict` or :func:`load_config`."""

    envs: tuple[str, ...]
    agents: tuple[str, ...]
    seeds: tuple[int, ...]
    params: dict[str, Any]
    grid: dict[str, list[Any]] = field(default_factory=dict)
    trial: str = DEFAULT_TRIAL
    search: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Any, source: str = "sweep config") -> SweepConfig:
        """Validate a config as read from a file; errors start with ``source``."""
        try:
            config = cls._from_dict(data)
            config.points()  # a search whose draws repeat is refused here, before any run
            return config
        except ValueError as error:
            raise SweepConfigError(f"{source}: {error}") from None

    @classmethod
    def _from_dict(cls, data: Any) -> SweepConfig:
        if not isinstance(data, Mapping):
            raise ValueError(f"the config must be a table of keys, got {type(data).__name__}")
        unknown = sorted(set(data) - set(TOP_LEVEL_KEYS))
        if unknown:
            raise ValueError(f"unknown key(s) {unknown}; allowed keys: {list(TOP_LEVEL_KEYS)}")
        for key in ("env", "agent", "params"):
            if key not in data:
                raise ValueError(f"missing key {key!r}")
        params = _params(data["params"])
        grid = _grid(data.get("grid", {}))
        search = _search(data["search"]) if "search" in data else None
        if search is not None and grid:
            raise ValueError("give either grid or search, not both")
        searched = set(search["space"]) if search is not None else set()
        fixed = sorted((set(grid) | searched) & set(params["hyperparameters"]))
        if fixed:
            raise ValueError(
                f"hyperparameter(s) {fixed} are both in {'search.space' if searched else 'grid'} "
                "and in params.hyperparameters; give each in one place"
            )
        trial = data.get("trial", DEFAULT_TRIAL)
        if not isinstance(trial, str) or trial.count(":") != 1 or not all(trial.split(":")):
            raise ValueError(f"trial={trial!r} is invalid: must be 'module:function'")
        return cls(
            envs=_names("env", data["env"]),
            agents=_names("agent", data["agent"]),
            seeds=_seeds(data.get("seeds", 1)),
            params=params,
            grid=grid,
            trial=trial,
            search=search,
        )

    def to_dict(self) -> dict[str, Any]:
        """The config as :meth:`from_dict` reads it (seeds as a list)."""
        data = {
            "env": list(self.envs),
            "agent": list(self.agents),
            "seeds": list(self.seeds),
            "params": copy.deepcopy(self.params),
            "grid": copy.deepcopy(self.grid),
            "trial": self.trial,
        }
        if self.search is not None:
            del data["grid"]
            data["search"] = copy.deepcopy(self.search)
        return data

    def points(self) -> list[dict[str, Any]]:
        """The hyperparameter settings: the grid's cartesian product, or the configurations
        the search draws (:func:`sample_configs`)."""
        if self.search is not None:
            search = self.search
            return sample_configs(search["space"], search["n_configs"], search["seed"])
        names = list(self.grid)
        return [dict(zip(names, values, strict=True))
                for values in itertools.product(*(self.grid[n] for n in names))]  # fmt: skip

    def trials(self) -> list[Trial]:
        """Every trial: env x agent x point (grid point or drawn configuration) x seed, in that
        nesting order."""
        points = self.points()
        trials = []
        for env, agent in itertools.product(self.envs, self.agents):
            for index, point in enumerate(points):
                hyperparameters = {**self.params["hyperparameters"], **point}
                for seed in self.seeds:
                    params = {**self.params, "hyperparameters": hyperparameters}
                    spec = trial_spec(env=env, agent=agent, seed=seed, **params)
                    number = index if self.search is not None else None
                    trials.append(Trial(trial_id(spec, self.trial), spec, number))
        return trials


def _names(key: str, value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{key}={value!r} is invalid: must be a name or a non-empty list of names")
    if len(set(names)) != len(names):
        raise ValueError(f"{key}={value!r} is invalid: names must not repeat")
    return tuple(names)


def _seeds(value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        check_number("seeds", value, 1, integer=True)
        return tuple(range(value))
    if not isinstance(value, list) or not value:
        raise ValueError(
            f"seeds={value!r} is invalid: must be a count N >= 1 (seeds 0..N-1) or a non-empty "
            "list of seeds"
        )
    for i, seed in enumerate(value):
        check_number(f"seeds[{i}]", seed, 0, integer=True)
    if len(set(value)) != len(value):
        raise ValueError(f"seeds={value!r} is invalid: seeds must not repeat")
    return tuple(value)


def _params(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"params={value!r} is invalid: must be a table with keys {PARAM_KEYS}")
    unknown = sorted(set(value) - set(PARAM_KEYS))
    if unknown:
        raise ValueError(
            f"unknown key(s) {unknown} in params; allowed: {list(PARAM_KEYS)} (fixed "
            "hyperparameters go in params.hyperparameters)"
        )
    if "steps" not in value:
        raise ValueError("params.steps (env steps per agent) is required")
    params = {**copy.deepcopy(PARAM_DEFAULTS), **value}
    # Validate now, with the key's full name in the message.
    try:
        trial_spec(env="-", agent="-", seed=0, **params)
    except ValueError as error:
        raise ValueError(f"params.{error}") from None
    return {k: params[k] for k in PARAM_KEYS}


def _grid(value: Any) -> dict[str, list[Any]]:
    if not isinstance(value, Mapping):
        raise ValueError(f"grid={value!r} is invalid: must be a table hyperparameter -> values")
    grid = {}
    for name, values in value.items():
        if not isinstance(values, list) or not values:
            raise ValueError(
                f"grid.{name}={values!r} is invalid: must be a non-empty list of values (a "
                "fixed value goes in params.hyperparameters)"
            )
        if len({canonical_json(v) for v in values}) != len(values):
            raise ValueError(f"grid.{name}={values!r} is invalid: values must not repeat")
        grid[name] = list(values)
    _json_table("grid", grid)
    return grid


def load_config(path: str | os.PathLike) -> SweepConfig:
    """Read and validate a sweep config: ``.toml``, ``.json``, or ``.yaml``/``.yml`` (needs
    PyYAML). Raises ``FileNotFoundError`` or :class:`SweepConfigError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sweep config not found: {path}")
    suffix = path.suffix.lower()
    text = path.read_text()
    try:
        if suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise SweepConfigError(
                    f"{path}: reading YAML needs PyYAML, which is not installed; write the "
                    "config as TOML or JSON (or pip install pyyaml)"
                ) from None
            data = yaml.safe_load(text)
        else:
            raise SweepConfigError(
                f"{path}: unknown config format {path.suffix!r}; use .toml, .json or .yaml"
            )
    except SweepConfigError:
        raise
    except Exception as error:  # the parsers' own error types (TOMLDecodeError, YAMLError...)
        raise SweepConfigError(f"{path}: cannot parse {suffix[1:].upper()}: {error}") from None
    return SweepConfig.from_dict(data, source=str(path))


# ------------------------------------------------------------------------------ one trial


def resolve_trial_function(path: str) -> Callable[[dict[str, Any], Path], Mapping[str, Any]]:
    """The function named by ``"module:function"``."""
    module_name, _, name = path.partition(":")
    function = getattr(importlib.import_module(module_name), name, None)
    if not callable(function):
        raise ValueError(f"trial={path!r} is invalid: {module_name} has no function {name!r}")
    return function


def check_trials(trials: Sequence[Trial], trial: str = DEFAULT_TRIAL) -> None:
    """Check every spec with the trial module's ``check_spec`` (if it has one) before running;
    raises :class:`SweepConfigError` naming the first bad trial."""
    try:
        resolve_trial_function(trial)
    except ImportError as error:
        raise SweepConfigError(f"trial={trial!r} cannot be imported: {error}") from None
    check = getattr(importlib.import_module(trial.partition(":")[0]), "check_spec", None)
    if check is None:
        return
    for item in trials:
        try:
            check(copy.deepcopy(item.spec))
        except ValueError as error:
            spec = item.spec
            raise SweepConfigError(
                f"trial {item.id} ({spec['agent']} on {spec['env']}, hyperparameters "
                f"{spec['hyperparameters']}): {error}"
            ) from None


LOCKS = ".locks"
"""Folder of ``trials/`` holding one lock file per trial (see :func:`claim_trial`)."""


class TrialBusyError(RuntimeError):
    """Another live process holds the trial's claim (it is running that trial now)."""


@contextlib.contextmanager
def claim_trial(trials_dir: str | os.PathLike, trial_id: str, wait_s: float = 0.0) -> Any:
    """Hold the trial's claim for the block: an exclusive ``flock`` on
    ``trials/.locks/<id>``, taken atomically by one process at a time and released by the
    kernel when the holder ends, however it ends (so a killed process leaves no stale claim).
    Waits up to ``wait_s`` seconds for a holder to finish, then raises
    :class:`TrialBusyError`. Without ``fcntl`` (Windows) no claim is taken."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    locks = Path(trials_dir) / LOCKS
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(locks / trial_id, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TrialBusyError(
                        f"trial {trial_id} is being run by another process (its claim "
                        f"{locks / trial_id} is held); stop that sweep or wait for it"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # (releases the lock)


def run_trial_once(item: Trial, trials_dir: str | os.PathLike, trial: str) -> dict[str, Any]:
    """Run one attempt of a trial in ``trials_dir/<id>/`` (cleaned first) and write its
    ``result.json`` atomically when it succeeds; on an exception write ``error.json`` and
    re-raise. The folder's ``attempts`` file counts the attempts of this sweep run. The
    attempt holds the trial's claim (:func:`claim_trial`) throughout, so no two processes
    ever clean or write one trial folder at once; a claimed trial raises
    :class:`TrialBusyError`."""
    with claim_trial(trials_dir, item.id):
        return _run_claimed(item, trials_dir, trial)


def _run_claimed(item: Trial, trials_dir: str | os.PathLike, trial: str) -> dict[str, Any]:
    folder = Path(trials_dir) / item.id
    attempts = read_attempts(folder) + 1
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / ATTEMPTS).write_text(str(attempts))
    write_json(folder / "spec.json", item.spec)
    started = time.perf_counter()
    try:
        metrics = resolve_trial_function(trial)(copy.deepcopy(item.spec), folder)
        if not isinstance(metrics, Mapping):
            raise TypeError(f"the trial function returned {type(metrics).__name__}, not a dict")
        result = {
            "id": item.id,
            "trial": trial,
            "spec": item.spec,
            "metrics": dict(metrics),
            "attempts": attempts,
            "seconds": time.perf_counter() - started,
        }
        write_json(folder / RESULT, result)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        write_json(folder / ERROR, {"error": message, "traceback": traceback.format_exc()})
        raise
    return result


def read_attempts(folder: Path) -> int:
    try:
        return int((folder / ATTEMPTS).read_text())
    except (OSError, ValueError):
        return 0


# ------------------------------------------------------------------------------ sweeps


@dataclass
class SweepSummary:
    """What :func:`run_sweep` did.

    Attributes:
        out_dir: the sweep's folder.
        total: trials in the config.
        skipped: ids of trials that were already done before this run.
        completed: ids of trials done in this run.
        failed: id -> error message of trials that failed every attempt.
        results: the results table (also in ``results.parquet``).
    """

    out_dir: Path
    total: int
    skipped: list[str]
    completed: list[str]
    failed: dict[str, str]
    results: pd.DataFrame


def run_sweep(
    config: SweepConfig | Mapping[str, Any] | str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    backend: str = "local",
    workers: int = 1,
    max_retries: int = 0,
    progress: bool = False,
    isolate: bool = False,
) -> SweepSummary:
    """Run every trial of ``config`` that has no result in ``out_dir`` yet.

    Args:
        config: a :class:`SweepConfig`, a dict as in a config file, or a config file's path.
        out_dir: the sweep's folder (see the module docstring); run again to resume.
        backend: ``"local"`` (a spawned process per trial attempt, ``workers`` at a time;
            ``workers=1`` runs the trials in this process)
            or ``"ray"`` (Ray Tune, ``pip install 'plasticgym[ray]'``; starts a local Ray with
            ``workers`` CPUs unless Ray is already initialised or ``RAY_ADDRESS`` is set).
        workers: trials run at the same time.
        max_retries: extra attempts of a trial that raised (or whose process died).
        progress: show a progress bar (local) or Tune's status (ray).
        isolate: with ``workers=1``, still run each attempt in a process of its own, so that
            a trial that kills its process (a crash, ``os._exit``, the OOM killer) costs only
            that trial an attempt (``plasticgym sweep`` isolates unless ``--in-process``).

    Worker processes die with the driver (Linux: ``PR_SET_PDEATHSIG``), and every attempt
    holds its trial's claim (:func:`claim_trial`): a driver restarted after a kill never runs
    a trial beside a leftover worker.
    """
    if isinstance(config, str | os.PathLike):
        config = load_config(config)
    elif not isinstance(config, SweepConfig):
        config = SweepConfig.from_dict(config)
    return run_trials(config.trials(), out_dir, trial=config.trial, config=config.to_dict(),
                      backend=backend, workers=workers, max_retries=max_retries,
                      progress=progress, isolate=isolate)  # fmt: skip


def run_trials(
    trials: Sequence[Trial],
    out_dir: str | os.PathLike,
    *,
    trial: str = DEFAULT_TRIAL,
    config: Mapping[str, Any] | None = None,
    backend: str = "local",
    workers: int = 1,
    max_retries: int = 0,
    progress: bool = False,
    isolate: bool = False,
) -> SweepSummary:
    """Run the given trials (made with :func:`trial_spec` and :func:`trial_id`) as a sweep:
    what :func:`run_sweep` does with a config's trials, for studies that build their own list
    (e.g. a different search space per agent, ``plasticgym.experiments.tuned_compare``).
    ``config`` is stored in ``sweep.json`` as given. Ids must not repeat (two equal specs are
    one trial)."""
    check_choice("backend", backend, BACKENDS)
    check_number("workers", workers, 1, integer=True)
    check_number("max_retries", max_retries, 0, integer=True)
    trials = list(trials)
    ids = [t.id for t in trials]
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"trials {repeated} repeat: two specs are equal (one trial each)")
    for item in trials:
        if item.id != trial_id(item.spec, trial):
            raise ValueError(f"trial {item.id} is not the id of its spec under trial={trial!r}")
    check_trials(trials, trial)
    out_dir = Path(out_dir).resolve()
    trials_dir = out_dir / "trials"
    listed = [{"id": t.id, "spec": t.spec, **({"point": t.point} if t.point is not None else {})}
              for t in trials]  # fmt: skip
    write_json(out_dir / "sweep.json", {"config": dict(config or {}), "trials": listed})
    skipped, pending = [], []
    for item in trials:
        if not (trials_dir / item.id / RESULT).is_file():
            # interrupted or failed before: start from a clean folder, once no other process
            # (a worker of a killed driver, which dies with it) holds the trial
            with claim_trial(trials_dir, item.id, wait_s=CLAIM_WAIT_S):
                if not (trials_dir / item.id / RESULT).is_file():
                    shutil.rmtree(trials_dir / item.id, ignore_errors=True)
                    pending.append(item)
                    continue
        skipped.append(item.id)
    if pending:
        if backend == "ray":
            _run_ray(pending, trials_dir, trial, workers, max_retries, progress)
        else:
            _run_local(pending, trials_dir, trial, workers, max_retries, progress,
                       isolate=isolate)  # fmt: skip
    return _collect(trials, out_dir, skipped)


def _run_local(
    pending: list[Trial],
    trials_dir: Path,
    trial: str,
    workers: int,
    max_retries: int,
    progress: bool,
    *,
    isolate: bool = False,
) -> None:
    from tqdm.auto import tqdm

    with tqdm(total=len(pending), unit="trial", desc="sweep", disable=not progress) as bar:
        if workers == 1 and not isolate:
            for item in pending:
                for _ in range(max_retries + 1):
                    try:
                        run_trial_once(item, trials_dir, trial)
                        break
                    except Exception:  # recorded in error.json; try again
                        continue
                bar.update(1)
            return
        _run_processes(pending, trials_dir, trial, workers, max_retries, bar)


CLAIM_WAIT_S = 10.0
"""How long a driver waits for a leftover worker's claim on a trial before it gives up."""


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this process when its parent ends (Linux ``prctl(PR_SET_PDEATHSIG,
    SIGKILL)``), and end now if the parent is already gone (it died before the call). Elsewhere
    a no-op beyond that check."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _attempt(item: Trial, trials_dir: str, trial: str, parent_pid: int | None = None) -> None:
    """One attempt in a worker process; how it went is in the trial's folder (``result.json``
    or ``error.json``), so the exception is not re-raised here. The worker dies with the
    driver that started it (:func:`die_with_parent`)."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    try:
        run_trial_once(item, trials_dir, trial)
    except Exception:
        sys.exit(1)


def _run_processes(
    pending: list[Trial], trials_dir: Path, trial: str, workers: int, max_retries: int, bar: Any
) -> None:
    """Run each attempt of a trial in a spawned process of its own, at most ``workers`` at a
    time. A process that dies (``os._exit``, a crash, the OOM killer) costs only its own
    trial an attempt: the trials running beside it go on (a process pool would be broken and
    terminate them, possibly after their trial function finished and before their result was
    written, so that they would run twice)."""
    context = multiprocessing.get_context("spawn")
    queue = deque(pending)
    running: dict[int, tuple[Any, Trial, int]] = {}  # sentinel -> (process, trial, attempts)
    try:
        while queue or running:
            while queue and len(running) < workers:
                item = queue.popleft()
                process = context.Process(
                    target=_attempt, args=(item, str(trials_dir), trial, os.getpid())
                )
                attempts = read_attempts(trials_dir / item.id)
                process.start()
                running[process.sentinel] = (process, item, attempts)
            for sentinel in multiprocessing.connection.wait(list(running)):
                process, item, before = running.pop(sentinel)
                process.join()
                folder = trials_dir / item.id
                if (folder / RESULT).is_file() or read_attempts(folder) > max_retries:
                    bar.update(1)
                elif read_attempts(folder) == before:
                    raise RuntimeError(
                        f"the sweep's worker process for trial {item.id} died before running "
                        f"it (exit code {process.exitcode})"
                    )
                else:
                    queue.append(item)
    finally:
        for process, _, _ in running.values():
            process.terminate()
            process.join()


def _ray_trainable(
    config: dict[str, Any],
    *,
    specs: dict[str, dict[str, Any]],
    trials_dir: str,
    trial: str,
    sys_path: list[str],
) -> dict[str, Any]:
    """Ray Tune function trainable: one attempt of the trial ``config["trial_id"]``."""
    sys.path.extend(p for p in sys_path if p not in sys.path)  # find the driver's modules
    trial_id_ = config["trial_id"]
    result = run_trial_once(Trial(trial_id_, specs[trial_id_]), trials_dir, trial)
    return {"attempts": result["attempts"]}


def _run_ray(
    pending: list[Trial],
    trials_dir: Path,
    trial: str,
    workers: int,
    max_retries: int,
    progress: bool,
) -> None:
    ray = require_extra("ray", "ray", "backend='ray'")
    tune = require_extra("ray.tune", "ray", "backend='ray'")
    started_here = not ray.is_initialized()
    if started_here and os.environ.get("RAY_ADDRESS"):
        ray.init()
    elif started_here:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=progress)
    try:
        trainable = tune.with_parameters(
            _ray_trainable,
            specs={t.id: t.spec for t in pending},
            trials_dir=str(trials_dir),
            trial=trial,
            sys_path=list(sys.path),
        )
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1}),
            param_space={"trial_id": tune.grid_search([t.id for t in pending])},
            tune_config=tune.TuneConfig(max_concurrent_trials=workers, reuse_actors=True),
            run_config=tune.RunConfig(
                name=time.strftime("run-%Y%m%d-%H%M%S"),
                storage_path=str(trials_dir.parent / "ray"),
                failure_config=tune.FailureConfig(max_failures=max_retries),
                verbose=1 if progress else 0,
            ),
        )
        tuner.fit()  # failed trials are read from their folders, like the local backend's
    finally:
        if started_here:
            ray.shutdown()


# ------------------------------------------------------------------------------ results


def _collect(trials: list[Trial], out_dir: Path, skipped: list[str]) -> SweepSummary:
    """Read every trial's folder; write failures.json and results.parquet / .csv."""
    rows, failures, completed = [], [], []
    for item in trials:
        folder = out_dir / "trials" / item.id
        result_path = folder / RESULT
        if result_path.is_file():
            metrics = json.loads(result_path.read_text())["metrics"]
            rows.append(_row(item, "done", metrics, None))
            if item.id not in skipped:
                completed.append(item.id)
            continue
        try:
            error = json.loads((folder / ERROR).read_text())["error"]
        except (OSError, ValueError, KeyError):
            error = DIED
        attempts = read_attempts(folder)
        failures.append({"id": item.id, "attempts": attempts, "error": error, "spec": item.spec})
        rows.append(_row(item, "failed", {}, error))
    write_json(out_dir / "failures.json", failures)
    results = _results_table(rows)
    save_records(results, out_dir / "results.parquet")
    save_records(results, out_dir / "results.csv")
    return SweepSummary(
        out_dir=out_dir,
        total=len(trials),
        skipped=list(skipped),
        completed=completed,
        failed={f["id"]: f["error"] for f in failures},
        results=results,
    )


SPEC_COLUMNS = ("env", "agent", "seed", "steps", "n_agents")


def _row(item: Trial, status: str, metrics: Mapping[str, Any], error: str | None) -> dict:
    spec = item.spec
    row: dict[str, Any] = {"id": item.id, "status": status}
    row.update({k: spec[k] for k in SPEC_COLUMNS})
    if item.point is not None:
        row["point"] = item.point
    if spec["env_kwargs"]:
        row["env_kwargs"] = canonical_json(spec["env_kwargs"])
    for name, value in spec["hyperparameters"].items():
        row[name] = value if _is_scalar(value) else canonical_json(value)
    for name, value in metrics.items():
        if name in SPEC_COLUMNS and value == spec[name]:
            continue  # the metric repeats the spec
        key = f"metric.{name}" if name in row else name
        row[key] = value if _is_scalar(value) else canonical_json(value)
    row["error"] = error
    return row


def summary_table(
    results: pd.DataFrame, by: Sequence[str], metric: str = "mean_reward_last20"
) -> pd.DataFrame:
    """One row per ``by`` combination (e.g. env, agent and the grid's hyperparameters) of the
    done trials: ``seeds`` (how many), ``metric``'s mean over the seeds with a 95% t interval
    over the seeds (``ci_low`` / ``ci_high``; NaN for one seed) and the mean ``wall_s``; best
    first within each env. Empty when no trial is done or the metric is missing (a trial
    function of the user's own)."""
    from plasticgym.experiments.stats import mean_ci

    done = results[results["status"] == "done"] if "status" in results else results
    by = [name for name in by if name in done.columns]
    if done.empty or metric not in done.columns:
        return pd.DataFrame()
    rows = []
    for key, group in done.groupby(by, sort=False, dropna=False):
        values = group[metric].to_numpy(float)
        _, low, high = mean_ci(values)  # NaN interval for one seed; the mean is still defined
        mean = float(np.mean(values))
        values = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        wall = group["wall_s"].mean() if "wall_s" in group else math.nan
        rows.append({**values, "seeds": len(group), metric: mean, "ci_low": low,
                     "ci_high": high, "wall_s": wall})  # fmt: skip
    table = pd.DataFrame(rows)
    order = [name for name in ("env",) if name in table] + [metric]
    ascending = [True] * (len(order) - 1) + [False]
    return table.sort_values(order, ascending=ascending, kind="stable").reset_index(drop=True)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _results_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per trial; columns in first-seen order, ``error`` last."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    columns.pop("error", None)
    ordered = [*columns, "error"]
    table = pd.DataFrame(rows, columns=ordered)
    return table.astype({"error": "string"})
