"""Render the task documentation (``docs/tasks.md``) from the task docstrings.

Each task's class docstring is its spec; this page collects them so the docs cannot drift.
Regenerate with ``python -m plasticgym.docs > docs/tasks.md``.
"""

from __future__ import annotations

import inspect

import gymnasium as gym

HEADER = """# plasticgym tasks

Every task is registered under the `plasticgym/` namespace when `plasticgym` is imported, with
a native vector version (`gym.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")`)
that shares its transition function with the single env. This page is generated from the task
docstrings by `python -m plasticgym.docs > docs/tasks.md`; a test keeps it in sync.

Conventions shared by every task:

- **Protocols as data.** `protocol=[{"name": ..., <length>: ..., <parameters>...}, ...]`; the
  length key is the task's unit (`trials`, `blocks`, `sessions`, or `length` with a `kind` in
  HabitFormation). Constructor arguments are the defaults of the phase parameters (Reaching's
  rotation is the exception: it only configures the default protocol). `env.protocol` holds the
  validated phases; `reset(options={"phase": name})` starts an episode at that phase.
- **One step = one transition.** A step's `info` labels the transition it returns: the reward
  it brought and the task events that happened in it. `trial`, `phase` and `t_in_trial` are
  always present. In the operant tasks (HabitFormation, TwoStep, SkillLearning, Reaching,
  Addiction, ReversalBandit, ToneDiscrimination) they name the trial the action belonged to
  (ToneDiscrimination's `stimulation` is the exception: it comes with the tone the returned
  observation shows); in Pavlovian-v0, where actions change nothing, they name the time point
  the returned observation shows.
- **Errors.** Invalid arguments (including unknown ones) and invalid actions raise `ValueError`
  naming what was wrong and what is allowed.
- **Checkpoints.** Every vector env has `get_state()` / `set_state()` for exact resumption.
- **Rendering.** `render_mode="rgb_array"` draws the observation (cues), the last action
  (levers), the reward and the phase as a uint8 image `[96, 192, 3]`; `"ansi"` writes them as a
  line of text; the vector env returns one frame per env. So Stable-Baselines3
  (`PPO("MlpPolicy", "plasticgym/ReversalBandit-v0")` makes its env with `"rgb_array"`),
  `RecordVideo` and notebooks work.
"""


def task_ids() -> list[str]:
    """Registered plasticgym task ids, sorted."""
    import plasticgym  # noqa: F401  (registers the tasks)

    return sorted(k for k in gym.registry if k.startswith("plasticgym/"))


def task_class(env_id: str) -> type:
    """The (single-env) class registered as ``env_id``."""
    module_name, class_name = gym.registry[env_id].entry_point.split(":")
    module = __import__(module_name, fromlist=[class_name])
    return getattr(module, class_name)


def task_summaries() -> dict[str, str]:
    """Each registered task id with the summary (first paragraph, on one line) of its class
    docstring."""
    summaries = {}
    for env_id in task_ids():
        doc = inspect.cleandoc(task_class(env_id).__doc__ or "")
        summaries[env_id] = " ".join(doc.partition("\n\n")[0].split())
    return summaries


def render_task_docs() -> str:
    """Markdown for every registered task: its id as a title, then its docstring."""
    sections = [HEADER]
    for env_id in task_ids():
        cls = task_class(env_id)
        class_name = cls.__name__
        doc = inspect.cleandoc(cls.__doc__ or "")
        first, _, rest = doc.partition("\n")
        body = rest.replace("\n## ", "\n### ")
        sections.append(f"## `{env_id}` ({class_name})\n\n{first}\n{body}\n")
    return "\n".join(sections)


if __name__ == "__main__":
    print(render_task_docs(), end="")
